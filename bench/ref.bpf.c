// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Reference for the kernel benchmarks: the least a flow counter can do.
 * Parse Ethernet/VLAN/IPv4/IPv6/TCP/UDP and bump a per-CPU hash entry keyed
 * by the 5-tuple. No sanity checks, no events, no LRU. xdpi's full program
 * is measured against it. Built with -DREF_LRU, the map is the LRU per-CPU
 * hash xdpi's flow map has to be; with -DREF_TS as well, each packet also
 * takes a timestamp, as xdpi must: together, what the spec costs at least. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct ref_key {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct ref_val {
	__u64 pkts;
	__u64 bytes;
#ifdef REF_TS
	__u64 last_ns;
#endif
};

struct {
#ifdef REF_LRU
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
#else
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
#endif
	__uint(max_entries, 131072);
	__type(key, struct ref_key);
	__type(value, struct ref_val);
} ref_flows SEC(".maps");

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define bswap16(x) __builtin_bswap16(x)

SEC("xdp")
int ref_parse_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ref_key k = {};
	struct ref_val *v, nv = { 1, 0 };
	__u8 *p = data;
	__u16 proto;
	__u32 len;

	if (p + 14 > (__u8 *)end)
		return XDP_PASS;
	proto = bswap16(*(__u16 *)(p + 12));
	p += 14;
	if (proto == 0x8100 || proto == 0x88a8) {
		if (p + 4 > (__u8 *)end)
			return XDP_PASS;
		proto = bswap16(*(__u16 *)(p + 2));
		p += 4;
	}
	if (proto == 0x0800) {
		if (p + 20 > (__u8 *)end)
			return XDP_PASS;
		k.proto = p[9];
		__builtin_memcpy(&k.src[0], p + 12, 4);
		__builtin_memcpy(&k.dst[0], p + 16, 4);
		len = bswap16(*(__u16 *)(p + 2));
		p += (p[0] & 0x0f) * 4;
	} else if (proto == 0x86dd) {
		if (p + 40 > (__u8 *)end)
			return XDP_PASS;
		k.proto = p[6];
		__builtin_memcpy(k.src, p + 8, 16);
		__builtin_memcpy(k.dst, p + 24, 16);
		len = bswap16(*(__u16 *)(p + 4)) + 40;
		p += 40;
	} else {
		return XDP_PASS;
	}
	if ((k.proto == 6 || k.proto == 17) && p + 4 <= (__u8 *)end) {
		k.sport = *(__u16 *)p;
		k.dport = *(__u16 *)(p + 2);
	}
	v = bpf_map_lookup_elem(&ref_flows, &k);
	if (v) {
		v->pkts++;
		v->bytes += len;
#ifdef REF_TS
		v->last_ns = bpf_ktime_get_ns();
#endif
	} else {
		nv.bytes = len;
#ifdef REF_TS
		nv.last_ns = bpf_ktime_get_ns();
#endif
		bpf_map_update_elem(&ref_flows, &k, &nv, BPF_ANY);
	}
	return XDP_PASS;
}
