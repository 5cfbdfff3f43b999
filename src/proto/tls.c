/* TLS handshake parsing and JA3/JA3S/JA4 fingerprints (see tls.h).
 *
 * All reads go through struct rd, which checks the bounds before every
 * byte. The fingerprints are computed from the wire bytes rather than from
 * the capped arrays in struct tls_hello, so a hello with more than
 * TLS_MAX_LIST ciphers still gets exact JA3 and JA4 values. */
#include "proto/tls.h"

#include <string.h>

#include "proto/hash.h"
#include "proto/rd.h"

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

enum sink_hash { SINK_TEXT, SINK_MD5, SINK_SHA256 };

struct sink {
	char *buf;          /* NULL: hash only */
	size_t cap;
	size_t len;
	enum sink_hash hash;
	union {
		struct md5_ctx md5;
		struct sha256_ctx sha256;
	} h;
};

static void sink_init(struct sink *s, char *buf, size_t cap, enum sink_hash hash)
{
	s->buf = buf;
	s->cap = cap;
	s->len = 0;
	s->hash = hash;
	if (buf && cap)
		buf[0] = '\0';
	if (hash == SINK_MD5)
		md5_init(&s->h.md5);
	else if (hash == SINK_SHA256)
		sha256_init(&s->h.sha256);
}

