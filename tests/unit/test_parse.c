/* The shared packet parser (include/xdpi/parse.h) and the flow accounting
 * helpers (include/xdpi/flow.h), on frames built byte by byte. Frames sit
 * exactly at the end of their allocation with the IP header misaligned, as
 * in a capture buffer, so ASan/UBSan see every stray access. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "xdpi/abi.h"
#include "xdpi/flow.h"
#include "xdpi/parse.h"

#define FRAME_SHIFT    0
#define FRAME_TAILROOM 0

#define FRAME_MAX 2048

#define EQ(a, b) CHECK_EQ(a, b, #a)
#define ANOM(c)  XDPI_ANOM(XDPI_C_##c)
#define ANOM_ALL (((XDPI_ANOM(XDPI_ANOMALY_LAST)) << 1) - 1)

static const uint8_t ip4_a[16] = { 10, 0, 0, 1 };
static const uint8_t ip4_b[16] = { 192, 168, 7, 200 };
static const uint8_t ip6_a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };
static const uint8_t ip6_b[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				   0x12, 0x34, [15] = 0x02 };

/* ---- frame builder ---- */

struct frame {
	uint8_t b[FRAME_MAX];
	size_t n;
};

static void put(struct frame *f, const void *p, size_t n)
{
	if (f->n + n > sizeof(f->b))
		abort();
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put8(struct frame *f, uint8_t v)
{
	put(f, &v, 1);
}

static void put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	put(f, b, 2);
}

static void put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static void fill(struct frame *f, uint8_t v, size_t n)
{
	while (n--)
		put8(f, v);
}

static void set16(struct frame *f, size_t off, uint16_t v)
{
	f->b[off] = v >> 8;
	f->b[off + 1] = v & 0xff;
}

/* Destination and source MAC; the ethertype (or a tag) follows. */
static void eth_addrs(struct frame *f)
{
	static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 0x02,
					  0x02, 0, 0, 0, 0, 0x01 };

	put(f, macs, sizeof(macs));
}

static void eth(struct frame *f, uint16_t type)
{
	eth_addrs(f);
	put16(f, type);
}

static void vlan_tag(struct frame *f, uint16_t tpid, uint16_t tci)
{
	put16(f, tpid);
	put16(f, tci);
}

static void mpls(struct frame *f, uint32_t label, int bos)
{
	put32(f, label << 12 | (bos ? 0x100 : 0) | 64);
}

static void pppoe(struct frame *f, uint16_t ppp_proto)
{
	put8(f, 0x11);		/* version 1, type 1 */
	put8(f, 0x00);		/* session data */
	put16(f, 0x1234);	/* session id */
	put16(f, 0);		/* length: the parser does not use it */
	put16(f, ppp_proto);
}

/* IPv4 header with optlen bytes of NOP options; returns its offset.
 * ipv4_done() sets the total length once the rest is built. */
static size_t ipv4(struct frame *f, uint8_t proto, const uint8_t *src,
		   const uint8_t *dst, uint16_t frag, size_t optlen)
{
	size_t off = f->n;

	put8(f, 0x40 | (uint8_t)((20 + optlen) / 4));
	put8(f, 0);
	put16(f, 0);
	put16(f, 0xbeef);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put(f, src, 4);
	put(f, dst, 4);
	fill(f, 0x01, optlen);
	return off;
}

static void ipv4_done(struct frame *f, size_t off)
{
	set16(f, off + 2, f->n - off);
}

static size_t ipv6(struct frame *f, uint8_t nh, const uint8_t *src,
		   const uint8_t *dst)
{
	size_t off = f->n;

	put32(f, 0x60012345);
	put16(f, 0);
	put8(f, nh);
	put8(f, 64);
	put(f, src, 16);
	put(f, dst, 16);
	return off;
}

static void ipv6_done(struct frame *f, size_t off)
{
	set16(f, off + 4, f->n - off - 40);
}

/* Hop-by-hop, routing or destination options: (hdrlen + 1) * 8 bytes. */
static void ip6_opt(struct frame *f, uint8_t nh, uint8_t hdrlen)
{
	put8(f, nh);
	put8(f, hdrlen);
	fill(f, 0, (hdrlen + 1) * 8 - 2);
}

static void ip6_frag(struct frame *f, uint8_t nh, uint16_t off8, int more)
{
	put8(f, nh);
	put8(f, 0);
	put16(f, (uint16_t)(off8 << 3 | (more ? 1 : 0)));
	put32(f, 0xdeadbeef);
}

/* TCP header with optlen (multiple of 4) bytes of options: MSS, then NOPs. */
static void tcp(struct frame *f, uint16_t sport, uint16_t dport, uint32_t seq,
		uint8_t flags, size_t optlen)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, seq);
	put32(f, (flags & XDPI_TCP_ACK) ? 0x11223344 : 0);
	put8(f, (uint8_t)(((20 + optlen) / 4) << 4));
	put8(f, flags);
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
	if (optlen >= 4) {
		put8(f, 2);
		put8(f, 4);
		put16(f, 1460);
		optlen -= 4;
	}
	fill(f, 0x01, optlen);
}

static void udp(struct frame *f, uint16_t sport, uint16_t dport, uint16_t paylen)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, 8 + paylen);
	put16(f, 0);
}

static void sctp(struct frame *f, uint16_t sport, uint16_t dport)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 0x01020304);	/* verification tag */
	put32(f, 0);		/* checksum */
}

static void icmp(struct frame *f, uint8_t type, uint8_t code)
{
	put8(f, type);
	put8(f, code);
	put16(f, 0);
	put32(f, 0x00010001);
}

static void payload(struct frame *f, const char *s)
{
	put(f, s, strlen(s));
}

/* ---- parsing ---- */

/* Properties every parse must have, whatever the input. */
static void check_invariants(const struct xdpi_pkt *p, int rc, size_t len)
{
	CHECK(rc == XDPI_P_FLOW || rc == XDPI_P_NON_IP || rc == XDPI_P_BAD,
	      "rc %d", rc);
	CHECK(!(p->anomalies & ~(uint32_t)ANOM_ALL), "anomalies %#x", p->anomalies);
	CHECK(p->vlan == XDPI_VLAN_NONE || p->vlan < 4096, "vlan %u", p->vlan);
	if (p->payload_len)
		CHECK((uint64_t)p->payload_off + p->payload_len <= len,
		      "payload %u+%u beyond %zu", p->payload_off, p->payload_len, len);
	if (rc == XDPI_P_FLOW) {
		CHECK(p->family == 4 || p->family == 6, "family %u", p->family);
		CHECK(p->l3_off < len, "l3_off %u len %zu", p->l3_off, len);
	} else {
		CHECK(p->family == 0, "family %u without a flow", p->family);
	}
	if (p->frag == XDPI_FRAG_NONFIRST)
		CHECK(!p->sport && !p->dport && !p->payload_len,
		      "non-first fragment with L4 data");
}

/* Parses the first len bytes of f from a heap copy that ends FRAME_TAILROOM
 * bytes before its allocation does, so ASan sees reads past the frame. */
static int parse_len(const struct frame *f, size_t len, uint32_t cut,
		     struct xdpi_pkt *p)
{
	size_t size = FRAME_SHIFT + len + FRAME_TAILROOM;
	uint8_t *buf = malloc(size ? size : 1);
	uint8_t *d = buf + FRAME_SHIFT;
	int rc;

	if (!buf)
		abort();
	memcpy(d, f->b, len);
#if FRAME_TAILROOM
	memset(d + len, 0xee, FRAME_TAILROOM);
#endif
	memset(p, 0xa5, sizeof(*p)); /* the parser must set every field */
	rc = xdpi_parse(d, d + len, cut, p);
	free(buf);
	check_invariants(p, rc, len);
	return rc;
}

static int parse(const struct frame *f, struct xdpi_pkt *p)
{
	return parse_len(f, f->n, 0, p);
}

#define CHECK_ADDR(a, want) CHECK(!memcmp(a, want, 16), "%s differs", #a)

/* ---- well-formed frames ---- */

