#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "filter.h"
#include "xdpi/abi.h"
#include "util.h"
#include "sink/runner.h"

#define XDPI_VERSION "0.1.0"

void config_defaults(struct xdpi_config *c)
{
	memset(c, 0, sizeof(*c));
	c->snippet_bytes = 256;
	c->snippet_pkts = 8;
	c->max_flows = 131072;
	c->ringbuf_bytes = 8 << 20;
	c->idle_ns = 15 * NSEC_PER_SEC;
	c->active_ns = 60 * NSEC_PER_SEC;
	c->close_grace_ns = 1 * NSEC_PER_SEC;
	c->poll_ns = 1 * NSEC_PER_SEC;
	c->reasm_bytes = 4096;
	c->dpi_flows = 4096;
	c->transport = 0;          /* XDPI_TRANSPORT_RINGBUF */
	c->ingest_threads = 1;
	c->worker_ring_bytes = 8 << 20;
	c->afxdp_frames = 16384;
	c->spool_max = 1ull << 30;
	c->out_wait_ns = 10 * NSEC_PER_SEC;
}

static const char common_help[] =
	"Output and flow options:\n"
	"      --filter EXPR        inspect only packets matching a tcpdump expression\n"
	"                           ('tcp port 443 and not net 10.0.0.0/8'); the others\n"
	"                           are counted in filtered_out and go no further\n"
	"      --out URI            where records go; give it several times for several\n"
	"                           outputs (default: `run` sqlite:xdpi.db, `read` jsonl:-):\n"
	"                             jsonl:FILE|-           JSON Lines, a file or stdout\n"
	"                             sqlite:FILE            SQLite database (WAL)\n"
	"                             postgres:CONNINFO      PostgreSQL ('host=H dbname=D\n"
	"                                                    user=U' or postgresql://...)\n"
	"                             ipfix:udp://HOST:PORT  IPFIX biflows (also tcp://; options\n"
	"                                                    ?dns=1&domain=N&refresh=S)\n"
	"                             prom:[ADDR]:PORT       Prometheus /metrics listener\n"
	"                             nats://[USER:PASSWORD@]HOST:PORT[,...]\n"
	"                                                    NATS JetStream (xdpi collect\n"
	"                                                    takes them into a database)\n"
	"  -w, --write FILE         the same as --out jsonl:FILE\n"
	"      --spool-max SIZE     per output, records kept on disk while it is down and\n"
	"                           delivered when it is back (default 1G; 0: none);\n"
	"                           beyond it records are dropped and counted\n"
	"      --spool-dir DIR      where the spool lives (default /var/tmp; the file has\n"
	"                           no name and goes away with the process)\n"
	"      --out-wait T         at exit, wait up to T for an output that is down\n"
	"                           (default 10s); what is still spooled then is lost\n"
	"      --idle-timeout T     end a flow after T without packets (default 15s)\n"
	"      --active-timeout T   emit a record for a flow every T while it lasts\n"
	"                           (default 60s; 0 disables)\n"
	"      --close-grace T      after FIN in both directions or RST, wait T for\n"
	"                           stragglers before the record (default 1s)\n"
	"      --poll-interval T    how often flows are checked for expiry (default 1s;\n"
	"                           capture time in `read`)\n"
	"      --max-flows N        flows held at once, kernel and user (default 131072)\n"
	"      --snippet-bytes N    payload bytes per DPI snippet, 0-2048 (default 256;\n"
	"                           raise it to a full segment, e.g. 1500, for TLS\n"
	"                           and long HTTP heads in `run`)\n"
	"      --snippet-pkts K     snippets per flow direction, 0-64 (default 8)\n"
	"      --snippets off       no snippets (the same as --snippet-pkts 0); the\n"
	"                           kernel still finds TLS SNI and HTTP Host names in\n"
	"                           single packets for the flow records\n"
	"      --stats-json FILE    write the final counters as one JSON object\n"
	"      --no-dpi             flows only: no protocol parsing (dns/tls/http)\n"
	"      --reassembly-bytes N first bytes of each TCP direction kept for the\n"
	"                           parsers (default 4096)\n"
	"      --dpi-flows N        flows inspected at once (default 4096)\n"
	"  -q, --quiet              no summary on stderr at exit\n"
	"  -v, --verbose            show libbpf's messages\n"
	"Times take a unit: 500ms, 15s, 2m (plain numbers are seconds).\n";

