/* The IPFIX output (RFC 7011): flow records as biflows (RFC 5103) and DNS
 * records, to a collector over UDP or TCP. docs/ipfix.md lists the
 * templates and every enterprise-specific element.
 *
 * libfixbuf encodes: information model, session (templates, sequence
 * numbers), transcoding of records. It writes each message into our buffer
 * (a buffer exporter in manual mode) and we send it on our own socket, so
 * that messages on UDP stay within one unfragmented datagram, a peer that
 * closed a TCP connection is noticed before a batch is written into it,
 * and a stalled collector makes a send time out instead of blocking. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <fixbuf/public.h>
#include "sink/sink.h"
#include "util.h"

/* RFC 5612's enterprise number for documentation; operators with a number
 * of their own replace it (docs/ipfix.md). */
#define XDPI_PEN 32473

#define IE_SERVER_NAME     1
#define IE_DNS_QNAME       2
#define IE_DNS_QTYPE       3
#define IE_DNS_RCODE       4
#define IE_DNS_ID          5

/* Messages: one unfragmented datagram on UDP (as libfixbuf's own UDP
 * exporter), bigger ones on TCP. */
#define UDP_MTU 1420
#define TCP_MTU 8192

#define TEMPLATE_REFRESH_NS (60 * NSEC_PER_SEC) /* UDP default, RFC 7011 8.4 */
#define CONNECT_TIMEOUT_MS 5000
#define SEND_TIMEOUT_S 10
#define UDP_REFUSED_WAIT_MS 100
#define DEFAULT_DOMAIN 1

/* Spec flags: which external templates an element goes into. */
#define F_V4   0x01
#define F_V6   0x02
#define F_VLAN 0x04
#define F_PORT 0x08 /* not ICMP: transport ports */
#define F_ICMP 0x10
#define F_INT  0x20 /* internal template only: alignment padding */

#define TID_FLOW_INT 0x100
#define TID_DNS_INT  0x101
#define TID_FLOW_EXT 256 /* + variant: F_V6?1:0 | F_VLAN?2:0 | F_ICMP?4:0 */
#define TID_DNS_EXT  264

/* The internal form of a flow record: fields in the internal template's
 * order, laid out so that only the tail needs padding. */
struct ipfix_flow {
	uint64_t start_ms;
	uint64_t end_ms;
	uint64_t octets;
	uint64_t packets;
	uint64_t rev_octets;
	uint64_t rev_packets;
	uint64_t flow_id;
	fbVarfield_t app_name;
	fbVarfield_t server_name;
	fbVarfield_t http_host;
	uint8_t src6[16];
	uint8_t dst6[16];
	uint32_t src4;
	uint32_t dst4;
	uint16_t sport;
	uint16_t dport;
	uint16_t tcp_flags;
	uint16_t rev_tcp_flags;
	uint16_t vlan;
	uint16_t icmp4;
	uint16_t icmp6;
	uint8_t proto;
	uint8_t end_reason;
	uint8_t direction;
	uint8_t pad[7];
};

_Static_assert(offsetof(struct ipfix_flow, pad) + 7 == sizeof(struct ipfix_flow),
	       "the internal flow template pads the tail to the struct's size");

static fbInfoElementSpec_t flow_spec[] = {
	{ "flowStartMilliseconds", 8, 0 },
	{ "flowEndMilliseconds", 8, 0 },
	{ "octetDeltaCount", 8, 0 },
	{ "packetDeltaCount", 8, 0 },
	{ "reverseOctetDeltaCount", 8, 0 },
	{ "reversePacketDeltaCount", 8, 0 },
	{ "flowId", 8, 0 },
	{ "applicationName", FB_IE_VARLEN, 0 },
	{ "xdpiServerName", FB_IE_VARLEN, 0 },
	{ "httpRequestHost", FB_IE_VARLEN, 0 },
	{ "sourceIPv6Address", 16, F_V6 },
	{ "destinationIPv6Address", 16, F_V6 },
	{ "sourceIPv4Address", 4, F_V4 },
	{ "destinationIPv4Address", 4, F_V4 },
	{ "sourceTransportPort", 2, F_PORT },
	{ "destinationTransportPort", 2, F_PORT },
	{ "tcpControlBits", 2, 0 },
	{ "reverseTcpControlBits", 2, 0 },
	{ "vlanId", 2, F_VLAN },
	{ "icmpTypeCodeIPv4", 2, F_ICMP | F_V4 },
	{ "icmpTypeCodeIPv6", 2, F_ICMP | F_V6 },
	{ "protocolIdentifier", 1, 0 },
	{ "flowEndReason", 1, 0 },
	{ "biflowDirection", 1, 0 },
	{ "paddingOctets", 7, F_INT },
	FB_IESPEC_NULL
};