static void test_ipv4_tcp(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0x4000 /* DF */, 0);
	tcp(&f, 40000, 80, 0x01020304, XDPI_TCP_PSH | XDPI_TCP_ACK, 12);
	payload(&f, "GET / HTTP/1.1\r\n");
	ipv4_done(&f, ip);

	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.family, 4);
	EQ(p.proto, XDPI_IPPROTO_TCP);
	CHECK_ADDR(p.src, ip4_a);
	CHECK_ADDR(p.dst, ip4_b);
	EQ(p.sport, 40000);
	EQ(p.dport, 80);
	EQ(p.vlan, XDPI_VLAN_NONE);
	EQ(p.l3_off, 14);
	EQ(p.ip_len, 20 + 32 + 16);
	EQ(p.tcp_flags, XDPI_TCP_PSH | XDPI_TCP_ACK);
	EQ(p.has_tcp_flags, 1);
	EQ(p.tcp_seq, 0x01020304);
	EQ(p.payload_off, 14 + 20 + 32);
	EQ(p.payload_len, 16);
	CHECK(!memcmp(f.b + p.payload_off, "GET /", 5), "payload offset");
	EQ(p.frag, XDPI_FRAG_NONE);
	EQ(p.icmp_type, 0);
	EQ(p.icmp_code, 0);
	EQ(p.anomalies, 0);
}

static void test_tcp_options(void)
{
	static const size_t opts[] = { 0, 4, 20, 40 };

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct frame f = { 0 };
		struct xdpi_pkt p;
		size_t ip;

		eth(&f, XDPI_ETH_P_IP);
		ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 0);
		tcp(&f, 1025, 443, 7, XDPI_TCP_ACK, opts[i]);
		payload(&f, "abc");
		ipv4_done(&f, ip);

		EQ(parse(&f, &p), XDPI_P_FLOW);
		EQ(p.payload_off, 14 + 20 + 20 + opts[i]);
		EQ(p.payload_len, 3);
		EQ(p.anomalies, 0);
	}
}

static void test_ipv4_options(void)
{
	static const size_t opts[] = { 4, 8, 40 }; /* IHL 6, 7, 15 */

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct frame f = { 0 };
		struct xdpi_pkt p;
		size_t ip;

		eth(&f, XDPI_ETH_P_IP);
		ip = ipv4(&f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 0, opts[i]);
		udp(&f, 5353, 53, 10);
		payload(&f, "0123456789");
		ipv4_done(&f, ip);

		EQ(parse(&f, &p), XDPI_P_FLOW);
		EQ(p.proto, XDPI_IPPROTO_UDP);
		EQ(p.sport, 5353);
		EQ(p.dport, 53);
		EQ(p.ip_len, 20 + opts[i] + 8 + 10);
		EQ(p.payload_off, 14 + 20 + opts[i] + 8);
		EQ(p.payload_len, 10);
		CHECK_ADDR(p.src, ip4_a);
		CHECK_ADDR(p.dst, ip4_b);
		EQ(p.anomalies, 0);
	}
}

static void test_ipv6_udp(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_UDP, ip6_a, ip6_b);
	udp(&f, 5000, 53, 12);
	payload(&f, "hello world!");
	ipv6_done(&f, ip);

	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.family, 6);
	EQ(p.proto, XDPI_IPPROTO_UDP);
	CHECK_ADDR(p.src, ip6_a);
	CHECK_ADDR(p.dst, ip6_b);
	EQ(p.sport, 5000);
	EQ(p.dport, 53);
	EQ(p.l3_off, 14);
	EQ(p.ip_len, 40 + 8 + 12);
	EQ(p.payload_off, 14 + 40 + 8);
	EQ(p.payload_len, 12);
	EQ(p.has_tcp_flags, 0);
	EQ(p.tcp_flags, 0);
	EQ(p.frag, XDPI_FRAG_NONE);
	EQ(p.anomalies, 0);
}

static void test_ipv6_tcp(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_TCP, ip6_b, ip6_a);
	tcp(&f, 443, 50123, 0xfffffffe, XDPI_TCP_SYN | XDPI_TCP_ACK, 20);
	ipv6_done(&f, ip);

	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.family, 6);
	CHECK_ADDR(p.src, ip6_b);
	CHECK_ADDR(p.dst, ip6_a);
	EQ(p.sport, 443);
	EQ(p.dport, 50123);
	EQ(p.tcp_seq, 0xfffffffe);
	EQ(p.tcp_flags, XDPI_TCP_SYN | XDPI_TCP_ACK);
	EQ(p.ip_len, 80);
	EQ(p.payload_len, 0);
	EQ(p.anomalies, 0);
}

/* One UDP packet behind whatever L2 the caller has built. */
static void udp4_after_l2(struct frame *f)
{
	size_t ip = ipv4(f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 0, 0);

	udp(f, 1111, 2222, 4);
	payload(f, "data");
	ipv4_done(f, ip);
}

static void test_vlan(void)
{
	struct {
		uint16_t tpid[3], tci[3];
		int ntags;
		uint16_t want_vlan;
	} cases[] = {
		{ { XDPI_ETH_P_8021Q }, { 0x2064 }, 1, 100 },	/* prio 1, id 100 */
		{ { XDPI_ETH_P_8021Q }, { 0xefff }, 1, 0xfff },
		{ { XDPI_ETH_P_8021Q }, { 0xa000 }, 1, 0 },	/* priority tag */
		{ { XDPI_ETH_P_8021Q, XDPI_ETH_P_8021Q }, { 100, 200 }, 2, 100 },
		{ { XDPI_ETH_P_8021AD, XDPI_ETH_P_8021Q }, { 300, 10 }, 2, 300 },
		{ { XDPI_ETH_P_QINQ1, XDPI_ETH_P_8021Q }, { 7, 8 }, 2, 7 },
		{ { XDPI_ETH_P_8021AD, XDPI_ETH_P_8021AD, XDPI_ETH_P_8021Q },
		  { 1, 2, 3 }, 3, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frame f = { 0 };
		struct xdpi_pkt p;

		eth_addrs(&f);
		for (int t = 0; t < cases[i].ntags; t++)
			vlan_tag(&f, cases[i].tpid[t], cases[i].tci[t]);
		put16(&f, XDPI_ETH_P_IP);
		udp4_after_l2(&f);

		EQ(parse(&f, &p), XDPI_P_FLOW);
		EQ(p.vlan, cases[i].want_vlan);
		EQ(p.l3_off, 14 + 4 * cases[i].ntags);
		EQ(p.sport, 1111);
		EQ(p.dport, 2222);
		EQ(p.payload_len, 4);
		EQ(p.payload_off, 14 + 4 * cases[i].ntags + 28);
		EQ(p.anomalies, 0);
	}
}

static void test_vlan_depth(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;

	/* XDPI_VLAN_DEPTH tags are followed... */
	eth_addrs(&f);
	for (int t = 0; t < XDPI_VLAN_DEPTH; t++)
		vlan_tag(&f, XDPI_ETH_P_8021Q, 10 + t);
	put16(&f, XDPI_ETH_P_IPV6);
	{
		size_t ip = ipv6(&f, XDPI_IPPROTO_UDP, ip6_a, ip6_b);

		udp(&f, 1, 2, 0);
		ipv6_done(&f, ip);
	}
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.vlan, 10);
	EQ(p.l3_off, 14 + 4 * XDPI_VLAN_DEPTH);
	EQ(p.sport, 1);

	/* ...one more is not, and the frame counts as non-IP. */
	memset(&f, 0, sizeof(f));
	eth_addrs(&f);
	for (int t = 0; t <= XDPI_VLAN_DEPTH; t++)
		vlan_tag(&f, XDPI_ETH_P_8021Q, 10 + t);
	put16(&f, XDPI_ETH_P_IP);
	udp4_after_l2(&f);
	EQ(parse(&f, &p), XDPI_P_NON_IP);
	EQ(p.anomalies, 0);
}

