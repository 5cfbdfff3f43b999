/* SPDX-License-Identifier: BSD-3-Clause */
/* Runs the socket filter of `run --hook socket` (bpf/xdpi_sock.bpf.c) on
 * crafted frames with BPF_PROG_TEST_RUN and checks the length it keeps:
 * headers plus up to N payload bytes, the link-layer headers of a non-IP
 * frame, all the parser saw of a broken one. Then parses each frame in user
 * space whole and cut to that length (with the cut passed along, as the
 * socket hook does): the flow accounting must not tell them apart. Needs
 * root. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpi/abi.h"
#include "xdpi/parse.h"
#include "check.h"
#include "xdpi_sock.skel.h"

#define N_SNIP 64   /* --snippet-bytes of the main program under test */

struct frame {
	uint8_t b[4096];
	uint32_t len;
	uint32_t l3, l4, pl;
};

static void put8(struct frame *f, uint8_t v) { f->b[f->len++] = v; }
static void put16(struct frame *f, uint16_t v) { put8(f, v >> 8); put8(f, v & 0xff); }
static void put32(struct frame *f, uint32_t v) { put16(f, v >> 16); put16(f, v & 0xffff); }

static void put_fill(struct frame *f, uint32_t n, uint8_t v)
{
	memset(f->b + f->len, v, n);
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

	if (inet_pton(family == 4 ? AF_INET : AF_INET6, text, a) != 1)
		exit(2);
	memcpy(f->b + f->len, a, family == 4 ? 4 : 16);
	f->len += family == 4 ? 4 : 16;
}

/* Ethernet with up to two VLAN tags (0: none) before type. */
static void put_eth(struct frame *f, uint16_t type, int tags)
{
	memset(f, 0, sizeof(*f));
	put_fill(f, 6, 0x02);
	put_fill(f, 6, 0x04);
	for (int i = 0; i < tags; i++) {
		put16(f, i == 0 && tags > 1 ? XDPI_ETH_P_8021AD : XDPI_ETH_P_8021Q);
		put16(f, (uint16_t)(100 + i));
	}
	put16(f, type);
}

static void put_ipv4(struct frame *f, uint8_t proto, uint16_t frag)
{
	f->l3 = f->len;
	put8(f, 0x45);
	put8(f, 0);
	put16(f, 0);           /* total length: set by ip_done */
	put16(f, 1);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put_addr(f, 4, "192.0.2.1");
	put_addr(f, 4, "192.0.2.2");
}

static void put_ipv6(struct frame *f, uint8_t next)
{
	f->l3 = f->len;
	put32(f, 0x60000000);
	put16(f, 0);           /* payload length: set by ip_done */
	put8(f, next);
	put8(f, 64);
	put_addr(f, 6, "2001:db8::1");
	put_addr(f, 6, "2001:db8::2");
}

/* An options header of len bytes (a multiple of 8) followed by next. */
static void put_opts6(struct frame *f, uint8_t next, uint32_t len)
{
	put8(f, next);
	put8(f, (uint8_t)(len / 8 - 1));
	put8(f, 1);            /* PadN over the rest */
	put8(f, (uint8_t)(len - 4));
	put_fill(f, len - 4, 0);
}

static void put_tcp(struct frame *f, uint8_t flags, uint32_t opt_bytes)
{
	f->l4 = f->len;
	put16(f, 40000);
	put16(f, 80);
	put32(f, 1000);
	put32(f, 2000);
	put8(f, (uint8_t)(((20 + opt_bytes) / 4) << 4));
	put8(f, flags);
	put16(f, 65535);
	put32(f, 0);
	put_fill(f, opt_bytes, 1); /* NOPs */
}

static void put_udp(struct frame *f)
{
	f->l4 = f->len;
	put16(f, 40001);
	put16(f, 53);
	put16(f, 0);
	put16(f, 0);
}

static void put_payload(struct frame *f, uint32_t n)
{
	f->pl = f->len;
	for (uint32_t i = 0; i < n; i++)
		put8(f, (uint8_t)('a' + i % 26));
}

/* IP length fields from what was written, plus extra bytes the frame does
 * not carry (a packet cut short). */
