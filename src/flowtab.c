#include "flowtab.h"

#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "util.h"

/* Entries live densely in `ents` (so walking all flows costs the number of
 * flows, not the table size); `index` is the open-addressing hash over them,
 * each slot holding an entry position + 1 (0: empty). */
struct ent_hdr {
	struct xdpi_flow_key key;
	uint64_t hash;
};

struct flowtab {
	uint32_t *index;
	uint8_t *ents;
	size_t ent_size;
	size_t value_size;
	size_t index_bytes, ents_bytes;
	uint32_t mask;
	uint32_t count;
	uint32_t max_entries;
};

static inline struct ent_hdr *ent_at(const struct flowtab *t, uint32_t pos)
{
	return (struct ent_hdr *)(t->ents + (size_t)pos * t->ent_size);
}

static inline void *ent_val(struct ent_hdr *e)
{
	return (uint8_t *)e + sizeof(*e);
}

struct flowtab *flowtab_new(uint32_t max_entries, size_t value_size)
{
	struct flowtab *t = calloc(1, sizeof(*t));
	uint64_t cap = 16;

	if (!t || !max_entries)
		goto fail;
	while (cap < (uint64_t)max_entries * 2) /* load factor <= 1/2 */
		cap <<= 1;
	if (cap > (1ULL << 31))
		goto fail;
	t->value_size = value_size;
	t->ent_size = (sizeof(struct ent_hdr) + value_size + 7) & ~(size_t)7;
	t->mask = (uint32_t)cap - 1;
	t->max_entries = max_entries;
	t->index_bytes = cap * sizeof(uint32_t);
	t->ents_bytes = (size_t)max_entries * t->ent_size;
	t->index = mem_alloc_big(t->index_bytes);
	t->ents = mem_alloc_big(t->ents_bytes);
	if (!t->index || !t->ents)
		goto fail;
	return t;
fail:
	flowtab_free(t);
	return NULL;
}

void flowtab_free(struct flowtab *t)
{
	if (!t)
		return;
	mem_free_big(t->index, t->index_bytes);
	mem_free_big(t->ents, t->ents_bytes);
	free(t);
}

/* Slot of key, or of the empty slot where it would go. */
static uint32_t find_slot(const struct flowtab *t, const struct xdpi_flow_key *k,
			  uint64_t h)
{
	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		uint32_t e = t->index[i];
		struct ent_hdr *eh;

		if (!e)
			return i;
		eh = ent_at(t, e - 1);
		if (eh->hash == h && !memcmp(&eh->key, k, sizeof(*k)))
			return i;
	}
}

void *flowtab_lookup(struct flowtab *t, const struct xdpi_flow_key *k)
{
	uint32_t e = t->index[find_slot(t, k, flow_key_hash(k, 0))];

	return e ? ent_val(ent_at(t, e - 1)) : NULL;
}

void *flowtab_upsert(struct flowtab *t, const struct xdpi_flow_key *k, int *created)
{
	uint64_t h = flow_key_hash(k, 0);
	uint32_t i = find_slot(t, k, h);
	struct ent_hdr *eh;

	*created = 0;
	if (t->index[i])
		return ent_val(ent_at(t, t->index[i] - 1));
	if (t->count >= t->max_entries)
		return NULL;
	eh = ent_at(t, t->count);
	eh->key = *k;
	eh->hash = h;
	memset(ent_val(eh), 0, t->value_size);
	t->index[i] = ++t->count;
	*created = 1;
	return ent_val(eh);
}

/* Empties index slot i, shifting later members of its probe run back. */
static void index_delete(struct flowtab *t, uint32_t i)
{
	for (uint32_t j = (i + 1) & t->mask;; j = (j + 1) & t->mask) {
		uint32_t e = t->index[j], home;

		if (!e)
			break;
		home = (uint32_t)ent_at(t, e - 1)->hash & t->mask;
		/* The entry at j may fill the hole at i only if its home is not
		 * cyclically in (i, j]. */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->index[i] = e;
			i = j;
		}
	}
	t->index[i] = 0;
}

static void remove_at(struct flowtab *t, uint32_t slot, void *out)
{
	uint32_t pos = t->index[slot] - 1, last = t->count - 1;

	if (out)
		memcpy(out, ent_val(ent_at(t, pos)), t->value_size);
	index_delete(t, slot);
	if (pos != last) {
		/* Move the last entry into the hole and repoint its slot. */
		struct ent_hdr *le = ent_at(t, last);
		uint32_t ls = find_slot(t, &le->key, le->hash);

		memcpy(ent_at(t, pos), le, t->ent_size);
		t->index[ls] = pos + 1;
	}
	t->count--;
}

int flowtab_remove(struct flowtab *t, const struct xdpi_flow_key *k, void *out)
{
	uint32_t i = find_slot(t, k, flow_key_hash(k, 0));

	if (!t->index[i])
		return -1;
	remove_at(t, i, out);
	return 0;
}

uint32_t flowtab_count(const struct flowtab *t) { return t->count; }
uint32_t flowtab_capacity(const struct flowtab *t) { return t->max_entries; }

void flowtab_at(struct flowtab *t, uint32_t pos, const struct xdpi_flow_key **k, void **v)
{
	struct ent_hdr *eh = ent_at(t, pos);

	*k = &eh->key;
	*v = ent_val(eh);
}