static void test_mpls(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_MPLS_UC);
	mpls(&f, 100, 0);
	mpls(&f, 200, 0);
	mpls(&f, 300, 1);
	udp4_after_l2(&f);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.family, 4);
	EQ(p.l3_off, 14 + 12);
	EQ(p.vlan, XDPI_VLAN_NONE);
	EQ(p.sport, 1111);
	EQ(p.dport, 2222);
	EQ(p.payload_off, 14 + 12 + 28);
	EQ(p.anomalies, 0);

	/* Multicast MPLS inside a VLAN, carrying IPv6/TCP. */
	memset(&f, 0, sizeof(f));
	eth_addrs(&f);
	vlan_tag(&f, XDPI_ETH_P_8021Q, 42);
	put16(&f, XDPI_ETH_P_MPLS_MC);
	mpls(&f, 16, 1);
	ip = ipv6(&f, XDPI_IPPROTO_TCP, ip6_a, ip6_b);
	tcp(&f, 179, 33000, 1, XDPI_TCP_ACK, 0);
	payload(&f, "bgp");
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.family, 6);
	EQ(p.vlan, 42);
	EQ(p.l3_off, 14 + 4 + 4);
	EQ(p.sport, 179);
	EQ(p.payload_len, 3);
	EQ(p.anomalies, 0);

	/* A pseudowire control word (first nibble 0) is no IP. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_MPLS_UC);
	mpls(&f, 100, 1);
	put32(&f, 0);
	eth(&f, XDPI_ETH_P_IP);
	EQ(parse(&f, &p), XDPI_P_NON_IP);
	EQ(p.anomalies, 0);

	/* Label stack cut in the middle of a label. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_MPLS_UC);
	mpls(&f, 100, 0);
	put16(&f, 0x0c8);
	EQ(parse(&f, &p), XDPI_P_BAD);
	EQ(p.anomalies, ANOM(TRUNC_L2));
}

static void test_pppoe(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_PPP_SES);
	pppoe(&f, XDPI_PPP_IP);
	udp4_after_l2(&f);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.family, 4);
	EQ(p.l3_off, 14 + 8);
	EQ(p.sport, 1111);
	EQ(p.dport, 2222);
	EQ(p.payload_off, 14 + 8 + 28);
	EQ(p.payload_len, 4);
	EQ(p.anomalies, 0);

	memset(&f, 0, sizeof(f));
	eth_addrs(&f);
	vlan_tag(&f, XDPI_ETH_P_8021Q, 35);
	put16(&f, XDPI_ETH_P_PPP_SES);
	pppoe(&f, XDPI_PPP_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_TCP, ip6_a, ip6_b);
	tcp(&f, 22, 60000, 99, XDPI_TCP_ACK | XDPI_TCP_PSH, 0);
	payload(&f, "SSH-2.0-");
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.family, 6);
	EQ(p.vlan, 35);
	EQ(p.l3_off, 14 + 4 + 8);
	CHECK_ADDR(p.src, ip6_a);
	EQ(p.sport, 22);
	EQ(p.dport, 60000);
	EQ(p.payload_len, 8);
	EQ(p.anomalies, 0);

	/* LCP is no IP. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_PPP_SES);
	pppoe(&f, 0xc021);
	fill(&f, 0, 20);
	EQ(parse(&f, &p), XDPI_P_NON_IP);
	EQ(p.anomalies, 0);

	/* PPPoE header without the PPP protocol field. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_PPP_SES);
	put32(&f, 0x11001234);
	put16(&f, 0);
	EQ(parse(&f, &p), XDPI_P_BAD);
	EQ(p.anomalies, ANOM(TRUNC_L2));
}

static void test_non_ip(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;

	/* ARP request, padded to the Ethernet minimum. */
	eth(&f, 0x0806);
	put16(&f, 1);
	put16(&f, XDPI_ETH_P_IP);
	put8(&f, 6);
	put8(&f, 4);
	put16(&f, 1);
	fill(&f, 0x02, 6);
	put(&f, ip4_a, 4);
	fill(&f, 0, 6);
	put(&f, ip4_b, 4);
	fill(&f, 0, 18);
	EQ(f.n, 60);
	EQ(parse(&f, &p), XDPI_P_NON_IP);
	EQ(p.anomalies, 0);
	EQ(p.vlan, XDPI_VLAN_NONE);
	EQ(p.family, 0);
	EQ(p.payload_len, 0);

	/* LLDP inside a VLAN: the tag is still reported. */
	memset(&f, 0, sizeof(f));
	eth_addrs(&f);
	vlan_tag(&f, XDPI_ETH_P_8021Q, 5);
	put16(&f, 0x88cc);
	fill(&f, 0, 30);
	EQ(parse(&f, &p), XDPI_P_NON_IP);
	EQ(p.vlan, 5);
	EQ(p.anomalies, 0);

	/* Ethernet header and nothing else. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0806);
	EQ(parse(&f, &p), XDPI_P_NON_IP);
	EQ(p.anomalies, 0);
}

static void test_eth_padding(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	/* Bare SYN: 54 bytes, padded to 60. */
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 0);
	tcp(&f, 1234, 80, 1, XDPI_TCP_SYN, 0);
	ipv4_done(&f, ip);
	fill(&f, 0x55, 6);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.ip_len, 40);
	EQ(p.payload_len, 0);
	EQ(p.anomalies, 0);

	/* Two bytes of UDP payload, padded to 60: the padding is no payload. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 0, 0);
	udp(&f, 1, 2, 2);
	payload(&f, "hi");
	ipv4_done(&f, ip);
	fill(&f, 0x55, 60 - f.n);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.ip_len, 30);
	EQ(p.payload_off, 42);
	EQ(p.payload_len, 2);
	EQ(p.anomalies, 0);

	/* IPv6 with a trailer (e.g. an FCS) after the payload. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_UDP, ip6_a, ip6_b);
	udp(&f, 1, 2, 4);
	payload(&f, "abcd");
	ipv6_done(&f, ip);
	put32(&f, 0xcafebabe);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.ip_len, 52);
	EQ(p.payload_len, 4);
	EQ(p.anomalies, 0);

	/* Padding that would be a TCP header if the IP length were ignored. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 0);
	ipv4_done(&f, ip);
	tcp(&f, 1234, 80, 1, XDPI_TCP_SYN, 0);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.ip_len, 20);
	EQ(p.sport, 0);
	EQ(p.dport, 0);
	EQ(p.has_tcp_flags, 0);
	EQ(p.anomalies, ANOM(TRUNC_L4));
}

static void test_ipv4_fragments(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	/* First fragment: offset 0, MF. */
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 0x2000, 0);
	udp(&f, 53, 40000, 1000);
	fill(&f, 'x', 32);
	ipv4_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.frag, XDPI_FRAG_FIRST);
	EQ(p.sport, 53);
	EQ(p.dport, 40000);
	EQ(p.payload_len, 32);
	EQ(p.anomalies, 0);

	/* Last fragment: offset 185 (1480 bytes), no MF; its first bytes
	 * look like a UDP header but are not one. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 185, 0);
	udp(&f, 7777, 8888, 20);
	fill(&f, 'y', 20);
	ipv4_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.frag, XDPI_FRAG_NONFIRST);
	EQ(p.proto, XDPI_IPPROTO_UDP);
	EQ(p.sport, 0);
	EQ(p.dport, 0);
	EQ(p.payload_len, 0);
	EQ(p.ip_len, 48);
	CHECK_ADDR(p.src, ip4_a);
	EQ(p.anomalies, 0);

	/* Middle fragment of TCP, DF and MF set: no flags either. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0x6000 | 1, 0);
	tcp(&f, 1, 2, 3, 0, 0);
	ipv4_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.frag, XDPI_FRAG_NONFIRST);
	EQ(p.has_tcp_flags, 0);
	EQ(p.sport, 0);
	EQ(p.anomalies, 0); /* no TCP_NULL: there is no TCP header */

	/* DF alone is no fragment. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 0x4000, 0);
	udp(&f, 3, 4, 0);
	ipv4_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.frag, XDPI_FRAG_NONE);
	EQ(p.sport, 3);
}

static void test_ipv6_ext_chain(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_HOPOPTS, ip6_a, ip6_b);
	ip6_opt(&f, XDPI_IPPROTO_ROUTING, 0);	/*  8 bytes */
	ip6_opt(&f, XDPI_IPPROTO_DSTOPTS, 2);	/* 24: type 0, one address */
	ip6_opt(&f, XDPI_IPPROTO_TCP, 1);	/* 16 */
	tcp(&f, 8080, 51000, 5, XDPI_TCP_ACK, 12);
	payload(&f, "HTTP/1.1 200 OK");
	ipv6_done(&f, ip);

	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.family, 6);
	EQ(p.proto, XDPI_IPPROTO_TCP);
	EQ(p.sport, 8080);
	EQ(p.dport, 51000);
	EQ(p.ip_len, 40 + 48 + 32 + 15);
	EQ(p.payload_off, 14 + 40 + 48 + 32);
	EQ(p.payload_len, 15);
	EQ(p.frag, XDPI_FRAG_NONE);
	EQ(p.anomalies, 0);

	/* Destination options then ICMPv6. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_DSTOPTS, ip6_a, ip6_b);
	ip6_opt(&f, XDPI_IPPROTO_ICMPV6, 0);
	icmp(&f, 128, 0);
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.proto, XDPI_IPPROTO_ICMPV6);
	EQ(p.icmp_type, 128);
	EQ(p.icmp_code, 0);
	EQ(p.sport, 0);
	EQ(p.anomalies, 0);
}

static void test_ipv6_fragments(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	/* First fragment. */
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_FRAGMENT, ip6_a, ip6_b);
	ip6_frag(&f, XDPI_IPPROTO_UDP, 0, 1);
	udp(&f, 4500, 4501, 100);
	fill(&f, 'q', 40);
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.frag, XDPI_FRAG_FIRST);
	EQ(p.proto, XDPI_IPPROTO_UDP);
	EQ(p.sport, 4500);
	EQ(p.dport, 4501);
	EQ(p.payload_off, 14 + 40 + 8 + 8);
	EQ(p.payload_len, 40);
	EQ(p.anomalies, 0);

	/* Non-first fragments, with and without M, after a hop-by-hop. */
	for (int more = 0; more <= 1; more++) {
		memset(&f, 0, sizeof(f));
		eth(&f, XDPI_ETH_P_IPV6);
		ip = ipv6(&f, XDPI_IPPROTO_HOPOPTS, ip6_a, ip6_b);
		ip6_opt(&f, XDPI_IPPROTO_FRAGMENT, 0);
		ip6_frag(&f, XDPI_IPPROTO_TCP, 181, more);
		tcp(&f, 1, 2, 3, XDPI_TCP_SYN | XDPI_TCP_FIN, 0);
		ipv6_done(&f, ip);
		EQ(parse(&f, &p), XDPI_P_FLOW);
		EQ(p.frag, XDPI_FRAG_NONFIRST);
		EQ(p.proto, XDPI_IPPROTO_TCP);
		EQ(p.sport, 0);
		EQ(p.dport, 0);
		EQ(p.has_tcp_flags, 0);
		EQ(p.payload_len, 0);
		EQ(p.anomalies, 0);
	}

	/* Atomic fragment (offset 0, no M): a whole packet, no fragment. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_FRAGMENT, ip6_a, ip6_b);
	ip6_frag(&f, XDPI_IPPROTO_TCP, 0, 0);
	tcp(&f, 80, 50000, 3, XDPI_TCP_ACK, 0);
	payload(&f, "x");
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.frag, XDPI_FRAG_NONE);
	EQ(p.sport, 80);
	EQ(p.dport, 50000);
	EQ(p.payload_len, 1);
	EQ(p.anomalies, 0);
}

static void test_ipv6_ext_limit(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;
	int i;

	/* Exactly XDPI_IPV6_EXT_MAX headers are followed. */
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_DSTOPTS, ip6_a, ip6_b);
	for (i = 0; i < XDPI_IPV6_EXT_MAX; i++)
		ip6_opt(&f, i == XDPI_IPV6_EXT_MAX - 1 ? XDPI_IPPROTO_TCP :
			XDPI_IPPROTO_DSTOPTS, 0);
	tcp(&f, 10, 20, 30, XDPI_TCP_ACK, 0);
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.proto, XDPI_IPPROTO_TCP);
	EQ(p.sport, 10);
	EQ(p.anomalies, 0);

	/* One more is not: keyed on the last header followed, no ports. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_DSTOPTS, ip6_a, ip6_b);
	for (i = 0; i <= XDPI_IPV6_EXT_MAX; i++)
		ip6_opt(&f, i == XDPI_IPV6_EXT_MAX ? XDPI_IPPROTO_TCP :
			XDPI_IPPROTO_DSTOPTS, 0);
	tcp(&f, 10, 20, 30, XDPI_TCP_ACK, 0);
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.proto, XDPI_IPPROTO_DSTOPTS);
	EQ(p.sport, 0);
	EQ(p.dport, 0);
	EQ(p.has_tcp_flags, 0);
	EQ(p.anomalies, ANOM(IPV6_EXT_LIMIT));

	/* A long but valid header (488 bytes) still leads to the ports. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_HOPOPTS, ip6_a, ip6_b);
	ip6_opt(&f, XDPI_IPPROTO_UDP, 60);
	udp(&f, 1, 2, 0);
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.sport, 1);
	EQ(p.dport, 2);
	EQ(p.anomalies, 0);
}

/* ---- malformed frames ---- */

