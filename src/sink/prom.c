/* Prometheus sink: aggregates records into counters and serves them, with
 * the process's own metrics, on GET /metrics (text exposition format
 * 0.0.4). Target: ":PORT" (all addresses) or "HOST:PORT" ("[v6]:PORT"),
 * optionally followed by "?top=N".
 *
 * Records arrive in batches on the runner's thread; scrapes come on the
 * HTTP daemon's thread. One mutex guards the aggregate; a scrape copies it
 * and formats outside the lock. */
#include "sink/sink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "util.h"

#define PROM_TALKERS     1024 /* addresses tracked (space-saving table) */
#define PROM_TOP_DEFAULT 10
#define PROM_CTYPE       "text/plain; version=0.0.4; charset=utf-8"

/* ---- top talkers: space-saving over a fixed table ------------------------
 * Every address gets the bytes of the flows it took part in (as source or
 * destination). When the table is full a new address replaces the one with
 * the fewest bytes and starts from its count: no count is ever under the
 * truth, an address with over 1/1024 of all bytes is always in the table,
 * and memory and the number of series stay fixed. */

struct talker {
	uint8_t addr[16];
	uint8_t family;
	uint64_t bytes; /* never under the true count; over by what it inherited */
};

struct talkers {
	uint32_t n;
	struct talker e[PROM_TALKERS];
	uint16_t heap[PROM_TALKERS]; /* min-heap of entry indices by bytes */
	uint16_t pos[PROM_TALKERS];  /* entry -> heap position */
	uint16_t slot[PROM_TALKERS * 2]; /* open addressing: entry + 1, 0 empty */
};

#define SLOT_MASK (PROM_TALKERS * 2 - 1)

static uint32_t addr_hash(const uint8_t *a, uint8_t family)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ family;

	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 0x100000001b3ULL;
	return (uint32_t)(h ^ h >> 32);
}

static int talker_is(const struct talker *t, const uint8_t *a, uint8_t family)
{
	return t->family == family && !memcmp(t->addr, a, 16);
}

static int slot_find(const struct talkers *t, const uint8_t *a, uint8_t family)
{
	for (uint32_t i = addr_hash(a, family) & SLOT_MASK;; i = (i + 1) & SLOT_MASK) {
		if (!t->slot[i])
			return -1;
		if (talker_is(&t->e[t->slot[i] - 1], a, family))
			return t->slot[i] - 1;
	}
}

static void slot_add(struct talkers *t, uint32_t idx)
{
	uint32_t i = addr_hash(t->e[idx].addr, t->e[idx].family) & SLOT_MASK;

	while (t->slot[i])
		i = (i + 1) & SLOT_MASK;
	t->slot[i] = (uint16_t)(idx + 1);
}

