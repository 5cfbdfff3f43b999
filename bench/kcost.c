/* Per-packet cost of the kernel program, measured by the kernel itself with
 * BPF_PROG_TEST_RUN, next to a bare XDP_PASS program (the harness floor) and
 * a reference flow counter (bench/ref.bpf.c: with a per-CPU hash, with the
 * LRU per-CPU hash xdpi uses, and with that and a timestamp per packet). The
 * xdpi program is also timed at the stages of bpf/xdpi.bpf.c built with
 * -DXDPI_BENCH_STAGE=1/2/3. bench/run.sh builds all these objects into DIR.
 * Prints Markdown tables.
 *
 *   kcost [-d DIR] [-r REPEAT] [-f FLOWS] [-p PASSES] [-x OBJ]...
 *
 * One flow: one TCP packet repeated REPEAT times (median of 7 runs); the
 * flow entry and the packet stay hot in the cache. Many flows: FLOWS
 * distinct TCP flows (source port and address vary), one test run each with
 * repeat 1, in a new random order on each of PASSES passes (median of the
 * passes' means); the flows are created by warm-up passes first. With
 * repeat 1 each figure includes the harness's own timing, see the floor.
 * Programs take turns run by run (one flow) and pass by pass (many flows).
 * -x OBJ times another build of xdpi.bpf.o as well (e.g. before a change).
 * The full program is also timed behind a --filter (src/cbpf.c translates
 * it, as the loader does): one that matches the test packets (the filter,
 * then the full program) and one that does not (the filter, then the
 * program that only counts them). */
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
#include "xdpi/abi.h"
#include "filter.h"

/* Both look at the same fields; the test packets are TCP to port 443 from
 * 198.18.0.0/15. */
#define FILTER_MATCH "tcp port 443 and not net 10.0.0.0/8"
#define FILTER_MISS  "tcp port 80 and not net 10.0.0.0/8"

/* Every test run with repeat > 1 swaps the XDP dispatcher, which waits for
 * an RCU grace period (milliseconds): runs must be few and long. A program
 * that makes an event per packet gets a ring buffer large enough for a run
 * of CHUNK packets, and no wake-ups (see load_obj). */
#define EV_RING   (256u << 20)
#define CHUNK     65536u
_Static_assert(CHUNK * (sizeof(struct xdpi_snippet_event) + 8) < EV_RING, "ring fits a chunk");
#define DRAIN     256	/* many flows: runs between ring-buffer drains */
#define ROUNDS    7	/* one flow: runs per program, the median reported */
#define SLOW_RUN  20000	/* ns: many flows, a run this long was interrupted */
#define MAX_EXTRA 4

enum { HOT_64, HOT_1514, MANY_64, MANY_1514, NCOL };

struct prog {
	char label[160];
	int fd;
	struct bpf_object *obj;
	struct ring_buffer *rb; /* xdpi's events, drained between runs */
	int ev_per_pkt;         /* every packet makes an event: runs of CHUNK */
	unsigned warm;          /* many flows: warm-up passes */
	double ns[NCOL];
};

static int noop_event(void *ctx, void *data, size_t size)
{
	(void)ctx, (void)data, (void)size;
	return 0;
}

/* Average ns per packet of one test run, as the kernel measured it. */
static unsigned run(const struct prog *p, unsigned char *pkt, size_t len, unsigned repeat)
{
	return test_run(p->fd, pkt, len, repeat, "kcost");
}

static void drain(const struct prog *p)
{
	if (p->rb && ring_buffer__consume(p->rb) < 0) {
		fprintf(stderr, "kcost: ring buffer consume failed\n");
		exit(1);
	}
}

/* One run of one packet repeated: average ns per packet. A program that
 * writes an event per packet runs in chunks, the ring drained between. */
static double hot_run(struct prog *p, unsigned char *pkt, size_t len, unsigned repeat)
{
	double sum = 0;
	unsigned n;

	if (!p->ev_per_pkt) {
		sum = run(p, pkt, len, repeat);
		drain(p);
		return sum;
	}
	n = (repeat + CHUNK - 1) / CHUNK;
	for (unsigned c = 0; c < n; c++) {
		sum += run(p, pkt, len, CHUNK);
		drain(p);
	}
	return sum / n;
}

static unsigned long long runs_all, runs_out;

/* One pass over the flows in the given order, one run of repeat 1 each:
 * average ns per packet. A run that took over SLOW_RUN was interrupted or
 * preempted (the timer counts that too): left out. */
