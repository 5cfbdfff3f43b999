/* QUIC client Initial decryption and CRYPTO reassembly (see quic.h).
 *
 * All reads of packet bytes go through struct rd or are checked against
 * the packet length that initial_header() validated. */
#include "proto/quic.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include "proto/hash.h"
#include "proto/rd.h"

#define SALT_LEN     20
#define SECRET_LEN   32          /* SHA-256 output */
#define TAG_LEN      16
#define SAMPLE_LEN   16
#define PN_MAX_LEN   4
#define MAX_PACKET   65536       /* larger than any UDP payload */
#define VARINT_MAX   ((UINT64_C(1) << 62) - 1)

#define HS_HDR_LEN       4
#define HS_CLIENT_HELLO  1

#define FT_PADDING  0x00
#define FT_PING     0x01
#define FT_ACK      0x02
#define FT_ACK_ECN  0x03
#define FT_CRYPTO   0x06

/* Initial salts: RFC 9001 5.2, RFC 9369 3.3.1, draft-ietf-quic-tls-29 and
 * -23 5.2 (each used up to the next draft that changed it). */
static const uint8_t salt_v1[SALT_LEN] = {
	0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
};
static const uint8_t salt_v2[SALT_LEN] = {
	0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
	0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
};
static const uint8_t salt_d29[SALT_LEN] = {
	0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
	0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99,
};
static const uint8_t salt_d23[SALT_LEN] = {
	0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
	0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02,
};

struct version {
	const uint8_t *salt;
	const char *key_label, *iv_label, *hp_label;
	uint8_t initial_type;        /* long packet type bits of an Initial */
};

static const struct version ver_v1 = { salt_v1, "quic key", "quic iv", "quic hp", 0 };
static const struct version ver_v2 = { salt_v2, "quicv2 key", "quicv2 iv", "quicv2 hp", 1 };
static const struct version ver_d29 = { salt_d29, "quic key", "quic iv", "quic hp", 0 };
static const struct version ver_d23 = { salt_d23, "quic key", "quic iv", "quic hp", 0 };

static const struct version *version_get(uint32_t v)
{
	if (v == QUIC_V1)
		return &ver_v1;
	if (v == QUIC_V2)
		return &ver_v2;
	if (v >= 0xff00001d && v <= 0xff000020)
		return &ver_d29;
	if (v >= 0xff000017 && v <= 0xff00001c)
		return &ver_d23;
	/* Reserved versions (RFC 9000 15) carry no keys of their own; clients
	 * that send them to force negotiation protect like draft-29. */
	if ((v & 0x0f0f0f0f) == 0x0a0a0a0a)
		return &ver_d29;
	return NULL;
}

/* ---- crypto state ---- */

/* AES through OpenSSL contexts that are bound to their cipher once and
 * only re-keyed afterwards (re-keying AES allocates nothing in OpenSSL 3);
 * HMAC-SHA256 for HKDF with src/proto/hash.c, since OpenSSL's HMAC
 * allocates on every init with a key. */
struct quic_crypto {
	EVP_CIPHER_CTX *gcm;         /* AES-128-GCM, rekeyed per packet */
	EVP_CIPHER_CTX *ecb;         /* AES-128-ECB, the header protection mask */
	uint8_t plain[MAX_PACKET];
};

/* The state of callers that do not bring their own. */
static _Thread_local struct quic_crypto *qs;

void quic_crypto_free(struct quic_crypto *s)
{
	if (!s)
		return;
	EVP_CIPHER_CTX_free(s->gcm);
	EVP_CIPHER_CTX_free(s->ecb);
	free(s);
}

