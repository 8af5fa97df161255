/*
 * fuzz.h - what every libFuzzer target in tests/fuzz/ shares.
 *
 * A target is one file fuzz_<name>.c that includes this header, defines
 * LLVMFuzzerTestOneInput() and nothing else global; add <name> to
 * FUZZ_TARGETS in tests/fuzz/local.mk and seed files to corpus/<name>/.
 * Targets must be deterministic (no clock, no randomness that changes the
 * path taken) and must not leak: libFuzzer runs millions of inputs in one
 * process.  FUZZ_ASSERT aborts, so a broken invariant is a crash libFuzzer
 * saves like any sanitizer report.
 */
#ifndef VSF_FUZZ_H
#define VSF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vsf_hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                   \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: FUZZ_ASSERT(%s) failed\n",  \
				__FILE__, __LINE__, #cond);                 \
			abort();                                            \
		}                                                           \
	} while (0)

/* The fixed key the targets sign, verify and seal with. */
static const uint8_t fuzz_key[] = "vserial-fence fuzzing key, not secret";
#define FUZZ_KEYLEN (sizeof(fuzz_key) - 1)

/* NSS must be up before any hashing; libFuzzer calls this once. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (vsf_hash_init() < 0) {
		fprintf(stderr, "fuzz: NSS init failed\n");
		abort();
	}
	return 0;
}

/* A tiny deterministic generator for chunk sizes (xorshift32). */
static inline uint32_t fuzz_next(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

#endif /* VSF_FUZZ_H */
