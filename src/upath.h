/* The user-space datapath of `xdpi read`: the kernel program's steps (parse,
 * sanity counters, flow update, events) run on captured frames, with the
 * same shared headers, into a user-space flow table. */
#ifndef XDPI_UPATH_H
#define XDPI_UPATH_H

#include <stdint.h>
#include "flowtab.h"
#include "ingest.h"
#include "xdpi/names.h"

struct upath {
	struct flowtab *flows;      /* of struct xdpi_flow_val */
	struct ingest *ingest;
	uint32_t snippet_bytes;
	uint32_t snippet_pkts;
	struct dpi *dpi;            /* NULL: no inspection */
	struct flowtab *names;      /* server names, as the kernel's flow_names; NULL: none */
	struct xdpi_name_walk name_walk; /* scratch of the name parser */
	uint64_t counters[XDPI_C__MAX];
};

struct xdpi_pkt;

/* frame starts with an Ethernet header; cut = bytes lost to the snap length. */
void upath_packet(struct upath *u, const uint8_t *frame, uint32_t caplen,
		  uint32_t cut, uint64_t ts_ns);
/* The steps after the parse, for a frame parsed elsewhere (rc from xdpi_parse). */
void upath_account(struct upath *u, const uint8_t *frame, const struct xdpi_pkt *p,
		   int rc, uint64_t ts_ns);

#endif
