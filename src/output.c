#include "output.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include "config.h"
#include "mem.h"
#include "sink/runner.h"
#include "spsc.h"
#include "util.h"

#define QUEUE_BATCH 64
#define SINK_METRICS 10

/* The fan-out to the sinks (one runner thread each), or a queue front: a
 * worker thread's records travel through an SPSC ring to the thread that
 * feeds the fan-out. */
struct output {
	uint64_t records;
	struct spsc *ring;      /* queue front only */
	uint32_t unpublished;
	uint64_t waits;         /* times the ring was full */
	/* the fan-out */
	struct runner *sinks[XDPI_OUT_MAX];
	int nsinks;
	struct sink_env env;
	char host[256];
	pthread_mutex_t lock;   /* the metrics below, shared with /metrics */
	struct metric *pub;     /* published by the command */
	size_t npub, cappub;
	struct metric sinkm[XDPI_OUT_MAX * SINK_METRICS];
	size_t nsinkm;
	FILE *report;           /* output_close() says what each sink delivered */
};

struct output *output_queue_new(uint64_t bytes)
{
	struct output *o = calloc(1, sizeof(*o));
	void *buf;

	if (!o)
		return NULL;
	o->ring = aligned_alloc(SPSC_CACHELINE, sizeof(*o->ring));
	buf = mem_alloc_big(bytes);
	if (!o->ring || !buf) {
		free(o->ring);
		free(o);
		return NULL;
	}
	spsc_init(o->ring, buf, bytes);
	return o;
}

size_t record_size(enum record_type t)
{
	switch (t) {
	case REC_FLOW: return sizeof(struct flow_record);
	case REC_DNS: return sizeof(struct dns_record);
	case REC_TLS: return sizeof(struct tls_record);
	case REC_HTTP: return sizeof(struct http_record);
	case REC_QUIC: return sizeof(struct quic_record);
	case REC_SSH: return sizeof(struct ssh_record);
	}
	return 0;
}

static int queue_push(struct output *o, enum record_type t, const void *r)
{
	size_t size = record_size(t);
	void *slot;

	/* Offline nothing may be lost: wait for the output thread. */
	while (!(slot = spsc_claim(o->ring, (uint32_t)size, t))) {
		spsc_publish(o->ring);
		o->unpublished = 0;
		o->waits++;
		sched_yield();
	}
	memcpy(slot, r, size);
	o->records++;
	if (++o->unpublished >= QUEUE_BATCH) {
		spsc_publish(o->ring);
		o->unpublished = 0;
	}
	return 0;
}

int output_drain(struct output *q, struct output *sink)
{
	const void *r;
	uint32_t len, kind;
	int n = 0;

	while ((r = spsc_peek(q->ring, &len, &kind))) {
		output_emit(sink, (enum record_type)kind, r);
		spsc_consume(q->ring);
		if (++n % QUEUE_BATCH == 0)
			spsc_release(q->ring);
	}
	spsc_release(q->ring);
	return n;
}

static uint64_t make_run_id(void)
{
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = real_ns() ^ ((uint64_t)getpid() << 32);
	return id >> 1; /* fits a signed 64-bit column */
}

struct output *output_open(const struct xdpi_config *cfg, const char *def, int live)
{
	struct output *o = calloc(1, sizeof(*o));
	struct runner_opts ro = {
		.queue_bytes = 16u << 20, .spool_max = cfg->spool_max,
		.spool_dir = cfg->spool_dir, .close_wait_ns = cfg->out_wait_ns,
	};
	int n = cfg->nouts ? cfg->nouts : 1;

	if (!o)
		return NULL;
	pthread_mutex_init(&o->lock, NULL);
	if (gethostname(o->host, sizeof(o->host) - 1) || !o->host[0])
		snprintf(o->host, sizeof(o->host), "localhost");
	o->env = (struct sink_env){ .host = o->host, .run = make_run_id(), .live = live, .out = o };
	for (int i = 0; i < n; i++) {
		const char *uri = cfg->nouts ? cfg->outs[i] : def;

		o->sinks[i] = runner_start(uri, &o->env, &ro);
		if (!o->sinks[i]) {
			output_close(o);
			return NULL;
		}
		o->nsinks++;
	}
	if (!cfg->nouts && live && !cfg->quiet)
		fprintf(stderr, "xdpi: records go to %s (--out chooses)\n", def);
	return o;
}

struct output *output_open_jsonl(const char *path)
{
	struct xdpi_config cfg;
	char uri[4096];

	config_defaults(&cfg);
	snprintf(uri, sizeof(uri), "jsonl:%s", path);
	cfg.outs[0] = uri;
	cfg.nouts = 1;
	return output_open(&cfg, NULL, 0);
}

static int fan_out(struct output *o, enum record_type t, const void *r)
{
	uint64_t seq = ++o->records;

	for (int i = 0; i < o->nsinks; i++)
		runner_push(o->sinks[i], t, seq, r);
	return 0;
}

int output_emit(struct output *o, enum record_type t, const void *r)
{
	return o->ring ? queue_push(o, t, r) : fan_out(o, t, r);
}

