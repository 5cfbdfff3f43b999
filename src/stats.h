/* Counters of one run: the kernel's per-CPU array (or the user path's copy
 * of it), the event consumer and the tracker, printed as one summary. */
#ifndef XDPI_STATS_H
#define XDPI_STATS_H

#include <stdint.h>
#include <stdio.h>
#include "xdpi/abi.h"

struct ingest_stats;
struct flowtrack_stats;
struct engine_stats;

const char *counter_name(enum xdpi_counter c);
/* Sums the per-CPU counters map into out[XDPI_C__MAX]. 0 or -errno. */
int counters_read_kernel(int map_fd, uint64_t *out);
/* Adds every anomaly bit of a parse to the counters. */
void counters_add_anomalies(uint64_t *c, uint32_t bits);

/* es: live event hand-off to workers, NULL when there is none. */
void stats_print(FILE *f, const uint64_t *counters, const struct ingest_stats *in,
		 const struct flowtrack_stats *ft, uint64_t records,
		 const struct engine_stats *es);
/* Adds fields (",\"name\":value...") to every stats object written. */
void stats_set_extra(void (*fn)(FILE *f, void *arg), void *arg);

/* The AF_PACKET socket of `run --hook socket`: PACKET_STATISTICS summed
 * over the run, and what the ring delivered. */
struct socket_stats {
	uint64_t packets;      /* tp_packets: passed the filter, drops included */
	uint64_t drops;        /* tp_drops: no room in the ring */
	uint64_t freezes;      /* tp_freeze_q_cnt: times every block was full */
	uint64_t frames;       /* frames read from the ring */
	uint64_t wire_bytes;   /* their lengths on the wire (tp_len) */
	uint64_t copied_bytes; /* the bytes the filter kept of them (tp_snaplen) */
};
/* Adds them to the summary and every stats object; NULL: none. */
void stats_set_socket(const struct socket_stats *s);
int stats_write_json(const char *path, const uint64_t *counters,
		     const struct ingest_stats *in, const struct flowtrack_stats *ft,
		     uint64_t records, const struct engine_stats *es);

#endif
