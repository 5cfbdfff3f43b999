/* Server names the datapath found in single packets (include/xdpi/names.h):
 * in the kernel's map `flow_names` (`run`, `read --kernel`) or, on the
 * user-space path of `read`, in a table of its own that the same parser
 * fills. A flow record takes the name when nothing better (the parsers, a
 * verdict) gave it one. */
#ifndef XDPI_FLOWNAMES_H
#define XDPI_FLOWNAMES_H

#include <stdint.h>
#include "flowtab.h"
#include "record.h"
#include "xdpi/names.h"

/* Where a path keeps its names: one of the two. */
struct flownames {
	struct flowtab *tab; /* user-space path: struct xdpi_flow_name by flow */
	int map_fd;          /* kernel: the flow_names map, or -1 */
};

/* Gives r the name n, when r has neither an SNI nor a Host yet; with it the
 * protocol (tls, http), when the parsers found none. */
void flownames_fill(struct flow_record *r, const struct xdpi_flow_name *n);
/* The name stored for flow k; 0 if there is one. */
int flownames_get(const struct flownames *s, const struct xdpi_flow_key *k,
		  struct xdpi_flow_name *out);
/* The flow's last record is out: its name goes. */
void flownames_forget(const struct flownames *s, const struct xdpi_flow_key *k);

/* User-space path, after the flow update of a packet: what the kernel's
 * bpf/extract.h does, with the same guard, parser and counters. w is
 * scratch space. */
void flownames_packet(struct flowtab *tab, struct xdpi_name_walk *w,
		      const struct xdpi_flow_key *k, const struct xdpi_flow_val *v,
		      const struct xdpi_pkt *p, uint8_t dir, const uint8_t *frame,
		      uint64_t *counters);

/* flowtrack callbacks of `read`: the parsers' findings (dpi may be NULL),
 * then the name; at export both forget the flow. */
struct dpi;
struct flownames_annot {
	struct dpi *dpi;
	struct flownames names;
};
void flownames_annotate_cb(const struct xdpi_flow_key *k, struct flow_record *r, void *arg);
void flownames_export_cb(const struct xdpi_flow_key *k, void *arg);

#endif