static void put(struct sink *s, const char *str, size_t n)
{
	if (s->hash == SINK_MD5)
		md5_update(&s->h.md5, str, n);
	else if (s->hash == SINK_SHA256)
		sha256_update(&s->h.sha256, str, n);
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

/* Wire order, separated by sep: decimal and '-' (JA3), or 4-digit hex
 * and ',' (JA4 signature algorithms). */
static void put_list(struct sink *s, const struct vals *v, enum vals_filter f, char sep)
{
	size_t off = 0;
	uint16_t x;
	int first = 1;

	while (vals_get(v, &off, &x)) {
		if (!keep(x, f))
			continue;
		if (!first)
			put(s, &sep, 1);
		first = 0;
		if (sep == '-')
			put_dec(s, x);
		else
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

/* Lower-case hex of the digest, cut to hexlen digits. */
static void hash_end(struct sink *s, char *hex, size_t hexlen)
{
	uint8_t d[SHA256_DIGEST_LEN];
	size_t n = 0, i;

	if (s->hash == SINK_MD5) {
		md5_final(&s->h.md5, d);
		n = MD5_DIGEST_LEN;
	} else if (s->hash == SINK_SHA256) {
		sha256_final(&s->h.sha256, d);
		n = SHA256_DIGEST_LEN;
	}
	if (hexlen > n * 2)
		hexlen = n * 2;
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

static void ja3_client(struct tls_hello *out, const struct hello_raw *raw)
{
	struct sink s;

	sink_init(&s, out->ja3, sizeof(out->ja3), SINK_MD5);
	put_dec(&s, out->legacy_version);
	put(&s, ",", 1);
	put_list(&s, &raw->ciphers, NO_GREASE, '-');
	put(&s, ",", 1);
	put_list(&s, &raw->exts, NO_GREASE, '-');
	put(&s, ",", 1);
	put_list(&s, &raw->groups, NO_GREASE, '-');
	put(&s, ",", 1);
	put_list(&s, &raw->pf, KEEP_ALL, '-');
	hash_end(&s, out->ja3_md5, 32);
}

static void ja3_server(struct tls_hello *out, const struct hello_raw *raw)
{
	struct sink s;

	sink_init(&s, out->ja3, sizeof(out->ja3), SINK_MD5);
	put_dec(&s, out->legacy_version);
	put(&s, ",", 1);
	put_dec(&s, out->cipher);
	put(&s, ",", 1);
	put_list(&s, &raw->exts, NO_GREASE, '-');
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
static void ja4_b(const struct hello_raw *raw, char *hex)
{
	struct sink s;

	if (!vals_count(&raw->ciphers, NO_GREASE)) {
		memcpy(hex, "000000000000", 13);
		return;
	}
	sink_init(&s, NULL, 0, SINK_SHA256);
	put_hex_sorted(&s, &raw->ciphers, NO_GREASE);
	hash_end(&s, hex, 12);
}

/* JA4_c: sorted extensions without SNI and ALPN, then "_" and the
 * signature algorithms in wire order when there are any. */
static void ja4_c(const struct hello_raw *raw, char *hex)
{
	struct sink s;

	if (!vals_count(&raw->exts, JA4_EXTS)) {
		memcpy(hex, "000000000000", 13);
		return;
	}
	sink_init(&s, NULL, 0, SINK_SHA256);
	put_hex_sorted(&s, &raw->exts, JA4_EXTS);
	if (vals_count(&raw->sigalgs, NO_GREASE)) {
		put(&s, "_", 1);
		put_list(&s, &raw->sigalgs, NO_GREASE, ',');
	}
	hash_end(&s, hex, 12);
}

static void ja4_client(struct tls_hello *out, const struct hello_raw *raw, int quic)
{
	char a[11], b[13], c[13];

	a[0] = quic ? 'q' : 't';
	ja4_version(out->version, a + 1);
	a[3] = raw->has_sni ? 'd' : 'i';
	ja4_count(vals_count(&raw->ciphers, NO_GREASE), a + 4);
	ja4_count(vals_count(&raw->exts, NO_GREASE), a + 6);
	ja4_alpn(raw, a + 8);
	a[10] = '\0';
	ja4_b(raw, b);
	ja4_c(raw, c);
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
	ja3_client(out, &raw);
	ja4_client(out, &raw, quic);
	return 0;
}

int tls_parse_server_hello(const uint8_t *body, size_t len, struct tls_hello *out)
{
	struct hello_raw raw;
	struct rd r = { body, len, 0 };
	uint8_t comp;

	if (hello_start(body, out, &raw))
		return -1;
	out->is_client = 2;
	if (hello_head(&r, out) || rd_u16(&r, &out->cipher) || rd_u8(&r, &comp) ||
	    hello_exts(&r, 0, out, &raw))
		return -1;
	ja3_server(out, &raw);
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

/* ---- certificates ----
 *
 * A DER walker over the first certificate: the outer structure is checked
 * the way d2i_X509 checks it (so what OpenSSL refused is refused here),
 * then issuer, validity and subject are formatted as
 * X509_NAME_print_ex(XN_FLAG_RFC2253) and ASN1_TIME_to_tm format them.
 * BER-only forms (indefinite lengths, constructed strings) are refused. */

#define CLS_UNIV 0
#define CLS_CTX 2

#define TAG_BOOLEAN 1
#define TAG_INTEGER 2
#define TAG_BIT_STRING 3
#define TAG_OCTET_STRING 4
#define TAG_NULL 5
#define TAG_OID 6
#define TAG_ENUMERATED 10
#define TAG_UTF8 12
#define TAG_SEQUENCE 16
#define TAG_SET 17
#define TAG_UTC_TIME 23
#define TAG_GEN_TIME 24
#define TAG_UNIV_STRING 28
#define TAG_BMP 30

/* OpenSSL decodes a Name within at most this many bytes. */
#define NAME_MAX_DER (1u << 20)
/* Longest OID OpenSSL prints in dotted form; longer ones print as "". */
#define OID_MAX_TEXT 586
/* Names print in reverse entry order, and every entry adds at least two
 * bytes ("C=" or "=#..."), so the last 128 entries fill any subject. */
#define NAME_RING 128

struct tlv {
	uint8_t cls;
	uint8_t cons;
	uint32_t tag;
	const uint8_t *hdr;          /* identifier octet */
	const uint8_t *v;            /* contents */
	size_t len;
};

/* One TLV with a definite length, inside the reader. */
static int der_get(struct rd *r, struct tlv *t)
{
	uint8_t b, n;
	size_t len = 0;

	t->hdr = r->p + r->off;
	if (rd_u8(r, &b))
		return -1;
	t->cls = b >> 6;
	t->cons = (b >> 5) & 1;
	t->tag = b & 0x1f;
	if (t->tag == 0x1f) {
		t->tag = 0;
		do {
			if (rd_u8(r, &b) || t->tag > (UINT32_MAX >> 8))
				return -1;
			t->tag = t->tag << 7 | (b & 0x7f);
		} while (b & 0x80);
	}
	if (rd_u8(r, &n) || n == 0x80)
		return -1;
	if (n & 0x80) {
		for (n &= 0x7f; n; n--) {
			if (rd_u8(r, &b) || len > (SIZE_MAX >> 8))
				return -1;
			len = len << 8 | b;
		}
		/* OpenSSL wants a byte after long-form length octets */
		if (!rd_left(r))
			return -1;
	} else {
		len = n;
	}
	if (rd_left(r) < len)
		return -1;
	t->v = r->p + r->off;
	t->len = len;
	r->off += len;
	return 0;
}

static struct rd tlv_rd(const struct tlv *t)
{
	return (struct rd){ t->v, t->len, 0 };
}

static int is_univ(const struct tlv *t, uint32_t tag, int cons)
{
	return t->cls == CLS_UNIV && t->tag == tag && t->cons == cons;
}

/* Next TLV if it has context tag `tag`; the reader stays put otherwise. */
static int der_ctx(struct rd *r, uint32_t tag, struct tlv *t)
{
	struct rd peek = *r;

	if (!rd_left(r) || der_get(&peek, t) || t->cls != CLS_CTX || t->tag != tag)
		return 0;
	*r = peek;
	return 1;
}

/* ---- the values d2i_X509 checks on the way ---- */

/* INTEGER or ENUMERATED: non-empty, and no padding octet a shorter
 * encoding would not need. */
static int int_ok(const struct tlv *t)
{
	const uint8_t *p = t->v;
	int pad = 0;

	if (t->cls != CLS_UNIV || t->cons || (t->tag != TAG_INTEGER && t->tag != TAG_ENUMERATED) || !t->len)
		return 0;
	if (t->len == 1)
		return 1;
	if (p[0] == 0) {
		pad = 1;
	} else if (p[0] == 0xff) {
		for (size_t i = 1; i < t->len; i++)
			pad |= p[i] != 0;
	}
	return !(pad && (p[0] & 0x80) == (p[1] & 0x80));
}

/* Non-empty, last octet ends a sub-identifier, none starts with 0x80. */
static int oid_ok(const struct tlv *t)
{
	if (!is_univ(t, TAG_OID, 0) || !t->len || t->v[t->len - 1] & 0x80)
		return 0;
	for (size_t i = 0; i < t->len; i++)
		if (t->v[i] == 0x80 && (!i || !(t->v[i - 1] & 0x80)))
			return 0;
	return 1;
}

static int integer_ok(const struct tlv *t)
{
	return is_univ(t, TAG_INTEGER, 0) && int_ok(t);
}

static int bits_ok(const struct tlv *t)
{
	return !t->cons && t->len && t->v[0] <= 7;
}

/* An ANY value: OpenSSL decodes universal types by their tag, so their
 * contents must be valid for it (constructed strings, BER, are refused
 * here). */
static int any_ok(const struct tlv *t)
{
	if (t->cls != CLS_UNIV)
		return 1;
	/* 00 00 inside a definite-length SEQUENCE is an unexpected EOC */
	if (t->hdr[0] == 0 && t->hdr[1] == 0)
		return 0;
	if (t->tag == TAG_SEQUENCE || t->tag == TAG_SET)
		return t->cons;
	if (t->cons)
		return 0;
	switch (t->tag) {
	case TAG_BOOLEAN: return t->len == 1;
	case TAG_INTEGER: case TAG_ENUMERATED: return int_ok(t);
	case TAG_BIT_STRING: return bits_ok(t);
	case TAG_NULL: return t->len == 0;
	case TAG_OID: return oid_ok(t);
	case TAG_BMP: return t->len % 2 == 0;
	case TAG_UNIV_STRING: return t->len % 4 == 0;
	}
	return 1;
}

/* AlgorithmIdentifier: OID and at most one parameter of any type. */
static int algid_ok(const struct tlv *t)
{
	struct rd in = tlv_rd(t);
	struct tlv x;

	if (!is_univ(t, TAG_SEQUENCE, 1) || der_get(&in, &x) || !oid_ok(&x))
		return 0;
	return !rd_left(&in) || (!der_get(&in, &x) && any_ok(&x) && !rd_left(&in));
}

static int spki_ok(const struct tlv *t)
{
	struct rd in = tlv_rd(t);
	struct tlv x;

	if (!is_univ(t, TAG_SEQUENCE, 1) || der_get(&in, &x) || !algid_ok(&x) ||
	    der_get(&in, &x) || x.cls != CLS_UNIV || x.tag != TAG_BIT_STRING || !bits_ok(&x))
		return 0;
	return !rd_left(&in);
}

/* Extension: OID, optional BOOLEAN, OCTET STRING. */
static int ext_ok(const struct tlv *t)
{
	struct rd in = tlv_rd(t);
	struct tlv x;

	if (!is_univ(t, TAG_SEQUENCE, 1) || der_get(&in, &x) || !oid_ok(&x) || der_get(&in, &x))
		return 0;
	if (is_univ(&x, TAG_BOOLEAN, 0)) {
		if (x.len != 1 || der_get(&in, &x))
			return 0;
	}
	return is_univ(&x, TAG_OCTET_STRING, 0) && !rd_left(&in);
}

/* [3] EXPLICIT SEQUENCE OF Extension */
static int exts_ok(const struct tlv *t)
{
	struct rd in = tlv_rd(t), list;
	struct tlv seq, x;

	if (!t->cons || der_get(&in, &seq) || rd_left(&in) || !is_univ(&seq, TAG_SEQUENCE, 1))
		return 0;
	list = tlv_rd(&seq);
	while (rd_left(&list))
		if (der_get(&list, &x) || !ext_ok(&x))
			return 0;
	return 1;
}

/* ---- Name values ---- */

/* Value tags an X509_NAME_ENTRY accepts (OpenSSL's B_ASN1_PRINTABLE:
 * the strings below, BIT STRING, SEQUENCE and the tags it calls unknown). */
static int value_tag_ok(uint32_t tag)
{
	static const uint32_t ok = 1u << 3 | 1u << 7 | 1u << 8 | 1u << 9 | 1u << 11 | 1u << 12 |
				   1u << 13 | 1u << 14 | 1u << 15 | 1u << 16 | 1u << 18 | 1u << 19 |
				   1u << 20 | 1u << 22 | 1u << 28 | 1u << 29 | 1u << 30;

	return tag < 31 && (ok >> tag & 1);
}

/* Bytes per character of the strings printed as text; -1: dumped. */
static int str_width(uint32_t tag)
{
	switch (tag) {
	case TAG_UTF8: return 0;
	case 18: case 19: case 20: case 22: return 1;   /* Numeric, Printable, T61, IA5 */
	case TAG_BMP: return 2;
	case TAG_UNIV_STRING: return 4;
	}
	return -1;
}

static int unicode_ok(uint32_t c)
{
	return c <= 0x10ffff && (c < 0xd800 || c > 0xdfff);
}

/* Strict UTF-8: no overlong forms, surrogates or values past U+10FFFF. */
static int utf8_ok(const uint8_t *p, size_t n)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };

	for (size_t i = 0; i < n;) {
		size_t k = p[i] < 0x80 ? 1 : (p[i] & 0xe0) == 0xc0 ? 2 : (p[i] & 0xf0) == 0xe0 ? 3 :
			   (p[i] & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t c;

		if (!k || n - i < k)
			return 0;
		c = k == 1 ? p[i] : p[i] & (0x7f >> k);
		for (size_t j = 1; j < k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + j] & 0x3f);
		}
		if (c < min[k] || !unicode_ok(c))
			return 0;
		i += k;
	}
	return 1;
}

/* Wide strings: whole characters, each a Unicode scalar value. */
static int wide_ok(const uint8_t *p, size_t n, size_t w)
{
	if (n % w)
		return 0;
	for (size_t i = 0; i < n; i += w) {
		uint32_t c = 0;

		for (size_t j = 0; j < w; j++)
			c = c << 8 | p[i + j];
		if (!unicode_ok(c))
			return 0;
	}
	return 1;
}

/* What OpenSSL refuses while decoding a Name (including its conversion
 * of the strings to UTF-8 for the canonical encoding). */
static int value_ok(const struct tlv *t)
{
	if (t->cls != CLS_UNIV || !value_tag_ok(t->tag) || t->cons != (t->tag == TAG_SEQUENCE))
		return 0;
	switch (t->tag) {
	case TAG_BIT_STRING: return bits_ok(t);
	case TAG_UTF8: return utf8_ok(t->v, t->len);
	case TAG_BMP: return wide_ok(t->v, t->len, 2);
	case TAG_UNIV_STRING: return wide_ok(t->v, t->len, 4);
	}
	return 1;
}

/* AttributeTypeAndValue: its OID and value. */
static int entry_get(const uint8_t *p, size_t n, struct tlv *oid, struct tlv *val)
{
	struct rd in = { p, n, 0 };

	if (der_get(&in, oid) || !oid_ok(oid) || der_get(&in, val) || rd_left(&in))
		return -1;
	return value_ok(val) ? 0 : -1;
}

/* ---- Name text ---- */

/* 2.5.4.N: X.520 attribute types */
static const char *const attr_x520[] = {
	[3] = "CN",
	[4] = "SN",
	[5] = "serialNumber",
	[6] = "C",
	[7] = "L",
	[8] = "ST",
	[9] = "street",
	[10] = "O",
	[11] = "OU",
	[12] = "title",
	[13] = "description",
	[14] = "searchGuide",
	[15] = "businessCategory",
	[16] = "postalAddress",
	[17] = "postalCode",
	[18] = "postOfficeBox",
	[19] = "physicalDeliveryOfficeName",
	[20] = "telephoneNumber",
	[21] = "telexNumber",
	[22] = "teletexTerminalIdentifier",
	[23] = "facsimileTelephoneNumber",
	[24] = "x121Address",
	[25] = "internationaliSDNNumber",
	[26] = "registeredAddress",
	[27] = "destinationIndicator",
	[28] = "preferredDeliveryMethod",
	[29] = "presentationAddress",
	[30] = "supportedApplicationContext",
	[31] = "member",
	[32] = "owner",
	[33] = "roleOccupant",
	[34] = "seeAlso",
	[35] = "userPassword",
	[36] = "userCertificate",
	[37] = "cACertificate",
	[38] = "authorityRevocationList",
	[39] = "certificateRevocationList",
	[40] = "crossCertificatePair",
	[41] = "name",
	[42] = "GN",
	[43] = "initials",
	[44] = "generationQualifier",
	[45] = "x500UniqueIdentifier",
	[46] = "dnQualifier",
	[47] = "enhancedSearchGuide",
	[48] = "protocolInformation",
	[49] = "distinguishedName",
	[50] = "uniqueMember",
	[51] = "houseIdentifier",
	[52] = "supportedAlgorithms",
	[53] = "deltaRevocationList",
	[54] = "dmdName",
	[65] = "pseudonym",
	[72] = "role",
	[97] = "organizationIdentifier",
	[98] = "c3",
	[99] = "n3",
	[100] = "dnsName",
};

/* 1.2.840.113549.1.9.N: PKCS #9 */
static const char *const attr_pkcs9[] = {
	[1] = "emailAddress",
	[2] = "unstructuredName",
	[3] = "contentType",
	[4] = "messageDigest",
	[5] = "signingTime",
	[6] = "countersignature",
	[7] = "challengePassword",
	[8] = "unstructuredAddress",
	[9] = "extendedCertificateAttributes",
	[14] = "extReq",
	[15] = "SMIME-CAPS",
	[16] = "SMIME",
	[20] = "friendlyName",
	[21] = "localKeyID",
};

/* 0.9.2342.19200300.100.1.N: RFC 4519 / pilot */
static const char *const attr_pilot[] = {
	[1] = "UID",
	[2] = "textEncodedORAddress",
	[3] = "mail",
	[4] = "info",
	[5] = "favouriteDrink",
	[6] = "roomNumber",
	[7] = "photo",
	[8] = "userClass",
	[9] = "host",
	[10] = "manager",
	[11] = "documentIdentifier",
	[12] = "documentTitle",
	[13] = "documentVersion",
	[14] = "documentAuthor",
	[15] = "documentLocation",
	[20] = "homeTelephoneNumber",
	[21] = "secretary",
	[22] = "otherMailbox",
	[23] = "lastModifiedTime",
	[24] = "lastModifiedBy",
	[25] = "DC",
	[26] = "aRecord",
	[27] = "pilotAttributeType27",
	[28] = "mXRecord",
	[29] = "nSRecord",
	[30] = "sOARecord",
	[31] = "cNAMERecord",
	[37] = "associatedDomain",
	[38] = "associatedName",
	[39] = "homePostalAddress",
	[40] = "personalTitle",
	[41] = "mobileTelephoneNumber",
	[42] = "pagerTelephoneNumber",
	[43] = "friendlyCountryName",
	[44] = "uid",
	[45] = "organizationalStatus",
	[46] = "janetMailbox",
	[47] = "mailPreferenceOption",
	[48] = "buildingName",
	[49] = "dSAQuality",
	[50] = "singleLevelQuality",
	[51] = "subtreeMinimumQuality",
	[52] = "subtreeMaximumQuality",
	[53] = "personalSignature",
	[54] = "dITRedirect",
	[55] = "audio",
	[56] = "documentPublisher",
};

/* 1.3.6.1.4.1.311.60.2.1.N: EV jurisdiction */
static const char *const attr_jurisdiction[] = {
	[1] = "jurisdictionL",
	[2] = "jurisdictionST",
	[3] = "jurisdictionC",
};

struct attr_arc {
	const uint8_t *prefix;
	size_t len;
	const char *const *names;
	size_t count;
};

#define ARC(p, names) { (const uint8_t *)(p), sizeof(p) - 1, names, sizeof(names) / sizeof(names[0]) }

/* OpenSSL's short name of an attribute type, NULL when unknown. */
static const char *attr_name(const uint8_t *oid, size_t n)
{
	static const struct attr_arc arcs[] = {
		ARC("\x55\x04", attr_x520),
		ARC("\x2a\x86\x48\x86\xf7\x0d\x01\x09", attr_pkcs9),
		ARC("\x09\x92\x26\x89\x93\xf2\x2c\x64\x01", attr_pilot),
		ARC("\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01", attr_jurisdiction),
	};

	for (size_t i = 0; i < sizeof(arcs) / sizeof(arcs[0]); i++) {
		const struct attr_arc *a = &arcs[i];

		if (n == a->len + 1 && !memcmp(oid, a->prefix, a->len) && oid[a->len] < a->count)
			return a->names[oid[a->len]];
	}
	return NULL;
}

static void put_uint(struct sink *s, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(s, tmp + i, sizeof(tmp) - i);
}

/* An arc too large for 64 bits (up to OID_MAX_TEXT bytes of 7-bit groups):
 * schoolbook base conversion, 9 decimal digits at a time. */
#define BIG_LIMBS ((OID_MAX_TEXT * 7 + 31) / 32 + 1)

static void put_big_arc(struct sink *s, const uint8_t *p, size_t n, int first)
{
	uint32_t limb[BIG_LIMBS] = { 0 }, part[BIG_LIMBS + BIG_LIMBS / 8 + 2];
	size_t used = 1, nparts = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t carry = p[i] & 0x7f;

		for (size_t j = 0; j < used; j++) {
			uint64_t x = (uint64_t)limb[j] << 7 | carry;

			limb[j] = (uint32_t)x;
			carry = (uint32_t)(x >> 32);
		}
		if (carry && used < BIG_LIMBS)
			limb[used++] = carry;
	}
	if (first) {
		/* the first value is 80 + second arc here: subtract with borrow */
		for (size_t j = 0, borrow = 80; borrow && j < used; j++) {
			uint32_t old = limb[j];

			limb[j] = old - (uint32_t)borrow;
			borrow = old < borrow;
		}
	}
	while (used > 1 || limb[0]) {
		uint64_t rem = 0;

		for (size_t j = used; j-- > 0;) {
			uint64_t x = rem << 32 | limb[j];

			limb[j] = (uint32_t)(x / 1000000000u);
			rem = x % 1000000000u;
		}
		part[nparts++] = (uint32_t)rem;
		while (used > 1 && !limb[used - 1])
			used--;
	}
	put_uint(s, nparts ? part[nparts - 1] : 0);
	for (size_t k = nparts - 1; k-- > 0;) {
		char d[9];

		for (int j = 8; j >= 0; j--, part[k] /= 10)
			d[j] = (char)('0' + part[k] % 10);
		put(s, d, 9);
	}
}

/* Dotted form as OBJ_obj2txt(buf, 80, obj, 1) writes it: the first two
 * arcs from the first sub-identifier, cut at 79 characters. */
static void put_oid_text(struct sink *out, const uint8_t *p, size_t n)
{
	char buf[80];
	struct sink s;
	int first = 1;

	sink_init(&s, buf, sizeof(buf), SINK_TEXT);
	for (size_t i = 0; n <= OID_MAX_TEXT && i < n; first = 0) {
		size_t start = i;
		uint64_t v = 0;

		while (p[i] & 0x80)
			i++;
		i++;
		if (i - start > 9) {
			put(&s, first ? "2." : ".", first ? 2 : 1);
			put_big_arc(&s, p + start, i - start, first);
			continue;
		}
		for (size_t j = start; j < i; j++)
			v = v << 7 | (p[j] & 0x7f);
		if (first) {
			unsigned top = v < 80 ? (unsigned)(v / 40) : 2;

			put_uint(&s, top);
			v -= top * 40;
		}
		put(&s, ".", 1);
		put_uint(&s, v);
	}
	put(out, buf, s.len);
}

static const char hexu[] = "0123456789ABCDEF";

static void put_hex_bytes(struct sink *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char h[2] = { hexu[p[i] >> 4], hexu[p[i] & 15] };

		put(s, h, 2);
	}
}

/* Identifier and minimal length octets of a primitive universal value. */
static void put_hex_header(struct sink *s, uint32_t tag, size_t len)
{
	uint8_t h[2 + sizeof(size_t)];
	size_t n = 0, k = 0;

	h[n++] = (uint8_t)tag;
	if (len < 0x80) {
		h[n++] = (uint8_t)len;
	} else {
		for (size_t v = len; v; v >>= 8)
			k++;
		h[n++] = (uint8_t)(0x80 | k);
		while (k--)
			h[n++] = (uint8_t)(len >> (8 * k));
	}
	put_hex_bytes(s, h, n);
}

/* "#" and the DER of the value as OpenSSL re-encodes it: a SEQUENCE as
 * received, a BIT STRING with its unused bits cleared (and no unused-bit
 * count when it has no bits), other types with a minimal length. */
static void put_dump(struct sink *s, const struct tlv *t)
{
	put(s, "#", 1);
	if (t->tag == TAG_SEQUENCE) {
		put_hex_bytes(s, t->hdr, (size_t)(t->v - t->hdr) + t->len);
	} else if (t->tag == TAG_BIT_STRING && t->len == 1) {
		put_hex_bytes(s, (const uint8_t *)"\x03\x01\x00", 3);
	} else if (t->tag == TAG_BIT_STRING) {
		uint8_t last = (uint8_t)(t->v[t->len - 1] & (0xff << t->v[0]));

		put_hex_header(s, t->tag, t->len);
		put_hex_bytes(s, t->v, t->len - 1);
		put_hex_bytes(s, &last, 1);
	} else {
		put_hex_header(s, t->tag, t->len);
		put_hex_bytes(s, t->v, t->len);
	}
}

/* Where a character sits: RFC 2253 escapes a leading '#' or space and a
 * trailing space. A one-character value counts as last only, as in
 * OpenSSL (so a lone "#" stays unescaped). */
#define AT_FIRST 1
#define AT_LAST 2

static void put_esc(struct sink *s, uint8_t c, unsigned at)
{
	char e[3] = { '\\', (char)c, 0 };

	if (c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' ||
	    (c == ' ' && at) || (c == '#' && (at & AT_FIRST))) {
		put(s, e, 2);
	} else if (c < 0x20 || c >= 0x7f) {
		e[1] = hexu[c >> 4];
		e[2] = hexu[c & 15];
		put(s, e, 3);
	} else {
		put(s, e + 1, 1);
	}
}

static size_t utf8_put(uint32_t c, uint8_t *u)
{
	if (c < 0x80) {
		u[0] = (uint8_t)c;
		return 1;
	}
	if (c < 0x800) {
		u[0] = (uint8_t)(0xc0 | c >> 6);
		u[1] = (uint8_t)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		u[0] = (uint8_t)(0xe0 | c >> 12);
		u[1] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
		u[2] = (uint8_t)(0x80 | (c & 0x3f));
		return 3;
	}
	u[0] = (uint8_t)(0xf0 | c >> 18);
	u[1] = (uint8_t)(0x80 | (c >> 12 & 0x3f));
	u[2] = (uint8_t)(0x80 | (c >> 6 & 0x3f));
	u[3] = (uint8_t)(0x80 | (c & 0x3f));
	return 4;
}

/* A string value: UTF8String byte by byte, the others converted from
 * their width to UTF-8; every non-ASCII byte then prints as \XX. */
static void put_chars(struct sink *s, const uint8_t *p, size_t n, int width)
{
	size_t step = width ? (size_t)width : 1;

	for (size_t i = 0; i < n; i += step) {
		unsigned at = i + step == n ? AT_LAST : i == 0 ? AT_FIRST : 0;
		uint32_t c = 0;
		uint8_t u[4];
		size_t un;

		for (size_t j = 0; j < step; j++)
			c = c << 8 | p[i + j];
		if (!width) {
			put_esc(s, (uint8_t)c, at);
			continue;
		}
		un = utf8_put(c, u);
		for (size_t j = 0; j < un; j++)
			put_esc(s, u[j], at);
	}
}

static void put_entry(struct sink *s, const uint8_t *p, size_t n)
{
	struct tlv oid, val;
	const char *name;

	if (entry_get(p, n, &oid, &val))
		return;
	name = attr_name(oid.v, oid.len);
	if (name)
		put(s, name, strlen(name));
	else
		put_oid_text(s, oid.v, oid.len);
	put(s, "=", 1);
	if (name && str_width(val.tag) >= 0)
		put_chars(s, val.v, val.len, str_width(val.tag));
	else
		put_dump(s, &val);
}

struct name_ent {
	const uint8_t *p;
	size_t len;
	size_t rdn;
};

/* Checks every entry of the Name; keeps the last NAME_RING of them. */
static int name_walk(const struct tlv *name, struct name_ent *ring, size_t *count)
{
	struct rd rdns = tlv_rd(name);
	size_t n = 0;

	if (!is_univ(name, TAG_SEQUENCE, 1) || (size_t)(name->v - name->hdr) + name->len > NAME_MAX_DER)
		return -1;
	for (size_t rdn = 0; rd_left(&rdns); rdn++) {
		struct tlv set, ent, oid, val;
		struct rd ents;

		if (der_get(&rdns, &set) || !is_univ(&set, TAG_SET, 1))
			return -1;
		ents = tlv_rd(&set);
		while (rd_left(&ents)) {
			if (der_get(&ents, &ent) || !is_univ(&ent, TAG_SEQUENCE, 1) ||
			    entry_get(ent.v, ent.len, &oid, &val))
				return -1;
			ring[n % NAME_RING] = (struct name_ent){ ent.v, ent.len, rdn };
			n++;
		}
	}
	*count = n;
	return 0;
}

/* Last entry first, '+' between entries of one RDN, ',' between RDNs;
 * cut to the buffer as a read of cap - 1 bytes from OpenSSL's BIO is. */
static int name_str(const struct tlv *name, char *dst, size_t cap)
{
	struct name_ent ring[NAME_RING];
	struct sink s;
	size_t n, k;

	dst[0] = '\0';
	if (name_walk(name, ring, &n))
		return -1;
	sink_init(&s, dst, cap, SINK_TEXT);
	for (k = 0; k < n && k < NAME_RING && s.len + 1 < cap; k++) {
		const struct name_ent *e = &ring[(n - 1 - k) % NAME_RING];

		if (k)
			put(&s, e->rdn == ring[(n - k) % NAME_RING].rdn ? "+" : ",", 1);
		put_entry(&s, e->p, e->len);
	}
	return 0;
}

/* ---- validity ---- */

struct utc {
	int year, mon, day, hour, min, sec;
};

static int leap(int y)
{
	return y % 400 == 0 || (y % 100 != 0 && y % 4 == 0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
static long days_from_civil(int y, int m, int d)
{
	long era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void civil_from_days(long z, struct utc *t)
{
	long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	t->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	t->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	t->year = (int)(yoe + era * 400 + (t->mon <= 2));
}

/* Moves a time by off seconds (under a day); OpenSSL then wants a year
 * in 1900..9999. */
static int time_adjust(struct utc *t, long off)
{
	long secs = t->hour * 3600L + t->min * 60L + t->sec + off;
	long days = days_from_civil(t->year, t->mon, t->day);

	if (secs < 0) {
		secs += 86400;
		days--;
	} else if (secs >= 86400) {
		secs -= 86400;
		days++;
	}
	civil_from_days(days, t);
	t->hour = (int)(secs / 3600);
	t->min = (int)(secs / 60 % 60);
	t->sec = (int)(secs % 60);
	return t->year >= 1900 && t->year <= 9999 ? 0 : -1;
}

/* Two digits at *o, both before end, within [lo, hi]. */
static int two_digits(const uint8_t *a, size_t end, size_t *o, int lo, int hi, int *v)
{
	if (*o + 2 > end || a[*o] < '0' || a[*o] > '9' || a[*o + 1] < '0' || a[*o + 1] > '9')
		return -1;
	*v = (a[*o] - '0') * 10 + a[*o + 1] - '0';
	*o += 2;
	return *v < lo || *v > hi ? -1 : 0;
}

static int mday_ok(const struct utc *t)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return t->day <= mdays[t->mon - 1] + (t->mon == 2 && leap(t->year));
}

/* UTCTime YYMMDDHHMM[SS] or GeneralizedTime YYYYMMDDHHMM[SS[.f...]],
 * then Z or +hhmm / -hhmm: what ASN1_TIME_to_tm takes from a certificate
 * (seconds optional, offsets applied). The date and time fields must
 * each be followed by more text, hence end l - 1 for them. */
static int time_parse(const struct tlv *tm, struct utc *t)
{
	static const int lo[5] = { 1, 1, 0, 0, 0 }, hi[5] = { 12, 31, 23, 59, 59 };
	const uint8_t *a = tm->v;
	size_t l = tm->len, o = 0;
	int gen = tm->tag == TAG_GEN_TIME, c, *field[5] = { &t->mon, &t->day, &t->hour, &t->min, &t->sec };

	if (tm->cls != CLS_UNIV || tm->cons || (tm->tag != TAG_UTC_TIME && !gen) || l < (gen ? 13u : 11u))
		return -1;
	memset(t, 0, sizeof(*t));
	if (gen) {
		if (two_digits(a, l - 1, &o, 0, 99, &c) || two_digits(a, l - 1, &o, 0, 99, &t->year))
			return -1;
		t->year += c * 100;
	} else {
		if (two_digits(a, l - 1, &o, 0, 99, &t->year))
			return -1;
		t->year += t->year < 50 ? 2000 : 1900;
	}
	for (int i = 0; i < 5; i++) {
		if (i == 4 && (a[o] == 'Z' || a[o] == '+' || a[o] == '-'))
			break;
		if (two_digits(a, l - 1, &o, lo[i], hi[i], field[i]) || (i == 1 && !mday_ok(t)))
			return -1;
	}
	if (gen && a[o] == '.') {
		size_t d = ++o;

		while (o < l && a[o] >= '0' && a[o] <= '9')
			o++;
		if (o == d || o == l)
			return -1;
	}
	if (a[o] == 'Z')
		return o + 1 == l ? 0 : -1;
	if ((a[o] == '+' || a[o] == '-') && o + 5 == l) {
		long sign = a[o] == '-' ? 1 : -1;
		int hh, mm;

		o++;
		if (two_digits(a, l, &o, 0, 12, &hh) || two_digits(a, l, &o, 0, 59, &mm))
			return -1;
		return hh || mm ? time_adjust(t, sign * (hh * 3600L + mm * 60L)) : 0;
	}
	return -1;
}

static void put_fixed(struct sink *s, int v, int width, char after)
{
	char d[5];

	for (int i = width - 1; i >= 0; i--, v /= 10)
		d[i] = (char)('0' + v % 10);
	d[width] = after;
	put(s, d, (size_t)width + (after != 0));
}

/* RFC 3339 UTC, e.g. 2019-12-17T01:17:28Z */
static int time_str(const struct tlv *tm, char *dst, size_t cap)
{
	struct utc t;
	struct sink s;

	dst[0] = '\0';
	if (time_parse(tm, &t) || cap < 21)
		return -1;
	sink_init(&s, dst, cap, SINK_TEXT);
	put_fixed(&s, t.year, 4, '-');
	put_fixed(&s, t.mon, 2, '-');
	put_fixed(&s, t.day, 2, 'T');
	put_fixed(&s, t.hour, 2, ':');
	put_fixed(&s, t.min, 2, ':');
	put_fixed(&s, t.sec, 2, 'Z');
	return 0;
}

/* ---- the certificate ---- */

struct cert_parts {
	struct tlv issuer, not_before, not_after, subject;
};

static int validity_get(const struct tlv *t, struct cert_parts *c)
{
	struct rd in = tlv_rd(t);

	if (!is_univ(t, TAG_SEQUENCE, 1) || der_get(&in, &c->not_before) || der_get(&in, &c->not_after))
		return -1;
	return rd_left(&in) ? -1 : 0;
}

/* [0] EXPLICIT version, serial, signature, issuer, validity, subject,
 * subjectPublicKeyInfo, [1] and [2] IMPLICIT unique ids, [3] extensions. */
static int tbs_walk(const struct tlv *tbs, struct cert_parts *c)
{
	struct rd r = tlv_rd(tbs);
	struct tlv t;

	if (!is_univ(tbs, TAG_SEQUENCE, 1))
		return -1;
	if (der_ctx(&r, 0, &t)) {
		struct rd v = tlv_rd(&t);
		struct tlv i;

		if (!t.cons || der_get(&v, &i) || !integer_ok(&i) || rd_left(&v))
			return -1;
	}
	if (der_get(&r, &t) || !integer_ok(&t) || der_get(&r, &t) || !algid_ok(&t) ||
	    der_get(&r, &c->issuer) || der_get(&r, &t) || validity_get(&t, c) ||
	    der_get(&r, &c->subject) || der_get(&r, &t) || !spki_ok(&t))
		return -1;
	if (der_ctx(&r, 1, &t) && !bits_ok(&t))
		return -1;
	if (der_ctx(&r, 2, &t) && !bits_ok(&t))
		return -1;
	if (der_ctx(&r, 3, &t) && !exts_ok(&t))
		return -1;
	return rd_left(&r) ? -1 : 0;
}

/* Certificate: TBSCertificate, signatureAlgorithm, signature, filling
 * the DER exactly. */
static int cert_walk(const uint8_t *der, size_t n, struct tls_cert *out)
{
	struct rd r = { der, n, 0 }, in;
	struct tlv cert, tbs, t;
	struct cert_parts c;

	if (der_get(&r, &cert) || rd_left(&r) || !is_univ(&cert, TAG_SEQUENCE, 1))
		return -1;
	in = tlv_rd(&cert);
	if (der_get(&in, &tbs) || der_get(&in, &t) || !algid_ok(&t) || der_get(&in, &t) ||
	    !is_univ(&t, TAG_BIT_STRING, 0) || !bits_ok(&t) || rd_left(&in))
		return -1;
	if (tbs_walk(&tbs, &c) ||
	    name_str(&c.subject, out->subject, sizeof(out->subject)) ||
	    name_str(&c.issuer, out->issuer, sizeof(out->issuer)) ||
	    time_str(&c.not_before, out->not_before, sizeof(out->not_before)) ||
	    time_str(&c.not_after, out->not_after, sizeof(out->not_after)))
		return -1;
	return 0;
}

int tls_parse_certificate(const uint8_t *body, size_t len, struct tls_cert *out)
{
	size_t list_len, cert_len;

	if (!out)
		return -1;
	memset(out, 0, sizeof(*out));
	if (!body || len < 6)
		return -1;
	list_len = (size_t)body[0] << 16 | (size_t)body[1] << 8 | body[2];
	cert_len = (size_t)body[3] << 16 | (size_t)body[4] << 8 | body[5];
	/* The list may run past a truncated body; the first entry may not. */
	if (!cert_len || list_len < 3 || cert_len > list_len - 3 || len - 6 < cert_len)
		return -1;
	if (cert_walk(body + 6, cert_len, out)) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}
