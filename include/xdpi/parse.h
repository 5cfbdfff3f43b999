/* SPDX-License-Identifier: BSD-3-Clause */
/* The one packet parser of xdpi, compiled into the BPF objects and into user
 * space. A cursor walks the frame; every helper checks bounds against the end
 * of the captured data before it reads, so the verifier accepts it and user
 * space can feed it arbitrary bytes.
 *
 * Outcome of a parse:
 *   XDPI_P_FLOW    an IPv4/IPv6 packet with a usable flow key in *p
 *   XDPI_P_NON_IP  a well-formed frame that carries no IP (ARP, LLDP, ...)
 *   XDPI_P_BAD     a frame too broken to key (truncated L2/L3, bad IHL)
 * Anomalies are reported as bits in p->anomalies whatever the outcome. */
#ifndef XDPI_PARSE_H
#define XDPI_PARSE_H

#include <linux/types.h>
#include "abi.h"

/* The kernel side wants bounded loops unrolled; gcc has no such pragma. */
#ifdef __clang__
#define XDPI_UNROLL _Pragma("unroll")
#else
#define XDPI_UNROLL
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define xdpi_ntohs(x) __builtin_bswap16(x)
#define xdpi_ntohl(x) __builtin_bswap32(x)
#else
#define xdpi_ntohs(x) (x)
#define xdpi_ntohl(x) (x)
#endif

#ifndef XDPI_VLAN_DEPTH
#define XDPI_VLAN_DEPTH    4  /* stacked 802.1Q/802.1ad tags followed */
#endif
#ifndef XDPI_MPLS_DEPTH
#define XDPI_MPLS_DEPTH    8  /* MPLS labels followed */
#endif
#ifndef XDPI_IPV6_EXT_MAX
#define XDPI_IPV6_EXT_MAX  8  /* IPv6 extension headers followed */
#endif

#define XDPI_ETH_P_IP      0x0800
#define XDPI_ETH_P_IPV6    0x86DD
#define XDPI_ETH_P_8021Q   0x8100
#define XDPI_ETH_P_8021AD  0x88A8
#define XDPI_ETH_P_QINQ1   0x9100
#define XDPI_ETH_P_MPLS_UC 0x8847
#define XDPI_ETH_P_MPLS_MC 0x8848
#define XDPI_ETH_P_PPP_SES 0x8864
#define XDPI_PPP_IP        0x0021
#define XDPI_PPP_IPV6      0x0057

/* IANA protocol numbers */
#define XDPI_IPPROTO_HOPOPTS  0
#define XDPI_IPPROTO_ICMP     1
#define XDPI_IPPROTO_IPIP     4
#define XDPI_IPPROTO_IPV6     41
#define XDPI_IPPROTO_TCP      6
#define XDPI_IPPROTO_UDP      17
#define XDPI_IPPROTO_ROUTING  43
#define XDPI_IPPROTO_FRAGMENT 44
#define XDPI_IPPROTO_ICMPV6   58
#define XDPI_IPPROTO_DSTOPTS  60
#define XDPI_IPPROTO_SCTP     132
#define XDPI_IPPROTO_UDPLITE  136

#define XDPI_TCP_FIN 0x01
#define XDPI_TCP_SYN 0x02
#define XDPI_TCP_RST 0x04
#define XDPI_TCP_PSH 0x08
#define XDPI_TCP_ACK 0x10
#define XDPI_TCP_URG 0x20

enum xdpi_parse_result {
	XDPI_P_FLOW = 0,
	XDPI_P_NON_IP = 1,
	XDPI_P_BAD = 2,
};

enum xdpi_frag {
	XDPI_FRAG_NONE = 0,
	XDPI_FRAG_FIRST = 1,    /* offset 0, more fragments follow: carries ports */
	XDPI_FRAG_NONFIRST = 2, /* offset > 0: no L4 header, ports 0 */
};

