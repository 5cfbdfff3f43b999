/* libFuzzer target: a record's JSON line into the values of its SQL row
 * (src/sink/rows.c), the path `xdpi collect` takes for every message it
 * receives from NATS, bytes another host produced.
 *
 * The first byte picks the record type, the rest is the JSON. Besides the
 * sanitizers: a row has exactly its table's columns, text values stay in
 * bounds, and the identity columns hold what the item gave. Time strings
 * go through rows_parse_time too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sink/rows.h"

#define ENSURE(c)                                                              \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static struct rows_parser parser;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const struct row_table *t = NULL;
	struct sink_item it = { .seq = 7, .run = 42, .host = "fuzzhost" };
	char err[256];
	char *json;
	int64_t us;

	if (!len)
		return 0;
	it.type = (enum record_type)(data[0] % 8);
	json = malloc(len); /* exact size: reads past the end are caught */
	ENSURE(json);
	memcpy(json, data + 1, len - 1);
	it.json = json;
	it.json_len = len - 1;
	if (rows_parse(&parser, &it, &t, err, sizeof(err)) == 0) {
		ENSURE(t && t->type == it.type && t->ncols <= ROWS_MAX_COLS);
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
		rows_release(&parser);
	} else {
		ENSURE(memchr(err, 0, sizeof(err)));
	}
	if (rows_parse_time(json, len - 1, &us) == 0)
		ENSURE(us >= -62135596800000000LL && us <= 253402300800000000LL);
	free(json);
	return 0;
}
