#include "proto/http.h"

#include <string.h>

#define MORE 0
#define BAD  (-1)
#define OK   1

/* With their trailing space, so a prefix of the buffer can be matched
 * against them as is. Known methods are also the ones accepted on a line
 * without a version, where a stray token would otherwise pass for HTTP. */
static const char *const known_methods[] = {
	"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ",
	"TRACE ", "PATCH ",
	/* WebDAV (RFC 4918, 3253, 3648, 3744, 4791, 5323, 5842) */
	"PROPFIND ", "PROPPATCH ", "MKCOL ", "COPY ", "MOVE ", "LOCK ",
	"UNLOCK ", "SEARCH ", "REPORT ", "CHECKOUT ", "CHECKIN ",
	"UNCHECKOUT ", "MKWORKSPACE ", "UPDATE ", "LABEL ", "MERGE ",
	"MKACTIVITY ", "VERSION-CONTROL ", "ORDERPATCH ", "ACL ",
	"MKCALENDAR ", "BIND ", "UNBIND ", "REBIND ",
	/* GENA and SSDP (UPnP) */
	"SUBSCRIBE ", "UNSUBSCRIBE ", "NOTIFY ", "M-SEARCH ",
	/* RFC 2068, and caches */
	"LINK ", "UNLINK ", "PURGE ",
};

#define N_METHODS (sizeof(known_methods) / sizeof(known_methods[0]))

/* The shortest prefix http_detect decides on when less has arrived. */
#define DETECT_MIN 8

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 9110 5.6.2 token characters. */
static int is_tchar(uint8_t c)
{
	if (is_digit(c) || is_alpha(c))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '-': case '.': case '^': case '_': case '`': case '|':
	case '~':
		return 1;
	}
	return 0;
}

static int is_ctl(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

/* Whitespace inside a field value, line ends of folded lines included. */
static int is_vws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

/* p[0..n) equals the lowercase string s, ignoring case. */
static int ieq(const uint8_t *p, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!s[i] || lower(p[i]) != (uint8_t)s[i])
			return 0;
	return s[i] == 0;
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Copies p[0..n) as a C string into dst[cap]; 1 if it had to be cut. */
static int copy_str(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t k = min_sz(n, cap - 1);

	memcpy(dst, p, k);
	dst[k] = 0;
	return k < n;
}

static int is_known_method(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < N_METHODS; i++) {
		const char *m = known_methods[i];

		if (strlen(m) == n + 1 && !memcmp(m, p, n))
			return 1;
	}
	return 0;
}

/* ---- request line ---- */

struct span {
	size_t off, len;
};

/* "HTTP/1." then digits, as long as http_request.version holds. With open
 * set, p[0..n) is only the start of the token and has to be a possible
 * start of one. */
static int version_ok(const uint8_t *p, size_t n, int open)
{
	static const char pre[] = "HTTP/1.";
	size_t pn = sizeof(pre) - 1;

	if (n >= sizeof(((struct http_request *)0)->version))
		return 0;
	if (memcmp(p, pre, min_sz(n, pn)))
		return 0;
	if (n < pn)
		return open;
	for (size_t i = pn; i < n; i++)
		if (!is_digit(p[i]))
			return 0;
	return 1;
}

/* Splits p[0..n) at runs of spaces into at most 3 tokens; -1 on a fourth
 * or a leading space. */
static int split3(const uint8_t *p, size_t n, struct span tok[3])
{
	size_t i = 0;
	int nt = 0;

	if (n && p[0] == ' ')
		return -1;
	while (i < n) {
		if (nt == 3)
			return -1;
		tok[nt].off = i;
		while (i < n && p[i] != ' ')
			i++;
		tok[nt].len = i - tok[nt].off;
		nt++;
		while (i < n && p[i] == ' ')
			i++;
	}
	return nt;
}

static void fill_request_line(const uint8_t *p, const struct span tok[3], int nt,
			      struct http_request *out)
{
	copy_str(out->method, sizeof(out->method), p, tok[0].len);
	if (nt > 1 && copy_str(out->uri, sizeof(out->uri), p + tok[1].off, tok[1].len))
		out->cut = 1;
	if (nt > 2)
		copy_str(out->version, sizeof(out->version), p + tok[2].off, tok[2].len);
}

/* Request line in p[0..n) without its line end when whole, else as much of
 * it as has arrived. OK (out filled), MORE or BAD. */
