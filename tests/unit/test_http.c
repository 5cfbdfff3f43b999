/* The HTTP/1.x head parser (src/proto/http.c): crafted heads for each rule,
 * every truncation of them, bad inputs, and real heads from the shared
 * captures checked against what tshark reports for them. Every input is
 * copied into a buffer of exactly its length, so the sanitizer build
 * catches any read past len. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto/http.h"

#define R(s) s, sizeof(s) - 1
#define EQ(a, b) CHECK_EQ(a, b, #a)
#define STREQ(a, b) CHECK(!strcmp((a), (b)), "%s: got \"%s\", want \"%s\"", #a, (a), (b))

static uint8_t *exact(const void *p, size_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	if (!b)
		abort();
	memcpy(b, p, n);
	return b;
}

static int req_n(const char *s, size_t n, struct http_request *o)
{
	uint8_t *b = exact(s, n);
	int rc = http_parse_request(b, n, o);

	free(b);
	return rc;
}

static int resp_n(const char *s, size_t n, struct http_response *o)
{
	uint8_t *b = exact(s, n);
	int rc = http_parse_response(b, n, o);

	free(b);
	return rc;
}

static int detect_n(const char *s, size_t n)
{
	uint8_t *b = exact(s, n);
	int rc = http_detect(b, n);

	free(b);
	return rc;
}

static int req(const char *s, struct http_request *o)
{
	return req_n(s, strlen(s), o);
}

static int resp(const char *s, struct http_response *o)
{
	return resp_n(s, strlen(s), o);
}

static int detect(const char *s)
{
	return detect_n(s, strlen(s));
}

/* Every prefix shorter than the head needs more bytes, and every longer
 * one (the head, then body bytes) gives the head length. */
static void prefixes_req(const char *s, size_t n, int head, const char *what)
{
	struct http_request o;
	size_t bad = SIZE_MAX;

	for (size_t k = 0; k <= n && bad == SIZE_MAX; k++) {
		int want = k < (size_t)head ? 0 : head;

		if (req_n(s, k, &o) != want)
			bad = k;
	}
	CHECK(bad == SIZE_MAX, "%s: wrong result for the first %zu bytes", what, bad);
}

static void prefixes_resp(const char *s, size_t n, int head, const char *what)
{
	struct http_response o;
	size_t bad = SIZE_MAX;

	for (size_t k = 0; k <= n && bad == SIZE_MAX; k++) {
		int want = k < (size_t)head ? 0 : head;

		if (resp_n(s, k, &o) != want)
			bad = k;
	}
	CHECK(bad == SIZE_MAX, "%s: wrong result for the first %zu bytes", what, bad);
}

/* A bad input: 0 for its prefixes until the byte that rules HTTP out, -1
 * from there on (never back to 0). */
static void prefixes_bad(const char *s, int is_request)
{
	struct http_request q;
	struct http_response r;
	size_t n = strlen(s), first_bad = SIZE_MAX, flip = SIZE_MAX;

	for (size_t k = 0; k <= n; k++) {
		int rc = is_request ? req_n(s, k, &q) : resp_n(s, k, &r);

		if (rc < 0 && first_bad == SIZE_MAX)
			first_bad = k;
		if (rc != (k >= first_bad ? -1 : 0) && flip == SIZE_MAX)
			flip = k;
	}
	CHECK(first_bad != SIZE_MAX && flip == SIZE_MAX,
	      "\"%s\": -1 from %zu bytes, off at %zu", s, first_bad, flip);
}

/* ---- detection ---- */

static const char *const brief_methods[] = {
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE",
	"PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK",
	"UNLOCK", "SEARCH", "REPORT", "SUBSCRIBE", "NOTIFY", "UNSUBSCRIBE",
	"M-SEARCH", "MKCALENDAR", "PURGE", "ACL", "VERSION-CONTROL",
};

