#include "sink/rows.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ID_COLS                                                                \
	{ "host", NULL, NULL, COL_HOST }, { "run", NULL, NULL, COL_RUN },      \
	{ "seq", NULL, NULL, COL_SEQ }, { "flow_id", "flow_id", NULL, COL_INT }

/* `start` and `end` are SQL keywords: the columns are start_ts/end_ts, with
 * the same times as microseconds in start_us/end_us (and ts_us beside ts)
 * for arithmetic that reads alike in both dialects. `host` is the record's
 * identity, so an HTTP Host is http_host. */
static const struct row_col flow_cols[] = {
	ID_COLS,
	{ "src_ip", "src_ip", NULL, COL_ADDR },
	{ "dst_ip", "dst_ip", NULL, COL_ADDR },
	{ "src_port", "src_port", NULL, COL_INT },
	{ "dst_port", "dst_port", NULL, COL_INT },
	{ "proto", "proto", NULL, COL_INT },
	{ "vlan", "vlan", NULL, COL_INT },
	{ "ifname", "ifname", NULL, COL_TEXT },
	{ "pkts_fwd", "pkts_fwd", NULL, COL_INT },
	{ "pkts_rev", "pkts_rev", NULL, COL_INT },
	{ "bytes_fwd", "bytes_fwd", NULL, COL_INT },
	{ "bytes_rev", "bytes_rev", NULL, COL_INT },
	{ "tcp_flags_fwd", "tcp_flags_fwd", NULL, COL_INT },
	{ "tcp_flags_rev", "tcp_flags_rev", NULL, COL_INT },
	{ "icmp_type", "icmp_type", NULL, COL_INT },
	{ "icmp_code", "icmp_code", NULL, COL_INT },
	{ "start_ts", "start", NULL, COL_TIME },
	{ "start_us", "start", NULL, COL_TIME_US },
	{ "end_ts", "end", NULL, COL_TIME },
	{ "end_us", "end", NULL, COL_TIME_US },
	{ "end_reason", "end_reason", NULL, COL_TEXT },
	{ "app_proto", "app_proto", NULL, COL_TEXT },
	{ "sni", "sni", NULL, COL_TEXT },
	{ "http_host", "host", NULL, COL_TEXT },
	{ "rtt_syn_us", "rtt_syn_us", "tcp", COL_INT },
	{ "rtt_ack_us", "rtt_ack_us", "tcp", COL_INT },
	{ "retrans_fwd", "retrans_fwd", "tcp", COL_INT },
	{ "retrans_rev", "retrans_rev", "tcp", COL_INT },
	{ "ooo_fwd", "ooo_fwd", "tcp", COL_INT },
	{ "ooo_rev", "ooo_rev", "tcp", COL_INT },
	{ "zero_win_fwd", "zero_win_fwd", "tcp", COL_INT },
	{ "zero_win_rev", "zero_win_rev", "tcp", COL_INT },
	{ "rst_fwd", "rst_fwd", "tcp", COL_INT },
	{ "rst_rev", "rst_rev", "tcp", COL_INT },
	{ "sampling", "sampling", NULL, COL_INT },
	{ "shed", "shed", NULL, COL_BOOL },
	{ "packet_sampling", "packet_sampling", NULL, COL_INT },
	{ "flow_sampling", "flow_sampling", NULL, COL_INT },
};

static const struct row_col dns_cols[] = {
	ID_COLS,
	{ "ts", "ts", NULL, COL_TIME },
	{ "ts_us", "ts", NULL, COL_TIME_US },
	{ "id", "id", NULL, COL_INT },
	{ "qname", "qname", NULL, COL_TEXT },
	{ "qtype", "qtype", NULL, COL_INT },
	{ "rcode", "rcode", NULL, COL_INT },
	{ "answers", "answers", NULL, COL_JSON },
	{ "latency_us", "latency_us", NULL, COL_INT },
	{ "transport", "transport", NULL, COL_TEXT },
	{ "protocol", "protocol", NULL, COL_TEXT },
};

static const struct row_col tls_cols[] = {
	ID_COLS,
	{ "ts", "ts", NULL, COL_TIME },
	{ "ts_us", "ts", NULL, COL_TIME_US },
	{ "sni", "sni", NULL, COL_TEXT },
	{ "alpn", "alpn", NULL, COL_JSON },
	{ "version", "version", NULL, COL_TEXT },
	{ "ja3", "ja3", NULL, COL_TEXT },
	{ "ja3s", "ja3s", NULL, COL_TEXT },
	{ "ja4", "ja4", NULL, COL_TEXT },
	{ "cert_subject", "cert_subject", NULL, COL_TEXT },
	{ "cert_issuer", "cert_issuer", NULL, COL_TEXT },
	{ "cert_not_before", "cert_not_before", NULL, COL_TEXT },
	{ "cert_not_after", "cert_not_after", NULL, COL_TEXT },
};

