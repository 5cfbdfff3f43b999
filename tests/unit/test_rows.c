/* SQL rows (sink/rows.c) and the SQLite sink: records become the columns
 * the schema names, from the struct and from the JSON line alike; a batch
 * given twice inserts nothing twice; a failing batch leaves nothing.
 * With XDPI_TEST_PG set to a libpq conninfo, the PostgreSQL sink gets the
 * same checks against that server (tests/integration/sink_postgres.sh); the
 * test drops xdpi's tables in that database first, so give it a scratch one. */
#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "read.h"
#include "rows_ref.h"
#include "sink/rows.h"
#include "sink/sink.h"

#define CHECK_STR(got, want, what)                                             \
	CHECK(strcmp((got), (want)) == 0, "%s: got \"%s\", want \"%s\"", what, \
	      (got), (want))

static struct rows_parser parser;
static char err[512];

/* Text of column `name` of the parsed row, "NULL" for none. */
static const char *val(const struct row_table *t, const char *name)
{
	static char buf[8192];

	for (size_t c = 0; c < t->ncols; c++) {
		const struct row_val *v = &parser.vals[c];

		if (strcmp(t->cols[c].name, name))
			continue;
		switch (v->type) {
		case VAL_INT: snprintf(buf, sizeof(buf), "%lld", (long long)v->i); break;
		case VAL_BOOL: snprintf(buf, sizeof(buf), "%s", v->i ? "true" : "false"); break;
		case VAL_TEXT: snprintf(buf, sizeof(buf), "%.*s", (int)v->len, v->s); break;
		default: snprintf(buf, sizeof(buf), "NULL"); break;
		}
		return buf;
	}
	return "no such column";
}

/* ---- times ---- */

static int64_t timegm_us(int y, int mo, int d, int h, int mi, int s, int us)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return (int64_t)timegm(&tm) * 1000000 + us;
}

static void test_times(void)
{
	static const struct {
		const char *s;
		int y, mo, d, h, mi, sec, us;
	} ok[] = {
		{ "2016-08-02T02:19:37.734137Z", 2016, 8, 2, 2, 19, 37, 734137 },
		{ "1970-01-01T00:00:00.000000Z", 1970, 1, 1, 0, 0, 0, 0 },
		{ "2000-02-29T23:59:59Z", 2000, 2, 29, 23, 59, 59, 0 },
		{ "2024-12-31T12:00:00.5Z", 2024, 12, 31, 12, 0, 0, 500000 },
		{ "1969-12-31T23:59:59.999999Z", 1969, 12, 31, 23, 59, 59, 999999 },
		{ "2038-01-19T03:14:08.1234567Z", 2038, 1, 19, 3, 14, 8, 123456 },
	};
	static const char *const bad[] = {
		"", "2016-08-02", "2016-08-02T02:19:37", "2016-08-02 02:19:37Z",
		"2016-13-02T02:19:37Z", "2015-02-29T00:00:00Z", "2016-08-02T24:00:00Z",
		"2016-08-02T02:19:37.Z", "2016-08-02T02:19:37.1", "2016-08-02T02:19:37Zx",
		"0000-01-01T00:00:00Z", "2016-08-02T02:19:37+0100", "abcd-08-02T02:19:37Z",
		"0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01",
	};
	int64_t us;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int r = rows_parse_time(ok[i].s, strlen(ok[i].s), &us);

		CHECK(r == 0, "%s parses", ok[i].s);
		CHECK(us == timegm_us(ok[i].y, ok[i].mo, ok[i].d, ok[i].h, ok[i].mi, ok[i].sec,
				      ok[i].us), "%s: %lld", ok[i].s, (long long)us);
	}
	CHECK(rows_parse_time("2016-08-02T03:19:37.734137+01:00", 32, &us) == 0 &&
	      us == timegm_us(2016, 8, 2, 2, 19, 37, 734137), "offset +01:00");
	CHECK(rows_parse_time("0001-01-01T00:00:00Z", 20, &us) == 0 && us == ROWS_TIME_MIN_US,
	      "first time");
	CHECK(rows_parse_time("9999-12-31T23:59:59.999999Z", 27, &us) == 0 &&
	      us == ROWS_TIME_END_US - 1, "last time");
	CHECK(rows_parse_time("2016-08-02T01:49:37-00:30", 25, &us) == 0 &&
	      us == timegm_us(2016, 8, 2, 2, 19, 37, 0), "offset -00:30");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(rows_parse_time(bad[i], strlen(bad[i]), &us) == -1, "\"%s\" refused", bad[i]);
}

/* ---- records ---- */

static struct record flow_rec, dns_rec, http_rec, tls_rec, ssh_rec, quic_rec;

static void make_records(void)
{
	struct flow_record *f = &flow_rec.flow;
	struct dns_record *d = &dns_rec.dns;
	struct http_record *h = &http_rec.http;
	struct tls_record *t = &tls_rec.tls;
	struct ssh_record *s = &ssh_rec.ssh;
	struct quic_record *q = &quic_rec.quic;

	flow_rec.type = REC_FLOW;
	f->flow_id = 4772546330483040;
	f->family = 4;
	memcpy(f->src_ip, "\x0a\x00\x00\x01", 4);
	memcpy(f->dst_ip, "\x0a\x00\x00\x02", 4);
	f->src_port = 54422;
	f->dst_port = 80;
	f->proto = 6;
	f->vlan = XDPI_VLAN_NONE;
	f->pkts_fwd = 3;
	f->pkts_rev = 4;
	f->bytes_fwd = 277;
	f->bytes_rev = 4508;
	f->tcp_flags_fwd = 26;
	f->start_ns = 1456042921641303000ull;
	f->end_ns = 1456042921761641000ull;
	f->end_reason = END_FIN;
	f->app_proto = APP_HTTP;
	strcpy(f->host, "example.com:8080");
	f->has_tcp = 1;
	f->rtt_syn_us = 40231;
	f->rtt_ack_us = -1;
	f->retrans_rev = 1;

	dns_rec.type = REC_DNS;
	d->flow_id = 77;
	d->ts_ns = 1456042921000001000ull;
	d->latency_us = -1;
	d->id = 4660;
	d->qtype = 1;
	d->rcode = 3;
	strcpy(d->qname, "tab\there.example");
	d->nanswers = 2;
	d->answers[0] = (struct dns_answer_rec){ 1, 300, "192.0.2.1" };
	d->answers[1] = (struct dns_answer_rec){ 5, 60, "back\\slash \"q\"" };

	http_rec.type = REC_HTTP;
	h->flow_id = 78;
	h->ts_ns = 1456042921000002000ull;
	h->latency_us = 1234;
	h->content_length = -1;
	h->status = 404;
	strcpy(h->method, "GET");
	strcpy(h->host, "www.example.org");
	strcpy(h->uri, "/a\nb\rc\\d\te\x01\xff\xc3\xa9");
	strcpy(h->user_agent, "curl/8 \xe2\x82\xac");

	tls_rec.type = REC_TLS;
	t->flow_id = 79;
	t->ts_ns = 1456042921000003000ull;
	t->version = 0x0304;
	t->nalpn = 2;
	strcpy(t->alpn[0], "h2");
	strcpy(t->alpn[1], "http/1.1");
	strcpy(t->sni, "tls.example");
	strcpy(t->ja3, "0123456789abcdef0123456789abcdef");

	ssh_rec.type = REC_SSH;
	s->flow_id = 80;
	s->ts_ns = 1456042921000004000ull;
	strcpy(s->client.proto, "2.0");
	strcpy(s->client.software, "OpenSSH_7.9");
	strcpy(s->server.proto, "2.0");
	strcpy(s->server.software, "OpenSSH_7.6p1");
	strcpy(s->server.comments, "Ubuntu-4ubuntu0.3");

	quic_rec.type = REC_QUIC;
	q->flow_id = 81;
	q->ts_ns = 1456042921000005000ull;
	q->version = 1;
	strcpy(q->sni, "quic.example");
	q->nalpn = 1;
	strcpy(q->alpn[0], "h3");
}

