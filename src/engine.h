/* Live event fan-out. Ingestion threads (each reading the kernel's event
 * buffers of a group of CPUs) hand every event to the worker that owns its
 * flow, through one lock-free SPSC ring per (ingestion thread, worker)
 * pair; the main thread has one more ring per worker for control messages.
 * Workers keep per-flow state without locks, run the parsers, and tell the
 * kernel when a flow needs no more snippets. Nothing blocks an ingestion
 * thread: when a worker's ring is full the event is dropped and counted. */
#ifndef XDPI_ENGINE_H
#define XDPI_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "afxdp.h"
#include "config.h"
#include "ingest.h"
#include "xdpi/abi.h"

struct engine;
struct transport;

struct engine_stats {
	uint64_t delivered;     /* events handed to a worker */
	uint64_t ring_full;     /* events dropped: the worker's ring was full */
	uint64_t perf_lost;     /* records the perf buffers reported lost */
	uint64_t state_full;    /* events whose flow found no room for state */
	uint64_t dpi_no_state;  /* payloads whose flow found no inspection state */
	uint64_t flows_active;  /* flows with worker state now */
	uint64_t verdicts;      /* flows handed back to the kernel (offloaded) */
	uint64_t verdict_fail;  /* verdicts the kernel map refused (full) */
	uint64_t sink_waits;    /* times a worker waited for the record sink */
	uint32_t sampling;      /* snippets from 1 in this many new flows now */
	uint32_t sampling_changes;
	struct afxdp_stats afxdp; /* --capture afxdp; queues 0 without */
};

/* verdict_fd: the kernel's verdict map, or -1 (no offload); config_fd:
 * its run-time config map, or -1 (no adaptive sampling). */
struct engine *engine_new(const struct xdpi_config *cfg, int verdict_fd, int config_fd);
/* --capture afxdp: the ingestion threads also read ax's sockets (thread i
 * the queues i, i + n, ...). Before engine_start_ingest. */
void engine_set_afxdp(struct engine *e, struct afxdp *ax);
/* Starts the ingestion threads over t's buffers (none for --transport none
 * without AF_XDP). */
int engine_start_ingest(struct engine *e, struct transport *t);
/* The same without threads (benchmarks): readers only, then one pass of
 * ingestion thread i's work per call (waiting up to timeout_ms first). */
int engine_attach_ingest(struct engine *e, struct transport *t);
int engine_ingest_once(struct engine *e, int i, int timeout_ms);
/* Stops them after they took everything queued. */
void engine_stop_ingest(struct engine *e);
/* Main thread: makes control messages visible, adapts snippet sampling to
 * the workers' backlog (once per poll interval). */
void engine_publish(struct engine *e);
void engine_adapt(struct engine *e);
/* The tracker exported the flow for good: its worker state can go. */
void engine_flow_done(struct engine *e, const struct xdpi_flow_key *k);
/* Waits for the workers to finish what was handed to them, stops them. */
void engine_stop(struct engine *e);
/* Moves the workers' protocol records to sink; returns how many. Called by
 * the thread that owns sink. */
struct output;
int engine_drain(struct engine *e, struct output *sink);
void engine_totals(struct engine *e, struct ingest_stats *in, struct engine_stats *st);
void engine_free(struct engine *e);
struct metric;
/* Worker queue depths and each thread's CPU time, into m (at most cap);
 * returns how many. */
size_t engine_metrics(struct engine *e, struct metric *m, size_t cap);
/* Pins the calling thread to the i-th CPU of cfg->cpus and applies
 * cfg->rt; warns (once) when that is not possible. */
void engine_place_thread(const struct xdpi_config *cfg, int i);
/* Pins the calling thread to CPU cpu (when cfg->cpus is given). */
void engine_pin_cpu(const struct xdpi_config *cfg, int cpu);

/* Sampling control, a pure function so it can be tested: the next log2
 * rate from the current one, the fullest worker ring's fill (0..1) and the
 * events delivered and dropped since the last call; *calm counts quiet
 * calls in a row. */
uint32_t engine_next_sampling(uint32_t log2, double fill, uint64_t delivered,
			      uint64_t dropped, uint32_t *calm);

#endif
