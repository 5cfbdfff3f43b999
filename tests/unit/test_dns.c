/* DNS parser: crafted messages for each rule, then real messages from the
 * shared captures (payload bytes as captured; expected values are what
 * tshark reports in /work/shared/pcap/truth/<capture>.json, and for MX,
 * PTR and TXT rdata what tcpdump -vvv prints). */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "proto/dns.h"

#define CHECK_STR(got, want, what)                                             \
	CHECK(strcmp((got), (want)) == 0, "%s: got \"%s\", want \"%s\"", what, \
	      (got), (want))

static struct dns_msg m;

/* ---- a small message builder for the crafted cases ---- */

struct mb {
	uint8_t b[2048];
	size_t n;
};

static struct mb mb;

static void put8(uint8_t v)
{
	if (mb.n < sizeof(mb.b))
		mb.b[mb.n++] = v;
}

static void put16(uint16_t v)
{
	put8((uint8_t)(v >> 8));
	put8((uint8_t)v);
}

static void put32(uint32_t v)
{
	put16((uint16_t)(v >> 16));
	put16((uint16_t)v);
}

static void put_raw(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(((const uint8_t *)p)[i]);
}

/* Compression pointer to off. */
static void put_ptr(size_t off)
{
	put16((uint16_t)(0xc000 | off));
}

/* Dotted text as labels; no root byte, so a pointer may follow. */
static void put_labels(const char *dotted)
{
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);

		put8((uint8_t)n);
		put_raw(dotted, n);
		dotted += n + (dot ? 1 : 0);
	}
}

/* Dotted text as a whole name; "" is the root. */
static void put_name(const char *dotted)
{
	put_labels(dotted);
	put8(0);
}

/* One label of n copies of c. */
static void put_label_of(uint8_t c, size_t n)
{
	put8((uint8_t)n);
	for (size_t i = 0; i < n; i++)
		put8(c);
}

static void put_hdr(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
		    uint16_t ns, uint16_t ar)
{
	mb.n = 0;
	put16(id);
	put16(flags);
	put16(qd);
	put16(an);
	put16(ns);
	put16(ar);
}

static void put_q(const char *name, uint16_t type, uint16_t class)
{
	put_name(name);
	put16(type);
	put16(class);
}

/* Fixed part of a record, after its owner name. */
static void put_rr(uint16_t type, uint32_t ttl, uint16_t rdlength)
{
	put16(type);
	put16(DNS_CLASS_IN);
	put32(ttl);
	put16(rdlength);
}

static void put_a(size_t owner, const uint8_t ip[4])
{
	put_ptr(owner);
	put_rr(DNS_TYPE_A, 300, 4);
	put_raw(ip, 4);
}

static int parse_mb(void)
{
	return dns_parse(mb.b, mb.n, &m);
}

static int is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* ---- crafted messages ---- */

static void test_query(void)
{
	put_hdr(0x1234, 0x0100, 1, 0, 0, 0);
	put_q("www.example.com", DNS_TYPE_A, DNS_CLASS_IN);

	CHECK_EQ(parse_mb(), 0, "query: rc");
	CHECK_EQ(m.id, 0x1234, "query: id");
	CHECK_EQ(m.flags, 0x0100, "query: flags");
	CHECK_EQ(m.qr, 0, "query: qr");
	CHECK_EQ(m.opcode, 0, "query: opcode");
	CHECK_EQ(m.rd, 1, "query: rd");
	CHECK_EQ(m.ra + m.aa + m.tc + m.rcode, 0, "query: ra/aa/tc/rcode");
	CHECK_EQ(m.qdcount, 1, "query: qdcount");
	CHECK_EQ(m.ancount + m.nscount + m.arcount, 0, "query: other counts");
	CHECK_EQ(m.nq, 1, "query: nq");
	CHECK_EQ(m.na, 0, "query: na");
	CHECK_STR(m.q[0].name, "www.example.com", "query: name");
	CHECK_EQ(m.q[0].type, DNS_TYPE_A, "query: type");
	CHECK_EQ(m.q[0].class, DNS_CLASS_IN, "query: class");
	CHECK_EQ(m.truncated, 0, "query: truncated");
	CHECK_EQ(dns_detect(mb.b, mb.n), 1, "query: detect");
}

static void test_response_a(void)
{
	static const uint8_t ip[4] = { 93, 184, 216, 34 };

	put_hdr(0xbeef, 0x8180, 1, 1, 0, 0);
	put_q("www.example.com", DNS_TYPE_A, DNS_CLASS_IN);
	put_ptr(12);
	put_rr(DNS_TYPE_A, 3600, 4);
	put_raw(ip, 4);

	CHECK_EQ(parse_mb(), 0, "A: rc");
	CHECK_EQ(m.id, 0xbeef, "A: id");
	CHECK_EQ(m.qr, 1, "A: qr");
	CHECK_EQ(m.rd, 1, "A: rd");
	CHECK_EQ(m.ra, 1, "A: ra");
	CHECK_EQ(m.rcode, 0, "A: rcode");
	CHECK_EQ(m.nq, 1, "A: nq");
	CHECK_EQ(m.na, 1, "A: na");
	CHECK_STR(m.a[0].name, "www.example.com", "A: owner");
	CHECK_EQ(m.a[0].type, DNS_TYPE_A, "A: type");
	CHECK_EQ(m.a[0].class, DNS_CLASS_IN, "A: class");
	CHECK_EQ(m.a[0].ttl, 3600, "A: ttl");
	CHECK_EQ(m.a[0].rdlength, 4, "A: rdlength");
	CHECK_STR(m.a[0].data, "93.184.216.34", "A: data");
	CHECK_EQ(m.truncated, 0, "A: truncated");
	CHECK_EQ(dns_detect(mb.b, mb.n), 1, "A: detect");
}

static void test_aaaa(void)
{
	/* 2001:db8::1:0:0:1: the first of two equal zero runs is the one
	 * that collapses (RFC 5952). */
	static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					 0, 1, 0, 0, 0, 0, 0, 1 };
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0,
					    0, 0, 0xff, 0xff, 192, 0, 2, 1 };

	put_hdr(2, 0x8180, 1, 2, 0, 0);
	put_q("v6.example", DNS_TYPE_AAAA, DNS_CLASS_IN);
	put_ptr(12);
	put_rr(DNS_TYPE_AAAA, 60, 16);
	put_raw(ip6, 16);
	put_ptr(12);
	put_rr(DNS_TYPE_AAAA, 60, 16);
	put_raw(mapped, 16);

	CHECK_EQ(parse_mb(), 0, "AAAA: rc");
	CHECK_EQ(m.na, 2, "AAAA: na");
	CHECK_EQ(m.a[0].type, DNS_TYPE_AAAA, "AAAA: type");
	CHECK_EQ(m.a[0].rdlength, 16, "AAAA: rdlength");
	CHECK_STR(m.a[0].data, "2001:db8::1:0:0:1", "AAAA: data");
	CHECK_STR(m.a[1].data, "::ffff:192.0.2.1", "AAAA: v4-mapped");
	CHECK_EQ(m.truncated, 0, "AAAA: truncated");
}

static void test_cname_chain(void)
{
	static const uint8_t ip[4] = { 10, 0, 0, 1 };
	size_t r1, r2;

	put_hdr(3, 0x8180, 1, 3, 0, 0);
	put_q("www.a.example", DNS_TYPE_A, DNS_CLASS_IN);
	/* www.a.example CNAME edge.a.example ("a.example" from the question) */
	put_ptr(12);
	put_rr(DNS_TYPE_CNAME, 120, 7);
	r1 = mb.n;
	put_labels("edge");
	put_ptr(12 + 4);
	/* edge.a.example (owner from the previous rdata) CNAME x.cdn.net */
	put_ptr(r1);
	put_rr(DNS_TYPE_CNAME, 60, 11);
	r2 = mb.n;
	put_name("x.cdn.net");
	put_a(r2, ip);

	CHECK_EQ(parse_mb(), 0, "CNAME: rc");
	CHECK_EQ(m.na, 3, "CNAME: na");
	CHECK_STR(m.a[0].name, "www.a.example", "CNAME: owner 1");
	CHECK_EQ(m.a[0].type, DNS_TYPE_CNAME, "CNAME: type 1");
	CHECK_STR(m.a[0].data, "edge.a.example", "CNAME: target 1");
	CHECK_EQ(m.a[0].ttl, 120, "CNAME: ttl 1");
	CHECK_STR(m.a[1].name, "edge.a.example", "CNAME: owner 2");
	CHECK_STR(m.a[1].data, "x.cdn.net", "CNAME: target 2");
	CHECK_EQ(m.a[1].rdlength, 11, "CNAME: rdlength 2");
	CHECK_STR(m.a[2].name, "x.cdn.net", "CNAME: owner of A");
	CHECK_STR(m.a[2].data, "10.0.0.1", "CNAME: A");
	CHECK_EQ(m.truncated, 0, "CNAME: truncated");
}

static void test_ptr_ns(void)
{
	size_t r;

	put_hdr(4, 0x8580, 1, 2, 0, 0);
	put_q("4.3.2.1.in-addr.arpa", DNS_TYPE_PTR, DNS_CLASS_IN);
	put_ptr(12);
	put_rr(DNS_TYPE_PTR, 86400, 18);
	r = mb.n;
	put_name("host.example.org");
	put_ptr(12 + 4);          /* 2.1.in-addr.arpa */
	put_rr(DNS_TYPE_NS, 7200, 6);
	put_labels("ns1");
	put_ptr(r + 5);           /* example.org in the PTR rdata */

	CHECK_EQ(parse_mb(), 0, "PTR: rc");
	CHECK_EQ(m.aa, 1, "PTR: aa");
	CHECK_EQ(m.na, 2, "PTR: na");
	CHECK_EQ(m.q[0].type, DNS_TYPE_PTR, "PTR: qtype");
	CHECK_STR(m.a[0].name, "4.3.2.1.in-addr.arpa", "PTR: owner");
	CHECK_STR(m.a[0].data, "host.example.org", "PTR: target");
	CHECK_EQ(m.a[0].ttl, 86400, "PTR: ttl");
	CHECK_STR(m.a[1].name, "2.1.in-addr.arpa", "NS: owner");
	CHECK_EQ(m.a[1].type, DNS_TYPE_NS, "NS: type");
	CHECK_STR(m.a[1].data, "ns1.example.org", "NS: target");
	CHECK_EQ(m.truncated, 0, "PTR: truncated");
}