int output_flow(struct output *o, const struct flow_record *r)
{
	return output_emit(o, REC_FLOW, r);
}

static struct metric *sink_metric(struct output *o, const char *name, const char *help,
				  int counter, int i, double v)
{
	struct metric *m = &o->sinkm[o->nsinkm++];
	const char *uri = runner_uri(o->sinks[i]);
	int scheme = (int)strcspn(uri, ":");

	/* The scheme only: a target may hold a password. */
	*m = (struct metric){ .name = name, .help = help, .value = v, .counter = (uint8_t)counter };
	snprintf(m->labels, sizeof(m->labels), "sink=\"%.*s\",index=\"%d\"", scheme, uri, i);
	return m;
}

/* Producer thread: the runners' counters into metrics, under the lock. */
static void refresh_sink_metrics(struct output *o)
{
	pthread_mutex_lock(&o->lock);
	o->nsinkm = 0;
	for (int i = 0; i < o->nsinks; i++) {
		struct runner_stats st;

		runner_stats(o->sinks[i], &st);
		sink_metric(o, "xdpi_sink_records_total", "Records given to an output", 1, i,
			    (double)st.queued);
		sink_metric(o, "xdpi_sink_delivered_total", "Records an output took", 1, i,
			    (double)st.delivered);
		sink_metric(o, "xdpi_sink_batches_total", "Batches an output took", 1, i,
			    (double)st.batches);
		sink_metric(o, "xdpi_sink_backlog_records", "Records queued for an output", 0, i,
			    (double)st.backlog);
		sink_metric(o, "xdpi_sink_spooled_records",
			    "Records on disk while an output is down", 0, i, (double)st.spooled);
		sink_metric(o, "xdpi_sink_spool_bytes", "Bytes of the spool of an output", 0, i,
			    (double)st.spool_bytes);
		sink_metric(o, "xdpi_sink_dropped_total",
			    "Records an output lost: queue full (live) or spool full", 1, i,
			    (double)(st.queue_drops + st.spool_drops));
		sink_metric(o, "xdpi_sink_failures_total", "Failed connects, writes and flushes",
			    1, i, (double)st.failures);
		sink_metric(o, "xdpi_sink_up", "1 while an output is reachable", 0, i, st.up);
		sink_metric(o, "xdpi_sink_cpu_seconds_total", "CPU time of an output's thread", 1, i,
			    st.cpu_seconds);
	}
	pthread_mutex_unlock(&o->lock);
}

int output_flush(struct output *o)
{
	if (o->ring) {
		spsc_publish(o->ring);
		o->unpublished = 0;
		return 0;
	}
	for (int i = 0; i < o->nsinks; i++)
		runner_publish(o->sinks[i]);
	refresh_sink_metrics(o);
	return 0;
}

uint64_t output_records(const struct output *o)
{
	return o->records;
}

int output_close(struct output *o)
{
	int rc = 0;

	if (!o)
		return 0;
	if (o->ring) {
		mem_free_big(o->ring->buf, o->ring->size);
		free(o->ring);
		free(o);
		return 0;
	}
	for (int i = 0; i < o->nsinks; i++) {
		const char *uri = runner_uri(o->sinks[i]);
		struct runner_stats st;
		int jsonl = !strncmp(uri, "jsonl:", 6);
		char name[256];

		snprintf(name, sizeof(name), "%s", uri); /* the runner goes with its URI */
		if (runner_stop(o->sinks[i], &st))
			rc = -1;
		if (o->report && !jsonl)
			fprintf(o->report, "  out %s: %llu records delivered in %llu batches\n",
				name, (unsigned long long)st.delivered,
				(unsigned long long)st.batches);
	}
	pthread_mutex_destroy(&o->lock);
	free(o->pub);
	free(o);
	return rc;
}

uint64_t output_waits(const struct output *o)
{
	return o->waits;
}

void output_publish_metrics(struct output *o, const struct metric *m, size_t n)
{
	pthread_mutex_lock(&o->lock);
	if (n > o->cappub) {
		struct metric *p = realloc(o->pub, n * sizeof(*p));

		if (!p) {
			pthread_mutex_unlock(&o->lock);
			return;
		}
		o->pub = p;
		o->cappub = n;
	}
	memcpy(o->pub, m, n * sizeof(*m));
	o->npub = n;
	pthread_mutex_unlock(&o->lock);
}

void output_metrics_render(struct output *o,
			   void (*fn)(void *arg, const struct metric *m, size_t n), void *arg)
{
	pthread_mutex_lock(&o->lock);
	fn(arg, o->pub, o->npub);
	fn(arg, o->sinkm, o->nsinkm);
	pthread_mutex_unlock(&o->lock);
}

void output_report(struct output *o, FILE *f)
{
	o->report = f;
}

int output_has(const struct output *o, const char *scheme)
{
	size_t n = strlen(scheme);

	for (int i = 0; i < o->nsinks; i++)
		if (!strncmp(runner_uri(o->sinks[i]), scheme, n) &&
		    runner_uri(o->sinks[i])[n] == ':')
			return 1;
	return 0;
}
