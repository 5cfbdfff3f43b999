#include "dpi.h"

#include <stdlib.h>
#include <string.h>
#include "flowtab.h"
#include "mem.h"
#include "proto/dns.h"
#include "proto/http.h"
#include "proto/quic.h"
#include "proto/ssh.h"
#include "proto/tls.h"
#include "reasm.h"
#include "xdpi/flow.h"
#include "xdpi/parse.h"

#define DETECT_TRIES   8   /* payloads looked at before giving up on a flow */
#define DNS_PENDING    8   /* queries waiting for their response, per flow */
#define HTTP_PENDING   4   /* requests waiting for their response, per flow */
#define QUIC_CONNS     256 /* QUIC handshakes being decrypted at once */

enum { TLS_CH = 1, TLS_SH = 2, TLS_CERT_DONE = 4, TLS_EMITTED = 8 };

/* Per-flow inspection state, kept small: the bulky parts (pending records,
 * names) live in slabs and are attached only when a protocol needs them. */
struct dpi_flow {
	uint64_t flow_id;
	uint16_t port_lo, port_hi;   /* of the flow key, for the DNS kind */
	struct reasm_dir rd[2];
	uint32_t aux;          /* slab slot + 1: struct aux */
	uint32_t names;        /* slab slot + 1: struct names */
	uint32_t quic;         /* slab slot + 1: struct quic_conn */
	uint8_t app;           /* enum app_proto */
	uint8_t client;        /* direction of the client (first packet) */
	uint8_t done;          /* nothing more to learn */
	uint8_t tries;
	uint8_t tls;           /* TLS_* progress */
	uint8_t stuck[2];      /* direction can no longer be followed */
	uint8_t verdict;       /* VERDICT_* */
};

/* The kernel can stop sending a flow's snippets once its fields are out:
 * the parsers are done with it, or an HTTP exchange has been answered. */
enum { VERDICT_ANSWERED = 1, VERDICT_TAKEN = 2 };

struct dns_pending {
	uint64_t ts;
	uint16_t id, qtype;
	uint8_t tcp, used;
	char qname[REC_NAME];
};

struct http_pending {
	uint8_t n;
	struct http_record q[HTTP_PENDING];
};

struct names {
	char sni[REC_NAME];
	char host[REC_NAME];
};

enum { SSH_WAIT = 0, SSH_SEEN, SSH_NONE };

/* Both banners, emitted together once each side has one or never will. */
struct ssh_pending {
	struct ssh_record r;
	uint64_t last_ts;        /* for a banner only found at flow end */
	uint8_t side[2];         /* SSH_* by direction */
};

union aux {
	struct tls_record tls;
	struct ssh_pending ssh;
	struct dns_pending dns[DNS_PENDING];
	struct http_pending http;
};

/* Fixed-size objects from one allocation, handed out from a free stack. */
struct slab {
	uint8_t *mem;
	size_t size, bytes;
	uint32_t *free;
	uint32_t nfree;
};

struct dpi {
	struct dpi_opts o;
	struct flowtab *flows;
	struct reasm_pool *reasm;
	struct slab aux, names, quic;
	uint8_t *hs;             /* handshake message scratch, reasm_bytes */
	struct quic_crypto *qc;  /* made here so that no handshake allocates */
	struct dns_msg msg;      /* parser outputs: too big for the stack */
	struct tls_hello hello;
	struct tls_cert cert;
	struct http_request req;
	struct http_response resp;
	struct ssh_banner banner;
	union {
		struct dns_record dns;
		struct http_record http;
	} rec;
	struct dpi_stats st;
	struct dpi_flow *last;   /* of the last dpi_payload call, for dpi_take_verdict */
};

static int slab_init(struct slab *s, uint32_t n, size_t size)
{
	s->size = (size + 63) & ~(size_t)63;
	s->bytes = s->size * n;
	s->mem = mem_alloc_big(s->bytes);
	s->free = calloc(n, sizeof(*s->free));
	if (!s->mem || !s->free)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		s->free[i] = n - 1 - i;
	s->nfree = n;
	return 0;
}

/* The object is not cleared: its user initialises what it reads (touching
 * all of a large object would fault in pages for nothing). */
static uint32_t slab_get(struct slab *s)
{
	if (!s->nfree)
		return 0;
	return s->free[--s->nfree] + 1;
}

static void slab_put(struct slab *s, uint32_t *slot)
{
	if (*slot) {
		s->free[s->nfree++] = *slot - 1;
		*slot = 0;
	}
}

