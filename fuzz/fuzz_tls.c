/* libFuzzer target: the TLS handshake parser (src/proto/tls.h).
 *
 * Input: one control byte, then the bytes. Bit 7 of the control byte marks
 * a QUIC hello, the rest sizes a small output buffer and a stream cut. The
 * bytes go to every function, both as the start of a TCP stream and as a
 * bare handshake body. Sanitizers catch memory errors; the invariants below
 * trap on results that cannot be right for any input. A certificate the
 * parser accepts must also decode with OpenSSL and print the same. */
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/tls.h"

#define ENSURE(c)                                                              \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

#define TERMINATED(s) ENSURE(memchr((s), '\0', sizeof(s)) != NULL)

static int is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static int is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static size_t nongrease(const uint16_t *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += !is_grease(v[i]);
	return k;
}

static int has(const uint16_t *v, size_t n, uint16_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

static void check_bounds(const struct tls_hello *h)
{
	TERMINATED(h->sni);
	TERMINATED(h->ja3);
	TERMINATED(h->ja3_md5);
	TERMINATED(h->ja4);
	ENSURE(h->nalpn <= TLS_MAX_ALPN);
	for (int i = 0; i < TLS_MAX_ALPN; i++)
		TERMINATED(h->alpn[i]);
	ENSURE(h->nciphers <= TLS_MAX_LIST && h->nciphers <= h->nciphers_total);
	ENSURE(h->nexts <= TLS_MAX_LIST && h->nexts <= h->nexts_total);
	ENSURE(h->ngroups <= TLS_MAX_LIST);
	ENSURE(h->nsigalgs <= TLS_MAX_LIST);
	ENSURE(h->npf <= sizeof(h->ec_point_formats));
	ENSURE(h->nversions <= sizeof(h->versions) / sizeof(h->versions[0]));
}

/* The JA3 MD5 is the hash of the JA3 string whenever that fit. */
static void check_ja3(const struct tls_hello *h)
{
	char head[16];
	size_t len = strlen(h->ja3), md = strlen(h->ja3_md5);

	snprintf(head, sizeof(head), "%u,", h->legacy_version);
	ENSURE(!strncmp(h->ja3, head, strlen(head)));
	ENSURE(md == 0 || (md == 32 && is_lower_hex(h->ja3_md5, 32)));
	if (md && len < sizeof(h->ja3) - 1) {
		unsigned char d[EVP_MAX_MD_SIZE];
		unsigned n = 0;
		char hex[33];

		ENSURE(EVP_Digest(h->ja3, len, d, &n, EVP_md5(), NULL) && n == 16);
		for (unsigned i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", d[i]);
		ENSURE(!strcmp(hex, h->ja3_md5));
	}
}

static void check_ja4(const struct tls_hello *h, int quic)
{
	const char *j = h->ja4;
	size_t ciphers, exts;

	if (!j[0])
		return;
	ENSURE(strlen(j) == 36 && j[10] == '_' && j[23] == '_');
	ENSURE(j[0] == (quic ? 'q' : 't'));
	ENSURE(j[3] == 'd' || j[3] == 'i');
	ENSURE(is_digits(j + 4, 4));
	ENSURE(is_lower_hex(j + 11, 12) && is_lower_hex(j + 24, 12));
	if (h->nciphers_total <= TLS_MAX_LIST) {
		ciphers = nongrease(h->ciphers, h->nciphers);
		ENSURE((size_t)((j[4] - '0') * 10 + j[5] - '0') == (ciphers > 99 ? 99 : ciphers));
		if (!ciphers)
			ENSURE(!memcmp(j + 11, "000000000000", 12));
	}
	if (h->nexts_total <= TLS_MAX_LIST) {
		exts = nongrease(h->exts, h->nexts);
		ENSURE((size_t)((j[6] - '0') * 10 + j[7] - '0') == (exts > 99 ? 99 : exts));
		ENSURE((j[3] == 'd') == has(h->exts, h->nexts, 0));
		if (!exts)
			ENSURE(!memcmp(j + 24, "000000000000", 12));
	}
	if (!h->nalpn)
		ENSURE(j[8] == '0' && j[9] == '0');
}

static void check_hello(const struct tls_hello *h, int rc, int client, int quic)
{
	ENSURE(rc == 0 || rc == -1);
	check_bounds(h);
	if (rc)
		return;
	ENSURE(h->is_client == (client ? 1 : 2));
	ENSURE(h->nciphers == (h->nciphers_total < TLS_MAX_LIST ? h->nciphers_total : TLS_MAX_LIST));
	ENSURE(h->nexts == (h->nexts_total < TLS_MAX_LIST ? h->nexts_total : TLS_MAX_LIST));
	if (!h->nversions)
		ENSURE(h->version == h->legacy_version);
	check_ja3(h);
	if (client) {
		ENSURE(h->cipher == 0);
		check_ja4(h, quic);
	} else {
		char head[32];

		ENSURE(h->nciphers_total == 0 && h->ngroups == 0 && h->nsigalgs == 0 && !h->ja4[0]);
		ENSURE(h->nversions <= 1 && h->nalpn <= TLS_MAX_ALPN);
		snprintf(head, sizeof(head), "%u,%u,", h->legacy_version, h->cipher);
		ENSURE(!strncmp(h->ja3, head, strlen(head)));
	}
}

static void parse_hello(const uint8_t *body, size_t len, int client, int quic)
{
	static struct tls_hello a, b;
	int ra, rb;

	memset(&a, 0xa5, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	ra = client ? tls_parse_client_hello(body, len, quic, &a) : tls_parse_server_hello(body, len, &a);
	rb = client ? tls_parse_client_hello(body, len, quic, &b) : tls_parse_server_hello(body, len, &b);
	ENSURE(ra == rb && !memcmp(&a, &b, sizeof(a)));
	check_hello(&a, ra, client, quic);
}

static int rfc3339(const char *s)
{
	return strlen(s) == 20 && is_digits(s, 4) && s[4] == '-' && is_digits(s + 5, 2) && s[7] == '-' &&
	       is_digits(s + 8, 2) && s[10] == 'T' && is_digits(s + 11, 2) && s[13] == ':' &&
	       is_digits(s + 14, 2) && s[16] == ':' && is_digits(s + 17, 2) && s[19] == 'Z';
}

static void ref_name(const X509_NAME *name, char *dst, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	ENSURE(b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0);
	n = BIO_read(b, dst, (int)cap - 1);
	dst[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}

static void ref_time(const ASN1_TIME *t, char *dst, size_t cap)
{
	struct tm tm;

	ENSURE(ASN1_TIME_to_tm(t, &tm));
	snprintf(dst, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* An attribute type printed as a dotted OID: one outside the parser's
 * table, which OpenSSL may still know by name. */
static int has_dotted_type(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((p == s || ((p[-1] == ',' || p[-1] == '+') && (p - s < 2 || p[-2] != '\\'))) &&
		    *p >= '0' && *p <= '9')
			return 1;
	return 0;
}

/* OpenSSL as the reference for an accepted certificate: the first entry
 * of the body, decoded whole, gives the same four fields. */
static void check_cert_ref(const uint8_t *body, const struct tls_cert *c)
{
	size_t n = (size_t)body[3] << 16 | (size_t)body[4] << 8 | body[5];
	const uint8_t *p = body + 6;
	X509 *x = d2i_X509(NULL, &p, (long)n);
	char buf[256];

	ENSURE(x && p == body + 6 + n);
	if (!has_dotted_type(c->subject)) {
		ref_name(X509_get_subject_name(x), buf, sizeof(buf));
		ENSURE(!strcmp(buf, c->subject));
	}
	if (!has_dotted_type(c->issuer)) {
		ref_name(X509_get_issuer_name(x), buf, sizeof(buf));
		ENSURE(!strcmp(buf, c->issuer));
	}
	ref_time(X509_get0_notBefore(x), buf, sizeof(buf));
	ENSURE(!strcmp(buf, c->not_before));
	ref_time(X509_get0_notAfter(x), buf, sizeof(buf));
	ENSURE(!strcmp(buf, c->not_after));
	X509_free(x);
}

static void parse_cert(const uint8_t *body, size_t len)
{
	struct tls_cert c;
	int rc;

	memset(&c, 0xa5, sizeof(c));
	rc = tls_parse_certificate(body, len, &c);
	ENSURE(rc == 0 || rc == -1);
	TERMINATED(c.subject);
	TERMINATED(c.issuer);
	TERMINATED(c.not_before);
	TERMINATED(c.not_after);
	if (rc)
		ENSURE(!c.subject[0] && !c.issuer[0] && !c.not_before[0] && !c.not_after[0]);
	else
		ENSURE(rfc3339(c.not_before) && rfc3339(c.not_after));
	if (!rc)
		check_cert_ref(body, &c);
}

static void parse_body(const uint8_t *body, size_t len, uint8_t want, int quic)
{
	if (want == TLS_HS_CLIENT_HELLO)
		parse_hello(body, len, 1, quic);
	else if (want == TLS_HS_SERVER_HELLO)
		parse_hello(body, len, 0, quic);
	else
		parse_cert(body, len);
}

/* One wanted type through tls_find_handshake: a buffer as large as the
 * stream, a small one, and a cut stream must tell the same story. */
static void find(const uint8_t *data, size_t size, uint8_t want, uint8_t ctl)
{
	size_t small = 1 + (ctl & 0x3f) * 4, cut = size * (ctl & 0x7f) / 128;
	uint8_t *big = malloc(size + 1), *few = malloc(small);
	int rc, rs, rcut;

	ENSURE(big && few);
	rc = tls_find_handshake(data, size, want, big, size + 1);
	ENSURE(rc >= -1 && (rc < 0 || (size_t)rc <= size));
	rs = tls_find_handshake(data, size, want, few, small);
	ENSURE(rs >= -1 && (rs < 0 || (size_t)rs <= small));
	if (rc > 0) {
		ENSURE((size_t)rs == ((size_t)rc < small ? (size_t)rc : small));
		ENSURE(!memcmp(few, big, (size_t)rs));
	}
	rcut = tls_find_handshake(data, cut, want, few, small);
	if (rc >= 0 && rs >= 0)
		ENSURE(rcut == 0 || rcut == rs);
	if (rc > 0)
		parse_body(big, (size_t)rc, want, ctl >> 7);
	free(big);
	free(few);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ctl;
	int quic;

	if (size < 1)
		return 0;
	ctl = data[0];
	quic = ctl >> 7;
	data++;
	size--;

	int d = tls_detect(data, size);
	ENSURE(d == 0 || d == 1);
	if (d)
		ENSURE(size >= 3 && data[0] == 0x16 && data[1] == 3 && data[2] <= 4);

	find(data, size, TLS_HS_CLIENT_HELLO, ctl);
	find(data, size, TLS_HS_SERVER_HELLO, ctl);
	find(data, size, TLS_HS_CERTIFICATE, ctl);

	parse_hello(data, size, 1, quic);
	parse_hello(data, size, 0, 0);
	parse_cert(data, size);
	return 0;
}
