/* libFuzzer target: the DNS message parser (src/proto/dns.h).
 *
 * Input: one UDP payload, or a TCP payload starting with the 2-byte length
 * prefix; both readings are parsed. Sanitizers catch memory errors; the
 * invariants below trap on results that cannot be right for any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dns.h"

#define ENSURE(c)                                                              \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static struct dns_msg msg, again;

static int is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* NUL-terminated inside its field, printable, and every backslash starts
 * a \DDD escape of a byte value. Returns the text length. */
static size_t check_text(const char *s, int allow_space)
{
	const char *end = memchr(s, '\0', DNS_MAX_NAME);
	size_t n;

	ENSURE(end);
	n = (size_t)(end - s);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		ENSURE(c > ' ' || (allow_space && c == ' '));
		ENSURE(c < 0x7f);
		if (c == '\\') {
			ENSURE(i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '2');
			ENSURE(s[i + 2] >= '0' && s[i + 2] <= '9');
			ENSURE(s[i + 3] >= '0' && s[i + 3] <= '9');
			ENSURE((s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 +
			       (s[i + 3] - '0') <= 255);
			i += 3;
		}
	}
	return n;
}

/* A name: no empty label, and (when not cut) at most 255 bytes on the
 * wire: each label's bytes plus its length byte, plus the root byte. */
static void check_name(const char *s, int may_be_cut)
{
	size_t n = check_text(s, 0), wire = 1, label = 0;

	if (!n)
		return;
	ENSURE(s[0] != '.' && s[n - 1] != '.');
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			ENSURE(label >= 1 && label <= 63);
			wire += 1 + label;
			label = 0;
			continue;
		}
		label++;
		if (s[i] == '\\')
			i += 3;
	}
	if (!may_be_cut)
		ENSURE(wire <= 255);
}

static int all_digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static void check_data(const struct dns_answer *a, int may_be_cut)
{
	size_t n = check_text(a->data, a->type == DNS_TYPE_MX);
	const char *sp;

	if (!n)
		return;
	switch (a->type) {
	case DNS_TYPE_A:
		ENSURE(a->rdlength == 4 && n >= 7 && n <= 15);
		break;
	case DNS_TYPE_AAAA:
		ENSURE(a->rdlength == 16 && n >= 2 && strchr(a->data, ':'));
		break;
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
		ENSURE(a->rdlength >= 1);
		check_name(a->data, may_be_cut);
		break;
	case DNS_TYPE_MX:
		sp = strchr(a->data, ' ');
		ENSURE(a->rdlength >= 3 && sp && all_digits(a->data, (size_t)(sp - a->data)));
		ENSURE(strtoul(a->data, NULL, 10) <= 65535);
		check_name(sp + 1, may_be_cut);
		break;
	case DNS_TYPE_TXT:
		/* Each string costs its length byte; no string at all is 0. */
		ENSURE(all_digits(a->data, n));
		if (a->rdlength)
			ENSURE(strtoul(a->data, NULL, 10) < a->rdlength);
		else
			ENSURE(!strcmp(a->data, "0"));
		break;
	default:
		ENSURE(0);      /* other types carry no text */
	}
}

static void check_header(const uint8_t *buf, const struct dns_msg *m)
{
	uint16_t flags = (uint16_t)(buf[2] << 8 | buf[3]);

	ENSURE(m->id == (uint16_t)(buf[0] << 8 | buf[1]));
	ENSURE(m->flags == flags);
	ENSURE(m->qr == flags >> 15);
	ENSURE(m->opcode == ((flags >> 11) & 0xf));
	ENSURE(m->aa == ((flags >> 10) & 1) && m->tc == ((flags >> 9) & 1));
	ENSURE(m->rd == ((flags >> 8) & 1) && m->ra == ((flags >> 7) & 1));
	ENSURE(m->rcode == (flags & 0xf));
	ENSURE(m->qdcount == (uint16_t)(buf[4] << 8 | buf[5]));
	ENSURE(m->ancount == (uint16_t)(buf[6] << 8 | buf[7]));
	ENSURE(m->nscount == (uint16_t)(buf[8] << 8 | buf[9]));
	ENSURE(m->arcount == (uint16_t)(buf[10] << 8 | buf[11]));
}