/* Anomaly bit for a counter in [XDPI_ANOMALY_FIRST, XDPI_ANOMALY_LAST]. */
#define XDPI_ANOM(c) (1u << ((c) - XDPI_ANOMALY_FIRST))

struct xdpi_pkt {
	/* Addresses as in struct xdpi_flow_key, also as words: the BPF target
	 * copies and compares byte arrays one byte at a time. */
	union {
		__u8  src[16];
		__u32 src32[4];
		__u64 src64[2];
	};
	union {
		__u8  dst[16];
		__u32 dst32[4];
		__u64 dst64[2];
	};
	__u16 sport;        /* host order, 0 when the protocol has no ports */
	__u16 dport;
	__u16 vlan;         /* outer VLAN id or XDPI_VLAN_NONE */
	__u16 l3_off;       /* offset of the IP header in the frame */
	__u8  family;       /* 4 or 6 */
	__u8  proto;
	__u8  tcp_flags;
	__u8  icmp_type;
	__u8  icmp_code;
	__u8  frag;         /* enum xdpi_frag */
	__u8  has_tcp_flags;/* the flag byte was inside the captured data */
	__u8  l3_cut;       /* the IP payload goes on past the captured bytes */
	__u32 ip_len;       /* L3 bytes as the IP header states them */
	__u32 payload_off;  /* application payload: offset in the frame ... */
	__u32 payload_len;  /* ... and captured length, bounded by the IP length */
	__u32 tcp_seq;      /* host order */
	__u32 anomalies;    /* XDPI_ANOM() bits */
	/* TCP segment, valid when has_tcp_seg: the whole fixed header was
	 * captured and its data offset fits the IP length. tcp_len is the
	 * payload length the IP header states, whatever the capture cut. */
	__u32 tcp_len;
	__u16 tcp_win;      /* host order, unscaled */
	__u8  has_tcp_seg;
	__u8  _pad_tcp;
};

struct hdr_cursor {
	void *pos;
};

/* Captured frames sit at any alignment in user space, so header structs
 * are packed there; in BPF the kernel's packet layout keeps them aligned
 * enough and packed would turn every load into byte loads. */
#ifdef __bpf__
#define XDPI_HDR
#else
#define XDPI_HDR __attribute__((packed))
#endif



struct xdpi_eth_hdr {
	__u8   h_dest[6];
	__u8   h_source[6];
	__be16 h_proto;
} XDPI_HDR;

struct xdpi_vlan_hdr {
	__be16 tci;
	__be16 proto;
} XDPI_HDR;

struct xdpi_ipv4_hdr {
	__u8   ver_ihl;
	__u8   tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8   ttl;
	__u8   protocol;
	__sum16 check;
	__be32 saddr;
	__be32 daddr;
} XDPI_HDR;

struct xdpi_ipv6_hdr {
	__be32 ver_tc_flow;
	__be16 payload_len;
	__u8   nexthdr;
	__u8   hop_limit;
	__u8   saddr[16];
	__u8   daddr[16];
} XDPI_HDR;

struct xdpi_ipv6_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen;   /* 8-octet units, not counting the first 8 */
} XDPI_HDR;

struct xdpi_ipv6_frag_hdr {
	__u8   nexthdr;
	__u8   reserved;
	__be16 frag_off; /* offset in 8-octet units << 3 | M flag */
	__be32 id;
} XDPI_HDR;

struct xdpi_tcp_hdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8   doff_res; /* data offset in the high nibble */
	__u8   flags;
	__be16 window;
	__sum16 check;
	__be16 urg_ptr;
} XDPI_HDR;

struct xdpi_udp_hdr {
	__be16 source;
	__be16 dest;
	__be16 len;
	__sum16 check;
} XDPI_HDR;

/* The offset of pos from base, made opaque to the BPF verifier. Every path
 * through the L2/L3 parsers ends at a different constant offset; without
 * this, the verifier walks each combination of VLAN tags, MPLS labels and
 * extension headers separately and gives up. The BPF object defines it; in
 * user space it is the plain difference. The caller bounds what it returns. */
