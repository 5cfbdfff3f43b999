/* TCP reassembly of stream starts: order, retransmission, overlap (first
 * copy wins), gaps, window bound, pool exhaustion, sequence wrap. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "reasm.h"

static uint8_t stream[8192];

static void fill_stream(void)
{
	for (size_t i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)(i * 7 + 3);
}

static int prefix_ok(struct reasm_pool *p, struct reasm_dir *d, uint32_t want)
{
	uint32_t len;
	const uint8_t *b = reasm_data(p, d, &len);

	return len == want && (!want || (b && !memcmp(b, stream, want)));
}

static void test_in_order(void)
{
	struct reasm_pool *p = reasm_pool_new(4, 4096);
	struct reasm_dir d = { 0 };
	uint32_t isn = 1000;

	reasm_push(p, &d, isn - 1, NULL, 0, 1); /* SYN */
	CHECK_EQ(d.isn, isn, "SYN fixes byte 0");
	CHECK_EQ(reasm_push(p, &d, isn, stream, 100, 0), 1, "first segment grows");
	CHECK_EQ(reasm_push(p, &d, isn + 100, stream + 100, 200, 0), 1, "second grows");
	CHECK(prefix_ok(p, &d, 300), "300 contiguous bytes");
	CHECK_EQ(d.state, REASM_OPEN, "still open");
	reasm_release(p, &d);
	CHECK_EQ(reasm_free_bufs(p), 4, "buffer back in the pool");
	reasm_pool_free(p);
}

static void test_out_of_order_and_overlap(void)
{
	struct reasm_pool *p = reasm_pool_new(2, 4096);
	struct reasm_dir d = { 0 };
	uint8_t junk[200];
	uint32_t isn = 0xfffffff0u; /* wraps during the stream */

	memset(junk, 0xee, sizeof(junk));
	reasm_push(p, &d, isn - 1, NULL, 0, 1);
	CHECK_EQ(reasm_push(p, &d, isn + 200, stream + 200, 100, 0), 0, "ahead of a hole");
	CHECK_EQ(d.ooo, 1, "out-of-order segment counted");
	CHECK(prefix_ok(p, &d, 0), "nothing contiguous yet");
	CHECK_EQ(reasm_push(p, &d, isn, stream, 150, 0), 1, "front arrives");
	CHECK(prefix_ok(p, &d, 150), "150 contiguous");
	/* Different bytes over held ones: the first copy stays. */
	reasm_push(p, &d, isn + 50, junk, 100, 0);
	CHECK(prefix_ok(p, &d, 150), "held bytes kept");
	CHECK(reasm_stats(p)->retrans_bytes >= 100, "overlap counted as retransmitted");
	/* A segment overlapping both held bytes and the hole fills the hole. */
	reasm_push(p, &d, isn + 120, stream + 120, 100, 0);
	CHECK(prefix_ok(p, &d, 300), "hole filled");
	/* Pure retransmission of old data. */
	CHECK_EQ(reasm_push(p, &d, isn, junk, 50, 0), 0, "retransmission adds nothing");
	CHECK(prefix_ok(p, &d, 300), "still the first copy");
	reasm_pool_free(p);
}

static void test_window_and_gap(void)
{
	struct reasm_pool *p = reasm_pool_new(2, 1024);
	struct reasm_dir full = { 0 }, gap = { 0 }, mid = { 0 };

	reasm_push(p, &full, 10, stream, 1000, 0);
	reasm_push(p, &full, 1010, stream + 1000, 500, 0);
	CHECK_EQ(full.state, REASM_FULL, "window filled");
	CHECK(prefix_ok(p, &full, 1024), "window bytes kept, rest cut");
	CHECK_EQ(reasm_push(p, &full, 1510, stream, 10, 0), 0, "a full direction takes nothing");
	reasm_release(p, &full);

	reasm_push(p, &gap, 5000, stream, 100, 0);
	reasm_push(p, &gap, 5000 + 300, stream + 300, 100, 0);
	reasm_push(p, &gap, 5000 + 2000, stream, 100, 0); /* past the window, hole open */
	CHECK_EQ(gap.state, REASM_GAP, "gave up on the hole");
	CHECK(prefix_ok(p, &gap, 100), "prefix before the hole still readable");
	CHECK_EQ(reasm_stats(p)->gaps, 1, "gap counted");
	reasm_release(p, &gap);

	/* No SYN: the first data segment defines byte 0; older data is cut. */
	reasm_push(p, &mid, 700, stream + 100, 50, 0);
	reasm_push(p, &mid, 650, stream + 50, 100, 0);
	CHECK_EQ(mid.contig, 50, "bytes before the first segment are not stream bytes");
	reasm_pool_free(p);
}

