/* Flow expiry and record emission. Reads flows through a flowstore, decides
 * which are done (idle, active, FIN/RST, shutdown), and writes flow records.
 * Time is the store's clock: monotonic ns live, capture ns offline. */
#ifndef XDPI_FLOWTRACK_H
#define XDPI_FLOWTRACK_H

#include <stdint.h>
#include "flowstore.h"
#include "output.h"

struct flowtrack_opts {
	uint64_t idle_ns;
	uint64_t active_ns;
	uint64_t close_grace_ns;
	int64_t  clock_to_epoch_ns; /* added to store times for records */
	uint32_t max_flows;
	const char *ifname;
	int report_sampling;        /* records carry the kernel's snippet sampling */
	/* Called when a flow's last record is written (may be NULL). */
	void (*on_export)(const struct xdpi_flow_key *k, void *arg);
	void *on_export_arg;
	/* Called before each record goes out, to add what the parsers found. */
	void (*annotate)(const struct xdpi_flow_key *k, struct flow_record *r, void *arg);
	void *annotate_arg;
};

struct flowtrack_stats {
	uint64_t records[5];     /* by enum end_reason */
	uint64_t flows_exported; /* flows whose last record was written */
	uint64_t evicted;        /* vanished from the store before export */
	uint64_t scan_errors;
};

struct flowtrack;

struct flowtrack *flowtrack_new(const struct flowtrack_opts *o,
				struct flowstore *store, struct output *out);
void flowtrack_free(struct flowtrack *ft);
/* One expiry pass at time now. Returns 0 or -errno from the store. */
int flowtrack_tick(struct flowtrack *ft, uint64_t now);
/* Exports every flow still open with end_reason "end". */
int flowtrack_flush(struct flowtrack *ft);
const struct flowtrack_stats *flowtrack_stats(const struct flowtrack *ft);
/* Flows tracked now. */
uint32_t flowtrack_open(const struct flowtrack *ft);
/* Records written so far, all end reasons. */
uint64_t flowtrack_records(const struct flowtrack *ft);
/* The id records of this flow carry: stable across paths and runs. */
uint64_t flowtrack_flow_id(const struct xdpi_flow_key *k, uint64_t first_ns);

#endif
