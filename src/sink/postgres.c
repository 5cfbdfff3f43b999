/* PostgreSQL sink: records as rows of the tables in sink/rows.c. A batch is
 * one transaction: per table, COPY into a temporary staging table, then
 * INSERT .. SELECT .. ON CONFLICT DO NOTHING, so a batch given again after
 * a failure adds nothing twice. Target: a libpq conninfo
 * ("host=db port=5432 dbname=xdpi user=xdpi") or URI
 * ("postgresql://xdpi@db/xdpi"). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/rows.h"
#include "sink/sink.h"

/* COPY data goes out in pieces of about this size. */
#define COPY_CHUNK (256 * 1024)

/* Any constant: serializes schema creation between xdpi instances. */
#define SCHEMA_LOCK_ID 0x78647069

struct pg_sink {
	char *conninfo;
	PGconn *conn;
	char *copy_sql[ROWS_NTABLES];   /* COPY stage_T (cols) FROM STDIN */
	char *insert_sql[ROWS_NTABLES]; /* INSERT INTO T .. SELECT .. FROM stage_T */
	uint64_t bad_records;
	size_t copy_len;
	char copy[COPY_CHUNK + 4 * JSONL_LINE_MAX]; /* a chunk and room for a row */
	struct rows_parser rows;
};

static void pg_close(void *v);

/* libpq's message on one line: its lines joined, the trailing newline gone. */
static const char *pg_msg(const char *m)
{
	static __thread char buf[512];
	size_t n = 0;

	if (!m || !*m)
		m = "unknown error";
	for (; *m && n + 1 < sizeof(buf); m++) {
		if (*m == '\n' || *m == '\t') {
			if (n && buf[n - 1] != ' ')
				buf[n++] = ' ';
		} else {
			buf[n++] = *m;
		}
	}
	while (n && buf[n - 1] == ' ')
		n--;
	buf[n] = 0;
	return buf;
}

static void *pg_open(const char *target, const struct sink_env *env, char *err, size_t errlen)
{
	struct pg_sink *s;
	PQconninfoOption *opts;
	char *msg = NULL;
	char cols[2048];

	(void)env;
	if (!target || !*target) {
		snprintf(err, errlen, "postgres: no connection string: expected "
			 "postgres:\"host=H port=P dbname=D user=U\" or "
			 "postgres:postgresql://U@H:P/D");
		return NULL;
	}
	opts = PQconninfoParse(target, &msg);
	if (!opts) {
		snprintf(err, errlen, "postgres: bad connection string \"%s\": %s; expected "
			 "libpq key=value pairs (host=H port=P dbname=D user=U) or a "
			 "postgresql://U@H:P/D URI", target, msg ? pg_msg(msg) : "out of memory");
		PQfreemem(msg);
		return NULL;
	}
	PQconninfoFree(opts);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->conninfo = strdup(target)))
		goto oom;
	for (size_t i = 0; i < ROWS_NTABLES; i++) {
		const char *t = rows_tables[i].name;

		rows_column_list(cols, sizeof(cols), &rows_tables[i]);
		if (asprintf(&s->copy_sql[i], "COPY stage_%s (%s) FROM STDIN", t, cols) < 0) {
			s->copy_sql[i] = NULL;
			goto oom;
		}
		if (asprintf(&s->insert_sql[i], "INSERT INTO %s (%s) SELECT %s FROM stage_%s "
			     "ON CONFLICT (host, run, seq) DO NOTHING", t, cols, cols, t) < 0) {
			s->insert_sql[i] = NULL;
			goto oom;
		}
	}
	return s;
oom:
	pg_close(s);
	snprintf(err, errlen, "postgres: out of memory");
	return NULL;
}

static void pg_disconnect(void *v)
{
	struct pg_sink *s = v;

	if (s->conn) {
		PQfinish(s->conn);
		s->conn = NULL;
	}
}

/* Runs sql; 0 if its (last) result has status want. */
static int run(struct pg_sink *s, const char *sql, ExecStatusType want, const char *what,
	       char *err, size_t errlen)
{
	PGresult *r = PQexec(s->conn, sql);
	int ok = r && PQresultStatus(r) == want;

	if (!ok)
		snprintf(err, errlen, "postgres: %s: %s", what,
			 pg_msg(r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn)));
	PQclear(r);
	return ok ? 0 : -1;
}

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* "relation already exists, skipping" and the like */
}

