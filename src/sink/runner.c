#include "sink/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>
#include "mem.h"
#include "output.h"
#include "spsc.h"
#include "util.h"

#define BACKOFF_MIN_NS  (100ull * 1000 * 1000)
#define BACKOFF_MAX_NS  (30ull * 1000 * 1000 * 1000)
#define TICK_EVERY_NS   (1000ull * 1000 * 1000)
#define IDLE_NAP_NS     (2ull * 1000 * 1000)

/* A queued record: its sequence number, then the record struct. */
struct qrec {
	uint64_t seq;
};

/* A spooled record on disk: this header, then the record struct. */
struct spool_hdr {
	uint32_t type;
	uint32_t len;
	uint64_t seq;
};

struct runner {
	const struct sink_ops *ops;
	void *sink;
	char uri[256];
	struct sink_env env;
	struct runner_opts opt;

	struct spsc *ring;
	uint32_t unpublished;
	pthread_t thread;
	int started;
	atomic_int stopping;

	struct sink_item *items;     /* the batch being gathered */
	size_t nitems;
	uint64_t held_bytes;         /* ring bytes the batch keeps */
	uint64_t batch_start;

	int spool_fd;
	uint64_t spool_w, spool_r;   /* append and replay offsets */
	uint8_t *replay;             /* a chunk of the spool read back */
	size_t replay_size;

	int up;
	uint64_t next_retry, backoff, last_tick;
	char err[512];

	/* Written by the producer: */
	uint64_t queued, queue_drops, waits;
	/* Written by the thread, read by anyone: */
	_Atomic uint64_t delivered, batches, spool_drops, lost, spooled, spool_bytes,
		failures, taken;
	atomic_int up_now;
	atomic_int final_failed;
};

static const struct {
	const char *scheme;
	const struct sink_ops *ops;
} sinks[] = {
	{ "jsonl", &sink_jsonl_ops },
	{ "sqlite", &sink_sqlite_ops },
	{ "postgres", &sink_postgres_ops },
	{ "ipfix", &sink_ipfix_ops },
	{ "prom", &sink_prom_ops },
	{ "nats", &sink_nats_ops },
};

#define KNOWN_SCHEMES "jsonl:PATH|-, sqlite:PATH, ipfix:udp://HOST:PORT, " \
	"ipfix:tcp://HOST:PORT, prom:[HOST]:PORT, nats://HOST:PORT[,HOST:PORT...], " \
	"postgres:CONNINFO"

/* Splits "scheme:target"; postgresql:// URIs go whole to the postgres sink. */
const struct sink_ops *runner_find_sink(const char *uri, const char **target)
{
	const char *colon = strchr(uri, ':');

	if (!strncmp(uri, "postgresql://", 13) || !strncmp(uri, "postgres://", 11)) {
		*target = uri;
		return &sink_postgres_ops;
	}
	if (!colon)
		return NULL;
	for (size_t i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++) {
		size_t n = strlen(sinks[i].scheme);

		if ((size_t)(colon - uri) == n && !strncmp(uri, sinks[i].scheme, n)) {
			*target = colon + 1;
			return sinks[i].ops;
		}
	}
	return NULL;
}

int runner_check_uri(const char *uri, char *err, size_t errlen)
{
	const char *target;

	if (runner_find_sink(uri, &target))
		return 0;
	snprintf(err, errlen, "--out '%s': unknown output; expected one of %s", uri, KNOWN_SCHEMES);
	return -1;
}

/* The URI as messages show it: libpq's password=... and the user
 * information of URLs (scheme://USER:PASSWORD@ or TOKEN@, in each entry of
 * a comma-separated list) replaced by "***". */
