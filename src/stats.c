#include "stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "engine.h"
#include "flowtrack.h"
#include "ingest.h"
#include "xdpi/parse.h"

static const char *const names[XDPI_C__MAX] = {
	[XDPI_C_PACKETS] = "packets",
	[XDPI_C_NON_IP] = "non_ip",
	[XDPI_C_FLOW_PACKETS] = "flow_packets",
	[XDPI_C_FLOWS_CREATED] = "flow_entries_created",
	[XDPI_C_FLOW_UPDATE_FAIL] = "flow_table_full",
	[XDPI_C_EV_START] = "events_flow_start",
	[XDPI_C_EV_END] = "events_flow_end",
	[XDPI_C_EV_SNIPPET] = "events_snippet",
	[XDPI_C_EV_LOST] = "events_lost",
	[XDPI_C_TRUNC_L2] = "truncated_l2",
	[XDPI_C_TRUNC_L3] = "truncated_l3",
	[XDPI_C_TRUNC_L4] = "truncated_l4",
	[XDPI_C_BAD_IHL] = "bad_ip_header_length",
	[XDPI_C_BAD_IP_LEN] = "bad_ip_total_length",
	[XDPI_C_BAD_TCP_DOFF] = "bad_tcp_data_offset",
	[XDPI_C_TCP_NULL] = "tcp_null",
	[XDPI_C_TCP_XMAS] = "tcp_xmas",
	[XDPI_C_TCP_SYN_FIN] = "tcp_syn_fin",
	[XDPI_C_TCP_SYN_RST] = "tcp_syn_rst",
	[XDPI_C_TCP_FIN_NO_ACK] = "tcp_fin_no_ack",
	[XDPI_C_IPV6_EXT_LIMIT] = "ipv6_ext_header_limit",
	[XDPI_C_IP_FRAGMENTS] = "ip_fragments",
	[XDPI_C_EV_BYTES] = "event_bytes",
	[XDPI_C_FLOWS_OFFLOADED] = "flows_offloaded",
	[XDPI_C_FLOWS_SAMPLED_OUT] = "flows_sampled_out",
	[XDPI_C_FLOWS_SHED] = "flows_shed",
	[XDPI_C_RULE_DROPPED] = "rule_dropped",
	[XDPI_C_RULE_PASSED] = "rule_passed",
	[XDPI_C_FILTERED_OUT] = "filtered_out",
	[XDPI_C_AFXDP_REDIRECTED] = "afxdp_redirected",
	[XDPI_C_PKT_SAMPLED_OUT] = "pkt_sampled_out",
	[XDPI_C_FLOW_SAMPLED_OUT] = "flow_sampled_out",
	[XDPI_C_NAMES_SCANNED] = "names_scanned",
	[XDPI_C_NAMES_EXTRACTED] = "names_extracted",
	[XDPI_C_AFXDP_DONE] = "afxdp_done",
};

const char *counter_name(enum xdpi_counter c)
{
	return c < XDPI_C__MAX && names[c] ? names[c] : "?";
}

int counters_read_kernel(int map_fd, uint64_t *out)
{
	int ncpus = libbpf_num_possible_cpus();
	struct xdpi_counters *vals;
	uint32_t zero = 0;

	if (ncpus <= 0)
		return -EINVAL;
	/* One struct per possible CPU (its size is a multiple of 8). */
	vals = calloc((size_t)ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &zero, vals)) {
		int err = -errno;

		free(vals);
		return err;
	}
	for (uint32_t i = 0; i < XDPI_C__MAX; i++) {
		out[i] = 0;
		for (int c = 0; c < ncpus; c++)
			out[i] += vals[c].c[i];
	}
	free(vals);
	return 0;
}

void counters_add_anomalies(uint64_t *c, uint32_t bits)
{
	for (int i = XDPI_ANOMALY_FIRST; bits && i <= XDPI_ANOMALY_LAST; i++)
		if (bits & XDPI_ANOM(i))
			c[i]++;
}

/* What the kernel redirected to the AF_XDP sockets is received or counted
 * by the kernel as dropped at the socket. */
static void afxdp_print(FILE *f, const uint64_t *c, const struct afxdp_stats *ax)
{
	fprintf(f, "  AF_XDP: %u queue%s, %s mode; kernel redirected %llu, received %llu "
		"(%llu bytes, %llu payloads to the workers); rx ring full %llu, dropped %llu, "
		"invalid %llu; fill ring empty %llu times\n",
		ax->queues, ax->queues == 1 ? "" : "s", ax->zerocopy ? "zero-copy" : "copy",
		(unsigned long long)c[XDPI_C_AFXDP_REDIRECTED], (unsigned long long)ax->packets,
		(unsigned long long)ax->bytes, (unsigned long long)ax->snippets,
		(unsigned long long)ax->rx_ring_full, (unsigned long long)ax->rx_dropped,
		(unsigned long long)ax->rx_invalid, (unsigned long long)ax->fill_ring_empty);
}

