/* libFuzzer target: MD5 and SHA-256 (src/proto/hash.h).
 *
 * The first byte picks where the input is split; the incremental digests
 * over three pieces must equal the one-shot ones, and OpenSSL's. */
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#include "proto/hash.h"

#define ENSURE(c)                                                              \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static void check_ref(const EVP_MD *md, const uint8_t *data, size_t size, const uint8_t *want, unsigned n)
{
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	ENSURE(EVP_Digest(data, size, d, &len, md, NULL) && len == n && !memcmp(d, want, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t one[SHA256_DIGEST_LEN], inc[SHA256_DIGEST_LEN];
	struct md5_ctx m;
	struct sha256_ctx s;
	size_t a, b;

	if (size < 1)
		return 0;
	a = (size - 1) * data[0] / 255;
	b = a + (size - 1 - a) / 2;
	data++;
	size--;

	md5(data, size, one);
	md5_init(&m);
	md5_update(&m, data, a);
	md5_update(&m, data + a, b - a);
	md5_update(&m, data + b, size - b);
	md5_final(&m, inc);
	ENSURE(!memcmp(one, inc, MD5_DIGEST_LEN));
	check_ref(EVP_md5(), data, size, one, MD5_DIGEST_LEN);

	sha256(data, size, one);
	sha256_init(&s);
	sha256_update(&s, data, a);
	sha256_update(&s, data + a, b - a);
	sha256_update(&s, data + b, size - b);
	sha256_final(&s, inc);
	ENSURE(!memcmp(one, inc, SHA256_DIGEST_LEN));
	check_ref(EVP_sha256(), data, size, one, SHA256_DIGEST_LEN);
	return 0;
}