#ifndef XDPI_OPAQUE_DIFF
#define XDPI_OPAQUE_DIFF(pos, base) ((long)((char *)(pos) - (char *)(base)))
#endif

/* Bytes of the packet past the end of the frame data: what a capture's snap
 * length cut off, or in the kernel what sits in XDP fragments or paged skb
 * data. A plain number in user space. The XDP program defines a type and a
 * macro that work it out only when asked (a helper call), which the parser
 * does only for a packet whose IP length runs past the data it has. */
#ifndef XDPI_CUT_T
#define XDPI_CUT_T    __u32
#define XDPI_CUT(cut) (cut)
#endif

/* Bounds for rebased offsets. Each rebase caps how far the cursor may be
 * from its base; the caps keep base + offset + any header length under the
 * verifier's 64 KiB packet offset limit. */
#define XDPI_REBASE_L2   0xff   /* from the frame start to L3 */
#define XDPI_REBASE_EXT  0x3fff /* from the IPv6 header, per extension header */
#define XDPI_REBASE_L4   0x7fff /* from the frame start to L4 */

/* A rebased offset, capped further where the frame is a copy in a map value
 * rather than a packet: the verifier bounds map-value accesses by the
 * pointer's offset alone, it learns nothing from comparing the cursor with
 * the end. The socket program (bpf/xdpi_sock.bpf.c) caps the offset at the
 * bytes it copies; a cursor capped there is still at or past the end, so
 * every later bounds check fails as it would have. Elsewhere, the offset. */
#ifndef XDPI_REBASE_CAP
#define XDPI_REBASE_CAP(off) (off)
#endif

static __always_inline int xdpi_cursor_rebase(struct hdr_cursor *c, void *base, long max)
{
	long off = XDPI_OPAQUE_DIFF(c->pos, base);

	if (off < 0 || off > max)
		return -1;
	c->pos = base + XDPI_REBASE_CAP(off);
	return 0;
}

static __always_inline int xdpi_has(void *pos, void *end, __u32 len)
{
	return pos + len <= end;
}

/* 16 address bytes from the frame. The kernel allows unaligned packet loads
 * on the machines this runs on; user-space frames get memcpy. */
static __always_inline void xdpi_addr6_copy(__u64 *dst, const __u8 *src)
{
#ifdef __bpf__
	dst[0] = *(const __u64 *)(const void *)src;
	dst[1] = *(const __u64 *)(const void *)(src + 8);
#else
	__builtin_memcpy(dst, src, 16);
#endif
}

/* Ethernet, up to XDPI_VLAN_DEPTH tags, MPLS label stack, PPPoE session.
 * Returns the L3 ethertype (host order) or 0 with *bad set on truncation. */
static __always_inline __u16 parse_l2(struct hdr_cursor *c, void *end,
				      struct xdpi_pkt *p, int *bad)
{
	struct xdpi_eth_hdr *eth = c->pos;
	__u16 proto;
	int i;

	if (!xdpi_has(eth, end, sizeof(*eth))) {
		p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L2);
		*bad = 1;
		return 0;
	}
	c->pos = eth + 1;
	proto = xdpi_ntohs(eth->h_proto);