static void test_detect(void)
{
	char buf[64];

	for (size_t i = 0; i < sizeof(brief_methods) / sizeof(brief_methods[0]); i++) {
		snprintf(buf, sizeof(buf), "%s /x HTTP/1.1\r\n", brief_methods[i]);
		CHECK(detect(buf) == 1, "%s", buf);
		/* The method and its space are enough... */
		CHECK(detect_n(buf, strlen(brief_methods[i]) + 1) == 1, "%s", buf);
		/* ...and so are 8 bytes of a longer one. */
		if (strlen(brief_methods[i]) >= 8)
			CHECK(detect_n(buf, 8) == 1, "%s", buf);
		else
			CHECK(detect_n(buf, strlen(brief_methods[i])) == 0, "%s", buf);
		/* Methods are case-sensitive. */
		buf[0] = (char)(buf[0] | 0x20);
		CHECK(detect(buf) == 0, "%s", buf);
	}
	EQ(detect("HTTP/1.1 200 OK\r\n"), 2);
	EQ(detect("HTTP/1.0 404 Not Found\r\n"), 2);
	EQ(detect("HTTP/1.1 "), 2);
	EQ(detect("HTTP/1.1"), 2);
	EQ(detect("HTTP/1."), 0);
	EQ(detect("HTTP/1.x 200"), 0);
	EQ(detect("HTTP/1.1X200"), 0);
	EQ(detect("HTTP/2 200\r\n"), 0);
	EQ(detect("HTTP/2.0 200\r\n"), 0);
	EQ(detect("http/1.1 200\r\n"), 0);
	EQ(detect("PROPFIND"), 1);
	EQ(detect("PROPPATC"), 1);
	EQ(detect("PROPPATCX"), 0);
	EQ(detect("PROPFINDX"), 0);
	EQ(detect("GET"), 0);
	EQ(detect("GET "), 1);
	EQ(detect("GETX /"), 0);
	EQ(detect("GET\t/"), 0);
	EQ(detect(" GET /"), 0);
	EQ(detect("CCM_POST / HTTP/1.1"), 0);
	EQ(detect("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0);
	EQ(detect("SSH-2.0-OpenSSH_8.9\r\n"), 0);
	EQ(detect("\r\nGET / HTTP/1.1"), 0);
	EQ(detect_n("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 0);
	EQ(detect_n("", 0), 0);
	EQ(http_detect(NULL, 0), 0);
}

/* ---- requests ---- */

static void test_request_basic(void)
{
	static const char h[] =
		"POST /submit?a=1&b=2 HTTP/1.1\r\n"
		"Host: example.com\r\n"
		"User-Agent: curl/8.5.0\r\n"
		"Accept: */*\r\n"
		"Content-Type: application/x-www-form-urlencoded\r\n"
		"Content-Length: 7\r\n"
		"\r\n"
		"a=b&c=d";
	struct http_request o;

	EQ(req_n(R(h), &o), sizeof(h) - 1 - 7);
	STREQ(o.method, "POST");
	STREQ(o.uri, "/submit?a=1&b=2");
	STREQ(o.version, "HTTP/1.1");
	STREQ(o.host, "example.com");
	STREQ(o.user_agent, "curl/8.5.0");
	STREQ(o.content_type, "application/x-www-form-urlencoded");
	EQ(o.content_length, 7);
	EQ(o.chunked, 0);
	EQ(o.cut, 0);
	EQ(http_body_length(o.content_length, o.chunked, 1, o.method, 0), 7);
	prefixes_req(R(h), (int)sizeof(h) - 1 - 7, "POST");

	/* Nothing but the request line. */
	EQ(req("GET / HTTP/1.0\r\n\r\n", &o), 18);
	STREQ(o.version, "HTTP/1.0");
	STREQ(o.host, "");
	STREQ(o.user_agent, "");
	STREQ(o.content_type, "");
	EQ(o.content_length, -1);
	EQ(http_body_length(o.content_length, o.chunked, 1, o.method, 0), 0);
}

static void test_line_ends(void)
{
	static const char lf[] = "GET /a HTTP/1.1\nHost: lf.example\nUser-Agent: x\n\n";
	static const char mixed[] = "GET /a HTTP/1.1\r\nHost: mixed.example\nUser-Agent: y\r\n\n";
	static const char mixed2[] = "GET /a HTTP/1.1\nHost: m2\r\n\r\nBODY";
	struct http_request o;

	EQ(req_n(R(lf), &o), sizeof(lf) - 1);
	STREQ(o.host, "lf.example");
	STREQ(o.user_agent, "x");
	prefixes_req(R(lf), sizeof(lf) - 1, "LF");
	EQ(req_n(R(mixed), &o), sizeof(mixed) - 1);
	STREQ(o.host, "mixed.example");
	STREQ(o.user_agent, "y");
	prefixes_req(R(mixed), sizeof(mixed) - 1, "mixed");
	EQ(req_n(R(mixed2), &o), sizeof(mixed2) - 1 - 4);
	STREQ(o.host, "m2");
	prefixes_req(R(mixed2), sizeof(mixed2) - 1 - 4, "mixed2");
	/* A CR alone does not end a line. */
	EQ(req("GET / HTTP/1.1\rHost: x\r\n\r\n", &o), -1);
	EQ(req("GET / HTTP/1.1\r", &o), 0);
	EQ(req("GET / HTTP/1.1\r\n\r", &o), 0);
	/* In a field value it is only whitespace. */
	EQ(req("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", &o), 29);
	STREQ(o.host, "a b");
}

static void test_names_and_values(void)
{
	static const char h[] =
		"GET / HTTP/1.1\r\n"
		"hOsT:wwww.lan:8080\r\n"
		"USER-AGENT: \t  spaced  out\t \r\n"
		"content-TYPE:text/plain; charset=utf-8   \r\n"
		"Content-Length:   12  \r\n"
		"\r\n";
	struct http_request o;

	EQ(req_n(R(h), &o), sizeof(h) - 1);
	STREQ(o.host, "wwww.lan:8080");
	STREQ(o.user_agent, "spaced  out");
	STREQ(o.content_type, "text/plain; charset=utf-8");
	EQ(o.content_length, 12);

	/* The first of repeated fields is kept; empty values are values. */
	EQ(req("GET / HTTP/1.1\r\nHost: one\r\nHost: two\r\nUser-Agent:\r\n"
	       "User-Agent: late\r\n\r\n", &o) > 0, 1);
	STREQ(o.host, "one");
	STREQ(o.user_agent, "");

	/* Near misses are other fields; lines without a colon are skipped. */
	EQ(req("GET / HTTP/1.1\r\nHost : spaced\r\nX-Host: x\r\nHostname: y\r\n"
	       "no colon here\r\n: empty name\r\nHost: real\r\n\r\n", &o) > 0, 1);
	STREQ(o.host, "real");

	/* Bytes past 0x7f pass through untouched. */
	EQ(req("GET /caf\xc3\xa9 HTTP/1.1\r\nUser-Agent: \xe2\x9c\x93 ok\r\n\r\n", &o) > 0, 1);
	STREQ(o.uri, "/caf\xc3\xa9");
	STREQ(o.user_agent, "\xe2\x9c\x93 ok");
}

static void test_obs_fold(void)
{
	static const char h[] =
		"GET / HTTP/1.1\r\n"
		"User-Agent: Mozilla/5.0\r\n"
		"   (X11;\r\n"
		"\t Linux)  \r\n"
		"Host:\r\n"
		" folded.example\r\n"
		"X-Other: a\r\n"
		" b\r\n"
		"Content-Type: text/html;\n"
		"\tcharset=utf-8\n"
		"Transfer-Encoding: gzip,\r\n"
		" chunked\r\n"
		"\r\n";
	struct http_request o;

	EQ(req_n(R(h), &o), sizeof(h) - 1);
	STREQ(o.user_agent, "Mozilla/5.0 (X11; Linux)");
	STREQ(o.host, "folded.example");
	STREQ(o.content_type, "text/html; charset=utf-8");
	EQ(o.chunked, 1);
	prefixes_req(R(h), sizeof(h) - 1, "folded");

	/* A continuation line before any field continues nothing. */
	EQ(req("GET / HTTP/1.1\r\n Host: no\r\nHost: yes\r\n\r\n", &o) > 0, 1);
	STREQ(o.host, "yes");
	/* Folded Content-Length. */
	EQ(req("GET / HTTP/1.1\r\nContent-Length:\r\n 42\r\n\r\n", &o) > 0, 1);
	EQ(o.content_length, 42);
}

static void test_targets(void)
{
	struct http_request o;

	EQ(req("GET http://example.com:8080/a/b?c HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", &o) > 0, 1);
	STREQ(o.uri, "http://example.com:8080/a/b?c");
	STREQ(o.host, "example.com:8080");
	EQ(req("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", &o) > 0, 1);
	STREQ(o.method, "CONNECT");
	STREQ(o.uri, "example.com:443");
	EQ(req("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n", &o) > 0, 1);
	STREQ(o.uri, "[2001:db8::1]:443");
	EQ(req("OPTIONS * HTTP/1.1\r\n\r\n", &o) > 0, 1);
	STREQ(o.uri, "*");
	EQ(req("GET /a%20b?q=\"x\"#frag HTTP/1.1\r\n\r\n", &o) > 0, 1);
	STREQ(o.uri, "/a%20b?q=\"x\"#frag");
	/* Runs of spaces between the parts, and after them. */
	EQ(req("GET   /spaced    HTTP/1.1  \r\n\r\n", &o) > 0, 1);
	STREQ(o.method, "GET");
	STREQ(o.uri, "/spaced");
	STREQ(o.version, "HTTP/1.1");
}

static void test_methods(void)
{
	struct http_request o;

	/* Any token is a method when the line has a version. */
	EQ(req("CCM_POST / HTTP/1.1\r\n\r\n", &o) > 0, 1);
	STREQ(o.method, "CCM_POST");
	EQ(req("get / HTTP/1.1\r\n\r\n", &o) > 0, 1);
	STREQ(o.method, "get");
	EQ(req("ABCDEFGHIJKLMNO / HTTP/1.1\r\n\r\n", &o) > 0, 1);
	STREQ(o.method, "ABCDEFGHIJKLMNO");
	EQ(req("VERSION-CONTROL / HTTP/1.1\r\n\r\n", &o) > 0, 1);
	EQ(req("ABCDEFGHIJKLMNOP / HTTP/1.1\r\n\r\n", &o), -1);
	EQ(req("ABCDEFGHIJKLMNOP", &o), -1);
	EQ(req("ABCDEFGHIJKLMNO", &o), 0);
	EQ(req("GE(T / HTTP/1.1\r\n\r\n", &o), -1);
	EQ(req("GET/ / HTTP/1.1\r\n\r\n", &o), -1);
	EQ(req("HTTP/1.1 200 OK\r\n\r\n", &o), -1);
	EQ(req("{\"json\": 1}\r\n\r\n", &o), -1);
}

static void test_versions(void)
{
	struct http_request o;

	EQ(req("GET / HTTP/1.0\r\n\r\n", &o) > 0, 1);
	STREQ(o.version, "HTTP/1.0");
	/* Seen in the wild (zeek-http-methods.pcap). */
	EQ(req("GET / HTTP/1.\r\n\r\n", &o) > 0, 1);
	STREQ(o.version, "HTTP/1.");
	EQ(req("GET / HTTP/1.1234\r\n\r\n", &o) > 0, 1);
	STREQ(o.version, "HTTP/1.1234");
	EQ(req("GET / HTTP/1.12345\r\n\r\n", &o), -1);
	EQ(req("GET / HTTP/2.0\r\n\r\n", &o), -1);
	EQ(req("GET / HTTP/1\r\n\r\n", &o), -1);
	EQ(req("GET / HTTP/1.1x\r\n\r\n", &o), -1);
	EQ(req("GET / http/1.1\r\n\r\n", &o), -1);
	EQ(req("GET / FTP/1.1\r\n\r\n", &o), -1);
	EQ(req("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &o), -1);
	EQ(req("GET / HTTP/1.1 extra\r\n\r\n", &o), -1);
	EQ(req("GET /a b HTTP/1.1\r\n\r\n", &o), -1);
}

static void test_http09(void)
{
	struct http_request o;

	/* No version: a known method and the head still ends at the empty line. */
	EQ(req("GET /path\r\n\r\n", &o), 13);
	STREQ(o.method, "GET");
	STREQ(o.uri, "/path");
	STREQ(o.version, "");
	EQ(req("GET /path\r\n", &o), 0);
	EQ(req("GET /HTTP/1.1\nHost: h\n\n", &o), 23);
	STREQ(o.uri, "/HTTP/1.1");
	STREQ(o.host, "h");
	EQ(req("GET /path \r\n\r\n", &o), 14);
	STREQ(o.uri, "/path");
	/* A method alone. */
	EQ(req("OPTIONS\nHost: h\n\n", &o), 17);
	STREQ(o.method, "OPTIONS");
	STREQ(o.uri, "");
	STREQ(o.version, "");
	/* Unknown methods need a version. */
	EQ(req("FOO /path\r\n\r\n", &o), -1);
	EQ(req("FOO\r\n\r\n", &o), -1);
	EQ(req("FOO /path", &o), 0);
	EQ(req("Hello\r\n", &o), -1);
	prefixes_bad("FOO /path\r\n\r\n", 1);
}

static void test_controls(void)
{
	static const char line[] = "GET /x HTTP/1.1";
	static const char bad[] = { '\t', '\x01', '\x7f', '\0', '\x1b', '\v', '\f', '\r' };
	char buf[64];
	struct http_request o;

	for (size_t i = 0; i <= sizeof(line) - 1; i++) {
		for (size_t b = 0; b < sizeof(bad); b++) {
			size_t n;

			memcpy(buf, line, i);
			buf[i] = bad[b];
			memcpy(buf + i + 1, line + i, sizeof(line) - 1 - i);
			memcpy(buf + sizeof(line), "\r\n\r\n", 4);
			n = sizeof(line) + 4;
			CHECK(req_n(buf, n, &o) == -1, "0x%02x at %zu", bad[b], i);
			/* Known to be bad as soon as the byte has arrived. */
			CHECK(req_n(buf, i + 1 + (bad[b] == '\r'), &o) == -1, "0x%02x at %zu, cut",
			      bad[b], i);
		}
	}
	/* Not in field values: those are only trimmed. */
	EQ(req("GET / HTTP/1.1\r\nUser-Agent: a\tb\x01" "c\r\n\r\n", &o) > 0, 1);
	STREQ(o.user_agent, "a\tb\x01" "c");
	/* NUL anywhere in the head rules it out; in the body it does not. */
	EQ(req_n(R("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"), &o), -1);
	EQ(req_n(R("GET / HTTP/1.1\r\nX: a\0"), &o), -1);
	EQ(req_n(R("GET / HTTP/1.1\r\n\r\n\0\0"), &o), 18);
	prefixes_bad("GET /x\x01 HTTP/1.1\r\n\r\n", 1);
	prefixes_bad(" GET / HTTP/1.1\r\n\r\n", 1);
	prefixes_bad("GET / HTTP/1.1 x\r\n\r\n", 1);
	prefixes_bad("GET / HTTP/2\r\n\r\n", 1);
}

static void test_leading_empty_line(void)
{
	struct http_request o;

	EQ(req("\r\nGET / HTTP/1.1\r\n\r\n", &o), 20);
	STREQ(o.method, "GET");
	EQ(req("\nGET / HTTP/1.1\n\n", &o), 17);
	EQ(req("\r", &o), 0);
	EQ(req("\r\n", &o), 0);
	EQ(req("\rG", &o), -1);
	/* One is tolerated, not two. */
	EQ(req("\r\n\r\nGET / HTTP/1.1\r\n\r\n", &o), -1);
	EQ(req("\n\nGET / HTTP/1.1\r\n\r\n", &o), -1);
}

static void test_content_length(void)
{
	static const struct {
		const char *v;
		int64_t want;
	} t[] = {
		{ "0", 0 },
		{ "42", 42 },
		{ "  42\t", 42 },
		{ "007", 7 },
		{ "42, 42", 42 },
		{ "42,42 , 42", 42 },
		{ "9223372036854775807", INT64_MAX },
		{ "9223372036854775808", -1 },
		{ "99999999999999999999999", -1 },
		{ "42, 43", -1 },
		{ "42,", -1 },
		{ ",42", -1 },
		{ "", -1 },
		{ "-1", -1 },
		{ "+5", -1 },
		{ "4 2", -1 },
		{ "12a", -1 },
		{ "0x10", -1 },
		{ "1e3", -1 },
	};
	char buf[128];
	struct http_request o;
	struct http_response r;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf), "PUT /f HTTP/1.1\r\nContent-Length: %s\r\n\r\n", t[i].v);
		CHECK(req(buf, &o) > 0 && o.content_length == t[i].want,
		      "request \"%s\": %" PRId64, t[i].v, o.content_length);
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\n", t[i].v);
		CHECK(resp(buf, &r) > 0 && r.content_length == t[i].want,
		      "response \"%s\": %" PRId64, t[i].v, r.content_length);
	}
	/* Repeated: equal values agree, differing ones make it unknown. */
	EQ(req("PUT / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", &o) > 0, 1);
	EQ(o.content_length, 5);
	EQ(req("PUT / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &o) > 0, 1);
	EQ(o.content_length, -1);
	EQ(req("PUT / HTTP/1.1\r\nContent-Length: x\r\nContent-Length: 6\r\n\r\n", &o) > 0, 1);
	EQ(o.content_length, -1);
	EQ(req("PUT / HTTP/1.1\r\nContent-Length: 6\r\nContent-Length: x\r\n\r\n", &o) > 0, 1);
	EQ(o.content_length, -1);
}

static void test_chunked(void)
{
	static const struct {
		const char *v;
		int want;
	} t[] = {
		{ "chunked", 1 },
		{ "Chunked", 1 },
		{ "  CHUNKED  ", 1 },
		{ "gzip, chunked", 1 },
		{ "gzip,chunked", 1 },
		{ "chunked;foo=bar", 1 },
		{ "gzip, chunked,", 1 },
		{ "chunked, gzip", 0 },
		{ "gzip", 0 },
		{ "identity", 0 },
		{ "chunkedx", 0 },
		{ "xchunked", 0 },
		{ "", 0 },
	};
	char buf[128];
	struct http_request o;
	struct http_response r;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nTransfer-Encoding: %s\r\n\r\n", t[i].v);
		CHECK(req(buf, &o) > 0 && o.chunked == t[i].want, "request \"%s\"", t[i].v);
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\ntransfer-encoding: %s\r\n\r\n", t[i].v);
		CHECK(resp(buf, &r) > 0 && r.chunked == t[i].want, "response \"%s\"", t[i].v);
	}
	/* Several fields make one list: the last coding of the last one counts. */
	EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
	       &o) > 0, 1);
	EQ(o.chunked, 0);
	EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
	       &o) > 0, 1);
	EQ(o.chunked, 1);
	/* Both: Content-Length is still reported, the body length is unknown. */
	EQ(req("POST / HTTP/1.1\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
	       &o) > 0, 1);
	EQ(o.content_length, 10);
	EQ(o.chunked, 1);
	EQ(http_body_length(o.content_length, o.chunked, 1, o.method, 0), -1);
}

