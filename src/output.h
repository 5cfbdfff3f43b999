/* Where records go. Sinks only serialize; this module owns the choice. */
#ifndef XDPI_OUTPUT_H
#define XDPI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>
#include "record.h"

struct output;
struct xdpi_config;
struct metric;

/* The outputs of a command: one sink runner per --out of cfg, or def when
 * there is none. live: never wait for a sink (records that find its queue
 * full are dropped and counted); offline: wait. NULL with a message. */
struct output *output_open(const struct xdpi_config *cfg, const char *def, int live);
/* One JSON Lines file (path "-": stdout), offline: for tools and tests. */
struct output *output_open_jsonl(const char *path);
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
/* Flushes and closes; returns -1 if any write failed or a record was
 * not delivered. */
int output_close(struct output *o);
/* output_close() then writes on f what each output other than JSON Lines
 * delivered. */
void output_report(struct output *o, FILE *f);
/* The process's own metrics (counters, queue depths ...) for /metrics:
 * copied, so m may change after the call. */
void output_publish_metrics(struct output *o, const struct metric *m, size_t n);
/* True when a sink of this scheme ("sqlite", ...) is among the outputs. */
int output_has(const struct output *o, const char *scheme);

#endif
