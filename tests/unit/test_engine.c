/* The engine's snippet-sampling control: how the kernel's 1-in-2^n rate
 * follows the workers' backlog. */
#include <stdint.h>
#include <stdio.h>
#include "check.h"
#include "engine.h"

static void raise_by_what_was_dropped(void)
{
	uint32_t calm = 0;

	/* Half dropped: twice the sampling. */
	CHECK_EQ(engine_next_sampling(0, 0.0, 1000, 1000, &calm), 1, "half dropped");
	/* 3 of 4 dropped: four times. */
	CHECK_EQ(engine_next_sampling(0, 0.0, 1000, 3000, &calm), 2, "3/4 dropped");
	/* A little dropped still raises one step. */
	CHECK_EQ(engine_next_sampling(2, 0.0, 1000, 1, &calm), 3, "one dropped");
	/* Nothing delivered at all: as far as the counts say, capped at 2^15. */
	CHECK_EQ(engine_next_sampling(3, 1.0, 0, 40000, &calm), 15, "all dropped");
	CHECK_EQ(engine_next_sampling(15, 1.0, 0, 10, &calm), 15, "capped");
	/* A ring more than half full raises one step before anything drops. */
	CHECK_EQ(engine_next_sampling(1, 0.6, 500, 0, &calm), 2, "ring half full");
}

static void lower_slowly(void)
{
	uint32_t calm = 0, log2 = 4;

	/* Three quiet intervals per step down. */
	for (int i = 0; i < 2; i++) {
		log2 = engine_next_sampling(log2, 0.01, 100, 0, &calm);
		CHECK(log2 == 4, "quiet interval %d keeps the rate", i + 1);
	}
	log2 = engine_next_sampling(log2, 0.01, 100, 0, &calm);
	CHECK_EQ(log2, 3, "third quiet interval lowers it");
	/* A busy (not quiet, not full) interval resets the count. */
	log2 = engine_next_sampling(log2, 0.01, 100, 0, &calm);
	log2 = engine_next_sampling(log2, 0.3, 100, 0, &calm);
	log2 = engine_next_sampling(log2, 0.01, 100, 0, &calm);
	log2 = engine_next_sampling(log2, 0.01, 100, 0, &calm);
	CHECK_EQ(log2, 3, "count restarts after a busy interval");
	log2 = engine_next_sampling(log2, 0.01, 100, 0, &calm);
	CHECK_EQ(log2, 2, "then three quiet ones lower it");
	/* Never below 1 in 1. */
	calm = 0;
	for (int i = 0; i < 30; i++)
		log2 = engine_next_sampling(log2, 0.0, 0, 0, &calm);
	CHECK_EQ(log2, 0, "floor at 1 in 1");
}

int main(void)
{
	raise_by_what_was_dropped();
	lower_slowly();
	return check_summary("engine");
}
