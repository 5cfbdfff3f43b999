#include "pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include "dpi.h"
#include "flownames.h"
#include "flowstore.h"
#include "mem.h"
#include "spsc.h"
#include "upath.h"
#include "util.h"
#include "xdpi/parse.h"

#define RING_BYTES   (4u << 20)  /* frames in flight per worker */
#define REC_BYTES    (4u << 20)  /* records in flight per worker */
#define PUBLISH_EVERY 32

enum item_kind { ITEM_FRAME = 1, ITEM_TICK, ITEM_END };

struct item_frame {
	uint64_t ts;
	const uint8_t *data;  /* stable frame, or NULL: the bytes follow */
	uint32_t caplen;
	uint32_t cut;
};

struct worker {
	pthread_t th;
	int started;
	struct spsc in;
	struct output *out;       /* queue front towards the output thread */
	struct flowtab *table;
	struct flowstore *store;
	struct flowtrack *ft;
	struct ingest ingest;
	struct upath up;
	struct flownames_annot annot; /* the parsers' findings and server names */
	uint32_t unpublished;     /* reader side */
	_Atomic int done;
};

struct pipeline {
	const struct xdpi_config *cfg;
	struct xdpi_config wcfg;  /* each worker's share of the tables */
	int n;
	uint64_t first_share;     /* worker 0's part of the 32-bit hash space */
	struct worker *w;
	struct output *sink;
	pthread_t out_th;
	int out_started;
	_Atomic int stop_output;
};

static void pause_briefly(unsigned *idle)
{
	struct timespec ts = { 0, 20000 };

	if (++*idle < 64)
		sched_yield();
	else
		nanosleep(&ts, NULL);
}

static void worker_finish(struct worker *w, uint64_t now)
{
	flowtrack_tick(w->ft, now);
	flowtrack_flush(w->ft);
	if (w->up.dpi)
		dpi_flush_all(w->up.dpi);
	dpi_thread_done();
	output_flush(w->out);
	atomic_store_explicit(&w->done, 1, memory_order_release);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned idle = 0;

	for (;;) {
		uint32_t len, kind;
		const void *it = spsc_peek(&w->in, &len, &kind);

		if (!it) {
			spsc_release(&w->in);
			output_flush(w->out);
			pause_briefly(&idle);
			continue;
		}
		idle = 0;
		if (kind == ITEM_FRAME) {
			const struct item_frame *f = it;
			const uint8_t *data = f->data ? f->data : (const uint8_t *)(f + 1);

			upath_packet(&w->up, data, f->caplen, f->cut, f->ts);
		} else if (kind == ITEM_TICK) {
			flowtrack_tick(w->ft, *(const uint64_t *)it);
		} else {
			uint64_t now = *(const uint64_t *)it;

			spsc_consume(&w->in);
			spsc_release(&w->in);
			worker_finish(w, now);
			return NULL;
		}
		spsc_consume(&w->in);
	}
}

static void *output_main(void *arg)
{
	struct pipeline *pl = arg;

	for (;;) {
		int moved = 0, all_done = 1;

		for (int i = 0; i < pl->n; i++) {
			/* Read done before draining: a done worker has published all. */
			int done = atomic_load_explicit(&pl->w[i].done, memory_order_acquire);

			moved += output_drain(pl->w[i].out, pl->sink);
			all_done &= done;
		}
		if (all_done && !moved)
			return NULL;
		if (!moved) {
			/* The workers have the cores; records wait in their
			 * queues (a full one makes its worker yield to us). */
			struct timespec nap = { 0, 500000 };

			nanosleep(&nap, NULL);
		}
	}
}

