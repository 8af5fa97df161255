/*
 * check.h - the unit test harness shared by every *_test binary.
 *
 *	TEST(frame_resyncs_after_garbage) { CHECK(...); CHECK_ERR(r, -EPROTO); }
 *	int main(void) { return RUN_TESTS(); }
 *
 * Tests register themselves; RUN_TESTS() runs them in file order, prints a
 * line per failure and ends with "N passed, N failed", returning the exit
 * status automake expects (0 all passed, 1 otherwise).  A test counts as
 * failed if any CHECK in it failed.
 */
#ifndef VSF_CHECK_H
#define VSF_CHECK_H

#include <stdio.h>
#include <string.h>

struct check_case {
	const char *name;
	void (*fn)(void);
};

#define CHECK_MAX_CASES 256

static struct check_case check_cases[CHECK_MAX_CASES];
static int check_ncases;
static int check_failed_now;

#define TEST(name)                                                          \
	static void test_##name(void);                                      \
	__attribute__((constructor)) static void register_##name(void)      \
	{                                                                   \
		if (check_ncases < CHECK_MAX_CASES)                         \
			check_cases[check_ncases++] =                       \
				(struct check_case){ #name, test_##name };  \
	}                                                                   \
	static void test_##name(void)

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",        \
				__FILE__, __LINE__, #cond);                 \
			check_failed_now = 1;                               \
		}                                                           \
	} while (0)

#define CHECK_ERR(val, want)                                                \
	do {                                                                \
		long long check_v_ = (long long)(val);                      \
		long long check_w_ = (long long)(want);                     \
		if (check_v_ != check_w_) {                                 \
			fprintf(stderr, "%s:%d: %s = %lld, want %lld\n",    \
				__FILE__, __LINE__, #val, check_v_,         \
				check_w_);                                  \
			check_failed_now = 1;                               \
		}                                                           \
	} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)
#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)

static inline int check_run_all(void)
{
	int passed = 0, failed = 0;

	for (int i = 0; i < check_ncases; i++) {
		check_failed_now = 0;
		check_cases[i].fn();
		if (check_failed_now) {
			fprintf(stderr, "FAIL: %s\n", check_cases[i].name);
			failed++;
		} else {
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#define RUN_TESTS() check_run_all()

#endif /* VSF_CHECK_H */
