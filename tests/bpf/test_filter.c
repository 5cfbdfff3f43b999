/* SPDX-License-Identifier: BSD-3-Clause */
/* The --filter translator (src/cbpf.c) against libpcap's own interpreter:
 * a table of tcpdump expressions, each compiled by libpcap, translated for
 * XDP and TC and run with BPF_PROG_TEST_RUN on every frame of every shared
 * capture, must take the same decision as pcap_offline_filter on the same
 * bytes. The translated program tail-calls one of two tiny programs that
 * return distinct values, so the return value says which slot it took.
 * Hand-written classic programs cover what expressions rarely reach:
 * division by zero, loads past the end, scratch memory, MSH, loops, and
 * bytes past the linear data (XDP frags). Needs root.
 *
 *   test_filter [PCAP_DIR...]   (default ../shared/pcap ../shared/pcap/bench)
 *
 * Frames come from pcap_source, as `xdpi read` sees them: Ethernet
 * captures as stored, other link types with the synthetic Ethernet header
 * it puts in front. Both sides run the expression compiled for Ethernet on
 * those bytes, so every capture is compared. Identical frames (same bytes
 * and wire length) are run once. */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpi/abi.h"
#include "check.h"
#include "cbpf.h"
#include "filter.h"
#include "pcap_source.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* What the tiny programs in the BODY and REJECT slots return; a filter
 * whose tail call fails returns XDP_PASS (2) or TC_ACT_OK (0). */
#define RC_BODY   1
#define RC_REJECT 3

/* test_run refuses an skb larger than a page minus head and tail room. */
#define TC_MAX_FRAME 3500
#define META_SIZE ((uint32_t)sizeof(struct xdpi_replay_meta))
#define MAX_MISMATCH_REPORTS 5
#define MAX_THREADS 4

/* A frame buffer per thread, with room for the replay metadata. */
static uint8_t bufs[MAX_THREADS][META_SIZE + 300000];

static const char *const ctx_name[] = { "xdp", "tc" };

/* The expressions compared on every frame. */
static const char *const exprs[] = {
	"tcp port 443",
	"tcp port 443 and not net 10.0.0.0/8",
	"host 192.168.1.2",
	"src host 10.0.0.1 or dst host 192.168.0.2",
	"net 192.168.0.0/16",
	"src net 10.0.0.0/8 or dst net 172.16.0.0/12",
	"port 53",
	"udp dst port 53",
	"tcp src port 80 or tcp dst port 8080",
	"portrange 1000-2000",
	"tcp portrange 8000-8100 or udp portrange 5000-6000",
	"tcp", "udp", "icmp", "icmp6", "ip", "ip6", "arp", "sctp",
	"not (tcp or udp)",
	"ip proto 47 or ip proto 50 or ip proto 41",
	"vlan",
	"vlan 10 and tcp",
	"vlan and vlan",
	"mpls and ip",
	"tcp[tcpflags] & tcp-syn != 0",
	"tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 and tcp[tcpflags] & tcp-ack = 0",
	"tcp[13] = 0x18 and dst port 80",
	"ip[6:2] & 0x1fff != 0",
	"ip[6:2] & 0x3fff != 0",
	"ip[0] & 0xf > 5",
	"greater 1000",
	"less 100",
	"len - 14 != ip[2:2]",
	"ether host b4:a5:ef:67:28:10",
	"ether broadcast or ether multicast",
	"ether proto 0x0806 or ether[12:2] = 0x88cc",
	"ip6 net 2a00:1450::/32",
	"ip6 and net fe80::/10",
	"ip6 host 2a00:d40:1:3:7aac:c0ff:fea7:d4c",
	"icmp[icmptype] = icmp-echo or icmp[icmptype] = icmp-echoreply",
	"icmp6 and ip6[40] = 135",
	"ip6 protochain 6",
	"ip protochain 17",
	"protochain 17 or ip6 protochain 58 or ip6 protochain 44",
	"(ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) != 0",
	"tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
	"udp[8:2] * 3 / 7 % 5 = 1 or udp[2:2] ^ 0x35 = 0",
	"ip[1] / (ip[8] - 64) = 0",
	"ip[8] % (ip[9] - 6) = 1",
	"ip[8] << (ip[9] & 7) > 100 or ip[8] >> (ip[9] + 20) = 0",
	"-ip[8] = 4294967232",
	"udp and udp[4:2] > 100 and udp[4:2] < 600",
	"tcp and tcp[0:2] > 1024 and tcp[2:2] < 1024",
	"ip6[6] = 0 or ip6[6] = 43 or ip6[6] = 60",
};

