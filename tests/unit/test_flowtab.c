/* The user-space flow table (src/flowtab.c) against a plain reference
 * array: random keys with a fixed seed, so every run is the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "flowtab.h"
#include "util.h"

#define EQ(a, b) CHECK_EQ(a, b, #a)

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s;
}

/* splitmix64 */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Random key with idx in its first four bytes: distinct idx, distinct key. */
static void make_key(struct xdpi_flow_key *k, uint32_t idx)
{
	uint64_t w[5];

	for (int i = 0; i < 5; i++)
		w[i] = rnd();
	memcpy(k, w, sizeof(*k));
	memcpy(k->lo_addr, &idx, sizeof(idx));
	k->family = (w[4] & 1) ? 4 : 6;
}

static uint32_t key_idx(const struct xdpi_flow_key *k)
{
	uint32_t idx;

	memcpy(&idx, k->lo_addr, sizeof(idx));
	return idx;
}

static uint64_t tag_of(uint32_t idx)
{
	return (uint64_t)idx * 2654435761u + 1;
}

static int is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* The table and its reference: keys[i] is in the table iff in[i]. */
struct ref {
	struct flowtab *t;
	struct xdpi_flow_key *keys;
	uint8_t *in;
	uint32_t nkeys;
	uint32_t count;
	uint32_t cap;
	uint32_t errors; /* mismatches, reported once at the end of a test */
};

static void ref_init(struct ref *r, uint32_t cap, uint32_t nkeys)
{
	memset(r, 0, sizeof(*r));
	r->t = flowtab_new(cap, sizeof(struct xdpi_flow_val));
	r->keys = calloc(nkeys, sizeof(*r->keys));
	r->in = calloc(nkeys, 1);
	r->nkeys = nkeys;
	r->cap = cap;
	if (!r->t || !r->keys || !r->in)
		abort();
	for (uint32_t i = 0; i < nkeys; i++)
		make_key(&r->keys[i], i);
}

static void ref_free(struct ref *r)
{
	flowtab_free(r->t);
	free(r->keys);
	free(r->in);
}

static void ref_upsert(struct ref *r, uint32_t i)
{
	struct xdpi_flow_val *v;
	int created = -1;

	v = flowtab_upsert(r->t, &r->keys[i], &created);
	if (r->in[i]) {
		if (!v || created != 0 || v->first_ns != tag_of(i))
			r->errors++;
		return;
	}
	if (r->count == r->cap) {
		if (v || created != 0)
			r->errors++;
		return;
	}
	if (!v || created != 1 || !is_zero(v, sizeof(*v))) {
		r->errors++;
		return;
	}
	v->first_ns = tag_of(i);
	v->last_ns = ~tag_of(i);
	r->in[i] = 1;
	r->count++;
}

static void ref_remove(struct ref *r, uint32_t i)
{
	struct xdpi_flow_val out;
	int rc;

	memset(&out, 0, sizeof(out));
	rc = flowtab_remove(r->t, &r->keys[i], &out);
	if (r->in[i]) {
		if (rc != 0 || out.first_ns != tag_of(i) || out.last_ns != ~tag_of(i))
			r->errors++;
		r->in[i] = 0;
		r->count--;
	} else if (rc != -1) {
		r->errors++;
	}
}

static void ref_lookup(struct ref *r, uint32_t i)
{
	struct xdpi_flow_val *v = flowtab_lookup(r->t, &r->keys[i]);

	if (r->in[i] ? !v || v->first_ns != tag_of(i) || v->last_ns != ~tag_of(i) : !!v)
		r->errors++;
}

/* Every key agrees with the reference; the walk sees each entry once. */
static void ref_verify(struct ref *r, const char *what)
{
	uint8_t *seen = calloc(r->nkeys, 1);
	uint32_t errors = r->errors;

	if (!seen)
		abort();
	for (uint32_t i = 0; i < r->nkeys; i++)
		ref_lookup(r, i);
	CHECK(flowtab_count(r->t) == r->count, "%s: count %u, want %u", what,
	      flowtab_count(r->t), r->count);
	for (uint32_t pos = 0; pos < flowtab_count(r->t); pos++) {
		const struct xdpi_flow_key *k;
		struct xdpi_flow_val *v;
		uint32_t idx;

		flowtab_at(r->t, pos, &k, (void **)&v);
		idx = key_idx(k);
		if (idx >= r->nkeys || !r->in[idx] || seen[idx] ||
		    memcmp(k, &r->keys[idx], sizeof(*k)) || v->first_ns != tag_of(idx))
			r->errors++;
		else
			seen[idx] = 1;
	}
	CHECK(r->errors == errors, "%s: %u mismatches", what, r->errors - errors);
	r->errors = 0;
	free(seen);
}

