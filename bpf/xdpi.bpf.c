// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* xdpi kernel side: one inspection routine behind an XDP program and a TC
 * program. Parse (include/xdpi/parse.h) -> sanity counters -> per-CPU flow
 * map -> events to user space. The verdict is PASS, unless a drop rule
 * (--rules) matches the packet. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdpi/abi.h"

#include "opaque.h"

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
#include "extract.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

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
const volatile __u32 transport = XDPI_TRANSPORT_RINGBUF;
const volatile __u32 filter_on = 0;     /* 1: the --filter program runs first */
const volatile __u32 capture_afxdp = 0; /* 1: every packet goes whole to AF_XDP */

/* Bidirectional flows; written by both programs, read and deleted by the
 * user-space poller (batch lookup, lookup-and-delete on expiry). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct xdpi_flow_key);
	__type(value, struct xdpi_flow_val);
} flows SEC(".maps");

/* Events to user space: one ring buffer per CPU, so producers on different
 * CPUs never contend for a ring. User space creates the rings (of
 * --ringbuf-size) and puts CPU k's at index k; this template only gives
 * their type (the kernel does not hold inner rings to its size). */
struct ringbuf_inner {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XDPI_MAX_CPUS);
	__type(key, __u32);
	__array(values, struct ringbuf_inner);
} ev_rings SEC(".maps");

/* The same events through per-CPU perf buffers (--transport perfbuf). */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} ev_perf SEC(".maps");

/* Where an event is built before it is copied out: sized exactly, so a
 * 256-byte snippet takes 328 bytes of ring, not the 2 KiB maximum. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpi_snippet_event);
} ev_scratch SEC(".maps");

/* Verdicts from user space (see struct xdpi_verdict); sized by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdpi_flow_key);
	__type(value, struct xdpi_verdict);
} verdicts SEC(".maps");

/* Settings user space changes at run time (XDPI_CFG_* entries). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPI_CFG__MAX);
	__type(key, __u32);
	__type(value, struct xdpi_config_map);
} config SEC(".maps");

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

/* CIDR rules, filled by user space (--rules FILE); see struct xdpi_rule. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XDPI_MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdpi_lpm4_key);
	__type(value, struct xdpi_rule);
} rules4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XDPI_MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdpi_lpm6_key);
	__type(value, struct xdpi_rule);
} rules6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPI_MAX_RULES * 4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xdpi_port_key);
	__type(value, struct xdpi_rule);
} rules_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct xdpi_rule);
} rules_proto SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPI_MAX_RULES);
	__type(key, __u32);
	__type(value, struct xdpi_rule_hits);
} rule_hits SEC(".maps");

/* The rules as written, for user space only (see struct xdpi_rule_text). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPI_MAX_RULES);
	__type(key, __u32);
	__type(value, struct xdpi_rule_text);
} rule_text SEC(".maps");

/* The --filter program and what it continues with (enum xdpi_prog_slot). */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, XDPI_PROG__MAX);
	__type(key, __u32);
	__type(value, __u32);
} xdp_progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, XDPI_PROG__MAX);
	__type(key, __u32);
	__type(value, __u32);
} tc_progs SEC(".maps");

/* AF_XDP sockets by RX queue (--capture afxdp, and `deep` rules). */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XDPI_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Branch-free, so the verifier walks it once whatever the bits. */
static __always_inline void count_anomalies(struct xdpi_counters *cnt, __u32 bits)
{
	__u32 i;

XDPI_UNROLL
	for (i = 0; i <= XDPI_ANOMALY_LAST - XDPI_ANOMALY_FIRST; i++)
		cnt->c[XDPI_ANOMALY_FIRST + i] += (bits >> i) & 1;
}

/* Copies a built event out to user space; 0 or a negative error. No
 * wake-up per event: wake-ups cost microseconds here. The consumer polls
 * with a short timeout and is woken early once enough data is queued (the
 * perf buffers' watermark is set by user space). */
/* This CPU's ring buffer, or NULL. */
static __always_inline void *cpu_ring(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&ev_rings, &cpu);
}

