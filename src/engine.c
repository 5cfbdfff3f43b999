#include "engine.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dpi.h"
#include "flowtab.h"
#include "flowtrack.h"
#include "output.h"
#include "mem.h"
#include "sink/sink.h"
#include "spsc.h"
#include "transport.h"
#include "util.h"

#define CTL_RING_BYTES (1u << 20)
/* Longest a reader sleeps between looks at its buffers (the kernel wakes
 * it sooner once a quarter of a buffer is queued): bounds how late events,
 * and so verdicts, can be; a hundred wake-ups a second cost nothing. */
#define INGEST_WAIT_MS 10
#define MAX_WORKERS 64
/* An ingestion thread reading AF_XDP sockets yields its CPU after this many
 * frames in a row (see ingest_main). */
#define YIELD_FRAMES 1024

enum { MSG_EVENT = 1, MSG_FLOW_DONE, MSG_STOP };

/* What a worker keeps per flow between events; the protocol parsers hang
 * their state here. Kept small: it exists for every flow with events. */
struct flow_state {
	uint64_t first_ns;
	uint64_t last_ns;
	uint32_t snippets[2];
	uint32_t snippet_bytes[2];
	uint8_t ended[2];       /* FIN or RST seen per direction */
	uint8_t first_dir;      /* of the flow's first packet */
	uint8_t _pad[5];
};

struct worker {
	pthread_t th;
	int started;
	int index;
	int nrings;             /* one per producer: ingestion threads, then control */
	int verdict_fd;
	const struct xdpi_config *cfg;
	struct spsc *rings;
	struct flowtab *flows;  /* of struct flow_state */
	struct ingest ingest;
	struct dpi *dpi;        /* protocol parsers over the snippets, or NULL */
	struct output *out;     /* their records, drained by the main thread */
	struct xdpi_verdict vd;
	_Atomic uint64_t state_full;
	_Atomic uint64_t verdicts;
	_Atomic uint64_t verdict_fail;
	_Atomic uint64_t dpi_no_state;
};

/* One per ingestion thread: its own rings into the workers, its counters
 * (published once per batch for the main thread to read). */
struct ingester {
	_Alignas(SPSC_CACHELINE) struct engine *e;
	int idx;
	int started;
	pthread_t th;
	struct transport_reader *rd;
	struct afxdp_reader *axr;  /* --capture afxdp: its queues, or NULL */
	unsigned since_yield;      /* frames taken since it last yielded the CPU */
	uint64_t delivered, ring_full;
	_Atomic uint64_t pub_delivered, pub_ring_full, pub_lost;
	uint32_t unpublished[MAX_WORKERS];
};

struct engine {
	const struct xdpi_config *cfg;
	int n;                  /* workers */
	int ningest;
	int config_fd;
	struct worker *w;
	struct ingester *in;
	struct afxdp *ax;       /* --capture afxdp, or NULL */
	_Atomic int ingest_stop;
	uint32_t ctl_unpublished[MAX_WORKERS]; /* main thread's control rings */
	uint32_t sample_log2, calm, sampling_changes;
	uint64_t last_ring_full, last_delivered;
};

static int cpu_at(const char *list, int i)
{
	const char *p = list;

	for (int k = 0; p && *p; k++) {
		char *end;
		long cpu = strtol(p, &end, 10);

		if (end == p || cpu < 0)
			return -1;
		if (k == i)
			return (int)cpu;
		p = *end == ',' ? end + 1 : NULL;
	}
	return -1;
}

static int count_cpus(const char *list)
{
	int n = 0;

	for (const char *p = list; p && *p; p++)
		if (*p == ',')
			n++;
	return list && *list ? n + 1 : 0;
}

static void apply_rt(const struct xdpi_config *cfg)
{
	static _Atomic int warned_rt;

	if (cfg->rt) {
		struct sched_param sp = { .sched_priority = 10 };

		if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) &&
		    !atomic_exchange(&warned_rt, 1))
			fprintf(stderr, "xdpi: warning: SCHED_FIFO refused (%s); running with the "
				"normal scheduler\n", strerror(errno ? errno : EPERM));
	}
}

