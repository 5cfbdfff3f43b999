/* Per-packet cost of server-name extraction (bpf/extract.h), measured by the
 * kernel with BPF_PROG_TEST_RUN, as bench/kcost.c measures the rest.
 *
 *   namecost [-d DIR] [-r REPEAT] [-f FLOWS] [-p PASSES] [-n ROUNDS]
 *
 * Extraction runs on a flow's first packets only, so two questions:
 *
 * - What does it cost every other packet? The full program (DIR/xdpi.bpf.o,
 *   snippet budget spent) with name_extract = 1 against the same with 0, on
 *   kcost's packets: one flow repeated (ROUNDS runs each, taking turns;
 *   medians, and the median of the paired differences, steadier on a busy
 *   machine), and FLOWS flows in random order, one run of repeat 1 each
 *   (median of PASSES passes).
 * - What does it cost the packets it looks at? DIR/xdpi-names.bpf.o, built
 *   with -DXDPI_BENCH_NAMES, looks at every TCP payload as if it were its
 *   flow's first: realistic payloads through it against the full program
 *   with the extraction off, one flow, each payload repeated.
 *
 * Prints Markdown tables. bench/run.sh builds the objects. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kharness.h"

#define ROUNDS   7     /* one flow: runs per program, the median reported */
#define ROUNDS_MAX 101 /* -n */
#define SLOW_RUN 20000 /* ns: many flows, a run this long was interrupted */

struct prog {
	const char *label;
	struct bpf_object *obj;
	int fd;
};

static unsigned run(const struct prog *p, unsigned char *pkt, size_t len, unsigned repeat)
{
	return test_run(p->fd, pkt, len, repeat, "namecost");
}

/* xdpi's XDP program alone, no events (transport none), snippet budget 8. */
static int load(struct prog *p, const char *path, int name_extract, const char *label)
{
	static const char *const off[] = { "xdpi_tc", "xdpi_tc_body", "xdpi_tc_reject",
					   "xdpi_xdp_body", "xdpi_xdp_reject" };
	struct bpf_program *pr;

	p->label = label;
	p->obj = bpf_object__open_file(path, NULL);
	if (!p->obj) {
		fprintf(stderr, "namecost: cannot open %s\n", path);
		return -1;
	}
	for (unsigned i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		pr = bpf_object__find_program_by_name(p->obj, off[i]);
		if (pr)
			bpf_program__set_autoload(pr, false);
	}
	if (set_rodata(p->obj, "name_extract", (unsigned)name_extract) ||
	    set_rodata(p->obj, "snippet_pkts", 8) ||
	    set_rodata(p->obj, "transport", 2 /* XDPI_TRANSPORT_NONE */) ||
	    bpf_object__load(p->obj)) {
		fprintf(stderr, "namecost: cannot load %s\n", path);
		return -1;
	}
	pr = bpf_object__find_program_by_name(p->obj, "xdpi_xdp");
	p->fd = pr ? bpf_program__fd(pr) : -1;
	return p->fd < 0 ? -1 : 0;
}

/* One pass over the flows, one run of repeat 1 each: mean ns per packet,
 * interrupted runs left out. */
static double flow_pass(const struct prog *p, unsigned char *pkt, size_t len,
			const unsigned *order, unsigned flows)
{
	double sum = 0;
	unsigned n = 0;

	for (unsigned i = 0; i < flows; i++) {
		unsigned ns;

		set_flow(pkt, order ? order[i] : i);
		ns = run(p, pkt, len, 1);
		if (ns <= SLOW_RUN) {
			sum += ns;
			n++;
		}
	}
	set_flow(pkt, 0xc350);
	return n ? sum / n : 0;
}

static void put16(unsigned char *b, size_t *n, unsigned v)
{
	b[(*n)++] = (unsigned char)(v >> 8);
	b[(*n)++] = (unsigned char)v;
}

/* A ClientHello shaped like a browser's (517 bytes, as Chrome pads it):
 * 32-byte session id, 16 cipher suites, server_name after 8 extensions. */
