/*
 * fuzz_serial_req - the 74-byte serial request decoder a host runs on
 * bytes from a guest.  Input: the raw bytes.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "vsf_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsf_serial_req req;
	uint8_t again[VSF_SERIAL_REQ_SIZE];

	if (vsf_serial_req_decode(data, size, &req) < 0)
		return 0;
	FUZZ_ASSERT(size == VSF_SERIAL_REQ_SIZE);
	FUZZ_ASSERT(memchr(req.domain, '\0', sizeof(req.domain)));
	FUZZ_ASSERT(req.op <= VSF_OP_WIRE_MAX);
	FUZZ_ASSERT(vsf_serial_req_encode(&req, again) == 0);
	FUZZ_ASSERT(memcmp(again, data, sizeof(again)) == 0);
	return 0;
}
