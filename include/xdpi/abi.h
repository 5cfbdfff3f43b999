/* SPDX-License-Identifier: BSD-3-Clause */
/* Everything that crosses the kernel/user boundary: map keys and values,
 * ring-buffer events, counters. Fixed-width types, explicit padding, and
 * size checks so a mismatch fails at compile time, not at run time. */
#ifndef XDPI_ABI_H
#define XDPI_ABI_H

#include <linux/types.h>

#define XDPI_VLAN_NONE        0xffff
#define XDPI_SNIPPET_MAX      2048  /* hard upper bound of snippet bytes per event:
				     * a full segment, so the parsers can reassemble */
#define XDPI_SNIPPET_PKTS_MAX 64    /* hard upper bound of snippet packets per direction */
#define XDPI_META_TS_MAGIC    0x58445049u  /* "XDPI": marks replay metadata */

enum xdpi_dir {
	XDPI_DIR_LO_HI = 0, /* from the canonical lower endpoint to the higher */
	XDPI_DIR_HI_LO = 1,
};

/* Bidirectional flow key: endpoints ordered so that both directions of a
 * conversation map to the same key. IPv4 addresses sit in the first four
 * bytes with the rest zero. Ports in host byte order. */
struct xdpi_flow_key {
	__u8  lo_addr[16];
	__u8  hi_addr[16];
	__u16 lo_port;
	__u16 hi_port;
	__u16 vlan;   /* outer VLAN id or XDPI_VLAN_NONE */
	__u8  proto;  /* IANA protocol number after IPv6 extension headers */
	__u8  family; /* 4 or 6 */
};

struct xdpi_dir_stats {
	__u64 pkts;
	__u64 bytes;     /* L3 bytes: IPv4 total length, IPv6 payload length + 40 */
	__u8  tcp_flags; /* OR of every TCP flag byte seen */
	__u8  snippets;  /* snippet events sent for this direction */
	__u8  _pad[6];
};

/* TCP metrics of one direction (xdpi_tcp_track in flow.h). The sequence
 * state is per copy; user space merges only the counters. */
struct xdpi_tcp_dir {
	__u32 next_seq;  /* highest seq + length seen: the next byte expected */
	__u32 next_t;    /* when next_seq last moved, in 1024 ns units (wraps) */
	__u32 hole_lo;   /* latest gap [hole_lo, hole_hi) before next_seq; */
	__u32 hole_hi;   /* none when equal */
	__u32 retrans;   /* segments resending sequence space already seen */
	__u32 ooo;       /* segments filling the gap soon after it opened */
	__u16 zero_win;  /* window 0 without SYN, FIN or RST */
	__u16 rst;       /* segments with RST */
};

#define XDPI_TS_SEQ0       0x01 /* tcp[0].next_seq is set */
#define XDPI_TS_SEQ1       0x02 /* tcp[1].next_seq is set */
#define XDPI_TS_CLIENT     0x04 /* the client direction is known ... */
#define XDPI_TS_CLIENT_HI  0x08 /* ... and it is XDPI_DIR_HI_LO */

/* Flow map value; one per CPU (LRU per-CPU hash), merged by user space. */
struct xdpi_flow_val {
	__u64 first_ns;
	__u64 last_ns;
	struct xdpi_dir_stats dir[2]; /* indexed by enum xdpi_dir */
	__u8  first_dir;   /* direction of the first packet seen */
	__u8  icmp_type;   /* of the first ICMP/ICMPv6 packet */
	__u8  icmp_code;
	__u8  seen;        /* this CPU's copy holds data; other CPUs' copies
			    * of an entry start zeroed */
	__u8  app_proto;   /* user space's classification (verdict), 0 unknown */
	__u8  offloaded;   /* verdict taken: no more snippets for this flow */
	__u8  sample_log2; /* snippets sampled 1 in 2^n flows when created */
	__u8  sampled_out; /* no snippets for this flow: XDPI_OUT_* bits */
	struct xdpi_tcp_dir tcp[2]; /* indexed by enum xdpi_dir */
	/* Handshake times; 0 when not seen. Times, not durations, so that
	 * copies on different CPUs merge: user space takes the differences. */
	__u64 syn_ns;      /* latest SYN (no ACK) before the first SYN/ACK */
	__u64 synack_ns;   /* first SYN/ACK */
	__u64 ack_ns;      /* first ACK without SYN or RST from the client */
	__u8  tcp_state;   /* XDPI_TS_* bits */
	__u8  _pad_tcp;
	__u16 pkt_sample;  /* counted 1 in N packets (0: all), when the copy began */
	__u16 flow_sample; /* counted as 1 of N flows (0: all) */
	__u16 _pad_s;
};

