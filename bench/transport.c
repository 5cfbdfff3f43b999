/* Kernel -> user transports and ingestion, measured with xdpi's own code.
 *
 *   transport -o XDPI_STAGE3_OBJ [-n EVENTS] [-s SNIPPET_BYTES]
 *
 * The producer is the xdpi program built with -DXDPI_BENCH_STAGE=3 (a
 * snippet event for every packet with payload), run by BPF_PROG_TEST_RUN on
 * CPU 0 with one UDP frame repeated. The consumer is src/transport.c on
 * CPU 1.
 *
 * 1. Drain rate: producer and consumer at once; events the consumer took
 *    per second of wall time, and events the kernel could not queue.
 * 2. Ingestion: the buffers are filled first, then one ingestion pass of
 *    src/engine.c (read each record, pick the flow's worker, copy it into
 *    that worker's SPSC ring, publish in batches) is timed alone; a worker
 *    thread (flows only) empties the ring meanwhile on CPU 0.
 * Prints Markdown tables. Needs root. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "config.h"
#include "engine.h"
#include "loader.h"
#include "stats.h"
#include "transport.h"
#include "xdpi/abi.h"
#include "xdpi.skel.h"

#define BUF_BYTES (64u << 20)   /* per CPU, both transports */
#define RUN_REPEAT 100000u      /* packets per test run: each run swaps the
				 * dispatcher (an RCU wait), so few and long */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Ethernet + IPv4 + UDP 198.18.0.1:40000 -> 198.18.0.2:53 with payload. */
static size_t udp_frame(unsigned char *f, size_t payload)
{
	size_t ip_len = 20 + 8 + payload;

	memset(f, 0, 14 + ip_len);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (unsigned char)(ip_len >> 8);
	f[17] = (unsigned char)ip_len;
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, "\xc6\x12\x00\x01\xc6\x12\x00\x02", 8);
	f[34] = 0x9c; f[35] = 0x40;
	f[36] = 0x00; f[37] = 0x35;
	f[38] = (unsigned char)((8 + payload) >> 8);
	f[39] = (unsigned char)(8 + payload);
	for (size_t i = 0; i < payload; i++)
		f[42 + i] = (unsigned char)i;
	return 14 + ip_len;
}

static int produce(int prog_fd, const unsigned char *frame, size_t len, uint64_t packets)
{
	while (packets) {
		uint32_t n = packets > RUN_REPEAT ? RUN_REPEAT : (uint32_t)packets;
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
			    .data_size_in = (uint32_t)len, .repeat = n);

		if (bpf_prog_test_run_opts(prog_fd, &opts)) {
			fprintf(stderr, "transport: test run failed: %s\n", strerror(errno));
			return -1;
		}
		packets -= n;
	}
	return 0;
}

struct drain {
	struct transport_reader *rd;
	_Atomic int stop;
	uint64_t events;
	uint64_t last_ns;
};

static int count_event(void *ctx, void *data, size_t len)
{
	(void)data;
	(void)len;
	((struct drain *)ctx)->events++;
	return 0;
}

static void *consumer(void *arg)
{
	struct drain *d = arg;

	pin(1);
	for (;;) {
		int stop = atomic_load(&d->stop);
		int n = transport_reader_poll(d->rd, 10);

		if (n > 0)
			d->last_ns = now_ns();
		if (stop && n <= 0)
			break;
	}
	return NULL;
}

struct setup {
	struct xdpi_config cfg;
	struct xdpi_bpf *skel;
	struct transport *tp;
	int prog_fd;
};

static int setup(struct setup *s, const char *obj, int transport, uint32_t snip)
{
	config_defaults(&s->cfg);
	s->cfg.bpf_object = obj;
	s->cfg.transport = transport;
	s->cfg.ringbuf_bytes = BUF_BYTES;
	s->cfg.snippet_bytes = snip;
	s->cfg.max_flows = 1024;
	s->cfg.no_dpi = 1;
	s->cfg.workers = 1;
	s->cfg.quiet = 1;
	s->skel = loader_load(&s->cfg, 0);
	if (!s->skel)
		return -1;
	s->tp = transport_open(s->skel, &s->cfg);
	if (!s->tp)
		return -1;
	s->prog_fd = bpf_program__fd(s->skel->progs.xdpi_xdp);
	return 0;
}

static void teardown(struct setup *s)
{
	transport_close(s->tp);
	if (s->skel)
		loader_close(s->skel);
}

static uint64_t kernel_counter(struct setup *s, int which)
{
	uint64_t c[XDPI_C__MAX];

	if (counters_read_kernel(bpf_map__fd(s->skel->maps.counters), c))
		return 0;
	return c[which];
}

