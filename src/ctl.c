#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "loader.h"
#include "pin.h"
#include "rules.h"

void ctl_usage(FILE *f, const char *cmd)
{
	if (cmd && !strcmp(cmd, "sample")) {
		fprintf(f,
			"usage: xdpi sample -i IFACE [--packets N] [--flows N]\n\n"
			"Show or change the accounting sampling of the `xdpi run` on IFACE,\n"
			"at once and without reloading. --packets N counts 1 in N packets (at\n"
			"random); --flows N counts 1 in N flows, all of each chosen flow's\n"
			"packets (by a hash of the 5-tuple). 1 counts everything. Flow records\n"
			"carry packet_sampling / flow_sampling so counts can be scaled back.\n");
		return;
	}
	fprintf(f,
		"usage: xdpi rules list -i IFACE [--json]\n"
		"       xdpi rules add  -i IFACE RULE\n"
		"       xdpi rules del  -i IFACE ID|RULE\n\n"
		"Show or change the rules of the `xdpi run` on IFACE while it runs: the\n"
		"kernel sees a change at once, with no reload and no packet lost.\n\n"
		"RULE is ACTION MATCH:\n"
		"  ACTION  pass      let the packet through, not counted in flows\n"
		"          drop      drop it (XDP_DROP / TC_ACT_SHOT) before any accounting\n"
		"          alert     count it as usual, and in the rule's hits\n"
		"          deep      hand it whole to user space over AF_XDP (needs\n"
		"                    --capture afxdp)\n"
		"          sample N  count 1 in N of its flows\n"
		"  MATCH   10.0.0.0/8, 2001:db8::/32, host 192.0.2.1   by source, else destination\n"
		"          tcp port 443, udp port 53, port 8000-8080     by source, else destination\n"
		"          proto gre, proto 47\n"
		"The first match decides, in that order: address, port, protocol.\n"
		"Examples:\n"
		"  xdpi rules add -i eth1 drop 203.0.113.0/24\n"
		"  xdpi rules add -i eth1 sample 100 udp port 53\n"
		"  xdpi rules del -i eth1 2\n");
}

static int open_instance(const char *ifname, struct rule_maps *m, const char *what)
{
	char err[320];

	if (loader_check_privileges(what))
		return -1;
	if (pin_open(ifname, m, NULL, err, sizeof(err))) {
		fprintf(stderr, "xdpi %s: %s\n", what, err);
		return -1;
	}
	return 0;
}

/* The words from argv[first] on, joined by spaces. */
static void join(char *buf, size_t len, int argc, char **argv, int first)
{
	size_t used = 0;

	buf[0] = 0;
	for (int i = first; i < argc && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i > first ? " " : "",
					 argv[i]);
}

static int rules_cmd(const char *sub, const char *ifname, int json, const char *words)
{
	struct rule_maps m;
	struct rule r;
	char err[320];
	int rc = 1;

	/* A rule that cannot be right is refused before anything is opened. */
	if (!strcmp(sub, "add") && rules_parse_line(words, &r, err, sizeof(err))) {
		fprintf(stderr, "xdpi rules add: %s\n", err);
		return 2;
	}
	if (open_instance(ifname, &m, "rules"))
		return 1;
	if (!strcmp(sub, "list")) {
		if (json) {
			printf("{\"interface\":\"%s\"", ifname);
			rules_write_json(stdout, &m);
			printf("}\n");
		} else if (!rules_list(stdout, &m, "")) {
			printf("no rules on %s\n", ifname);
		}
		rc = 0;
	} else if (!strcmp(sub, "add")) {
		uint32_t id;

		if (rules_add(&m, &r, &id, err, sizeof(err))) {
			fprintf(stderr, "xdpi rules add: %s\n", err);
			rc = 2;
		} else {
			printf("rule %u added: %s\n", id, r.text);
			rc = 0;
		}
	} else {
		char *end;
		long id = strtol(words, &end, 10);

		if (end == words || *end)
			id = rules_find(&m, words);
		if (id < 0) {
			fprintf(stderr, "xdpi rules del: no rule '%s' on %s (see xdpi rules list)\n",
				words, ifname);
			rc = 2;
		} else if (rules_del(&m, (uint32_t)id, err, sizeof(err))) {
			fprintf(stderr, "xdpi rules del: %s\n", err);
			rc = 2;
		} else {
			printf("rule %ld deleted\n", id);
			rc = 0;
		}
	}
	pin_close(&m);
	return rc;
}

