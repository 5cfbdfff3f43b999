/* Consumer of kernel events (ring buffer) and of the same events made by the
 * user-space path. Validates every record before use. */
#ifndef XDPI_INGEST_H
#define XDPI_INGEST_H

#include <stddef.h>
#include <stdint.h>

struct ingest_stats {
	uint64_t flow_start;
	uint64_t flow_end;
	uint64_t snippets;
	uint64_t snippet_bytes;
	uint64_t malformed;   /* records too short or of an unknown type */
};

struct ingest {
	struct ingest_stats st;
	uint32_t snippet_max;  /* bytes: the configured N */
};

/* Handles one event; always returns 0 (the ring buffer keeps going). */
int ingest_event(struct ingest *in, const void *data, size_t len);
/* libbpf ring_buffer callback wrapper: ctx is a struct ingest. */
int ingest_ringbuf_cb(void *ctx, void *data, size_t len);

#endif