static void test_mx(void)
{
	put_hdr(5, 0x8180, 1, 2, 0, 0);
	put_q("example.com", DNS_TYPE_MX, DNS_CLASS_IN);
	put_ptr(12);
	put_rr(DNS_TYPE_MX, 300, 9);
	put16(10);
	put_labels("mail");
	put_ptr(12);
	put_ptr(12);
	put_rr(DNS_TYPE_MX, 300, 4);
	put16(65535);
	put_ptr(12);

	CHECK_EQ(parse_mb(), 0, "MX: rc");
	CHECK_EQ(m.na, 2, "MX: na");
	CHECK_EQ(m.a[0].type, DNS_TYPE_MX, "MX: type");
	CHECK_STR(m.a[0].data, "10 mail.example.com", "MX: data 1");
	CHECK_EQ(m.a[0].rdlength, 9, "MX: rdlength");
	CHECK_STR(m.a[1].data, "65535 example.com", "MX: data 2");
	CHECK_EQ(m.truncated, 0, "MX: truncated");
}

static void test_txt(void)
{
	static const uint8_t ip[4] = { 1, 2, 3, 4 };

	put_hdr(6, 0x8180, 1, 4, 0, 0);
	put_q("example.com", DNS_TYPE_TXT, DNS_CLASS_IN);
	put_ptr(12);
	put_rr(DNS_TYPE_TXT, 300, 13);
	put8(5);
	put_raw("hello", 5);
	put8(6);
	put_raw("world!", 6);
	put_ptr(12);
	put_rr(DNS_TYPE_TXT, 300, 1);
	put8(0);
	/* A string longer than its rdata: kept, data empty, message flagged,
	 * and the next record is still read. */
	put_ptr(12);
	put_rr(DNS_TYPE_TXT, 300, 4);
	put8(5);
	put_raw("abc", 3);
	put_a(12, ip);

	CHECK_EQ(parse_mb(), 0, "TXT: rc");
	CHECK_EQ(m.na, 4, "TXT: na");
	CHECK_EQ(m.a[0].type, DNS_TYPE_TXT, "TXT: type");
	CHECK_STR(m.a[0].data, "11", "TXT: total of two strings");
	CHECK_EQ(m.a[0].rdlength, 13, "TXT: rdlength");
	CHECK_STR(m.a[1].data, "0", "TXT: one empty string");
	CHECK_STR(m.a[2].data, "", "TXT: overrunning string");
	CHECK_EQ(m.a[2].rdlength, 4, "TXT: overrun rdlength");
	CHECK_STR(m.a[3].data, "1.2.3.4", "TXT: record after the bad one");
	CHECK_EQ(m.truncated, 1, "TXT: truncated");
}

static void test_nxdomain(void)
{
	put_hdr(7, 0x8183, 1, 0, 1, 0);
	put_q("nope.example", DNS_TYPE_A, DNS_CLASS_IN);
	put_ptr(12 + 5);          /* example */
	put_rr(DNS_TYPE_SOA, 900, 3 + 2 + 2 + 20);
	put_labels("ns");
	put_ptr(12 + 5);
	put_ptr(12 + 5);
	put32(2024010101);
	put32(7200);
	put32(3600);
	put32(1209600);
	put32(300);

	CHECK_EQ(parse_mb(), 0, "NXDOMAIN: rc");
	CHECK_EQ(m.rcode, DNS_RCODE_NXDOMAIN, "NXDOMAIN: rcode");
	CHECK_EQ(m.qr, 1, "NXDOMAIN: qr");
	CHECK_EQ(m.ancount, 0, "NXDOMAIN: ancount");
	CHECK_EQ(m.nscount, 1, "NXDOMAIN: nscount");
	CHECK_EQ(m.nq, 1, "NXDOMAIN: nq");
	CHECK_EQ(m.na, 0, "NXDOMAIN: na");
	CHECK_STR(m.q[0].name, "nope.example", "NXDOMAIN: name");
	CHECK_EQ(m.truncated, 0, "NXDOMAIN: truncated");
	CHECK_EQ(dns_detect(mb.b, mb.n), 1, "NXDOMAIN: detect");
}

static void test_compression(void)
{
	size_t q3;

	put_hdr(8, 0x0100, 4, 0, 0, 0);
	put_q("mail.example.com", DNS_TYPE_A, DNS_CLASS_IN);
	put_labels("smtp");
	put_ptr(12 + 5);          /* example.com */
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	q3 = mb.n;
	put_ptr(12);
	put16(DNS_TYPE_AAAA);
	put16(DNS_CLASS_IN);
	put_ptr(q3);              /* a pointer to a pointer */
	put16(DNS_TYPE_MX);
	put16(DNS_CLASS_IN);

	CHECK_EQ(parse_mb(), 0, "compression: rc");
	CHECK_EQ(m.nq, 4, "compression: nq");
	CHECK_STR(m.q[0].name, "mail.example.com", "compression: plain");
	CHECK_STR(m.q[1].name, "smtp.example.com", "compression: suffix");
	CHECK_STR(m.q[2].name, "mail.example.com", "compression: whole");
	CHECK_EQ(m.q[2].type, DNS_TYPE_AAAA, "compression: type after pointer");
	CHECK_STR(m.q[3].name, "mail.example.com", "compression: two hops");
	CHECK_EQ(m.q[3].type, DNS_TYPE_MX, "compression: type after two hops");
	CHECK_EQ(m.truncated, 0, "compression: truncated");
}

static void check_bad_question(const char *what)
{
	char w[96];

	snprintf(w, sizeof(w), "%s: rc", what);
	CHECK_EQ(parse_mb(), 0, w);
	snprintf(w, sizeof(w), "%s: nq", what);
	CHECK_EQ(m.nq, 0, w);
	snprintf(w, sizeof(w), "%s: truncated", what);
	CHECK_EQ(m.truncated, 1, w);
	snprintf(w, sizeof(w), "%s: entry left clean", what);
	CHECK(is_zero(&m.q[0], sizeof(m.q[0])), "%s", w);
	snprintf(w, sizeof(w), "%s: detect", what);
	CHECK_EQ(dns_detect(mb.b, mb.n), 0, w);
}

static void test_compression_loop(void)
{
	static const uint8_t ip[4] = { 1, 1, 1, 1 };

	/* A pointer to itself. */
	put_hdr(9, 0x0100, 1, 0, 0, 0);
	put_ptr(12);
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	check_bad_question("self pointer");

	/* Backwards to the label before it: every pointer is legal on its
	 * own, the hop limit ends it. */
	put_hdr(9, 0x0100, 1, 0, 0, 0);
	put_label_of('a', 1);
	put_ptr(12);
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	check_bad_question("short loop");

	/* Same with a long label: the 255-byte name limit ends it first. */
	put_hdr(9, 0x0100, 1, 0, 0, 0);
	put_label_of('x', 63);
	put_ptr(12);
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	check_bad_question("long loop");

	/* In a record: the good question stays, the walk stops. */
	put_hdr(9, 0x8180, 1, 2, 0, 0);
	put_q("ok.example", DNS_TYPE_A, DNS_CLASS_IN);
	put_a(12, ip);
	put_label_of('b', 2);
	put_ptr(mb.n - 3);
	put_rr(DNS_TYPE_A, 1, 4);
	put_raw(ip, 4);
	CHECK_EQ(parse_mb(), 0, "loop in record: rc");
	CHECK_EQ(m.nq, 1, "loop in record: nq");
	CHECK_EQ(m.na, 1, "loop in record: na");
	CHECK_STR(m.a[0].data, "1.1.1.1", "loop in record: first record");
	CHECK(is_zero(&m.a[1], sizeof(m.a[1])), "loop in record: entry left clean");
	CHECK_EQ(m.truncated, 1, "loop in record: truncated");
}

static void test_pointer_forward(void)
{
	/* Points at a valid name that comes later. */
	put_hdr(10, 0x0100, 1, 0, 0, 0);
	put_ptr(18);
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	put_name("x");
	check_bad_question("forward pointer");

	/* In rdata: the record is kept without data. */
	put_hdr(10, 0x8180, 1, 1, 0, 0);
	put_q("fw.example", DNS_TYPE_CNAME, DNS_CLASS_IN);
	put_ptr(12);
	put_rr(DNS_TYPE_CNAME, 5, 2);
	put_ptr(mb.n + 2);
	put_name("later");
	CHECK_EQ(parse_mb(), 0, "forward pointer in rdata: rc");
	CHECK_EQ(m.na, 1, "forward pointer in rdata: na");
	CHECK_STR(m.a[0].name, "fw.example", "forward pointer in rdata: owner");
	CHECK_STR(m.a[0].data, "", "forward pointer in rdata: data");
	CHECK_EQ(m.truncated, 1, "forward pointer in rdata: truncated");
}

static void test_label_too_long(void)
{
	/* 0x40: a 64-byte "label" is really the obsolete extended type. */
	put_hdr(11, 0x0100, 1, 0, 0, 0);
	put_label_of('a', 64);
	put8(0);
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	check_bad_question("label of 64");

	put_hdr(11, 0x0100, 1, 0, 0, 0);
	put_label_of('a', 0x80);
	put8(0);
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	check_bad_question("label type 0x80");
}

static void test_name_length(void)
{
	/* 3 * (1 + 63) + (1 + 61) + 1 = 255 bytes: the longest name. */
	put_hdr(12, 0x0100, 1, 0, 0, 0);
	put_label_of('a', 63);
	put_label_of('b', 63);
	put_label_of('c', 63);
	put_label_of('d', 61);
	put8(0);
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), 0, "255-byte name: rc");
	CHECK_EQ(m.nq, 1, "255-byte name: nq");
	CHECK_EQ(strlen(m.q[0].name), 63 * 3 + 61 + 3, "255-byte name: text length");
	CHECK_EQ(m.q[0].name[64 * 3], 'd', "255-byte name: last label");
	CHECK_EQ(m.truncated, 0, "255-byte name: truncated");

	put_hdr(12, 0x0100, 1, 0, 0, 0);
	put_label_of('a', 63);
	put_label_of('b', 63);
	put_label_of('c', 63);
	put_label_of('d', 62);
	put8(0);
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	check_bad_question("256-byte name");

	/* Too long only once the pointer is followed. */
	put_hdr(12, 0x0100, 2, 0, 0, 0);
	put_label_of('a', 63);
	put_label_of('b', 63);
	put_label_of('c', 63);
	put8(0);
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	put_label_of('d', 63);
	put_ptr(12);
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), 0, "long after pointer: rc");
	CHECK_EQ(m.nq, 1, "long after pointer: nq");
	CHECK_EQ(m.truncated, 1, "long after pointer: truncated");
}

