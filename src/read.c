/* `xdpi read FILE`: a capture through the user-space path, or with --kernel
 * through the kernel program, then the same tracker and output. */
#include "read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "filter.h"
#include "flownames.h"
#include "flowstore.h"
#include "flowtrack.h"
#include "ingest.h"
#include "output.h"
#include "pcap_source.h"
#include "replay.h"
#include "stats.h"
#include "upath.h"
#include "util.h"
#include "loader.h"
#include "pipeline.h"
#include "dpi.h"
#include "metrics.h"
#include "signals.h"

struct progress {
	int on;
	uint64_t next_ns;
	uint64_t start_ns;
};

static void progress_tick(struct progress *p, uint64_t frames, int final)
{
	uint64_t now;

	if (!p->on)
		return;
	now = mono_ns();
	if (!final && now < p->next_ns)
		return;
	p->next_ns = now + NSEC_PER_SEC;
	fprintf(stderr, "\rxdpi: %llu frames read, %.0f frames/s%s",
		(unsigned long long)frames,
		now > p->start_ns ? (double)frames * 1e9 / (double)(now - p->start_ns) : 0.0,
		final ? "\n" : "");
}

/* The parsers, when wanted; records go to out. NULL if off or failed. */
static struct dpi *dpi_for(const struct xdpi_config *cfg, struct output *out)
{
	struct dpi_opts o = {
		.max_flows = cfg->max_flows, .reasm_bytes = cfg->reasm_bytes,
		.reasm_bufs = cfg->dpi_flows, .out = out,
	};
	struct dpi *d;

	if (cfg->no_dpi)
		return NULL;
	d = dpi_new(&o);
	if (!d)
		fprintf(stderr, "xdpi: no memory for protocol inspection; flows only\n");
	return d;
}

/* Summary on stderr and the --stats-json file; returns -1 if the file failed. */
/* The totals for prom: outputs; with --linger the outputs stay up a while
 * (so /metrics can be scraped after a capture). */
static void linger(const struct xdpi_config *cfg, struct output *out, const uint64_t *counters,
		   const struct ingest_stats *in, const struct flowtrack_stats *ft)
{
	struct metrics_src ms = {
		.counters = counters, .in = in, .ft = ft, .flows_max = cfg->max_flows,
		.records = output_records(out),
	};

	metrics_publish(out, &ms);
	output_flush(out);
	if (!cfg->linger_ns)
		return;
	if (!cfg->quiet)
		fprintf(stderr, "xdpi: capture done; outputs stay up for %.1fs (--linger)\n",
			(double)cfg->linger_ns / 1e9);
	install_signals(); /* Ctrl-C ends the wait, not the process */
	for (uint64_t end = mono_ns() + cfg->linger_ns; mono_ns() < end && !stop_requested;) {
		struct timespec nap = { 0, 50 * 1000 * 1000 };

		nanosleep(&nap, NULL);
		output_flush(out);
	}
}

static int report(const struct xdpi_config *cfg, const char *stats_json,
		  const uint64_t *counters, const struct ingest_stats *in,
		  const struct flowtrack_stats *ft, uint64_t records)
{
	if (!cfg->quiet)
		stats_print(stderr, counters, in, ft, records, NULL);
	if (stats_json && stats_write_json(stats_json, counters, in, ft, records, NULL)) {
		fprintf(stderr, "xdpi: cannot write %s\n", stats_json);
		return -1;
	}
	return 0;
}

/* Frames the source kept back: those whose link layer carries no IP never
 * reach either parser; those --filter did not match go no further. */
static void add_source_counts(uint64_t *counters, const struct pcap_source *src)
{
	counters[XDPI_C_PACKETS] += pcap_source_skipped(src);
	counters[XDPI_C_NON_IP] += pcap_source_skipped(src);
	counters[XDPI_C_FILTERED_OUT] += pcap_source_filtered(src);
}

/* --filter, compiled for the capture's link type and matched on its frames
 * as captured; with --kernel the kernel program matches the frames it sees
 * (as Ethernet), this one only the frames it does not, and `eth`, the
 * kernel's view, decides which frames the parsers see. */
struct read_filters {
	struct filter *own;
	struct filter *eth;
};

