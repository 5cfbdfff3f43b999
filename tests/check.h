/* Minimal test harness: every CHECK counts as one assertion; a test binary
 * ends with check_summary(), which prints "N passed, N failed" (the line
 * tests/run.sh sums up) and returns the exit code. */
#ifndef XDPI_CHECK_H
#define XDPI_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (cond) {                                                    \
			check_passed++;                                        \
		} else {                                                       \
			check_failed++;                                        \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, \
				#cond);                                        \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b, what)                                                   \
	do {                                                                   \
		uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);   \
		CHECK(check_a_ == check_b_, "%s: got %" PRIu64 ", want %" PRIu64, \
		      what, check_a_, check_b_);                               \
	} while (0)

static inline int check_summary(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
