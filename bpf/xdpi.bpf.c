// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* xdpi kernel side: one inspection routine behind an XDP program and a TC
 * program. Parse (include/xdpi/parse.h) -> sanity counters -> per-CPU flow
 * map -> events to user space. The verdict is always PASS. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdpi/abi.h"

/* Per-CPU scratch slot: a value read back from a map is unknown to the
 * verifier, which is what XDPI_OPAQUE_OFF needs (see parse.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} scratch SEC(".maps");

static __always_inline long opaque_off(long off)
{
	__u32 zero = 0;
	volatile __u64 *slot = bpf_map_lookup_elem(&scratch, &zero);

	if (!slot)
		return -1;
	*slot = off;
	return *slot;
}
#define XDPI_OPAQUE_OFF(off) opaque_off(off)

#include "xdpi/parse.h"
#include "xdpi/flow.h"

#define TC_ACT_OK 0

/* Benchmark builds only (bench/run.sh, never the normal build): stop after
 * a stage to time it alone. 1: timestamp + parse; 2: + counters and flow
 * update, no events; 3: everything, plus a snippet event for every packet
 * with payload whatever the budget K. */
#ifndef XDPI_BENCH_STAGE
#define XDPI_BENCH_STAGE 0
#endif

/* Set by the loader before load (read-only after). */
const volatile __u32 snippet_bytes = 256;   /* N: payload bytes per snippet */
const volatile __u32 snippet_pkts = 8;      /* K: snippets per flow direction */
const volatile __u32 replay_ts = 0;         /* 1: take time from XDP metadata */
const volatile __u64 wakeup_bytes = 256 * 1024; /* wake the consumer past this */

/* Bidirectional flows; written by both programs, read and deleted by the
 * user-space poller (batch lookup, lookup-and-delete on expiry). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct xdpi_flow_key);
	__type(value, struct xdpi_flow_val);
} flows SEC(".maps");

/* Flow-start, flow-end and snippet events to the user-space consumer. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

/* enum xdpi_counter slots; summed over CPUs by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPI_C__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

/* A global (separately verified) function: inlined, each unknown bit would
 * double the paths the verifier walks. */
__attribute__((noinline)) int count_anomalies(__u32 bits)
{
	__u32 i;

	for (i = 0; i <= XDPI_ANOMALY_LAST - XDPI_ANOMALY_FIRST; i++)
		if (bits & (1u << i))
			count(XDPI_ANOMALY_FIRST + i);
	return 0;
}

/* No wake-up per event: wake-ups cost microseconds here. The consumer polls
 * with a short timeout, and is woken early once enough data is queued. */
static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void emit_event(__u32 type, const struct xdpi_flow_key *key,
				       const struct xdpi_pkt *p, __u8 dir, __u64 ts)
{
	struct xdpi_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(XDPI_C_EV_LOST);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts_ns = ts;
	e->key = *key;
	e->tcp_seq = p->tcp_seq;
	e->pkt_len = p->ip_len;
	e->dir = dir;
	e->tcp_flags = p->tcp_flags;
	bpf_ringbuf_submit(e, rb_flags());
	count(type == XDPI_EV_FLOW_START ? XDPI_C_EV_START : XDPI_C_EV_END);
}

static __always_inline void emit_snippet(void *ctx, int is_xdp,
					 const struct xdpi_flow_key *key,
					 const struct xdpi_pkt *p, __u8 dir,
					 __u8 index, __u64 ts)
{
	struct xdpi_snippet_event *e;
	__u64 len = p->payload_len;
	long err;

	if (len > snippet_bytes)
		len = snippet_bytes;
	/* Opaque to the compiler, so the bound check below stays for the verifier. */
	asm volatile("" : "+r"(len));
	if (len == 0 || len > XDPI_SNIPPET_MAX)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(XDPI_C_EV_LOST);
		return;
	}
	if (is_xdp)
		err = bpf_xdp_load_bytes(ctx, p->payload_off, e->data, len);
	else
		err = bpf_skb_load_bytes(ctx, p->payload_off, e->data, len);
	if (err) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
	__builtin_memset(&e->hdr, 0, sizeof(e->hdr));
	e->hdr.type = XDPI_EV_SNIPPET;
	e->hdr.len = len;
	e->hdr.ts_ns = ts;
	e->hdr.key = *key;
	e->hdr.tcp_seq = p->tcp_seq;
	e->hdr.pkt_len = p->ip_len;
	e->hdr.dir = dir;
	e->hdr.tcp_flags = p->tcp_flags;
	e->hdr.pkt_index = index;
	bpf_ringbuf_submit(e, rb_flags());
	count(XDPI_C_EV_SNIPPET);
}