static int filters_open(const struct xdpi_config *cfg, struct pcap_source *src,
			struct read_filters *rf)
{
	char err[512];

	rf->own = filter_compile_file(cfg->filter, cfg->read_path, err, sizeof(err));
	if (rf->own && cfg->kernel_replay)
		rf->eth = filter_compile(cfg->filter, FILTER_DLT_ETHERNET, err, sizeof(err));
	if (!rf->own || (cfg->kernel_replay && !rf->eth)) {
		fprintf(stderr, "xdpi: --filter: %s (link type %s)\n", err,
			pcap_source_linktype(src));
		return -1;
	}
	pcap_source_set_filter(src, rf->own, cfg->kernel_replay);
	return 0;
}

static void filters_close(struct read_filters *rf)
{
	filter_free(rf->own);
	filter_free(rf->eth);
}

static int read_with_workers(const struct xdpi_config *cfg, const char *stats_json,
			     struct pcap_source *src)
{
	uint64_t counters[XDPI_C__MAX];
	struct flowtrack_stats fts;
	struct ingest_stats ins;
	struct pipeline *pl;
	struct output *out;
	char err[512];
	int rc;

	out = output_open(cfg, "jsonl:-", 0);
	if (!out)
		return 1;
	if (!cfg->quiet)
		output_report(out, stderr);
	pl = pipeline_new(cfg, out, cfg->workers);
	if (!pl) {
		output_close(out);
		return 1;
	}
	rc = pipeline_run(pl, src, err, sizeof(err)) ? 1 : 0;
	if (rc)
		fprintf(stderr, "xdpi: %s: %s; records below cover the frames before it\n",
			cfg->read_path, err);
	pipeline_totals(pl, counters, &ins, &fts);
	add_source_counts(counters, src);
	linger(cfg, out, counters, &ins, &fts);
	if (output_close(out)) {
		fprintf(stderr, "xdpi: records were not all delivered (see above)\n");
		rc = 1;
	}
	if (report(cfg, stats_json, counters, &ins, &fts, pipeline_records(pl)))
		rc = 1;
	pipeline_free(pl);
	return rc;
}