static int check_parse(const uint8_t *buf, size_t len)
{
	const struct dns_msg *m = &msg;
	uint64_t need;
	int rc;
	unsigned int wq, wa;

	rc = dns_parse(buf, len, &msg);
	ENSURE(rc == 0 || rc == -1);
	memset(&again, 0x5a, sizeof(again));
	ENSURE(dns_parse(buf, len, &again) == rc);
	ENSURE(!memcmp(&msg, &again, sizeof(msg)));

	if (len < DNS_HDR_LEN) {
		ENSURE(rc == -1 && is_zero(m, sizeof(*m)));
		return rc;
	}
	need = 12 + 5 * (uint64_t)(buf[4] << 8 | buf[5]) +
	       11 * ((uint64_t)(buf[6] << 8 | buf[7]) + (buf[8] << 8 | buf[9]) +
		     (buf[10] << 8 | buf[11]));
	if (rc < 0) {
		ENSURE(((buf[2] >> 3) & 0xf) > 6 ||
		       (!(buf[2] & 0x80) && !buf[4] && !buf[5]) || need > 65535);
		ENSURE(m->nq == 0 && m->na == 0 && !m->truncated);
		return rc;
	}
	check_header(buf, m);
	ENSURE(m->opcode <= 6 && (m->qr || m->qdcount) && need <= 65535);
	ENSURE(m->truncated <= 1);
	ENSURE(m->nq <= DNS_MAX_QUESTIONS && m->nq <= m->qdcount);
	ENSURE(m->na <= DNS_MAX_ANSWERS && m->na <= m->ancount);
	/* Stopping early always flags the message. */
	wq = m->qdcount < DNS_MAX_QUESTIONS ? m->qdcount : DNS_MAX_QUESTIONS;
	wa = m->ancount < DNS_MAX_ANSWERS ? m->ancount : DNS_MAX_ANSWERS;
	if (m->nq < wq || m->na < wa)
		ENSURE(m->truncated);
	if (m->na)
		ENSURE(m->nq == wq);
	if (!m->truncated)
		ENSURE(m->nq == wq && m->na == wa);

	for (unsigned int i = 0; i < DNS_MAX_QUESTIONS; i++) {
		if (i >= m->nq) {
			ENSURE(is_zero(&m->q[i], sizeof(m->q[i])));
			continue;
		}
		check_name(m->q[i].name, m->truncated);
	}
	for (unsigned int i = 0; i < DNS_MAX_ANSWERS; i++) {
		if (i >= m->na) {
			ENSURE(is_zero(&m->a[i], sizeof(m->a[i])));
			continue;
		}
		check_name(m->a[i].name, m->truncated);
		check_data(&m->a[i], m->truncated);
		/* Only a target name (the root) may decode to nothing. */
		if (m->a[i].data[0] == '\0' && !m->truncated)
			ENSURE(m->a[i].type != DNS_TYPE_A && m->a[i].type != DNS_TYPE_AAAA &&
			       m->a[i].type != DNS_TYPE_MX && m->a[i].type != DNS_TYPE_TXT);
	}
	return rc;
}

/* An exact-size copy, so a read past its end is caught. */
static uint8_t *dup_bytes(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1);

	ENSURE(b);
	if (size)
		memcpy(b, data, size);
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *udp = dup_bytes(data, size), *tcp;
	size_t mlen = dns_tcp_msg_len(udp, size);
	int det, rc_udp, rc_tcp = -1;

	det = dns_detect(udp, size);
	ENSURE(det == 0 || det == 1);
	ENSURE(dns_detect(udp, size) == det);
	rc_udp = check_parse(udp, size);

	if (size < 2) {
		ENSURE(mlen == 0);
	} else {
		ENSURE(mlen == (size_t)(data[0] << 8 | data[1]));
		if (mlen > size - 2)
			mlen = size - 2;
		tcp = dup_bytes(data + 2, mlen);
		rc_tcp = check_parse(tcp, mlen);
		free(tcp);
	}
	/* Detection implies one of the two readings parses. */
	if (det)
		ENSURE(rc_udp == 0 || rc_tcp == 0);
	free(udp);
	return 0;
}