static size_t client_hello(unsigned char *b)
{
	static const char sni[] = "www.example.com";
	size_t n = 0, rec, hs, ext;

	b[n++] = 22;
	put16(b, &n, 0x0301);
	rec = n;
	n += 2;
	b[n++] = 1;
	hs = n;
	n += 3;
	put16(b, &n, 0x0303);
	memset(b + n, 0x5a, 32);
	n += 32;
	b[n++] = 32;
	memset(b + n, 0x33, 32);
	n += 32;
	put16(b, &n, 32);
	for (unsigned i = 0; i < 16; i++)
		put16(b, &n, 0x1301 + i);
	b[n++] = 1;
	b[n++] = 0;
	ext = n;
	n += 2;
	for (unsigned i = 0; i < 8; i++) {
		put16(b, &n, i == 0 ? 0x0a0a : 0x0010 + i);
		put16(b, &n, 8);
		memset(b + n, (int)i, 8);
		n += 8;
	}
	put16(b, &n, 0);
	put16(b, &n, 5 + sizeof(sni) - 1);
	put16(b, &n, 3 + sizeof(sni) - 1);
	b[n++] = 0;
	put16(b, &n, sizeof(sni) - 1);
	memcpy(b + n, sni, sizeof(sni) - 1);
	n += sizeof(sni) - 1;
	put16(b, &n, 0x0015); /* padding up to 517 bytes */
	put16(b, &n, (unsigned)(517 - n - 2));
	memset(b + n, 0, 517 - n);
	n = 517;
	b[ext] = (unsigned char)((n - ext - 2) >> 8);
	b[ext + 1] = (unsigned char)(n - ext - 2);
	b[rec] = (unsigned char)((n - 5) >> 8);
	b[rec + 1] = (unsigned char)(n - 5);
	b[hs] = 0;
	b[hs + 1] = (unsigned char)((n - 9) >> 8);
	b[hs + 2] = (unsigned char)(n - 9);
	return n;
}

static size_t payload_frame(unsigned char *f, const void *payload, size_t len)
{
	tcp_frame(f, 54 + len);
	memcpy(f + 54, payload, len);
	return 54 + len;
}

/* Every other packet: the full program with and without extraction. */
static void ordinary(struct prog *on, struct prog *off, unsigned repeat, unsigned flows,
		     unsigned passes, int rounds)
{
	static unsigned char small[64], big[1514];
	struct prog *pr[2] = { on, off };
	static double hot[2][2][ROUNDS_MAX], diff[2][ROUNDS_MAX];
	double many[2][2][16];
	unsigned *order = calloc(flows ? flows : 1, sizeof(*order));

	if (!order)
		exit(1);
	tcp_frame(small, sizeof(small));
	tcp_frame(big, sizeof(big));
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < 2; i++) {
			/* Which goes first alternates, against drifts of the machine. */
			int k = (r & 1) ? 1 - i : i;

			hot[k][0][r] = run(pr[k], small, sizeof(small), repeat);
			hot[k][1][r] = run(pr[k], big, sizeof(big), repeat);
		}
		diff[0][r] = hot[0][0][r] - hot[1][0][r];
		diff[1][r] = hot[0][1][r] - hot[1][1][r];
	}
	for (unsigned i = 0; i < flows; i++)
		order[i] = i;
	/* Nine packets per flow first: past the first ones of each direction,
	 * and the snippet budget spent, as the flows a link mostly carries. */
	for (int i = 0; i < 2; i++)
		for (int w = 0; w < 9; w++)
			flow_pass(pr[i], small, sizeof(small), NULL, flows);
	for (unsigned k = 0; k < passes; k++) {
		for (unsigned i = flows - 1; flows && i > 0; i--) {
			unsigned j = rnd(i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < 2; i++) {
			many[i][0][k] = flow_pass(pr[i], small, sizeof(small), order, flows);
			many[i][1][k] = flow_pass(pr[i], big, sizeof(big), order, flows);
		}
	}
	printf("Every other packet: one flow, repeat %u, median of %d runs; %u flows, one run "
	       "each in random order, median of %u passes (harness timing included); ns/packet\n\n",
	       repeat, rounds, flows, passes);
	printf("| program | one flow 64 B | one flow 1514 B | %u flows 64 B | %u flows 1514 B |\n"
	       "|---|---:|---:|---:|---:|\n", flows, flows);
	for (int i = 0; i < 2; i++)
		printf("| %s | %.1f | %.1f | %.1f | %.1f |\n", pr[i]->label,
		       median(hot[i][0], rounds), median(hot[i][1], rounds),
		       median(many[i][0], (int)passes), median(many[i][1], (int)passes));
	printf("| on - off, median of the %d paired runs | %.1f | %.1f | | |\n", rounds,
	       median(diff[0], rounds), median(diff[1], rounds));
	free(order);
}

