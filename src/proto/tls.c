/* TLS handshake parsing and JA3/JA3S/JA4 fingerprints (see tls.h).
 *
 * All reads go through struct rd, which checks the bounds before every
 * byte. The fingerprints are computed from the wire bytes rather than from
 * the capped arrays in struct tls_hello, so a hello with more than
 * TLS_MAX_LIST ciphers still gets exact JA3 and JA4 values. */
#include "proto/tls.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>
#include <time.h>

#define REC_HDR 5
/* TLSPlaintext stays under 2^14; allow the 2048 bytes of expansion a
 * TLSCiphertext may add, as some stacks are lax about the limit. */
#define REC_MAX (16384 + 2048)
#define CT_HANDSHAKE 22
#define SESSION_ID_MAX 32

#define EXT_SNI      0x0000
#define EXT_GROUPS   0x000a
#define EXT_PF       0x000b
#define EXT_SIGALGS  0x000d
#define EXT_ALPN     0x0010
#define EXT_VERSIONS 0x002b

static const char hexd[] = "0123456789abcdef";

/* ---- bounded reader ---- */

struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static size_t rd_left(const struct rd *r)
{
	return r->len - r->off;
}

static int rd_u8(struct rd *r, uint8_t *v)
{
	if (rd_left(r) < 1)
		return -1;
	*v = r->p[r->off++];
	return 0;
}

static int rd_u16(struct rd *r, uint16_t *v)
{
	if (rd_left(r) < 2)
		return -1;
	*v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
	return 0;
}

static int rd_skip(struct rd *r, size_t n)
{
	if (rd_left(r) < n)
		return -1;
	r->off += n;
	return 0;
}

/* A vector with a 1-, 2- or 3-byte length prefix becomes its own reader. */
static int rd_vec(struct rd *r, int prefix, struct rd *sub)
{
	size_t n = 0;

	if (rd_left(r) < (size_t)prefix)
		return -1;
	for (int i = 0; i < prefix; i++)
		n = n << 8 | r->p[r->off++];
	if (rd_left(r) < n)
		return -1;
	sub->p = r->p + r->off;
	sub->len = n;
	sub->off = 0;
	r->off += n;
	return 0;
}

static int is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* Bytes as sent, cut at a NUL or at the size of dst. */
static void copy_str(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < cap && src[i]; i++)
		dst[i] = (char)src[i];
	dst[i] = '\0';
}

/* ---- value lists on the wire ---- */

/* Lists the fingerprints walk: 16-bit values, 8-bit values, or the type
 * fields of an extensions block. */
enum vals_kind { VALS_U16, VALS_U8, VALS_EXT };

struct vals {
	const uint8_t *p;
	size_t len;
	enum vals_kind kind;
};

static int vals_get(const struct vals *v, size_t *off, uint16_t *x)
{
	size_t o = *off;

	switch (v->kind) {
	case VALS_U8:
		if (v->len - o < 1)
			return 0;
		*x = v->p[o];
		*off = o + 1;
		return 1;
	case VALS_U16:
		if (v->len - o < 2)
			return 0;
		*x = (uint16_t)(v->p[o] << 8 | v->p[o + 1]);
		*off = o + 2;
		return 1;
	case VALS_EXT: {
		size_t elen;

		if (v->len - o < 4)
			return 0;
		elen = (size_t)v->p[o + 2] << 8 | v->p[o + 3];
		if (v->len - o - 4 < elen)
			return 0;
		*x = (uint16_t)(v->p[o] << 8 | v->p[o + 1]);
		*off = o + 4 + elen;
		return 1;
	}
	}
	return 0;
}

enum vals_filter { KEEP_ALL, NO_GREASE, JA4_EXTS };

static int keep(uint16_t x, enum vals_filter f)
{
	if (f == KEEP_ALL)
		return 1;
	if (is_grease(x))
		return 0;
	return f == NO_GREASE || (x != EXT_SNI && x != EXT_ALPN);
}