struct ipfix_dns {
	uint64_t ts_ms;
	uint64_t flow_id;
	fbVarfield_t qname;
	uint16_t qtype;
	int16_t rcode;
	uint16_t id;
	uint8_t pad[2];
};

_Static_assert(offsetof(struct ipfix_dns, pad) + 2 == sizeof(struct ipfix_dns),
	       "the internal DNS template pads the tail to the struct's size");

static fbInfoElementSpec_t dns_spec[] = {
	{ "observationTimeMilliseconds", 8, 0 },
	{ "flowId", 8, 0 },
	{ "xdpiDnsQueryName", FB_IE_VARLEN, 0 },
	{ "xdpiDnsQueryType", 2, 0 },
	{ "xdpiDnsResponseCode", 2, 0 },
	{ "xdpiDnsTransactionId", 2, 0 },
	{ "paddingOctets", 2, F_INT },
	FB_IESPEC_NULL
};

static fbInfoElement_t xdpi_elements[] = {
	FB_IE_INIT_FULL("xdpiServerName", XDPI_PEN, IE_SERVER_NAME, FB_IE_VARLEN,
			FB_IE_DEFAULT, 0, 0, FB_STRING,
			"TLS or QUIC server name (SNI) the client sent in the flow"),
	FB_IE_INIT_FULL("xdpiDnsQueryName", XDPI_PEN, IE_DNS_QNAME, FB_IE_VARLEN,
			FB_IE_DEFAULT, 0, 0, FB_STRING, "DNS question name"),
	FB_IE_INIT_FULL("xdpiDnsQueryType", XDPI_PEN, IE_DNS_QTYPE, 2,
			FB_IE_F_ENDIAN | FB_IE_IDENTIFIER, 0, 0, FB_UINT_16,
			"DNS question type (1 A, 28 AAAA, ...)"),
	FB_IE_INIT_FULL("xdpiDnsResponseCode", XDPI_PEN, IE_DNS_RCODE, 2,
			FB_IE_F_ENDIAN | FB_IE_IDENTIFIER, 0, 0, FB_INT_16,
			"DNS response code, -1 when no response was seen"),
	FB_IE_INIT_FULL("xdpiDnsTransactionId", XDPI_PEN, IE_DNS_ID, 2,
			FB_IE_F_ENDIAN | FB_IE_IDENTIFIER, 0, 0, FB_UINT_16,
			"DNS message id of the query"),
	FB_IE_NULL
};

struct ipfix_sink {
	char host[256];
	char port[8];
	int stream;            /* 1: TCP, 0: UDP */
	uint32_t domain;
	int want_dns;          /* export DNS records too */
	uint64_t refresh_ns;   /* UDP: templates again after this long */
	char label[300];       /* udp://HOST:PORT, for messages */
	fbInfoModel_t *model;
	fBuf_t *fbuf;          /* owns the session and the exporter */
	int fd;
	uint16_t mtu;
	uint16_t cur_tid;      /* external template set on fbuf, 0: none */
	uint64_t templates_ns; /* when templates last went out */
	struct ipfix_flow flow;
	struct ipfix_dns dns;
	uint8_t msg[TCP_MTU];
};

/* ---- target ---- */