XDPI_UNROLL
	for (i = 0; i < XDPI_VLAN_DEPTH; i++) {
		struct xdpi_vlan_hdr *vh = c->pos;

		if (proto != XDPI_ETH_P_8021Q && proto != XDPI_ETH_P_8021AD &&
		    proto != XDPI_ETH_P_QINQ1)
			break;
		if (!xdpi_has(vh, end, sizeof(*vh))) {
			p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L2);
			*bad = 1;
			return 0;
		}
		if (p->vlan == XDPI_VLAN_NONE)
			p->vlan = xdpi_ntohs(vh->tci) & 0x0fff;
		proto = xdpi_ntohs(vh->proto);
		c->pos = vh + 1;
	}
	if (xdpi_cursor_rebase(c, eth, XDPI_REBASE_L2) < 0) {
		*bad = 1;
		return 0;
	}

	if (proto == XDPI_ETH_P_MPLS_UC || proto == XDPI_ETH_P_MPLS_MC) {
XDPI_UNROLL
		for (i = 0; i < XDPI_MPLS_DEPTH; i++) {
			__u8 *lbl = c->pos;

			if (!xdpi_has(lbl, end, 4)) {
				p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L2);
				*bad = 1;
				return 0;
			}
			c->pos = lbl + 4;
			if (lbl[2] & 0x01) /* bottom of stack */
				break;
		}
		/* MPLS has no payload type: guess from the IP version nibble. */
		if (!xdpi_has(c->pos, end, 1))
			return 0;
		switch (*(__u8 *)c->pos >> 4) {
		case 4: return XDPI_ETH_P_IP;
		case 6: return XDPI_ETH_P_IPV6;
		default: return 0;
		}
	}

	if (proto == XDPI_ETH_P_PPP_SES) {
		__u8 *ppp = c->pos; /* 6-byte PPPoE header, 2-byte PPP protocol */
		__u16 pproto;

		if (!xdpi_has(ppp, end, 8)) {
			p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L2);
			*bad = 1;
			return 0;
		}
		pproto = ((__u16)ppp[6] << 8) | ppp[7];
		c->pos = ppp + 8;
		if (pproto == XDPI_PPP_IP)
			return XDPI_ETH_P_IP;
		if (pproto == XDPI_PPP_IPV6)
			return XDPI_ETH_P_IPV6;
		return 0;
	}
	return proto;
}

/* Returns 0 on success (addresses and protocol known), -1 when the header is
 * unusable. Sets *l4 to the L4 header and *l4_end to the end of the L3
 * payload that is actually present. cut: bytes of the packet past the end of
 * the frame data (XDPI_CUT_T). */
static __always_inline int parse_ipv4(struct hdr_cursor *c, void *end, XDPI_CUT_T cut,
				      struct xdpi_pkt *p, void **l4_end)
{
	struct xdpi_ipv4_hdr *ip = c->pos;
	__u32 hlen, tot, avail;
	__u16 frag;

	if (!xdpi_has(ip, end, sizeof(*ip))) {
		p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L3);
		return -1;
	}
	hlen = (ip->ver_ihl & 0x0f) * 4;
	if ((ip->ver_ihl >> 4) != 4 || hlen < sizeof(*ip)) {
		p->anomalies |= XDPI_ANOM(XDPI_C_BAD_IHL);
		return -1;
	}
	if (!xdpi_has(ip, end, hlen)) {
		p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L3);
		return -1;
	}
	avail = end - (void *)ip;
	tot = xdpi_ntohs(ip->tot_len);
	if (tot == 0) {
		/* Segmentation offload leaves 0: take the length present. */
		__u32 cut_len = XDPI_CUT(cut);
		__u64 all = (__u64)avail + cut_len;

		p->anomalies |= XDPI_ANOM(XDPI_C_BAD_IP_LEN);
		p->ip_len = all > 0xffffffffULL ? 0xffffffffU : (__u32)all;
		p->l3_cut = cut_len > 0;
		*l4_end = end;
	} else if (tot < hlen) {
		p->anomalies |= XDPI_ANOM(XDPI_C_BAD_IP_LEN);
		return -1;
	} else {
		/* tot > avail first: only then is the cut worth working out. */
		if (tot > avail && (__u64)tot > (__u64)avail + XDPI_CUT(cut))
			p->anomalies |= XDPI_ANOM(XDPI_C_BAD_IP_LEN);
		p->ip_len = tot;
		p->l3_cut = tot > avail;
		*l4_end = tot < avail ? (void *)ip + tot : end;
	}

	p->family = 4;
	p->proto = ip->protocol;
	/* The other 12 bytes stay zero from xdpi_parse's memset. */
	p->src32[0] = ip->saddr;
	p->dst32[0] = ip->daddr;
	frag = xdpi_ntohs(ip->frag_off);
	if (frag & 0x1fff)
		p->frag = XDPI_FRAG_NONFIRST;
	else if (frag & 0x2000)
		p->frag = XDPI_FRAG_FIRST;

	c->pos = (void *)ip + hlen;
	return 0;
}

