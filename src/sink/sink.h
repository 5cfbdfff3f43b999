/* A sink: one destination of records (a file, a database, a collector).
 *
 * Sinks only deliver; the runner (src/sink/runner.c) owns everything around
 * them: a thread per sink, its bounded queue, batching, retry with
 * exponential backoff, and the disk spool that keeps records while the sink
 * is down. A sink is called from its runner's thread only. */
#ifndef XDPI_SINK_H
#define XDPI_SINK_H

#include <stddef.h>
#include <stdint.h>
#include "record.h"

/* One record handed to a sink. rec is the struct of `type` (struct
 * flow_record, ...) or NULL; json is its JSON Lines form (jsonl_format(),
 * '\n' included) or NULL. A record from a producer has rec; one the
 * collector received has only json. (host, run, seq) identify a record
 * uniquely: seq counts from 1 in each process, run is random per process. */
struct sink_item {
	enum record_type type;
	uint64_t seq;
	uint64_t run;
	const char *host;
	const void *rec;
	const char *json;
	size_t json_len;
};

/* A named value for /metrics. labels: "" or `k="v",k2="v2"`. */
struct metric {
	const char *name;   /* static: xdpi_... */
	const char *help;   /* static */
	char labels[96];
	double value;
	uint8_t counter;    /* 1: counter, 0: gauge */
};

struct output;

/* What every sink may know of the process around it. */
struct sink_env {
	const char *host;      /* this host's name (subjects, ids) */
	uint64_t run;          /* this process's run id */
	int live;              /* 1: `xdpi run` (never block), 0: offline */
	struct output *out;    /* for output_metrics_render() */
};

struct sink_ops {
	const char *scheme;     /* "sqlite", ... : the URI's prefix */
	uint32_t max_batch;     /* records per write() at most */
	uint32_t linger_ms;     /* wait this long for a fuller batch */
	uint8_t local;          /* a file: the first connect() failing is fatal
				 * (nothing will come back by waiting) */
	/* target: the URI after "scheme:". Checks it and allocates; no I/O to
	 * the peer yet. NULL with a message in err on a bad target. */
	void *(*open)(const char *target, const struct sink_env *env, char *err, size_t errlen);
	/* (Re)connects. 0, or -1 with the reason in err. NULL: nothing to do. */
	int (*connect)(void *s, char *err, size_t errlen);
	/* Delivers n records, all or none: 0 once the peer holds them, -1
	 * with err when it may not. A failed batch is given again later,
	 * after connect(): the peer must take repeats without duplicating
	 * (the ids above). */
	int (*write)(void *s, const struct sink_item *it, size_t n, char *err, size_t errlen);
	/* Called when the queue is idle and at least once a second: push
	 * what is buffered, refresh templates. 0 or -1 with err (sink down).
	 * NULL: nothing to do. */
	int (*tick)(void *s, uint64_t now_ns, char *err, size_t errlen);
	/* Drops the connection after a failure (connect() follows). NULL: none. */
	void (*disconnect)(void *s);
	void (*close)(void *s);
};

extern const struct sink_ops sink_jsonl_ops;
extern const struct sink_ops sink_sqlite_ops;
extern const struct sink_ops sink_postgres_ops;
extern const struct sink_ops sink_ipfix_ops;
extern const struct sink_ops sink_prom_ops;
extern const struct sink_ops sink_nats_ops;

/* Renders the metrics the running process publishes (engine counters,
 * queue depths, sink backlogs...) by calling fn with all of them under
 * the output's lock. */
void output_metrics_render(struct output *o,
			   void (*fn)(void *arg, const struct metric *m, size_t n), void *arg);

#endif