static void test_text_cut(void)
{
	char want[256];

	/* 189 control bytes need 4 characters each: the text is cut after
	 * the first label (63 escapes), never inside an escape and never
	 * leaving a dangling '.'. */
	put_hdr(13, 0x0100, 1, 0, 0, 0);
	put_label_of(1, 63);
	put_label_of(1, 63);
	put_label_of(1, 63);
	put8(0);
	put16(DNS_TYPE_TXT);
	put16(DNS_CLASS_IN);
	for (int i = 0; i < 63; i++)
		memcpy(want + 4 * i, "\\001", 5);
	CHECK_EQ(parse_mb(), 0, "cut text: rc");
	CHECK_EQ(m.nq, 1, "cut text: nq (the name is valid)");
	CHECK_STR(m.q[0].name, want, "cut text: name");
	CHECK_EQ(m.q[0].type, DNS_TYPE_TXT, "cut text: type");
	CHECK_EQ(m.truncated, 1, "cut text: flagged");
	CHECK_EQ(dns_detect(mb.b, mb.n), 1, "cut text: detect");
}

static void test_escape(void)
{
	static const uint8_t label[] = { 'a', '.', 'b', '\\', 'c', ' ', 'd',
					 0x7f, 0xff, '~', '!' };

	put_hdr(14, 0x0100, 1, 0, 0, 0);
	put8(sizeof(label));
	put_raw(label, sizeof(label));
	put_name("ok");
	put16(DNS_TYPE_A);
	put16(DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), 0, "escape: rc");
	CHECK_STR(m.q[0].name, "a\\046b\\092c\\032d\\127\\255~!.ok", "escape: name");
	CHECK_EQ(m.truncated, 0, "escape: truncated");
}

static void test_root(void)
{
	put_hdr(15, 0x0100, 1, 0, 0, 0);
	put_q("", DNS_TYPE_NS, DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), 0, "root: rc");
	CHECK_EQ(m.nq, 1, "root: nq");
	CHECK_STR(m.q[0].name, "", "root: name");
	CHECK_EQ(m.q[0].type, DNS_TYPE_NS, "root: type");
	CHECK_EQ(dns_detect(mb.b, mb.n), 1, "root: detect");
}

static void test_truncated_header(void)
{
	static const uint8_t hdr[11] = { 0x12, 0x34, 0x01, 0x00, 0x00, 0x01 };

	CHECK_EQ(dns_parse(hdr, sizeof(hdr), &m), -1, "11 bytes: rc");
	CHECK_EQ(dns_parse(hdr, 0, &m), -1, "0 bytes: rc");
	CHECK_EQ(dns_parse(NULL, 0, &m), -1, "NULL: rc");
	CHECK_EQ(dns_detect(hdr, sizeof(hdr)), 0, "11 bytes: detect");
	CHECK_EQ(dns_detect(NULL, 0), 0, "NULL: detect");
}

static void test_truncated_question(void)
{
	size_t full;

	put_hdr(16, 0x0100, 1, 0, 0, 0);
	put_q("www.example.com", DNS_TYPE_A, DNS_CLASS_IN);
	full = mb.n;

	mb.n = 12;
	CHECK_EQ(parse_mb(), 0, "header only: rc");
	CHECK_EQ(m.qdcount, 1, "header only: qdcount");
	CHECK_EQ(m.nq, 0, "header only: nq");
	CHECK_EQ(m.truncated, 1, "header only: truncated");

	mb.n = 12 + 6;
	check_bad_question("cut in the name");
	mb.n = full - 4;
	check_bad_question("cut before type");
	mb.n = full - 1;
	check_bad_question("cut in class");
	mb.n = full;
	CHECK_EQ(parse_mb(), 0, "whole question: rc");
	CHECK_EQ(m.truncated, 0, "whole question: truncated");
}

static void test_truncated_answer(void)
{
	static const uint8_t ip1[4] = { 10, 1, 1, 1 }, ip2[4] = { 10, 2, 2, 2 };
	size_t first;

	put_hdr(17, 0x8180, 1, 2, 0, 0);
	put_q("cut.example", DNS_TYPE_A, DNS_CLASS_IN);
	first = mb.n;
	put_a(12, ip1);
	put_a(12, ip2);

	for (size_t n = first; n < mb.n; n++) {
		size_t whole = n >= first + 16 ? 1 : 0;

		CHECK_EQ(dns_parse(mb.b, n, &m), 0, "cut answer: rc");
		CHECK_EQ(m.nq, 1, "cut answer: nq");
		CHECK_EQ(m.na, whole, "cut answer: na");
		CHECK_EQ(m.truncated, 1, "cut answer: truncated");
	}
	CHECK_EQ(dns_parse(mb.b, mb.n - 1, &m), 0, "cut in rdata: rc");
	CHECK_STR(m.a[0].data, "10.1.1.1", "cut in rdata: first record");
	CHECK(is_zero(&m.a[1], sizeof(m.a[1])), "cut in rdata: entry left clean");
	CHECK_EQ(dns_parse(mb.b, mb.n, &m), 0, "whole answers: rc");
	CHECK_EQ(m.na, 2, "whole answers: na");
	CHECK_STR(m.a[1].data, "10.2.2.2", "whole answers: second");
	CHECK_EQ(m.truncated, 0, "whole answers: truncated");
}

static void test_counts_exceed(void)
{
	static const uint8_t ip[4] = { 192, 0, 2, 7 };

	put_hdr(18, 0x8180, 1, 5, 0, 0);
	put_q("more.example", DNS_TYPE_A, DNS_CLASS_IN);
	put_a(12, ip);
	CHECK_EQ(parse_mb(), 0, "ancount > records: rc");
	CHECK_EQ(m.ancount, 5, "ancount > records: ancount");
	CHECK_EQ(m.na, 1, "ancount > records: na");
	CHECK_STR(m.a[0].data, "192.0.2.7", "ancount > records: record");
	CHECK_EQ(m.truncated, 1, "ancount > records: truncated");
	CHECK_EQ(dns_detect(mb.b, mb.n), 1, "ancount > records: detect");

	/* Additional records missing: answers are all there, still flagged. */
	put_hdr(18, 0x8180, 1, 1, 0, 3);
	put_q("more.example", DNS_TYPE_A, DNS_CLASS_IN);
	put_a(12, ip);
	CHECK_EQ(parse_mb(), 0, "arcount > records: rc");
	CHECK_EQ(m.na, 1, "arcount > records: na");
	CHECK_EQ(m.truncated, 1, "arcount > records: truncated");

	put_hdr(18, 0x0100, 3, 0, 0, 0);
	put_q("one.example", DNS_TYPE_A, DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), 0, "qdcount > questions: rc");
	CHECK_EQ(m.nq, 1, "qdcount > questions: nq");
	CHECK_EQ(m.truncated, 1, "qdcount > questions: truncated");
	CHECK_EQ(dns_detect(mb.b, mb.n), 0, "qdcount > questions: detect");
}

static void test_not_dns(void)
{
	put_hdr(19, 0x0100, 0, 0, 0, 0);
	CHECK_EQ(parse_mb(), -1, "query without question");

	put_hdr(19, 0x3800, 1, 0, 0, 0);   /* opcode 7 */
	put_q("x.example", DNS_TYPE_A, DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), -1, "opcode 7");
	put_hdr(19, 0xf800, 1, 0, 0, 0);   /* qr, opcode 15 */
	put_q("x.example", DNS_TYPE_A, DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), -1, "opcode 15");
	CHECK_EQ(m.nq, 0, "opcode 15: nothing stored");

	put_hdr(19, 0x8180, 1, 0xffff, 0, 0);
	put_q("x.example", DNS_TYPE_A, DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), -1, "ancount 65535");
	put_hdr(19, 0x0100, 0xffff, 0, 0, 0);
	put_q("x.example", DNS_TYPE_A, DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), -1, "qdcount 65535");

	/* 12 + 5 + 11 * 5956 = 65533 could still be a (cut) message. */
	put_hdr(19, 0x8180, 1, 5956, 0, 0);
	put_q("x.example", DNS_TYPE_A, DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), 0, "ancount 5956: rc");
	CHECK_EQ(m.truncated, 1, "ancount 5956: truncated");
	put_hdr(19, 0x8180, 1, 5000, 957, 0);
	put_q("x.example", DNS_TYPE_A, DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), -1, "ancount + nscount 5957");

	CHECK_EQ(dns_detect((const uint8_t *)"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27), 0,
		 "HTTP: detect");
}

static void test_header_flags(void)
{
	put_hdr(20, 0x8783, 1, 0, 0, 0);   /* qr aa tc rd ra, NXDOMAIN */
	put_q("f.example", DNS_TYPE_A, DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), 0, "flags: rc");
	CHECK_EQ(m.flags, 0x8783, "flags: raw");
	CHECK_EQ(m.qr, 1, "flags: qr");
	CHECK_EQ(m.aa, 1, "flags: aa");
	CHECK_EQ(m.tc, 1, "flags: tc");
	CHECK_EQ(m.rd, 1, "flags: rd");
	CHECK_EQ(m.ra, 1, "flags: ra");
	CHECK_EQ(m.rcode, 3, "flags: rcode");

	put_hdr(21, 0x2800, 1, 0, 0, 0);   /* UPDATE */
	put_q("zone.example", DNS_TYPE_SOA, DNS_CLASS_IN);
	CHECK_EQ(parse_mb(), 0, "update: rc");
	CHECK_EQ(m.opcode, 5, "update: opcode");
	CHECK_EQ(m.qr + m.aa + m.tc + m.rd + m.ra + m.rcode, 0, "update: other bits");
	CHECK_EQ(dns_detect(mb.b, mb.n), 1, "update: detect");

	/* A response may come without its question. */
	put_hdr(22, 0x8001, 0, 0, 0, 0);
	CHECK_EQ(parse_mb(), 0, "FORMERR without question: rc");
	CHECK_EQ(m.rcode, DNS_RCODE_FORMERR, "FORMERR: rcode");
	CHECK_EQ(m.truncated, 0, "FORMERR: truncated");
	CHECK_EQ(dns_detect(mb.b, mb.n), 0, "FORMERR: detect (no question)");
}

