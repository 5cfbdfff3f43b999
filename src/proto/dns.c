#include "proto/dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* Header flag bits (RFC 1035 4.1.1, RFC 2535 for Z). */
#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_Z  0x0040

#define DNS_OPCODE_MAX 6          /* 6 is DSO (RFC 8490); 7..15 unassigned */
#define DNS_MAX_MSG 65535         /* both UDP and the TCP length prefix cap it */
#define DNS_MIN_QUESTION 5        /* root name + type + class */
#define DNS_RR_FIXED 10           /* type, class, ttl, rdlength */
#define DNS_MIN_RR (1 + DNS_RR_FIXED)

/* Bounded text being built: a piece is appended whole or not at all, so a
 * cut never splits an escape. */
struct dns_txt {
	char *s;
	size_t cap;
	size_t n;
	int cut;
};

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void txt_init(struct dns_txt *t, char *s, size_t cap)
{
	t->s = s;
	t->cap = cap;
	t->n = 0;
	t->cut = 0;
	s[0] = '\0';
}

static void txt_put(struct dns_txt *t, const char *p, size_t n)
{
	if (!t || t->cut)
		return;
	if (t->n + n + 1 > t->cap) {
		t->cut = 1;
		return;
	}
	memcpy(t->s + t->n, p, n);
	t->n += n;
	t->s[t->n] = '\0';
}

/* Text of one label byte into dst (1 or 4 chars): printable ASCII as is;
 * '.', '\\', blanks and the rest as \DDD so a name stays one unambiguous
 * printable token. */
static size_t esc_byte(char *dst, uint8_t c)
{
	if (c > ' ' && c < 0x7f && c != '.' && c != '\\') {
		dst[0] = (char)c;
		return 1;
	}
	dst[0] = '\\';
	dst[1] = (char)('0' + c / 100);
	dst[2] = (char)('0' + c / 10 % 10);
	dst[3] = (char)('0' + c % 10);
	return 4;
}

/* The separator goes in with the label's first byte, so a cut name never
 * ends in '.'. Labels are never empty. */
static void txt_label(struct dns_txt *t, const uint8_t *label, size_t n,
		      int dot)
{
	char piece[5];
	size_t k = 0;

	if (!t)
		return;
	if (dot)
		piece[k++] = '.';
	k += esc_byte(piece + k, label[0]);
	txt_put(t, piece, k);
	for (size_t i = 1; i < n && !t->cut; i++) {
		k = esc_byte(piece, label[i]);
		txt_put(t, piece, k);
	}
}

/* Decodes the name at off. *end is where the name ends in place (after its
 * root byte or first pointer). t may be NULL to only check the name.
 * -1 if the name is cut or malformed. */
static int dns_name(const uint8_t *buf, size_t len, size_t off,
		    struct dns_txt *t, size_t *end)
{
	size_t pos = off, wire = 0;
	unsigned int hops = 0, labels = 0;
	int jumped = 0;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return -1;
		c = buf[pos];
		if (c == 0) {
			if (!jumped)
				*end = pos + 1;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			size_t ptr;

			if (pos + 1 >= len)
				return -1;
			ptr = (size_t)(c & 0x3f) << 8 | buf[pos + 1];
			/* Strictly backwards, and few hops: no loops. */
			if (ptr >= pos || ++hops > DNS_MAX_HOPS)
				return -1;
			if (!jumped)
				*end = pos + 2;
			jumped = 1;
			pos = ptr;
			continue;
		}
		if (c & 0xc0)   /* 0x40 and 0x80 label types: obsolete/reserved */
			return -1;
		if (pos + 1 + c > len)
			return -1;
		/* Wire length counts length bytes and the root byte. */
		wire += 1 + (size_t)c;
		if (wire + 1 > DNS_MAX_WIRE_NAME)
			return -1;
		txt_label(t, buf + pos + 1, c, labels++ > 0);
		pos += 1 + (size_t)c;
	}
}

/* Question at *off; q NULL checks it without storing. */
static int dns_question(const uint8_t *buf, size_t len, size_t *off,
			struct dns_question *q, struct dns_msg *m)
{
	struct dns_txt t;
	size_t p;

