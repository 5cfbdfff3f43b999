/* TLS handshake parsing: ClientHello / ServerHello fields, JA3, JA3S and
 * JA4 fingerprints, and the first certificate of a Certificate message.
 *
 * Input is untrusted bytes: every function reads only inside the buffer it
 * is given and never allocates: hashing (src/proto/hash.c) and the DER
 * walk of certificates use caller or stack memory only. Arrays keep values as sent, GREASE included; the
 * fingerprints drop GREASE as their definitions require. */
#ifndef XDPI_PROTO_TLS_H
#define XDPI_PROTO_TLS_H

#include <stddef.h>
#include <stdint.h>

#define TLS_MAX_NAME 256
#define TLS_MAX_LIST 64          /* ciphers, extensions, groups, sigalgs kept (more are counted, see *_total) */
#define TLS_MAX_ALPN 8

/* Handshake message types tls_find_handshake() looks for. */
#define TLS_HS_CLIENT_HELLO 1
#define TLS_HS_SERVER_HELLO 2
#define TLS_HS_CERTIFICATE  11

struct tls_hello {
	uint8_t is_client;           /* ClientHello (1) or ServerHello (2) parsed */
	uint16_t legacy_version;     /* from the hello */
	uint16_t version;            /* negotiated/max: highest non-GREASE supported_versions entry (client), selected (server), else legacy */
	char sni[TLS_MAX_NAME];      /* first host_name, cut at TLS_MAX_NAME - 1 bytes or a NUL */
	char alpn[TLS_MAX_ALPN][64]; uint8_t nalpn;   /* server: the selected protocol */
	uint16_t ciphers[TLS_MAX_LIST]; uint16_t nciphers, nciphers_total;
	uint16_t exts[TLS_MAX_LIST]; uint16_t nexts, nexts_total;   /* in wire order */
	uint16_t groups[TLS_MAX_LIST]; uint16_t ngroups;
	uint8_t ec_point_formats[16]; uint8_t npf;
	uint16_t sigalgs[TLS_MAX_LIST]; uint16_t nsigalgs;
	uint16_t versions[16]; uint8_t nversions;                   /* supported_versions list (server: the selected one) */
	uint16_t cipher;             /* ServerHello: selected suite */
	char ja3[2048];              /* JA3 (client) or JA3S (server) string, GREASE removed, as defined by Salesforce;
				      * cut to fit, ja3_md5 always covers the whole string */
	char ja3_md5[33];            /* "" if the hash could not be computed */
	char ja4[40];                /* client only: FoxIO JA4, e.g. t13d1516h2_8daaf6152771_e5627efa2ab1 */
};

struct tls_cert {
	char subject[256];
	char issuer[256];
	char not_before[32];         /* RFC 3339 UTC, e.g. 2019-12-17T01:17:28Z */
	char not_after[32];
};

/* Walks TLS records at the start of a TCP stream (direction bytes as
 * reassembled, starting at the stream start) and extracts the first
 * handshake message of type want (1 ClientHello, 2 ServerHello,
 * 11 Certificate) even when it spans several records. Copies the handshake
 * body into out (up to out_len); returns its length, 0 if more bytes are
 * needed, -1 if the stream is not TLS (first byte not 0x16 or bad record
 * version) or the message is malformed.
 * A body longer than out_len fills out and returns out_len once that much
 * has arrived. -1 also when the stream turns to ChangeCipherSpec, alert or
 * application data first (the message will not appear in clear), and when
 * out is NULL or out_len is 0. */
int tls_find_handshake(const uint8_t *stream, size_t len, uint8_t want, uint8_t *out, size_t out_len);

/* Parse a ClientHello or ServerHello handshake body (after the 4-byte
 * handshake header). quic: 1 when the hello came from QUIC CRYPTO frames
 * (JA4 then starts with 'q'). 0 ok, -1 malformed (out is then partly
 * filled). */
int tls_parse_client_hello(const uint8_t *body, size_t len, int quic, struct tls_hello *out);
int tls_parse_server_hello(const uint8_t *body, size_t len, struct tls_hello *out);

/* First certificate of a Certificate handshake body (TLS <= 1.2): subject,
 * issuer (one-line RFC 2253 style as OpenSSL's X509_NAME_print_ex prints it with
 * XN_FLAG_RFC2253), validity. 0 ok, -1 if absent or malformed. The rest
 * of the certificate list may be cut off (a body truncated by
 * tls_find_handshake still yields its first certificate). */
int tls_parse_certificate(const uint8_t *body, size_t len, struct tls_cert *out);

/* Content detection: 1 if buf starts with a TLS handshake record
 * (0x16 0x03 0x00..0x04 ...; when present, a record length of 1..18432 and
 * a ClientHello or ServerHello as first message), else 0. Needs 3 bytes. */
int tls_detect(const uint8_t *buf, size_t len);

#endif