static int worker_init(struct worker *w, const struct xdpi_config *cfg)
{
	void *buf = mem_alloc_big(RING_BYTES);
	struct flowtrack_opts fo = {
		.idle_ns = cfg->idle_ns, .active_ns = cfg->active_ns,
		.close_grace_ns = cfg->close_grace_ns, .max_flows = cfg->max_flows,
		.ifname = "",
		.annotate = flownames_annotate_cb, .annotate_arg = &w->annot,
		.on_export = flownames_export_cb, .on_export_arg = &w->annot,
	};

	if (!buf)
		return -1;
	spsc_init(&w->in, buf, RING_BYTES);
	w->out = output_queue_new(REC_BYTES);
	if (w->out && !cfg->no_dpi) {
		struct dpi_opts dopts = {
			.max_flows = cfg->max_flows, .reasm_bytes = cfg->reasm_bytes,
			.reasm_bufs = cfg->dpi_flows, .out = w->out,
		};

		w->up.dpi = dpi_new(&dopts);
		if (!w->up.dpi)
			return -1;
	}
	w->up.names = flowtab_new(cfg->max_flows, sizeof(struct xdpi_flow_name));
	if (!w->up.names)
		return -1;
	w->annot.dpi = w->up.dpi;
	w->annot.names.tab = w->up.names;
	w->annot.names.map_fd = -1;
	w->table = flowtab_new(cfg->max_flows, sizeof(struct xdpi_flow_val));
	w->store = w->table ? flowstore_user_new(w->table) : NULL;
	w->ft = w->store && w->out ? flowtrack_new(&fo, w->store, w->out) : NULL;
	if (!w->ft)
		return -1;
	w->ingest.snippet_max = cfg->snippet_bytes;
	w->up.flows = w->table;
	w->up.ingest = &w->ingest;
	w->up.snippet_bytes = cfg->snippet_bytes;
	w->up.snippet_pkts = cfg->snippet_pkts;
	return 0;
}

static int start_dispatching(struct pipeline *pl);

static uint32_t share(uint32_t total, int n)
{
	uint64_t s = (uint64_t)total * 3 / (2 * (uint64_t)n);

	return s < 1024 ? (total < 1024 ? total : 1024) : (uint32_t)s;
}

struct pipeline *pipeline_new(const struct xdpi_config *cfg, struct output *sink, int n)
{
	struct pipeline *pl = calloc(1, sizeof(*pl));

	if (!pl)
		goto fail;
	pl->cfg = cfg;
	pl->sink = sink;
	pl->n = n;
	/* Flows are spread over the workers by hash: each table holds its
	 * share with half again as slack for an uneven spread, rather than
	 * every worker sizing (and zeroing) the whole. */
	pl->wcfg = *cfg;
	pl->first_share = n > 1 ? (uint64_t)((double)(1ULL << 32) * 0.8 / n) : 1ULL << 32;
	if (n > 1) {
		pl->wcfg.max_flows = share(cfg->max_flows, n);
		pl->wcfg.dpi_flows = share(cfg->dpi_flows, n);
	}
	pl->w = aligned_alloc(SPSC_CACHELINE, sizeof(*pl->w) * (size_t)n);
	if (!pl->w)
		goto fail;
	memset(pl->w, 0, sizeof(*pl->w) * (size_t)n);
	for (int i = 0; i < n; i++)
		if (worker_init(&pl->w[i], &pl->wcfg))
			goto fail;
	if (start_dispatching(pl))
		goto fail;
	if (pthread_create(&pl->out_th, NULL, output_main, pl))
		goto fail;
	pl->out_started = 1;
	return pl;
fail:
	fprintf(stderr, "xdpi: cannot set up %d workers: %s\n", n, strerror(errno ? errno : ENOMEM));
	pipeline_free(pl);
	return NULL;
}

/* Claims room in a worker's ring, waiting for the worker when it is full. */
static void *claim(struct worker *w, uint32_t len, uint32_t kind)
{
	void *p;
	unsigned idle = 0;

	while (!(p = spsc_claim(&w->in, len, kind))) {
		spsc_publish(&w->in);
		w->unpublished = 0;
		pause_briefly(&idle);
	}
	return p;
}

static void publish(struct worker *w)
{
	spsc_publish(&w->in);
	w->unpublished = 0;
}

