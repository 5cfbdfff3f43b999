/* SPDX-License-Identifier: BSD-3-Clause */
/* Runs the real XDP and TC programs on crafted frames with
 * BPF_PROG_TEST_RUN and checks what they leave behind: the per-CPU flow map,
 * the per-CPU counters and the event ring buffer. Needs root. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpi/abi.h"
#include "xdpi/parse.h"
#include "xdpi/flow.h"
#include "check.h"
#include "config.h"
#include "flowstore.h"
#include "loader.h"
#include "stats.h"
#include "pin.h"
#include "rules.h"
#include "transport.h"
#include "xdpi.skel.h"

#define FRAME_MAX  9216
#define MAX_EVENTS 64
#define MAX_FLOWS  4096
#define RINGBUF_SZ (1u << 20)

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---------------------------------------------------------------------- */
/* Frame building                                                          */
/* ---------------------------------------------------------------------- */

struct frame {
	uint8_t b[FRAME_MAX];
	uint32_t len;
	uint32_t l3;  /* offset of the IP header */
	uint32_t l4;  /* offset of the L4 header */
	uint32_t pl;  /* offset of the payload */
};

/* What a well-formed frame carries; malformed frames patch one afterwards. */
struct spec {
	int family;            /* 4 or 6 */
	uint8_t proto;         /* XDPI_IPPROTO_TCP or _UDP */
	const char *src, *dst;
	uint16_t sport, dport;
	int vlan;              /* -1: untagged */
	uint8_t flags;         /* TCP flags */
	uint32_t seq;          /* TCP sequence number */
	uint32_t payload;      /* payload bytes, filled with fill + i */
	uint8_t fill;
	uint16_t frag;         /* IPv4 frag_off field, or IPv6 fragment header's */
	const uint8_t *ext;    /* IPv6 extension headers, 8 bytes each */
	int n_ext;
};

static void put8(struct frame *f, uint8_t v)
{
	f->b[f->len++] = v;
}

static void put16(struct frame *f, uint16_t v)
{
	put8(f, v >> 8);
	put8(f, v & 0xff);
}

static void put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static void put_bytes(struct frame *f, const void *p, uint32_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put_zero(struct frame *f, uint32_t n)
{
	memset(f->b + f->len, 0, n);
	f->len += n;
}

static void set16(struct frame *f, uint32_t off, uint16_t v)
{
	f->b[off] = v >> 8;
	f->b[off + 1] = v & 0xff;
}

static void put_addr(struct frame *f, int family, const char *text)
{
	uint8_t a[16];

	if (inet_pton(family == 4 ? AF_INET : AF_INET6, text, a) != 1) {
		fprintf(stderr, "bad address %s\n", text);
		exit(2);
	}
	put_bytes(f, a, family == 4 ? 4 : 16);
}

static void put_eth(struct frame *f, uint16_t type)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x01 };

	f->len = 0;
	put_bytes(f, dst, 6);
	put_bytes(f, src, 6);
	put16(f, type);
}

/* Replaces the ethertype just written with an 802.1Q tag carrying it. */
static void put_vlan(struct frame *f, uint16_t id)
{
	uint16_t inner = (uint16_t)(f->b[f->len - 2] << 8 | f->b[f->len - 1]);

	set16(f, f->len - 2, XDPI_ETH_P_8021Q);
	put16(f, id);
	put16(f, inner);
}

/* Lengths are fixed up once the whole frame is known (finish()). */
static void put_ipv4(struct frame *f, const struct spec *s)
{
	f->l3 = f->len;
	put8(f, 0x45);
	put8(f, 0);
	put16(f, 0);            /* total length */
	put16(f, 0x1234);       /* id */
	put16(f, s->frag);
	put8(f, 64);
	put8(f, s->proto);
	put16(f, 0);            /* checksum: nobody verifies it here */
	put_addr(f, 4, s->src);
	put_addr(f, 4, s->dst);
}

static void put_ipv6(struct frame *f, const struct spec *s)
{
	f->l3 = f->len;
	put32(f, 0x60000000);
	put16(f, 0);            /* payload length */
	put8(f, s->n_ext ? s->ext[0] : s->proto);
	put8(f, 64);
	put_addr(f, 6, s->src);
	put_addr(f, 6, s->dst);
}

/* One 8-byte extension header; next is the header after it. */
static void put_ext(struct frame *f, uint8_t type, uint8_t next, uint16_t frag)
{
	put8(f, next);
	if (type == XDPI_IPPROTO_FRAGMENT) {
		put8(f, 0);
		put16(f, frag);
		put32(f, 0xabcd);
	} else {
		put8(f, 0);     /* hdrlen 0: 8 bytes */
		put8(f, 1);     /* PadN option filling the rest */
		put8(f, 4);
		put_zero(f, 4);
	}
}

static void put_tcp(struct frame *f, const struct spec *s)
{
	f->l4 = f->len;
	put16(f, s->sport);
	put16(f, s->dport);
	put32(f, s->seq);
	put32(f, 0);            /* ack */
	put8(f, 5 << 4);        /* data offset: 20 bytes */
	put8(f, s->flags);
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
}

static void put_udp(struct frame *f, const struct spec *s)
{
	f->l4 = f->len;
	put16(f, s->sport);
	put16(f, s->dport);
	put16(f, 0);            /* length */
	put16(f, 0);
}

static void put_payload(struct frame *f, const struct spec *s)
{
	f->pl = f->len;
	for (uint32_t i = 0; i < s->payload; i++)
		put8(f, (uint8_t)(s->fill + i));
}

/* Length fields from the bytes actually written. */
static void finish(struct frame *f, const struct spec *s)
{
	if (s->family == 4)
		set16(f, f->l3 + 2, (uint16_t)(f->len - f->l3));
	else
		set16(f, f->l3 + 4, (uint16_t)(f->len - f->l3 - 40));
	if (s->proto == XDPI_IPPROTO_UDP && f->l4)
		set16(f, f->l4 + 4, (uint16_t)(f->len - f->l4));
}

static void build_spec(struct frame *f, const struct spec *s)
{
	memset(f, 0, sizeof(*f));
	put_eth(f, s->family == 4 ? XDPI_ETH_P_IP : XDPI_ETH_P_IPV6);
	if (s->vlan >= 0)
		put_vlan(f, (uint16_t)s->vlan);
	if (s->family == 4) {
		put_ipv4(f, s);
	} else {
		put_ipv6(f, s);
		for (int i = 0; i < s->n_ext; i++)
			put_ext(f, s->ext[i], i + 1 < s->n_ext ? s->ext[i + 1] : s->proto,
				s->frag);
	}
	/* A non-first fragment carries no L4 header, only more payload. */
	if (!(s->family == 4 && (s->frag & 0x1fff))) {
		if (s->proto == XDPI_IPPROTO_TCP)
			put_tcp(f, s);
		else
			put_udp(f, s);
	}
	put_payload(f, s);
	finish(f, s);
}

static void build(struct frame *f, struct spec s)
{
	build_spec(f, &s);
}

static uint32_t ip_len(const struct frame *f)
{
	uint32_t v = (uint32_t)f->b[f->l3 + 2] << 8 | f->b[f->l3 + 3];

	return (f->b[f->l3] >> 4) == 4 ? v : v + 40;
}

/* Templates the cases start from. */
static struct spec udp4(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			uint32_t payload)
{
	return (struct spec){ .family = 4, .proto = XDPI_IPPROTO_UDP, .src = src, .dst = dst,
			      .sport = sport, .dport = dport, .vlan = -1,
			      .payload = payload, .fill = 'a' };
}

static struct spec tcp4(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			uint8_t flags, uint32_t payload)
{
	struct spec s = udp4(src, sport, dst, dport, payload);

	s.proto = XDPI_IPPROTO_TCP;
	s.flags = flags;
	return s;
}

/* ---------------------------------------------------------------------- */
/* Program environment                                                     */
/* ---------------------------------------------------------------------- */

struct ev {
	struct xdpi_snippet_event rec;
	size_t size;  /* bytes of the ring-buffer record */
};

struct env {
	struct xdpi_bpf *skel;
	struct transport *tp;
	struct transport_reader *rd;
	struct ev ev[MAX_EVENTS];
	int nev;
	int overflow;
	int by_type[4];  /* every event read, kept or not */
	uint64_t runs;
};

struct knobs {
	uint32_t snippet_bytes;
	uint32_t snippet_pkts;
	uint32_t replay_ts;
};

static const struct knobs defaults = { .snippet_bytes = 256, .snippet_pkts = 8 };

enum prog { XDP, TC };
static const char *const prog_name[] = { "xdp", "tc" };

static int ncpus;
/* The transport env_open sets up: each case runs over both. */
static int g_transport = XDPI_TRANSPORT_RINGBUF;

/* Record sizes are exact in a ring buffer; a perf sample pads its raw
 * bytes so that they and their 4-byte size make a multiple of 8. */