void cli_usage(FILE *f, enum command cmd)
{
	switch (cmd) {
	case CMD_RUN:
		fprintf(f,
			"usage: xdpi run -i IFACE [options]\n\n"
			"Attach to IFACE (XDP on ingress, TC on egress, so each packet of the\n"
			"host is seen once), aggregate flows in the kernel and write a record per\n"
			"flow until Ctrl-C or SIGTERM, which detach and flush every open flow.\n"
			"Needs root (or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN). Verdict is always pass.\n\n"
			"Capture options:\n"
			"  -i, --interface IFACE    interface to watch (required)\n"
			"      --ingress xdp|tc     hook for received packets (default xdp)\n"
			"      --hook kernel|socket kernel: the XDP/TC programs (default); socket:\n"
			"                           where XDP/TC attachment is not allowed, a socket\n"
			"                           filter on an AF_PACKET socket keeps each packet's\n"
			"                           headers and --snippet-bytes of payload, read\n"
			"                           through a memory-mapped ring (of --ringbuf-size)\n"
			"                           by one thread that does what `read` does; not\n"
			"                           with the XDP/TC, event and engine options\n"
			"      --xdp-mode auto|native|generic\n"
			"                           auto tries native and falls back to generic\n"
			"      --no-egress          do not attach the TC egress program\n"
			"      --capture ring|afxdp how payloads reach the parsers: snippets through\n"
			"                           the event buffers (default), or every received\n"
			"                           packet whole over AF_XDP sockets, one per RX\n"
			"                           queue (mirror/SPAN ports: the packets do not\n"
			"                           reach the stack; XDP ingress only)\n"
			"      --afxdp-frames N     AF_XDP buffers per RX queue, a power of two\n"
			"                           (default 16384: 32 MiB a queue at MTU 1500)\n"
			"      --afxdp-dump FILE    write the frames received over AF_XDP to a pcap\n"
			"      --transport ringbuf|perfbuf|none\n"
			"                           how events reach user space: one BPF ring\n"
			"                           buffer per CPU (default), per-CPU perf buffers\n"
			"                           (older kernels, comparison), or none (flow\n"
			"                           counters by map polling only, no DPI)\n"
			"      --ringbuf-size SIZE  event buffer per CPU, a power of two (default 8M)\n"
			"      --ingest-threads N   threads reading the per-CPU buffers, each a\n"
			"                           group of CPUs (default 1)\n"
			"      --worker-ring SIZE   ring from each reader to each worker, a power of\n"
			"                           two (default 8M); when it is full events are\n"
			"                           dropped, counted, and snippet sampling rises\n"
			"      --busy-poll          readers spin on the buffers instead of sleeping\n"
			"                           (lowest latency, one busy core per reader)\n"
			"      --duration T         stop by itself after T\n"
			"      --workers N          threads that own flows and run the parsers\n"
			"                           (default: one per CPU)\n"
			"      --cpus LIST          pin threads to these CPUs (e.g. 0,1): readers\n"
			"                           first (the reader of CPU k's buffer on CPU k when\n"
			"                           there is one reader per CPU), then the workers\n"
			"      --rt                 ask for SCHED_FIFO (falls back with a warning)\n"
			"      --no-offload         keep sending snippets after a flow is classified\n"
			"                           (default: workers tell the kernel to stop; flow\n"
			"                           records carry the protocol either way)\n"
			"      --sampling N         take snippets from 1 in N new flows (a power of\n"
			"                           two up to 32768; default 1, raised and lowered\n"
			"                           with the workers' backlog; giving it fixes it)\n"
			"      --rules FILE         rules to start with, one a line (syntax: xdpi rules\n"
			"                           --help): 'drop 203.0.113.0/24', 'pass udp port 53',\n"
			"                           'sample 10 proto tcp'; change them while running\n"
			"                           with `xdpi rules add|del`; hits in the summary\n"
			"      --packet-sampling N  count 1 in N packets (random; default 1: all)\n"
			"      --flow-sampling N    count 1 in N flows, each chosen flow whole (by a\n"
			"                           hash of its 5-tuple); records carry the rates;\n"
			"                           `xdpi sample` changes both while running\n"
			"      --stats-interval T   print a counters line to stderr every T\n"
			"      --state-dir DIR      publish live counters for `xdpi stats`\n"
			"                           (default /run/xdpi)\n"
			"      --bpf-object FILE    load this BPF object instead of the built-in one\n\n%s",
			common_help);
		break;
	case CMD_READ:
		fprintf(f,
			"usage: xdpi read FILE [options]\n\n"
			"Run the same parser and flow pipeline on a pcap or pcapng file, with\n"
			"capture timestamps. No privileges needed. With --kernel, every frame is\n"
			"instead replayed through the kernel's XDP program (BPF_PROG_TEST_RUN,\n"
			"needs root); both give the same records.\n\n"
			"  --kernel                 replay through the loaded XDP program\n"
			"  --workers N              shard flows over N worker threads (default 1:\n"
			"                           one thread does everything); records are the\n"
			"                           same, in another order\n"
			"  --linger T               after the capture, keep the outputs up for T\n"
			"                           (so a prom: listener can still be scraped)\n\n%s",
			common_help);
		break;
	case CMD_STATS:
		fprintf(f,
			"usage: xdpi stats -i IFACE [--state-dir DIR]\n\n"
			"Print the counters of the `xdpi run` watching IFACE: packets, anomalies\n"
			"by reason, events and events lost, flows exported.\n");
		break;
	default:
		fprintf(f,
			"usage: xdpi COMMAND [options]\n\n"
			"Commands:\n"
			"  run -i IFACE     inspect live traffic on an interface (root)\n"
			"  read FILE        inspect a pcap/pcapng capture (add --kernel to replay\n"
			"                   it through the kernel program)\n"
			"  stats -i IFACE   counters of a running `xdpi run`\n"
			"  rules list|add|del -i IFACE ...\n"
			"                   show or change the rules of a running `xdpi run`\n"
			"  sample -i IFACE [--packets N] [--flows N]\n"
			"                   show or change its accounting sampling\n"
			"  collect --from nats://... --out sqlite:FILE|postgres:CONNINFO\n"
			"                   take the records producers published to NATS\n"
			"                   JetStream (run --out nats://...) into a database\n"
			"  version          print the version\n\n"
			"`xdpi COMMAND --help` explains each command's options.\n");
	}
}