static struct sink_item item_of(const struct record *r, uint64_t seq)
{
	return (struct sink_item){ .type = r->type, .seq = seq, .run = 0x7123456789abcdefull,
				   .host = "probe-1", .rec = &r->flow };
}

static void test_flow_row(void)
{
	struct sink_item it = item_of(&flow_rec, 5);
	const struct row_table *t = NULL;
	char line[JSONL_LINE_MAX], from_rec[ROWS_MAX_COLS][256];
	size_t n;

	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == 0, "flow from rec: %s", err);
	if (!t)
		return;
	CHECK_STR(t->name, "flows", "table");
	CHECK_STR(val(t, "host"), "probe-1", "host");
	CHECK_STR(val(t, "run"), "8152436061464415727", "run");
	CHECK_STR(val(t, "seq"), "5", "seq");
	CHECK_STR(val(t, "flow_id"), "4772546330483040", "flow_id");
	CHECK_STR(val(t, "src_ip"), "10.0.0.1", "src_ip");
	CHECK_STR(val(t, "dst_port"), "80", "dst_port");
	CHECK_STR(val(t, "vlan"), "NULL", "vlan null");
	CHECK_STR(val(t, "ifname"), "", "ifname");
	CHECK_STR(val(t, "bytes_rev"), "4508", "bytes_rev");
	CHECK_STR(val(t, "icmp_type"), "NULL", "icmp_type absent");
	CHECK_STR(val(t, "start_ts"), "2016-02-21T08:22:01.641303Z", "start_ts");
	CHECK_STR(val(t, "start_us"), "1456042921641303", "start_us");
	CHECK_STR(val(t, "end_ts"), "2016-02-21T08:22:01.761641Z", "end_ts");
	CHECK_STR(val(t, "end_us"), "1456042921761641", "end_us");
	CHECK_STR(val(t, "end_reason"), "fin", "end_reason");
	CHECK_STR(val(t, "app_proto"), "http", "app_proto");
	CHECK_STR(val(t, "sni"), "NULL", "sni absent");
	CHECK_STR(val(t, "http_host"), "example.com:8080", "http_host");
	CHECK_STR(val(t, "rtt_syn_us"), "40231", "tcp.rtt_syn_us");
	CHECK_STR(val(t, "rtt_ack_us"), "NULL", "tcp.rtt_ack_us null");
	CHECK_STR(val(t, "retrans_rev"), "1", "tcp.retrans_rev");
	CHECK_STR(val(t, "shed"), "false", "shed absent: false");
	CHECK_STR(val(t, "sampling"), "NULL", "sampling absent");

	/* The same row from the JSON line alone, as the collector has it. */
	for (size_t c = 0; c < t->ncols; c++)
		snprintf(from_rec[c], sizeof(from_rec[c]), "%s", val(t, t->cols[c].name));
	n = jsonl_format(line, sizeof(line), REC_FLOW, &flow_rec.flow);
	it.rec = NULL;
	it.json = line;
	it.json_len = n;
	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == 0, "flow from json: %s", err);
	for (size_t c = 0; c < t->ncols; c++)
		CHECK(strcmp(from_rec[c], val(t, t->cols[c].name)) == 0, "column %s: %s vs %s",
		      t->cols[c].name, from_rec[c], val(t, t->cols[c].name));

	/* Values that do not fit their column's type become NULL. */
	static const char odd[] = "{\"type\":\"flow\",\"flow_id\":\"x\",\"src_ip\":\"10.0.0.300\","
				  "\"dst_ip\":\"::1\",\"start\":\"yesterday\",\"end\":3,"
				  "\"shed\":true,\"tcp\":7,\"ifname\":12,\"sni\":[1]}\n";
	it.json = odd;
	it.json_len = strlen(odd);
	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == 0, "odd flow: %s", err);
	CHECK_STR(val(t, "flow_id"), "NULL", "string flow_id");
	CHECK_STR(val(t, "src_ip"), "NULL", "bad address");
	CHECK_STR(val(t, "dst_ip"), "::1", "IPv6 address");
	CHECK_STR(val(t, "start_ts"), "NULL", "bad time");
	CHECK_STR(val(t, "start_us"), "NULL", "bad time us");
	CHECK_STR(val(t, "end_ts"), "NULL", "number as time");
	CHECK_STR(val(t, "shed"), "true", "shed");
	CHECK_STR(val(t, "rtt_syn_us"), "NULL", "tcp not an object");
	CHECK_STR(val(t, "ifname"), "12", "number as text");
	CHECK_STR(val(t, "sni"), "NULL", "array as text");
	rows_release(&parser);
}

