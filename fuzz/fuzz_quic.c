/* libFuzzer target: QUIC client Initial decryption and CRYPTO reassembly
 * (src/proto/quic.h), with the ClientHello it completes going on to the
 * TLS parser.
 *
 * Input: records of [control byte][length, 2 bytes big endian][bytes],
 * the length cut to what is left. Control bit 7 clear: the bytes are one
 * UDP datagram. Bit 7 set: the bytes are the plaintext frames of an
 * Initial, protected here (bits 0-1: packet number length - 1; bits 2-4:
 * version; bit 5: DCID B instead of A; bit 6: appended to the previous
 * datagram as a coalesced packet), so that mutations reach the frame
 * parser and the reassembly rather than stopping at the AEAD tag. All
 * records feed one zeroed connection. Sanitizers catch memory errors; the
 * invariants below trap on states that cannot be right for any input. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/quic.h"
#include "proto/tls.h"

#define ENSURE(c)                                                              \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

#define DGRAM_MAX  65536
#define PLAIN_MAX  16000         /* fits the 2-byte Length written below */

static const uint32_t versions[8] = {
	0x00000001, 0x6b3343cf, 0xff00001d, 0xff000020, 0xff00001c, 0x0a0a0a0a, 0x00000001, 0x6b3343cf,
};
static const uint8_t dcid_a[8] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };
static const uint8_t dcid_b[5] = { 0xb0, 0xb1, 0xb2, 0xb3, 0xb4 };

static int seal_payload(const struct quic_keys *k, uint64_t pn, uint8_t *pkt, size_t hdr_len,
			const uint8_t *pt, size_t len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t nonce[12];
	int n = 0, m = 0, ok;

	memcpy(nonce, k->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, k->key, nonce) &&
	     EVP_EncryptUpdate(ctx, NULL, &n, pkt, (int)hdr_len) &&
	     (len == 0 || EVP_EncryptUpdate(ctx, pkt + hdr_len, &n, pt, (int)len)) &&
	     EVP_EncryptFinal_ex(ctx, pkt + hdr_len + n, &m) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, pkt + hdr_len + len);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int protect_header(const struct quic_keys *k, uint8_t *pkt, size_t pn_off, size_t pn_len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t mask[16];
	int n = 0, ok;

	ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k->hp, NULL) &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) &&
	     EVP_EncryptUpdate(ctx, mask, &n, pkt + pn_off + 4, 16) && n == 16;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return -1;
	pkt[0] ^= mask[0] & 0x0f;
	for (size_t i = 0; i < pn_len; i++)
		pkt[pn_off + i] ^= mask[1 + i];
	return 0;
}

/* Appends a protected Initial around plaintext pt to out; its length, 0 if
 * it does not fit. */
static size_t seal(uint8_t *out, size_t room, uint8_t ctl, uint64_t pn, const uint8_t *pt, size_t len)
{
	uint32_t v = versions[(ctl >> 2) & 7];
	const uint8_t *dcid = ctl & 0x20 ? dcid_b : dcid_a;
	size_t dcid_len = ctl & 0x20 ? sizeof(dcid_b) : sizeof(dcid_a);
	size_t pn_len = (size_t)(ctl & 3) + 1, n = 0, body, pn_off;
	uint8_t padded[4] = { 0 };
	struct quic_keys k;

	if (len > PLAIN_MAX)
		len = PLAIN_MAX;
	if (len + pn_len < 4) {      /* room for the header protection sample */
		memcpy(padded, pt, len);
		pt = padded;
		len = 4 - pn_len;
	}
	body = pn_len + len + 16;
	if (room < 1 + 4 + 1 + dcid_len + 1 + 1 + 2 + body || quic_initial_keys(v, dcid, dcid_len, &k))
		return 0;
	out[n++] = (uint8_t)(0xc0 | (v == 0x6b3343cf ? 0x10 : 0) | (pn_len - 1));
	for (int i = 3; i >= 0; i--)
		out[n++] = (uint8_t)(v >> (8 * i));
	out[n++] = (uint8_t)dcid_len;
	memcpy(out + n, dcid, dcid_len);
	n += dcid_len;
	out[n++] = 0;                /* SCID */
	out[n++] = 0;                /* token */
	out[n++] = (uint8_t)(0x40 | body >> 8);
	out[n++] = (uint8_t)body;
	pn_off = n;
	for (size_t i = 0; i < pn_len; i++)
		out[n++] = (uint8_t)(pn >> (8 * (pn_len - 1 - i)));
	if (seal_payload(&k, pn, out, n, pt, len) || protect_header(&k, out, pn_off, pn_len))
		return 0;
	return n + len + 16;
}

