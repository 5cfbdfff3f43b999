/* SPDX-License-Identifier: BSD-3-Clause */
/* Flow accounting shared by the kernel program and the user-space path, so
 * both produce the same map values from the same packets. */
#ifndef XDPI_FLOW_H
#define XDPI_FLOW_H

#include "abi.h"
#include "parse.h"

/* Total order on (address, port) endpoints; any order works as long as the
 * kernel and user space agree, which they do by sharing this function. The
 * addresses compare as two native 64-bit words each. */
static __always_inline int xdpi_endpoint_cmp(const __u64 *a, __u16 ap,
					     const __u64 *b, __u16 bp)
{
	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	if (a[1] != b[1])
		return a[1] < b[1] ? -1 : 1;
	if (ap != bp)
		return ap < bp ? -1 : 1;
	return 0;
}

/* Fills the canonical key and returns the packet's direction. */
static __always_inline __u8 xdpi_flow_key_from_pkt(const struct xdpi_pkt *p,
						   struct xdpi_flow_key *k)
{
	const __u64 *lo = p->src64, *hi = p->dst64;
	__u16 lo_port = p->sport, hi_port = p->dport;
	__u8 dir = XDPI_DIR_LO_HI;

	if (xdpi_endpoint_cmp(lo, lo_port, hi, hi_port) > 0) {
		lo = p->dst64;
		hi = p->src64;
		lo_port = p->dport;
		hi_port = p->sport;
		dir = XDPI_DIR_HI_LO;
	}
	__builtin_memcpy(k->lo_addr, lo, 16);
	__builtin_memcpy(k->hi_addr, hi, 16);
	k->lo_port = lo_port;
	k->hi_port = hi_port;
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