static __always_inline long send_event(void *ctx, const void *ev, __u64 size)
{
	if (transport == XDPI_TRANSPORT_PERFBUF)
		return bpf_perf_event_output(ctx, &ev_perf, BPF_F_CURRENT_CPU, (void *)ev, size);
	else {
		void *rb = cpu_ring();
		__u64 flags;

		if (!rb)
			return -2;
		flags = bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
				BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
		return bpf_ringbuf_output(rb, (void *)ev, size, flags);
	}
}

static __always_inline void fill_header(struct xdpi_event *e, __u32 type,
					const struct xdpi_flow_key *key,
					const struct xdpi_pkt *p, __u8 dir, __u64 ts)
{
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts_ns = ts;
	e->key = *key;
	e->tcp_seq = p->tcp_seq;
	e->pkt_len = p->ip_len;
	e->dir = dir;
	e->tcp_flags = p->tcp_flags;
}

static __always_inline void emit_event(struct xdpi_counters *cnt, void *ctx, __u32 type,
				       const struct xdpi_flow_key *key,
				       const struct xdpi_pkt *p, __u8 dir, __u64 ts)
{
	struct xdpi_event e;

	if (transport == XDPI_TRANSPORT_NONE)
		return;
	fill_header(&e, type, key, p, dir, ts);
	if (send_event(ctx, &e, sizeof(e))) {
		cnt->c[XDPI_C_EV_LOST]++;
		return;
	}
	cnt->c[type == XDPI_EV_FLOW_START ? XDPI_C_EV_START : XDPI_C_EV_END]++;
	cnt->c[XDPI_C_EV_BYTES] += sizeof(e);
}

static __always_inline void emit_snippet(struct xdpi_counters *cnt, void *ctx, int is_xdp,
					 const struct xdpi_flow_key *key,
					 const struct xdpi_pkt *p, __u8 dir,
					 __u8 index, __u64 ts)
{
	struct xdpi_snippet_event *e;
	__u64 len = p->payload_len;
	__u32 zero = 0;
	long err;

	if (len > snippet_bytes)
		len = snippet_bytes;
	/* Opaque to the compiler, so the bound check below stays for the verifier. */
	asm volatile("" : "+r"(len));
	if (len == 0 || len > XDPI_SNIPPET_MAX)
		return;
	e = bpf_map_lookup_elem(&ev_scratch, &zero);
	if (!e)
		return;
	if (is_xdp)
		err = bpf_xdp_load_bytes(ctx, p->payload_off, e->data, len);
	else
		err = bpf_skb_load_bytes(ctx, p->payload_off, e->data, len);
	if (err)
		return;
	fill_header(&e->hdr, XDPI_EV_SNIPPET, key, p, dir, ts);
	e->hdr.len = len;
	e->hdr.pkt_index = index;
	if (send_event(ctx, e, sizeof(e->hdr) + len)) {
		cnt->c[XDPI_C_EV_LOST]++;
		return;
	}
	cnt->c[XDPI_C_EV_SNIPPET]++;
	cnt->c[XDPI_C_EV_BYTES] += sizeof(e->hdr) + len;
}

/* Flows are sampled for snippets by a hash of their key, so every CPU's
 * copy of a flow makes the same choice. */
static __always_inline __u8 sample_out(const struct xdpi_flow_key *k, __u32 log2)
{
	const __u32 *w = (const void *)k;
	__u32 h = w[0] ^ w[1] ^ w[2] ^ w[3] ^ w[4] ^ w[5] ^ w[6] ^ w[7] ^ w[8];

	if (!log2)
		return 0;
	h = (h ^ (h >> 16)) * 0x45d9f3bu;
	h ^= h >> 16;
	return (h & ((1u << (log2 & 15)) - 1)) != 0;
}

/* Load shedding: a flow that begins while its CPU's ring is over 3/4 full
 * sends no snippets (its counters still go to the flow map), so a reader
 * that falls behind loses snippets of new flows, counted, rather than
 * events at random. Asked once per flow, not per packet. */
static __always_inline int ring_pressed(void)
{
	void *rb;

	if (transport != XDPI_TRANSPORT_RINGBUF)
		return 0;
	rb = cpu_ring();
	if (!rb)
		return 0;
	return bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) >
	       bpf_ringbuf_query(rb, BPF_RB_RING_SIZE) / 4 * 3;
}