static void *slab_at(const struct slab *s, uint32_t slot)
{
	return slot ? s->mem + (size_t)(slot - 1) * s->size : NULL;
}

static void slab_destroy(struct slab *s)
{
	mem_free_big(s->mem, s->bytes);
	free(s->free);
}

struct dpi *dpi_new(const struct dpi_opts *o)
{
	struct dpi *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->o = *o;
	d->flows = flowtab_new(o->max_flows, sizeof(struct dpi_flow));
	d->reasm = reasm_pool_new(o->reasm_bufs, o->reasm_bytes);
	d->hs = malloc(o->reasm_bytes);
	d->qc = quic_crypto_new();
	if (!d->flows || !d->reasm || !d->hs || !d->qc || slab_init(&d->aux, o->reasm_bufs, sizeof(union aux)) ||
	    slab_init(&d->names, o->reasm_bufs, sizeof(struct names)) ||
	    slab_init(&d->quic, QUIC_CONNS, sizeof(struct quic_conn))) {
		dpi_free(d);
		return NULL;
	}
	return d;
}

void dpi_free(struct dpi *d)
{
	if (!d)
		return;
	flowtab_free(d->flows);
	reasm_pool_free(d->reasm);
	slab_destroy(&d->aux);
	slab_destroy(&d->names);
	slab_destroy(&d->quic);
	free(d->hs);
	quic_crypto_free(d->qc);
	free(d);
}

const struct dpi_stats *dpi_stats(const struct dpi *d)
{
	return &d->st;
}

static void copy_str(char *dst, size_t n, const char *src)
{
	size_t l = strnlen(src, n - 1);

	memcpy(dst, src, l);
	dst[l] = 0;
}

static void emit(struct dpi *d, enum record_type t, const void *r)
{
	output_emit(d->o.out, t, r);
	d->st.records[t]++;
}

static void classify(struct dpi *d, struct dpi_flow *f, enum app_proto app)
{
	f->app = (uint8_t)app;
	d->st.flows_classified[app]++;
}

static struct names *names_of(struct dpi *d, struct dpi_flow *f)
{
	struct names *nm;

	if (f->names)
		return slab_at(&d->names, f->names);
	f->names = slab_get(&d->names);
	nm = slab_at(&d->names, f->names);
	if (nm) {
		nm->sni[0] = 0;
		nm->host[0] = 0;
	}
	return nm;
}

/* The flow's pending-record area, set up for its protocol on first use. */
static void *aux_of(struct dpi *d, struct dpi_flow *f)
{
	union aux *a;

	if (f->aux)
		return slab_at(&d->aux, f->aux);
	f->aux = slab_get(&d->aux);
	a = slab_at(&d->aux, f->aux);
	if (!a)
		return NULL;
	switch (f->app) {
	case APP_DNS: memset(a->dns, 0, sizeof(a->dns)); break;
	case APP_TLS: memset(&a->tls, 0, sizeof(a->tls)); break;
	case APP_HTTP: a->http.n = 0; break;
	case APP_SSH: memset(&a->ssh, 0, sizeof(a->ssh)); break;
	default: break;
	}
	return a;
}

/* Nothing more to learn from this flow: its buffers go back. */
static void finish_flow(struct dpi *d, struct dpi_flow *f)
{
	f->done = 1;
	reasm_release(d->reasm, &f->rd[0]);
	reasm_release(d->reasm, &f->rd[1]);
}

/* ---- DNS ---- */

static void dns_emit(struct dpi *d, struct dpi_flow *f, const struct dns_pending *q,
		     const struct dns_msg *resp, uint64_t resp_ts)
{
	struct dns_record *r = &d->rec.dns;

	memset(r, 0, sizeof(*r));
	r->flow_id = f->flow_id;
	r->rcode = -1;
	r->latency_us = -1;
	r->kind = f->port_lo == 5353 || f->port_hi == 5353 ? DNS_KIND_MDNS :
		  f->port_lo == 5355 || f->port_hi == 5355 ? DNS_KIND_LLMNR : DNS_KIND_DNS;
	if (q) {
		r->ts_ns = q->ts + (uint64_t)d->o.clock_to_epoch_ns;
		r->id = q->id;
		r->qtype = q->qtype;
		r->over_tcp = q->tcp;
		copy_str(r->qname, sizeof(r->qname), q->qname);
	}
	if (resp) {
		if (!q) {
			r->ts_ns = resp_ts + (uint64_t)d->o.clock_to_epoch_ns;
			r->id = resp->id;
			if (resp->nq) {
				r->qtype = resp->q[0].type;
				copy_str(r->qname, sizeof(r->qname), resp->q[0].name);
			}
		} else if (resp_ts >= q->ts) {
			r->latency_us = (int64_t)((resp_ts - q->ts) / 1000);
		}
		r->rcode = resp->rcode;
		for (unsigned i = 0; i < resp->na && i < REC_DNS_ANSWERS; i++) {
			r->answers[i].type = resp->a[i].type;
			r->answers[i].ttl = resp->a[i].ttl;
			copy_str(r->answers[i].data, REC_NAME, resp->a[i].data);
		}
		r->nanswers = resp->na < REC_DNS_ANSWERS ? resp->na : REC_DNS_ANSWERS;
	}
	emit(d, REC_DNS, r);
}

