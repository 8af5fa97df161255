/*
 * fuzz_v2.h - helpers shared by the v2 fuzz targets and the corpus
 * generator: the fixed session values the seeds use, and "seal then
 * decode" so that payload parsers are reached although the fuzzer cannot
 * forge an HMAC.
 */
#ifndef VSF_FUZZ_V2_H
#define VSF_FUZZ_V2_H

#include <string.h>

#include "vsf_v2.h"

#define FUZZ_V2_REQUEST_ID 7u
#define FUZZ_V2_CLIENT_NONCE_BYTE 0x11
#define FUZZ_V2_SERVER_NONCE_BYTE 0x22

/*
 * Copy one whole frame into @tmp and, if its header parses and its type
 * carries a MAC, seal it with the fuzz key.  Returns the frame length or
 * -1 if the header does not parse or @len is not exactly one frame.
 */
static inline int fuzz_v2_seal_copy(const uint8_t *buf, size_t len,
				    const uint8_t *key, size_t keylen,
				    uint8_t tmp[VSF_V2_MAX_FRAME])
{
	int total = vsf_v2_frame_len(buf, len);

	if (total < 0 || (size_t)total != len || len > VSF_V2_MAX_FRAME)
		return -1;
	memcpy(tmp, buf, len);
	if (buf[7] != VSF_V2_TYPE_HELLO && buf[7] != VSF_V2_TYPE_ERROR)
		(void)vsf_v2_seal(key, keylen, tmp, len);
	return total;
}

#endif /* VSF_FUZZ_V2_H */
