/* The IPFIX sink through its ops, against sockets of the test's own on
 * loopback: target parsing and its messages; the template message first
 * (observation domain, sequence 0); a flow record decoded byte by byte
 * from the wire (RFC 7011 layout, RFC 5103 reverse counters); sequence
 * numbers counting data records; DNS records only with dns=1; template
 * refresh on UDP after the interval and not before; a refused UDP port
 * failing connect(); a TCP collector that closed making write() fail before
 * anything is sent, and a new connection starting with templates again. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "record.h"
#include "sink/sink.h"
#include "util.h"

static const struct sink_env env = { .host = "test", .run = 1 };
static char err[512];

static int udp_listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		abort();
	*port = ntohs(a.sin_port);
	return fd;
}

static int tcp_listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		abort();
	*port = ntohs(a.sin_port);
	return fd;
}

/* One datagram (or up to n bytes of a stream) within ms; its length, 0 if
 * none came. */
static size_t receive(int fd, uint8_t *buf, size_t n, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	r = recv(fd, buf, n, 0);
	return r > 0 ? (size_t)r : 0;
}

/* A whole IPFIX message from a stream. */
static size_t receive_msg(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0, want = 4;

	while (got < want) {
		size_t r = receive(fd, buf + got, want - got, 2000);

		if (!r)
			return 0;
		got += r;
		if (got >= 4 && want == 4)
			want = (size_t)buf[2] << 8 | buf[3];
		if (want > n || want < 16)
			return 0;
	}
	return got;
}

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void *open_ok(const char *target)
{
	void *s = sink_ipfix_ops.open(target, &env, err, sizeof(err));

	CHECK(s, "open %s: %s", target, err);
	return s;
}

static void test_targets(void)
{
	static const struct {
		const char *target, *msg;
	} bad[] = {
		{ "127.0.0.1:4739", "expected udp://HOST:PORT or tcp://HOST:PORT" },
		{ "sctp://h:1", "expected udp://HOST:PORT or tcp://HOST:PORT" },
		{ "udp://h", "no host or no port" },
		{ "udp://:4739", "no host or no port" },
		{ "tcp://[::1]4739", "no host or no port" },
		{ "udp://h:0", "not a number 1-65535" },
		{ "udp://h:65536", "not a number 1-65535" },
		{ "udp://h:47x", "not a number 1-65535" },
		{ "udp://h:1?domain=-1", "bad option 'domain=-1'" },
		{ "udp://h:1?dns=yes", "bad option 'dns=yes'" },
		{ "udp://h:1?refresh=0", "bad option 'refresh=0'" },
		{ "udp://h:1?x", "bad option 'x'" },
	};
	static const char *const good[] = {
		"udp://127.0.0.1:4739", "tcp://collector.example:4739", "udp://[::1]:4739",
		"udp://h:1?domain=4294967295&dns=1&refresh=5", "tcp://h:65535?dns=0",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *s;

		err[0] = 0;
		s = sink_ipfix_ops.open(bad[i].target, &env, err, sizeof(err));
		CHECK(!s && strstr(err, bad[i].msg), "%s: got '%s', want '%s'", bad[i].target, err,
		      bad[i].msg);
		if (s)
			sink_ipfix_ops.close(s);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		void *s = open_ok(good[i]);

		if (s)
			sink_ipfix_ops.close(s);
	}
}

static void sample_flow(struct flow_record *r)
{
	memset(r, 0, sizeof(*r));
	r->flow_id = 0x1234567890abull;
	r->family = 4;
	memcpy(r->src_ip, (uint8_t[]){ 192, 0, 2, 1 }, 4);
	memcpy(r->dst_ip, (uint8_t[]){ 198, 51, 100, 7 }, 4);
	r->src_port = 51000;
	r->dst_port = 443;
	r->proto = 6;
	r->vlan = XDPI_VLAN_NONE;
	r->tcp_flags_fwd = 0x1b;
	r->tcp_flags_rev = 0x12;
	r->pkts_fwd = 10;
	r->pkts_rev = 8;
	r->bytes_fwd = 1500;
	r->bytes_rev = 90000;
	r->start_ns = 1700000000123456789ull;
	r->end_ns = 1700000001987654321ull;
	r->end_reason = END_FIN;
	r->app_proto = APP_TLS;
	strcpy(r->sni, "example.org");
}

