#include "sink/jsonl.h"

#include <stdarg.h>
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

const char *app_proto_name(enum app_proto p)
{
	static const char *const names[APP__MAX] = {
		[APP_DNS] = "dns", [APP_TLS] = "tls", [APP_HTTP] = "http",
		[APP_QUIC] = "quic", [APP_SSH] = "ssh",
	};

	return p < APP__MAX ? names[p] : NULL;
}

/* A bounded writer: appends until the buffer is full, then only counts. */
struct jw {
	char *buf;
	size_t len, n;
};

static void jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->n + n < w->len)
		memcpy(w->buf + w->n, s, n);
	w->n += n;
}

static void jw_fmt(struct jw *w, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		jw_raw(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A JSON string from bytes seen on the wire: valid UTF-8 passes, control
 * characters and invalid bytes are escaped (\u00XX), so the line is always
 * valid JSON whatever the packet held. */
static void jw_str(struct jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	jw_raw(w, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t u;

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			jw_raw(w, e, 2);
			i++;
		} else if (c >= 0x20 && c < 0x7f) {
			jw_raw(w, (const char *)p + i, 1);
			i++;
		} else if (c >= 0x80 && (u = utf8_seq_len(p + i, n - i))) {
			jw_raw(w, (const char *)p + i, u);
			i += u;
		} else {
			jw_fmt(w, "\\u%04x", c);
			i++;
		}
	}
	jw_raw(w, "\"", 1);
}

static void jw_key_str(struct jw *w, const char *key, const char *val)
{
	jw_fmt(w, ",\"%s\":", key);
	jw_str(w, val);
}

static void jw_key_str_or_null(struct jw *w, const char *key, const char *val)
{
	if (val && *val)
		jw_key_str(w, key, val);
	else
		jw_fmt(w, ",\"%s\":null", key);
}

static void jw_time(struct jw *w, const char *key, uint64_t ns)
{
	char t[40];

	fmt_time_us(t, sizeof(t), ns);
	jw_fmt(w, ",\"%s\":\"%s\"", key, t);
}

static void jw_alpn(struct jw *w, char alpn[][64], unsigned n)
{
	jw_raw(w, ",\"alpn\":[", 9);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			jw_raw(w, ",", 1);
		jw_str(w, alpn[i]);
	}
	jw_raw(w, "]", 1);
}

static void jw_rtt(struct jw *w, const char *key, int64_t us)
{
	if (us < 0)
		jw_fmt(w, "\"%s\":null", key);
	else
		jw_fmt(w, "\"%s\":%lld", key, (long long)us);
}

static void format_tcp(struct jw *w, const struct flow_record *r)
{
	jw_raw(w, ",\"tcp\":{", 8);
	jw_rtt(w, "rtt_syn_us", r->rtt_syn_us);
	jw_raw(w, ",", 1);
	jw_rtt(w, "rtt_ack_us", r->rtt_ack_us);
	jw_fmt(w, ",\"retrans_fwd\":%u,\"retrans_rev\":%u", r->retrans_fwd, r->retrans_rev);
	jw_fmt(w, ",\"ooo_fwd\":%u,\"ooo_rev\":%u", r->ooo_fwd, r->ooo_rev);
	jw_fmt(w, ",\"zero_win_fwd\":%u,\"zero_win_rev\":%u", r->zero_win_fwd, r->zero_win_rev);
	jw_fmt(w, ",\"rst_fwd\":%u,\"rst_rev\":%u}", r->rst_fwd, r->rst_rev);
}

