#include "flowtrack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"
#include "xdpi/parse.h"

/* What the tracker remembers per flow between passes. */
struct track {
	uint64_t flow_id;
	uint64_t rec_start_ns;   /* start of the record being built */
	uint64_t base_pkts[2];   /* already exported by active-timeout records */
	uint64_t base_bytes[2];
	struct xdpi_tcp_dir base_tcp[2]; /* TCP counters already exported */
	uint32_t seen_gen;
};

/* A flow to take out of the store once the scan is over (the store must
 * not change under its own scan). */
struct pending {
	struct xdpi_flow_key key;
	enum end_reason reason;
};

struct flowtrack {
	struct flowtrack_opts o;
	struct flowstore *store;
	struct output *out;
	struct flowtab *tracks;
	struct pending *pend;
	uint32_t npend;
	uint32_t gen;
	uint64_t now;
	int flushing;
	struct flowtrack_stats st;
};

uint64_t flowtrack_flow_id(const struct xdpi_flow_key *k, uint64_t first_ns)
{
	/* 53 bits: exact in every JSON reader. */
	return flow_key_hash(k, first_ns) & ((1ULL << 53) - 1);
}

struct flowtrack *flowtrack_new(const struct flowtrack_opts *o,
				struct flowstore *store, struct output *out)
{
	struct flowtrack *ft = calloc(1, sizeof(*ft));

	if (!ft)
		return NULL;
	ft->o = *o;
	ft->store = store;
	ft->out = out;
	ft->tracks = flowtab_new(o->max_flows, sizeof(struct track));
	ft->pend = calloc(o->max_flows, sizeof(*ft->pend));
	if (!ft->tracks || !ft->pend) {
		flowtrack_free(ft);
		return NULL;
	}
	return ft;
}

void flowtrack_free(struct flowtrack *ft)
{
	if (!ft)
		return;
	flowtab_free(ft->tracks);
	free(ft->pend);
	free(ft);
}

static enum end_reason closing_reason(const struct xdpi_flow_val *v, int *closing)
{
	uint8_t f0 = v->dir[0].tcp_flags, f1 = v->dir[1].tcp_flags;

	*closing = 1;
	if ((f0 | f1) & XDPI_TCP_RST)
		return END_RST;
	if ((f0 & XDPI_TCP_FIN) && (f1 & XDPI_TCP_FIN))
		return END_FIN;
	*closing = 0;
	return END_IDLE;
}

/* Decides whether a flow produces a record now; -1 if not. */
static int decide(const struct flowtrack *ft, const struct track *t,
		  const struct xdpi_flow_val *v)
{
	uint64_t now = ft->now, quiet = now > v->last_ns ? now - v->last_ns : 0;
	int closing;
	enum end_reason r = closing_reason(v, &closing);

	if (ft->flushing)
		return END_SHUTDOWN;
	if (closing && quiet >= ft->o.close_grace_ns)
		return r;
	if (quiet >= ft->o.idle_ns)
		return END_IDLE;
	if (ft->o.active_ns && now - t->rec_start_ns >= ft->o.active_ns &&
	    now > t->rec_start_ns)
		return END_ACTIVE;
	return -1;
}

static struct track *track_get(struct flowtrack *ft, const struct xdpi_flow_key *k,
			       const struct xdpi_flow_val *v)
{
	int created;
	struct track *t = flowtab_upsert(ft->tracks, k, &created);

	if (t && created) {
		t->flow_id = flowtrack_flow_id(k, v->first_ns);
		t->rec_start_ns = v->first_ns;
	}
	return t;
}

static void emit(struct flowtrack *ft, const struct xdpi_flow_key *k,
		 const struct xdpi_flow_val *v, struct track *t, enum end_reason r);