/* The data set of a message holding one IPv4 flow record of the sample. */
static void check_flow_msg(const uint8_t *m, size_t n, uint32_t seq)
{
	const uint8_t *p;

	CHECK(n > 20 && be(m, 2) == 10 && be(m + 2, 2) == n, "message header: %zu bytes", n);
	if (n <= 20)
		return;
	CHECK_EQ(be(m + 8, 4), seq, "sequence number");
	CHECK_EQ(be(m + 12, 4), 7, "observation domain");
	CHECK_EQ(be(m + 16, 2), 256, "set id: IPv4 flows, no VLAN, ports");
	p = m + 20;
	CHECK_EQ(be(p, 8), 1700000000123ull, "flowStartMilliseconds");
	CHECK_EQ(be(p + 8, 8), 1700000001987ull, "flowEndMilliseconds");
	CHECK_EQ(be(p + 16, 8), 1500, "octetDeltaCount");
	CHECK_EQ(be(p + 24, 8), 10, "packetDeltaCount");
	CHECK_EQ(be(p + 32, 8), 90000, "reverseOctetDeltaCount");
	CHECK_EQ(be(p + 40, 8), 8, "reversePacketDeltaCount");
	CHECK_EQ(be(p + 48, 8), 0x1234567890abull, "flowId");
	p += 56;
	CHECK(p[0] == 3 && !memcmp(p + 1, "tls", 3), "applicationName");
	p += 4;
	CHECK(p[0] == 11 && !memcmp(p + 1, "example.org", 11), "server name");
	p += 12;
	CHECK_EQ(p[0], 0, "httpRequestHost empty");
	p += 1;
	CHECK_EQ(be(p, 4), 0xc0000201u, "sourceIPv4Address");
	CHECK_EQ(be(p + 4, 4), 0xc6336407u, "destinationIPv4Address");
	CHECK_EQ(be(p + 8, 2), 51000, "sourceTransportPort");
	CHECK_EQ(be(p + 10, 2), 443, "destinationTransportPort");
	CHECK_EQ(be(p + 12, 2), 0x1b, "tcpControlBits");
	CHECK_EQ(be(p + 14, 2), 0x12, "reverseTcpControlBits");
	CHECK_EQ(p[16], 6, "protocolIdentifier");
	CHECK_EQ(p[17], 3, "flowEndReason: end of flow");
	CHECK_EQ(p[18], 1, "biflowDirection: initiator");
	CHECK(p + 19 <= m + n, "record within the message");
}

static void test_udp(void)
{
	uint16_t port;
	int fd = udp_listener(&port);
	char target[128];
	uint8_t buf[2048];
	struct flow_record fr;
	struct dns_record dr;
	struct sink_item it[3];
	void *s;
	size_t n;

	snprintf(target, sizeof(target), "udp://127.0.0.1:%u?domain=7&refresh=5", port);
	s = open_ok(target);
	if (!s)
		return;
	CHECK(!sink_ipfix_ops.connect(s, err, sizeof(err)), "connect: %s", err);
	n = receive(fd, buf, sizeof(buf), 2000);
	CHECK(n > 20 && be(buf + 16, 2) == 2, "templates first (%zu bytes)", n);
	CHECK_EQ(be(buf + 8, 4), 0, "first sequence number");

	sample_flow(&fr);
	memset(&dr, 0, sizeof(dr));
	strcpy(dr.qname, "example.org");
	it[0] = (struct sink_item){ .type = REC_FLOW, .seq = 1, .run = 1, .rec = &fr };
	it[1] = (struct sink_item){ .type = REC_DNS, .seq = 2, .run = 1, .rec = &dr };
	it[2] = (struct sink_item){ .type = REC_FLOW, .seq = 3, .run = 1, .json = "{}" };
	CHECK(!sink_ipfix_ops.write(s, it, 3, err, sizeof(err)), "write: %s", err);
	n = receive(fd, buf, sizeof(buf), 2000);
	check_flow_msg(buf, n, 0);
	CHECK_EQ(receive(fd, buf, sizeof(buf), 100), 0, "no DNS set without dns=1");
	CHECK(!sink_ipfix_ops.write(s, it, 1, err, sizeof(err)), "write: %s", err);
	n = receive(fd, buf, sizeof(buf), 2000);
	check_flow_msg(buf, n, 1);

	CHECK(!sink_ipfix_ops.tick(s, mono_ns(), err, sizeof(err)), "tick: %s", err);
	CHECK_EQ(receive(fd, buf, sizeof(buf), 100), 0, "no templates before refresh=5 s");
	CHECK(!sink_ipfix_ops.tick(s, mono_ns() + 6 * NSEC_PER_SEC, err, sizeof(err)), "tick: %s",
	      err);
	n = receive(fd, buf, sizeof(buf), 2000);
	CHECK(n > 20 && be(buf + 16, 2) == 2, "templates again after refresh (%zu bytes)", n);
	CHECK_EQ(be(buf + 8, 4), 2, "sequence number after two data records");
	sink_ipfix_ops.close(s);

	/* dns=1: the DNS template and record. */
	snprintf(target, sizeof(target), "udp://127.0.0.1:%u?dns=1", port);
	s = open_ok(target);
	if (s) {
		dr.qtype = 28;
		dr.rcode = -1;
		dr.id = 0xbeef;
		dr.ts_ns = 5 * NSEC_PER_SEC;
		CHECK(!sink_ipfix_ops.connect(s, err, sizeof(err)), "connect: %s", err);
		receive(fd, buf, sizeof(buf), 2000);
		CHECK(!sink_ipfix_ops.write(s, it + 1, 1, err, sizeof(err)), "write: %s", err);
		n = receive(fd, buf, sizeof(buf), 2000);
		CHECK(n == 20 + 8 + 8 + 12 + 6 && be(buf + 16, 2) == 264, "DNS set (%zu bytes)", n);
		CHECK_EQ(be(buf + 20, 8), 5000, "observationTimeMilliseconds");
		CHECK(buf[36] == 11 && !memcmp(buf + 37, "example.org", 11), "query name");
		CHECK_EQ(be(buf + 48, 2), 28, "query type");
		CHECK_EQ(be(buf + 50, 2), 0xffff, "rcode -1: no response");
		CHECK_EQ(be(buf + 52, 2), 0xbeef, "transaction id");
		sink_ipfix_ops.close(s);
	}
	close(fd);

	/* Nobody on the port: ICMP port unreachable fails connect(). */
	fd = udp_listener(&port);
	close(fd);
	snprintf(target, sizeof(target), "udp://127.0.0.1:%u", port);
	s = open_ok(target);
	if (s) {
		CHECK(sink_ipfix_ops.connect(s, err, sizeof(err)) && strstr(err, "refused"),
		      "connect to a closed UDP port: '%s'", err);
		sink_ipfix_ops.close(s);
	}
}

