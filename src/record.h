/* The records that reach the sinks: flows, and what the protocol parsers
 * find in them. Sinks only serialize these. */
#ifndef XDPI_RECORD_H
#define XDPI_RECORD_H

#include <stdint.h>
#include "xdpi/abi.h"

enum end_reason {
	END_IDLE = 0,
	END_ACTIVE,
	END_FIN,
	END_RST,
	END_SHUTDOWN, /* "end": capture finished or the daemon stopped */
};

const char *end_reason_name(enum end_reason r);

enum app_proto {
	APP_UNKNOWN = 0,
	APP_DNS,
	APP_TLS,
	APP_HTTP,
	APP_QUIC,
	APP_SSH,
	APP__MAX
};

const char *app_proto_name(enum app_proto p); /* NULL for APP_UNKNOWN */

#define REC_NAME 256

struct flow_record {
	uint64_t flow_id;
	uint8_t  src_ip[16];
	uint8_t  dst_ip[16];
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t vlan;          /* XDPI_VLAN_NONE: no tag */
	uint8_t  proto;
	uint8_t  family;
	uint8_t  tcp_flags_fwd;
	uint8_t  tcp_flags_rev;
	uint8_t  has_icmp;
	uint8_t  icmp_type;
	uint8_t  icmp_code;
	uint64_t pkts_fwd, pkts_rev;
	uint64_t bytes_fwd, bytes_rev;
	uint64_t start_ns;      /* epoch */
	uint64_t end_ns;
	enum end_reason end_reason;
	const char *ifname;
	uint8_t app_proto;      /* enum app_proto, from the parsers */
	uint16_t sampling;      /* live: snippets taken from 1 in N flows; 0: n/a */
	uint8_t shed;           /* live: no snippets, the ring was over 3/4 full */
	uint16_t pkt_sampling;  /* packets counted 1 in N (0: all): scale by N */
	uint16_t flow_sampling; /* flow counted as 1 of N alike (0: all) */
	char sni[REC_NAME];     /* TLS/QUIC server name, "" if none */
	char host[REC_NAME];    /* HTTP Host, "" if none */
	/* TCP metrics (has_tcp: a TCP flow). Counters per direction cover the
	 * record's interval; round trips in microseconds, -1 unknown. */
	uint8_t  has_tcp;
	int64_t  rtt_syn_us;    /* SYN -> SYN/ACK */
	int64_t  rtt_ack_us;    /* SYN/ACK -> client's ACK */
	uint32_t retrans_fwd, retrans_rev;
	uint32_t ooo_fwd, ooo_rev;
	uint32_t zero_win_fwd, zero_win_rev;
	uint32_t rst_fwd, rst_rev;
};

struct dns_answer_rec {
	uint16_t type;
	uint32_t ttl;
	char data[REC_NAME];
};

#define REC_DNS_ANSWERS 16

/* DNS-format protocols, told apart by their well-known ports. */
enum dns_kind { DNS_KIND_DNS = 0, DNS_KIND_MDNS, DNS_KIND_LLMNR };

/* One DNS query joined with its response (rcode -1: none seen). */
struct dns_record {
	uint64_t flow_id;
	uint64_t ts_ns;          /* of the query (or of a lone response) */
	int64_t latency_us;      /* response - query, -1 without both */
	uint16_t id;
	uint16_t qtype;
	int16_t rcode;
	uint8_t over_tcp;
	uint8_t nanswers;
	uint8_t kind;            /* enum dns_kind */
	char qname[REC_NAME];
	struct dns_answer_rec answers[REC_DNS_ANSWERS];
};

#define REC_ALPN 8

struct tls_record {
	uint64_t flow_id;
	uint64_t ts_ns;
	uint16_t version;        /* 0x0304 for TLS 1.3 ... */
	uint8_t nalpn;
	uint8_t has_cert;
	char sni[REC_NAME];
	char alpn[REC_ALPN][64];
	char ja3[33];            /* MD5 hex of the JA3 string */
	char ja3s[33];
	char ja4[40];
	char ja3_full[1024];     /* the JA3 string itself (cut if longer) */
	char cert_subject[REC_NAME];
	char cert_issuer[REC_NAME];
	char cert_not_before[32];
	char cert_not_after[32];
};

struct http_record {
	uint64_t flow_id;
	uint64_t ts_ns;          /* of the request */
	int64_t latency_us;      /* response head - request head, -1 if none */
	int64_t content_length;  /* of the request, -1 if none */
	uint16_t status;         /* 0: no response seen */
	char method[16];
	char host[REC_NAME];
	char uri[4096];
	char user_agent[REC_NAME];
	char content_type[REC_NAME];
};

struct quic_record {
	uint64_t flow_id;
	uint64_t ts_ns;
	uint32_t version;
	uint8_t nalpn;
	char sni[REC_NAME];
	char alpn[REC_ALPN][64];
	char ja4[40];
};

/* One side's SSH identification string; proto "" when none was seen. */
struct ssh_ident {
	char proto[32];          /* "2.0" (cut if longer) */
	char software[REC_NAME];
	char comments[REC_NAME];
};

/* Both banners of an SSH connection; client is the flow's first-packet
 * side. */
struct ssh_record {
	uint64_t flow_id;
	uint64_t ts_ns;          /* of the first banner seen */
	struct ssh_ident client, server;
};

enum record_type { REC_FLOW = 1, REC_DNS, REC_TLS, REC_HTTP, REC_QUIC, REC_SSH };

struct record {
	enum record_type type;
	union {
		struct flow_record flow;
		struct dns_record dns;
		struct tls_record tls;
		struct http_record http;
		struct quic_record quic;
		struct ssh_record ssh;
	};
};

#endif
