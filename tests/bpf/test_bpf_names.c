/* SPDX-License-Identifier: BSD-3-Clause */
/* Server names the programs find on their own (bpf/extract.h): TLS
 * ClientHellos and HTTP request heads built byte by byte, run through the
 * XDP and the TC program with BPF_PROG_TEST_RUN, then the flow_names map
 * and the counters read back. Each payload also goes through the parser as
 * compiled for user space (include/xdpi/names.h, what `xdpi read` runs),
 * which must find the same name. Needs root. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpi/abi.h"
#include "xdpi/parse.h"
#include "xdpi/flow.h"
#include "xdpi/names.h"
#include "check.h"
#include "config.h"
#include "loader.h"
#include "stats.h"
#include "xdpi.skel.h"

#define FRAME_MAX 9216

enum prog { XDP, TC };
static const char *const prog_name[] = { "xdp", "tc" };

/* ---- frames ---- */

struct frame {
	uint8_t b[FRAME_MAX];
	uint32_t len;
};

struct pkt_spec {
	int v6;
	int udp;
	int reply;            /* addresses swapped: the other direction */
	uint16_t sport, dport;
	const uint8_t *payload;
	uint32_t len;
};

static void put(struct frame *f, const void *p, uint32_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(f, b, 2);
}

/* Ethernet, IPv4 or IPv6, TCP (PSH|ACK, 20 bytes) or UDP, payload. */
static void build(struct frame *f, const struct pkt_spec *s)
{
	static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	uint32_t l4len = (s->udp ? 8 : 20) + s->len;
	const char *src4 = s->reply ? "10.9.0.2" : "10.9.0.1", *dst4 = s->reply ? "10.9.0.1" : "10.9.0.2";
	const char *src6 = s->reply ? "2001:db8::2" : "2001:db8::1";
	const char *dst6 = s->reply ? "2001:db8::1" : "2001:db8::2";
	uint8_t a[16];

	f->len = 0;
	put(f, mac, 12);
	put16(f, s->v6 ? XDPI_ETH_P_IPV6 : XDPI_ETH_P_IP);
	if (s->v6) {
		put16(f, 0x6000);
		put16(f, 0);
		put16(f, (uint16_t)l4len);
		f->b[f->len++] = s->udp ? XDPI_IPPROTO_UDP : XDPI_IPPROTO_TCP;
		f->b[f->len++] = 64;
		inet_pton(AF_INET6, src6, a);
		put(f, a, 16);
		inet_pton(AF_INET6, dst6, a);
		put(f, a, 16);
	} else {
		put16(f, 0x4500);
		put16(f, (uint16_t)(20 + l4len));
		put16(f, 1);
		put16(f, 0);
		f->b[f->len++] = 64;
		f->b[f->len++] = s->udp ? XDPI_IPPROTO_UDP : XDPI_IPPROTO_TCP;
		put16(f, 0);
		inet_pton(AF_INET, src4, a);
		put(f, a, 4);
		inet_pton(AF_INET, dst4, a);
		put(f, a, 4);
	}
	put16(f, s->sport);
	put16(f, s->dport);
	if (s->udp) {
		put16(f, (uint16_t)l4len);
		put16(f, 0);
	} else {
		uint8_t t[16] = { 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0 };

		put(f, t, 16);
	}
	put(f, s->payload, s->len);
}

/* ---- payloads ---- */

struct buf {
	uint8_t b[FRAME_MAX];
	uint32_t len;
};

static void b8(struct buf *b, uint8_t v) { b->b[b->len++] = v; }
static void b16(struct buf *b, uint16_t v) { b8(b, (uint8_t)(v >> 8)); b8(b, (uint8_t)v); }
static void b24(struct buf *b, uint32_t v) { b8(b, (uint8_t)(v >> 16)); b16(b, (uint16_t)v); }
static void bput(struct buf *b, const void *p, uint32_t n) { memcpy(b->b + b->len, p, n); b->len += n; }
static void bset16(struct buf *b, uint32_t at, uint32_t v) { b->b[at] = (uint8_t)(v >> 8); b->b[at + 1] = (uint8_t)v; }