static void pin_to(const struct xdpi_config *cfg, int cpu)
{
	static _Atomic int warned_pin;
	cpu_set_t set;

	CPU_ZERO(&set);
	if (cpu >= 0 && cpu < CPU_SETSIZE)
		CPU_SET(cpu, &set);
	if ((cpu < 0 || pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) &&
	    !atomic_exchange(&warned_pin, 1))
		fprintf(stderr, "xdpi: warning: cannot pin threads to CPUs '%s'\n", cfg->cpus);
}

void engine_place_thread(const struct xdpi_config *cfg, int i)
{
	if (cfg->cpus) {
		int n = count_cpus(cfg->cpus);

		pin_to(cfg, n ? cpu_at(cfg->cpus, i % n) : -1);
	}
	apply_rt(cfg);
}

void engine_pin_cpu(const struct xdpi_config *cfg, int cpu)
{
	if (cfg->cpus)
		pin_to(cfg, cpu);
	apply_rt(cfg);
}

static void handle_event(struct worker *w, const struct xdpi_event *e, uint32_t len)
{
	struct flow_state *fs;
	int created;

	ingest_event(&w->ingest, e, len);
	if (len < sizeof(*e))
		return;
	fs = flowtab_upsert(w->flows, &e->key, &created);
	if (!fs) {
		atomic_fetch_add_explicit(&w->state_full, 1, memory_order_relaxed);
		return;
	}
	if (created) {
		fs->first_ns = e->ts_ns;
		fs->first_dir = e->dir & 1;
	}
	if (e->type == XDPI_EV_FLOW_START && e->ts_ns < fs->first_ns) {
		fs->first_ns = e->ts_ns;
		fs->first_dir = e->dir & 1;
	}
	if (e->ts_ns > fs->last_ns)
		fs->last_ns = e->ts_ns;
	switch (e->type) {
	case XDPI_EV_SNIPPET:
		fs->snippets[e->dir & 1]++;
		fs->snippet_bytes[e->dir & 1] += e->len;
		if (!w->dpi || len < sizeof(*e) + e->len)
			break;
		dpi_payload(w->dpi, &e->key, flowtrack_flow_id(&e->key, fs->first_ns), e->dir,
			    fs->first_dir, e->tcp_seq, e->tcp_flags,
			    (const uint8_t *)e + sizeof(*e), e->len, e->ts_ns);
		/* Once per flow, not per packet: the kernel stops its snippets. */
		if (w->verdict_fd >= 0 && dpi_take_verdict(w->dpi, &w->vd)) {
			w->vd.keep_snippets = (uint8_t)w->cfg->no_offload;
			if (bpf_map_update_elem(w->verdict_fd, &e->key, &w->vd, BPF_ANY))
				atomic_fetch_add_explicit(&w->verdict_fail, 1, memory_order_relaxed);
			else
				atomic_fetch_add_explicit(&w->verdicts, 1, memory_order_relaxed);
		}
		break;
	case XDPI_EV_FLOW_END:
		fs->ended[e->dir & 1] = 1;
		break;
	default:
		break;
	}
}