static const struct row_col http_cols[] = {
	ID_COLS,
	{ "ts", "ts", NULL, COL_TIME },
	{ "ts_us", "ts", NULL, COL_TIME_US },
	{ "method", "method", NULL, COL_TEXT },
	{ "http_host", "host", NULL, COL_TEXT },
	{ "uri", "uri", NULL, COL_TEXT },
	{ "status", "status", NULL, COL_INT },
	{ "user_agent", "user_agent", NULL, COL_TEXT },
	{ "content_type", "content_type", NULL, COL_TEXT },
	{ "content_length", "content_length", NULL, COL_INT },
	{ "latency_us", "latency_us", NULL, COL_INT },
};

static const struct row_col quic_cols[] = {
	ID_COLS,
	{ "ts", "ts", NULL, COL_TIME },
	{ "ts_us", "ts", NULL, COL_TIME_US },
	{ "version", "version", NULL, COL_TEXT },
	{ "sni", "sni", NULL, COL_TEXT },
	{ "alpn", "alpn", NULL, COL_JSON },
	{ "ja4", "ja4", NULL, COL_TEXT },
};

static const struct row_col ssh_cols[] = {
	ID_COLS,
	{ "ts", "ts", NULL, COL_TIME },
	{ "ts_us", "ts", NULL, COL_TIME_US },
	{ "client_proto", "proto", "client", COL_TEXT },
	{ "client_software", "software", "client", COL_TEXT },
	{ "client_comments", "comments", "client", COL_TEXT },
	{ "server_proto", "proto", "server", COL_TEXT },
	{ "server_software", "software", "server", COL_TEXT },
	{ "server_comments", "comments", "server", COL_TEXT },
};

static const char *const flow_idx[] = { "src_ip", "dst_ip", "start_ts", "flow_id", NULL };
static const char *const dns_idx[] = { "qname", "ts", "flow_id", NULL };
static const char *const tls_idx[] = { "sni", "ts", "flow_id", NULL };
static const char *const http_idx[] = { "http_host", "ts", "flow_id", NULL };
static const char *const quic_idx[] = { "sni", "ts", "flow_id", NULL };
static const char *const ssh_idx[] = { "ts", "flow_id", NULL };

#define TABLE(n, t, c, i) { n, t, c, sizeof(c) / sizeof(c[0]), i }

const struct row_table rows_tables[ROWS_NTABLES] = {
	TABLE("flows", REC_FLOW, flow_cols, flow_idx),
	TABLE("dns", REC_DNS, dns_cols, dns_idx),
	TABLE("tls", REC_TLS, tls_cols, tls_idx),
	TABLE("http", REC_HTTP, http_cols, http_idx),
	TABLE("quic", REC_QUIC, quic_cols, quic_idx),
	TABLE("ssh", REC_SSH, ssh_cols, ssh_idx),
};

_Static_assert(sizeof(flow_cols) / sizeof(flow_cols[0]) <= ROWS_MAX_COLS, "ROWS_MAX_COLS");

const struct row_table *rows_table(enum record_type t)
{
	for (size_t i = 0; i < ROWS_NTABLES; i++)
		if (rows_tables[i].type == t)
			return &rows_tables[i];
	return NULL;
}

const char *rows_sql_type(enum col_kind k, enum rows_dialect d)
{
	int pg = d == ROWS_POSTGRES;

	switch (k) {
	case COL_HOST: return "TEXT NOT NULL";
	case COL_RUN:
	case COL_SEQ: return pg ? "BIGINT NOT NULL" : "INTEGER NOT NULL";
	case COL_INT:
	case COL_TIME_US: return pg ? "BIGINT" : "INTEGER";
	case COL_TEXT: return "TEXT";
	case COL_TIME: return pg ? "TIMESTAMPTZ" : "TEXT";
	case COL_ADDR: return pg ? "INET" : "TEXT";
	case COL_BOOL: return pg ? "BOOLEAN" : "INTEGER";
	case COL_JSON: return pg ? "JSONB" : "TEXT";
	}
	return "TEXT";
}

/* ---- SQL text ---- */

struct sqlw {
	char *buf;
	size_t len, n;
};

static void sw(struct sqlw *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->n >= w->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->buf + w->n, w->len - w->n, fmt, ap);
	va_end(ap);
	w->n += n > 0 ? (size_t)n : 0;
}

static size_t sw_end(struct sqlw *w)
{
	return w->n < w->len ? w->n : 0;
}