	if (q)
		txt_init(&t, q->name, sizeof(q->name));
	if (dns_name(buf, len, *off, q ? &t : NULL, &p) < 0)
		return -1;
	if (p + 4 > len)
		return -1;
	if (q) {
		q->type = get16(buf + p);
		q->class = get16(buf + p + 2);
		if (t.cut)
			m->truncated = 1;
	}
	*off = p + 4;
	return 0;
}

/* A name that must fill [off, rdend) exactly (NS, CNAME, PTR, MX). */
static int rdata_name(const uint8_t *buf, size_t len, size_t off,
		      size_t rdend, struct dns_txt *t)
{
	size_t end;

	if (off >= rdend || dns_name(buf, len, off, t, &end) < 0)
		return -1;
	return end == rdend ? 0 : -1;
}

/* Sum of the character-string lengths; -1 if one overruns the rdata. */
static long txt_total(const uint8_t *buf, size_t off, size_t rdend)
{
	long total = 0;

	while (off < rdend) {
		uint8_t l = buf[off];

		if (off + 1 + l > rdend)
			return -1;
		total += l;
		off += 1 + (size_t)l;
	}
	return total;
}

/* Text form of the rdata in [off, off + a->rdlength), already bounds
 * checked against len. -1 if the rdata does not fit its type. */
static int rdata_text(const uint8_t *buf, size_t len, size_t off,
		      struct dns_answer *a, struct dns_txt *t)
{
	size_t rdend = off + a->rdlength;
	char tmp[INET6_ADDRSTRLEN];
	long total;
	int n;

	switch (a->type) {
	case DNS_TYPE_A:
		if (a->rdlength != 4)
			return -1;
		n = snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u", buf[off],
			     buf[off + 1], buf[off + 2], buf[off + 3]);
		txt_put(t, tmp, (size_t)n);
		return 0;
	case DNS_TYPE_AAAA:
		if (a->rdlength != 16 ||
		    !inet_ntop(AF_INET6, buf + off, tmp, sizeof(tmp)))
			return -1;
		txt_put(t, tmp, strlen(tmp));
		return 0;
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
		return rdata_name(buf, len, off, rdend, t);
	case DNS_TYPE_MX:
		if (a->rdlength < 3)
			return -1;
		n = snprintf(tmp, sizeof(tmp), "%u ", get16(buf + off));
		txt_put(t, tmp, (size_t)n);
		return rdata_name(buf, len, off + 2, rdend, t);
	case DNS_TYPE_TXT:
		total = txt_total(buf, off, rdend);
		if (total < 0)
			return -1;
		n = snprintf(tmp, sizeof(tmp), "%ld", total);
		txt_put(t, tmp, (size_t)n);
		return 0;
	default:
		return 0;
	}
}

/* Resource record at *off; a NULL checks its framing without storing.
 * -1 stops the walk (owner name, fixed part or rdata cut/malformed); rdata
 * that does not fit its type only empties a->data and flags the message. */
static int dns_rr(const uint8_t *buf, size_t len, size_t *off,
		  struct dns_answer *a, struct dns_msg *m)
{
	struct dns_txt t;
	uint16_t rdlength;
	size_t p;

	if (a)
		txt_init(&t, a->name, sizeof(a->name));
	if (dns_name(buf, len, *off, a ? &t : NULL, &p) < 0)
		return -1;
	if (p + DNS_RR_FIXED > len)
		return -1;
	rdlength = get16(buf + p + 8);
	if (p + DNS_RR_FIXED + rdlength > len)
		return -1;
	*off = p + DNS_RR_FIXED + rdlength;
	if (!a)
		return 0;
	if (t.cut)
		m->truncated = 1;
	a->type = get16(buf + p);
	a->class = get16(buf + p + 2);
	a->ttl = get32(buf + p + 4);
	a->rdlength = rdlength;
	txt_init(&t, a->data, sizeof(a->data));
	if (rdata_text(buf, len, p + DNS_RR_FIXED, a, &t) < 0) {
		a->data[0] = '\0';
		m->truncated = 1;
	} else if (t.cut) {
		m->truncated = 1;
	}
	return 0;
}