/* NetBIOS name service (RFC 1002) shares DNS's wire format; its names are
 * 32 letters A-P (the first-level encoding), optionally with a scope. */
static int netbios_name(const char *n)
{
	int i;

	for (i = 0; i < 32; i++)
		if (n[i] < 'A' || n[i] > 'P')
			return 0;
	return n[32] == 0 || n[32] == '.';
}

static void dns_message(struct dpi *d, struct dpi_flow *f, const uint8_t *p, uint32_t len,
			int tcp, uint64_t ts)
{
	struct dns_msg *m = &d->msg;
	struct dns_pending *pend;

	if (dns_parse(p, len, m) < 0) {
		d->st.parse_errors++;
		return;
	}
	if (m->nq && netbios_name(m->q[0].name)) {
		f->app = APP_UNKNOWN;
		finish_flow(d, f);
		return;
	}
	pend = aux_of(d, f);
	if (!m->qr) {
		struct dns_pending *slot = NULL;

		if (!pend || !m->nq)
			return;
		for (int i = 0; i < DNS_PENDING && !slot; i++)
			if (!pend[i].used)
				slot = &pend[i];
		if (!slot) { /* no room: the oldest goes out unanswered */
			slot = &pend[0];
			for (int i = 1; i < DNS_PENDING; i++)
				if (pend[i].ts < slot->ts)
					slot = &pend[i];
			dns_emit(d, f, slot, NULL, 0);
		}
		slot->used = 1;
		slot->ts = ts;
		slot->id = m->id;
		slot->qtype = m->q[0].type;
		slot->tcp = (uint8_t)tcp;
		copy_str(slot->qname, sizeof(slot->qname), m->q[0].name);
		return;
	}
	for (int i = 0; pend && i < DNS_PENDING; i++) {
		if (pend[i].used && pend[i].id == m->id &&
		    (!m->nq || !strcmp(pend[i].qname, m->q[0].name))) {
			dns_emit(d, f, &pend[i], m, ts);
			pend[i].used = 0;
			return;
		}
	}
	dns_emit(d, f, NULL, m, ts); /* a response whose query was not seen */
}

static void dns_flush(struct dpi *d, struct dpi_flow *f)
{
	struct dns_pending *pend = slab_at(&d->aux, f->aux);

	for (int i = 0; pend && i < DNS_PENDING; i++)
		if (pend[i].used)
			dns_emit(d, f, &pend[i], NULL, 0);
}

/* DNS over TCP: 2-byte length, then the message; several per connection. */
static void dns_tcp(struct dpi *d, struct dpi_flow *f, uint8_t dir, uint64_t ts)
{
	for (;;) {
		uint32_t len;
		const uint8_t *p = reasm_data(d->reasm, &f->rd[dir], &len);
		size_t mlen = p ? dns_tcp_msg_len(p, len) : 0;

		if (!p || len < 2 || mlen + 2 > len)
			return;
		dns_message(d, f, p + 2, (uint32_t)mlen, 1, ts);
		reasm_consume(d->reasm, &f->rd[dir], (uint32_t)mlen + 2);
	}
}

/* ---- TLS ---- */

static void tls_emit(struct dpi *d, struct dpi_flow *f)
{
	struct tls_record *r = slab_at(&d->aux, f->aux);

	if (r && (f->tls & TLS_CH) && !(f->tls & TLS_EMITTED)) {
		emit(d, REC_TLS, r);
		f->tls |= TLS_EMITTED;
	}
}