/* "<prefix><n times c><suffix>" in a static buffer. */
static const char *fill(const char *prefix, char c, size_t n, const char *suffix)
{
	static char buf[HTTP_MAX_HEAD + 64];
	size_t p = strlen(prefix), s = strlen(suffix);

	if (p + n + s >= sizeof(buf))
		abort();
	memcpy(buf, prefix, p);
	memset(buf + p, c, n);
	memcpy(buf + p + n, suffix, s + 1);
	return buf;
}

static void test_cut(void)
{
	struct http_request o;
	struct http_response r;

	EQ(req(fill("GET / HTTP/1.1\r\nHost: ", 'h', HTTP_MAX_FIELD - 1, "\r\n\r\n"), &o) > 0, 1);
	EQ(strlen(o.host), HTTP_MAX_FIELD - 1);
	EQ(o.cut, 0);
	EQ(req(fill("GET / HTTP/1.1\r\nHost: ", 'h', HTTP_MAX_FIELD, "\r\n\r\n"), &o) > 0, 1);
	EQ(strlen(o.host), HTTP_MAX_FIELD - 1);
	EQ(o.cut, 1);
	/* Trailing whitespace does not count. */
	EQ(req(fill("GET / HTTP/1.1\r\nHost: ", 'h', HTTP_MAX_FIELD - 1, "      \r\n\r\n"), &o) > 0, 1);
	EQ(o.cut, 0);
	EQ(req(fill("GET / HTTP/1.1\r\nUser-Agent: ", 'u', 5000, "\r\n\r\n"), &o) > 0, 1);
	EQ(strlen(o.user_agent), HTTP_MAX_FIELD - 1);
	EQ(o.cut, 1);
	EQ(req(fill("GET / HTTP/1.1\r\nContent-Type: ", 'c', 300, "\r\n\r\n"), &o) > 0, 1);
	EQ(strlen(o.content_type), HTTP_MAX_FIELD - 1);
	EQ(o.cut, 1);
	/* A fold right at the limit. */
	EQ(req(fill("GET / HTTP/1.1\r\nHost: ", 'h', HTTP_MAX_FIELD - 2, "\r\n x\r\n\r\n"), &o) > 0, 1);
	EQ(strlen(o.host), HTTP_MAX_FIELD - 2);
	EQ(o.cut, 1);

	EQ(req(fill("GET /", 'p', HTTP_MAX_URI - 2, " HTTP/1.1\r\n\r\n"), &o) > 0, 1);
	EQ(strlen(o.uri), HTTP_MAX_URI - 1);
	EQ(o.cut, 0);
	EQ(req(fill("GET /", 'p', HTTP_MAX_URI - 1, " HTTP/1.1\r\n\r\n"), &o) > 0, 1);
	EQ(strlen(o.uri), HTTP_MAX_URI - 1);
	EQ(o.cut, 1);
	STREQ(o.version, "HTTP/1.1");

	EQ(resp(fill("HTTP/1.1 200 ", 'r', sizeof(r.reason) - 1, "\r\n\r\n"), &r) > 0, 1);
	EQ(strlen(r.reason), sizeof(r.reason) - 1);
	EQ(r.cut, 0);
	EQ(resp(fill("HTTP/1.1 200 ", 'r', sizeof(r.reason), "\r\n\r\n"), &r) > 0, 1);
	EQ(strlen(r.reason), sizeof(r.reason) - 1);
	EQ(r.cut, 1);
	EQ(resp(fill("HTTP/1.1 200 OK\r\nContent-Type: ", 't', 1000, "\r\n\r\n"), &r) > 0, 1);
	EQ(strlen(r.content_type), HTTP_MAX_FIELD - 1);
	EQ(r.cut, 1);
}