enum {
	O_IDLE = 256, O_ACTIVE, O_GRACE, O_POLL, O_MAXFLOWS, O_SNIPB, O_SNIPK, O_STATSJ,
	O_INGRESS, O_XDPMODE, O_NOEGRESS, O_RINGBUF, O_DURATION, O_STATSI, O_BPFOBJ,
	O_KERNEL, O_STATEDIR, O_WORKERS, O_CPUS, O_RT, O_NODPI, O_REASM, O_DPIFLOWS,
	O_TRANSPORT, O_INGEST, O_BUSY, O_NOOFFLOAD, O_SAMPLING, O_WRING, O_RULES,
	O_PKTSAMPLE, O_FLOWSAMPLE, O_CAPTURE, O_AFXDP_FRAMES, O_AFXDP_DUMP,
	O_FILTER, O_HOOK, O_SNIPPETS, O_OUT, O_SPOOLMAX, O_SPOOLDIR, O_OUTWAIT, O_LINGER,
};

static const struct option long_opts[] = {
	{ "interface", required_argument, NULL, 'i' },
	{ "write", required_argument, NULL, 'w' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "idle-timeout", required_argument, NULL, O_IDLE },
	{ "active-timeout", required_argument, NULL, O_ACTIVE },
	{ "close-grace", required_argument, NULL, O_GRACE },
	{ "poll-interval", required_argument, NULL, O_POLL },
	{ "max-flows", required_argument, NULL, O_MAXFLOWS },
	{ "snippet-bytes", required_argument, NULL, O_SNIPB },
	{ "snippet-pkts", required_argument, NULL, O_SNIPK },
	{ "snippets", required_argument, NULL, O_SNIPPETS },
	{ "stats-json", required_argument, NULL, O_STATSJ },
	{ "ingress", required_argument, NULL, O_INGRESS },
	{ "xdp-mode", required_argument, NULL, O_XDPMODE },
	{ "no-egress", no_argument, NULL, O_NOEGRESS },
	{ "ringbuf-size", required_argument, NULL, O_RINGBUF },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "stats-interval", required_argument, NULL, O_STATSI },
	{ "bpf-object", required_argument, NULL, O_BPFOBJ },
	{ "kernel", no_argument, NULL, O_KERNEL },
	{ "state-dir", required_argument, NULL, O_STATEDIR },
	{ "workers", required_argument, NULL, O_WORKERS },
	{ "cpus", required_argument, NULL, O_CPUS },
	{ "rt", no_argument, NULL, O_RT },
	{ "no-dpi", no_argument, NULL, O_NODPI },
	{ "reassembly-bytes", required_argument, NULL, O_REASM },
	{ "dpi-flows", required_argument, NULL, O_DPIFLOWS },
	{ "transport", required_argument, NULL, O_TRANSPORT },
	{ "ingest-threads", required_argument, NULL, O_INGEST },
	{ "busy-poll", no_argument, NULL, O_BUSY },
	{ "no-offload", no_argument, NULL, O_NOOFFLOAD },
	{ "sampling", required_argument, NULL, O_SAMPLING },
	{ "worker-ring", required_argument, NULL, O_WRING },
	{ "rules", required_argument, NULL, O_RULES },
	{ "packet-sampling", required_argument, NULL, O_PKTSAMPLE },
	{ "flow-sampling", required_argument, NULL, O_FLOWSAMPLE },
	{ "capture", required_argument, NULL, O_CAPTURE },
	{ "afxdp-frames", required_argument, NULL, O_AFXDP_FRAMES },
	{ "afxdp-dump", required_argument, NULL, O_AFXDP_DUMP },
	{ "filter", required_argument, NULL, O_FILTER },
	{ "hook", required_argument, NULL, O_HOOK },
	{ "out", required_argument, NULL, O_OUT },
	{ "spool-max", required_argument, NULL, O_SPOOLMAX },
	{ "spool-dir", required_argument, NULL, O_SPOOLDIR },
	{ "out-wait", required_argument, NULL, O_OUTWAIT },
	{ "linger", required_argument, NULL, O_LINGER },
	{ 0 }
};