void runner_redact_uri(char *out, size_t len, const char *uri)
{
	const char *p = uri;
	size_t n = 0;

	while (*p && n + 1 < len) {
		const char *end = p + strcspn(p, ","), *body = NULL, *at = NULL;

		for (const char *q = p; q + 1 < end; q++)
			if (q[0] == '/' && q[1] == '/') {
				body = q + 2;
				break;
			}
		if (body)
			at = memchr(body, '@', (size_t)(end - body));
		if (at) {
			n += (size_t)snprintf(out + n, len - n, "%.*s***", (int)(body - p), p);
			p = at;
		}
		while (p < end && n + 1 < len) {
			if (!strncmp(p, "password=", 9)) {
				n += (size_t)snprintf(out + n, len - n, "password=***");
				for (p += 9; p < end && *p != ' '; p++)
					;
				continue;
			}
			out[n++] = *p++;
		}
		if (*p == ',' && n + 1 < len)
			out[n++] = *p++;
		if (n >= len)
			n = len - 1;
	}
	out[n < len ? n : len - 1] = 0;
}

static void nap(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	nanosleep(&ts, NULL);
}

/* ---- spool ---- */

static int spool_open(struct runner *r)
{
	const char *dir = r->opt.spool_dir ? r->opt.spool_dir : "/var/tmp";
	char path[512];

	r->spool_fd = -1;
	if (!r->opt.spool_max)
		return 0;
	/* Unnamed: it disappears with the process, whatever way it ends. */
	r->spool_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (r->spool_fd < 0) {
		snprintf(path, sizeof(path), "%s/xdpi-spool.XXXXXX", dir);
		r->spool_fd = mkstemp(path);
		if (r->spool_fd >= 0)
			unlink(path);
	}
	if (r->spool_fd < 0) {
		fprintf(stderr, "xdpi: out %s: cannot create a spool file in %s: %s (--spool-dir)\n",
			r->uri, dir, strerror(errno));
		return -1;
	}
	r->replay_size = 8u << 20;
	r->replay = malloc(r->replay_size);
	return r->replay ? 0 : -1;
}

static int spool_empty(const struct runner *r)
{
	return r->spool_w == r->spool_r;
}

/* Appends the gathered batch; what does not fit under --spool-max is
 * dropped and counted. */
static void spool_append(struct runner *r)
{
	uint64_t kept = 0, bytes = 0, dropped = 0;

	for (size_t i = 0; i < r->nitems; i++) {
		const struct sink_item *it = &r->items[i];
		struct spool_hdr h = { it->type, (uint32_t)record_size(it->type), it->seq };
		struct iovec v[2] = { { &h, sizeof(h) }, { (void *)it->rec, h.len } };
		uint64_t need = sizeof(h) + h.len;

		if (r->spool_fd < 0 || r->spool_w - r->spool_r + need > r->opt.spool_max ||
		    pwritev(r->spool_fd, v, 2, (off_t)r->spool_w) != (ssize_t)need) {
			dropped++;
			continue;
		}
		r->spool_w += need;
		bytes += need;
		kept++;
	}
	atomic_fetch_add(&r->spooled, kept);
	atomic_fetch_add(&r->spool_bytes, bytes);
	atomic_fetch_add(&r->spool_drops, dropped);
}

/* Reads the next chunk of the spool into items; returns its bytes. */
static uint64_t spool_read(struct runner *r)
{
	uint64_t want = r->spool_w - r->spool_r, off = 0;
	ssize_t got;

	if (want > r->replay_size)
		want = r->replay_size;
	got = pread(r->spool_fd, r->replay, want, (off_t)r->spool_r);
	if (got <= 0)
		return 0;
	r->nitems = 0;
	while (off + sizeof(struct spool_hdr) <= (uint64_t)got && r->nitems < r->ops->max_batch) {
		struct spool_hdr h;

		memcpy(&h, r->replay + off, sizeof(h));
		if (off + sizeof(h) + h.len > (uint64_t)got)
			break;
		r->items[r->nitems++] = (struct sink_item){
			.type = (enum record_type)h.type, .seq = h.seq, .run = r->env.run,
			.host = r->env.host, .rec = r->replay + off + sizeof(h),
		};
		off += sizeof(h) + h.len;
	}
	return off;
}