/* Walks downwards removing the entries pick() selects; returns how many
 * entries the walk visited. */
static uint32_t ref_remove_walking(struct ref *r, int (*pick)(uint32_t idx))
{
	uint32_t visited = 0;

	for (uint32_t pos = flowtab_count(r->t); pos-- > 0;) {
		const struct xdpi_flow_key *k;
		struct xdpi_flow_key key;
		void *v;

		flowtab_at(r->t, pos, &k, &v);
		visited++;
		key = *k;
		if (pick(key_idx(&key)))
			ref_remove(r, key_idx(&key));
	}
	return visited;
}

static int pick_odd(uint32_t idx)
{
	return tag_of(idx) & 2;
}

static int pick_all(uint32_t idx)
{
	(void)idx;
	return 1;
}

static void test_many_keys(void)
{
	const uint32_t cap = 50000, pool = 60000;
	struct ref r;
	uint32_t before, visited;

	rng_seed(1);
	ref_init(&r, cap, pool);
	EQ(flowtab_capacity(r.t), cap);
	EQ(flowtab_count(r.t), 0);

	for (uint32_t i = 0; i < cap; i++)
		ref_upsert(&r, i);
	ref_verify(&r, "filled");
	EQ(flowtab_count(r.t), cap);

	/* Full: new keys get NULL, present ones still their value. */
	for (uint32_t i = cap; i < cap + 100; i++) {
		int created = -1;

		CHECK(!flowtab_upsert(r.t, &r.keys[i], &created), "insert into a full table");
		EQ(created, 0);
	}
	for (uint32_t i = 0; i < 100; i++) {
		int created = -1;
		void *v = flowtab_upsert(r.t, &r.keys[i], &created);

		CHECK(v && v == flowtab_lookup(r.t, &r.keys[i]), "upsert of a present key");
		EQ(created, 0);
	}
	ref_verify(&r, "full");

	/* Random half out, then random operations over a larger key pool. */
	for (uint32_t i = 0; i < cap; i++)
		if (rnd() & 1)
			ref_remove(&r, i);
	ref_verify(&r, "half removed");
	for (uint32_t n = 0; n < 300000; n++) {
		uint32_t i = rnd() % pool;

		switch (rnd() % 3) {
		case 0: ref_upsert(&r, i); break;
		case 1: ref_remove(&r, i); break;
		default: ref_lookup(&r, i); break;
		}
	}
	ref_verify(&r, "random operations");

	/* Grow back to full, so that the walk below covers a full table. */
	for (uint32_t i = 0; i < pool && r.count < cap; i++)
		ref_upsert(&r, i);
	EQ(r.count, cap);
	ref_verify(&r, "refilled");

	before = flowtab_count(r.t);
	visited = ref_remove_walking(&r, pick_odd);
	EQ(visited, before);
	CHECK(r.count < before && r.count > 0, "walk removed %u of %u",
	      before - r.count, before);
	ref_verify(&r, "removed while walking");

	ref_remove_walking(&r, pick_all);
	EQ(flowtab_count(r.t), 0);
	ref_verify(&r, "emptied");

	/* Usable again after being emptied. */
	for (uint32_t i = 0; i < 1000; i++)
		ref_upsert(&r, pool - 1 - i);
	ref_verify(&r, "reused");
	ref_free(&r);
}

/* Keys crowded onto a few neighbouring home slots, including the last slot
 * of the index, so probe runs wrap around and deletions shift entries back.
 * The home slot is computed as flowtab.c does it; if that changes, this is
 * still a valid test, only a less pointed one. */
static void test_clusters(void)
{
	const uint32_t cap = 8, mask = 15; /* flowtab sizes the index 2x, >= 16 */
	const uint32_t homes[] = { 14, 15, 0 };
	const uint32_t per_home[] = { 5, 7, 7 };
	struct ref r;
	uint32_t n = 0, total = 0;

	for (int h = 0; h < 3; h++)
		total += per_home[h];
	rng_seed(2);
	ref_init(&r, cap, total);
	for (int h = 0; h < 3; h++) {
		for (uint32_t got = 0; got < per_home[h];) {
			struct xdpi_flow_key k;

			make_key(&k, n);
			if ((flow_key_hash(&k, 0) & mask) != homes[h])
				continue;
			r.keys[n++] = k;
			got++;
		}
	}
	EQ(n, total);

	for (uint32_t op = 0; op < 200000; op++) {
		uint32_t i = rnd() % total;

		if (rnd() % 2)
			ref_upsert(&r, i);
		else
			ref_remove(&r, i);
		if (op % 16 == 0) {
			for (uint32_t j = 0; j < total; j++)
				ref_lookup(&r, j);
		}
	}
	ref_verify(&r, "clusters");

	/* Removal while walking, from a full table of clustered keys. */
	for (uint32_t i = 0; i < total && r.count < cap; i++)
		ref_upsert(&r, i);
	EQ(flowtab_count(r.t), cap);
	EQ(ref_remove_walking(&r, pick_odd), cap);
	ref_verify(&r, "clusters walked");
	ref_free(&r);
}