/* Up to a batch of one ring's messages; sets *stop on MSG_STOP. */
static int worker_drain(struct worker *w, struct spsc *r, int *stop)
{
	int n = 0;

	while (n < 256) {
		uint32_t len, kind;
		const void *m = spsc_peek(r, &len, &kind);

		if (!m)
			break;
		if (kind == MSG_EVENT) {
			handle_event(w, m, len);
		} else if (kind == MSG_FLOW_DONE) {
			if (w->dpi)
				dpi_flow_end(w->dpi, m);
			flowtab_remove(w->flows, m, NULL);
		} else if (kind == MSG_STOP) {
			*stop = 1;
		}
		spsc_consume(r);
		n++;
	}
	if (n)
		spsc_release(r);
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct timespec nap = { 0, 50000 };
	unsigned idle = 0;
	int stop = 0;

	engine_place_thread(w->cfg, w->cfg->ingest_threads + w->index);
	for (;;) {
		int got = 0;

		for (int i = 0; i < w->nrings; i++)
			got += worker_drain(w, &w->rings[i], &stop);
		if (got) {
			idle = 0;
			continue;
		}
		/* The ingestion threads stopped before MSG_STOP was sent, so
		 * an empty pass after it means nothing is left anywhere. */
		if (stop)
			break;
		output_flush(w->out);
		if (w->dpi)
			atomic_store_explicit(&w->dpi_no_state, dpi_stats(w->dpi)->no_state,
					      memory_order_relaxed);
		if (++idle < 16)
			sched_yield();
		else
			nanosleep(&nap, NULL);
	}
	if (w->dpi) {
		dpi_flush_all(w->dpi);
		atomic_store(&w->dpi_no_state, dpi_stats(w->dpi)->no_state);
	}
	dpi_thread_done();
	output_flush(w->out);
	return NULL;
}

/* Changes the sampling in the kernel's config, leaving its other fields. */
static int set_sampling(int config_fd, uint32_t log2)
{
	struct xdpi_config_map c;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(config_fd, &zero, &c))
		return -1;
	c.sample_log2 = log2;
	return bpf_map_update_elem(config_fd, &zero, &c, BPF_ANY);
}

struct engine *engine_new(const struct xdpi_config *cfg, int verdict_fd, int config_fd)
{
	struct engine *e = calloc(1, sizeof(*e));
	int n = cfg->workers > 0 ? cfg->workers : 1;

	if (!e)
		return NULL;
	e->cfg = cfg;
	e->config_fd = config_fd;
	e->n = n > MAX_WORKERS ? MAX_WORKERS : n;
	e->ningest = cfg->ingest_threads > 0 ? cfg->ingest_threads : 1;
	e->w = aligned_alloc(SPSC_CACHELINE, sizeof(*e->w) * (size_t)e->n);
	e->in = aligned_alloc(SPSC_CACHELINE, sizeof(*e->in) * (size_t)e->ningest);
	if (!e->w || !e->in)
		goto fail;
	memset(e->w, 0, sizeof(*e->w) * (size_t)e->n);
	memset(e->in, 0, sizeof(*e->in) * (size_t)e->ningest);
	for (int i = 0; i < e->ningest; i++) {
		e->in[i].e = e;
		e->in[i].idx = i;
	}
	for (int i = 0; i < e->n; i++) {
		struct worker *w = &e->w[i];

		w->index = i;
		w->cfg = cfg;
		w->verdict_fd = cfg->no_dpi ? -1 : verdict_fd;
		w->nrings = e->ningest + 1;
		w->rings = aligned_alloc(SPSC_CACHELINE, sizeof(*w->rings) * (size_t)w->nrings);
		if (!w->rings)
			goto fail;
		memset(w->rings, 0, sizeof(*w->rings) * (size_t)w->nrings);
		for (int r = 0; r < w->nrings; r++) {
			uint64_t bytes = r < e->ningest ? cfg->worker_ring_bytes : CTL_RING_BYTES;
			void *buf = mem_alloc_big(bytes);

			if (!buf)
				goto fail;
			spsc_init(&w->rings[r], buf, bytes);
		}
		/* Over AF_XDP the payloads are whole, not cut to N. */
		w->ingest.snippet_max = cfg->capture_afxdp ? XDPI_SNIPPET_MAX : cfg->snippet_bytes;
		w->flows = flowtab_new(cfg->max_flows, sizeof(struct flow_state));
		w->out = output_queue_new(4u << 20);
		if (!w->flows || !w->out)
			goto fail;
		if (!cfg->no_dpi) {
			struct dpi_opts o = {
				.max_flows = cfg->max_flows, .reasm_bytes = cfg->reasm_bytes,
				.reasm_bufs = cfg->dpi_flows, .out = w->out,
				.clock_to_epoch_ns = (int64_t)(real_ns() - mono_ns()),
			};

			w->dpi = dpi_new(&o);
			if (!w->dpi)
				goto fail;
		}
	}
	for (int i = 0; i < e->n; i++) {
		if (pthread_create(&e->w[i].th, NULL, worker_main, &e->w[i]))
			goto fail;
		e->w[i].started = 1;
	}
	e->sample_log2 = cfg->fixed_sampling ? (uint32_t)cfg->sampling_log2 : 0;
	if (e->config_fd >= 0) {
		set_sampling(e->config_fd, e->sample_log2);
	}
	return e;
fail:
	fprintf(stderr, "xdpi: cannot start %d workers: %s\n", e->n, strerror(errno ? errno : ENOMEM));
	engine_free(e);
	return NULL;
}

