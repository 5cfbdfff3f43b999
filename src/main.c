/* xdpi: packet inspection with XDP/TC programs and a user-space pipeline. */
#include <stdio.h>
#include "cli.h"
#include "read.h"
#include "run.h"

int main(int argc, char **argv)
{
	struct cli c;
	int rc = cli_parse(argc, argv, &c);

	if (rc)
		return rc;
	switch (c.cmd) {
	case CMD_RUN:
		return cmd_run(&c.cfg, c.stats_json, c.state_dir);
	case CMD_READ:
		return cmd_read(&c.cfg, c.stats_json);
	case CMD_STATS:
		return cmd_stats(&c.cfg, c.state_dir);
	case CMD_HELP:
		if (argc <= 2)
			cli_usage(stdout, CMD_NONE);
		return 0;
	default:
		return 0;
	}
}
