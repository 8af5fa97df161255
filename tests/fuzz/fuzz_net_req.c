/*
 * fuzz_net_req - the 176-byte network request decoder and the signature
 * check a tcp/vsock/multicast listener runs on untrusted bytes.
 * Input: the raw bytes as received.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "vsf_auth.h"
#include "vsf_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsf_net_req req;
	uint8_t again[VSF_NET_REQ_SIZE];
	int r = vsf_net_req_decode(data, size, &req);

	/* The signature check must cope with any length and any hash byte. */
	for (int min = VSF_HASH_NONE; min <= VSF_HASH_SHA512; min++) {
		int v = vsf_net_req_verify(data, size, min, fuzz_key,
					   FUZZ_KEYLEN);

		FUZZ_ASSERT(v <= 0);
		/* Only the unhashed, unsigned case can pass without the key. */
		if (v == 0 && size == VSF_NET_REQ_SIZE && data[1] == 0)
			FUZZ_ASSERT(min == VSF_HASH_NONE);
	}
	if (r < 0)
		return 0;
	FUZZ_ASSERT(size == VSF_NET_REQ_SIZE);
	FUZZ_ASSERT(memchr(req.domain, '\0', sizeof(req.domain)));
	FUZZ_ASSERT(req.op <= VSF_OP_WIRE_MAX);
	/* Decoding keeps every byte: encoding gives the input back. */
	FUZZ_ASSERT(vsf_net_req_encode(&req, again) == 0);
	FUZZ_ASSERT(memcmp(again, data, sizeof(again)) == 0);
	return 0;
}