size_t rows_schema_sql(char *buf, size_t len, enum rows_dialect d)
{
	struct sqlw w = { buf, len, 0 };

	if (len)
		buf[0] = 0;
	sw(&w, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n");
	sw(&w, "INSERT INTO meta (key, value) VALUES ('schema_version', '%d') "
	       "ON CONFLICT (key) DO NOTHING;\n", ROWS_SCHEMA_VERSION);
	for (size_t i = 0; i < ROWS_NTABLES; i++) {
		const struct row_table *t = &rows_tables[i];

		sw(&w, "CREATE TABLE IF NOT EXISTS %s (", t->name);
		for (size_t c = 0; c < t->ncols; c++)
			sw(&w, "%s%s %s", c ? ", " : "", t->cols[c].name,
			   rows_sql_type(t->cols[c].kind, d));
		sw(&w, ");\n");
		/* The identity: a batch given again inserts nothing twice. */
		sw(&w, "CREATE UNIQUE INDEX IF NOT EXISTS %s_record ON %s (host, run, seq);\n",
		   t->name, t->name);
		for (const char *const *ix = t->indexes; *ix; ix++)
			sw(&w, "CREATE INDEX IF NOT EXISTS %s_%s ON %s (%s);\n", t->name, *ix,
			   t->name, *ix);
	}
	return sw_end(&w);
}

size_t rows_column_list(char *buf, size_t len, const struct row_table *t)
{
	struct sqlw w = { buf, len, 0 };

	if (len)
		buf[0] = 0;
	for (size_t c = 0; c < t->ncols; c++)
		sw(&w, "%s%s", c ? "," : "", t->cols[c].name);
	return sw_end(&w);
}

/* ---- times ---- */

static int digits(const char *s, size_t n, int *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

int rows_parse_time(const char *s, size_t len, int64_t *us)
{
	int y, mo, d, h, mi, sec, frac = 0, off = 0;
	size_t i = 19;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return -1;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 59)
		return -1;
	if (s[i] == '.') {
		int scale = 100000;
		size_t start = ++i;

		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			frac += (s[i] - '0') * scale;
			scale /= 10;
		}
		if (i == start)
			return -1;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh, om;

		if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
		i += 6;
	} else {
		return -1;
	}
	if (i != len)
		return -1;
	*us = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - off * 60) *
		      1000000 + frac;
	/* An offset may carry a time out of years 1-9999, where SQL types end. */
	if (*us < ROWS_TIME_MIN_US || *us >= ROWS_TIME_END_US)
		return -1;
	return 0;
}

/* ---- the JSON keys of each table ---- */

/* The keys a table's columns read, found by a small hash: a member of the
 * JSON costs one lookup, whatever the number of columns. */
#define MAX_KEYS 64
#define KEY_BUCKETS 128 /* a power of 2, twice MAX_KEYS */
#define MAX_PARENTS 4
#define MAX_KEY_LEN 31  /* longer keys are no column's */

struct key_info {
	const char *key;
	uint8_t len;
	uint8_t level; /* 0: top level; 1 + n: in the object under parent n */
	int8_t opens;  /* n when this top-level key is parent n, else -1 */
};

struct table_keys {
	struct key_info keys[MAX_KEYS];
	size_t nkeys;
	uint8_t bucket[KEY_BUCKETS];    /* 1 + index into keys, 0: empty */
	int8_t col_key[ROWS_MAX_COLS];  /* index into keys, -1: identity column */
};

static struct table_keys table_keys[ROWS_NTABLES];
static pthread_once_t table_keys_once = PTHREAD_ONCE_INIT;

static uint32_t key_hash(const char *k, size_t len, unsigned level)
{
	uint32_t h = 2166136261u ^ level;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return h;
}

static int find_key(const struct table_keys *tk, const char *k, size_t len, unsigned level)
{
	uint32_t h = key_hash(k, len, level);

	for (uint8_t b; (b = tk->bucket[h & (KEY_BUCKETS - 1)]); h++) {
		const struct key_info *ki = &tk->keys[b - 1];

		if (ki->len == len && ki->level == level && !memcmp(ki->key, k, len))
			return b - 1;
	}
	return -1;
}

static int add_key(struct table_keys *tk, const char *k, unsigned level)
{
	size_t len = strlen(k);
	int i = find_key(tk, k, len, level);
	uint32_t h;

	if (i >= 0)
		return i;
	if (tk->nkeys == MAX_KEYS || len > MAX_KEY_LEN) {
		fprintf(stderr, "rows: key %s: more than %d keys or longer than %d bytes\n", k,
			MAX_KEYS, MAX_KEY_LEN);
		abort();
	}
	tk->keys[tk->nkeys] = (struct key_info){ k, (uint8_t)len, (uint8_t)level, -1 };
	for (h = key_hash(k, len, level); tk->bucket[h & (KEY_BUCKETS - 1)]; h++)
		;
	tk->bucket[h & (KEY_BUCKETS - 1)] = (uint8_t)++tk->nkeys;
	return (int)tk->nkeys - 1;
}