/* ---------------------------------------------------------------------- */
/* Programs                                                                */
/* ---------------------------------------------------------------------- */

struct slots {
	int array[2];  /* prog array per context */
	int body[2], reject[2];
};

/* A program that returns rc, for a slot. */
static int tiny(enum cbpf_ctx c, int rc)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = rc },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	DECLARE_LIBBPF_OPTS(bpf_prog_load_opts, o);

	if (c == CBPF_CTX_XDP) {
		o.expected_attach_type = BPF_XDP;
		o.prog_flags = BPF_F_XDP_HAS_FRAGS;
	}
	return bpf_prog_load(c == CBPF_CTX_XDP ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS,
			     "tiny", "GPL", insns, 2, &o);
}

static int slots_open(struct slots *s)
{
	for (int c = 0; c < 2; c++) {
		__u32 kb = XDPI_PROG_BODY, kr = XDPI_PROG_REJECT;

		s->array[c] = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "filter_test", 4, 4,
					     XDPI_PROG__MAX, NULL);
		s->body[c] = tiny((enum cbpf_ctx)c, RC_BODY);
		s->reject[c] = tiny((enum cbpf_ctx)c, RC_REJECT);
		if (s->array[c] < 0 || s->body[c] < 0 || s->reject[c] < 0 ||
		    bpf_map_update_elem(s->array[c], &kb, &s->body[c], BPF_ANY) ||
		    bpf_map_update_elem(s->array[c], &kr, &s->reject[c], BPF_ANY)) {
			fprintf(stderr, "test_filter: cannot make the %s slots: %s\n", ctx_name[c],
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* 1 match, 0 no match, -1 the run failed or took neither slot, -2 the
 * kernel does not run such a frame in this context. XDP gets
 * the replay metadata before the frame, as `read --kernel` passes it. */
static int run_xdp(int fd, uint8_t *buf, const uint8_t *frame, uint32_t caplen, uint32_t cut)
{
	struct xdpi_replay_meta meta = { .magic = XDPI_META_TS_MAGIC, .cut = cut };
	struct xdp_md ctx = { .data = META_SIZE, .data_end = META_SIZE + caplen };
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = META_SIZE + caplen,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	memcpy(buf, &meta, META_SIZE);
	memcpy(buf + META_SIZE, frame, caplen);
	if (bpf_prog_test_run_opts(fd, &o))
		return -1;
	return o.retval == RC_BODY ? 1 : o.retval == RC_REJECT ? 0 : -1;
}

static int run_tc(int fd, const uint8_t *frame, uint32_t caplen)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = caplen,
			    .repeat = 1);

	/* The kernel refuses to build an skb of an IP frame cut inside the
	 * IP header (EINVAL): such frames run in XDP only. */
	if (bpf_prog_test_run_opts(fd, &o))
		return errno == EINVAL ? -2 : -1;
	return o.retval == RC_BODY ? 1 : o.retval == RC_REJECT ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* Frames of the shared captures                                           */
/* ---------------------------------------------------------------------- */

struct pkt {
	size_t off;        /* into the arena */
	uint32_t caplen, cut;
	uint32_t capture;  /* index into captures[] */
	uint32_t index;    /* 1-based frame number among those pcap_source returns */
};

static struct {
	uint8_t *arena;
	size_t used, cap;
	struct pkt *p;
	size_t n, capn;
	uint64_t *seen;    /* hash set of frames, 0 = empty */
	size_t seen_cap;
	size_t frames, dups, short_frames;
	char *captures[512];
	int ncaptures;
} db;

static uint64_t frame_hash(const uint8_t *d, uint32_t len, uint32_t cut)
{
	uint64_t h = 1469598103934665603ULL ^ ((uint64_t)cut << 32 | len);

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ d[i]) * 1099511628211ULL;
	return h ? h : 1;
}

/* 1 if this frame (by hash) was stored already. A 64-bit FNV collision
 * would only skip a frame, never fail a comparison. */
static int seen_before(uint64_t h)
{
	size_t i;

	if (!db.seen) {
		db.seen_cap = 1 << 20;
		db.seen = calloc(db.seen_cap, sizeof(*db.seen));
		if (!db.seen)
			exit(1);
	}
	for (i = h & (db.seen_cap - 1); db.seen[i]; i = (i + 1) & (db.seen_cap - 1))
		if (db.seen[i] == h)
			return 1;
	if (db.frames > db.seen_cap / 2) {
		fprintf(stderr, "test_filter: too many distinct frames\n");
		exit(1);
	}
	db.seen[i] = h;
	return 0;
}

static void store(const struct frame *f, uint32_t capture, uint32_t index)
{
	if (db.used + f->caplen > db.cap) {
		db.cap = (db.cap + f->caplen) * 2;
		db.arena = realloc(db.arena, db.cap);
	}
	if (db.n == db.capn) {
		db.capn = db.capn ? db.capn * 2 : 4096;
		db.p = realloc(db.p, db.capn * sizeof(*db.p));
	}
	if (!db.arena || !db.p) {
		fprintf(stderr, "test_filter: out of memory\n");
		exit(1);
	}
	memcpy(db.arena + db.used, f->data, f->caplen);
	db.p[db.n++] = (struct pkt){ .off = db.used, .caplen = f->caplen, .cut = f->cut,
				     .capture = capture, .index = index };
	db.used += f->caplen;
}

static void load_capture(const char *path)
{
	char err[512];
	struct pcap_source *src = pcap_source_open(path, err, sizeof(err));
	uint32_t cap = (uint32_t)db.ncaptures, index = 0;
	struct frame f;
	int rc;

	CHECK(src != NULL, "%s", err);
	if (!src || db.ncaptures == N(db.captures))
		return;
	db.captures[db.ncaptures++] = strdup(path);
	while ((rc = pcap_source_next(src, &f, err, sizeof(err))) == 1) {
		index++;
		db.frames++;
		if (f.caplen < 14) { /* test_run refuses frames under an Ethernet header */
			db.short_frames++;
			continue;
		}
		if (seen_before(frame_hash(f.data, f.caplen, f.cut))) {
			db.dups++;
			continue;
		}
		store(&f, cap, index);
	}
	pcap_source_close(src);
}

static int is_capture(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && !strcmp(name + n - 5, ".pcap")) ||
	       (n > 7 && !strcmp(name + n - 7, ".pcapng"));
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void load_dir(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, by_name);
	char path[4096];

	CHECK(n > 0, "cannot list %s: %s", dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		if (is_capture(ents[i]->d_name)) {
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			load_capture(path);
		}
		free(ents[i]);
	}
	if (n > 0)
		free(ents);
}