static void test_limits(void)
{
	uint8_t ip[4] = { 10, 0, 0, 0 };

	put_hdr(23, 0x0100, 6, 0, 0, 0);
	for (int i = 0; i < 6; i++) {
		char name[16];

		snprintf(name, sizeof(name), "q%d.example", i);
		put_q(name, DNS_TYPE_A, DNS_CLASS_IN);
	}
	CHECK_EQ(parse_mb(), 0, "6 questions: rc");
	CHECK_EQ(m.nq, DNS_MAX_QUESTIONS, "6 questions: nq");
	CHECK_STR(m.q[3].name, "q3.example", "6 questions: last stored");
	CHECK_EQ(m.truncated, 0, "6 questions: truncated");
	CHECK_EQ(dns_detect(mb.b, mb.n), 0, "6 questions: detect");

	put_hdr(24, 0x8180, 1, 20, 0, 0);
	put_q("many.example", DNS_TYPE_A, DNS_CLASS_IN);
	for (int i = 1; i <= 20; i++) {
		ip[3] = (uint8_t)i;
		put_a(12, ip);
	}
	CHECK_EQ(parse_mb(), 0, "20 answers: rc");
	CHECK_EQ(m.ancount, 20, "20 answers: ancount");
	CHECK_EQ(m.na, DNS_MAX_ANSWERS, "20 answers: na");
	CHECK_STR(m.a[15].data, "10.0.0.16", "20 answers: last stored");
	CHECK_EQ(m.truncated, 0, "20 answers: truncated");

	/* Records past the limit are still checked. */
	mb.n -= 3;
	CHECK_EQ(parse_mb(), 0, "20 answers, last cut: rc");
	CHECK_EQ(m.na, DNS_MAX_ANSWERS, "20 answers, last cut: na");
	CHECK_EQ(m.truncated, 1, "20 answers, last cut: truncated");
}

static void test_bad_rdata(void)
{
	static const uint8_t ip[4] = { 198, 51, 100, 9 };

	put_hdr(25, 0x8180, 1, 5, 0, 0);
	put_q("bad.example", DNS_TYPE_A, DNS_CLASS_IN);
	put_ptr(12);
	put_rr(DNS_TYPE_A, 1, 5);
	put_raw("\x01\x02\x03\x04\x05", 5);
	put_ptr(12);
	put_rr(DNS_TYPE_AAAA, 1, 4);
	put_raw(ip, 4);
	put_ptr(12);
	put_rr(DNS_TYPE_CNAME, 1, 3);     /* name, then a stray byte */
	put_ptr(12);
	put8(0);
	put_ptr(12);
	put_rr(DNS_TYPE_MX, 1, 2);
	put16(10);
	put_a(12, ip);

	CHECK_EQ(parse_mb(), 0, "bad rdata: rc");
	CHECK_EQ(m.na, 5, "bad rdata: na");
	CHECK_STR(m.a[0].data, "", "A of 5 bytes");
	CHECK_EQ(m.a[0].rdlength, 5, "A of 5 bytes: rdlength");
	CHECK_STR(m.a[1].data, "", "AAAA of 4 bytes");
	CHECK_STR(m.a[2].data, "", "CNAME with trailing byte");
	CHECK_STR(m.a[3].data, "", "MX without exchange");
	CHECK_STR(m.a[4].data, "198.51.100.9", "good record after them");
	CHECK_EQ(m.truncated, 1, "bad rdata: truncated");
}

static void test_other_types(void)
{
	put_hdr(26, 0x8180, 1, 1, 0, 1);
	put_q("srv.example", 33, DNS_CLASS_IN);
	put_ptr(12);
	put_rr(33, 30, 8);                /* SRV: not decoded */
	put16(0);
	put16(5);
	put16(5060);
	put_ptr(12);
	put8(0);                          /* OPT in the additional section */
	put16(DNS_TYPE_OPT);
	put16(4096);
	put32(0);
	put16(0);
	CHECK_EQ(parse_mb(), 0, "SRV: rc");
	CHECK_EQ(m.na, 1, "SRV: na");
	CHECK_EQ(m.a[0].type, 33, "SRV: type");
	CHECK_EQ(m.a[0].rdlength, 8, "SRV: rdlength");
	CHECK_STR(m.a[0].data, "", "SRV: data");
	CHECK_EQ(m.arcount, 1, "SRV: arcount");
	CHECK_EQ(m.truncated, 0, "SRV: truncated");
}

static void test_detect(void)
{
	uint8_t tcp[sizeof(mb.b) + 2];
	size_t n;

	put_hdr(27, 0x0120, 1, 0, 0, 1);
	put_q("d.example", DNS_TYPE_A, DNS_CLASS_IN);
	put8(0);
	put16(DNS_TYPE_OPT);
	put16(1232);
	put32(0);
	put16(0);
	n = mb.n;
	CHECK_EQ(dns_detect(mb.b, n), 1, "detect: UDP query");

	tcp[0] = (uint8_t)(n >> 8);
	tcp[1] = (uint8_t)n;
	memcpy(tcp + 2, mb.b, n);
	CHECK_EQ(dns_detect(tcp, n + 2), 1, "detect: TCP query");
	CHECK_EQ(dns_detect(tcp, 2 + 12 + 11 + 4), 1, "detect: TCP, first segment");
	CHECK_EQ(dns_detect(tcp, 2 + 12 + 5), 0, "detect: TCP, question cut");

	mb.b[3] |= 0x40;                  /* Z */
	CHECK_EQ(dns_parse(mb.b, n, &m), 0, "Z set: parses");
	CHECK_EQ(dns_detect(mb.b, n), 0, "Z set: detect");
	mb.b[3] &= (uint8_t)~0x40;
	mb.b[3] |= 0x02;                  /* rcode in a query */
	CHECK_EQ(dns_detect(mb.b, n), 0, "query with rcode: detect");
	mb.b[3] &= (uint8_t)~0x0f;
	mb.b[12 + 11 + 3] = 0x09;         /* class 9 */
	CHECK_EQ(dns_detect(mb.b, n), 0, "unknown class: detect");
	mb.b[12 + 11 + 2] = 0x80;         /* class 0x8009 */
	CHECK_EQ(dns_detect(mb.b, n), 0, "unknown class, QU bit: detect");
	mb.b[12 + 11 + 3] = 0x01;         /* class 0x8001: mDNS QU */
	CHECK_EQ(dns_detect(mb.b, n), 1, "IN with QU bit: detect");
	mb.b[2] |= 0x08;                  /* opcode 1 (IQUERY) */
	CHECK_EQ(dns_detect(mb.b, n), 0, "IQUERY: detect");
}

static void test_tcp_msg_len(void)
{
	static const uint8_t p[3] = { 0x01, 0x02, 0xff };

	CHECK_EQ(dns_tcp_msg_len(p, 3), 258, "tcp len");
	CHECK_EQ(dns_tcp_msg_len(p, 2), 258, "tcp len, 2 bytes");
	CHECK_EQ(dns_tcp_msg_len(p, 1), 0, "tcp len, 1 byte");
	CHECK_EQ(dns_tcp_msg_len(p, 0), 0, "tcp len, 0 bytes");
	CHECK_EQ(dns_tcp_msg_len(NULL, 0), 0, "tcp len, NULL");
}

static void test_output_reset(void)
{
	static const uint8_t ip[4] = { 1, 2, 3, 4 };
	struct dns_msg zero;

	put_hdr(28, 0x8180, 1, 1, 0, 0);
	put_q("reset.example", DNS_TYPE_A, DNS_CLASS_IN);
	put_a(12, ip);
	CHECK_EQ(parse_mb(), 0, "reset: first parse");
	CHECK_EQ(m.na, 1, "reset: first na");
	CHECK_EQ(dns_parse(mb.b, 5, &m), -1, "reset: short input");
	memset(&zero, 0, sizeof(zero));
	CHECK(!memcmp(&m, &zero, sizeof(m)), "reset: output cleared");
}

/* ---- real messages ---- */

/* arkime-dns-udp.pcap frame 1: A? www.github.com */
static const uint8_t arkime_query[] = {
	0xe0, 0x39, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x03, 0x77, 0x77, 0x77, 0x06, 0x67, 0x69, 0x74, 0x68, 0x75, 0x62, 0x03,
	0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,
};

/* arkime-dns-udp.pcap frame 2: CNAME + A, 4 NS, 4 additional A */
static const uint8_t arkime_cname_a[] = {
	0xe0, 0x39, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x04, 0x00, 0x04,
	0x03, 0x77, 0x77, 0x77, 0x06, 0x67, 0x69, 0x74, 0x68, 0x75, 0x62, 0x03,
	0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05,
	0x00, 0x01, 0x00, 0x00, 0x07, 0xbc, 0x00, 0x02, 0xc0, 0x10, 0xc0, 0x10,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x04, 0xc0, 0x1e,
	0xfc, 0x80, 0xc0, 0x10, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x01, 0x48,
	0x00, 0x14, 0x03, 0x6e, 0x73, 0x33, 0x03, 0x70, 0x31, 0x36, 0x06, 0x64,
	0x79, 0x6e, 0x65, 0x63, 0x74, 0x03, 0x6e, 0x65, 0x74, 0x00, 0xc0, 0x10,
	0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x01, 0x48, 0x00, 0x06, 0x03, 0x6e,
	0x73, 0x32, 0xc0, 0x4e, 0xc0, 0x10, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00,
	0x01, 0x48, 0x00, 0x06, 0x03, 0x6e, 0x73, 0x34, 0xc0, 0x4e, 0xc0, 0x10,
	0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x01, 0x48, 0x00, 0x06, 0x03, 0x6e,
	0x73, 0x31, 0xc0, 0x4e, 0xc0, 0x6a, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x0e, 0x10, 0x00, 0x04, 0x0a, 0x02, 0x5f, 0x0c, 0xc0, 0x4a, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04, 0x0a, 0x02, 0x5f, 0x0c,
	0xc0, 0x8e, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04,
	0x0a, 0x02, 0x5f, 0x0c, 0xc0, 0x7c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x0e, 0x10, 0x00, 0x04, 0x0a, 0x02, 0x5f, 0x0c,
};

