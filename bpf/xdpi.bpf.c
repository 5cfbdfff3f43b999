// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* xdpi kernel side: one inspection routine behind an XDP program and a TC
 * program. Parse (include/xdpi/parse.h) -> sanity counters -> per-CPU flow
 * map -> events to user space. The verdict is always PASS. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdpi/abi.h"

/* pos - base, computed by the verifier itself: to it the difference of two
 * packet pointers is an unknown scalar (for a loader with CAP_PERFMON, as
 * root is), which is what XDPI_OPAQUE_DIFF needs (see parse.h). In asm, so
 * the compiler cannot fold it into a constant on paths where it knows one. */
static __always_inline long opaque_diff(void *pos, void *base)
{
	long off;

	asm volatile("%[off] = %[pos]\n\t%[off] -= %[base]"
		     : [off] "=&r"(off)
		     : [pos] "r"(pos), [base] "r"(base));
	return off;
}
#define XDPI_OPAQUE_DIFF(pos, base) opaque_diff(pos, base)

/* Bytes of the packet past the linear data (see XDPI_CUT_T in parse.h): the
 * ones known up front, plus, for XDP, those in fragments. Asking for the
 * fragments is a helper call, made only when the parser needs the number. */
struct xdpi_cut {
	struct xdp_md *xdp; /* NULL: nothing to ask */
	__u32 known;
	__u32 linear;       /* bytes of linear data */
};

static __always_inline __u32 xdpi_cut_len(struct xdpi_cut c)
{
	if (!c.xdp)
		return c.known;
	return c.known + (bpf_xdp_get_buff_len(c.xdp) - c.linear);
}
#define XDPI_CUT_T    struct xdpi_cut
#define XDPI_CUT(cut) xdpi_cut_len(cut)

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

/* enum xdpi_counter slots, all in entry 0; summed over CPUs by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpi_counters);
} counters SEC(".maps");

/* The parse result, in a map value rather than on the stack: the verifier
 * does not track what a map value holds, so the many ways out of the
 * parser meet in a few states and the accounting after it is checked a few
 * times, not once per way (the stack version needed a separately verified
 * function for that, and still walked ~41k instructions against ~24k). One
 * slot per program; programs do not nest on a CPU, as the per-CPU flow
 * values already assume. */
enum { PKT_SLOT_XDP, PKT_SLOT_TC };
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct xdpi_pkt);
} pkt_slot SEC(".maps");

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Branch-free, so the verifier walks it once whatever the bits. */
static __always_inline void count_anomalies(struct xdpi_counters *cnt, __u32 bits)
{
	__u32 i;

XDPI_UNROLL
	for (i = 0; i <= XDPI_ANOMALY_LAST - XDPI_ANOMALY_FIRST; i++)
		cnt->c[XDPI_ANOMALY_FIRST + i] += (bits >> i) & 1;
}

/* No wake-up per event: wake-ups cost microseconds here. The consumer polls
 * with a short timeout, and is woken early once enough data is queued. */
static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void emit_event(struct xdpi_counters *cnt, __u32 type,
				       const struct xdpi_flow_key *key,
				       const struct xdpi_pkt *p, __u8 dir, __u64 ts)
{
	struct xdpi_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		cnt->c[XDPI_C_EV_LOST]++;
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
	cnt->c[type == XDPI_EV_FLOW_START ? XDPI_C_EV_START : XDPI_C_EV_END]++;
}

static __always_inline void emit_snippet(struct xdpi_counters *cnt, void *ctx, int is_xdp,
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
		cnt->c[XDPI_C_EV_LOST]++;
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
	cnt->c[XDPI_C_EV_SNIPPET]++;
}

