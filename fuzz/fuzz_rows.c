/* libFuzzer target: a record's JSON line into the values of its SQL row
 * (src/sink/rows.c), the path `xdpi collect` takes for every message it
 * receives from NATS, bytes another host produced.
 *
 * The first byte picks the record type, the rest is the JSON. Besides the
 * sanitizers: a row has exactly its table's columns, text values stay in
 * bounds, and the identity columns hold what the item gave. Differential:
 * jansson (the conversion rows.c had before its own scanner, in
 * tests/unit/rows_ref.h) must agree: what it refuses is refused, what it
 * takes is taken (unless nested deeper than ROWS_JSON_MAX_DEPTH, or with a
 * NUL byte jansson lets through after a number or a literal) and gives
 * the same values, the JSON columns' text included when no object has a
 * key twice. Time strings go through rows_parse_time too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/rows_ref.h"
#include "sink/rows.h"

#define ENSURE(c)                                                              \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static struct rows_parser parser;
static struct rows_ref ref;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const struct row_table *t = NULL, *rt = NULL;
	struct sink_item it = { .seq = 7, .run = 42, .host = "fuzzhost" };
	char err[256], why[600];
	char *json;
	int64_t us;
	int got, want;

	if (!len)
		return 0;
	it.type = (enum record_type)(data[0] % 8);
	json = malloc(len); /* exact size: reads past the end are caught */
	ENSURE(json);
	memcpy(json, data + 1, len - 1);
	it.json = json;
	it.json_len = len - 1;
	got = rows_parse(&parser, &it, &t, err, sizeof(err));
	want = rows_ref_parse(&ref, it.type, json, len - 1, &rt);
	/* Deeper than our limit; or a NUL byte, which jansson skips after a
	 * number or a literal (it is no JSON whitespace). */
	if (want == 0 && (rows_ref_depth(ref.root) > ROWS_JSON_MAX_DEPTH || memchr(json, 0, len - 1)))
		want = -1;
	if (got != want) {
		fprintf(stderr, "rows_parse %d, jansson %d: %s\n", got, want, got ? err : "");
		__builtin_trap();
	}
	if (got == 0) {
		int dups = rows_ref_has_duplicates(json, len - 1);

		ENSURE(t && t == rt && t->type == it.type && t->ncols <= ROWS_MAX_COLS);
		for (size_t i = 0; i < t->ncols; i++) {
			const struct row_val *v = &parser.vals[i];

			if (v->type == VAL_TEXT && v->len) { /* both ends readable */
				volatile char first = v->s[0], last = v->s[v->len - 1];

				(void)first;
				(void)last;
			}
			if (t->cols[i].kind == COL_SEQ)
				ENSURE(v->type == VAL_INT && v->i == 7);
			if (t->cols[i].kind == COL_RUN)
				ENSURE(v->type == VAL_INT && v->i == 42);
		}
		if (!rows_ref_same(t, parser.vals, ref.vals, 1, dups, why, sizeof(why))) {
			fprintf(stderr, "rows_parse and jansson differ: %s\n", why);
			__builtin_trap();
		}
		rows_release(&parser);
	} else {
		ENSURE(memchr(err, 0, sizeof(err)));
	}
	rows_ref_release(&ref);
	if (rows_parse_time(json, len - 1, &us) == 0)
		ENSURE(us >= -62135596800000000LL && us <= 253402300800000000LL);
	free(json);
	return 0;
}