enum xdpi_event_type {
	XDPI_EV_FLOW_START = 1,
	XDPI_EV_FLOW_END   = 2, /* first FIN or RST in a direction */
	XDPI_EV_SNIPPET    = 3,
};

/* Every ring-buffer record starts with this header. */
struct xdpi_event {
	__u32 type;
	__u32 len;        /* snippet bytes that follow (0 for other events) */
	__u64 ts_ns;
	struct xdpi_flow_key key;
	__u32 tcp_seq;    /* host order; snippets of TCP segments */
	__u32 pkt_len;    /* L3 bytes of the packet the event came from */
	__u8  dir;        /* enum xdpi_dir of the packet */
	__u8  tcp_flags;
	__u8  pkt_index;  /* snippet: 0-based packet index within the direction */
	__u8  _pad[5];
};

struct xdpi_snippet_event {
	struct xdpi_event hdr;
	__u8 data[XDPI_SNIPPET_MAX];
};

/* Why a flow sends no snippets (xdpi_flow_val.sampled_out bits). */
#define XDPI_OUT_SAMPLED 1  /* outside the 1 in 2^n sample */
#define XDPI_OUT_SHED    2  /* its CPU's ring buffer was over 3/4 full when it began */

/* How events reach user space (rodata `transport`). */
enum xdpi_transport {
	XDPI_TRANSPORT_RINGBUF = 0, /* one BPF ring buffer per CPU (array of maps) */
	XDPI_TRANSPORT_PERFBUF = 1, /* per-CPU perf event array */
	XDPI_TRANSPORT_NONE    = 2, /* no events: flows by map polling only */
};

#define XDPI_MAX_CPUS 256 /* ring buffers the array of maps can hold */
#define XDPI_MAX_QUEUES 64 /* RX queues the AF_XDP socket map can hold */

/* Slots of the program arrays `xdp_progs` and `tc_progs` (one per
 * program type, as the kernel requires). With a --filter, the attached
 * program tail-calls the filter (translated from classic BPF by user
 * space), which tail-calls the inspection program when the packet matches
 * and the reject program (counts it, lets it through) when not. */
enum xdpi_prog_slot {
	XDPI_PROG_FILTER = 0,
	XDPI_PROG_BODY,
	XDPI_PROG_REJECT,
	XDPI_PROG__MAX
};

/* User space's word on a flow (map `verdicts`, keyed by the flow key):
 * inspection is over, the kernel stops sending snippets and keeps the
 * classification in the flow entry. `name` (SNI or HTTP host) is for the
 * flow record; the kernel reads only app_proto. */
struct xdpi_verdict {
	__u8 app_proto;
	__u8 keep_snippets; /* --no-offload: record the protocol, go on sending */
	__u8 _pad[6];
	char name[256];
};

/* A flow's server name as the kernel found it in one packet (map
 * `flow_names`, keyed by the flow key): the SNI of a TLS ClientHello or the
 * Host of an HTTP request head (include/xdpi/names.h). Written once per flow
 * by the programs, read and deleted by user space when the flow's last
 * record goes out. `name` holds `len` bytes, then zeros (none when len is
 * XDPI_NAME_MAX). */
#define XDPI_NAME_MAX 128
enum xdpi_name_kind {
	XDPI_NAME_SNI  = 1,
	XDPI_NAME_HOST = 2,
};

struct xdpi_flow_name {
	__u8 kind;  /* enum xdpi_name_kind */
	__u8 len;   /* 1 .. XDPI_NAME_MAX; longer names are cut */
	__u8 _pad[6];
	char name[XDPI_NAME_MAX];
};

