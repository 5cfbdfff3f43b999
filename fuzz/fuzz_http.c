/* libFuzzer target: the HTTP/1.x head parser (src/proto/http.c) on
 * arbitrary bytes, as a request, as a response and through detection.
 *
 * Every parse gets a copy that ends where its input does, so reads past
 * len are caught. Besides the sanitizers, the invariants below trap on
 * results that cannot be right for any input: strings end within their
 * arrays, a head is never longer than the input, status is 100..999, and
 * the answers for prefixes agree with the one for the whole (0 stays 0
 * for shorter input, a complete head parses the same however much follows
 * it, -1 on a prefix stays -1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http.h"

#define ENSURE(c)                                                              \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

#define TERMINATED(a) ENSURE(memchr((a), 0, sizeof(a)) != NULL)

static int parse_req(const uint8_t *data, size_t len, struct http_request *q)
{
	uint8_t *buf = malloc(len ? len : 1);
	int rc;

	ENSURE(buf);
	memcpy(buf, data, len);
	memset(q, 0xa5, sizeof(*q));
	rc = http_parse_request(buf, len, q);
	free(buf);
	return rc;
}

static int parse_resp(const uint8_t *data, size_t len, struct http_response *r)
{
	uint8_t *buf = malloc(len ? len : 1);
	int rc;

	ENSURE(buf);
	memcpy(buf, data, len);
	memset(r, 0xa5, sizeof(*r));
	rc = http_parse_response(buf, len, r);
	free(buf);
	return rc;
}

static int detect(const uint8_t *data, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	int rc;

	ENSURE(buf);
	memcpy(buf, data, len);
	rc = http_detect(buf, len);
	free(buf);
	return rc;
}

static void check_rc(int rc, const uint8_t *data, size_t len)
{
	ENSURE(rc >= -1);
	ENSURE((size_t)(rc > 0 ? rc : 0) <= len);
	ENSURE(rc <= HTTP_MAX_HEAD);
	/* A head ends with the LF of its empty line. */
	if (rc > 0)
		ENSURE(data[rc - 1] == '\n');
}

static void check_request(const struct http_request *q, int rc)
{
	struct http_request zero;

	TERMINATED(q->method);
	TERMINATED(q->uri);
	TERMINATED(q->version);
	TERMINATED(q->host);
	TERMINATED(q->user_agent);
	TERMINATED(q->content_type);
	ENSURE(q->content_length >= -1);
	ENSURE(q->chunked <= 1 && q->cut <= 1);
	if (rc <= 0) {
		/* Nothing is reported for an incomplete or rejected head. */
		memset(&zero, 0, sizeof(zero));
		zero.content_length = -1;
		ENSURE(!memcmp(q, &zero, sizeof(zero)));
		return;
	}
	ENSURE(q->method[0]);
	ENSURE(!q->version[0] || !strncmp(q->version, "HTTP/1.", 7));
	/* Without a version only a known method is taken for HTTP. */
	if (!q->version[0]) {
		char m[sizeof(q->method) + 1];
		size_t n = strlen(q->method);

		memcpy(m, q->method, n);
		m[n] = ' ';
		ENSURE(http_detect((const uint8_t *)m, n + 1) == 1);
	}
}

static void check_response(const struct http_response *r, int rc)
{
	struct http_response zero;

	TERMINATED(r->version);
	TERMINATED(r->reason);
	TERMINATED(r->content_type);
	ENSURE(r->content_length >= -1);
	ENSURE(r->chunked <= 1 && r->cut <= 1);
	if (rc <= 0) {
		memset(&zero, 0, sizeof(zero));
		zero.content_length = -1;
		ENSURE(!memcmp(r, &zero, sizeof(zero)));
		return;
	}
	ENSURE(r->status >= 100 && r->status <= 999);
	ENSURE(strlen(r->version) == 8 && !strncmp(r->version, "HTTP/1.", 7));
}

/* What a prefix of k bytes must give, knowing the whole gave rc. */
static void check_prefix_req(const uint8_t *data, size_t k, int rc,
			     const struct http_request *whole)
{
	struct http_request q;
	int pk = parse_req(data, k, &q);

	if (rc > 0 && k >= (size_t)rc) {
		ENSURE(pk == rc);
		ENSURE(!memcmp(&q, whole, sizeof(q)));
	} else if (rc >= 0) {
		ENSURE(pk == 0);
	}
	if (pk < 0)
		ENSURE(rc < 0);
}

static void check_prefix_resp(const uint8_t *data, size_t k, int rc,
			      const struct http_response *whole)
{
	struct http_response r;
	int pk = parse_resp(data, k, &r);

	if (rc > 0 && k >= (size_t)rc) {
		ENSURE(pk == rc);
		ENSURE(!memcmp(&r, whole, sizeof(r)));
	} else if (rc >= 0) {
		ENSURE(pk == 0);
	}
	if (pk < 0)
		ENSURE(rc < 0);
}

static void check_body(const struct http_request *q, int qrc,
		       const struct http_response *r, int rrc, uint16_t status)
{
	int64_t b;

	if (qrc > 0) {
		b = http_body_length(q->content_length, q->chunked, 1, q->method, 0);
		ENSURE(b == (q->chunked ? -1 : q->content_length >= 0 ? q->content_length : 0));
	}
	if (rrc > 0) {
		b = http_body_length(r->content_length, r->chunked, 0,
				     qrc > 0 ? q->method : NULL, r->status);
		ENSURE(b >= -1);
		if (b > 0)
			ENSURE(b == r->content_length && !r->chunked);
	}
	/* Any status, any method. */
	b = http_body_length(r->content_length, r->chunked, 0,
			     qrc > 0 ? q->method : "GET", status);
	ENSURE(b >= -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request q;
	struct http_response r;
	int qrc, rrc, d;
	size_t cuts[4];

	qrc = parse_req(data, size, &q);
	check_rc(qrc, data, size);
	check_request(&q, qrc);
	rrc = parse_resp(data, size, &r);
	check_rc(rrc, data, size);
	check_response(&r, rrc);
	/* Nothing is both. */
	ENSURE(qrc <= 0 || rrc <= 0);

	d = detect(data, size);
	ENSURE(d >= 0 && d <= 2);
	if (rrc > 0)
		ENSURE(d == 2);
	if (d == 2)
		ENSURE(qrc < 0);
	if (d == 1)
		ENSURE(rrc < 0);

	/* Prefixes: one byte short, half, just the head, one byte past it. */
	cuts[0] = size ? size - 1 : 0;
	cuts[1] = size / 2;
	cuts[2] = qrc > 0 ? (size_t)qrc : 0;
	cuts[3] = qrc > 0 && (size_t)qrc < size ? (size_t)qrc + 1 : size;
	for (int i = 0; i < 4; i++)
		check_prefix_req(data, cuts[i], qrc, &q);
	cuts[2] = rrc > 0 ? (size_t)rrc : 0;
	cuts[3] = rrc > 0 && (size_t)rrc < size ? (size_t)rrc + 1 : size;
	for (int i = 0; i < 4; i++)
		check_prefix_resp(data, cuts[i], rrc, &r);

	check_body(&q, qrc, &r, rrc, size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0);
	return 0;
}
