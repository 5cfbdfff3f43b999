/* Offline engine with worker threads. Each worker owns a shard of the flows
 * (by hash), with its own flow table and tracker: no locks on flow state.
 * The calling thread reads the capture, runs worker 0 itself (with a
 * smaller share, as it also reads) and hands the other workers' frames
 * over lock-free SPSC rings (a pointer into the mapped file for classic
 * pcap, a copy otherwise). Records go through one ring per worker to a
 * single output thread. Expiry ticks fall at the same capture-time points
 * as in the one-thread path, so the records are the same, only their
 * order differs. */
#ifndef XDPI_PIPELINE_H
#define XDPI_PIPELINE_H

#include <stdint.h>
#include "config.h"
#include "flowtrack.h"
#include "ingest.h"
#include "output.h"
#include "pcap_source.h"

struct pipeline;

/* Allocates everything and starts the threads of workers 1..n-1 (worker 0
 * runs in pipeline_run's thread). NULL on failure (printed). */
struct pipeline *pipeline_new(const struct xdpi_config *cfg, struct output *sink,
			      int workers);
/* Reads src to its end and waits until every record is out. Allocates
 * nothing. 0, or -1 if the file is corrupt (message in err). */
int pipeline_run(struct pipeline *pl, struct pcap_source *src, char *err, size_t errlen);
/* Totals over the workers. */
void pipeline_totals(const struct pipeline *pl, uint64_t *counters,
		     struct ingest_stats *in, struct flowtrack_stats *ft);
/* Records of every type the workers produced. */
uint64_t pipeline_records(const struct pipeline *pl);
void pipeline_free(struct pipeline *pl);

#endif