static void test_trunc_l2(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;

	eth(&f, XDPI_ETH_P_IP);
	for (size_t len = 0; len < 14; len++) {
		EQ(parse_len(&f, len, 0, &p), XDPI_P_BAD);
		EQ(p.anomalies, ANOM(TRUNC_L2));
		EQ(p.vlan, XDPI_VLAN_NONE);
	}

	/* VLAN and 802.1ad tags cut short. */
	static const uint16_t tpids[] = { XDPI_ETH_P_8021Q, XDPI_ETH_P_8021AD,
					  XDPI_ETH_P_QINQ1 };
	for (size_t i = 0; i < 3; i++) {
		memset(&f, 0, sizeof(f));
		eth_addrs(&f);
		vlan_tag(&f, tpids[i], 100);
		vlan_tag(&f, XDPI_ETH_P_8021Q, 200);
		for (size_t len = 14; len < 18; len++) {
			EQ(parse_len(&f, len, 0, &p), XDPI_P_BAD);
			EQ(p.anomalies, ANOM(TRUNC_L2));
		}
		/* Outer tag complete, inner one cut. */
		EQ(parse_len(&f, 20, 0, &p), XDPI_P_BAD);
		EQ(p.anomalies, ANOM(TRUNC_L2));
	}
}

static void test_trunc_ipv4(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 0);
	tcp(&f, 1, 2, 3, XDPI_TCP_ACK, 0);
	ipv4_done(&f, ip);
	for (size_t len = 14; len < 34; len++) {
		EQ(parse_len(&f, len, 1000, &p), XDPI_P_BAD);
		EQ(p.anomalies, ANOM(TRUNC_L3));
	}

	/* IHL 6 with only the fixed 20 bytes present. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 4);
	ipv4_done(&f, ip);
	EQ(parse_len(&f, 14 + 20, 0, &p), XDPI_P_BAD);
	EQ(p.anomalies, ANOM(TRUNC_L3));
	EQ(parse_len(&f, 14 + 23, 0, &p), XDPI_P_BAD);
	EQ(p.anomalies, ANOM(TRUNC_L3));
}

static void test_bad_ihl(void)
{
	for (uint8_t vi = 0x40; vi < 0x45; vi++) {
		struct frame f = { 0 };
		struct xdpi_pkt p;
		size_t ip;

		eth(&f, XDPI_ETH_P_IP);
		ip = ipv4(&f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 0, 0);
		udp(&f, 1, 2, 0);
		ipv4_done(&f, ip);
		f.b[ip] = vi;
		EQ(parse(&f, &p), XDPI_P_BAD);
		EQ(p.anomalies, ANOM(BAD_IHL));
	}

	/* Version 6 behind the IPv4 ethertype, version 4 behind IPv6's. */
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 0, 0);
	udp(&f, 1, 2, 0);
	ipv4_done(&f, ip);
	f.b[ip] = 0x65;
	EQ(parse(&f, &p), XDPI_P_BAD);
	EQ(p.anomalies, ANOM(BAD_IHL));

	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_UDP, ip6_a, ip6_b);
	udp(&f, 1, 2, 0);
	ipv6_done(&f, ip);
	f.b[ip] = 0x45;
	EQ(parse(&f, &p), XDPI_P_BAD);
	EQ(p.anomalies, ANOM(BAD_IHL));
}