static __always_inline void apply_sampling(struct xdpi_flow_val *v,
					   const struct xdpi_flow_key *k,
					   struct xdpi_counters *cnt)
{
	__u32 key = XDPI_CFG_ENGINE;
	struct xdpi_config_map *cfg = bpf_map_lookup_elem(&config, &key);
	__u32 log2 = cfg ? cfg->sample_log2 & 15 : 0;

	v->sample_log2 = log2;
	v->sampled_out = sample_out(k, log2) ? XDPI_OUT_SAMPLED : 0;
	if (v->sampled_out)
		cnt->c[XDPI_C_FLOWS_SAMPLED_OUT]++;
	else if (snippet_pkts && ring_pressed()) {
		v->sampled_out = XDPI_OUT_SHED;
		cnt->c[XDPI_C_FLOWS_SHED]++;
	}
}

/* A verdict from user space ends the flow's snippets; its classification
 * stays in the flow entry. Looked up only while snippets are still due and
 * after the first one went out, so it costs nothing on most packets. */
static __always_inline int take_verdict(struct xdpi_flow_val *v,
					const struct xdpi_flow_key *k,
					struct xdpi_counters *cnt)
{
	struct xdpi_verdict *vd = bpf_map_lookup_elem(&verdicts, k);

	if (!vd)
		return 0;
	v->app_proto = vd->app_proto;
	if (vd->keep_snippets)
		return 0;
	v->offloaded = 1;
	cnt->c[XDPI_C_FLOWS_OFFLOADED]++;
	return 1;
}

/* The CIDR rule for the packet's source address, else its destination's. */
static __always_inline struct xdpi_rule *match_cidr(const struct xdpi_pkt *p, __u32 on)
{
	struct xdpi_rule *r;

	if (p->family == 4) {
		struct xdpi_lpm4_key k = { .prefixlen = 32 };

		if (!(on & XDPI_RULES_CIDR4))
			return NULL;
		__builtin_memcpy(k.addr, p->src, 4);
		r = bpf_map_lookup_elem(&rules4, &k);
		if (r)
			return r;
		__builtin_memcpy(k.addr, p->dst, 4);
		return bpf_map_lookup_elem(&rules4, &k);
	} else {
		struct xdpi_lpm6_key k = { .prefixlen = 128 };

		if (!(on & XDPI_RULES_CIDR6))
			return NULL;
		__builtin_memcpy(k.addr, p->src, 16);
		r = bpf_map_lookup_elem(&rules6, &k);
		if (r)
			return r;
		__builtin_memcpy(k.addr, p->dst, 16);
		return bpf_map_lookup_elem(&rules6, &k);
	}
}

/* The first rule that matches: CIDR, then port (source, then destination),
 * then protocol; NULL when none does. */
static __always_inline struct xdpi_rule *match_rule(const struct xdpi_pkt *p, __u32 on)
{
	struct xdpi_rule *r = match_cidr(p, on);
	__u32 proto = p->proto;

	if (r)
		return r;
	if ((on & XDPI_RULES_PORT) && (p->sport | p->dport)) {
		struct xdpi_port_key k = { .port = p->sport, .proto = p->proto };

		r = bpf_map_lookup_elem(&rules_port, &k);
		if (r)
			return r;
		k.port = p->dport;
		r = bpf_map_lookup_elem(&rules_port, &k);
		if (r)
			return r;
	}
	if (on & XDPI_RULES_PROTO) {
		r = bpf_map_lookup_elem(&rules_proto, &proto);
		if (r && r->action)
			return r;
	}
	return NULL;
}