static double flow_pass(struct prog *p, unsigned char *pkt, size_t len, const unsigned *order,
			unsigned flows)
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
		if (i % DRAIN == DRAIN - 1)
			drain(p);
	}
	drain(p);
	set_flow(pkt, 0xc350); /* back to the one-flow packet */
	runs_all += flows;
	runs_out += flows - n;
	return n ? sum / n : 0;
}

static void shuffle(unsigned *order, unsigned n)
{
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j = rnd(i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

static int load_pass(struct prog *p)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	snprintf(p->label, sizeof(p->label), "bare XDP_PASS (harness floor)");
	p->fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "pass", "GPL", insns, 2, NULL);
	return p->fd < 0 ? -1 : 0;
}

/* With a filter: its translation in the object's XDP program array, with
 * the inspection and reject programs it continues with, as the loader does. */
static int fill_filter(struct bpf_object *o, const char *expr)
{
	struct bpf_map *arr = bpf_object__find_map_by_name(o, "xdp_progs");
	struct bpf_program *body = bpf_object__find_program_by_name(o, "xdpi_xdp_body");
	struct bpf_program *reject = bpf_object__find_program_by_name(o, "xdpi_xdp_reject");
	__u32 slots[] = { XDPI_PROG_BODY, XDPI_PROG_REJECT, XDPI_PROG_FILTER };
	int fds[3] = { body ? bpf_program__fd(body) : -1, reject ? bpf_program__fd(reject) : -1, -1 };
	char err[512];
	struct filter *f = filter_compile(expr, FILTER_DLT_ETHERNET, err, sizeof(err));
	int rc = -1;

	if (!f || !arr) {
		fprintf(stderr, "kcost: filter '%s': %s\n", expr, f ? "no program array" : err);
		goto cleanup;
	}
	fds[2] = filter_load(f, CBPF_CTX_XDP, bpf_map__fd(arr), 0);
	for (int i = 0; i < 3; i++)
		if (fds[i] < 0 || bpf_map_update_elem(bpf_map__fd(arr), &slots[i], &fds[i], 0))
			goto cleanup;
	rc = 0;
cleanup:
	if (fds[2] >= 0)
		close(fds[2]);
	filter_free(f);
	return rc;
}

/* The XDP program of an object file: the reference, or xdpi's (with the
 * snippet budget K set, its TC programs left out, and with a --filter
 * expression in front when filter is not NULL). */
static int load_obj(struct prog *p, const char *path, int snippet_pkts, int ev_per_pkt,
		    const char *filter)
{
	static const char *const tail_called[] = { "xdpi_tc_body", "xdpi_tc_reject",
						   "xdpi_xdp_body", "xdpi_xdp_reject" };
	struct bpf_program *pr;
	struct bpf_map *ev;

	p->obj = bpf_object__open_file(path, NULL);
	if (!p->obj) {
		fprintf(stderr, "kcost: cannot open %s\n", path);
		return -1;
	}
	pr = bpf_object__find_program_by_name(p->obj, "xdpi_tc");
	if (pr)
		bpf_program__set_autoload(pr, false);
	for (int i = 0; i < 4; i++) {
		pr = bpf_object__find_program_by_name(p->obj, tail_called[i]);
		if (pr && (i < 2 || !filter))
			bpf_program__set_autoload(pr, false);
	}
	if (filter && set_rodata(p->obj, "filter_on", 1)) {
		fprintf(stderr, "kcost: %s: no filter_on\n", path);
		return -1;
	}
	if (snippet_pkts >= 0 && set_rodata(p->obj, "snippet_pkts", (unsigned)snippet_pkts)) {
		fprintf(stderr, "kcost: %s: no snippet_pkts\n", path);
		return -1;
	}
	ev = bpf_object__find_map_by_name(p->obj, "ev_rings");
	p->ev_per_pkt = ev_per_pkt;
	/* The consumer is this process, between runs: a wake-up would only
	 * time the self-IPI, which the live consumer mostly avoids. */
	if (ev_per_pkt && (!ev || set_rodata(p->obj, "wakeup_bytes", EV_RING))) {
		fprintf(stderr, "kcost: %s: no event rings\n", path);
		return -1;
	}
	if (bpf_object__load(p->obj) || (filter && fill_filter(p->obj, filter))) {
		fprintf(stderr, "kcost: cannot load %s\n", path);
		return -1;
	}
	pr = bpf_object__find_program_by_name(p->obj, "xdpi_xdp");
	if (!pr)
		pr = bpf_object__next_program(p->obj, NULL);
	p->fd = pr ? bpf_program__fd(pr) : -1;
	/* One ring per CPU, as xdpi's loader makes them: large only where
	 * every packet makes an event. */
	for (int cpu = 0; ev && cpu < libbpf_num_possible_cpus(); cpu++) {
		int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "kcost_ev", 0, 0,
					ev_per_pkt ? EV_RING : 4096, NULL);
		__u32 key = (__u32)cpu;

		if (fd < 0 || bpf_map_update_elem(bpf_map__fd(ev), &key, &fd, 0) ||
		    (p->rb ? ring_buffer__add(p->rb, fd, noop_event, NULL) :
			     !(p->rb = ring_buffer__new(fd, noop_event, NULL, NULL)))) {
			fprintf(stderr, "kcost: %s: cannot make the event rings\n", path);
			return -1;
		}
	}
	return p->fd < 0 ? -1 : 0;
}

