/* Where records go. Sinks only serialize; this module owns the choice. */
#ifndef XDPI_OUTPUT_H
#define XDPI_OUTPUT_H

#include <stddef.h>
#include "record.h"

struct output;

/* path NULL or "-": stdout. Returns NULL with a message on stderr. */
struct output *output_open(const char *path);
int output_flow(struct output *o, const struct flow_record *r);
/* Any record: r points to the struct of type t (struct dns_record, ...). */
int output_emit(struct output *o, enum record_type t, const void *r);
size_t record_size(enum record_type t);
/* A queue front for a worker thread: output_flow() on it moves records into
 * a lock-free ring of `bytes` (a power of two) that output_drain() empties
 * into a sink from another thread. */
struct output *output_queue_new(uint64_t bytes);
/* Moves every published record of queue q to sink; returns how many. */
int output_drain(struct output *q, struct output *sink);
/* Pushes buffered records out (once per poll in `run`). */
int output_flush(struct output *o);
uint64_t output_records(const struct output *o);
/* Times a queue front found its ring full and waited for the sink. */
uint64_t output_waits(const struct output *o);
/* Flushes and closes; returns -1 if any write failed. */
int output_close(struct output *o);

#endif