/* ---------------------------------------------------------------------- */
/* Expressions on the captures                                             */
/* ---------------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void report(const char *expr, const char *ctx, const struct pkt *p, int want, int got)
{
	fprintf(stderr, "FAIL '%s' %s: %s frame %u (%u bytes, %u cut): libpcap %s, eBPF %s\n",
		expr, ctx, db.captures[p->capture], p->index, p->caplen, p->cut,
		want ? "match" : "no match", got < 0 ? "error" : got ? "match" : "no match");
}

/* One thread's share of the frames for one program. */
struct share {
	const char *expr;
	const struct filter *f;
	enum cbpf_ctx c;
	int fd;
	size_t from, to;
	uint8_t *buf;
	uint64_t runs, matches, bad, refused;
};

/* TC sees the captured bytes only (skb->len = caplen), XDP also the cut
 * through the replay metadata, so libpcap is given the same wire length. */
static void *compare_share(void *arg)
{
	struct share *sh = arg;

	for (size_t i = sh->from; i < sh->to; i++) {
		const struct pkt *p = &db.p[i];
		const uint8_t *d = db.arena + p->off;
		int want, got;

		if (sh->c == CBPF_CTX_TC && p->caplen > TC_MAX_FRAME)
			continue;
		got = sh->c == CBPF_CTX_XDP ? run_xdp(sh->fd, sh->buf, d, p->caplen, p->cut) :
					      run_tc(sh->fd, d, p->caplen);
		if (got == -2) {
			sh->refused++;
			continue;
		}
		want = filter_match(sh->f, d, p->caplen,
				    p->caplen + (sh->c == CBPF_CTX_XDP ? p->cut : 0));
		sh->runs++;
		sh->matches += (uint64_t)want;
		if (got != want && sh->bad++ < MAX_MISMATCH_REPORTS)
			report(sh->expr, ctx_name[sh->c], p, want, got);
	}
	return NULL;
}