static struct worker *owner(struct engine *e, const struct xdpi_flow_key *k)
{
	/* The high half of the hash scaled to n: no division per event. */
	return &e->w[((flow_key_hash(k, 0) >> 32) * (uint64_t)e->n) >> 32];
}

static void ingest_publish(struct ingester *g)
{
	struct engine *e = g->e;

	for (int i = 0; i < e->n; i++) {
		if (g->unpublished[i]) {
			spsc_publish(&e->w[i].rings[g->idx]);
			g->unpublished[i] = 0;
		}
	}
	atomic_store_explicit(&g->pub_delivered, g->delivered, memory_order_relaxed);
	atomic_store_explicit(&g->pub_ring_full, g->ring_full, memory_order_relaxed);
	atomic_store_explicit(&g->pub_lost, transport_reader_lost(g->rd), memory_order_relaxed);
}

/* Copies an event (head, then tail bytes) into the ring of the worker that
 * owns flow k; NULL k: worker 0, which counts the event as malformed. */
static void hand_over(struct ingester *g, const struct xdpi_flow_key *k, const void *head,
		      size_t hlen, const void *tail, size_t tlen)
{
	struct engine *e = g->e;
	struct worker *w = k ? owner(e, k) : &e->w[0];
	uint8_t *slot = spsc_claim(&w->rings[g->idx], (uint32_t)(hlen + tlen), MSG_EVENT);

	if (!slot) {
		g->ring_full++;
		return;
	}
	memcpy(slot, head, hlen);
	if (tlen)
		memcpy(slot + hlen, tail, tlen);
	g->delivered++;
	if (++g->unpublished[w->index] >= 64) {
		spsc_publish(&w->rings[g->idx]);
		g->unpublished[w->index] = 0;
	}
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct xdpi_event *ev = data;

	hand_over(ctx, len >= sizeof(*ev) ? &ev->key : NULL, data, len, NULL, 0);
	return 0;
}

/* An AF_XDP frame's payload: the header and the bytes go straight from the
 * socket's buffer into the worker's ring, one copy. */
static void on_frame(void *ctx, const struct xdpi_event *hdr, const void *payload)
{
	hand_over(ctx, &hdr->key, hdr, sizeof(*hdr), payload, hdr->len);
}

/* One pass over the AF_XDP queues and the event buffers. The frames are
 * claimed before the buffers are read and handed on after: the kernel
 * wrote a flow's start event before it redirected the flow's first frame,
 * so the worker gets the start first. Sleeps on the sockets only when they
 * are idle, so the buffers are still read every timeout_ms. */
static int ingest_afxdp_once(struct ingester *g, int timeout_ms)
{
	int frames = afxdp_reader_peek(g->axr), events;

	if (!frames && timeout_ms) {
		afxdp_reader_wait(g->axr, timeout_ms);
		frames = afxdp_reader_peek(g->axr);
	}
	events = transport_reader_consume(g->rd);
	if (frames)
		frames = afxdp_reader_take(g->axr);
	return events < 0 ? events : frames + events;
}