static void test_tcp(void)
{
	uint16_t port;
	int lfd = tcp_listener(&port), c;
	char target[128];
	uint8_t buf[16384];
	struct flow_record fr;
	struct sink_item it = { .type = REC_FLOW, .seq = 1, .run = 1, .rec = &fr };
	void *s;
	size_t n;

	sample_flow(&fr);
	snprintf(target, sizeof(target), "tcp://127.0.0.1:%u?domain=7", port);
	s = open_ok(target);
	if (!s)
		return;
	CHECK(!sink_ipfix_ops.connect(s, err, sizeof(err)), "connect: %s", err);
	c = accept(lfd, NULL, NULL);
	n = receive_msg(c, buf, sizeof(buf));
	CHECK(n > 20 && be(buf + 16, 2) == 2, "templates first (%zu bytes)", n);
	CHECK(!sink_ipfix_ops.write(s, &it, 1, err, sizeof(err)), "write: %s", err);
	n = receive_msg(c, buf, sizeof(buf));
	check_flow_msg(buf, n, 0);

	/* The collector goes away: the next write fails, before sending. */
	close(c);
	usleep(50 * 1000);
	err[0] = 0;
	CHECK(sink_ipfix_ops.write(s, &it, 1, err, sizeof(err)) &&
	      strstr(err, "closed by the collector"), "write after the close: '%s'", err);
	sink_ipfix_ops.disconnect(s);
	CHECK(!sink_ipfix_ops.connect(s, err, sizeof(err)), "connect again: %s", err);
	c = accept(lfd, NULL, NULL);
	n = receive_msg(c, buf, sizeof(buf));
	CHECK(n > 20 && be(buf + 16, 2) == 2 && be(buf + 8, 4) == 0,
	      "a new connection: templates and sequence 0 (%zu bytes)", n);
	CHECK(!sink_ipfix_ops.write(s, &it, 1, err, sizeof(err)), "write: %s", err);
	n = receive_msg(c, buf, sizeof(buf));
	check_flow_msg(buf, n, 0);
	CHECK(!sink_ipfix_ops.tick(s, mono_ns(), err, sizeof(err)), "tick on a live connection: %s",
	      err);
	close(c);
	usleep(50 * 1000);
	CHECK(sink_ipfix_ops.tick(s, mono_ns(), err, sizeof(err)), "tick notices the close");
	sink_ipfix_ops.close(s);
	close(lfd);
}

int main(void)
{
	test_targets();
	test_udp();
	test_tcp();
	return check_summary("test_ipfix");
}