/* Run-time settings (map `config`). Two entries, so that their two
 * writers never overwrite each other: XDPI_CFG_ENGINE belongs to the
 * running engine (sample_log2), XDPI_CFG_POLICY to the rules and sampling
 * controls (`xdpi rules`, `xdpi sample`, --rules, --packet-sampling ...). */
enum { XDPI_CFG_ENGINE = 0, XDPI_CFG_POLICY = 1, XDPI_CFG__MAX };

struct xdpi_config_map {
	__u32 sample_log2;  /* engine: snippets from 1 in 2^n new flows */
	__u32 rules_on;     /* policy: XDPI_RULES_* bits, the tables holding rules */
	__u32 pkt_sample;   /* policy: count 1 in N packets (0 or 1: all) */
	__u32 flow_sample;  /* policy: count 1 in N flows (0 or 1: all) */
	__u32 afxdp;        /* policy: AF_XDP sockets are bound (deep rules work) */
	__u32 owner_pid;    /* policy: the xdpi process that pinned the maps */
};

#define XDPI_RULES_CIDR4 0x1
#define XDPI_RULES_CIDR6 0x2
#define XDPI_RULES_PORT  0x4
#define XDPI_RULES_PROTO 0x8
#define XDPI_RULES_DROP_CIDR 0x10 /* some address rule drops: XDP checks before parsing */

/* Rules: CIDR (maps rules4, rules6: longest-prefix-match tries, by source
 * address, else destination), ports (rules_port, by source port, else
 * destination) and protocols (rules_proto, indexed by IP protocol). The
 * first of these that matches decides. */
enum xdpi_rule_action {
	XDPI_RULE_PASS  = 1, /* let it through, not counted in flows */
	XDPI_RULE_DROP  = 2, /* drop it (XDP_DROP / TC_ACT_SHOT) before any accounting */
	XDPI_RULE_ALERT = 3, /* count it as usual, and in the rule's hits */
	XDPI_RULE_DEEP  = 4, /* count it, and hand it whole to AF_XDP (XDP only) */
	XDPI_RULE_SAMPLE = 5, /* count 1 in `arg` of its flows (consistent hash) */
};

#define XDPI_MAX_RULES 4096

struct xdpi_lpm4_key {
	__u32 prefixlen;
	__u8  addr[4];
};

struct xdpi_lpm6_key {
	__u32 prefixlen;
	__u8  addr[16];
};

struct xdpi_port_key {
	__u16 port;     /* host order */
	__u8  proto;    /* IPPROTO_TCP, _UDP or _SCTP */
	__u8  _pad;
};

struct xdpi_rule {
	__u32 id;       /* index into rule_hits, < XDPI_MAX_RULES */
	__u16 action;   /* enum xdpi_rule_action; 0 in rules_proto: none */
	__u16 arg;      /* sample: N */
};

/* A rule as written (map rule_text, index = rule id): read by user space
 * only, so that `xdpi rules list|del` on a running instance know it. */
struct xdpi_rule_text {
	__u32 used;
	char  text[92];
};

/* Per-CPU hits of a rule (map rule_hits, index = rule id). */
struct xdpi_rule_hits {
	__u64 pkts;
	__u64 bytes;   /* L3 bytes, as the flow counters */
};

/* Replay metadata placed before the packet by BPF_PROG_TEST_RUN. */
struct xdpi_replay_meta {
	__u64 ts_ns;
	__u32 magic;
	__u32 cut;   /* bytes the capture's snap length removed */
};

/* Per-CPU counters, indexes into struct xdpi_counters. Anomalies are
 * counted per reason; a packet may count under several reasons. */