int engine_ingest_once(struct engine *e, int i, int timeout_ms)
{
	struct ingester *g = &e->in[i];
	int n;

	if (g->axr && afxdp_reader_nqueues(g->axr))
		n = ingest_afxdp_once(g, timeout_ms);
	else
		n = timeout_ms ? transport_reader_poll(g->rd, timeout_ms) :
				 transport_reader_consume(g->rd);
	ingest_publish(g);
	return n;
}

static void *ingest_main(void *arg)
{
	struct ingester *g = arg;
	struct engine *e = g->e;
	int warned = 0;

	/* With one reader per CPU, the reader of CPU k's buffer runs on CPU k. */
	if (e->ningest == libbpf_num_possible_cpus())
		engine_pin_cpu(e->cfg, g->idx);
	else
		engine_place_thread(e->cfg, g->idx);
	while (!atomic_load_explicit(&e->ingest_stop, memory_order_acquire)) {
		int n = engine_ingest_once(e, g->idx, e->cfg->busy_poll ? 0 : INGEST_WAIT_MS);

		if (n < 0 && !warned) {
			fprintf(stderr, "xdpi: reading the event buffers failed: %s\n", strerror(-n));
			warned = 1;
		}
		if (e->cfg->busy_poll && n <= 0)
			__builtin_ia32_pause();
		/* AF_XDP frames keep coming: let a worker on this CPU run now
		 * and then. Under --rt (SCHED_FIFO, no time slices) it would
		 * otherwise run only once the sockets are empty, then drain a
		 * backlog long enough for their buffers to run out; yielding
		 * every batch costs more in context switches than it saves. */
		if (g->axr && n > 0 && (g->since_yield += (unsigned)n) >= YIELD_FRAMES) {
			g->since_yield = 0;
			sched_yield();
		}
	}
	/* Everything still queued; a pass takes a batch of each AF_XDP queue,
	 * and nothing new comes once the programs are detached. */
	for (int pass = 0; pass < 1 << 16 && engine_ingest_once(e, g->idx, 0) > 0; pass++)
		;
	return NULL;
}

int engine_attach_ingest(struct engine *e, struct transport *t)
{
	for (int i = 0; i < e->ningest; i++) {
		struct ingester *g = &e->in[i];

		if (!g->rd)
			g->rd = transport_reader_new(t, i, e->ningest, on_event, g);
		if (!g->rd)
			return -1;
		if (e->ax && !g->axr) {
			g->axr = afxdp_reader_new(e->ax, i, e->ningest, on_frame, g);
			if (!g->axr) {
				fprintf(stderr, "xdpi: out of memory for an AF_XDP reader\n");
				return -1;
			}
		}
	}
	return 0;
}

void engine_set_afxdp(struct engine *e, struct afxdp *ax)
{
	e->ax = ax;
}

int engine_start_ingest(struct engine *e, struct transport *t)
{
	if (!transport_ncpus(t) && !e->ax)
		return 0;
	if (engine_attach_ingest(e, t))
		return -1;
	for (int i = 0; i < e->ningest; i++) {
		struct ingester *g = &e->in[i];

		if (pthread_create(&g->th, NULL, ingest_main, g)) {
			fprintf(stderr, "xdpi: cannot start an ingestion thread: %s\n", strerror(errno));
			return -1;
		}
		g->started = 1;
	}
	return 0;
}

void engine_stop_ingest(struct engine *e)
{
	atomic_store_explicit(&e->ingest_stop, 1, memory_order_release);
	for (int i = 0; i < e->ningest; i++) {
		if (e->in[i].started) {
			pthread_join(e->in[i].th, NULL);
			e->in[i].started = 0;
		}
	}
}