static __always_inline int xdpi_ipv6_is_ext(__u8 nh)
{
	return nh == XDPI_IPPROTO_HOPOPTS || nh == XDPI_IPPROTO_ROUTING ||
	       nh == XDPI_IPPROTO_DSTOPTS || nh == XDPI_IPPROTO_FRAGMENT;
}

static __always_inline int parse_ipv6(struct hdr_cursor *c, void *end, XDPI_CUT_T cut,
				      struct xdpi_pkt *p, void **l4_end)
{
	struct xdpi_ipv6_hdr *ip6 = c->pos;
	__u32 avail, tot;
	__u8 nh;
	int i;

	if (!xdpi_has(ip6, end, sizeof(*ip6))) {
		p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L3);
		return -1;
	}
	if ((((__u8 *)ip6)[0] >> 4) != 6) {
		p->anomalies |= XDPI_ANOM(XDPI_C_BAD_IHL);
		return -1;
	}
	avail = end - (void *)ip6;
	tot = xdpi_ntohs(ip6->payload_len) + sizeof(*ip6);
	p->family = 6;
	p->ip_len = tot; /* as stated, also for jumbograms (RFC 2675): 40 */
	xdpi_addr6_copy(p->src64, ip6->saddr);
	xdpi_addr6_copy(p->dst64, ip6->daddr);
	if (tot == sizeof(*ip6) && avail > sizeof(*ip6)) {
		/* Length 0 with more data: a jumbogram (hop-by-hop jumbo option)
		 * or an offloaded segment; the payload is what is there. */
		if (ip6->nexthdr != XDPI_IPPROTO_HOPOPTS)
			p->anomalies |= XDPI_ANOM(XDPI_C_BAD_IP_LEN);
		*l4_end = end;
		p->l3_cut = 1;
	} else {
		if (tot > avail && (__u64)tot > (__u64)avail + XDPI_CUT(cut))
			p->anomalies |= XDPI_ANOM(XDPI_C_BAD_IP_LEN);
		*l4_end = tot < avail ? (void *)ip6 + tot : end;
		p->l3_cut = tot > avail;
	}
	c->pos = ip6 + 1;
	nh = ip6->nexthdr;

XDPI_UNROLL
	for (i = 0; i < XDPI_IPV6_EXT_MAX; i++) {
		if (!xdpi_ipv6_is_ext(nh))
			break;
		if (nh == XDPI_IPPROTO_FRAGMENT) {
			struct xdpi_ipv6_frag_hdr *fh = c->pos;
			__u16 off;

			if (!xdpi_has(fh, end, sizeof(*fh)) ||
			    (void *)fh + sizeof(*fh) > *l4_end) {
				p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L3);
				p->proto = nh;
				return 1; /* keyed, but no L4 */
			}
			off = xdpi_ntohs(fh->frag_off);
			nh = fh->nexthdr;
			c->pos = fh + 1;
			if (off & 0xfff8) {
				p->frag = XDPI_FRAG_NONFIRST;
				p->proto = nh;
				return 1;
			}
			if (off & 1)
				p->frag = XDPI_FRAG_FIRST;
		} else {
			struct xdpi_ipv6_opt_hdr *oh = c->pos;
			__u32 len;

			if (!xdpi_has(oh, end, sizeof(*oh)) ||
			    (void *)oh + sizeof(*oh) > *l4_end) {
				p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L3);
				p->proto = nh;
				return 1;
			}
			len = ((__u32)oh->hdrlen + 1) * 8;
			/* A header running past the payload length is cut short too. */
			if (!xdpi_has(oh, end, len) || (void *)oh + len > *l4_end) {
				p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L3);
				p->proto = nh;
				return 1;
			}
			nh = oh->nexthdr;
			c->pos = (void *)oh + len;
		}
		if (xdpi_cursor_rebase(c, ip6, XDPI_REBASE_EXT) < 0) {
			p->anomalies |= XDPI_ANOM(XDPI_C_IPV6_EXT_LIMIT);
			p->proto = nh;
			return 1;
		}
	}
	p->proto = nh;
	if (xdpi_ipv6_is_ext(nh)) {
		p->anomalies |= XDPI_ANOM(XDPI_C_IPV6_EXT_LIMIT);
		return 1;
	}
	return 0;
}