static void tls_client(struct dpi *d, struct dpi_flow *f, const uint8_t *p, uint32_t len,
		       uint64_t ts)
{
	struct tls_hello *h = &d->hello;
	struct tls_record *r;
	struct names *nm;
	int n = tls_find_handshake(p, len, TLS_HS_CLIENT_HELLO, d->hs, d->o.reasm_bytes);

	if (n == 0)
		return;
	f->tls |= TLS_CH;
	if (n < 0 || tls_parse_client_hello(d->hs, (size_t)n, 0, h) < 0) {
		d->st.parse_errors++;
		f->stuck[f->client] = 1;
		f->tls &= (uint8_t)~TLS_CH;
		return;
	}
	r = aux_of(d, f);
	if (!r)
		return;
	r->flow_id = f->flow_id;
	r->ts_ns = ts + (uint64_t)d->o.clock_to_epoch_ns;
	r->version = h->version;
	copy_str(r->sni, sizeof(r->sni), h->sni);
	for (unsigned i = 0; i < h->nalpn && i < REC_ALPN; i++)
		copy_str(r->alpn[i], sizeof(r->alpn[i]), h->alpn[i]);
	r->nalpn = h->nalpn < REC_ALPN ? h->nalpn : REC_ALPN;
	copy_str(r->ja3, sizeof(r->ja3), h->ja3_md5);
	copy_str(r->ja3_full, sizeof(r->ja3_full), h->ja3);
	copy_str(r->ja4, sizeof(r->ja4), h->ja4);
	if (h->sni[0] && (nm = names_of(d, f)))
		copy_str(nm->sni, sizeof(nm->sni), h->sni);
}

static void tls_server(struct dpi *d, struct dpi_flow *f, const uint8_t *p, uint32_t len,
		       int no_more)
{
	struct tls_record *r = slab_at(&d->aux, f->aux);
	int n;

	if (!r)
		return;
	if (!(f->tls & TLS_SH)) {
		n = tls_find_handshake(p, len, TLS_HS_SERVER_HELLO, d->hs, d->o.reasm_bytes);
		if (n == 0)
			return;
		f->tls |= TLS_SH;
		if (n > 0 && tls_parse_server_hello(d->hs, (size_t)n, &d->hello) == 0) {
			copy_str(r->ja3s, sizeof(r->ja3s), d->hello.ja3_md5);
			if (d->hello.version)
				r->version = d->hello.version;
		}
		/* From TLS 1.3 on the certificate is encrypted. */
		if (r->version >= 0x0304 || n < 0)
			f->tls |= TLS_CERT_DONE;
	}
	if (!(f->tls & TLS_CERT_DONE)) {
		n = tls_find_handshake(p, len, TLS_HS_CERTIFICATE, d->hs, d->o.reasm_bytes);
		if (n == 0 && !no_more)
			return;
		f->tls |= TLS_CERT_DONE;
		if (n > 0 && tls_parse_certificate(d->hs, (size_t)n, &d->cert) == 0) {
			r->has_cert = 1;
			copy_str(r->cert_subject, sizeof(r->cert_subject), d->cert.subject);
			copy_str(r->cert_issuer, sizeof(r->cert_issuer), d->cert.issuer);
			copy_str(r->cert_not_before, sizeof(r->cert_not_before), d->cert.not_before);
			copy_str(r->cert_not_after, sizeof(r->cert_not_after), d->cert.not_after);
		}
	}
	tls_emit(d, f);
	finish_flow(d, f);
}

/* ---- HTTP ---- */

static void http_emit(struct dpi *d, const struct http_record *q, const struct http_response *rs,
		      uint64_t ts)
{
	struct http_record *r = &d->rec.http;

	*r = *q;
	if (rs) {
		r->status = rs->status;
		if (ts >= q->ts_ns)
			r->latency_us = (int64_t)((ts - q->ts_ns) / 1000);
		if (!r->content_type[0])
			copy_str(r->content_type, sizeof(r->content_type), rs->content_type);
	}
	r->ts_ns += (uint64_t)d->o.clock_to_epoch_ns;
	emit(d, REC_HTTP, r);
}

/* An HTTP record from a parsed request head; ts is the packet's time. */
static void http_fill(struct dpi *d, struct dpi_flow *f, const struct http_request *q,
		      struct http_record *r, uint64_t ts)
{
	struct names *nm;

	memset(r, 0, sizeof(*r));
	r->flow_id = f->flow_id;
	r->ts_ns = ts;
	r->latency_us = -1;
	r->content_length = q->content_length;
	copy_str(r->method, sizeof(r->method), q->method);
	copy_str(r->host, sizeof(r->host), q->host);
	copy_str(r->uri, sizeof(r->uri), q->uri);
	copy_str(r->user_agent, sizeof(r->user_agent), q->user_agent);
	copy_str(r->content_type, sizeof(r->content_type), q->content_type);
	if (q->host[0] && (nm = names_of(d, f)) && !nm->host[0])
		copy_str(nm->host, sizeof(nm->host), q->host);
}

