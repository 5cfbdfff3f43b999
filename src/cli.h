/* Command line: options into a struct xdpi_config, nothing else. */
#ifndef XDPI_CLI_H
#define XDPI_CLI_H

#include "config.h"

enum command { CMD_NONE = 0, CMD_RUN, CMD_READ, CMD_STATS, CMD_HELP, CMD_VERSION };

struct cli {
	enum command cmd;
	struct xdpi_config cfg;
	const char *stats_json;   /* --stats-json FILE */
	const char *state_dir;    /* where `run` publishes live stats */
};

/* 0 on success; prints a message and returns 2 on a bad command line. */
int cli_parse(int argc, char **argv, struct cli *out);
void cli_usage(FILE *f, enum command cmd);

#endif