static size_t vals_count(const struct vals *v, enum vals_filter f)
{
	size_t off = 0, n = 0;
	uint16_t x;

	while (vals_get(v, &off, &x))
		n += keep(x, f);
	return n;
}

/* ---- text that is kept and/or hashed as it is produced ---- */

struct sink {
	char *buf;          /* NULL: hash only */
	size_t cap;
	size_t len;
	EVP_MD_CTX *md;     /* NULL: text only */
	int err;
};

static void put(struct sink *s, const char *str, size_t n)
{
	if (s->md && !EVP_DigestUpdate(s->md, str, n))
		s->err = 1;
	if (s->buf) {
		size_t room = s->cap - 1 - s->len;

		if (n > room)
			n = room;
		memcpy(s->buf + s->len, str, n);
		s->len += n;
		s->buf[s->len] = '\0';
	}
}

static void put_dec(struct sink *s, unsigned v)
{
	char tmp[8];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i);
	put(s, tmp + i, sizeof(tmp) - i);
}

static void put_hex4(struct sink *s, uint16_t v)
{
	char tmp[4] = { hexd[v >> 12], hexd[(v >> 8) & 15], hexd[(v >> 4) & 15], hexd[v & 15] };

	put(s, tmp, 4);
}

/* Wire order, decimal, dash-separated (JA3). */
static void put_dec_list(struct sink *s, const struct vals *v, enum vals_filter f)
{
	size_t off = 0;
	uint16_t x;
	int first = 1;

	while (vals_get(v, &off, &x)) {
		if (!keep(x, f))
			continue;
		if (!first)
			put(s, "-", 1);
		first = 0;
		put_dec(s, x);
	}
}

/* Wire order, 4-digit hex, comma-separated (JA4 signature algorithms). */
static void put_hex_list(struct sink *s, const struct vals *v, enum vals_filter f)
{
	size_t off = 0;
	uint16_t x;
	int first = 1;

	while (vals_get(v, &off, &x)) {
		if (!keep(x, f))
			continue;
		if (!first)
			put(s, ",", 1);
		first = 0;
		put_hex4(s, x);
	}
}

/* Sorted, 4-digit hex, comma-separated (JA4 cipher and extension lists).
 * Counting per high byte sorts any list length without a buffer for it:
 * one pass per high byte present, duplicates kept. */
static void put_hex_sorted(struct sink *s, const struct vals *v, enum vals_filter f)
{
	uint8_t hi_seen[32] = { 0 };
	uint16_t cnt[256];
	size_t off = 0;
	uint16_t x;
	int first = 1;

	while (vals_get(v, &off, &x))
		if (keep(x, f))
			hi_seen[x >> 11] |= (uint8_t)(1u << ((x >> 8) & 7));
	for (unsigned hi = 0; hi < 256; hi++) {
		if (!(hi_seen[hi >> 3] & (1u << (hi & 7))))
			continue;
		memset(cnt, 0, sizeof(cnt));
		for (off = 0; vals_get(v, &off, &x);)
			if (keep(x, f) && (x >> 8) == hi)
				cnt[x & 0xff]++;
		for (unsigned lo = 0; lo < 256; lo++) {
			for (unsigned k = 0; k < cnt[lo]; k++) {
				if (!first)
					put(s, ",", 1);
				first = 0;
				put_hex4(s, (uint16_t)(hi << 8 | lo));
			}
		}
	}
}

static int hash_begin(struct sink *s, EVP_MD_CTX *md, const EVP_MD *type)
{
	s->md = md;
	s->err = 0;
	if (!md || !EVP_DigestInit_ex(md, type, NULL)) {
		s->md = NULL;
		s->err = 1;
	}
	return s->err ? -1 : 0;
}