/* Flow accounting and events for one parsed packet (in its pkt_slot). */
static __always_inline int account(void *ctx, int is_xdp, struct xdpi_pkt *p,
				   __u64 ts, int rc)
{
	/* Aligned, so the key is built and hashed in 8-byte words. */
	struct xdpi_flow_key key __attribute__((aligned(8)));
	struct xdpi_flow_val *v;
	struct xdpi_counters *cnt;
	__u32 zero = 0;
	__u8 dir, fresh;

	cnt = bpf_map_lookup_elem(&counters, &zero);
	if (!cnt)
		return 0;
	cnt->c[XDPI_C_PACKETS]++;
	if (p->anomalies)
		count_anomalies(cnt, p->anomalies);
	if (rc == XDPI_P_NON_IP) {
		cnt->c[XDPI_C_NON_IP]++;
		return 0;
	}
	if (rc != XDPI_P_FLOW)
		return 0;
	if (p->frag)
		cnt->c[XDPI_C_IP_FRAGMENTS]++;

	dir = xdpi_flow_key_from_pkt(p, &key);
	v = bpf_map_lookup_elem(&flows, &key);
	if (!v) {
		struct xdpi_flow_val nv;

		xdpi_flow_val_init(&nv, p, dir, ts);
		if (bpf_map_update_elem(&flows, &key, &nv, BPF_NOEXIST) &&
		    bpf_map_update_elem(&flows, &key, &nv, BPF_ANY)) {
			cnt->c[XDPI_C_FLOW_UPDATE_FAIL]++;
			return 0;
		}
		cnt->c[XDPI_C_FLOWS_CREATED]++;
		emit_event(cnt, XDPI_EV_FLOW_START, &key, p, dir, ts);
		v = bpf_map_lookup_elem(&flows, &key);
		if (!v)
			return 0;
	}
	cnt->c[XDPI_C_FLOW_PACKETS]++;
	fresh = xdpi_flow_val_update(v, p, dir, ts);
	if (XDPI_BENCH_STAGE == 2)
		return 0;
	if (fresh)
		emit_event(cnt, XDPI_EV_FLOW_END, &key, p, dir, ts);
	if (XDPI_BENCH_STAGE == 3 && p->payload_len)
		emit_snippet(cnt, ctx, is_xdp, &key, p, dir, 0, ts);
	else if (snippet_pkts && xdpi_flow_take_snippet(v, p, dir, snippet_pkts))
		emit_snippet(cnt, ctx, is_xdp, &key, p, dir, v->dir[dir & 1].snippets - 1, ts);
	return 0;
}

SEC("xdp.frags")
int xdpi_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xdpi_cut cut = { .xdp = ctx, .linear = (__u32)(data_end - data) };
	__u32 slot = PKT_SLOT_XDP;
	struct xdpi_pkt *p;
	__u64 ts;
	int rc;

	p = bpf_map_lookup_elem(&pkt_slot, &slot);
	if (!p)
		return XDP_PASS;

	if (replay_ts) {
		struct xdpi_replay_meta *m = (void *)(long)ctx->data_meta;

		if ((void *)(m + 1) <= data && m->magic == XDPI_META_TS_MAGIC) {
			ts = m->ts_ns;
			cut.known = m->cut;
		} else {
			ts = bpf_ktime_get_ns();
		}
	} else {
		ts = bpf_ktime_get_ns();
	}
#ifdef XDPI_TEST_VERIFIER_REJECT
	ts += *(volatile __u8 *)(data + 64); /* unchecked read: must be rejected */
#endif
	/* Bytes in fragments are there, just not in the linear area the parser
	 * reads: they must not look like a short IP packet (cut), and count in
	 * the payload. The test is xdpi_extend_payload's own, made here to
	 * spare the helper call. */
	rc = xdpi_parse(data, data_end, cut, p);
	if (!replay_ts && p->payload_off && p->l3_cut)
		xdpi_extend_payload(p, bpf_xdp_get_buff_len(ctx));
	if (XDPI_BENCH_STAGE == 1) {
		/* Keep the parse: its result must look used. */
		asm volatile("" : : "r"(p), "r"(rc), "r"(ts) : "memory");
		return XDP_PASS;
	}
	account(ctx, 1, p, ts, rc);
	return XDP_PASS;
}

SEC("tc")
int xdpi_tc(struct __sk_buff *skb)
{
	/* Headers may sit in paged data: make the first bytes linear. */
	__u32 want = skb->len < 256 ? skb->len : 256, slot = PKT_SLOT_TC;
	struct xdpi_pkt *p = bpf_map_lookup_elem(&pkt_slot, &slot);
	struct xdpi_cut cut = { .xdp = NULL };
	int rc;

	if (!p)
		return TC_ACT_OK;
	if ((long)skb->data_end - (long)skb->data < (long)want)
		bpf_skb_pull_data(skb, want);
	cut.known = skb->len - (__u32)(skb->data_end - skb->data);
	rc = xdpi_parse((void *)(long)skb->data, (void *)(long)skb->data_end, cut, p);
	xdpi_extend_payload(p, skb->len);
	account(skb, 0, p, bpf_ktime_get_ns(), rc);
	return TC_ACT_OK;
}