static void test_other_rows(void)
{
	struct sink_item it;
	const struct row_table *t = NULL;

	it = item_of(&dns_rec, 6);
	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == 0, "dns: %s", err);
	CHECK_STR(t->name, "dns", "table");
	CHECK_STR(val(t, "qname"), "tab\there.example", "qname");
	CHECK_STR(val(t, "rcode"), "3", "rcode");
	CHECK_STR(val(t, "latency_us"), "NULL", "latency null");
	CHECK_STR(val(t, "answers"),
		  "[{\"type\":1,\"data\":\"192.0.2.1\",\"ttl\":300},"
		  "{\"type\":5,\"data\":\"back\\\\slash \\\"q\\\"\",\"ttl\":60}]", "answers");
	CHECK_STR(val(t, "ts_us"), "1456042921000001", "ts_us");
	CHECK_STR(val(t, "transport"), "udp", "transport");

	it = item_of(&http_rec, 7);
	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == 0, "http: %s", err);
	CHECK_STR(t->name, "http", "table");
	CHECK_STR(val(t, "http_host"), "www.example.org", "http_host");
	/* Bytes not valid UTF-8 come as \u00XX from the JSON form: U+00XX. */
	CHECK_STR(val(t, "uri"), "/a\nb\rc\\d\te\x01\xc3\xbf\xc3\xa9", "uri");
	CHECK_STR(val(t, "status"), "404", "status");
	CHECK_STR(val(t, "content_length"), "NULL", "content_length absent");
	CHECK_STR(val(t, "content_type"), "NULL", "content_type null");

	it = item_of(&tls_rec, 8);
	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == 0, "tls: %s", err);
	CHECK_STR(val(t, "alpn"), "[\"h2\",\"http/1.1\"]", "alpn");
	CHECK_STR(val(t, "version"), "0x0304", "version");
	CHECK_STR(val(t, "cert_subject"), "NULL", "no certificate");

	it = item_of(&ssh_rec, 9);
	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == 0, "ssh: %s", err);
	CHECK_STR(val(t, "client_software"), "OpenSSH_7.9", "client_software");
	CHECK_STR(val(t, "client_comments"), "NULL", "client_comments");
	CHECK_STR(val(t, "server_comments"), "Ubuntu-4ubuntu0.3", "server_comments");

	it = item_of(&quic_rec, 10);
	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == 0, "quic: %s", err);
	CHECK_STR(val(t, "alpn"), "[\"h3\"]", "alpn");
	CHECK_STR(val(t, "version"), "0x00000001", "version");

	/* Records that can never be rows. */
	it = item_of(&quic_rec, 11);
	it.type = (enum record_type)42;
	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == -1, "unknown type");
	it = (struct sink_item){ .type = REC_DNS, .seq = 12, .json = "{\"type\":", .json_len = 8 };
	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == -1, "cut JSON");
	it.json = "[1,2]";
	it.json_len = 5;
	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == -1, "not an object");
	it.json = NULL;
	CHECK(rows_parse(&parser, &it, &t, err, sizeof(err)) == -1, "neither rec nor json");
	rows_release(&parser);
}

/* ---- the JSON scanner against jansson ---- */

static struct rows_ref ref;

/* Parses json (len bytes) as a record of type type, identity as the
 * reference gives it. */
static int parse_json(enum record_type type, const char *json, size_t len,
		      const struct row_table **t)
{
	struct sink_item it = { .type = type, .seq = 2, .run = 1, .host = "h", .json = json,
				.json_len = len };

	return rows_parse(&parser, &it, t, err, sizeof(err));
}

/* rows_parse and jansson take or refuse json alike, with the same values. */
static void check_like_jansson(enum record_type type, const char *json, size_t len,
			       const char *what)
{
	const struct row_table *t = NULL, *rt = NULL;
	char why[600];
	int got = parse_json(type, json, len, &t);
	int want = rows_ref_parse(&ref, type, json, len, &rt);

	CHECK(got == want, "%s: rows_parse %d (%s), jansson %d", what, got, got ? err : "", want);
	if (got == 0 && want == 0)
		CHECK(rows_ref_same(t, parser.vals, ref.vals, 0,
				    rows_ref_has_duplicates(json, len), why, sizeof(why)),
		      "%s: %s", what, why);
	rows_ref_release(&ref);
}

#define REFUSED NULL
#define S(lit) lit, sizeof(lit) - 1

