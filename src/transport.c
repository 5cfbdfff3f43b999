#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xdpi/abi.h"
#include "xdpi.skel.h"

struct transport {
	int kind;              /* enum xdpi_transport */
	int ncpus;
	int perf_fd;           /* the perf event array */
	uint64_t bytes;        /* per CPU */
	int ring_fd[XDPI_MAX_CPUS];
};

/* One CPU's BPF ring buffer, mapped and read here rather than through
 * libbpf, so that a reader can look at the next record of each of its
 * rings before taking one: it takes them in time order across CPUs. */
struct ring {
	unsigned long *consumer_pos;   /* page shared with the kernel, writable */
	const unsigned long *producer_pos;
	const uint8_t *data;           /* mapped twice in a row: records never wrap */
	uint64_t mask;
	uint64_t cons;                 /* our position, published in batches */
	size_t map_len;
	const uint8_t *next;           /* peeked record (payload), or NULL */
	uint32_t next_len;
	uint64_t next_ts;
};

struct transport_reader {
	struct transport *t;
	transport_event_fn fn;
	void *ctx;
	struct ring rings[XDPI_MAX_CPUS];
	int nrings;
	int epfd;
	struct perf_buffer *pb;
	uint64_t lost;
	int taken;
};

static int possible_cpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n < 1 ? 1 : n > XDPI_MAX_CPUS ? XDPI_MAX_CPUS : n;
}

int transport_prepare(struct xdpi_bpf *skel, const struct xdpi_config *cfg)
{
	int ncpus = possible_cpus();

	/* The rings' size is their own: the kernel does not hold inner ring
	 * buffers to the template's size. */
	skel->rodata->transport = (uint32_t)cfg->transport;
	/* The verdicts map holds one entry per classified flow at most. */
	if (bpf_map__set_max_entries(skel->maps.ev_rings, (uint32_t)ncpus) ||
	    bpf_map__set_max_entries(skel->maps.ev_perf, (uint32_t)ncpus) ||
	    bpf_map__set_max_entries(skel->maps.verdicts, cfg->max_flows))
		return -EINVAL;
	return 0;
}

struct transport *transport_open(struct xdpi_bpf *skel, const struct xdpi_config *cfg)
{
	struct transport *t = calloc(1, sizeof(*t));
	char name[24];

	if (!t)
		return NULL;
	t->kind = cfg->transport;
	t->bytes = cfg->ringbuf_bytes;
	t->perf_fd = bpf_map__fd(skel->maps.ev_perf);
	for (int i = 0; i < XDPI_MAX_CPUS; i++)
		t->ring_fd[i] = -1;
	if (t->kind == XDPI_TRANSPORT_NONE)
		return t;
	t->ncpus = possible_cpus();
	if (t->kind != XDPI_TRANSPORT_RINGBUF)
		return t;
	for (int i = 0; i < t->ncpus; i++) {
		uint32_t key = (uint32_t)i;

		snprintf(name, sizeof(name), "xdpi_ev%d", i);
		t->ring_fd[i] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, name, 0, 0,
					       (uint32_t)cfg->ringbuf_bytes, NULL);
		if (t->ring_fd[i] < 0 ||
		    bpf_map_update_elem(bpf_map__fd(skel->maps.ev_rings), &key, &t->ring_fd[i], 0)) {
			fprintf(stderr, "xdpi: cannot create the event ring buffer of CPU %d "
				"(%llu bytes): %s\n", i, (unsigned long long)cfg->ringbuf_bytes,
				strerror(errno));
			transport_close(t);
			return NULL;
		}
	}
	return t;
}

void transport_close(struct transport *t)
{
	if (!t)
		return;
	for (int i = 0; i < XDPI_MAX_CPUS; i++)
		if (t->ring_fd[i] >= 0)
			close(t->ring_fd[i]);
	free(t);
}

int transport_ncpus(const struct transport *t)
{
	return t->ncpus;
}

static int ring_map(struct ring *r, int fd, uint64_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	void *c, *p;

	c = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		return -1;
	r->map_len = (size_t)page + 2 * size;
	/* Populated now: no page faults while reading. */
	p = mmap(NULL, r->map_len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, page);
	if (p == MAP_FAILED) {
		munmap(c, (size_t)page);
		return -1;
	}
	r->consumer_pos = c;
	r->producer_pos = p;
	r->data = (const uint8_t *)p + page;
	r->mask = size - 1;
	r->cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
	return 0;
}

static void ring_unmap(struct ring *r)
{
	if (r->consumer_pos)
		munmap(r->consumer_pos, (size_t)sysconf(_SC_PAGESIZE));
	if (r->producer_pos)
		munmap((void *)r->producer_pos, r->map_len);
}

/* Finds the ring's next committed record (skipping discarded ones); 0 when
 * there is none yet. */
static int ring_peek(struct ring *r)
{
	uint64_t prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);

	while (r->cons < prod) {
		const uint8_t *hdr = r->data + (r->cons & r->mask);
		uint32_t len = __atomic_load_n((const uint32_t *)hdr, __ATOMIC_ACQUIRE);

		if (len & BPF_RINGBUF_BUSY_BIT)
			return 0;
		if (len & BPF_RINGBUF_DISCARD_BIT) {
			len &= ~(uint32_t)BPF_RINGBUF_DISCARD_BIT;
			r->cons += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
			continue;
		}
		r->next = hdr + BPF_RINGBUF_HDR_SZ;
		r->next_len = len;
		/* struct xdpi_event puts ts_ns at byte 8. */
		r->next_ts = 0;
		if (len >= 16)
			memcpy(&r->next_ts, r->next + 8, sizeof(r->next_ts));
		return 1;
	}
	return 0;
}

