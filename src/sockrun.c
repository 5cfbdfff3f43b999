#include "sockrun.h"

#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dpi.h"
#include "flownames.h"
#include "flowstore.h"
#include "flowtrack.h"
#include "ingest.h"
#include "loader.h"
#include "metrics.h"
#include "output.h"
#include "sockhook.h"
#include "signals.h"
#include "stats.h"
#include "upath.h"
#include "util.h"

struct sockrun {
	const struct xdpi_config *cfg;
	struct sockhook *hook;
	struct upath up;
	struct ingest ingest;
	struct flownames_annot annot;
	struct flowtab *table;
	struct flowstore *store;
	struct flowtrack *ft;
	struct output *out;
	uint64_t real_to_mono;  /* CLOCK_REALTIME - CLOCK_MONOTONIC at the start */
	uint64_t now;           /* monotonic time no packet time may pass */
};

/* One frame into the datapath. The kernel stamps packets with the real
 * time; flows live on the monotonic clock, as in `xdpi run`, so the
 * offset taken at the start converts them (records show the kernel's
 * times), and a time later than now (the clock was stepped) becomes now. */
static void on_frame(const struct sock_frame *f, void *arg)
{
	struct sockrun *s = arg;
	uint64_t ts = f->ts_ns > s->real_to_mono ? f->ts_ns - s->real_to_mono : 0;

	if (ts > s->now)
		s->now = mono_ns();
	if (ts > s->now || !ts)
		ts = s->now;
	upath_packet(&s->up, f->data, f->caplen, f->wire_len - f->caplen, ts);
}

/* Tables, output and parsers, as `xdpi read` sets them up. 0 or -1 (said). */
static int setup(struct sockrun *s)
{
	const struct xdpi_config *cfg = s->cfg;
	struct flowtrack_opts fo = {
		.idle_ns = cfg->idle_ns, .active_ns = cfg->active_ns,
		.close_grace_ns = cfg->close_grace_ns,
		.clock_to_epoch_ns = (int64_t)s->real_to_mono,
		.max_flows = cfg->max_flows, .ifname = cfg->ifname,
		.annotate = flownames_annotate_cb, .annotate_arg = &s->annot,
		.on_export = flownames_export_cb, .on_export_arg = &s->annot,
	};

	s->table = flowtab_new(cfg->max_flows, sizeof(struct xdpi_flow_val));
	s->up.names = flowtab_new(cfg->max_flows, sizeof(struct xdpi_flow_name));
	s->store = s->table && s->up.names ? flowstore_user_new(s->table) : NULL;
	if (!s->store) {
		fprintf(stderr, "xdpi: out of memory for %u flows\n", cfg->max_flows);
		return -1;
	}
	s->ingest.snippet_max = cfg->snippet_bytes;
	s->up.flows = s->table;
	s->up.ingest = &s->ingest;
	s->up.snippet_bytes = cfg->snippet_bytes;
	s->up.snippet_pkts = cfg->snippet_pkts;
	s->annot.names.tab = s->up.names;
	s->annot.names.map_fd = -1;
	s->out = output_open(cfg, "sqlite:xdpi.db", 1);
	if (!s->out)
		return -1;
	if (!cfg->no_dpi) {
		struct dpi_opts o = {
			.max_flows = cfg->max_flows, .reasm_bytes = cfg->reasm_bytes,
			.reasm_bufs = cfg->dpi_flows, .out = s->out,
			.clock_to_epoch_ns = (int64_t)s->real_to_mono,
		};

		s->up.dpi = s->annot.dpi = dpi_new(&o);
		if (!s->up.dpi)
			fprintf(stderr, "xdpi: no memory for protocol inspection; flows only\n");
	}
	s->ft = flowtrack_new(&fo, s->store, s->out);
	if (!s->ft) {
		fprintf(stderr, "xdpi: out of memory for %u flows\n", cfg->max_flows);
		return -1;
	}
	return 0;
}

/* Counters for `xdpi stats` (a temp file, then rename), as `xdpi run`. */
static void publish(const struct sockrun *s, const char *dir)
{
	char path[512], tmp[520];

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s.json", dir, s->cfg->ifname);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (stats_write_json(tmp, s->up.counters, &s->ingest.st, flowtrack_stats(s->ft),
			     flowtrack_records(s->ft), NULL) == 0)
		rename(tmp, path);
}

/* The metrics of prom: outputs, once per poll. */
static void publish_metrics(struct sockrun *s, const struct socket_stats *sock)
{
	struct metrics_src ms = {
		.counters = s->up.counters, .in = &s->ingest.st, .ft = flowtrack_stats(s->ft),
		.flows_open = flowtrack_open(s->ft), .flows_max = s->cfg->max_flows,
		.records = flowtrack_records(s->ft), .sock = sock,
	};

	metrics_publish(s->out, &ms);
}

static void summary(const struct sockrun *s, FILE *f)
{
	stats_print(f, s->up.counters, &s->ingest.st, flowtrack_stats(s->ft),
		    flowtrack_records(s->ft), NULL);
}

