/* Where records go. Sinks only serialize; this module owns the choice. */
#ifndef XDPI_OUTPUT_H
#define XDPI_OUTPUT_H

#include "record.h"

struct output;

/* path NULL or "-": stdout. Returns NULL with a message on stderr. */
struct output *output_open(const char *path);
int output_flow(struct output *o, const struct flow_record *r);
/* Pushes buffered records out (once per poll in `run`). */
int output_flush(struct output *o);
uint64_t output_records(const struct output *o);
/* Flushes and closes; returns -1 if any write failed. */
int output_close(struct output *o);

#endif