struct hello {
	int sid;              /* session id length */
	int ciphers;          /* cipher suites */
	int before;           /* extensions before server_name */
	int before_len;       /* bytes of each */
	const char *sni;      /* NULL: no server_name extension */
	int sni_len;          /* 0: strlen */
	int sni_type;         /* name type (0 host_name) */
	uint8_t hs_type;      /* 1 ClientHello */
	uint32_t cut;         /* keep only this many bytes (0: all) */
	int cut_at;           /* or cut at: CUT_AFTER_SNI, CUT_IN_NAME */
};

enum { CUT_AFTER_SNI = 1, CUT_IN_NAME };

/* A ClientHello record as the spec describes; lengths are consistent
 * unless h->cut leaves the record short. */
static void make_hello(struct buf *b, const struct hello *h)
{
	uint32_t rec, hs, ext, name_at = 0, sni_end = 0;
	int n = h->sni ? (h->sni_len ? h->sni_len : (int)strlen(h->sni)) : 0;

	b->len = 0;
	b8(b, 22);
	b16(b, 0x0301);
	rec = b->len;
	b16(b, 0);
	b8(b, h->hs_type ? h->hs_type : 1);
	hs = b->len;
	b24(b, 0);
	b16(b, 0x0303);
	for (int i = 0; i < 32; i++)
		b8(b, (uint8_t)(0x40 + i));
	b8(b, (uint8_t)h->sid);
	for (int i = 0; i < h->sid; i++)
		b8(b, (uint8_t)i);
	b16(b, (uint16_t)(2 * h->ciphers));
	for (int i = 0; i < h->ciphers; i++)
		b16(b, (uint16_t)(0xc000 + i));
	b8(b, 1);
	b8(b, 0);
	ext = b->len;
	b16(b, 0);
	for (int i = 0; i < h->before; i++) {
		b16(b, i == 0 ? 0x0a0a : (uint16_t)(0x0010 + i)); /* GREASE first */
		b16(b, (uint16_t)h->before_len);
		for (int k = 0; k < h->before_len; k++)
			b8(b, (uint8_t)k);
	}
	if (h->sni) {
		b16(b, 0);
		b16(b, (uint16_t)(5 + n));
		b16(b, (uint16_t)(3 + n));
		b8(b, (uint8_t)h->sni_type);
		b16(b, (uint16_t)n);
		name_at = b->len;
		bput(b, h->sni, (uint32_t)n);
		sni_end = b->len;
	}
	b16(b, 0x002b); /* supported_versions after it */
	b16(b, 3);
	b8(b, 2);
	b16(b, 0x0304);
	bset16(b, ext, b->len - ext - 2);
	bset16(b, rec, b->len - 5);
	b->b[hs] = 0;
	bset16(b, hs + 1, b->len - 9);
	if (h->cut && h->cut < b->len)
		b->len = h->cut;
	if (h->cut_at == CUT_AFTER_SNI)
		b->len = sni_end;
	else if (h->cut_at == CUT_IN_NAME)
		b->len = name_at + 3;
}

static void make_text(struct buf *b, const char *s)
{
	b->len = 0;
	bput(b, s, (uint32_t)strlen(s));
}

/* ---- program environment ---- */

struct env {
	struct xdpi_bpf *skel;
	uint16_t next_port;
};

static int env_open(struct env *e)
{
	struct xdpi_config cfg;

	config_defaults(&cfg);
	cfg.transport = XDPI_TRANSPORT_NONE;
	cfg.max_flows = 4096;
	cfg.snippet_pkts = 0;
	e->skel = loader_load(&cfg, 0);
	e->next_port = 20000;
	CHECK(e->skel != NULL, "loading the programs");
	return e->skel ? 0 : -1;
}

static void run(struct env *e, enum prog p, const struct frame *f)
{
	struct bpf_program *prog = p == XDP ? e->skel->progs.xdpi_xdp : e->skel->progs.xdpi_tc;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len, .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);

	CHECK(!err, "%s test_run of %u bytes: %s", prog_name[p], f->len, strerror(errno));
	CHECK_EQ(o.retval, p == XDP ? XDP_PASS : TC_ACT_OK, "verdict");
}

static void key_of(const struct frame *f, struct xdpi_flow_key *k)
{
	struct xdpi_pkt pk;

	memset(k, 0, sizeof(*k));
	CHECK_EQ(xdpi_parse((void *)f->b, (void *)(f->b + f->len), 0, &pk), XDPI_P_FLOW,
		 "parse of a test frame");
	xdpi_flow_key_from_pkt(&pk, k);
}

