#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/mman.h>
#include "sink/jsonl.h"
#include "mem.h"
#include "spsc.h"

#define QUEUE_BATCH 64
#define OUT_BUF (1 << 16)

/* A file sink, or a queue front: a worker thread's records travel through
 * an SPSC ring to the thread that owns the sink. */
struct output {
	FILE *f;
	int owned;
	int failed;
	uint64_t records;
	struct spsc *ring;      /* queue front only */
	uint32_t unpublished;
	uint64_t waits;         /* times the ring was full */
	char *iobuf;
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

struct output *output_open(const char *path)
{
	struct output *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	if (!path || !strcmp(path, "-")) {
		o->f = stdout;
	} else {
		o->f = fopen(path, "w");
		if (!o->f) {
			fprintf(stderr, "xdpi: cannot write %s: %s\n", path, strerror(errno));
			free(o);
			return NULL;
		}
		o->owned = 1;
	}
	/* Whole lines as they come on a terminal, big writes otherwise. The
	 * buffer is ours, allocated now rather than on the first record. */
	o->iobuf = malloc(OUT_BUF);
	if (!o->iobuf) {
		output_close(o);
		return NULL;
	}
	setvbuf(o->f, o->iobuf, isatty(fileno(o->f)) ? _IOLBF : _IOFBF, OUT_BUF);
	return o;
}

static int file_write(struct output *o, enum record_type t, const void *r)
{
	static _Thread_local char line[JSONL_LINE_MAX];
	size_t n = jsonl_format(line, sizeof(line), t, r);

	if (!n || fwrite(line, 1, n, o->f) != n) {
		o->failed = 1;
		return -1;
	}
	o->records++;
	return 0;
}

int output_emit(struct output *o, enum record_type t, const void *r)
{
	return o->ring ? queue_push(o, t, r) : file_write(o, t, r);
}

int output_flow(struct output *o, const struct flow_record *r)
{
	return output_emit(o, REC_FLOW, r);
}

int output_flush(struct output *o)
{
	if (o->ring) {
		spsc_publish(o->ring);
		o->unpublished = 0;
		return 0;
	}
	return fflush(o->f) ? -1 : 0;
}

uint64_t output_records(const struct output *o)
{
	return o->records;
}

int output_close(struct output *o)
{
	int rc;

	if (!o)
		return 0;
	if (o->ring) {
		mem_free_big(o->ring->buf, o->ring->size);
		free(o->ring);
		free(o);
		return 0;
	}
	rc = fflush(o->f) ? -1 : 0;
	if (o->owned && fclose(o->f))
		rc = -1;
	else if (!o->owned)
		setvbuf(o->f, NULL, _IONBF, 0); /* stdout must not keep our buffer */
	if (o->failed)
		rc = -1;
	free(o->iobuf);
	free(o);
	return rc;
}

uint64_t output_waits(const struct output *o)
{
	return o->waits;
}
