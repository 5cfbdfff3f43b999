/* The socket hook of `xdpi run --hook socket`, for hosts where XDP and TC
 * attachment is not allowed: an AF_PACKET socket bound to one interface,
 * xdpi's socket filter on it (bpf/xdpi_sock.bpf.c: the one parser, which
 * cuts each packet to its headers and --snippet-bytes of payload), and a
 * TPACKET_V3 ring mapped into this process, read a block at a time. */
#ifndef XDPI_SOCKHOOK_H
#define XDPI_SOCKHOOK_H

#include <stdint.h>
#include "config.h"
#include "stats.h"

struct sockhook;

/* One frame of the ring. data starts with the Ethernet header, with a
 * VLAN tag the driver took off put back; caplen bytes of the wire_len the
 * packet had. Valid until the callback returns. */
struct sock_frame {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t wire_len;
	uint64_t ts_ns;     /* the kernel's receive (or send) time, CLOCK_REALTIME */
	uint8_t pkttype;    /* PACKET_HOST, PACKET_OUTGOING, ... */
};

typedef void (*sockhook_frame_fn)(const struct sock_frame *f, void *arg);

/* Loads the filter (the verifier's reasons on stderr if it refuses), opens
 * the socket and its ring and binds it to ifindex. NULL after printing why;
 * nothing stays behind. */
struct sockhook *sockhook_open(const struct xdpi_config *cfg, int ifindex);
/* The filter's program id, for messages and checks. */
uint32_t sockhook_prog_id(const struct sockhook *h);
/* Waits up to timeout_ms for a filled block, then hands fn every frame of
 * every filled block and gives the blocks back. Frames handed, or -errno. */
int sockhook_poll(struct sockhook *h, int timeout_ms, sockhook_frame_fn fn, void *arg);
/* Stops the copying: the filter is replaced by one that keeps nothing.
 * What is in the ring can still be read; drain it with sockhook_drain. */
int sockhook_stop(struct sockhook *h);
/* Reads the ring until the kernel has handed over its last block. */
int sockhook_drain(struct sockhook *h, sockhook_frame_fn fn, void *arg);
/* The counters so far (PACKET_STATISTICS, which the kernel resets on each
 * read, summed over the run). */
const struct socket_stats *sockhook_stats(struct sockhook *h);
void sockhook_close(struct sockhook *h);

#endif
