#include "flowstore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

void flow_val_merge(struct xdpi_flow_val *out, const void *percpu, int ncpus,
		    size_t stride)
{
	int have = 0;

	memset(out, 0, sizeof(*out));
	for (int c = 0; c < ncpus; c++) {
		const struct xdpi_flow_val *v =
			(const void *)((const char *)percpu + (size_t)c * stride);

		if (!v->seen)
			continue;
		if (!have || v->first_ns < out->first_ns) {
			out->first_ns = v->first_ns;
			out->first_dir = v->first_dir;
			out->icmp_type = v->icmp_type;
			out->icmp_code = v->icmp_code;
		}
		if (v->last_ns > out->last_ns)
			out->last_ns = v->last_ns;
		if (v->app_proto)
			out->app_proto = v->app_proto;
		out->offloaded |= v->offloaded;
		out->sampled_out |= v->sampled_out;
		if (v->sample_log2 > out->sample_log2)
			out->sample_log2 = v->sample_log2;
		if (v->pkt_sample > out->pkt_sample)
			out->pkt_sample = v->pkt_sample;
		if (v->flow_sample > out->flow_sample)
			out->flow_sample = v->flow_sample;
		for (int d = 0; d < 2; d++) {
			out->dir[d].pkts += v->dir[d].pkts;
			out->dir[d].bytes += v->dir[d].bytes;
			out->dir[d].tcp_flags |= v->dir[d].tcp_flags;
			out->dir[d].snippets += v->dir[d].snippets;
		}
		/* TCP metrics: counters add up, handshake times are the earliest;
		 * sequence state stays per copy (it means nothing merged). */
		for (int d = 0; d < 2; d++) {
			out->tcp[d].retrans += v->tcp[d].retrans;
			out->tcp[d].ooo += v->tcp[d].ooo;
			out->tcp[d].zero_win += v->tcp[d].zero_win;
			out->tcp[d].rst += v->tcp[d].rst;
		}
		if (v->synack_ns && (!out->synack_ns || v->synack_ns < out->synack_ns))
			out->synack_ns = v->synack_ns;
		if (v->ack_ns && (!out->ack_ns || v->ack_ns < out->ack_ns))
			out->ack_ns = v->ack_ns;
		if (!(out->tcp_state & XDPI_TS_CLIENT))
			out->tcp_state |= v->tcp_state & (XDPI_TS_CLIENT | XDPI_TS_CLIENT_HI);
		have = 1;
	}
	out->seen = (uint8_t)have;
	/* The SYN a round trip is measured from is the last one before the
	 * SYN/ACK, which another CPU may have seen. */
	for (int c = 0; c < ncpus; c++) {
		const struct xdpi_flow_val *v =
			(const void *)((const char *)percpu + (size_t)c * stride);

		if (v->seen && v->syn_ns > out->syn_ns &&
		    (!out->synack_ns || v->syn_ns <= out->synack_ns))
			out->syn_ns = v->syn_ns;
	}
}

/* ---- kernel map ---- */

struct kstore {
	struct flowstore base;
	int fd;
	int ncpus;
	size_t stride;
	uint32_t batch;
	struct xdpi_flow_key *keys;
	uint8_t *vals;
	uint8_t *one;   /* values of a single key, for take */
};

static int kstore_scan(struct flowstore *s, flowstore_visit_fn fn, void *arg)
{
	struct kstore *ks = (struct kstore *)s;
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint64_t token = 0;
	void *in = NULL;
	int done = 0;

	while (!done) {
		uint32_t n = ks->batch;
		int err = bpf_map_lookup_batch(ks->fd, in, &token, ks->keys, ks->vals,
					       &n, &opts);

		if (err) {
			err = -errno;
			if (err != -ENOENT)
				return err;
			done = 1; /* last batch: n is still valid */
		}
		for (uint32_t i = 0; i < n; i++) {
			struct xdpi_flow_val v;

			flow_val_merge(&v, ks->vals + (size_t)i * ks->stride * ks->ncpus,
				       ks->ncpus, ks->stride);
			if (fn(&ks->keys[i], &v, arg))
				return 0;
		}
		in = &token;
	}
	return 0;
}

static int kstore_take(struct flowstore *s, const struct xdpi_flow_key *k,
		       struct xdpi_flow_val *out)
{
	struct kstore *ks = (struct kstore *)s;

	if (bpf_map_lookup_and_delete_elem(ks->fd, k, ks->one))
		return -errno;
	flow_val_merge(out, ks->one, ks->ncpus, ks->stride);
	return 0;
}

static void kstore_destroy(struct flowstore *s)
{
	struct kstore *ks = (struct kstore *)s;

	free(ks->keys);
	free(ks->vals);
	free(ks->one);
	free(ks);
}

struct flowstore *flowstore_kernel_new(int map_fd, uint32_t batch)
{
	struct kstore *ks = calloc(1, sizeof(*ks));
	int ncpus = libbpf_num_possible_cpus();

	if (!ks || ncpus <= 0)
		goto fail;
	ks->fd = map_fd;
	ks->ncpus = ncpus;
	ks->stride = (sizeof(struct xdpi_flow_val) + 7) & ~(size_t)7;
	ks->batch = batch;
	ks->keys = calloc(batch, sizeof(*ks->keys));
	ks->vals = calloc(batch, ks->stride * (size_t)ncpus);
	ks->one = calloc(1, ks->stride * (size_t)ncpus);
	if (!ks->keys || !ks->vals || !ks->one)
		goto fail;
	ks->base.scan = kstore_scan;
	ks->base.take = kstore_take;
	ks->base.destroy = kstore_destroy;
	return &ks->base;
fail:
	if (ks)
		kstore_destroy(&ks->base);
	return NULL;
}

/* ---- user-space table ---- */

struct ustore {
	struct flowstore base;
	struct flowtab *t;
};

static int ustore_scan(struct flowstore *s, flowstore_visit_fn fn, void *arg)
{
	struct ustore *us = (struct ustore *)s;
	for (uint32_t i = 0; i < flowtab_count(us->t); i++) {
		const struct xdpi_flow_key *k;
		void *v;

		flowtab_at(us->t, i, &k, &v);
		if (fn(k, v, arg))
			break;
	}
	return 0;
}

static int ustore_take(struct flowstore *s, const struct xdpi_flow_key *k,
		       struct xdpi_flow_val *out)
{
	struct ustore *us = (struct ustore *)s;

	return flowtab_remove(us->t, k, out) ? -ENOENT : 0;
}

static void ustore_destroy(struct flowstore *s)
{
	free(s);
}

struct flowstore *flowstore_user_new(struct flowtab *table)
{
	struct ustore *us = calloc(1, sizeof(*us));

	if (!us)
		return NULL;
	us->t = table;
	us->base.scan = ustore_scan;
	us->base.take = ustore_take;
	us->base.destroy = ustore_destroy;
	return &us->base;
}
