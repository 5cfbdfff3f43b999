/* Cost of dropping by rule, next to a bare XDP_DROP program: per-packet
 * time measured by the kernel with BPF_PROG_TEST_RUN (median of ROUNDS runs
 * of REPEAT packets each, programs taking turns), and the rate it allows
 * as a share of the bare program's. Prints a Markdown table.
 *
 *   dropcost [-o xdpi.bpf.o] [-r REPEAT]
 *
 * The packet is a 64-byte TCP segment from 198.51.100.7:40000 to
 * 203.0.113.9:80. Cases: no rules (full inspection, passed), a CIDR drop
 * rule on the source, a port drop rule (checked after the CIDR tries), a
 * protocol drop rule (checked last), and the CIDR rule among 4,096. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xdpi/abi.h"

#define ROUNDS 7

struct prog {
	const char *label;
	int fd;
	struct bpf_object *obj;
	double runs[ROUNDS];
	double ns;
	unsigned ret;
};

static unsigned char pkt[64];

static void build_packet(void)
{
	static const unsigned char hdr[] = {
		/* Ethernet */
		0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00,
		/* IPv4, 50 bytes, TCP */
		0x45, 0, 0, 50, 0, 1, 0x40, 0, 64, 6, 0, 0, 198, 51, 100, 7, 203, 0, 113, 9,
		/* TCP 40000 -> 80, ACK */
		0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0,
	};

	memcpy(pkt, hdr, sizeof(hdr));
}

static int bare_drop(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_DROP },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "bare_drop", "GPL", insns, 2, NULL);

	if (fd < 0)
		perror("dropcost: loading the bare XDP_DROP program");
	return fd;
}

static struct bpf_object *load_xdpi(const char *path, int *prog_fd)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *pr;
	struct bpf_map *ev;

	if (!obj) {
		fprintf(stderr, "dropcost: cannot open %s\n", path);
		return NULL;
	}
	bpf_object__for_each_program(pr, obj)
		bpf_program__set_autoload(pr, !strcmp(bpf_program__name(pr), "xdpi_xdp"));
	if (bpf_object__load(obj)) {
		fprintf(stderr, "dropcost: cannot load %s\n", path);
		return NULL;
	}
	/* Event rings, as the loader makes them (the packet has no payload,
	 * so they stay nearly empty). */
	ev = bpf_object__find_map_by_name(obj, "ev_rings");
	for (int cpu = 0; ev && cpu < libbpf_num_possible_cpus(); cpu++) {
		int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "dropcost_ev", 0, 0, 1 << 20, NULL);
		__u32 key = (__u32)cpu;

		if (fd < 0 || bpf_map_update_elem(bpf_map__fd(ev), &key, &fd, 0)) {
			fprintf(stderr, "dropcost: cannot make the event rings\n");
			return NULL;
		}
	}
	*prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "xdpi_xdp"));
	return obj;
}

static int map_fd(struct bpf_object *obj, const char *name)
{
	return bpf_map__fd(bpf_object__find_map_by_name(obj, name));
}

static void set_tables(struct bpf_object *obj, __u32 bits)
{
	struct xdpi_config_map pol = { .rules_on = bits };
	__u32 key = XDPI_CFG_POLICY;

	if (bpf_map_update_elem(map_fd(obj, "config"), &key, &pol, BPF_ANY)) {
		perror("dropcost: config");
		exit(1);
	}
}

static void add_cidr4(struct bpf_object *obj, const char *addr, __u32 len, __u32 id)
{
	struct xdpi_lpm4_key k = { .prefixlen = len };
	struct xdpi_rule r = { .id = id, .action = XDPI_RULE_DROP };

	inet_pton(AF_INET, addr, k.addr);
	if (bpf_map_update_elem(map_fd(obj, "rules4"), &k, &r, BPF_ANY)) {
		perror("dropcost: rules4");
		exit(1);
	}
}