static const struct socket_stats *sock_st;

void stats_set_socket(const struct socket_stats *s)
{
	sock_st = s;
}

static void socket_print(FILE *f, const struct socket_stats *s)
{
	fprintf(f, "  socket: %llu packets passed the filter, %llu dropped (ring full), "
		"ring frozen %llu times; %llu frames read, %llu of their %llu bytes copied\n",
		(unsigned long long)s->packets, (unsigned long long)s->drops,
		(unsigned long long)s->freezes, (unsigned long long)s->frames,
		(unsigned long long)s->copied_bytes, (unsigned long long)s->wire_bytes);
}

void stats_print(FILE *f, const uint64_t *c, const struct ingest_stats *in,
		 const struct flowtrack_stats *ft, uint64_t records,
		 const struct engine_stats *es)
{
	fprintf(f, "xdpi: %llu packets, %llu in flows, %llu non-IP; %llu records, "
		"%llu flows exported\n",
		(unsigned long long)c[XDPI_C_PACKETS], (unsigned long long)c[XDPI_C_FLOW_PACKETS],
		(unsigned long long)c[XDPI_C_NON_IP], (unsigned long long)records,
		(unsigned long long)ft->flows_exported);
	if (c[XDPI_C_FILTERED_OUT])
		fprintf(f, "  --filter: %llu packets did not match (not inspected, not in the above)\n",
			(unsigned long long)c[XDPI_C_FILTERED_OUT]);
	fprintf(f, "  records by end reason: idle %llu, active %llu, fin %llu, rst %llu, end %llu\n",
		(unsigned long long)ft->records[0], (unsigned long long)ft->records[1],
		(unsigned long long)ft->records[2], (unsigned long long)ft->records[3],
		(unsigned long long)ft->records[4]);
	fprintf(f, "  events: flow-start %llu, flow-end %llu, snippets %llu (%llu bytes), "
		"lost in kernel %llu, malformed %llu\n",
		(unsigned long long)in->flow_start, (unsigned long long)in->flow_end,
		(unsigned long long)in->snippets, (unsigned long long)in->snippet_bytes,
		(unsigned long long)c[XDPI_C_EV_LOST], (unsigned long long)in->malformed);
	if (es) {
		/* AF_XDP payloads take the kernel's snippet events' path. */
		uint64_t written = c[XDPI_C_EV_START] + c[XDPI_C_EV_END] + c[XDPI_C_EV_SNIPPET] +
				   es->afxdp.snippets;
		uint64_t seen = es->delivered + es->ring_full;

		if (es->afxdp.queues)
			afxdp_print(f, c, &es->afxdp);
		fprintf(f, "  event path: kernel wrote %llu%s, lost in kernel %llu; handed to workers %llu, "
			"dropped at full worker rings %llu%s; no room for flow state %llu\n",
			(unsigned long long)written, es->afxdp.queues ? " (with the AF_XDP payloads)" : "",
			(unsigned long long)c[XDPI_C_EV_LOST],
			(unsigned long long)es->delivered, (unsigned long long)es->ring_full,
			seen == written ? "" : " (in flight or unaccounted: see below)",
			(unsigned long long)es->state_full);
		if (seen != written)
			fprintf(f, "  event path: %lld events not yet read from the event buffers\n",
				(long long)(written - seen));
		fprintf(f, "  inspection: %llu payloads without inspection state (pool full), "
			"%llu waits for the record sink; %llu flows offloaded to the kernel "
			"(%llu refused, map full); snippets from 1 in %u new flows "
			"(%u changes; %llu flows sampled out, %llu shed at a full ring)\n",
			(unsigned long long)es->dpi_no_state, (unsigned long long)es->sink_waits,
			(unsigned long long)es->verdicts, (unsigned long long)es->verdict_fail,
			es->sampling, es->sampling_changes,
			(unsigned long long)c[XDPI_C_FLOWS_SAMPLED_OUT],
			(unsigned long long)c[XDPI_C_FLOWS_SHED]);
		if (es->perf_lost)
			fprintf(f, "  perf buffers reported %llu records lost (in events lost above)\n",
				(unsigned long long)es->perf_lost);
	}
	if (c[XDPI_C_NAMES_SCANNED])
		fprintf(f, "  server names from single packets: %llu payloads parsed, %llu names found\n",
			(unsigned long long)c[XDPI_C_NAMES_SCANNED],
			(unsigned long long)c[XDPI_C_NAMES_EXTRACTED]);
	if (sock_st)
		socket_print(f, sock_st);
	fprintf(f, "  anomalies:");
	for (int i = XDPI_ANOMALY_FIRST; i <= XDPI_ANOMALY_LAST; i++)
		fprintf(f, " %s %llu%s", names[i], (unsigned long long)c[i],
			i < XDPI_ANOMALY_LAST ? "," : "\n");
	if (c[XDPI_C_FLOW_UPDATE_FAIL] || ft->evicted)
		fprintf(f, "  flow table full: %llu packets not counted, %llu flows evicted\n",
			(unsigned long long)c[XDPI_C_FLOW_UPDATE_FAIL],
			(unsigned long long)ft->evicted);
}