static void table_keys_init(void)
{
	for (size_t i = 0; i < ROWS_NTABLES; i++) {
		const struct row_table *t = &rows_tables[i];
		struct table_keys *tk = &table_keys[i];
		const char *parents[MAX_PARENTS];
		int nparents = 0;

		for (size_t c = 0; c < t->ncols; c++) {
			const struct row_col *col = &t->cols[c];
			unsigned level = 0;

			tk->col_key[c] = -1;
			if (!col->key)
				continue;
			if (col->parent) {
				int n = 0, pk;

				while (n < nparents && strcmp(parents[n], col->parent))
					n++;
				if (n == nparents) {
					if (nparents == MAX_PARENTS) {
						fprintf(stderr, "rows: more than %d parents\n", MAX_PARENTS);
						abort();
					}
					parents[nparents++] = col->parent;
				}
				pk = add_key(tk, col->parent, 0);
				tk->keys[pk].opens = (int8_t)n;
				level = 1 + (unsigned)n;
			}
			tk->col_key[c] = (int8_t)add_key(tk, col->key, level);
		}
	}
}

/* ---- JSON ---- */

enum jtype { J_ABSENT, J_NULL, J_FALSE, J_TRUE, J_INT, J_REAL, J_STRING, J_ARRAY, J_OBJECT };

/* A value as it stands in the JSON text. */
struct jval {
	const char *s;   /* J_STRING: the bytes between the quotes; else the value's text */
	size_t len;
	const char *str; /* J_STRING: its text, escapes decoded; NULL until needed */
	size_t str_len;
	int64_t i;       /* J_INT */
	uint8_t type;    /* enum jtype */
	uint8_t escaped; /* J_STRING with escapes */
};

struct scan {
	const unsigned char *p, *start, *end;
	const struct table_keys *tk;
	struct jval *keys; /* the value of each of tk's keys */
	const char *why;
};

/* Bytes that end a run of plain string bytes: 1 control, 2 quote,
 * 3 backslash, 4 start of a UTF-8 sequence. */
static const uint8_t str_class[256] = {
	[0x00 ... 0x1f] = 1, ['"'] = 2, ['\\'] = 3, [0x80 ... 0xff] = 4,
};