static void http_requests(struct dpi *d, struct dpi_flow *f, uint8_t dir, uint64_t ts)
{
	struct http_pending *hp = aux_of(d, f);
	struct http_request *q = &d->req;

	while (hp && !f->stuck[dir]) {
		uint32_t len;
		const uint8_t *p = reasm_data(d->reasm, &f->rd[dir], &len);
		int n = p ? http_parse_request(p, len, q) : 0;
		int64_t body;
		struct http_record *r;

		if (n == 0)
			return;
		if (n < 0) {
			f->stuck[dir] = 1;
			return;
		}
		if (hp->n == HTTP_PENDING) { /* no response for the oldest yet */
			http_emit(d, &hp->q[0], NULL, 0);
			memmove(&hp->q[0], &hp->q[1], sizeof(hp->q[0]) * (HTTP_PENDING - 1));
			hp->n--;
		}
		r = &hp->q[hp->n++];
		http_fill(d, f, q, r, ts);
		body = http_body_length(q->content_length, q->chunked, 1, q->method, 0);
		if (body < 0) {
			f->stuck[dir] = 1; /* cannot find the next request */
			return;
		}
		reasm_consume(d->reasm, &f->rd[dir], (uint32_t)n + (uint32_t)(body > 0x7fffffff ? 0x7fffffff : body));
	}
}

static void http_responses(struct dpi *d, struct dpi_flow *f, uint8_t dir, uint64_t ts)
{
	struct http_pending *hp = slab_at(&d->aux, f->aux);
	struct http_response *rs = &d->resp;

	while (hp && hp->n && !f->stuck[dir]) {
		uint32_t len;
		const uint8_t *p = reasm_data(d->reasm, &f->rd[dir], &len);
		int n = p ? http_parse_response(p, len, rs) : 0;
		int64_t body;

		if (n == 0)
			return;
		if (n < 0) {
			f->stuck[dir] = 1;
			return;
		}
		body = http_body_length(rs->content_length, rs->chunked, 0, hp->q[0].method, rs->status);
		/* 1xx heads precede the real response. */
		if (rs->status >= 200) {
			http_emit(d, &hp->q[0], rs, ts);
			f->verdict |= VERDICT_ANSWERED;
			memmove(&hp->q[0], &hp->q[1], sizeof(hp->q[0]) * (HTTP_PENDING - 1));
			hp->n--;
		}
		if (body < 0) {
			f->stuck[dir] = 1;
			return;
		}
		reasm_consume(d->reasm, &f->rd[dir], (uint32_t)n + (uint32_t)(body > 0x7fffffff ? 0x7fffffff : body));
	}
}

static void http_flush(struct dpi *d, struct dpi_flow *f)
{
	struct http_pending *hp = slab_at(&d->aux, f->aux);

	for (unsigned i = 0; hp && i < hp->n; i++)
		http_emit(d, &hp->q[i], NULL, 0);
	if (hp)
		hp->n = 0;
}

/* ---- QUIC ---- */

static void quic_client(struct dpi *d, struct dpi_flow *f, const uint8_t *data, uint32_t len,
			uint64_t ts)
{
	struct quic_conn *c;
	struct quic_record r;
	struct tls_hello *h = &d->hello;
	struct names *nm;
	const uint8_t *ch;
	size_t n;
	int rc;

	if (!f->quic) {
		f->quic = slab_get(&d->quic);
		if (f->quic) /* the contract of quic_client_datagram: a zeroed start */
			memset(slab_at(&d->quic, f->quic), 0, sizeof(struct quic_conn));
	}
	c = slab_at(&d->quic, f->quic);
	if (!c) {
		d->st.no_state++;
		return;
	}
	rc = quic_client_datagram_with(d->qc, c, data, len);
	if (rc == 0)
		return;
	ch = rc > 0 ? quic_client_hello(c, &n) : NULL;
	if (!ch || tls_parse_client_hello(ch, n, 1, h) < 0) {
		d->st.parse_errors++;
	} else {
		memset(&r, 0, sizeof(r));
		r.flow_id = f->flow_id;
		r.ts_ns = ts + (uint64_t)d->o.clock_to_epoch_ns;
		r.version = c->version;
		copy_str(r.sni, sizeof(r.sni), h->sni);
		for (unsigned i = 0; i < h->nalpn && i < REC_ALPN; i++)
			copy_str(r.alpn[i], sizeof(r.alpn[i]), h->alpn[i]);
		r.nalpn = h->nalpn < REC_ALPN ? h->nalpn : REC_ALPN;
		copy_str(r.ja4, sizeof(r.ja4), h->ja4);
		if (h->sni[0] && (nm = names_of(d, f)))
			copy_str(nm->sni, sizeof(nm->sni), h->sni);
		emit(d, REC_QUIC, &r);
	}
	slab_put(&d->quic, &f->quic);
	f->done = 1;
}