static int parse_target(struct ipfix_sink *s, const char *target, char *err, size_t errlen)
{
	const char *p = target, *host, *host_end, *port, *end;
	char *num_end;
	unsigned long v;

	if (!strncmp(p, "udp://", 6)) {
		s->stream = 0;
	} else if (!strncmp(p, "tcp://", 6)) {
		s->stream = 1;
	} else {
		snprintf(err, errlen, "expected udp://HOST:PORT or tcp://HOST:PORT after "
			 "'ipfix:' (e.g. ipfix:udp://127.0.0.1:4739)");
		return -1;
	}
	p += 6;
	end = p + strcspn(p, "?");
	if (*p == '[') { /* [IPv6]:PORT */
		host = p + 1;
		host_end = memchr(host, ']', (size_t)(end - host));
		port = host_end && host_end[1] == ':' ? host_end + 2 : NULL;
	} else {
		host = p;
		host_end = NULL;
		for (const char *q = p; q < end; q++)
			if (*q == ':')
				host_end = q;
		port = host_end ? host_end + 1 : NULL;
	}
	if (!port || host_end == host || port >= end ||
	    (size_t)(host_end - host) >= sizeof(s->host)) {
		snprintf(err, errlen, "no host or no port: expected %s://HOST:PORT (an IPv6 "
			 "address in brackets: [::1]:4739)", s->stream ? "tcp" : "udp");
		return -1;
	}
	v = strtoul(port, &num_end, 10);
	if (num_end != end || v < 1 || v > 65535 || *port < '0' || *port > '9') {
		snprintf(err, errlen, "port '%.*s' is not a number 1-65535", (int)(end - port),
			 port);
		return -1;
	}
	memcpy(s->host, host, (size_t)(host_end - host));
	s->host[host_end - host] = 0;
	snprintf(s->port, sizeof(s->port), "%lu", v);
	s->domain = DEFAULT_DOMAIN;
	s->refresh_ns = TEMPLATE_REFRESH_NS;
	/* Options after '?', joined by '&'. */
	for (p = *end ? end + 1 : end; *p;) {
		size_t len = strcspn(p, "&");
		const char *val = memchr(p, '=', len);
		unsigned long long x = 0;

		if (val) {
			val++;
			x = strtoull(val, &num_end, 10);
			if (num_end != p + len || *val < '0' || *val > '9')
				val = NULL;
		}
		if (!strncmp(p, "domain=", 7) && val && x <= 0xffffffffull) {
			s->domain = (uint32_t)x;
		} else if (!strncmp(p, "dns=", 4) && val && x <= 1) {
			s->want_dns = (int)x;
		} else if (!strncmp(p, "refresh=", 8) && val && x >= 1 && x <= 86400) {
			s->refresh_ns = x * NSEC_PER_SEC;
		} else {
			snprintf(err, errlen, "bad option '%.*s' (known: domain=0-4294967295, "
				 "dns=0|1, refresh=1-86400 seconds)", (int)len, p);
			return -1;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	snprintf(s->label, sizeof(s->label), "%s://%s%s%s:%s", s->stream ? "tcp" : "udp",
		 strchr(s->host, ':') ? "[" : "", s->host, strchr(s->host, ':') ? "]" : "",
		 s->port);
	return 0;
}

/* ---- socket ---- */

static int set_error(char *err, size_t errlen, GError **ge, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, *ge ? (*ge)->message : "failed");
	g_clear_error(ge);
	return -1;
}

static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len)
{
	int fl = fcntl(fd, F_GETFL), soerr = 0;
	socklen_t sl = sizeof(soerr);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	if (connect(fd, sa, len) < 0) {
		int n;

		if (errno != EINPROGRESS)
			return -1;
		do
			n = poll(&pfd, 1, CONNECT_TIMEOUT_MS);
		while (n < 0 && errno == EINTR);
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			return -1;
		if (soerr) {
			errno = soerr;
			return -1;
		}
	}
	return fcntl(fd, F_SETFL, fl);
}

