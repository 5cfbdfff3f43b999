/* Records as SQL rows: the one description of the tables the SQL sinks
 * (SQLite, PostgreSQL) write, and the conversion of a record's JSON line
 * into the values of its row. Both sinks, and the collector that only has
 * JSON lines, go through it, so every store holds the same columns.
 *
 * The JSON is read in place by a strict RFC 8259 scanner (no allocation):
 * it refuses what jansson refuses (bad escapes, control characters and
 * \u0000 in strings, invalid UTF-8, integers beyond 64 bits, reals beyond
 * double, trailing bytes) and also containers nested deeper than
 * ROWS_JSON_MAX_DEPTH and a NUL byte after a number or a literal (which
 * jansson skips). A key given twice in an object counts with its last
 * value. Strings are decoded only for the columns that take them.
 *
 * One table per record type. Every row starts with the record's identity
 * (host, run, seq), unique in each table; then one column per scalar JSON
 * field (a nested object flattened, arrays kept as JSON text). */
#ifndef XDPI_SINK_ROWS_H
#define XDPI_SINK_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "sink/jsonl.h"
#include "sink/sink.h"

/* Bumped when a table or column changes; kept in the `meta` table. */
#define ROWS_SCHEMA_VERSION 1

enum rows_dialect { ROWS_SQLITE, ROWS_POSTGRES };

enum col_kind {
	COL_HOST,    /* sink_item.host ("" if NULL: the identity is never NULL) */
	COL_RUN,     /* sink_item.run */
	COL_SEQ,     /* sink_item.seq */
	COL_INT,     /* JSON integer (true/false as 1/0) */
	COL_TEXT,    /* JSON string (other scalars as their JSON text) */
	COL_TIME,    /* RFC 3339 string: TEXT in SQLite, timestamptz in PostgreSQL */
	COL_TIME_US, /* the same string as microseconds since the epoch */
	COL_ADDR,    /* IPv4/IPv6 address: TEXT in SQLite, inet in PostgreSQL */
	COL_BOOL,    /* JSON boolean, false when absent */
	COL_JSON,    /* any JSON value as compact JSON text, as jansson's JSON_COMPACT
		      * writes it (jsonb in PostgreSQL); the keys of an object inside
		      * are kept in their order, repeated ones included */
};

struct row_col {
	const char *name;   /* SQL column */
	const char *key;    /* JSON key (NULL for the identity columns) */
	const char *parent; /* key of the enclosing object, NULL: top level */
	enum col_kind kind;
};

struct row_table {
	const char *name;
	enum record_type type;
	const struct row_col *cols;
	size_t ncols;
	const char *const *indexes; /* columns with an index of their own, NULL-ended */
};

#define ROWS_NTABLES 6
#define ROWS_MAX_COLS 48

extern const struct row_table rows_tables[ROWS_NTABLES];

/* The table of record type t, NULL if none. */
const struct row_table *rows_table(enum record_type t);

/* The SQL type of a column kind in a dialect. */
const char *rows_sql_type(enum col_kind k, enum rows_dialect d);

/* Writes the statements that create the schema if missing (tables, indexes,
 * `meta`), ';'-separated, into buf. Returns their length, 0 if buf is too
 * small. Running them on an existing schema changes nothing. */
size_t rows_schema_sql(char *buf, size_t len, enum rows_dialect d);

/* Column list of table t, "a,b,c", into buf; 0 if too small. */
size_t rows_column_list(char *buf, size_t len, const struct row_table *t);

enum val_type { VAL_NULL, VAL_INT, VAL_TEXT, VAL_BOOL };

struct row_val {
	enum val_type type;
	int64_t i;          /* VAL_INT, VAL_BOOL (0/1) */
	const char *s;      /* VAL_TEXT: not NUL-terminated in general */
	size_t len;
};

/* Containers nested deeper than this are refused (records have 3 levels). */
#define ROWS_JSON_MAX_DEPTH 32

/* Per-sink state of the conversion: buffers reused for every record, so a
 * row costs no allocation (but for a JSON line longer than JSONL_LINE_MAX
 * with escaped strings, whose decoded text gets a buffer of its own). */
struct rows_parser {
	struct row_val vals[ROWS_MAX_COLS]; /* its row, in the table's order */
	size_t scratch_used;
	char scratch[JSONL_LINE_MAX];       /* JSON columns, scalars as text */
	char line[JSONL_LINE_MAX];          /* jsonl_format() of a record without json */
	size_t text_used;
	char *text_heap;                    /* decoded strings of a long line */
	char text[JSONL_LINE_MAX];          /* decoded strings that had escapes */
};

/* Converts item into p->vals (the columns of *table, in order). 0 on
 * success; -1 with the reason in err for a record that can never become a
 * row (unknown type, JSON that does not parse, not an object). The values
 * point into p and into item->json: valid while item->json is and until
 * the next rows_parse() or rows_release(). */
int rows_parse(struct rows_parser *p, const struct sink_item *item,
	       const struct row_table **table, char *err, size_t errlen);

/* Drops what the last record holds (values, a long line's buffer). */
void rows_release(struct rows_parser *p);

/* 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in microseconds. */
#define ROWS_TIME_MIN_US (-62135596800000000LL)
#define ROWS_TIME_END_US (253402300800000000LL)

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" as microseconds
 * since the epoch; -1 if s is not such a time (in UTC, years 1-9999). */
int rows_parse_time(const char *s, size_t len, int64_t *us);

#endif