/* A record for the interval so far; the flow goes on from its counters. */
static void active_record(struct flowtrack *ft, const struct xdpi_flow_key *k,
			  const struct xdpi_flow_val *v, struct track *t)
{
	emit(ft, k, v, t, END_ACTIVE);
	for (int d = 0; d < 2; d++) {
		t->base_pkts[d] = v->dir[d].pkts;
		t->base_bytes[d] = v->dir[d].bytes;
		t->base_tcp[d] = v->tcp[d];
	}
	t->rec_start_ns = v->last_ns;
}

static int visit(const struct xdpi_flow_key *k, const struct xdpi_flow_val *v, void *arg)
{
	struct flowtrack *ft = arg;
	struct track *t = track_get(ft, k, v);
	struct pending *p;
	int r;

	if (!t)
		return 0; /* tracker full: the flow is seen again next pass */
	t->seen_gen = ft->gen;
	r = decide(ft, t, v);
	if (r == END_ACTIVE) {
		active_record(ft, k, v, t);
		return 0;
	}
	if (r < 0 || ft->npend >= ft->o.max_flows)
		return 0;
	p = &ft->pend[ft->npend++];
	p->key = *k;
	p->reason = (enum end_reason)r;
	return 0;
}

/* Handshake round trip half from two stamps, -1 without both in order. */
static int64_t rtt_us(uint64_t from_ns, uint64_t to_ns)
{
	if (!from_ns || !to_ns || to_ns < from_ns)
		return -1;
	return (int64_t)((to_ns - from_ns) / 1000);
}

/* TCP metrics of the record: counters since the last active-timeout record
 * (unsigned differences, so a wrapped 16-bit counter still subtracts). */
static void tcp_metrics(struct flow_record *rec, const struct xdpi_flow_val *v,
			const struct track *t, int fwd)
{
	int rev = fwd ^ 1;
	const struct xdpi_tcp_dir *a = v->tcp, *b = t->base_tcp;

	rec->has_tcp = 1;
	rec->rtt_syn_us = rtt_us(v->syn_ns, v->synack_ns);
	rec->rtt_ack_us = rtt_us(v->synack_ns, v->ack_ns);
	rec->retrans_fwd = a[fwd].retrans - b[fwd].retrans;
	rec->retrans_rev = a[rev].retrans - b[rev].retrans;
	rec->ooo_fwd = a[fwd].ooo - b[fwd].ooo;
	rec->ooo_rev = a[rev].ooo - b[rev].ooo;
	rec->zero_win_fwd = (uint16_t)(a[fwd].zero_win - b[fwd].zero_win);
	rec->zero_win_rev = (uint16_t)(a[rev].zero_win - b[rev].zero_win);
	rec->rst_fwd = (uint16_t)(a[fwd].rst - b[fwd].rst);
	rec->rst_rev = (uint16_t)(a[rev].rst - b[rev].rst);
}