/* Reads the ring and expires flows until a signal or --duration. */
static int loop(struct sockrun *s, const char *state_dir)
{
	const struct xdpi_config *cfg = s->cfg;
	uint64_t start = mono_ns(), now = start;
	uint64_t next_tick = start + cfg->poll_ns;
	uint64_t next_stats = cfg->stats_ns ? start + cfg->stats_ns : UINT64_MAX;
	uint64_t deadline = cfg->duration_ns ? start + cfg->duration_ns : UINT64_MAX;
	int err;

	while (!stop_requested && now < deadline) {
		uint64_t wake = next_tick < deadline ? next_tick : deadline;
		int wait_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;

		/* A signal ends the wait early (poll is never restarted). */
		s->now = now;
		err = sockhook_poll(s->hook, wait_ms < 100 ? wait_ms : 100, on_frame, s);
		if (err < 0) {
			fprintf(stderr, "xdpi: reading the packet ring failed: %s\n", strerror(-err));
			return -1;
		}
		now = mono_ns();
		if (now >= next_tick) {
			if (flowtrack_tick(s->ft, now))
				fprintf(stderr, "xdpi: expiring flows failed\n");
			next_tick = now + cfg->poll_ns;
			publish_metrics(s, sockhook_stats(s->hook));
			output_flush(s->out);
			publish(s, state_dir);
		}
		if (now >= next_stats || stats_requested) {
			stats_requested = 0;
			next_stats = cfg->stats_ns ? now + cfg->stats_ns : UINT64_MAX;
			sockhook_stats(s->hook);
			summary(s, stderr);
		}
	}
	return 0;
}

/* Nothing more is copied; what the ring holds is read; every open flow
 * gets its record; the output is closed. */
static int finish(struct sockrun *s)
{
	int rc = 0;

	if (sockhook_stop(s->hook))
		fprintf(stderr, "xdpi: cannot stop the socket filter: %s\n", strerror(errno));
	s->now = mono_ns();
	if (sockhook_drain(s->hook, on_frame, s) < 0)
		rc = -1;
	if (flowtrack_tick(s->ft, mono_ns()) || flowtrack_flush(s->ft)) {
		fprintf(stderr, "xdpi: expiring flows at exit failed\n");
		rc = -1;
	}
	if (s->up.dpi)
		dpi_flush_all(s->up.dpi); /* flows the tracker does not know (tunnelled) */
	dpi_thread_done();
	dpi_free(s->up.dpi);
	s->up.dpi = s->annot.dpi = NULL;
	if (output_close(s->out)) {
		fprintf(stderr, "xdpi: records were not all delivered (see above)\n");
		rc = -1;
	}
	s->out = NULL;
	sockhook_stats(s->hook);
	return rc;
}

static void teardown(struct sockrun *s)
{
	stats_set_socket(NULL);
	sockhook_close(s->hook);
	flowtrack_free(s->ft);
	dpi_free(s->up.dpi);
	if (s->out)
		output_close(s->out);
	if (s->store)
		s->store->destroy(s->store);
	flowtab_free(s->table);
	flowtab_free(s->up.names);
}

int sockrun_main(const struct xdpi_config *cfg, const char *stats_json, const char *state_dir)
{
	struct sockrun s;
	char path[512];
	int ifindex, rc = 1;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	if (loader_check_privileges("run --hook socket"))
		return 1;
	ifindex = (int)if_nametoindex(cfg->ifname);
	if (!ifindex) {
		fprintf(stderr, "xdpi: unknown interface '%s' (see 'ip link')\n", cfg->ifname);
		return 1;
	}
	loader_set_verbose(cfg->verbose);
	s.real_to_mono = real_ns() - mono_ns();
	if (setup(&s))
		goto cleanup;
	install_signals();
	s.hook = sockhook_open(cfg, ifindex);
	if (!s.hook)
		goto cleanup;
	stats_set_socket(sockhook_stats(s.hook));
	if (!cfg->quiet)
		fprintf(stderr, "xdpi: watching %s: socket filter (program id %u) on an AF_PACKET "
			"socket, %s, %u payload bytes a packet; Ctrl-C stops\n", cfg->ifname,
			sockhook_prog_id(s.hook), cfg->no_egress ? "received packets" : "both directions",
			cfg->snippet_bytes);
	if (state_dir && mkdir(state_dir, 0755) && errno != EEXIST)
		state_dir = NULL;
	rc = loop(&s, state_dir) ? 1 : 0;
	if (finish(&s))
		rc = 1;
	if (!cfg->quiet)
		summary(&s, stderr);
	if (stats_json && stats_write_json(stats_json, s.up.counters, &s.ingest.st,
					   flowtrack_stats(s.ft), flowtrack_records(s.ft), NULL)) {
		fprintf(stderr, "xdpi: cannot write %s\n", stats_json);
		rc = 1;
	}
	if (state_dir) {
		snprintf(path, sizeof(path), "%s/%s.json", state_dir, cfg->ifname);
		unlink(path);
	}
cleanup:
	teardown(&s);
	return rc;
}