enum xdpi_counter {
	XDPI_C_PACKETS = 0,     /* every packet the program saw */
	XDPI_C_NON_IP,          /* parsed L2 fine, no IPv4/IPv6 inside */
	XDPI_C_FLOW_PACKETS,    /* accounted in a flow */
	XDPI_C_FLOWS_CREATED,   /* new flow map entries (per CPU) */
	XDPI_C_FLOW_UPDATE_FAIL,/* flow map insert failed */
	XDPI_C_EV_START,        /* events written, by type */
	XDPI_C_EV_END,
	XDPI_C_EV_SNIPPET,
	XDPI_C_EV_LOST,         /* ring buffer full: event not written */
	XDPI_C_TRUNC_L2,
	XDPI_C_TRUNC_L3,
	XDPI_C_TRUNC_L4,
	XDPI_C_BAD_IHL,
	XDPI_C_BAD_IP_LEN,
	XDPI_C_BAD_TCP_DOFF,
	XDPI_C_TCP_NULL,
	XDPI_C_TCP_XMAS,
	XDPI_C_TCP_SYN_FIN,
	XDPI_C_TCP_SYN_RST,
	XDPI_C_TCP_FIN_NO_ACK,
	XDPI_C_IPV6_EXT_LIMIT,  /* more extension headers than the parser follows */
	XDPI_C_IP_FRAGMENTS,    /* informational: fragments seen */
	XDPI_C_EV_BYTES,        /* bytes of events written to the transport */
	XDPI_C_FLOWS_OFFLOADED, /* flow copies that took a verdict: no more snippets */
	XDPI_C_FLOWS_SAMPLED_OUT, /* flow copies left out of snippet sampling */
	XDPI_C_FLOWS_SHED,      /* flow copies begun with the ring over 3/4 full: no snippets */
	XDPI_C_RULE_DROPPED,    /* packets dropped by a drop rule */
	XDPI_C_RULE_PASSED,     /* packets let through uncounted by a pass rule */
	XDPI_C_FILTERED_OUT,    /* packets the --filter expression did not match */
	XDPI_C_AFXDP_REDIRECTED,/* packets handed whole to an AF_XDP socket */
	XDPI_C_PKT_SAMPLED_OUT, /* packets left out by packet sampling */
	XDPI_C_FLOW_SAMPLED_OUT,/* packets of flows left out by flow sampling */
	XDPI_C_NAMES_SCANNED,   /* payloads parsed for a server name (see flow_names) */
	XDPI_C_NAMES_EXTRACTED, /* server names found and stored in flow_names */
	XDPI_C_AFXDP_DONE,      /* --capture afxdp: packets of flows the parsers were
				 * done with, dropped rather than handed over */
	XDPI_C__MAX
};

#define XDPI_ANOMALY_FIRST XDPI_C_TRUNC_L2
#define XDPI_ANOMALY_LAST  XDPI_C_IPV6_EXT_LIMIT

/* The value of the per-CPU counters map's one entry (key 0): all counters
 * in one place, so a packet costs the program one map lookup. */
struct xdpi_counters {
	__u64 c[XDPI_C__MAX];
};

_Static_assert(sizeof(struct xdpi_flow_key) == 40, "flow key ABI");
_Static_assert(sizeof(struct xdpi_dir_stats) == 24, "dir stats ABI");
_Static_assert(sizeof(struct xdpi_tcp_dir) == 28, "tcp dir ABI");
_Static_assert(sizeof(struct xdpi_flow_val) == 160, "flow value ABI");
_Static_assert(sizeof(struct xdpi_event) == 72, "event header ABI");
_Static_assert(sizeof(struct xdpi_replay_meta) == 16, "replay meta ABI");
_Static_assert(sizeof(struct xdpi_verdict) == 264, "verdict ABI");
_Static_assert(sizeof(struct xdpi_flow_name) == 136, "flow name ABI");
_Static_assert(sizeof(struct xdpi_config_map) == 24, "config ABI");
_Static_assert(sizeof(struct xdpi_rule) == 8 && sizeof(struct xdpi_rule_text) == 96, "rule ABI");
_Static_assert(sizeof(struct xdpi_port_key) == 4, "port key ABI");
_Static_assert(sizeof(struct xdpi_lpm4_key) == 8 && sizeof(struct xdpi_lpm6_key) == 20, "LPM keys");
_Static_assert(sizeof(struct xdpi_counters) == 8 * XDPI_C__MAX, "counters ABI");

#endif