/* The packets it looks at: realistic payloads, off against on. */
static void looked_at(struct prog *every, struct prog *off, unsigned repeat)
{
	static unsigned char hello[600], f[4][1600];
	static const char get[] =
		"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n"
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
		"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n"
		"Connection: keep-alive\r\n\r\n";
	static char late[1400];
	const char *label[4] = {
		"TLS ClientHello, 517 B, server_name after 8 extensions",
		"HTTP GET, 327 B, Host on the second line",
		"HTTP GET, 1.3 KB, Host after a 1 KB Cookie line",
		"1460 B of server data (no name): first 8 bytes looked at, rejected",
	};
	double a[4][ROUNDS], b[4][ROUNDS];
	size_t len[4];

	len[0] = payload_frame(f[0], hello, client_hello(hello));
	len[1] = payload_frame(f[1], get, sizeof(get) - 1);
	snprintf(late, sizeof(late), "GET / HTTP/1.1\r\nCookie: %01000d\r\n%s", 0,
		 get + strlen("GET /index.html HTTP/1.1\r\n"));
	len[2] = payload_frame(f[2], late, strlen(late));
	tcp_frame(f[3], 1514);
	memset(f[3] + 54, 'x', 1460);
	len[3] = 1514;
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < 4; i++) {
			a[i][r] = run(off, f[i], len[i], repeat);
			b[i][r] = run(every, f[i], len[i], repeat);
		}
	printf("\nPackets looked at: one flow, each payload repeated %u times, median of %d runs; "
	       "ns/packet\n\n", repeat, ROUNDS);
	printf("| payload | extraction off | extraction on (every packet looked at) | "
	       "difference |\n|---|---:|---:|---:|\n");
	for (int i = 0; i < 4; i++) {
		double x = median(a[i], ROUNDS), y = median(b[i], ROUNDS);

		printf("| %s | %.1f | %.1f | %.1f |\n", label[i], x, y, y - x);
	}
}

int main(int argc, char **argv)
{
	unsigned repeat = 1000000, flows = 65536, passes = 5;
	const char *dir = "build/bench";
	struct prog on, off, every;
	char path[4096];
	int opt, rounds = 21;

	while ((opt = getopt(argc, argv, "d:r:f:p:n:")) != -1) {
		switch (opt) {
		case 'r': repeat = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'f': flows = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'p': passes = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'd': dir = optarg; break;
		case 'n': rounds = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: namecost [-d DIR] [-r REPEAT] [-f FLOWS] [-p PASSES] "
				"[-n ROUNDS]\n");
			return 2;
		}
	}
	if (!repeat || flows > 1u << 24 || !passes || passes > 16 || rounds < 1 ||
	    rounds > ROUNDS_MAX)
		return 2;
	libbpf_set_print(NULL);
	snprintf(path, sizeof(path), "%s/xdpi.bpf.o", dir);
	if (load(&on, path, 1, "xdpi full program (name extraction on)") ||
	    load(&off, path, 0, "xdpi full program, name_extract = 0"))
		goto fail;
	snprintf(path, sizeof(path), "%s/xdpi-names.bpf.o", dir);
	if (load(&every, path, 1, "-DXDPI_BENCH_NAMES"))
		goto fail;
	ordinary(&on, &off, repeat, flows, passes, rounds);
	looked_at(&every, &off, repeat);
	bpf_object__close(on.obj);
	bpf_object__close(off.obj);
	bpf_object__close(every.obj);
	return 0;
fail:
	fprintf(stderr, "namecost: cannot load the programs (root needed; build them with "
		"bench/run.sh)\n");
	return 1;
}