static void format_flow(struct jw *w, const struct flow_record *r)
{
	char src[64], dst[64];
	const char *app = app_proto_name((enum app_proto)r->app_proto);

	fmt_addr(src, sizeof(src), r->src_ip, r->family);
	fmt_addr(dst, sizeof(dst), r->dst_ip, r->family);
	jw_fmt(w, "{\"type\":\"flow\",\"flow_id\":%llu", (unsigned long long)r->flow_id);
	jw_fmt(w, ",\"src_ip\":\"%s\",\"dst_ip\":\"%s\"", src, dst);
	jw_fmt(w, ",\"src_port\":%u,\"dst_port\":%u,\"proto\":%u", r->src_port, r->dst_port,
	       r->proto);
	if (r->vlan == XDPI_VLAN_NONE)
		jw_fmt(w, ",\"vlan\":null");
	else
		jw_fmt(w, ",\"vlan\":%u", r->vlan);
	jw_key_str(w, "ifname", r->ifname ? r->ifname : "");
	jw_fmt(w, ",\"pkts_fwd\":%llu,\"pkts_rev\":%llu", (unsigned long long)r->pkts_fwd,
	       (unsigned long long)r->pkts_rev);
	jw_fmt(w, ",\"bytes_fwd\":%llu,\"bytes_rev\":%llu", (unsigned long long)r->bytes_fwd,
	       (unsigned long long)r->bytes_rev);
	jw_fmt(w, ",\"tcp_flags_fwd\":%u,\"tcp_flags_rev\":%u", r->tcp_flags_fwd, r->tcp_flags_rev);
	if (r->has_icmp)
		jw_fmt(w, ",\"icmp_type\":%u,\"icmp_code\":%u", r->icmp_type, r->icmp_code);
	jw_time(w, "start", r->start_ns);
	jw_time(w, "end", r->end_ns);
	jw_fmt(w, ",\"end_reason\":\"%s\"", end_reason_name(r->end_reason));
	jw_key_str_or_null(w, "app_proto", app);
	if (r->sni[0])
		jw_key_str(w, "sni", r->sni);
	if (r->host[0])
		jw_key_str(w, "host", r->host);
	if (r->has_tcp)
		format_tcp(w, r);
	if (r->sampling)
		jw_fmt(w, ",\"sampling\":%u", r->sampling);
	if (r->shed)
		jw_fmt(w, ",\"shed\":true");
	if (r->pkt_sampling)
		jw_fmt(w, ",\"packet_sampling\":%u", r->pkt_sampling);
	if (r->flow_sampling)
		jw_fmt(w, ",\"flow_sampling\":%u", r->flow_sampling);
	jw_raw(w, "}\n", 2);
}

static void format_dns(struct jw *w, const struct dns_record *r)
{
	jw_fmt(w, "{\"type\":\"dns\",\"flow_id\":%llu", (unsigned long long)r->flow_id);
	jw_time(w, "ts", r->ts_ns);
	jw_fmt(w, ",\"id\":%u", r->id);
	jw_key_str(w, "qname", r->qname);
	jw_fmt(w, ",\"qtype\":%u", r->qtype);
	if (r->rcode < 0)
		jw_fmt(w, ",\"rcode\":null");
	else
		jw_fmt(w, ",\"rcode\":%d", r->rcode);
	jw_raw(w, ",\"answers\":[", 12);
	for (unsigned i = 0; i < r->nanswers && i < REC_DNS_ANSWERS; i++) {
		jw_fmt(w, "%s{\"type\":%u", i ? "," : "", r->answers[i].type);
		jw_key_str(w, "data", r->answers[i].data);
		jw_fmt(w, ",\"ttl\":%u}", r->answers[i].ttl);
	}
	jw_raw(w, "]", 1);
	if (r->latency_us < 0)
		jw_fmt(w, ",\"latency_us\":null");
	else
		jw_fmt(w, ",\"latency_us\":%lld", (long long)r->latency_us);
	jw_fmt(w, ",\"transport\":\"%s\",\"protocol\":\"%s\"}\n", r->over_tcp ? "tcp" : "udp",
	       r->kind == DNS_KIND_MDNS ? "mdns" : r->kind == DNS_KIND_LLMNR ? "llmnr" : "dns");
}