/* ---- SSH ---- */

static void ssh_emit(struct dpi *d, struct dpi_flow *f)
{
	struct ssh_pending *s = slab_at(&d->aux, f->aux);

	if (s && (s->side[0] == SSH_SEEN || s->side[1] == SSH_SEEN))
		emit(d, REC_SSH, &s->r);
	slab_put(&d->aux, &f->aux); /* so that the flow end emits nothing more */
}

/* One direction's banner, once its line is complete. no_more: the flow
 * ends, the direction will not grow. */
static void ssh_side(struct dpi *d, struct dpi_flow *f, struct ssh_pending *s, uint8_t dir,
		     int no_more)
{
	struct ssh_banner *b = &d->banner;
	struct ssh_ident *id;
	const uint8_t *p;
	uint32_t len;
	int n;

	if (s->side[dir] != SSH_WAIT)
		return;
	p = reasm_data(d->reasm, &f->rd[dir], &len);
	n = p ? ssh_parse_banner(p, len, b) : 0;
	if (n == 0 && !no_more && f->rd[dir].state <= REASM_OPEN)
		return;
	if (n <= 0) {
		if (n < 0)
			d->st.parse_errors++;
		s->side[dir] = SSH_NONE;
		f->stuck[dir] = 1;
		return;
	}
	id = dir == f->client ? &s->r.client : &s->r.server;
	copy_str(id->proto, sizeof(id->proto), b->proto);
	copy_str(id->software, sizeof(id->software), b->software);
	copy_str(id->comments, sizeof(id->comments), b->comments);
	if (!s->r.ts_ns)
		s->r.ts_ns = s->last_ts + (uint64_t)d->o.clock_to_epoch_ns;
	s->side[dir] = SSH_SEEN;
}

/* Either side may speak first (servers usually do), so both directions
 * are looked at on every segment. */
static void ssh_stream(struct dpi *d, struct dpi_flow *f, uint64_t ts)
{
	struct ssh_pending *s = aux_of(d, f);

	if (!s) {
		d->st.no_state++;
		finish_flow(d, f);
		return;
	}
	s->r.flow_id = f->flow_id;
	s->last_ts = ts;
	ssh_side(d, f, s, 0, 0);
	ssh_side(d, f, s, 1, 0);
	if (s->side[0] != SSH_WAIT && s->side[1] != SSH_WAIT) {
		ssh_emit(d, f);
		finish_flow(d, f);
	}
}

static void ssh_flush(struct dpi *d, struct dpi_flow *f)
{
	struct ssh_pending *s = slab_at(&d->aux, f->aux);

	if (s) {
		ssh_side(d, f, s, 0, 1);
		ssh_side(d, f, s, 1, 1);
	}
	ssh_emit(d, f);
}

/* ---- detection and dispatch ---- */

static enum app_proto detect_tcp(struct dpi *d, const uint8_t *p, uint32_t len)
{
	size_t mlen;

	if (tls_detect(p, len))
		return APP_TLS;
	/* Known methods are spotted early; any other method token counts once
	 * a whole head with an HTTP/1 version has arrived. */
	if (http_detect(p, len) || http_parse_request(p, len, &d->req) > 0)
		return APP_HTTP;
	if (len >= 4 && !memcmp(p, "SSH-", 4))
		return APP_SSH;
	mlen = dns_tcp_msg_len(p, len);
	if (mlen >= 12 && len >= 14 && dns_detect(p + 2, len - 2 < mlen ? len - 2 : mlen))
		return APP_DNS;
	return APP_UNKNOWN;
}

