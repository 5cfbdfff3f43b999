#ifndef XDPI_RUN_H
#define XDPI_RUN_H
#include "config.h"
/* `xdpi run`: returns the process exit code. */
int cmd_run(const struct xdpi_config *cfg, const char *stats_json, const char *state_dir);
/* `xdpi stats`: prints what a running instance publishes. */
int cmd_stats(const struct xdpi_config *cfg, const char *state_dir);
#endif
