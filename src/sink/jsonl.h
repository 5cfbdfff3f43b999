/* JSON Lines serializer: one object per line. */
#ifndef XDPI_SINK_JSONL_H
#define XDPI_SINK_JSONL_H

#include <stddef.h>
#include "record.h"

#define JSONL_LINE_MAX (64 * 1024)

/* Writes record r of type t as one JSON line (with '\n') into buf; returns
 * its length, or 0 if it does not fit. */
size_t jsonl_format(char *buf, size_t len, enum record_type t, const void *r);
size_t jsonl_format_flow(char *buf, size_t len, const struct flow_record *r);

#endif
