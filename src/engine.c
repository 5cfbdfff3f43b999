#include "engine.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dpi.h"
#include "flowtab.h"
#include "flowtrack.h"
#include "output.h"
#include "mem.h"
#include "spsc.h"
#include "util.h"

#define EV_RING_BYTES (8u << 20)
#define MAX_WORKERS 64

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
	const struct xdpi_config *cfg;
	struct spsc ring;
	struct flowtab *flows;  /* of struct flow_state */
	struct ingest ingest;
	struct dpi *dpi;        /* protocol parsers over the snippets, or NULL */
	struct output *out;     /* their records, drained by the ingestion thread */
	_Atomic uint64_t state_full;
	uint32_t unpublished;   /* producer side */
};

struct engine {
	const struct xdpi_config *cfg;
	int n;
	struct worker *w;
	uint64_t delivered;     /* producer side */
	uint64_t ring_full;
};

/* The i-th number of a comma-separated CPU list, or -1. */
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

void engine_place_thread(const struct xdpi_config *cfg, int i)
{
	static _Atomic int warned_pin, warned_rt;

	if (cfg->cpus) {
		int n = count_cpus(cfg->cpus), cpu = n ? cpu_at(cfg->cpus, i % n) : -1;
		cpu_set_t set;

		CPU_ZERO(&set);
		if (cpu >= 0)
			CPU_SET(cpu, &set);
		if ((cpu < 0 || pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) &&
		    !atomic_exchange(&warned_pin, 1))
			fprintf(stderr, "xdpi: warning: cannot pin threads to CPUs '%s'\n", cfg->cpus);
	}
	if (cfg->rt) {
		struct sched_param sp = { .sched_priority = 10 };

		if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) &&
		    !atomic_exchange(&warned_rt, 1))
			fprintf(stderr, "xdpi: warning: SCHED_FIFO refused (%s); running with the "
				"normal scheduler\n", strerror(errno ? errno : EPERM));
	}
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
		if (w->dpi && len >= sizeof(*e) + e->len)
			dpi_payload(w->dpi, &e->key, flowtrack_flow_id(&e->key, fs->first_ns), e->dir,
				    fs->first_dir, e->tcp_seq, e->tcp_flags,
				    (const uint8_t *)e + sizeof(*e), e->len, e->ts_ns);
		break;
	case XDPI_EV_FLOW_END:
		fs->ended[e->dir & 1] = 1;
		break;
	default:
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct timespec nap = { 0, 50000 };
	unsigned idle = 0;

	engine_place_thread(w->cfg, w->index + 1);
	for (;;) {
		uint32_t len, kind;
		const void *m = spsc_peek(&w->ring, &len, &kind);

		if (!m) {
			spsc_release(&w->ring);
			output_flush(w->out);
			if (++idle < 16)
				sched_yield();
			else
				nanosleep(&nap, NULL);
			continue;
		}
		idle = 0;
		if (kind == MSG_EVENT)
			handle_event(w, m, len);
		else if (kind == MSG_FLOW_DONE) {
			if (w->dpi)
				dpi_flow_end(w->dpi, m);
			flowtab_remove(w->flows, m, NULL);
		}
		spsc_consume(&w->ring);
		if (kind == MSG_STOP) {
			if (w->dpi)
				dpi_flush_all(w->dpi);
			dpi_thread_done();
			output_flush(w->out);
			spsc_release(&w->ring);
			return NULL;
		}
	}
}

struct engine *engine_new(const struct xdpi_config *cfg)
{
	struct engine *e = calloc(1, sizeof(*e));
	int n = cfg->workers > 0 ? cfg->workers : 1;

	if (!e)
		return NULL;
	e->cfg = cfg;
	e->n = n > MAX_WORKERS ? MAX_WORKERS : n;
	e->w = aligned_alloc(SPSC_CACHELINE, sizeof(*e->w) * (size_t)e->n);
	if (!e->w)
		goto fail;
	memset(e->w, 0, sizeof(*e->w) * (size_t)e->n);
	for (int i = 0; i < e->n; i++) {
		struct worker *w = &e->w[i];
		void *buf = mem_alloc_big(EV_RING_BYTES);

		if (!buf)
			goto fail;
		spsc_init(&w->ring, buf, EV_RING_BYTES);
		w->index = i;
		w->cfg = cfg;
		w->ingest.snippet_max = cfg->snippet_bytes;
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
	return e;
fail:
	fprintf(stderr, "xdpi: cannot start %d workers: %s\n", e->n, strerror(errno ? errno : ENOMEM));
	engine_free(e);
	return NULL;
}

static struct worker *owner(struct engine *e, const struct xdpi_flow_key *k)
{
	return &e->w[flow_key_hash(k, 0) % (uint64_t)e->n];
}

int engine_ringbuf_cb(void *ctx, void *data, size_t len)
{
	struct engine *e = ctx;
	const struct xdpi_event *ev = data;
	struct worker *w;
	void *slot;

	/* A record too short to name its flow still goes somewhere: worker 0
	 * counts it as malformed. */
	w = len >= sizeof(*ev) ? owner(e, &ev->key) : &e->w[0];
	slot = spsc_claim(&w->ring, (uint32_t)len, MSG_EVENT);
	if (!slot) {
		e->ring_full++;
		return 0;
	}
	memcpy(slot, data, len);
	e->delivered++;
	if (++w->unpublished >= 64) {
		spsc_publish(&w->ring);
		w->unpublished = 0;
	}
	return 0;
}

void engine_publish(struct engine *e)
{
	for (int i = 0; i < e->n; i++) {
		if (e->w[i].unpublished) {
			spsc_publish(&e->w[i].ring);
			e->w[i].unpublished = 0;
		}
	}
}

void engine_flow_done(struct engine *e, const struct xdpi_flow_key *k)
{
	struct worker *w = owner(e, k);
	void *slot = spsc_claim(&w->ring, sizeof(*k), MSG_FLOW_DONE);

	/* If the ring is full the state stays until the table needs room;
	 * nothing is counted twice either way. */
	if (slot) {
		memcpy(slot, k, sizeof(*k));
		w->unpublished++;
	}
}

void engine_stop(struct engine *e)
{
	for (int i = 0; i < e->n; i++) {
		struct worker *w = &e->w[i];
		struct timespec nap = { 0, 100000 };

		if (!w->started)
			continue;
		while (!spsc_claim(&w->ring, 0, MSG_STOP)) {
			spsc_publish(&w->ring);
			nanosleep(&nap, NULL);
		}
		spsc_publish(&w->ring);
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
	st->delivered = e->delivered;
	st->ring_full = e->ring_full;
	for (int i = 0; i < e->n; i++) {
		const struct worker *w = &e->w[i];

		in->flow_start += w->ingest.st.flow_start;
		in->flow_end += w->ingest.st.flow_end;
		in->snippets += w->ingest.st.snippets;
		in->snippet_bytes += w->ingest.st.snippet_bytes;
		in->malformed += w->ingest.st.malformed;
		st->state_full += atomic_load(&w->state_full);
		st->flows_active += flowtab_count(w->flows);
	}
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->w) {
		engine_stop(e);
		for (int i = 0; i < e->n; i++) {
			dpi_free(e->w[i].dpi);
			output_close(e->w[i].out);
			flowtab_free(e->w[i].flows);
			mem_free_big(e->w[i].ring.buf, EV_RING_BYTES);
		}
	}
	free(e->w);
	free(e);
}
