/* `xdpi read --kernel`: every captured frame goes through the loaded XDP
 * program with BPF_PROG_TEST_RUN, its capture time passed as metadata. */
#ifndef XDPI_REPLAY_H
#define XDPI_REPLAY_H

#include <stdint.h>
#include "config.h"
#include "ingest.h"

struct replay;

struct replay *replay_open(const struct xdpi_config *cfg, struct ingest *ingest);
/* 0, or -errno when the kernel refused the run (message printed). */
int replay_packet(struct replay *r, const uint8_t *frame, uint32_t caplen,
		  uint32_t cut, uint64_t ts_ns);
struct dpi;
/* Gives the frame's payload to the parsers, as the user-space path does;
 * the flow's first packet (time, direction) comes from the kernel map. */
void replay_feed_dpi(struct replay *r, struct dpi *d, const uint8_t *frame, uint32_t caplen,
		     uint32_t cut, uint64_t ts_ns);
/* Drains pending events into the ingest consumer. */
void replay_drain(struct replay *r);
int replay_flows_fd(const struct replay *r);
/* The kernel's flow_names map. */
int replay_names_fd(const struct replay *r);
/* Kernel counters plus frames the kernel could not be given (too short). */
int replay_counters(struct replay *r, uint64_t *out);
void replay_close(struct replay *r);

#endif