/* Which options each command takes (the rest is an error, not ignored). */
static int allowed(enum command cmd, int opt)
{
	switch (opt) {
	case 'h': return 1;
	case 'i': case O_STATEDIR: return cmd == CMD_RUN || cmd == CMD_STATS;
	case O_INGRESS: case O_XDPMODE: case O_NOEGRESS: case O_RINGBUF:
	case O_DURATION: case O_STATSI: case O_BPFOBJ:
	case O_TRANSPORT: case O_INGEST: case O_BUSY: case O_NOOFFLOAD: case O_SAMPLING:
	case O_HOOK:
	case O_WRING: case O_RULES: case O_PKTSAMPLE: case O_FLOWSAMPLE:
	case O_CAPTURE: case O_AFXDP_FRAMES: case O_AFXDP_DUMP:
		return cmd == CMD_RUN;
	case O_KERNEL: case O_LINGER:
		return cmd == CMD_READ;
	case O_CPUS: case O_RT:
		return cmd == CMD_RUN;
	case O_WORKERS:
		return cmd == CMD_READ || cmd == CMD_RUN;
	default:
		return cmd == CMD_RUN || cmd == CMD_READ;
	}
}

/* Options of the XDP/TC programs and of the engine behind them, which
 * --hook socket replaces: given with it, they are an error. */
static int kernel_hook_only(int opt)
{
	switch (opt) {
	case O_INGRESS: case O_XDPMODE: case O_TRANSPORT: case O_INGEST: case O_BUSY:
	case O_WRING: case O_NOOFFLOAD: case O_SAMPLING: case O_RULES: case O_PKTSAMPLE:
	case O_FLOWSAMPLE: case O_CAPTURE: case O_AFXDP_FRAMES: case O_AFXDP_DUMP:
	case O_FILTER: case O_WORKERS: case O_CPUS: case O_RT:
		return 1;
	default:
		return 0;
	}
}

static const char *long_name(int opt)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

static int bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "xdpi: invalid value '%s' for %s: %s\n", val, opt, why);
	return 2;
}

/* The expression must compile (for Ethernet, what the kernel programs
 * see); `read` compiles it again for the capture's link type. */
static int set_filter(const char *expr, const char **out)
{
	char err[512];
	struct filter *f = filter_compile(expr, FILTER_DLT_ETHERNET, err, sizeof(err));

	if (!f) {
		fprintf(stderr, "xdpi: --filter: %s\n", err);
		return 2;
	}
	filter_free(f);
	*out = expr;
	return 0;
}