static void test_tricky_json(void)
{
	/* col NULL: refused. like: 1 when jansson does the same. */
	static const struct {
		enum record_type type;
		const char *json;
		size_t len;
		const char *col, *want;
		int like;
	} cases[] = {
		/* Escapes and UTF-8. */
		{ REC_FLOW, S("{\"ifname\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}"), "ifname",
		  "a\"b\\c/d\b\f\n\r\t", 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\u0041\\u00e9\\u20AC\\u007f\"}"), "ifname",
		  "A\xc3\xa9\xe2\x82\xac\x7f", 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\ud83d\\ude00 \\uDBFF\\uDFFF\"}"), "ifname",
		  "\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf", 1 },
		{ REC_FLOW, S("{\"ifname\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"), "ifname",
		  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 1 },
		{ REC_FLOW, S("{\"ifname\":\"\"}"), "ifname", "", 1 },
		{ REC_FLOW, S("{\"\\u0069fname\":\"k\"}"), "ifname", "k", 1 },
		{ REC_FLOW, S("{\"tcp\":{\"rtt\\u005fsyn_us\":3}}"), "rtt_syn_us", "3", 1 },
		{ REC_FLOW, S("{\"ifname\\u00e9\":\"k\"}"), "ifname", "NULL", 1 },
		{ REC_FLOW, S("{\"src_ip\":\"10.0.0.\\u0031\"}"), "src_ip", "10.0.0.1", 1 },
		{ REC_FLOW, S("{\"start\":\"2016-08-02T02:19:37\\u005a\"}"), "start_us",
		  "1470104377000000", 1 },
		{ REC_FLOW, S("{\"start\":\"2016-08-02T02:19:37\\u005a\"}"), "start_ts",
		  "2016-08-02T02:19:37Z", 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\x\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\U0041\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\u12\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\u12G4\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\u0000\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"if\\u0000name\":1}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\ud800\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\udc00\\ud800\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\ud800\\u0041\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\ud800\\n\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\ud800\\ud800\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\\ud800\"} "), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"tab\there\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\x1f\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"a\0b\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\x7f\"}"), "ifname", "\x7f", 1 },
		{ REC_FLOW, S("{\"ifname\":\"\xff\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\x80\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\xc0\x80\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\xe0\x80\x80\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\xed\xa0\x80\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\xf4\x90\x80\x80\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\xe2\x82\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":\"\xe2\x82"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":\"\xff\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1}\xc3\xa9"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("\xef\xbb\xbf{}"), REFUSED, NULL, 1 },
		/* Numbers. */
		{ REC_FLOW, S("{\"flow_id\":-0}"), "flow_id", "0", 1 },
		{ REC_FLOW, S("{\"flow_id\":9223372036854775807}"), "flow_id",
		  "9223372036854775807", 1 },
		{ REC_FLOW, S("{\"flow_id\":-9223372036854775808}"), "flow_id",
		  "-9223372036854775808", 1 },
		{ REC_FLOW, S("{\"flow_id\":9223372036854775808}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"flow_id\":-9223372036854775809}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":[18446744073709551616]}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":100000000000000000000000000000}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"flow_id\":1e3}"), "flow_id", "NULL", 1 },
		{ REC_FLOW, S("{\"flow_id\":1.0}"), "flow_id", "NULL", 1 },
		{ REC_FLOW, S("{\"ifname\":-0}"), "ifname", "0", 1 },
		{ REC_FLOW, S("{\"ifname\":-12}"), "ifname", "-12", 1 },
		{ REC_FLOW, S("{\"ifname\":1e3}"), "ifname", "1000.0", 1 },
		{ REC_FLOW, S("{\"ifname\":1E+2}"), "ifname", "100.0", 1 },
		{ REC_FLOW, S("{\"ifname\":-0.0}"), "ifname", "-0.0", 1 },
		{ REC_FLOW, S("{\"ifname\":0.1}"), "ifname", "0.10000000000000001", 1 },
		{ REC_FLOW, S("{\"ifname\":2.5E-3}"), "ifname", "0.0025000000000000001", 1 },
		{ REC_FLOW, S("{\"ifname\":1e-7}"), "ifname", "9.9999999999999995e-8", 1 },
		{ REC_FLOW, S("{\"ifname\":1e21}"), "ifname", "1e21", 1 },
		{ REC_FLOW, S("{\"ifname\":1.5e308}"), "ifname", "1.5e308", 1 },
		{ REC_FLOW, S("{\"ifname\":1e-400}"), "ifname", "0.0", 1 },
		{ REC_FLOW, S("{\"ifname\":123456789012345678901234567890.0}"), "ifname",
		  "1.2345678901234568e29", 1 },
		{ REC_FLOW, S("{\"ifname\":1.8e308}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"ifname\":-1e400}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":01}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":-01}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1.}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":.5}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":+1}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":-}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1e}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1e+}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":0x10}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":NaN}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":Infinity}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1"), REFUSED, NULL, 1 },
		/* Literals. */
		{ REC_FLOW, S("{\"flow_id\":true}"), "flow_id", "1", 1 },
		{ REC_FLOW, S("{\"flow_id\":false}"), "flow_id", "0", 1 },
		{ REC_FLOW, S("{\"ifname\":false}"), "ifname", "false", 1 },
		{ REC_FLOW, S("{\"ifname\":null}"), "ifname", "NULL", 1 },
		{ REC_FLOW, S("{\"shed\":true}"), "shed", "true", 1 },
		{ REC_FLOW, S("{\"shed\":1}"), "shed", "false", 1 },
		{ REC_FLOW, S("{\"shed\":\"true\"}"), "shed", "false", 1 },
		{ REC_FLOW, S("{\"x\":tru}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":truex}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":True}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":nul}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":null1}"), REFUSED, NULL, 1 },
		/* Whitespace and structure. */
		{ REC_FLOW, S(" \t\r\n{ \"flow_id\" :\n5 , \"tcp\" : {\t\"rtt_syn_us\" : 7 } }\r\n "),
		  "rtt_syn_us", "7", 1 },
		{ REC_FLOW, S("{}"), "flow_id", "NULL", 1 },
		{ REC_FLOW, S("{\"x\":1}\x0b"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1}\f"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1} x"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1}{}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1}}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1}\0"), REFUSED, NULL, 1 },
		{ REC_FLOW, S(""), REFUSED, NULL, 1 },
		{ REC_FLOW, S("  "), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("[]"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("[{}]"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("\"x\""), REFUSED, NULL, 1 },
		{ REC_FLOW, S("12"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("null"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\"}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\" 1}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1,}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{,}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":1 \"y\":2}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{'x':1}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{x:1}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{1:1}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":[1,2}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":[1 2]}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":[1,]}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":[,1]}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":{\"y\":1]}"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":\"abc"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":\"abc\\"), REFUSED, NULL, 1 },
		{ REC_FLOW, S("{\"x\":\"abc\\\""), REFUSED, NULL, 1 },
		/* Keys given twice: the last value counts, a parent's last object. */
		{ REC_FLOW, S("{\"flow_id\":1,\"flow_id\":2}"), "flow_id", "2", 1 },
		{ REC_FLOW, S("{\"flow_id\":1,\"flow_id\":null}"), "flow_id", "NULL", 1 },
		{ REC_FLOW, S("{\"tcp\":{\"rtt_syn_us\":1},\"tcp\":{\"rtt_ack_us\":2}}"),
		  "rtt_syn_us", "NULL", 1 },
		{ REC_FLOW, S("{\"tcp\":{\"rtt_syn_us\":1},\"tcp\":{\"rtt_ack_us\":2}}"),
		  "rtt_ack_us", "2", 1 },
		{ REC_FLOW, S("{\"tcp\":{\"rtt_syn_us\":1},\"tcp\":3}"), "rtt_syn_us", "NULL", 1 },
		{ REC_FLOW, S("{\"tcp\":{\"rtt_syn_us\":1,\"rtt_syn_us\":4}}"), "rtt_syn_us", "4", 1 },
		{ REC_SSH, S("{\"client\":{\"software\":\"a\"},\"server\":{\"software\":\"b\"}}"),
		  "server_software", "b", 1 },
		{ REC_SSH, S("{\"client\":{\"software\":\"a\"},\"server\":{\"software\":\"b\"}}"),
		  "client_software", "a", 1 },
		{ REC_SSH, S("{\"client\":{\"software\":\"a\"},\"client\":[]}"), "client_software",
		  "NULL", 1 },
		/* Nested keys only where the columns say. */
		{ REC_FLOW, S("{\"rtt_syn_us\":5}"), "rtt_syn_us", "NULL", 1 },
		{ REC_FLOW, S("{\"x\":{\"tcp\":{\"rtt_syn_us\":1}}}"), "rtt_syn_us", "NULL", 1 },
		{ REC_FLOW, S("{\"tcp\":{\"x\":{\"rtt_syn_us\":1}}}"), "rtt_syn_us", "NULL", 1 },
		{ REC_FLOW, S("{\"tcp\":{\"flow_id\":1}}"), "flow_id", "NULL", 1 },
		{ REC_FLOW, S("{\"tcp\":[{\"rtt_syn_us\":1}]}"), "rtt_syn_us", "NULL", 1 },
		{ REC_SSH, S("{\"client\":{\"proto\":\"2.0\",\"client\":{\"proto\":\"1\"}}}"),
		  "client_proto", "2.0", 1 },
		/* JSON columns: compact, as jansson writes them. */
		{ REC_DNS, S("{\"answers\":[[1,[2,[]]],{},{\"a\":[{\"b\":null}]},true,false]}"),
		  "answers", "[[1,[2,[]]],{},{\"a\":[{\"b\":null}]},true,false]", 1 },
		{ REC_DNS, S("{\"answers\" : [ 1 , { \"a\" : \"b\" } ,\n[ ] ]\t}"), "answers",
		  "[1,{\"a\":\"b\"},[]]", 1 },
		{ REC_DNS, S("{\"answers\":[\"\\u00e9\\/\\u001f\\u001F\\n\\\"\\\\\\ud83d\\ude00\"]}"),
		  "answers", "[\"\xc3\xa9/\\u001F\\u001F\\n\\\"\\\\\xf0\x9f\x98\x80\"]", 1 },
		{ REC_DNS, S("{\"answers\":[\"\x7f\\u007f\"]}"), "answers", "[\"\x7f\x7f\"]", 1 },
		{ REC_DNS, S("{\"answers\":[1.50,-0,-0.0,1e3,12]}"), "answers",
		  "[1.5,0,-0.0,1000.0,12]", 1 },
		{ REC_DNS, S("{\"answers\":{\"\\u0061\":1}}"), "answers", "{\"a\":1}", 1 },
		{ REC_DNS, S("{\"answers\":\"x\\ty\"}"), "answers", "\"x\\ty\"", 1 },
		{ REC_DNS, S("{\"answers\":-7}"), "answers", "-7", 1 },
		{ REC_DNS, S("{\"answers\":2.0}"), "answers", "2.0", 1 },
		{ REC_DNS, S("{\"answers\":false}"), "answers", "false", 1 },
		{ REC_DNS, S("{\"answers\":null}"), "answers", "NULL", 1 },
		{ REC_DNS, S("{\"answers\":[]}"), "answers", "[]", 1 },
		/* jansson merges repeated keys inside a JSON column, we keep them. */
		{ REC_DNS, S("{\"answers\":[{\"a\":1,\"b\":2,\"a\":3}]}"), "answers",
		  "[{\"a\":1,\"b\":2,\"a\":3}]", 0 },
	};
	const struct row_table *t;
	char what[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		snprintf(what, sizeof(what), "case %zu %.60s", i, cases[i].json);
		t = NULL;
		r = parse_json(cases[i].type, cases[i].json, cases[i].len, &t);
		if (!cases[i].col) {
			CHECK(r == -1, "%s: refused", what);
			CHECK(r == 0 || strstr(err, "not a JSON object"), "%s: message %s", what, err);
		} else {
			CHECK(r == 0, "%s: taken: %s", what, err);
			if (r == 0)
				CHECK_STR(val(t, cases[i].col), cases[i].want, what);
		}
		if (cases[i].like)
			check_like_jansson(cases[i].type, cases[i].json, cases[i].len, what);
	}

	/* Nesting: up to ROWS_JSON_MAX_DEPTH containers (jansson takes 2048). */
	for (int depth = ROWS_JSON_MAX_DEPTH - 1; depth <= ROWS_JSON_MAX_DEPTH + 1; depth++) {
		char deep[256] = "{\"answers\":";
		size_t n = strlen(deep);

		for (int d = 1; d < depth; d++)
			deep[n++] = '[';
		for (int d = 1; d < depth; d++)
			deep[n++] = ']';
		deep[n++] = '}';
		snprintf(what, sizeof(what), "depth %d", depth);
		CHECK((parse_json(REC_DNS, deep, n, &t) == 0) == (depth <= ROWS_JSON_MAX_DEPTH),
		      "%s: %s", what, err);
		if (depth <= ROWS_JSON_MAX_DEPTH)
			check_like_jansson(REC_DNS, deep, n, what);
	}
	rows_release(&parser);
}

/* A line longer than JSONL_LINE_MAX, as another producer may send: escaped
 * strings are decoded into a buffer of its size; a JSON column longer than
 * the scratch buffer is NULL (as with jansson). */
static void test_long_line(void)
{
	size_t cap = 3 * JSONL_LINE_MAX, n = 0;
	char *line = malloc(cap);
	const struct row_table *t = NULL;

	if (!line) {
		CHECK(0, "malloc");
		return;
	}
	n += (size_t)sprintf(line + n, "{\"qname\":\"");
	for (int i = 0; i < 8000; i++)
		n += (size_t)sprintf(line + n, "a\\n\\u00e9");
	n += (size_t)sprintf(line + n, "\",\"transport\":\"t\\u0063p\",\"answers\":[");
	for (int i = 0; i < 7000; i++)
		n += (size_t)sprintf(line + n, "%s\"0123456789\"", i ? "," : "");
	n += (size_t)sprintf(line + n, "]}");
	CHECK(n > JSONL_LINE_MAX && n < cap, "long line: %zu bytes", n);
	CHECK(parse_json(REC_DNS, line, n, &t) == 0, "long line: %s", err);
	if (t) {
		const struct row_val *q = &parser.vals[7];

		CHECK(!strcmp(t->cols[7].name, "qname") && q->type == VAL_TEXT &&
		      q->len == 8000 * 4 && !memcmp(q->s, "a\n\xc3\xa9", 4) &&
		      !memcmp(q->s + q->len - 4, "a\n\xc3\xa9", 4), "long qname decoded");
		CHECK_STR(val(t, "transport"), "tcp", "transport after the long string");
		CHECK_STR(val(t, "answers"), "NULL", "answers longer than the scratch buffer");
	}
	check_like_jansson(REC_DNS, line, n, "long line");
	rows_release(&parser);
	free(line);
}

/* Every string of a JSON line written with \u escapes only (surrogate
 * pairs past U+FFFF), upper and lower case hex in turn. */
static size_t all_escaped(char *out, const char *in, size_t len)
{
	size_t n = 0;
	int in_str = 0, upper = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		uint32_t cp;
		size_t k;

		if (!in_str || c == '"' || c == '\\') {
			if (c == '"')
				in_str = !in_str;
			out[n++] = (char)c;
			if (in_str && c == '\\') {
				size_t k = in[i + 1] == 'u' ? 5 : 1;

				memcpy(out + n, in + i + 1, k);
				n += k;
				i += k;
			}
			continue;
		}
		k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		cp = k == 1 ? c : c & (0x7f >> k);
		for (size_t j = 1; j < k; j++)
			cp = cp << 6 | ((unsigned char)in[i + j] & 0x3f);
		i += k - 1;
		upper = !upper;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			n += (size_t)sprintf(out + n, upper ? "\\u%04X\\u%04X" : "\\u%04x\\u%04x",
					     0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
		} else {
			n += (size_t)sprintf(out + n, upper ? "\\u%04X" : "\\u%04x", cp);
		}
	}
	return n;
}

