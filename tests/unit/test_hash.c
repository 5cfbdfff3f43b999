/* MD5 and SHA-256: the RFC 1321 test suite, the FIPS 180-2 / NIST
 * SHA-256 examples, every two-way split of a 200-byte message against the
 * one-shot result, and (as a reference only) OpenSSL on all lengths
 * around the padding boundaries. */
#include <openssl/evp.h>

#include "check.h"
#include "proto/hash.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static void test_md5_rfc1321(void)
{
	static const struct {
		const char *msg, *want;
	} v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		  "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "1234567890123456789012345678901234567890123456789012345678901234567890"
		  "1234567890", "57edf4a22be3c955ac49da2e2107b67a" },
	};
	uint8_t d[MD5_DIGEST_LEN];
	char h[2 * MD5_DIGEST_LEN + 1];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		md5(v[i].msg, strlen(v[i].msg), d);
		hex(d, sizeof(d), h);
		CHECK(!strcmp(h, v[i].want), "MD5(\"%s\") = %s", v[i].msg, h);
	}
}

static void test_sha256_fips(void)
{
	static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static char million[1000000];
	uint8_t d[SHA256_DIGEST_LEN];
	char h[2 * SHA256_DIGEST_LEN + 1];
	struct sha256_ctx c;

	sha256("abc", 3, d);
	hex(d, sizeof(d), h);
	CHECK(!strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "abc: %s", h);
	sha256(m448, strlen(m448), d);
	hex(d, sizeof(d), h);
	CHECK(!strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), "448 bits: %s", h);
	sha256("", 0, d);
	hex(d, sizeof(d), h);
	CHECK(!strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "empty: %s", h);

	memset(million, 'a', sizeof(million));
	sha256(million, sizeof(million), d);
	hex(d, sizeof(d), h);
	CHECK(!strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "million a: %s", h);
	/* the same in uneven pieces */
	sha256_init(&c);
	for (size_t off = 0, step = 1; off < sizeof(million); off += step, step = step * 3 % 1000 + 1)
		sha256_update(&c, million + off, off + step < sizeof(million) ? step : sizeof(million) - off);
	sha256_final(&c, d);
	hex(d, sizeof(d), h);
	CHECK(!strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "million a, pieces: %s", h);
}

/* update(a) + update(b) == one shot, for every split point. */
static void test_splits(void)
{
	uint8_t msg[200], one_md5[MD5_DIGEST_LEN], one_sha[SHA256_DIGEST_LEN];
	int bad_md5 = 0, bad_sha = 0;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	md5(msg, sizeof(msg), one_md5);
	sha256(msg, sizeof(msg), one_sha);
	for (size_t k = 0; k <= sizeof(msg); k++) {
		struct md5_ctx m;
		struct sha256_ctx s;
		uint8_t dm[MD5_DIGEST_LEN], ds[SHA256_DIGEST_LEN];

		md5_init(&m);
		md5_update(&m, msg, k);
		md5_update(&m, msg + k, sizeof(msg) - k);
		md5_final(&m, dm);
		bad_md5 += memcmp(dm, one_md5, sizeof(dm)) != 0;
		sha256_init(&s);
		sha256_update(&s, msg, k);
		sha256_update(&s, msg + k, sizeof(msg) - k);
		sha256_final(&s, ds);
		bad_sha += memcmp(ds, one_sha, sizeof(ds)) != 0;
	}
	CHECK_EQ(bad_md5, 0, "MD5 splits differing from the one-shot digest");
	CHECK_EQ(bad_sha, 0, "SHA-256 splits differing from the one-shot digest");
}

/* Lengths 0..300 cover the padding cases (55, 56, 63, 64, ... bytes). */
static void test_openssl_reference(void)
{
	uint8_t msg[300], d[EVP_MAX_MD_SIZE], mine[SHA256_DIGEST_LEN];
	int bad_md5 = 0, bad_sha = 0;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 131 + 17);
	for (size_t n = 0; n <= sizeof(msg); n++) {
		unsigned len = 0;

		EVP_Digest(msg, n, d, &len, EVP_md5(), NULL);
		md5(msg, n, mine);
		bad_md5 += len != MD5_DIGEST_LEN || memcmp(d, mine, MD5_DIGEST_LEN);
		EVP_Digest(msg, n, d, &len, EVP_sha256(), NULL);
		sha256(msg, n, mine);
		bad_sha += len != SHA256_DIGEST_LEN || memcmp(d, mine, SHA256_DIGEST_LEN);
	}
	CHECK_EQ(bad_md5, 0, "MD5 lengths differing from OpenSSL");
	CHECK_EQ(bad_sha, 0, "SHA-256 lengths differing from OpenSSL");
}

int main(void)
{
	test_md5_rfc1321();
	test_sha256_fips();
	test_splits();
	test_openssl_reference();
	return check_summary("hash");
}