static void row(const struct prog *p, int c0)
{
	printf("| %s | %.1f | %.1f |\n", p->label, p->ns[c0], p->ns[c0 + 1]);
}

static void ratio(const char *what, const struct prog *a, const struct prog *b, int c0)
{
	printf("| ratio %s | %.2f | %.2f |\n", what, a->ns[c0] / b->ns[c0],
	       a->ns[c0 + 1] / b->ns[c0 + 1]);
}

static void usage(void)
{
	fprintf(stderr, "usage: kcost [-d DIR] [-r REPEAT] [-f FLOWS] [-p PASSES] [-x OBJ]...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned repeat = 1000000, flows = 65536, passes = 5;
	const char *dir = "build/bench", *extra[MAX_EXTRA];
	static unsigned char small[64], big[1514];
	struct prog progs[11 + MAX_EXTRA] = { 0 };
	enum { PASS, REF, REF_LRU, REF_LRU_TS, STAGE1, STAGE2, NOSNIP, FULL, STAGE3, FILT_MATCH,
	       FILT_MISS, NPROG };
	int nextra = 0, n, opt;
	static double v[11 + MAX_EXTRA][NCOL][16];
	unsigned *order;
	char path[4096];

	while ((opt = getopt(argc, argv, "d:r:f:p:x:")) != -1) {
		switch (opt) {
		case 'r': repeat = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'f': flows = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'p': passes = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'd': dir = optarg; break;
		case 'x':
			if (nextra == MAX_EXTRA)
				usage();
			extra[nextra++] = optarg;
			break;
		default: usage();
		}
	}
	if (!repeat || flows > 1u << 24 || !passes || passes > 16)
		usage();
	libbpf_set_print(NULL);

	if (load_pass(&progs[PASS]))
		goto fail;
#define LOAD(i, file, k, lbl) do { \
		snprintf(path, sizeof(path), "%s/%s", dir, file); \
		if (load_obj(&progs[i], path, k, i == STAGE3, \
			     i == FILT_MATCH ? FILTER_MATCH : i == FILT_MISS ? FILTER_MISS : NULL)) \
			goto fail; \
		snprintf(progs[i].label, sizeof(progs[i].label), "%s", lbl); \
	} while (0)
	LOAD(REF, "ref.bpf.o", -1, "reference: bare parse + per-CPU hash (bench/ref.bpf.c)");
	LOAD(REF_LRU, "ref-lru.bpf.o", -1, "reference with LRU per-CPU hash (-DREF_LRU)");
	LOAD(REF_LRU_TS, "ref-lru-ts.bpf.o", -1,
	     "reference with LRU per-CPU hash + bpf_ktime_get_ns() per packet (-DREF_TS)");
	LOAD(STAGE1, "xdpi-stage1.bpf.o", 0, "xdpi stage 1: timestamp + parse");
	LOAD(STAGE2, "xdpi-stage2.bpf.o", 0,
	     "xdpi stage 2: parse + counters + flow update, no events");
	LOAD(NOSNIP, "xdpi.bpf.o", 0, "xdpi full program, snippets off (K = 0)");
	LOAD(FULL, "xdpi.bpf.o", 8, "**xdpi full program** (snippets on, K = 8 spent)");
	LOAD(STAGE3, "xdpi-stage3.bpf.o", 8,
	     "xdpi stage 3: full + a snippet event on every packet (K ignored)");
	LOAD(FILT_MATCH, "xdpi.bpf.o", 8,
	     "xdpi full program + filter, matching (`" FILTER_MATCH "`)");
	LOAD(FILT_MISS, "xdpi.bpf.o", 8,
	     "xdpi + filter, not matching (`" FILTER_MISS "`): filter + count only");
	/* Eight packets of each flow spend its snippet budget first. */
	progs[FULL].warm = 9;
	progs[FILT_MATCH].warm = 9;
	n = NPROG;
	for (int i = 0; i < nextra; i++, n++) {
		if (load_obj(&progs[n], extra[i], 8, 0, NULL))
			goto fail;
		progs[n].warm = 9;
		snprintf(progs[n].label, sizeof(progs[n].label), "%s, K = 8 spent", extra[i]);
	}
	for (int i = 0; i < n; i++)
		if (!progs[i].warm)
			progs[i].warm = 1;

	/* Programs take turns round by round, so a busy spell of the machine
	 * hits all of them alike. */
	tcp_frame(small, sizeof(small));
	tcp_frame(big, sizeof(big));
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < n; i++) {
			v[i][HOT_64][r] = hot_run(&progs[i], small, sizeof(small), repeat);
			v[i][HOT_1514][r] = hot_run(&progs[i], big, sizeof(big), repeat);
		}
	order = calloc(flows ? flows : 1, sizeof(*order));
	if (!order)
		goto fail;
	for (unsigned i = 0; i < flows; i++)
		order[i] = i;
	/* Both sizes go to the same flows, which the map has room for. */
	for (int i = 0; flows && i < n; i++)
		for (unsigned w = 0; w < progs[i].warm; w++)
			flow_pass(&progs[i], small, sizeof(small), NULL, flows);
	for (unsigned k = 0; flows && k < passes; k++) {
		shuffle(order, flows);
		for (int i = 0; i < n; i++) {
			v[i][MANY_64][k] = flow_pass(&progs[i], small, sizeof(small), order, flows);
			v[i][MANY_1514][k] = flow_pass(&progs[i], big, sizeof(big), order, flows);
		}
	}
	for (int i = 0; i < n; i++)
		for (int c = 0; c < NCOL; c++)
			progs[i].ns[c] = median(v[i][c], c < MANY_64 ? ROUNDS : (int)passes);

	printf("One flow: BPF_PROG_TEST_RUN, repeat %u, median of %d runs, ns/packet\n\n", repeat,
	       ROUNDS);
	printf("| program | 64 B TCP | 1514 B TCP |\n|---|---:|---:|\n");
	for (int i = 0; i < n; i++)
		row(&progs[i], HOT_64);
	ratio("xdpi full / reference", &progs[FULL], &progs[REF], HOT_64);
	ratio("xdpi full / LRU reference", &progs[FULL], &progs[REF_LRU], HOT_64);
	ratio("LRU reference / reference", &progs[REF_LRU], &progs[REF], HOT_64);
	ratio("xdpi full / LRU + timestamp reference", &progs[FULL], &progs[REF_LRU_TS], HOT_64);
	ratio("+ filter, matching / full", &progs[FILT_MATCH], &progs[FULL], HOT_64);
	ratio("+ filter, not matching / full", &progs[FILT_MISS], &progs[FULL], HOT_64);
	for (int i = NPROG; i < n; i++) {
		char what[200];

		snprintf(what, sizeof(what), "%s / full", extra[i - NPROG]);
		ratio(what, &progs[i], &progs[FULL], HOT_64);
	}
	if (flows) {
		printf("\n%u flows: one BPF_PROG_TEST_RUN of repeat 1 per flow, random order, "
		       "median of %u passes' means, ns/packet (harness timing included; "
		       "%.2f%% of runs over %u ns, interrupted, left out)\n\n",
		       flows, passes, runs_all ? 100.0 * runs_out / runs_all : 0.0, SLOW_RUN);
		printf("| program | 64 B TCP | 1514 B TCP |\n|---|---:|---:|\n");
		for (int i = 0; i < n; i++)
			row(&progs[i], MANY_64);
		ratio("xdpi full / reference", &progs[FULL], &progs[REF], MANY_64);
		ratio("xdpi full / LRU reference", &progs[FULL], &progs[REF_LRU], MANY_64);
		ratio("LRU reference / reference", &progs[REF_LRU], &progs[REF], MANY_64);
		ratio("xdpi full / LRU + timestamp reference", &progs[FULL], &progs[REF_LRU_TS],
		      MANY_64);
		ratio("+ filter, matching / full", &progs[FILT_MATCH], &progs[FULL], MANY_64);
		ratio("+ filter, not matching / full", &progs[FILT_MISS], &progs[FULL], MANY_64);
		for (int i = NPROG; i < n; i++) {
			char what[200];

			snprintf(what, sizeof(what), "%s / full", extra[i - NPROG]);
			ratio(what, &progs[i], &progs[FULL], MANY_64);
		}
	}
	free(order);
	for (int i = 0; i < n; i++) {
		ring_buffer__free(progs[i].rb);
		bpf_object__close(progs[i].obj);
	}
	close(progs[PASS].fd);
	return 0;
fail:
	fprintf(stderr, "kcost: cannot load the programs (root needed; build them with "
		"bench/run.sh)\n");
	return 1;
}
