/* A sink's runner: the thread that owns one sink, its bounded queue, its
 * batching, retry with exponential backoff, and the disk spool that keeps
 * records while the sink is down. */
#ifndef XDPI_SINK_RUNNER_H
#define XDPI_SINK_RUNNER_H

#include <stdint.h>
#include <stdio.h>
#include "sink/sink.h"

struct runner_opts {
	uint64_t queue_bytes;   /* ring from the producer, a power of two */
	uint64_t spool_max;     /* bytes kept on disk while down; 0: no spool */
	const char *spool_dir;
	uint64_t close_wait_ns; /* at close, how long a down sink is waited for */
};

struct runner_stats {
	uint64_t queued;        /* records given to the runner */
	uint64_t delivered;     /* records the sink took */
	uint64_t batches;
	uint64_t queue_drops;   /* live only: the queue was full */
	uint64_t spool_drops;   /* the sink was down and the spool full */
	uint64_t lost_at_exit;  /* still undelivered when the process ended */
	uint64_t spooled;       /* records on disk now */
	uint64_t spool_bytes;   /* their bytes */
	uint64_t backlog;       /* records queued, not yet taken by the thread */
	uint64_t failures;      /* failed writes, ticks and connects */
	uint64_t waits;         /* offline: times the producer waited */
	double cpu_seconds;     /* CPU time of the output's thread */
	int up;
};

struct runner;

/* Finds the sink by the URI's scheme, opens it and starts its thread. The
 * first connect happens there; a sink that is down is retried, not fatal.
 * NULL with a message on a bad URI. */
struct runner *runner_start(const char *uri, const struct sink_env *env,
			    const struct runner_opts *o);
/* The same with the sink given (tests bring their own). */
struct runner *runner_start_ops(const struct sink_ops *ops, const char *uri, const char *target,
				const struct sink_env *env, const struct runner_opts *o);
/* Producer side (one thread). Queues a copy of r; live: drops when the
 * queue is full, offline: waits. */
void runner_push(struct runner *r, enum record_type t, uint64_t seq, const void *rec);
/* Makes what was pushed visible to the sink's thread. */
void runner_publish(struct runner *r);
/* Delivers what is queued (waiting up to close_wait_ns for a sink that is
 * down), stops the thread and closes the sink; final: its last counters.
 * -1 if records were lost. */
int runner_stop(struct runner *r, struct runner_stats *final);
void runner_stats(struct runner *r, struct runner_stats *st);
const char *runner_uri(const struct runner *r);
/* uri as messages may show it: passwords and tokens replaced by "***". */
void runner_redact_uri(char *out, size_t len, const char *uri);
/* The sink a URI names and, in *target, the part after its scheme; NULL
 * when the scheme is unknown. */
const struct sink_ops *runner_find_sink(const char *uri, const char **target);
/* True when the URI names a known scheme; err says why not. */
int runner_check_uri(const char *uri, char *err, size_t errlen);

#endif