static void test_bad_ip_len(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	/* Total length shorter than the header. */
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 0, 4);
	udp(&f, 1, 2, 0);
	set16(&f, ip + 2, 19);
	EQ(parse(&f, &p), XDPI_P_BAD);
	EQ(p.anomalies, ANOM(BAD_IP_LEN));
	set16(&f, ip + 2, 23); /* IHL 6: 24 bytes of header */
	EQ(parse(&f, &p), XDPI_P_BAD);
	EQ(p.anomalies, ANOM(BAD_IP_LEN));
	set16(&f, ip + 2, 24); /* header only: fine, no L4 */
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.ip_len, 24);
	EQ(p.anomalies, ANOM(TRUNC_L4));

	/* Total length 0 (segmentation offload): the length present plus
	 * what the snap length cut counts. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 0);
	tcp(&f, 5001, 34000, 77, XDPI_TCP_ACK, 0);
	payload(&f, "0123456789");
	EQ(parse_len(&f, f.n, 100, &p), XDPI_P_FLOW);
	EQ(p.anomalies, ANOM(BAD_IP_LEN));
	EQ(p.ip_len, 50 + 100);
	EQ(p.sport, 5001);
	EQ(p.dport, 34000);
	EQ(p.payload_off, 54);
	EQ(p.payload_len, 10);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.ip_len, 50);

	/* Total length beyond the frame: flagged, unless the snap length
	 * explains the missing bytes. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 0);
	tcp(&f, 5001, 34000, 77, XDPI_TCP_ACK, 0);
	fill(&f, 'z', 100);
	ipv4_done(&f, ip);
	{
		const size_t caplen = 14 + 60; /* 20 bytes of payload kept */
		const uint32_t missing = f.n - caplen;
		const uint32_t cuts[] = { 0, missing - 1, missing, missing + 1000 };
		const uint32_t want[] = { ANOM(BAD_IP_LEN), ANOM(BAD_IP_LEN), 0, 0 };

		for (int i = 0; i < 4; i++) {
			EQ(parse_len(&f, caplen, cuts[i], &p), XDPI_P_FLOW);
			EQ(p.anomalies, want[i]);
			EQ(p.ip_len, 140);
			EQ(p.sport, 5001);
			EQ(p.tcp_seq, 77);
			EQ(p.payload_off, 54);
			EQ(p.payload_len, 20);
		}
	}

	/* The same for IPv6's payload length. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_UDP, ip6_a, ip6_b);
	udp(&f, 1000, 2000, 200);
	fill(&f, 'w', 200);
	ipv6_done(&f, ip);
	EQ(parse_len(&f, 14 + 40 + 8 + 50, 0, &p), XDPI_P_FLOW);
	EQ(p.anomalies, ANOM(BAD_IP_LEN));
	EQ(p.ip_len, 248);
	EQ(p.sport, 1000);
	EQ(p.payload_len, 50);
	EQ(parse_len(&f, 14 + 40 + 8 + 50, 150, &p), XDPI_P_FLOW);
	EQ(p.anomalies, 0);
	EQ(p.ip_len, 248);
}

static void test_trunc_ipv6(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_UDP, ip6_a, ip6_b);
	udp(&f, 1, 2, 0);
	ipv6_done(&f, ip);
	for (size_t len = 14; len < 54; len++) {
		EQ(parse_len(&f, len, 100, &p), XDPI_P_BAD);
		EQ(p.anomalies, ANOM(TRUNC_L3));
	}

	/* Extension headers cut short: keyed on the header, no ports. */
	struct {
		uint8_t nh;
		size_t keep; /* bytes of the extension header present */
	} cases[] = {
		{ XDPI_IPPROTO_HOPOPTS, 0 },
		{ XDPI_IPPROTO_HOPOPTS, 1 },
		{ XDPI_IPPROTO_ROUTING, 8 },	/* of 24 */
		{ XDPI_IPPROTO_DSTOPTS, 23 },
		{ XDPI_IPPROTO_FRAGMENT, 6 },	/* of 8 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&f, 0, sizeof(f));
		eth(&f, XDPI_ETH_P_IPV6);
		ip = ipv6(&f, cases[i].nh, ip6_a, ip6_b);
		if (cases[i].nh == XDPI_IPPROTO_FRAGMENT)
			ip6_frag(&f, XDPI_IPPROTO_UDP, 0, 1);
		else
			ip6_opt(&f, XDPI_IPPROTO_UDP, 2);
		udp(&f, 1, 2, 0);
		ipv6_done(&f, ip);
		EQ(parse_len(&f, 54 + cases[i].keep, 0, &p), XDPI_P_FLOW);
		EQ(p.family, 6);
		EQ(p.proto, cases[i].nh);
		CHECK_ADDR(p.src, ip6_a);
		CHECK_ADDR(p.dst, ip6_b);
		EQ(p.sport, 0);
		EQ(p.dport, 0);
		EQ(p.payload_len, 0);
		EQ(p.anomalies, ANOM(TRUNC_L3) | ANOM(BAD_IP_LEN));
		/* With the snap length accounted for, only the truncation. */
		EQ(parse_len(&f, 54 + cases[i].keep, f.n - 54 - cases[i].keep, &p),
		   XDPI_P_FLOW);
		EQ(p.anomalies, ANOM(TRUNC_L3));
	}
}

/* IPv6 payload length 0 and extension headers against the payload length. */
static void test_ipv6_len(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	/* Length 0 behind a hop-by-hop header: a jumbogram, all data counts. */
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_HOPOPTS, ip6_a, ip6_b);
	put8(&f, XDPI_IPPROTO_UDP);
	put8(&f, 0);
	put8(&f, 0xc2);		/* jumbo payload option */
	put8(&f, 4);
	put32(&f, 8 + 8 + 20);
	udp(&f, 3000, 4000, 0);
	payload(&f, "jumbo-jumbo-jumbo-ju");
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.ip_len, 40);
	EQ(p.proto, XDPI_IPPROTO_UDP);
	EQ(p.sport, 3000);
	EQ(p.dport, 4000);
	EQ(p.payload_off, 14 + 40 + 8 + 8);
	EQ(p.payload_len, 20);
	EQ(p.anomalies, 0);

	/* Length 0 straight into TCP (an offloaded segment): flagged, but the
	 * L4 header and payload are still read. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_TCP, ip6_a, ip6_b);
	tcp(&f, 443, 55555, 9, XDPI_TCP_ACK, 0);
	payload(&f, "segment");
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.anomalies, ANOM(BAD_IP_LEN));
	EQ(p.sport, 443);
	EQ(p.payload_len, 7);

	/* Length 0 and nothing after the header: an empty packet. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, 59 /* no next header */, ip6_a, ip6_b);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.ip_len, 40);
	EQ(p.proto, 59);
	EQ(p.anomalies, 0);

	/* An extension header longer than the payload length, padding behind
	 * it: cut short by the IP length, not by the frame. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_DSTOPTS, ip6_a, ip6_b);
	ip6_opt(&f, XDPI_IPPROTO_UDP, 1);	/* 16 bytes */
	udp(&f, 1, 2, 0);
	set16(&f, ip + 4, 8);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.ip_len, 48);
	EQ(p.proto, XDPI_IPPROTO_DSTOPTS);
	EQ(p.sport, 0);
	EQ(p.anomalies, ANOM(TRUNC_L3));

	/* A fragment header beyond the payload length. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_FRAGMENT, ip6_a, ip6_b);
	ip6_frag(&f, XDPI_IPPROTO_UDP, 0, 1);
	udp(&f, 1, 2, 0);
	set16(&f, ip + 4, 4);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.proto, XDPI_IPPROTO_FRAGMENT);
	EQ(p.frag, XDPI_FRAG_NONE);
	EQ(p.anomalies, ANOM(TRUNC_L3));
}

static void test_trunc_tcp(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 0);
	tcp(&f, 40001, 443, 0x0a0b0c0d, XDPI_TCP_SYN, 0);
	ipv4_done(&f, ip);

	/* 3 bytes: nothing usable. */
	EQ(parse_len(&f, 34 + 3, 17, &p), XDPI_P_FLOW);
	EQ(p.sport, 0);
	EQ(p.anomalies, ANOM(TRUNC_L4));

	/* 4 bytes: the ports. */
	EQ(parse_len(&f, 34 + 4, 16, &p), XDPI_P_FLOW);
	EQ(p.sport, 40001);
	EQ(p.dport, 443);
	EQ(p.has_tcp_flags, 0);
	EQ(p.tcp_flags, 0);
	EQ(p.anomalies, ANOM(TRUNC_L4)); /* and no TCP_NULL */

	/* 14 bytes: the flags too, but not the whole header. */
	EQ(parse_len(&f, 34 + 14, 6, &p), XDPI_P_FLOW);
	EQ(p.sport, 40001);
	EQ(p.has_tcp_flags, 1);
	EQ(p.tcp_flags, XDPI_TCP_SYN);
	EQ(p.payload_len, 0);
	EQ(p.anomalies, ANOM(TRUNC_L4));

	/* The IP length ends the segment early, inside a complete frame. */
	set16(&f, ip + 2, 20 + 13);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.sport, 40001);
	EQ(p.has_tcp_flags, 0);
	EQ(p.anomalies, ANOM(TRUNC_L4));
}

