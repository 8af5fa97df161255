/*
 * fuzz_serial_resp - the 5-byte serial response decoder a guest runs on
 * bytes from the host.  Input: the raw bytes.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "vsf_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t result, again[VSF_SERIAL_RESP_SIZE];

	if (vsf_serial_resp_decode(data, size, &result) < 0)
		return 0;
	FUZZ_ASSERT(size == VSF_SERIAL_RESP_SIZE);
	vsf_serial_resp_encode(result, again);
	FUZZ_ASSERT(memcmp(again, data, sizeof(again)) == 0);
	return 0;
}