/* ---- the sink's thread ---- */

static void set_down(struct runner *r, const char *what)
{
	uint64_t now = mono_ns();

	atomic_fetch_add(&r->failures, 1);
	if (r->up) {
		fprintf(stderr, "xdpi: out %s: %s failed: %s; records go to the spool, retrying\n",
			r->uri, what, r->err);
		if (r->ops->disconnect)
			r->ops->disconnect(r->sink);
	}
	r->up = 0;
	atomic_store(&r->up_now, 0);
	r->next_retry = now + r->backoff;
	r->backoff = r->backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : r->backoff * 2;
}

static void try_connect(struct runner *r, int first)
{
	r->err[0] = 0;
	if (r->ops->connect && r->ops->connect(r->sink, r->err, sizeof(r->err))) {
		if (first)
			fprintf(stderr, "xdpi: out %s: not reachable (%s); records go to the "
				"spool until it is\n", r->uri, r->err);
		set_down(r, "connect"); /* silent: r->up is already 0 */
		return;
	}
	if (!first)
		fprintf(stderr, "xdpi: out %s: connected again; %llu spooled records to deliver\n",
			r->uri, (unsigned long long)atomic_load(&r->spooled));
	r->up = 1;
	atomic_store(&r->up_now, 1);
	r->backoff = BACKOFF_MIN_NS;
	r->last_tick = mono_ns();
}

static int deliver(struct runner *r)
{
	r->err[0] = 0;
	if (r->ops->write(r->sink, r->items, r->nitems, r->err, sizeof(r->err))) {
		set_down(r, "write");
		return -1;
	}
	atomic_fetch_add(&r->delivered, r->nitems);
	atomic_fetch_add(&r->batches, 1);
	return 0;
}

/* One chunk of the spool to the sink; 0 when it went (or nothing to do). */
static int replay_spool(struct runner *r)
{
	uint64_t bytes = spool_read(r);
	size_t n = r->nitems;

	if (!bytes)
		return 0;
	if (deliver(r)) {
		r->nitems = 0;
		return -1;
	}
	r->nitems = 0;
	r->spool_r += bytes;
	atomic_fetch_sub(&r->spooled, n);
	atomic_fetch_sub(&r->spool_bytes, bytes);
	if (spool_empty(r)) { /* start over: the file does not grow for ever */
		r->spool_r = r->spool_w = 0;
		if (ftruncate(r->spool_fd, 0))
			r->err[0] = 0;
	}
	return 0;
}

/* Adds published records to the batch; returns how many it holds. */
static size_t gather(struct runner *r)
{
	const struct qrec *q;
	uint32_t len, kind;

	while (r->nitems < r->ops->max_batch && r->held_bytes < r->opt.queue_bytes / 4 &&
	       (q = spsc_peek(r->ring, &len, &kind))) {
		if (!r->nitems)
			r->batch_start = mono_ns();
		r->items[r->nitems++] = (struct sink_item){
			.type = (enum record_type)kind, .seq = q->seq, .run = r->env.run,
			.host = r->env.host, .rec = q + 1,
		};
		r->held_bytes += spsc_rec_bytes(len);
		spsc_consume(r->ring);
		atomic_fetch_add(&r->taken, 1);
	}
	return r->nitems;
}

/* Live: records wait behind the batch in hand. A write to the sink may
 * take long, and meanwhile the queue must not fill up: with a quarter of it
 * taken, batches go to the spool (a fast append) instead, and the sink gets
 * them from there once the queue is quiet again. So a burst faster than
 * the sink is kept on disk, not dropped at the queue. */
static int queue_pressed(struct runner *r)
{
	uint64_t head = atomic_load_explicit(&r->ring->head, memory_order_acquire);

	return r->env.live && r->spool_fd >= 0 && head - r->ring->cons_tail >= r->ring->size / 4;
}

