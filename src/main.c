/* xdpi: packet inspection with XDP/TC programs and a user-space pipeline. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "collect.h"
#include "ctl.h"
#include "read.h"
#include "run.h"

int main(int argc, char **argv)
{
	struct cli c;
	int rc;

	if (argc > 1 && (!strcmp(argv[1], "rules") || !strcmp(argv[1], "sample")))
		return ctl_main(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "collect"))
		return cmd_collect(argc - 1, argv + 1);
	rc = cli_parse(argc, argv, &c);

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