static int fail(struct scan *s, const unsigned char *at, const char *why)
{
	s->p = at;
	s->why = why;
	return -1;
}

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The 4 hex digits at p (n bytes readable), -1 if they are not. */
static int32_t hex4(const unsigned char *p, size_t n)
{
	int32_t v = 0;

	if (n < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* A string, s->p at its opening quote. */
static int scan_string(struct scan *s, struct jval *v)
{
	const unsigned char *p = s->p + 1, *end = s->end;
	int32_t cp, lo;
	size_t n;

	v->type = J_STRING;
	v->escaped = 0;
	v->str = NULL;
	v->s = (const char *)p;
	for (;;) {
		while (p < end && !str_class[*p])
			p++;
		if (p == end)
			return fail(s, p, "unterminated string");
		switch (str_class[*p]) {
		case 1:
			return fail(s, p, "control character in a string");
		case 2:
			v->len = (size_t)(p - (const unsigned char *)v->s);
			s->p = p + 1;
			return 0;
		case 3:
			v->escaped = 1;
			if (end - p < 2)
				return fail(s, p, "unterminated string");
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				break;
			default:
				return fail(s, p, "invalid escape");
			}
			cp = hex4(p + 2, (size_t)(end - p - 2));
			if (cp < 0)
				return fail(s, p, "invalid escape");
			if (cp == 0)
				return fail(s, p, "\\u0000 in a string");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(s, p, "lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
					return fail(s, p, "high surrogate without its low one");
				lo = hex4(p + 8, 4);
				if (lo < 0)
					return fail(s, p + 6, "invalid escape");
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(s, p, "high surrogate without its low one");
				p += 6;
			}
			p += 6;
			continue;
		default:
			n = utf8_seq_len(p, (size_t)(end - p));
			if (!n)
				return fail(s, p, "invalid UTF-8");
			p += n;
			continue;
		}
	}
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A number, s->p at its first byte: integers must fit 64 bits, reals a
 * double (as jansson wants). */
static int scan_number(struct scan *s, struct jval *v)
{
	const unsigned char *p = s->p, *end = s->end, *start = p;
	uint64_t mag = 0;
	int neg = 0, real = 0, big = 0;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (p == end || !is_digit(*p))
		return fail(s, start, "invalid number");
	if (*p == '0') {
		if (++p < end && is_digit(*p))
			return fail(s, start, "invalid number (leading zero)");
	} else {
		for (; p < end && is_digit(*p); p++) {
			unsigned d = *p - '0';

			if (mag > (UINT64_MAX - d) / 10)
				big = 1;
			else
				mag = mag * 10 + d;
		}
	}
	if (p < end && *p == '.') {
		real = 1;
		if (++p == end || !is_digit(*p))
			return fail(s, start, "invalid number");
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = 1;
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || !is_digit(*p))
			return fail(s, start, "invalid number");
		while (p < end && is_digit(*p))
			p++;
	}
	/* A value inside the object: something must follow it. */
	if (p == end)
		return fail(s, p, "premature end of input");
	v->s = (const char *)start;
	v->len = (size_t)(p - start);
	if (!real) {
		if (big || mag > (uint64_t)INT64_MAX + neg)
			return fail(s, start, "integer out of range");
		v->type = J_INT;
		v->i = neg ? (int64_t)(~mag + 1) : (int64_t)mag;
	} else {
		double d;
		char *e;

		/* The byte after the number ends strtod's reading. */
		errno = 0;
		d = strtod((const char *)start, &e);
		if (e != (const char *)p)
			return fail(s, start, "invalid number");
		if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
			return fail(s, start, "real number out of range");
		v->type = J_REAL;
	}
	s->p = p;
	return 0;
}

static int scan_literal(struct scan *s, struct jval *v, const char *word, size_t len,
			enum jtype type)
{
	if ((size_t)(s->end - s->p) < len || memcmp(s->p, word, len))
		return fail(s, s->p, "invalid literal");
	v->type = (uint8_t)type;
	v->s = (const char *)s->p;
	v->len = len;
	s->p += len;
	return 0;
}

static int scan_value(struct scan *s, int depth, int level, struct jval *v);

/* The key of an object member as the tables name it: its index in s->tk at
 * this level, -1 for a key no column reads. */
static int member_key(struct scan *s, const struct jval *k, unsigned level)
{
	char buf[MAX_KEY_LEN];
	const char *r = k->s, *end = k->s + k->len;
	size_t n = 0;

	if (!k->escaped)
		return k->len <= MAX_KEY_LEN ? find_key(s->tk, k->s, k->len, level) : -1;
	/* Escaped (valid, as scanned): decoded, a column's key is ASCII. */
	while (r < end) {
		char c = *r++;

		if (c == '\\') {
			c = *r++;
			switch (c) {
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				int32_t cp = hex4((const unsigned char *)r, 4);

				if (cp >= 0x80)
					return -1;
				c = (char)cp;
				r += 4;
				break;
			}
			default: break;
			}
		}
		if (n == sizeof(buf))
			return -1;
		buf[n++] = c;
	}
	return find_key(s->tk, buf, n, level);
}

/* An object, s->p at '{'. level >= 0: the members are recorded as keys of
 * that level of s->tk. */
static int scan_object(struct scan *s, int depth, int level)
{
	struct jval key, val;

	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		int k = -1, child = -1;

		skip_ws(s);
		if (s->p == s->end || *s->p != '"')
			return fail(s, s->p, "string expected");
		if (scan_string(s, &key))
			return -1;
		skip_ws(s);
		if (s->p == s->end || *s->p != ':')
			return fail(s, s->p, "':' expected");
		s->p++;
		if (level >= 0) {
			k = member_key(s, &key, (unsigned)level);
			if (k >= 0 && s->tk->keys[k].opens >= 0) {
				/* A parent again: only its last object counts. */
				unsigned nested = 1 + (unsigned)s->tk->keys[k].opens;

				for (size_t i = 0; i < s->tk->nkeys; i++)
					if (s->tk->keys[i].level == nested)
						s->keys[i].type = J_ABSENT;
				child = (int)nested;
			}
		}
		if (scan_value(s, depth, child, &val))
			return -1;
		if (k >= 0)
			s->keys[k] = val;
		skip_ws(s);
		if (s->p == s->end)
			return fail(s, s->p, "premature end of input");
		if (*s->p == '}') {
			s->p++;
			return 0;
		}
		if (*s->p != ',')
			return fail(s, s->p, "',' or '}' expected");
		s->p++;
	}
}

static int scan_array(struct scan *s, int depth)
{
	struct jval val;

	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return 0;
	}
	for (;;) {
		if (scan_value(s, depth, -1, &val))
			return -1;
		skip_ws(s);
		if (s->p == s->end)
			return fail(s, s->p, "premature end of input");
		if (*s->p == ']') {
			s->p++;
			return 0;
		}
		if (*s->p != ',')
			return fail(s, s->p, "',' or ']' expected");
		s->p++;
	}
}

