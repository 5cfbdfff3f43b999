/* Offline engine with worker threads: the calling thread reads frames and
 * shards them by flow over N workers through lock-free SPSC rings; each
 * worker owns a flow table and a tracker (no locks on flow state); records
 * go through one ring per worker to a single output thread. Expiry ticks
 * are broadcast at the same capture-time points as in the one-thread path,
 * so the records are the same, only their order differs. */
#ifndef XDPI_PIPELINE_H
#define XDPI_PIPELINE_H

#include <stdint.h>
#include "config.h"
#include "flowtrack.h"
#include "ingest.h"
#include "output.h"
#include "pcap_source.h"

struct pipeline;

/* Allocates everything and starts the threads. NULL on failure (printed). */
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