static void ip_done(struct frame *f, uint32_t extra)
{
	if ((f->b[f->l3] >> 4) == 4)
		set16(f, f->l3 + 2, (uint16_t)(f->len - f->l3 + extra));
	else
		set16(f, f->l3 + 4, (uint16_t)(f->len - f->l3 - 40 + extra));
	if (f->l4 && f->b[f->l3 + ((f->b[f->l3] >> 4) == 4 ? 9 : 6)] == XDPI_IPPROTO_UDP)
		set16(f, f->l4 + 4, (uint16_t)(f->len - f->l4 + extra));
}

/* ---------------------------------------------------------------------- */

/* Runs the filter on a frame; the kernel's test run takes the first 14
 * bytes as the link layer and starts a socket filter's packet after them,
 * where AF_PACKET starts it at the Ethernet header: a dummy header in
 * front gives the program the frame as the socket hook shows it. */
static int keep_of(struct bpf_program *prog, const struct frame *f, uint32_t *keep)
{
	uint8_t in[sizeof(f->b) + 14];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = f->len + 14,
		    .repeat = 1);

	memset(in, 0x02, 12);
	in[12] = 0x88;         /* a local experimental ethertype */
	in[13] = 0xb5;
	memcpy(in + 14, f->b, f->len);
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts))
		return -errno;
	*keep = opts.retval;
	return 0;
}

/* The socket hook parses the cut frame with the cut passed along; flow
 * accounting must see what it sees in the whole frame. */
static void check_same_parse(const char *what, const struct frame *f, uint32_t keep, uint32_t n)
{
	struct xdpi_pkt whole, cut;
	uint32_t caplen = keep < f->len ? keep : f->len;
	int rc_w = xdpi_parse((void *)f->b, (void *)(f->b + f->len), 0, &whole);
	int rc_c = xdpi_parse((void *)f->b, (void *)(f->b + caplen), f->len - caplen, &cut);
	uint32_t want_pl = whole.payload_len < n ? whole.payload_len : n;

	CHECK(rc_w == rc_c, "%s: parse of the cut frame: %d, whole: %d", what, rc_c, rc_w);
	if (rc_w != XDPI_P_FLOW)
		return;
	CHECK(!memcmp(whole.src, cut.src, 16) && !memcmp(whole.dst, cut.dst, 16) &&
	      whole.sport == cut.sport && whole.dport == cut.dport && whole.proto == cut.proto &&
	      whole.vlan == cut.vlan && whole.family == cut.family,
	      "%s: flow key differs after the cut", what);
	CHECK(whole.ip_len == cut.ip_len && whole.tcp_flags == cut.tcp_flags &&
	      whole.tcp_seq == cut.tcp_seq && whole.tcp_len == cut.tcp_len &&
	      whole.has_tcp_seg == cut.has_tcp_seg && whole.frag == cut.frag &&
	      whole.icmp_type == cut.icmp_type,
	      "%s: counted fields differ after the cut", what);
	CHECK(whole.anomalies == cut.anomalies, "%s: anomalies 0x%x whole, 0x%x cut", what,
	      whole.anomalies, cut.anomalies);
	CHECK(cut.payload_len == want_pl && (!want_pl || cut.payload_off == whole.payload_off),
	      "%s: payload %u bytes at %u after the cut, want %u at %u", what, cut.payload_len,
	      cut.payload_off, want_pl, whole.payload_off);
}

/* same: the cut frame must parse as the whole one (not so when headers
 * run past the bytes the filter parses). */
static void expect_keep_as(struct bpf_program *prog, const char *what, const struct frame *f,
			   uint32_t want, uint32_t n, int same)
{
	uint32_t keep = 0;
	int err = keep_of(prog, f, &keep);

	CHECK(!err, "%s: test run: %s", what, strerror(-err));
	CHECK(keep == want, "%s: kept %u of %u bytes, want %u", what, keep, f->len, want);
	if (!err && same)
		check_same_parse(what, f, keep, n);
}

static void expect_keep(struct bpf_program *prog, const char *what, const struct frame *f,
			uint32_t want, uint32_t n)
{
	expect_keep_as(prog, what, f, want, n, 1);
}