static void release_batch(struct runner *r)
{
	r->nitems = 0;
	r->held_bytes = 0;
	spsc_release(r->ring);
}

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	uint64_t give_up = 0;

	if (!r->up)
		try_connect(r, 1);
	for (;;) {
		int stopping = atomic_load_explicit(&r->stopping, memory_order_acquire);
		uint64_t now = mono_ns();
		size_t n;

		if (!r->up && now >= r->next_retry)
			try_connect(r, 0);
		if (r->up && !spool_empty(r) && !r->nitems && !queue_pressed(r)) {
			replay_spool(r);
			continue;
		}
		n = gather(r);
		now = mono_ns();
		if (n && n < r->ops->max_batch && !stopping &&
		    now - r->batch_start < (uint64_t)r->ops->linger_ms * 1000000ull &&
		    r->held_bytes < r->opt.queue_bytes / 4) {
			nap(IDLE_NAP_NS);
			continue;
		}
		if (n) {
			if (!r->up || !spool_empty(r) || queue_pressed(r) || deliver(r))
				spool_append(r);
			release_batch(r);
			continue;
		}
		if (r->up && r->ops->tick && now - r->last_tick >= TICK_EVERY_NS / 4) {
			r->last_tick = now;
			r->err[0] = 0;
			if (r->ops->tick(r->sink, now, r->err, sizeof(r->err)))
				set_down(r, "flush");
		}
		if (stopping) {
			/* The producer is done: nothing more will be published. */
			if (spool_empty(r) && r->up) {
				/* What the sink still buffers must reach it. */
				if (r->ops->tick && r->ops->tick(r->sink, now, r->err, sizeof(r->err))) {
					fprintf(stderr, "xdpi: out %s: last flush failed: %s\n",
						r->uri, r->err);
					atomic_store(&r->final_failed, 1);
				}
				break;
			}
			if (spool_empty(r) && !atomic_load(&r->spooled))
				break;
			if (!give_up)
				give_up = now + r->opt.close_wait_ns;
			if (now >= give_up) {
				atomic_store(&r->lost, atomic_load(&r->spooled));
				break;
			}
		}
		nap(r->up ? IDLE_NAP_NS : 10 * IDLE_NAP_NS);
	}
	return NULL;
}

/* ---- producer side ---- */

/* What runner_start_ops() allocated, the sink aside. */
static void runner_free(struct runner *r, void *queue, uint64_t queue_bytes)
{
	if (queue)
		mem_free_big(queue, queue_bytes);
	if (r->spool_fd >= 0)
		close(r->spool_fd);
	free(r->replay);
	free(r->ring);
	free(r->items);
	free(r);
}

struct runner *runner_start(const char *uri, const struct sink_env *env,
			    const struct runner_opts *o)
{
	const char *target;
	const struct sink_ops *ops = runner_find_sink(uri, &target);
	char err[512];

	if (!ops) {
		runner_check_uri(uri, err, sizeof(err));
		fprintf(stderr, "xdpi: %s\n", err);
		return NULL;
	}
	return runner_start_ops(ops, uri, target, env, o);
}