static void test_limits(void)
{
	static const char pre[] = "GET / HTTP/1.1\r\nX: ";
	size_t fixed = strlen(pre) + 4; /* and "\r\n\r\n" */
	struct http_request o;
	struct http_response r;
	const char *s;

	s = fill(pre, 'a', HTTP_MAX_HEAD - fixed, "\r\n\r\n");
	EQ(req(s, &o), HTTP_MAX_HEAD);
	s = fill(pre, 'a', HTTP_MAX_HEAD - fixed + 1, "\r\n\r\n");
	EQ(req(s, &o), -1);
	/* Without an end: more is needed below the limit, none will do at it. */
	s = fill(pre, 'a', HTTP_MAX_HEAD - 1 - strlen(pre), "");
	EQ(req(s, &o), 0);
	s = fill(pre, 'a', HTTP_MAX_HEAD - strlen(pre), "");
	EQ(req(s, &o), -1);
	s = fill("GET /", 'a', HTTP_MAX_HEAD - 6, "");
	EQ(req(s, &o), 0);
	s = fill("GET /", 'a', HTTP_MAX_HEAD - 5, "");
	EQ(req(s, &o), -1);
	/* Many short lines count the same. */
	s = fill("GET / HTTP/1.1\r\n", '\n', 0, "");
	{
		static char buf[HTTP_MAX_HEAD + 64];
		size_t n = strlen(s);

		memcpy(buf, s, n);
		while (n + 4 <= HTTP_MAX_HEAD)
			memcpy(buf + n, "X:\r\n", 4), n += 4;
		EQ(req_n(buf, n, &o), -1);
		EQ(req_n(buf, n - 4, &o), 0);
	}
	s = fill("HTTP/1.1 200 OK\r\nX: ", 'a', HTTP_MAX_HEAD, "\r\n\r\n");
	EQ(resp(s, &r), -1);
	s = fill("HTTP/1.1 200 OK\r\nX: ", 'a', 1000, "\r\n\r\n");
	EQ(resp(s, &r) > 0, 1);
}

static void test_keepalive(void)
{
	static const char two[] =
		"GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
		"POST /two HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nxyz"
		"GET /three HTTP/1.1\r\nHost: c\r\n\r\n";
	const char *p = two;
	size_t left = sizeof(two) - 1;
	struct http_request o;
	int n;

	n = req_n(p, left, &o);
	EQ(n, 30);
	STREQ(o.uri, "/one");
	p += n, left -= (size_t)n;
	p += http_body_length(o.content_length, o.chunked, 1, o.method, 0);
	n = req_n(p, left, &o);
	EQ(n, 50);
	STREQ(o.uri, "/two");
	STREQ(o.host, "b");
	p += n, left -= (size_t)n;
	EQ(http_body_length(o.content_length, o.chunked, 1, o.method, 0), 3);
	p += 3, left -= 3;
	n = req_n(p, left, &o);
	EQ(n, (int)left);
	STREQ(o.uri, "/three");
	STREQ(o.host, "c");
}

/* ---- responses ---- */

static void test_response(void)
{
	static const char h[] =
		"HTTP/1.1 404 Not Found\r\n"
		"Content-Type: text/html; charset=UTF-8\r\n"
		"Content-Length: 925\r\n"
		"Server: GFE/2.0\r\n"
		"\r\n"
		"<html>";
	struct http_response r;
	int head = (int)sizeof(h) - 1 - 6;

	EQ(resp_n(R(h), &r), head);
	STREQ(r.version, "HTTP/1.1");
	EQ(r.status, 404);
	STREQ(r.reason, "Not Found");
	STREQ(r.content_type, "text/html; charset=UTF-8");
	EQ(r.content_length, 925);
	EQ(r.chunked, 0);
	EQ(r.cut, 0);
	prefixes_resp(R(h), head, "404");

	EQ(resp("HTTP/1.0 200 OK\n\n", &r), 17);
	STREQ(r.version, "HTTP/1.0");
	EQ(resp("HTTP/1.1 200\r\n\r\n", &r), 16);
	STREQ(r.reason, "");
	EQ(resp("HTTP/1.1 200 \r\n\r\n", &r), 17);
	STREQ(r.reason, "");
	EQ(resp("HTTP/1.1   204   No\tContent  \r\n\r\n", &r) > 0, 1);
	EQ(r.status, 204);
	STREQ(r.reason, "No\tContent");
	EQ(resp("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", &r), 25);
	EQ(r.status, 100);
	EQ(resp("HTTP/1.1 999 Max\r\n\r\n", &r) > 0, 1);
	EQ(r.status, 999);
	EQ(resp("HTTP/1.9 200 OK\r\n\r\n", &r) > 0, 1);
	STREQ(r.version, "HTTP/1.9");

	EQ(resp("HTTP/1.1 099 Low\r\n\r\n", &r), -1);
	EQ(resp("HTTP/1.1 20 OK\r\n\r\n", &r), -1);
	EQ(resp("HTTP/1.1 2000 OK\r\n\r\n", &r), -1);
	EQ(resp("HTTP/1.1 200OK\r\n\r\n", &r), -1);
	EQ(resp("HTTP/1.1 2x0 OK\r\n\r\n", &r), -1);
	EQ(resp("HTTP/1.1\r\n\r\n", &r), -1);
	EQ(resp("HTTP/1.1 \r\n\r\n", &r), -1);
	EQ(resp("HTTP/1.10 200 OK\r\n\r\n", &r), -1);
	EQ(resp("HTTP/1.x 200 OK\r\n\r\n", &r), -1);
	EQ(resp("HTTP/2 200\r\n\r\n", &r), -1);
	EQ(resp("HTTP/1.1\t200 OK\r\n\r\n", &r), -1);
	EQ(resp("HTTP/1.1 200 O\x01K\r\n\r\n", &r), -1);
	EQ(resp("HTTP/1.1 200 OK\rX\r\n\r\n", &r), -1);
	EQ(resp("http/1.1 200 OK\r\n\r\n", &r), -1);
	EQ(resp("\r\nHTTP/1.1 200 OK\r\n\r\n", &r), -1);
	EQ(resp("GET / HTTP/1.1\r\n\r\n", &r), -1);
	EQ(resp_n(R("HTTP/1.1 200 OK\r\nX: \0\r\n\r\n"), &r), -1);
	EQ(resp("HTTP/1.1 200 OK\r\n", &r), 0);
	EQ(resp("HTTP/1.1 2", &r), 0);
	EQ(resp("HTTP/", &r), 0);
	EQ(resp("HTTP/2", &r), -1);
	EQ(resp("", &r), 0);
	prefixes_bad("HTTP/1.1 200 O\x7fK\r\n\r\n", 0);
	prefixes_bad("HTTP/1.1 20 OK\r\n\r\n", 0);
	prefixes_bad("HTTP/1.1 2000\r\n\r\n", 0);

	/* Fields of requests are not looked for. */
	EQ(resp("HTTP/1.1 200 OK\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", &r) > 0, 1);
	EQ(r.chunked, 1);
	EQ(r.content_length, -1);
}

static void test_body_length(void)
{
	/* Requests: the length, none without one, unknown when chunked. */
	EQ(http_body_length(10, 0, 1, "POST", 0), 10);
	EQ(http_body_length(0, 0, 1, "POST", 0), 0);
	EQ(http_body_length(-1, 0, 1, "GET", 0), 0);
	EQ(http_body_length(-1, 1, 1, "POST", 0), -1);
	EQ(http_body_length(10, 1, 1, "POST", 0), -1);
	EQ(http_body_length(-1, 0, 1, NULL, 0), 0);
	/* Responses. */
	EQ(http_body_length(10, 0, 0, "GET", 200), 10);
	EQ(http_body_length(-1, 0, 0, "GET", 200), -1);
	EQ(http_body_length(10, 1, 0, "GET", 200), -1);
	EQ(http_body_length(10, 0, 0, NULL, 200), 10);
	EQ(http_body_length(10, 0, 0, "HEAD", 200), 0);
	EQ(http_body_length(-1, 1, 0, "HEAD", 200), 0);
	EQ(http_body_length(-1, 0, 0, "GET", 100), 0);
	EQ(http_body_length(-1, 0, 0, "GET", 103), 0);
	EQ(http_body_length(-1, 0, 0, "GET", 101), -1);
	EQ(http_body_length(-1, 0, 0, "GET", 204), 0);
	EQ(http_body_length(50, 0, 0, "GET", 304), 0);
	EQ(http_body_length(-1, 0, 0, "CONNECT", 200), -1);
	EQ(http_body_length(0, 0, 0, "CONNECT", 200), -1);
	EQ(http_body_length(20, 0, 0, "CONNECT", 407), 20);
	EQ(http_body_length(5, 0, 0, "GET", 404), 5);
	EQ(http_body_length(-1, 0, 0, "GET", 500), -1);
}

/* ---- real heads ---- */

/* TCP payloads from /work/shared/pcap, with the method, host, URI and
 * User-Agent that tshark reports for them (truth/<capture>.json); fields
 * tshark has none of are "". */
struct real_req {
	const char *cap;
	unsigned frame;
	const char *head;
	size_t len;
	const char *method, *host, *uri, *user_agent;
};

/* Responses: the head and the first body bytes after it; status and
 * version as tshark reports them, Content-Type and Content-Length as they
 * read in the head. */
struct real_resp {
	const char *cap;
	unsigned frame;
	const char *data;
	size_t len;
	int head;
	unsigned status;
	const char *version, *content_type;
	int64_t content_length;
};