void engine_publish(struct engine *e)
{
	for (int i = 0; i < e->n; i++) {
		if (e->ctl_unpublished[i]) {
			spsc_publish(&e->w[i].rings[e->ningest]);
			e->ctl_unpublished[i] = 0;
		}
	}
}

uint32_t engine_next_sampling(uint32_t log2, double fill, uint64_t delivered,
			      uint64_t dropped, uint32_t *calm)
{
	uint32_t step = 0;

	if (dropped) {
		/* Raise at once by what was missing: dropping 3 of 4 events
		 * needs 1 in 4 more sampling, two steps. */
		uint64_t total = delivered + dropped, kept = delivered ? delivered : 1;

		while (step < 15 && (kept << step) < total)
			step++;
	} else if (fill > 0.5) {
		step = 1;
	}
	if (step) {
		*calm = 0;
		return log2 + step < 15 ? log2 + step : 15;
	}
	if (fill < 0.1 && log2 > 0) {
		/* Lower slowly: after three quiet intervals in a row. */
		if (++*calm >= 3) {
			*calm = 0;
			return log2 - 1;
		}
		return log2;
	}
	*calm = 0;
	return log2;
}

/* The ingestion threads' published counts, summed. */
static void ingest_sums(struct engine *e, uint64_t *delivered, uint64_t *ring_full,
			uint64_t *lost)
{
	*delivered = *ring_full = *lost = 0;
	for (int i = 0; i < e->ningest; i++) {
		*delivered += atomic_load_explicit(&e->in[i].pub_delivered, memory_order_relaxed);
		*ring_full += atomic_load_explicit(&e->in[i].pub_ring_full, memory_order_relaxed);
		*lost += atomic_load_explicit(&e->in[i].pub_lost, memory_order_relaxed);
	}
}

void engine_adapt(struct engine *e)
{
	uint64_t full, delivered, lost;
	double fill = 0;
	uint32_t next;

	ingest_sums(e, &delivered, &full, &lost);
	for (int i = 0; i < e->n; i++) {
		for (int r = 0; r < e->ningest; r++) {
			struct spsc *q = &e->w[i].rings[r];
			uint64_t used = atomic_load_explicit(&q->head, memory_order_relaxed) -
					atomic_load_explicit(&q->tail, memory_order_relaxed);
			double f = (double)used / (double)q->size;

			if (f > fill)
				fill = f;
		}
	}
	next = engine_next_sampling(e->sample_log2, fill, delivered - e->last_delivered,
				    full - e->last_ring_full, &e->calm);
	e->last_ring_full = full;
	e->last_delivered = delivered;
	if (e->cfg->fixed_sampling || e->config_fd < 0 || next == e->sample_log2)
		return;
	if (set_sampling(e->config_fd, next) == 0) {
		e->sample_log2 = next;
		e->sampling_changes++;
	}
}

void engine_flow_done(struct engine *e, const struct xdpi_flow_key *k)
{
	struct worker *w = owner(e, k);
	void *slot = spsc_claim(&w->rings[e->ningest], sizeof(*k), MSG_FLOW_DONE);

	/* If the ring is full the state stays until the table needs room;
	 * nothing is counted twice either way. */
	if (slot) {
		memcpy(slot, k, sizeof(*k));
		if (++e->ctl_unpublished[w->index] >= 64) {
			spsc_publish(&w->rings[e->ningest]);
			e->ctl_unpublished[w->index] = 0;
		}
	}
}

void engine_stop(struct engine *e)
{
	engine_stop_ingest(e);
	for (int i = 0; i < e->n; i++) {
		struct worker *w = &e->w[i];
		struct spsc *ctl = &w->rings[e->ningest];
		struct timespec nap = { 0, 100000 };

		if (!w->started)
			continue;
		while (!spsc_claim(ctl, 0, MSG_STOP)) {
			spsc_publish(ctl);
			nanosleep(&nap, NULL);
		}
		spsc_publish(ctl);
		e->ctl_unpublished[i] = 0;
		pthread_join(w->th, NULL);
		w->started = 0;
	}
}

