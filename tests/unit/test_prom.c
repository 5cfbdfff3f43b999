/* Prometheus sink: target parsing and its errors, a taken port, the page
 * served over HTTP (status, content type, 404/405), the counters from flow
 * records given as structs and as JSON, sampling scale, the top-talker
 * table (exact while it holds every address, the space-saving bound past
 * that, never more than N series), and the rendering of the process's
 * metrics: grouping, escaping, _total suffix, clashes and bad input. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "sink/jsonl.h"
#include "sink/sink.h"

char *prom_format_metrics(const struct metric *m, size_t n, size_t *len);

static const struct sink_ops *ops = &sink_prom_ops;

/* A loopback port nobody listens on now. */
static unsigned free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("free_port");
		exit(2);
	}
	close(fd);
	return ntohs(a.sin_port);
}

/* One HTTP/1.0 exchange; returns the whole response (malloc'd) or NULL. */
static char *http(unsigned port, const char *method, const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap), req[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { .tv_sec = 5 };
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		free(buf);
		return NULL;
	}
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
	if (write(fd, req, strlen(req)) < 0) {
		close(fd);
		free(buf);
		return NULL;
	}
	while ((r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (n + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	buf[n] = 0;
	close(fd);
	return buf;
}

static int status_of(const char *resp)
{
	int st = 0;

	return resp && sscanf(resp, "HTTP/1.%*d %d", &st) == 1 ? st : -1;
}

/* Value of the sample line "series value" in body; NAN if absent. */
static double sample(const char *body, const char *series)
{
	size_t n = strlen(series);

	for (const char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, series, n) && l[n] == ' ')
			return strtod(l + n + 1, NULL);
	return NAN;
}

static int count_lines(const char *body, const char *prefix)
{
	size_t n = strlen(prefix);
	int c = 0;

	for (const char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		c += !strncmp(l, prefix, n);
	return c;
}

static void v4(uint8_t *a, uint32_t ip)
{
	memset(a, 0, 16);
	ip = htonl(ip);
	memcpy(a, &ip, 4);
}

static struct flow_record flow(uint8_t proto, uint32_t src, uint32_t dst, uint64_t bf, uint64_t br,
			       uint64_t pf, uint64_t pr)
{
	struct flow_record r = { .proto = proto, .family = 4, .bytes_fwd = bf, .bytes_rev = br,
				 .pkts_fwd = pf, .pkts_rev = pr, .end_reason = END_IDLE,
				 .vlan = XDPI_VLAN_NONE, .rtt_syn_us = -1, .rtt_ack_us = -1 };

	v4(r.src_ip, src);
	v4(r.dst_ip, dst);
	return r;
}

static int put(void *s, enum record_type t, const void *rec, const char *json)
{
	struct sink_item it = { .type = t, .seq = 1, .rec = rec, .json = json,
				.json_len = json ? strlen(json) : 0 };
	char err[256] = "";

	return ops->write(s, &it, 1, err, sizeof(err));
}

static void test_targets(void)
{
	static const char *const bad[] = {
		"", "9464", ":", ":0", ":65536", ":x", "127.0.0.1:", "[::1]9464", "[::1",
		":9464?top=", ":9464?top=1025", ":9464?top=-1", ":9464?bogus=1",
	};
	struct sink_env env = { .host = "h", .run = 1 };
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *s;

		err[0] = 0;
		s = ops->open(bad[i], &env, err, sizeof(err));
		CHECK(!s && !strncmp(err, "prom: ", 6), "target \"%s\": %s", bad[i], err);
		if (s)
			ops->close(s);
	}
	CHECK(!strcmp(ops->scheme, "prom"), "scheme %s", ops->scheme);
}

static void test_port_taken(void)
{
	struct sink_env env = { .host = "h", .run = 1 };
	unsigned port = free_port();
	char target[64], err[256] = "";
	void *a, *b;

	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	a = ops->open(target, &env, err, sizeof(err));
	CHECK(a != NULL, "open %s: %s", target, err);
	b = ops->open(target, &env, err, sizeof(err));
	CHECK(!b && strstr(err, "in use") && strstr(err, "127.0.0.1"), "second listener: %s", err);
	if (b)
		ops->close(b);
	ops->close(a);
	/* Free again once closed. */
	b = ops->open(target, &env, err, sizeof(err));
	CHECK(b != NULL, "reopen %s: %s", target, err);
	ops->close(b);
	/* All addresses, and an IPv6 literal. */
	snprintf(target, sizeof(target), ":%u", port);
	b = ops->open(target, &env, err, sizeof(err));
	CHECK(b != NULL, "open %s: %s", target, err);
	if (b) {
		char *r = http(port, "GET", "/metrics");

		CHECK(status_of(r) == 200, "GET over IPv4 on all addresses: %d", status_of(r));
		free(r);
		ops->close(b);
	}
	snprintf(target, sizeof(target), "[::1]:%u", port);
	b = ops->open(target, &env, err, sizeof(err));
	CHECK(b != NULL, "open %s: %s", target, err);
	if (b)
		ops->close(b);
}

static void test_counters(void)
{
	struct sink_env env = { .host = "h", .run = 1 };
	unsigned port = free_port();
	char target[64], err[256] = "", *r, *body;
	struct flow_record f[6];
	struct dns_record dns = { .rcode = -1, .latency_us = -1 };
	struct sink_item items[6];
	char json[2048];
	void *s;

	snprintf(target, sizeof(target), "127.0.0.1:%u?top=3", port);
	s = ops->open(target, &env, err, sizeof(err));
	CHECK(s != NULL, "open: %s", err);
	if (!s)
		return;

	r = http(port, "GET", "/metrics");
	CHECK(status_of(r) == 200, "empty page: %d", status_of(r));
	CHECK(r && strstr(r, "# TYPE xdpi_flow_bytes_total counter"), "families before records");
	free(r);

	f[0] = flow(6, 0x0a000001, 0x0a000002, 1000, 5000, 10, 8);
	f[1] = flow(6, 0x0a000001, 0x0a000003, 200, 300, 2, 3);
	f[1].end_reason = END_ACTIVE; /* same flow goes on: counted once, at its end */
	f[1].app_proto = APP_TLS;
	f[2] = flow(17, 0x0a000004, 0x0a000002, 70, 0, 1, 0);
	f[2].app_proto = APP_DNS;
	f[3] = flow(1, 0x0a000005, 0x0a000001, 84, 84, 1, 1);
	f[4] = flow(99, 0x0a000006, 0x0a000007, 10, 0, 1, 0);
	f[5] = flow(17, 0x0a000008, 0x0a000009, 100, 50, 1, 1);
	f[5].pkt_sampling = 4; /* stands for 4x packets and bytes, 2 flows */
	f[5].flow_sampling = 2;
	for (int i = 0; i < 6; i++)
		items[i] = (struct sink_item){ .type = REC_FLOW, .seq = (uint64_t)i + 1, .rec = &f[i] };
	CHECK(ops->write(s, items, 6, err, sizeof(err)) == 0, "write batch: %s", err);
	CHECK(put(s, REC_DNS, &dns, NULL) == 0, "write dns");

	/* The collector's form: JSON only. */
	{
		struct flow_record j = flow(6, 0x0a00000a, 0x0a000001, 3000, 1, 4, 1);

		j.app_proto = APP_HTTP;
		jsonl_format(json, sizeof(json), REC_FLOW, &j);
		CHECK(put(s, REC_FLOW, NULL, json) == 0, "write json");
		CHECK(put(s, REC_FLOW, NULL, "{not json") == 0, "bad json is counted, not fatal");
	}

	r = http(port, "GET", "/metrics");
	CHECK(status_of(r) == 200, "page: %d", status_of(r));
	CHECK(r && strstr(r, "\r\nContent-Type: text/plain; version=0.0.4"), "content type");
	body = r ? strstr(r, "\r\n\r\n") : NULL;
	CHECK(body != NULL, "body");
	if (!body) {
		free(r);
		ops->close(s);
		return;
	}
	body += 4;
	CHECK_EQ(sample(body, "xdpi_flow_bytes_total{proto=\"tcp\",dir=\"fwd\"}"), 1000 + 200 + 3000,
		 "tcp fwd bytes");
	CHECK_EQ(sample(body, "xdpi_flow_bytes_total{proto=\"tcp\",dir=\"rev\"}"), 5000 + 300 + 1,
		 "tcp rev bytes");
	CHECK_EQ(sample(body, "xdpi_flow_bytes_total{proto=\"udp\",dir=\"fwd\"}"), 70 + 100 * 8,
		 "udp fwd bytes, sampled flow scaled");
	CHECK_EQ(sample(body, "xdpi_flow_packets_total{proto=\"udp\",dir=\"rev\"}"), 8,
		 "udp rev packets");
	CHECK_EQ(sample(body, "xdpi_flow_packets_total{proto=\"icmp\",dir=\"fwd\"}"), 1,
		 "icmp packets");
	CHECK_EQ(sample(body, "xdpi_flow_bytes_total{proto=\"99\",dir=\"fwd\"}"), 10,
		 "unnamed protocol as a number");
	CHECK(isnan(sample(body, "xdpi_flow_bytes_total{proto=\"sctp\",dir=\"fwd\"}")),
	      "protocols never seen have no series");
	CHECK_EQ(sample(body, "xdpi_flows_total{proto=\"tcp\"}"), 2, "tcp flows (active one not)");
	CHECK_EQ(sample(body, "xdpi_flows_total{proto=\"udp\"}"), 1 + 2, "udp flows, flow sampling");
	CHECK_EQ(sample(body, "xdpi_records_total{type=\"flow\"}"), 8, "flow records");
	CHECK_EQ(sample(body, "xdpi_records_total{type=\"dns\"}"), 1, "dns records");
	CHECK_EQ(sample(body, "xdpi_records_total{type=\"ssh\"}"), 0, "ssh records");
	CHECK_EQ(sample(body, "xdpi_app_flows_total{app=\"dns\"}"), 1, "dns flows");
	CHECK_EQ(sample(body, "xdpi_app_flows_total{app=\"tls\"}"), 0, "tls flow not ended");
	CHECK_EQ(sample(body, "xdpi_app_flows_total{app=\"http\"}"), 1, "http flow from json");
	CHECK_EQ(sample(body, "xdpi_app_flows_total{app=\"unknown\"}"), 1 + 1 + 1 + 2,
		 "flows without an app");
	/* 10.0.0.1: 6000 + 500 + 168 + 3001; 10.0.0.2: 6000 + 70; 10.0.0.10: 3001. */
	CHECK_EQ(count_lines(body, "xdpi_top_talker_bytes{"), 3, "top=3 series");
	CHECK_EQ(sample(body, "xdpi_top_talker_bytes{addr=\"10.0.0.1\"}"), 9669, "top talker 1");
	CHECK_EQ(sample(body, "xdpi_top_talker_bytes{addr=\"10.0.0.2\"}"), 6070, "top talker 2");
	CHECK_EQ(sample(body, "xdpi_top_talker_bytes{addr=\"10.0.0.10\"}"), 3001, "top talker 3");
	CHECK(count_lines(body, "# TYPE xdpi_top_talker_bytes gauge") == 1, "talkers gauge");
	CHECK(count_lines(body, "# HELP xdpi_flow_bytes_total ") == 1, "one HELP per family");
	free(r);

	r = http(port, "GET", "/");
	CHECK(status_of(r) == 404, "GET /: %d", status_of(r));
	free(r);
	r = http(port, "GET", "/metrics/x");
	CHECK(status_of(r) == 404, "GET /metrics/x: %d", status_of(r));
	free(r);
	r = http(port, "POST", "/metrics");
	CHECK(status_of(r) == 405 && strstr(r, "Allow: GET, HEAD"), "POST: %d", status_of(r));
	free(r);
	r = http(port, "HEAD", "/metrics");
	CHECK(status_of(r) == 200, "HEAD: %d", status_of(r));
	free(r);
	ops->close(s);
}

/* Talker values from the page: addr (last octets) -> bytes. */
static int read_talkers(const char *body, uint32_t *addr, double *bytes, int max)
{
	int n = 0;

	for (const char *l = strstr(body, "xdpi_top_talker_bytes{addr=\""); l && n < max;
	     l = strstr(l + 1, "xdpi_top_talker_bytes{addr=\"")) {
		char ip[64];
		struct in_addr a;

		if (sscanf(l, "xdpi_top_talker_bytes{addr=\"%63[^\"]\"} %lf", ip, &bytes[n]) != 2 ||
		    inet_pton(AF_INET, ip, &a) != 1)
			continue;
		addr[n++] = ntohl(a.s_addr);
	}
	return n;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random flows between `addrs` addresses (plus heavy ones), compared with
 * an exact count: equal while the table holds everyone; past that every
 * address above total/1024 is present and never undercounted. */
static void talkers_case(unsigned naddr, int heavy)
{
	enum { BASE = 0x0b000000, HEAVY = 0x0c000000, TABLE = 1024 };
	struct sink_env env = { .host = "h", .run = 1 };
	unsigned port = free_port();
	uint64_t *truth = calloc(naddr + 8, sizeof(uint64_t)), total = 0;
	char target[64], err[256] = "", *r, *body;
	struct sink_item items[256];
	struct flow_record f[256];
	uint32_t addr[TABLE + 1];
	double bytes[TABLE + 1];
	int n, ok = 1, exact = 1;
	void *s;

	snprintf(target, sizeof(target), "127.0.0.1:%u?top=1024", port);
	s = ops->open(target, &env, err, sizeof(err));
	CHECK(s != NULL, "open: %s", err);
	if (!s) {
		free(truth);
		return;
	}
	for (int round = 0; round < 400; round++) {
		for (int i = 0; i < 256; i++) {
			unsigned a = (unsigned)(next_rand() % naddr), b = (unsigned)(next_rand() % naddr);
			uint64_t bf = next_rand() % 1500, br = next_rand() % 1500;
			uint32_t ia = BASE + a, ib = BASE + b;

			if (heavy && i % 16 == 0) {
				a = naddr + (unsigned)(next_rand() % 4);
				ia = HEAVY + a - naddr;
				bf *= 50;
			}
			f[i] = flow(6, ia, ib, bf, br, 1, 1);
			items[i] = (struct sink_item){ .type = REC_FLOW, .rec = &f[i] };
			truth[a] += bf + br;
			truth[b] += bf + br;
			total += 2 * (bf + br);
		}
		ops->write(s, items, 256, err, sizeof(err));
	}
	r = http(port, "GET", "/metrics");
	body = r ? strstr(r, "\r\n\r\n") : NULL;
	CHECK(body != NULL, "page");
	if (!body) {
		free(r);
		free(truth);
		ops->close(s);
		return;
	}
	n = read_talkers(body, addr, bytes, TABLE + 1);
	CHECK(n == (int)(naddr + (heavy ? 4 : 0) < TABLE ? naddr + (heavy ? 4 : 0) : TABLE),
	      "%u addresses: %d talker series", naddr, n);
	for (int i = 0; i < n; i++) {
		unsigned k = addr[i] >= HEAVY ? naddr + (addr[i] - HEAVY) : addr[i] - BASE;

		if (k >= naddr + 4 || bytes[i] < (double)truth[k]) {
			ok = 0;
			break;
		}
		if (bytes[i] != (double)truth[k])
			exact = 0;
		if (i && bytes[i] > bytes[i - 1])
			ok = 0; /* sorted, largest first */
	}
	CHECK(ok, "%u addresses: estimates never under the true count, sorted", naddr);
	if (naddr < TABLE)
		CHECK(exact, "%u addresses: exact while the table holds all", naddr);
	/* Anyone above total/TABLE must be in the table. */
	for (unsigned k = 0; k < naddr + (heavy ? 4 : 0); k++) {
		uint32_t want = k >= naddr ? HEAVY + (k - naddr) : BASE + k;
		int found = 0;

		if (truth[k] <= total / TABLE)
			continue;
		for (int i = 0; i < n; i++)
			found |= addr[i] == want;
		if (!found) {
			ok = 0;
			CHECK(found, "%u addresses: %u.%u.%u.%u with %llu of %llu bytes missing", naddr,
			      want >> 24, want >> 16 & 255, want >> 8 & 255, want & 255,
			      (unsigned long long)truth[k], (unsigned long long)total);
		}
	}
	if (heavy) {
		/* The heavy ones lead, in their true order. */
		for (int i = 0; i < 4; i++)
			CHECK(addr[i] >= HEAVY, "heavy hitter %d first: %x", i, addr[i]);
	}
	free(r);
	free(truth);
	ops->close(s);
}

struct scraper {
	unsigned port;
	int ok, n;
};

static void *scrape_loop(void *arg)
{
	struct scraper *sc = arg;

	for (int i = 0; i < sc->n; i++) {
		char *r = http(sc->port, "GET", "/metrics");

		sc->ok += status_of(r) == 200 && strstr(r, "xdpi_flow_bytes_total");
		free(r);
	}
	return NULL;
}

/* Scrapes while batches arrive: each page is whole and totals only grow. */
static void test_concurrent(void)
{
	struct sink_env env = { .host = "h", .run = 1 };
	struct scraper sc = { .port = free_port(), .n = 40 };
	char target[64], err[256] = "", *r, *body;
	struct sink_item items[64];
	struct flow_record f[64];
	pthread_t th;
	void *s;

	snprintf(target, sizeof(target), "127.0.0.1:%u", sc.port);
	s = ops->open(target, &env, err, sizeof(err));
	CHECK(s != NULL, "open: %s", err);
	if (!s)
		return;
	pthread_create(&th, NULL, scrape_loop, &sc);
	for (int round = 0; round < 2000; round++) {
		for (int i = 0; i < 64; i++) {
			f[i] = flow(17, 0x0d000000 + (uint32_t)(next_rand() % 5000), 0x0e000001, 10, 5,
				    1, 1);
			items[i] = (struct sink_item){ .type = REC_FLOW, .rec = &f[i] };
		}
		ops->write(s, items, 64, err, sizeof(err));
	}
	pthread_join(th, NULL);
	CHECK_EQ(sc.ok, sc.n, "pages scraped during writes");
	r = http(sc.port, "GET", "/metrics");
	body = r ? strstr(r, "\r\n\r\n") : NULL;
	CHECK(body && sample(body, "xdpi_flow_bytes_total{proto=\"udp\",dir=\"fwd\"}") == 2000 * 64 * 10,
	      "udp bytes after concurrent scrapes");
	/* 14.0.0.1 is in every flow: it leads the talkers with every byte. */
	CHECK(body && sample(body, "xdpi_top_talker_bytes{addr=\"14.0.0.1\"}") == 2000 * 64 * 15,
	      "the common peer leads, exact");
	free(r);
	ops->close(s);
}

static void test_self_metrics(void)
{
	struct metric m[] = {
		{ .name = "xdpi_queue_depth", .help = "Records queued", .labels = "q=\"a\"",
		  .value = 3 },
		{ .name = "xdpi_ring_lost", .help = "Lost events\nper ring \\ cpu",
		  .labels = "cpu=\"0\"", .value = 1e20, .counter = 1 },
		{ .name = "xdpi_queue_depth", .help = "Records queued", .labels = "q=\"b\"",
		  .value = 4 },
		{ .name = "xdpi_ring_lost", .help = "Lost events\nper ring \\ cpu",
		  .labels = "cpu=\"1\"", .value = 2, .counter = 1 },
		{ .name = "xdpi_sink_up", .help = "up", .labels = "sink=\"a\"b\\c\nd\",index=\"0\"",
		  .value = 1 },
		{ .name = "xdpi_busy_seconds_total", .help = "busy", .labels = "",
		  .value = 0.25, .counter = 1 },
		{ .name = "xdpi_ratio", .help = "r", .labels = "", .value = NAN },
		{ .name = "xdpi_inf", .help = "i", .labels = "", .value = -INFINITY },
		{ .name = "bad name", .help = "x", .labels = "", .value = 1 },
		{ .name = "xdpi_records_total", .help = "clash", .labels = "", .value = 1,
		  .counter = 1 },
		{ .name = "xdpi_queue_depth", .help = "Records queued", .labels = "q=\"a\"",
		  .value = 3 },
		{ .name = "xdpi_badlabels", .help = "b", .labels = "q=unquoted", .value = 1 },
		{ .name = "xdpi_utf8", .help = "u", .labels = "n=\"\xff\xc3\xa9\"", .value = 1 },
	};
	size_t len = 0;
	char *t = prom_format_metrics(m, sizeof(m) / sizeof(m[0]), &len);

	CHECK(t != NULL && len == strlen(t), "rendered");
	if (!t)
		return;
	CHECK(count_lines(t, "# HELP xdpi_queue_depth ") == 1 &&
	      count_lines(t, "# TYPE xdpi_queue_depth gauge") == 1, "one family for split series");
	CHECK(count_lines(t, "xdpi_queue_depth{") == 2, "repeated series once:\n%s", t);
	CHECK(strstr(t, "xdpi_queue_depth{q=\"a\"} 3\nxdpi_queue_depth{q=\"b\"} 4\n") != NULL,
	      "series of a family together");
	CHECK(strstr(t, "# HELP xdpi_ring_lost_total Lost events\\nper ring \\\\ cpu\n") != NULL,
	      "HELP escaped, counter named _total:\n%s", t);
	CHECK(strstr(t, "# TYPE xdpi_ring_lost_total counter\n") != NULL, "counter type");
	CHECK(strstr(t, "xdpi_ring_lost_total{cpu=\"0\"} 1e+20\n") != NULL, "big value");
	CHECK(strstr(t, "xdpi_sink_up{sink=\"a\\\"b\\\\c\\nd\",index=\"0\"} 1\n") != NULL,
	      "label value escaped:\n%s", t);
	CHECK(strstr(t, "xdpi_busy_seconds_total 0.25\n") != NULL, "no labels, fraction");
	CHECK(strstr(t, "xdpi_ratio NaN\n") && strstr(t, "xdpi_inf -Inf\n"), "NaN, -Inf");
	CHECK(!strstr(t, "bad name"), "invalid name left out");
	CHECK(!strstr(t, "xdpi_records_total"), "the sink's own family wins");
	CHECK(!strstr(t, "xdpi_badlabels{") && strstr(t, "# TYPE xdpi_badlabels gauge"),
	      "unreadable labels leave the series out");
	CHECK(strstr(t, "xdpi_utf8{n=\"\xef\xbf\xbd\xc3\xa9\"} 1\n") != NULL, "invalid UTF-8 replaced");
	free(t);
}

int main(void)
{
	test_targets();
	test_port_taken();
	test_counters();
	talkers_case(300, 0);
	talkers_case(1000, 1);
	talkers_case(20000, 1);
	test_concurrent();
	test_self_metrics();
	return check_summary("prom");
}