static const char zeek_http_get_req4[] =
	"GET /download/CHANGES.bro-aux.txt HTTP/1.1\r\n"
	"User-Agent: Wget/1.14 (darwin12.2.0)\r\n"
	"Accept: */*\r\n"
	"Host: bro.org\r\n"
	"Connection: Keep-Alive\r\n"
	"\r\n";

static const char zeek_http_methods_req4[] =
	"OPTIONS * HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req14[] =
	"OPTIONS HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req34[] =
	"OPTIONS\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req44[] =
	"GET / HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req108[] =
	"GET / HTTP/1.\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req172[] =
	"GET /HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req202[] =
	"GET / HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req319[] =
	"CCM_POST / HTTP/1.\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req329[] =
	"CCM_POST /HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req359[] =
	"CCM_POST / HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req369[] =
	"CONNECT / HTTP/1.\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req379[] =
	"CONNECT /HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req409[] =
	"CONNECT / HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req419[] =
	"TRACE / HTTP/1.\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req429[] =
	"TRACE /HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req459[] =
	"TRACE / HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req469[] =
	"DELETE / HTTP/1.\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req479[] =
	"DELETE /HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req509[] =
	"DELETE / HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req519[] =
	"PUT / HTTP/1.\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req529[] =
	"PUT /HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req559[] =
	"PUT / HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req569[] =
	"POST / HTTP/1.\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req579[] =
	"POST /HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req609[] =
	"HEAD / HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req619[] =
	"HEAD / HTTP/1.\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_req629[] =
	"HEAD /HTTP/1.1\n"
	"Host: www.google.com\n"
	"\n";

static const char zeek_http_methods_resp6[] =
	"HTTP/1.1 405 Method Not Allowed\r\n"
	"Content-Type: text/html; charset=UTF-8\r\n"
	"Content-Length: 962\r\n"
	"Date: Sat, 01 Dec 2012 02:29:08 GMT\r\n"
	"Server: GFE/2.0\r\n"
	"\r\n"
	"<!DOCTYPE html>\n";

static const char zeek_http_methods_resp16[] =
	"HTTP/1.0 400 Bad Request\r\n"
	"Content-Type: text/html; charset=UTF-8\r\n"
	"Content-Length: 925\r\n"
	"Date: Sat, 01 Dec 2012 02:29:12 GMT\r\n"
	"Server: GFE/2.0\r\n"
	"\r\n"
	"<!DOCTYPE html>\n";

static const char zeek_http_methods_resp174[] =
	"HTTP/1.0 403 Forbidden\r\n"
	"Content-Length: 1207\r\n"
	"Content-Type: text/html; charset=UTF-8\r\n"
	"Date: Sat, 01 Dec 2012 02:29:21 GMT\r\n"
	"Server: GFE/2.0\r\n"
	"\r\n"
	"<html><head><met";

static const char zeek_http_methods_resp521[] =
	"HTTP/1.0 411 Length Required\r\n"
	"Content-Type: text/html; charset=UTF-8\r\n"
	"Content-Length: 934\r\n"
	"Date: Sat, 01 Dec 2012 02:30:02 GMT\r\n"
	"Server: GFE/2.0\r\n"
	"\r\n"
	"<!DOCTYPE html>\n";

static const char zeek_http_methods_resp611[] =
	"HTTP/1.1 200 OK\r\n"
	"Date: Sat, 01 Dec 2012 02:30:03 GMT\r\n"
	"Expires: -1\r\n"
	"Cache-Control: private, max-age=0\r\n"
	"Content-Type: text/html; charset=ISO-8859-1\r\n"
	"Set-Cookie: PREF=ID=b630fe750eabe904:FF=0:TM=1354329003:LM=1354329003:S="
	"KQeNYr_FYF4VnQQ4; expires=Mon, 01-Dec-2014 02:30:03 GMT; path=/; domain="
	".google.com\r\n"
	"Set-Cookie: NID=66=lZQgnZd_UryasCHxCLBrdzbCh7pGIimWoKp-_n36689-s4ph-6a7Z"
	"S60pN8Pr7KdbMoZtubla_01TPgpQZcWouOn7HYP_rs60-JoJu13nM-yayuQTDsNyN6O9S7Bs"
	"is0; expires=Sun, 02-Jun-2013 02:30:03 GMT; path=/; domain=.google.com; "
	"HttpOnly\r\n"
	"P3P: CP=\"This is not a P3P policy! See http://www.google.com/support/ac"
	"counts/bin/answer.py?hl=en&answer=151657 for more info.\"\r\n"
	"Server: gws\r\n"
	"X-XSS-Protection: 1; mode=block\r\n"
	"X-Frame-Options: SAMEORIGIN\r\n"
	"Transfer-Encoding: chunked\r\n"
	"\r\n";

static const char zeek_http_proxy_req4[] =
	"GET HTTP://bro.org/ HTTP/1.1\r\n"
	"User-Agent: curl/7.33.0\r\n"
	"Host: bro.org\r\n"
	"Accept: */*\r\n"
	"Proxy-Connection: Keep-Alive\r\n"
	"\r\n";

static const char ndpi_http_manipulated_req4[] =
	"GET / HTTP/1.1\r\n"
	"hOsT:wwww.lan:8080\r\n"
	"User-Agent: curl/7.64.0\r\n"
	"Accept: */*\r\n"
	"\r\n";

static const char ndpi_http_manipulated_req14[] =
	"GET                  /aaaaaaaaaaaaaaaaaaaaaaaa_very_long_uri HTTP/1.1\r\n"
	"Host: www.lan:8080\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:81.0) Gecko/20100101 Fire"
	"fox/81.0\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/webp"
	",*/*;q=0.8\r\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"DNT: 1\r\n"
	"Connection: keep-alive\r\n"
	"Upgrade-Insecure-Requests: 1\r\n"
	"\r\n";

static const char ndpi_http_manipulated_req18[] =
	"GET /rick.gif HTTP/1.1\r\n"
	"Host: www.lan:8080\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:81.0) Gecko/20100101 Fire"
	"fox/81.0\r\n"
	"Accept: image/webp,*/*\r\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"DNT: 1\r\n"
	"Connection: keep-alive\r\n"
	"Referer: http://www.lan:8080/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_v"
	"ery_long_uri\r\n"
	"\r\n";