static int bit(const struct quic_conn *c, size_t i)
{
	return c->have[i >> 3] >> (i & 7) & 1;
}

static struct quic_conn conn;
static uint8_t frozen[QUIC_CRYPTO_MAX];
static struct tls_hello hello;

static void check_conn(int rc, int was_done)
{
	const uint8_t *h;
	size_t len;

	ENSURE(rc >= -1 && rc <= 1);
	ENSURE(conn.contig <= QUIC_CRYPTO_MAX);
	ENSURE(conn.dcid_len <= QUIC_MAX_CID);
	ENSURE(conn.done <= 1);
	/* contig is exactly the run of received bytes from 0. */
	for (size_t i = 0; i < conn.contig; i++)
		ENSURE(bit(&conn, i));
	ENSURE(conn.contig == QUIC_CRYPTO_MAX || !bit(&conn, conn.contig));
	h = quic_client_hello(&conn, &len);
	ENSURE((rc == 1) == conn.done);
	if (rc != 1) {
		ENSURE(!h && len == 0);
		return;
	}
	ENSURE(h == conn.crypto + 4);
	ENSURE(len + 4 <= conn.contig);
	ENSURE(conn.crypto[0] == 1);
	ENSURE(len == ((size_t)conn.crypto[1] << 16 | (size_t)conn.crypto[2] << 8 | conn.crypto[3]));
	if (was_done) {
		/* Nothing moves once the hello is complete. */
		ENSURE(!memcmp(frozen, conn.crypto, QUIC_CRYPTO_MAX));
		return;
	}
	memcpy(frozen, conn.crypto, QUIC_CRYPTO_MAX);
	tls_parse_client_hello(h, len, 1, &hello);
	ENSURE(memchr(hello.sni, 0, sizeof(hello.sni)));
}

static void feed(const uint8_t *d, size_t n)
{
	/* A copy that ends where the datagram does, so reads past it are caught. */
	uint8_t *copy = malloc(n ? n : 1);
	int was_done = conn.done, rc, det;

	ENSURE(copy);
	memcpy(copy, d, n);
	det = quic_detect(copy, n);
	ENSURE(det == 0 || det == 1);
	if (det)
		ENSURE(n >= 29 && (copy[0] & 0x80));
	rc = quic_client_datagram(&conn, copy, n);
	if (was_done)
		ENSURE(rc == 1);
	check_conn(rc, was_done);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t dgram[DGRAM_MAX];
	size_t dlen = 0;
	uint64_t pn = 0;

	memset(&conn, 0, sizeof(conn));
	while (size >= 3) {
		uint8_t ctl = data[0];
		size_t n = (size_t)data[1] << 8 | data[2];

		data += 3;
		size -= 3;
		if (n > size)
			n = size;
		if (!(ctl & 0x80)) {
			if (dlen)
				feed(dgram, dlen);
			dlen = 0;
			feed(data, n);
		} else {
			size_t m;

			if (!(ctl & 0x40) && dlen) {
				feed(dgram, dlen);
				dlen = 0;
			}
			m = seal(dgram + dlen, sizeof(dgram) - dlen, ctl, pn++, data, n);
			dlen += m;
		}
		data += n;
		size -= n;
	}
	if (dlen)
		feed(dgram, dlen);
	return 0;
}
