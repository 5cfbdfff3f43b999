/* Live-frames traffic generator for bench/live.sh: loads bench/livegen.bpf.c
 * and runs it with BPF_PROG_TEST_RUN + BPF_F_TEST_XDP_LIVE_FRAMES, so each
 * repeat is sent out of IFACE (a veth end of the current network namespace)
 * as a real frame into its peer. 64-byte (SIZE) IPv4/UDP frames to
 * 198.18.0.1:5001 from FLOWS distinct sources (see livegen.bpf.c).
 *
 *   livegen -i IFACE -d DSTMAC [-r PPS] [-n COUNT] [-t SECS] [-f FLOWS]
 *           [-p FLOW_PKTS] [-s SIZE]
 *
 * Stops after COUNT frames or SECS seconds, whichever comes first (a timer
 * signal interrupts a call that would run past SECS). Prints
 * one line: sent=N seconds=S pps=R calls=C resets=X, where S runs from the
 * first frame's departure to the last one's. */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "livegen.skel.h"

#define MAX_SIZE 1514

static int parse_mac(const char *s, unsigned char *mac)
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (unsigned char)v[i];
	}
	return 0;
}

static int own_mac(const char *ifname, unsigned char *mac)
{
	char path[128], buf[64];
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		rc = parse_mac(buf, mac);
	fclose(f);
	return rc;
}

static void udp_frame(unsigned char *f, unsigned size, const unsigned char *dst,
		      const unsigned char *src)
{
	unsigned ip_len = size - 14, udp_len = size - 34;

	memset(f, 'x', size);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08; f[13] = 0x00;
	f[14] = 0x45; f[15] = 0;
	f[16] = (unsigned char)(ip_len >> 8); f[17] = (unsigned char)ip_len;
	memset(f + 18, 0, 4);               /* id, no fragments */
	f[22] = 64; f[23] = 17;             /* TTL, UDP */
	memset(f + 24, 0, 2);               /* checksum: set per frame */
	memcpy(f + 26, "\x0a\x00\x00\x00\xc6\x12\x00\x01", 8); /* source set per frame */
	f[34] = 0x27; f[35] = 0x10;         /* 10000, varied per frame */
	f[36] = 0x13; f[37] = 0x89;         /* 5001 */
	f[38] = (unsigned char)(udp_len >> 8); f[39] = (unsigned char)udp_len;
	f[40] = 0; f[41] = 0;               /* no UDP checksum (IPv4) */
}

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: livegen -i IFACE -d DSTMAC [-r PPS] [-n COUNT] [-t SECS] "
		"[-f FLOWS] [-p FLOW_PKTS] [-s SIZE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *dstmac = NULL;
	unsigned long long rate = 0, count = 1000000, flows = 1024, flow_pkts = 0, size = 64;
	double max_s = 10, t0;
	unsigned char frame[MAX_SIZE], dst[6], src[6];
	struct livegen_bpf *skel = NULL;
	struct xdp_md ctx = { 0 };
	unsigned calls = 0;
	int opt, rc = 1, fd;

	while ((opt = getopt(argc, argv, "i:d:r:n:t:f:p:s:")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 'd': dstmac = optarg; break;
		case 'r': rate = strtoull(optarg, NULL, 0); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 't': max_s = strtod(optarg, NULL); break;
		case 'f': flows = strtoull(optarg, NULL, 0); break;
		case 'p': flow_pkts = strtoull(optarg, NULL, 0); break;
		case 's': size = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (!ifname || !dstmac || parse_mac(dstmac, dst) || !flows || flows > (1u << 20) ||
	    flow_pkts > 1000000 || size < 60 || size > MAX_SIZE || !(max_s > 0 && max_s <= 600) ||
	    rate > 100000000)
		usage();
	ctx.ingress_ifindex = if_nametoindex(ifname);
	if (!ctx.ingress_ifindex || own_mac(ifname, src)) {
		fprintf(stderr, "livegen: no interface %s here\n", ifname);
		return 1;
	}
	udp_frame(frame, (unsigned)size, dst, src);
	ctx.data_end = (__u32)size; /* test_run wants the frame's extent in ctx */

	skel = livegen_bpf__open();
	if (!skel) {
		fprintf(stderr, "livegen: cannot open the BPF object\n");
		return 1;
	}
	skel->rodata->interval_ns = rate ? 1000000000ull / rate : 0;
	skel->rodata->nflows = (__u32)flows;
	skel->rodata->flow_pkts = (__u32)flow_pkts;
	if (livegen_bpf__load(skel)) {
		fprintf(stderr, "livegen: load failed: %s\n", strerror(errno));
		goto out;
	}
	fd = bpf_program__fd(skel->progs.livegen);

	{
		/* test_run checks for signals between batches and returns EINTR. */
		struct sigaction sa = { .sa_handler = on_alarm };
		struct itimerval it = { .it_value = {
			.tv_sec = (time_t)max_s,
			.tv_usec = (suseconds_t)((max_s - (double)(time_t)max_s) * 1e6) } };

		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	t0 = now_s();
	while (!timed_out && skel->bss->seq < count && now_s() - t0 < max_s) {
		/* About a second of frames per call: each call stalls ~24 ms. */
		unsigned long long left = count - skel->bss->seq;
		unsigned long long chunk = rate ? rate : 1000000;
		LIBBPF_OPTS(bpf_test_run_opts, opts,
			.data_in = frame,
			.data_size_in = (__u32)size,
			.ctx_in = &ctx,
			.ctx_size_in = sizeof(ctx),
			.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		);

		opts.repeat = (__u32)(left < chunk ? left : chunk);
		/* Restart the schedule: the stall between calls is not lag. */
		skel->bss->next_ns = 0;
		if (bpf_prog_test_run_opts(fd, &opts)) {
			if (errno == EINTR && timed_out)
				break;
			fprintf(stderr, "livegen: test run failed: %s\n", strerror(errno));
			goto out;
		}
		calls++;
	}
	{
		double secs = (double)(skel->bss->last_ns - skel->bss->first_ns) / 1e9;
		unsigned long long sent = skel->bss->seq;

		printf("sent=%llu seconds=%.6f pps=%.0f calls=%u resets=%llu\n", sent, secs,
		       secs > 0 ? (double)(sent > 0 ? sent - 1 : 0) / secs : 0.0, calls,
		       (unsigned long long)skel->bss->resets);
	}
	rc = 0;
out:
	livegen_bpf__destroy(skel);
	return rc;
}
