/* Options of every command, filled by cli.c, read by the modules. */
#ifndef XDPI_CONFIG_H
#define XDPI_CONFIG_H

#include <stdint.h>

#define XDPI_OUT_MAX 8

enum xdp_mode { XDP_MODE_AUTO = 0, XDP_MODE_NATIVE, XDP_MODE_GENERIC };

struct xdpi_config {
	const char *ifname;         /* run: interface */
	const char *read_path;      /* read: capture file */
	const char *outs[XDPI_OUT_MAX]; /* --out URI (and -w FILE as jsonl:FILE) */
	int nouts;                  /* 0: the command's default output */
	uint64_t spool_max;         /* --spool-max: bytes kept per sink while it is down */
	const char *spool_dir;      /* --spool-dir */
	uint64_t out_wait_ns;       /* --out-wait: at exit, how long a down sink is waited for */
	uint64_t linger_ns;         /* read --linger: keep the outputs (/metrics) up after */
	const char *bpf_object;     /* --bpf-object: load this ELF instead of the built-in */
	int kernel_replay;          /* read --kernel */
	int ingress_tc;             /* run --ingress tc (default xdp) */
	int hook_socket;            /* run --hook socket: AF_PACKET + socket filter, no XDP/TC */
	int no_egress;              /* run --no-egress */
	enum xdp_mode xdp_mode;
	uint32_t snippet_bytes;     /* N */
	uint32_t snippet_pkts;      /* K */
	uint32_t max_flows;         /* kernel flow map and user tables */
	uint64_t ringbuf_bytes;
	uint64_t idle_ns;
	uint64_t active_ns;
	uint64_t close_grace_ns;    /* quiet time after FIN/RST before export */
	uint64_t poll_ns;           /* flow map poll interval */
	uint64_t duration_ns;       /* run: stop after this long (0: until signal) */
	uint64_t stats_ns;          /* run: periodic stats line (0: off) */
	int workers;                /* worker threads (read: 1 = all in one thread) */
	const char *cpus;           /* run --cpus: CPU list to pin threads to */
	int rt;                     /* run --rt: ask for SCHED_FIFO */
	int no_dpi;                 /* --no-dpi: flows only */
	uint32_t reasm_bytes;       /* --reassembly-bytes per stream direction */
	uint32_t dpi_flows;         /* flows inspected at once (reassembly buffers) */
	int transport;              /* enum xdpi_transport (--transport) */
	int ingest_threads;         /* run: threads reading the event buffers */
	uint64_t worker_ring_bytes; /* run: each ingestion thread's ring into each worker */
	int busy_poll;              /* run --busy-poll: readers spin instead of sleeping */
	int no_offload;             /* run --no-offload: workers send no verdicts */
	int sampling_log2;          /* run --sampling N: start at 1 in 2^n flows; -1 adaptive from 1 */
	int fixed_sampling;         /* --sampling given: the engine does not adapt it */
	const char *rules_path;     /* run --rules FILE */
	uint32_t pkt_sample;        /* run --packet-sampling N: count 1 in N packets */
	uint32_t flow_sample;       /* run --flow-sampling N: count 1 in N flows */
	const char *filter;         /* --filter EXPR (tcpdump syntax); NULL: none */
	int capture_afxdp;          /* run --capture afxdp: whole packets over AF_XDP */
	uint32_t afxdp_frames;      /* run: AF_XDP buffers per RX queue (= its ring sizes) */
	const char *afxdp_dump;     /* run --afxdp-dump FILE: pcap of the AF_XDP frames */
	int verbose;
	int quiet;                  /* no summary at exit */
};

void config_defaults(struct xdpi_config *c);

#endif