static void test_bad_tcp_doff(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip, th;

	/* Data offset below 5. */
	for (uint8_t doff = 0; doff < 5; doff++) {
		memset(&f, 0, sizeof(f));
		eth(&f, XDPI_ETH_P_IP);
		ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 0);
		th = f.n;
		tcp(&f, 1, 2, 3, XDPI_TCP_ACK, 0);
		payload(&f, "payload");
		ipv4_done(&f, ip);
		f.b[th + 12] = (uint8_t)(doff << 4);
		EQ(parse(&f, &p), XDPI_P_FLOW);
		EQ(p.sport, 1);
		EQ(p.has_tcp_flags, 1);
		EQ(p.tcp_seq, 3);
		EQ(p.payload_len, 0);
		EQ(p.anomalies, ANOM(BAD_TCP_DOFF));
	}

	/* Data offset past the end of the IP payload. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 0);
	th = f.n;
	tcp(&f, 1, 2, 3, XDPI_TCP_ACK, 0);
	payload(&f, "0123456789");
	ipv4_done(&f, ip);
	f.b[th + 12] = 15 << 4; /* 60 bytes; 30 are there */
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.sport, 1);
	EQ(p.payload_len, 0);
	EQ(p.anomalies, ANOM(BAD_TCP_DOFF));

	/* The same past the IP length, with padding making up the bytes. */
	set16(&f, ip + 2, 20 + 24);
	f.b[th + 12] = 7 << 4;
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.anomalies, ANOM(BAD_TCP_DOFF));

	/* Options cut off by the snap length, the IP length covering them:
	 * no payload, flow kept. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 0);
	tcp(&f, 1, 2, 3, XDPI_TCP_SYN, 20);
	ipv4_done(&f, ip);
	EQ(parse_len(&f, 14 + 20 + 30, 10, &p), XDPI_P_FLOW);
	EQ(p.sport, 1);
	EQ(p.tcp_flags, XDPI_TCP_SYN);
	EQ(p.payload_len, 0);
	/* The header is complete by the IP length: truncation, not a bad
	 * data offset. */
	EQ(p.anomalies, ANOM(TRUNC_L4));
}

static void test_udp_sctp_icmp(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	/* UDP shorter than its header. */
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 0, 0);
	udp(&f, 123, 124, 0);
	f.n -= 2;
	ipv4_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.sport, 123);
	EQ(p.dport, 124);
	EQ(p.payload_len, 0);
	EQ(p.anomalies, ANOM(TRUNC_L4));
	f.n -= 3;
	ipv4_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.sport, 0);
	EQ(p.anomalies, ANOM(TRUNC_L4));

	/* UDP header only: no payload, no anomaly. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 0, 0);
	udp(&f, 67, 68, 0);
	ipv4_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.sport, 67);
	EQ(p.payload_len, 0);
	EQ(p.anomalies, 0);

	/* UDP-Lite keys like UDP. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_UDPLITE, ip6_a, ip6_b);
	udp(&f, 9000, 9001, 3);
	payload(&f, "lit");
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.proto, XDPI_IPPROTO_UDPLITE);
	EQ(p.sport, 9000);
	EQ(p.payload_len, 3);

	/* SCTP: ports, no payload. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_SCTP, ip4_a, ip4_b, 0, 0);
	sctp(&f, 36412, 2905);
	fill(&f, 0, 16); /* a chunk */
	ipv4_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.proto, XDPI_IPPROTO_SCTP);
	EQ(p.sport, 36412);
	EQ(p.dport, 2905);
	EQ(p.payload_len, 0);
	EQ(p.anomalies, 0);
	f.n = 14 + 20 + 3;
	ipv4_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.sport, 0);
	EQ(p.anomalies, ANOM(TRUNC_L4));

	/* ICMP types and codes; no ports. */
	static const uint8_t tc[][2] = { { 8, 0 }, { 0, 0 }, { 3, 1 }, { 11, 0 } };
	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		memset(&f, 0, sizeof(f));
		eth(&f, XDPI_ETH_P_IP);
		ip = ipv4(&f, XDPI_IPPROTO_ICMP, ip4_a, ip4_b, 0, 0);
		icmp(&f, tc[i][0], tc[i][1]);
		fill(&f, 0xab, 16);
		ipv4_done(&f, ip);
		EQ(parse(&f, &p), XDPI_P_FLOW);
		EQ(p.proto, XDPI_IPPROTO_ICMP);
		EQ(p.icmp_type, tc[i][0]);
		EQ(p.icmp_code, tc[i][1]);
		EQ(p.sport, 0);
		EQ(p.dport, 0);
		EQ(p.payload_len, 0);
		EQ(p.anomalies, 0);
	}

	/* ICMPv6 neighbour solicitation; then a 3-byte ICMPv6 message. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_ICMPV6, ip6_a, ip6_b);
	icmp(&f, 135, 0);
	put(&f, ip6_b, 16);
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.icmp_type, 135);
	EQ(p.icmp_code, 0);
	EQ(p.anomalies, 0);
	f.n = 14 + 40 + 3;
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.icmp_type, 0);
	EQ(p.anomalies, ANOM(TRUNC_L4));

	/* A protocol without ports (GRE) is keyed on addresses alone. */
	memset(&f, 0, sizeof(f));
	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, 47, ip4_a, ip4_b, 0, 0);
	put32(&f, 0x00000800);
	ipv4_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	EQ(p.proto, 47);
	EQ(p.sport, 0);
	EQ(p.payload_len, 0);
	EQ(p.anomalies, 0);
}

