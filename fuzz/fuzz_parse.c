/* libFuzzer target: the shared parser (include/xdpi/parse.h) and the
 * user-space datapath behind it (src/upath.c) on arbitrary frames.
 *
 * Input: 2 bytes of `cut` (big endian: bytes the snap length removed), then
 * the frame, Ethernet first. Sanitizers catch memory errors; the invariants
 * below trap on results that cannot be right for any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flowtab.h"
#include "ingest.h"
#include "upath.h"
#include "xdpi/abi.h"
#include "xdpi/flow.h"
#include "xdpi/parse.h"

/* The IP header must be 4-byte aligned for the parser's header structs, so
 * frames start 2 bytes past an aligned address. */
#ifndef FUZZ_FRAME_SHIFT
#define FUZZ_FRAME_SHIFT 2
#endif

#define SNIPPET_BYTES 64
#define SNIPPET_PKTS  2
#define REPEATS       3

#define ENSURE(c)                                                              \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

#define ANOM_ALL ((XDPI_ANOM(XDPI_ANOMALY_LAST) << 1) - 1)

static int has_ports(uint8_t proto)
{
	return proto == XDPI_IPPROTO_TCP || proto == XDPI_IPPROTO_UDP ||
	       proto == XDPI_IPPROTO_UDPLITE || proto == XDPI_IPPROTO_SCTP;
}

static void check_pkt(const struct xdpi_pkt *p, int rc, size_t size)
{
	ENSURE(rc == XDPI_P_FLOW || rc == XDPI_P_NON_IP || rc == XDPI_P_BAD);
	ENSURE(!(p->anomalies & ~(uint32_t)ANOM_ALL));
	ENSURE(p->vlan == XDPI_VLAN_NONE || p->vlan < 4096);
	ENSURE(p->frag <= XDPI_FRAG_NONFIRST);
	ENSURE(p->has_tcp_flags <= 1);
	if (p->has_tcp_flags)
		ENSURE(p->proto == XDPI_IPPROTO_TCP);
	else
		ENSURE(p->tcp_flags == 0);
	if (p->sport || p->dport)
		ENSURE(has_ports(p->proto));
	if (p->icmp_type || p->icmp_code)
		ENSURE(p->proto == XDPI_IPPROTO_ICMP || p->proto == XDPI_IPPROTO_ICMPV6);
	if (p->frag == XDPI_FRAG_NONFIRST)
		ENSURE(!p->sport && !p->dport && !p->payload_len && !p->has_tcp_flags);

	if (rc != XDPI_P_FLOW) {
		ENSURE(p->family == 0);
		ENSURE(!p->sport && !p->dport && !p->payload_len);
		return;
	}
	ENSURE(p->family == 4 || p->family == 6);
	/* A TCP header the parser did not read must show up as an anomaly. */
	if (p->proto == XDPI_IPPROTO_TCP && p->frag != XDPI_FRAG_NONFIRST && !p->anomalies)
		ENSURE(p->has_tcp_flags);
	ENSURE(p->l3_off < size);
	ENSURE((size_t)p->l3_off + (p->family == 4 ? 20 : 40) <= size);
	ENSURE(p->ip_len >= (p->family == 4 ? 20u : 40u));
	if (p->payload_len) {
		ENSURE((uint64_t)p->payload_off + p->payload_len <= size);
		/* After an L4 header of 8+ bytes, or right after the IP header for
		 * IP-in-IP, whose payload is the inner packet. */
		ENSURE(p->payload_off >= p->l3_off + (p->family == 4 ? 20u : 40u) +
					 (p->proto == XDPI_IPPROTO_IPIP || p->proto == XDPI_IPPROTO_IPV6 ? 0u : 8u));
		/* IPv4 payload ends where the header says (or the capture). */
		if (p->family == 4)
			ENSURE((uint64_t)p->payload_off + p->payload_len <=
			       (uint64_t)p->l3_off + p->ip_len);
	}
}

/* Both directions of the packet's conversation share its key. */
static void check_key(const struct xdpi_pkt *p)
{
	struct xdpi_flow_key k, kr;
	struct xdpi_pkt r = *p;
	uint8_t d, dr;

	memcpy(r.src, p->dst, 16);
	memcpy(r.dst, p->src, 16);
	r.sport = p->dport;
	r.dport = p->sport;
	d = xdpi_flow_key_from_pkt(p, &k);
	dr = xdpi_flow_key_from_pkt(&r, &kr);
	ENSURE(!memcmp(&k, &kr, sizeof(k)));
	ENSURE(d <= XDPI_DIR_HI_LO && dr <= XDPI_DIR_HI_LO);
	if (memcmp(p->src, p->dst, 16) || p->sport != p->dport)
		ENSURE(d != dr);
	ENSURE(k.family == p->family && k.proto == p->proto && k.vlan == p->vlan);
}

