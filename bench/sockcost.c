/* SPDX-License-Identifier: BSD-3-Clause */
/* Cost of the socket filter of `run --hook socket` per packet, from
 * BPF_PROG_TEST_RUN (kernel-reported ns, best of 5 runs of -r repeats), on
 * a 64-byte and a 1514-byte TCP frame, next to a filter that only returns
 * the packet's length (the harness floor). Prints a Markdown table. Root.
 *   bench/sockcost [-r REPEAT] [-n SNIPPET_BYTES] */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xdpi_sock.skel.h"

/* A TCP frame of size bytes after a dummy 14-byte header: the test run
 * starts a socket filter's packet after the first 14 bytes, AF_PACKET at
 * the Ethernet header. */
static uint32_t tcp_frame(uint8_t *b, uint32_t size)
{
	uint8_t *eth = b + 14, *ip = eth + 14, *tcp = ip + 20;
	uint32_t tot = size - 14;

	memset(b, 0, 14 + size);
	memset(b, 2, 12);
	b[12] = 0x88;
	b[13] = 0xb5;
	memset(eth, 2, 12);
	eth[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
	tcp[0] = 0x9c, tcp[3] = 80;
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;
	return 14 + size;
}

/* r0 = skb->len; exit */
static int floor_prog(void)
{
	struct bpf_insn insns[2];

	memset(insns, 0, sizeof(insns));
	insns[0].code = BPF_LDX | BPF_MEM | BPF_W;
	insns[0].dst_reg = BPF_REG_0;
	insns[0].src_reg = BPF_REG_1;
	insns[0].off = offsetof(struct __sk_buff, len);
	insns[1].code = BPF_JMP | BPF_EXIT;
	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "len_only", "GPL", insns, 2, NULL);
}

/* Best ns per packet of 5 runs; the kept length in *keep. */
static long long best_ns(int fd, uint8_t *b, uint32_t len, int repeat, uint32_t *keep)
{
	long long best = -1;

	for (int i = 0; i < 5; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = b, .data_size_in = len,
			    .repeat = repeat);

		if (bpf_prog_test_run_opts(fd, &o))
			return -1;
		if (best < 0 || o.duration < best)
			best = o.duration;
		*keep = o.retval;
	}
	return best;
}

int main(int argc, char **argv)
{
	static uint8_t b[2048];
	uint32_t sizes[] = { 64, 1514 }, snip = 256, keep;
	struct xdpi_sock_bpf *skel;
	int opt, repeat = 10000000, floor_fd;

	while ((opt = getopt(argc, argv, "r:n:")) != -1) {
		if (opt == 'r')
			repeat = atoi(optarg);
		else if (opt == 'n')
			snip = (uint32_t)atoi(optarg);
		else
			return 2;
	}
	skel = xdpi_sock_bpf__open();
	if (!skel)
		return 1;
	skel->rodata->snippet_bytes = snip;
	if (xdpi_sock_bpf__load(skel)) {
		fprintf(stderr, "sockcost: cannot load the socket filter (root?)\n");
		return 1;
	}
	floor_fd = floor_prog();
	if (floor_fd < 0) {
		fprintf(stderr, "sockcost: cannot load the floor program\n");
		return 1;
	}
	printf("| frame | return the length (floor) ns | xdpi socket filter ns | bytes kept (N = %u) |\n",
	       snip);
	printf("|---:|---:|---:|---:|\n");
	for (int i = 0; i < 2; i++) {
		uint32_t len = tcp_frame(b, sizes[i]), k0;
		long long f = best_ns(floor_fd, b, len, repeat, &k0);
		long long x = best_ns(bpf_program__fd(skel->progs.xdpi_sock), b, len, repeat, &keep);

		printf("| %u B TCP | %lld | %lld | %u |\n", sizes[i], f, x, keep);
	}
	close(floor_fd);
	xdpi_sock_bpf__destroy(skel);
	return 0;
}