struct quic_crypto *quic_crypto_new(void)
{
	struct quic_crypto *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->gcm = EVP_CIPHER_CTX_new();
	s->ecb = EVP_CIPHER_CTX_new();
	/* Ciphers are bound once; later inits pass only key and IV, so no
	 * per-packet fetch or allocation. */
	if (!s->gcm || !s->ecb ||
	    !EVP_DecryptInit_ex(s->gcm, EVP_aes_128_gcm(), NULL, NULL, NULL) ||
	    !EVP_EncryptInit_ex(s->ecb, EVP_aes_128_ecb(), NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(s->ecb, 0)) {
		quic_crypto_free(s);
		return NULL;
	}
	return s;
}

static struct quic_crypto *state(void)
{
	if (!qs)
		qs = quic_crypto_new();
	return qs;
}

void quic_thread_cleanup(void)
{
	quic_crypto_free(qs);
	qs = NULL;
}

/* ---- key derivation (RFC 9001 5.2, RFC 8446 7.1, RFC 2104, RFC 5869) ---- */

#define HMAC_BLOCK 64

static void hmac(const uint8_t *key, size_t klen, const uint8_t *data, size_t dlen,
		 uint8_t out[SECRET_LEN])
{
	uint8_t k[HMAC_BLOCK] = { 0 }, pad[HMAC_BLOCK], inner[SECRET_LEN];
	struct sha256_ctx c;

	if (klen > HMAC_BLOCK)
		sha256(key, klen, k);
	else
		memcpy(k, key, klen);
	for (size_t i = 0; i < HMAC_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_init(&c);
	sha256_update(&c, pad, HMAC_BLOCK);
	if (dlen)               /* an empty DCID may come as NULL */
		sha256_update(&c, data, dlen);
	sha256_final(&c, inner);
	for (size_t i = 0; i < HMAC_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_init(&c);
	sha256_update(&c, pad, HMAC_BLOCK);
	sha256_update(&c, inner, SECRET_LEN);
	sha256_final(&c, out);
}

/* HKDF-Expand-Label with an empty context; every output here fits in the
 * first HMAC block. */
static void expand_label(const uint8_t prk[SECRET_LEN], const char *label, uint8_t *out,
			 size_t n)
{
	uint8_t info[32], md[SECRET_LEN];
	size_t ll = strlen(label), i = 0;

	info[i++] = 0;
	info[i++] = (uint8_t)n;
	info[i++] = (uint8_t)(6 + ll);
	memcpy(info + i, "tls13 ", 6);
	i += 6;
	memcpy(info + i, label, ll);
	i += ll;
	info[i++] = 0;          /* context length */
	info[i++] = 1;          /* block counter */
	hmac(prk, SECRET_LEN, info, i, md);
	memcpy(out, md, n);
}

static void derive_keys(const struct version *v, const uint8_t *dcid, size_t dcid_len,
			struct quic_keys *out)
{
	uint8_t initial[SECRET_LEN], client[SECRET_LEN];

	hmac(v->salt, SALT_LEN, dcid, dcid_len, initial); /* HKDF-Extract */
	expand_label(initial, "client in", client, SECRET_LEN);
	expand_label(client, v->key_label, out->key, sizeof(out->key));
	expand_label(client, v->iv_label, out->iv, sizeof(out->iv));
	expand_label(client, v->hp_label, out->hp, sizeof(out->hp));
}

int quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len, struct quic_keys *out)
{
	const struct version *v = version_get(version);

	if (!v || dcid_len > QUIC_MAX_CID || (!dcid && dcid_len))
		return -1;
	derive_keys(v, dcid, dcid_len, out);
	return 0;
}

/* ---- bounded reader ---- */

/* RFC 9000 16: the two high bits of the first byte give the length. */
static int rd_varint(struct rd *r, uint64_t *v)
{
	size_t n;

	if (rd_left(r) < 1)
		return -1;
	n = (size_t)1 << (r->p[r->off] >> 6);
	if (rd_left(r) < n)
		return -1;
	*v = r->p[r->off] & 0x3f;
	for (size_t i = 1; i < n; i++)
		*v = *v << 8 | r->p[r->off + i];
	r->off += n;
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- long header ---- */

struct initial {
	const struct version *ver;
	uint32_t version;
	const uint8_t *dcid;
	uint8_t dcid_len;
	size_t pn_off;               /* packet number offset in the packet */
	size_t len;                  /* whole packet, header included */
};

/* 1 an Initial of a version we decrypt, whose fields fit in len; 0 any
 * other packet (ends the datagram); -1 a long header that does not fit. */
static int initial_header(const uint8_t *p, size_t len, struct initial *h)
{
	struct rd r = { p, len, 5 };
	uint64_t tok, plen;
	uint8_t scid_len;

	if (len < 1 || !(p[0] & 0x80))
		return 0;
	if (len < 5)
		return -1;
	h->version = be32(p + 1);
	h->ver = version_get(h->version);
	if (!h->ver || ((p[0] >> 4) & 3) != h->ver->initial_type)
		return 0;
	if (rd_u8(&r, &h->dcid_len) || h->dcid_len > QUIC_MAX_CID)
		return -1;
	h->dcid = p + r.off;
	if (rd_skip(&r, h->dcid_len) || rd_u8(&r, &scid_len) || scid_len > QUIC_MAX_CID ||
	    rd_skip(&r, scid_len) || rd_varint(&r, &tok) || rd_skip(&r, tok) ||
	    rd_varint(&r, &plen) || plen > rd_left(&r))
		return -1;
	/* The header protection sample starts 4 bytes past the packet number
	 * offset whatever the packet number length. */
	if (plen < PN_MAX_LEN + SAMPLE_LEN || r.off + plen > MAX_PACKET)
		return -1;
	h->pn_off = r.off;
	h->len = r.off + (size_t)plen;
	return 1;
}

int quic_detect(const uint8_t *payload, size_t len)
{
	struct initial h;

	return payload && initial_header(payload, len, &h) == 1;
}

/* ---- packet protection ---- */

/* RFC 9000 A.3: the full packet number closest to the one expected. */
static uint64_t pn_decode(uint64_t truncated, size_t pn_len, uint64_t expected)
{
	uint64_t win = UINT64_C(1) << (8 * pn_len), hwin = win / 2;
	uint64_t cand = (expected & ~(win - 1)) | truncated;

	if (cand + hwin <= expected && cand < (UINT64_C(1) << 62) - win)
		return cand + win;
	if (cand > expected + hwin && cand >= win)
		return cand - win;
	return cand;
}

struct hp_result {
	uint8_t first;               /* first byte without protection */
	uint8_t pn[PN_MAX_LEN];
	size_t pn_len;
};

static int hp_remove(struct quic_crypto *s, const struct quic_keys *k, const uint8_t *p,
		     const struct initial *h, struct hp_result *out)
{
	uint8_t mask[SAMPLE_LEN];
	int n = 0;

	if (!EVP_EncryptInit_ex(s->ecb, NULL, NULL, k->hp, NULL) ||
	    !EVP_EncryptUpdate(s->ecb, mask, &n, p + h->pn_off + PN_MAX_LEN, SAMPLE_LEN) ||
	    n != SAMPLE_LEN)
		return -1;
	out->first = p[0] ^ (mask[0] & 0x0f);
	out->pn_len = (size_t)(out->first & 3) + 1;
	for (size_t i = 0; i < out->pn_len; i++)
		out->pn[i] = p[h->pn_off + i] ^ mask[1 + i];
	return 0;
}

/* Decrypts the Initial at p with k into s->plain: the plaintext length and
 * *pn, or -1. The AAD is the unprotected header, fed in three pieces so
 * that the packet is never copied. */
static int open_with(struct quic_crypto *s, const struct quic_keys *k, const uint8_t *p,
		     const struct initial *h, uint64_t expected, uint64_t *pn)
{
	struct hp_result hp;
	uint8_t nonce[sizeof(k->iv)], tag[TAG_LEN];
	uint64_t truncated = 0;
	size_t ct_off, ct_len;
	int n = 0, m = 0, x;

	if (hp_remove(s, k, p, h, &hp))
		return -1;
	for (size_t i = 0; i < hp.pn_len; i++)
		truncated = truncated << 8 | hp.pn[i];
	*pn = pn_decode(truncated, hp.pn_len, expected);
	memcpy(nonce, k->iv, sizeof(nonce));
	for (size_t i = 0; i < 8; i++)
		nonce[sizeof(nonce) - 1 - i] ^= (uint8_t)(*pn >> (8 * i));
	/* initial_header() guarantees pn_off + 20 <= len */
	ct_off = h->pn_off + hp.pn_len;
	ct_len = h->len - ct_off - TAG_LEN;
	memcpy(tag, p + h->len - TAG_LEN, TAG_LEN);
	if (!EVP_DecryptInit_ex(s->gcm, NULL, NULL, k->key, nonce) ||
	    !EVP_DecryptUpdate(s->gcm, NULL, &x, &hp.first, 1) ||
	    !EVP_DecryptUpdate(s->gcm, NULL, &x, p + 1, (int)(h->pn_off - 1)) ||
	    !EVP_DecryptUpdate(s->gcm, NULL, &x, hp.pn, (int)hp.pn_len) ||
	    !EVP_DecryptUpdate(s->gcm, s->plain, &n, p + ct_off, (int)ct_len) ||
	    !EVP_CIPHER_CTX_ctrl(s->gcm, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) ||
	    EVP_DecryptFinal_ex(s->gcm, s->plain + n, &m) <= 0)
		return -1;
	return n + m;
}

/* ---- connection state ---- */

static void stream_reset(struct quic_conn *c)
{
	memset(c->have, 0, sizeof(c->have));
	c->contig = 0;
	c->next_pn = 0;
}

static void keys_commit(struct quic_conn *c, const struct initial *h, const uint8_t *dcid,
			size_t dcid_len, const struct quic_keys *k, uint64_t pn)
{
	/* A new version is a new connection attempt, with a new ClientHello. */
	if (c->keyed && c->version != h->version)
		stream_reset(c);
	c->version = h->version;
	memmove(c->dcid, dcid, dcid_len);
	c->dcid_len = (uint8_t)dcid_len;
	c->keys = *k;
	c->keyed = 1;
	if (pn >= c->next_pn)
		c->next_pn = pn < VARINT_MAX ? pn + 1 : VARINT_MAX;
}

/* Decrypts with the connection's DCID, else with the packet's own (a
 * Retry, or the first Initial); the keys that work become the
 * connection's. Plaintext length in s->plain, or -1. */
static int open_initial(struct quic_conn *c, struct quic_crypto *s, const uint8_t *p,
			const struct initial *h)
{
	int same = c->keyed && c->version == h->version;
	uint64_t expected = same ? c->next_pn : 0, pn;
	struct quic_keys k;
	int n;

	if (c->keyed) {
		if (same)
			k = c->keys;
		else
			derive_keys(h->ver, c->dcid, c->dcid_len, &k);
		n = open_with(s, &k, p, h, expected, &pn);
		if (n >= 0) {
			keys_commit(c, h, c->dcid, c->dcid_len, &k, pn);
			return n;
		}
		if (h->dcid_len == c->dcid_len && !memcmp(h->dcid, c->dcid, c->dcid_len))
			return -1;
	}
	derive_keys(h->ver, h->dcid, h->dcid_len, &k);
	n = open_with(s, &k, p, h, expected, &pn);
	if (n >= 0)
		keys_commit(c, h, h->dcid, h->dcid_len, &k, pn);
	return n;
}

/* ---- frames ---- */

static int bit_get(const struct quic_conn *c, size_t i)
{
	return c->have[i >> 3] >> (i & 7) & 1;
}

/* Byte-aligned runs where nothing was received yet are copied whole. */
static size_t put_run(struct quic_conn *c, size_t i, size_t end, const uint8_t *src)
{
	size_t j = i;

	while (end - j >= 8 && !c->have[j >> 3]) {
		c->have[j >> 3] = 0xff;
		j += 8;
	}
	memcpy(c->crypto + i, src, j - i);
	return j;
}

static void contig_advance(struct quic_conn *c)
{
	while (c->contig < QUIC_CRYPTO_MAX) {
		if (!(c->contig & 7) && c->have[c->contig >> 3] == 0xff)
			c->contig += 8;
		else if (bit_get(c, c->contig))
			c->contig++;
		else
			break;
	}
}

/* First copy wins: bytes already received are left as they are. */
static void crypto_put(struct quic_conn *c, uint64_t off, const uint8_t *d, uint64_t n)
{
	size_t i, end;

	if (off >= QUIC_CRYPTO_MAX)
		return;
	end = n > QUIC_CRYPTO_MAX - off ? QUIC_CRYPTO_MAX : (size_t)(off + n);
	for (i = (size_t)off; i < end;) {
		if (!(i & 7) && end - i >= 8 && !c->have[i >> 3]) {
			i = put_run(c, i, end, d + (i - off));
			continue;
		}
		if (!bit_get(c, i)) {
			c->crypto[i] = d[i - off];
			c->have[i >> 3] |= (uint8_t)(1u << (i & 7));
		}
		i++;
	}
	contig_advance(c);
}

static int read_crypto(struct quic_conn *c, struct rd *r)
{
	uint64_t off, n;

	if (rd_varint(r, &off) || rd_varint(r, &n) || n > rd_left(r) || off + n > VARINT_MAX)
		return -1;
	crypto_put(c, off, r->p + r->off, n);
	r->off += (size_t)n;
	return 0;
}

/* RFC 9000 19.3: only the lengths matter here. */
static int skip_ack(struct rd *r, int ecn)
{
	uint64_t v, ranges;

	if (rd_varint(r, &v) || rd_varint(r, &v) || rd_varint(r, &ranges) || rd_varint(r, &v))
		return -1;
	/* A Gap and a Range Length, at least a byte each, per range. */
	if (ranges > rd_left(r) / 2)
		return -1;
	for (uint64_t i = 0; i < 2 * ranges + (ecn ? 3 : 0); i++)
		if (rd_varint(r, &v))
			return -1;
	return 0;
}

/* 0 when read (an unhandled frame type ends the packet), -1 malformed. */
static int read_frames(struct quic_conn *c, const uint8_t *p, size_t len)
{
	struct rd r = { p, len, 0 };
	uint64_t type;

	while (rd_left(&r)) {
		if (p[r.off] == FT_PADDING) {
			while (r.off < len && p[r.off] == FT_PADDING)
				r.off++;
			continue;
		}
		if (rd_varint(&r, &type))
			return -1;
		switch (type) {
		case FT_PADDING:
		case FT_PING:
			break;
		case FT_ACK:
		case FT_ACK_ECN:
			if (skip_ack(&r, type == FT_ACK_ECN))
				return -1;
			break;
		case FT_CRYPTO:
			if (read_crypto(c, &r))
				return -1;
			break;
		default:
			return 0;
		}
	}
	return 0;
}

/* ---- ClientHello ---- */

/* Handshake header length field; only with contig >= HS_HDR_LEN. */
static size_t hello_body_len(const struct quic_conn *c)
{
	return (size_t)c->crypto[1] << 16 | (size_t)c->crypto[2] << 8 | c->crypto[3];
}

/* 1 complete, 0 not yet, -1 the stream does not start with a ClientHello
 * that fits. */
static int hello_state(const struct quic_conn *c)
{
	size_t need;

	if (c->contig < 1)
		return 0;
	if (c->crypto[0] != HS_CLIENT_HELLO)
		return -1;
	if (c->contig < HS_HDR_LEN)
		return 0;
	need = HS_HDR_LEN + hello_body_len(c);
	if (need > QUIC_CRYPTO_MAX)
		return -1;
	return c->contig >= need;
}

int quic_client_datagram_with(struct quic_crypto *s, struct quic_conn *c,
			      const uint8_t *payload, size_t len)
{
	size_t off = 0;
	int rc = 0, st;

	if (c->done)
		return 1;
	if (!payload)
		return 0;
	if (!s)
		return -1;
	while (off < len) {
		struct initial h;
		int n, r = initial_header(payload + off, len - off, &h);

		if (r <= 0) {
			rc = r;
			break;
		}
		n = open_initial(c, s, payload + off, &h);
		if (n < 0 || read_frames(c, s->plain, (size_t)n)) {
			rc = -1;
			break;
		}
		off += h.len;
	}
	st = hello_state(c);
	if (st > 0) {
		c->done = 1;
		return 1;
	}
	return st < 0 ? -1 : rc;
}

int quic_client_datagram(struct quic_conn *c, const uint8_t *payload, size_t len)
{
	/* No state is made for calls that decrypt nothing. */
	return quic_client_datagram_with(c->done || !payload ? NULL : state(), c, payload, len);
}

const uint8_t *quic_client_hello(const struct quic_conn *c, size_t *len)
{
	*len = 0;
	if (!c->done || c->contig < HS_HDR_LEN ||
	    HS_HDR_LEN + hello_body_len(c) > c->contig)
		return NULL;
	*len = hello_body_len(c);
	return c->crypto + HS_HDR_LEN;
}
