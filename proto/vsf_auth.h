/*
 * vsf_auth.h - v1 request signatures and challenge-response.
 *
 * fence-virt signs a request as H(key || request-with-hash-field-zeroed)
 * and answers a 64-byte challenge with H(key || challenge), both left-aligned
 * in 64 zero-padded bytes.  The hash type on a request is chosen by the
 * client; the server's configured type is a minimum.
 *
 * All functions return 0 or a negative errno:
 *   -EBADMSG          digest mismatch (wrong key or tampered bytes)
 *   -EKEYREJECTED     request hash type weaker than the required minimum
 *   -ENOKEY           request is hashed but no key was given
 *   -EPROTONOSUPPORT  unknown hash type
 *   -ENODATA/-EMSGSIZE wrong buffer length
 */
#ifndef VSF_AUTH_H
#define VSF_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "vsf_wire.h"

/*
 * Fill req->random from the CSPRNG and req->hash for req->hashtype, then
 * encode into @out.  With VSF_HASH_NONE the hash stays zero.
 */
int vsf_net_req_sign(struct vsf_net_req *req, const void *key, size_t keylen,
		     uint8_t out[VSF_NET_REQ_SIZE]);

/*
 * Verify the raw 176 bytes exactly as received (padding bytes included,
 * since they are covered by the digest).  @min_hash is the server's
 * configured minimum.  A request with hashtype NONE passes only when
 * @min_hash is NONE.
 */
int vsf_net_req_verify(const uint8_t *buf, size_t len, int min_hash,
		       const void *key, size_t keylen);

/* Fresh random challenge. */
int vsf_challenge_new(uint8_t challenge[VSF_CHALLENGE_LEN]);

/* The 64-byte answer to @challenge. */
int vsf_challenge_answer(int type, const void *key, size_t keylen,
			 const uint8_t challenge[VSF_CHALLENGE_LEN],
			 uint8_t answer[VSF_CHALLENGE_LEN]);

/* Check an answer in constant time; -EBADMSG if it is wrong. */
int vsf_challenge_check(int type, const void *key, size_t keylen,
			const uint8_t challenge[VSF_CHALLENGE_LEN],
			const uint8_t answer[VSF_CHALLENGE_LEN]);

#endif /* VSF_AUTH_H */
