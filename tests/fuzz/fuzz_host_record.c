/*
 * fuzz_host_record - the 130-byte host list record decoder (the stock
 * daemon leaves stack garbage in bytes 63, 127 and the pad, so the decoder
 * must ignore them).  Input: the raw bytes.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "vsf_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsf_host_record rec, rec2;
	uint8_t again[VSF_HOST_RECORD_SIZE];
	int r = vsf_host_record_decode(data, size, &rec);

	if (r < 0)
		return 0;
	FUZZ_ASSERT(size == VSF_HOST_RECORD_SIZE);
	FUZZ_ASSERT(r == 0 || r == 1);
	FUZZ_ASSERT(strlen(rec.name) < VSF_DOMAIN_LEN);
	FUZZ_ASSERT(strlen(rec.uuid) < VSF_DOMAIN_LEN);
	if (r == 1) {
		FUZZ_ASSERT(rec.name[0] == '\0');
		return 0;
	}
	FUZZ_ASSERT(rec.name[0] != '\0');
	/* Re-encoding the decoded record gives a clean copy that decodes
	 * to the same record. */
	FUZZ_ASSERT(vsf_host_record_encode(&rec, again) == 0);
	FUZZ_ASSERT(vsf_host_record_decode(again, sizeof(again), &rec2) == 0);
	FUZZ_ASSERT(memcmp(&rec, &rec2, sizeof(rec)) == 0);
	return 0;
}
