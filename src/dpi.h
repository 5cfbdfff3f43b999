/* Deep inspection of flows: payloads in, application records out. One
 * instance per thread that owns flows (the offline path, or a live worker):
 * no locks. Protocols are found by content, not by port. TCP payloads go
 * through reassembly of each direction's first bytes (src/reasm.c), so a
 * ClientHello or a request head split over segments is parsed whole; DNS
 * queries are joined with their responses, HTTP requests with theirs.
 * All state is preallocated; a flow that finds no room is counted and only
 * loses its inspection, never its flow record. */
#ifndef XDPI_DPI_H
#define XDPI_DPI_H

#include <stdint.h>
#include "output.h"
#include "record.h"
#include "xdpi/abi.h"

struct dpi;

struct dpi_opts {
	uint32_t max_flows;      /* flows with inspection state at once */
	uint32_t reasm_bytes;    /* per direction (--reassembly-bytes) */
	uint32_t reasm_bufs;     /* reassembly buffers in the pool */
	struct output *out;      /* where dns/tls/http records go */
	int64_t clock_to_epoch_ns; /* added to packet times for record times */
};

struct dpi_stats {
	uint64_t payloads;
	uint64_t records[REC_SSH + 1];
	uint64_t flows_classified[APP__MAX];
	uint64_t no_state;       /* payloads of flows that found no room */
	uint64_t parse_errors;   /* messages a parser rejected after detection */
};

struct dpi *dpi_new(const struct dpi_opts *o);
void dpi_free(struct dpi *d);

/* One packet's payload (or a kernel snippet of it). dir: enum xdpi_dir of
 * the packet; fwd_dir: the flow's first-packet direction (the client side
 * for protocols that need one); seq/syn only for TCP. */
void dpi_payload(struct dpi *d, const struct xdpi_flow_key *k, uint64_t flow_id,
		 uint8_t dir, uint8_t fwd_dir, uint32_t seq, uint8_t tcp_flags,
		 const uint8_t *data, uint32_t len, uint64_t ts_ns);
struct xdpi_pkt;
/* A parsed frame of the flow: its payload, or for IP-in-IP tunnels the
 * inner packet's payload under the inner 5-tuple (records keep flow_id). */
void dpi_packet(struct dpi *d, const struct xdpi_flow_key *k, uint64_t flow_id, uint8_t dir,
		uint8_t fwd_dir, const struct xdpi_pkt *p, const uint8_t *frame, uint64_t ts_ns);
/* Ends every flow still inspected (end of a capture, shutdown). */
void dpi_flush_all(struct dpi *d);
/* Releases what the parsers cache per thread (crypto contexts); call it
 * when a thread that used an instance is done. */
void dpi_thread_done(void);
/* Fills app_proto, sni and host of a flow record from what was found. */
void dpi_annotate(struct dpi *d, const struct xdpi_flow_key *k, struct flow_record *r);
/* The flow is over: pending records go out (a query without response, a
 * request without response, a handshake without its server half), state
 * is freed. */
void dpi_flow_end(struct dpi *d, const struct xdpi_flow_key *k);
const struct dpi_stats *dpi_stats(const struct dpi *d);
/* After dpi_payload: 1 and the verdict when that payload's flow has just
 * given what the parsers want (classified, fields out), once per flow. */
int dpi_take_verdict(struct dpi *d, struct xdpi_verdict *v);

#endif
