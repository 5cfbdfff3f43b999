/* QUIC client Initial packets: header protection removal, decryption and
 * CRYPTO stream reassembly up to a complete TLS ClientHello, which
 * tls_parse_client_hello(body, len, 1, &hello) then reads.
 *
 * Keys follow RFC 9001 section 5 (v1, drafts) and RFC 9369 (v2): HKDF-SHA256
 * from the version's salt and the client's Destination Connection ID,
 * AES-128-GCM for the payload and AES-128-ECB for the header protection
 * mask.
 *
 * Versions: v1 0x00000001, v2 0x6b3343cf, drafts 29-32 (0xff00001d..20)
 * and 23-28 (0xff000017..1c) with their salts, and the reserved
 * 0x?a?a?a?a versions that clients send to force version negotiation,
 * which the clients seen in practice protect like draft-29 (Wireshark
 * does the same). Google QUIC (Q0xx, T05x) is not handled.
 *
 * Input is untrusted bytes: every read is bounds-checked.
 *
 * Allocation: none per packet or per handshake. Keys are derived with
 * HMAC-SHA256 from src/proto/hash.c; decryption uses a struct quic_crypto
 * (two OpenSSL cipher contexts bound to AES once, only re-keyed later, and
 * a 64 KiB plaintext buffer), which quic_crypto_new() allocates. Callers
 * on the packet path keep one per thread and use
 * quic_client_datagram_with(); quic_client_datagram() makes one for its
 * thread on first use, freed by quic_thread_cleanup(). struct quic_conn
 * holds no pointers. */
#ifndef XDPI_PROTO_QUIC_H
#define XDPI_PROTO_QUIC_H

#include <stddef.h>
#include <stdint.h>

#define QUIC_CRYPTO_MAX 16384    /* CRYPTO bytes collected per connection */
#define QUIC_MAX_CID    20       /* connection ID length limit in v1 and v2 */

#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu

/* Client Initial packet protection keys. */
struct quic_keys {
	uint8_t key[16];             /* AEAD_AES_128_GCM key */
	uint8_t iv[12];
	uint8_t hp[16];              /* header protection key */
};

/* Per connection, client direction; the caller zeroes it at flow start. */
struct quic_conn {
	uint32_t version;                      /* of the Initials the keys are for */
	uint8_t dcid[QUIC_MAX_CID];            /* DCID the keys are derived from: the first decryptable Initial's */
	uint8_t dcid_len;
	uint8_t crypto[QUIC_CRYPTO_MAX];       /* CRYPTO stream bytes from offset 0 */
	uint8_t have[QUIC_CRYPTO_MAX / 8];     /* bitmap of received CRYPTO bytes */
	uint32_t contig;                       /* contiguous CRYPTO bytes from 0 */
	uint8_t done;                          /* ClientHello complete */
	/* Internal: keys for (version, dcid) and the packet number expected
	 * next (RFC 9000 A.3 decodes truncated numbers around it). */
	uint8_t keyed;
	struct quic_keys keys;
	uint64_t next_pn;
};

/* 1 if payload starts with a long-header Initial of a version listed above
 * whose header fields (connection IDs of at most 20 bytes, token, length)
 * fit in len and leave room for the header protection sample, else 0.
 * Content only, no ports, no decryption. */
int quic_detect(const uint8_t *payload, size_t len);

/* Processes one UDP datagram from the client. Each coalesced long-header
 * Initial in it is decrypted and its frames read (PADDING, PING, ACK,
 * CRYPTO; other frame types end the packet); a packet of another type or
 * version, a short header or trailing padding ends the datagram.
 *
 * Keys come from the DCID of the first Initial that decrypts. When a later
 * Initial does not decrypt with them, keys from its own DCID are tried:
 * after a Retry the client derives them from the new DCID (RFC 9001 5.2).
 * A change of version (after version negotiation) starts the CRYPTO stream
 * afresh unless the ClientHello was complete.
 *
 * CRYPTO data is placed by offset into c->crypto, first copy wins; bytes
 * at or beyond QUIC_CRYPTO_MAX are dropped.
 *
 * Returns 1 once the ClientHello is complete (c->done; later calls return
 * 1 at once without reading the datagram), 0 if more is needed or the
 * datagram holds no Initial we decrypt, -1 if a packet is malformed or
 * does not decrypt, or if the CRYPTO stream does not start with a
 * ClientHello that fits in QUIC_CRYPTO_MAX. Data from packets before a bad
 * one is kept. */
int quic_client_datagram(struct quic_conn *c, const uint8_t *payload, size_t len);

/* Decryption contexts and buffer: one per thread at a time. NULL on an
 * allocation or OpenSSL failure. */
struct quic_crypto;
struct quic_crypto *quic_crypto_new(void);
void quic_crypto_free(struct quic_crypto *x);
/* quic_client_datagram() with the caller's state (-1 if x is NULL and the
 * datagram had to be decrypted). */
int quic_client_datagram_with(struct quic_crypto *x, struct quic_conn *c,
			      const uint8_t *payload, size_t len);

/* After quic_client_datagram() returned 1: the ClientHello body (after the
 * 4-byte handshake header) inside c->crypto and its length; NULL and 0
 * before. */
const uint8_t *quic_client_hello(const struct quic_conn *c, size_t *len);

/* Client Initial keys for a version listed above and a DCID of at most
 * QUIC_MAX_CID bytes. 0 ok, -1 unsupported version or DCID too long. */
int quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len, struct quic_keys *out);

/* Frees the state quic_client_datagram() made for the calling thread. */
void quic_thread_cleanup(void);

#endif