struct runner *runner_start_ops(const struct sink_ops *ops, const char *uri, const char *target,
				const struct sink_env *env, const struct runner_opts *o)
{
	struct runner *r = calloc(1, sizeof(*r));
	void *buf = NULL;

	if (!r)
		return NULL;
	runner_redact_uri(r->uri, sizeof(r->uri), uri);
	r->ops = ops;
	r->spool_fd = -1;
	r->env = *env;
	r->opt = *o;
	r->backoff = BACKOFF_MIN_NS;
	r->sink = r->ops->open(target, &r->env, r->err, sizeof(r->err));
	if (!r->sink) {
		fprintf(stderr, "xdpi: --out %s: %s\n", r->uri, r->err);
		goto fail;
	}
	r->items = calloc(r->ops->max_batch, sizeof(*r->items));
	r->ring = aligned_alloc(SPSC_CACHELINE, sizeof(*r->ring));
	buf = r->ring ? mem_alloc_big(o->queue_bytes) : NULL;
	if (!r->items || !buf || spool_open(r)) {
		fprintf(stderr, "xdpi: --out %s: out of memory for its queue\n", r->uri);
		goto fail;
	}
	spsc_init(r->ring, buf, o->queue_bytes);
	if (ops->local && ops->connect) { /* a bad file stops the start */
		if (ops->connect(r->sink, r->err, sizeof(r->err))) {
			fprintf(stderr, "xdpi: --out %s: %s\n", r->uri, r->err);
			goto fail;
		}
		r->up = 1;
		atomic_store(&r->up_now, 1);
		r->last_tick = mono_ns();
	}
	if (pthread_create(&r->thread, NULL, runner_main, r)) {
		fprintf(stderr, "xdpi: --out %s: cannot start its thread\n", r->uri);
		goto fail;
	}
	r->started = 1;
	return r;
fail:
	if (r->sink)
		r->ops->close(r->sink);
	runner_free(r, buf, o->queue_bytes);
	return NULL;
}

void runner_push(struct runner *r, enum record_type t, uint64_t seq, const void *rec)
{
	size_t size = record_size(t);
	struct qrec *q;

	while (!(q = spsc_claim(r->ring, (uint32_t)(sizeof(*q) + size), t))) {
		spsc_publish(r->ring);
		r->unpublished = 0;
		if (r->env.live) { /* capture never waits for a sink */
			r->queue_drops++;
			return;
		}
		r->waits++;
		nap(100 * 1000);
	}
	q->seq = seq;
	memcpy(q + 1, rec, size);
	r->queued++;
	if (++r->unpublished >= 64)
		runner_publish(r);
}

void runner_publish(struct runner *r)
{
	spsc_publish(r->ring);
	r->unpublished = 0;
}

int runner_stop(struct runner *r, struct runner_stats *final)
{
	int rc = 0;

	if (!r)
		return 0;
	runner_publish(r);
	atomic_store_explicit(&r->stopping, 1, memory_order_release);
	pthread_join(r->thread, NULL);
	if (r->nitems) /* the thread never leaves a batch behind; be safe */
		release_batch(r);
	if (atomic_load(&r->final_failed))
		rc = -1;
	if (atomic_load(&r->lost) || atomic_load(&r->spool_drops) || r->queue_drops) {
		fprintf(stderr, "xdpi: out %s: %llu records not delivered (%llu lost at exit, "
			"%llu beyond --spool-max, %llu with the queue full)\n", r->uri,
			(unsigned long long)(atomic_load(&r->lost) + atomic_load(&r->spool_drops) +
					     r->queue_drops),
			(unsigned long long)atomic_load(&r->lost),
			(unsigned long long)atomic_load(&r->spool_drops),
			(unsigned long long)r->queue_drops);
		rc = -1;
	}
	r->started = 0; /* joined: its clock is gone */
	runner_stats(r, final);
	r->ops->close(r->sink);
	runner_free(r, r->ring->buf, r->ring->size);
	return rc;
}

void runner_stats(struct runner *r, struct runner_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->queued = r->queued;
	st->delivered = atomic_load(&r->delivered);
	st->batches = atomic_load(&r->batches);
	st->queue_drops = r->queue_drops;
	st->spool_drops = atomic_load(&r->spool_drops);
	st->lost_at_exit = atomic_load(&r->lost);
	st->spooled = atomic_load(&r->spooled);
	st->spool_bytes = atomic_load(&r->spool_bytes);
	st->failures = atomic_load(&r->failures);
	st->waits = r->waits;
	st->backlog = r->queued - atomic_load(&r->taken);
	st->up = atomic_load(&r->up_now);
	if (r->started) {
		struct timespec ts;
		clockid_t cid;

		if (!pthread_getcpuclockid(r->thread, &cid) && !clock_gettime(cid, &ts))
			st->cpu_seconds = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
}

const char *runner_uri(const struct runner *r)
{
	return r->uri;
}
