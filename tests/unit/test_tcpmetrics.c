/* TCP metrics of flow records: the segment fields of the parser
 * (include/xdpi/parse.h), the per-segment tracking in xdpi_flow_val_update
 * (include/xdpi/flow.h), the per-CPU merge (src/flowstore.c), and the
 * record and its JSON (src/flowtrack.c, src/sink/jsonl.c). Segments are
 * crafted with exact sequence numbers and times, so every count is exact. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "flowstore.h"
#include "flowtab.h"
#include "flowtrack.h"
#include "output.h"
#include "sink/jsonl.h"
#include "xdpi/abi.h"
#include "xdpi/flow.h"
#include "xdpi/parse.h"

#define EQ(a, b) CHECK_EQ(a, b, #a)
#define MS       1000000ULL /* ns */

static const uint8_t cli_ip[4] = { 10, 0, 0, 1 };
static const uint8_t srv_ip[4] = { 192, 168, 7, 200 };

/* ---- parser: segment length and window ---- */

static size_t frame_tcp(uint8_t *b, uint8_t doff_words, uint16_t win, const char *data)
{
	size_t n = strlen(data), ip_len = 20 + 20 + n;
	uint8_t *ip = b + 14, *th = ip + 20;

	memset(b, 0, 14 + ip_len);
	b[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[8] = 64;
	ip[9] = XDPI_IPPROTO_TCP;
	memcpy(ip + 12, cli_ip, 4);
	memcpy(ip + 16, srv_ip, 4);
	th[0] = 0x9c; th[1] = 0x40;             /* 40000 */
	th[3] = 80;
	th[4] = 0xff; th[5] = 0xff; th[6] = 0xff; th[7] = 0xf0; /* seq */
	th[12] = (uint8_t)(doff_words << 4);
	th[13] = XDPI_TCP_ACK | XDPI_TCP_PSH;
	th[14] = (uint8_t)(win >> 8);
	th[15] = (uint8_t)win;
	memcpy(th + 20, data, n);
	return 14 + ip_len;
}

static void test_parse_segment(void)
{
	uint8_t b[128];
	struct xdpi_pkt p;
	size_t n = frame_tcp(b, 5, 0, "0123456789abcdef");

	EQ(xdpi_parse(b, b + n, 0, &p), XDPI_P_FLOW);
	EQ(p.has_tcp_seg, 1);
	EQ(p.tcp_len, 16);
	EQ(p.tcp_win, 0);
	EQ(p.tcp_seq, 0xfffffff0u);

	/* Snap length cut: the segment keeps the length the IP header states. */
	EQ(xdpi_parse(b, b + n - 10, 10, &p), XDPI_P_FLOW);
	EQ(p.payload_len, 6);
	EQ(p.has_tcp_seg, 1);
	EQ(p.tcp_len, 16);

	n = frame_tcp(b, 5, 0x1234, "");
	EQ(xdpi_parse(b, b + n, 0, &p), XDPI_P_FLOW);
	EQ(p.has_tcp_seg, 1);
	EQ(p.tcp_len, 0);
	EQ(p.tcp_win, 0x1234);

	/* Data offset under 20, or past the IP length: no segment. */
	n = frame_tcp(b, 4, 0, "abcd");
	EQ(xdpi_parse(b, b + n, 0, &p), XDPI_P_FLOW);
	EQ(p.has_tcp_seg, 0);
	n = frame_tcp(b, 7, 0, "abcd");
	EQ(xdpi_parse(b, b + n, 0, &p), XDPI_P_FLOW);
	EQ(p.has_tcp_seg, 0);

	/* Header cut before the window: flags only. */
	n = frame_tcp(b, 5, 0, "");
	EQ(xdpi_parse(b, b + 14 + 20 + 14, 6, &p), XDPI_P_FLOW);
	EQ(p.has_tcp_flags, 1);
	EQ(p.has_tcp_seg, 0);
}

/* ---- tracking on crafted segments ---- */

struct conv {
	struct xdpi_flow_val v;
	uint8_t dc, ds; /* directions of client and server segments */
	int started;
};

static void seg_pkt(struct xdpi_pkt *p, int from_client, uint32_t seq, uint32_t len,
		    uint8_t flags, uint16_t win)
{
	memset(p, 0, sizeof(*p));
	p->family = 4;
	p->proto = XDPI_IPPROTO_TCP;
	p->vlan = XDPI_VLAN_NONE;
	memcpy(p->src, from_client ? cli_ip : srv_ip, 4);
	memcpy(p->dst, from_client ? srv_ip : cli_ip, 4);
	p->sport = from_client ? 40000 : 443;
	p->dport = from_client ? 443 : 40000;
	p->tcp_flags = flags;
	p->has_tcp_flags = 1;
	p->has_tcp_seg = 1;
	p->tcp_seq = seq;
	p->tcp_len = len;
	p->tcp_win = win;
	p->ip_len = 40 + len;
}

/* One segment through the shared accounting, as both paths do it. */
static void seg(struct conv *c, int from_client, uint32_t seq, uint32_t len,
		uint8_t flags, uint64_t ts)
{
	struct xdpi_flow_key k;
	struct xdpi_pkt p;
	uint8_t dir;

	seg_pkt(&p, from_client, seq, len, flags, 512);
	dir = xdpi_flow_key_from_pkt(&p, &k);
	if (!c->started) {
		xdpi_flow_val_init(&c->v, &p, dir, ts);
		c->dc = from_client ? dir : dir ^ 1;
		c->ds = c->dc ^ 1;
		c->started = 1;
	}
	xdpi_flow_val_update(&c->v, &p, dir, ts);
}

static void seg_win(struct conv *c, int from_client, uint32_t seq, uint32_t len,
		    uint8_t flags, uint16_t win, uint64_t ts)
{
	struct xdpi_flow_key k;
	struct xdpi_pkt p;

	seg_pkt(&p, from_client, seq, len, flags, win);
	xdpi_flow_val_update(&c->v, &p, xdpi_flow_key_from_pkt(&p, &k), ts);
}

#define A XDPI_TCP_ACK
#define S XDPI_TCP_SYN
#define F XDPI_TCP_FIN
#define R XDPI_TCP_RST
#define PA (XDPI_TCP_PSH | XDPI_TCP_ACK)

/* Client ISN 1000, server ISN 5000; handshake at 1, 11, 12 ms: iRTT 11 ms. */
static void handshake(struct conv *c)
{
	memset(c, 0, sizeof(*c));
	seg(c, 1, 1000, 0, S, 1 * MS);
	seg(c, 0, 5000, 0, S | A, 11 * MS);
	seg(c, 1, 1001, 0, A, 12 * MS);
}

static void test_handshake(void)
{
	struct conv c;

	handshake(&c);
	EQ(c.v.syn_ns, 1 * MS);
	EQ(c.v.synack_ns, 11 * MS);
	EQ(c.v.ack_ns, 12 * MS);
	EQ(c.v.tcp_state & XDPI_TS_CLIENT, XDPI_TS_CLIENT);
	EQ(!!(c.v.tcp_state & XDPI_TS_CLIENT_HI), c.dc == XDPI_DIR_HI_LO);
	EQ(c.v.tcp[c.dc].retrans + c.v.tcp[c.ds].retrans, 0);
	/* Later ACKs move nothing. */
	seg(&c, 1, 1001, 0, A, 20 * MS);
	EQ(c.v.ack_ns, 12 * MS);

	/* A retransmitted SYN: the round trip starts at the last SYN before
	 * the SYN/ACK, and the first SYN/ACK counts; the repeats are
	 * retransmissions. */
	memset(&c, 0, sizeof(c));
	seg(&c, 1, 1000, 0, S, 1 * MS);
	seg(&c, 1, 1000, 0, S, 1001 * MS);
	seg(&c, 0, 5000, 0, S | A, 1010 * MS);
	seg(&c, 0, 5000, 0, S | A, 1011 * MS);
	seg(&c, 1, 1000, 0, S, 1012 * MS); /* crossed the SYN/ACK */
	seg(&c, 1, 1001, 0, A, 1013 * MS);
	EQ(c.v.syn_ns, 1001 * MS);
	EQ(c.v.synack_ns, 1010 * MS);
	EQ(c.v.ack_ns, 1013 * MS);
	EQ(c.v.tcp[c.dc].retrans, 2);
	EQ(c.v.tcp[c.ds].retrans, 1);

	/* Capture starting at the SYN/ACK: the client is known from it, the
	 * ACK half is measured, the SYN half is not. */
	memset(&c, 0, sizeof(c));
	seg(&c, 0, 5000, 0, S | A, 5 * MS);
	seg(&c, 0, 5001, 10, PA, 6 * MS);      /* server data is no handshake ACK */
	seg(&c, 1, 1001, 0, A, 7 * MS);
	EQ(c.v.syn_ns, 0);
	EQ(c.v.synack_ns, 5 * MS);
	EQ(c.v.ack_ns, 7 * MS);

	/* A SYN scan: SYN, SYN/ACK, RST; an RST is no handshake ACK. */
	memset(&c, 0, sizeof(c));
	seg(&c, 1, 1000, 0, S, 1 * MS);
	seg(&c, 0, 5000, 0, S | A, 2 * MS);
	seg(&c, 1, 1001, 0, R, 3 * MS);
	EQ(c.v.ack_ns, 0);
	EQ(c.v.tcp[c.dc].rst, 1);
	EQ(c.v.tcp[c.ds].rst, 0);

	/* Mid-flow capture: no handshake, nothing stamped. */
	memset(&c, 0, sizeof(c));
	seg(&c, 1, 1001, 100, PA, 1 * MS);
	seg(&c, 0, 5001, 0, A, 2 * MS);
	EQ(c.v.syn_ns + c.v.synack_ns + c.v.ack_ns, 0);
	EQ(c.v.tcp_state & XDPI_TS_CLIENT, 0);
}

static void test_retransmission(void)
{
	struct conv c;

	handshake(&c);
	seg(&c, 1, 1001, 100, PA, 20 * MS);
	seg(&c, 1, 1101, 100, PA, 21 * MS);
	seg(&c, 1, 1101, 100, PA, 300 * MS);    /* the same segment again */
	seg(&c, 1, 1051, 100, PA, 301 * MS);    /* repacketized, within what was seen */
	seg(&c, 1, 1201, 50, PA, 302 * MS);     /* new data */
	EQ(c.v.tcp[c.dc].retrans, 2);
	/* Old and new bytes in one segment: a retransmission that also moves
	 * next_seq, so the following segment is in order. */
	seg(&c, 1, 1201, 100, PA, 600 * MS);
	seg(&c, 1, 1301, 10, PA, 601 * MS);
	EQ(c.v.tcp[c.dc].retrans, 3);
	EQ(c.v.tcp[c.dc].next_seq, 1311);
	EQ(c.v.tcp[c.dc].ooo, 0);
	EQ(c.v.tcp[c.ds].retrans, 0);

	/* Pure ACKs and a keep-alive (one byte below next_seq) are neither. */
	handshake(&c);
	seg(&c, 1, 1001, 10, PA, 20 * MS);
	seg(&c, 0, 5001, 0, A, 21 * MS);
	seg(&c, 0, 5001, 0, A, 22 * MS);
	seg(&c, 1, 1010, 1, A, 30000 * MS);
	seg(&c, 1, 1010, 0, A, 31000 * MS);
	EQ(c.v.tcp[c.dc].retrans, 0);
	EQ(c.v.tcp[c.ds].retrans, 0);
	/* A retransmitted FIN is one. */
	seg(&c, 1, 1011, 0, F | A, 32000 * MS);
	seg(&c, 1, 1011, 0, F | A, 32300 * MS);
	EQ(c.v.tcp[c.dc].retrans, 1);
}

static void test_out_of_order(void)
{
	struct conv c;

	/* 1001-1100 and 1201-1300 arrive before 1101-1200: a gap, filled
	 * within the round trip by an out-of-order segment. */
	handshake(&c);
	seg(&c, 1, 1001, 100, PA, 20 * MS);
	seg(&c, 1, 1201, 100, PA, 21 * MS);
	seg(&c, 1, 1101, 100, PA, 22 * MS);
	EQ(c.v.tcp[c.dc].ooo, 1);
	EQ(c.v.tcp[c.dc].retrans, 0);
	/* The gap is closed: the same bytes again are a retransmission. */
	seg(&c, 1, 1101, 100, PA, 23 * MS);
	EQ(c.v.tcp[c.dc].ooo, 1);
	EQ(c.v.tcp[c.dc].retrans, 1);

	/* Two segments missing, filled from both ends in time. */
	handshake(&c);
	seg(&c, 1, 1001, 100, PA, 20 * MS);
	seg(&c, 1, 1301, 100, PA, 21 * MS);
	seg(&c, 1, 1201, 100, PA, 22 * MS);
	seg(&c, 1, 1101, 100, PA, 23 * MS);
	EQ(c.v.tcp[c.dc].ooo, 2);
	EQ(c.v.tcp[c.dc].retrans, 0);

	/* A gap filled only after the round trip: the sender noticed the
	 * loss and retransmitted. */
	handshake(&c);
	seg(&c, 1, 1001, 100, PA, 20 * MS);
	seg(&c, 1, 1201, 100, PA, 21 * MS);
	seg(&c, 1, 1101, 100, PA, 21 * MS + 11 * MS);
	EQ(c.v.tcp[c.dc].ooo, 0);
	EQ(c.v.tcp[c.dc].retrans, 1);

	/* Without a handshake the window is 3 ms. */
	memset(&c, 0, sizeof(c));
	seg(&c, 1, 1001, 100, PA, 20 * MS);
	seg(&c, 1, 1201, 100, PA, 21 * MS);
	seg(&c, 1, 1101, 50, PA, 23 * MS);
	seg(&c, 1, 1151, 50, PA, 25 * MS);
	EQ(c.v.tcp[c.dc].ooo, 1);
	EQ(c.v.tcp[c.dc].retrans, 1);

	/* A segment below next_seq but outside the gap is a retransmission
	 * even in time. */
	handshake(&c);
	seg(&c, 1, 1001, 100, PA, 20 * MS);
	seg(&c, 1, 1201, 100, PA, 21 * MS);
	seg(&c, 1, 1001, 100, PA, 22 * MS);
	EQ(c.v.tcp[c.dc].ooo, 0);
	EQ(c.v.tcp[c.dc].retrans, 1);
}

static void test_zero_window_and_reset(void)
{
	struct conv c;

	handshake(&c);
	seg_win(&c, 0, 5001, 0, A, 0, 20 * MS);          /* zero window */
	seg_win(&c, 0, 5001, 0, A, 0, 21 * MS);          /* still zero */
	seg_win(&c, 0, 5001, 0, A, 1024, 22 * MS);       /* opened */
	seg_win(&c, 1, 1001, 0, F | A, 0, 23 * MS);      /* FIN: not counted */
	seg_win(&c, 1, 1002, 0, R, 0, 24 * MS);          /* RST: a reset, not a zero window */
	seg_win(&c, 1, 1002, 0, R | A, 0, 25 * MS);
	seg_win(&c, 0, 5001, 0, R, 0, 26 * MS);
	EQ(c.v.tcp[c.ds].zero_win, 2);
	EQ(c.v.tcp[c.dc].zero_win, 0);
	EQ(c.v.tcp[c.dc].rst, 2);
	EQ(c.v.tcp[c.ds].rst, 1);
	EQ(c.v.tcp[c.dc].retrans + c.v.tcp[c.ds].retrans, 0);

	/* A SYN with window 0 is no zero-window event. */
	memset(&c, 0, sizeof(c));
	seg(&c, 1, 1000, 0, S, 1 * MS);
	seg_win(&c, 0, 5000, 0, S | A, 0, 2 * MS);
	EQ(c.v.tcp[c.ds].zero_win, 0);

	/* A header without a valid data offset counts nothing. */
	{
		struct xdpi_flow_key k;
		struct xdpi_pkt p;

		seg_pkt(&p, 1, 1002, 0, R, 0);
		p.has_tcp_seg = 0;
		xdpi_flow_val_update(&c.v, &p, xdpi_flow_key_from_pkt(&p, &k), 3 * MS);
		EQ(c.v.tcp[c.dc].rst, 0);
	}
}

static void test_wraparound(void)
{
	struct conv c;
	const uint32_t isn = 0xffffff00u;

	/* Data crossing 2^32 in order: nothing counted. */
	memset(&c, 0, sizeof(c));
	seg(&c, 1, isn, 0, S, 1 * MS);
	seg(&c, 0, 7, 0, S | A, 2 * MS);
	seg(&c, 1, isn + 1, 0, A, 3 * MS);
	seg(&c, 1, isn + 1, 200, PA, 10 * MS);        /* 0xffffff01 .. 0xc8 */
	seg(&c, 1, isn + 201, 100, PA, 11 * MS);      /* wrapped: 0xc9 */
	EQ(c.v.tcp[c.dc].retrans, 0);
	EQ(c.v.tcp[c.dc].ooo, 0);
	EQ(c.v.tcp[c.dc].next_seq, (uint32_t)(isn + 301));
	/* The pre-wrap segment again: seq above next_seq numerically, below it
	 * in sequence space. */
	seg(&c, 1, isn + 1, 200, PA, 500 * MS);
	EQ(c.v.tcp[c.dc].retrans, 1);

	/* A gap across the wrap, filled in time. */
	memset(&c, 0, sizeof(c));
	seg(&c, 1, isn, 0, S, 1 * MS);
	seg(&c, 0, 7, 0, S | A, 2 * MS);
	seg(&c, 1, isn + 1, 0, A, 3 * MS);
	seg(&c, 1, isn + 1, 100, PA, 10 * MS);        /* to 0xffffff65 */
	seg(&c, 1, isn + 301, 100, PA, 11 * MS);      /* 0x2d: gap 0xffffff65 .. 0x2d */
	seg(&c, 1, isn + 101, 200, PA, 12 * MS);      /* fills it, across 2^32 */
	EQ(c.v.tcp[c.dc].ooo, 1);
	EQ(c.v.tcp[c.dc].retrans, 0);
}

/* ---- per-CPU merge ---- */

static void test_merge(void)
{
	struct xdpi_flow_val cpu[3], out;
	struct conv c;

	/* CPU 0: client side (SYN, retransmitted SYN, later the ACK); CPU 1:
	 * server side; CPU 2: a SYN after the SYN/ACK; plus counters. */
	memset(cpu, 0, sizeof(cpu));
	handshake(&c);
	cpu[0] = c.v;
	cpu[0].syn_ns = 5 * MS;
	cpu[0].synack_ns = 0;
	cpu[0].ack_ns = 12 * MS;
	cpu[0].tcp[c.dc].retrans = 2;
	cpu[0].tcp[c.dc].rst = 1;
	cpu[1] = c.v;
	cpu[1].syn_ns = 0;
	cpu[1].synack_ns = 11 * MS;
	cpu[1].ack_ns = 0;
	cpu[1].tcp[c.dc].retrans = 3;
	cpu[1].tcp[c.ds].ooo = 4;
	cpu[1].tcp[c.ds].zero_win = 5;
	cpu[2] = cpu[1];
	cpu[2].syn_ns = 15 * MS;
	cpu[2].synack_ns = 14 * MS;
	cpu[2].tcp[c.ds].ooo = 1;
	flow_val_merge(&out, cpu, 3, sizeof(cpu[0]));
	EQ(out.tcp[c.dc].retrans, 2 + 3 + 3);
	EQ(out.tcp[c.dc].rst, 1);
	EQ(out.tcp[c.ds].ooo, 5);
	EQ(out.tcp[c.ds].zero_win, 10);
	EQ(out.synack_ns, 11 * MS);
	EQ(out.ack_ns, 12 * MS);
	EQ(out.syn_ns, 5 * MS); /* the latest at or before the SYN/ACK */
	EQ(out.tcp_state & XDPI_TS_CLIENT, XDPI_TS_CLIENT);

	/* A copy that never saw the flow adds nothing. */
	memset(&cpu[1], 0, sizeof(cpu[1]));
	cpu[1].tcp[0].retrans = 99;
	cpu[1].syn_ns = 1;
	flow_val_merge(&out, cpu, 2, sizeof(cpu[0]));
	EQ(out.tcp[c.dc].retrans, 2);
	EQ(out.syn_ns, 5 * MS);
	EQ(out.synack_ns, 0);
}

/* ---- records ---- */

static void test_json(void)
{
	struct flow_record r;
	char buf[4096];

	memset(&r, 0, sizeof(r));
	r.proto = XDPI_IPPROTO_TCP;
	r.family = 4;
	r.vlan = XDPI_VLAN_NONE;
	r.has_tcp = 1;
	r.rtt_syn_us = 10000;
	r.rtt_ack_us = -1;
	r.retrans_fwd = 1;
	r.retrans_rev = 2;
	r.ooo_rev = 3;
	r.zero_win_fwd = 4;
	r.rst_rev = 5;
	CHECK(jsonl_format_flow(buf, sizeof(buf), &r) > 0, "formats");
	CHECK(strstr(buf, ",\"tcp\":{\"rtt_syn_us\":10000,\"rtt_ack_us\":null,"
			  "\"retrans_fwd\":1,\"retrans_rev\":2,\"ooo_fwd\":0,\"ooo_rev\":3,"
			  "\"zero_win_fwd\":4,\"zero_win_rev\":0,\"rst_fwd\":0,\"rst_rev\":5}") != NULL,
	      "tcp object in %s", buf);
	r.has_tcp = 0;
	r.proto = XDPI_IPPROTO_UDP;
	CHECK(jsonl_format_flow(buf, sizeof(buf), &r) > 0, "formats");
	CHECK(strstr(buf, "\"tcp\"") == NULL, "no tcp object for UDP: %s", buf);
}

/* Through the tracker: round trips from the stamps, counters per record
 * interval (an active-timeout record and the final one add up). */
static void test_records(void)
{
	char path[] = "/tmp/xdpi-tcpmetrics-XXXXXX";
	int fd = mkstemp(path);
	struct flowtab *tab = flowtab_new(16, sizeof(struct xdpi_flow_val));
	struct flowstore *store = flowstore_user_new(tab);
	struct output *out = output_open_jsonl(path);
	struct flowtrack_opts o = { .idle_ns = 3600000 * MS, .active_ns = 1000 * MS,
				    .close_grace_ns = 1000 * MS, .max_flows = 16 };
	struct flowtrack *ft;
	struct xdpi_flow_key k;
	struct xdpi_flow_val *v;
	struct xdpi_pkt p;
	struct conv c;
	char line[4096];
	FILE *f;
	int created, n = 0;

	CHECK(fd >= 0 && tab && store && out, "set-up");
	if (fd < 0 || !tab || !store || !out)
		return;
	close(fd);
	ft = flowtrack_new(&o, store, out);
	handshake(&c);
	seg(&c, 1, 1001, 100, PA, 20 * MS);
	seg(&c, 1, 1001, 100, PA, 400 * MS);          /* retransmission */
	seg_pkt(&p, 1, 0, 0, 0, 0);
	xdpi_flow_key_from_pkt(&p, &k);
	v = flowtab_upsert(tab, &k, &created);
	*v = c.v;
	flowtrack_tick(ft, 1500 * MS);                 /* active record */
	seg(&c, 1, 1001, 100, PA, 1600 * MS);         /* retransmission */
	seg_win(&c, 0, 5001, 0, R, 0, 1700 * MS);
	*v = c.v;
	flowtrack_flush(ft);
	flowtrack_free(ft);
	store->destroy(store);
	flowtab_free(tab);
	output_close(out);

	f = fopen(path, "r");
	CHECK(f != NULL, "output %s", path);
	while (f && fgets(line, sizeof(line), f)) {
		n++;
		CHECK(strstr(line, "\"rtt_syn_us\":10000,\"rtt_ack_us\":1000,") != NULL,
		      "round trips in %s", line);
		CHECK(strstr(line, "\"retrans_fwd\":1,\"retrans_rev\":0,") != NULL,
		      "one retransmission per interval in %s", line);
		CHECK(strstr(line, n == 1 ? "\"rst_fwd\":0,\"rst_rev\":0}" :
					    "\"rst_fwd\":0,\"rst_rev\":1}") != NULL,
		      "resets in %s", line);
	}
	EQ(n, 2);
	if (f)
		fclose(f);
	unlink(path);
}

int main(void)
{
	test_parse_segment();
	test_handshake();
	test_retransmission();
	test_out_of_order();
	test_zero_window_and_reset();
	test_wraparound();
	test_merge();
	test_json();
	test_records();
	return check_summary("tcpmetrics");
}
