/* The sink runner with a sink that fails on demand: records survive outages
 * through the spool, exactly once and in order; the spool bound and the
 * live queue drop and count; nothing is lost silently. */
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include "check.h"
#include "record.h"
#include "sink/runner.h"

#define MAX_SEQ 200000

struct fake {
	atomic_int down;          /* connect/write fail while set */
	atomic_int fail_every;    /* write fails every Nth call (0: never) */
	atomic_int slow_us;       /* each write sleeps this long */
	atomic_uint_fast64_t writes, got, dups, out_of_order, bad_payload;
	uint64_t last_seq;
	uint8_t seen[MAX_SEQ + 1];
};

static struct fake F;

static void *fake_open(const char *target, const struct sink_env *env, char *err, size_t n)
{
	(void)target; (void)env; (void)err; (void)n;
	return &F;
}

static int fake_connect(void *s, char *err, size_t n)
{
	(void)s;
	if (atomic_load(&F.down)) {
		snprintf(err, n, "peer down");
		return -1;
	}
	return 0;
}

static int fake_write(void *s, const struct sink_item *it, size_t n, char *err, size_t errlen)
{
	uint64_t w = atomic_fetch_add(&F.writes, 1) + 1;
	int every = atomic_load(&F.fail_every);

	(void)s;
	if (atomic_load(&F.slow_us)) {
		struct timespec ts = { 0, atomic_load(&F.slow_us) * 1000L };

		nanosleep(&ts, NULL);
	}
	if (atomic_load(&F.down) || (every && w % (uint64_t)every == 0)) {
		snprintf(err, errlen, "write refused");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct flow_record *r = it[i].rec;

		if (it[i].type != REC_FLOW || r->flow_id != it[i].seq * 7 || it[i].run != 42)
			F.bad_payload++;
		if (it[i].seq > MAX_SEQ || F.seen[it[i].seq]++)
			F.dups++;
		if (it[i].seq <= F.last_seq)
			F.out_of_order++;
		F.last_seq = it[i].seq;
		F.got++;
	}
	return 0;
}

static void fake_close(void *s)
{
	(void)s;
}

static const struct sink_ops fake_ops = {
	.scheme = "fake", .max_batch = 100, .linger_ms = 5,
	.open = fake_open, .connect = fake_connect, .write = fake_write, .close = fake_close,
};

static void reset(void)
{
	memset(&F, 0, sizeof(F));
}

