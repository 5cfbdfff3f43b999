/* `xdpi run -i IFACE`: load, attach, consume events, poll and expire flows,
 * and on SIGINT/SIGTERM detach first, then drain and flush. */
#include "run.h"

#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "afxdp.h"
#include "flownames.h"
#include "flowstore.h"
#include "flowtrack.h"
#include "engine.h"
#include "ingest.h"
#include "loader.h"
#include "output.h"
#include "stats.h"
#include "pin.h"
#include "rules.h"
#include "metrics.h"
#include "signals.h"
#include "sockrun.h"
#include "transport.h"
#include "util.h"
#include "xdpi.skel.h"

static void state_path(char *buf, size_t len, const char *dir, const char *ifname)
{
	snprintf(buf, len, "%s/%s.json", dir, ifname);
}

/* Everything the summary, `xdpi stats` and --stats-json show, read now. */
struct snapshot {
	uint64_t counters[XDPI_C__MAX];
	struct ingest_stats in;
	struct engine_stats es;
};

static void snapshot(struct snapshot *s, struct xdpi_bpf *skel, struct engine *e)
{
	counters_read_kernel(bpf_map__fd(skel->maps.counters), s->counters);
	engine_totals(e, &s->in, &s->es);
}

/* The metrics of prom: outputs, once per poll. */
static void publish_metrics(struct output *out, const struct snapshot *s, struct flowtrack *ft,
			    struct engine *eng, const struct xdpi_config *cfg)
{
	struct metrics_src ms = {
		.counters = s->counters, .in = &s->in, .ft = flowtrack_stats(ft), .es = &s->es,
		.eng = eng, .flows_open = flowtrack_open(ft), .flows_max = cfg->max_flows,
		.records = flowtrack_records(ft),
	};

	metrics_publish(out, &ms);
}

/* One line, rewritten in place, while stderr is a terminal: the default
 * `run` writes to a database, so this is what the user sees. */
static void live_line(const struct snapshot *s, struct flowtrack *ft, uint64_t *last_pkts,
		      uint64_t *last_ns, uint64_t now)
{
	uint64_t pkts = s->counters[XDPI_C_PACKETS];
	double secs = *last_ns ? (double)(now - *last_ns) / 1e9 : 0;

	fprintf(stderr, "\r\033[K%.0f packets/s, %llu packets, %u flows open, %llu records",
		secs > 0 ? (double)(pkts - *last_pkts) / secs : 0.0, (unsigned long long)pkts,
		flowtrack_open(ft), (unsigned long long)flowtrack_records(ft));
	*last_pkts = pkts;
	*last_ns = now;
}

/* Publishes counters for `xdpi stats` (write to a temp file, then rename). */
static void publish(const char *dir, const char *ifname, const struct snapshot *s,
		    const struct flowtrack *ft)
{
	char path[512], tmp[520];

	if (!dir)
		return;
	state_path(path, sizeof(path), dir, ifname);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (stats_write_json(tmp, s->counters, &s->in, flowtrack_stats(ft),
			     flowtrack_records(ft), &s->es) == 0)
		rename(tmp, path);
}

struct run_ctx {
	struct engine *eng;
	int verdict_fd;
	struct xdpi_verdict vd;
	int had_verdict;    /* the flow just annotated has a verdict entry */
	struct flownames names; /* the kernel's flow_names */
};

/* Live flow records carry what the workers found: the kernel copied the
 * classification into the flow entry, and the verdict names the server. A
 * flow that ended before the kernel saw its verdict has it only here. A
 * flow the workers did not name (no snippets: shed, sampled out, off) may
 * have the name the kernel found in one packet. */
static void annotate(const struct xdpi_flow_key *k, struct flow_record *r, void *arg)
{
	struct run_ctx *rc = arg;
	struct xdpi_flow_name n;

	rc->had_verdict = 0;
	if (rc->verdict_fd >= 0 && !bpf_map_lookup_elem(rc->verdict_fd, k, &rc->vd)) {
		rc->had_verdict = 1;
		if (!r->app_proto)
			r->app_proto = rc->vd.app_proto;
		if (r->app_proto == APP_HTTP)
			snprintf(r->host, sizeof(r->host), "%s", rc->vd.name);
		else
			snprintf(r->sni, sizeof(r->sni), "%s", rc->vd.name);
	}
	if (!flownames_get(&rc->names, k, &n))
		flownames_fill(r, &n);
}

static void flow_done(const struct xdpi_flow_key *k, void *arg)
{
	struct run_ctx *rc = arg;

	if (rc->had_verdict)
		bpf_map_delete_elem(rc->verdict_fd, k);
	rc->had_verdict = 0;
	flownames_forget(&rc->names, k);
	engine_flow_done(rc->eng, k);
}

static void rules_json(FILE *f, void *arg)
{
	rules_write_json(f, arg);
}

/* Rules and accounting sampling from the command line, and the pins that
 * let `xdpi rules` and `xdpi sample` change them while this runs. 1 when
 * pinned, 0 when there is nowhere to pin, -1 on failure (printed). */
