/* Bounded reader over untrusted bytes, shared by the protocol parsers:
 * every read checks what is left first and fails (-1) instead of reading
 * past the end. */
#ifndef XDPI_PROTO_RD_H
#define XDPI_PROTO_RD_H

#include <stddef.h>
#include <stdint.h>

struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline size_t rd_left(const struct rd *r)
{
	return r->len - r->off;
}

static inline int rd_u8(struct rd *r, uint8_t *v)
{
	if (rd_left(r) < 1)
		return -1;
	*v = r->p[r->off++];
	return 0;
}

static inline int rd_u16(struct rd *r, uint16_t *v)
{
	if (rd_left(r) < 2)
		return -1;
	*v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
	return 0;
}

static inline int rd_skip(struct rd *r, uint64_t n)
{
	if (rd_left(r) < n)
		return -1;
	r->off += (size_t)n;
	return 0;
}

#endif
