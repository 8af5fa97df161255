/*
 * fuzz_v2_decode - every v2 frame decoder and vsf_v2_frame_len().
 *
 * Input: byte 0 bit 0 set = seal the frame with the fuzz key first (so the
 * payload parsers behind the MAC check are reached), then the frame bytes.
 * A frame that decodes must re-encode to the same bytes.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_v2.h"

/* A MAC'd frame that verified stops verifying when any one bit flips. */
static void check_tamper(uint8_t *f, size_t n)
{
	size_t at = (f[8] * 31u + f[n - 1]) % n;

	FUZZ_ASSERT(vsf_v2_verify(fuzz_key, FUZZ_KEYLEN, f, n) == 0);
	f[at] ^= 0x80;
	FUZZ_ASSERT(vsf_v2_verify(fuzz_key, FUZZ_KEYLEN, f, n) == -EBADMSG);
	f[at] ^= 0x80;
}

/* Decode @f with every decoder; at most one may accept it. */
static void decode_all(const uint8_t *f, size_t n)
{
	struct vsf_v2_hello h;
	struct vsf_v2_challenge c;
	struct vsf_v2_request q;
	struct vsf_v2_result_msg s;
	struct vsf_v2_hostrec rec;
	struct vsf_v2_error e;
	uint8_t out[VSF_V2_MAX_FRAME];
	const uint8_t *k = fuzz_key;
	size_t kl = FUZZ_KEYLEN;
	int ok = 0, len = -1;

	if (vsf_v2_hello_decode(f, n, &h) == 0) {
		ok++;
		len = vsf_v2_hello_encode(&h, out, sizeof(out));
	}
	if (vsf_v2_challenge_decode(f, n, k, kl, &c) == 0) {
		ok++;
		len = vsf_v2_challenge_encode(&c, k, kl, out, sizeof(out));
	}
	if (vsf_v2_request_decode(f, n, k, kl, &q) == 0) {
		ok++;
		FUZZ_ASSERT(q.op <= VSF_OP_WIRE_MAX);
		FUZZ_ASSERT(strlen(q.name) <= VSF_V2_NAME_MAX);
		len = vsf_v2_request_encode(&q, k, kl, out, sizeof(out));
	}
	if (vsf_v2_result_decode(f, n, k, kl, &s) == 0) {
		ok++;
		len = vsf_v2_result_encode(&s, k, kl, out, sizeof(out));
	}
	if (vsf_v2_hostrec_decode(f, n, k, kl, &rec) == 0) {
		ok++;
		FUZZ_ASSERT(rec.name[0] != '\0');
		FUZZ_ASSERT(strlen(rec.uuid) <= VSF_V2_UUID_MAX);
		len = vsf_v2_hostrec_encode(&rec, k, kl, out, sizeof(out));
	}
	if (vsf_v2_error_decode(f, n, &e) == 0) {
		ok++;
		len = vsf_v2_error_encode(&e, out, sizeof(out));
	}
	FUZZ_ASSERT(ok <= 1);
	if (ok) {
		FUZZ_ASSERT(len > 0 && (size_t)len == n);
		FUZZ_ASSERT(memcmp(out, f, n) == 0);
		FUZZ_ASSERT(vsf_v2_frame_len(f, n) == len);
		if (f[7] != VSF_V2_TYPE_HELLO && f[7] != VSF_V2_TYPE_ERROR)
			check_tamper(out, n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sealed[VSF_V2_MAX_FRAME];
	int total, n;

	if (size < 1)
		return 0;
	total = vsf_v2_frame_len(data + 1, size - 1);
	FUZZ_ASSERT(total < 0 || (total >= VSF_V2_HDR_SIZE &&
				  total <= VSF_V2_MAX_FRAME));
	if (!(data[0] & 1)) {
		decode_all(data + 1, size - 1);
		return 0;
	}
	n = fuzz_v2_seal_copy(data + 1, size - 1, fuzz_key, FUZZ_KEYLEN,
			      sealed);
	if (n > 0)
		decode_all(sealed, (size_t)n);
	return 0;
}
