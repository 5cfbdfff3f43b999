/* SQLite sink: records as rows of the tables in sink/rows.c, one
 * transaction per batch, in a WAL-mode database file that readers may query
 * while xdpi writes. Target: the file's path ("sqlite:/var/lib/xdpi.db";
 * "sqlite:///var/lib/xdpi.db" is the same file). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/rows.h"
#include "sink/sink.h"

/* Readers holding the write lock (a long query, a checkpoint) make a
 * batch wait this long before it fails and is given again. */
#define SQLITE_BUSY_MS 5000

struct sqlite_sink {
	char *path;
	sqlite3 *db;
	sqlite3_stmt *insert[ROWS_NTABLES];
	uint64_t bad_records;
	struct rows_parser rows;
};

static void *sqlite_open(const char *target, const struct sink_env *env, char *err,
			 size_t errlen)
{
	struct sqlite_sink *s;

	(void)env;
	if (target && strncmp(target, "//", 2) == 0)
		target += 2;
	if (!target || !*target) {
		snprintf(err, errlen, "sqlite: no database file: expected sqlite:PATH, "
			 "e.g. sqlite:/var/lib/xdpi/flows.db");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(target))) {
		free(s);
		snprintf(err, errlen, "sqlite: out of memory");
		return NULL;
	}
	return s;
}

static void sqlite_disconnect(void *v)
{
	struct sqlite_sink *s = v;

	for (size_t i = 0; i < ROWS_NTABLES; i++) {
		sqlite3_finalize(s->insert[i]);
		s->insert[i] = NULL;
	}
	if (s->db) {
		sqlite3_close(s->db);
		s->db = NULL;
	}
}

static int db_error(struct sqlite_sink *s, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "sqlite %s: %s: %s", s->path, what,
		 s->db ? sqlite3_errmsg(s->db) : "out of memory");
	return -1;
}

static int exec(struct sqlite_sink *s, const char *sql, const char *what, char *err,
		size_t errlen)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(s, what, err, errlen);
	return 0;
}

/* The schema version the file says it holds; 0 when it says none. */
static int schema_version(struct sqlite_sink *s)
{
	sqlite3_stmt *st;
	int v = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
			       &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = atoi((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

static int prepare_inserts(struct sqlite_sink *s, char *err, size_t errlen)
{
	char sql[4096], cols[2048];

	for (size_t i = 0; i < ROWS_NTABLES; i++) {
		const struct row_table *t = &rows_tables[i];
		int n;

		rows_column_list(cols, sizeof(cols), t);
		n = snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO %s (%s) VALUES (", t->name,
			     cols);
		for (size_t c = 0; c < t->ncols; c++)
			n += snprintf(sql + n, sizeof(sql) - (size_t)n, "%s?", c ? "," : "");
		snprintf(sql + n, sizeof(sql) - (size_t)n, ")");
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->insert[i],
				       NULL) != SQLITE_OK)
			return db_error(s, "prepare insert", err, errlen);
	}
	return 0;
}

static int sqlite_connect(void *v, char *err, size_t errlen)
{
	struct sqlite_sink *s = v;
	char schema[16384];
	int version;

	sqlite_disconnect(s);
	if (sqlite3_open_v2(s->path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		db_error(s, "open", err, errlen);
		sqlite_disconnect(s);
		return -1;
	}
	sqlite3_busy_timeout(s->db, SQLITE_BUSY_MS);
	/* WAL: readers never block the writer; NORMAL: a crash may lose the
	 * last batches but never corrupts the file. */
	if (exec(s, "PRAGMA journal_mode=WAL", "journal_mode=WAL", err, errlen) ||
	    exec(s, "PRAGMA synchronous=NORMAL", "synchronous=NORMAL", err, errlen))
		goto fail;
	if (!rows_schema_sql(schema, sizeof(schema), ROWS_SQLITE)) {
		snprintf(err, errlen, "sqlite: schema text too long");
		goto fail;
	}
	if (exec(s, "BEGIN IMMEDIATE", "begin", err, errlen))
		goto fail;
	if (exec(s, schema, "create schema", err, errlen)) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		goto fail;
	}
	if (exec(s, "COMMIT", "commit schema", err, errlen))
		goto fail;
	version = schema_version(s);
	if (version != ROWS_SCHEMA_VERSION) {
		snprintf(err, errlen, "sqlite %s: the file holds schema version %d, this xdpi "
			 "writes version %d: use another file", s->path, version,
			 ROWS_SCHEMA_VERSION);
		goto fail;
	}
	if (prepare_inserts(s, err, errlen))
		goto fail;
	return 0;
fail:
	sqlite_disconnect(s);
	return -1;
}

static int bind_row(sqlite3_stmt *st, const struct row_table *t, const struct row_val *vals)
{
	for (size_t c = 0; c < t->ncols; c++) {
		const struct row_val *v = &vals[c];
		int rc, i = (int)c + 1;

		switch (v->type) {
		case VAL_INT:
		case VAL_BOOL: rc = sqlite3_bind_int64(st, i, v->i); break;
		case VAL_TEXT: rc = sqlite3_bind_text(st, i, v->s, (int)v->len, SQLITE_STATIC); break;
		default: rc = sqlite3_bind_null(st, i); break;
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static void report_bad(struct sqlite_sink *s, const char *why)
{
	/* A record that cannot become a row never will: left out, not retried. */
	if (s->bad_records++ == 0)
		fprintf(stderr, "xdpi: sqlite %s: record left out: %s\n", s->path, why);
}

static int sqlite_write(void *v, const struct sink_item *it, size_t n, char *err, size_t errlen)
{
	struct sqlite_sink *s = v;
	char why[256];

	if (!s->db) {
		snprintf(err, errlen, "sqlite %s: not open", s->path);
		return -1;
	}
	if (exec(s, "BEGIN IMMEDIATE", "begin", err, errlen))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct row_table *t;
		sqlite3_stmt *st;
		int rc;

		if (rows_parse(&s->rows, &it[i], &t, why, sizeof(why))) {
			report_bad(s, why);
			continue;
		}
		st = s->insert[t - rows_tables];
		rc = bind_row(st, t, s->rows.vals);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			snprintf(err, errlen, "sqlite %s: insert into %s: %s", s->path, t->name,
				 sqlite3_errmsg(s->db));
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			rows_release(&s->rows);
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	rows_release(&s->rows);
	if (exec(s, "COMMIT", "commit", err, errlen)) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static void sqlite_close(void *v)
{
	struct sqlite_sink *s = v;

	if (!s)
		return;
	sqlite_disconnect(s);
	if (s->bad_records > 1)
		fprintf(stderr, "xdpi: sqlite %s: %llu records left out in all\n", s->path,
			(unsigned long long)s->bad_records);
	free(s->path);
	free(s);
}

const struct sink_ops sink_sqlite_ops = {
	.scheme = "sqlite",
	.max_batch = 4096,
	.linger_ms = 200,
	.local = 1,
	.open = sqlite_open,
	.connect = sqlite_connect,
	.write = sqlite_write,
	.disconnect = sqlite_disconnect,
	.close = sqlite_close,
};