/* Linear probing: shift later members of the run back over the hole. */
static void slot_del(struct talkers *t, uint32_t idx)
{
	uint32_t i = addr_hash(t->e[idx].addr, t->e[idx].family) & SLOT_MASK;

	while (t->slot[i] != idx + 1)
		i = (i + 1) & SLOT_MASK;
	for (uint32_t j = (i + 1) & SLOT_MASK; t->slot[j]; j = (j + 1) & SLOT_MASK) {
		const struct talker *m = &t->e[t->slot[j] - 1];
		uint32_t home = addr_hash(m->addr, m->family) & SLOT_MASK;

		/* j's entry may move to i unless its home lies in (i, j]. */
		if (((j - home) & SLOT_MASK) >= ((j - i) & SLOT_MASK)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = 0;
}

static void heap_swap(struct talkers *t, uint32_t a, uint32_t b)
{
	uint16_t x = t->heap[a];

	t->heap[a] = t->heap[b];
	t->heap[b] = x;
	t->pos[t->heap[a]] = (uint16_t)a;
	t->pos[t->heap[b]] = (uint16_t)b;
}

static uint64_t heap_key(const struct talkers *t, uint32_t i)
{
	return t->e[t->heap[i]].bytes;
}

static void heap_down(struct talkers *t, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < t->n && heap_key(t, l) < heap_key(t, m))
			m = l;
		if (r < t->n && heap_key(t, r) < heap_key(t, m))
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static void heap_up(struct talkers *t, uint32_t i)
{
	while (i && heap_key(t, (i - 1) / 2) > heap_key(t, i)) {
		heap_swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void talkers_add(struct talkers *t, const uint8_t *a, uint8_t family, uint64_t bytes)
{
	int found = slot_find(t, a, family);
	uint32_t idx;

	if (found >= 0) {
		t->e[found].bytes += bytes;
		heap_down(t, t->pos[found]);
		return;
	}
	if (t->n < PROM_TALKERS) {
		idx = t->n;
		t->e[idx] = (struct talker){ .family = family, .bytes = bytes };
		memcpy(t->e[idx].addr, a, 16);
		t->heap[t->n] = (uint16_t)idx;
		t->pos[idx] = (uint16_t)t->n;
		t->n++;
		slot_add(t, idx);
		heap_up(t, t->pos[idx]);
		return;
	}
	idx = t->heap[0];
	slot_del(t, idx);
	t->e[idx].bytes += bytes;
	t->e[idx].family = family;
	memcpy(t->e[idx].addr, a, 16);
	slot_add(t, idx);
	heap_down(t, 0);
}

/* ---- the aggregate ------------------------------------------------------- */

enum { DIR_FWD, DIR_REV };

static const char *const rec_type_names[] = {
	[REC_FLOW] = "flow", [REC_DNS] = "dns", [REC_TLS] = "tls",
	[REC_HTTP] = "http", [REC_QUIC] = "quic", [REC_SSH] = "ssh",
};
#define REC_TYPES (sizeof(rec_type_names) / sizeof(rec_type_names[0]))

struct prom_counts {
	uint64_t bytes[256][2];
	uint64_t pkts[256][2];
	uint64_t flows[256];
	uint8_t proto_seen[256];
	uint64_t records[REC_TYPES];
	uint64_t records_other; /* a type this sink does not know */
	uint64_t app_flows[APP__MAX]; /* [APP_UNKNOWN]: none recognised */
};

struct prom {
	pthread_mutex_t lock;
	struct prom_counts c;
	struct talkers talkers;
	struct output *out;
	unsigned top;
	struct MHD_Daemon *httpd;
	char where[160]; /* address:port, for messages */
};

/* The fields of a flow record this sink uses, from the struct or JSON. */
struct flow_view {
	uint8_t proto, family;
	uint8_t src[16], dst[16];
	uint64_t pkts[2], bytes[2];
	uint64_t scale;      /* packet x flow sampling: one counted stands for this many */
	uint64_t flow_scale; /* flow sampling: this flow stands for this many */
	int ended;      /* the flow's last record (not an active-timeout one) */
	uint8_t app;
};

static uint64_t sampling_scale(unsigned pkt, unsigned flow)
{
	return (uint64_t)(pkt ? pkt : 1) * (flow ? flow : 1);
}

static void view_from_rec(struct flow_view *v, const struct flow_record *r)
{
	size_t alen = r->family == 4 ? 4 : 16;

	v->proto = r->proto;
	v->family = r->family;
	/* An IPv4 address is the first 4 bytes: the rest must not split it. */
	memset(v->src, 0, 16);
	memset(v->dst, 0, 16);
	memcpy(v->src, r->src_ip, alen);
	memcpy(v->dst, r->dst_ip, alen);
	v->pkts[DIR_FWD] = r->pkts_fwd;
	v->pkts[DIR_REV] = r->pkts_rev;
	v->bytes[DIR_FWD] = r->bytes_fwd;
	v->bytes[DIR_REV] = r->bytes_rev;
	v->scale = sampling_scale(r->pkt_sampling, r->flow_sampling);
	v->flow_scale = sampling_scale(0, r->flow_sampling);
	v->ended = r->end_reason != END_ACTIVE;
	v->app = r->app_proto < APP__MAX ? r->app_proto : APP_UNKNOWN;
}

static uint64_t json_u64(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static int json_addr(const json_t *o, const char *key, uint8_t *addr, uint8_t *family)
{
	const char *s = json_string_value(json_object_get(o, key));

	memset(addr, 0, 16);
	if (!s)
		return -1;
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = 6;
		return 0;
	}
	return -1;
}

/* Records the collector passes on carry only their JSON form. */
static int view_from_json(struct flow_view *v, const char *json, size_t len)
{
	json_t *o = json_loadb(json, len, 0, NULL);
	const char *reason, *app;
	uint8_t fam_dst = 0;
	int rc = -1;

	if (!json_is_object(o))
		goto out;
	memset(v, 0, sizeof(*v));
	v->proto = (uint8_t)json_u64(o, "proto");
	if (json_addr(o, "src_ip", v->src, &v->family) < 0 ||
	    json_addr(o, "dst_ip", v->dst, &fam_dst) < 0)
		v->family = 0; /* counted, but no talkers */
	v->pkts[DIR_FWD] = json_u64(o, "pkts_fwd");
	v->pkts[DIR_REV] = json_u64(o, "pkts_rev");
	v->bytes[DIR_FWD] = json_u64(o, "bytes_fwd");
	v->bytes[DIR_REV] = json_u64(o, "bytes_rev");
	v->scale = sampling_scale((unsigned)json_u64(o, "packet_sampling"),
				  (unsigned)json_u64(o, "flow_sampling"));
	v->flow_scale = sampling_scale(0, (unsigned)json_u64(o, "flow_sampling"));
	reason = json_string_value(json_object_get(o, "end_reason"));
	v->ended = !reason || strcmp(reason, "active");
	app = json_string_value(json_object_get(o, "app_proto"));
	v->app = APP_UNKNOWN;
	for (int p = 1; app && p < APP__MAX; p++)
		if (!strcmp(app, app_proto_name((enum app_proto)p)))
			v->app = (uint8_t)p;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

static void count_flow(struct prom *s, const struct flow_view *v)
{
	struct prom_counts *c = &s->c;
	uint64_t total = (v->bytes[DIR_FWD] + v->bytes[DIR_REV]) * v->scale;

	c->proto_seen[v->proto] = 1;
	for (int d = DIR_FWD; d <= DIR_REV; d++) {
		c->bytes[v->proto][d] += v->bytes[d] * v->scale;
		c->pkts[v->proto][d] += v->pkts[d] * v->scale;
	}
	if (v->ended) {
		c->flows[v->proto] += v->flow_scale;
		c->app_flows[v->app] += v->flow_scale;
	}
	if (v->family && total && s->top) {
		talkers_add(&s->talkers, v->src, v->family, total);
		talkers_add(&s->talkers, v->dst, v->family, total);
	}
}

#define WRITE_CHUNK 64

/* Records are read (JSON parsed) outside the lock, then counted under it a
 * chunk at a time, so scrapes wait little. */
static int prom_write(void *p, const struct sink_item *it, size_t n, char *err, size_t errlen)
{
	struct prom *s = p;

	(void)err;
	(void)errlen;
	for (size_t i = 0; i < n;) {
		struct flow_view v[WRITE_CHUNK];
		uint8_t type[WRITE_CHUNK], has_view[WRITE_CHUNK];
		size_t k = 0;

		for (; i < n && k < WRITE_CHUNK; i++, k++) {
			type[k] = (size_t)it[i].type < REC_TYPES && rec_type_names[it[i].type] ?
					  (uint8_t)it[i].type : 0;
			has_view[k] = 0;
			if (it[i].type != REC_FLOW)
				continue;
			if (it[i].rec) {
				view_from_rec(&v[k], it[i].rec);
				has_view[k] = 1;
			} else if (it[i].json) {
				has_view[k] = !view_from_json(&v[k], it[i].json, it[i].json_len);
			}
		}
		pthread_mutex_lock(&s->lock);
		for (size_t j = 0; j < k; j++) {
			if (type[j])
				s->c.records[type[j]]++;
			else
				s->c.records_other++;
			if (has_view[j])
				count_flow(s, &v[j]);
		}
		pthread_mutex_unlock(&s->lock);
	}
	return 0;
}

/* ---- text exposition ----------------------------------------------------- */

struct sb {
	char *p;
	size_t n, cap;
	int oom;
};

static void sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *p;

		while (b->n + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void sb_str(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_fmt(struct sb *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* HELP text escapes \ and newline; label values also ". The format wants
 * UTF-8, so an invalid byte becomes U+FFFD. */
static void sb_escaped(struct sb *b, const char *s, size_t n, int quote)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t u;

		if (p[i] == '\\') {
			sb_put(b, "\\\\", 2);
			i++;
		} else if (p[i] == '\n') {
			sb_put(b, "\\n", 2);
			i++;
		} else if (p[i] == '"' && quote) {
			sb_put(b, "\\\"", 2);
			i++;
		} else if (p[i] < 0x80) {
			sb_put(b, s + i, 1);
			i++;
		} else if ((u = utf8_seq_len(p + i, n - i))) {
			sb_put(b, s + i, u);
			i += u;
		} else {
			sb_put(b, "\xef\xbf\xbd", 3);
			i++;
		}
	}
}

static void sb_family(struct sb *b, const char *name, const char *help, int counter)
{
	sb_fmt(b, "# HELP %s ", name);
	sb_escaped(b, help, strlen(help), 0);
	sb_fmt(b, "\n# TYPE %s %s\n", name, counter ? "counter" : "gauge");
}

static void sb_value(struct sb *b, double v)
{
	if (isnan(v))
		sb_str(b, "NaN");
	else if (isinf(v))
		sb_str(b, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		sb_fmt(b, "%.0f", v);
	else
		sb_fmt(b, "%.17g", v);
}

/* One sample with a single label. */
static void sb_sample1(struct sb *b, const char *name, const char *label, const char *value,
		       uint64_t v)
{
	sb_fmt(b, "%s{%s=\"", name, label);
	sb_escaped(b, value, strlen(value), 1);
	sb_fmt(b, "\"} %llu\n", (unsigned long long)v);
}

/* IANA keywords (lower case) of common protocols; others as numbers. */
static const char *proto_label(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case 1: return "icmp";
	case 2: return "igmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 47: return "gre";
	case 50: return "esp";
	case 51: return "ah";
	case 58: return "icmpv6";
	case 132: return "sctp";
	case 136: return "udplite";
	}
	snprintf(buf, len, "%u", (unsigned)p);
	return buf;
}

/* The families this sink computes; a published metric of the same name
 * is left out rather than clash. */
#define M_BYTES   "xdpi_flow_bytes_total"
#define M_PKTS    "xdpi_flow_packets_total"
#define M_FLOWS   "xdpi_flows_total"
#define M_RECORDS "xdpi_records_total"
#define M_APPS    "xdpi_app_flows_total"
#define M_TALKERS "xdpi_top_talker_bytes"

static const char *const own_names[] = { M_BYTES, M_PKTS, M_FLOWS, M_RECORDS, M_APPS, M_TALKERS };

static void render_flow_dir(struct sb *b, const char *name, const uint64_t (*v)[2],
			    const uint8_t *seen)
{
	char num[8];

	for (unsigned p = 0; p < 256; p++) {
		if (!seen[p])
			continue;
		for (int d = DIR_FWD; d <= DIR_REV; d++)
			sb_fmt(b, "%s{proto=\"%s\",dir=\"%s\"} %llu\n", name,
			       proto_label((uint8_t)p, num, sizeof(num)), d == DIR_FWD ? "fwd" : "rev",
			       (unsigned long long)v[p][d]);
	}
}

static int talker_cmp(const void *a, const void *b)
{
	const struct talker *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

struct snapshot {
	struct prom_counts c;
	uint32_t ntalkers;
	struct talker talkers[PROM_TALKERS];
};

static void render_own(struct sb *b, const struct snapshot *s, unsigned top)
{
	char addr[64], num[8];

	sb_family(b, M_BYTES,
		  "L3 bytes of flow records by IP protocol and direction (fwd: from the flow's "
		  "initiator), scaled up by packet and flow sampling.", 1);
	render_flow_dir(b, M_BYTES, s->c.bytes, s->c.proto_seen);
	sb_family(b, M_PKTS,
		  "Packets of flow records by IP protocol and direction (fwd: from the flow's "
		  "initiator), scaled up by packet and flow sampling.", 1);
	render_flow_dir(b, M_PKTS, s->c.pkts, s->c.proto_seen);
	sb_family(b, M_FLOWS,
		  "Flows ended (their last record: not an active-timeout one) by IP protocol, "
		  "scaled up by flow sampling.", 1);
	for (unsigned p = 0; p < 256; p++)
		if (s->c.proto_seen[p])
			sb_sample1(b, M_FLOWS, "proto", proto_label((uint8_t)p, num, sizeof(num)),
				   s->c.flows[p]);
	sb_family(b, M_RECORDS, "Records received, by record type.", 1);
	for (size_t t = 0; t < REC_TYPES; t++)
		if (rec_type_names[t])
			sb_sample1(b, M_RECORDS, "type", rec_type_names[t], s->c.records[t]);
	if (s->c.records_other)
		sb_sample1(b, M_RECORDS, "type", "other", s->c.records_other);
	sb_family(b, M_APPS,
		  "Flows ended, by the application protocol the parsers recognised (unknown: none).",
		  1);
	for (int a = 1; a < APP__MAX; a++)
		sb_sample1(b, M_APPS, "app", app_proto_name((enum app_proto)a), s->c.app_flows[a]);
	sb_sample1(b, M_APPS, "app", "unknown", s->c.app_flows[APP_UNKNOWN]);
	sb_family(b, M_TALKERS,
		  "Bytes of the flows each of the top addresses took part in (as source or "
		  "destination), for the top N of a bounded table (space-saving: an estimate "
		  "that may exceed the true count by what the address inherited on entry).", 0);
	for (uint32_t i = 0; i < s->ntalkers && i < top; i++) {
		fmt_addr(addr, sizeof(addr), s->talkers[i].addr, s->talkers[i].family);
		sb_sample1(b, M_TALKERS, "addr", addr, s->talkers[i].bytes);
	}
}

/* ---- the process's own metrics ------------------------------------------- */

struct self_metric {
	struct metric m;
	char name[128]; /* as exposed: counters end in _total */
};

struct self_metrics {
	struct self_metric *v;
	size_t n, cap;
	int oom;
};

static int name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* Metric names may hold ':' too. */
static int name_ok(const char *s)
{
	if (!s || !(name_start(*s) || *s == ':'))
		return 0;
	for (; *s; s++)
		if (!(name_char(*s) || *s == ':'))
			return 0;
	return 1;
}

static int label_name_at(const char *s, size_t *len)
{
	size_t i = 0;

	if (!name_start(s[0]))
		return 0;
	while (name_char(s[i]))
		i++;
	*len = i;
	return 1;
}

/* labels is `k="v",k2="v2"` with values as they are (not escaped): a value
 * ends at the " that closes the string or comes before `,name="`. Writes
 * the escaped form; -1 if it does not read that way. */
static int render_labels(struct sb *b, const char *labels)
{
	const char *s = labels;
	size_t nl;

	if (!*s)
		return 0;
	sb_put(b, "{", 1);
	for (;;) {
		const char *v, *e;

		if (!label_name_at(s, &nl) || s[nl] != '=' || s[nl + 1] != '"')
			return -1;
		sb_put(b, s, nl);
		sb_put(b, "=\"", 2);
		v = s + nl + 2;
		for (e = v;; e++) {
			size_t l;

			if (!*e)
				return -1;
			if (*e != '"')
				continue;
			if (!e[1] || (e[1] == ',' && !e[2]))
				break;
			if (e[1] == ',' && label_name_at(e + 2, &l) && e[2 + l] == '=' &&
			    e[3 + l] == '"')
				break;
		}
		sb_escaped(b, v, (size_t)(e - v), 1);
		sb_put(b, "\"", 1);
		if (!e[1] || !e[2])
			break;
		sb_put(b, ",", 1);
		s = e + 2;
	}
	sb_put(b, "}", 1);
	return 0;
}

static void self_collect(void *arg, const struct metric *m, size_t n)
{
	struct self_metrics *sm = arg;

	for (size_t i = 0; i < n; i++) {
		struct self_metric *x;
		size_t len;

		if (!name_ok(m[i].name))
			continue;
		if (sm->n == sm->cap) {
			size_t cap = sm->cap ? sm->cap * 2 : 64;
			struct self_metric *v = realloc(sm->v, cap * sizeof(*v));

			if (!v) {
				sm->oom = 1;
				return;
			}
			sm->v = v;
			sm->cap = cap;
		}
		x = &sm->v[sm->n];
		x->m = m[i];
		x->m.labels[sizeof(x->m.labels) - 1] = 0;
		len = strlen(m[i].name);
		/* Counters are named ..._total (as client libraries do). */
		if (m[i].counter && !(len >= 6 && !strcmp(m[i].name + len - 6, "_total")))
			snprintf(x->name, sizeof(x->name), "%s_total", m[i].name);
		else
			snprintf(x->name, sizeof(x->name), "%s", m[i].name);
		if (strlen(x->name) >= sizeof(x->name) - 1)
			continue;
		for (size_t k = 0; k < sizeof(own_names) / sizeof(own_names[0]); k++)
			if (!strcmp(x->name, own_names[k]))
				goto skip;
		sm->n++;
skip:;
	}
}

static int self_cmp(const void *a, const void *b)
{
	const struct self_metric *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->m.labels, y->m.labels);
}

/* Series of one name share one HELP/TYPE, whatever their order in the list. */
static void render_self(struct sb *b, struct self_metric *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), self_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		sb_family(b, v[i].name, v[i].m.help ? v[i].m.help : v[i].name, v[i].m.counter);
		for (; j < n && !strcmp(v[j].name, v[i].name); j++) {
			size_t mark = b->n;

			if (j > i && !strcmp(v[j].m.labels, v[j - 1].m.labels))
				continue; /* a repeated series would void the page */
			sb_str(b, v[j].name);
			if (render_labels(b, v[j].m.labels) < 0) {
				b->n = mark; /* unreadable labels: leave the series out */
				if (b->p)
					b->p[mark] = 0;
				continue;
			}
			sb_put(b, " ", 1);
			sb_value(b, v[j].m.value);
			sb_put(b, "\n", 1);
		}
		i = j;
	}
}

/* The self-metrics section alone, for tests: malloc'd text, NULL on OOM. */
char *prom_format_metrics(const struct metric *m, size_t n, size_t *len);
char *prom_format_metrics(const struct metric *m, size_t n, size_t *len)
{
	struct self_metrics sm = { 0 };
	struct sb b = { 0 };

	self_collect(&sm, m, n);
	render_self(&b, sm.v, sm.n);
	sb_put(&b, "", 0);
	free(sm.v);
	if (sm.oom || b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.n;
	return b.p;
}

/* The whole page: malloc'd text, NULL on OOM. */
static char *render_page(struct prom *s, size_t *len)
{
	struct snapshot *snap = malloc(sizeof(*snap));
	struct self_metrics sm = { 0 };
	struct sb b = { 0 };

	if (!snap)
		return NULL;
	pthread_mutex_lock(&s->lock);
	snap->c = s->c;
	snap->ntalkers = s->talkers.n;
	memcpy(snap->talkers, s->talkers.e, s->talkers.n * sizeof(struct talker));
	pthread_mutex_unlock(&s->lock);
	qsort(snap->talkers, snap->ntalkers, sizeof(struct talker), talker_cmp);
	render_own(&b, snap, s->top);
	free(snap);

	if (s->out)
		output_metrics_render(s->out, self_collect, &sm);
	render_self(&b, sm.v, sm.n);
	free(sm.v);
	sb_put(&b, "", 0);
	if (b.oom || sm.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.n;
	return b.p;
}

/* ---- HTTP ------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
			     int must_free, const char *ctype)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r) {
		if (must_free)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result prom_http(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_len, void **req)
{
	static int seen;
	static char not_found[] = "not found: metrics are at /metrics\n";
	static char not_allowed[] = "method not allowed\n";
	struct prom *s = cls;
	size_t len;
	char *page;

	(void)version;
	(void)upload;
	/* First call: headers only; answer once any body has been read. */
	if (!*req) {
		*req = &seen;
		return MHD_YES;
	}
	if (*upload_len) {
		*upload_len = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed, sizeof(not_allowed) - 1,
			     0, "text/plain; charset=utf-8");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1, 0,
			     "text/plain; charset=utf-8");
	page = render_page(s, &len);
	if (!page)
		return MHD_NO;
	return reply(c, MHD_HTTP_OK, page, len, 1, PROM_CTYPE);
}

/* ---- target and lifetime --------------------------------------------------- */

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

#define TARGET_FORM "expected [HOST]:PORT[?top=N], e.g. :9464 or 127.0.0.1:9464?top=20"

/* Splits "[HOST]:PORT?opts" in place. */
static int parse_target(char *t, char **host, unsigned *port, unsigned *top, char *err,
			size_t errlen)
{
	char *q = strchr(t, '?'), *colon;

	*top = PROM_TOP_DEFAULT;
	if (q) {
		*q++ = 0;
		for (char *opt = strtok(q, "&"); opt; opt = strtok(NULL, "&")) {
			if (!strncmp(opt, "top=", 4)) {
				if (parse_uint(opt + 4, PROM_TALKERS, top) < 0) {
					snprintf(err, errlen,
						 "prom: bad top \"%s\": expected 0 to %u", opt + 4,
						 PROM_TALKERS);
					return -1;
				}
			} else {
				snprintf(err, errlen, "prom: unknown option \"%s\": %s", opt,
					 TARGET_FORM);
				return -1;
			}
		}
	}
	if (*t == '[') {
		char *close = strchr(t, ']');

		if (!close || close[1] != ':')
			goto bad;
		*close = 0;
		*host = t + 1;
		colon = close + 1;
	} else {
		colon = strrchr(t, ':');
		if (!colon)
			goto bad;
		*colon = 0;
		*host = t;
	}
	if (parse_uint(colon + 1, 65535, port) < 0 || !*port) {
		snprintf(err, errlen, "prom: bad port \"%.16s\" (1 to 65535): %s", colon + 1,
			 TARGET_FORM);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "prom: bad target: %s", TARGET_FORM);
	return -1;
}

static int listen_on(const struct sockaddr *sa, socklen_t len, int *fd_out)
{
	int one = 1, zero = 0;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* All addresses: one IPv6 socket takes IPv4 too. */
	if (sa->sa_family == AF_INET6 &&
	    !memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &in6addr_any, 16))
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, sa, len) < 0 || listen(fd, 64) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	*fd_out = fd;
	return 0;
}

static int open_listener(const char *host, unsigned port, int *fd, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char portstr[12];
	int rc, e = 0;

	if (!*host) {
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
					   .sin6_addr = IN6ADDR_ANY_INIT };
		struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port),
					  .sin_addr.s_addr = htonl(INADDR_ANY) };

		if (!listen_on((struct sockaddr *)&a6, sizeof(a6), fd))
			return 0;
		/* No IPv6 on this host: IPv4 alone. */
		if (errno == EAFNOSUPPORT && !listen_on((struct sockaddr *)&a4, sizeof(a4), fd))
			return 0;
		snprintf(err, errlen, "prom: cannot listen on port %u: %s", port, strerror(errno));
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "prom: cannot resolve listen address \"%s\": %s", host,
			 gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if (!listen_on(ai->ai_addr, ai->ai_addrlen, fd)) {
			freeaddrinfo(res);
			return 0;
		}
		e = errno;
	}
	freeaddrinfo(res);
	snprintf(err, errlen, "prom: cannot listen on %s port %u: %s", host, port, strerror(e));
	return -1;
}