static int request_line(const uint8_t *p, size_t n, int whole, struct http_request *out)
{
	struct span tok[3];
	int nt, open;

	for (size_t i = 0; i < n; i++)
		if (is_ctl(p[i]))
			return BAD;
	nt = split3(p, n, tok);
	if (nt < 0)
		return BAD;
	if (nt == 0)
		return whole ? BAD : MORE;
	if (tok[0].len >= sizeof(out->method))
		return BAD;
	for (size_t i = 0; i < tok[0].len; i++)
		if (!is_tchar(p[i]))
			return BAD;
	/* The last token may still grow while the line is incomplete. */
	open = !whole && p[n - 1] != ' ';
	if (nt == 3 && !version_ok(p + tok[2].off, tok[2].len, open))
		return BAD;
	if (!whole)
		return MORE;
	if (nt < 3 && !is_known_method(p, tok[0].len))
		return BAD;
	fill_request_line(p, tok, nt, out);
	return OK;
}

/* ---- status line ---- */

/* Status line as request_line: "HTTP/1." DIGIT SP+ 3DIGIT [SP reason]. */
static int status_line(const uint8_t *p, size_t n, int whole, struct http_response *out)
{
	static const char pat[] = "HTTP/1.# ";
	size_t i, code, r, e;

	for (i = 0; i < sizeof(pat) - 1; i++) {
		if (i == n)
			return whole ? BAD : MORE;
		if (pat[i] == '#' ? !is_digit(p[i]) : p[i] != (uint8_t)pat[i])
			return BAD;
	}
	while (i < n && p[i] == ' ')
		i++;
	code = i;
	for (; i < code + 3; i++) {
		if (i == n)
			return whole ? BAD : MORE;
		if (!is_digit(p[i]) || (i == code && p[i] == '0'))
			return BAD;
	}
	if (i < n && p[i] != ' ')
		return BAD;
	for (r = i; r < n; r++)
		if (is_ctl(p[r]) && p[r] != '\t')
			return BAD;
	if (!whole)
		return MORE;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (e = n; e > i && (p[e - 1] == ' ' || p[e - 1] == '\t'); e--)
		;
	copy_str(out->version, sizeof(out->version), p, 8);
	out->status = (uint16_t)((p[code] - '0') * 100 + (p[code + 1] - '0') * 10 +
				 (p[code + 2] - '0'));
	if (copy_str(out->reason, sizeof(out->reason), p + i, e - i))
		out->cut = 1;
	return OK;
}

/* ---- header section ---- */

/* A header value this parser keeps; dst NULL where the message has none. */
struct str_field {
	const char *name;
	char *dst;
	size_t cap;
	uint8_t seen;
};

struct fields {
	struct str_field str[3];
	int64_t clen;
	uint8_t clen_bad;
	uint8_t chunked;
	uint8_t cut;
};

/* Copies a field value as a C string: trimmed, each fold (a whitespace run
 * holding a line end) turned into one space. 1 if it had to be cut. */
static int copy_value(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t o = 0, ws = 0, i;
	int in_ws = 0, brk = 0;

	for (i = 0; i < n; i++) {
		size_t wn;

		if (is_vws(p[i])) {
			if (!in_ws)
				ws = i, brk = 0;
			in_ws = 1;
			brk |= p[i] == '\r' || p[i] == '\n';
			continue;
		}
		/* The whitespace before this byte, unless it leads the value. */
		wn = (in_ws && o) ? (brk ? 1 : i - ws) : 0;
		if (o + wn + 1 >= cap)
			break;
		if (brk && wn)
			dst[o] = ' ';
		else
			memcpy(dst + o, p + ws, wn);
		o += wn;
		dst[o++] = (char)p[i];
		in_ws = 0;
	}
	dst[o] = 0;
	return i < n;
}

static size_t skip_vws(const uint8_t *p, size_t n, size_t i)
{
	while (i < n && is_vws(p[i]))
		i++;
	return i;
}

/* Content-Length: digits, or a list of equal ones ("42, 42", RFC 9110
 * 8.6); -1 for anything else or past int64_t. */
static int64_t parse_clen(const uint8_t *p, size_t n)
{
	int64_t v = -1;
	size_t i = 0;

	for (;;) {
		int64_t cur = 0;

		i = skip_vws(p, n, i);
		if (i == n || !is_digit(p[i]))
			return -1;
		for (; i < n && is_digit(p[i]); i++) {
			int d = p[i] - '0';

			if (cur > (INT64_MAX - d) / 10)
				return -1;
			cur = cur * 10 + d;
		}
		if (v >= 0 && cur != v)
			return -1;
		v = cur;
		i = skip_vws(p, n, i);
		if (i == n)
			return v;
		if (p[i] != ',')
			return -1;
		i++;
	}
}