/* Anonymous resident memory of the process (tables, rings, pools), without
 * the mapped capture file; 0 if unknown. */
static unsigned long long rss_anon_kb(void)
{
	unsigned long long kb = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void (*extra_fn)(FILE *, void *);
static void *extra_arg;

void stats_set_extra(void (*fn)(FILE *f, void *arg), void *arg)
{
	extra_fn = fn;
	extra_arg = arg;
}

int stats_write_json(const char *path, const uint64_t *c, const struct ingest_stats *in,
		     const struct flowtrack_stats *ft, uint64_t records,
		     const struct engine_stats *es)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "{\"type\":\"stats\"");
	for (int i = 0; i < XDPI_C__MAX; i++)
		fprintf(f, ",\"%s\":%llu", names[i], (unsigned long long)c[i]);
	fprintf(f, ",\"ev_flow_start\":%llu,\"ev_flow_end\":%llu,\"ev_snippets\":%llu,"
		"\"ev_snippet_bytes\":%llu,\"ev_malformed\":%llu,\"records\":%llu,"
		"\"flows_exported\":%llu,\"flows_evicted\":%llu,\"rss_anon_kb\":%llu",
		(unsigned long long)in->flow_start, (unsigned long long)in->flow_end,
		(unsigned long long)in->snippets, (unsigned long long)in->snippet_bytes,
		(unsigned long long)in->malformed, (unsigned long long)records,
		(unsigned long long)ft->flows_exported, (unsigned long long)ft->evicted,
		rss_anon_kb());
	if (es)
		fprintf(f, ",\"ev_delivered\":%llu,\"ev_ring_full\":%llu,"
			"\"ev_state_full\":%llu,\"flows_with_state\":%llu,\"ev_perf_lost\":%llu,"
			"\"dpi_no_state\":%llu,\"sink_waits\":%llu,\"verdicts\":%llu,"
			"\"verdicts_refused\":%llu,\"sampling\":%u,\"sampling_changes\":%u",
			(unsigned long long)es->delivered, (unsigned long long)es->ring_full,
			(unsigned long long)es->state_full, (unsigned long long)es->flows_active,
			(unsigned long long)es->perf_lost, (unsigned long long)es->dpi_no_state,
			(unsigned long long)es->sink_waits, (unsigned long long)es->verdicts,
			(unsigned long long)es->verdict_fail, es->sampling, es->sampling_changes);
	if (es && es->afxdp.queues)
		fprintf(f, ",\"afxdp_queues\":%u,\"afxdp_zerocopy\":%u,\"afxdp_packets\":%llu,"
			"\"afxdp_bytes\":%llu,\"afxdp_snippets\":%llu,\"afxdp_rx_ring_full\":%llu,"
			"\"afxdp_rx_dropped\":%llu,\"afxdp_rx_invalid\":%llu,"
			"\"afxdp_fill_ring_empty\":%llu",
			es->afxdp.queues, es->afxdp.zerocopy, (unsigned long long)es->afxdp.packets,
			(unsigned long long)es->afxdp.bytes, (unsigned long long)es->afxdp.snippets,
			(unsigned long long)es->afxdp.rx_ring_full,
			(unsigned long long)es->afxdp.rx_dropped,
			(unsigned long long)es->afxdp.rx_invalid,
			(unsigned long long)es->afxdp.fill_ring_empty);
	if (sock_st)
		fprintf(f, ",\"socket_packets\":%llu,\"socket_drops\":%llu,\"socket_freezes\":%llu,"
			"\"socket_frames\":%llu,\"socket_wire_bytes\":%llu,\"socket_copied_bytes\":%llu",
			(unsigned long long)sock_st->packets, (unsigned long long)sock_st->drops,
			(unsigned long long)sock_st->freezes, (unsigned long long)sock_st->frames,
			(unsigned long long)sock_st->wire_bytes,
			(unsigned long long)sock_st->copied_bytes);
	if (extra_fn)
		extra_fn(f, extra_arg);
	fprintf(f, "}\n");
	return fclose(f) ? -errno : 0;
}