static void tcp_payload(struct dpi *d, struct dpi_flow *f, uint8_t dir, uint32_t seq,
			uint8_t flags, const uint8_t *data, uint32_t len, uint64_t ts)
{
	struct reasm_dir *rd = &f->rd[dir];
	const uint8_t *p;
	uint32_t have;

	if (f->stuck[dir] && f->app != APP_UNKNOWN)
		return;
	reasm_push(d->reasm, rd, seq, data, len, flags & XDPI_TCP_SYN);
	p = reasm_data(d->reasm, rd, &have);
	if (!p || !have)
		return;
	if (f->app == APP_UNKNOWN) {
		enum app_proto a = detect_tcp(d, p, have);

		if (a == APP_UNKNOWN) {
			if (++f->tries >= DETECT_TRIES || rd->state > REASM_OPEN)
				finish_flow(d, f);
			return;
		}
		classify(d, f, a);
		/* The client is told by what it says, not by who spoke first:
		 * live, the two directions can arrive through different CPUs'
		 * buffers, the server's answer first. */
		if (a == APP_HTTP)
			f->client = http_detect(p, have) == 2 ? dir ^ 1 : dir;
		else if (a == APP_TLS)
			f->client = have > 5 && p[5] == TLS_HS_SERVER_HELLO ? dir ^ 1 : dir;
	}
	switch (f->app) {
	case APP_TLS:
		if (dir == f->client) {
			tls_client(d, f, p, have, ts);
			if (!(f->tls & TLS_CH) || (f->tls & TLS_SH))
				break;
			/* A server half that came first waited in its buffer. */
			rd = &f->rd[dir ^ 1];
			p = reasm_data(d->reasm, rd, &have);
			if (p && have && !f->stuck[dir ^ 1])
				tls_server(d, f, p, have, rd->state > REASM_OPEN);
		} else if (f->tls & TLS_CH) {
			tls_server(d, f, p, have, rd->state > REASM_OPEN);
		}
		break;
	case APP_HTTP:
		if (dir == f->client) {
			http_requests(d, f, dir, ts);
			/* Responses that came before their request waited. */
			http_responses(d, f, dir ^ 1, ts);
		} else {
			http_responses(d, f, dir, ts);
		}
		if (f->stuck[0] && f->stuck[1])
			finish_flow(d, f);
		break;
	case APP_DNS:
		dns_tcp(d, f, dir, ts);
		break;
	case APP_SSH:
		ssh_stream(d, f, ts);
		break;
	default:
		finish_flow(d, f);
		break;
	}
}

/* HTTP over UDP (SSDP and the like): each datagram is a whole message. */
static void http_datagram(struct dpi *d, struct dpi_flow *f, const uint8_t *data, uint32_t len,
			  uint64_t ts)
{
	struct http_request *q = &d->req;
	struct http_record *r = &d->rec.http;

	if (http_parse_request(data, len, q) <= 0)
		return;
	http_fill(d, f, q, r, ts + (uint64_t)d->o.clock_to_epoch_ns);
	emit(d, REC_HTTP, r);
}

static void udp_payload(struct dpi *d, struct dpi_flow *f, uint8_t dir, const uint8_t *data,
			uint32_t len, uint64_t ts)
{
	if (f->app == APP_UNKNOWN) {
		if (dns_detect(data, len)) {
			classify(d, f, APP_DNS);
		} else if (quic_detect(data, len)) {
			classify(d, f, APP_QUIC);
			f->client = dir; /* Initials come from the client first */
		} else if (http_detect(data, len))
			classify(d, f, APP_HTTP);
		else if (++f->tries >= DETECT_TRIES)
			f->done = 1;
	}
	if (f->app == APP_DNS)
		dns_message(d, f, data, len, 0, ts);
	else if (f->app == APP_HTTP)
		http_datagram(d, f, data, len, ts);
	else if (f->app == APP_QUIC && dir == f->client)
		quic_client(d, f, data, len, ts);
}

void dpi_payload(struct dpi *d, const struct xdpi_flow_key *k, uint64_t flow_id,
		 uint8_t dir, uint8_t fwd_dir, uint32_t seq, uint8_t tcp_flags,
		 const uint8_t *data, uint32_t len, uint64_t ts)
{
	struct dpi_flow *f;
	int created;

	if (k->proto != XDPI_IPPROTO_TCP && k->proto != XDPI_IPPROTO_UDP)
		return;
	if (!len && !(tcp_flags & XDPI_TCP_SYN))
		return;
	f = flowtab_upsert(d->flows, k, &created);
	if (!f) {
		d->st.no_state++;
		return;
	}
	if (created) {
		f->flow_id = flow_id;
		f->client = fwd_dir & 1;
		f->port_lo = k->lo_port;
		f->port_hi = k->hi_port;
	}
	d->last = f;
	if (f->done)
		return;
	d->st.payloads++;
	dir &= 1;
	if (k->proto == XDPI_IPPROTO_TCP)
		tcp_payload(d, f, dir, seq, tcp_flags, data, len, ts);
	else if (len)
		udp_payload(d, f, dir, data, len, ts);
}