/* 1: concurrent drain. */
static void drain_rate(const char *obj, int transport, const char *name, uint64_t events,
		       uint32_t snip)
{
	unsigned char frame[2048];
	size_t len = udp_frame(frame, snip);
	struct setup s = { 0 };
	struct drain d = { 0 };
	pthread_t th;
	uint64_t t0, t1, lost;

	if (setup(&s, obj, transport, snip))
		goto out;
	d.rd = transport_reader_new(s.tp, 0, 1, count_event, &d);
	if (!d.rd)
		goto out;
	pin(0);
	pthread_create(&th, NULL, consumer, &d);
	t0 = now_ns();
	produce(s.prog_fd, frame, len, events);
	t1 = now_ns();
	atomic_store(&d.stop, 1);
	pthread_join(th, NULL);
	lost = kernel_counter(&s, XDPI_C_EV_LOST);
	if (d.last_ns < t1)
		d.last_ns = t1;
	printf("| %s | %u | %llu | %llu | %llu | %.2f M | %.2f M |\n", name, snip,
	       (unsigned long long)events, (unsigned long long)d.events, (unsigned long long)lost,
	       (double)events / ((double)(t1 - t0) / 1e9) / 1e6,
	       (double)d.events / ((double)(d.last_ns - t0) / 1e9) / 1e6);
	transport_reader_free(d.rd);
out:
	teardown(&s);
}

/* 2: ingestion alone. The producer queues a chunk, then one ingestion pass
 * takes it, timed; chunks are small enough to be in the cache, as events
 * are when a reader follows its producer closely. read_only: the same
 * pass with a callback that only counts, to show the hand-off's share. */
#define CHUNK 8192u

static int quiet;

static void ingest_rate(const char *obj, int transport, const char *name, uint64_t events,
			uint32_t snip, int read_only)
{
	unsigned char frame[2048];
	size_t len = udp_frame(frame, snip);
	struct setup s = { 0 };
	struct engine *e = NULL;
	struct drain d = { 0 };
	struct ingest_stats in;
	struct engine_stats st = { 0 };
	uint64_t spent = 0, took = 0;

	if (setup(&s, obj, transport, snip))
		goto out;
	s.cfg.cpus = "0";     /* the worker on CPU 0, ingestion here on CPU 1 */
	if (read_only) {
		d.rd = transport_reader_new(s.tp, 0, 1, count_event, &d);
		if (!d.rd)
			goto out;
	} else {
		e = engine_new(&s.cfg, -1, -1);
		if (!e || engine_attach_ingest(e, s.tp))
			goto out;
	}
	for (uint64_t done = 0; done < events; done += CHUNK) {
		uint64_t t0;
		int n;

		pin(0);
		produce(s.prog_fd, frame, len, CHUNK);
		pin(1);
		t0 = now_ns();
		do {
			n = read_only ? transport_reader_consume(d.rd) : engine_ingest_once(e, 0, 0);
			took += n > 0 ? (uint64_t)n : 0;
		} while (n > 0);
		spent += now_ns() - t0;
	}
	if (e) {
		engine_stop(e);
		engine_totals(e, &in, &st);
	} else {
		st.delivered = took;
	}
	if (!quiet)
		printf("| %s%s | %u | %llu | %llu | %llu | %.1f | %.1f M |\n", name,
	       read_only ? " (read only)" : "", snip, (unsigned long long)took,
	       (unsigned long long)st.delivered, (unsigned long long)st.ring_full,
	       (double)spent / (double)(took ? took : 1),
	       (double)took / ((double)spent / 1e9) / 1e6);
out:
	transport_reader_free(d.rd);
	engine_free(e);
	teardown(&s);
}

int main(int argc, char **argv)
{
	const char *obj = NULL;
	uint64_t events = 2000000;
	uint32_t snips[2] = { 64, 256 };
	int opt, parts = 3;

	while ((opt = getopt(argc, argv, "o:n:p:")) != -1) {
		if (opt == 'p')
			parts = atoi(optarg);
		else if (opt == 'o')
			obj = optarg;
		else if (opt == 'n')
			events = strtoull(optarg, NULL, 10);
		else
			return 2;
	}
	if (!obj) {
		fprintf(stderr, "usage: transport -o XDPI_STAGE3_OBJ [-n EVENTS] [-p 1|2|3 (drain, ingestion, both)]\n");
		return 2;
	}
	if (!(parts & 1))
		goto ingestion;
	printf("### Transport: producer on CPU 0, one consumer on CPU 1\n\n");
	printf("| transport | snippet bytes | events sent | events read | lost in kernel | "
	       "produced/s | read/s |\n|---|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < 2; i++) {
		drain_rate(obj, XDPI_TRANSPORT_RINGBUF, "ringbuf", events, snips[i]);
		drain_rate(obj, XDPI_TRANSPORT_PERFBUF, "perfbuf", events, snips[i]);
	}
ingestion:
	if (!(parts & 2))
		return 0;
	printf("\n### Ingestion: one reader on CPU 1 takes what the producer queued, hand-off to a "
	       "worker (CPU 0) included\n\n");
	printf("| transport | snippet bytes | events read | handed to the worker | "
	       "dropped (worker ring full) | ns/event | events/s |\n"
	       "|---|---:|---:|---:|---:|---:|---:|\n");
	/* A first pass unreported: the first run of a process pays for
	 * warming up what the others find ready. */
	quiet = 1;
	ingest_rate(obj, XDPI_TRANSPORT_RINGBUF, "ringbuf", events / 8, snips[0], 1);
	quiet = 0;
	for (int i = 0; i < 2; i++) {
		ingest_rate(obj, XDPI_TRANSPORT_RINGBUF, "ringbuf", events / 4, snips[i], 1);
		ingest_rate(obj, XDPI_TRANSPORT_RINGBUF, "ringbuf", events / 4, snips[i], 0);
		ingest_rate(obj, XDPI_TRANSPORT_PERFBUF, "perfbuf", events / 4, snips[i], 0);
	}
	return 0;
}
