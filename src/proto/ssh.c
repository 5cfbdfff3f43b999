/* SSH identification string parser (see ssh.h). Every read is checked
 * against len; a line is only looked at once its LF is within bounds. */
#include "proto/ssh.h"

#include <string.h>

int ssh_detect(const uint8_t *p, size_t len)
{
	return p && len >= 4 && !memcmp(p, "SSH-", 4);
}

/* Offset of the LF ending the line at p[off..len), -1 if the line is
 * longer than SSH_LINE_MAX, -2 if len ends before its LF. */
static long line_end(const uint8_t *p, size_t len, size_t off)
{
	size_t n = len - off;
	const uint8_t *lf;

	if (n > SSH_LINE_MAX)
		n = SSH_LINE_MAX;
	lf = memchr(p + off, '\n', n);
	if (lf)
		return (long)(lf - p);
	return len - off >= SSH_LINE_MAX ? -1 : -2;
}

static int is_ctl(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

/* Printable ASCII without space. */
static int is_vchar(uint8_t c)
{
	return c > 0x20 && c < 0x7f;
}

static void put(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);   /* n < SSH_FIELD: the line is shorter */
	dst[n] = 0;
}

/* The line p[0..n) (CR LF removed) after "SSH-". */
static int fields(const uint8_t *p, size_t n, struct ssh_banner *b)
{
	size_t i = 4, proto, sw, sp;

	for (size_t k = 0; k < n; k++)
		if (is_ctl(p[k]))
			return -1;
	proto = i;
	while (i < n && p[i] != '-' && is_vchar(p[i]))
		i++;
	if (i == proto || i >= n || p[i] != '-')
		return -1;
	put(b->proto, p + proto, i - proto);
	sw = ++i;
	while (i < n && is_vchar(p[i]))
		i++;
	if (i == sw || (i < n && p[i] != ' '))
		return -1;
	put(b->software, p + sw, i - sw);
	sp = i < n ? i + 1 : n;
	put(b->comments, p + sp, n - sp);
	return 0;
}

int ssh_parse_banner(const uint8_t *p, size_t len, struct ssh_banner *b)
{
	size_t off = 0;

	memset(b, 0, sizeof(*b));
	if (!p)
		return 0;
	for (int line = 0; line <= SSH_MAX_PRELINES; line++) {
		size_t n = len - off, end;
		/* Could still be, or is, an identification line. */
		int ssh = !memcmp(p + off, "SSH-", n < 4 ? n : 4);
		long lf = line_end(p, len, off);

		if (lf == -1)
			return -1;
		if (lf < 0)
			return ssh || line < SSH_MAX_PRELINES ? 0 : -1;
		if (!ssh || n < 4) {
			/* A whole other line: only so many may come first. */
			if (line == SSH_MAX_PRELINES)
				return -1;
			off = (size_t)lf + 1;
			continue;
		}
		end = (size_t)lf;
		if (end > off && p[end - 1] == '\r')
			end--;
		if (fields(p + off, end - off, b)) {
			memset(b, 0, sizeof(*b));
			return -1;
		}
		return (int)(lf + 1);
	}
	return -1;
}