/* Any value; depth: of the container holding it. */
static int scan_value(struct scan *s, int depth, int level, struct jval *v)
{
	const unsigned char *start;

	skip_ws(s);
	if (s->p == s->end)
		return fail(s, s->p, "premature end of input");
	start = s->p;
	switch (*s->p) {
	case '{':
	case '[':
		if (depth >= ROWS_JSON_MAX_DEPTH)
			return fail(s, s->p, "nested too deep");
		if (*s->p == '{' ? scan_object(s, depth + 1, level) : scan_array(s, depth + 1))
			return -1;
		v->type = *start == '{' ? J_OBJECT : J_ARRAY;
		v->s = (const char *)start;
		v->len = (size_t)(s->p - start);
		return 0;
	case '"':
		return scan_string(s, v);
	case 't':
		return scan_literal(s, v, "true", 4, J_TRUE);
	case 'f':
		return scan_literal(s, v, "false", 5, J_FALSE);
	case 'n':
		return scan_literal(s, v, "null", 4, J_NULL);
	default:
		if (*s->p == '-' || is_digit(*s->p))
			return scan_number(s, v);
		return fail(s, s->p, "invalid value");
	}
}

/* Checks the whole text and records the values of tk's keys. */
static int scan_record(struct scan *s)
{
	struct jval root;

	skip_ws(s);
	if (s->p == s->end || *s->p != '{')
		return fail(s, s->p, "'{' expected");
	if (scan_value(s, 0, 0, &root))
		return -1;
	skip_ws(s);
	if (s->p != s->end)
		return fail(s, s->p, "end of input expected");
	return 0;
}

/* ---- JSON text out ---- */

/* Decodes the escapes of a valid string's bytes into dst (room for len:
 * the decoded form is never longer). Returns the decoded length. */
static size_t unescape(char *dst, const char *s, size_t len)
{
	const char *end = s + len;
	char *o = dst;

	while (s < end) {
		const char *bs = memchr(s, '\\', (size_t)(end - s));
		uint32_t cp;

		if (!bs)
			bs = end;
		memcpy(o, s, (size_t)(bs - s));
		o += bs - s;
		if (bs == end)
			break;
		s = bs + 2;
		switch (bs[1]) {
		case 'b': *o++ = '\b'; continue;
		case 'f': *o++ = '\f'; continue;
		case 'n': *o++ = '\n'; continue;
		case 'r': *o++ = '\r'; continue;
		case 't': *o++ = '\t'; continue;
		case 'u': break;
		default: *o++ = bs[1]; continue;
		}
		cp = (uint32_t)hex4((const unsigned char *)s, 4);
		s += 4;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) +
			     ((uint32_t)hex4((const unsigned char *)s + 2, 4) - 0xdc00);
			s += 6;
		}
		if (cp < 0x80) {
			*o++ = (char)cp;
		} else if (cp < 0x800) {
			*o++ = (char)(0xc0 | cp >> 6);
			*o++ = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			*o++ = (char)(0xe0 | cp >> 12);
			*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*o++ = (char)(0x80 | (cp & 0x3f));
		} else {
			*o++ = (char)(0xf0 | cp >> 18);
			*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
			*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*o++ = (char)(0x80 | (cp & 0x3f));
		}
	}
	return (size_t)(o - dst);
}

/* Bounded writer into the scratch buffer; full once anything did not fit. */
struct out {
	char *buf;
	size_t room, n;
	int full;
};

static void put(struct out *w, const char *s, size_t n)
{
	if (w->full || n > w->room - w->n) {
		w->full = 1;
		return;
	}
	memcpy(w->buf + w->n, s, n);
	w->n += n;
}

/* A double as jansson writes it: %.17g, ".0" if it would read back as an
 * integer, no '+' nor leading zeros in the exponent. */
static size_t real_text(char *buf, size_t size, double d)
{
	int n = snprintf(buf, size, "%.17g", d);
	char *e, *from;

	if (n < 0 || (size_t)n + 3 >= size)
		return 0;
	if (!strchr(buf, '.') && !strchr(buf, 'e')) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	e = strchr(buf, 'e');
	if (e) {
		e++;
		from = e + 1;
		if (*e == '-')
			e++;
		while (*from == '0')
			from++;
		if (from != e) {
			memmove(e, from, (size_t)(buf + n + 1 - from));
			n -= (int)(from - e);
		}
	}
	return (size_t)n;
}