static int check_version(struct pg_sink *s, char *err, size_t errlen)
{
	PGresult *r = PQexec(s->conn, "SELECT value FROM meta WHERE key = 'schema_version'");
	int v = 0;

	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "postgres: read schema version: %s",
			 pg_msg(r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn)));
		PQclear(r);
		return -1;
	}
	if (PQntuples(r) == 1)
		v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (v != ROWS_SCHEMA_VERSION) {
		snprintf(err, errlen, "postgres: the database holds schema version %d, this xdpi "
			 "writes version %d: use another database", v, ROWS_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

static int pg_connect(void *v, char *err, size_t errlen)
{
	/* Defaults first: the target's own settings come later and win. A
	 * silent peer fails a connect or a write in tens of seconds, not in
	 * the kernel's minutes. The encoding comes last: rows are UTF-8. */
	static const char *const keys[] = {
		"connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count",
		"tcp_user_timeout", "application_name", "dbname", "client_encoding", NULL,
	};
	const char *vals[] = { "10", "30", "10", "3", "30000", "xdpi", NULL, "UTF8", NULL };
	struct pg_sink *s = v;
	char schema[16384], sql[20000];
	int n;

	pg_disconnect(s);
	vals[6] = s->conninfo;
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
		snprintf(err, errlen, "postgres: connect: %s",
			 s->conn ? pg_msg(PQerrorMessage(s->conn)) : "out of memory");
		goto fail;
	}
	PQsetNoticeProcessor(s->conn, quiet_notices, NULL);
	if (!rows_schema_sql(schema, sizeof(schema), ROWS_POSTGRES)) {
		snprintf(err, errlen, "postgres: schema text too long");
		goto fail;
	}
	snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%d); %s COMMIT",
		 SCHEMA_LOCK_ID, schema);
	if (run(s, sql, PGRES_COMMAND_OK, "create schema", err, errlen) ||
	    check_version(s, err, errlen))
		goto fail;
	/* Session-local staging tables, emptied by every commit. */
	n = 0;
	for (size_t i = 0; i < ROWS_NTABLES; i++)
		n += snprintf(sql + n, sizeof(sql) - (size_t)n,
			      "CREATE TEMP TABLE stage_%s (LIKE %s) ON COMMIT DELETE ROWS;",
			      rows_tables[i].name, rows_tables[i].name);
	if (run(s, sql, PGRES_COMMAND_OK, "create staging tables", err, errlen))
		goto fail;
	return 0;
fail:
	pg_disconnect(s);
	return -1;
}

/* ---- COPY text format ---- */

static void put(struct pg_sink *s, const char *p, size_t n)
{
	memcpy(s->copy + s->copy_len, p, n);
	s->copy_len += n;
}

static void put_escaped(struct pg_sink *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i], e = 0;

		switch (c) {
		case '\\': e = '\\'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		case '\t': e = 't'; break;
		}
		if (e) {
			s->copy[s->copy_len++] = '\\';
			s->copy[s->copy_len++] = e;
		} else {
			s->copy[s->copy_len++] = c;
		}
	}
}

/* Bytes the row may take at most as a COPY line (every byte escaped). */
static size_t row_bound(const struct row_table *t, const struct row_val *vals)
{
	size_t n = 0;

	for (size_t c = 0; c < t->ncols; c++)
		n += 24 + (vals[c].type == VAL_TEXT ? 2 * vals[c].len : 0);
	return n;
}

/* The row as one COPY line; the caller made room (row_bound). */
static void put_row(struct pg_sink *s, const struct row_table *t, const struct row_val *vals)
{
	char num[24];

	for (size_t c = 0; c < t->ncols; c++) {
		const struct row_val *v = &vals[c];

		if (c)
			put(s, "\t", 1);
		switch (v->type) {
		case VAL_INT:
			put(s, num, (size_t)snprintf(num, sizeof(num), "%lld", (long long)v->i));
			break;
		case VAL_BOOL:
			put(s, v->i ? "t" : "f", 1);
			break;
		case VAL_TEXT:
			put_escaped(s, v->s, v->len);
			break;
		default:
			put(s, "\\N", 2);
			break;
		}
	}
	put(s, "\n", 1);
}

static int flush_copy(struct pg_sink *s, char *err, size_t errlen)
{
	if (s->copy_len && PQputCopyData(s->conn, s->copy, (int)s->copy_len) != 1) {
		snprintf(err, errlen, "postgres: COPY data: %s", pg_msg(PQerrorMessage(s->conn)));
		return -1;
	}
	s->copy_len = 0;
	return 0;
}