static void *prom_open(const char *target, const struct sink_env *env, char *err, size_t errlen)
{
	char buf[128], *host;
	unsigned port, top;
	struct prom *s;
	int fd;

	if (!target || strlen(target) >= sizeof(buf)) {
		snprintf(err, errlen, "prom: bad target: %s", TARGET_FORM);
		return NULL;
	}
	strcpy(buf, target);
	if (parse_target(buf, &host, &port, &top, err, errlen) < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "prom: out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->top = top;
	s->out = env ? env->out : NULL;
	snprintf(s->where, sizeof(s->where), "%s%s%s:%u", strchr(host, ':') ? "[" : "", host,
		 strchr(host, ':') ? "]" : "", port);
	if (open_listener(host, port, &fd, err, errlen) < 0)
		goto fail;
	s->httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				    prom_http, s, MHD_OPTION_LISTEN_SOCKET, fd,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!s->httpd) {
		close(fd);
		snprintf(err, errlen, "prom: cannot start the HTTP server on %s", s->where);
		goto fail;
	}
	return s;
fail:
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

static void prom_close(void *p)
{
	struct prom *s = p;

	if (!s)
		return;
	if (s->httpd)
		MHD_stop_daemon(s->httpd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Aggregation is in memory: write() never fails, so nothing is repeated. */
const struct sink_ops sink_prom_ops = {
	.scheme = "prom",
	.max_batch = 1024,
	.linger_ms = 10,
	.open = prom_open,
	.write = prom_write,
	.close = prom_close,
};
