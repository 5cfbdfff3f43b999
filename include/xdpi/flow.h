/* SPDX-License-Identifier: BSD-3-Clause */
/* Flow accounting shared by the kernel program and the user-space path, so
 * both produce the same map values from the same packets. */
#ifndef XDPI_FLOW_H
#define XDPI_FLOW_H

#include "abi.h"
#include "parse.h"

/* Total order on (address, port) endpoints; any order works as long as the
 * kernel and user space agree, which they do by sharing this function. */
static __always_inline int xdpi_endpoint_cmp(const __u8 *a, __u16 ap,
					     const __u8 *b, __u16 bp)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, b + 8, 8);
	if (a0 != b0)
		return a0 < b0 ? -1 : 1;
	if (a1 != b1)
		return a1 < b1 ? -1 : 1;
	if (ap != bp)
		return ap < bp ? -1 : 1;
	return 0;
}

/* Fills the canonical key and returns the packet's direction. */
static __always_inline __u8 xdpi_flow_key_from_pkt(const struct xdpi_pkt *p,
						   struct xdpi_flow_key *k)
{
	__u8 dir;

	if (xdpi_endpoint_cmp(p->src, p->sport, p->dst, p->dport) <= 0) {
		__builtin_memcpy(k->lo_addr, p->src, 16);
		__builtin_memcpy(k->hi_addr, p->dst, 16);
		k->lo_port = p->sport;
		k->hi_port = p->dport;
		dir = XDPI_DIR_LO_HI;
	} else {
		__builtin_memcpy(k->lo_addr, p->dst, 16);
		__builtin_memcpy(k->hi_addr, p->src, 16);
		k->lo_port = p->dport;
		k->hi_port = p->sport;
		dir = XDPI_DIR_HI_LO;
	}
	k->vlan = p->vlan;
	k->proto = p->proto;
	k->family = p->family;
	return dir;
}

static __always_inline void xdpi_flow_val_init(struct xdpi_flow_val *v,
					       const struct xdpi_pkt *p,
					       __u8 dir, __u64 ts)
{
	__builtin_memset(v, 0, sizeof(*v));
	v->first_ns = ts;
	v->first_dir = dir;
	v->icmp_type = p->icmp_type;
	v->icmp_code = p->icmp_code;
	v->seen = 1;
}

/* Accounts one packet. Returns the FIN/RST bits of the packet when it is the
 * first FIN or RST of its direction (for the flow-end event), else 0. */
static __always_inline __u8 xdpi_flow_val_update(struct xdpi_flow_val *v,
						 const struct xdpi_pkt *p,
						 __u8 dir, __u64 ts)
{
	struct xdpi_dir_stats *d = &v->dir[dir & 1];
	__u8 fresh;

	/* A per-CPU entry made on another CPU reads as zeros here. */
	if (!v->seen)
		xdpi_flow_val_init(v, p, dir, ts);
	/* One flow-end event per direction: for its first FIN or RST. */
	fresh = d->tcp_flags & (XDPI_TCP_FIN | XDPI_TCP_RST) ? 0 :
		p->tcp_flags & (XDPI_TCP_FIN | XDPI_TCP_RST);

	d->pkts++;
	d->bytes += p->ip_len;
	d->tcp_flags |= p->tcp_flags;
	if (ts > v->last_ns)
		v->last_ns = ts;
	if (ts < v->first_ns)
		v->first_ns = ts;
	return fresh;
}

/* Whether this packet's payload goes out as a snippet; counts it if so. */
static __always_inline int xdpi_flow_take_snippet(struct xdpi_flow_val *v,
						  const struct xdpi_pkt *p,
						  __u8 dir, __u32 max_pkts)
{
	struct xdpi_dir_stats *d = &v->dir[dir & 1];

	if (p->payload_len == 0 || d->snippets >= max_pkts)
		return 0;
	d->snippets++;
	return 1;
}

#endif