/* IP in IP (6in4, 4in4): the inner packet goes to the parsers under its own
 * 5-tuple, its records linked to the outer flow. One level deep. */
static void tunnel(struct dpi *d, const uint8_t *inner, uint32_t len, int v6,
			 uint64_t outer_id, uint64_t ts)
{
	static _Thread_local uint8_t buf[14 + 65536];
	struct xdpi_flow_key key;
	struct xdpi_pkt p;
	uint8_t dir;

	if (len > sizeof(buf) - 14)
		len = sizeof(buf) - 14;
	memset(buf, 0, 12);
	buf[12] = v6 ? 0x86 : 0x08;
	buf[13] = v6 ? 0xdd : 0x00;
	memcpy(buf + 14, inner, len);
	if (xdpi_parse(buf, buf + 14 + len, 0, &p) != XDPI_P_FLOW ||
	    p.proto == XDPI_IPPROTO_IPIP || p.proto == XDPI_IPPROTO_IPV6 ||
	    !(p.payload_len || (p.tcp_flags & XDPI_TCP_SYN)))
		return;
	dir = xdpi_flow_key_from_pkt(&p, &key);
	dpi_payload(d, &key, outer_id, dir, dir, p.tcp_seq, p.tcp_flags,
		    buf + p.payload_off, p.payload_len, ts);
}

void dpi_packet(struct dpi *d, const struct xdpi_flow_key *k, uint64_t flow_id, uint8_t dir,
		uint8_t fwd_dir, const struct xdpi_pkt *p, const uint8_t *frame, uint64_t ts)
{
	if (!p->payload_len && !(p->tcp_flags & XDPI_TCP_SYN))
		return;
	if (p->proto == XDPI_IPPROTO_IPIP || p->proto == XDPI_IPPROTO_IPV6)
		tunnel(d, frame + p->payload_off, p->payload_len, p->proto == XDPI_IPPROTO_IPV6,
		       flow_id, ts);
	else
		dpi_payload(d, k, flow_id, dir, fwd_dir, p->tcp_seq, p->tcp_flags,
			    frame + p->payload_off, p->payload_len, ts);
}

void dpi_thread_done(void)
{
	quic_thread_cleanup();
}

void dpi_flush_all(struct dpi *d)
{
	while (flowtab_count(d->flows)) {
		const struct xdpi_flow_key *k;
		struct xdpi_flow_key key;
		void *v;

		flowtab_at(d->flows, flowtab_count(d->flows) - 1, &k, &v);
		key = *k;
		dpi_flow_end(d, &key);
	}
}

void dpi_annotate(struct dpi *d, const struct xdpi_flow_key *k, struct flow_record *r)
{
	struct dpi_flow *f = flowtab_lookup(d->flows, k);
	struct names *nm;

	if (!f)
		return;
	r->app_proto = f->app;
	nm = slab_at(&d->names, f->names);
	if (nm) {
		copy_str(r->sni, sizeof(r->sni), nm->sni);
		copy_str(r->host, sizeof(r->host), nm->host);
	}
}

int dpi_take_verdict(struct dpi *d, struct xdpi_verdict *v)
{
	struct dpi_flow *f = d->last;
	struct names *nm;

	d->last = NULL;
	if (!f || (f->verdict & VERDICT_TAKEN) || !(f->done || (f->verdict & VERDICT_ANSWERED)))
		return 0;
	f->verdict |= VERDICT_TAKEN;
	memset(v, 0, sizeof(*v));
	v->app_proto = f->app;
	nm = slab_at(&d->names, f->names);
	if (nm)
		copy_str(v->name, sizeof(v->name), nm->sni[0] ? nm->sni : nm->host);
	return 1;
}

void dpi_flow_end(struct dpi *d, const struct xdpi_flow_key *k)
{
	struct dpi_flow *f = flowtab_lookup(d->flows, k);

	d->last = NULL;
	if (!f)
		return;
	switch (f->app) {
	case APP_TLS: tls_emit(d, f); break;
	case APP_DNS: dns_flush(d, f); break;
	case APP_HTTP: http_flush(d, f); break;
	case APP_SSH: ssh_flush(d, f); break;
	default: break;
	}
	reasm_release(d->reasm, &f->rd[0]);
	reasm_release(d->reasm, &f->rd[1]);
	slab_put(&d->aux, &f->aux);
	slab_put(&d->names, &f->names);
	slab_put(&d->quic, &f->quic);
	flowtab_remove(d->flows, k, NULL);
}