int engine_drain(struct engine *e, struct output *sink)
{
	int n = 0;

	for (int i = 0; i < e->n; i++)
		n += output_drain(e->w[i].out, sink);
	return n;
}

void engine_totals(struct engine *e, struct ingest_stats *in, struct engine_stats *st)
{
	memset(in, 0, sizeof(*in));
	memset(st, 0, sizeof(*st));
	ingest_sums(e, &st->delivered, &st->ring_full, &st->perf_lost);
	st->sampling = 1u << e->sample_log2;
	st->sampling_changes = e->sampling_changes;
	if (e->ax)
		afxdp_stats(e->ax, &st->afxdp);
	for (int i = 0; i < e->n; i++) {
		struct worker *w = &e->w[i];

		in->flow_start += w->ingest.st.flow_start;
		in->flow_end += w->ingest.st.flow_end;
		in->snippets += w->ingest.st.snippets;
		in->snippet_bytes += w->ingest.st.snippet_bytes;
		in->malformed += w->ingest.st.malformed;
		st->state_full += atomic_load(&w->state_full);
		st->verdicts += atomic_load(&w->verdicts);
		st->verdict_fail += atomic_load(&w->verdict_fail);
		st->dpi_no_state += atomic_load(&w->dpi_no_state);
		st->sink_waits += output_waits(w->out);
		st->flows_active += flowtab_count(w->flows);
	}
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->w && e->in) {
		engine_stop(e);
		for (int i = 0; i < e->n; i++) {
			struct worker *w = &e->w[i];

			dpi_free(w->dpi);
			output_close(w->out);
			flowtab_free(w->flows);
			for (int r = 0; w->rings && r < w->nrings; r++)
				if (w->rings[r].buf)
					mem_free_big(w->rings[r].buf, r < e->ningest ? e->cfg->worker_ring_bytes :
									     CTL_RING_BYTES);
			free(w->rings);
		}
		for (int i = 0; i < e->ningest; i++) {
			transport_reader_free(e->in[i].rd);
			afxdp_reader_free(e->in[i].axr);
		}
	}
	free(e->w);
	free(e->in);
	free(e);
}

/* Queue depths and thread CPU time for /metrics: read from outside, so the
 * threads themselves pay nothing for it. */
size_t engine_metrics(struct engine *e, struct metric *m, size_t cap)
{
	size_t n = 0;

	for (int i = 0; i < e->n && n < cap; i++) {
		uint64_t used = 0;

		for (int r = 0; r < e->ningest; r++) {
			struct spsc *q = &e->w[i].rings[r];

			used += atomic_load_explicit(&q->head, memory_order_relaxed) -
				atomic_load_explicit(&q->tail, memory_order_relaxed);
		}
		m[n] = (struct metric){ .name = "xdpi_worker_queue_bytes",
					.help = "Bytes of events waiting in a worker's rings",
					.value = (double)used };
		snprintf(m[n++].labels, sizeof(m[0].labels), "worker=\"%d\"", i);
	}
	for (int i = 0; i < e->n + e->ningest && n < cap; i++) {
		int is_worker = i < e->n;
		pthread_t th = is_worker ? e->w[i].th : e->in[i - e->n].th;
		int started = is_worker ? e->w[i].started : e->in[i - e->n].started;
		struct timespec ts;
		clockid_t cid;

		if (!started || pthread_getcpuclockid(th, &cid) || clock_gettime(cid, &ts))
			continue;
		m[n] = (struct metric){ .name = "xdpi_thread_cpu_seconds_total",
					.help = "CPU time of each engine thread (busy time)",
					.value = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9,
					.counter = 1 };
		snprintf(m[n++].labels, sizeof(m[0].labels), "thread=\"%s%d\"",
			 is_worker ? "worker" : "ingest", is_worker ? i : i - e->n);
	}
	return n;
}