static int nthreads = 1;
static uint64_t tc_refused;

/* Every stored frame through one program, split over the CPUs (test runs
 * are system calls; they run in parallel). */
static void compare(const char *expr, const struct filter *f, enum cbpf_ctx c, int fd,
		    uint64_t *runs, uint64_t *matches)
{
	struct share sh[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	uint64_t bad = 0, n = 0, refused = 0;
	int started = 0;

	for (int t = 0; t < nthreads; t++) {
		sh[t] = (struct share){ .expr = expr, .f = f, .c = c, .fd = fd, .buf = bufs[t],
					.from = db.n * (size_t)t / (size_t)nthreads,
					.to = db.n * (size_t)(t + 1) / (size_t)nthreads };
		if (t > 0 && !pthread_create(&tid[t], NULL, compare_share, &sh[t]))
			started |= 1 << t;
	}
	for (int t = 0; t < nthreads; t++)
		if (t == 0 || !(started & (1 << t)))
			compare_share(&sh[t]);
	for (int t = 0; t < nthreads; t++) {
		if (started & (1 << t))
			pthread_join(tid[t], NULL);
		bad += sh[t].bad;
		n += sh[t].runs;
		*matches += sh[t].matches;
		refused += sh[t].refused;
	}
	if (c == CBPF_CTX_TC)
		tc_refused = refused;
	CHECK(bad == 0, "'%s' %s: %llu of %llu frames decided differently from libpcap", expr,
	      ctx_name[c], (unsigned long long)bad, (unsigned long long)n);
	*runs += n;
}

static void test_expressions(const struct slots *s)
{
	uint64_t runs = 0, matches = 0;
	double t0 = now_s();

	for (int e = 0; e < N(exprs); e++) {
		char err[512];
		struct filter *f = filter_compile(exprs[e], FILTER_DLT_ETHERNET, err, sizeof(err));
		uint64_t m = 0;

		CHECK(f != NULL, "'%s' does not compile: %s", exprs[e], err);
		if (!f)
			continue;
		for (int c = 0; c < 2; c++) {
			int fd = filter_load(f, (enum cbpf_ctx)c, s->array[c], 0);

			CHECK(fd >= 0, "'%s': the kernel refused the %s program", exprs[e], ctx_name[c]);
			if (fd < 0)
				continue;
			compare(exprs[e], f, (enum cbpf_ctx)c, fd, &runs, c ? &m : &matches);
			close(fd);
		}
		filter_free(f);
	}
	printf("expressions: %d on %zu distinct frames, %llu test runs (%llu XDP matches; "
	       "%llu frames the kernel runs in XDP only), %d threads, %.1f s\n", N(exprs), db.n,
	       (unsigned long long)runs, (unsigned long long)matches,
	       (unsigned long long)tc_refused, nthreads, now_s() - t0);
}

/* The slow path (helper loads) on every frame, for a few expressions that
 * load at fixed and at computed offsets. */
static void test_helper_path(const struct slots *s)
{
	static const char *const some[] = {
		"tcp port 443 and not net 10.0.0.0/8",
		"tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
		"greater 1000 and ip6 protochain 17",
		"vlan and udp",
	};
	uint64_t runs = 0, matches = 0;
	double t0 = now_s();

	for (int e = 0; e < N(some); e++) {
		char err[512];
		struct filter *f = filter_compile(some[e], FILTER_DLT_ETHERNET, err, sizeof(err));

		CHECK(f != NULL, "'%s' does not compile: %s", some[e], err);
		if (!f)
			continue;
		for (int c = 0; c < 2; c++) {
			int fd = filter_load(f, (enum cbpf_ctx)c, s->array[c], CBPF_F_HELPER_ONLY);

			CHECK(fd >= 0, "'%s': the kernel refused the helper-only %s program", some[e],
			      ctx_name[c]);
			if (fd >= 0) {
				compare(some[e], f, (enum cbpf_ctx)c, fd, &runs, &matches);
				close(fd);
			}
		}
		filter_free(f);
	}
	printf("helper-only loads: %d expressions, %llu test runs, %.1f s\n", N(some),
	       (unsigned long long)runs, now_s() - t0);
}

/* ---------------------------------------------------------------------- */
/* Hand-written classic programs                                           */
/* ---------------------------------------------------------------------- */

#define STMT(c, k)       { (uint16_t)(c), 0, 0, (uint32_t)(k) }
#define JUMP(c, k, t, f) { (uint16_t)(c), (t), (f), (uint32_t)(k) }
#define RET_MATCH        STMT(BPF_RET | BPF_K, 1)
#define RET_MISS         STMT(BPF_RET | BPF_K, 0)
/* A == k ? match : miss */
#define EXPECT_A(k)      JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 1), RET_MATCH, RET_MISS

/* The frame bytes of the hand-written cases, and words read from them
 * (macros: the case table is a static initialiser). */
#define PAT(i)  ((uint8_t)((uint32_t)(i) * 7u + 3u))
#define BE16(i) ((uint32_t)PAT(i) << 8 | PAT((i) + 1))
#define BE32(i) (BE16(i) << 16 | BE16((i) + 2))

struct edge {
	const char *name;
	struct cbpf_insn prog[16];
	int n;
	uint32_t len;  /* frame bytes (PAT() filled) */
	uint32_t cut;  /* XDP: wire length = len + cut */
	int want;      /* 1 match, 0 no match */
};

#define EDGE(nm, ln, ct, w, ...)                                                   \
	{ .name = nm, .prog = { __VA_ARGS__ }, .len = ln, .cut = ct, .want = w,       \
	  .n = (int)(sizeof((struct cbpf_insn[]){ __VA_ARGS__ }) / sizeof(struct cbpf_insn)) }

/* Frames up to 3500 bytes run in both contexts, larger ones (XDP frags)
 * in XDP only. */
static const struct edge edges[] = {
	EDGE("div by X = 0 is no match", 100, 0, 0,
	     STMT(BPF_LD | BPF_IMM, 10), STMT(BPF_LDX | BPF_IMM, 0),
	     STMT(BPF_ALU | BPF_DIV | BPF_X, 0), RET_MATCH),
	EDGE("mod by X = 0 is no match", 100, 0, 0,
	     STMT(BPF_LD | BPF_IMM, 10), STMT(BPF_LDX | BPF_IMM, 0),
	     STMT(BPF_ALU | BPF_MOD | BPF_X, 0), RET_MATCH),
	EDGE("div by X = 3", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 10), STMT(BPF_LDX | BPF_IMM, 3),
	     STMT(BPF_ALU | BPF_DIV | BPF_X, 0), EXPECT_A(3)),
	EDGE("mod by X = 3", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 10), STMT(BPF_LDX | BPF_IMM, 3),
	     STMT(BPF_ALU | BPF_MOD | BPF_X, 0), EXPECT_A(1)),
	EDGE("unsigned div", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 0xfffffff0), STMT(BPF_ALU | BPF_DIV | BPF_K, 16),
	     EXPECT_A(0x0fffffff)),
	EDGE("word at the last 4 bytes", 100, 0, 1,
	     STMT(BPF_LD | BPF_W | BPF_ABS, 96), EXPECT_A(BE32(96))),
	EDGE("word one byte past the end", 100, 0, 0,
	     STMT(BPF_LD | BPF_W | BPF_ABS, 97), RET_MATCH),
	EDGE("half at the last 2 bytes", 100, 0, 1,
	     STMT(BPF_LD | BPF_H | BPF_ABS, 98), EXPECT_A(BE16(98))),
	EDGE("byte at the end is no match", 100, 0, 0,
	     STMT(BPF_LD | BPF_B | BPF_ABS, 100), RET_MATCH),
	EDGE("byte at a huge offset", 100, 0, 0,
	     STMT(BPF_LD | BPF_B | BPF_ABS, 0xfffffff0), RET_MATCH),
	EDGE("indirect half at the end", 100, 0, 1,
	     STMT(BPF_LDX | BPF_IMM, 90), STMT(BPF_LD | BPF_H | BPF_IND, 8), EXPECT_A(BE16(98))),
	EDGE("indirect half one past", 100, 0, 0,
	     STMT(BPF_LDX | BPF_IMM, 91), STMT(BPF_LD | BPF_H | BPF_IND, 8), RET_MATCH),
	EDGE("indirect X + k does not wrap", 100, 0, 0,
	     STMT(BPF_LDX | BPF_IMM, 0xffffffff), STMT(BPF_LD | BPF_B | BPF_IND, 2), RET_MATCH),
	EDGE("indirect byte", 100, 0, 1,
	     STMT(BPF_LDX | BPF_IMM, 50), STMT(BPF_LD | BPF_B | BPF_IND, 7), EXPECT_A(PAT(57))),
	EDGE("scratch store and load", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 0xdeadbeef), STMT(BPF_ST, 3), STMT(BPF_LD | BPF_IMM, 0),
	     STMT(BPF_LDX | BPF_MEM, 3), STMT(BPF_MISC | BPF_TXA, 0), EXPECT_A(0xdeadbeef)),
	EDGE("scratch X store, last word", 100, 0, 1,
	     STMT(BPF_LDX | BPF_IMM, 77), STMT(BPF_STX, 15), STMT(BPF_LD | BPF_MEM, 15),
	     EXPECT_A(77)),
	EDGE("scratch starts zeroed", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 5), STMT(BPF_LD | BPF_MEM, 9), EXPECT_A(0)),
	EDGE("msh: 4 * (P[k] & 0xf)", 100, 0, 1,
	     STMT(BPF_LDX | BPF_MSH | BPF_B, 14), STMT(BPF_MISC | BPF_TXA, 0),
	     EXPECT_A(4u * (PAT(14) & 0xf))),
	EDGE("msh past the end", 100, 0, 0,
	     STMT(BPF_LDX | BPF_MSH | BPF_B, 100), RET_MATCH),
	EDGE("len is the wire length", 100, 0, 1,
	     STMT(BPF_LD | BPF_W | BPF_LEN, 0), EXPECT_A(100)),
	EDGE("ldx len", 64, 0, 1,
	     STMT(BPF_LDX | BPF_W | BPF_LEN, 0), STMT(BPF_MISC | BPF_TXA, 0), EXPECT_A(64)),
	EDGE("lsh by X >= 32 gives 0", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 1), STMT(BPF_LDX | BPF_IMM, 33),
	     STMT(BPF_ALU | BPF_LSH | BPF_X, 0), EXPECT_A(0)),
	EDGE("rsh by X", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 0x80000000), STMT(BPF_LDX | BPF_IMM, 31),
	     STMT(BPF_ALU | BPF_RSH | BPF_X, 0), EXPECT_A(1)),
	EDGE("neg", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 5), STMT(BPF_ALU | BPF_NEG, 0), EXPECT_A(0xfffffffb)),
	EDGE("32-bit wrap of add and mul", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 0xffffffff), STMT(BPF_ALU | BPF_ADD | BPF_K, 2),
	     STMT(BPF_ALU | BPF_MUL | BPF_K, 0x80000001), EXPECT_A(0x80000001)),
	EDGE("and, or, xor, sub with X", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 0xf0f0), STMT(BPF_LDX | BPF_IMM, 0xff00),
	     STMT(BPF_ALU | BPF_AND | BPF_X, 0), STMT(BPF_ALU | BPF_OR | BPF_K, 0x1),
	     STMT(BPF_ALU | BPF_XOR | BPF_X, 0), STMT(BPF_ALU | BPF_SUB | BPF_K, 2),
	     EXPECT_A((((0xf0f0u & 0xff00u) | 1u) ^ 0xff00u) - 2u)),
	EDGE("jgt is unsigned", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 0x90000000), JUMP(BPF_JMP | BPF_JGT | BPF_K, 0x80000000, 0, 1),
	     RET_MATCH, RET_MISS),
	EDGE("jge X and jset X", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 6), STMT(BPF_LDX | BPF_IMM, 6),
	     JUMP(BPF_JMP | BPF_JGE | BPF_X, 0, 0, 2), JUMP(BPF_JMP | BPF_JSET | BPF_X, 0, 0, 1),
	     RET_MATCH, RET_MISS),
	EDGE("jeq X false branch", 100, 0, 0,
	     STMT(BPF_LD | BPF_IMM, 6), STMT(BPF_LDX | BPF_IMM, 7),
	     JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1), RET_MATCH, RET_MISS),
	EDGE("ret A zero", 100, 0, 0, STMT(BPF_LD | BPF_IMM, 0), STMT(BPF_RET | BPF_A, 0)),
	EDGE("ret A non-zero", 100, 0, 1, STMT(BPF_LD | BPF_IMM, 9), STMT(BPF_RET | BPF_A, 0)),
	EDGE("ja forward", 100, 0, 1, STMT(BPF_JMP | BPF_JA, 1), RET_MISS, RET_MATCH),
	/* A counts iterations of a backward jump up to the bound: the last
	 * loop allowed, and one more. */
	EDGE("loop within the bound", 100, 0, 1,
	     STMT(BPF_LD | BPF_IMM, 0), STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
	     JUMP(BPF_JMP | BPF_JEQ | BPF_K, CBPF_MAX_BACKWARD_JUMPS + 1, 1, 0),
	     STMT(BPF_JMP | BPF_JA, -3), RET_MATCH),
	EDGE("loop past the bound", 100, 0, 0,
	     STMT(BPF_LD | BPF_IMM, 0), STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
	     JUMP(BPF_JMP | BPF_JEQ | BPF_K, CBPF_MAX_BACKWARD_JUMPS + 2, 1, 0),
	     STMT(BPF_JMP | BPF_JA, -3), RET_MATCH),
	/* XDP frags: bytes past the linear data (a page) come through the
	 * helper; the wire length counts the frags and the cut. */
	EDGE("frags: byte near the end", 40000, 0, 1,
	     STMT(BPF_LD | BPF_B | BPF_ABS, 39999), EXPECT_A(PAT(39999))),
	EDGE("frags: word across a page", 40000, 0, 1,
	     STMT(BPF_LD | BPF_W | BPF_ABS, 4094), EXPECT_A(BE32(4094))),
	EDGE("frags: indirect word", 40000, 0, 1,
	     STMT(BPF_LDX | BPF_IMM, 30000), STMT(BPF_LD | BPF_W | BPF_IND, 5),
	     EXPECT_A(BE32(30005))),
	EDGE("frags: half one past the end", 40000, 0, 0,
	     STMT(BPF_LD | BPF_H | BPF_ABS, 39999), RET_MATCH),
	EDGE("frags: len with a cut", 40000, 1234, 1,
	     STMT(BPF_LD | BPF_W | BPF_LEN, 0), EXPECT_A(41234)),
	EDGE("frags: msh far out", 40000, 0, 1,
	     STMT(BPF_LDX | BPF_MSH | BPF_B, 33333), STMT(BPF_MISC | BPF_TXA, 0),
	     EXPECT_A(4u * (PAT(33333) & 0xf))),
};

