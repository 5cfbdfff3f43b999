#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

struct transport_reader {
	struct transport *t;
	transport_event_fn fn;
	void *ctx;
	struct ring_buffer *rb;
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

static int on_ring(void *ctx, void *data, size_t len)
{
	struct transport_reader *r = ctx;

	r->taken++;
	return r->fn(r->ctx, data, len);
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
	if (step < 1)
		step = 1;
	if (t->kind == XDPI_TRANSPORT_RINGBUF) {
		for (int c = first; c < t->ncpus; c += step) {
			int err = r->rb ? ring_buffer__add(r->rb, t->ring_fd[c], on_ring, r) : 0;

			if (!r->rb)
				r->rb = ring_buffer__new(t->ring_fd[c], on_ring, r, NULL);
			if (!r->rb || err)
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
	int err = 0;

	r->taken = 0;
	if (r->rb)
		err = ring_buffer__consume(r->rb);
	else if (r->pb)
		err = perf_buffer__consume(r->pb);
	return err < 0 ? err : r->taken;
}

int transport_reader_poll(struct transport_reader *r, int timeout_ms)
{
	int err = 0;

	if (r->rb)
		err = ring_buffer__poll(r->rb, timeout_ms);
	else if (r->pb)
		err = perf_buffer__poll(r->pb, timeout_ms);
	else if (timeout_ms > 0)
		usleep((useconds_t)timeout_ms * 1000);
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
	ring_buffer__free(r->rb);
	perf_buffer__free(r->pb);
	free(r);
}
