/* Single-producer/single-consumer ring of variable-size records, lock-free.
 *
 * One thread writes, one reads. Indices only grow; the producer's and the
 * consumer's live on separate cache lines, and each side keeps a private
 * copy of the other's index, so it touches shared memory only when its copy
 * says the ring is full (or empty). Claims and releases are local until
 * published: spsc_publish()/spsc_release() make a whole batch visible with
 * one release store, Disruptor style.
 *
 * Records are 8-byte aligned with an 8-byte header; a record never wraps:
 * when it does not fit before the end, a padding record fills the tail. */
#ifndef XDPI_SPSC_H
#define XDPI_SPSC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SPSC_CACHELINE 64
#define SPSC_PAD_LEN   0xffffffffu

struct spsc_rec {
	uint32_t len;   /* payload bytes, or SPSC_PAD_LEN for tail padding */
	uint32_t kind;  /* caller's record type */
};

struct spsc {
	/* producer side */
	_Alignas(SPSC_CACHELINE) _Atomic uint64_t head; /* published end */
	uint64_t prod_head;                          /* claimed end */
	uint64_t prod_tail_cache;
	/* consumer side */
	_Alignas(SPSC_CACHELINE) _Atomic uint64_t tail; /* released start */
	uint64_t cons_tail;                          /* consumed end */
	uint64_t cons_head_cache;
	/* shared, read-only after init */
	_Alignas(SPSC_CACHELINE) uint8_t *buf;
	uint64_t size;                               /* power of two */
	uint64_t mask;
};

static inline uint64_t spsc_rec_bytes(uint32_t len)
{
	return (sizeof(struct spsc_rec) + (uint64_t)len + 7) & ~(uint64_t)7;
}

/* buf: size bytes, size a power of two >= 4096, 8-byte aligned. */
static inline void spsc_init(struct spsc *r, void *buf, uint64_t size)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->size = size;
	r->mask = size - 1;
}

/* Room for a record of len bytes: its payload pointer, or NULL when the
 * ring is full (the consumer has not caught up). */
static inline void *spsc_claim(struct spsc *r, uint32_t len, uint32_t kind)
{
	uint64_t need = spsc_rec_bytes(len), off = r->prod_head & r->mask;
	uint64_t pad = off + need > r->size ? r->size - off : 0;
	struct spsc_rec *h;

	if (need > r->size / 2)
		return NULL;
	if (r->prod_head + pad + need - r->prod_tail_cache > r->size) {
		r->prod_tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (r->prod_head + pad + need - r->prod_tail_cache > r->size)
			return NULL;
	}
	if (pad) {
		((struct spsc_rec *)(r->buf + off))->len = SPSC_PAD_LEN;
		r->prod_head += pad;
		off = 0;
	}
	h = (struct spsc_rec *)(r->buf + off);
	h->len = len;
	h->kind = kind;
	r->prod_head += need;
	return h + 1;
}

/* Makes every claimed record visible to the consumer. */
static inline void spsc_publish(struct spsc *r)
{
	atomic_store_explicit(&r->head, r->prod_head, memory_order_release);
}

/* Next record or NULL when none is published. */
static inline void *spsc_peek(struct spsc *r, uint32_t *len, uint32_t *kind)
{
	for (;;) {
		struct spsc_rec *h;

		if (r->cons_tail == r->cons_head_cache) {
			r->cons_head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
			if (r->cons_tail == r->cons_head_cache)
				return NULL;
		}
		h = (struct spsc_rec *)(r->buf + (r->cons_tail & r->mask));
		if (h->len == SPSC_PAD_LEN) {
			r->cons_tail += r->size - (r->cons_tail & r->mask);
			continue;
		}
		*len = h->len;
		*kind = h->kind;
		return h + 1;
	}
}

/* Done with the record spsc_peek returned (its memory stays valid until
 * spsc_release). */
static inline void spsc_consume(struct spsc *r)
{
	struct spsc_rec *h = (struct spsc_rec *)(r->buf + (r->cons_tail & r->mask));

	r->cons_tail += spsc_rec_bytes(h->len);
}

/* Hands the space of every consumed record back to the producer. */
static inline void spsc_release(struct spsc *r)
{
	atomic_store_explicit(&r->tail, r->cons_tail, memory_order_release);
}

#endif
