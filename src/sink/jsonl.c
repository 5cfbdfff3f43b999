#include "sink/jsonl.h"

#include <stdio.h>
#include <string.h>
#include "util.h"

const char *end_reason_name(enum end_reason r)
{
	switch (r) {
	case END_IDLE: return "idle";
	case END_ACTIVE: return "active";
	case END_FIN: return "fin";
	case END_RST: return "rst";
	case END_SHUTDOWN: return "end";
	}
	return "end";
}

/* Interface names are kernel-checked, but escape anyway: output is JSON. */
static size_t json_str(char *out, size_t len, const char *s)
{
	size_t n = 0;

	for (; s && *s && n + 7 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20) {
			n += (size_t)snprintf(out + n, len - n, "\\u%04x", ch);
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n] = 0;
	return n;
}

size_t jsonl_format_flow(char *buf, size_t len, const struct flow_record *r)
{
	char src[64], dst[64], start[40], end[40], vlan[8], icmp[48], ifn[64];
	int n;

	fmt_addr(src, sizeof(src), r->src_ip, r->family);
	fmt_addr(dst, sizeof(dst), r->dst_ip, r->family);
	fmt_time_us(start, sizeof(start), r->start_ns);
	fmt_time_us(end, sizeof(end), r->end_ns);
	if (r->vlan == XDPI_VLAN_NONE)
		strcpy(vlan, "null");
	else
		snprintf(vlan, sizeof(vlan), "%u", r->vlan);
	if (r->has_icmp)
		snprintf(icmp, sizeof(icmp), ",\"icmp_type\":%u,\"icmp_code\":%u",
			 r->icmp_type, r->icmp_code);
	else
		icmp[0] = 0;
	json_str(ifn, sizeof(ifn), r->ifname ? r->ifname : "");

	n = snprintf(buf, len,
		     "{\"type\":\"flow\",\"flow_id\":%llu,\"src_ip\":\"%s\",\"dst_ip\":\"%s\","
		     "\"src_port\":%u,\"dst_port\":%u,\"proto\":%u,\"vlan\":%s,\"ifname\":\"%s\","
		     "\"pkts_fwd\":%llu,\"pkts_rev\":%llu,\"bytes_fwd\":%llu,\"bytes_rev\":%llu,"
		     "\"tcp_flags_fwd\":%u,\"tcp_flags_rev\":%u%s,"
		     "\"start\":\"%s\",\"end\":\"%s\",\"end_reason\":\"%s\"}\n",
		     (unsigned long long)r->flow_id, src, dst, r->src_port, r->dst_port,
		     r->proto, vlan, ifn, (unsigned long long)r->pkts_fwd,
		     (unsigned long long)r->pkts_rev, (unsigned long long)r->bytes_fwd,
		     (unsigned long long)r->bytes_rev, r->tcp_flags_fwd, r->tcp_flags_rev,
		     icmp, start, end, end_reason_name(r->end_reason));
	if (n < 0 || (size_t)n >= len)
		return 0;
	return (size_t)n;
}
