#ifndef XDPI_READ_H
#define XDPI_READ_H
#include "config.h"
/* Returns the process exit code. */
int cmd_read(const struct xdpi_config *cfg, const char *stats_json);
#endif