static int record_size_ok(size_t got, size_t want)
{
	if (g_transport == XDPI_TRANSPORT_RINGBUF)
		return got == want;
	return got >= want && got < want + 8;
}
static int cpus[2];   /* two CPUs this process may run on; cpus[1] < 0 if one */

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct env *e = ctx;
	struct ev *ev;

	if (size >= sizeof(struct xdpi_event))
		e->by_type[((struct xdpi_event *)data)->type & 3]++;
	if (e->nev >= MAX_EVENTS) {
		e->overflow++;
		return 0;
	}
	ev = &e->ev[e->nev++];
	memset(ev, 0, sizeof(*ev));
	ev->size = size;
	memcpy(&ev->rec, data, size < sizeof(ev->rec) ? size : sizeof(ev->rec));
	return 0;
}

static void env_close(struct env *e)
{
	transport_reader_free(e->rd);
	transport_close(e->tp);
	xdpi_bpf__destroy(e->skel);
	free(e);
}

/* A freshly loaded skeleton per case, so every count starts at zero. */
static struct env *env_open(const struct knobs *k)
{
	struct env *e = calloc(1, sizeof(*e));
	struct xdpi_config cfg;
	int err;

	if (!e)
		return NULL;
	config_defaults(&cfg);
	cfg.transport = g_transport;
	cfg.ringbuf_bytes = RINGBUF_SZ;
	cfg.max_flows = MAX_FLOWS;
	e->skel = xdpi_bpf__open();
	CHECK(e->skel != NULL, "xdpi_bpf__open: %s", strerror(errno));
	if (!e->skel)
		goto fail;
	e->skel->rodata->snippet_bytes = k->snippet_bytes;
	e->skel->rodata->snippet_pkts = k->snippet_pkts;
	e->skel->rodata->replay_ts = k->replay_ts;
	e->skel->rodata->wakeup_bytes = RINGBUF_SZ / 4;
	err = bpf_map__set_max_entries(e->skel->maps.flows, MAX_FLOWS);
	err = err ?: transport_prepare(e->skel, &cfg);
	CHECK(!err, "sizing maps: %d", err);
	err = err ?: xdpi_bpf__load(e->skel);
	CHECK(!err, "xdpi_bpf__load: %d", err);
	if (err)
		goto fail;
	e->tp = transport_open(e->skel, &cfg);
	e->rd = e->tp ? transport_reader_new(e->tp, 0, 1, on_event, e) : NULL;
	CHECK(e->rd != NULL, "event reader: %s", strerror(errno));
	if (!e->rd)
		goto fail;
	return e;
fail:
	env_close(e);
	return NULL;
}

static int test_run(struct env *e, enum prog p, const void *data, uint32_t len,
		    struct xdp_md *ctx, uint32_t *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = len,
		    .repeat = 1);
	struct bpf_program *prog = p == XDP ? e->skel->progs.xdpi_xdp : e->skel->progs.xdpi_tc;
	int err;

	if (ctx) {
		opts.ctx_in = ctx;
		opts.ctx_size_in = sizeof(*ctx);
		opts.ctx_out = ctx;   /* the kernel writes back data/data_end */
		opts.ctx_size_out = sizeof(*ctx);
	}
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (err)
		return -errno;
	e->runs++;
	*retval = opts.retval;
	return 0;
}

/* Runs one frame and checks the verdict: PASS whatever the frame holds. */
static void run(struct env *e, enum prog p, const struct frame *f)
{
	uint32_t ret = ~0u;
	int err = test_run(e, p, f->b, f->len, NULL, &ret);

	CHECK(!err, "%s test_run of a %u-byte frame: %s", prog_name[p], f->len, strerror(-err));
	CHECK_EQ(ret, p == XDP ? XDP_PASS : TC_ACT_OK, p == XDP ? "xdp verdict" : "tc verdict");
}

/* XDP run with struct xdpi_replay_meta in the metadata area. */
static void run_meta(struct env *e, const struct frame *f, uint64_t ts, uint32_t magic,
		     uint32_t cut)
{
	struct xdpi_replay_meta meta = { .ts_ns = ts, .magic = magic, .cut = cut };
	static uint8_t buf[sizeof(meta) + FRAME_MAX];
	struct xdp_md ctx = { .data = sizeof(meta), .data_end = sizeof(meta) + f->len };
	uint32_t ret = ~0u;
	int err;

	memcpy(buf, &meta, sizeof(meta));
	memcpy(buf + sizeof(meta), f->b, f->len);
	err = test_run(e, XDP, buf, sizeof(meta) + f->len, &ctx, &ret);
	CHECK(!err, "xdp test_run with metadata: %s", strerror(-err));
	CHECK_EQ(ret, XDP_PASS, "xdp verdict with metadata");
}

/* Collects every queued event into e->ev. */
static void drain(struct env *e)
{
	int n = transport_reader_consume(e->rd);

	CHECK(n >= 0, "reading the event buffers: %d", n);
	CHECK(!e->overflow, "%d events beyond the %d kept", e->overflow, MAX_EVENTS);
}

static void counters(struct env *e, uint64_t *c)
{
	int err = counters_read_kernel(bpf_map__fd(e->skel->maps.counters), c);

	CHECK(!err, "counters_read_kernel: %d", err);
	if (err)
		memset(c, 0, sizeof(uint64_t) * XDPI_C__MAX);
}

/* The key and direction user space derives from the same bytes. */
static uint8_t key_of(const struct frame *f, struct xdpi_flow_key *k)
{
	struct xdpi_pkt p;
	int rc = xdpi_parse((void *)f->b, (void *)(f->b + f->len), 0, &p);

	CHECK_EQ(rc, XDPI_P_FLOW, "user-space parse of a test frame");
	memset(k, 0, sizeof(*k));
	return xdpi_flow_key_from_pkt(&p, k);
}

static size_t stride(void)
{
	return (sizeof(struct xdpi_flow_val) + 7) / 8 * 8;
}

static int flow_lookup(struct env *e, const struct xdpi_flow_key *k, struct xdpi_flow_val *v)
{
	uint8_t *vals = calloc((size_t)ncpus, stride());
	int err;

	if (!vals)
		return -ENOMEM;
	err = bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.flows), k, vals) ? -errno : 0;
	if (!err)
		flow_val_merge(v, vals, ncpus, stride());
	free(vals);
	return err;
}

/* Merged flow value of the flow the frame belongs to; 0 if found. */
static int flow_of(struct env *e, const struct frame *f, struct xdpi_flow_val *v, uint8_t *dir)
{
	struct xdpi_flow_key k;
	uint8_t d = key_of(f, &k);
	int err = flow_lookup(e, &k, v);

	CHECK(!err, "flow lookup: %s", strerror(-err));
	if (dir)
		*dir = d;
	if (err)
		memset(v, 0, sizeof(*v));
	return err;
}

static int flow_count(struct env *e, struct xdpi_flow_key *keys, int max)
{
	int fd = bpf_map__fd(e->skel->maps.flows), n = 0;
	struct xdpi_flow_key k, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (n < max)
			keys[n] = next;
		n++;
		k = next;
		prev = &k;
	}
	return n;
}

