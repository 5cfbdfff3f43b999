/* MD5 (RFC 1321) and SHA-256 (FIPS 180-4) for the fingerprints.
 *
 * The state lives in a caller-provided struct: no allocation, no global
 * state, so hashing is safe on the packet path and from several threads.
 * update() takes any split of the message; final() leaves the context
 * spent (init() it again to reuse it). */
#ifndef XDPI_PROTO_HASH_H
#define XDPI_PROTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#define MD5_DIGEST_LEN    16
#define SHA256_DIGEST_LEN 32

struct md5_ctx {
	uint32_t h[4];
	uint64_t len;                /* message bytes so far */
	uint8_t buf[64];             /* partial block, len % 64 bytes used */
};

struct sha256_ctx {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
};

void md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *data, size_t n);
void md5_final(struct md5_ctx *c, uint8_t out[MD5_DIGEST_LEN]);
void md5(const void *data, size_t n, uint8_t out[MD5_DIGEST_LEN]);

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t n);
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_LEN]);
void sha256(const void *data, size_t n, uint8_t out[SHA256_DIGEST_LEN]);

#endif
