/* Per-packet cost of the kernel program, measured by the kernel itself with
 * BPF_PROG_TEST_RUN (repeat R, average ns per run), next to a bare XDP_PASS
 * program as the harness floor. Prints a Markdown table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xdpi.skel.h"

static size_t tcp_frame(unsigned char *f, size_t size)
{
	/* Ethernet + IPv4 + TCP ACK|PSH with payload up to size. */
	size_t ip_len = size - 14;

	memset(f, 0, size);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (unsigned char)(ip_len >> 8);
	f[17] = (unsigned char)ip_len;
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, "\xc6\x12\x00\x01\xc6\x12\x00\x02", 8);
	f[34] = 0xc3; f[35] = 0x50;   /* 50000 */
	f[36] = 0x01; f[37] = 0xbb;   /* 443 */
	f[46] = 0x50;                 /* data offset 5 */
	f[47] = 0x18;                 /* PSH|ACK */
	return size;
}

static double run(int fd, unsigned char *pkt, size_t len, unsigned repeat)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (unsigned)len,
			    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o)) {
		perror("test_run");
		exit(1);
	}
	return o.duration;
}

static double median5(int fd, unsigned char *pkt, size_t len, unsigned repeat)
{
	double v[5], t;

	for (int i = 0; i < 5; i++)
		v[i] = run(fd, pkt, len, repeat);
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t; }
	return v[2];
}

static int load_pass(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "pass", "GPL", insns, 2, NULL);
}

/* First program of a BPF object file (the reference program). */
static int load_obj(const char *path, struct bpf_object **out)
{
	struct bpf_object *o = bpf_object__open_file(path, NULL);
	struct bpf_program *p;

	if (!o || bpf_object__load(o))
		return -1;
	p = bpf_object__next_program(o, NULL);
	*out = o;
	return p ? bpf_program__fd(p) : -1;
}

static struct xdpi_bpf *load_xdpi(unsigned snippet_pkts)
{
	struct xdpi_bpf *s = xdpi_bpf__open();

	if (!s)
		return NULL;
	s->rodata->snippet_pkts = snippet_pkts;
	bpf_program__set_autoload(s->progs.xdpi_tc, false);
	if (xdpi_bpf__load(s)) {
		xdpi_bpf__destroy(s);
		return NULL;
	}
	return s;
}

int main(int argc, char **argv)
{
	unsigned repeat = argc > 1 ? (unsigned)atoi(argv[1]) : 1000000;
	const char *ref_path = argc > 2 ? argv[2] : "build/bench/ref.bpf.o";
	static unsigned char small[64], big[1514];
	struct xdpi_bpf *nosnip = load_xdpi(0), *snip = load_xdpi(8);
	struct bpf_object *ref_obj = NULL;
	int pass = load_pass(), ref = load_obj(ref_path, &ref_obj);
	double r_small, r_big, x_small, x_big;

	if (!nosnip || !snip || pass < 0 || ref < 0) {
		fprintf(stderr, "kcost: cannot load programs (root needed)\n");
		return 1;
	}
	tcp_frame(small, sizeof(small));
	tcp_frame(big, sizeof(big));
	printf("| program (BPF_PROG_TEST_RUN, repeat %u, median of 5) | 64 B TCP ns/pkt | 1514 B TCP ns/pkt |\n",
	       repeat);
	printf("|---|---:|---:|\n");
	printf("| bare XDP_PASS (harness floor) | %.1f | %.1f |\n",
	       median5(pass, small, sizeof(small), repeat), median5(pass, big, sizeof(big), repeat));
	r_small = median5(ref, small, sizeof(small), repeat);
	r_big = median5(ref, big, sizeof(big), repeat);
	printf("| reference: bare parse + per-CPU hash (bench/ref.bpf.c) | %.1f | %.1f |\n",
	       r_small, r_big);
	printf("| xdpi: parse + sanity + flow update (snippets off) | %.1f | %.1f |\n",
	       median5(bpf_program__fd(nosnip->progs.xdpi_xdp), small, sizeof(small), repeat),
	       median5(bpf_program__fd(nosnip->progs.xdpi_xdp), big, sizeof(big), repeat));
	x_small = median5(bpf_program__fd(snip->progs.xdpi_xdp), small, sizeof(small), repeat);
	x_big = median5(bpf_program__fd(snip->progs.xdpi_xdp), big, sizeof(big), repeat);
	printf("| xdpi: full program (snippets on; K spent after 8 packets of the flow) | %.1f | %.1f |\n",
	       x_small, x_big);
	printf("| ratio full / reference | %.2f | %.2f |\n", x_small / r_small, x_big / r_big);
	bpf_object__close(ref_obj);
	xdpi_bpf__destroy(nosnip);
	xdpi_bpf__destroy(snip);
	return 0;
}