static int run_edge(const struct edge *t, enum cbpf_ctx c, int fd, uint8_t *frame, uint8_t *buf)
{
	return c == CBPF_CTX_XDP ? run_xdp(fd, buf, frame, t->len, t->cut) :
				   run_tc(fd, frame, t->len);
}

static void test_edges(const struct slots *s, uint8_t *buf)
{
	static uint8_t frame[65536];

	for (uint32_t i = 0; i < sizeof(frame); i++)
		frame[i] = PAT(i);
	for (int i = 0; i < N(edges); i++) {
		const struct edge *t = &edges[i];

		for (int c = 0; c < 2; c++) {
			if (c == CBPF_CTX_TC && (t->len > TC_MAX_FRAME || t->cut))
				continue;
			for (unsigned flags = 0; flags <= CBPF_F_HELPER_ONLY; flags++) {
				struct cbpf_opts o = { .ctx = (enum cbpf_ctx)c,
						       .prog_array_fd = s->array[c], .flags = flags };
				char err[256] = "";
				int fd = cbpf_load(t->prog, (size_t)t->n, &o, err, sizeof(err)), got;

				CHECK(fd >= 0, "%s (%s%s): not loaded: %s", t->name, ctx_name[c],
				      flags ? ", helper only" : "", err);
				if (fd < 0)
					continue;
				got = run_edge(t, (enum cbpf_ctx)c, fd, frame, buf);
				CHECK(got == t->want, "%s (%s%s): got %d, want %d", t->name,
				      ctx_name[c], flags ? ", helper only" : "", got, t->want);
				close(fd);
			}
		}
	}
}