static void counts(struct env *e, uint64_t *scanned, uint64_t *found)
{
	uint64_t c[XDPI_C__MAX];

	CHECK(!counters_read_kernel(bpf_map__fd(e->skel->maps.counters), c), "counters");
	*scanned = c[XDPI_C_NAMES_SCANNED];
	*found = c[XDPI_C_NAMES_EXTRACTED];
}

/* What the user-space build of the parser makes of a payload: the name
 * (cut) or "" when none. */
static int user_name(const struct buf *pl, char *out, size_t cap, int *kind)
{
	static struct xdpi_name_walk w;
	uint32_t n = pl->len < XDPI_NAME_SCAN ? pl->len : XDPI_NAME_SCAN;

	out[0] = 0;
	*kind = 0;
	if (pl->len < XDPI_NAME_MIN)
		return 0;
	memcpy(w.buf.b, pl->b, 8);
	if (!xdpi_name_guess(&w.buf))
		return 0;
	memcpy(w.buf.b, pl->b, n);
	*kind = xdpi_name_find(&w, n);
	if (!*kind)
		return 0;
	snprintf(out, cap, "%.*s", (int)w.nlen, (const char *)pl->b + w.off);
	return (int)w.nlen;
}

/* One case: the payload in a fresh TCP flow, through one program; the
 * kernel must store want (kind and name), or nothing when want is NULL. */
static void expect(struct env *e, enum prog p, const char *what, const struct buf *pl,
		   int v6, int want_kind, const char *want)
{
	struct pkt_spec s = { .v6 = v6, .sport = e->next_port++, .dport = 443,
			      .payload = pl->b, .len = pl->len };
	static struct frame f;
	struct xdpi_flow_name n;
	struct xdpi_flow_key k;
	uint64_t sc0, fd0, sc1, fd1;
	char uname[XDPI_NAME_MAX + 1];
	int ukind, got;

	build(&f, &s);
	key_of(&f, &k);
	counts(e, &sc0, &fd0);
	run(e, p, &f);
	counts(e, &sc1, &fd1);
	got = !bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.flow_names), &k, &n);
	if (!want) {
		CHECK(!got, "%s %s: unexpected name '%.*s'", prog_name[p], what, n.len, n.name);
		CHECK_EQ(fd1 - fd0, 0, "names_extracted without a name");
	} else {
		size_t wl = strlen(want) < XDPI_NAME_MAX ? strlen(want) : XDPI_NAME_MAX;

		CHECK(got, "%s %s: no name, want '%s'", prog_name[p], what, want);
		if (got) {
			CHECK_EQ(n.kind, want_kind, what);
			CHECK(n.len == wl && !memcmp(n.name, want, wl),
			      "%s %s: name '%.*s' (%u), want '%.*s'", prog_name[p], what, n.len,
			      n.name, n.len, (int)wl, want);
			/* Nothing after the name: no bytes of other packets. */
			for (size_t i = n.len; i < XDPI_NAME_MAX; i++)
				if (n.name[i]) {
					CHECK(0, "%s %s: byte %zu past the name is %#x", prog_name[p],
					      what, i, (unsigned char)n.name[i]);
					break;
				}
		}
		CHECK_EQ(fd1 - fd0, 1, "names_extracted");
		CHECK_EQ(sc1 - sc0, 1, "names_scanned");
	}
	/* The user-space build finds the same. */
	user_name(pl, uname, sizeof(uname), &ukind);
	if (want) {
		size_t wl = strlen(want) < XDPI_NAME_MAX ? strlen(want) : XDPI_NAME_MAX;

		CHECK(ukind == want_kind && strlen(uname) == wl && !memcmp(uname, want, wl),
		      "user space %s: '%s' (kind %d)", what, uname, ukind);
	} else {
		CHECK(!uname[0], "user space %s: unexpected '%s'", what, uname);
	}
}

/* ---- cases ---- */

