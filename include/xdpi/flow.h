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

/* TCP sequence numbers compare modulo 2^32 (RFC 1982 serial arithmetic). */
#define XDPI_SEQ_LT(a, b) ((__s32)((__u32)(a) - (__u32)(b)) < 0)
#define XDPI_SEQ_LE(a, b) ((__s32)((__u32)(a) - (__u32)(b)) <= 0)

/* Without a handshake round trip to go by, a segment below the highest one
 * seen counts as out-of-order only within this time of it (as Wireshark). */
#define XDPI_OOO_DEFAULT_NS 3000000ULL

/* TCP metrics for one segment: handshake times, resets, zero windows, and
 * retransmissions and out-of-order segments from the sequence numbers.
 *
 * A segment occupies [seq, seq + len) with SYN and FIN counting one each;
 * next_seq is the highest end seen. A segment starting at or after
 * next_seq is new data; one starting after it leaves a gap. A segment
 * starting below next_seq is out-of-order when it falls in the latest gap
 * and comes within a handshake round trip (else 3 ms) of the segment that
 * moved next_seq: the network reordered it. Otherwise it is a
 * retransmission: bytes seen before, or a gap filled only after the sender
 * had time to notice the loss. Keep-alives (one byte just below next_seq)
 * and RST segments are neither. The first segment of a direction only sets
 * next_seq. No loops, no helpers: this runs for every packet in the kernel. */
static __always_inline void xdpi_tcp_track(struct xdpi_flow_val *v,
					   const struct xdpi_pkt *p,
					   __u8 dir, __u64 ts)
{
	struct xdpi_tcp_dir *t = &v->tcp[dir & 1];
	__u8 f = p->tcp_flags, seq_bit = XDPI_TS_SEQ0 << (dir & 1);
	__u32 seq = p->tcp_seq, len, end, now = (__u32)(ts >> 10), thres;

	/* Only well-formed headers: a bad data offset leaves the flags and
	 * the window in doubt too. */
	if (!p->has_tcp_seg)
		return;
	if (f & XDPI_TCP_RST) {
		t->rst++;
		return;
	}
	if (p->tcp_win == 0 && !(f & (XDPI_TCP_SYN | XDPI_TCP_FIN)))
		t->zero_win++;

	if (f & XDPI_TCP_SYN) {
		/* The client is the side of the SYN, or the other side of a
		 * SYN/ACK; the first one seen decides. */
		__u8 client_hi = (f & XDPI_TCP_ACK) ? !(dir & 1) : (dir & 1);

		if (!(v->tcp_state & XDPI_TS_CLIENT))
			v->tcp_state |= XDPI_TS_CLIENT | (client_hi ? XDPI_TS_CLIENT_HI : 0);
		if (!(f & XDPI_TCP_ACK)) {
			if (!v->synack_ns)
				v->syn_ns = ts;
		} else if (!v->synack_ns) {
			v->synack_ns = ts;
		}
	} else if ((f & XDPI_TCP_ACK) && !v->ack_ns && (v->tcp_state & XDPI_TS_CLIENT) &&
		   !(v->tcp_state & XDPI_TS_CLIENT_HI) == !(dir & 1)) {
		v->ack_ns = ts;
	}

	len = p->tcp_len + !!(f & XDPI_TCP_SYN) + !!(f & XDPI_TCP_FIN);
	end = seq + len;
	if (!(v->tcp_state & seq_bit)) {
		v->tcp_state |= seq_bit;
		t->next_seq = end;
		t->next_t = now;
		return;
	}
	if (len == 0)
		return;
	/* At or past the next byte expected; also data that starts one byte
	 * below it, which follows a one-byte zero-window probe. */
	if (XDPI_SEQ_LE(t->next_seq, seq) || (p->tcp_len > 1 && seq == t->next_seq - 1)) {
		if (seq != t->next_seq && seq != t->next_seq - 1) {
			t->hole_lo = t->next_seq;
			t->hole_hi = seq;
		}
		t->next_seq = end;
		t->next_t = now;
		return;
	}
	if (len == 1 && end == t->next_seq && !(f & (XDPI_TCP_SYN | XDPI_TCP_FIN)))
		return; /* keep-alive */
	thres = XDPI_OOO_DEFAULT_NS >> 10;
	if (v->syn_ns && v->ack_ns > v->syn_ns && v->ack_ns - v->syn_ns < (1ULL << 40))
		thres = (__u32)((v->ack_ns - v->syn_ns) >> 10);
	if (t->hole_lo != t->hole_hi && XDPI_SEQ_LE(t->hole_lo, seq) &&
	    XDPI_SEQ_LT(seq, t->hole_hi) && now - t->next_t < thres && end != t->next_seq) {
		t->ooo++;
		/* Shrink the gap from whichever end the segment fills. */
		if (seq == t->hole_lo)
			t->hole_lo = XDPI_SEQ_LT(end, t->hole_hi) ? end : t->hole_hi;
		else if (XDPI_SEQ_LE(t->hole_hi, end))
			t->hole_hi = seq;
		return;
	}
	t->retrans++;
	if (XDPI_SEQ_LT(t->next_seq, end)) {
		t->next_seq = end;
		t->next_t = now;
	}
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
	if (p->has_tcp_flags && p->proto == XDPI_IPPROTO_TCP)
		xdpi_tcp_track(v, p, dir, ts);
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
