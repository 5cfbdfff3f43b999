/* AF_XDP capture (`xdpi run --capture afxdp`): the kernel program counts
 * every packet in its flow map as usual, then redirects it whole into an
 * AF_XDP socket of its RX queue (map `xsks`) instead of sending a payload
 * snippet through the event ring. Here one socket per RX queue receives the
 * frames; each is parsed with the shared parser and handed on as the snippet
 * event the kernel would have written, with the whole payload, so the
 * workers cannot tell the two paths apart.
 *
 * struct afxdp owns the sockets and their buffers (UMEM); readers, one per
 * ingestion thread, each take a group of the queues. */
#ifndef XDPI_AFXDP_H
#define XDPI_AFXDP_H

#include <stdint.h>
#include "config.h"
#include "xdpi/abi.h"

struct afxdp;
struct afxdp_reader;

/* Summed over the sockets. The first counters are the readers', the rest
 * the kernel's (XDP_STATISTICS). */
struct afxdp_stats {
	uint32_t queues;          /* sockets, one per RX queue */
	uint32_t zerocopy;        /* 1: bound in zero-copy mode, 0: copy mode */
	uint64_t packets;         /* frames received */
	uint64_t bytes;           /* their bytes, Ethernet header included */
	uint64_t snippets;        /* payloads handed on as snippet events */
	uint64_t rx_dropped;      /* frames the kernel dropped (too big, no buffer) */
	uint64_t rx_ring_full;    /* frames dropped: the RX ring was full */
	uint64_t fill_ring_empty; /* times the kernel found no buffer in the fill ring */
	uint64_t rx_invalid;      /* invalid descriptors */
};

/* A frame's payload as a snippet event: hdr (hdr->len bytes follow) and the
 * bytes, valid during the call only. */
typedef void (*afxdp_snippet_fn)(void *ctx, const struct xdpi_event *hdr, const void *payload);

/* Opens one socket per RX queue of cfg->ifname (cfg->afxdp_frames buffers
 * each), zero-copy when the driver can, and puts each in the kernel's
 * socket map xsks_fd. Opens cfg->afxdp_dump when set. Attaches no program.
 * NULL after printing why. */
struct afxdp *afxdp_open(const struct xdpi_config *cfg, int xsks_fd);
void afxdp_close(struct afxdp *ax);
int afxdp_nqueues(const struct afxdp *ax);
/* "zero-copy" or "copy". */
const char *afxdp_mode(const struct afxdp *ax);
/* Reads the counters now (one getsockopt per socket: not per packet). */
void afxdp_stats(struct afxdp *ax, struct afxdp_stats *st);

/* A reader of queues first, first + step, ... (none when first is past the
 * last queue); fn gets every payload. NULL on failure. */
struct afxdp_reader *afxdp_reader_new(struct afxdp *ax, int first, int step,
				      afxdp_snippet_fn fn, void *ctx);
int afxdp_reader_nqueues(const struct afxdp_reader *r);
/* Claims up to a batch of received frames on each of the reader's queues;
 * returns how many. */
int afxdp_reader_peek(struct afxdp_reader *r);
/* Hands the claimed frames on and gives their buffers back to the kernel;
 * returns how many. */
int afxdp_reader_take(struct afxdp_reader *r);
/* Sleeps until a frame arrives on one of the queues, up to timeout_ms. */
void afxdp_reader_wait(struct afxdp_reader *r, int timeout_ms);
void afxdp_reader_free(struct afxdp_reader *r);

#endif