static struct flowtab *flows;

static void clear_flows(void)
{
	for (uint32_t i = flowtab_count(flows); i-- > 0;) {
		const struct xdpi_flow_key *k;
		struct xdpi_flow_key key;
		void *v;

		flowtab_at(flows, i, &k, &v);
		key = *k;
		ENSURE(flowtab_remove(flows, &key, NULL) == 0);
	}
	ENSURE(flowtab_count(flows) == 0);
}

/* The same frame REPEATS times through the user-space path. */
static void check_upath(const uint8_t *frame, size_t size, uint32_t cut,
			const struct xdpi_pkt *p, int rc)
{
	struct ingest in = { .snippet_max = SNIPPET_BYTES };
	struct upath u = {
		.flows = flows,
		.ingest = &in,
		.snippet_bytes = SNIPPET_BYTES,
		.snippet_pkts = SNIPPET_PKTS,
	};
	uint32_t snip_len = p->payload_len < SNIPPET_BYTES ? p->payload_len : SNIPPET_BYTES;

	clear_flows();
	for (int i = 0; i < REPEATS; i++)
		upath_packet(&u, frame, (uint32_t)size, cut, 1000 * (uint64_t)i);

	ENSURE(in.st.malformed == 0);
	ENSURE(u.counters[XDPI_C_PACKETS] == REPEATS);
	for (int c = XDPI_ANOMALY_FIRST; c <= XDPI_ANOMALY_LAST; c++)
		ENSURE(u.counters[c] == ((p->anomalies & XDPI_ANOM(c)) ? REPEATS : 0));
	ENSURE(u.counters[XDPI_C_NON_IP] == (rc == XDPI_P_NON_IP ? REPEATS : 0));
	ENSURE(u.counters[XDPI_C_IP_FRAGMENTS] ==
	       (rc == XDPI_P_FLOW && p->frag ? REPEATS : 0));
	if (rc != XDPI_P_FLOW) {
		ENSURE(flowtab_count(flows) == 0);
		ENSURE(u.counters[XDPI_C_FLOW_PACKETS] == 0);
		ENSURE(in.st.flow_start + in.st.flow_end + in.st.snippets == 0);
		return;
	}

	struct xdpi_flow_key k;
	struct xdpi_flow_val *v;
	uint8_t dir = xdpi_flow_key_from_pkt(p, &k);

	ENSURE(flowtab_count(flows) == 1);
	v = flowtab_lookup(flows, &k);
	ENSURE(v);
	ENSURE(v->first_dir == dir && v->first_ns == 0 && v->last_ns == 1000 * (REPEATS - 1));
	ENSURE(v->dir[dir].pkts == REPEATS && v->dir[dir ^ 1].pkts == 0);
	ENSURE(v->dir[dir].bytes == (uint64_t)REPEATS * p->ip_len);
	ENSURE(v->dir[dir].tcp_flags == p->tcp_flags);
	ENSURE(u.counters[XDPI_C_FLOW_PACKETS] == REPEATS);
	ENSURE(u.counters[XDPI_C_FLOWS_CREATED] == 1);
	ENSURE(in.st.flow_start == 1);
	ENSURE(in.st.flow_end ==
	       ((p->tcp_flags & (XDPI_TCP_FIN | XDPI_TCP_RST)) ? 1u : 0u));
	ENSURE(in.st.snippets == (snip_len ? SNIPPET_PKTS : 0));
	ENSURE(in.st.snippet_bytes == (uint64_t)in.st.snippets * snip_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xdpi_pkt p, again;
	uint8_t *buf, *frame;
	uint32_t cut;
	int rc;

	if (size < 2)
		return 0;
	cut = (uint32_t)data[0] << 8 | data[1];
	data += 2;
	size -= 2;
	if (!flows) {
		flows = flowtab_new(16, sizeof(struct xdpi_flow_val));
		ENSURE(flows);
	}

	/* A copy that ends where the frame does, so reads past it are caught. */
	buf = malloc(FUZZ_FRAME_SHIFT + size);
	ENSURE(buf);
	frame = buf + FUZZ_FRAME_SHIFT;
	memcpy(frame, data, size);

	rc = xdpi_parse(frame, frame + size, cut, &p);
	check_pkt(&p, rc, size);
	memset(&again, 0x5a, sizeof(again));
	ENSURE(xdpi_parse(frame, frame + size, cut, &again) == rc);
	ENSURE(!memcmp(&p, &again, sizeof(p)));
	if (rc == XDPI_P_FLOW)
		check_key(&p);
	check_upath(frame, size, cut, &p, rc);

	free(buf);
	return 0;
}
