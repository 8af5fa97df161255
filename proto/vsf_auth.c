/* vsf_auth.c - v1 signatures and challenge-response; see vsf_auth.h. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "vsf_auth.h"

#define NET_HASH_OFFSET 112	/* the hash field within the 176 bytes */

static int digest_request(int type, const void *key, size_t keylen,
			  const uint8_t *req, uint8_t out[VSF_HASH_MAX_LEN])
{
	uint8_t copy[VSF_NET_REQ_SIZE];

	memcpy(copy, req, sizeof(copy));
	memset(copy + NET_HASH_OFFSET, 0, VSF_HASH_MAX_LEN);
	return vsf_hash_prefixed(type, key, keylen, copy, sizeof(copy), NULL,
				 0, out);
}

int vsf_net_req_sign(struct vsf_net_req *req, const void *key, size_t keylen,
		     uint8_t out[VSF_NET_REQ_SIZE])
{
	int r;

	if (vsf_hash_len(req->hashtype) < 0)
		return -EPROTONOSUPPORT;
	memset(req->hash, 0, sizeof(req->hash));
	if (req->hashtype == VSF_HASH_NONE)
		return vsf_net_req_encode(req, out);
	if (!key || !keylen)
		return -ENOKEY;
	r = vsf_random_bytes(req->random, sizeof(req->random));
	if (r < 0)
		return r;
	r = vsf_net_req_encode(req, out);
	if (r < 0)
		return r;
	r = digest_request(req->hashtype, key, keylen, out, req->hash);
	if (r < 0)
		return r;
	memcpy(out + NET_HASH_OFFSET, req->hash, VSF_HASH_MAX_LEN);
	return 0;
}

int vsf_net_req_verify(const uint8_t *buf, size_t len, int min_hash,
		       const void *key, size_t keylen)
{
	uint8_t want[VSF_HASH_MAX_LEN];
	int type, r;

	if (len < VSF_NET_REQ_SIZE)
		return -ENODATA;
	if (len > VSF_NET_REQ_SIZE)
		return -EMSGSIZE;
	type = buf[1];
	if (vsf_hash_len(type) < 0)
		return -EPROTONOSUPPORT;
	if (type < min_hash)
		return -EKEYREJECTED;
	if (type == VSF_HASH_NONE)
		return 0;
	if (!key || !keylen)
		return -ENOKEY;
	r = digest_request(type, key, keylen, buf, want);
	if (r < 0)
		return r;
	/* Compare all 64 bytes: the unused tail must be zero as well. */
	return vsf_memeq_ct(want, buf + NET_HASH_OFFSET, VSF_HASH_MAX_LEN) ?
		       -EBADMSG : 0;
}

int vsf_challenge_new(uint8_t challenge[VSF_CHALLENGE_LEN])
{
	return vsf_random_bytes(challenge, VSF_CHALLENGE_LEN);
}

int vsf_challenge_answer(int type, const void *key, size_t keylen,
			 const uint8_t challenge[VSF_CHALLENGE_LEN],
			 uint8_t answer[VSF_CHALLENGE_LEN])
{
	if (vsf_hash_len(type) <= 0)
		return type == VSF_HASH_NONE ? -EINVAL : -EPROTONOSUPPORT;
	if (!key || !keylen)
		return -ENOKEY;
	return vsf_hash_prefixed(type, key, keylen, challenge,
				 VSF_CHALLENGE_LEN, NULL, 0, answer);
}

int vsf_challenge_check(int type, const void *key, size_t keylen,
			const uint8_t challenge[VSF_CHALLENGE_LEN],
			const uint8_t answer[VSF_CHALLENGE_LEN])
{
	uint8_t want[VSF_CHALLENGE_LEN];
	int r = vsf_challenge_answer(type, key, keylen, challenge, want);

	if (r < 0)
		return r;
	return vsf_memeq_ct(want, answer, VSF_CHALLENGE_LEN) ? -EBADMSG : 0;
}
