/* TCP reassembly of the first bytes of each stream direction, for the
 * protocol parsers: a ClientHello or a request head split over segments.
 *
 * Each direction collects at most `window` bytes from its start. Segments
 * may come out of order, twice, or overlapping: the first copy of a byte
 * wins. Bytes are usable once contiguous from the start. A direction stops
 * collecting when the window is full or a gap cannot close (data lands past
 * the window while a hole remains); its contiguous prefix stays readable
 * until reasm_release. Buffers come from a pool allocated once; the
 * per-direction state is a few words. */
#ifndef XDPI_REASM_H
#define XDPI_REASM_H

#include <stdint.h>

struct reasm_pool;

enum reasm_state {
	REASM_IDLE = 0,   /* nothing seen yet */
	REASM_OPEN,       /* collecting */
	REASM_FULL,       /* window filled contiguously: done */
	REASM_GAP,        /* gave up on a hole */
	REASM_NOBUF,      /* pool exhausted when the stream began */
};

struct reasm_dir {
	uint32_t isn;       /* sequence number of stream byte 0 */
	uint32_t contig;    /* bytes contiguous from byte 0 */
	uint32_t buf;       /* pool slot + 1, 0 when none */
	uint8_t state;      /* enum reasm_state */
	uint8_t have_syn;
	uint16_t ooo;       /* segments that arrived ahead of a hole */
};

struct reasm_stats {
	uint64_t segments;      /* pushed with payload */
	uint64_t bytes;         /* new bytes stored */
	uint64_t retrans_bytes; /* bytes already held (first copy kept) */
	uint64_t out_of_order;  /* segments ahead of a hole */
	uint64_t gaps;          /* directions given up on a hole */
	uint64_t no_buffer;     /* directions that found the pool empty */
};

/* nbufs buffers of window bytes each (window <= 1 MiB). NULL on failure. */
struct reasm_pool *reasm_pool_new(uint32_t nbufs, uint32_t window);
void reasm_pool_free(struct reasm_pool *p);
uint32_t reasm_window(const struct reasm_pool *p);
const struct reasm_stats *reasm_stats(const struct reasm_pool *p);
uint32_t reasm_free_bufs(const struct reasm_pool *p);

/* A SYN fixes byte 0 at seq + 1. Without one, the first data segment's
 * sequence number is byte 0. Returns 1 when contiguous data grew. */
int reasm_push(struct reasm_pool *p, struct reasm_dir *d, uint32_t seq,
	       const uint8_t *data, uint32_t len, int syn);
/* The contiguous bytes from the start of the stream (valid until the next
 * push or release of this direction). */
const uint8_t *reasm_data(const struct reasm_pool *p, const struct reasm_dir *d,
			  uint32_t *len);
/* Drops the first n stream bytes (a parsed message, or a body to skip:
 * n may exceed what is held); the window moves on and a full direction
 * collects again. */
void reasm_consume(struct reasm_pool *p, struct reasm_dir *d, uint32_t n);
/* Returns the buffer to the pool; the direction stays in its final state. */
void reasm_release(struct reasm_pool *p, struct reasm_dir *d);

#endif