/* Applies the rules, when there are any: the matching rule, or NULL. */
static __always_inline struct xdpi_rule *apply_rules(struct xdpi_counters *cnt,
						     const struct xdpi_pkt *p,
						     const struct xdpi_config_map *pol)
{
	struct xdpi_rule_hits *h;
	struct xdpi_rule *r;
	__u32 id;

	if (!pol->rules_on)
		return NULL;
	r = match_rule(p, pol->rules_on);
	if (!r)
		return NULL;
	id = r->id;
	h = bpf_map_lookup_elem(&rule_hits, &id);
	if (h) {
		h->pkts++;
		h->bytes += p->ip_len;
	}
	if (r->action == XDPI_RULE_DROP)
		cnt->c[XDPI_C_RULE_DROPPED]++;
	else if (r->action == XDPI_RULE_PASS)
		cnt->c[XDPI_C_RULE_PASSED]++;
	return r;
}

/* Flow sampling of accounting: a hash of the key other than the snippet
 * sampling's (sample_out), so the two choices do not go together. */
static __always_inline int flow_sampled_out(const struct xdpi_flow_key *k, __u32 n)
{
	const __u32 *w = (const void *)k;
	__u32 h = w[0] ^ w[1] ^ w[2] ^ w[3] ^ w[4] ^ w[5] ^ w[6] ^ w[7] ^ w[8] ^ w[9];

	if (n <= 1)
		return 0;
	h *= 0x9e3779b1u;
	h ^= h >> 15;
	h *= 0x85ebca77u;
	h ^= h >> 13;
	return h % n != 0;
}

/* Flow accounting and events for one parsed packet (in its pkt_slot).
 * Returns XDPI_RULE_DROP when the packet is to be dropped, XDPI_RULE_DEEP
 * when it is to go whole to AF_XDP, else 0. ts 0: now, taken only once
 * the rules let the packet in, so a drop costs no clock read. */
static __always_inline int account(void *ctx, int is_xdp, struct xdpi_pkt *p,
				   __u64 ts, int rc)
{
	/* Aligned, so the key is built and hashed in 8-byte words. */
	struct xdpi_flow_key key __attribute__((aligned(8)));
	struct xdpi_flow_val *v;
	struct xdpi_counters *cnt;
	struct xdpi_config_map *pol;
	struct xdpi_rule *rule;
	__u32 zero = 0, polkey = XDPI_CFG_POLICY, action, pkt_n, flow_n;
	__u8 dir, fresh, unseen;

	cnt = bpf_map_lookup_elem(&counters, &zero);
	pol = bpf_map_lookup_elem(&config, &polkey);
	if (!cnt || !pol)
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
	rule = apply_rules(cnt, p, pol);
	action = rule ? rule->action : 0;
	flow_n = pol->flow_sample;
	switch (action) {
	case XDPI_RULE_DROP:
		return XDPI_RULE_DROP;
	case XDPI_RULE_PASS:
		return 0;
	case XDPI_RULE_DEEP:
		break;
	case XDPI_RULE_SAMPLE:
		flow_n = rule->arg;
		/* fall through */
	default:
		action = capture_afxdp ? XDPI_RULE_DEEP : 0;
		break;
	}
	pkt_n = pol->pkt_sample;
	if (pkt_n > 1 && bpf_get_prandom_u32() % pkt_n) {
		cnt->c[XDPI_C_PKT_SAMPLED_OUT]++;
		return 0;
	}
	if (p->frag)
		cnt->c[XDPI_C_IP_FRAGMENTS]++;
	if (!ts)
		ts = bpf_ktime_get_ns();

	dir = xdpi_flow_key_from_pkt(p, &key);
	if (flow_sampled_out(&key, flow_n)) {
		cnt->c[XDPI_C_FLOW_SAMPLED_OUT]++;
		return 0;
	}
	v = bpf_map_lookup_elem(&flows, &key);
	if (!v) {
		struct xdpi_flow_val nv;

		xdpi_flow_val_init(&nv, p, dir, ts);
		nv.pkt_sample = pkt_n > 1 ? pkt_n : 0;
		nv.flow_sample = flow_n > 1 ? flow_n : 0;
		apply_sampling(&nv, &key, cnt);
		if (bpf_map_update_elem(&flows, &key, &nv, BPF_NOEXIST) &&
		    bpf_map_update_elem(&flows, &key, &nv, BPF_ANY)) {
			cnt->c[XDPI_C_FLOW_UPDATE_FAIL]++;
			return action;
		}
		cnt->c[XDPI_C_FLOWS_CREATED]++;
		emit_event(cnt, ctx, XDPI_EV_FLOW_START, &key, p, dir, ts);
		v = bpf_map_lookup_elem(&flows, &key);
		if (!v)
			return action;
	}
	/* This CPU's first packet of a flow made elsewhere: its copy starts
	 * zeroed, and the update below initialises it. */
	unseen = !v->seen;
	cnt->c[XDPI_C_FLOW_PACKETS]++;
	fresh = xdpi_flow_val_update(v, p, dir, ts);
	if (unseen) {
		v->pkt_sample = pkt_n > 1 ? pkt_n : 0;
		v->flow_sample = flow_n > 1 ? flow_n : 0;
		apply_sampling(v, &key, cnt);
	}
	if (XDPI_BENCH_STAGE == 2)
		return action;
	if (fresh)
		emit_event(cnt, ctx, XDPI_EV_FLOW_END, &key, p, dir, ts);
	xdpi_names_take(ctx, is_xdp, cnt, v, &key, p, dir);
	/* A packet that goes whole to user space is its own snippet. With
	 * --capture afxdp (a mirror port: the stack has no use for the copy),
	 * once the parsers are done with the flow its packets are dropped
	 * here instead; a `deep` rule always hands them over. */
	if (action == XDPI_RULE_DEEP && is_xdp) {
		if (capture_afxdp && !(rule && rule->action == XDPI_RULE_DEEP) &&
		    (v->offloaded || (p->payload_len && take_verdict(v, &key, cnt)))) {
			cnt->c[XDPI_C_AFXDP_DONE]++;
			return XDPI_RULE_DROP;
		}
		return action;
	}
	if (XDPI_BENCH_STAGE == 3 && p->payload_len)
		emit_snippet(cnt, ctx, is_xdp, &key, p, dir, 0, ts);
	else if (snippet_pkts && transport != XDPI_TRANSPORT_NONE && !v->offloaded &&
		 !v->sampled_out && p->payload_len &&
		 v->dir[dir & 1].snippets < snippet_pkts &&
		 !((v->dir[0].snippets | v->dir[1].snippets) && take_verdict(v, &key, cnt)) &&
		 xdpi_flow_take_snippet(v, p, dir, snippet_pkts))
		emit_snippet(cnt, ctx, is_xdp, &key, p, dir, v->dir[dir & 1].snippets - 1, ts);
	return action;
}