/* The line with whitespace around every token. */
static size_t spaced(char *out, const char *in, size_t len)
{
	static const char ws[] = " \t\r\n";
	size_t n = 0;
	int in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (in_str) {
			out[n++] = c;
			if (c == '\\')
				out[n++] = in[++i];
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c && strchr("{}[],:", c))
			out[n++] = ws[i % 4];
		out[n++] = c;
		if (c && strchr("{}[],:", c))
			out[n++] = ws[(i + 1) % 4];
		in_str = c == '"';
	}
	return n;
}

static enum record_type type_of(const char *line)
{
	static const struct {
		const char *prefix;
		enum record_type type;
	} names[] = {
		{ "{\"type\":\"flow\"", REC_FLOW }, { "{\"type\":\"dns\"", REC_DNS },
		{ "{\"type\":\"tls\"", REC_TLS },   { "{\"type\":\"http\"", REC_HTTP },
		{ "{\"type\":\"quic\"", REC_QUIC }, { "{\"type\":\"ssh\"", REC_SSH },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncmp(line, names[i].prefix, strlen(names[i].prefix)))
			return names[i].type;
	return (enum record_type)0;
}

/* Every record of some shared captures (all record types, escapes from
 * odd names and URIs): the row from its JSON line is the one jansson gave,
 * and stays the same with every string \u-escaped or tokens spaced out. */