static int sample_cmd(const char *ifname, long pkts, long flows)
{
	struct xdpi_config_map pol;
	struct rule_maps m;
	int rc = 0;

	if (open_instance(ifname, &m, "sample"))
		return 1;
	if (policy_get(m.config, &pol)) {
		fprintf(stderr, "xdpi sample: cannot read the config map: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	if (pkts >= 0)
		pol.pkt_sample = pkts > 1 ? (uint32_t)pkts : 0;
	if (flows >= 0)
		pol.flow_sample = flows > 1 ? (uint32_t)flows : 0;
	if ((pkts >= 0 || flows >= 0) && policy_set(m.config, &pol)) {
		fprintf(stderr, "xdpi sample: cannot write the config map: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	printf("%s: packets counted 1 in %u, flows counted 1 in %u\n", ifname,
	       pol.pkt_sample ? pol.pkt_sample : 1, pol.flow_sample ? pol.flow_sample : 1);
out:
	pin_close(&m);
	return rc;
}

static long rate_arg(const char *opt, const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end || errno || n < 1 || n > 65535) {
		fprintf(stderr, "xdpi sample: invalid value '%s' for %s: expected 1 to 65535 "
			"(count 1 in N)\n", v, opt);
		return -2;
	}
	return n;
}

int ctl_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interface", required_argument, NULL, 'i' }, { "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' }, { "packets", required_argument, NULL, 'p' },
		{ "flows", required_argument, NULL, 'f' }, { 0 },
	};
	const char *cmd = argv[1], *sub = NULL, *ifname = NULL;
	int is_rules = !strcmp(cmd, "rules"), json = 0, opt, first = 2;
	long pkts = -1, flows = -1;
	char words[256];

	if (is_rules) {
		if (argc < 3 || !strcmp(argv[2], "-h") || !strcmp(argv[2], "--help")) {
			ctl_usage(argc < 3 ? stderr : stdout, cmd);
			return argc < 3 ? 2 : 0;
		}
		sub = argv[2];
		if (strcmp(sub, "list") && strcmp(sub, "add") && strcmp(sub, "del")) {
			fprintf(stderr, "xdpi rules: unknown subcommand '%s' (list, add or del)\n", sub);
			return 2;
		}
		first = 3;
	}
	optind = first;
	opterr = 0;
	/* "+": stop at the rule's first word, so "drop 10/8" is not options. */
	while ((opt = getopt_long(argc, argv, "+:i:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 'h': ctl_usage(stdout, cmd); return 0;
		case 'j': json = 1; break;
		case 'p': pkts = rate_arg("--packets", optarg); break;
		case 'f': flows = rate_arg("--flows", optarg); break;
		case ':':
			fprintf(stderr, "xdpi %s: option '%s' needs a value\n", cmd, argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "xdpi %s: unknown option '%s' (see xdpi %s --help)\n", cmd,
				argv[optind - 1], cmd);
			return 2;
		}
		if (pkts == -2 || flows == -2)
			return 2;
	}
	if (!ifname) {
		fprintf(stderr, "xdpi %s: which interface? give -i IFACE\n", cmd);
		return 2;
	}
	if (json && (!is_rules || strcmp(sub, "list"))) {
		fprintf(stderr, "xdpi %s: --json applies to `xdpi rules list` only\n", cmd);
		return 2;
	}
	join(words, sizeof(words), argc, argv, optind);
	if (!is_rules) {
		if (words[0]) {
			fprintf(stderr, "xdpi sample: unexpected argument '%s'\n", words);
			return 2;
		}
		return sample_cmd(ifname, pkts, flows);
	}
	if (pkts != -1 || flows != -1) {
		fprintf(stderr, "xdpi rules: --packets/--flows belong to `xdpi sample`\n");
		return 2;
	}
	if (!strcmp(sub, "list") ? words[0] != 0 : !words[0]) {
		fprintf(stderr, "xdpi rules %s: %s\n", sub,
			!strcmp(sub, "list") ? "takes no rule" : "which rule? (see xdpi rules --help)");
		return 2;
	}
	return rules_cmd(sub, ifname, json, words);
}
