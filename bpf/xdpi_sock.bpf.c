// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* xdpi's socket hook (`xdpi run --hook socket`): a socket filter on an
 * AF_PACKET socket, for hosts where XDP and TC attachment is not allowed.
 * It runs the one parser (include/xdpi/parse.h) and returns how many bytes
 * of the packet the socket copies to user space: the headers plus up to
 * snippet_bytes of payload. User space parses the cut frame again and does
 * the flow accounting (src/upath.c); the kernel only decides the cut.
 *
 * A socket filter has no direct packet access, so the first bytes of the
 * packet are copied into a per-CPU buffer and parsed there. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdpi/abi.h"

/* Bytes of each packet copied and parsed: every header the parser reads in
 * any common frame (Ethernet, tags, IPv4 with options or IPv6 with a few
 * extension headers, TCP with options) lies within them. */
#define XDPI_SOCK_WINDOW 256

/* The buffer, with slack past the window: a rebased cursor is capped at
 * the window (XDPI_REBASE_CAP) but measured from its base, and the IPv6
 * extension headers are measured from the IPv6 header, itself up to
 * XDPI_REBASE_L2 (255) bytes in; the largest read there is 8 bytes. The
 * verifier checks each access against this size. */
#define XDPI_SOCK_BUF (2 * XDPI_SOCK_WINDOW + 64)

#include "opaque.h"

/* Caps a rebased offset (0 <= off by then) at the window. The cursor then
 * stays inside the buffer however long the headers say they are, and a
 * cursor that was past the copied bytes is still at or past their end. */
static __always_inline long cap_off(long off)
{
	return off > XDPI_SOCK_WINDOW ? XDPI_SOCK_WINDOW : off;
}
#define XDPI_REBASE_CAP(off) cap_off(off)

#include "xdpi/parse.h"

/* Set by the loader before load (read-only after). */
const volatile __u32 snippet_bytes = 256; /* N: payload bytes kept per packet */

/* Where the packet's first bytes are copied and parsed, and the parse
 * result: one slot per CPU (socket filters do not nest on a CPU). */
struct sock_scratch {
	struct xdpi_pkt pkt;
	__u8 buf[XDPI_SOCK_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sock_scratch);
} sock_scratch SEC(".maps");

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Bytes to keep of a parsed packet of len bytes, of which the parser saw
 * the first seen. User space must find in them what the parser found. */
static __always_inline __u32 keep_len(struct xdpi_pkt *p, int rc, __u32 len, __u32 seen)
{
	__u64 end;

	/* Not IP: the link-layer headers, enough to count it as non-IP. */
	if (rc == XDPI_P_NON_IP)
		return p->l3_off;
	/* Too broken to key: all the parser saw, so user space finds the
	 * same fault and counts the same anomalies. */
	if (rc != XDPI_P_FLOW)
		return seen;
	/* Payload found: the headers before it and N bytes of it. */
	if (p->payload_off) {
		xdpi_extend_payload(p, len);
		return p->payload_off +
		       (p->payload_len < snippet_bytes ? p->payload_len : snippet_bytes);
	}
	/* No payload, or none the parser knows (later fragments, protocols
	 * without ports): the IP packet, up to the bytes the parser saw. */
	end = (__u64)p->l3_off + p->ip_len;
	return end < seen ? (__u32)end : seen;
}

/* Every packet the socket sees, received or sent (AF_PACKET itself leaves
 * out the copy of a multicast packet the host loops back to itself). */
SEC("socket")
int xdpi_sock(struct __sk_buff *skb)
{
	__u32 zero = 0, len = skb->len;
	struct sock_scratch *s;
	__u64 seen;
	int rc;

	s = bpf_map_lookup_elem(&sock_scratch, &zero);
	if (!s)
		return len;
	seen = len < XDPI_SOCK_WINDOW ? len : XDPI_SOCK_WINDOW;
	/* Opaque to the compiler, so the check below stays for the verifier. */
	asm volatile("" : "+r"(seen));
	if (seen == 0 || seen > XDPI_SOCK_WINDOW)
		return 0;
	if (bpf_skb_load_bytes(skb, 0, s->buf, seen))
		return seen;
#ifdef XDPI_TEST_VERIFIER_REJECT
	seen += s->buf[len]; /* unchecked read: must be rejected */
#endif
	rc = xdpi_parse(s->buf, s->buf + seen, len - (__u32)seen, &s->pkt);
	return keep_len(&s->pkt, rc, len, seen);
}
