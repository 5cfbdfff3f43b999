#include "sink/rows.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* ---- records to rows ---- */

void rows_release(struct rows_parser *p)
{
	if (p->root) {
		json_decref(p->root);
		p->root = NULL;
	}
}

static void val_text(struct row_val *v, const char *s, size_t len)
{
	v->type = VAL_TEXT;
	v->s = s;
	v->len = len;
}

/* Puts the JSON text of j into the scratch buffer; NULL if it is full. */
static void val_dump(struct rows_parser *p, struct row_val *v, const json_t *j)
{
	size_t room = sizeof(p->scratch) - p->scratch_used;
	size_t n = json_dumpb(j, p->scratch + p->scratch_used, room, JSON_COMPACT | JSON_ENCODE_ANY);

	if (n == 0 || n > room) {
		v->type = VAL_NULL;
		return;
	}
	val_text(v, p->scratch + p->scratch_used, n);
	p->scratch_used += n;
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

/* Value of column c from JSON value j (NULL: absent). Values that do not
 * fit the column's type become NULL, so that no record can make a batch
 * fail for ever on a typed column. */
static void convert(struct rows_parser *p, struct row_val *v, const struct row_col *c,
		    const json_t *j)
{
	int64_t us;

	v->type = VAL_NULL;
	if (c->kind == COL_BOOL) {
		v->type = VAL_BOOL;
		v->i = json_is_true(j);
		return;
	}
	if (!j || json_is_null(j))
		return;
	switch (c->kind) {
	case COL_INT:
		if (json_is_integer(j)) {
			v->type = VAL_INT;
			v->i = json_integer_value(j);
		} else if (json_is_boolean(j)) {
			v->type = VAL_INT;
			v->i = json_is_true(j);
		}
		break;
	case COL_TEXT:
		if (json_is_string(j))
			val_text(v, json_string_value(j), json_string_length(j));
		else if (!json_is_array(j) && !json_is_object(j))
			val_dump(p, v, j);
		break;
	case COL_TIME:
	case COL_TIME_US:
		if (!json_is_string(j) ||
		    rows_parse_time(json_string_value(j), json_string_length(j), &us))
			break;
		if (c->kind == COL_TIME) {
			val_text(v, json_string_value(j), json_string_length(j));
		} else {
			v->type = VAL_INT;
			v->i = us;
		}
		break;
	case COL_ADDR:
		if (json_is_string(j) && is_address(json_string_value(j), json_string_length(j)))
			val_text(v, json_string_value(j), json_string_length(j));
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
	const char *json = item->json;
	size_t json_len = item->json_len;
	json_error_t jerr;

	rows_release(p);
	p->scratch_used = 0;
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
	p->root = json_loadb(json, json_len, 0, &jerr);
	if (!p->root || !json_is_object(p->root)) {
		snprintf(err, errlen, "record %llu: not a JSON object: %s",
			 (unsigned long long)item->seq, p->root ? "other JSON value" : jerr.text);
		rows_release(p);
		return -1;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const struct row_col *c = &t->cols[i];
		struct row_val *v = &p->vals[i];
		const json_t *obj = p->root;

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
		if (c->parent)
			obj = json_object_get(obj, c->parent);
		convert(p, v, c, json_is_object(obj) ? json_object_get(obj, c->key) : NULL);
	}
	*table = t;
	return 0;
}