/* A number's text as jansson writes the value it reads from it. */
static void put_number(struct out *w, const char *s, size_t len)
{
	char buf[64];
	size_t n;

	if (memchr(s, '.', len) || memchr(s, 'e', len) || memchr(s, 'E', len)) {
		/* Valid and followed by a byte that is no part of a number. */
		n = real_text(buf, sizeof(buf), strtod(s, NULL));
	} else {
		uint64_t mag = 0;
		int neg = *s == '-';

		for (size_t i = (size_t)neg; i < len; i++)
			mag = mag * 10 + (uint64_t)(s[i] - '0');
		n = (size_t)snprintf(buf, sizeof(buf), "%lld",
				     neg ? (long long)(~mag + 1) : (long long)mag);
	}
	put(w, buf, n);
}

/* A string (its bytes between the quotes, valid) as jansson writes it:
 * only '"', '\' and control characters escaped, the rest as UTF-8. */
static void put_string(struct out *w, const char *s, size_t len)
{
	const char *end = s + len, *run = s;
	char esc[8], dec[4];

	put(w, "\"", 1);
	while (s < end) {
		unsigned char c = (unsigned char)*s;
		const char *rep;
		size_t n;

		if (c >= 0x20 && c != '"' && c != '\\') {
			s++;
			continue;
		}
		put(w, run, (size_t)(s - run));
		if (c == '\\') {
			/* One escape (a surrogate pair is two), decoded, then
			 * written again if need be. */
			size_t elen = 2;

			if (s[1] == 'u') {
				int32_t cp = hex4((const unsigned char *)s + 2, 4);

				elen = cp >= 0xd800 && cp <= 0xdbff ? 12 : 6;
			}
			n = unescape(dec, s, elen);
			s += elen;
			c = (unsigned char)dec[0];
			if (n > 1 || (c >= 0x20 && c != '"' && c != '\\')) {
				put(w, dec, n);
				run = s;
				continue;
			}
		} else {
			s++;
		}
		run = s;
		switch (c) {
		case '"': rep = "\\\""; break;
		case '\\': rep = "\\\\"; break;
		case '\b': rep = "\\b"; break;
		case '\f': rep = "\\f"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04X", c);
			rep = esc;
		}
		put(w, rep, strlen(rep));
	}
	put(w, run, (size_t)(s - run));
	put(w, "\"", 1);
}

/* A valid JSON value's text, compact, as jansson writes what it reads. */
static void put_json(struct out *w, const char *s, size_t len)
{
	const char *end = s + len;

	while (s < end && !w->full) {
		const char *tok = s;

		switch (*s) {
		case ' ': case '\t': case '\n': case '\r':
			s++;
			break;
		case '"':
			for (s++; *s != '"'; s++)
				if (*s == '\\')
					s++;
			put_string(w, tok + 1, (size_t)(s - tok - 1));
			s++;
			break;
		case '-': case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			while (s < end && (is_digit((unsigned char)*s) || *s == '-' || *s == '+' ||
					   *s == '.' || *s == 'e' || *s == 'E'))
				s++;
			put_number(w, tok, (size_t)(s - tok));
			break;
		default: /* punctuation, true, false, null */
			while (s < end && *s >= 'a' && *s <= 'z')
				s++;
			if (s == tok)
				s++;
			put(w, tok, (size_t)(s - tok));
		}
	}
}

/* ---- records to rows ---- */

void rows_release(struct rows_parser *p)
{
	free(p->text_heap);
	p->text_heap = NULL;
}

static void val_text(struct row_val *v, const char *s, size_t len)
{
	v->type = VAL_TEXT;
	v->s = s;
	v->len = len;
}

/* Sets a string value's text: the JSON's own bytes, or with escapes,
 * decoded (once) into p's text buffer, which holds as much as the line. */
static void decode(struct rows_parser *p, struct jval *j)
{
	char *base = p->text_heap ? p->text_heap : p->text;

	if (j->str)
		return;
	if (!j->escaped) {
		j->str = j->s;
		j->str_len = j->len;
		return;
	}
	j->str = base + p->text_used;
	j->str_len = unescape(base + p->text_used, j->s, j->len);
	p->text_used += j->str_len;
}

/* The JSON text of j into the scratch buffer; NULL if it does not fit. */
static void val_dump(struct rows_parser *p, struct row_val *v, const struct jval *j)
{
	struct out w = { p->scratch + p->scratch_used, sizeof(p->scratch) - p->scratch_used, 0, 0 };

	switch (j->type) {
	case J_STRING:
		put_string(&w, j->s, j->len);
		break;
	case J_INT: {
		char buf[24];

		put(&w, buf, (size_t)snprintf(buf, sizeof(buf), "%lld", (long long)j->i));
		break;
	}
	default:
		put_json(&w, j->s, j->len);
	}
	/* jansson's json_dumpb gives 0 for an empty result and NULL is what a
	 * dump that does not fit became. */
	if (w.full || w.n == 0) {
		v->type = VAL_NULL;
		return;
	}
	val_text(v, w.buf, w.n);
	p->scratch_used += w.n;
}