static void test_captures(void)
{
	static const char *const captures[] = {
		"../shared/pcap/ndpi-1kxun.pcap",
		"../shared/pcap/zeek-tls-tls1.2.pcap",
		"../shared/pcap/zeek-tcp-ssh-dups.pcap",
		"../shared/pcap/cesnet-quic_initial-sample.pcap",
		"../shared/pcap/cesnet-tls.pcap",
		"../shared/pcap/cesnet-dns.pcap",
		"../shared/pcap/ndpi-fuzz-2006-06-26-2594.pcap",
		"../shared/pcap/ndpi-dns-invalid-chars.pcap",
		"../shared/pcap/zeek-dce-rpc-mapi.pcap",
		"../shared/pcap/zeek-mixed-vlan-mpls.pcap",
		"../shared/pcap/bench/ppp-many-protocols.pcap",
	};
	size_t per_type[8] = { 0 }, lines = 0, same = 0, mutated_same = 0;
	static char buf[JSONL_LINE_MAX], mut[12 * JSONL_LINE_MAX];

	for (size_t c = 0; c < sizeof(captures) / sizeof(captures[0]); c++) {
		char path[] = "/tmp/xdpi-test-rows-cap.XXXXXX", uri[64];
		struct xdpi_config cfg;
		int fd = mkstemp(path);
		FILE *f;

		if (fd < 0) {
			CHECK(0, "mkstemp");
			return;
		}
		close(fd);
		config_defaults(&cfg);
		cfg.quiet = 1;
		cfg.read_path = captures[c];
		snprintf(uri, sizeof(uri), "jsonl:%s", path);
		cfg.outs[0] = uri;
		cfg.nouts = 1;
		CHECK(cmd_read(&cfg, NULL) == 0, "read %s", captures[c]);
		f = fopen(path, "r");
		while (f && fgets(buf, sizeof(buf), f)) {
			size_t len = strlen(buf);
			enum record_type type = type_of(buf);
			const struct row_table *t = NULL, *rt = NULL;
			char why[600];
			int ok;

			lines++;
			per_type[type]++;
			if (rows_ref_parse(&ref, type, buf, len, &rt)) {
				CHECK(0, "%s: jansson refuses %.80s", captures[c], buf);
				continue;
			}
			ok = parse_json(type, buf, len, &t) == 0 && t == rt &&
			     rows_ref_same(t, parser.vals, ref.vals, 0, 0, why, sizeof(why));
			same += ok;
			if (!ok)
				CHECK(0, "%s: %s: %.300s", captures[c], err[0] ? err : why, buf);
			for (int m = 0; m < 2; m++) {
				size_t n = m ? spaced(mut, buf, len) : all_escaped(mut, buf, len);

				ok = parse_json(type, mut, n, &t) == 0 && t == rt &&
				     rows_ref_same(t, parser.vals, ref.vals, 0, 0, why, sizeof(why));
				mutated_same += ok;
				if (!ok)
					CHECK(0, "%s: %s: %.300s", m ? "spaced" : "escaped", why, mut);
			}
			rows_ref_release(&ref);
		}
		if (f)
			fclose(f);
		unlink(path);
	}
	printf("captures: %zu records (flow %zu, dns %zu, tls %zu, http %zu, quic %zu, ssh %zu), "
	       "%zu rows as jansson gave them, %zu of %zu rewritten lines too\n", lines,
	       per_type[REC_FLOW], per_type[REC_DNS], per_type[REC_TLS], per_type[REC_HTTP],
	       per_type[REC_QUIC], per_type[REC_SSH], same, mutated_same, 2 * lines);
	CHECK(lines > 500 && same == lines && mutated_same == 2 * lines,
	      "every record's row as jansson gave it");
	for (int ty = REC_FLOW; ty <= REC_SSH; ty++)
		CHECK(per_type[ty] > 0, "records of type %d", ty);
	rows_release(&parser);
}

static void test_schema_text(void)
{
	char sql[16384];

	for (int d = ROWS_SQLITE; d <= ROWS_POSTGRES; d++) {
		size_t n = rows_schema_sql(sql, sizeof(sql), (enum rows_dialect)d);

		CHECK(n > 0 && n == strlen(sql), "schema text fits (dialect %d)", d);
		for (size_t i = 0; i < ROWS_NTABLES; i++) {
			char want[128];

			snprintf(want, sizeof(want), "CREATE UNIQUE INDEX IF NOT EXISTS %s_record ON "
				 "%s (host, run, seq)", rows_tables[i].name, rows_tables[i].name);
			CHECK(strstr(sql, want) != NULL, "%s", want);
		}
		CHECK(rows_schema_sql(sql, 100, (enum rows_dialect)d) == 0, "short buffer: 0");
	}
	CHECK(rows_table(REC_SSH) == &rows_tables[5], "rows_table");
	CHECK(rows_table((enum record_type)0) == NULL, "no table of type 0");
}

/* ---- a sink, SQLite or PostgreSQL ---- */

struct db {
	const char *name;
	const struct sink_ops *ops;
	const char *target;
	/* Runs a query of one integer (or text, into txt). */
	long long (*q)(struct db *db, const char *sql, char *txt, size_t len);
	int (*exec)(struct db *db, const char *sql);
	sqlite3 *lite;
	PGconn *pg;
};

