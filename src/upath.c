#include "upath.h"

#include <string.h>
#include "dpi.h"
#include "flownames.h"
#include "flowtrack.h"
#include "stats.h"
#include "xdpi/flow.h"
#include "xdpi/parse.h"

static void event(struct upath *u, uint32_t type, const struct xdpi_flow_key *k,
		  const struct xdpi_pkt *p, uint8_t dir, uint64_t ts)
{
	struct xdpi_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.ts_ns = ts;
	e.key = *k;
	e.tcp_seq = p->tcp_seq;
	e.pkt_len = p->ip_len;
	e.dir = dir;
	e.tcp_flags = p->tcp_flags;
	u->counters[type == XDPI_EV_FLOW_START ? XDPI_C_EV_START : XDPI_C_EV_END]++;
	u->counters[XDPI_C_EV_BYTES] += sizeof(e);
	ingest_event(u->ingest, &e, sizeof(e));
}

static void snippet(struct upath *u, const uint8_t *frame, const struct xdpi_flow_key *k,
		    const struct xdpi_pkt *p, uint8_t dir, uint8_t index, uint64_t ts)
{
	struct xdpi_snippet_event e;
	uint32_t len = p->payload_len;

	if (len > u->snippet_bytes)
		len = u->snippet_bytes;
	if (len > XDPI_SNIPPET_MAX)
		len = XDPI_SNIPPET_MAX;
	if (!len)
		return;
	memset(&e.hdr, 0, sizeof(e.hdr));
	e.hdr.type = XDPI_EV_SNIPPET;
	e.hdr.len = len;
	e.hdr.ts_ns = ts;
	e.hdr.key = *k;
	e.hdr.tcp_seq = p->tcp_seq;
	e.hdr.pkt_len = p->ip_len;
	e.hdr.dir = dir;
	e.hdr.tcp_flags = p->tcp_flags;
	e.hdr.pkt_index = index;
	memcpy(e.data, frame + p->payload_off, len);
	u->counters[XDPI_C_EV_SNIPPET]++;
	u->counters[XDPI_C_EV_BYTES] += sizeof(e.hdr) + len;
	ingest_event(u->ingest, &e, sizeof(e.hdr) + len);
}

void upath_packet(struct upath *u, const uint8_t *frame, uint32_t caplen,
		  uint32_t cut, uint64_t ts)
{
	struct xdpi_pkt p;
	int rc = xdpi_parse((void *)frame, (void *)(frame + caplen), cut, &p);

	upath_account(u, frame, &p, rc, ts);
}

void upath_account(struct upath *u, const uint8_t *frame, const struct xdpi_pkt *p,
		   int rc, uint64_t ts)
{
	struct xdpi_flow_key key;
	struct xdpi_flow_val *v;
	uint8_t dir, fresh;
	int created;

	u->counters[XDPI_C_PACKETS]++;
	counters_add_anomalies(u->counters, p->anomalies);
	if (rc == XDPI_P_NON_IP) {
		u->counters[XDPI_C_NON_IP]++;
		return;
	}
	if (rc != XDPI_P_FLOW)
		return;
	if (p->frag)
		u->counters[XDPI_C_IP_FRAGMENTS]++;

	dir = xdpi_flow_key_from_pkt(p, &key);
	v = flowtab_upsert(u->flows, &key, &created);
	if (!v) {
		u->counters[XDPI_C_FLOW_UPDATE_FAIL]++;
		return;
	}
	if (created) {
		xdpi_flow_val_init(v, p, dir, ts);
		u->counters[XDPI_C_FLOWS_CREATED]++;
		event(u, XDPI_EV_FLOW_START, &key, p, dir, ts);
	}
	u->counters[XDPI_C_FLOW_PACKETS]++;
	fresh = xdpi_flow_val_update(v, p, dir, ts);
	if (fresh)
		event(u, XDPI_EV_FLOW_END, &key, p, dir, ts);
	flownames_packet(u->names, &u->name_walk, &key, v, p, dir, frame, u->counters);
	if (u->snippet_pkts && xdpi_flow_take_snippet(v, p, dir, u->snippet_pkts))
		snippet(u, frame, &key, p, dir, v->dir[dir & 1].snippets - 1, ts);
	/* Offline the parsers get whole payloads, not just the snippets. */
	if (u->dpi)
		dpi_packet(u->dpi, &key, flowtrack_flow_id(&key, v->first_ns), dir, v->first_dir,
			   p, frame, ts);
}