static int open_socket(struct ipfix_sink *s, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = s->stream ? SOCK_STREAM : SOCK_DGRAM };
	struct addrinfo *res, *ai;
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	int rc, fd = -1, saved = 0;

	rc = getaddrinfo(s->host, s->port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "%s: cannot resolve %s: %s", s->label, s->host,
			 gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (!connect_timeout(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot connect: %s", s->label, strerror(saved));
		return -1;
	}
	/* A collector that stops reading fails the send instead of holding
	 * the runner's thread for ever. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	s->fd = fd;
	return 0;
}

static int send_msg(struct ipfix_sink *s, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	while (n) {
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			snprintf(err, errlen, "%s: send: %s", s->label,
				 errno == EAGAIN ? "timed out (collector not reading)" :
				 strerror(errno));
			return -1;
		}
		if (!s->stream && (size_t)w != n) {
			snprintf(err, errlen, "%s: short datagram", s->label);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A TCP collector sends nothing; end of stream or an error means it went
 * away, and the batch must not be written into a dead connection. */
static int peer_alive(struct ipfix_sink *s, char *err, size_t errlen)
{
	char buf[512];

	if (!s->stream)
		return 0;
	for (;;) {
		ssize_t r = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r > 0)
			continue;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		snprintf(err, errlen, "%s: connection closed by the collector%s%s", s->label,
			 r ? ": " : "", r ? strerror(errno) : "");
		return -1;
	}
}

/* UDP has no connection, but a host without a collector on the port
 * answers the templates with ICMP port unreachable: wait a moment for it,
 * so that connect() fails (and the runner backs off) rather than each
 * write() after it. */
static int udp_refused(struct ipfix_sink *s, char *err, size_t errlen)
{
	struct pollfd pfd = { .fd = s->fd, .events = 0 };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (s->stream || poll(&pfd, 1, UDP_REFUSED_WAIT_MS) <= 0 || !(pfd.revents & POLLERR))
		return 0;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || !soerr)
		return 0;
	snprintf(err, errlen, "%s: %s (no collector listening?)", s->label, strerror(soerr));
	return -1;
}

/* ---- messages ---- */

/* Ends the message being built and sends it, if there is one. */
static int flush_msg(struct ipfix_sink *s, char *err, size_t errlen)
{
	GError *ge = NULL;
	size_t len;

	memset(s->msg, 0, 4);
	if (!fBufEmit(s->fbuf, &ge))
		return set_error(err, errlen, &ge, "ipfix: emit");
	if (s->msg[0] != 0 || s->msg[1] != 10)
		return 0; /* nothing was pending */
	len = (size_t)s->msg[2] << 8 | s->msg[3];
	return send_msg(s, s->msg, len, err, errlen);
}

/* libfixbuf in manual mode answers "end of message" when a message is full
 * or a template set must give way to data: send it and try again. */
static int is_eom(const GError *ge)
{
	return ge && g_error_matches(ge, FB_ERROR_DOMAIN, FB_ERROR_EOM);
}

static int send_templates(struct ipfix_sink *s, char *err, size_t errlen)
{
	GError *ge = NULL;

	for (int tries = 0;; tries++) {
		if (fbSessionExportTemplates(fBufGetSession(s->fbuf), &ge))
			break;
		if (!is_eom(ge) || tries == 2)
			return set_error(err, errlen, &ge, "ipfix: templates");
		g_clear_error(&ge);
		if (flush_msg(s, err, errlen))
			return -1;
	}
	s->cur_tid = 0;
	s->templates_ns = mono_ns();
	return flush_msg(s, err, errlen);
}

static int append(struct ipfix_sink *s, uint16_t int_tid, uint16_t ext_tid, void *rec,
		  size_t size, char *err, size_t errlen)
{
	GError *ge = NULL;

	if (ext_tid != s->cur_tid) {
		if (!fBufSetInternalTemplate(s->fbuf, int_tid, &ge) ||
		    !fBufSetExportTemplate(s->fbuf, ext_tid, &ge))
			return set_error(err, errlen, &ge, "ipfix: template");
		s->cur_tid = ext_tid;
	}
	for (int tries = 0;; tries++) {
		if (fBufAppend(s->fbuf, rec, size, &ge))
			return 0;
		if (!is_eom(ge) || tries == 2)
			return set_error(err, errlen, &ge, "ipfix: record");
		g_clear_error(&ge);
		if (flush_msg(s, err, errlen))
			return -1;
	}
}

/* ---- session ---- */

static int add_template(fbSession_t *session, fbInfoModel_t *model, fbInfoElementSpec_t *spec,
			uint32_t flags, int internal, uint16_t tid, GError **ge)
{
	fbTemplate_t *t = fbTemplateAlloc(model);

	if (!fbTemplateAppendSpecArray(t, spec, flags, ge)) {
		fbTemplateFreeUnused(t);
		return -1;
	}
	if (!fbSessionAddTemplate(session, internal, tid, t, ge)) {
		fbTemplateFreeUnused(t);
		return -1;
	}
	return 0;
}

