#include "mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_2M (2u << 20)

static _Atomic size_t kind_bytes[3];
static _Atomic int notice_given;

static int thp_possible(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, "[always]") || strstr(buf, "[madvise]");
}

static size_t round_up(size_t v, size_t to)
{
	return (v + to - 1) / to * to;
}

/* Small sizes are not worth a huge page; the rest tries, in order,
 * reserved huge pages, transparent huge pages, plain pages. */
void *mem_alloc_big(size_t bytes)
{
	size_t len = round_up(bytes, HUGE_2M);
	void *p;

	if (bytes >= HUGE_2M) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p != MAP_FAILED) {
			atomic_fetch_add(&kind_bytes[MEM_HUGETLB], len);
			return p;
		}
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (bytes >= HUGE_2M && thp_possible() && !madvise(p, len, MADV_HUGEPAGE)) {
		atomic_fetch_add(&kind_bytes[MEM_THP], len);
		return p;
	}
	atomic_fetch_add(&kind_bytes[MEM_4K], len);
	if (bytes >= HUGE_2M && !atomic_exchange(&notice_given, 1))
		fprintf(stderr, "xdpi: notice: no huge pages available (vm.nr_hugepages is 0 and "
			"transparent huge pages are off); tables use 4 KiB pages\n");
	return p;
}

void mem_free_big(void *p, size_t bytes)
{
	if (p)
		munmap(p, round_up(bytes, HUGE_2M));
}

size_t mem_bytes(enum mem_kind kind)
{
	return atomic_load(&kind_bytes[kind]);
}