static int set_duration(const char *opt, const char *val, uint64_t *out)
{
	if (parse_duration_ns(val, out))
		return bad(opt, val, "expected a time such as 500ms, 15s or 2m");
	return 0;
}

static int set_uint(const char *opt, const char *val, uint64_t lo, uint64_t hi, uint32_t *out)
{
	uint64_t v;
	char why[96];

	if (parse_size(val, 0, &v) || v < lo || v > hi) {
		snprintf(why, sizeof(why), "expected a whole number from %llu to %llu",
			 (unsigned long long)lo, (unsigned long long)hi);
		return bad(opt, val, why);
	}
	*out = (uint32_t)v;
	return 0;
}

/* Each --out is checked now, so a typo stops the command before it
 * attaches anything. */
static int add_out(struct xdpi_config *g, const char *uri)
{
	char err[512];

	if (g->nouts == XDPI_OUT_MAX) {
		fprintf(stderr, "xdpi: at most %d --out options\n", XDPI_OUT_MAX);
		return 2;
	}
	if (!strcmp(uri, "-"))
		uri = "jsonl:-";
	if (runner_check_uri(uri, err, sizeof(err))) {
		fprintf(stderr, "xdpi: %s\n", err);
		return 2;
	}
	g->outs[g->nouts++] = uri;
	return 0;
}

