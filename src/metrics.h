/* The process's counters as metrics for the outputs that serve them
 * (prom:). Built on the main thread, once per poll. */
#ifndef XDPI_METRICS_H
#define XDPI_METRICS_H

#include <stdint.h>

struct output;
struct engine;
struct ingest_stats;
struct flowtrack_stats;
struct engine_stats;
struct socket_stats;

struct metrics_src {
	const uint64_t *counters;          /* XDPI_C__MAX */
	const struct ingest_stats *in;     /* or NULL */
	const struct flowtrack_stats *ft;  /* or NULL */
	const struct engine_stats *es;     /* live engine, or NULL */
	struct engine *eng;                /* for queue depths and threads, or NULL */
	uint64_t flows_open, flows_max;    /* flow table occupancy */
	uint64_t records;
	const struct socket_stats *sock;   /* run --hook socket, or NULL */
};

void metrics_publish(struct output *o, const struct metrics_src *s);

#endif
