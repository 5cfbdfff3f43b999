#include "reasm.h"

#include <stdlib.h>
#include <string.h>
#include "mem.h"

struct reasm_pool {
	uint8_t *mem;        /* nbufs x (window data + window/8 bitmap) */
	size_t mem_bytes;
	uint32_t *free_list; /* stack of free slot numbers */
	uint32_t nfree;
	uint32_t nbufs;
	uint32_t window;
	size_t slot_bytes;
	struct reasm_stats st;
};

struct reasm_pool *reasm_pool_new(uint32_t nbufs, uint32_t window)
{
	struct reasm_pool *p = calloc(1, sizeof(*p));

	if (!p || !nbufs || !window || window > (1u << 20))
		goto fail;
	p->nbufs = nbufs;
	p->window = window;
	p->slot_bytes = ((size_t)window + (window + 7) / 8 + 63) & ~(size_t)63;
	p->mem_bytes = p->slot_bytes * nbufs;
	p->mem = mem_alloc_big(p->mem_bytes);
	p->free_list = calloc(nbufs, sizeof(*p->free_list));
	if (!p->mem || !p->free_list)
		goto fail;
	for (uint32_t i = 0; i < nbufs; i++)
		p->free_list[i] = nbufs - 1 - i;
	p->nfree = nbufs;
	return p;
fail:
	reasm_pool_free(p);
	return NULL;
}

void reasm_pool_free(struct reasm_pool *p)
{
	if (!p)
		return;
	mem_free_big(p->mem, p->mem_bytes);
	free(p->free_list);
	free(p);
}

uint32_t reasm_window(const struct reasm_pool *p) { return p->window; }
const struct reasm_stats *reasm_stats(const struct reasm_pool *p) { return &p->st; }
uint32_t reasm_free_bufs(const struct reasm_pool *p) { return p->nfree; }

static uint8_t *slot_data(const struct reasm_pool *p, uint32_t buf)
{
	return p->mem + (size_t)(buf - 1) * p->slot_bytes;
}

static uint8_t *slot_map(const struct reasm_pool *p, uint32_t buf)
{
	return slot_data(p, buf) + p->window;
}

void reasm_release(struct reasm_pool *p, struct reasm_dir *d)
{
	if (d->buf) {
		p->free_list[p->nfree++] = d->buf - 1;
		d->buf = 0;
	}
}

static int take_buf(struct reasm_pool *p, struct reasm_dir *d)
{
	if (!p->nfree) {
		d->state = REASM_NOBUF;
		p->st.no_buffer++;
		return -1;
	}
	d->buf = p->free_list[--p->nfree] + 1;
	memset(slot_map(p, d->buf), 0, (p->window + 7) / 8);
	return 0;
}

/* The buffer stays: the contiguous prefix is still worth parsing. */
static void finish(struct reasm_pool *p, struct reasm_dir *d, enum reasm_state s)
{
	d->state = (uint8_t)s;
	if (s == REASM_GAP)
		p->st.gaps++;
}

/* Stores [off, off + len) of the window, keeping bytes already held. */
static void store(struct reasm_pool *p, struct reasm_dir *d, uint32_t off,
		  const uint8_t *data, uint32_t len)
{
	uint8_t *buf = slot_data(p, d->buf), *map = slot_map(p, d->buf);

	for (uint32_t i = 0; i < len; i++) {
		uint32_t o = off + i;

		if (map[o >> 3] & (1u << (o & 7))) {
			p->st.retrans_bytes++;
			continue;
		}
		map[o >> 3] |= (uint8_t)(1u << (o & 7));
		buf[o] = data[i];
		p->st.bytes++;
	}
}

static uint32_t advance(const struct reasm_pool *p, const struct reasm_dir *d)
{
	const uint8_t *map = slot_map(p, d->buf);
	uint32_t c = d->contig;

	while (c < p->window && (map[c >> 3] & (1u << (c & 7))))
		c++;
	return c;
}

int reasm_push(struct reasm_pool *p, struct reasm_dir *d, uint32_t seq,
	       const uint8_t *data, uint32_t len, int syn)
{
	uint32_t off, before = d->contig;

	if (d->state > REASM_OPEN)
		return 0;
	if (syn) {
		/* A SYN (re)defines byte 0, unless data already counted from it. */
		if (!d->have_syn && d->state == REASM_IDLE) {
			d->isn = seq + 1;
			d->have_syn = 1;
		}
		seq += 1; /* a SYN with data: the data follows it */
	}
	if (!len)
		return 0;
	if (d->state == REASM_IDLE) {
		if (!d->have_syn)
			d->isn = seq;
		d->state = REASM_OPEN;
	}
	if (!d->buf && take_buf(p, d))
		return 0;
	p->st.segments++;

	off = seq - d->isn; /* modular: before byte 0 wraps to a huge offset */
	if (off >= p->window) {
		uint32_t back = d->isn - seq;

		/* Overlapping byte 0 from before (retransmission with older data)? */
		if (back < len) {
			data += back;
			len -= back;
			off = 0;
		} else {
			if (off < (1u << 31) && d->contig < p->window)
				finish(p, d, REASM_GAP); /* past the window, hole left */
			return 0;
		}
	}
	if (len > p->window - off)
		len = p->window - off;
	if (off > d->contig) {
		d->ooo++;
		p->st.out_of_order++;
	}
	store(p, d, off, data, len);
	d->contig = advance(p, d);
	if (d->contig == p->window)
		finish(p, d, REASM_FULL);
	return d->contig > before;
}

void reasm_consume(struct reasm_pool *p, struct reasm_dir *d, uint32_t n)
{
	uint8_t *buf, *map;
	uint32_t keep, w = p->window;

	if (!n)
		return;
	d->isn += n;
	if (!d->buf || n >= w) {
		d->contig = 0;
		if (d->buf)
			memset(slot_map(p, d->buf), 0, (w + 7) / 8);
	} else {
		/* Shift data and the bitmap of held bytes down by n. */
		buf = slot_data(p, d->buf);
		map = slot_map(p, d->buf);
		keep = w - n;
		memmove(buf, buf + n, keep);
		for (uint32_t i = 0; i < w; i++) {
			uint32_t from = i + n;
			int held = i < keep && (map[from >> 3] & (1u << (from & 7)));

			if (held)
				map[i >> 3] |= (uint8_t)(1u << (i & 7));
			else
				map[i >> 3] &= (uint8_t)~(1u << (i & 7));
		}
		d->contig = d->contig > n ? d->contig - n : 0;
		d->contig = advance(p, d);
	}
	if (d->state == REASM_FULL)
		d->state = REASM_OPEN;
}

const uint8_t *reasm_data(const struct reasm_pool *p, const struct reasm_dir *d,
			  uint32_t *len)
{
	*len = d->buf ? d->contig : 0;
	return d->buf ? slot_data(p, d->buf) : NULL;
}