static __always_inline void xdpi_check_tcp_flags(struct xdpi_pkt *p)
{
	__u8 f = p->tcp_flags;

	if (f == 0)
		p->anomalies |= XDPI_ANOM(XDPI_C_TCP_NULL);
	if ((f & (XDPI_TCP_FIN | XDPI_TCP_PSH | XDPI_TCP_URG)) ==
	    (XDPI_TCP_FIN | XDPI_TCP_PSH | XDPI_TCP_URG))
		p->anomalies |= XDPI_ANOM(XDPI_C_TCP_XMAS);
	if ((f & (XDPI_TCP_SYN | XDPI_TCP_FIN)) == (XDPI_TCP_SYN | XDPI_TCP_FIN))
		p->anomalies |= XDPI_ANOM(XDPI_C_TCP_SYN_FIN);
	if ((f & (XDPI_TCP_SYN | XDPI_TCP_RST)) == (XDPI_TCP_SYN | XDPI_TCP_RST))
		p->anomalies |= XDPI_ANOM(XDPI_C_TCP_SYN_RST);
	if ((f & (XDPI_TCP_FIN | XDPI_TCP_ACK)) == XDPI_TCP_FIN)
		p->anomalies |= XDPI_ANOM(XDPI_C_TCP_FIN_NO_ACK);
}

static __always_inline void xdpi_set_payload(struct xdpi_pkt *p, void *frame,
					     void *start, void *l4_end)
{
	if (start < l4_end) {
		p->payload_off = start - frame;
		p->payload_len = l4_end - start;
	}
}

static __always_inline void parse_tcp(struct hdr_cursor *c, void *frame, void *end,
				      void *l4_end, struct xdpi_pkt *p)
{
	struct xdpi_tcp_hdr *th = c->pos;
	__u32 doff, hdr_end;
	__u64 ip_end;

	if (!xdpi_has(th, end, 4) || (void *)th + 4 > l4_end) {
		p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L4);
		return;
	}
	p->sport = xdpi_ntohs(th->source);
	p->dport = xdpi_ntohs(th->dest);
	if (!xdpi_has(th, end, 14) || (void *)th + 14 > l4_end) {
		p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L4);
		return;
	}
	p->tcp_flags = th->flags;
	p->has_tcp_flags = 1;
	xdpi_check_tcp_flags(p);
	if (!xdpi_has(th, end, sizeof(*th)) || (void *)th + sizeof(*th) > l4_end) {
		p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L4);
		return;
	}
	p->tcp_seq = xdpi_ntohl(th->seq);
	p->tcp_win = xdpi_ntohs(th->window);
	doff = (th->doff_res >> 4) * 4;
	if (doff < sizeof(*th)) {
		p->anomalies |= XDPI_ANOM(XDPI_C_BAD_TCP_DOFF);
		return;
	}
	/* Segment length from the IP length, so a snap length does not make
	 * a full segment look short to the sequence tracking (flow.h). */
	hdr_end = (__u32)((void *)th - frame) + doff;
	ip_end = (__u64)p->l3_off + p->ip_len;
	if (hdr_end <= ip_end) {
		p->tcp_len = (__u32)(ip_end - hdr_end);
		p->has_tcp_seg = 1;
	}
	if (!xdpi_has(th, end, doff) || (void *)th + doff > l4_end) {
		/* Past the captured bytes of a longer packet: cut short; past
		 * the end of the IP payload itself: a bad offset. */
		p->anomalies |= p->l3_cut && l4_end == end ? XDPI_ANOM(XDPI_C_TRUNC_L4)
							   : XDPI_ANOM(XDPI_C_BAD_TCP_DOFF);
		return;
	}
	xdpi_set_payload(p, frame, (void *)th + doff, l4_end);
}