/* The address rules for the packet's source, else its destination, read
 * straight from plain or single-tagged Ethernet: the fast way out for a
 * flood from a known source, before the parse. Whatever is not dropped
 * here (other encapsulations, non-drop rules, no rule) takes the full path,
 * which applies the same rules in the same order. A function of its own,
 * so that its keys do not add to the inspection's stack frame. */
static __noinline int early_cidr_drop(void *data, void *data_end)
{
	__u32 key = XDPI_CFG_POLICY, zero = 0, id, ip_len;
	struct xdpi_config_map *pol = bpf_map_lookup_elem(&config, &key);
	struct xdpi_counters *cnt;
	struct xdpi_rule_hits *h;
	struct xdpi_rule *r;
	__u8 *b = data, *ip;
	__u16 proto;

	if (!pol || !(pol->rules_on & XDPI_RULES_DROP_CIDR) || b + 18 > (__u8 *)data_end)
		return 0;
	proto = (__u16)b[12] << 8 | b[13];
	ip = b + 14;
	if (proto == XDPI_ETH_P_8021Q || proto == XDPI_ETH_P_8021AD) {
		proto = (__u16)b[16] << 8 | b[17];
		ip = b + 18;
	}
	if (proto == XDPI_ETH_P_IP) {
		struct xdpi_lpm4_key k = { .prefixlen = 32 };

		if (ip + 20 > (__u8 *)data_end || (ip[0] >> 4) != 4)
			return 0;
		ip_len = (__u32)ip[2] << 8 | ip[3];
		__builtin_memcpy(k.addr, ip + 12, 4);
		r = bpf_map_lookup_elem(&rules4, &k);
		if (!r) {
			__builtin_memcpy(k.addr, ip + 16, 4);
			r = bpf_map_lookup_elem(&rules4, &k);
		}
	} else if (proto == XDPI_ETH_P_IPV6) {
		struct xdpi_lpm6_key k = { .prefixlen = 128 };

		if (ip + 40 > (__u8 *)data_end || (ip[0] >> 4) != 6)
			return 0;
		ip_len = ((__u32)ip[4] << 8 | ip[5]) + 40;
		__builtin_memcpy(k.addr, ip + 8, 16);
		r = bpf_map_lookup_elem(&rules6, &k);
		if (!r) {
			__builtin_memcpy(k.addr, ip + 24, 16);
			r = bpf_map_lookup_elem(&rules6, &k);
		}
	} else {
		return 0;
	}
	if (!r || r->action != XDPI_RULE_DROP)
		return 0;
	id = r->id;
	h = bpf_map_lookup_elem(&rule_hits, &id);
	if (h) {
		h->pkts++;
		h->bytes += ip_len;
	}
	cnt = bpf_map_lookup_elem(&counters, &zero);
	if (cnt) {
		cnt->c[XDPI_C_PACKETS]++;
		cnt->c[XDPI_C_RULE_DROPPED]++;
	}
	return 1;
}