static void cases(struct bpf_program *prog, uint32_t n)
{
	struct frame f;
	uint32_t snip = n;

#define PL(x) ((x) < snip ? (x) : snip)
	/* TCP with 20 bytes of options and 300 bytes of payload. */
	put_eth(&f, XDPI_ETH_P_IP, 0);
	put_ipv4(&f, XDPI_IPPROTO_TCP, 0);
	put_tcp(&f, XDPI_TCP_ACK | XDPI_TCP_PSH, 20);
	put_payload(&f, 300);
	ip_done(&f, 0);
	expect_keep(prog, "tcp4 options + 300 B", &f, 14 + 20 + 40 + PL(300), n);

	/* TCP with less payload than N: the whole frame. */
	put_eth(&f, XDPI_ETH_P_IP, 0);
	put_ipv4(&f, XDPI_IPPROTO_TCP, 0);
	put_tcp(&f, XDPI_TCP_ACK | XDPI_TCP_PSH, 0);
	put_payload(&f, 10);
	ip_done(&f, 0);
	expect_keep(prog, "tcp4 10 B", &f, 14 + 20 + 20 + PL(10), n);

	/* A bare ACK padded to the Ethernet minimum: the IP packet. */
	put_eth(&f, XDPI_ETH_P_IP, 0);
	put_ipv4(&f, XDPI_IPPROTO_TCP, 0);
	put_tcp(&f, XDPI_TCP_ACK, 0);
	ip_done(&f, 0);
	put_fill(&f, 6, 0);
	expect_keep(prog, "tcp4 bare ACK, padded", &f, 54, n);

	/* A full-sized segment. */
	put_eth(&f, XDPI_ETH_P_IP, 0);
	put_ipv4(&f, XDPI_IPPROTO_TCP, 0);
	put_tcp(&f, XDPI_TCP_ACK, 0);
	put_payload(&f, 1460);
	ip_done(&f, 0);
	expect_keep(prog, "tcp4 1460 B", &f, 54 + PL(1460), n);

	put_eth(&f, XDPI_ETH_P_IP, 0);
	put_ipv4(&f, XDPI_IPPROTO_UDP, 0);
	put_udp(&f);
	put_payload(&f, 1000);
	ip_done(&f, 0);
	expect_keep(prog, "udp4 1000 B", &f, 42 + PL(1000), n);

	/* IPv6 with hop-by-hop (8) and destination options (16) headers. */
	put_eth(&f, XDPI_ETH_P_IPV6, 0);
	put_ipv6(&f, XDPI_IPPROTO_HOPOPTS);
	put_opts6(&f, XDPI_IPPROTO_DSTOPTS, 8);
	put_opts6(&f, XDPI_IPPROTO_UDP, 16);
	put_udp(&f);
	put_payload(&f, 500);
	ip_done(&f, 0);
	expect_keep(prog, "udp6 with 2 extension headers", &f, 14 + 40 + 24 + 8 + PL(500), n);

	/* IPv6 first fragment of a TCP segment. */
	put_eth(&f, XDPI_ETH_P_IPV6, 0);
	put_ipv6(&f, XDPI_IPPROTO_FRAGMENT);
	put8(&f, XDPI_IPPROTO_TCP);
	put8(&f, 0);
	put16(&f, 1);          /* offset 0, more fragments */
	put32(&f, 7);
	put_tcp(&f, XDPI_TCP_ACK, 0);
	put_payload(&f, 100);
	ip_done(&f, 0);
	expect_keep(prog, "tcp6 first fragment", &f, 14 + 40 + 8 + 20 + PL(100), n);

	/* Extension headers past the bytes the filter parses: what it saw. */
	put_eth(&f, XDPI_ETH_P_IPV6, 0);
	put_ipv6(&f, XDPI_IPPROTO_DSTOPTS);
	put_opts6(&f, XDPI_IPPROTO_TCP, 248);
	put_tcp(&f, XDPI_TCP_ACK, 0);
	put_payload(&f, 100);
	ip_done(&f, 0);
	expect_keep_as(prog, "tcp6 behind 248 B of options", &f, 256, n, 0);

	put_eth(&f, XDPI_ETH_P_IP, 1);
	put_ipv4(&f, XDPI_IPPROTO_UDP, 0);
	put_udp(&f);
	put_payload(&f, 200);
	ip_done(&f, 0);
	expect_keep(prog, "vlan udp4", &f, 18 + 28 + PL(200), n);

	put_eth(&f, XDPI_ETH_P_IPV6, 2);
	put_ipv6(&f, XDPI_IPPROTO_TCP);
	put_tcp(&f, XDPI_TCP_ACK, 12);
	put_payload(&f, 900);
	ip_done(&f, 0);
	expect_keep(prog, "qinq tcp6", &f, 22 + 40 + 32 + PL(900), n);

	/* ICMP: no payload the parser knows; the IP packet. */
	put_eth(&f, XDPI_ETH_P_IP, 0);
	put_ipv4(&f, XDPI_IPPROTO_ICMP, 0);
	put8(&f, 8);
	put8(&f, 0);
	put_fill(&f, 62, 0x55);
	ip_done(&f, 0);
	expect_keep(prog, "icmp4 echo", &f, 14 + 84, n);

	/* A later fragment: no L4 header, up to the parsed bytes. */
	put_eth(&f, XDPI_ETH_P_IP, 0);
	put_ipv4(&f, XDPI_IPPROTO_UDP, 185);
	put_payload(&f, 1000);
	ip_done(&f, 0);
	expect_keep(prog, "udp4 later fragment", &f, 256, n);

	/* Not IP: the link-layer headers. */
	put_eth(&f, 0x0806, 0);
	put_fill(&f, 28, 0x11);
	expect_keep(prog, "arp", &f, 14, n);
	put_eth(&f, 0x0806, 1);
	put_fill(&f, 28, 0x11);
	expect_keep(prog, "vlan arp", &f, 18, n);
	put_eth(&f, 0x88cc, 0);
	put_fill(&f, 300, 0x22);
	expect_keep(prog, "lldp", &f, 14, n);

	/* Truncated: all the parser saw. */
	put_eth(&f, XDPI_ETH_P_IP, 0);
	put_ipv4(&f, XDPI_IPPROTO_UDP, 0);
	f.len = 14 + 12;
	expect_keep(prog, "ipv4 header cut", &f, 26, n);
	put_eth(&f, XDPI_ETH_P_IP, 1);
	f.len = 16;
	expect_keep(prog, "vlan tag cut", &f, 16, n);
	put_eth(&f, XDPI_ETH_P_IP, 0);
	put_ipv4(&f, XDPI_IPPROTO_UDP, 0);
	f.b[f.l3] = 0x43;      /* IHL 3 */
	put_payload(&f, 400);
	expect_keep(prog, "ipv4 bad header length", &f, 256, n);

	/* The IP length says 1000 more bytes than the frame has (a capture
	 * cut it): the payload is what there is. */
	put_eth(&f, XDPI_ETH_P_IP, 0);
	put_ipv4(&f, XDPI_IPPROTO_UDP, 0);
	put_udp(&f);
	put_payload(&f, 30);
	ip_done(&f, 1000);
	expect_keep(prog, "udp4 longer than the frame", &f, 42 + PL(30), n);
#undef PL
}

static struct xdpi_sock_bpf *load(uint32_t snippet_bytes)
{
	struct xdpi_sock_bpf *skel = xdpi_sock_bpf__open();

	if (!skel)
		return NULL;
	skel->rodata->snippet_bytes = snippet_bytes;
	if (xdpi_sock_bpf__load(skel)) {
		xdpi_sock_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

int main(void)
{
	uint32_t sizes[] = { N_SNIP, 0, 1500 };

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct xdpi_sock_bpf *skel = load(sizes[i]);

		CHECK(skel, "socket filter with snippet_bytes %u did not load (root?)", sizes[i]);
		if (!skel)
			continue;
		cases(skel->progs.xdpi_sock, sizes[i]);
		xdpi_sock_bpf__destroy(skel);
	}
	return check_summary("bpf socket filter");
}