static int key_eq(const struct xdpi_flow_key *a, const struct xdpi_flow_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------- */
/* Expected events                                                         */
/* ---------------------------------------------------------------------- */

struct want {
	uint32_t type;
	int step;         /* packet the event comes from */
	uint8_t index;    /* snippets: packet index in its direction */
};

/* For a failure message: what did arrive. */
static void dump_events(const struct env *e, const char *name)
{
	for (int i = 0; i < e->nev; i++) {
		const struct xdpi_event *h = &e->ev[i].rec.hdr;

		fprintf(stderr, "  %s: event %d: type %u dir %u flags %#x pkt_len %u len %u\n",
			name, i, h->type, h->dir, h->tcp_flags, h->pkt_len, h->len);
	}
}

/* Checks one event against the packet it should come from. */
static void check_event(const struct ev *ev, const struct want *w, const struct frame *f,
			const struct xdpi_flow_key *key, uint8_t dir, uint32_t seq,
			uint8_t flags, uint32_t snip_bytes, const char *name)
{
	const struct xdpi_event *h = &ev->rec.hdr;
	uint32_t payload = f->len - f->pl;
	uint32_t want_len = payload < snip_bytes ? payload : snip_bytes;

	CHECK(h->type == w->type, "%s: event of step %d: type %u, want %u", name, w->step,
	      h->type, w->type);
	CHECK(key_eq(&h->key, key), "%s: event of step %d: key", name, w->step);
	CHECK(h->dir == dir, "%s: event of step %d: dir %u, want %u", name, w->step, h->dir, dir);
	CHECK(h->tcp_flags == flags, "%s: event of step %d: flags %#x, want %#x", name,
	      w->step, h->tcp_flags, flags);
	CHECK(h->tcp_seq == seq, "%s: event of step %d: seq %#x, want %#x", name, w->step,
	      h->tcp_seq, seq);
	CHECK(h->pkt_len == ip_len(f), "%s: event of step %d: pkt_len %u, want %u", name,
	      w->step, h->pkt_len, ip_len(f));
	if (w->type != XDPI_EV_SNIPPET) {
		CHECK(h->len == 0, "%s: step %d: non-snippet len %u", name, w->step, h->len);
		return;
	}
	CHECK(h->len == want_len, "%s: snippet of step %d: len %u, want %u", name, w->step,
	      h->len, want_len);
	CHECK(h->pkt_index == w->index, "%s: snippet of step %d: index %u, want %u", name,
	      w->step, h->pkt_index, w->index);
	CHECK(record_size_ok(ev->size, sizeof(struct xdpi_event) + h->len),
	      "%s: snippet record size %zu for %u bytes", name, ev->size, h->len);
	CHECK(h->len <= want_len && !memcmp(ev->rec.data, f->b + f->pl, h->len),
	      "%s: snippet of step %d: bytes differ from the payload", name, w->step);
}

/* ---------------------------------------------------------------------- */
/* UDP conversation                                                        */
/* ---------------------------------------------------------------------- */

/* Snippets come from packets 0, 1, 3 and 4: the empty datagram has none,
 * and 300 bytes are cut to snippet_bytes. */
static const struct want udp_want[] = {
	{ XDPI_EV_FLOW_START, 0, 0 },
	{ XDPI_EV_SNIPPET, 0, 0 },
	{ XDPI_EV_SNIPPET, 1, 1 },
	{ XDPI_EV_SNIPPET, 3, 0 },
	{ XDPI_EV_SNIPPET, 4, 1 },
};

static void test_udp(enum prog p)
{
	static const uint32_t sizes[5] = { 10, 300, 0, 7, 1 };
	struct env *e = env_open(&defaults);
	struct frame *f = calloc(5, sizeof(*f));
	uint64_t bytes[2] = { 0 }, c[XDPI_C__MAX], t0, t1;
	struct xdpi_flow_key key, keys[4];
	struct xdpi_flow_val v;
	uint8_t dir_ab;

	printf("udp conversation (%s)\n", prog_name[p]);
	if (!e || !f)
		goto out;
	/* A is the higher endpoint, so first_dir is HI_LO: not the zero default. */
	for (int i = 0; i < 5; i++) {
		struct spec s = i < 3 ? udp4("10.0.0.9", 5353, "10.0.0.1", 53, sizes[i])
				      : udp4("10.0.0.1", 53, "10.0.0.9", 5353, sizes[i]);

		s.fill = (uint8_t)(i * 40);
		build(&f[i], s);
	}
	dir_ab = key_of(&f[0], &key);
	CHECK_EQ(dir_ab, XDPI_DIR_HI_LO, "direction of A->B");

	t0 = now_ns();
	for (int i = 0; i < 5; i++) {
		run(e, p, &f[i]);
		bytes[i < 3 ? dir_ab : !dir_ab] += ip_len(&f[i]);
	}
	t1 = now_ns();

	CHECK_EQ(flow_count(e, keys, 4), 1, "flow entries");
	CHECK(key_eq(&keys[0], &key), "the only flow has the canonical key");
	flow_of(e, &f[0], &v, NULL);
	CHECK_EQ(v.dir[dir_ab].pkts, 3, "A->B packets");
	CHECK_EQ(v.dir[!dir_ab].pkts, 2, "B->A packets");
	CHECK_EQ(v.dir[dir_ab].bytes, bytes[dir_ab], "A->B bytes");
	CHECK_EQ(v.dir[!dir_ab].bytes, bytes[!dir_ab], "B->A bytes");
	CHECK_EQ(v.dir[dir_ab].bytes, 3 * 28 + 10 + 300 + 0, "A->B bytes (literal)");
	CHECK_EQ(v.first_dir, dir_ab, "first_dir");
	CHECK(v.first_ns >= t0 && v.first_ns <= v.last_ns && v.last_ns <= t1,
	      "timestamps %llu..%llu outside the run %llu..%llu",
	      (unsigned long long)v.first_ns, (unsigned long long)v.last_ns,
	      (unsigned long long)t0, (unsigned long long)t1);

	drain(e);
	CHECK(e->nev == N(udp_want), "udp: %d events, want %d", e->nev, N(udp_want));
	if (e->nev != N(udp_want))
		dump_events(e, "udp");
	for (int i = 0; i < e->nev && i < N(udp_want); i++) {
		const struct want *w = &udp_want[i];

		check_event(&e->ev[i], w, &f[w->step], &key, w->step < 3 ? dir_ab : !dir_ab,
			    0, 0, defaults.snippet_bytes, "udp");
	}
	CHECK(record_size_ok(e->ev[0].size, sizeof(struct xdpi_event)), "flow start record size %zu",
	      e->ev[0].size);
	counters(e, c);
	CHECK_EQ(c[XDPI_C_PACKETS], 5, "packets counter");
	CHECK_EQ(c[XDPI_C_FLOW_PACKETS], 5, "flow_packets counter");
	CHECK_EQ(c[XDPI_C_FLOWS_CREATED], 1, "flows_created counter");
	CHECK_EQ(c[XDPI_C_EV_START], 1, "ev_start counter");
	CHECK_EQ(c[XDPI_C_EV_END], 0, "ev_end counter");
	CHECK_EQ(c[XDPI_C_EV_SNIPPET], 4, "ev_snippet counter");
	CHECK_EQ(c[XDPI_C_EV_LOST], 0, "ev_lost counter");
out:
	free(f);
	if (e)
		env_close(e);
}

/* ---------------------------------------------------------------------- */
/* TCP: flags, flow-end and snippet events                                 */
/* ---------------------------------------------------------------------- */

#define SYN XDPI_TCP_SYN
#define ACK XDPI_TCP_ACK
#define FIN XDPI_TCP_FIN
#define RST XDPI_TCP_RST
#define PSH XDPI_TCP_PSH

struct step {
	int client;       /* sent by the client */
	uint8_t flags;
	uint32_t payload;
};

struct tcp_case {
	const char *name;
	uint16_t cport;
	const struct step *steps;
	int nsteps;
	const struct want *want;
	int nwant;
	uint8_t client_flags, server_flags;
	uint8_t client_snips, server_snips;
};

static struct spec tcp_step(const struct tcp_case *tc, int i)
{
	const struct step *s = &tc->steps[i];
	struct spec sp = s->client ? tcp4("192.168.1.20", tc->cport, "192.168.1.1", 443,
					  s->flags, s->payload)
				   : tcp4("192.168.1.1", 443, "192.168.1.20", tc->cport,
					  s->flags, s->payload);

	sp.seq = 0x01000000u * (uint32_t)(i + 1) + 7;
	sp.fill = (uint8_t)(0x30 + 16 * i);
	return sp;
}

static void run_tcp_case(enum prog p, const struct tcp_case *tc)
{
	const struct knobs k = { .snippet_bytes = 16, .snippet_pkts = 2 };
	struct env *e = env_open(&k);
	struct frame *f = malloc(sizeof(*f));
	uint64_t bytes[2] = { 0 }, pkts[2] = { 0 }, c[XDPI_C__MAX];
	struct xdpi_flow_key key;
	struct xdpi_flow_val v;
	uint8_t cdir = 0;
	char name[64];

	snprintf(name, sizeof(name), "%s (%s)", tc->name, prog_name[p]);
	printf("%s\n", name);
	if (!e || !f)
		goto out;
	for (int i = 0; i < tc->nsteps; i++) {
		struct spec s = tcp_step(tc, i);
		uint8_t d;

		build(f, s);
		d = key_of(f, &key);
		if (i == 0)
			cdir = d;
		CHECK(d == (tc->steps[i].client ? cdir : !cdir), "%s: step %d direction", name, i);
		run(e, p, f);
		pkts[d]++;
		bytes[d] += ip_len(f);
	}

	CHECK_EQ(flow_count(e, NULL, 0), 1, "tcp flow entries");
	flow_of(e, f, &v, NULL);
	CHECK_EQ(v.first_dir, cdir, "tcp first_dir");
	CHECK_EQ(v.dir[cdir].pkts, pkts[cdir], "client packets");
	CHECK_EQ(v.dir[!cdir].pkts, pkts[!cdir], "server packets");
	CHECK_EQ(v.dir[cdir].bytes, bytes[cdir], "client bytes");
	CHECK_EQ(v.dir[!cdir].bytes, bytes[!cdir], "server bytes");
	CHECK(v.dir[cdir].tcp_flags == tc->client_flags, "%s: client flags %#x, want %#x",
	      name, v.dir[cdir].tcp_flags, tc->client_flags);
	CHECK(v.dir[!cdir].tcp_flags == tc->server_flags, "%s: server flags %#x, want %#x",
	      name, v.dir[!cdir].tcp_flags, tc->server_flags);
	CHECK_EQ(v.dir[cdir].snippets, tc->client_snips, "client snippets in the flow value");
	CHECK_EQ(v.dir[!cdir].snippets, tc->server_snips, "server snippets in the flow value");

	drain(e);
	CHECK(e->nev == tc->nwant, "%s: %d events, want %d", name, e->nev, tc->nwant);
	if (e->nev != tc->nwant)
		dump_events(e, name);
	for (int i = 0; i < e->nev && i < tc->nwant; i++) {
		const struct want *w = &tc->want[i];
		struct spec s = tcp_step(tc, w->step);

		build(f, s);
		check_event(&e->ev[i], w, f, &key, tc->steps[w->step].client ? cdir : !cdir,
			    s.seq, s.flags, k.snippet_bytes, name);
	}
	counters(e, c);
	CHECK_EQ(c[XDPI_C_PACKETS], tc->nsteps, "tcp packets counter");
	CHECK_EQ(c[XDPI_C_FLOW_PACKETS], tc->nsteps, "tcp flow_packets counter");
	CHECK_EQ(c[XDPI_C_EV_SNIPPET], tc->client_snips + tc->server_snips, "ev_snippet counter");
	CHECK_EQ(c[XDPI_C_EV_START] + c[XDPI_C_EV_END] + c[XDPI_C_EV_SNIPPET], tc->nwant,
		 "event counters");
	for (int i = XDPI_ANOMALY_FIRST; i <= XDPI_ANOMALY_LAST; i++)
		CHECK(c[i] == 0, "%s: anomaly %s counted %llu", name,
		      counter_name((enum xdpi_counter)i), (unsigned long long)c[i]);
out:
	free(f);
	if (e)
		env_close(e);
}

/* Handshake, 4 client data packets (2 become snippets, the first cut to 16
 * bytes), one server data packet, FIN both ways, then a stray ACK and a
 * retransmitted FIN that must not end the flow again. */
static const struct step exchange_steps[] = {
	{ 1, SYN, 0 },
	{ 0, SYN | ACK, 0 },
	{ 1, ACK | PSH, 40 },
	{ 1, ACK | PSH, 10 },
	{ 1, ACK | PSH, 20 },
	{ 1, ACK, 30 },
	{ 0, ACK | PSH, 5 },
	{ 1, FIN | ACK, 0 },
	{ 0, FIN | ACK, 0 },
	{ 1, ACK, 0 },
	{ 1, FIN | ACK, 0 },
};

static const struct want exchange_want[] = {
	{ XDPI_EV_FLOW_START, 0, 0 },
	{ XDPI_EV_SNIPPET, 2, 0 },
	{ XDPI_EV_SNIPPET, 3, 1 },
	{ XDPI_EV_SNIPPET, 6, 0 },
	{ XDPI_EV_FLOW_END, 7, 0 },
	{ XDPI_EV_FLOW_END, 8, 0 },
};

/* RST from the server twice, then from the client: one end per direction. */
static const struct step rst_steps[] = {
	{ 1, SYN, 0 },
	{ 0, RST | ACK, 0 },
	{ 0, RST | ACK, 0 },
	{ 1, RST, 0 },
	{ 1, RST, 0 },
};

static const struct want rst_want[] = {
	{ XDPI_EV_FLOW_START, 0, 0 },
	{ XDPI_EV_FLOW_END, 1, 0 },
	{ XDPI_EV_FLOW_END, 3, 0 },
};

/* A client that closes with FIN and then aborts with RST has ended its
 * direction with the FIN: the RST is no second end. */
static const struct step fin_rst_steps[] = {
	{ 1, SYN, 0 },
	{ 0, SYN | ACK, 0 },
	{ 1, FIN | ACK, 0 },
	{ 1, RST | ACK, 0 },
};

static const struct want fin_rst_want[] = {
	{ XDPI_EV_FLOW_START, 0, 0 },
	{ XDPI_EV_FLOW_END, 2, 0 },
};

static const struct tcp_case tcp_cases[] = {
	{ "tcp exchange", 40001, exchange_steps, N(exchange_steps), exchange_want,
	  N(exchange_want), SYN | ACK | PSH | FIN, SYN | ACK | PSH | FIN, 2, 1 },
	{ "tcp reset", 40002, rst_steps, N(rst_steps), rst_want, N(rst_want),
	  SYN | RST, RST | ACK, 0, 0 },
	{ "tcp fin then reset", 40003, fin_rst_steps, N(fin_rst_steps), fin_rst_want,
	  N(fin_rst_want), SYN | FIN | RST | ACK, SYN | ACK, 0, 0 },
};

static void test_tcp(enum prog p)
{
	for (int i = 0; i < N(tcp_cases); i++)
		run_tcp_case(p, &tcp_cases[i]);
}

/* ---------------------------------------------------------------------- */
/* Replay metadata                                                         */
/* ---------------------------------------------------------------------- */

static void test_replay_meta(void)
{
	const struct knobs k = { .snippet_bytes = 256, .snippet_pkts = 8, .replay_ts = 1 };
	const uint64_t t1 = 1700000000123456789ull, t2 = t1 + 2500000;
	struct env *e = env_open(&k);
	struct frame *f = malloc(sizeof(*f)), *back = malloc(sizeof(*back));
	struct xdpi_flow_val v;
	uint64_t c[XDPI_C__MAX], before, after;
	uint8_t dir;

	printf("replay metadata\n");
	if (!e || !f || !back)
		goto out;
	build(f, udp4("172.16.0.1", 1000, "172.16.0.2", 2000, 64));
	build(back, udp4("172.16.0.2", 2000, "172.16.0.1", 1000, 32));
	/* Out of order on purpose: first_ns is the minimum, not the first seen. */
	run_meta(e, back, t2, XDPI_META_TS_MAGIC, 0);
	run_meta(e, f, t1, XDPI_META_TS_MAGIC, 0);
	flow_of(e, f, &v, &dir);
	CHECK_EQ(v.first_ns, t1, "first_ns from the metadata");
	CHECK_EQ(v.last_ns, t2, "last_ns from the metadata");
	CHECK_EQ(v.first_dir, !dir, "first_dir is the first packet's");
	CHECK_EQ(v.dir[dir].bytes + v.dir[!dir].bytes, 28 + 64 + 28 + 32, "bytes");
	drain(e);
	CHECK(e->nev == 3, "events with metadata: %d, want 3", e->nev);
	if (e->nev == 3) {
		CHECK_EQ(e->ev[0].rec.hdr.type, XDPI_EV_FLOW_START, "first event");
		CHECK_EQ(e->ev[0].rec.hdr.ts_ns, t2, "flow start ts from the metadata");
		CHECK_EQ(e->ev[2].rec.hdr.ts_ns, t1, "snippet ts from the metadata");
	}

	/* cut: the capture dropped the tail, the IP length is still the truth. */
	build(f, udp4("172.16.0.1", 1001, "172.16.0.2", 2000, 200));
	f->len -= 150;
	run_meta(e, f, t1, XDPI_META_TS_MAGIC, 150);
	flow_of(e, f, &v, &dir);
	CHECK_EQ(v.dir[dir].bytes, 28 + 200, "bytes of a snapped frame");
	counters(e, c);
	CHECK_EQ(c[XDPI_C_BAD_IP_LEN], 0, "a snapped frame with its cut is no bad length");

	/* No magic: the metadata is ignored and the kernel clock is used. */
	build(f, udp4("172.16.0.1", 1002, "172.16.0.2", 2000, 8));
	before = now_ns();
	run_meta(e, f, t1, 0, 0);
	after = now_ns();
	flow_of(e, f, &v, NULL);
	CHECK(v.first_ns != 0 && v.first_ns != t1, "first_ns without magic: %llu",
	      (unsigned long long)v.first_ns);
	CHECK(v.first_ns >= before && v.first_ns <= after,
	      "first_ns without magic %llu not within %llu..%llu",
	      (unsigned long long)v.first_ns, (unsigned long long)before,
	      (unsigned long long)after);

	/* No metadata area at all: kernel clock too. */
	build(f, udp4("172.16.0.1", 1003, "172.16.0.2", 2000, 8));
	before = now_ns();
	run(e, XDP, f);
	after = now_ns();
	flow_of(e, f, &v, NULL);
	CHECK(v.first_ns >= before && v.first_ns <= after, "first_ns without metadata");
out:
	free(f);
	free(back);
	if (e)
		env_close(e);
}

/* With replay_ts = 0 the metadata is not trusted even when it is marked. */
static void test_replay_off(void)
{
	struct env *e = env_open(&defaults);
	struct frame *f = malloc(sizeof(*f));
	struct xdpi_flow_val v;
	uint64_t before, after;

	printf("replay metadata ignored when replay_ts is 0\n");
	if (!e || !f)
		goto out;
	build(f, udp4("172.16.0.1", 1000, "172.16.0.2", 2000, 8));
	before = now_ns();
	run_meta(e, f, 42, XDPI_META_TS_MAGIC, 0);
	after = now_ns();
	flow_of(e, f, &v, NULL);
	CHECK(v.first_ns >= before && v.first_ns <= after, "kernel clock used: %llu",
	      (unsigned long long)v.first_ns);
out:
	free(f);
	if (e)
		env_close(e);
}

/* ---------------------------------------------------------------------- */
/* Anomaly counters                                                        */
/* ---------------------------------------------------------------------- */

static void mk_trunc_l2(struct frame *f)
{
	memset(f, 0, sizeof(*f));
	put_eth(f, XDPI_ETH_P_8021Q); /* 14 bytes: the tag is missing */
}

/* Half an IPv4 header. Recent kernels refuse such an skb in test_run
 * (IPv4 ethertype with under 20 bytes), so this one is XDP only. */
static void mk_trunc_l3(struct frame *f)
{
	memset(f, 0, sizeof(*f));
	put_eth(f, XDPI_ETH_P_IP);
	put8(f, 0x45);
	put_zero(f, 9);
}

/* A 20-byte header whose IHL promises 60: the options are not there. */
static void mk_trunc_l3_opts(struct frame *f)
{
	memset(f, 0, sizeof(*f));
	put_eth(f, XDPI_ETH_P_IP);
	f->l3 = f->len;
	put8(f, 0x4f);
	put8(f, 0);
	put16(f, 60);
	put_zero(f, 16);
}

static void mk_bad_ihl(struct frame *f)
{
	build(f, udp4("10.1.0.1", 1, "10.1.0.2", 2, 16));
	f->b[f->l3] = 0x44;
}

static void mk_bad_len_short(struct frame *f)
{
	build(f, udp4("10.1.0.1", 1, "10.1.0.2", 2, 16));
	set16(f, f->l3 + 2, 12);
}

static void mk_bad_len_long(struct frame *f)
{
	build(f, udp4("10.1.0.1", 1, "10.1.0.2", 2, 16));
	set16(f, f->l3 + 2, 1400);
}

static void mk_bad_doff(struct frame *f)
{
	build(f, tcp4("10.1.0.1", 1, "10.1.0.2", 2, ACK, 16));
	f->b[f->l4 + 12] = 4 << 4;
}

/* The IP length ends the datagram inside the UDP header. */
static void mk_trunc_l4(struct frame *f)
{
	build(f, udp4("10.1.0.1", 1, "10.1.0.2", 2, 0));
	f->len -= 4;
	set16(f, f->l3 + 2, 24);
}

static void mk_tcp(struct frame *f, uint8_t flags)
{
	build(f, tcp4("10.1.0.1", 1, "10.1.0.2", 2, flags, 0));
}

static void mk_null(struct frame *f) { mk_tcp(f, 0); }
static void mk_xmas(struct frame *f) { mk_tcp(f, FIN | PSH | XDPI_TCP_URG | ACK); }
static void mk_syn_fin(struct frame *f) { mk_tcp(f, SYN | FIN | ACK); }
static void mk_syn_rst(struct frame *f) { mk_tcp(f, SYN | RST); }
static void mk_fin_no_ack(struct frame *f) { mk_tcp(f, FIN); }

/* One more destination-options header than the parser follows. */
static void mk_ext_limit(struct frame *f)
{
	uint8_t ext[XDPI_IPV6_EXT_MAX + 1];
	struct spec s = udp4("2001:db8::1", 1, "2001:db8::2", 2, 4);

	memset(ext, XDPI_IPPROTO_DSTOPTS, sizeof(ext));
	s.family = 6;
	s.ext = ext;
	s.n_ext = N(ext);
	build(f, s);
}

static void mk_arp(struct frame *f)
{
	memset(f, 0, sizeof(*f));
	put_eth(f, 0x0806);
	put16(f, 1);            /* Ethernet */
	put16(f, XDPI_ETH_P_IP);
	put8(f, 6);
	put8(f, 4);
	put16(f, 1);            /* request */
	put_zero(f, 20);
}

static void mk_good(struct frame *f)
{
	build(f, udp4("10.1.0.1", 1, "10.1.0.2", 2, 16));
}

struct anomaly_case {
	const char *name;
	void (*make)(struct frame *f);
	int counter;      /* the one anomaly counter expected, -1 for none */
	int non_ip;
	int flow;         /* accounted in a flow */
	int xdp_only;     /* test_run refuses it for SCHED_CLS */
};

static const struct anomaly_case anomaly_cases[] = {
	{ "truncated L2", mk_trunc_l2, .counter = XDPI_C_TRUNC_L2 },
	{ "truncated L3", mk_trunc_l3, .counter = XDPI_C_TRUNC_L3, .xdp_only = 1 },
	{ "truncated L3 options", mk_trunc_l3_opts, .counter = XDPI_C_TRUNC_L3 },
	{ "bad IHL", mk_bad_ihl, .counter = XDPI_C_BAD_IHL },
	{ "total length < header", mk_bad_len_short, .counter = XDPI_C_BAD_IP_LEN },
	{ "total length > frame", mk_bad_len_long, .counter = XDPI_C_BAD_IP_LEN, .flow = 1 },
	{ "bad TCP data offset", mk_bad_doff, .counter = XDPI_C_BAD_TCP_DOFF, .flow = 1 },
	{ "truncated L4", mk_trunc_l4, .counter = XDPI_C_TRUNC_L4, .flow = 1 },
	{ "TCP NULL", mk_null, .counter = XDPI_C_TCP_NULL, .flow = 1 },
	{ "TCP XMAS", mk_xmas, .counter = XDPI_C_TCP_XMAS, .flow = 1 },
	{ "TCP SYN+FIN", mk_syn_fin, .counter = XDPI_C_TCP_SYN_FIN, .flow = 1 },
	{ "TCP SYN+RST", mk_syn_rst, .counter = XDPI_C_TCP_SYN_RST, .flow = 1 },
	{ "TCP FIN without ACK", mk_fin_no_ack, .counter = XDPI_C_TCP_FIN_NO_ACK, .flow = 1 },
	{ "IPv6 extension header limit", mk_ext_limit, .counter = XDPI_C_IPV6_EXT_LIMIT,
	  .flow = 1 },
	{ "ARP", mk_arp, .counter = -1, .non_ip = 1 },
	{ "well-formed UDP", mk_good, .counter = -1, .flow = 1 },
};

/* Each frame alone moves exactly its own counter (deltas of one run). */
static void test_anomalies(enum prog p)
{
	struct env *e = env_open(&defaults);
	struct frame *f = malloc(sizeof(*f));
	uint64_t before[XDPI_C__MAX], after[XDPI_C__MAX];
	int runs = 0;

	printf("anomaly counters (%s)\n", prog_name[p]);
	if (!e || !f)
		goto out;
	for (int i = 0; i < N(anomaly_cases); i++) {
		const struct anomaly_case *a = &anomaly_cases[i];

		if (a->xdp_only && p != XDP)
			continue;
		a->make(f);
		runs++;
		counters(e, before);
		run(e, p, f);
		counters(e, after);
		for (int c = XDPI_ANOMALY_FIRST; c <= XDPI_ANOMALY_LAST; c++) {
			uint64_t d = after[c] - before[c];

			CHECK(d == (c == a->counter), "%s (%s): %s moved by %llu", a->name,
			      prog_name[p], counter_name((enum xdpi_counter)c),
			      (unsigned long long)d);
		}
		CHECK(after[XDPI_C_PACKETS] - before[XDPI_C_PACKETS] == 1, "%s: packets",
		      a->name);
		CHECK(after[XDPI_C_NON_IP] - before[XDPI_C_NON_IP] == (uint64_t)a->non_ip,
		      "%s: non_ip", a->name);
		CHECK(after[XDPI_C_FLOW_PACKETS] - before[XDPI_C_FLOW_PACKETS] == (uint64_t)a->flow,
		      "%s: flow_packets", a->name);
	}
	counters(e, after);
	CHECK_EQ(after[XDPI_C_PACKETS], e->runs, "packets counter equals the number of runs");
	CHECK_EQ(e->runs, runs, "runs");
out:
	free(f);
	if (e)
		env_close(e);
}

/* ---------------------------------------------------------------------- */
/* VLAN, fragments, jumbo frames                                           */
/* ---------------------------------------------------------------------- */

static void test_vlan(enum prog p)
{
	static const int ids[3] = { 10, 20, -1 };
	struct env *e = env_open(&defaults);
	struct frame *f = malloc(sizeof(*f));
	struct xdpi_flow_key keys[8], k;
	struct xdpi_flow_val v;

	printf("vlan (%s)\n", prog_name[p]);
	if (!e || !f)
		goto out;
	for (int i = 0; i < 3; i++) {
		struct spec s = udp4("10.2.0.1", 4000, "10.2.0.2", 4001, 12);

		s.vlan = ids[i];
		build(f, s);
		run(e, p, f);
		run(e, p, f);
	}
	CHECK_EQ(flow_count(e, keys, 8), 3, "one flow per VLAN id");
	for (int i = 0; i < 3; i++) {
		struct spec s = udp4("10.2.0.1", 4000, "10.2.0.2", 4001, 12);

		s.vlan = ids[i];
		build(f, s);
		key_of(f, &k);
		CHECK_EQ(k.vlan, ids[i] < 0 ? XDPI_VLAN_NONE : ids[i], "key vlan");
		if (!flow_of(e, f, &v, NULL))
			CHECK_EQ(v.dir[0].pkts + v.dir[1].pkts, 2, "packets of a VLAN's flow");
	}
out:
	free(f);
	if (e)
		env_close(e);
}

static void test_fragments(enum prog p)
{
	static const uint8_t ext[2] = { XDPI_IPPROTO_HOPOPTS, XDPI_IPPROTO_FRAGMENT };
	struct env *e = env_open(&defaults);
	struct frame *f = malloc(sizeof(*f));
	struct xdpi_flow_key k;
	struct xdpi_flow_val v;
	uint64_t c[XDPI_C__MAX];
	struct spec s;

	printf("fragments (%s)\n", prog_name[p]);
	if (!e || !f)
		goto out;
	/* IPv4, offset 1480: no UDP header in it, so no ports. */
	s = udp4("10.3.0.1", 7000, "10.3.0.2", 7001, 100);
	s.frag = 1480 / 8;
	build(f, s);
	run(e, p, f);
	key_of(f, &k);
	CHECK(k.lo_port == 0 && k.hi_port == 0, "non-first fragment key has ports %u/%u",
	      k.lo_port, k.hi_port);
	CHECK_EQ(k.proto, XDPI_IPPROTO_UDP, "non-first fragment proto");
	if (!flow_of(e, f, &v, NULL))
		CHECK_EQ(v.dir[0].bytes + v.dir[1].bytes, 20 + 100, "non-first fragment bytes");

	/* IPv6, hop-by-hop then a first fragment (offset 0, M set): ports kept. */
	s = udp4("2001:db8::10", 7000, "2001:db8::20", 7001, 100);
	s.family = 6;
	s.ext = ext;
	s.n_ext = N(ext);
	s.frag = 1;
	build(f, s);
	run(e, p, f);
	key_of(f, &k);
	CHECK(k.lo_port != 0 && k.hi_port != 0 &&
	      k.lo_port + k.hi_port == 7000 + 7001, "IPv6 first fragment ports %u/%u",
	      k.lo_port, k.hi_port);
	CHECK_EQ(k.proto, XDPI_IPPROTO_UDP, "IPv6 first fragment proto");
	if (!flow_of(e, f, &v, NULL))
		CHECK_EQ(v.dir[0].bytes + v.dir[1].bytes, 40 + 16 + 8 + 100,
			 "IPv6 fragment bytes");

	CHECK_EQ(flow_count(e, NULL, 0), 2, "fragment flows");
	counters(e, c);
	CHECK_EQ(c[XDPI_C_IP_FRAGMENTS], 2, "ip_fragments counter");
	for (int i = XDPI_ANOMALY_FIRST; i <= XDPI_ANOMALY_LAST; i++)
		CHECK(c[i] == 0, "fragments: anomaly %s counted",
		      counter_name((enum xdpi_counter)i));
out:
	free(f);
	if (e)
		env_close(e);
}

/* 9000 bytes do not fit a page: test_run hands the rest over as frags. */
static void test_jumbo(void)
{
	struct env *e = env_open(&defaults);
	struct frame *f = malloc(sizeof(*f));
	struct xdpi_flow_val v;
	uint64_t c[XDPI_C__MAX];
	struct xdp_md ctx = { .data_end = 9000 };
	uint32_t ret = ~0u;
	uint8_t dir;
	int err;

	printf("jumbo frame (xdp frags)\n");
	if (!e || !f)
		goto out;
	build(f, udp4("10.4.0.1", 9, "10.4.0.2", 9, 9000 - 14 - 28));
	CHECK_EQ(f->len, 9000, "frame size");
	err = test_run(e, XDP, f->b, f->len, &ctx, &ret);
	CHECK(!err, "xdp test_run of 9000 bytes: %s", strerror(-err));
	CHECK_EQ(ret, XDP_PASS, "jumbo verdict");
	/* Otherwise this would not test the frags path at all. */
	CHECK(ctx.data_end < f->len, "linear part %u of a %u-byte frame", ctx.data_end, f->len);
	if (!flow_of(e, f, &v, &dir)) {
		CHECK_EQ(v.dir[dir].pkts, 1, "jumbo packets");
		CHECK_EQ(v.dir[dir].bytes, 9000 - 14, "jumbo bytes = IP total length");
	}
	drain(e);
	CHECK(e->nev == 2, "jumbo events: %d", e->nev);
	if (e->nev == 2) {
		const struct xdpi_snippet_event *s = &e->ev[1].rec;

		CHECK_EQ(s->hdr.type, XDPI_EV_SNIPPET, "jumbo snippet");
		CHECK_EQ(s->hdr.len, 256, "jumbo snippet length");
		CHECK_EQ(s->hdr.pkt_len, 9000 - 14, "jumbo snippet pkt_len");
		CHECK(!memcmp(s->data, f->b + f->pl, 256), "jumbo snippet bytes");
	}
	counters(e, c);
	CHECK_EQ(c[XDPI_C_FLOW_PACKETS], 1, "jumbo accounted");
	/* The frame is whole; only its first page is linear. */
	CHECK_EQ(c[XDPI_C_BAD_IP_LEN], 0, "jumbo frame is no bad IP length");
out:
	free(f);
	if (e)
		env_close(e);
}

/* A flow seen on two CPUs: the per-CPU copies merge into one value. */
static void test_two_cpus(void)
{
	const struct knobs k = { .snippet_bytes = 256, .snippet_pkts = 8, .replay_ts = 1 };
	const uint64_t t1 = 5000000000ull, t2 = 6000000000ull;
	struct env *e;
	struct frame *f, *back;
	struct xdpi_flow_val v;
	uint8_t dir;

	if (cpus[1] < 0) {
		printf("two CPUs: skipped, one CPU available\n");
		return;
	}
	printf("flow on two CPUs\n");
	e = env_open(&k);
	f = malloc(sizeof(*f));
	back = malloc(sizeof(*back));
	if (!e || !f || !back)
		goto out;
	build(f, udp4("10.5.0.2", 80, "10.5.0.1", 81, 10));
	build(back, udp4("10.5.0.1", 81, "10.5.0.2", 80, 10));
	run_meta(e, f, t1, XDPI_META_TS_MAGIC, 0);
	CHECK(!pin(cpus[1]), "pin to CPU %d", cpus[1]);
	run_meta(e, back, t2, XDPI_META_TS_MAGIC, 0);
	CHECK(!pin(cpus[0]), "pin to CPU %d", cpus[0]);
	if (!flow_of(e, f, &v, &dir)) {
		CHECK_EQ(v.dir[dir].pkts, 1, "first CPU's packet");
		CHECK_EQ(v.dir[!dir].pkts, 1, "second CPU's packet");
		CHECK_EQ(v.first_ns, t1, "merged first_ns");
		CHECK_EQ(v.last_ns, t2, "merged last_ns");
		CHECK_EQ(v.first_dir, dir, "merged first_dir");
	}
out:
	free(f);
	free(back);
	if (e)
		env_close(e);
}

/* ---------------------------------------------------------------------- */
/* Loader                                                                  */
/* ---------------------------------------------------------------------- */

/* build/reject.bpf.o, found next to this binary (build/tests/..). */
static void reject_path(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	snprintf(out, len, "build/reject.bpf.o");
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = '\0';
	snprintf(out, len, "%s/../reject.bpf.o", exe);
}

/* Runs loader_load with stderr captured into buf. */
static struct xdpi_bpf *load_captured(const struct xdpi_config *cfg, char *buf, size_t len)
{
	FILE *tmp = tmpfile();
	struct xdpi_bpf *skel;
	int saved;
	size_t n = 0;

	buf[0] = '\0';
	if (!tmp)
		return loader_load(cfg, 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	skel = loader_load(cfg, 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return skel;
}

static void test_loader(void)
{
	static char out[1 << 16];
	struct xdpi_config cfg;
	struct xdpi_bpf *skel;
	char path[PATH_MAX + 32];

	printf("loader\n");
	reject_path(path, sizeof(path));
	CHECK(access(path, R_OK) == 0, "%s missing: run make build/reject.bpf.o", path);

	config_defaults(&cfg);
	cfg.bpf_object = path;
	skel = load_captured(&cfg, out, sizeof(out));
	CHECK(skel == NULL, "loading the broken object succeeded");
	CHECK(strstr(out, "verifier") != NULL, "no mention of the verifier in:\n%s", out);
	if (skel)
		loader_close(skel);

	config_defaults(&cfg);
	skel = load_captured(&cfg, out, sizeof(out));
	CHECK(skel != NULL, "loading the built-in object failed:\n%s", out);
	if (skel) {
		CHECK(bpf_program__fd(skel->progs.xdpi_xdp) >= 0, "xdp program loaded");
		CHECK(bpf_program__fd(skel->progs.xdpi_tc) >= 0, "tc program loaded");
		CHECK_EQ(bpf_map__max_entries(skel->maps.flows), cfg.max_flows, "flow map size");
		loader_close(skel);
	}
}

/* ---------------------------------------------------------------------- */

static void find_cpus(void)
{
	cpu_set_t set;
	int n = 0;

	cpus[0] = 0;
	cpus[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
}


/* ---------------------------------------------------------------------- */
/* DPI-then-offload and snippet sampling                                   */
/* ---------------------------------------------------------------------- */

static int count_type(const struct env *e, uint32_t type)
{
	int n = 0;

	for (int i = 0; i < e->nev; i++)
		n += e->ev[i].rec.hdr.type == type;
	return n;
}

/* A verdict stops a flow's snippets after the next packet and leaves its
 * classification in the flow entry; other flows keep theirs. */
static void test_offload(enum prog p)
{
	struct env *e = env_open(&defaults);
	struct frame *f = calloc(2, sizeof(*f));
	struct xdpi_verdict vd = { .app_proto = 3 };
	struct xdpi_flow_key key;
	struct xdpi_flow_val v;
	uint64_t c[XDPI_C__MAX];

	printf("offload by verdict (%s)\n", prog_name[p]);
	if (!e || !f)
		goto out;
	build(&f[0], udp4("10.0.3.1", 4000, "10.0.3.2", 80, 100));
	build(&f[1], udp4("10.0.3.1", 4001, "10.0.3.2", 80, 100));
	key_of(&f[0], &key);
	run(e, p, &f[0]);
	run(e, p, &f[1]);
	snprintf(vd.name, sizeof(vd.name), "example.test");
	CHECK(!bpf_map_update_elem(bpf_map__fd(e->skel->maps.verdicts), &key, &vd, BPF_ANY),
	      "writing a verdict: %s", strerror(errno));
	for (int i = 0; i < 3; i++) {
		run(e, p, &f[0]);
		run(e, p, &f[1]);
	}
	drain(e);
	CHECK_EQ(count_type(e, XDPI_EV_SNIPPET), 1 + 4, "snippets: 1 before the verdict + 4 of the other flow");
	counters(e, c);
	CHECK_EQ(c[XDPI_C_FLOWS_OFFLOADED], 1, "flows_offloaded counter");
	CHECK_EQ(c[XDPI_C_EV_BYTES], 2 * sizeof(struct xdpi_event) + 5 * (sizeof(struct xdpi_event) + 100),
		 "event_bytes counter: exact record sizes");
	flow_of(e, &f[0], &v, NULL);
	CHECK_EQ(v.app_proto, 3, "classification kept in the kernel flow entry");
	CHECK_EQ(v.offloaded, 1, "flow marked offloaded");
	CHECK_EQ(v.dir[0].pkts + v.dir[1].pkts, 4, "offloaded flow still counted");
	flow_of(e, &f[1], &v, NULL);
	CHECK_EQ(v.app_proto, 0, "other flow unclassified");
	CHECK_EQ(v.offloaded, 0, "other flow not offloaded");

	/* --no-offload: the protocol is kept, the snippets go on. */
	vd.app_proto = 2;
	vd.keep_snippets = 1;
	key_of(&f[1], &key);
	CHECK(!bpf_map_update_elem(bpf_map__fd(e->skel->maps.verdicts), &key, &vd, BPF_ANY),
	      "writing a keep-snippets verdict: %s", strerror(errno));
	run(e, p, &f[1]);
	drain(e);
	CHECK_EQ(count_type(e, XDPI_EV_SNIPPET), 1 + 4 + 1, "snippets go on after a keep-snippets verdict");
	flow_of(e, &f[1], &v, NULL);
	CHECK(v.app_proto == 2 && !v.offloaded, "protocol kept (%u), not offloaded (%u)",
	      v.app_proto, v.offloaded);
out:
	free(f);
	if (e)
		env_close(e);
}

/* With sampling 1 in 2^n, a flow's snippets follow a hash of its key: the
 * same choice for every packet, about 1 in 2^n flows kept. */
static void test_sampling(enum prog p)
{
	struct env *e = env_open(&defaults);
	struct frame *f = calloc(1, sizeof(*f));
	struct xdpi_config_map cm = { .sample_log2 = 2 };
	uint64_t c[XDPI_C__MAX];
	uint32_t zero = 0;
	int kept = 0, nflows = 256;

	printf("snippet sampling (%s)\n", prog_name[p]);
	if (!e || !f)
		goto out;
	CHECK(!bpf_map_update_elem(bpf_map__fd(e->skel->maps.config), &zero, &cm, BPF_ANY),
	      "writing the config map: %s", strerror(errno));
	for (int i = 0; i < nflows; i++) {
		struct xdpi_flow_val v;

		build(f, udp4("10.0.4.1", (uint16_t)(10000 + i), "10.0.4.2", 53, 20));
		run(e, p, f);
		run(e, p, f);
		flow_of(e, f, &v, NULL);
		CHECK(v.sample_log2 == 2, "flow %d: sampling %u recorded", i, v.sample_log2);
		kept += !v.sampled_out;
		CHECK(v.dir[0].snippets + v.dir[1].snippets == (v.sampled_out ? 0 : 2),
		      "flow %d: snippets follow the sampling choice", i);
	}
	transport_reader_consume(e->rd);
	counters(e, c);
	CHECK_EQ(e->by_type[XDPI_EV_SNIPPET], 2 * kept, "snippet events of kept flows");
	CHECK_EQ(c[XDPI_C_FLOWS_SAMPLED_OUT], (uint64_t)(nflows - kept), "flows_sampled_out counter");
	CHECK(kept > nflows / 8 && kept < nflows / 2, "about 1 in 4 flows kept: %d of %d", kept, nflows);
	CHECK_EQ(e->by_type[XDPI_EV_FLOW_START], nflows, "every flow still starts");
out:
	free(f);
	if (e)
		env_close(e);
}

/* Load shedding: once the CPU's ring is over 3/4 full, new flows send no
 * snippets (counted), old ones go on; after a drain new flows send again. */
static void test_shedding(void)
{
	struct env *e = env_open(&defaults);
	struct frame *f = calloc(1, sizeof(*f));
	uint64_t c[XDPI_C__MAX];
	struct xdpi_flow_val v;
	int nflows = 3000, shed = 0, first_shed = -1;

	printf("load shedding (xdp)\n");
	if (!e || !f)
		goto out;
	/* Each flow: a start event and one 256-byte snippet, 416 bytes of a
	 * 1 MiB ring; nothing is read meanwhile. */
	for (int i = 0; i < nflows; i++) {
		build(f, udp4("10.0.5.1", (uint16_t)(20000 + i), "10.0.5.2", 53, 256));
		run(e, XDP, f);
		flow_of(e, f, &v, NULL);
		if (v.sampled_out & XDPI_OUT_SHED) {
			shed++;
			if (first_shed < 0)
				first_shed = i;
		}
		CHECK(v.dir[0].pkts + v.dir[1].pkts == 1, "flow %d counted although shed", i);
	}
	counters(e, c);
	CHECK(first_shed > 1500 && first_shed < 2100, "shedding began at flow %d (ring 3/4 full "
	      "near flow %d)", first_shed, (int)(RINGBUF_SZ / 4 * 3 / 416));
	CHECK_EQ(c[XDPI_C_FLOWS_SHED], shed, "flows_shed counter");
	CHECK_EQ(c[XDPI_C_EV_SNIPPET], nflows - shed, "snippets only from flows not shed");
	CHECK_EQ(c[XDPI_C_EV_LOST], 0, "nothing lost: shed instead");
	transport_reader_consume(e->rd);
	build(f, udp4("10.0.5.1", 40000, "10.0.5.2", 53, 256));
	run(e, XDP, f);
	flow_of(e, f, &v, NULL);
	CHECK(v.sampled_out == 0 && v.dir[0].snippets + v.dir[1].snippets == 1,
	      "after a drain new flows send snippets again");
out:
	free(f);
	if (e)
		env_close(e);
}

static uint32_t verdict_of(struct env *e, enum prog p, const struct frame *f)
{
	uint32_t ret = 0xffff;

	CHECK(!test_run(e, p, f->b, f->len, NULL, &ret), "test run");
	return ret;
}

static uint32_t drop_code(enum prog p)
{
	return p == XDP ? XDP_DROP : 2 /* TC_ACT_SHOT */;
}

static uint32_t pass_code(enum prog p)
{
	return p == XDP ? XDP_PASS : 0;
}

/* Rules: CIDR, port and protocol matches; drop before accounting, pass
 * uncounted, alert counted; hits per rule; source first; address before
 * port before protocol. */
static void test_rules(enum prog p)
{
	static const char *const text[] = {
		"drop 10.0.6.0/24", "pass host 10.0.7.1", "alert 10.0.10.0/24",
		"drop udp port 9999", "pass port 7000-7009", "alert proto tcp", "drop fd00:66::/64",
	};
	struct env *e = env_open(&defaults);
	struct frame *f = calloc(9, sizeof(*f));
	struct ruleset rs = { 0 };
	struct rule r[7], bad;
	struct rule_maps m;
	char err[160];
	uint64_t c[XDPI_C__MAX];
	const uint64_t want_hits[7] = { 1, 1, 1, 1, 2, 2, 1 };
	struct spec v6 = udp4("fd00:66::5", 1000, "fd00:9::1", 53, 10);

	printf("rules (%s)\n", prog_name[p]);
	if (!e || !f)
		goto out;
	pin_skel_maps(e->skel, &m);
	for (int i = 0; i < 7; i++)
		CHECK(!rules_parse_line(text[i], &r[i], err, sizeof(err)), "parse %s: %s", text[i], err);
	CHECK(!strcmp(r[1].text, "pass 10.0.7.1/32"), "normalised: %s", r[1].text);
	CHECK(!strcmp(r[3].text, "drop udp port 9999"), "normalised: %s", r[3].text);
	CHECK(rules_parse_line("drop 10.0.6.1/24", &bad, err, sizeof(err)) == -1, "host bits refused");
	CHECK(rules_parse_line("block 10.0.0.0/8", &bad, err, sizeof(err)) == -1,
	      "unknown action refused");
	CHECK(rules_parse_line("sample 1 proto udp", &bad, err, sizeof(err)) == -1,
	      "sample 1 refused");
	CHECK(rules_parse_line("drop icmp port 5", &bad, err, sizeof(err)) == -1,
	      "ports of icmp refused");
	CHECK(rules_parse_line("drop port 10-2000", &bad, err, sizeof(err)) == -1,
	      "ranges over 1024 ports refused");
	rs.r = r;
	rs.n = 7;
	CHECK(!rules_install(&rs, &m), "installing rules");
	/* IPv6 in a VLAN tag: XDP drops it before the parse, TC after. */
	v6.family = 6;
	v6.vlan = 7;
	build(&f[8], v6);
	build(&f[0], udp4("10.0.6.9", 1000, "10.0.9.1", 53, 10));    /* drop by source */
	build(&f[1], udp4("10.0.9.2", 1000, "10.0.7.1", 53, 10));    /* pass by destination */
	build(&f[2], udp4("10.0.10.3", 1000, "10.0.9.200", 53, 10)); /* alert by source */
	build(&f[3], udp4("10.0.9.3", 1000, "10.0.9.4", 9999, 10));  /* drop by port */
	build(&f[4], tcp4("10.0.9.3", 7005, "10.0.9.4", 80, 0x10, 10)); /* pass by source port */
	build(&f[5], udp4("10.0.9.3", 1000, "10.0.9.4", 7009, 10));  /* pass by destination port */
	build(&f[6], tcp4("10.0.9.5", 1000, "10.0.9.6", 80, 0x10, 10)); /* alert by protocol */
	build(&f[7], tcp4("10.0.9.5", 9999, "10.0.9.6", 80, 0x10, 10)); /* udp port rule: not */
	CHECK_EQ(verdict_of(e, p, &f[0]), drop_code(p), "drop by address");
	CHECK_EQ(verdict_of(e, p, &f[1]), pass_code(p), "pass by address");
	CHECK_EQ(verdict_of(e, p, &f[2]), pass_code(p), "alert by address");
	CHECK_EQ(verdict_of(e, p, &f[3]), drop_code(p), "drop by port");
	CHECK_EQ(verdict_of(e, p, &f[4]), pass_code(p), "pass by source port");
	CHECK_EQ(verdict_of(e, p, &f[5]), pass_code(p), "pass by destination port");
	CHECK_EQ(verdict_of(e, p, &f[6]), pass_code(p), "alert by protocol");
	CHECK_EQ(verdict_of(e, p, &f[7]), pass_code(p), "udp port rule leaves tcp alone");
	CHECK_EQ(verdict_of(e, p, &f[8]), drop_code(p), "drop by IPv6 source in a VLAN");
	counters(e, c);
	CHECK_EQ(c[XDPI_C_RULE_DROPPED], 3, "rule_dropped");
	CHECK_EQ(c[XDPI_C_PACKETS], 9, "every packet counted, dropped ones too");
	CHECK_EQ(c[XDPI_C_RULE_PASSED], 3, "rule_passed");
	CHECK_EQ(c[XDPI_C_FLOW_PACKETS], 3, "alerted and unmatched packets are in flows");
	for (uint32_t id = 0; id < 7; id++) {
		struct xdpi_rule_hits h = { 0 };

		rules_hits(m.hits, id, &h);
		CHECK(h.pkts == want_hits[id], "hits of rule %u: %llu, want %llu", id,
		      (unsigned long long)h.pkts, (unsigned long long)want_hits[id]);
	}

	/* Changes while loaded: a conflicting add is refused and names the
	 * rule in the way; a delete frees the id, and the next add takes it
	 * with its hits zeroed; the packet path sees each change at once. */
	{
		struct rule extra;
		uint32_t id = 99;

		rules_parse_line("alert 10.0.6.0/24", &extra, err, sizeof(err));
		CHECK(rules_add(&m, &extra, &id, err, sizeof(err)) == -1 && strstr(err, "rule 0"),
		      "conflict reported: %s", err);
		CHECK_EQ(rules_find(&m, "drop 10.0.6.0/24"), 0, "find by text");
		CHECK(!rules_del(&m, 0, err, sizeof(err)), "delete: %s", err);
		CHECK(rules_del(&m, 0, err, sizeof(err)) == -1, "deleting twice refused");
		CHECK_EQ(verdict_of(e, p, &f[0]), pass_code(p), "deleted rule drops no more");
		CHECK(!rules_add(&m, &extra, &id, err, sizeof(err)), "add: %s", err);
		CHECK_EQ(id, 0, "lowest free id reused");
		CHECK_EQ(verdict_of(e, p, &f[0]), pass_code(p), "alert rule lets it through");
		{
			struct xdpi_rule_hits h;

			rules_hits(m.hits, 0, &h);
			CHECK_EQ(h.pkts, 1, "hits start from zero for a new rule");
		}
		rules_parse_line("deep proto udp", &extra, err, sizeof(err));
		CHECK(rules_add(&m, &extra, &id, err, sizeof(err)) == -1 && strstr(err, "afxdp"),
		      "deep refused without AF_XDP: %s", err);
		for (uint32_t i = 0; i < 7; i++)
			rules_del(&m, i, err, sizeof(err));
		{
			struct xdpi_config_map pol;

			policy_get(m.config, &pol);
			CHECK_EQ(pol.rules_on, 0, "no tables on after deleting every rule");
		}
	}
out:
	free(f);
	if (e)
		env_close(e);
}

/* Accounting sampling: 1 in N flows whole (rule `sample N` or the global
 * rate), 1 in N packets at random; rates in the flow entries. */
static void test_acct_sampling(enum prog p)
{
	struct env *e = env_open(&defaults);
	struct frame *f = calloc(1, sizeof(*f));
	struct xdpi_config_map pol;
	struct xdpi_flow_val v;
	struct rule_maps m;
	struct rule r;
	char err[160];
	uint64_t c[XDPI_C__MAX];
	uint32_t id, kept = 0, whole = 0, pkts = 0;
	struct xdpi_flow_key k;
	const int nflows = 400;

	printf("accounting sampling (%s)\n", prog_name[p]);
	if (!e || !f)
		goto out;
	pin_skel_maps(e->skel, &m);
	CHECK(!rules_parse_line("sample 4 udp port 5353", &r, err, sizeof(err)), "parse: %s", err);
	CHECK(!rules_add(&m, &r, &id, err, sizeof(err)), "add: %s", err);
	for (int i = 0; i < nflows; i++) {
		char src[32];

		snprintf(src, sizeof(src), "10.1.%d.%d", i / 200, i % 200 + 1);
		for (int k = 0; k < 3; k++) {
			build(f, udp4(src, (uint16_t)(2000 + i), "10.2.0.1", 5353, 20));
			verdict_of(e, p, f);
		}
		key_of(f, &k);
		if (flow_lookup(e, &k, &v) == 0) {
			kept++;
			whole += v.dir[0].pkts + v.dir[1].pkts == 3;
			CHECK_EQ(v.flow_sample, 4, "rate in the entry");
		}
	}
	CHECK(kept > nflows / 4 - 40 && kept < nflows / 4 + 40, "about a quarter kept: %u", kept);
	CHECK_EQ(whole, kept, "each kept flow has all its packets");
	counters(e, c);
	CHECK_EQ(c[XDPI_C_FLOW_SAMPLED_OUT], (uint64_t)(nflows - kept) * 3,
		 "left-out packets counted");
	rules_del(&m, id, err, sizeof(err));

	/* Packet sampling, 1 in 8. */
	policy_get(m.config, &pol);
	pol.pkt_sample = 8;
	policy_set(m.config, &pol);
	for (int i = 0; i < 800; i++) {
		build(f, udp4("10.3.0.1", 3000, "10.3.0.2", 53, 20));
		verdict_of(e, p, f);
	}
	if (flow_of(e, f, &v, NULL) == 0) {
		pkts = (uint32_t)(v.dir[0].pkts + v.dir[1].pkts);
		CHECK_EQ(v.pkt_sample, 8, "packet rate in the entry");
	}
	CHECK(pkts > 100 - 45 && pkts < 100 + 45, "about 1 in 8 packets counted: %u", pkts);
	counters(e, c);
	CHECK_EQ(c[XDPI_C_PKT_SAMPLED_OUT], 800 - pkts, "left-out packets counted");
out:
	free(f);
	if (e)
		env_close(e);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_bpf_prog: needs root\n");
		return 1;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "test_bpf_prog: cannot count CPUs\n");
		return 1;
	}
	/* One CPU: per-CPU values and the event order are then deterministic. */
	find_cpus();
	if (pin(cpus[0]))
		fprintf(stderr, "test_bpf_prog: cannot pin to CPU %d: %s\n", cpus[0],
			strerror(errno));

	for (enum prog p = XDP; p <= TC; p++) {
		test_udp(p);
		test_tcp(p);
		test_anomalies(p);
		test_vlan(p);
		test_fragments(p);
	}
	test_replay_meta();
	test_replay_off();
	test_jumbo();
	test_two_cpus();
	test_loader();
	for (enum prog p = XDP; p <= TC; p++) {
		test_offload(p);
		test_sampling(p);
	}
	test_shedding();
	test_rules(XDP);
	test_rules(TC);
	test_acct_sampling(XDP);
	test_acct_sampling(TC);
	/* The same cases through per-CPU perf buffers. */
	g_transport = XDPI_TRANSPORT_PERFBUF;
	printf("-- perfbuf transport --\n");
	for (enum prog p = XDP; p <= TC; p++) {
		test_udp(p);
		test_tcp(p);
		test_offload(p);
	}
	return check_summary("bpf");
}
