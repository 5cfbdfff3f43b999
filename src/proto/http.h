/* HTTP/1.x message heads (request line or status line, then header fields
 * through the empty line) parsed from the start of a byte buffer, e.g. a
 * reassembled TCP stream. No allocation, no state between calls: call again
 * with more bytes while the result is 0.
 *
 * What is accepted:
 * - lines end in CRLF or bare LF; one empty line before a request line is
 *   skipped (RFC 9112 2.2) and counted in the returned length;
 * - request line: method SP target SP version, where runs of SP count as
 *   one, the method is any token of at most 15 bytes and the version is
 *   "HTTP/1." followed by digits ("HTTP/1." alone is seen in the wild);
 *   no control character anywhere on the line (HTAB included);
 * - HTTP/0.9 style line "GET /path" (no version): accepted with an empty
 *   version when the method is one of the known ones (http_detect's list),
 *   and so is a bare known method; headers may follow and the head still
 *   ends at the empty line, so a real 0.9 request (nothing after its line)
 *   stays at 0 until the empty line or the size limit. tshark does not
 *   decode those, but does decode "GET /HTTP/1.1" followed by headers;
 * - request target kept as sent: origin-form, absolute-form for proxies
 *   ("http://host/path"), authority-form for CONNECT, "*";
 * - status line: "HTTP/1." DIGIT SP+ 3DIGIT [SP reason], status 100..999;
 * - header names case-insensitive; values trimmed; obs-fold continuation
 *   lines joined with one space; lines without a colon are ignored; for
 *   repeated Host/User-Agent/Content-Type the first one wins; differing
 *   Content-Length values make it invalid (-1); Transfer-Encoding is chunked
 *   when "chunked" is its last coding;
 * - the head (through the empty line) is at most HTTP_MAX_HEAD bytes: a
 *   longer one, complete or not, is -1; so is a NUL byte in the head. */
#ifndef XDPI_PROTO_HTTP_H
#define XDPI_PROTO_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_FIELD 256   /* bytes incl. NUL; longer values are cut and flagged */
#define HTTP_MAX_URI   4096
#define HTTP_MAX_HEAD  16384 /* longest head accepted, through the empty line */

struct http_request {
	char method[16];
	char uri[HTTP_MAX_URI];
	char version[12];
	char host[HTTP_MAX_FIELD];
	char user_agent[HTTP_MAX_FIELD];
	char content_type[HTTP_MAX_FIELD];
	int64_t content_length; /* -1 when absent or invalid */
	uint8_t chunked;        /* Transfer-Encoding: chunked */
	uint8_t cut;            /* some value was truncated to fit */
};

struct http_response {
	char version[12];
	uint16_t status;
	char reason[64];
	char content_type[HTTP_MAX_FIELD];
	int64_t content_length;
	uint8_t chunked;
	uint8_t cut;
};

/* Parses a request head at the start of buf. Returns the length of the head
 * (through the empty line) when complete, 0 when more bytes are needed (the
 * head is not complete yet and nothing contradicts HTTP so far), -1 when buf
 * does not start with an HTTP/1.x request. Never reads past len. No
 * allocation. *out is reset on every call and filled only when complete. */
int http_parse_request(const uint8_t *buf, size_t len, struct http_request *out);
int http_parse_response(const uint8_t *buf, size_t len, struct http_response *out);

/* Bytes of body that follow the head and must be skipped to reach the next
 * message on a keep-alive connection: content_length if known, 0 for
 * requests without a body; -1 when unknown (chunked or close-delimited).
 * For a response, method is that of its request (NULL if not known):
 * responses to HEAD, 1xx, 204 and 304 have no body; a 2xx to CONNECT turns
 * the connection into a tunnel, so -1. */
int64_t http_body_length(int64_t content_length, uint8_t chunked, int is_request,
			 const char *method, uint16_t status);

/* Content-based detection (no ports): 1 if buf starts like an HTTP request
 * (a known method and a space), 2 if like a response ("HTTP/1." DIGIT SP),
 * 0 otherwise. When buf is shorter than that pattern, its first 8 bytes or
 * more matching the start of it are enough. */
int http_detect(const uint8_t *buf, size_t len);

#endif
