/* The conversion of a record's JSON line into its SQL row as rows.c did it
 * with jansson, before its own scanner: the reference that test_rows.c and
 * fuzz/fuzz_rows.c compare rows_parse() against, value by value. */
#ifndef XDPI_TESTS_ROWS_REF_H
#define XDPI_TESTS_ROWS_REF_H

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "sink/rows.h"

struct rows_ref {
	json_t *root;
	struct row_val vals[ROWS_MAX_COLS];
	size_t scratch_used;
	char scratch[JSONL_LINE_MAX];
};

static inline void rows_ref_release(struct rows_ref *p)
{
	if (p->root) {
		json_decref(p->root);
		p->root = NULL;
	}
}

static inline void ref_text(struct row_val *v, const char *s, size_t len)
{
	v->type = VAL_TEXT;
	v->s = s;
	v->len = len;
}

static inline void ref_dump(struct rows_ref *p, struct row_val *v, const json_t *j)
{
	size_t room = sizeof(p->scratch) - p->scratch_used;
	size_t n = json_dumpb(j, p->scratch + p->scratch_used, room, JSON_COMPACT | JSON_ENCODE_ANY);

	if (n == 0 || n > room) {
		v->type = VAL_NULL;
		return;
	}
	ref_text(v, p->scratch + p->scratch_used, n);
	p->scratch_used += n;
}

static inline int ref_is_address(const char *s, size_t len)
{
	char a[64];
	unsigned char bin[16];

	if (len == 0 || len >= sizeof(a))
		return 0;
	memcpy(a, s, len);
	a[len] = 0;
	return inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1;
}

static inline void ref_convert(struct rows_ref *p, struct row_val *v, const struct row_col *c,
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
			ref_text(v, json_string_value(j), json_string_length(j));
		else if (!json_is_array(j) && !json_is_object(j))
			ref_dump(p, v, j);
		break;
	case COL_TIME:
	case COL_TIME_US:
		if (!json_is_string(j) ||
		    rows_parse_time(json_string_value(j), json_string_length(j), &us))
			break;
		if (c->kind == COL_TIME) {
			ref_text(v, json_string_value(j), json_string_length(j));
		} else {
			v->type = VAL_INT;
			v->i = us;
		}
		break;
	case COL_ADDR:
		if (json_is_string(j) &&
		    ref_is_address(json_string_value(j), json_string_length(j)))
			ref_text(v, json_string_value(j), json_string_length(j));
		break;
	case COL_JSON:
		ref_dump(p, v, j);
		break;
	default:
		break;
	}
}

/* The row of a JSON line of type `type` (identity columns: host "h", run 1,
 * seq 2). 0, or -1 for a record that could never be a row. */
static inline int rows_ref_parse(struct rows_ref *p, enum record_type type, const char *json,
				 size_t len, const struct row_table **table)
{
	const struct row_table *t = rows_table(type);

	rows_ref_release(p);
	p->scratch_used = 0;
	if (!t)
		return -1;
	p->root = json_loadb(json, len, 0, NULL);
	if (!p->root || !json_is_object(p->root)) {
		rows_ref_release(p);
		return -1;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const struct row_col *c = &t->cols[i];
		struct row_val *v = &p->vals[i];
		const json_t *obj = p->root;

		switch (c->kind) {
		case COL_HOST:
			ref_text(v, "h", 1);
			continue;
		case COL_RUN:
		case COL_SEQ:
			v->type = VAL_INT;
			v->i = c->kind == COL_RUN ? 1 : 2;
			continue;
		default:
			break;
		}
		if (c->parent)
			obj = json_object_get(obj, c->parent);
		ref_convert(p, v, c, json_is_object(obj) ? json_object_get(obj, c->key) : NULL);
	}
	*table = t;
	return 0;
}

/* Nesting depth of a JSON value (a scalar: 0). */
static inline int rows_ref_depth(const json_t *j)
{
	int d = 0;

	if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j); i++) {
			int c = rows_ref_depth(json_array_get(j, i));

			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (json_is_object(j)) {
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)j, k, v) {
			int c = rows_ref_depth(v);

			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

/* Whether some object of the text has a key twice: jansson merges them in
 * the JSON columns' text, rows_parse keeps them as written. */
static inline int rows_ref_has_duplicates(const char *json, size_t len)
{
	json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);

	json_decref(j);
	return j == NULL;
}

/* Compares two rows of table t (the identity columns too unless skip_id,
 * the JSON columns unless skip_json); on a difference, says which in why. */
static inline int rows_ref_same(const struct row_table *t, const struct row_val *a,
				const struct row_val *b, int skip_id, int skip_json, char *why,
				size_t whylen)
{
	for (size_t i = 0; i < t->ncols; i++) {
		enum col_kind k = t->cols[i].kind;
		int same;

		if ((skip_id && (k == COL_HOST || k == COL_RUN || k == COL_SEQ)) ||
		    (skip_json && k == COL_JSON))
			continue;
		same = a[i].type == b[i].type;
		if (same && (a[i].type == VAL_INT || a[i].type == VAL_BOOL))
			same = a[i].i == b[i].i;
		if (same && a[i].type == VAL_TEXT)
			same = a[i].len == b[i].len && !memcmp(a[i].s, b[i].s, a[i].len);
		if (!same) {
			snprintf(why, whylen, "column %s: %d:%lld:\"%.*s\" vs %d:%lld:\"%.*s\"",
				 t->cols[i].name, a[i].type, (long long)a[i].i,
				 a[i].type == VAL_TEXT ? (int)(a[i].len > 200 ? 200 : a[i].len) : 0,
				 a[i].type == VAL_TEXT ? a[i].s : "", b[i].type, (long long)b[i].i,
				 b[i].type == VAL_TEXT ? (int)(b[i].len > 200 ? 200 : b[i].len) : 0,
				 b[i].type == VAL_TEXT ? b[i].s : "");
			return 0;
		}
	}
	return 1;
}

#endif