static int set_policy(const struct xdpi_config *cfg, struct xdpi_bpf *skel,
		      const struct ruleset *rules, struct rule_maps *m)
{
	struct xdpi_config_map pol = { 0 };

	pin_skel_maps(skel, m);
	pol.pkt_sample = cfg->pkt_sample > 1 ? cfg->pkt_sample : 0;
	pol.flow_sample = cfg->flow_sample > 1 ? cfg->flow_sample : 0;
	pol.afxdp = cfg->capture_afxdp ? 1 : 0;
	if (policy_set(m->config, &pol)) {
		fprintf(stderr, "xdpi: cannot write the config map: %s\n", strerror(errno));
		return -1;
	}
	if (!pin_available()) {
		fprintf(stderr, "xdpi: /sys/fs/bpf is not a BPF filesystem here, so `xdpi rules` and "
			"`xdpi sample` cannot reach this instance (mount -t bpf bpf /sys/fs/bpf)\n");
		return rules_install(rules, m) ? -1 : 0;
	}
	if (pin_maps(skel, cfg->ifname))
		return -1;
	if (rules_install(rules, m)) {
		pin_remove(cfg->ifname);
		return -1;
	}
	return 1;
}

int cmd_run(const struct xdpi_config *cfg, const char *stats_json, const char *state_dir)
{
	struct ruleset rules = { 0 };
	struct rule_maps rmaps;
	int pinned = 0;
	struct attachment att = { -1, -1, -1, NULL };
	struct snapshot snap;
	struct engine *eng = NULL;
	struct xdpi_bpf *skel = NULL;
	struct transport *tp = NULL;
	struct afxdp *ax = NULL;
	struct run_ctx rctx = { .verdict_fd = -1, .names = { .tab = NULL, .map_fd = -1 } };
	struct flowstore *store = NULL;
	struct flowtrack *ft = NULL;
	struct output *out = NULL;
	uint64_t start, next_tick, next_stats, deadline, line_pkts = 0, line_ns = 0;
	int show_line;
	int ifindex, rc = 1;
	char path[512];

	if (cfg->hook_socket) /* no XDP/TC: a socket filter and the user-space path */
		return sockrun_main(cfg, stats_json, state_dir);
	if (cfg->rules_path) {
		char err[512];

		if (rules_load_file(cfg->rules_path, &rules, err, sizeof(err))) {
			fprintf(stderr, "xdpi: %s\n", err);
			return 2;
		}
	}
	if (loader_check_privileges("run")) {
		rules_free(&rules);
		return 1;
	}
	ifindex = (int)if_nametoindex(cfg->ifname);
	if (!ifindex) {
		fprintf(stderr, "xdpi: unknown interface '%s' (see 'ip link')\n", cfg->ifname);
		return 1;
	}
	loader_set_verbose(cfg->verbose);
	skel = loader_load(cfg, 0);
	if (!skel) {
		rules_free(&rules);
		return 1;
	}
	pinned = set_policy(cfg, skel, &rules, &rmaps);
	if (pinned < 0) {
		pinned = 0;
		goto cleanup;
	}
	stats_set_extra(rules_json, &rmaps);
	out = output_open(cfg, "sqlite:xdpi.db", 1);
	if (!out)
		goto cleanup;
	tp = transport_open(skel, cfg);
	if (!tp)
		goto cleanup;
	/* Sockets before the program: its first redirect finds them. */
	if (cfg->capture_afxdp) {
		ax = afxdp_open(cfg, bpf_map__fd(skel->maps.xsks));
		if (!ax)
			goto cleanup;
		if (!cfg->quiet)
			fprintf(stderr, "xdpi: AF_XDP on %s: %d queue%s, %s mode\n", cfg->ifname,
				afxdp_nqueues(ax), afxdp_nqueues(ax) == 1 ? "" : "s", afxdp_mode(ax));
	}
	eng = engine_new(cfg, bpf_map__fd(skel->maps.verdicts), bpf_map__fd(skel->maps.config));
	if (eng && ax)
		engine_set_afxdp(eng, ax);
	/* Without the parsers there is nothing to look up per exported flow. */
	rctx.verdict_fd = cfg->no_dpi ? -1 : bpf_map__fd(skel->maps.verdicts);
	rctx.names.map_fd = bpf_map__fd(skel->maps.flow_names);
	if (!eng || engine_start_ingest(eng, tp))
		goto cleanup;
	rctx.eng = eng;
	store = flowstore_kernel_new(bpf_map__fd(skel->maps.flows), 4096);
	if (!store) {
		fprintf(stderr, "xdpi: cannot set up the flow map reader: %s\n", strerror(errno));
		goto cleanup;
	}
	{
		struct flowtrack_opts fo = {
			.idle_ns = cfg->idle_ns, .active_ns = cfg->active_ns,
			.close_grace_ns = cfg->close_grace_ns,
			.clock_to_epoch_ns = (int64_t)(real_ns() - mono_ns()),
			.max_flows = cfg->max_flows, .ifname = cfg->ifname,
			.on_export = flow_done, .on_export_arg = &rctx,
			.annotate = annotate, .annotate_arg = &rctx,
			.report_sampling = cfg->transport != XDPI_TRANSPORT_NONE,
		};
		ft = flowtrack_new(&fo, store, out);
		if (!ft) {
			fprintf(stderr, "xdpi: out of memory for %u flows\n", cfg->max_flows);
			goto cleanup;
		}
	}
	install_signals();
	if (loader_attach(skel, cfg, ifindex, &att))
		goto cleanup;
	if (!cfg->quiet)
		fprintf(stderr, "xdpi: watching %s: ingress %s%s%s, egress %s; Ctrl-C stops\n",
			cfg->ifname, cfg->ingress_tc ? "TC" : "XDP",
			att.xdp_mode ? " " : "", att.xdp_mode ? att.xdp_mode : "",
			cfg->no_egress ? "off" : "TC");
	if (state_dir && mkdir(state_dir, 0755) && errno != EEXIST)
		state_dir = NULL;

	show_line = !cfg->quiet && !cfg->stats_ns && isatty(STDERR_FILENO);
	start = mono_ns();
	next_tick = start + cfg->poll_ns;
	next_stats = cfg->stats_ns ? start + cfg->stats_ns : UINT64_MAX;
	deadline = cfg->duration_ns ? start + cfg->duration_ns : UINT64_MAX;
	while (!stop_requested) {
		struct timespec nap = { 0, 20 * 1000 * 1000 };
		uint64_t now;

		/* Ingestion threads read the events; this thread moves records
		 * to the sink, expires flows and keeps the counters. */
		nanosleep(&nap, NULL);
		engine_publish(eng);
		engine_drain(eng, out);
		now = mono_ns();
		if (now >= next_tick) {
			if (flowtrack_tick(ft, now))
				fprintf(stderr, "xdpi: reading the flow map failed: %s\n",
					strerror(errno));
			next_tick = now + cfg->poll_ns;
			engine_publish(eng);
			engine_adapt(eng);
			snapshot(&snap, skel, eng);
			publish_metrics(out, &snap, ft, eng, cfg);
			output_flush(out);
			publish(state_dir, cfg->ifname, &snap, ft);
			if (show_line)
				live_line(&snap, ft, &line_pkts, &line_ns, now);
		}
		if (now >= next_stats || stats_requested) {
			stats_requested = 0;
			next_stats = cfg->stats_ns ? now + cfg->stats_ns : UINT64_MAX;
			snapshot(&snap, skel, eng);
			stats_print(stderr, snap.counters, &snap.in, flowtrack_stats(ft),
				    flowtrack_records(ft), &snap.es);
		}
		if (now >= deadline)
			break;
	}

	/* Detach first: from here the counters can only be read, not grow. */
	loader_detach(&att);
	engine_stop_ingest(eng);
	engine_publish(eng);
	if (flowtrack_tick(ft, mono_ns()) || flowtrack_flush(ft))
		fprintf(stderr, "xdpi: reading the flow map at exit failed: %s\n", strerror(errno));
	engine_stop(eng);
	engine_drain(eng, out);
	snapshot(&snap, skel, eng);
	publish_metrics(out, &snap, ft, eng, cfg);
	output_flush(out);
	if (show_line)
		fputc('\n', stderr);
	rc = 0;
	if (!cfg->quiet) {
		stats_print(stderr, snap.counters, &snap.in, flowtrack_stats(ft),
			    flowtrack_records(ft), &snap.es);
		rules_list(stderr, &rmaps, "  ");
		output_report(out, stderr);
	}
	if (stats_json && stats_write_json(stats_json, snap.counters, &snap.in, flowtrack_stats(ft),
					   flowtrack_records(ft), &snap.es)) {
		fprintf(stderr, "xdpi: cannot write %s\n", stats_json);
		rc = 1;
	}
	if (state_dir) {
		state_path(path, sizeof(path), state_dir, cfg->ifname);
		unlink(path);
	}
cleanup:
	loader_detach(&att);
	if (out && output_close(out)) {
		fprintf(stderr, "xdpi: records were not all delivered (see above)\n");
		rc = 1;
	}
	flowtrack_free(ft);
	if (store)
		store->destroy(store);
	engine_free(eng);
	afxdp_close(ax);
	transport_close(tp);
	stats_set_extra(NULL, NULL);
	if (pinned)
		pin_remove(cfg->ifname);
	rules_free(&rules);
	loader_close(skel);
	return rc;
}

int cmd_stats(const struct xdpi_config *cfg, const char *state_dir)
{
	char path[512], buf[8192];
	size_t n;
	FILE *f;

	state_path(path, sizeof(path), state_dir, cfg->ifname);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "xdpi: no running 'xdpi run -i %s' found (%s: %s)\n", cfg->ifname,
			path, strerror(errno));
		return 1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* One "name":value per line, easy for people and for grep. */
	for (char *p = buf; *p; p++) {
		if (*p == '{' || *p == '}' || *p == '"')
			continue;
		if (*p == ',') {
			putchar('\n');
			continue;
		}
		putchar(*p == ':' ? '\t' : *p);
	}
	return 0;
}