/* Programs the translator must refuse rather than run differently. */
static void test_refusals(const struct slots *s)
{
	static const struct {
		const char *name;
		struct cbpf_insn prog[3];
		int n;
	} bad[] = {
		{ "division by constant 0", { STMT(BPF_ALU | BPF_DIV | BPF_K, 0), RET_MATCH }, 2 },
		{ "shift by 32", { STMT(BPF_ALU | BPF_LSH | BPF_K, 32), RET_MATCH }, 2 },
		{ "scratch M[16]", { STMT(BPF_ST, 16), RET_MATCH }, 2 },
		{ "jump past the end", { JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), RET_MATCH }, 2 },
		{ "ja to itself", { STMT(BPF_JMP | BPF_JA, 0xffffffff), RET_MATCH }, 2 },
		{ "unknown opcode", { STMT(BPF_ALU | 0xf0, 0), RET_MATCH }, 2 },
		{ "ret X", { STMT(BPF_RET | BPF_X, 0), RET_MATCH }, 2 },
		{ "empty program", { RET_MATCH }, 0 },
	};
	struct cbpf_opts o = { .ctx = CBPF_CTX_XDP, .prog_array_fd = s->array[0] };

	for (int i = 0; i < N(bad); i++) {
		char err[256] = "";
		void *out = NULL;
		size_t len = 0;
		int rc = cbpf_translate(bad[i].prog, (size_t)bad[i].n, &o, &out, &len, err, sizeof(err));

		CHECK(rc == -1 && err[0], "%s: translated (%d)", bad[i].name, rc);
		free(out);
	}
}