static void test_tls(struct env *e, enum prog p)
{
	static const char long_name[] =
		"a-very-long-label-for-testing.subdomain-number-one.subdomain-number-two."
		"subdomain-number-three.subdomain-number-four.subdomain-number-five.example."
		"com";
	char n128[129];
	static struct buf b;
	struct {
		const char *what;
		struct hello h;
		int v6;
		const char *want;
	} cases[] = {
		{ "plain", { .ciphers = 1, .sni = "example.com" }, 0, "example.com" },
		{ "session id 32, 100 suites, 3 extensions before",
		  { .sid = 32, .ciphers = 100, .before = 3, .before_len = 40, .sni = "www.example.org" },
		  0, "www.example.org" },
		{ "12 extensions before, 1-byte name",
		  { .sid = 16, .ciphers = 16, .before = 12, .before_len = 20, .sni = "a" }, 0, "a" },
		{ "name of 128 bytes", { .ciphers = 4, .sni = n128 }, 0, n128 },
		{ "name over 128 bytes, cut", { .ciphers = 4, .sni = long_name }, 0, long_name },
		{ "large extension before (900 bytes)",
		  { .sid = 32, .ciphers = 30, .before = 1, .before_len = 900, .sni = "after.big" },
		  0, "after.big" },
		{ "IPv6", { .sid = 32, .ciphers = 8, .sni = "v6.example" }, 1, "v6.example" },
		{ "record cut after server_name",
		  { .ciphers = 2, .sni = "cut.after", .cut_at = CUT_AFTER_SNI }, 0, "cut.after" },
		{ "no server_name", { .ciphers = 8, .before = 2, .before_len = 4 }, 0, NULL },
		{ "ServerHello", { .ciphers = 1, .sni = "server.hello", .hs_type = 2 }, 0, NULL },
		{ "name type 1", { .ciphers = 1, .sni = "type.one", .sni_type = 1 }, 0, NULL },
		{ "empty name", { .ciphers = 1, .sni = "", .sni_len = 0 }, 0, NULL },
		{ "cut inside the name",
		  { .ciphers = 1, .sni = "cut.inside.the.name", .cut_at = CUT_IN_NAME }, 0, NULL },
		{ "cut inside the cipher suites", { .sid = 32, .ciphers = 60, .sni = "x.y", .cut = 120 },
		  0, NULL },
		{ "cut after 20 bytes", { .ciphers = 1, .sni = "short.cut", .cut = 20 }, 0, NULL },
		{ "cut after 45 bytes", { .sid = 32, .ciphers = 1, .sni = "short.cut", .cut = 45 }, 0, NULL },
		{ "session id 33", { .sid = 33, .ciphers = 1, .sni = "bad.sid" }, 0, NULL },
	};

	memset(n128, 'n', 128);
	n128[128] = 0;
	printf("TLS ClientHello (%s)\n", prog_name[p]);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_hello(&b, &cases[i].h);
		expect(e, p, cases[i].what, &b, cases[i].v6, XDPI_NAME_SNI, cases[i].want);
	}
}

