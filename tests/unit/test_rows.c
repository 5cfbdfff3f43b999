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
	test_schema_text();
	test_sqlite();
	if (pg && *pg)
		test_postgres(pg);
	return check_summary(pg && *pg ? "rows (sqlite, postgres)" : "rows (sqlite)");
}