/* Shard of a flow: a hash that is the same for both directions (XOR of the
 * endpoints) of the fields of the canonical key. The reader computes it from
 * raw headers for plain TCP/UDP over IPv4/IPv6, and from a full parse for
 * everything else; both give the same value for the same flow, so every
 * frame of a flow reaches the same worker while the reader stays cheap. */
static uint64_t shard_hash(const uint8_t *a, const uint8_t *b, int words, uint16_t sport,
			   uint16_t dport, uint8_t proto, uint16_t vlan)
{
	uint64_t x = (uint64_t)proto << 32 | (uint64_t)vlan << 16 | (uint16_t)(sport ^ dport);

	for (int i = 0; i < words; i++) {
		uint32_t wa, wb;

		memcpy(&wa, a + 4 * i, 4);
		memcpy(&wb, b + 4 * i, 4);
		x = (x ^ (wa ^ wb)) * 0x9e3779b97f4a7c15ULL;
	}
	return x ^ (x >> 29);
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t frame_shard(const struct frame *f)
{
	const uint8_t *d = f->data;
	struct xdpi_pkt p;

	if (f->caplen >= 14 + 20 + 4 && be16(d + 12) == 0x0800 && d[14] == 0x45 &&
	    !(be16(d + 20) & 0x3fff) && (d[23] == 6 || d[23] == 17) &&
	    be16(d + 16) >= 24) {
		const uint8_t *l4 = d + 34;

		return shard_hash(d + 26, d + 30, 1, be16(l4), be16(l4 + 2), d[23],
				  XDPI_VLAN_NONE);
	}
	if (f->caplen >= 14 + 40 + 4 && be16(d + 12) == 0x86DD && (d[20] == 6 || d[20] == 17) &&
	    be16(d + 18) >= 4 && (d[14] >> 4) == 6) {
		const uint8_t *l4 = d + 54;

		return shard_hash(d + 22, d + 38, 4, be16(l4), be16(l4 + 2), d[20],
				  XDPI_VLAN_NONE);
	}
	if (xdpi_parse((void *)d, (void *)(d + f->caplen), f->cut, &p) != XDPI_P_FLOW)
		return 0;
	return shard_hash(p.src, p.dst, p.family == 4 ? 1 : 4, p.sport, p.dport, p.proto, p.vlan);
}

/* The worker of a flow. Worker 0 shares its core with the reader, so it
 * owns a smaller share of the hash space (0.8 / n of it). */
static struct worker *owner_of(struct pipeline *pl, const struct frame *f)
{
	uint64_t h = frame_shard(f) >> 32, first = pl->first_share;

	if (h < first)
		return &pl->w[0];
	return &pl->w[1 + ((h - first) * (uint64_t)(pl->n - 1)) / ((1ULL << 32) - first)];
}

static void dispatch(struct worker *w, const struct frame *f)
{
	uint32_t extra = f->stable ? 0 : f->caplen;
	struct item_frame *it = claim(w, (uint32_t)sizeof(*it) + extra, ITEM_FRAME);

	it->ts = f->ts_ns;
	it->caplen = f->caplen;
	it->cut = f->cut;
	if (f->stable) {
		it->data = f->data;
	} else {
		it->data = NULL;
		memcpy(it + 1, f->data, f->caplen);
	}
	if (++w->unpublished >= PUBLISH_EVERY)
		publish(w);
}

/* Worker 0 runs on the calling thread, beside the reader; the others get
 * threads of their own. */
static int start_dispatching(struct pipeline *pl)
{
	for (int i = 1; i < pl->n; i++) {
		if (pthread_create(&pl->w[i].th, NULL, worker_main, &pl->w[i]))
			return -1;
		pl->w[i].started = 1;
	}
	return 0;
}

/* Anything else (pcapng through libpcap): this thread reads and hands
 * each frame to its flow's worker. */
static void tick_all(struct pipeline *pl, enum item_kind kind, uint64_t ts)
{
	for (int i = 1; i < pl->n; i++) {
		*(uint64_t *)claim(&pl->w[i], sizeof(ts), kind) = ts;
		publish(&pl->w[i]);
	}
}

/* The calling thread reads, takes worker 0's frames itself and hands the
 * others to their workers; expiry ticks reach every worker at the same
 * capture-time points as in the one-thread path. */
static int run_dispatching(struct pipeline *pl, struct pcap_source *src, char *err, size_t errlen)
{
	struct worker *w0 = &pl->w[0];
	uint64_t next_tick = 0, now = 0;
	struct frame f;
	int n;

	while ((n = pcap_source_next(src, &f, err, errlen)) == 1) {
		struct worker *w;

		if (!next_tick)
			next_tick = f.ts_ns + pl->cfg->poll_ns;
		if (f.ts_ns >= next_tick) {
			tick_all(pl, ITEM_TICK, f.ts_ns);
			flowtrack_tick(w0->ft, f.ts_ns);
			next_tick = f.ts_ns + pl->cfg->poll_ns;
		}
		if (f.ts_ns > now)
			now = f.ts_ns;
		w = owner_of(pl, &f);
		if (w == w0)
			upath_packet(&w0->up, f.data, f.caplen, f.cut, f.ts_ns);
		else
			dispatch(w, &f);
	}
	tick_all(pl, ITEM_END, now);
	worker_finish(w0, now);
	for (int i = 1; i < pl->n; i++) {
		pthread_join(pl->w[i].th, NULL);
		pl->w[i].started = 0;
	}
	return n < 0 ? -1 : 0;
}

int pipeline_run(struct pipeline *pl, struct pcap_source *src, char *err, size_t errlen)
{
	int rc = run_dispatching(pl, src, err, errlen);

	pthread_join(pl->out_th, NULL);
	pl->out_started = 0;
	return rc;
}

void pipeline_totals(const struct pipeline *pl, uint64_t *c, struct ingest_stats *in,
		     struct flowtrack_stats *ft)
{
	memset(c, 0, sizeof(uint64_t) * XDPI_C__MAX);
	memset(in, 0, sizeof(*in));
	memset(ft, 0, sizeof(*ft));
	for (int i = 0; i < pl->n; i++) {
		const struct worker *w = &pl->w[i];
		const struct flowtrack_stats *s = flowtrack_stats(w->ft);

		for (int k = 0; k < XDPI_C__MAX; k++)
			c[k] += w->up.counters[k];
		in->flow_start += w->ingest.st.flow_start;
		in->flow_end += w->ingest.st.flow_end;
		in->snippets += w->ingest.st.snippets;
		in->snippet_bytes += w->ingest.st.snippet_bytes;
		in->malformed += w->ingest.st.malformed;
		for (int k = 0; k <= END_SHUTDOWN; k++)
			ft->records[k] += s->records[k];
		ft->flows_exported += s->flows_exported;
		ft->evicted += s->evicted;
		ft->scan_errors += s->scan_errors;
	}
}

uint64_t pipeline_records(const struct pipeline *pl)
{
	uint64_t n = 0;

	for (int i = 0; i < pl->n; i++)
		n += output_records(pl->w[i].out);
	return n;
}

void pipeline_free(struct pipeline *pl)
{
	if (!pl)
		return;
	if (pl->w) {
		for (int i = 0; i < pl->n; i++) {
			struct worker *w = &pl->w[i];

			if (w->started) {
				pthread_cancel(w->th);
				pthread_join(w->th, NULL);
			}
		}
	}
	if (pl->out_started) {
		pthread_cancel(pl->out_th);
		pthread_join(pl->out_th, NULL);
	}
	for (int i = 0; pl->w && i < pl->n; i++) {
		struct worker *w = &pl->w[i];

		flowtrack_free(w->ft);
		dpi_free(w->up.dpi);
		if (w->store)
			w->store->destroy(w->store);
		flowtab_free(w->table);
		flowtab_free(w->up.names);
		output_close(w->out);
		mem_free_big(w->in.buf, RING_BYTES);
	}
	free(pl->w);
	free(pl);
}