static void format_tls(struct jw *w, const struct tls_record *r)
{
	jw_fmt(w, "{\"type\":\"tls\",\"flow_id\":%llu", (unsigned long long)r->flow_id);
	jw_time(w, "ts", r->ts_ns);
	jw_key_str_or_null(w, "sni", r->sni);
	jw_alpn(w, (char (*)[64])r->alpn, r->nalpn);
	jw_fmt(w, ",\"version\":\"0x%04x\"", r->version);
	jw_key_str_or_null(w, "ja3", r->ja3);
	jw_key_str_or_null(w, "ja3s", r->ja3s);
	jw_key_str_or_null(w, "ja4", r->ja4);
	if (r->has_cert) {
		jw_key_str(w, "cert_subject", r->cert_subject);
		jw_key_str(w, "cert_issuer", r->cert_issuer);
		jw_key_str(w, "cert_not_before", r->cert_not_before);
		jw_key_str(w, "cert_not_after", r->cert_not_after);
	}
	jw_raw(w, "}\n", 2);
}

static void format_http(struct jw *w, const struct http_record *r)
{
	jw_fmt(w, "{\"type\":\"http\",\"flow_id\":%llu", (unsigned long long)r->flow_id);
	jw_time(w, "ts", r->ts_ns);
	jw_key_str(w, "method", r->method);
	jw_key_str_or_null(w, "host", r->host);
	jw_key_str_or_null(w, "uri", r->uri);
	if (r->status)
		jw_fmt(w, ",\"status\":%u", r->status);
	else
		jw_fmt(w, ",\"status\":null");
	jw_key_str_or_null(w, "user_agent", r->user_agent);
	jw_key_str_or_null(w, "content_type", r->content_type);
	if (r->content_length >= 0)
		jw_fmt(w, ",\"content_length\":%lld", (long long)r->content_length);
	if (r->latency_us < 0)
		jw_fmt(w, ",\"latency_us\":null}\n");
	else
		jw_fmt(w, ",\"latency_us\":%lld}\n", (long long)r->latency_us);
}

static void format_quic(struct jw *w, const struct quic_record *r)
{
	jw_fmt(w, "{\"type\":\"quic\",\"flow_id\":%llu", (unsigned long long)r->flow_id);
	jw_time(w, "ts", r->ts_ns);
	jw_fmt(w, ",\"version\":\"0x%08x\"", r->version);
	jw_key_str_or_null(w, "sni", r->sni);
	jw_alpn(w, (char (*)[64])r->alpn, r->nalpn);
	jw_key_str_or_null(w, "ja4", r->ja4);
	jw_raw(w, "}\n", 2);
}

static void format_ssh_side(struct jw *w, const char *key, const struct ssh_ident *s)
{
	if (!s->proto[0]) {
		jw_fmt(w, ",\"%s\":null", key);
		return;
	}
	jw_fmt(w, ",\"%s\":{\"proto\":", key);
	jw_str(w, s->proto);
	jw_key_str(w, "software", s->software);
	jw_key_str_or_null(w, "comments", s->comments);
	jw_raw(w, "}", 1);
}

static void format_ssh(struct jw *w, const struct ssh_record *r)
{
	jw_fmt(w, "{\"type\":\"ssh\",\"flow_id\":%llu", (unsigned long long)r->flow_id);
	jw_time(w, "ts", r->ts_ns);
	format_ssh_side(w, "client", &r->client);
	format_ssh_side(w, "server", &r->server);
	jw_raw(w, "}\n", 2);
}

size_t jsonl_format(char *buf, size_t len, enum record_type t, const void *r)
{
	struct jw w = { buf, len, 0 };

	switch (t) {
	case REC_FLOW: format_flow(&w, r); break;
	case REC_DNS: format_dns(&w, r); break;
	case REC_TLS: format_tls(&w, r); break;
	case REC_HTTP: format_http(&w, r); break;
	case REC_QUIC: format_quic(&w, r); break;
	case REC_SSH: format_ssh(&w, r); break;
	default: return 0;
	}
	if (w.n >= len)
		return 0;
	buf[w.n] = 0;
	return w.n;
}

size_t jsonl_format_flow(char *buf, size_t len, const struct flow_record *r)
{
	return jsonl_format(buf, len, REC_FLOW, r);
}