static void test_capacity_edges(void)
{
	struct xdpi_flow_key a, b;
	struct flowtab *t;
	int created;
	void *v;

	CHECK(!flowtab_new(0, 8), "zero entries");
	CHECK(!flowtab_new(UINT32_MAX, 8), "index larger than 2^31 slots");
	CHECK(!flowtab_new((1u << 30) + 1, 8), "index of 2^32 slots");
	flowtab_free(NULL);

	rng_seed(3);
	make_key(&a, 1);
	make_key(&b, 2);

	/* One entry, values of size 0. */
	t = flowtab_new(1, 0);
	CHECK(t, "table of one");
	if (!t)
		return;
	EQ(flowtab_capacity(t), 1);
	CHECK(!flowtab_lookup(t, &a), "lookup in an empty table");
	EQ(flowtab_remove(t, &a, NULL), -1);
	v = flowtab_upsert(t, &a, &created);
	CHECK(v, "first insert");
	EQ(created, 1);
	CHECK(!flowtab_upsert(t, &b, &created), "second insert into a table of one");
	EQ(created, 0);
	CHECK(flowtab_upsert(t, &a, &created) == v, "present key");
	EQ(created, 0);
	EQ(flowtab_count(t), 1);
	EQ(flowtab_remove(t, &a, NULL), 0);
	EQ(flowtab_remove(t, &a, NULL), -1);
	EQ(flowtab_count(t), 0);
	CHECK(flowtab_upsert(t, &b, &created), "insert after remove");
	EQ(created, 1);
	CHECK(!flowtab_lookup(t, &a), "removed key found");
	CHECK(flowtab_lookup(t, &b), "inserted key missing");
	flowtab_free(t);

	/* Capacities at and just past a power of two of the index. */
	static const uint32_t caps[] = { 2, 7, 8, 9, 16, 17, 1000 };
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct ref r;

		rng_seed(100 + c);
		ref_init(&r, caps[c], caps[c] + 5);
		for (uint32_t i = 0; i < caps[c] + 5; i++)
			ref_upsert(&r, i);
		EQ(flowtab_count(r.t), caps[c]);
		ref_verify(&r, "capacity");
		for (uint32_t i = 0; i < caps[c] + 5; i += 2)
			ref_remove(&r, i);
		for (uint32_t i = 0; i < caps[c] + 5; i++)
			ref_upsert(&r, i);
		EQ(flowtab_count(r.t), caps[c]);
		ref_verify(&r, "capacity refill");
		ref_free(&r);
	}
}

/* Values are stored whole and keep their bytes while other entries move. */
static void test_odd_value_size(void)
{
	const size_t vsize = 13;
	struct flowtab *t = flowtab_new(64, vsize);
	struct xdpi_flow_key keys[64];
	uint8_t out[13];
	int created;

	CHECK(t, "table");
	if (!t)
		return;
	rng_seed(4);
	for (uint32_t i = 0; i < 64; i++) {
		uint8_t *v;

		make_key(&keys[i], i);
		v = flowtab_upsert(t, &keys[i], &created);
		CHECK(v && created, "insert %u", i);
		if (v)
			memset(v, (int)i + 1, vsize);
	}
	for (uint32_t i = 0; i < 64; i += 3)
		EQ(flowtab_remove(t, &keys[i], NULL), 0);
	for (uint32_t i = 0; i < 64; i++) {
		uint8_t *v = flowtab_lookup(t, &keys[i]);
		uint8_t want[13];

		memset(want, (int)i + 1, vsize);
		if (i % 3 == 0)
			CHECK(!v, "removed key %u found", i);
		else
			CHECK(v && !memcmp(v, want, vsize), "value of key %u", i);
	}
	EQ(flowtab_remove(t, &keys[1], out), 0);
	CHECK(out[0] == 2 && out[12] == 2, "removed value copied out");
	flowtab_free(t);
}

int main(void)
{
	test_capacity_edges();
	test_odd_value_size();
	test_clusters();
	test_many_keys();
	return check_summary("flowtab");
}
