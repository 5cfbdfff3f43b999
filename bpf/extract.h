/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Kernel side of server-name extraction (the parser is include/xdpi/names.h,
 * shared with the user-space path). For the first packets of a TCP flow
 * direction, a payload that starts like a TLS ClientHello or an HTTP request
 * is copied into a per-CPU buffer and parsed there; the SNI or Host found
 * goes into `flow_names`, so flow records carry it whether or not snippets
 * reached the parsers (shed, sampled out, --snippets off, --no-dpi).
 * Included by bpf/xdpi.bpf.c, which calls xdpi_names_take() from account(). */
#ifndef XDPI_BPF_EXTRACT_H
#define XDPI_BPF_EXTRACT_H

#include "xdpi/names.h"

/* 0 leaves the extraction out at load time (benchmarks compare both). */
const volatile __u32 name_extract = 1;

/* Benchmark builds only (bench/run.sh, never the normal build): every TCP
 * payload goes through the whole extraction, as if each packet were its
 * flow's first and the flow had no name yet (the lookup is made, its
 * answer ignored; the name is rewritten), to time the extraction itself. */
#ifndef XDPI_BENCH_NAMES
#define XDPI_BENCH_NAMES 0
#endif

/* Server names by flow: written by both programs, once per flow (the first
 * name found stays); read by user space for the flow's records and deleted
 * with its last one. Its own map rather than 136 more bytes in each per-CPU
 * flow value: the flow map's hot entries stay small. LRU, sized by the
 * loader to --max-flows: names of flows that left the flow map without a
 * record (evicted) age out by themselves. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct xdpi_flow_key);
	__type(value, struct xdpi_flow_name);
} flow_names SEC(".maps");

/* Where a payload is copied to be parsed, and the name built. The
 * payload's place is kept here too rather than in registers: what does not
 * fit in registers goes to the stack, of which the caller leaves little. */
struct xdpi_name_scratch {
	struct xdpi_name_walk walk;
	struct xdpi_flow_name name;
	__u32 off;  /* the payload's offset in the packet ... */
	__u32 len;  /* ... and its length */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpi_name_scratch);
} name_scratch SEC(".maps");

/* Return values of the extraction: what the counters count. */
enum { XDPI_NAMES_SKIPPED = 0, XDPI_NAMES_SCANNED = 1, XDPI_NAMES_STORED = 2 };

static __always_inline long xdpi_name_load(void *ctx, int is_xdp, __u32 off, void *dst,
					   __u64 len)
{
	if (is_xdp)
		return bpf_xdp_load_bytes(ctx, off, dst, len);
	return bpf_skb_load_bytes(ctx, off, dst, len);
}

/* The payload's first 8 bytes into dst: straight from the packet when they
 * are in its linear part (always, but for odd layouts), which costs a
 * fraction of a helper call; this runs for every payload among a flow's
 * first packets. 0 when done. */
static __always_inline long xdpi_name_peek(void *ctx, int is_xdp, __u32 off, __u8 *dst)
{
	/* Read here, not passed in: fewer values live across calls, less stack. */
	void *data = is_xdp ? (void *)(long)((struct xdp_md *)ctx)->data :
			      (void *)(long)((struct __sk_buff *)ctx)->data;
	void *data_end = is_xdp ? (void *)(long)((struct xdp_md *)ctx)->data_end :
				  (void *)(long)((struct __sk_buff *)ctx)->data_end;
	__u64 o = off;

	/* A bound the verifier wants: with an offset up to 0xffff plus 8 it
	 * would not learn the packet's range from the compare. */
	if (o <= 0xfff && data + o + 8 <= data_end) {
		*(__u64 *)dst = *(const __u64 *)(data + o);
		return 0;
	}
	return xdpi_name_load(ctx, is_xdp, off, dst, 8);
}

/* The name (len bytes, 1..XDPI_NAME_MAX) at a masked offset of the buffer
 * (it has the room past it), as 8-byte loads: a helper call would cost
 * more. The bytes past the name are zeroed: they could be left in the
 * buffer by an earlier packet, of another flow. */