static __always_inline int inspect_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xdpi_cut cut = { .xdp = ctx, .linear = (__u32)(data_end - data) };
	__u32 slot = PKT_SLOT_XDP;
	struct xdpi_pkt *p;
	__u64 ts;
	int rc;

	if (early_cidr_drop(data, data_end))
		return XDP_DROP;
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
		ts = 0; /* account() reads the clock when it needs it */
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
		ts = ts ? ts : bpf_ktime_get_ns();
		asm volatile("" : : "r"(p), "r"(rc), "r"(ts) : "memory");
		return XDP_PASS;
	}
	switch (account(ctx, 1, p, ts, rc)) {
	case XDPI_RULE_DROP:
		return XDP_DROP;
	case XDPI_RULE_DEEP: {
		/* No socket on this queue: the packet goes on to the stack. */
		long act = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);

		if (act == XDP_REDIRECT) {
			__u32 zero = 0;
			struct xdpi_counters *cnt = bpf_map_lookup_elem(&counters, &zero);

			if (cnt)
				cnt->c[XDPI_C_AFXDP_REDIRECTED]++;
		}
		return act;
	}
	default:
		return XDP_PASS;
	}
}

static __always_inline int inspect_tc(struct __sk_buff *skb)
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
	return account(skb, 0, p, 0, rc) == XDPI_RULE_DROP ? TC_ACT_SHOT :
									 TC_ACT_OK;
}

/* Packets the --filter expression did not match: counted, let through. */
static __always_inline void count_filtered_out(void)
{
	__u32 zero = 0;
	struct xdpi_counters *cnt = bpf_map_lookup_elem(&counters, &zero);

	if (cnt)
		cnt->c[XDPI_C_FILTERED_OUT]++;
}

/* The attached programs. Without a filter the inspection runs inline; with
 * one, the filter decides which of the two programs below comes next. If
 * the tail call fails (no filter in its slot), the packet is inspected. */
SEC("xdp.frags")
int xdpi_xdp(struct xdp_md *ctx)
{
	if (filter_on)
		bpf_tail_call(ctx, &xdp_progs, XDPI_PROG_FILTER);
	return inspect_xdp(ctx);
}

SEC("tc")
int xdpi_tc(struct __sk_buff *skb)
{
	if (filter_on)
		bpf_tail_call(skb, &tc_progs, XDPI_PROG_FILTER);
	return inspect_tc(skb);
}

SEC("xdp.frags")
int xdpi_xdp_body(struct xdp_md *ctx)
{
	return inspect_xdp(ctx);
}

SEC("tc")
int xdpi_tc_body(struct __sk_buff *skb)
{
	return inspect_tc(skb);
}

SEC("xdp.frags")
int xdpi_xdp_reject(struct xdp_md *ctx)
{
	count_filtered_out();
	return XDP_PASS;
}

SEC("tc")
int xdpi_tc_reject(struct __sk_buff *skb)
{
	count_filtered_out();
	return TC_ACT_OK;
}