static const char ndpi_http_manipulated_resp6[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: text/html\r\n"
	"Accept-Ranges: bytes\r\n"
	"ETag: \"2564964297\"\r\n"
	"Last-Modified: Mon, 26 Jul 2021 00:39:43 GMT\r\n"
	"Content-Length: 366\r\n"
	"Date: Thu, 05 Aug 2021 12:58:21 GMT\r\n"
	"Server: gamma_httpd\r\n"
	"\r\n"
	"<html>\n"
	"<head>\n"
	"<t";

static const char ndpi_webattacksqlinj_req4[] =
	"GET /dv/vulnerabilities/sqli/?id=1%27&Submit=Submit HTTP/1.1\r\n"
	"Host: 205.174.165.68\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Fire"
	"fox/45.0\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r"
	"\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"Referer: http://205.174.165.68/dv/vulnerabilities/sqli/\r\n"
	"Cookie: security=low; PHPSESSID=5dfcuh85kg0vvidf8nrsjtbob5\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

static const char ndpi_webattacksqlinj_req15[] =
	"GET /dv/vulnerabilities/sqli/?id=1%27+and+1%3D1%23&Submit=Submit HTTP/1."
	"1\r\n"
	"Host: 205.174.165.68\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Fire"
	"fox/45.0\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r"
	"\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"Referer: http://205.174.165.68/dv/vulnerabilities/sqli/\r\n"
	"Cookie: security=low; PHPSESSID=5dfcuh85kg0vvidf8nrsjtbob5\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

static const char ndpi_webattacksqlinj_req25[] =
	"GET /dv/vulnerabilities/sqli/?id=1%27+and+1%3D1+union+select+database%28"
	"%29%2C+user%28%29%23&Submit=Submit HTTP/1.1\r\n"
	"Host: 205.174.165.68\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Fire"
	"fox/45.0\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r"
	"\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"Referer: http://205.174.165.68/dv/vulnerabilities/sqli/?id=1%27+and+1%3D"
	"1%23&Submit=Submit\r\n"
	"Cookie: security=low; PHPSESSID=5dfcuh85kg0vvidf8nrsjtbob5\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

static const char ndpi_webattacksqlinj_req35[] =
	"GET /dv/vulnerabilities/sqli/?id=1%27+and+1%3D1+union+select+null%2C+tab"
	"le_name+from+information_schema.tables%23&Submit=Submit HTTP/1.1\r\n"
	"Host: 205.174.165.68\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Fire"
	"fox/45.0\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r"
	"\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"Referer: http://205.174.165.68/dv/vulnerabilities/sqli/?id=1%27+and+1%3D"
	"1+union+select+database%28%29%2C+user%28%29%23&Submit=Submit\r\n"
	"Cookie: security=low; PHPSESSID=5dfcuh85kg0vvidf8nrsjtbob5\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

static const char ndpi_webattacksqlinj_req46[] =
	"GET /dv/vulnerabilities/sqli/?id=1%27+and+1%3D1+union+select+user%2C+pas"
	"sword+from+users%23&Submit=Submit HTTP/1.1\r\n"
	"Host: 205.174.165.68\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Fire"
	"fox/45.0\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r"
	"\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"Referer: http://205.174.165.68/dv/vulnerabilities/sqli/?id=1%27+and+1%3D"
	"1+union+select+null%2C+table_name+from+information_schema.tables%23&Subm"
	"it=Submit\r\n"
	"Cookie: security=low; PHPSESSID=5dfcuh85kg0vvidf8nrsjtbob5\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

static const char ndpi_webattacksqlinj_req56[] =
	"GET /dv/vulnerabilities/sqli/?id=1%27&Submit=Submit HTTP/1.1\r\n"
	"Host: 205.174.165.68\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Fire"
	"fox/45.0\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r"
	"\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"Referer: http://205.174.165.68/dv/vulnerabilities/sqli/?id=1%27+and+1%3D"
	"1+union+select+user%2C+password+from+users%23&Submit=Submit\r\n"
	"Cookie: security=low; PHPSESSID=5dfcuh85kg0vvidf8nrsjtbob5\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

static const char ndpi_webattacksqlinj_req66[] =
	"GET /dv/vulnerabilities/sqli/?id=1%27+and+1%3D1%23&Submit=Submit HTTP/1."
	"1\r\n"
	"Host: 205.174.165.68\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Fire"
	"fox/45.0\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r"
	"\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"Referer: http://205.174.165.68/dv/vulnerabilities/sqli/?id=1%27+and+1%3D"
	"1+union+select+user%2C+password+from+users%23&Submit=Submit\r\n"
	"Cookie: security=low; PHPSESSID=5dfcuh85kg0vvidf8nrsjtbob5\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

static const char ndpi_webattacksqlinj_req76[] =
	"GET /dv/vulnerabilities/sqli/?id=1%27+and+1%3D1+union+select+database%28"
	"%29%2C+user%28%29%23&Submit=Submit HTTP/1.1\r\n"
	"Host: 205.174.165.68\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Fire"
	"fox/45.0\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r"
	"\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"Referer: http://205.174.165.68/dv/vulnerabilities/sqli/?id=1%27+and+1%3D"
	"1%23&Submit=Submit\r\n"
	"Cookie: security=low; PHPSESSID=5dfcuh85kg0vvidf8nrsjtbob5\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

static const char ndpi_webattacksqlinj_req86[] =
	"GET /dv/vulnerabilities/sqli/?id=1%27+and+1%3D1+union+select+null%2C+tab"
	"le_name+from+information_schema.tables%23&Submit=Submit HTTP/1.1\r\n"
	"Host: 205.174.165.68\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Fire"
	"fox/45.0\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r"
	"\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate\r\n"
	"Referer: http://205.174.165.68/dv/vulnerabilities/sqli/?id=1%27+and+1%3D"
	"1+union+select+database%28%29%2C+user%28%29%23&Submit=Submit\r\n"
	"Cookie: security=low; PHPSESSID=5dfcuh85kg0vvidf8nrsjtbob5\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

static const char ndpi_webattacksqlinj_resp6[] =
	"HTTP/1.1 200 OK\r\n"
	"Date: Thu, 06 Jul 2017 13:40:07 GMT\r\n"
	"Server: Apache/2.4.18 (Ubuntu)\r\n"
	"Expires: Thu, 19 Nov 1981 08:52:00 GMT\r\n"
	"Cache-Control: no-store, no-cache, must-revalidate, post-check=0, pre-ch"
	"eck=0\r\n"
	"Pragma: no-cache\r\n"
	"Vary: Accept-Encoding\r\n"
	"Content-Encoding: gzip\r\n"
	"Content-Length: 141\r\n"
	"Keep-Alive: timeout=5, max=100\r\n"
	"Connection: Keep-Alive\r\n"
	"Content-Type: text/html; charset=UTF-8\r\n"
	"\r\n"
	"\037\213\010\000\000\000\000\000\000\003-\3161\016\3020";

static const char arkime_http_simple_get_req4[] =
	"GET / HTTP/1.1\r\n"
	"User-Agent: curl/7.24.0 (x86_64-apple-darwin12.0) libcurl/7.24.0 OpenSSL"
	"/0.9.8y zlib/1.2.5\r\n"
	"Host: xxxxxxxxxxxxx.xxx.com\r\n"
	"Accept: */*\r\n"
	"\r\n";

static const struct real_req real_reqs[] = {
	{ "zeek-http-get", 4, R(zeek_http_get_req4),
	  "GET", "bro.org",
	  "/download/CHANGES.bro-aux.txt",
	  "Wget/1.14 (darwin12.2.0)" },
	{ "zeek-http-methods", 4, R(zeek_http_methods_req4),
	  "OPTIONS", "www.google.com",
	  "*",
	  "" },
	{ "zeek-http-methods", 14, R(zeek_http_methods_req14),
	  "OPTIONS", "www.google.com",
	  "HTTP/1.1",
	  "" },
	{ "zeek-http-methods", 34, R(zeek_http_methods_req34),
	  "OPTIONS", "www.google.com",
	  "",
	  "" },
	{ "zeek-http-methods", 44, R(zeek_http_methods_req44),
	  "GET", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 108, R(zeek_http_methods_req108),
	  "GET", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 172, R(zeek_http_methods_req172),
	  "GET", "www.google.com",
	  "/HTTP/1.1",
	  "" },
	{ "zeek-http-methods", 202, R(zeek_http_methods_req202),
	  "GET", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 319, R(zeek_http_methods_req319),
	  "CCM_POST", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 359, R(zeek_http_methods_req359),
	  "CCM_POST", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 369, R(zeek_http_methods_req369),
	  "CONNECT", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 379, R(zeek_http_methods_req379),
	  "CONNECT", "www.google.com",
	  "/HTTP/1.1",
	  "" },
	{ "zeek-http-methods", 409, R(zeek_http_methods_req409),
	  "CONNECT", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 419, R(zeek_http_methods_req419),
	  "TRACE", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 429, R(zeek_http_methods_req429),
	  "TRACE", "www.google.com",
	  "/HTTP/1.1",
	  "" },
	{ "zeek-http-methods", 459, R(zeek_http_methods_req459),
	  "TRACE", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 469, R(zeek_http_methods_req469),
	  "DELETE", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 479, R(zeek_http_methods_req479),
	  "DELETE", "www.google.com",
	  "/HTTP/1.1",
	  "" },
	{ "zeek-http-methods", 509, R(zeek_http_methods_req509),
	  "DELETE", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 519, R(zeek_http_methods_req519),
	  "PUT", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 529, R(zeek_http_methods_req529),
	  "PUT", "www.google.com",
	  "/HTTP/1.1",
	  "" },
	{ "zeek-http-methods", 559, R(zeek_http_methods_req559),
	  "PUT", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 569, R(zeek_http_methods_req569),
	  "POST", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 579, R(zeek_http_methods_req579),
	  "POST", "www.google.com",
	  "/HTTP/1.1",
	  "" },
	{ "zeek-http-methods", 609, R(zeek_http_methods_req609),
	  "HEAD", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 619, R(zeek_http_methods_req619),
	  "HEAD", "www.google.com",
	  "/",
	  "" },
	{ "zeek-http-methods", 629, R(zeek_http_methods_req629),
	  "HEAD", "www.google.com",
	  "/HTTP/1.1",
	  "" },
	{ "zeek-http-proxy", 4, R(zeek_http_proxy_req4),
	  "GET", "bro.org",
	  "HTTP://bro.org/",
	  "curl/7.33.0" },
	{ "ndpi-http-manipulated", 4, R(ndpi_http_manipulated_req4),
	  "GET", "wwww.lan:8080",
	  "/",
	  "curl/7.64.0" },
	/* tshark splits this line at its first space, so it reports no URI
	 * (and the rest as the version); runs of spaces count as one here. */
	{ "ndpi-http-manipulated", 14, R(ndpi_http_manipulated_req14),
	  "GET", "www.lan:8080",
	  "/aaaaaaaaaaaaaaaaaaaaaaaa_very_long_uri",
	  "Mozilla/5.0 (X11; Linux x86_64; rv:81.0) Gecko/20100101 Firefox/81.0" },
	{ "ndpi-http-manipulated", 18, R(ndpi_http_manipulated_req18),
	  "GET", "www.lan:8080",
	  "/rick.gif",
	  "Mozilla/5.0 (X11; Linux x86_64; rv:81.0) Gecko/20100101 Firefox/81.0" },
	{ "ndpi-WebattackSQLinj", 4, R(ndpi_webattacksqlinj_req4),
	  "GET", "205.174.165.68",
	  "/dv/vulnerabilities/sqli/?id=1%27&Submit=Submit",
	  "Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Firefox/45.0" },
	{ "ndpi-WebattackSQLinj", 15, R(ndpi_webattacksqlinj_req15),
	  "GET", "205.174.165.68",
	  "/dv/vulnerabilities/sqli/?id=1%27+and+1%3D1%23&Submit=Submit",
	  "Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Firefox/45.0" },
	{ "ndpi-WebattackSQLinj", 25, R(ndpi_webattacksqlinj_req25),
	  "GET", "205.174.165.68",
	  "/dv/vulnerabilities/sqli/?id=1%27+and+1%3D1+union+select+database%28%29%2C+user%28%29%23&Submit=Submit",
	  "Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Firefox/45.0" },
	{ "ndpi-WebattackSQLinj", 35, R(ndpi_webattacksqlinj_req35),
	  "GET", "205.174.165.68",
	  "/dv/vulnerabilities/sqli/?id=1%27+and+1%3D1+union+select+null%2C+table_name+from+information_schema.tables%23&Submit=Submit",
	  "Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Firefox/45.0" },
	{ "ndpi-WebattackSQLinj", 46, R(ndpi_webattacksqlinj_req46),
	  "GET", "205.174.165.68",
	  "/dv/vulnerabilities/sqli/?id=1%27+and+1%3D1+union+select+user%2C+password+from+users%23&Submit=Submit",
	  "Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Firefox/45.0" },
	{ "ndpi-WebattackSQLinj", 56, R(ndpi_webattacksqlinj_req56),
	  "GET", "205.174.165.68",
	  "/dv/vulnerabilities/sqli/?id=1%27&Submit=Submit",
	  "Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Firefox/45.0" },
	{ "ndpi-WebattackSQLinj", 66, R(ndpi_webattacksqlinj_req66),
	  "GET", "205.174.165.68",
	  "/dv/vulnerabilities/sqli/?id=1%27+and+1%3D1%23&Submit=Submit",
	  "Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Firefox/45.0" },
	{ "ndpi-WebattackSQLinj", 76, R(ndpi_webattacksqlinj_req76),
	  "GET", "205.174.165.68",
	  "/dv/vulnerabilities/sqli/?id=1%27+and+1%3D1+union+select+database%28%29%2C+user%28%29%23&Submit=Submit",
	  "Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Firefox/45.0" },
	{ "ndpi-WebattackSQLinj", 86, R(ndpi_webattacksqlinj_req86),
	  "GET", "205.174.165.68",
	  "/dv/vulnerabilities/sqli/?id=1%27+and+1%3D1+union+select+null%2C+table_name+from+information_schema.tables%23&Submit=Submit",
	  "Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Firefox/45.0" },
	{ "arkime-http-simple-get", 4, R(arkime_http_simple_get_req4),
	  "GET", "xxxxxxxxxxxxx.xxx.com",
	  "/",
	  "curl/7.24.0 (x86_64-apple-darwin12.0) libcurl/7.24.0 OpenSSL/0.9.8y zlib/1.2.5" },
};

static const struct real_resp real_resps[] = {
	{ "zeek-http-methods", 6, R(zeek_http_methods_resp6), 150,
	  405, "HTTP/1.1", "text/html; charset=UTF-8", 962 },
	{ "zeek-http-methods", 16, R(zeek_http_methods_resp16), 143,
	  400, "HTTP/1.0", "text/html; charset=UTF-8", 925 },
	{ "zeek-http-methods", 174, R(zeek_http_methods_resp174), 142,
	  403, "HTTP/1.0", "text/html; charset=UTF-8", 1207 },
	{ "zeek-http-methods", 521, R(zeek_http_methods_resp521), 147,
	  411, "HTTP/1.0", "text/html; charset=UTF-8", 934 },
	{ "zeek-http-methods", 611, R(zeek_http_methods_resp611), 764,
	  200, "HTTP/1.1", "text/html; charset=ISO-8859-1", -1 },
	{ "ndpi-http-manipulated", 6, R(ndpi_http_manipulated_resp6), 211,
	  200, "HTTP/1.1", "text/html", 366 },
	{ "ndpi-WebattackSQLinj", 6, R(ndpi_webattacksqlinj_resp6), 389,
	  200, "HTTP/1.1", "text/html; charset=UTF-8", 141 },
};

/* ndpi-http_ua_splitted_in_two_pkts.pcapng frames 3 and 4: the User-Agent value is split between them. */
static const char split_seg1[] =
	"GET /tracking/adImpression?d=IAAAAAAgAAA6X1tPSEVEX1lYX11IQ0JYRVdYR01QQFB"
	"FV0JFWUFfXVNaQkRcQ0RSQUVTVltHWkFFVF1eXVBPS0VUQ1dQQk02LzMtT0RHW15NXVREFkx"
	"XE0NSRklIWFETQV1AWFcLRgdPS0dMRUxWE0hcClFDHRMWSl5dVlZJQ0JVQUFTSVNUWl5GSUB"
	"NUFdfWVNaQk1cERsMXgcEHQ8TSl4fCAMHBgQNXRkOBhVYEQQMXQJRS0dJXEFZWCBURldTSkk"
	"oPSA3KzAhMD86SlxfVjcwMDw%2BJjE5JFNWXF47NzEkOTAhPSArPzU4UUdWTRYQAg8CGBcRN"
	"lwKNAYMERE%2BGxoHAhE6HAwHFxQbGw4ADAAmGhoAAgQ%2BHwYAHA8TAFNHUFI6Kic1NiBCR"
	"kJcID0oIiATDT4RHiw%2BJkZNREkzNzMsPzQgIkBGQU1HXVhXRVVaRkRcMzolIj8sKkBHS00"
	"xBxsLGREYGhoMFxoVU0VTU1JCSUBaWUxbXFhIQ0RRXERCRUhYWkBESU0jICknSFNKTkdCREF"
	"cIzQuTVVFREBaWVpZWEZIQkVcFBUNAxVGWVtPSEZEWUxZUlhLRkJRUUVcEhRXDwUTQBNZXlt"
	"cXUhNQEwAX01QRRVIVwFAHRVBXAkPXgFIUENQTzgOB1AIDxcHCxkAEExaW1g8BRETCxsPFVN"
	"QXV43FwQRGxsPAgsUFhoVUUVRR01dX1JDSUBGX19NWlVBThIAHgcEU0JYX01GWkVJXV1cW1d"
	"aREFcX0BPQFNSWF40NiUmSl5bVjcwMDw%2BJjE5JFNUWF4BEB4TBQpNWlJEQldTQkkyPV0xV"
	"lNHWkJFVBwPBhYMHRNCQEZcQkNGXVNPNj1XWldTWEtPXUdCRkBcQ1NRW15CWkRNVA0KWQQfE"
	"k0CX0NVQkZIWlBKGF1NWFoNRldAEUYFF0FUFhFQCkBHQE0AGxoLSFNATgMAARgAQ1NSXF4UG"
	"BwHDExZWFgYAVkAF1dWRE1dWFFGTENDX1xcSF1PTjEvMzYtNTRGV1tPMD4gLD09PywtOjUtU"
	"UxUTRYEAhAXWkhDVF9AW1BOQFdZSklVXkBGVlpPSF5ESl5eXVgNAQEEUUVQRU1UXlFBWkFFX"
	"1JaSA%3D%3D&position=interstitial&clientSessionId=8cd5c53b-cba8-4d4e-a79"
	"9-082b67ec4491&ts=1506671989776&afh=COLUFUMxuJW3sbxoFZeVWg HTTP/1.1\r\n"
	"Cache-Control: no-cache\r\n"
	"Cookie: JSESSIONID=784F27AF20E357C1D6B456D33B247A0B\r\n"
	"User-Agent: Mozil";

static const char split_seg2[] =
	"la/5.0 (Linux; Android 6.0.1; SM-T805 Build/MMB29K; wv) AppleWebKit/537."
	"36 (KHTML, like Gecko) Version/4.0 Chrome/61.0.3163.98 Safari/537.36\r\n"
	"Accept: application/json;text/html;text/plain\r\n"
	"Host: va.origin.startappservice.com\r\n"
	"Connection: Keep-Alive\r\n"
	"Accept-Encoding: gzip\r\n"
	"\r\n";

static const char split_method[] =
	"GET";

static const char split_host[] =
	"va.origin.startappservice.com";

static const char split_uri[] =
	"/tracking/adImpression?d=IAAAAAAgAAA6X1tPSEVEX1lYX11IQ0JYRVdYR01QQFBFV0J"
	"FWUFfXVNaQkRcQ0RSQUVTVltHWkFFVF1eXVBPS0VUQ1dQQk02LzMtT0RHW15NXVREFkxXE0N"
	"SRklIWFETQV1AWFcLRgdPS0dMRUxWE0hcClFDHRMWSl5dVlZJQ0JVQUFTSVNUWl5GSUBNUFd"
	"fWVNaQk1cERsMXgcEHQ8TSl4fCAMHBgQNXRkOBhVYEQQMXQJRS0dJXEFZWCBURldTSkkoPSA"
	"3KzAhMD86SlxfVjcwMDw%2BJjE5JFNWXF47NzEkOTAhPSArPzU4UUdWTRYQAg8CGBcRNlwKN"
	"AYMERE%2BGxoHAhE6HAwHFxQbGw4ADAAmGhoAAgQ%2BHwYAHA8TAFNHUFI6Kic1NiBCRkJcI"
	"D0oIiATDT4RHiw%2BJkZNREkzNzMsPzQgIkBGQU1HXVhXRVVaRkRcMzolIj8sKkBHS00xBxs"
	"LGREYGhoMFxoVU0VTU1JCSUBaWUxbXFhIQ0RRXERCRUhYWkBESU0jICknSFNKTkdCREFcIzQ"
	"uTVVFREBaWVpZWEZIQkVcFBUNAxVGWVtPSEZEWUxZUlhLRkJRUUVcEhRXDwUTQBNZXltcXUh"
	"NQEwAX01QRRVIVwFAHRVBXAkPXgFIUENQTzgOB1AIDxcHCxkAEExaW1g8BRETCxsPFVNQXV4"
	"3FwQRGxsPAgsUFhoVUUVRR01dX1JDSUBGX19NWlVBThIAHgcEU0JYX01GWkVJXV1cW1daREF"
	"cX0BPQFNSWF40NiUmSl5bVjcwMDw%2BJjE5JFNUWF4BEB4TBQpNWlJEQldTQkkyPV0xVlNHW"
	"kJFVBwPBhYMHRNCQEZcQkNGXVNPNj1XWldTWEtPXUdCRkBcQ1NRW15CWkRNVA0KWQQfEk0CX"
	"0NVQkZIWlBKGF1NWFoNRldAEUYFF0FUFhFQCkBHQE0AGxoLSFNATgMAARgAQ1NSXF4UGBwHD"
	"ExZWFgYAVkAF1dWRE1dWFFGTENDX1xcSF1PTjEvMzYtNTRGV1tPMD4gLD09PywtOjUtUUxUT"
	"RYEAhAXWkhDVF9AW1BOQFdZSklVXkBGVlpPSF5ESl5eXVgNAQEEUUVQRU1UXlFBWkFFX1JaS"
	"A%3D%3D&position=interstitial&clientSessionId=8cd5c53b-cba8-4d4e-a799-08"
	"2b67ec4491&ts=1506671989776&afh=COLUFUMxuJW3sbxoFZeVWg";

static const char split_user_agent[] =
	"Mozilla/5.0 (Linux; Android 6.0.1; SM-T805 Build/MMB29K; wv) AppleWebKit"
	"/537.36 (KHTML, like Gecko) Version/4.0 Chrome/61.0.3163.98 Safari/537.3"
	"6";

static const char split_resp5[] =
	"HTTP/1.1 200 \r\n"
	"Access-Control-Allow-Origin: *\r\n"
	"Date: Fri, 29 Sep 2017 06:00:14 GMT\r\n"
	"Content-Length: 0\r\n"
	"Connection: keep-alive\r\n"
	"\r\n";

/* tshark: 200 HTTP/1.1 */
/* zeek-http-pipelined-requests frames 4 and 6, back to back. */
static const char keepalive[] =
	"GET /style/enhanced.css HTTP/1.1\r\n"
	"Host: www.mozilla.org\r\n"
	"User-Agent: Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.9.1.5) "
	"Gecko/20091102 Firefox/3.5.5\r\n"
	"Accept: text/css,*/*;q=0.1\r\n"
	"Accept-Language: en-us,en;q=0.5\r\n"
	"Accept-Encoding: gzip,deflate\r\n"
	"Accept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\r\n"
	"Keep-Alive: 300\r\n"
	"Connection: keep-alive\r\n"
	"Referer: http://www.mozilla.org/projects/calendar/\r\n"
	"\r\n"
	"GET /script/urchin.js HTTP/1.1\r\n"
	"Host: www.mozilla.org\r\n"
	"User-Agent: Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.9.1.5) "
	"Gecko/20091102 Firefox/3.5.5\r\n"
	"Accept: */*\r\n"
	"Accept-Language: en-us,en;q=0.5\r\n"
	"Accept-Encoding: gzip,deflate\r\n"
	"Accept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\r\n"
	"Keep-Alive: 300\r\n"
	"Connection: keep-alive\r\n"
	"Referer: http://www.mozilla.org/projects/calendar/\r\n"
	"\r\n";

static const size_t keepalive_first = 394;
/* tshark frame 4: GET /style/enhanced.css */
/* tshark frame 6: GET /script/urchin.js */

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* want cut to fit the way the parser cuts it. */
static int same_cut(const char *got, const char *want, size_t cap)
{
	size_t n = strlen(want) < cap - 1 ? strlen(want) : cap - 1;

	return strlen(got) == n && !strncmp(got, want, n);
}

static void test_real_requests(void)
{
	struct http_request o;
	char what[96];

	for (size_t i = 0; i < N_OF(real_reqs); i++) {
		const struct real_req *t = &real_reqs[i];

		snprintf(what, sizeof(what), "%s frame %u", t->cap, t->frame);
		CHECK(req_n(t->head, t->len, &o) == (int)t->len, "%s", what);
		CHECK(!strcmp(o.method, t->method), "%s: method \"%s\"", what, o.method);
		CHECK(!strcmp(o.host, t->host), "%s: host \"%s\"", what, o.host);
		CHECK(same_cut(o.uri, t->uri, sizeof(o.uri)), "%s: uri \"%s\"", what, o.uri);
		CHECK(!strcmp(o.user_agent, t->user_agent), "%s: ua \"%s\"", what, o.user_agent);
		CHECK(o.cut == (strlen(t->uri) >= sizeof(o.uri)), "%s: cut", what);
		/* "OPTIONS\n" has no space after the method; CCM_POST is not known. */
		CHECK(http_detect((const uint8_t *)t->head, t->len) ==
		      (strcmp(t->method, "CCM_POST") && t->head[strlen(t->method)] == ' '),
		      "%s: detect", what);
		prefixes_req(t->head, t->len, (int)t->len, what);
	}
	/* tshark decodes this one too, being on port 80 (CCM_POST, www.google.com,
	 * "/HTTP/1.1"); here an unknown method on a line without a version is not
	 * taken for HTTP. */
	EQ(req_n(R(zeek_http_methods_req329), &o), -1);
}

static void test_real_responses(void)
{
	struct http_response r;
	char what[96];

	for (size_t i = 0; i < N_OF(real_resps); i++) {
		const struct real_resp *t = &real_resps[i];

		snprintf(what, sizeof(what), "%s frame %u", t->cap, t->frame);
		CHECK(resp_n(t->data, t->len, &r) == t->head, "%s", what);
		CHECK(r.status == t->status, "%s: status %u", what, r.status);
		CHECK(!strcmp(r.version, t->version), "%s: version \"%s\"", what, r.version);
		CHECK(!strcmp(r.content_type, t->content_type), "%s: type \"%s\"", what,
		      r.content_type);
		CHECK(r.content_length == t->content_length, "%s: length %" PRId64, what,
		      r.content_length);
		CHECK(http_detect((const uint8_t *)t->data, t->len) == 2, "%s: detect", what);
		prefixes_resp(t->data, t->len, t->head, what);
	}
}

/* A head that arrived in two segments, and the response to it. */
static void test_real_split(void)
{
	size_t n1 = sizeof(split_seg1) - 1, n2 = sizeof(split_seg2) - 1;
	char *both = malloc(n1 + n2);
	struct http_request o;
	struct http_response r;

	if (!both)
		abort();
	memcpy(both, split_seg1, n1);
	memcpy(both + n1, split_seg2, n2);
	EQ(req_n(split_seg1, n1, &o), 0);
	EQ(req_n(both, n1 + n2, &o), n1 + n2);
	STREQ(o.method, split_method);
	STREQ(o.host, split_host);
	STREQ(o.user_agent, split_user_agent);
	/* The whole URI fits: it is the one tshark reports. */
	CHECK(same_cut(o.uri, split_uri, sizeof(o.uri)), "uri \"%s\"", o.uri);
	STREQ(o.uri, split_uri);
	EQ(o.cut, 0);
	prefixes_req(both, n1 + n2, (int)(n1 + n2), "split");
	free(both);

	/* tshark: 200 HTTP/1.1, with an empty reason after the space. */
	EQ(resp_n(R(split_resp5), &r), sizeof(split_resp5) - 1);
	EQ(r.status, 200);
	STREQ(r.version, "HTTP/1.1");
	STREQ(r.reason, "");
	EQ(r.content_length, 0);
	EQ(http_body_length(r.content_length, r.chunked, 0, "GET", r.status), 0);
}

static void test_real_keepalive(void)
{
	struct http_request o;
	size_t n = sizeof(keepalive) - 1;

	EQ(req_n(keepalive, n, &o), keepalive_first);
	STREQ(o.uri, "/style/enhanced.css");
	EQ(http_body_length(o.content_length, o.chunked, 1, o.method, 0), 0);
	EQ(req_n(keepalive + keepalive_first, n - keepalive_first, &o), n - keepalive_first);
	STREQ(o.uri, "/script/urchin.js");
	STREQ(o.host, "www.mozilla.org");
}

int main(void)
{
	test_detect();
	test_request_basic();
	test_line_ends();
	test_names_and_values();
	test_obs_fold();
	test_targets();
	test_methods();
	test_versions();
	test_http09();
	test_controls();
	test_leading_empty_line();
	test_content_length();
	test_chunked();
	test_cut();
	test_limits();
	test_keepalive();
	test_response();
	test_body_length();
	test_real_requests();
	test_real_responses();
	test_real_split();
	test_real_keepalive();
	return check_summary("http");
}