static __always_inline void xdpi_name_copy(char *dst, const struct xdpi_name_buf *nb, __u32 off,
					   __u32 len)
{
	const __u8 *src = nb->b + xdpi_name_mask(off);
	__u64 *w = (__u64 *)dst, x;
	__u32 rem = len & 7;
	int i;

XDPI_UNROLL
	for (i = 0; i < XDPI_NAME_MAX / 8; i++) {
		/* In asm: the compiler would load an unaligned word byte by byte. */
		asm volatile("%[x] = *(u64 *)(%[p] + %[o])" : [x] "=r"(x) : [p] "r"(src), [o] "i"(i * 8));
		w[i] = (__u32)i * 8 < len ? x : 0;
	}
	/* The one word the name ends inside, when it does. */
	if (rem)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		w[(len / 8) & (XDPI_NAME_MAX / 8 - 1)] &= (1ULL << (rem * 8)) - 1;
#else
		w[(len / 8) & (XDPI_NAME_MAX / 8 - 1)] &= ~0ULL << ((8 - rem) * 8);
#endif
}

/* The payload at off (len bytes) of the flow key: cheap test on its first
 * 8 bytes, then, when the flow has no name yet, the whole parse. */
static __always_inline int xdpi_names_run(void *ctx, int is_xdp,
					  const struct xdpi_flow_key *key, __u32 off, __u32 len)
{
	struct xdpi_name_scratch *s;
	__u32 zero = 0;
	__u64 n;
	int kind;

	s = bpf_map_lookup_elem(&name_scratch, &zero);
	if (!key || !s || len < XDPI_NAME_MIN)
		return XDPI_NAMES_SKIPPED;
	s->off = off;
	s->len = len;
	if (xdpi_name_peek(ctx, is_xdp, s->off, s->walk.buf.b) ||
	    !xdpi_name_guess(&s->walk.buf) ||
	    (bpf_map_lookup_elem(&flow_names, key) && !XDPI_BENCH_NAMES))
		return XDPI_NAMES_SKIPPED;
	n = s->len;
	if (n > XDPI_NAME_SCAN)
		n = XDPI_NAME_SCAN;
	/* 64-bit and opaque to the compiler, so that the value checked is the
	 * value passed: the verifier needs the bound on the helper's length. */
	asm volatile("" : "+r"(n));
	if (n < XDPI_NAME_MIN || n > XDPI_NAME_SCAN ||
	    xdpi_name_load(ctx, is_xdp, s->off, s->walk.buf.b, n))
		return XDPI_NAMES_SKIPPED;
	kind = xdpi_name_find(&s->walk, n);
	if (!kind)
		return XDPI_NAMES_SCANNED;
	s->name.kind = kind;
	s->name.len = s->walk.nlen; /* 1 .. XDPI_NAME_MAX */
	xdpi_name_copy(s->name.name, &s->walk.buf, s->walk.off, s->walk.nlen);
	if (bpf_map_update_elem(&flow_names, key, &s->name, XDPI_BENCH_NAMES ? BPF_ANY : BPF_NOEXIST))
		return XDPI_NAMES_SCANNED;
	return XDPI_NAMES_STORED;
}

/* Global functions: the verifier checks each once, on its own, rather than
 * once for every path through account() that reaches the call. One per
 * program type, as the context's type differs. */
__noinline int xdpi_names_xdp(struct xdp_md *ctx, const struct xdpi_flow_key *key, __u32 off,
			      __u32 len)
{
	return xdpi_names_run(ctx, 1, key, off, len);
}

__noinline int xdpi_names_tc(struct __sk_buff *ctx, const struct xdpi_flow_key *key, __u32 off,
			     __u32 len)
{
	return xdpi_names_run(ctx, 0, key, off, len);
}

/* Entry point from account(), after the flow update: most packets leave
 * at the first compare (not among their direction's first packets). */
static __always_inline void xdpi_names_take(void *ctx, int is_xdp, struct xdpi_counters *cnt,
					    const struct xdpi_flow_val *v,
					    const struct xdpi_flow_key *key,
					    const struct xdpi_pkt *p, __u8 dir)
{
	int r;

	if (!name_extract || !(xdpi_name_wanted(v, p, dir) ||
			       (XDPI_BENCH_NAMES && p->payload_len && p->proto == XDPI_IPPROTO_TCP)))
		return;
	if (is_xdp)
		r = xdpi_names_xdp(ctx, key, p->payload_off, p->payload_len);
	else
		r = xdpi_names_tc(ctx, key, p->payload_off, p->payload_len);
	if (r >= XDPI_NAMES_SCANNED)
		cnt->c[XDPI_C_NAMES_SCANNED]++;
	if (r == XDPI_NAMES_STORED)
		cnt->c[XDPI_C_NAMES_EXTRACTED]++;
}

#endif