/* Transfer-Encoding: 1 if the last coding is chunked, 0 if another one,
 * -1 if the list is empty. */
static int last_coding_chunked(const uint8_t *p, size_t n)
{
	size_t s = 0, e = 0, i = 0;
	int found = 0;

	while (i < n) {
		size_t a = skip_vws(p, n, i), b = a;

		while (b < n && p[b] != ',' && p[b] != ';' && !is_vws(p[b]))
			b++;
		if (b > a)
			s = a, e = b, found = 1;
		/* Parameters and anything else up to the next element. */
		while (b < n && p[b] != ',')
			b++;
		i = b + 1;
	}
	if (!found)
		return -1;
	return ieq(p + s, e - s, "chunked");
}

static void on_clen(struct fields *f, const uint8_t *v, size_t vn)
{
	int64_t x = parse_clen(v, vn);

	if (x < 0 || (f->clen >= 0 && x != f->clen))
		f->clen_bad = 1;
	f->clen = x;
}

/* One field: its first line and any continuation lines, p[0..n). */
static void on_field(struct fields *f, const uint8_t *p, size_t n)
{
	const uint8_t *lf = memchr(p, '\n', n);
	size_t line = lf ? (size_t)(lf - p) : n;
	const uint8_t *colon = memchr(p, ':', line), *v;
	size_t nn, vn;
	int te;

	if (!colon || colon == p)
		return;
	nn = (size_t)(colon - p);
	for (size_t i = 0; i < nn; i++)
		if (!is_tchar(p[i]))
			return;
	v = colon + 1;
	vn = n - nn - 1;
	for (int i = 0; i < 3; i++) {
		struct str_field *s = &f->str[i];

		if (s->dst && !s->seen && ieq(p, nn, s->name)) {
			s->seen = 1;
			f->cut |= copy_value(s->dst, s->cap, v, vn);
		}
	}
	if (ieq(p, nn, "content-length")) {
		on_clen(f, v, vn);
	} else if (ieq(p, nn, "transfer-encoding")) {
		te = last_coding_chunked(v, vn);
		if (te >= 0)
			f->chunked = (uint8_t)te;
	}
}

/* Start of the line after the one at pos; every line before end has its LF. */
static size_t next_line(const uint8_t *buf, size_t pos, size_t end)
{
	const uint8_t *lf = memchr(buf + pos, '\n', end - pos);

	return lf ? (size_t)(lf - buf) + 1 : end;
}

/* Header lines in buf[pos..end), end being where the empty line starts. */
static void parse_fields(const uint8_t *buf, size_t pos, size_t end, struct fields *f)
{
	f->clen = -1;
	while (pos < end) {
		size_t last = next_line(buf, pos, end);

		while (last < end && (buf[last] == ' ' || buf[last] == '\t'))
			last = next_line(buf, last, end);
		/* A continuation with nothing before it to continue is dropped. */
		if (buf[pos] != ' ' && buf[pos] != '\t')
			on_field(f, buf + pos, last - pos);
		pos = last;
	}
	if (f->clen_bad)
		f->clen = -1;
}

/* Looks for the empty line from pos, the start of a line. Returns the head
 * length and sets *fields_end to where that line starts; MORE; or BAD past
 * HTTP_MAX_HEAD or on a NUL byte. */
static int head_end(const uint8_t *buf, size_t len, size_t pos, size_t *fields_end)
{
	size_t lim = min_sz(len, HTTP_MAX_HEAD);

	while (pos < lim) {
		const uint8_t *lf = memchr(buf + pos, '\n', lim - pos);
		size_t eol = lf ? (size_t)(lf - buf) : lim;

		if (memchr(buf + pos, 0, eol - pos))
			return BAD;
		if (!lf)
			break;
		if (eol == pos || (eol == pos + 1 && buf[pos] == '\r')) {
			*fields_end = pos;
			return (int)(eol + 1);
		}
		pos = eol + 1;
	}
	return len >= HTTP_MAX_HEAD ? BAD : MORE;
}

/* Finds the first line from start: its length without the line end in *n,
 * whether it is whole, and where the next line starts. BAD when it cannot
 * end within HTTP_MAX_HEAD. */