int cmd_read(const struct xdpi_config *cfg, const char *stats_json)
{
	char err[512];
	struct pcap_source *src = NULL;
	struct flowtab *table = NULL;
	struct flowstore *store = NULL;
	struct flowtrack *ft = NULL;
	struct output *out = NULL;
	struct replay *rp = NULL;
	struct ingest ingest = { .snippet_max = cfg->snippet_bytes };
	struct upath up = { 0 };
	struct flownames_annot annot = { .names = { .tab = NULL, .map_fd = -1 } };
	struct progress prog = { .on = !cfg->quiet && isatty(STDERR_FILENO) };
	struct read_filters flt = { 0 };
	uint64_t counters[XDPI_C__MAX] = { 0 };
	uint64_t next_tick = 0, now = 0;
	struct frame f;
	int rc = 1, n;

	src = pcap_source_open(cfg->read_path, err, sizeof(err));
	if (!src) {
		fprintf(stderr, "xdpi: %s\n", err);
		return 1;
	}
	if (cfg->filter && filters_open(cfg, src, &flt)) {
		rc = 2;
		goto out;
	}
	if (cfg->workers > 1 && !cfg->kernel_replay) {
		rc = read_with_workers(cfg, stats_json, src);
		goto out;
	}
	if (cfg->kernel_replay) {
		if (loader_check_privileges("read --kernel"))
			goto out;
		loader_set_verbose(cfg->verbose);
		rp = replay_open(cfg, &ingest);
		if (!rp)
			goto out;
		store = flowstore_kernel_new(replay_flows_fd(rp), 4096);
		annot.names.map_fd = replay_names_fd(rp);
	} else {
		table = flowtab_new(cfg->max_flows, sizeof(struct xdpi_flow_val));
		/* Server names as the kernel keeps them, for the same records. */
		up.names = flowtab_new(cfg->max_flows, sizeof(struct xdpi_flow_name));
		if (table && up.names)
			store = flowstore_user_new(table);
		annot.names.tab = up.names;
		up.flows = table;
		up.ingest = &ingest;
		up.snippet_bytes = cfg->snippet_bytes;
		up.snippet_pkts = cfg->snippet_pkts;
	}
	out = store ? output_open(cfg, "jsonl:-", 0) : NULL;
	if (out && !cfg->quiet)
		output_report(out, stderr);
	if (out)
		up.dpi = dpi_for(cfg, out);
	annot.dpi = up.dpi;
	if (!store || !out)
		goto out;
	{
		struct flowtrack_opts fo = {
			.idle_ns = cfg->idle_ns, .active_ns = cfg->active_ns,
			.close_grace_ns = cfg->close_grace_ns, .clock_to_epoch_ns = 0,
			.max_flows = cfg->max_flows, .ifname = "",
			.annotate = flownames_annotate_cb, .annotate_arg = &annot,
			.on_export = flownames_export_cb, .on_export_arg = &annot,
		};
		ft = flowtrack_new(&fo, store, out);
		if (!ft) {
			fprintf(stderr, "xdpi: out of memory for %u flows\n", cfg->max_flows);
			goto out;
		}
	}

	prog.start_ns = mono_ns();
	prog.next_ns = prog.start_ns + NSEC_PER_SEC;
	while ((n = pcap_source_next(src, &f, err, sizeof(err))) == 1) {
		/* Expiry runs on capture time, at the same points on both paths. */
		if (!next_tick)
			next_tick = f.ts_ns + cfg->poll_ns;
		if (f.ts_ns >= next_tick) {
			if (rp)
				replay_drain(rp);
			if (flowtrack_tick(ft, f.ts_ns)) {
				fprintf(stderr, "xdpi: reading the flow table failed\n");
				goto out;
			}
			next_tick = f.ts_ns + cfg->poll_ns;
		}
		if (f.ts_ns > now)
			now = f.ts_ns;
		if (rp) {
			if (replay_packet(rp, f.data, f.caplen, f.cut, f.ts_ns))
				goto out;
			replay_drain(rp);
			if (up.dpi && (!flt.eth ||
				       filter_match(flt.eth, f.data, f.caplen, f.caplen + f.cut)))
				replay_feed_dpi(rp, up.dpi, f.data, f.caplen, f.cut, f.ts_ns);
		} else {
			upath_packet(&up, f.data, f.caplen, f.cut, f.ts_ns);
		}
		if ((pcap_source_frames(src) & 0xfff) == 0)
			progress_tick(&prog, pcap_source_frames(src), 0);
	}
	if (n < 0)
		fprintf(stderr, "xdpi: %s: %s; records below cover the frames before it\n",
			cfg->read_path, err);
	if (rp)
		replay_drain(rp);
	if (flowtrack_tick(ft, now) || flowtrack_flush(ft)) {
		fprintf(stderr, "xdpi: reading the flow table failed\n");
		goto out;
	}
	progress_tick(&prog, pcap_source_frames(src), 1);

	if (up.dpi)
		dpi_flush_all(up.dpi); /* flows the tracker does not know (tunnelled) */
	dpi_thread_done();
	dpi_free(up.dpi);
	up.dpi = annot.dpi = NULL;
	if (rp) {
		if (replay_counters(rp, counters))
			fprintf(stderr, "xdpi: cannot read the kernel counters\n");
	} else {
		memcpy(counters, up.counters, sizeof(counters));
	}
	add_source_counts(counters, src);
	rc = n < 0 ? 1 : 0;
	linger(cfg, out, counters, &ingest.st, flowtrack_stats(ft));
	if (output_close(out)) {
		fprintf(stderr, "xdpi: records were not all delivered (see above)\n");
		rc = 1;
	}
	out = NULL;
	if (report(cfg, stats_json, counters, &ingest.st, flowtrack_stats(ft),
		   flowtrack_records(ft)))
		rc = 1;
out:
	dpi_free(up.dpi);
	if (out)
		output_close(out);
	flowtrack_free(ft);
	if (store)
		store->destroy(store);
	flowtab_free(table);
	flowtab_free(up.names);
	replay_close(rp);
	pcap_source_close(src);
	filters_close(&flt);
	return rc;
}