/* arkime-dns-udp.pcap frame 5: ANY? 10.100.10.10.in-addr.arpa with OPT */
static const uint8_t arkime_any[] = {
	0xca, 0xa6, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x02, 0x31, 0x30, 0x03, 0x31, 0x30, 0x30, 0x02, 0x31, 0x30, 0x02, 0x31,
	0x30, 0x07, 0x69, 0x6e, 0x2d, 0x61, 0x64, 0x64, 0x72, 0x04, 0x61, 0x72,
	0x70, 0x61, 0x00, 0x00, 0xff, 0x00, 0x01, 0x00, 0x00, 0x29, 0x02, 0x00,
	0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
};

/* tcpdump-dns_tcp.pcap frame 4: TCP payload, length prefix included */
static const uint8_t tcp_query[] = {
	0x00, 0x38, 0x43, 0x19, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x03, 0x77, 0x77, 0x77, 0x07, 0x74, 0x63, 0x70, 0x64, 0x75,
	0x6d, 0x70, 0x03, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a,
	0x00, 0x08, 0x8f, 0x06, 0xbe, 0x7d, 0x69, 0x14, 0x42, 0xf0,
};

/* tcpdump-dns_tcp.pcap frame 6: TCP payload, length prefix included */
static const uint8_t tcp_resp[] = {
	0x00, 0xe0, 0x43, 0x19, 0x85, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x02,
	0x00, 0x05, 0x03, 0x77, 0x77, 0x77, 0x07, 0x74, 0x63, 0x70, 0x64, 0x75,
	0x6d, 0x70, 0x03, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0,
	0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 0xc0,
	0x8b, 0x2e, 0x42, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x3c, 0x00, 0x04, 0xc6, 0xc7, 0x58, 0x68, 0xc0, 0x10, 0x00, 0x02, 0x00,
	0x01, 0x00, 0x01, 0x51, 0x80, 0x00, 0x12, 0x03, 0x6e, 0x69, 0x63, 0x09,
	0x73, 0x61, 0x6e, 0x64, 0x65, 0x6c, 0x6d, 0x61, 0x6e, 0x02, 0x63, 0x61,
	0x00, 0xc0, 0x10, 0x00, 0x02, 0x00, 0x01, 0x00, 0x01, 0x51, 0x80, 0x00,
	0x12, 0x03, 0x73, 0x6e, 0x73, 0x08, 0x63, 0x6f, 0x6f, 0x70, 0x65, 0x72,
	0x69, 0x78, 0x03, 0x6e, 0x65, 0x74, 0x00, 0xc0, 0x4d, 0x00, 0x01, 0x00,
	0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 0xd1, 0x57, 0xf9, 0x12, 0xc0,
	0x4d, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x10, 0x26,
	0x07, 0xf0, 0xb0, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xba,
	0xbe, 0xf0, 0x0d, 0xc0, 0x6b, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x1c,
	0x20, 0x00, 0x04, 0x61, 0x6b, 0x85, 0x0f, 0xc0, 0x6b, 0x00, 0x1c, 0x00,
	0x01, 0x00, 0x00, 0x1c, 0x20, 0x00, 0x10, 0x26, 0x00, 0x3c, 0x03, 0x00,
	0x00, 0x00, 0x00, 0xf0, 0x3c, 0x91, 0xff, 0xfe, 0x96, 0xe8, 0xef, 0x00,
	0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* sv-dns-udp-google-a-aaaa-mx.pcap frame 2: 12 A records */
static const uint8_t google_a[] = {
	0x1a, 0x2d, 0x81, 0x80, 0x00, 0x01, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01,
	0x06, 0x67, 0x6f, 0x6f, 0x67, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00,
	0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x01, 0x2b, 0x00, 0x04, 0xd8, 0xc5, 0xf2, 0xf4, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x01, 0x2b, 0x00, 0x04, 0xd8, 0xc5, 0xf2, 0xd9,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2b, 0x00, 0x04,
	0xd8, 0xc5, 0xf2, 0xd8, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x01, 0x2b, 0x00, 0x04, 0xd8, 0xc5, 0xf2, 0xd2, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x01, 0x2b, 0x00, 0x04, 0xd8, 0xc5, 0xf2, 0xed,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2b, 0x00, 0x04,
	0xd8, 0xc5, 0xf2, 0xe7, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x01, 0x2b, 0x00, 0x04, 0xd8, 0xc5, 0xf2, 0xee, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x01, 0x2b, 0x00, 0x04, 0xd8, 0xc5, 0xf2, 0xe6,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2b, 0x00, 0x04,
	0xd8, 0xc5, 0xf2, 0xe0, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x01, 0x2b, 0x00, 0x04, 0xd8, 0xc5, 0xf2, 0xfb, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x01, 0x2b, 0x00, 0x04, 0xd8, 0xc5, 0xf2, 0xdf,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2b, 0x00, 0x04,
	0xd8, 0xc5, 0xf2, 0xf5, 0x00, 0x00, 0x29, 0x02, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00,
};

/* sv-dns-udp-google-a-aaaa-mx.pcap frame 4: AAAA */
static const uint8_t google_aaaa[] = {
	0x8d, 0x70, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x06, 0x67, 0x6f, 0x6f, 0x67, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00,
	0x00, 0x1c, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00,
	0x01, 0x2b, 0x00, 0x10, 0x26, 0x07, 0xf8, 0xb0, 0x40, 0x0f, 0x08, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x0e, 0x00, 0x00, 0x29, 0x02,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* sv-dns-udp-google-a-aaaa-mx.pcap frame 6: 5 MX */
static const uint8_t google_mx[] = {
	0x56, 0x16, 0x81, 0x80, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01,
	0x06, 0x67, 0x6f, 0x6f, 0x67, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00,
	0x00, 0x0f, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00,
	0x02, 0x57, 0x00, 0x0c, 0x00, 0x0a, 0x05, 0x61, 0x73, 0x70, 0x6d, 0x78,
	0x01, 0x6c, 0xc0, 0x0c, 0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00,
	0x02, 0x57, 0x00, 0x09, 0x00, 0x14, 0x04, 0x61, 0x6c, 0x74, 0x31, 0xc0,
	0x2a, 0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x02, 0x57, 0x00,
	0x09, 0x00, 0x1e, 0x04, 0x61, 0x6c, 0x74, 0x32, 0xc0, 0x2a, 0xc0, 0x0c,
	0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x02, 0x57, 0x00, 0x09, 0x00, 0x28,
	0x04, 0x61, 0x6c, 0x74, 0x33, 0xc0, 0x2a, 0xc0, 0x0c, 0x00, 0x0f, 0x00,
	0x01, 0x00, 0x00, 0x02, 0x57, 0x00, 0x09, 0x00, 0x32, 0x04, 0x61, 0x6c,
	0x74, 0x34, 0xc0, 0x2a, 0x00, 0x00, 0x29, 0x02, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00,
};

/* ndpi-dns_long_domainname.pcap frame 2: NXDOMAIN, SOA in authority */
static const uint8_t nxdomain[] = {
	0x8b, 0x54, 0x81, 0x83, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x06, 0x67, 0x6d, 0x72, 0x30, 0x32, 0x63, 0x02, 0x31, 0x36, 0x01, 0x30,
	0x0c, 0x66, 0x68, 0x6b, 0x66, 0x68, 0x73, 0x64, 0x6b, 0x66, 0x68, 0x73,
	0x6b, 0x06, 0x74, 0x75, 0x6e, 0x6e, 0x65, 0x6c, 0x07, 0x65, 0x78, 0x61,
	0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00,
	0x01, 0xc0, 0x2c, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x05, 0xc3, 0x00,
	0x2c, 0x02, 0x6e, 0x73, 0x05, 0x69, 0x63, 0x61, 0x6e, 0x6e, 0x03, 0x6f,
	0x72, 0x67, 0x00, 0x03, 0x6e, 0x6f, 0x63, 0x03, 0x64, 0x6e, 0x73, 0xc0,
	0x4c, 0x78, 0x67, 0xfa, 0xbe, 0x00, 0x00, 0x1c, 0x20, 0x00, 0x00, 0x0e,
	0x10, 0x00, 0x12, 0x75, 0x00, 0x00, 0x00, 0x0e, 0x10,
};

/* cesnet-dns.pcap frame 4: PTR */
static const uint8_t cesnet_ptr[] = {
	0x16, 0x85, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x03, 0x32, 0x33, 0x30, 0x03, 0x31, 0x34, 0x34, 0x03, 0x31, 0x31, 0x33,
	0x03, 0x31, 0x39, 0x35, 0x07, 0x69, 0x6e, 0x2d, 0x61, 0x64, 0x64, 0x72,
	0x04, 0x61, 0x72, 0x70, 0x61, 0x00, 0x00, 0x0c, 0x00, 0x01, 0xc0, 0x0c,
	0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x54, 0x5f, 0x00, 0x0f, 0x03, 0x77,
	0x77, 0x77, 0x06, 0x63, 0x65, 0x73, 0x6e, 0x65, 0x74, 0x02, 0x63, 0x7a,
	0x00, 0x00, 0x00, 0x29, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* cesnet-dns.pcap frame 14: 2 TXT */
static const uint8_t cesnet_txt[] = {
	0x49, 0x49, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
	0x07, 0x79, 0x6f, 0x75, 0x74, 0x75, 0x62, 0x65, 0x03, 0x63, 0x6f, 0x6d,
	0x00, 0x00, 0x10, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00,
	0x00, 0x0b, 0xe2, 0x00, 0x22, 0x21, 0x76, 0x3d, 0x73, 0x70, 0x66, 0x31,
	0x20, 0x69, 0x6e, 0x63, 0x6c, 0x75, 0x64, 0x65, 0x3a, 0x67, 0x6f, 0x6f,
	0x67, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x20, 0x6d, 0x78, 0x20, 0x2d,
	0x61, 0x6c, 0x6c, 0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x0b,
	0xe2, 0x00, 0x45, 0x44, 0x67, 0x6f, 0x6f, 0x67, 0x6c, 0x65, 0x2d, 0x73,
	0x69, 0x74, 0x65, 0x2d, 0x76, 0x65, 0x72, 0x69, 0x66, 0x69, 0x63, 0x61,
	0x74, 0x69, 0x6f, 0x6e, 0x3d, 0x4f, 0x51, 0x7a, 0x36, 0x30, 0x76, 0x52,
	0x2d, 0x59, 0x61, 0x70, 0x6d, 0x61, 0x56, 0x72, 0x61, 0x66, 0x57, 0x43,
	0x41, 0x4c, 0x70, 0x50, 0x79, 0x41, 0x38, 0x65, 0x4b, 0x4a, 0x4b, 0x73,
	0x73, 0x52, 0x68, 0x66, 0x49, 0x72, 0x7a, 0x4d, 0x2d, 0x44, 0x4a, 0x49,
	0x00, 0x00, 0x29, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* zeek-dns-two-responses.pcap frame 2: CNAME chain, RRSIG */
static const uint8_t cmu_chain[] = {
	0x52, 0x94, 0x84, 0x10, 0x00, 0x01, 0x00, 0x04, 0x00, 0x02, 0x00, 0x04,
	0x03, 0x77, 0x77, 0x77, 0x03, 0x63, 0x6d, 0x75, 0x03, 0x65, 0x64, 0x75,
	0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00,
	0x01, 0x51, 0x80, 0x00, 0x11, 0x07, 0x57, 0x57, 0x57, 0x2d, 0x43, 0x4d,
	0x55, 0x06, 0x41, 0x4e, 0x44, 0x52, 0x45, 0x57, 0xc0, 0x10, 0xc0, 0x0c,
	0x00, 0x2e, 0x00, 0x01, 0x00, 0x01, 0x51, 0x80, 0x00, 0x9b, 0x00, 0x05,
	0x07, 0x03, 0x00, 0x01, 0x51, 0x80, 0x51, 0x5c, 0xb2, 0x5b, 0x51, 0x35,
	0x18, 0x7a, 0x1b, 0x23, 0x03, 0x63, 0x6d, 0x75, 0x03, 0x65, 0x64, 0x75,
	0x00, 0x6b, 0x74, 0x1a, 0xb2, 0x61, 0x6a, 0x3f, 0x33, 0xb0, 0x2d, 0x97,
	0xc4, 0x1e, 0xdb, 0x5f, 0xc0, 0x4b, 0xde, 0x32, 0x78, 0x06, 0x87, 0xbd,
	0xcf, 0x24, 0xb8, 0x20, 0x8d, 0xae, 0x75, 0x50, 0xe3, 0x5b, 0x16, 0x44,
	0x28, 0xfb, 0xa9, 0x1d, 0x0c, 0x72, 0xe7, 0x57, 0xa7, 0x0d, 0xcb, 0x38,
	0x92, 0x4d, 0x70, 0x2d, 0x04, 0xa5, 0x91, 0x9b, 0x67, 0x3d, 0x05, 0x06,
	0x5e, 0x24, 0x06, 0xb9, 0x3b, 0x99, 0xcb, 0x4a, 0xd9, 0x45, 0xc4, 0x6d,
	0x55, 0x0a, 0x28, 0xed, 0xbc, 0xc1, 0xcb, 0xe6, 0xdb, 0x31, 0xc7, 0xb8,
	0x65, 0x0a, 0x64, 0x28, 0xac, 0xfa, 0xb4, 0x6f, 0xc5, 0x98, 0x7d, 0xb5,
	0x61, 0xa7, 0x14, 0x89, 0x3a, 0x10, 0x03, 0xe4, 0x64, 0xf1, 0x55, 0x0d,
	0x3e, 0x3c, 0x34, 0x4c, 0x09, 0x3a, 0x34, 0x75, 0xef, 0xdd, 0xd7, 0xd5,
	0xd2, 0x17, 0x6c, 0x62, 0x03, 0x35, 0x0a, 0x2e, 0xaa, 0xc0, 0x29, 0x00,
	0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x0c, 0x09, 0x57, 0x57,
	0x57, 0x2d, 0x43, 0x4d, 0x55, 0x2d, 0x32, 0xc0, 0x31, 0xc0, 0xed, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x00, 0x54, 0x60, 0x00, 0x04, 0x80, 0x02, 0x0a,
	0xa3, 0xc0, 0x31, 0x00, 0x02, 0x00, 0x01, 0x00, 0x01, 0x51, 0x80, 0x00,
	0x0e, 0x07, 0x4e, 0x53, 0x41, 0x55, 0x54, 0x48, 0x31, 0x03, 0x4e, 0x45,
	0x54, 0xc0, 0x58, 0xc0, 0x31, 0x00, 0x02, 0x00, 0x01, 0x00, 0x01, 0x51,
	0x80, 0x00, 0x0a, 0x07, 0x4e, 0x53, 0x41, 0x55, 0x54, 0x48, 0x32, 0xc1,
	0x1d, 0xc1, 0x15, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x51, 0x80, 0x00,
	0x04, 0x80, 0x02, 0x01, 0x08, 0xc1, 0x15, 0x00, 0x1c, 0x00, 0x01, 0x00,
	0x01, 0x51, 0x80, 0x00, 0x10, 0x26, 0x07, 0xfb, 0x28, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc1, 0x2f, 0x00,
	0x01, 0x00, 0x01, 0x00, 0x01, 0x51, 0x80, 0x00, 0x04, 0x80, 0xed, 0x94,
	0xa8, 0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
};

/* ndpi-dns-invalid-chars.pcap frame 1: control bytes in a label */
static const uint8_t badchars_q[] = {
	0x9f, 0x6c, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x03, 0x77, 0x77, 0x77, 0x17, 0x61, 0x6c, 0x6c, 0x79, 0x6f, 0x75, 0x72,
	0x62, 0x61, 0x04, 0x05, 0x06, 0x61, 0x72, 0x65, 0x62, 0x65, 0x6c, 0x6f,
	0x6e, 0x67, 0x74, 0x6f, 0x02, 0x63, 0x6e, 0x00, 0x00, 0x01, 0x00, 0x01,
};

/* ndpi-dns-invalid-chars.pcap frame 2 */
static const uint8_t badchars_r[] = {
	0x9f, 0x6c, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x03, 0x77, 0x77, 0x77, 0x17, 0x61, 0x6c, 0x6c, 0x79, 0x6f, 0x75, 0x72,
	0x62, 0x61, 0x73, 0x65, 0x73, 0x61, 0x72, 0x65, 0x01, 0x02, 0x03, 0x6f,
	0x6e, 0x67, 0x74, 0x6f, 0x02, 0x63, 0x6e, 0x00, 0x00, 0x01, 0x00, 0x01,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04,
	0x13, 0xb9, 0x8d, 0xf1,
};

/* ndpi-badpackets.pcap frame 1: NXDOMAIN cut by the snap length inside
 * its authority section. */
static const uint8_t snap_cut[] = {
	0x01, 0x68, 0x85, 0x93, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x01,
	0x0b, 0x70, 0x68, 0x6c, 0x31, 0x73, 0x70, 0x72, 0x74, 0x31, 0x30, 0x38,
	0x02, 0x61, 0x64, 0x03, 0x64, 0x6c, 0x61, 0x03, 0x6d, 0x69, 0x6c, 0x00,
	0x00, 0x01, 0x00, 0x01, 0xc0, 0x1b, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00,
	0x02, 0x1d, 0x00, 0x2d, 0x08, 0x65, 0x61, 0x67, 0x6c, 0x65, 0x69, 0x62,
	0x31, 0xc0, 0x18, 0x0b, 0x72, 0x61, 0x6e, 0x64, 0x79, 0x2e, 0x73, 0x6d,
	0x69, 0x74, 0x68, 0xc0, 0x1b, 0x77, 0xb2, 0x29, 0x2b, 0x00, 0x00, 0x2a,
	0x30, 0x00, 0x00, 0x04, 0x38, 0x00, 0x09, 0x3a, 0x80, 0x00, 0x00, 0x03,
	0x84, 0xc0, 0x1b, 0x00, 0x2e, 0x00, 0x01, 0x00, 0x00, 0x02, 0x1d, 0x00,
	0x9b, 0x00, 0x06, 0x08, 0x02, 0x00, 0x00, 0x03, 0x84, 0x59, 0x2f, 0xe8,
	0xe6, 0x59, 0x22, 0xab, 0xd6, 0x36, 0x24, 0x03, 0x64, 0x6c, 0x61, 0x03,
	0x6d, 0x69, 0x6c, 0x00, 0x43, 0xe3, 0x63, 0xac, 0xda, 0x6d, 0x57, 0xe6,
	0xf6, 0xfc, 0x24, 0xea, 0x64, 0xa1, 0xf6, 0x6e, 0x24, 0x8f, 0xdb, 0xbb,
	0x64, 0x39, 0x64, 0xc6, 0xab, 0x62, 0x82, 0x52, 0x19, 0x4e, 0x1f, 0xd1,
	0x38, 0xd4, 0xc2, 0xd2, 0x3a, 0x4d, 0xa5, 0x09, 0x82, 0xfa, 0xb2, 0x60,
	0xd7, 0xe5, 0xf9, 0xa6, 0xd7, 0x32, 0x6e, 0xa1, 0xba, 0x76, 0x77, 0x2a,
	0xd4, 0xa3, 0xef, 0x48, 0x9a, 0xb7, 0x7c, 0x6d, 0x70, 0xf1, 0x50, 0xc8,
	0x1b, 0xbc, 0xc9, 0x7f, 0xb7, 0xfa, 0x1b, 0xd8, 0x22, 0x91, 0x8f, 0x55,
	0x30, 0x21, 0xa6, 0x07, 0x12, 0xe5, 0xb0, 0xab, 0x72, 0xc4, 0x73, 0x91,
	0x6b,
};

/* ndpi-bad-dns-traffic.pcap frame 5: TXT */
static const uint8_t dnscat_txt[] = {
	0x94, 0x7b, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x12, 0x37, 0x63, 0x64, 0x35, 0x30, 0x31, 0x61, 0x36, 0x32, 0x31, 0x63,
	0x33, 0x36, 0x32, 0x30, 0x31, 0x30, 0x61, 0x0c, 0x73, 0x6b, 0x75, 0x6c,
	0x6c, 0x73, 0x65, 0x63, 0x6c, 0x61, 0x62, 0x73, 0x03, 0x6f, 0x72, 0x67,
	0x00, 0x00, 0x10, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x3c, 0x00, 0x13, 0x12, 0x39, 0x36, 0x62, 0x32, 0x30, 0x31,
	0x61, 0x36, 0x32, 0x31, 0x30, 0x31, 0x30, 0x61, 0x63, 0x33, 0x36, 0x32,
};

/* tcpdump-dns-zlip-1.pcap frame 1: the bytes after the UDP header (whose
 * length field says 0); the question name is a pointer to itself. */
static const uint8_t zlip[] = {
	0xed, 0x69, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xc0, 0x0c, 0xc0, 0x07, 0xc0, 0x10, 0xc0, 0x17, 0xc0, 0x20, 0xc0, 0x27,
	0xc0, 0x30, 0xc0, 0xff, 0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
};

struct want_rr {
	const char *name;
	uint16_t type;
	uint32_t ttl;
	const char *data;
};

/* Answers in order, as tshark (names, A, AAAA, CNAME) and tcpdump (MX, PTR,
 * TXT) show them. */
static void check_answers(const char *what, const struct want_rr *w, int n)
{
	char lbl[128];

	snprintf(lbl, sizeof(lbl), "%s: na", what);
	CHECK_EQ(m.na, n, lbl);
	for (int i = 0; i < n && i < m.na; i++) {
		snprintf(lbl, sizeof(lbl), "%s: answer %d owner", what, i);
		CHECK_STR(m.a[i].name, w[i].name, lbl);
		snprintf(lbl, sizeof(lbl), "%s: answer %d type", what, i);
		CHECK_EQ(m.a[i].type, w[i].type, lbl);
		snprintf(lbl, sizeof(lbl), "%s: answer %d class", what, i);
		CHECK_EQ(m.a[i].class, DNS_CLASS_IN, lbl);
		snprintf(lbl, sizeof(lbl), "%s: answer %d ttl", what, i);
		CHECK_EQ(m.a[i].ttl, w[i].ttl, lbl);
		snprintf(lbl, sizeof(lbl), "%s: answer %d data", what, i);
		CHECK_STR(m.a[i].data, w[i].data, lbl);
	}
}

static void check_question(const char *what, const char *name, uint16_t type)
{
	char lbl[128];

	snprintf(lbl, sizeof(lbl), "%s: nq", what);
	CHECK_EQ(m.nq, 1, lbl);
	snprintf(lbl, sizeof(lbl), "%s: qname", what);
	CHECK_STR(m.q[0].name, name, lbl);
	snprintf(lbl, sizeof(lbl), "%s: qtype", what);
	CHECK_EQ(m.q[0].type, type, lbl);
	snprintf(lbl, sizeof(lbl), "%s: qclass", what);
	CHECK_EQ(m.q[0].class, DNS_CLASS_IN, lbl);
}

static void check_counts(const char *what, int qd, int an, int ns, int ar)
{
	char lbl[128];

	snprintf(lbl, sizeof(lbl), "%s: counts", what);
	CHECK(m.qdcount == qd && m.ancount == an && m.nscount == ns &&
	      m.arcount == ar, "%s: got %u/%u/%u/%u, want %d/%d/%d/%d", lbl,
	      m.qdcount, m.ancount, m.nscount, m.arcount, qd, an, ns, ar);
}

static void test_real_arkime(void)
{
	static const struct want_rr ans[] = {
		{ "www.github.com", DNS_TYPE_CNAME, 1980, "github.com" },
		{ "github.com", DNS_TYPE_A, 4, "192.30.252.128" },
	};

	CHECK_EQ(dns_parse(arkime_query, sizeof(arkime_query), &m), 0, "arkime query: rc");
	CHECK_EQ(m.id, 57401, "arkime query: id");
	CHECK_EQ(m.qr, 0, "arkime query: qr");
	CHECK_EQ(m.rd, 1, "arkime query: rd");
	check_counts("arkime query", 1, 0, 0, 0);
	check_question("arkime query", "www.github.com", DNS_TYPE_A);
	CHECK_EQ(m.truncated, 0, "arkime query: truncated");

	/* The 4 NS and 4 glue A records are walked, not stored. */
	CHECK_EQ(dns_parse(arkime_cname_a, sizeof(arkime_cname_a), &m), 0,
		 "arkime response: rc");
	CHECK_EQ(m.id, 57401, "arkime response: id");
	CHECK_EQ(m.qr, 1, "arkime response: qr");
	CHECK_EQ(m.ra, 1, "arkime response: ra");
	CHECK_EQ(m.rcode, 0, "arkime response: rcode");
	check_counts("arkime response", 1, 2, 4, 4);
	check_question("arkime response", "www.github.com", DNS_TYPE_A);
	check_answers("arkime response", ans, 2);
	CHECK_EQ(m.a[0].rdlength, 2, "arkime response: CNAME rdlength");
	CHECK_EQ(m.truncated, 0, "arkime response: truncated");

	CHECK_EQ(dns_parse(arkime_any, sizeof(arkime_any), &m), 0, "arkime ANY: rc");
	CHECK_EQ(m.id, 51878, "arkime ANY: id");
	CHECK_EQ(m.rd, 0, "arkime ANY: rd");
	check_counts("arkime ANY", 1, 0, 0, 1);
	check_question("arkime ANY", "10.100.10.10.in-addr.arpa", DNS_TYPE_ANY);
	CHECK_EQ(m.truncated, 0, "arkime ANY: truncated");
}

static void test_real_tcp(void)
{
	static const struct want_rr ans[] = {
		{ "www.tcpdump.org", DNS_TYPE_A, 60, "192.139.46.66" },
		{ "www.tcpdump.org", DNS_TYPE_A, 60, "198.199.88.104" },
	};
	size_t n;

	n = dns_tcp_msg_len(tcp_query, sizeof(tcp_query));
	CHECK_EQ(n, 56, "TCP query: length prefix");
	CHECK_EQ(n, sizeof(tcp_query) - 2, "TCP query: one whole message");
	CHECK_EQ(dns_parse(tcp_query + 2, n, &m), 0, "TCP query: rc");
	CHECK_EQ(m.id, 17177, "TCP query: id");
	CHECK_EQ(m.qr, 0, "TCP query: qr");
	check_counts("TCP query", 1, 0, 0, 1);
	check_question("TCP query", "www.tcpdump.org", DNS_TYPE_A);
	CHECK_EQ(m.truncated, 0, "TCP query: truncated");
	CHECK_EQ(dns_detect(tcp_query, sizeof(tcp_query)), 1, "TCP query: detect");

	n = dns_tcp_msg_len(tcp_resp, sizeof(tcp_resp));
	CHECK_EQ(n, 224, "TCP response: length prefix");
	CHECK_EQ(n, sizeof(tcp_resp) - 2, "TCP response: one whole message");
	CHECK_EQ(dns_parse(tcp_resp + 2, n, &m), 0, "TCP response: rc");
	CHECK_EQ(m.id, 17177, "TCP response: id");
	CHECK_EQ(m.qr, 1, "TCP response: qr");
	CHECK_EQ(m.aa, 1, "TCP response: aa");
	CHECK_EQ(m.rcode, 0, "TCP response: rcode");
	check_counts("TCP response", 1, 2, 2, 5);
	check_question("TCP response", "www.tcpdump.org", DNS_TYPE_A);
	check_answers("TCP response", ans, 2);
	CHECK_EQ(m.truncated, 0, "TCP response: truncated");
	CHECK_EQ(dns_detect(tcp_resp, sizeof(tcp_resp)), 1, "TCP response: detect");
}

static void test_real_google(void)
{
	static const char *const ips[12] = {
		"216.197.242.244", "216.197.242.217", "216.197.242.216",
		"216.197.242.210", "216.197.242.237", "216.197.242.231",
		"216.197.242.238", "216.197.242.230", "216.197.242.224",
		"216.197.242.251", "216.197.242.223", "216.197.242.245",
	};
	static const struct want_rr v6[] = {
		{ "google.com", DNS_TYPE_AAAA, 299, "2607:f8b0:400f:801::200e" },
	};
	static const struct want_rr mx[] = {
		{ "google.com", DNS_TYPE_MX, 599, "10 aspmx.l.google.com" },
		{ "google.com", DNS_TYPE_MX, 599, "20 alt1.aspmx.l.google.com" },
		{ "google.com", DNS_TYPE_MX, 599, "30 alt2.aspmx.l.google.com" },
		{ "google.com", DNS_TYPE_MX, 599, "40 alt3.aspmx.l.google.com" },
		{ "google.com", DNS_TYPE_MX, 599, "50 alt4.aspmx.l.google.com" },
	};
	struct want_rr a[12];

	for (int i = 0; i < 12; i++)
		a[i] = (struct want_rr){ "google.com", DNS_TYPE_A, 299, ips[i] };
	CHECK_EQ(dns_parse(google_a, sizeof(google_a), &m), 0, "google A: rc");
	CHECK_EQ(m.id, 6701, "google A: id");
	check_counts("google A", 1, 12, 0, 1);
	check_question("google A", "google.com", DNS_TYPE_A);
	check_answers("google A", a, 12);
	CHECK_EQ(m.truncated, 0, "google A: truncated");

	CHECK_EQ(dns_parse(google_aaaa, sizeof(google_aaaa), &m), 0, "google AAAA: rc");
	CHECK_EQ(m.id, 36208, "google AAAA: id");
	check_question("google AAAA", "google.com", DNS_TYPE_AAAA);
	check_answers("google AAAA", v6, 1);
	CHECK_EQ(m.truncated, 0, "google AAAA: truncated");

	CHECK_EQ(dns_parse(google_mx, sizeof(google_mx), &m), 0, "google MX: rc");
	CHECK_EQ(m.id, 22038, "google MX: id");
	check_counts("google MX", 1, 5, 0, 1);
	check_question("google MX", "google.com", DNS_TYPE_MX);
	check_answers("google MX", mx, 5);
	CHECK_EQ(m.a[0].rdlength, 12, "google MX: first rdlength");
	CHECK_EQ(m.a[1].rdlength, 9, "google MX: compressed rdlength");
	CHECK_EQ(m.truncated, 0, "google MX: truncated");
}

static void test_real_zlip(void)
{
	/* tcpdump: "[length 0 < 12] (invalid)"; tshark: no DNS message. */
	CHECK_EQ(dns_parse(zlip, sizeof(zlip), &m), 0, "zlip: rc");
	CHECK_EQ(m.id, 0xed69, "zlip: id");
	CHECK_EQ(m.qdcount, 1, "zlip: qdcount");
	CHECK_EQ(m.nq, 0, "zlip: nq");
	CHECK_EQ(m.na, 0, "zlip: na");
	CHECK_EQ(m.truncated, 1, "zlip: truncated");
	CHECK_EQ(dns_detect(zlip, sizeof(zlip)), 0, "zlip: detect");
}

static void test_real_nxdomain(void)
{
	CHECK_EQ(dns_parse(nxdomain, sizeof(nxdomain), &m), 0, "NXDOMAIN: rc");
	CHECK_EQ(m.id, 35668, "NXDOMAIN: id");
	CHECK_EQ(m.qr, 1, "NXDOMAIN: qr");
	CHECK_EQ(m.rcode, DNS_RCODE_NXDOMAIN, "NXDOMAIN: rcode");
	check_counts("NXDOMAIN", 1, 0, 1, 0);
	check_question("NXDOMAIN", "gmr02c.16.0.fhkfhsdkfhsk.tunnel.example.com",
		       DNS_TYPE_A);
	CHECK_EQ(m.na, 0, "NXDOMAIN: na");
	CHECK_EQ(m.truncated, 0, "NXDOMAIN: truncated");
}

static void test_real_cesnet(void)
{
	static const struct want_rr ptr[] = {
		{ "230.144.113.195.in-addr.arpa", DNS_TYPE_PTR, 21599, "www.cesnet.cz" },
	};
	/* "v=spf1 include:google.com mx -all" and
	 * "google-site-verification=OQz60vR-YapmaVrafWCALpPyA8eKJKssRhfIrzM-DJI" */
	static const struct want_rr txt[] = {
		{ "youtube.com", DNS_TYPE_TXT, 3042, "33" },
		{ "youtube.com", DNS_TYPE_TXT, 3042, "68" },
	};

	CHECK_EQ(dns_parse(cesnet_ptr, sizeof(cesnet_ptr), &m), 0, "PTR: rc");
	CHECK_EQ(m.id, 5765, "PTR: id");
	check_question("PTR", "230.144.113.195.in-addr.arpa", DNS_TYPE_PTR);
	check_answers("PTR", ptr, 1);
	CHECK_EQ(m.truncated, 0, "PTR: truncated");

	CHECK_EQ(dns_parse(cesnet_txt, sizeof(cesnet_txt), &m), 0, "TXT: rc");
	CHECK_EQ(m.id, 18761, "TXT: id");
	check_question("TXT", "youtube.com", DNS_TYPE_TXT);
	check_answers("TXT", txt, 2);
	CHECK_EQ(m.a[0].rdlength, 34, "TXT: rdlength 1");
	CHECK_EQ(m.a[1].rdlength, 69, "TXT: rdlength 2");
	CHECK_EQ(m.truncated, 0, "TXT: truncated");
}

static void test_real_cname_chain(void)
{
	static const struct want_rr ans[] = {
		{ "www.cmu.edu", DNS_TYPE_CNAME, 86400, "WWW-CMU.ANDREW.cmu.edu" },
		{ "www.cmu.edu", 46, 86400, "" },    /* RRSIG */
		{ "WWW-CMU.ANDREW.cmu.edu", DNS_TYPE_CNAME, 5, "WWW-CMU-2.ANDREW.cmu.edu" },
		{ "WWW-CMU-2.ANDREW.cmu.edu", DNS_TYPE_A, 21600, "128.2.10.163" },
	};

	CHECK_EQ(dns_parse(cmu_chain, sizeof(cmu_chain), &m), 0, "CMU: rc");
	CHECK_EQ(m.id, 21140, "CMU: id");
	CHECK_EQ(m.aa, 1, "CMU: aa");
	check_counts("CMU", 1, 4, 2, 4);
	check_question("CMU", "www.cmu.edu", DNS_TYPE_A);
	check_answers("CMU", ans, 4);
	CHECK_EQ(m.a[1].rdlength, 155, "CMU: RRSIG rdlength");
	CHECK_EQ(m.truncated, 0, "CMU: truncated");
}

static void test_real_escapes(void)
{
	static const struct want_rr ans[] = {
		{ "www.allyourbasesare\\001\\002\\003ongto.cn", DNS_TYPE_A, 60,
		  "19.185.141.241" },
	};

	CHECK_EQ(dns_parse(badchars_q, sizeof(badchars_q), &m), 0, "bad chars query: rc");
	CHECK_EQ(m.id, 40812, "bad chars query: id");
	check_question("bad chars query", "www.allyourba\\004\\005\\006arebelongto.cn",
		       DNS_TYPE_A);
	CHECK_EQ(dns_detect(badchars_q, sizeof(badchars_q)), 1, "bad chars query: detect");

	CHECK_EQ(dns_parse(badchars_r, sizeof(badchars_r), &m), 0, "bad chars response: rc");
	check_question("bad chars response", "www.allyourbasesare\\001\\002\\003ongto.cn",
		       DNS_TYPE_A);
	check_answers("bad chars response", ans, 1);
	CHECK_EQ(m.truncated, 0, "bad chars response: truncated");
}

static void test_real_snap_cut(void)
{
	/* tcpdump: "360 NXDomain* q: A? phl1sprt108.ad.dla.mil. 0/12/1 ns:
	 * dla.mil. SOA ..., dla.mil. RRSIG [|domain]" */
	CHECK_EQ(dns_parse(snap_cut, sizeof(snap_cut), &m), 0, "snap cut: rc");
	CHECK_EQ(m.id, 360, "snap cut: id");
	CHECK_EQ(m.rcode, DNS_RCODE_NXDOMAIN, "snap cut: rcode");
	CHECK_EQ(m.aa, 1, "snap cut: aa");
	check_counts("snap cut", 1, 0, 12, 1);
	check_question("snap cut", "phl1sprt108.ad.dla.mil", DNS_TYPE_A);
	CHECK_EQ(m.na, 0, "snap cut: na");
	CHECK_EQ(m.truncated, 1, "snap cut: truncated");
	CHECK_EQ(dns_detect(snap_cut, sizeof(snap_cut)), 1, "snap cut: detect");
}

static void test_real_dnscat(void)
{
	/* tcpdump: TXT "96b201a621010ac362" */
	static const struct want_rr ans[] = {
		{ "7cd501a621c362010a.skullseclabs.org", DNS_TYPE_TXT, 60, "18" },
	};

	CHECK_EQ(dns_parse(dnscat_txt, sizeof(dnscat_txt), &m), 0, "dnscat: rc");
	CHECK_EQ(m.id, 38011, "dnscat: id");
	check_question("dnscat", "7cd501a621c362010a.skullseclabs.org", DNS_TYPE_TXT);
	check_answers("dnscat", ans, 1);
	CHECK_EQ(m.a[0].rdlength, 19, "dnscat: rdlength");
	CHECK_EQ(m.truncated, 0, "dnscat: truncated");
}

/* Every real message is detected, and no prefix of it breaks the parser's
 * promises: what it stores is always a prefix of the whole parse. */
static void test_real_prefixes(void)
{
	static const struct {
		const uint8_t *b;
		size_t n;
	} msgs[] = {
		{ arkime_query, sizeof(arkime_query) },
		{ arkime_cname_a, sizeof(arkime_cname_a) },
		{ arkime_any, sizeof(arkime_any) },
		{ google_a, sizeof(google_a) },
		{ google_aaaa, sizeof(google_aaaa) },
		{ google_mx, sizeof(google_mx) },
		{ nxdomain, sizeof(nxdomain) },
		{ cesnet_ptr, sizeof(cesnet_ptr) },
		{ cesnet_txt, sizeof(cesnet_txt) },
		{ cmu_chain, sizeof(cmu_chain) },
		{ badchars_q, sizeof(badchars_q) },
		{ badchars_r, sizeof(badchars_r) },
		{ snap_cut, sizeof(snap_cut) },
		{ dnscat_txt, sizeof(dnscat_txt) },
	};
	static struct dns_msg whole;
	int bad = 0;

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		CHECK_EQ(dns_detect(msgs[i].b, msgs[i].n), 1, "real: detect");
		CHECK_EQ(dns_parse(msgs[i].b, msgs[i].n, &whole), 0, "real: rc");
		for (size_t n = DNS_HDR_LEN; n < msgs[i].n; n++) {
			if (dns_parse(msgs[i].b, n, &m) != 0 || !m.truncated ||
			    m.nq > whole.nq || m.na > whole.na ||
			    memcmp(m.q, whole.q, m.nq * sizeof(m.q[0])) ||
			    memcmp(m.a, whole.a, m.na * sizeof(m.a[0])))
				bad++;
		}
	}
	CHECK_EQ(bad, 0, "real: cut messages");
}

int main(void)
{
	test_query();
	test_response_a();
	test_aaaa();
	test_cname_chain();
	test_ptr_ns();
	test_mx();
	test_txt();
	test_nxdomain();
	test_compression();
	test_compression_loop();
	test_pointer_forward();
	test_label_too_long();
	test_name_length();
	test_text_cut();
	test_escape();
	test_root();
	test_truncated_header();
	test_truncated_question();
	test_truncated_answer();
	test_counts_exceed();
	test_not_dns();
	test_header_flags();
	test_limits();
	test_bad_rdata();
	test_other_types();
	test_detect();
	test_tcp_msg_len();
	test_output_reset();

	test_real_arkime();
	test_real_tcp();
	test_real_google();
	test_real_zlip();
	test_real_nxdomain();
	test_real_cesnet();
	test_real_cname_chain();
	test_real_escapes();
	test_real_snap_cut();
	test_real_dnscat();
	test_real_prefixes();
	return check_summary("dns");
}
