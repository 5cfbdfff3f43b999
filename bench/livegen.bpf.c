// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Traffic generator for the live benchmark (bench/live.sh, bench/livegen.c).
 * Run with BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES: every repeat
 * hands this program the same page-pool frame and XDP_TX sends it out of
 * the veth end named in the test context, into the peer's XDP program.
 *
 * Each frame is rewritten into one of many UDP flows, and the program paces
 * itself: it spins until the next packet's departure time. Nothing else
 * paces live frames, and a run of a second per call keeps the ~24 ms stall
 * of each call small. test_run runs on one CPU, one call at a time, so the
 * plain globals below need no atomics.
 *
 * livegen_pass: an XDP_PASS program for the receiver of the tcpdump
 * reference (live frames reach a veth peer only through a native XDP
 * program); livegen_drop: a bare XDP_DROP one. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u64 interval_ns = 0;	/* 0: as fast as possible */
const volatile __u32 nflows = 1024;	/* flows alive at once */
/* 0: the same nflows flows all along; P: each flow gets P packets, then a
 * new one takes its place (every packet a snippet when P <= K). */
const volatile __u32 flow_pkts = 0;

__u64 seq;		/* frames sent, over all calls */
__u64 first_ns;		/* departure of the first frame */
__u64 last_ns;		/* departure of the last frame */
__u64 next_ns;		/* departure time of the next frame */
__u64 resets;		/* times the schedule fell too far behind */

/* Late by more than this (e.g. the stall between calls), the schedule
 * restarts from now instead of sending a burst to catch up. */
#define MAX_LAG_NS 1000000

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static long spin(__u32 i, void *ctx)
{
	return bpf_ktime_get_ns() >= *(__u64 *)ctx;
}

static __always_inline __u16 ip_csum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 s = 0;

	for (int i = 0; i < 10; i++)
		s += w[i];
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

SEC("xdp")
int livegen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct udphdr *udp = (void *)(ip + 1);
	__u64 n = seq, id, now, due;

	if ((void *)(udp + 1) > end)
		return XDP_ABORTED;

	/* Flow id: the same nflows ids cycle, or generations of nflows ids
	 * that each last flow_pkts packets per flow. */
	id = n % nflows;
	if (flow_pkts)
		id += n / ((__u64)nflows * flow_pkts) * nflows;
	/* Source 10.0.0.0/8 + (id >> 10), port 10000 + low 10 bits. */
	ip->saddr = bpf_htonl(0x0a000000u | (__u32)((id >> 10) & 0xffffff));
	udp->source = bpf_htons(10000 + (__u16)(id & 1023));
	ip->check = 0;
	ip->check = ip_csum(ip);

	now = bpf_ktime_get_ns();
	if (interval_ns) {
		due = next_ns;
		if (!due || now > due + MAX_LAG_NS) {
			if (due)
				resets++;
			due = now;
		}
		if (now < due) {
			bpf_loop(1 << 23, spin, &due, 0);
			now = bpf_ktime_get_ns();
		}
		next_ns = due + interval_ns;
	}
	if (!n)
		first_ns = now;
	last_ns = now;
	seq = n + 1;
	return XDP_TX;
}

SEC("xdp")
int livegen_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The floor of bench/droplive.sh: drop everything, look at nothing. */
SEC("xdp")
int livegen_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}