static void ms(int n)
{
	struct timespec ts = { n / 1000, (n % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static struct runner *start(int live, uint64_t spool_max, uint64_t close_wait_ms,
			    uint64_t queue_bytes)
{
	struct sink_env env = { .host = "testhost", .run = 42, .live = live };
	struct runner_opts o = {
		.queue_bytes = queue_bytes, .spool_max = spool_max, .spool_dir = "/tmp",
		.close_wait_ns = close_wait_ms * 1000000ull,
	};

	return runner_start_ops(&fake_ops, "fake:x", "x", &env, &o);
}

static void push(struct runner *r, uint64_t from, uint64_t to)
{
	static struct flow_record rec;

	for (uint64_t s = from; s <= to; s++) {
		rec.flow_id = s * 7;
		runner_push(r, REC_FLOW, s, &rec);
	}
	runner_publish(r);
}

/* Down at start, then back: every record arrives once, in order. */
static void test_outage_then_recovery(void)
{
	struct runner_stats st;
	struct runner *r;

	reset();
	atomic_store(&F.down, 1);
	r = start(0, 1ull << 30, 5000, 1 << 20);
	CHECK(r != NULL, "runner starts with its sink down");
	push(r, 1, 20000);
	ms(300);
	runner_stats(r, &st);
	CHECK(st.spooled > 0, "records spooled while down (%llu)", (unsigned long long)st.spooled);
	CHECK_EQ(st.delivered, 0, "nothing delivered while down");
	CHECK_EQ(st.up, 0, "reported down");
	atomic_store(&F.down, 0);
	push(r, 20001, 30000);
	CHECK_EQ(runner_stop(r, &st), 0, "stop: nothing lost");
	CHECK_EQ(F.got, 30000, "all records reached the sink");
	CHECK_EQ(F.dups, 0, "no record twice");
	CHECK_EQ(F.out_of_order, 0, "in order");
	CHECK_EQ(F.bad_payload, 0, "payloads intact through the spool");
	CHECK_EQ(st.delivered, 30000, "delivered counter");
	CHECK_EQ(st.spooled, 0, "spool empty at the end");
	CHECK_EQ(st.spool_drops + st.queue_drops + st.lost_at_exit, 0, "no drops");
}

/* Writes that fail now and then: the failed batch goes again, once. */
static void test_flaky_writes(void)
{
	struct runner_stats st;
	struct runner *r;

	reset();
	atomic_store(&F.fail_every, 7); /* each failure costs a backoff (100 ms) */
	r = start(0, 1ull << 30, 10000, 1 << 20);
	push(r, 1, 10000);
	CHECK_EQ(runner_stop(r, &st), 0, "stop: nothing lost");
	CHECK_EQ(F.got, 10000, "all records despite failed writes");
	CHECK_EQ(F.dups, 0, "no duplicates");
	CHECK_EQ(F.out_of_order, 0, "in order");
	CHECK(st.failures > 0, "failures counted (%llu)", (unsigned long long)st.failures);
}

/* Beyond --spool-max records are dropped and counted; the rest arrive. */
static void test_spool_bound(void)
{
	size_t per = sizeof(struct flow_record) + 16;
	struct runner_stats st;
	struct runner *r;

	reset();
	atomic_store(&F.down, 1);
	r = start(0, per * 1000, 5000, 1 << 20);
	push(r, 1, 5000);
	ms(300);
	runner_stats(r, &st);
	CHECK_EQ(st.spooled, 1000, "the spool holds what its bound allows");
	CHECK_EQ(st.spool_drops, 4000, "the rest is counted as dropped");
	atomic_store(&F.down, 0);
	CHECK(runner_stop(r, &st) == -1, "stop reports the loss");
	CHECK_EQ(F.got, 1000, "the spooled records arrive");
	CHECK_EQ(F.got + st.spool_drops, 5000, "delivered + dropped = produced");
	CHECK_EQ(F.dups, 0, "no duplicates");
}

/* Live: a slow sink never blocks the producer; the overflow is counted. */
static void test_live_never_blocks(void)
{
	struct runner_stats st;
	struct runner *r;

	reset();
	atomic_store(&F.slow_us, 20000);
	r = start(1, 0, 1000, 64 << 10); /* no spool, a small queue */
	push(r, 1, 20000);
	runner_stats(r, &st);
	CHECK(st.queue_drops > 0, "queue overflow counted (%llu)",
	      (unsigned long long)st.queue_drops);
	CHECK_EQ(st.waits, 0, "the producer never waited");
	atomic_store(&F.slow_us, 0);
	runner_stop(r, &st);
	CHECK_EQ(F.got + st.queue_drops, 20000, "delivered + dropped = produced");
	CHECK_EQ(F.dups, 0, "no duplicates");
}

/* Live with a spool: a burst faster than the sink goes to disk instead of
 * being dropped at the queue, and arrives in order. */
static void test_live_burst_spills(void)
{
	struct runner_stats st;
	struct runner *r;

	reset();
	atomic_store(&F.slow_us, 20000); /* 5,000 records/s */
	r = start(1, 1ull << 30, 10000, 1 << 20); /* room for ~1,400 records */
	for (uint64_t s = 1; s <= 20000; s += 100) { /* 25,000 records/s */
		push(r, s, s + 99);
		ms(4);
	}
	runner_stats(r, &st);
	CHECK_EQ(st.waits, 0, "the producer never waited");
	CHECK(st.spooled > 0, "the burst went to disk (%llu records spooled)",
	      (unsigned long long)st.spooled);
	atomic_store(&F.slow_us, 0);
	CHECK_EQ(runner_stop(r, &st), 0, "stop: nothing lost");
	CHECK_EQ(st.queue_drops, 0, "nothing dropped at the queue");
	CHECK_EQ(F.got, 20000, "every record delivered");
	CHECK_EQ(F.dups, 0, "no duplicates");
	CHECK_EQ(F.out_of_order, 0, "in order");
}

/* Still down at exit: after --out-wait the spooled records are reported lost. */
static void test_down_at_exit(void)
{
	struct runner_stats st;
	struct runner *r;

	reset();
	atomic_store(&F.down, 1);
	r = start(0, 1ull << 30, 200, 1 << 20);
	push(r, 1, 3000);
	CHECK(runner_stop(r, &st) == -1, "stop reports undelivered records");
	CHECK_EQ(st.lost_at_exit, 3000, "every record counted as lost");
	CHECK_EQ(F.got, 0, "none delivered");
}

/* Messages show URIs without their secrets. */
static void test_redact(void)
{
	static const char *const cases[][2] = {
		{ "postgres:host=/x password=s3cret dbname=x", "postgres:host=/x password=*** dbname=x" },
		{ "postgresql://bob:s3cret@h:5432/db", "postgresql://***@h:5432/db" },
		{ "nats://u:p@a:1,nats://tok@b:2,c:3", "nats://***@a:1,nats://***@b:2,c:3" },
		{ "nats://u:p@a:1,b:2", "nats://***@a:1,b:2" },
		{ "ipfix:udp://192.0.2.1:4739", "ipfix:udp://192.0.2.1:4739" },
		{ "jsonl:/tmp/a@b.jsonl", "jsonl:/tmp/a@b.jsonl" },
		{ "sqlite:xdpi.db", "sqlite:xdpi.db" },
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		runner_redact_uri(out, sizeof(out), cases[i][0]);
		CHECK(!strcmp(out, cases[i][1]), "%s shown as '%s', want '%s'", cases[i][0], out,
		      cases[i][1]);
	}
	runner_redact_uri(out, 12, "postgresql://bob:s3cret@h:5432/db");
	CHECK(strlen(out) == 11 && !strstr(out, "s3cret"), "cut short, still hidden: '%s'", out);
}

int main(void)
{
	test_redact();
	test_outage_then_recovery();
	test_flaky_writes();
	test_spool_bound();
	test_live_never_blocks();
	test_live_burst_spills();
	test_down_at_exit();
	return check_summary("runner");
}
