/* Kernel -> user event transports (--transport): one BPF ring buffer per
 * CPU, held in an array of maps, or per-CPU perf buffers. Readers take a
 * group of CPUs each, so several ingestion threads can share the work
 * without sharing a buffer. */
#ifndef XDPI_TRANSPORT_H
#define XDPI_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

struct xdpi_bpf;
struct transport;
struct transport_reader;

/* Called for every event record; data is valid only during the call. */
typedef int (*transport_event_fn)(void *ctx, void *data, size_t len);

/* Before load: sizes the maps for cfg->transport and cfg->ringbuf_bytes. */
int transport_prepare(struct xdpi_bpf *skel, const struct xdpi_config *cfg);
/* After load: creates the per-CPU buffers and hands them to the program. */
struct transport *transport_open(struct xdpi_bpf *skel, const struct xdpi_config *cfg);
void transport_close(struct transport *t);
/* CPUs with a buffer (0 for --transport none). */
int transport_ncpus(const struct transport *t);

/* A reader of the buffers of CPUs first, first + step, first + 2 step ... */
struct transport_reader *transport_reader_new(struct transport *t, int first, int step,
					      transport_event_fn fn, void *ctx);
/* Waits up to timeout_ms for a wake-up, then takes every queued event.
 * Returns events taken or a negative errno. */
int transport_reader_poll(struct transport_reader *r, int timeout_ms);
/* Takes every queued event without waiting. */
int transport_reader_consume(struct transport_reader *r);
/* Records the perf buffers reported lost (the kernel counts them too). */
uint64_t transport_reader_lost(const struct transport_reader *r);
void transport_reader_free(struct transport_reader *r);

#endif
