/* Live event fan-out: the ingestion thread (the one reading the kernel's
 * ring buffer) hands every event to the worker that owns its flow, through
 * one lock-free SPSC ring per worker; workers keep per-flow state without
 * locks. Nothing blocks the ingestion thread: when a worker's ring is full
 * the event is dropped and counted. */
#ifndef XDPI_ENGINE_H
#define XDPI_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "ingest.h"
#include "xdpi/abi.h"

struct engine;

struct engine_stats {
	uint64_t delivered;     /* events handed to a worker */
	uint64_t ring_full;     /* events dropped: the worker's ring was full */
	uint64_t state_full;    /* events whose flow found no room for state */
	uint64_t flows_active;  /* flows with worker state now */
};

struct engine *engine_new(const struct xdpi_config *cfg);
/* Ingestion side (one thread). */
int engine_ringbuf_cb(void *ctx, void *data, size_t len);
void engine_publish(struct engine *e);
/* The tracker exported the flow for good: its worker state can go. */
void engine_flow_done(struct engine *e, const struct xdpi_flow_key *k);
/* Waits for the workers to finish what was handed to them, stops them. */
void engine_stop(struct engine *e);
/* Moves the workers' protocol records (dns, tls, http) to sink; returns
 * how many. Called by the thread that owns sink. */
struct output;
int engine_drain(struct engine *e, struct output *sink);
void engine_totals(struct engine *e, struct ingest_stats *in, struct engine_stats *st);
void engine_free(struct engine *e);
/* Pins the calling thread to the i-th CPU of cfg->cpus and applies
 * cfg->rt; warns (once) when that is not possible. */
void engine_place_thread(const struct xdpi_config *cfg, int i);

#endif