static void test_tcp_flag_anomalies(void)
{
	static const struct {
		uint8_t flags;
		uint32_t want;
	} cases[] = {
		{ 0, ANOM(TCP_NULL) },
		{ XDPI_TCP_FIN | XDPI_TCP_PSH | XDPI_TCP_URG,
		  ANOM(TCP_XMAS) | ANOM(TCP_FIN_NO_ACK) },
		{ XDPI_TCP_FIN | XDPI_TCP_PSH | XDPI_TCP_URG | XDPI_TCP_ACK,
		  ANOM(TCP_XMAS) },
		{ 0xff, ANOM(TCP_XMAS) | ANOM(TCP_SYN_FIN) | ANOM(TCP_SYN_RST) },
		{ XDPI_TCP_SYN | XDPI_TCP_FIN,
		  ANOM(TCP_SYN_FIN) | ANOM(TCP_FIN_NO_ACK) },
		{ XDPI_TCP_SYN | XDPI_TCP_FIN | XDPI_TCP_ACK, ANOM(TCP_SYN_FIN) },
		{ XDPI_TCP_SYN | XDPI_TCP_RST, ANOM(TCP_SYN_RST) },
		{ XDPI_TCP_FIN, ANOM(TCP_FIN_NO_ACK) },
		{ XDPI_TCP_FIN | XDPI_TCP_PSH, ANOM(TCP_FIN_NO_ACK) },
		/* Ordinary segments raise nothing. */
		{ XDPI_TCP_SYN, 0 },
		{ XDPI_TCP_SYN | XDPI_TCP_ACK, 0 },
		{ XDPI_TCP_ACK, 0 },
		{ XDPI_TCP_PSH | XDPI_TCP_ACK, 0 },
		{ XDPI_TCP_FIN | XDPI_TCP_ACK, 0 },
		{ XDPI_TCP_RST, 0 },
		{ XDPI_TCP_RST | XDPI_TCP_ACK, 0 },
		{ 0xc2 /* SYN with ECE and CWR */, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frame f = { 0 };
		struct xdpi_pkt p;
		size_t ip;

		eth(&f, XDPI_ETH_P_IP);
		ip = ipv4(&f, XDPI_IPPROTO_TCP, ip4_a, ip4_b, 0, 0);
		tcp(&f, 31337, 22, 1, cases[i].flags, 0);
		ipv4_done(&f, ip);
		EQ(parse(&f, &p), XDPI_P_FLOW);
		EQ(p.tcp_flags, cases[i].flags);
		EQ(p.has_tcp_flags, 1);
		CHECK(p.anomalies == cases[i].want, "flags %#x: anomalies %#x, want %#x",
		      cases[i].flags, p.anomalies, cases[i].want);
	}
}

/* ---- flow key and value ---- */

static void tcp4_packet(struct xdpi_pkt *p, const uint8_t *src, uint16_t sport,
			const uint8_t *dst, uint16_t dport, uint8_t flags,
			const char *data)
{
	struct frame f = { 0 };
	size_t ip;

	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_TCP, src, dst, 0, 0);
	tcp(&f, sport, dport, 1000, flags, 0);
	payload(&f, data);
	ipv4_done(&f, ip);
	EQ(parse(&f, p), XDPI_P_FLOW);
}

static void udp6_packet(struct xdpi_pkt *p, const uint8_t *src, uint16_t sport,
			const uint8_t *dst, uint16_t dport, uint16_t vlan)
{
	struct frame f = { 0 };
	size_t ip;

	eth_addrs(&f);
	if (vlan != XDPI_VLAN_NONE)
		vlan_tag(&f, XDPI_ETH_P_8021Q, vlan);
	put16(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_UDP, src, dst);
	udp(&f, sport, dport, 0);
	ipv6_done(&f, ip);
	EQ(parse(&f, p), XDPI_P_FLOW);
}

static void test_flow_key(void)
{
	struct xdpi_flow_key k1, k2;
	struct xdpi_pkt p1, p2;
	uint8_t d1, d2;

	/* Both directions of one IPv4 TCP conversation. */
	tcp4_packet(&p1, ip4_b, 443, ip4_a, 50000, XDPI_TCP_ACK, "");
	tcp4_packet(&p2, ip4_a, 50000, ip4_b, 443, XDPI_TCP_ACK, "");
	memset(&k1, 0x5a, sizeof(k1));
	memset(&k2, 0xa5, sizeof(k2));
	d1 = xdpi_flow_key_from_pkt(&p1, &k1);
	d2 = xdpi_flow_key_from_pkt(&p2, &k2);
	CHECK(!memcmp(&k1, &k2, sizeof(k1)), "ipv4 keys differ by direction");
	CHECK(d1 != d2, "same direction both ways");
	CHECK(d1 <= XDPI_DIR_HI_LO && d2 <= XDPI_DIR_HI_LO, "dir %u %u", d1, d2);
	EQ(k1.family, 4);
	EQ(k1.proto, XDPI_IPPROTO_TCP);
	EQ(k1.vlan, XDPI_VLAN_NONE);
	/* The key's lo endpoint is the source of the LO_HI packet. */
	{
		const struct xdpi_pkt *lohi = d1 == XDPI_DIR_LO_HI ? &p1 : &p2;

		CHECK(!memcmp(k1.lo_addr, lohi->src, 16), "lo address");
		CHECK(!memcmp(k1.hi_addr, lohi->dst, 16), "hi address");
		EQ(k1.lo_port, lohi->sport);
		EQ(k1.hi_port, lohi->dport);
	}

	/* IPv6 in a VLAN. */
	udp6_packet(&p1, ip6_a, 5353, ip6_b, 53, 77);
	udp6_packet(&p2, ip6_b, 53, ip6_a, 5353, 77);
	d1 = xdpi_flow_key_from_pkt(&p1, &k1);
	d2 = xdpi_flow_key_from_pkt(&p2, &k2);
	CHECK(!memcmp(&k1, &k2, sizeof(k1)), "ipv6 keys differ by direction");
	CHECK(d1 != d2, "same direction both ways");
	EQ(k1.family, 6);
	EQ(k1.vlan, 77);
	EQ(k1.proto, XDPI_IPPROTO_UDP);

	/* The VLAN is part of the key. */
	udp6_packet(&p2, ip6_a, 5353, ip6_b, 53, 78);
	xdpi_flow_key_from_pkt(&p2, &k2);
	CHECK(memcmp(&k1, &k2, sizeof(k1)), "VLANs 77 and 78 share a key");

	/* Equal addresses: the ports decide. */
	tcp4_packet(&p1, ip4_a, 6000, ip4_a, 5000, XDPI_TCP_SYN, "");
	tcp4_packet(&p2, ip4_a, 5000, ip4_a, 6000, XDPI_TCP_SYN | XDPI_TCP_ACK, "");
	d1 = xdpi_flow_key_from_pkt(&p1, &k1);
	d2 = xdpi_flow_key_from_pkt(&p2, &k2);
	CHECK(!memcmp(&k1, &k2, sizeof(k1)), "loopback keys differ");
	EQ(d1, XDPI_DIR_HI_LO);
	EQ(d2, XDPI_DIR_LO_HI);
	EQ(k1.lo_port, 5000);
	EQ(k1.hi_port, 6000);

	/* A packet to itself is LO_HI. */
	tcp4_packet(&p1, ip4_a, 7, ip4_a, 7, XDPI_TCP_SYN, "");
	EQ(xdpi_flow_key_from_pkt(&p1, &k1), XDPI_DIR_LO_HI);
}