int main(int argc, char **argv)
{
	static const char *const dflt[] = { "../shared/pcap", "../shared/pcap/bench" };
	struct slots s;
	double t0 = now_s();

	if (geteuid() != 0) {
		fprintf(stderr, "test_filter: needs root\n");
		return 1;
	}
	libbpf_set_print(NULL);
	if (slots_open(&s))
		return 1;
	test_refusals(&s);
	test_edges(&s, bufs[0]);
	if (argc > 1)
		for (int i = 1; i < argc; i++)
			load_dir(argv[i]);
	else
		for (int i = 0; i < N(dflt); i++)
			load_dir(dflt[i]);
	printf("captures: %d, frames: %zu (%zu duplicates and %zu under 14 bytes not run), "
	       "%.1f s to read\n", db.ncaptures, db.frames, db.dups, db.short_frames, now_s() - t0);
	CHECK(db.ncaptures >= 10 && db.n > 1000, "too few captures (%d) or frames (%zu)",
	      db.ncaptures, db.n);
	nthreads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	nthreads = nthreads < 1 ? 1 : nthreads > MAX_THREADS ? MAX_THREADS : nthreads;
	test_expressions(&s);
	test_helper_path(&s);
	printf("total %.1f s\n", now_s() - t0);
	return check_summary("test_filter");
}