static int first_line(const uint8_t *buf, size_t len, size_t start, size_t *n,
		      int *whole, size_t *next)
{
	size_t lim = min_sz(len, HTTP_MAX_HEAD);
	const uint8_t *lf = start < lim ? memchr(buf + start, '\n', lim - start) : NULL;
	size_t eol = lf ? (size_t)(lf - buf) : len;

	if (!lf && len >= HTTP_MAX_HEAD)
		return BAD;
	*whole = lf != NULL;
	*next = eol + 1;
	*n = eol - start;
	/* A CR before the LF, or maybe before one still to come. */
	if (*n && buf[eol - 1] == '\r')
		(*n)--;
	return OK;
}

/* Where the request line starts: past one empty line (RFC 9112 2.2). */
static int request_start(const uint8_t *buf, size_t len, size_t *start)
{
	*start = 0;
	if (buf[0] == '\n') {
		*start = 1;
	} else if (buf[0] == '\r') {
		if (len < 2)
			return MORE;
		if (buf[1] != '\n')
			return BAD;
		*start = 2;
	}
	return OK;
}

static void reset_request(struct http_request *out)
{
	memset(out, 0, sizeof(*out));
	out->content_length = -1;
}

static void reset_response(struct http_response *out)
{
	memset(out, 0, sizeof(*out));
	out->content_length = -1;
}

int http_parse_request(const uint8_t *buf, size_t len, struct http_request *out)
{
	struct fields f = { .str = {
		{ "host", out->host, sizeof(out->host), 0 },
		{ "user-agent", out->user_agent, sizeof(out->user_agent), 0 },
		{ "content-type", out->content_type, sizeof(out->content_type), 0 },
	} };
	size_t start, n, next, fend = 0;
	int rc, whole;

	reset_request(out);
	if (!len)
		return MORE;
	rc = request_start(buf, len, &start);
	if (rc != OK)
		return rc;
	if (first_line(buf, len, start, &n, &whole, &next) != OK)
		return BAD;
	rc = request_line(buf + start, n, whole, out);
	if (rc == OK)
		rc = head_end(buf, len, next, &fend);
	if (rc <= 0) {
		reset_request(out);
		return rc;
	}
	parse_fields(buf, next, fend, &f);
	out->content_length = f.clen;
	out->chunked = f.chunked;
	out->cut |= f.cut;
	return rc;
}

int http_parse_response(const uint8_t *buf, size_t len, struct http_response *out)
{
	struct fields f = { .str = {
		{ "content-type", out->content_type, sizeof(out->content_type), 0 },
	} };
	size_t n, next, fend = 0;
	int rc, whole;

	reset_response(out);
	if (!len)
		return MORE;
	if (first_line(buf, len, 0, &n, &whole, &next) != OK)
		return BAD;
	rc = status_line(buf, n, whole, out);
	if (rc == OK)
		rc = head_end(buf, len, next, &fend);
	if (rc <= 0) {
		reset_response(out);
		return rc;
	}
	parse_fields(buf, next, fend, &f);
	out->content_length = f.clen;
	out->chunked = f.chunked;
	out->cut |= f.cut;
	return rc;
}

int64_t http_body_length(int64_t content_length, uint8_t chunked, int is_request,
			 const char *method, uint16_t status)
{
	if (is_request) {
		if (chunked)
			return -1;
		return content_length >= 0 ? content_length : 0;
	}
	if (method && !strcmp(method, "HEAD"))
		return 0;
	/* After 101 the connection speaks another protocol. */
	if (status == 101)
		return -1;
	if ((status >= 100 && status < 200) || status == 204 || status == 304)
		return 0;
	if (method && !strcmp(method, "CONNECT") && status >= 200 && status < 300)
		return -1;
	if (chunked)
		return -1;
	return content_length >= 0 ? content_length : -1;
}

/* buf starts like pat ('#' standing for a digit): all of pat when that
 * much has arrived, else at least DETECT_MIN bytes of it. */
static int starts_like(const uint8_t *buf, size_t len, const char *pat)
{
	size_t pn = strlen(pat), n = min_sz(len, pn);

	if (n < min_sz(pn, DETECT_MIN))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (pat[i] == '#' ? !is_digit(buf[i]) : buf[i] != (uint8_t)pat[i])
			return 0;
	return 1;
}

int http_detect(const uint8_t *buf, size_t len)
{
	if (!buf || !len)
		return 0;
	if (starts_like(buf, len, "HTTP/1.# "))
		return 2;
	for (size_t i = 0; i < N_METHODS; i++)
		if (starts_like(buf, len, known_methods[i]))
			return 1;
	return 0;
}
