/* Hash table keyed by struct xdpi_flow_key, allocated once at its full
 * capacity (no allocation per packet). Entries are stored densely and found
 * through an open-addressing index (linear probing, backward-shift deletion:
 * no tombstones), so walking every flow costs the number of flows. */
#ifndef XDPI_FLOWTAB_H
#define XDPI_FLOWTAB_H

#include <stddef.h>
#include <stdint.h>
#include "xdpi/abi.h"

struct flowtab;

/* max_entries: most entries held at once; value_size: bytes per value. */
struct flowtab *flowtab_new(uint32_t max_entries, size_t value_size);
void flowtab_free(struct flowtab *t);
/* Value for key, or NULL. */
void *flowtab_lookup(struct flowtab *t, const struct xdpi_flow_key *k);
/* Value for key, inserted zeroed if absent (*created = 1). NULL when full. */
void *flowtab_upsert(struct flowtab *t, const struct xdpi_flow_key *k, int *created);
/* Removes key; copies its value to out when out is not NULL. 0 or -1. */
int flowtab_remove(struct flowtab *t, const struct xdpi_flow_key *k, void *out);
uint32_t flowtab_count(const struct flowtab *t);
uint32_t flowtab_capacity(const struct flowtab *t);
/* Entry at position pos < flowtab_count(). Removing an entry moves the last
 * one into its place, so walk downwards when removing while walking. */
void flowtab_at(struct flowtab *t, uint32_t pos, const struct xdpi_flow_key **k, void **v);

#endif
