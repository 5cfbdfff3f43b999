/* `xdpi run -i IFACE --hook socket`: frames from the socket hook
 * (src/sockhook.c) through the user-space datapath of `xdpi read`
 * (src/upath.c), expired by the clock like `xdpi run`. */
#ifndef XDPI_SOCKRUN_H
#define XDPI_SOCKRUN_H

#include "config.h"

/* Returns the process exit code. */
int sockrun_main(const struct xdpi_config *cfg, const char *stats_json, const char *state_dir);

#endif