static void test_pool_exhaustion(void)
{
	struct reasm_pool *p = reasm_pool_new(1, 512);
	struct reasm_dir a = { 0 }, b = { 0 };

	reasm_push(p, &a, 1, stream, 10, 0);
	CHECK_EQ(reasm_push(p, &b, 1, stream, 10, 0), 0, "no buffer left");
	CHECK_EQ(b.state, REASM_NOBUF, "state says why");
	CHECK_EQ(reasm_stats(p)->no_buffer, 1, "counted");
	reasm_release(p, &a);
	reasm_release(p, &b); /* harmless without a buffer */
	CHECK_EQ(reasm_free_bufs(p), 1, "pool whole again");
	reasm_pool_free(p);
}

/* Random segmentation with duplicates and reordering always rebuilds the
 * stream exactly. */
static void test_random(void)
{
	struct reasm_pool *p = reasm_pool_new(1, 4096);
	unsigned seed = 12345;

	for (int round = 0; round < 200; round++) {
		struct reasm_dir d = { 0 };
		uint32_t isn = (uint32_t)rand_r(&seed) * 2654435761u;
		uint32_t offs[64], lens[64], n = 0, pos = 0;

		reasm_push(p, &d, isn - 1, NULL, 0, 1);
		while (pos < 4096 && n < 64) {
			uint32_t l = 1 + (uint32_t)rand_r(&seed) % 200;

			offs[n] = pos;
			lens[n++] = l;
			pos += l;
		}
		for (uint32_t i = 0; i < n * 3; i++) {
			uint32_t k = (uint32_t)rand_r(&seed) % n;

			reasm_push(p, &d, isn + offs[k], stream + offs[k], lens[k], 0);
		}
		for (uint32_t k = 0; k < n; k++)
			reasm_push(p, &d, isn + offs[k], stream + offs[k], lens[k], 0);
		CHECK(prefix_ok(p, &d, pos < 4096 ? pos : 4096), "round %d rebuilt", round);
		reasm_release(p, &d);
	}
	reasm_pool_free(p);
}

/* Consuming a parsed message moves the window; skipping past what is held
 * drops it and waits for the stream further on. */
static void test_consume(void)
{
	struct reasm_pool *p = reasm_pool_new(1, 1024);
	struct reasm_dir d = { 0 };
	uint32_t len;
	const uint8_t *b;

	reasm_push(p, &d, 99, NULL, 0, 1);
	reasm_push(p, &d, 100, stream, 1024, 0);
	CHECK_EQ(d.state, REASM_FULL, "full");
	reasm_push(p, &d, 100 + 1500, stream + 1500, 100, 0); /* ignored while full */
	reasm_consume(p, &d, 600);
	CHECK_EQ(d.state, REASM_OPEN, "collects again");
	b = reasm_data(p, &d, &len);
	CHECK(len == 424 && !memcmp(b, stream + 600, 424), "window moved by 600 (%u left)", len);
	reasm_push(p, &d, 100 + 1024, stream + 1024, 300, 0);
	b = reasm_data(p, &d, &len);
	CHECK(len == 724 && !memcmp(b, stream + 600, 724), "more data after the move (%u)", len);
	reasm_consume(p, &d, 2000); /* past everything held: a body to skip */
	reasm_push(p, &d, 100 + 2500, stream + 2500, 50, 0);
	reasm_push(p, &d, 100 + 2600, stream + 2600, 50, 0);
	b = reasm_data(p, &d, &len);
	CHECK(len == 50 && !memcmp(b, stream + 2600, 50), "resumed at byte 2600 (%u)", len);
	reasm_pool_free(p);
}

int main(void)
{
	test_consume();
	fill_stream();
	test_in_order();
	test_out_of_order_and_overlap();
	test_window_and_gap();
	test_pool_exhaustion();
	test_random();
	return check_summary("reasm");
}
