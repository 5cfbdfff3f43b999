/* CIDR rules (`--rules FILE`): parsed here, loaded into the kernel's LPM
 * tries before attachment, their hits read back for the summary. */
#ifndef XDPI_RULES_H
#define XDPI_RULES_H

#include <stdint.h>
#include <stdio.h>
#include "xdpi/abi.h"

struct rule {
	uint32_t action;        /* enum xdpi_rule_action */
	int family;             /* 4 or 6 */
	uint32_t prefixlen;
	uint8_t addr[16];
	char text[96];          /* as written, for reports */
};

struct ruleset {
	struct rule *r;
	uint32_t n;
};

/* Reads FILE: one rule a line, "ACTION CIDR", ACTION pass|drop|alert, CIDR
 * an IPv4 or IPv6 address with an optional /LEN; '#' starts a comment.
 * 0, or -1 with "FILE:LINE: reason" in err. */
int rules_load_file(const char *path, struct ruleset *rs, char *err, size_t errlen);
/* Parses one rule; 0 or -1 with the reason in err. */
int rules_parse_line(const char *line, struct rule *r, char *err, size_t errlen);
/* Puts the rules into the maps (rule i has id i) and turns them on. */
int rules_install(const struct ruleset *rs, int fd4, int fd6, int config_fd);
/* Hits of rule id, summed over CPUs; 0 or -1. */
int rules_hits(int hits_fd, uint32_t id, struct xdpi_rule_hits *sum);
/* Per-rule packets and bytes, summed over CPUs: summary lines, and a
 * ",\"rules\":[...]" member for the stats object. */
void rules_report(FILE *f, const struct ruleset *rs, int hits_fd);
int rules_write_json(FILE *f, const struct ruleset *rs, int hits_fd);
void rules_free(struct ruleset *rs);

#endif