/* Lower-case hex of the digest, cut to hexlen digits; "" on failure. */
static void hash_end(struct sink *s, char *hex, size_t hexlen)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	size_t i;

	hex[0] = '\0';
	if (s->err || !s->md || !EVP_DigestFinal_ex(s->md, d, &n) || (size_t)n * 2 < hexlen)
		return;
	for (i = 0; i < hexlen; i++)
		hex[i] = hexd[(d[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	hex[hexlen] = '\0';
}

/* ---- hellos ---- */

/* Where the fingerprinted lists sit in the hello being parsed. */
struct hello_raw {
	struct vals ciphers, exts, groups, pf, sigalgs;
	const uint8_t *alpn1;       /* first ALPN value */
	size_t alpn1_len;
	int has_alpn1;
	int has_sni;
	uint32_t seen;              /* decoded extensions: later copies ignored */
};

static void keep_u16s(struct rd list, uint16_t *dst, size_t max, uint16_t *n)
{
	uint16_t v;

	while (*n < max && !rd_u16(&list, &v))
		dst[(*n)++] = v;
}

static int ext_sni(struct rd d, struct tls_hello *out)
{
	struct rd list, name;
	uint8_t type;
	int found = 0;

	if (rd_vec(&d, 2, &list) || rd_left(&d))
		return -1;
	while (rd_left(&list)) {
		if (rd_u8(&list, &type) || rd_vec(&list, 2, &name))
			return -1;
		if (type == 0 && !found) {
			copy_str(out->sni, sizeof(out->sni), name.p, name.len);
			found = 1;
		}
	}
	return 0;
}

static int ext_alpn(struct rd d, struct tls_hello *out, struct hello_raw *raw)
{
	struct rd list, v;

	if (rd_vec(&d, 2, &list) || rd_left(&d))
		return -1;
	while (rd_left(&list)) {
		if (rd_vec(&list, 1, &v))
			return -1;
		if (!raw->has_alpn1) {
			raw->alpn1 = v.p;
			raw->alpn1_len = v.len;
			raw->has_alpn1 = 1;
		}
		if (out->nalpn < TLS_MAX_ALPN) {
			copy_str(out->alpn[out->nalpn], sizeof(out->alpn[0]), v.p, v.len);
			out->nalpn++;
		}
	}
	return 0;
}

static int ext_u16_list(struct rd d, struct vals *v, uint16_t *dst, uint16_t *n)
{
	struct rd list;

	if (rd_vec(&d, 2, &list) || rd_left(&d) || list.len % 2)
		return -1;
	*v = (struct vals){ list.p, list.len, VALS_U16 };
	keep_u16s(list, dst, TLS_MAX_LIST, n);
	return 0;
}

static int ext_pf(struct rd d, struct tls_hello *out, struct hello_raw *raw)
{
	struct rd list;

	if (rd_vec(&d, 1, &list) || rd_left(&d))
		return -1;
	raw->pf = (struct vals){ list.p, list.len, VALS_U8 };
	while (out->npf < sizeof(out->ec_point_formats) && !rd_u8(&list, &out->ec_point_formats[out->npf]))
		out->npf++;
	return 0;
}

static int ext_versions_client(struct rd d, struct tls_hello *out)
{
	struct rd list;
	uint16_t v, best = 0;
	int any = 0;

	if (rd_vec(&d, 1, &list) || rd_left(&d) || list.len % 2)
		return -1;
	while (!rd_u16(&list, &v)) {
		if (out->nversions < sizeof(out->versions) / sizeof(out->versions[0]))
			out->versions[out->nversions++] = v;
		if (!is_grease(v) && (!any || v > best)) {
			best = v;
			any = 1;
		}
	}
	if (any)
		out->version = best;
	return 0;
}

static int ext_versions_server(struct rd d, struct tls_hello *out)
{
	uint16_t v;

	if (rd_u16(&d, &v) || rd_left(&d))
		return -1;
	out->versions[0] = v;
	out->nversions = 1;
	out->version = v;
	return 0;
}

/* Bit per decoded extension type, so only its first copy is decoded. */
static uint32_t ext_bit(uint16_t type)
{
	switch (type) {
	case EXT_SNI: return 1u << 0;
	case EXT_GROUPS: return 1u << 1;
	case EXT_PF: return 1u << 2;
	case EXT_SIGALGS: return 1u << 3;
	case EXT_ALPN: return 1u << 4;
	case EXT_VERSIONS: return 1u << 5;
	}
	return 0;
}

static int client_ext(uint16_t type, struct rd d, struct tls_hello *out, struct hello_raw *raw)
{
	switch (type) {
	case EXT_SNI:
		raw->has_sni = 1;
		return ext_sni(d, out);
	case EXT_GROUPS:
		return ext_u16_list(d, &raw->groups, out->groups, &out->ngroups);
	case EXT_PF:
		return ext_pf(d, out, raw);
	case EXT_SIGALGS:
		return ext_u16_list(d, &raw->sigalgs, out->sigalgs, &out->nsigalgs);
	case EXT_ALPN:
		return ext_alpn(d, out, raw);
	case EXT_VERSIONS:
		return ext_versions_client(d, out);
	}
	return 0;
}

static int server_ext(uint16_t type, struct rd d, struct tls_hello *out, struct hello_raw *raw)
{
	switch (type) {
	case EXT_PF:
		return ext_pf(d, out, raw);
	case EXT_ALPN:
		return ext_alpn(d, out, raw);
	case EXT_VERSIONS:
		return ext_versions_server(d, out);
	}
	return 0;
}

static int walk_exts(struct rd exts, int client, struct tls_hello *out, struct hello_raw *raw)
{
	raw->exts = (struct vals){ exts.p, exts.len, VALS_EXT };
	while (rd_left(&exts)) {
		struct rd d;
		uint16_t type;
		uint32_t bit;

		if (rd_u16(&exts, &type) || rd_vec(&exts, 2, &d))
			return -1;
		if (out->nexts < TLS_MAX_LIST)
			out->exts[out->nexts++] = type;
		out->nexts_total++;
		bit = ext_bit(type);
		if (raw->seen & bit)
			continue;
		raw->seen |= bit;
		if ((client ? client_ext : server_ext)(type, d, out, raw))
			return -1;
	}
	return 0;
}

/* The optional extensions block ends the hello exactly. */
static int hello_exts(struct rd *r, int client, struct tls_hello *out, struct hello_raw *raw)
{
	struct rd exts;

	if (!rd_left(r))
		return 0;
	if (rd_vec(r, 2, &exts) || rd_left(r))
		return -1;
	return walk_exts(exts, client, out, raw);
}

/* ---- fingerprints ---- */

static void ja3_client(struct tls_hello *out, const struct hello_raw *raw, EVP_MD_CTX *md)
{
	struct sink s = { out->ja3, sizeof(out->ja3), 0, NULL, 0 };

	hash_begin(&s, md, EVP_md5());
	put_dec(&s, out->legacy_version);
	put(&s, ",", 1);
	put_dec_list(&s, &raw->ciphers, NO_GREASE);
	put(&s, ",", 1);
	put_dec_list(&s, &raw->exts, NO_GREASE);
	put(&s, ",", 1);
	put_dec_list(&s, &raw->groups, NO_GREASE);
	put(&s, ",", 1);
	put_dec_list(&s, &raw->pf, KEEP_ALL);
	hash_end(&s, out->ja3_md5, 32);
}

static void ja3_server(struct tls_hello *out, const struct hello_raw *raw, EVP_MD_CTX *md)
{
	struct sink s = { out->ja3, sizeof(out->ja3), 0, NULL, 0 };

	hash_begin(&s, md, EVP_md5());
	put_dec(&s, out->legacy_version);
	put(&s, ",", 1);
	put_dec(&s, out->cipher);
	put(&s, ",", 1);
	put_dec_list(&s, &raw->exts, NO_GREASE);
	hash_end(&s, out->ja3_md5, 32);
}

static void ja4_version(uint16_t v, char *dst)
{
	const char *s = "00";

	switch (v) {
	case 0x0304: s = "13"; break;
	case 0x0303: s = "12"; break;
	case 0x0302: s = "11"; break;
	case 0x0301: s = "10"; break;
	case 0x0300: s = "s3"; break;
	case 0x0002: s = "s2"; break;
	case 0xfeff: s = "d1"; break;
	case 0xfefd: s = "d2"; break;
	case 0xfefc: s = "d3"; break;
	}
	dst[0] = s[0];
	dst[1] = s[1];
}

static int is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* First and last character of the first ALPN value; their hex digits
 * when either is not alphanumeric; "00" without one. */
static void ja4_alpn(const struct hello_raw *raw, char *dst)
{
	uint8_t f, l;

	dst[0] = dst[1] = '0';
	if (!raw->has_alpn1 || !raw->alpn1_len)
		return;
	f = raw->alpn1[0];
	l = raw->alpn1[raw->alpn1_len - 1];
	if (is_alnum(f) && is_alnum(l)) {
		dst[0] = (char)f;
		dst[1] = (char)l;
	} else {
		dst[0] = hexd[f >> 4];
		dst[1] = hexd[l & 15];
	}
}

static void ja4_count(size_t n, char *dst)
{
	if (n > 99)
		n = 99;
	dst[0] = (char)('0' + n / 10);
	dst[1] = (char)('0' + n % 10);
}

/* JA4_b: sorted ciphers. */
static int ja4_b(const struct hello_raw *raw, EVP_MD_CTX *md, char *hex)
{
	struct sink s = { NULL, 0, 0, NULL, 0 };

	if (!vals_count(&raw->ciphers, NO_GREASE)) {
		memcpy(hex, "000000000000", 13);
		return 0;
	}
	if (hash_begin(&s, md, EVP_sha256()))
		return -1;
	put_hex_sorted(&s, &raw->ciphers, NO_GREASE);
	hash_end(&s, hex, 12);
	return hex[0] ? 0 : -1;
}

/* JA4_c: sorted extensions without SNI and ALPN, then "_" and the
 * signature algorithms in wire order when there are any. */
static int ja4_c(const struct hello_raw *raw, EVP_MD_CTX *md, char *hex)
{
	struct sink s = { NULL, 0, 0, NULL, 0 };

	if (!vals_count(&raw->exts, JA4_EXTS)) {
		memcpy(hex, "000000000000", 13);
		return 0;
	}
	if (hash_begin(&s, md, EVP_sha256()))
		return -1;
	put_hex_sorted(&s, &raw->exts, JA4_EXTS);
	if (vals_count(&raw->sigalgs, NO_GREASE)) {
		put(&s, "_", 1);
		put_hex_list(&s, &raw->sigalgs, NO_GREASE);
	}
	hash_end(&s, hex, 12);
	return hex[0] ? 0 : -1;
}

static void ja4_client(struct tls_hello *out, const struct hello_raw *raw, int quic, EVP_MD_CTX *md)
{
	char a[11], b[13], c[13];

	a[0] = quic ? 'q' : 't';
	ja4_version(out->version, a + 1);
	a[3] = raw->has_sni ? 'd' : 'i';
	ja4_count(vals_count(&raw->ciphers, NO_GREASE), a + 4);
	ja4_count(vals_count(&raw->exts, NO_GREASE), a + 6);
	ja4_alpn(raw, a + 8);
	a[10] = '\0';
	if (ja4_b(raw, md, b) || ja4_c(raw, md, c))
		return;
	memcpy(out->ja4, a, 10);
	out->ja4[10] = '_';
	memcpy(out->ja4 + 11, b, 12);
	out->ja4[23] = '_';
	memcpy(out->ja4 + 24, c, 13);
}

static int hello_start(const uint8_t *body, struct tls_hello *out, struct hello_raw *raw)
{
	if (!out)
		return -1;
	memset(out, 0, sizeof(*out));
	memset(raw, 0, sizeof(*raw));
	raw->ciphers.kind = raw->groups.kind = raw->sigalgs.kind = VALS_U16;
	raw->pf.kind = VALS_U8;
	raw->exts.kind = VALS_EXT;
	return body ? 0 : -1;
}

/* legacy_version, random, legacy_session_id: the same in both hellos. */
static int hello_head(struct rd *r, struct tls_hello *out)
{
	struct rd sid;

	if (rd_u16(r, &out->legacy_version) || rd_skip(r, 32) || rd_vec(r, 1, &sid) ||
	    sid.len > SESSION_ID_MAX)
		return -1;
	out->version = out->legacy_version;
	return 0;
}

int tls_parse_client_hello(const uint8_t *body, size_t len, int quic, struct tls_hello *out)
{
	struct hello_raw raw;
	struct rd r = { body, len, 0 }, ciphers, comp;
	EVP_MD_CTX *md;

	if (hello_start(body, out, &raw))
		return -1;
	out->is_client = 1;
	if (hello_head(&r, out) || rd_vec(&r, 2, &ciphers) || ciphers.len % 2 ||
	    rd_vec(&r, 1, &comp))
		return -1;
	raw.ciphers = (struct vals){ ciphers.p, ciphers.len, VALS_U16 };
	out->nciphers_total = (uint16_t)(ciphers.len / 2);
	keep_u16s(ciphers, out->ciphers, TLS_MAX_LIST, &out->nciphers);
	if (hello_exts(&r, 1, out, &raw))
		return -1;
	md = EVP_MD_CTX_new();
	ja3_client(out, &raw, md);
	ja4_client(out, &raw, quic, md);
	EVP_MD_CTX_free(md);
	return 0;
}

int tls_parse_server_hello(const uint8_t *body, size_t len, struct tls_hello *out)
{
	struct hello_raw raw;
	struct rd r = { body, len, 0 };
	uint8_t comp;
	EVP_MD_CTX *md;

	if (hello_start(body, out, &raw))
		return -1;
	out->is_client = 2;
	if (hello_head(&r, out) || rd_u16(&r, &out->cipher) || rd_u8(&r, &comp) ||
	    hello_exts(&r, 0, out, &raw))
		return -1;
	md = EVP_MD_CTX_new();
	ja3_server(out, &raw, md);
	EVP_MD_CTX_free(md);
	return 0;
}

/* ---- records ---- */

/* Reads the handshake bytes carried by consecutive handshake records. */
struct hs_cursor {
	const uint8_t *s;
	size_t len;
	size_t pos;       /* next unread stream byte */
	size_t rec_left;  /* handshake bytes left in the current record */
};

static int rec_version_ok(uint8_t major, uint8_t minor)
{
	return major == 3 && minor <= 4;
}

/* 1: a handshake byte is at pos, 0: more stream needed, -1: not TLS, or
 * the handshake stops being readable (CCS, alert, application data). */
static int cur_fill(struct hs_cursor *c)
{
	while (!c->rec_left) {
		const uint8_t *h;
		size_t rlen;

		if (c->len - c->pos < REC_HDR)
			return 0;
		h = c->s + c->pos;
		rlen = (size_t)h[3] << 8 | h[4];
		if (h[0] != CT_HANDSHAKE || !rec_version_ok(h[1], h[2]) || !rlen || rlen > REC_MAX)
			return -1;
		c->pos += REC_HDR;
		c->rec_left = rlen;
	}
	return c->pos < c->len ? 1 : 0;
}

/* Copies (dst) or skips (dst NULL) up to n handshake bytes; returns how
 * many, fewer when the stream ends first, or -1. */
static long cur_read(struct hs_cursor *c, uint8_t *dst, size_t n)
{
	size_t done = 0;

	while (done < n) {
		size_t chunk;
		int rc = cur_fill(c);

		if (rc < 0)
			return -1;
		if (!rc)
			break;
		chunk = n - done;
		if (chunk > c->rec_left)
			chunk = c->rec_left;
		if (chunk > c->len - c->pos)
			chunk = c->len - c->pos;
		if (dst)
			memcpy(dst + done, c->s + c->pos, chunk);
		c->pos += chunk;
		c->rec_left -= chunk;
		done += chunk;
	}
	return (long)done;
}

int tls_find_handshake(const uint8_t *stream, size_t len, uint8_t want, uint8_t *out, size_t out_len)
{
	struct hs_cursor c = { stream, len, 0, 0 };

	if (!stream || !out || !out_len)
		return -1;
	if (len && stream[0] != CT_HANDSHAKE)
		return -1;
	for (;;) {
		uint8_t hdr[4];
		size_t mlen, n;
		long got = cur_read(&c, hdr, sizeof(hdr));

		if (got < 0)
			return -1;
		if (got < (long)sizeof(hdr))
			return 0;
		mlen = (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
		if (hdr[0] != want) {
			got = cur_read(&c, NULL, mlen);
			if (got < 0)
				return -1;
			if ((size_t)got < mlen)
				return 0;
			continue;
		}
		if (!mlen)
			return -1;
		n = mlen < out_len ? mlen : out_len;
		got = cur_read(&c, out, n);
		if (got < 0)
			return -1;
		return (size_t)got < n ? 0 : (int)n;
	}
}

int tls_detect(const uint8_t *buf, size_t len)
{
	if (!buf || len < 3 || buf[0] != CT_HANDSHAKE || !rec_version_ok(buf[1], buf[2]))
		return 0;
	if (len >= REC_HDR) {
		size_t rlen = (size_t)buf[3] << 8 | buf[4];

		if (!rlen || rlen > REC_MAX)
			return 0;
	}
	if (len > REC_HDR && buf[REC_HDR] != TLS_HS_CLIENT_HELLO && buf[REC_HDR] != TLS_HS_SERVER_HELLO)
		return 0;
	return 1;
}

/* ---- certificates ---- */

static int name_str(const X509_NAME *name, char *dst, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	dst[0] = '\0';
	if (!b)
		return -1;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0) {
		BIO_free(b);
		return -1;
	}
	n = BIO_read(b, dst, (int)cap - 1);
	dst[n > 0 ? n : 0] = '\0';
	BIO_free(b);
	return 0;
}

static int time_str(const ASN1_TIME *t, char *dst, size_t cap)
{
	struct tm tm;
	int n;

	dst[0] = '\0';
	if (!t || !ASN1_TIME_to_tm(t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return -1;
	n = snprintf(dst, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= cap) {
		dst[0] = '\0';
		return -1;
	}
	return 0;
}

static int cert_fields(X509 *x, struct tls_cert *out)
{
	if (name_str(X509_get_subject_name(x), out->subject, sizeof(out->subject)) ||
	    name_str(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer)) ||
	    time_str(X509_get0_notBefore(x), out->not_before, sizeof(out->not_before)) ||
	    time_str(X509_get0_notAfter(x), out->not_after, sizeof(out->not_after)))
		return -1;
	return 0;
}

int tls_parse_certificate(const uint8_t *body, size_t len, struct tls_cert *out)
{
	struct rd r = { body, len, 0 };
	size_t list_len, cert_len;
	const uint8_t *der;
	X509 *x;
	int rc;

	if (!out)
		return -1;
	memset(out, 0, sizeof(*out));
	if (!body || len < 6)
		return -1;
	list_len = (size_t)body[0] << 16 | (size_t)body[1] << 8 | body[2];
	cert_len = (size_t)body[3] << 16 | (size_t)body[4] << 8 | body[5];
	r.off = 6;
	/* The list may run past a truncated body; the first entry may not. */
	if (!cert_len || list_len < 3 || cert_len > list_len - 3 || rd_left(&r) < cert_len ||
	    cert_len > (size_t)INT32_MAX)
		return -1;
	der = body + r.off;
	x = d2i_X509(NULL, &der, (long)cert_len);
	if (!x)
		return -1;
	rc = der == body + r.off + cert_len ? cert_fields(x, out) : -1;
	X509_free(x);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}
