/* Large, long-lived allocations (flow tables, rings, pools): made once at
 * start, on huge pages when the system has them. */
#ifndef XDPI_MEM_H
#define XDPI_MEM_H

#include <stddef.h>

enum mem_kind { MEM_HUGETLB = 0, MEM_THP, MEM_4K };

/* Zeroed memory of at least bytes; NULL on failure. */
void *mem_alloc_big(size_t bytes);
void mem_free_big(void *p, size_t bytes);
/* Bytes obtained so far of each kind (enum mem_kind). */
size_t mem_bytes(enum mem_kind kind);

#endif