static void emit(struct flowtrack *ft, const struct xdpi_flow_key *k,
		 const struct xdpi_flow_val *v, struct track *t, enum end_reason r)
{
	struct flow_record rec;
	int fwd = v->first_dir & 1, rev = fwd ^ 1;
	uint64_t pf = v->dir[fwd].pkts - t->base_pkts[fwd];
	uint64_t pr = v->dir[rev].pkts - t->base_pkts[rev];

	if (!pf && !pr)
		return; /* nothing new since the last active-timeout record */
	memset(&rec, 0, sizeof(rec));
	rec.flow_id = t->flow_id;
	if (fwd == XDPI_DIR_LO_HI) {
		memcpy(rec.src_ip, k->lo_addr, 16);
		memcpy(rec.dst_ip, k->hi_addr, 16);
		rec.src_port = k->lo_port;
		rec.dst_port = k->hi_port;
	} else {
		memcpy(rec.src_ip, k->hi_addr, 16);
		memcpy(rec.dst_ip, k->lo_addr, 16);
		rec.src_port = k->hi_port;
		rec.dst_port = k->lo_port;
	}
	rec.vlan = k->vlan;
	rec.proto = k->proto;
	rec.family = k->family;
	rec.pkts_fwd = pf;
	rec.pkts_rev = pr;
	rec.bytes_fwd = v->dir[fwd].bytes - t->base_bytes[fwd];
	rec.bytes_rev = v->dir[rev].bytes - t->base_bytes[rev];
	rec.tcp_flags_fwd = v->dir[fwd].tcp_flags;
	rec.tcp_flags_rev = v->dir[rev].tcp_flags;
	rec.has_icmp = k->proto == XDPI_IPPROTO_ICMP || k->proto == XDPI_IPPROTO_ICMPV6;
	rec.icmp_type = v->icmp_type;
	rec.icmp_code = v->icmp_code;
	if (k->proto == XDPI_IPPROTO_TCP)
		tcp_metrics(&rec, v, t, fwd);
	rec.start_ns = t->rec_start_ns + ft->o.clock_to_epoch_ns;
	rec.end_ns = v->last_ns + ft->o.clock_to_epoch_ns;
	rec.end_reason = r;
	rec.ifname = ft->o.ifname;
	rec.app_proto = v->app_proto;
	rec.pkt_sampling = v->pkt_sample;
	rec.flow_sampling = v->flow_sample;
	if (ft->o.report_sampling) {
		rec.sampling = (uint16_t)(1u << (v->sample_log2 & 15));
		rec.shed = (v->sampled_out & XDPI_OUT_SHED) != 0;
	}
	if (ft->o.annotate)
		ft->o.annotate(k, &rec, ft->o.annotate_arg);
	output_flow(ft->out, &rec);
	ft->st.records[r]++;
}

static void finish(struct flowtrack *ft, const struct pending *p)
{
	struct track *t = flowtab_lookup(ft->tracks, &p->key);
	struct xdpi_flow_val final;

	if (!t)
		return;
	/* Take the flow out of the store: its counters are final from here. */
	if (ft->store->take(ft->store, &p->key, &final) == 0)
		emit(ft, &p->key, &final, t, p->reason);
	else
		ft->st.evicted++; /* gone between the scan and now */
	ft->st.flows_exported++;
	flowtab_remove(ft->tracks, &p->key, NULL);
	if (ft->o.on_export)
		ft->o.on_export(&p->key, ft->o.on_export_arg);
}

/* Drops tracker entries whose flow left the store without an export (LRU
 * eviction in the kernel); nothing is left to count for them. */
static void sweep(struct flowtrack *ft)
{
	for (uint32_t i = flowtab_count(ft->tracks); i-- > 0;) {
		const struct xdpi_flow_key *k;
		struct track *t;

		flowtab_at(ft->tracks, i, &k, (void **)&t);
		if (t->seen_gen != ft->gen) {
			struct xdpi_flow_key key = *k;

			ft->st.evicted++;
			flowtab_remove(ft->tracks, &key, NULL);
		}
	}
}

int flowtrack_tick(struct flowtrack *ft, uint64_t now)
{
	int err;

	ft->now = now;
	ft->gen++;
	ft->npend = 0;
	err = ft->store->scan(ft->store, visit, ft);
	if (err) {
		ft->st.scan_errors++;
		return err;
	}
	for (uint32_t i = 0; i < ft->npend; i++)
		finish(ft, &ft->pend[i]);
	sweep(ft);
	return 0;
}

int flowtrack_flush(struct flowtrack *ft)
{
	int err;

	ft->flushing = 1;
	err = flowtrack_tick(ft, ft->now);
	ft->flushing = 0;
	return err;
}

const struct flowtrack_stats *flowtrack_stats(const struct flowtrack *ft)
{
	return &ft->st;
}

uint64_t flowtrack_records(const struct flowtrack *ft)
{
	uint64_t n = 0;

	for (int i = 0; i <= END_SHUTDOWN; i++)
		n += ft->st.records[i];
	return n;
}

uint32_t flowtrack_open(const struct flowtrack *ft)
{
	return flowtab_count(ft->tracks);
}
