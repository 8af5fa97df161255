/*
 * fuzz_net_req - the 176-byte network request decoder and the signature
 * check a tcp/vsock/multicast listener runs on untrusted bytes; for each
 * request that decodes, also sign it and check that the signature holds
 * only with the right key and untouched bytes.
 * Input: the raw bytes as received.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "vsf_auth.h"
#include "vsf_wire.h"

/* Whatever we sign verifies with the key and no longer with another key
 * or once any byte (padding included) changes. */
static void check_sign_verify(struct vsf_net_req *req)
{
	static const uint8_t other[] = "another key";
	uint8_t buf[VSF_NET_REQ_SIZE];
	size_t at = (req->seqno ^ req->port) % VSF_NET_REQ_SIZE;

	FUZZ_ASSERT(vsf_net_req_sign(req, fuzz_key, FUZZ_KEYLEN, buf) == 0);
	FUZZ_ASSERT(vsf_net_req_verify(buf, sizeof(buf), req->hashtype,
				       fuzz_key, FUZZ_KEYLEN) == 0);
	FUZZ_ASSERT(vsf_net_req_verify(buf, sizeof(buf), req->hashtype,
				       other, sizeof(other) - 1) == -EBADMSG);
	/* (With a minimum of NONE, a flip of the hash type byte to 0 would
	 * legitimately pass: v1 lets the client choose, the server's
	 * minimum is what forbids that.) */
	buf[at] ^= 0x01;
	FUZZ_ASSERT(vsf_net_req_verify(buf, sizeof(buf), req->hashtype,
				       fuzz_key, FUZZ_KEYLEN) < 0);
}

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
	if (req.hashtype != VSF_HASH_NONE)
		check_sign_verify(&req);
	return 0;
}