static double run_once(struct prog *p, unsigned repeat)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
			    .repeat = repeat);

	if (bpf_prog_test_run_opts(p->fd, &o)) {
		perror("dropcost: test_run");
		exit(1);
	}
	p->ret = o.retval;
	return o.duration;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *obj_path = "build/xdpi.bpf.o";
	unsigned repeat = 1000000;
	struct prog progs[6] = {
		{ .label = "bare XDP_DROP program" },
		{ .label = "xdpi, no rules (inspected, passed)" },
		{ .label = "xdpi, CIDR drop rule (source /24)" },
		{ .label = "xdpi, port drop rule (tcp port 80)" },
		{ .label = "xdpi, protocol drop rule (proto tcp)" },
		{ .label = "xdpi, CIDR drop rule among 4096" },
	};
	const int n = sizeof(progs) / sizeof(progs[0]);
	int opt;

	while ((opt = getopt(argc, argv, "o:r:")) != -1) {
		if (opt == 'o')
			obj_path = optarg;
		else if (opt == 'r')
			repeat = (unsigned)strtoul(optarg, NULL, 10);
		else {
			fprintf(stderr, "usage: dropcost [-o xdpi.bpf.o] [-r REPEAT]\n");
			return 2;
		}
	}
	build_packet();
	progs[0].fd = bare_drop();
	for (int i = 1; i < n; i++) {
		progs[i].obj = load_xdpi(obj_path, &progs[i].fd);
		if (!progs[i].obj)
			return 1;
	}
	if (progs[0].fd < 0)
		return 1;
	add_cidr4(progs[2].obj, "198.51.100.0", 24, 0);
	set_tables(progs[2].obj, XDPI_RULES_CIDR4 | XDPI_RULES_DROP_CIDR);
	{
		struct xdpi_port_key k = { .port = 80, .proto = 6 };
		struct xdpi_rule r = { .id = 0, .action = XDPI_RULE_DROP };

		bpf_map_update_elem(map_fd(progs[3].obj, "rules_port"), &k, &r, BPF_ANY);
		set_tables(progs[3].obj, XDPI_RULES_CIDR4 | XDPI_RULES_PORT);
	}
	{
		struct xdpi_rule r = { .id = 0, .action = XDPI_RULE_DROP };
		__u32 k = 6;

		bpf_map_update_elem(map_fd(progs[4].obj, "rules_proto"), &k, &r, BPF_ANY);
		set_tables(progs[4].obj, XDPI_RULES_CIDR4 | XDPI_RULES_PORT | XDPI_RULES_PROTO);
	}
	for (__u32 i = 0; i < 4095; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.%u.%u.0", i / 256, i % 256);
		add_cidr4(progs[5].obj, a, 24, i + 1);
	}
	add_cidr4(progs[5].obj, "198.51.100.0", 24, 0);
	set_tables(progs[5].obj, XDPI_RULES_CIDR4 | XDPI_RULES_DROP_CIDR);

	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < n; i++)
			progs[i].runs[r] = run_once(&progs[i], repeat);
	printf("| program (64-byte TCP packet, %u packets a run, median of %d) | verdict | ns/packet "
	       "| Mpps | share of bare XDP_DROP's rate |\n|---|---|---|---|---|\n", repeat, ROUNDS);
	for (int i = 0; i < n; i++) {
		qsort(progs[i].runs, ROUNDS, sizeof(double), cmp);
		progs[i].ns = progs[i].runs[ROUNDS / 2];
	}
	for (int i = 0; i < n; i++)
		printf("| %s | %s | %.1f | %.1f | %.0f%% |\n", progs[i].label,
		       progs[i].ret == XDP_DROP ? "drop" : progs[i].ret == XDP_PASS ? "pass" : "?",
		       progs[i].ns, 1000.0 / progs[i].ns, 100.0 * progs[0].ns / progs[i].ns);
	return 0;
}