static void ring_release(struct ring *r)
{
	__atomic_store_n(r->consumer_pos, r->cons, __ATOMIC_RELEASE);
}

/* Takes every committed record of the reader's rings, oldest first: the
 * rings are merged by event time, so a flow whose directions are handled
 * on two CPUs reaches its worker in order. */
static int rings_consume(struct transport_reader *rd)
{
	int n = 0;

	for (int i = 0; i < rd->nrings; i++)
		if (!rd->rings[i].next)
			ring_peek(&rd->rings[i]);
	for (;;) {
		struct ring *best = NULL;

		for (int i = 0; i < rd->nrings; i++) {
			struct ring *r = &rd->rings[i];

			if (r->next && (!best || r->next_ts < best->next_ts))
				best = r;
		}
		if (!best)
			break;
		rd->fn(rd->ctx, (void *)best->next, best->next_len);
		best->cons += (best->next_len + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
		best->next = NULL;
		/* Room back to the kernel now and then, not per record. */
		if (++n % 1024 == 0)
			ring_release(best);
		ring_peek(best);
	}
	for (int i = 0; i < rd->nrings; i++)
		ring_release(&rd->rings[i]);
	return n;
}

/* A perf sample: header, u32 size, then the bytes the program sent, padded. */
struct perf_sample {
	struct perf_event_header h;
	uint32_t size;
	uint8_t data[];
};

struct perf_lost {
	struct perf_event_header h;
	uint64_t id;
	uint64_t lost;
};

static enum bpf_perf_event_ret on_perf(void *ctx, int cpu, struct perf_event_header *h)
{
	struct transport_reader *r = ctx;

	(void)cpu;
	if (h->type == PERF_RECORD_SAMPLE) {
		struct perf_sample *s = (void *)h;

		r->taken++;
		r->fn(r->ctx, s->data, s->size);
	} else if (h->type == PERF_RECORD_LOST) {
		r->lost += ((struct perf_lost *)h)->lost;
	}
	return LIBBPF_PERF_EVENT_CONT;
}

static struct perf_buffer *open_perf(struct transport_reader *r, int first, int step)
{
	struct perf_event_attr attr = { 0 };
	int cpus[XDPI_MAX_CPUS], keys[XDPI_MAX_CPUS], n = 0;
	long page = sysconf(_SC_PAGESIZE);
	LIBBPF_OPTS(perf_buffer_raw_opts, opts);

	for (int c = first; c < r->t->ncpus; c += step) {
		cpus[n] = c;
		keys[n++] = c;
	}
	opts.cpu_cnt = n;
	opts.cpus = cpus;
	opts.map_keys = keys;
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_BPF_OUTPUT;
	attr.sample_type = PERF_SAMPLE_RAW;
	/* Wake the reader once a quarter of the buffer is queued, not per event. */
	attr.watermark = 1;
	attr.wakeup_watermark = (uint32_t)(r->t->bytes / 4);
	return perf_buffer__new_raw(r->t->perf_fd, (size_t)(r->t->bytes / (uint64_t)page), &attr,
				    on_perf, r, &opts);
}

struct transport_reader *transport_reader_new(struct transport *t, int first, int step,
					      transport_event_fn fn, void *ctx)
{
	struct transport_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->t = t;
	r->fn = fn;
	r->ctx = ctx;
	r->epfd = -1;
	if (step < 1)
		step = 1;
	if (t->kind == XDPI_TRANSPORT_RINGBUF) {
		r->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (r->epfd < 0)
			goto fail;
		for (int c = first; c < t->ncpus; c += step) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)c };

			if (ring_map(&r->rings[r->nrings], t->ring_fd[c], t->bytes))
				goto fail;
			r->nrings++;
			if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, t->ring_fd[c], &ev))
				goto fail;
		}
	} else if (t->kind == XDPI_TRANSPORT_PERFBUF && first < t->ncpus) {
		r->pb = open_perf(r, first, step);
		if (!r->pb)
			goto fail;
	}
	return r;
fail:
	fprintf(stderr, "xdpi: cannot read the event buffers: %s\n", strerror(errno));
	transport_reader_free(r);
	return NULL;
}

int transport_reader_consume(struct transport_reader *r)
{
	int err;

	if (r->nrings)
		return rings_consume(r);
	if (!r->pb)
		return 0;
	r->taken = 0;
	err = perf_buffer__consume(r->pb);
	return err < 0 ? err : r->taken;
}

int transport_reader_poll(struct transport_reader *r, int timeout_ms)
{
	int err = 0;

	if (r->nrings) {
		struct epoll_event ev[8];

		err = epoll_wait(r->epfd, ev, 8, timeout_ms) < 0 ? -errno : 0;
	} else if (r->pb) {
		err = perf_buffer__poll(r->pb, timeout_ms);
	} else if (timeout_ms > 0) {
		usleep((useconds_t)timeout_ms * 1000);
	}
	if (err < 0 && err != -EINTR)
		return err;
	/* Events below the wake-up watermark wait for this. */
	return transport_reader_consume(r);
}

uint64_t transport_reader_lost(const struct transport_reader *r)
{
	return r->lost;
}

void transport_reader_free(struct transport_reader *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nrings; i++)
		ring_unmap(&r->rings[i]);
	if (r->epfd >= 0)
		close(r->epfd);
	perf_buffer__free(r->pb);
	free(r);
}
