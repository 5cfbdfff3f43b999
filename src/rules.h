/* Rules (`--rules FILE`, `xdpi rules add|del|list`): parsed here, put into
 * the kernel's rule maps, and read back, with their hit counters, from the
 * maps themselves, so a running instance and the command that changes it
 * see the same set. */
#ifndef XDPI_RULES_H
#define XDPI_RULES_H

#include <stdint.h>
#include <stdio.h>
#include "xdpi/abi.h"

enum rule_match { MATCH_CIDR = 1, MATCH_PORT, MATCH_PROTO };

#define RULE_MAX_PORTS 1024 /* ports one rule may cover (a range) */

struct rule {
	uint16_t action;        /* enum xdpi_rule_action */
	uint16_t arg;           /* sample: 1 in N flows */
	int match;              /* enum rule_match */
	int family;             /* CIDR: 4 or 6 */
	uint32_t prefixlen;
	uint8_t addr[16];
	uint8_t protos[3];      /* PORT: protocols covered; PROTO: protos[0] */
	int nprotos;
	uint16_t port_lo, port_hi;
	char text[92];          /* normalised, as listed */
};

struct ruleset {
	struct rule *r;
	uint32_t n;
};

/* The rule maps of a loaded program, or of a running instance's pins. */
struct rule_maps {
	int cidr4, cidr6, port, proto, hits, text, config;
};

/* One rule: "ACTION MATCH", ACTION pass | drop | alert | deep | sample N,
 * MATCH an address or CIDR ("net" optional), "[tcp|udp|sctp] port N[-M]",
 * or "proto NAME|NUMBER". 0, or -1 with the reason in err. */
int rules_parse_line(const char *line, struct rule *r, char *err, size_t errlen);
/* Reads FILE: a rule a line, '#' starts a comment. 0, or -1 with
 * "FILE:LINE: reason" in err. */
int rules_load_file(const char *path, struct ruleset *rs, char *err, size_t errlen);
void rules_free(struct ruleset *rs);

/* Adds a rule under the lowest free id, zeroes its hits and turns its
 * table on; the packet path sees it at once. 0 with *id set, or -1 with
 * the reason in err (a conflict names the rule already there). */
int rules_add(const struct rule_maps *m, const struct rule *r, uint32_t *id,
	      char *err, size_t errlen);
/* Removes rule id. 0, or -1 with the reason in err. */
int rules_del(const struct rule_maps *m, uint32_t id, char *err, size_t errlen);
/* The id of the rule written as text (normalised first), or -1. */
int rules_find(const struct rule_maps *m, const char *text);
/* Adds every rule of rs in order (ids 0..n-1 on empty maps). 0 or -1, printed. */
int rules_install(const struct ruleset *rs, const struct rule_maps *m);
/* Hits of rule id, summed over CPUs; 0 or -1. */
int rules_hits(int hits_fd, uint32_t id, struct xdpi_rule_hits *sum);
/* The rules in the maps with their hits: table lines, or a
 * ",\"rules\":[...]" member for the stats object. Return how many. */
int rules_list(FILE *f, const struct rule_maps *m, const char *indent);
int rules_write_json(FILE *f, const struct rule_maps *m);

/* The policy entry of the config map: read-modify-write helpers. */
int policy_get(int config_fd, struct xdpi_config_map *pol);
int policy_set(int config_fd, const struct xdpi_config_map *pol);

#endif