/* Ends a COPY; 0 if the server took it. */
static int end_copy(struct pg_sink *s, const char *fail_msg, const char *table, char *err,
		    size_t errlen)
{
	PGresult *r;
	int ok = 1;

	if (PQputCopyEnd(s->conn, fail_msg) != 1) {
		snprintf(err, errlen, "postgres: COPY %s: %s", table,
			 pg_msg(PQerrorMessage(s->conn)));
		return -1;
	}
	while ((r = PQgetResult(s->conn))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && ok) {
			ok = 0;
			snprintf(err, errlen, "postgres: COPY %s: %s", table,
				 pg_msg(PQresultErrorMessage(r)));
		}
		PQclear(r);
		/* A connection gone mid-COPY keeps answering errors. */
		if (PQstatus(s->conn) == CONNECTION_BAD)
			break;
	}
	return ok ? 0 : -1;
}

static void report_bad(struct pg_sink *s, const char *why)
{
	/* A record that cannot become a row never will: left out, not retried. */
	if (s->bad_records++ == 0)
		fprintf(stderr, "xdpi: postgres: record left out: %s\n", why);
}

/* COPYs the batch's records of table ti into its staging table. */
static int copy_table(struct pg_sink *s, size_t ti, const struct sink_item *it, size_t n,
		      char *err, size_t errlen)
{
	const struct row_table *want = &rows_tables[ti];
	char why[256];
	size_t bound;

	if (run(s, s->copy_sql[ti], PGRES_COPY_IN, "COPY", err, errlen))
		return -1;
	s->copy_len = 0;
	for (size_t i = 0; i < n; i++) {
		const struct row_table *t;

		if (it[i].type != want->type)
			continue;
		if (rows_parse(&s->rows, &it[i], &t, why, sizeof(why))) {
			report_bad(s, why);
			continue;
		}
		bound = row_bound(t, s->rows.vals);
		if (bound > sizeof(s->copy)) {
			report_bad(s, "row longer than the COPY buffer");
			continue;
		}
		if ((s->copy_len + bound > sizeof(s->copy) || s->copy_len >= COPY_CHUNK) &&
		    flush_copy(s, err, errlen)) {
			rows_release(&s->rows);
			end_copy(s, "client error", want->name, why, sizeof(why));
			return -1;
		}
		put_row(s, t, s->rows.vals);
	}
	rows_release(&s->rows);
	if (flush_copy(s, err, errlen)) {
		end_copy(s, "client error", want->name, why, sizeof(why));
		return -1;
	}
	return end_copy(s, NULL, want->name, err, errlen);
}

static int pg_write(void *v, const struct sink_item *it, size_t n, char *err, size_t errlen)
{
	struct pg_sink *s = v;
	unsigned present = 0;

	if (!s->conn) {
		snprintf(err, errlen, "postgres: not connected");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct row_table *t = rows_table(it[i].type);

		if (t)
			present |= 1u << (t - rows_tables);
		else
			report_bad(s, "unknown record type");
	}
	if (run(s, "BEGIN", PGRES_COMMAND_OK, "BEGIN", err, errlen))
		return -1;
	for (size_t ti = 0; ti < ROWS_NTABLES; ti++) {
		if (!(present & (1u << ti)))
			continue;
		if (copy_table(s, ti, it, n, err, errlen) ||
		    run(s, s->insert_sql[ti], PGRES_COMMAND_OK, rows_tables[ti].name, err, errlen))
			goto fail;
	}
	if (run(s, "COMMIT", PGRES_COMMAND_OK, "COMMIT", err, errlen))
		goto fail;
	return 0;
fail:
	if (PQstatus(s->conn) == CONNECTION_OK) {
		PGresult *r = PQexec(s->conn, "ROLLBACK");

		PQclear(r);
	}
	return -1;
}

static void pg_close(void *v)
{
	struct pg_sink *s = v;

	if (!s)
		return;
	pg_disconnect(s);
	if (s->bad_records > 1)
		fprintf(stderr, "xdpi: postgres: %llu records left out in all\n",
			(unsigned long long)s->bad_records);
	for (size_t i = 0; i < ROWS_NTABLES; i++) {
		free(s->copy_sql[i]);
		free(s->insert_sql[i]);
	}
	free(s->conninfo);
	free(s);
}

const struct sink_ops sink_postgres_ops = {
	.scheme = "postgres",
	.max_batch = 4096,
	.linger_ms = 200,
	.open = pg_open,
	.connect = pg_connect,
	.write = pg_write,
	.disconnect = pg_disconnect,
	.close = pg_close,
};