static __always_inline void parse_l4(struct hdr_cursor *c, void *frame, void *end,
				     void *l4_end, struct xdpi_pkt *p)
{
	__u8 *l4 = c->pos;

	switch (p->proto) {
	case XDPI_IPPROTO_TCP:
		parse_tcp(c, frame, end, l4_end, p);
		break;
	case XDPI_IPPROTO_UDP:
	case XDPI_IPPROTO_UDPLITE:
	case XDPI_IPPROTO_SCTP:
		if (!xdpi_has(l4, end, 4) || (void *)l4 + 4 > l4_end) {
			p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L4);
			break;
		}
		p->sport = ((__u16)l4[0] << 8) | l4[1];
		p->dport = ((__u16)l4[2] << 8) | l4[3];
		if (p->proto == XDPI_IPPROTO_SCTP)
			break;
		if (!xdpi_has(l4, end, 8) || (void *)l4 + 8 > l4_end) {
			p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L4);
			break;
		}
		xdpi_set_payload(p, frame, l4 + 8, l4_end);
		break;
	case XDPI_IPPROTO_IPIP:
	case XDPI_IPPROTO_IPV6:
		/* A tunnelled packet: its bytes are the payload, for the parsers
		 * (the flow stays keyed on the outer header). */
		xdpi_set_payload(p, frame, l4, l4_end);
		break;
	case XDPI_IPPROTO_ICMP:
	case XDPI_IPPROTO_ICMPV6:
		if (!xdpi_has(l4, end, 4) || (void *)l4 + 4 > l4_end) {
			p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L4);
			break;
		}
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		break;
	default:
		break;
	}
}

/* In the kernel the payload may go on past the linear bytes the parser saw
 * (paged skb data, XDP fragments); the load-bytes helpers reach it, so the
 * payload length is what the IP header and the whole packet allow. */
static __always_inline void xdpi_extend_payload(struct xdpi_pkt *p, __u32 total_len)
{
	__u32 end = p->l3_off + p->ip_len;

	if (!p->payload_off || !p->l3_cut)
		return;
	if (end > total_len)
		end = total_len;
	if (end > p->payload_off)
		p->payload_len = end - p->payload_off;
}

/* Parse one frame that starts with an Ethernet header. */
static __always_inline int xdpi_parse(void *data, void *data_end, XDPI_CUT_T cut,
				      struct xdpi_pkt *p)
{
	struct hdr_cursor c = { .pos = data };
	void *l4_end = data_end;
	__u16 l3;
	int bad = 0, rc;

	__builtin_memset(p, 0, sizeof(*p));
	p->vlan = XDPI_VLAN_NONE;

	l3 = parse_l2(&c, data_end, p, &bad);
	if (bad)
		return XDPI_P_BAD;
	if (xdpi_cursor_rebase(&c, data, XDPI_REBASE_L2) < 0)
		return XDPI_P_BAD;
	p->l3_off = c.pos - data;
	if (l3 == XDPI_ETH_P_IP)
		rc = parse_ipv4(&c, data_end, cut, p, &l4_end);
	else if (l3 == XDPI_ETH_P_IPV6)
		rc = parse_ipv6(&c, data_end, cut, p, &l4_end);
	else
		return XDPI_P_NON_IP;
	if (rc < 0)
		return XDPI_P_BAD;
	if (rc == 0 && p->frag != XDPI_FRAG_NONFIRST) {
		if (xdpi_cursor_rebase(&c, data, XDPI_REBASE_L4) == 0)
			parse_l4(&c, data, data_end, l4_end, p);
		else
			p->anomalies |= XDPI_ANOM(XDPI_C_TRUNC_L4);
	}
	return XDPI_P_FLOW;
}

#endif
