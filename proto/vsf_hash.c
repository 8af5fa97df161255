/* vsf_hash.c - NSS-backed digests; see vsf_hash.h for the contract. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <nss.h>
#include <sechash.h>

#include "vsf_hash.h"

static pthread_once_t nss_once = PTHREAD_ONCE_INIT;
static int nss_status = -EIO;	/* written once under nss_once */

static void nss_start(void)
{
	if (NSS_IsInitialized() || NSS_NoDB_Init(NULL) == SECSuccess)
		nss_status = 0;
}

int vsf_hash_init(void)
{
	(void)pthread_once(&nss_once, nss_start);
	return nss_status;
}

static HASH_HashType nss_type(int type)
{
	switch (type) {
	case VSF_HASH_SHA1:
		return HASH_AlgSHA1;
	case VSF_HASH_SHA256:
		return HASH_AlgSHA256;
	case VSF_HASH_SHA512:
		return HASH_AlgSHA512;
	default:
		return HASH_AlgNULL;
	}
}

int vsf_hash_len(int type)
{
	switch (type) {
	case VSF_HASH_NONE:
		return 0;
	case VSF_HASH_SHA1:
		return 20;
	case VSF_HASH_SHA256:
		return 32;
	case VSF_HASH_SHA512:
		return 64;
	default:
		return -EINVAL;
	}
}

static const char *const hash_names[] = {
	[VSF_HASH_NONE] = "none",
	[VSF_HASH_SHA1] = "sha1",
	[VSF_HASH_SHA256] = "sha256",
	[VSF_HASH_SHA512] = "sha512",
};

const char *vsf_hash_name(int type)
{
	if (type < 0 || type > VSF_HASH_SHA512)
		return NULL;
	return hash_names[type];
}

int vsf_hash_from_name(const char *name)
{
	for (int i = 0; i <= VSF_HASH_SHA512; i++)
		if (name && strcasecmp(name, hash_names[i]) == 0)
			return i;
	return -EINVAL;
}

/* Digest the concatenation of up to three pieces; NULL pieces are skipped. */
static int digest3(HASH_HashType alg, const void *p1, size_t l1,
		   const void *p2, size_t l2, const void *p3, size_t l3,
		   uint8_t *out, unsigned int outmax, unsigned int *outlen)
{
	HASHContext *h;

	if (vsf_hash_init() < 0)
		return -EIO;
	h = HASH_Create(alg);
	if (!h)
		return -ENOMEM;
	HASH_Begin(h);
	if (l1)
		HASH_Update(h, p1, l1);
	if (l2)
		HASH_Update(h, p2, l2);
	if (l3)
		HASH_Update(h, p3, l3);
	HASH_End(h, out, outlen, outmax);
	HASH_Destroy(h);
	return 0;
}

int vsf_hash_prefixed(int type, const void *key, size_t keylen,
		      const void *a, size_t alen, const void *b, size_t blen,
		      uint8_t out[VSF_HASH_MAX_LEN])
{
	HASH_HashType alg = nss_type(type);
	unsigned int n;

	if (alg == HASH_AlgNULL)
		return -EINVAL;
	memset(out, 0, VSF_HASH_MAX_LEN);
	return digest3(alg, key, keylen, a, alen, b, blen, out,
		       VSF_HASH_MAX_LEN, &n);
}

int vsf_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n;

	return digest3(HASH_AlgSHA256, data, len, NULL, 0, NULL, 0, out, 32,
		       &n);
}

#define HMAC_BLOCK 64	/* SHA-256 block size */

int vsf_hmac_sha256(const void *key, size_t keylen,
		    const void *a, size_t alen, const void *b, size_t blen,
		    uint8_t out[VSF_HMAC_SHA256_LEN])
{
	uint8_t k[HMAC_BLOCK] = { 0 }, pad[HMAC_BLOCK], inner[32];
	unsigned int n;
	int r;

	/* RFC 2104: keys longer than a block are hashed first. */
	if (keylen > HMAC_BLOCK) {
		r = vsf_sha256(key, keylen, k);
		if (r < 0)
			return r;
	} else if (keylen) {
		memcpy(k, key, keylen);
	}
	for (int i = 0; i < HMAC_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	r = digest3(HASH_AlgSHA256, pad, HMAC_BLOCK, a, alen, b, blen, inner,
		    32, &n);
	if (r < 0)
		return r;
	for (int i = 0; i < HMAC_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	r = digest3(HASH_AlgSHA256, pad, HMAC_BLOCK, inner, 32, NULL, 0, out,
		    32, &n);
	memset(k, 0, sizeof(k));
	memset(pad, 0, sizeof(pad));
	return r;
}

int vsf_memeq_ct(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;

	for (size_t i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d;
}

int vsf_random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