/* Every template of a session: the internal ones (our structs) and the
 * external ones (what goes on the wire). */
static int add_templates(struct ipfix_sink *s, fbSession_t *session, GError **ge)
{
	const uint32_t all = F_V4 | F_V6 | F_VLAN | F_PORT | F_ICMP | F_INT;

	if (add_template(session, s->model, flow_spec, all, 1, TID_FLOW_INT, ge))
		return -1;
	if (s->want_dns && (add_template(session, s->model, dns_spec, all, 1, TID_DNS_INT, ge) ||
		       add_template(session, s->model, dns_spec, 0, 0, TID_DNS_EXT, ge)))
		return -1;
	for (unsigned v = 0; v < 8; v++) {
		uint32_t f = (v & 1 ? F_V6 : F_V4) | (v & 2 ? F_VLAN : 0) |
			     (v & 4 ? F_ICMP : F_PORT);

		if (add_template(session, s->model, flow_spec, f, 0,
				 (uint16_t)(TID_FLOW_EXT + v), ge))
			return -1;
	}
	return 0;
}

static void ipfix_disconnect(void *p)
{
	struct ipfix_sink *s = p;

	if (s->fbuf)
		fBufFree(s->fbuf);
	s->fbuf = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->cur_tid = 0;
}

/* A new transport session each time: fresh sequence numbers, and the
 * templates sent first (a new TCP connection knows none). */
static int ipfix_connect(void *p, char *err, size_t errlen)
{
	struct ipfix_sink *s = p;
	fbSession_t *session;
	fbExporter_t *exporter;
	GError *ge = NULL;

	ipfix_disconnect(s);
	if (open_socket(s, err, errlen))
		return -1;
	session = fbSessionAlloc(s->model);
	fbSessionSetDomain(session, s->domain);
	/* Templates go in before the buffer is bound: bound, libfixbuf would
	 * export each as it is added. */
	if (add_templates(s, session, &ge)) {
		fbSessionFree(session);
		ipfix_disconnect(s);
		return set_error(err, errlen, &ge, "ipfix: templates");
	}
	exporter = fbExporterAllocBuffer(s->msg, s->mtu);
	s->fbuf = fBufAllocForExport(session, exporter);
	fBufSetAutomaticMode(s->fbuf, FALSE);
	if (send_templates(s, err, errlen) || udp_refused(s, err, errlen)) {
		ipfix_disconnect(s);
		return -1;
	}
	return 0;
}

/* ---- records ---- */

static void set_str(fbVarfield_t *v, const char *str)
{
	v->buf = (uint8_t *)str;
	v->len = str ? strlen(str) : 0;
}

static int end_reason_code(enum end_reason r)
{
	switch (r) {
	case END_IDLE: return 1;    /* idle timeout */
	case END_ACTIVE: return 2;  /* active timeout */
	case END_FIN:
	case END_RST: return 3;     /* end of flow detected */
	case END_SHUTDOWN: return 4; /* forced end */
	}
	return 4;
}

