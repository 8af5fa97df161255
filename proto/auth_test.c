/* Unit tests for vsf_auth and vsf_hash. */
#include "config.h"

#include <errno.h>

#include "check.h"
#include "vsf_auth.h"

static const char key[] = "0123456789abcdef-test-key";

TEST(hmac_sha256_matches_rfc4231_case_2)
{
	static const uint8_t want[32] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
		0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
		0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
		0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
	};
	uint8_t out[32];

	CHECK_ERR(vsf_hmac_sha256("Jefe", 4, "what do ya want ", 16,
				  "for nothing?", 12, out), 0);
	CHECK_MEM(out, want, 32);
}

TEST(prefixed_sha256_of_abc_with_empty_key)
{
	static const uint8_t want[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	uint8_t out[VSF_HASH_MAX_LEN], zero[32] = { 0 };

	CHECK_ERR(vsf_hash_prefixed(VSF_HASH_SHA256, "a", 1, "bc", 2, NULL, 0,
				    out), 0);
	CHECK_MEM(out, want, 32);
	CHECK_MEM(out + 32, zero, 32);
}

TEST(signed_request_verifies_for_each_hash)
{
	for (int t = VSF_HASH_SHA1; t <= VSF_HASH_SHA512; t++) {
		struct vsf_net_req req = { .op = VSF_OP_OFF, .hashtype = t };
		uint8_t out[VSF_NET_REQ_SIZE];

		CHECK_ERR(vsf_domain_set(req.domain, "vm"), 0);
		CHECK_ERR(vsf_net_req_sign(&req, key, sizeof(key), out), 0);
		CHECK_ERR(vsf_net_req_verify(out, sizeof(out), t, key,
					     sizeof(key)), 0);
	}
}

TEST(verify_rejects_tamper_wrong_key_and_weak_hash)
{
	struct vsf_net_req req = { .op = VSF_OP_OFF, .hashtype = 1 };
	uint8_t out[VSF_NET_REQ_SIZE];

	CHECK_ERR(vsf_domain_set(req.domain, "vm"), 0);
	CHECK_ERR(vsf_net_req_sign(&req, key, sizeof(key), out), 0);
	CHECK_ERR(vsf_net_req_verify(out, sizeof(out), VSF_HASH_SHA256, key,
				     sizeof(key)), -EKEYREJECTED);
	CHECK_ERR(vsf_net_req_verify(out, sizeof(out), VSF_HASH_SHA1, "k", 1),
		  -EBADMSG);
	CHECK_ERR(vsf_net_req_verify(out, sizeof(out), VSF_HASH_SHA1, NULL, 0),
		  -ENOKEY);
	out[4] = 'w';
	CHECK_ERR(vsf_net_req_verify(out, sizeof(out), VSF_HASH_SHA1, key,
				     sizeof(key)), -EBADMSG);
	CHECK_ERR(vsf_net_req_verify(out, 10, 0, key, 1), -ENODATA);
}

TEST(unhashed_request_passes_only_with_minimum_none)
{
	struct vsf_net_req req = { .op = VSF_OP_STATUS };
	uint8_t out[VSF_NET_REQ_SIZE];

	CHECK_ERR(vsf_net_req_sign(&req, NULL, 0, out), 0);
	CHECK_ERR(vsf_net_req_verify(out, sizeof(out), VSF_HASH_NONE, NULL, 0),
		  0);
	CHECK_ERR(vsf_net_req_verify(out, sizeof(out), VSF_HASH_SHA256, key,
				     sizeof(key)), -EKEYREJECTED);
}

TEST(challenge_answer_checks_out_and_wrong_key_fails)
{
	uint8_t ch[VSF_CHALLENGE_LEN], ans[VSF_CHALLENGE_LEN];

	CHECK_ERR(vsf_challenge_new(ch), 0);
	CHECK_ERR(vsf_challenge_answer(VSF_HASH_SHA512, key, sizeof(key), ch,
				       ans), 0);
	CHECK_ERR(vsf_challenge_check(VSF_HASH_SHA512, key, sizeof(key), ch,
				      ans), 0);
	CHECK_ERR(vsf_challenge_check(VSF_HASH_SHA256, key, sizeof(key), ch,
				      ans), -EBADMSG);
	CHECK_ERR(vsf_challenge_check(VSF_HASH_SHA512, "x", 1, ch, ans),
		  -EBADMSG);
}

int main(void)
{
	return RUN_TESTS();
}