static void test_http(struct env *e, enum prog p)
{
	static const char *const methods[] = { "GET", "POST", "HEAD", "PUT", "DELETE",
					       "OPTIONS", "CONNECT", "PATCH", "TRACE" };
	static struct buf b;
	char req[4096], host300[301];
	struct {
		const char *what;
		const char *text;
		const char *want;
	} cases[] = {
		{ "GET, Host second", "GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
		  "example.com" },
		{ "POST, HOST: fifth", "POST /form HTTP/1.1\r\nUser-Agent: t/1\r\nAccept: */*\r\n"
		  "Content-Type: text/plain\r\nContent-Length: 3\r\nHOST: post.example\r\n\r\nabc",
		  "post.example" },
		{ "lower case, spaces around", "GET /x HTTP/1.0\r\nhost:   spaced.example \t \r\n\r\n",
		  "spaced.example" },
		{ "no space after the colon", "GET /x HTTP/1.1\r\nHoSt:tight.example\r\n\r\n",
		  "tight.example" },
		{ "port kept", "GET / HTTP/1.1\r\nHost: h.example:8080\r\n\r\n", "h.example:8080" },
		{ "bare LF", "GET / HTTP/1.1\nAccept: */*\nHost: lf.example\n\n", "lf.example" },
		{ "head cut after the Host line", "GET / HTTP/1.1\r\nHost: early.example\r\nUser-Ag",
		  "early.example" },
		{ "response", "HTTP/1.1 200 OK\r\nHost: not.a.request\r\n\r\n", NULL },
		{ "unknown method", "FETCH / HTTP/1.1\r\nHost: fetch.example\r\n\r\n", NULL },
		{ "lower-case method", "get / HTTP/1.1\r\nHost: lower.example\r\n\r\n", NULL },
		{ "no space after the method", "GETX / HTTP/1.1\r\nHost: getx.example\r\n\r\n", NULL },
		{ "X-Host only", "GET / HTTP/1.1\r\nX-Host: x.example\r\n\r\n", NULL },
		{ "space before the colon", "GET / HTTP/1.1\r\nHost : sp.example\r\n\r\n", NULL },
		{ "Host in the body", "POST / HTTP/1.1\r\nContent-Length: 22\r\n\r\nHost: body.example\r\n",
		  NULL },
		{ "Host line without its end", "GET / HTTP/1.1\r\nHost: unended.example", NULL },
		{ "empty Host", "GET / HTTP/1.1\r\nHost:   \r\nAccept: */*\r\n\r\n", NULL },
		{ "garbage", "\x01\x02\x03\x04 random bytes that are not HTTP at all\r\n\r\n", NULL },
	};

	printf("HTTP request head (%s)\n", prog_name[p]);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_text(&b, cases[i].text);
		expect(e, p, cases[i].what, &b, 0, XDPI_NAME_HOST, cases[i].want);
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(req, sizeof(req), "%s /m HTTP/1.1\r\nHost: %s.example\r\n\r\n", methods[i],
			 methods[i]);
		make_text(&b, req);
		snprintf(host300, sizeof(host300), "%s.example", methods[i]);
		expect(e, p, methods[i], &b, 1, XDPI_NAME_HOST, host300);
	}
	memset(host300, 'h', 300);
	host300[300] = 0;
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host300);
	make_text(&b, req);
	expect(e, p, "Host over 128 bytes, cut", &b, 0, XDPI_NAME_HOST, host300);
	/* Host near the end of the bytes looked at, and past them. */
	snprintf(req, sizeof(req), "GET /%01800d HTTP/1.1\r\nHost: deep.example\r\n\r\n", 0);
	make_text(&b, req);
	expect(e, p, "Host at byte 1830", &b, 0, XDPI_NAME_HOST, "deep.example");
	snprintf(req, sizeof(req), "GET /%02100d HTTP/1.1\r\nHost: past.example\r\n\r\n", 0);
	make_text(&b, req);
	expect(e, p, "Host past byte 2048", &b, 0, XDPI_NAME_HOST, NULL);
}

/* Only TCP is looked at; UDP payloads that look the same are not. */
static void test_udp(struct env *e, enum prog p)
{
	static struct buf b;
	static struct frame f;
	struct pkt_spec s = { .udp = 1, .sport = e->next_port++, .dport = 443 };
	struct hello h = { .ciphers = 1, .sni = "udp.example" };
	struct xdpi_flow_name n;
	struct xdpi_flow_key k;

	printf("UDP (%s)\n", prog_name[p]);
	make_hello(&b, &h);
	s.payload = b.b;
	s.len = b.len;
	build(&f, &s);
	key_of(&f, &k);
	run(e, p, &f);
	CHECK(bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.flow_names), &k, &n),
	      "%s: a name from UDP", prog_name[p]);
}

/* A direction's first XDPI_NAME_PKTS packets are looked at, the first name
 * found stays, and the other direction does not disturb it. */
