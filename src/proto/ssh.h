/* SSH identification strings (RFC 4253 4.2), read from the start of one
 * direction of a TCP stream:
 *
 *   SSH-protoversion-softwareversion SP comments CR LF
 *
 * No allocation, no state between calls: call again with more bytes while
 * the result is 0.
 *
 * What is accepted:
 * - the line ends in CR LF or a bare LF (some implementations omit the
 *   CR) and is at most SSH_LINE_MAX bytes, CR LF included, as the RFC
 *   limits it;
 * - up to SSH_MAX_PRELINES other lines may come first (the RFC lets a
 *   server send them), each also at most SSH_LINE_MAX bytes and not
 *   starting with "SSH-"; their content is not looked at;
 * - protoversion: one or more printable ASCII characters, no space, no
 *   '-' ("2.0", "1.99");
 * - softwareversion: one or more printable ASCII characters up to the
 *   first space; '-' is kept ("Cisco-1.25" is seen in practice although
 *   the RFC excludes it);
 * - comments: everything after that space, possibly empty;
 * - no control character (0x00-0x1f, 0x7f) anywhere on the line but the
 *   final CR; bytes above 0x7f only in the comments. */
#ifndef XDPI_PROTO_SSH_H
#define XDPI_PROTO_SSH_H

#include <stddef.h>
#include <stdint.h>

#define SSH_LINE_MAX      255    /* identification line, CR LF included */
#define SSH_MAX_PRELINES  16     /* other lines accepted before it */
#define SSH_FIELD         SSH_LINE_MAX /* any field of a line fits, NUL included */

struct ssh_banner {
	char proto[SSH_FIELD];       /* "2.0" */
	char software[SSH_FIELD];    /* "OpenSSH_8.9p1" */
	char comments[SSH_FIELD];    /* "Ubuntu-3", "" if none */
};

/* 1 if p starts with "SSH-" (as much of it as len holds, at least 4). */
int ssh_detect(const uint8_t *p, size_t len);

/* Looks for the identification line at the start of p[0..len).
 * Returns the bytes through its LF (> 0) and fills *b; 0 if more bytes
 * are needed; -1 if the bytes are not an identification string (a line
 * too long, a control character, a bad field, too many other lines).
 * *b is zeroed unless the result is > 0. */
int ssh_parse_banner(const uint8_t *p, size_t len, struct ssh_banner *b);

#endif