static int is_address(const char *s, size_t len)
{
	char a[64];
	unsigned char bin[16];

	if (len == 0 || len >= sizeof(a))
		return 0;
	memcpy(a, s, len);
	a[len] = 0;
	return inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1;
}

/* Value of column c from JSON value j (J_ABSENT: absent). Values that do
 * not fit the column's type become NULL, so that no record can make a
 * batch fail for ever on a typed column. */
static void convert(struct rows_parser *p, struct row_val *v, const struct row_col *c,
		    struct jval *j)
{
	int64_t us;

	v->type = VAL_NULL;
	if (c->kind == COL_BOOL) {
		v->type = VAL_BOOL;
		v->i = j->type == J_TRUE;
		return;
	}
	if (j->type == J_ABSENT || j->type == J_NULL)
		return;
	switch (c->kind) {
	case COL_INT:
		if (j->type == J_INT || j->type == J_TRUE || j->type == J_FALSE) {
			v->type = VAL_INT;
			v->i = j->type == J_INT ? j->i : j->type == J_TRUE;
		}
		break;
	case COL_TEXT:
		if (j->type == J_STRING) {
			decode(p, j);
			val_text(v, j->str, j->str_len);
		} else if (j->type != J_ARRAY && j->type != J_OBJECT) {
			val_dump(p, v, j);
		}
		break;
	case COL_TIME:
	case COL_TIME_US:
		if (j->type != J_STRING)
			break;
		decode(p, j);
		if (rows_parse_time(j->str, j->str_len, &us))
			break;
		if (c->kind == COL_TIME) {
			val_text(v, j->str, j->str_len);
		} else {
			v->type = VAL_INT;
			v->i = us;
		}
		break;
	case COL_ADDR:
		if (j->type != J_STRING)
			break;
		decode(p, j);
		if (is_address(j->str, j->str_len))
			val_text(v, j->str, j->str_len);
		break;
	case COL_JSON:
		val_dump(p, v, j);
		break;
	default:
		break;
	}
}

int rows_parse(struct rows_parser *p, const struct sink_item *item,
	       const struct row_table **table, char *err, size_t errlen)
{
	const struct row_table *t = rows_table(item->type);
	const struct table_keys *tk;
	const char *json = item->json;
	size_t json_len = item->json_len;
	struct jval keys[MAX_KEYS];
	struct scan s;

	rows_release(p);
	p->scratch_used = 0;
	p->text_used = 0;
	if (!t) {
		snprintf(err, errlen, "record %llu: unknown record type %d",
			 (unsigned long long)item->seq, (int)item->type);
		return -1;
	}
	if (!json) {
		if (!item->rec) {
			snprintf(err, errlen, "record %llu: neither a record nor its JSON",
				 (unsigned long long)item->seq);
			return -1;
		}
		json_len = jsonl_format(p->line, sizeof(p->line), item->type, item->rec);
		if (!json_len) {
			snprintf(err, errlen, "record %llu: JSON form longer than %d bytes",
				 (unsigned long long)item->seq, JSONL_LINE_MAX);
			return -1;
		}
		json = p->line;
	}
	pthread_once(&table_keys_once, table_keys_init);
	tk = &table_keys[t - rows_tables];
	for (size_t k = 0; k < tk->nkeys; k++)
		keys[k].type = J_ABSENT;
	s = (struct scan){ (const unsigned char *)json, (const unsigned char *)json,
			   (const unsigned char *)json + json_len, tk, keys, NULL };
	if (scan_record(&s)) {
		snprintf(err, errlen, "record %llu: not a JSON object: %s at byte %zu",
			 (unsigned long long)item->seq, s.why, (size_t)(s.p - s.start));
		return -1;
	}
	/* Decoded strings are never longer than the line. */
	if (json_len > sizeof(p->text)) {
		p->text_heap = malloc(json_len);
		if (!p->text_heap) {
			snprintf(err, errlen, "record %llu: out of memory for %zu bytes of JSON",
				 (unsigned long long)item->seq, json_len);
			return -1;
		}
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const struct row_col *c = &t->cols[i];
		struct row_val *v = &p->vals[i];

		switch (c->kind) {
		case COL_HOST:
			val_text(v, item->host ? item->host : "", item->host ? strlen(item->host) : 0);
			continue;
		case COL_RUN:
		case COL_SEQ:
			v->type = VAL_INT;
			v->i = (int64_t)(c->kind == COL_RUN ? item->run : item->seq);
			continue;
		default:
			break;
		}
		convert(p, v, c, &keys[tk->col_key[i]]);
	}
	*table = t;
	return 0;
}