static void test_guard(struct env *e, enum prog p)
{
	static struct buf junk, h1, h2, resp;
	static struct frame f;
	struct pkt_spec c = { .sport = e->next_port++, .dport = 80 };
	struct pkt_spec late = { .sport = e->next_port++, .dport = 80 };
	struct xdpi_flow_name n;
	struct xdpi_flow_key k;
	uint64_t sc0, fd0, sc1, fd1;
	int fd = bpf_map__fd(e->skel->maps.flow_names);

	printf("first packets only, first name stays (%s)\n", prog_name[p]);
	make_text(&junk, "some payload that names nothing at all");
	make_text(&h1, "GET / HTTP/1.1\r\nHost: first.example\r\n\r\n");
	make_text(&h2, "GET /2 HTTP/1.1\r\nHost: second.example\r\n\r\n");
	make_text(&resp, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

	/* Two requests, then the response: the first Host stays, and the
	 * second request is not even parsed. */
	counts(e, &sc0, &fd0);
	c.payload = h1.b;
	c.len = h1.len;
	build(&f, &c);
	key_of(&f, &k);
	run(e, p, &f);
	c.payload = h2.b;
	c.len = h2.len;
	build(&f, &c);
	run(e, p, &f);
	{
		struct pkt_spec r = { .reply = 1, .sport = c.dport, .dport = c.sport,
				      .payload = resp.b, .len = resp.len };
		struct xdpi_flow_key rk;

		build(&f, &r);
		key_of(&f, &rk);
		CHECK(!memcmp(&rk, &k, sizeof(k)), "the reply is of the same flow");
		run(e, p, &f);
	}
	counts(e, &sc1, &fd1);
	CHECK(!bpf_map_lookup_elem(fd, &k, &n) && n.len == strlen("first.example") &&
	      !memcmp(n.name, "first.example", n.len), "%s: first name kept", prog_name[p]);
	CHECK_EQ(fd1 - fd0, 1, "one name for the flow");
	CHECK_EQ(sc1 - sc0, 1, "the second request is not parsed");

	/* XDPI_NAME_PKTS packets without a name, then the request: too late. */
	late.payload = junk.b;
	late.len = junk.len;
	build(&f, &late);
	key_of(&f, &k);
	for (int i = 0; i < XDPI_NAME_PKTS; i++)
		run(e, p, &f);
	late.payload = h1.b;
	late.len = h1.len;
	build(&f, &late);
	counts(e, &sc0, &fd0);
	run(e, p, &f);
	counts(e, &sc1, &fd1);
	CHECK(bpf_map_lookup_elem(fd, &k, &n), "%s: a name from packet %d", prog_name[p],
	      XDPI_NAME_PKTS + 1);
	CHECK_EQ(sc1 - sc0, 0, "packet past the first ones not parsed");

	/* The last packet of the window still counts. */
	late.sport = e->next_port++;
	late.payload = junk.b;
	late.len = junk.len;
	build(&f, &late);
	for (int i = 0; i < XDPI_NAME_PKTS - 1; i++)
		run(e, p, &f);
	late.payload = h1.b;
	late.len = h1.len;
	build(&f, &late);
	key_of(&f, &k);
	run(e, p, &f);
	CHECK(!bpf_map_lookup_elem(fd, &k, &n), "%s: no name from packet %d, the window's last",
	      prog_name[p], XDPI_NAME_PKTS);
}

/* 9000 bytes: XDP gets the frame as frags; the name is found in the first
 * XDPI_NAME_SCAN bytes of the payload all the same. */
static void test_jumbo(struct env *e)
{
	static struct buf b;
	static struct frame f;
	struct pkt_spec s = { .sport = e->next_port++, .dport = 80 };
	struct xdpi_flow_name n;
	struct xdpi_flow_key k;
	char *req = malloc(9000);
	int len;

	printf("jumbo frame (xdp frags)\n");
	if (!req)
		return;
	len = snprintf(req, 9000, "POST /%01900d HTTP/1.1\r\nHost: jumbo.example\r\n\r\n", 0);
	memset(req + len, 'z', 8900 - len);
	req[8900] = 0;
	make_text(&b, req);
	s.payload = b.b;
	s.len = b.len;
	build(&f, &s);
	key_of(&f, &k);
	run(e, XDP, &f);
	CHECK(!bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.flow_names), &k, &n) &&
	      n.len == strlen("jumbo.example") && !memcmp(n.name, "jumbo.example", n.len),
	      "jumbo: name");
	free(req);
}

int main(void)
{
	struct env e;

	if (env_open(&e))
		return check_summary("bpf names");
	for (int p = XDP; p <= TC; p++) {
		test_tls(&e, (enum prog)p);
		test_http(&e, (enum prog)p);
		test_udp(&e, (enum prog)p);
		test_guard(&e, (enum prog)p);
	}
	test_jumbo(&e);
	loader_close(e.skel);
	return check_summary("bpf names");
}