int cli_parse(int argc, char **argv, struct cli *c)
{
	static char wpath[XDPI_OUT_MAX][4096];

	const char *cmd = argc > 1 ? argv[1] : NULL;
	int opt, rc = 0, kernel_opt = 0;

	memset(c, 0, sizeof(*c));
	config_defaults(&c->cfg);
	c->state_dir = "/run/xdpi";
	if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		c->cmd = CMD_HELP;
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		c->cmd = CMD_VERSION;
		printf("xdpi %s\n", XDPI_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		c->cmd = CMD_RUN;
	else if (!strcmp(cmd, "read"))
		c->cmd = CMD_READ;
	else if (!strcmp(cmd, "stats"))
		c->cmd = CMD_STATS;
	else {
		fprintf(stderr, "xdpi: unknown command '%s' (commands: run, read, stats, rules, sample, version; "
			"see xdpi --help)\n", cmd);
		return 2;
	}

	optind = 2;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":i:w:qvh", long_opts, NULL)) != -1) {
		struct xdpi_config *g = &c->cfg;
		const char *name = argv[optind - 1];

		if (opt == '?') {
			fprintf(stderr, "xdpi %s: unknown option '%s' (see xdpi %s --help)\n", cmd,
				argv[optind - 1], cmd);
			return 2;
		}
		if (opt == ':') {
			fprintf(stderr, "xdpi %s: option '%s' needs a value\n", cmd, argv[optind - 1]);
			return 2;
		}
		if (optarg && optind >= 3 && argv[optind - 1] == optarg)
			name = argv[optind - 2]; /* "--opt VALUE": name the option */
		if (!allowed(c->cmd, opt)) {
			fprintf(stderr, "xdpi %s: option '%s' does not apply to this command "
				"(see xdpi %s --help)\n", cmd, name, cmd);
			return 2;
		}
		if (kernel_hook_only(opt))
			kernel_opt = opt;
		switch (opt) {
		case 'h': cli_usage(stdout, c->cmd); c->cmd = CMD_HELP; return 0;
		case 'i': g->ifname = optarg; break;
		case 'w':
			snprintf(wpath[g->nouts % XDPI_OUT_MAX], sizeof(wpath[0]), "jsonl:%s", optarg);
			rc = add_out(g, wpath[g->nouts % XDPI_OUT_MAX]);
			break;
		case O_OUT: rc = add_out(g, optarg); break;
		case O_SPOOLMAX:
			if (parse_size(optarg, 1, &g->spool_max))
				rc = bad(name, optarg, "expected a size (0, 512M, 4G)");
			break;
		case O_SPOOLDIR: g->spool_dir = optarg; break;
		case O_OUTWAIT: rc = set_duration(name, optarg, &g->out_wait_ns); break;
		case O_LINGER: rc = set_duration(name, optarg, &g->linger_ns); break;
		case 'q': g->quiet = 1; break;
		case 'v': g->verbose = 1; break;
		case O_IDLE: rc = set_duration(name, optarg, &g->idle_ns); break;
		case O_ACTIVE: rc = set_duration(name, optarg, &g->active_ns); break;
		case O_GRACE: rc = set_duration(name, optarg, &g->close_grace_ns); break;
		case O_POLL:
			rc = set_duration(name, optarg, &g->poll_ns);
			if (!rc && g->poll_ns < NSEC_PER_SEC / 1000)
				rc = bad(name, optarg, "must be at least 1ms");
			break;
		case O_DURATION: rc = set_duration(name, optarg, &g->duration_ns); break;
		case O_STATSI: rc = set_duration(name, optarg, &g->stats_ns); break;
		case O_MAXFLOWS: rc = set_uint(name, optarg, 16, 1u << 26, &g->max_flows); break;
		case O_SNIPB:
			rc = set_uint(name, optarg, 0, XDPI_SNIPPET_MAX, &g->snippet_bytes);
			break;
		case O_SNIPK:
			rc = set_uint(name, optarg, 0, XDPI_SNIPPET_PKTS_MAX, &g->snippet_pkts);
			break;
		case O_SNIPPETS:
			if (strcmp(optarg, "off"))
				rc = bad(name, optarg, "expected off (the same as --snippet-pkts 0)");
			g->snippet_pkts = 0;
			break;
		case O_STATSJ: c->stats_json = optarg; break;
		case O_STATEDIR: c->state_dir = optarg; break;
		case O_HOOK:
			if (!strcmp(optarg, "kernel"))
				g->hook_socket = 0;
			else if (!strcmp(optarg, "socket"))
				g->hook_socket = 1;
			else
				rc = bad(name, optarg, "expected kernel or socket");
			break;
		case O_INGRESS:
			if (!strcmp(optarg, "xdp"))
				g->ingress_tc = 0;
			else if (!strcmp(optarg, "tc"))
				g->ingress_tc = 1;
			else
				rc = bad(name, optarg, "expected xdp or tc");
			break;
		case O_XDPMODE:
			if (!strcmp(optarg, "auto"))
				g->xdp_mode = XDP_MODE_AUTO;
			else if (!strcmp(optarg, "native"))
				g->xdp_mode = XDP_MODE_NATIVE;
			else if (!strcmp(optarg, "generic"))
				g->xdp_mode = XDP_MODE_GENERIC;
			else
				rc = bad(name, optarg, "expected auto, native or generic");
			break;
		case O_NOEGRESS: g->no_egress = 1; break;
		case O_RINGBUF:
			if (parse_size(optarg, 1, &g->ringbuf_bytes) || g->ringbuf_bytes < 4096 ||
			    (g->ringbuf_bytes & (g->ringbuf_bytes - 1)) || g->ringbuf_bytes > (1ULL << 30))
				rc = bad(name, optarg, "expected a power of two from 4K to 1G");
			break;
		case O_BPFOBJ: g->bpf_object = optarg; break;
		case O_KERNEL: g->kernel_replay = 1; break;
		case O_CPUS: {
			const char *p = optarg;

			g->cpus = optarg;
			for (; *p; p++)
				if (!((*p >= '0' && *p <= '9') || (*p == ',' && p[1] && p > optarg)))
					break;
			if (*p || !*optarg)
				rc = bad(name, optarg, "expected a comma-separated list of CPU numbers");
			break;
		}
		case O_RT: g->rt = 1; break;
		case O_NODPI: g->no_dpi = 1; break;
		case O_REASM: rc = set_uint(name, optarg, 256, 1u << 20, &g->reasm_bytes); break;
		case O_DPIFLOWS: rc = set_uint(name, optarg, 16, 1u << 22, &g->dpi_flows); break;
		case O_TRANSPORT:
			if (!strcmp(optarg, "ringbuf"))
				g->transport = XDPI_TRANSPORT_RINGBUF;
			else if (!strcmp(optarg, "perfbuf"))
				g->transport = XDPI_TRANSPORT_PERFBUF;
			else if (!strcmp(optarg, "none"))
				g->transport = XDPI_TRANSPORT_NONE;
			else
				rc = bad(name, optarg, "expected ringbuf, perfbuf or none");
			break;
		case O_INGEST: {
			uint32_t n;

			rc = set_uint(name, optarg, 1, 64, &n);
			g->ingest_threads = (int)n;
			break;
		}
		case O_BUSY: g->busy_poll = 1; break;
		case O_RULES: g->rules_path = optarg; break;
		case O_FILTER: rc = set_filter(optarg, &g->filter); break;
		case O_CAPTURE:
			if (!strcmp(optarg, "ring"))
				g->capture_afxdp = 0;
			else if (!strcmp(optarg, "afxdp"))
				g->capture_afxdp = 1;
			else
				rc = bad(name, optarg, "expected ring or afxdp");
			break;
		case O_AFXDP_FRAMES:
			rc = set_uint(name, optarg, 512, 65536, &g->afxdp_frames);
			if (!rc && (g->afxdp_frames & (g->afxdp_frames - 1)))
				rc = bad(name, optarg, "expected a power of two from 512 to 65536");
			break;
		case O_AFXDP_DUMP: g->afxdp_dump = optarg; break;
		case O_PKTSAMPLE: rc = set_uint(name, optarg, 1, 65535, &g->pkt_sample); break;
		case O_FLOWSAMPLE: rc = set_uint(name, optarg, 1, 65535, &g->flow_sample); break;
		case O_WRING:
			if (parse_size(optarg, 1, &g->worker_ring_bytes) || g->worker_ring_bytes < 65536 ||
			    (g->worker_ring_bytes & (g->worker_ring_bytes - 1)) ||
			    g->worker_ring_bytes > (1ULL << 30))
				rc = bad(name, optarg, "expected a power of two from 64K to 1G");
			break;
		case O_NOOFFLOAD: g->no_offload = 1; break;
		case O_SAMPLING: {
			uint32_t n;

			rc = set_uint(name, optarg, 1, 32768, &n);
			if (!rc && (n & (n - 1)))
				rc = bad(name, optarg, "expected a power of two (1, 2, 4, ... 32768)");
			g->sampling_log2 = __builtin_ctz(n ? n : 1);
			g->fixed_sampling = 1;
			break;
		}
		case O_WORKERS: {
			uint32_t n;

			rc = set_uint(name, optarg, 1, 64, &n);
			g->workers = (int)n;
			break;
		}
		}
		if (rc)
			return rc;
	}

	if (c->cmd == CMD_READ) {
		if (optind >= argc) {
			fprintf(stderr, "xdpi read: which capture file? (usage: xdpi read FILE [options])\n");
			return 2;
		}
		c->cfg.read_path = argv[optind++];
	}
	if (optind < argc) {
		fprintf(stderr, "xdpi %s: unexpected argument '%s'\n", cmd, argv[optind]);
		return 2;
	}
	if ((c->cmd == CMD_RUN || c->cmd == CMD_STATS) && !c->cfg.ifname) {
		fprintf(stderr, "xdpi %s: which interface? give -i IFACE\n", cmd);
		return 2;
	}
	if (c->cmd == CMD_RUN && !c->cfg.workers)
		c->cfg.workers = (int)sysconf(_SC_NPROCESSORS_ONLN) > 0 ?
					 (int)sysconf(_SC_NPROCESSORS_ONLN) : 1;
	/* No snippets reach user space; over AF_XDP payloads would, but without
	 * flow-start events the parsers' records could not name their flow. */
	if (c->cfg.transport == XDPI_TRANSPORT_NONE)
		c->cfg.no_dpi = 1;
	if (c->cfg.hook_socket && kernel_opt) {
		fprintf(stderr, "xdpi run: --%s does not go with --hook socket: it sets up the XDP/TC "
			"programs or the engine behind them, which the socket hook replaces\n",
			long_name(kernel_opt));
		return 2;
	}
	if (c->cfg.capture_afxdp && c->cfg.ingress_tc) {
		fprintf(stderr, "xdpi run: --capture afxdp needs XDP on ingress; "
			"it does not go with --ingress tc\n");
		return 2;
	}
	if (c->cfg.afxdp_dump && !c->cfg.capture_afxdp) {
		fprintf(stderr, "xdpi run: --afxdp-dump goes with --capture afxdp\n");
		return 2;
	}
	if (c->cfg.kernel_replay && c->cfg.workers > 1) {
		fprintf(stderr, "xdpi read: --workers applies to the user-space path, not to --kernel\n");
		return 2;
	}
	if (c->cfg.ifname && strlen(c->cfg.ifname) >= 16) {
		fprintf(stderr, "xdpi %s: interface name '%s' is too long\n", cmd, c->cfg.ifname);
		return 2;
	}
	return 0;
}