/* Fills the header fields; -1 if they cannot belong to a DNS message. */
static int dns_header(const uint8_t *buf, struct dns_msg *m)
{
	uint64_t need;

	m->id = get16(buf);
	m->flags = get16(buf + 2);
	m->qdcount = get16(buf + 4);
	m->ancount = get16(buf + 6);
	m->nscount = get16(buf + 8);
	m->arcount = get16(buf + 10);
	m->qr = !!(m->flags & DNS_F_QR);
	m->opcode = (m->flags >> 11) & 0xf;
	m->aa = !!(m->flags & DNS_F_AA);
	m->tc = !!(m->flags & DNS_F_TC);
	m->rd = !!(m->flags & DNS_F_RD);
	m->ra = !!(m->flags & DNS_F_RA);
	m->rcode = m->flags & 0xf;

	if (m->opcode > DNS_OPCODE_MAX)
		return -1;
	if (!m->qr && !m->qdcount)
		return -1;
	/* A cut message may promise more than it holds, but never more than
	 * the largest message could. */
	need = DNS_HDR_LEN + (uint64_t)m->qdcount * DNS_MIN_QUESTION +
	       ((uint64_t)m->ancount + m->nscount + m->arcount) * DNS_MIN_RR;
	return need > DNS_MAX_MSG ? -1 : 0;
}

int dns_parse(const uint8_t *buf, size_t len, struct dns_msg *out)
{
	size_t off = DNS_HDR_LEN;
	uint32_t rest;

	memset(out, 0, sizeof(*out));
	if (!buf || len < DNS_HDR_LEN)
		return -1;
	if (dns_header(buf, out) < 0)
		return -1;

	for (uint32_t i = 0; i < out->qdcount; i++) {
		struct dns_question *q = NULL;

		if (out->nq < DNS_MAX_QUESTIONS)
			q = &out->q[out->nq];
		if (dns_question(buf, len, &off, q, out) < 0) {
			if (q)
				memset(q, 0, sizeof(*q));
			out->truncated = 1;
			return 0;
		}
		if (q)
			out->nq++;
	}
	for (uint32_t i = 0; i < out->ancount; i++) {
		struct dns_answer *a = NULL;

		if (out->na < DNS_MAX_ANSWERS)
			a = &out->a[out->na];
		if (dns_rr(buf, len, &off, a, out) < 0) {
			if (a)
				memset(a, 0, sizeof(*a));
			out->truncated = 1;
			return 0;
		}
		if (a)
			out->na++;
	}
	/* Authority and additional: framing only. */
	rest = (uint32_t)out->nscount + out->arcount;
	for (uint32_t i = 0; i < rest; i++) {
		if (dns_rr(buf, len, &off, NULL, out) < 0) {
			out->truncated = 1;
			return 0;
		}
	}
	return 0;
}

static int known_class(uint16_t class)
{
	/* The top bit is mDNS's unicast-response request. */
	switch (class & 0x7fff) {
	case 1:     /* IN */
	case 3:     /* CH */
	case 4:     /* HS */
	case 254:   /* NONE */
	case 255:   /* ANY */
		return 1;
	default:
		return 0;
	}
}

/* Stricter than dns_parse: what real DNS traffic carries, so that random
 * payloads rarely pass. */
static int looks_dns(const uint8_t *buf, size_t len, struct dns_msg *m)
{
	if (dns_parse(buf, len, m) < 0)
		return 0;
	if (m->flags & DNS_F_Z)
		return 0;
	/* IQUERY is obsolete, 3 unassigned, DSO carries no question. */
	if (m->opcode == 1 || m->opcode == 3 || m->opcode == 6)
		return 0;
	if (!m->qr && m->rcode)
		return 0;
	if (!m->qdcount || m->qdcount > DNS_MAX_QUESTIONS || m->nq != m->qdcount)
		return 0;
	for (unsigned int i = 0; i < m->nq; i++)
		if (!known_class(m->q[i].class))
			return 0;
	return 1;
}

int dns_detect(const uint8_t *buf, size_t len)
{
	struct dns_msg m;
	size_t mlen;

	if (!buf)
		return 0;
	if (looks_dns(buf, len, &m))
		return 1;
	/* TCP: the prefix, then (the start of) one message. */
	mlen = dns_tcp_msg_len(buf, len);
	if (mlen < DNS_HDR_LEN)
		return 0;
	if (mlen > len - 2)
		mlen = len - 2;
	return looks_dns(buf + 2, mlen, &m);
}

size_t dns_tcp_msg_len(const uint8_t *buf, size_t len)
{
	if (!buf || len < 2)
		return 0;
	return get16(buf);
}