static void test_flow_val(void)
{
	struct xdpi_pkt syn, synack, ack_data, fin_a, fin_b, rst_a, finrst_b, icmp_p;
	struct xdpi_flow_key k;
	struct xdpi_flow_val v;
	uint8_t da, db;

	tcp4_packet(&syn, ip4_a, 40000, ip4_b, 80, XDPI_TCP_SYN, "");
	tcp4_packet(&synack, ip4_b, 80, ip4_a, 40000, XDPI_TCP_SYN | XDPI_TCP_ACK, "");
	tcp4_packet(&ack_data, ip4_a, 40000, ip4_b, 80, XDPI_TCP_ACK | XDPI_TCP_PSH,
		    "GET / HTTP/1.0\r\n\r\n");
	tcp4_packet(&fin_a, ip4_a, 40000, ip4_b, 80, XDPI_TCP_FIN | XDPI_TCP_ACK, "");
	tcp4_packet(&fin_b, ip4_b, 80, ip4_a, 40000, XDPI_TCP_FIN | XDPI_TCP_ACK, "");
	tcp4_packet(&rst_a, ip4_a, 40000, ip4_b, 80, XDPI_TCP_RST, "");
	tcp4_packet(&finrst_b, ip4_b, 80, ip4_a, 40000,
		    XDPI_TCP_FIN | XDPI_TCP_RST | XDPI_TCP_ACK, "");
	da = xdpi_flow_key_from_pkt(&syn, &k);
	db = xdpi_flow_key_from_pkt(&synack, &k);
	CHECK(da != db, "directions");

	memset(&v, 0xff, sizeof(v));
	xdpi_flow_val_init(&v, &syn, da, 1000);
	EQ(v.first_ns, 1000);
	EQ(v.last_ns, 0);
	EQ(v.first_dir, da);
	EQ(v.dir[0].pkts + v.dir[1].pkts, 0);
	EQ(v.icmp_type, 0);

	EQ(xdpi_flow_val_update(&v, &syn, da, 1000), 0);
	EQ(xdpi_flow_val_update(&v, &synack, db, 2000), 0);
	EQ(xdpi_flow_val_update(&v, &ack_data, da, 3000), 0);
	EQ(v.dir[da].pkts, 2);
	EQ(v.dir[db].pkts, 1);
	EQ(v.dir[da].bytes, 40 + 58);
	EQ(v.dir[db].bytes, 40);
	EQ(v.dir[da].tcp_flags, XDPI_TCP_SYN | XDPI_TCP_ACK | XDPI_TCP_PSH);
	EQ(v.dir[db].tcp_flags, XDPI_TCP_SYN | XDPI_TCP_ACK);
	EQ(v.first_ns, 1000);
	EQ(v.last_ns, 3000);

	/* A late packet from before the first one moves first_ns only. */
	EQ(xdpi_flow_val_update(&v, &synack, db, 500), 0);
	EQ(v.first_ns, 500);
	EQ(v.last_ns, 3000);
	EQ(v.dir[db].pkts, 2);

	/* The first FIN or RST of a direction is fresh, nothing after it. */
	EQ(xdpi_flow_val_update(&v, &fin_a, da, 4000), XDPI_TCP_FIN);
	EQ(xdpi_flow_val_update(&v, &fin_a, da, 4001), 0);
	EQ(xdpi_flow_val_update(&v, &fin_b, db, 4002), XDPI_TCP_FIN);
	EQ(xdpi_flow_val_update(&v, &fin_b, db, 4003), 0);
	EQ(xdpi_flow_val_update(&v, &rst_a, da, 4004), 0);
	EQ(xdpi_flow_val_update(&v, &finrst_b, db, 4006), 0);
	EQ(v.last_ns, 4006);
	EQ(v.dir[da].pkts, 5);
	EQ(v.dir[db].pkts, 5);
	EQ(v.dir[da].tcp_flags & XDPI_TCP_RST, XDPI_TCP_RST);

	/* RST first: a later FIN is not fresh. */
	xdpi_flow_val_init(&v, &rst_a, da, 1);
	EQ(xdpi_flow_val_update(&v, &rst_a, da, 1), XDPI_TCP_RST);
	EQ(xdpi_flow_val_update(&v, &fin_a, da, 2), 0);
	EQ(xdpi_flow_val_update(&v, &fin_b, db, 3), XDPI_TCP_FIN);

	/* FIN and RST at once. */
	xdpi_flow_val_init(&v, &finrst_b, db, 1);
	EQ(xdpi_flow_val_update(&v, &finrst_b, db, 1), XDPI_TCP_FIN | XDPI_TCP_RST);
	EQ(xdpi_flow_val_update(&v, &finrst_b, db, 2), 0);

	/* A zeroed value (another CPU's copy of an entry) is initialised by
	 * its first update. */
	memset(&v, 0, sizeof(v));
	EQ(xdpi_flow_val_update(&v, &synack, db, 7000), 0);
	EQ(v.seen, 1);
	EQ(v.first_ns, 7000);
	EQ(v.last_ns, 7000);
	EQ(v.first_dir, db);
	EQ(v.dir[db].pkts, 1);
	EQ(v.dir[db].bytes, 40);
	EQ(v.dir[da].pkts, 0);
	memset(&v, 0, sizeof(v));
	EQ(xdpi_flow_val_update(&v, &fin_a, da, 0), XDPI_TCP_FIN);
	EQ(v.first_ns, 0);
	EQ(v.dir[da].pkts, 1);

	/* ICMP type and code come from the packet that made the flow. */
	{
		struct frame f = { 0 };
		size_t ip;

		eth(&f, XDPI_ETH_P_IP);
		ip = ipv4(&f, XDPI_IPPROTO_ICMP, ip4_a, ip4_b, 0, 0);
		icmp(&f, 3, 13);
		ipv4_done(&f, ip);
		EQ(parse(&f, &icmp_p), XDPI_P_FLOW);
		xdpi_flow_val_init(&v, &icmp_p, XDPI_DIR_LO_HI, 9);
		EQ(v.icmp_type, 3);
		EQ(v.icmp_code, 13);
	}

	/* Snippets: K per direction, payload-carrying packets only. */
	xdpi_flow_val_init(&v, &syn, da, 0);
	EQ(xdpi_flow_take_snippet(&v, &syn, da, 3), 0);
	for (int i = 0; i < 3; i++)
		EQ(xdpi_flow_take_snippet(&v, &ack_data, da, 3), 1);
	EQ(xdpi_flow_take_snippet(&v, &ack_data, da, 3), 0);
	EQ(xdpi_flow_take_snippet(&v, &ack_data, da, 3), 0);
	EQ(v.dir[da].snippets, 3);
	EQ(xdpi_flow_take_snippet(&v, &ack_data, db, 3), 1);
	EQ(v.dir[db].snippets, 1);
	EQ(xdpi_flow_take_snippet(&v, &ack_data, db, 0), 0);
	EQ(xdpi_flow_take_snippet(&v, &ack_data, db, XDPI_SNIPPET_PKTS_MAX), 1);
	EQ(v.dir[db].snippets, 2);
}

/* A long extension header chain (L4 beyond 512 bytes into the frame) still
 * leads to the ports. */
static void test_ipv6_ext_l4_bound(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_IPV6);
	ip = ipv6(&f, XDPI_IPPROTO_HOPOPTS, ip6_a, ip6_b);
	ip6_opt(&f, XDPI_IPPROTO_UDP, 57); /* 464 bytes: ends 518 in */
	udp(&f, 5000, 53, 4);
	payload(&f, "abcd");
	ipv6_done(&f, ip);
	EQ(parse(&f, &p), XDPI_P_FLOW);
	CHECK(p.sport == 5000 || p.anomalies,
	      "L4 dropped silently: ports %u/%u, anomalies %#x",
	      p.sport, p.dport, p.anomalies);
}

/* A cut too large to add to the captured length wraps around. */
static void test_huge_cut(void)
{
	struct frame f = { 0 };
	struct xdpi_pkt p;
	size_t ip;

	eth(&f, XDPI_ETH_P_IP);
	ip = ipv4(&f, XDPI_IPPROTO_UDP, ip4_a, ip4_b, 0, 0);
	udp(&f, 1, 2, 12);
	fill(&f, 0, 12);
	ipv4_done(&f, ip);
	EQ(parse_len(&f, f.n, 0xffffffffu, &p), XDPI_P_FLOW);
	EQ(p.anomalies, 0);
	set16(&f, ip + 2, 0);
	EQ(parse_len(&f, f.n, 0xffffffffu, &p), XDPI_P_FLOW);
	CHECK(p.ip_len >= 40, "ip_len %u below the bytes present", p.ip_len);
}


int main(void)
{
	test_ipv4_tcp();
	test_tcp_options();
	test_ipv4_options();
	test_ipv6_udp();
	test_ipv6_tcp();
	test_vlan();
	test_vlan_depth();
	test_mpls();
	test_pppoe();
	test_non_ip();
	test_eth_padding();
	test_ipv4_fragments();
	test_ipv6_ext_chain();
	test_ipv6_fragments();
	test_ipv6_ext_limit();
	test_trunc_l2();
	test_trunc_ipv4();
	test_bad_ihl();
	test_bad_ip_len();
	test_trunc_ipv6();
	test_ipv6_len();
	test_trunc_tcp();
	test_bad_tcp_doff();
	test_udp_sctp_icmp();
	test_tcp_flag_anomalies();
	test_flow_key();
	test_flow_val();
	test_ipv6_ext_l4_bound();
	test_huge_cut();
	return check_summary("parse");
}