static long long lite_q(struct db *db, const char *sql, char *txt, size_t len)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(db->lite, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "query %s: %s\n", sql, sqlite3_errmsg(db->lite));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		if (txt)
			snprintf(txt, len, "%s", sqlite3_column_type(st, 0) == SQLITE_NULL ? "NULL" :
				 (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return v;
}

static int lite_exec(struct db *db, const char *sql)
{
	return sqlite3_exec(db->lite, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static long long pg_q(struct db *db, const char *sql, char *txt, size_t len)
{
	PGresult *r = PQexec(db->pg, sql);
	long long v = -1;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "query %s: %s\n", sql, PQresultErrorMessage(r));
	else if (PQntuples(r) > 0) {
		v = atoll(PQgetvalue(r, 0, 0));
		if (txt)
			snprintf(txt, len, "%s", PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return v;
}

static int pg_exec(struct db *db, const char *sql)
{
	PGresult *r = PQexec(db->pg, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "exec %s: %s\n", sql, PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

static long long count(struct db *db, const char *table)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return db->q(db, sql, NULL, 0);
}

static void test_sink(struct db *db)
{
	const struct sink_env env = { .host = "probe-1", .run = 99 };
	const struct record *recs[] = { &flow_rec, &dns_rec, &http_rec, &tls_rec, &ssh_rec,
					&quic_rec, &flow_rec, &dns_rec };
	struct sink_item batch[8], bad[3];
	char txt[4096], line[JSONL_LINE_MAX];
	void *s;

	printf("sink %s\n", db->name);
	s = db->ops->open(db->target, &env, err, sizeof(err));
	CHECK(s != NULL, "%s open: %s", db->name, err);
	if (!s)
		return;
	CHECK(db->ops->connect(s, err, sizeof(err)) == 0, "%s connect: %s", db->name, err);
	for (size_t i = 0; i < 8; i++)
		batch[i] = item_of(recs[i], 100 + i);
	/* One record of the batch comes as JSON only, as from the collector. */
	batch[2].json_len = jsonl_format(line, sizeof(line), REC_HTTP, &http_rec.http);
	batch[2].json = line;
	batch[2].rec = NULL;

	CHECK(db->ops->write(s, batch, 8, err, sizeof(err)) == 0, "%s write: %s", db->name, err);
	CHECK_EQ(count(db, "flows"), 2, "flows rows");
	CHECK_EQ(count(db, "dns"), 2, "dns rows");
	CHECK_EQ(count(db, "http"), 1, "http rows");
	CHECK_EQ(count(db, "tls") + count(db, "ssh") + count(db, "quic"), 3, "tls+ssh+quic rows");

	/* The same batch again (a retry after an unanswered commit): nothing twice. */
	CHECK(db->ops->write(s, batch, 8, err, sizeof(err)) == 0, "%s write again: %s",
	      db->name, err);
	CHECK_EQ(count(db, "flows") + count(db, "dns") + count(db, "http") + count(db, "tls") +
		 count(db, "ssh") + count(db, "quic"), 8, "rows after the repeat");
	/* ... nor over a new connection. */
	db->ops->disconnect(s);
	CHECK(db->ops->connect(s, err, sizeof(err)) == 0, "%s reconnect: %s", db->name, err);
	CHECK(db->ops->write(s, batch, 8, err, sizeof(err)) == 0, "%s write after reconnect: %s",
	      db->name, err);
	CHECK_EQ(count(db, "flows") + count(db, "dns"), 4, "flows+dns rows after reconnect");
	/* Another run's records with the same seq are other records. */
	batch[0].run = 100;
	CHECK(db->ops->write(s, batch, 1, err, sizeof(err)) == 0, "%s other run: %s", db->name,
	      err);
	CHECK_EQ(count(db, "flows"), 3, "flows of two runs");
	batch[0].run = batch[1].run;

	/* Strings come back byte for byte (COPY escapes, binding). */
	db->q(db, "SELECT uri FROM http", txt, sizeof(txt));
	CHECK_STR(txt, "/a\nb\rc\\d\te\x01\xc3\xbf\xc3\xa9", "uri read back");
	db->q(db, "SELECT qname FROM dns WHERE seq = 101", txt, sizeof(txt));
	CHECK_STR(txt, "tab\there.example", "qname read back");
	db->q(db, "SELECT user_agent FROM http", txt, sizeof(txt));
	CHECK_STR(txt, "curl/8 \xe2\x82\xac", "user_agent read back");
	CHECK_EQ(db->q(db, "SELECT sum(bytes_fwd + bytes_rev) FROM flows WHERE run <> 100", NULL, 0),
		 2 * (277 + 4508), "bytes");
	CHECK_EQ(db->q(db, "SELECT count(*) FROM flows WHERE rtt_ack_us IS NULL AND vlan IS NULL "
			   "AND rtt_syn_us = 40231", NULL, 0), 3, "NULLs and numbers");
	CHECK_EQ(db->q(db, "SELECT end_us - start_us FROM flows LIMIT 1", NULL, 0), 120338,
		 "duration from the _us columns");
	CHECK_EQ(db->q(db, "SELECT count(*) FROM flows WHERE start_ts < end_ts", NULL, 0), 3,
		 "times compare");
	CHECK_EQ(db->q(db, "SELECT count(*) FROM flows WHERE NOT shed", NULL, 0), 3, "shed");
	db->q(db, "SELECT answers FROM dns LIMIT 1", txt, sizeof(txt));
	CHECK(strstr(txt, "back\\\\slash") != NULL, "answers JSON read back: %s", txt);

	/* Records that can never be rows are left out; the rest goes in. */
	bad[0] = item_of(&flow_rec, 200);
	bad[1] = (struct sink_item){ .type = REC_DNS, .seq = 201, .run = 99, .host = "probe-1",
				     .json = "{not json", .json_len = 9 };
	bad[2] = item_of(&dns_rec, 202);
	CHECK(db->ops->write(s, bad, 3, err, sizeof(err)) == 0, "%s write with a bad record: %s",
	      db->name, err);
	CHECK_EQ(db->q(db, "SELECT count(*) FROM dns WHERE seq > 200", NULL, 0), 1,
		 "good records of a batch with a bad one");

	/* All or nothing: a row the database refuses fails the whole batch. */
	if (db->lite)
		lite_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON dns WHEN NEW.seq = 301 "
			      "BEGIN SELECT RAISE(ABORT, 'refused by test'); END");
	else
		pg_exec(db, "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.seq = 301 "
			    "THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$ "
			    "LANGUAGE plpgsql; CREATE TRIGGER refuse BEFORE INSERT ON dns "
			    "FOR EACH ROW EXECUTE FUNCTION refuse()");
	bad[0] = item_of(&flow_rec, 300);
	bad[1] = item_of(&dns_rec, 301);
	err[0] = 0;
	CHECK(db->ops->write(s, bad, 2, err, sizeof(err)) == -1, "%s refused batch fails", db->name);
	CHECK(strstr(err, "refused by test") != NULL, "the database's message: %s", err);
	CHECK_EQ(db->q(db, "SELECT count(*) FROM flows WHERE seq = 300", NULL, 0), 0,
		 "nothing of a failed batch");
	/* As the runner does: disconnect, connect, the same batch. */
	db->ops->disconnect(s);
	db->exec(db, db->lite ? "DROP TRIGGER refuse" : "DROP TRIGGER refuse ON dns");
	CHECK(db->ops->connect(s, err, sizeof(err)) == 0, "%s reconnect: %s", db->name, err);
	CHECK(db->ops->write(s, bad, 2, err, sizeof(err)) == 0, "%s batch again: %s", db->name,
	      err);
	CHECK_EQ(db->q(db, "SELECT count(*) FROM flows WHERE seq = 300", NULL, 0) +
		 db->q(db, "SELECT count(*) FROM dns WHERE seq = 301", NULL, 0), 2,
		 "the batch given again");

	/* A database of another schema version is refused. */
	db->ops->disconnect(s);
	db->exec(db, "UPDATE meta SET value = '999' WHERE key = 'schema_version'");
	err[0] = 0;
	CHECK(db->ops->connect(s, err, sizeof(err)) == -1, "%s other schema version", db->name);
	CHECK(strstr(err, "schema version 999") != NULL, "message: %s", err);
	db->exec(db, "UPDATE meta SET value = '1' WHERE key = 'schema_version'");
	db->ops->close(s);
}

static void test_sqlite(void)
{
	char dir[] = "/tmp/xdpi-test-rows.XXXXXX", path[128], cmd[160];
	struct db db = { .name = "sqlite", .ops = &sink_sqlite_ops, .q = lite_q,
			 .exec = lite_exec };
	void *s;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/rows.db", dir);
	db.target = path;
	/* The sink creates the file: open our reader after its first connect. */
	s = sink_sqlite_ops.open(path, &(struct sink_env){ .host = "h" }, err, sizeof(err));
	CHECK(s && sink_sqlite_ops.connect(s, err, sizeof(err)) == 0, "first connect: %s", err);
	sink_sqlite_ops.close(s);
	CHECK(sqlite3_open(path, &db.lite) == SQLITE_OK, "open %s", path);
	test_sink(&db);
	{
		char mode[32];

		lite_q(&db, "PRAGMA journal_mode", mode, sizeof(mode));
		CHECK_STR(mode, "wal", "journal_mode");
	}
	sqlite3_close(db.lite);

	/* Bad targets. */
	err[0] = 0;
	CHECK(sink_sqlite_ops.open("", &(struct sink_env){ 0 }, err, sizeof(err)) == NULL &&
	      strstr(err, "sqlite:PATH"), "empty path: %s", err);
	s = sink_sqlite_ops.open("/nonexistent-dir/x.db", &(struct sink_env){ 0 }, err,
				 sizeof(err));
	err[0] = 0;
	CHECK(s && sink_sqlite_ops.connect(s, err, sizeof(err)) == -1 &&
	      strstr(err, "/nonexistent-dir/x.db"), "no such directory: %s", err);
	sink_sqlite_ops.close(s);
	snprintf(path, sizeof(path), "%s/junk", dir);
	{
		FILE *f = fopen(path, "w");

		if (f) {
			fputs("this is not a database, not at all, no; it is text of some length\n", f);
			fclose(f);
		}
	}
	s = sink_sqlite_ops.open(path, &(struct sink_env){ 0 }, err, sizeof(err));
	err[0] = 0;
	CHECK(s && sink_sqlite_ops.connect(s, err, sizeof(err)) == -1 &&
	      strstr(err, "not a database"), "not a database: %s", err);
	sink_sqlite_ops.close(s);
	/* "sqlite:///abs/path" is the file /abs/path. */
	snprintf(path, sizeof(path), "//%s/uri.db", dir);
	s = sink_sqlite_ops.open(path, &(struct sink_env){ 0 }, err, sizeof(err));
	CHECK(s && sink_sqlite_ops.connect(s, err, sizeof(err)) == 0, "sqlite:///path: %s", err);
	sink_sqlite_ops.close(s);
	snprintf(path, sizeof(path), "%s/uri.db", dir);
	CHECK(access(path, F_OK) == 0, "%s made", path);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

static void test_postgres(const char *conninfo)
{
	struct db db = { .name = "postgres", .ops = &sink_postgres_ops, .target = conninfo,
			 .q = pg_q, .exec = pg_exec };
	void *s;

	/* Bad targets are refused at open. */
	err[0] = 0;
	CHECK(sink_postgres_ops.open("host=127.0.0.1 bogus=1", &(struct sink_env){ 0 }, err,
				     sizeof(err)) == NULL && strstr(err, "bogus"),
	      "unknown keyword: %s", err);
	err[0] = 0;
	CHECK(sink_postgres_ops.open("", &(struct sink_env){ 0 }, err, sizeof(err)) == NULL &&
	      strstr(err, "postgresql://"), "empty: %s", err);
	s = sink_postgres_ops.open("postgresql://u@h:5/d", &(struct sink_env){ 0 }, err,
				   sizeof(err));
	CHECK(s != NULL, "URI accepted: %s", err);
	if (s)
		sink_postgres_ops.close(s);

	db.pg = PQconnectdb(conninfo);
	if (PQstatus(db.pg) != CONNECTION_OK) {
		CHECK(0, "connect to %s: %s", conninfo, PQerrorMessage(db.pg));
		PQfinish(db.pg);
		return;
	}
	pg_exec(&db, "SET client_min_messages = warning");
	pg_exec(&db, "DROP TABLE IF EXISTS flows, dns, tls, http, quic, ssh, meta");
	pg_exec(&db, "DROP FUNCTION IF EXISTS refuse()");
	test_sink(&db);
	{
		char type[64];

		pg_q(&db, "SELECT data_type FROM information_schema.columns WHERE table_name = "
			  "'flows' AND column_name = 'start_ts'", type, sizeof(type));
		CHECK_STR(type, "timestamp with time zone", "start_ts type");
		pg_q(&db, "SELECT data_type FROM information_schema.columns WHERE table_name = "
			  "'flows' AND column_name = 'src_ip'", type, sizeof(type));
		CHECK_STR(type, "inet", "src_ip type");
		pg_q(&db, "SELECT jsonb_array_length(alpn) FROM tls", type, sizeof(type));
		CHECK_STR(type, "2", "alpn as jsonb");
		pg_q(&db, "SELECT extract(epoch FROM start_ts) * 1000000 - start_us FROM flows "
			  "LIMIT 1", type, sizeof(type));
		CHECK(atof(type) == 0, "start_ts and start_us agree: %s", type);
	}
	/* A server that is not there: connect fails with libpq's reason. */
	s = sink_postgres_ops.open("host=127.0.0.1 port=1 connect_timeout=2",
				   &(struct sink_env){ 0 }, err, sizeof(err));
	err[0] = 0;
	CHECK(s && sink_postgres_ops.connect(s, err, sizeof(err)) == -1 &&
	      strstr(err, "postgres: connect:"), "refused: %s", err);
	sink_postgres_ops.close(s);
	PQfinish(db.pg);
}

int main(void)
{
	const char *pg = getenv("XDPI_TEST_PG");

	test_times();
	make_records();
	test_flow_row();
	test_other_rows();
	test_tricky_json();
	test_long_line();
	test_captures();
	test_schema_text();
	test_sqlite();
	if (pg && *pg)
		test_postgres(pg);
	return check_summary(pg && *pg ? "rows (sqlite, postgres)" : "rows (sqlite)");
}
