#include "replay.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dpi.h"
#include "flowstore.h"
#include "flowtrack.h"
#include "loader.h"
#include "xdpi/flow.h"
#include "stats.h"
#include "transport.h"
#include "xdpi.skel.h"

#define REPLAY_MAX (256 * 1024)

struct replay {
	struct xdpi_bpf *skel;
	struct transport *tp;
	struct transport_reader *rd;
	int prog_fd;
	uint8_t *buf;
	uint64_t too_short;  /* frames under an Ethernet header: test_run refuses them */
	uint64_t too_long;
	void *percpu;        /* one flow's per-CPU values */
	int ncpus;
};

struct replay *replay_open(const struct xdpi_config *cfg, struct ingest *ingest)
{
	struct replay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	/* One CPU for the whole capture: every flow then lives in one per-CPU
	 * copy, whose TCP sequence tracking sees all its packets, as the
	 * user-space path does. */
	{
		cpu_set_t set;
		int cpu = sched_getcpu();

		CPU_ZERO(&set);
		if (cpu >= 0) {
			CPU_SET(cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
	}
	r->buf = malloc(REPLAY_MAX + sizeof(struct xdpi_replay_meta));
	r->skel = loader_load(cfg, 1);
	if (!r->buf || !r->skel)
		goto fail;
	r->prog_fd = bpf_program__fd(r->skel->progs.xdpi_xdp);
	r->ncpus = libbpf_num_possible_cpus();
	r->percpu = calloc((size_t)(r->ncpus > 0 ? r->ncpus : 1), (sizeof(struct xdpi_flow_val) + 7) & ~(size_t)7);
	if (!r->percpu)
		goto fail;
	r->tp = transport_open(r->skel, cfg);
	r->rd = r->tp ? transport_reader_new(r->tp, 0, 1, ingest_ringbuf_cb, ingest) : NULL;
	if (!r->rd)
		goto fail;
	return r;
fail:
	replay_close(r);
	return NULL;
}

int replay_packet(struct replay *r, const uint8_t *frame, uint32_t caplen,
		  uint32_t cut, uint64_t ts)
{
	struct xdpi_replay_meta meta = { .ts_ns = ts, .magic = XDPI_META_TS_MAGIC, .cut = cut };
	struct xdp_md ctx = { 0 };
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts);
	uint32_t size;

	if (caplen < 14) {
		r->too_short++;
		return 0;
	}
	if (caplen > REPLAY_MAX) {
		meta.cut += caplen - REPLAY_MAX;
		caplen = REPLAY_MAX;
		r->too_long++;
	}
	size = (uint32_t)sizeof(meta) + caplen;
	memcpy(r->buf, &meta, sizeof(meta));
	memcpy(r->buf + sizeof(meta), frame, caplen);
	ctx.data = sizeof(meta);
	ctx.data_end = size;
	opts.data_in = r->buf;
	opts.data_size_in = size;
	opts.ctx_in = &ctx;
	opts.ctx_size_in = sizeof(ctx);
	opts.repeat = 1;
	if (bpf_prog_test_run_opts(r->prog_fd, &opts)) {
		int err = -errno;

		fprintf(stderr, "xdpi: the kernel refused to run a %u-byte frame: %s\n", caplen,
			strerror(errno));
		return err;
	}
	return 0;
}

void replay_feed_dpi(struct replay *r, struct dpi *d, const uint8_t *frame, uint32_t caplen,
		     uint32_t cut, uint64_t ts)
{
	struct xdpi_flow_key key;
	struct xdpi_flow_val v;
	struct xdpi_pkt p;
	uint8_t dir;

	if (xdpi_parse((void *)frame, (void *)(frame + caplen), cut, &p) != XDPI_P_FLOW ||
	    !(p.payload_len || (p.tcp_flags & XDPI_TCP_SYN)))
		return;
	dir = xdpi_flow_key_from_pkt(&p, &key);
	if (bpf_map_lookup_elem(bpf_map__fd(r->skel->maps.flows), &key, r->percpu))
		return;
	flow_val_merge(&v, r->percpu, r->ncpus, (sizeof(v) + 7) & ~(size_t)7);
	dpi_packet(d, &key, flowtrack_flow_id(&key, v.first_ns), dir, v.first_dir, &p, frame, ts);
}

void replay_drain(struct replay *r)
{
	transport_reader_consume(r->rd);
}

int replay_flows_fd(const struct replay *r)
{
	return bpf_map__fd(r->skel->maps.flows);
}

int replay_names_fd(const struct replay *r)
{
	return bpf_map__fd(r->skel->maps.flow_names);
}

int replay_counters(struct replay *r, uint64_t *out)
{
	int err = counters_read_kernel(bpf_map__fd(r->skel->maps.counters), out);

	if (err)
		return err;
	/* Frames test_run cannot take never reached the kernel: the user-space
	 * parser would count them as truncated Ethernet. */
	out[XDPI_C_PACKETS] += r->too_short;
	out[XDPI_C_TRUNC_L2] += r->too_short;
	return 0;
}

void replay_close(struct replay *r)
{
	if (!r)
		return;
	transport_reader_free(r->rd);
	transport_close(r->tp);
	free(r->percpu);
	if (r->skel)
		loader_close(r->skel);
	free(r->buf);
	free(r);
}