/* Flow accounting and events for one parsed packet. Reached through the
 * global functions below, so the verifier checks it once instead of once
 * per way out of the parser. */
static __always_inline int account(void *ctx, int is_xdp, struct xdpi_pkt *p,
				   __u64 ts, int rc)
{
	struct xdpi_flow_key key;
	struct xdpi_flow_val *v;
	__u8 dir, fresh;

	if (!p)
		return 0;
	count(XDPI_C_PACKETS);
	if (p->anomalies)
		count_anomalies(p->anomalies);
	if (rc == XDPI_P_NON_IP) {
		count(XDPI_C_NON_IP);
		return 0;
	}
	if (rc != XDPI_P_FLOW)
		return 0;
	if (p->frag)
		count(XDPI_C_IP_FRAGMENTS);

	dir = xdpi_flow_key_from_pkt(p, &key);
	v = bpf_map_lookup_elem(&flows, &key);
	if (!v) {
		struct xdpi_flow_val nv;

		xdpi_flow_val_init(&nv, p, dir, ts);
		if (bpf_map_update_elem(&flows, &key, &nv, BPF_NOEXIST) &&
		    bpf_map_update_elem(&flows, &key, &nv, BPF_ANY)) {
			count(XDPI_C_FLOW_UPDATE_FAIL);
			return 0;
		}
		count(XDPI_C_FLOWS_CREATED);
		emit_event(XDPI_EV_FLOW_START, &key, p, dir, ts);
		v = bpf_map_lookup_elem(&flows, &key);
		if (!v)
			return 0;
	}
	count(XDPI_C_FLOW_PACKETS);
	fresh = xdpi_flow_val_update(v, p, dir, ts);
	if (XDPI_BENCH_STAGE == 2)
		return 0;
	if (fresh)
		emit_event(XDPI_EV_FLOW_END, &key, p, dir, ts);
	if (XDPI_BENCH_STAGE == 3 && p->payload_len)
		emit_snippet(ctx, is_xdp, &key, p, dir, 0, ts);
	else if (snippet_pkts && xdpi_flow_take_snippet(v, p, dir, snippet_pkts))
		emit_snippet(ctx, is_xdp, &key, p, dir, v->dir[dir & 1].snippets - 1, ts);
	return 0;
}

__attribute__((noinline)) int account_xdp(struct xdp_md *ctx, struct xdpi_pkt *p,
					  __u64 ts, int rc)
{
	return account(ctx, 1, p, ts, rc);
}

__attribute__((noinline)) int account_tc(struct __sk_buff *skb, struct xdpi_pkt *p,
					 __u64 ts, int rc)
{
	return account(skb, 0, p, ts, rc);
}

SEC("xdp.frags")
int xdpi_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xdpi_pkt p;
	__u32 cut = 0;
	__u64 ts;
	int rc;

	if (replay_ts) {
		struct xdpi_replay_meta *m = (void *)(long)ctx->data_meta;

		if ((void *)(m + 1) <= data && m->magic == XDPI_META_TS_MAGIC) {
			ts = m->ts_ns;
			cut = m->cut;
		} else {
			ts = bpf_ktime_get_ns();
		}
	} else {
		ts = bpf_ktime_get_ns();
	}
	/* Bytes in fragments are there, just not in the linear area the parser
	 * reads: they must not look like a short IP packet. */
	cut += bpf_xdp_get_buff_len(ctx) - (__u32)(data_end - data);
#ifdef XDPI_TEST_VERIFIER_REJECT
	ts += *(volatile __u8 *)(data + 64); /* unchecked read: must be rejected */
#endif
	rc = xdpi_parse(data, data_end, cut, &p);
	if (!replay_ts)
		xdpi_extend_payload(&p, bpf_xdp_get_buff_len(ctx));
	if (XDPI_BENCH_STAGE == 1) {
		/* Keep the parse: its result must look used. */
		asm volatile("" : : "r"(&p), "r"(rc), "r"(ts) : "memory");
		return XDP_PASS;
	}
	account_xdp(ctx, &p, ts, rc);
	return XDP_PASS;
}

SEC("tc")
int xdpi_tc(struct __sk_buff *skb)
{
	/* Headers may sit in paged data: make the first bytes linear. */
	__u32 want = skb->len < 256 ? skb->len : 256;
	struct xdpi_pkt p;
	int rc;

	if ((long)skb->data_end - (long)skb->data < (long)want)
		bpf_skb_pull_data(skb, want);
	rc = xdpi_parse((void *)(long)skb->data, (void *)(long)skb->data_end,
			skb->len - (__u32)(skb->data_end - skb->data), &p);
	xdpi_extend_payload(&p, skb->len);
	account_tc(skb, &p, bpf_ktime_get_ns(), rc);
	return TC_ACT_OK;
}
