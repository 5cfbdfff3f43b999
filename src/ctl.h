/* Commands that change a running instance through its pinned maps:
 * `xdpi rules list|add|del` and `xdpi sample`. */
#ifndef XDPI_CTL_H
#define XDPI_CTL_H

#include <stdio.h>

/* argv[1] is "rules" or "sample"; returns the exit code. */
int ctl_main(int argc, char **argv);
void ctl_usage(FILE *f, const char *cmd);

#endif