static int put_flow(struct ipfix_sink *s, const struct flow_record *r, char *err, size_t errlen)
{
	struct ipfix_flow *f = &s->flow;
	int v6 = r->family == 6, vlan = r->vlan != XDPI_VLAN_NONE, icmp = r->has_icmp;
	uint16_t tid = (uint16_t)(TID_FLOW_EXT + (v6 ? 1 : 0) + (vlan ? 2 : 0) + (icmp ? 4 : 0));

	memset(f, 0, sizeof(*f));
	f->start_ms = r->start_ns / 1000000;
	f->end_ms = r->end_ns / 1000000;
	f->octets = r->bytes_fwd;
	f->packets = r->pkts_fwd;
	f->rev_octets = r->bytes_rev;
	f->rev_packets = r->pkts_rev;
	f->flow_id = r->flow_id;
	set_str(&f->app_name, app_proto_name((enum app_proto)r->app_proto));
	set_str(&f->server_name, r->sni);
	set_str(&f->http_host, r->host);
	if (v6) {
		memcpy(f->src6, r->src_ip, 16);
		memcpy(f->dst6, r->dst_ip, 16);
	} else {
		f->src4 = (uint32_t)r->src_ip[0] << 24 | (uint32_t)r->src_ip[1] << 16 |
			  (uint32_t)r->src_ip[2] << 8 | r->src_ip[3];
		f->dst4 = (uint32_t)r->dst_ip[0] << 24 | (uint32_t)r->dst_ip[1] << 16 |
			  (uint32_t)r->dst_ip[2] << 8 | r->dst_ip[3];
	}
	f->sport = r->src_port;
	f->dport = r->dst_port;
	f->tcp_flags = r->tcp_flags_fwd;
	f->rev_tcp_flags = r->tcp_flags_rev;
	f->vlan = vlan ? r->vlan : 0;
	if (icmp) {
		uint16_t tc = (uint16_t)(r->icmp_type << 8 | r->icmp_code);

		if (v6)
			f->icmp6 = tc;
		else
			f->icmp4 = tc;
	}
	f->proto = r->proto;
	f->end_reason = (uint8_t)end_reason_code(r->end_reason);
	f->direction = 1; /* initiator: src sent the flow's first packet */
	return append(s, TID_FLOW_INT, tid, f, sizeof(*f), err, errlen);
}

static int put_dns(struct ipfix_sink *s, const struct dns_record *r, char *err, size_t errlen)
{
	struct ipfix_dns *d = &s->dns;

	memset(d, 0, sizeof(*d));
	d->ts_ms = r->ts_ns / 1000000;
	d->flow_id = r->flow_id;
	set_str(&d->qname, r->qname);
	d->qtype = r->qtype;
	d->rcode = r->rcode;
	d->id = r->id;
	return append(s, TID_DNS_INT, TID_DNS_EXT, d, sizeof(*d), err, errlen);
}

/* ---- sink ---- */

static void *ipfix_open(const char *target, const struct sink_env *env, char *err, size_t errlen)
{
	struct ipfix_sink *s = calloc(1, sizeof(*s));

	(void)env;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->fd = -1;
	if (parse_target(s, target, err, errlen)) {
		free(s);
		return NULL;
	}
	s->mtu = s->stream ? TCP_MTU : UDP_MTU;
	s->model = fbInfoModelAlloc();
	fbInfoModelAddElementArray(s->model, xdpi_elements);
	return s;
}

static int ipfix_write(void *p, const struct sink_item *it, size_t n, char *err, size_t errlen)
{
	struct ipfix_sink *s = p;

	if (!s->fbuf && ipfix_connect(s, err, errlen))
		return -1;
	if (peer_alive(s, err, errlen))
		return -1;
	if (!s->stream && mono_ns() - s->templates_ns >= s->refresh_ns &&
	    send_templates(s, err, errlen))
		return -1;
	for (size_t i = 0; i < n; i++) {
		int rc = 0;

		if (!it[i].rec)
			continue; /* only JSON (a collector's record): nothing to map */
		if (it[i].type == REC_FLOW)
			rc = put_flow(s, it[i].rec, err, errlen);
		else if (it[i].type == REC_DNS && s->want_dns)
			rc = put_dns(s, it[i].rec, err, errlen);
		if (rc)
			return -1;
	}
	return flush_msg(s, err, errlen);
}

static int ipfix_tick(void *p, uint64_t now_ns, char *err, size_t errlen)
{
	struct ipfix_sink *s = p;

	if (!s->fbuf)
		return ipfix_connect(s, err, errlen);
	if (peer_alive(s, err, errlen))
		return -1;
	if (!s->stream && now_ns - s->templates_ns >= s->refresh_ns)
		return send_templates(s, err, errlen);
	return flush_msg(s, err, errlen);
}

static void ipfix_close(void *p)
{
	struct ipfix_sink *s = p;

	if (!s)
		return;
	ipfix_disconnect(s);
	fbInfoModelFree(s->model);
	free(s);
}

const struct sink_ops sink_ipfix_ops = {
	.scheme = "ipfix",
	.max_batch = 256,
	.linger_ms = 100,
	.open = ipfix_open,
	.connect = ipfix_connect,
	.write = ipfix_write,
	.tick = ipfix_tick,
	.disconnect = ipfix_disconnect,
	.close = ipfix_close,
};
