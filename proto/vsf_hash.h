/*
 * vsf_hash.h - digests, MACs and randomness for the fencing protocols.
 *
 * All hashing goes through NSS (the library the stock fence-virt programs
 * use), so a digest we compute is bit-identical to theirs.  Call
 * vsf_hash_init() once per process before any other function here; it is
 * idempotent and thread-safe after the first call returns.
 *
 * Functions return 0 or a negative errno.  Nothing here logs or allocates
 * memory the caller has to free.
 */
#ifndef VSF_HASH_H
#define VSF_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Hash and auth type numbers exactly as they appear on the v1 wire. */
enum vsf_hash_type {
	VSF_HASH_NONE = 0,
	VSF_HASH_SHA1 = 1,
	VSF_HASH_SHA256 = 2,
	VSF_HASH_SHA512 = 3,
};

#define VSF_HASH_MAX_LEN 64	/* SHA-512; also the v1 wire's hash field */
#define VSF_HMAC_SHA256_LEN 32

/* Initialise NSS without a database.  -EIO if NSS refuses. */
int vsf_hash_init(void);

/* Digest length of @type: 20, 32 or 64; 0 for NONE; -EINVAL if unknown. */
int vsf_hash_len(int type);

/* "sha1", "sha256", "sha512", "none"; NULL if unknown. */
const char *vsf_hash_name(int type);

/* Parse "none|sha1|sha256|sha512" (case-insensitive).  -EINVAL if unknown. */
int vsf_hash_from_name(const char *name);

/*
 * out[0..VSF_HASH_MAX_LEN) = H(key || a || b), left-aligned and zero-padded,
 * the prefix-keyed construction fence-virt uses (not an HMAC).  @b may be
 * NULL when @blen is 0.  -EINVAL for type NONE or an unknown type.
 */
int vsf_hash_prefixed(int type, const void *key, size_t keylen,
		      const void *a, size_t alen, const void *b, size_t blen,
		      uint8_t out[VSF_HASH_MAX_LEN]);

/* HMAC-SHA-256 (RFC 2104) of the concatenation a || b under @key. */
int vsf_hmac_sha256(const void *key, size_t keylen,
		    const void *a, size_t alen, const void *b, size_t blen,
		    uint8_t out[VSF_HMAC_SHA256_LEN]);

/* Plain SHA-256 of @data (key fingerprints). */
int vsf_sha256(const void *data, size_t len, uint8_t out[32]);

/* Constant-time comparison: 0 if equal, nonzero otherwise. */
int vsf_memeq_ct(const void *a, const void *b, size_t len);

/* Fill @buf with @len bytes from the kernel CSPRNG (getrandom). */
int vsf_random_bytes(void *buf, size_t len);

#endif /* VSF_HASH_H */
