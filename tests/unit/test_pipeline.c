/* The offline worker pipeline: the same records as the one-thread path for
 * any number of workers, and no heap allocation at all while frames flow
 * (reader, workers and output thread together). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "pcap_source.h"
#include "pipeline.h"
#include "read.h"

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif
#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif

static _Atomic int counting;
static _Atomic unsigned long allocs;

#if COUNT_ALLOCS
/* Every allocation of the process goes through these while the test runs. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n)
{
	if (atomic_load(&counting))
		atomic_fetch_add(&allocs, 1);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	if (atomic_load(&counting))
		atomic_fetch_add(&allocs, 1);
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	if (atomic_load(&counting))
		atomic_fetch_add(&allocs, 1);
	return __libc_realloc(p, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	if (atomic_load(&counting))
		atomic_fetch_add(&allocs, 1);
	return __libc_memalign(a, n);
}
#endif

static char *slurp_sorted(const char *path)
{
	char cmd[512], *buf;
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "sort %s", path);
	f = popen(cmd, "r");
	buf = calloc(1, 16 << 20);
	n = f && buf ? fread(buf, 1, (16 << 20) - 1, f) : 0;
	if (f)
		pclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

/* max_allocs: 0 for every capture, QUIC handshakes included (each worker's
 * decryption contexts are made with its parsers, before frames flow); a
 * capture that needs a bound says why. */
static void run_capture(const char *pcap, int workers, unsigned long max_allocs)
{
	char one[] = "/tmp/xdpi-pl-one.XXXXXX", many[] = "/tmp/xdpi-pl-many.XXXXXX";
	char err[256], what[600], uri_one[64];
	uint64_t counters[XDPI_C__MAX];
	struct ingest_stats in;
	struct flowtrack_stats ft;
	struct xdpi_config cfg;
	struct pcap_source *src;
	struct pipeline *pl;
	struct output *out;
	char *a, *b;
	int fd1 = mkstemp(one), fd2 = mkstemp(many);

	close(fd1);
	close(fd2);
	config_defaults(&cfg);
	cfg.quiet = 1;
	cfg.read_path = pcap;
	snprintf(uri_one, sizeof(uri_one), "jsonl:%s", one);
	cfg.outs[0] = uri_one;
	cfg.nouts = 1;
	CHECK(cmd_read(&cfg, NULL) == 0, "one-thread read of %s", pcap);

	src = pcap_source_open(pcap, err, sizeof(err));
	CHECK(src != NULL, "open %s: %s", pcap, err);
	out = output_open_jsonl(many);
	pl = src && out ? pipeline_new(&cfg, out, workers) : NULL;
	CHECK(pl != NULL, "pipeline with %d workers", workers);
	if (pl) {
		atomic_store(&allocs, 0);
		atomic_store(&counting, 1);
		CHECK(pipeline_run(pl, src, err, sizeof(err)) == 0, "run: %s", err);
		atomic_store(&counting, 0);
		snprintf(what, sizeof(what), "allocations while %d workers read %s", workers, pcap);
		if (COUNT_ALLOCS && !max_allocs)
			CHECK_EQ(atomic_load(&allocs), 0, what);
		else if (COUNT_ALLOCS)
			CHECK(atomic_load(&allocs) <= max_allocs, "%s: %lu, at most %lu", what,
			      atomic_load(&allocs), max_allocs);
		pipeline_totals(pl, counters, &in, &ft);
		CHECK(counters[XDPI_C_PACKETS] + pcap_source_skipped(src) ==
			      pcap_source_frames(src),
		      "packets %llu + skipped %llu = frames %llu",
		      (unsigned long long)counters[XDPI_C_PACKETS],
		      (unsigned long long)pcap_source_skipped(src),
		      (unsigned long long)pcap_source_frames(src));
		CHECK_EQ(pipeline_records(pl), output_records(out), "records written");
	}
	output_close(out);
	pipeline_free(pl);
	pcap_source_close(src);

	a = slurp_sorted(one);
	b = slurp_sorted(many);
	CHECK(a && b && strlen(a) > 0 && !strcmp(a, b),
	      "%s: %d workers give the same records as one thread", pcap, workers);
	free(a);
	free(b);
	unlink(one);
	unlink(many);
}

/* The counter must see allocations, or a zero proves nothing. */
static void check_counter_works(void)
{
	void *(*volatile alloc)(size_t) = malloc;
	void *p;

	if (!COUNT_ALLOCS)
		return;
	atomic_store(&allocs, 0);
	atomic_store(&counting, 1);
	p = alloc(64);
	atomic_store(&counting, 0);
	free(p);
	CHECK_EQ(atomic_load(&allocs), 1, "allocations counted by the interposed malloc");
}

int main(void)
{
	check_counter_works();
	static const struct { const char *path; unsigned long max_allocs; } caps[] = {
		{ "../shared/pcap/ndpi-1kxun.pcap", 0 },          /* mixed: DNS, TLS, HTTP */
		{ "../shared/pcap/bench/zeek-echo-connections.pcap", 0 },
		{ "../shared/pcap/ndpi-http_ua_splitted_in_two_pkts.pcapng", 0 }, /* libpcap path */
		{ "../shared/pcap/zeek-mixed-vlan-mpls.pcap", 0 }, /* parsed shard path */
		{ "../shared/pcap/zeek-tls-tls1.2.pcap", 0 },      /* certificate */
		{ "../shared/pcap/zeek-tcp-ssh-dups.pcap", 0 },   /* SSH banners */
		{ "../shared/pcap/tcpdump-quic_handshake.pcap", 0 }, /* 1 QUIC handshake */
		{ "../shared/pcap/ndpi-quic_interop_V.pcapng", 0 }, /* many, v1/v2/drafts */
		{ "../shared/pcap/zeek-quic-multiple-initial-fragmented-crypto.pcap", 0 },
	};

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (access(caps[i].path, R_OK)) {
			CHECK(0, "capture %s is missing", caps[i].path);
			continue;
		}
		run_capture(caps[i].path, 2, caps[i].max_allocs);
		run_capture(caps[i].path, 3, caps[i].max_allocs);
	}
	return check_summary("pipeline");
}
