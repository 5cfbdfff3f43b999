#include "rules.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_SCTP 132

static const char *const action_names[] = {
	[XDPI_RULE_PASS] = "pass", [XDPI_RULE_DROP] = "drop", [XDPI_RULE_ALERT] = "alert",
	[XDPI_RULE_DEEP] = "deep", [XDPI_RULE_SAMPLE] = "sample",
};

static const struct {
	const char *name;
	uint8_t num;
} proto_names[] = {
	{ "icmp", 1 }, { "igmp", 2 }, { "ipip", 4 }, { "tcp", 6 }, { "udp", 17 },
	{ "gre", 47 }, { "esp", 50 }, { "ah", 51 }, { "icmp6", 58 }, { "ospf", 89 },
	{ "sctp", 132 },
};

static int proto_by_name(const char *s)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
		if (!strcasecmp(s, proto_names[i].name))
			return proto_names[i].num;
	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < 0 || v > 255)
		return -1;
	return (int)v;
}

static const char *proto_name(uint8_t num, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
		if (proto_names[i].num == num)
			return proto_names[i].name;
	snprintf(buf, len, "%u", num);
	return buf;
}

static int parse_number(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return end == s || *end || errno || *out < lo || *out > hi || *s == '-' ? -1 : 0;
}

static int parse_cidr(const char *word, struct rule *r, char *err, size_t errlen)
{
	char buf[64], *slash;
	unsigned long len;

	snprintf(buf, sizeof(buf), "%s", word);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, r->addr) == 1)
		r->family = 4;
	else if (inet_pton(AF_INET6, buf, r->addr) == 1)
		r->family = 6;
	else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", buf);
		return -1;
	}
	r->prefixlen = r->family == 4 ? 32 : 128;
	if (slash) {
		if (parse_number(slash + 1, 0, r->prefixlen, &len)) {
			snprintf(err, errlen, "bad prefix length '/%s' (0-%u)", slash + 1, r->prefixlen);
			return -1;
		}
		r->prefixlen = (uint32_t)len;
	}
	/* Host bits set are a typo more often than a wish: refuse them. */
	for (uint32_t bit = r->prefixlen; bit < (r->family == 4 ? 32u : 128u); bit++) {
		if (r->addr[bit / 8] & (0x80 >> (bit % 8))) {
			snprintf(err, errlen, "'%s/%u' has host bits set", buf, r->prefixlen);
			return -1;
		}
	}
	r->match = MATCH_CIDR;
	return 0;
}

static int parse_ports(const char *word, struct rule *r, char *err, size_t errlen)
{
	char buf[32], *dash;
	unsigned long lo, hi;

	snprintf(buf, sizeof(buf), "%s", word);
	dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (parse_number(buf, 1, 65535, &lo) || (dash && parse_number(dash + 1, 1, 65535, &hi))) {
		snprintf(err, errlen, "bad port '%s' (1-65535, or a range such as 8000-8080)", word);
		return -1;
	}
	if (!dash)
		hi = lo;
	if (hi < lo || hi - lo >= RULE_MAX_PORTS) {
		snprintf(err, errlen, "bad port range '%s' (low-high, at most %d ports)", word,
			 RULE_MAX_PORTS);
		return -1;
	}
	r->port_lo = (uint16_t)lo;
	r->port_hi = (uint16_t)hi;
	r->match = MATCH_PORT;
	return 0;
}

/* The rule as listed: action, then the match in one spelling. */
static void normalise(struct rule *r)
{
	char addr[INET6_ADDRSTRLEN], match[80], num[8], act[16];

	if (r->action == XDPI_RULE_SAMPLE)
		snprintf(act, sizeof(act), "sample %u", r->arg);
	else
		snprintf(act, sizeof(act), "%s", action_names[r->action]);
	if (r->match == MATCH_CIDR) {
		inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, addr, sizeof(addr));
		snprintf(match, sizeof(match), "%s/%u", addr, r->prefixlen);
	} else if (r->match == MATCH_PORT) {
		char range[16];

		if (r->port_lo == r->port_hi)
			snprintf(range, sizeof(range), "%u", r->port_lo);
		else
			snprintf(range, sizeof(range), "%u-%u", r->port_lo, r->port_hi);
		snprintf(match, sizeof(match), "%s%sport %s",
			 r->nprotos == 1 ? proto_name(r->protos[0], num, sizeof(num)) : "",
			 r->nprotos == 1 ? " " : "", range);
	} else {
		snprintf(match, sizeof(match), "proto %s", proto_name(r->protos[0], num, sizeof(num)));
	}
	/* Every match written here fits; the cut only quiets the compiler. */
	snprintf(r->text, sizeof(r->text), "%s %.74s", act, match);
}

static int parse_match(char **w, int n, struct rule *r, char *err, size_t errlen)
{
	int proto;

	if (n == 2 && !strcasecmp(w[0], "proto")) {
		proto = proto_by_name(w[1]);
		if (proto < 0) {
			snprintf(err, errlen, "unknown protocol '%s' (a name such as tcp, udp, "
				 "icmp, gre, or a number 0-255)", w[1]);
			return -1;
		}
		r->match = MATCH_PROTO;
		r->protos[0] = (uint8_t)proto;
		r->nprotos = 1;
		return 0;
	}
	if (n == 2 && !strcasecmp(w[0], "port")) {
		r->protos[0] = PROTO_TCP;
		r->protos[1] = PROTO_UDP;
		r->protos[2] = PROTO_SCTP;
		r->nprotos = 3;
		return parse_ports(w[1], r, err, errlen);
	}
	if (n == 3 && !strcasecmp(w[1], "port")) {
		proto = proto_by_name(w[0]);
		if (proto != PROTO_TCP && proto != PROTO_UDP && proto != PROTO_SCTP) {
			snprintf(err, errlen, "ports go with tcp, udp or sctp, not '%s'", w[0]);
			return -1;
		}
		r->protos[0] = (uint8_t)proto;
		r->nprotos = 1;
		return parse_ports(w[2], r, err, errlen);
	}
	if (n == 2 && (!strcasecmp(w[0], "net") || !strcasecmp(w[0], "host")))
		return parse_cidr(w[1], r, err, errlen);
	if (n == 1)
		return parse_cidr(w[0], r, err, errlen);
	snprintf(err, errlen, "expected an address or CIDR, '[tcp|udp] port N[-M]' or "
		 "'proto NAME' after the action");
	return -1;
}

int rules_parse_line(const char *line, struct rule *r, char *err, size_t errlen)
{
	char buf[256], *w[8], *save = NULL, *tok;
	unsigned long n;
	int nw = 0, first = 1;

	memset(r, 0, sizeof(*r));
	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " \t\r\n", &save); tok && nw < 8; tok = strtok_r(NULL, " \t\r\n", &save))
		w[nw++] = tok;
	if (nw < 2) {
		snprintf(err, errlen, "expected 'ACTION MATCH', e.g. 'drop 10.0.0.0/8', "
			 "'pass udp port 53', 'sample 10 proto tcp'");
		return -1;
	}
	for (uint32_t a = XDPI_RULE_PASS; a <= XDPI_RULE_SAMPLE; a++)
		if (!strcasecmp(w[0], action_names[a]))
			r->action = (uint16_t)a;
	if (!r->action) {
		snprintf(err, errlen, "unknown action '%s' (pass, drop, alert, deep or sample N)", w[0]);
		return -1;
	}
	if (r->action == XDPI_RULE_SAMPLE) {
		if (parse_number(w[1], 2, 65535, &n)) {
			snprintf(err, errlen, "'sample' takes a rate N from 2 to 65535 (1 in N "
				 "flows), not '%s'", w[1]);
			return -1;
		}
		r->arg = (uint16_t)n;
		first = 2;
	}
	if (nw - first < 1 || nw - first > 3 || nw == 8) {
		snprintf(err, errlen, "expected an address or CIDR, '[tcp|udp] port N[-M]' or "
			 "'proto NAME' after the action");
		return -1;
	}
	if (parse_match(w + first, nw - first, r, err, errlen))
		return -1;
	normalise(r);
	return 0;
}

int rules_load_file(const char *path, struct ruleset *rs, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[256], why[160];
	int lineno = 0;

	memset(rs, 0, sizeof(*rs));
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#'), *p = line;
		struct rule *grown;

		lineno++;
		if (hash)
			*hash = 0;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			continue;
		if (rs->n >= XDPI_MAX_RULES) {
			snprintf(err, errlen, "%s:%d: more than %d rules", path, lineno, XDPI_MAX_RULES);
			goto fail;
		}
		grown = realloc(rs->r, sizeof(*rs->r) * (rs->n + 1));
		if (!grown) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		rs->r = grown;
		if (rules_parse_line(p, &rs->r[rs->n], why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			goto fail;
		}
		rs->n++;
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	rules_free(rs);
	return -1;
}

void rules_free(struct ruleset *rs)
{
	free(rs->r);
	rs->r = NULL;
	rs->n = 0;
}

int policy_get(int config_fd, struct xdpi_config_map *pol)
{
	uint32_t key = XDPI_CFG_POLICY;

	memset(pol, 0, sizeof(*pol));
	return bpf_map_lookup_elem(config_fd, &key, pol) ? -1 : 0;
}

int policy_set(int config_fd, const struct xdpi_config_map *pol)
{
	uint32_t key = XDPI_CFG_POLICY;

	return bpf_map_update_elem(config_fd, &key, pol, BPF_ANY) ? -1 : 0;
}

static int read_text(const struct rule_maps *m, uint32_t id, struct xdpi_rule_text *t)
{
	if (bpf_map_lookup_elem(m->text, &id, t))
		return -1;
	return t->used ? 0 : -1;
}

/* The rule stored under id, parsed again from its text. */
static int read_rule(const struct rule_maps *m, uint32_t id, struct rule *r)
{
	struct xdpi_rule_text t;
	char err[160];

	if (read_text(m, id, &t))
		return -1;
	t.text[sizeof(t.text) - 1] = 0;
	return rules_parse_line(t.text, r, err, sizeof(err));
}

static uint32_t table_bit(const struct rule *r)
{
	if (r->match == MATCH_CIDR)
		return (r->family == 4 ? XDPI_RULES_CIDR4 : XDPI_RULES_CIDR6) |
		       (r->action == XDPI_RULE_DROP ? XDPI_RULES_DROP_CIDR : 0);
	return r->match == MATCH_PORT ? XDPI_RULES_PORT : XDPI_RULES_PROTO;
}

/* Which tables hold rules, from the rules themselves. */
static int refresh_tables(const struct rule_maps *m)
{
	struct xdpi_config_map pol;
	uint32_t bits = 0;
	struct rule r;

	for (uint32_t id = 0; id < XDPI_MAX_RULES; id++)
		if (!read_rule(m, id, &r))
			bits |= table_bit(&r);
	if (policy_get(m->config, &pol))
		return -1;
	pol.rules_on = bits;
	return policy_set(m->config, &pol);
}

static void cidr_key(const struct rule *r, void *key)
{
	if (r->family == 4) {
		struct xdpi_lpm4_key *k = key;

		k->prefixlen = r->prefixlen;
		memcpy(k->addr, r->addr, 4);
	} else {
		struct xdpi_lpm6_key *k = key;

		k->prefixlen = r->prefixlen;
		memcpy(k->addr, r->addr, 16);
	}
}

/* The id of a rule whose entries r's would overwrite, or -1. */
static int conflict(const struct rule_maps *m, const struct rule *r)
{
	struct xdpi_rule v;
	struct rule old;

	if (r->match == MATCH_CIDR) {
		struct xdpi_lpm6_key key = { 0 };

		cidr_key(r, &key);
		/* A trie lookup gives the longest covering prefix: a conflict
		 * only if it is this very prefix. */
		if (bpf_map_lookup_elem(r->family == 4 ? m->cidr4 : m->cidr6, &key, &v) ||
		    read_rule(m, v.id, &old))
			return -1;
		return old.family == r->family && old.prefixlen == r->prefixlen &&
		       !memcmp(old.addr, r->addr, 16) ? (int)v.id : -1;
	}
	if (r->match == MATCH_PROTO) {
		uint32_t k = r->protos[0];

		return !bpf_map_lookup_elem(m->proto, &k, &v) && v.action ? (int)v.id : -1;
	}
	for (int i = 0; i < r->nprotos; i++) {
		for (uint32_t p = r->port_lo; p <= r->port_hi; p++) {
			struct xdpi_port_key k = { .port = (uint16_t)p, .proto = r->protos[i] };

			if (!bpf_map_lookup_elem(m->port, &k, &v))
				return (int)v.id;
		}
	}
	return -1;
}

/* Writes (v != NULL) or removes r's entries. */
static int put_entries(const struct rule_maps *m, const struct rule *r, const struct xdpi_rule *v)
{
	int err = 0;

	if (r->match == MATCH_CIDR) {
		struct xdpi_lpm6_key key = { 0 };
		int fd = r->family == 4 ? m->cidr4 : m->cidr6;

		cidr_key(r, &key);
		return v ? bpf_map_update_elem(fd, &key, v, BPF_ANY) : bpf_map_delete_elem(fd, &key);
	}
	if (r->match == MATCH_PROTO) {
		struct xdpi_rule none = { 0 };
		uint32_t k = r->protos[0];

		return bpf_map_update_elem(m->proto, &k, v ? v : &none, BPF_ANY);
	}
	for (int i = 0; i < r->nprotos; i++) {
		for (uint32_t p = r->port_lo; p <= r->port_hi; p++) {
			struct xdpi_port_key k = { .port = (uint16_t)p, .proto = r->protos[i] };

			if (v)
				err |= bpf_map_update_elem(m->port, &k, v, BPF_ANY);
			else
				bpf_map_delete_elem(m->port, &k);
		}
	}
	return err ? -1 : 0;
}

static int zero_hits(int fd, uint32_t id)
{
	int ncpus = libbpf_num_possible_cpus();
	struct xdpi_rule_hits *z;
	int rc;

	if (ncpus <= 0)
		return -1;
	z = calloc((size_t)ncpus, sizeof(*z));
	if (!z)
		return -1;
	rc = bpf_map_update_elem(fd, &id, z, BPF_ANY);
	free(z);
	return rc ? -1 : 0;
}

static int add_from(const struct rule_maps *m, const struct rule *r, uint32_t start,
		    uint32_t *id_out, char *err, size_t errlen)
{
	struct xdpi_rule_text t;
	struct xdpi_config_map pol;
	struct xdpi_rule v;
	uint32_t id;
	int other = conflict(m, r);

	if (other >= 0) {
		struct xdpi_rule_text ot = { 0 };

		read_text(m, (uint32_t)other, &ot);
		ot.text[sizeof(ot.text) - 1] = 0;
		snprintf(err, errlen, "'%s' overlaps rule %d '%s' (delete that one first)", r->text,
			 other, ot.text);
		return -1;
	}
	if (policy_get(m->config, &pol)) {
		snprintf(err, errlen, "cannot read the config map: %s", strerror(errno));
		return -1;
	}
	if (r->action == XDPI_RULE_DEEP && !pol.afxdp) {
		snprintf(err, errlen, "'%s': deep rules hand packets to AF_XDP sockets; "
			 "start xdpi run with --capture afxdp", r->text);
		return -1;
	}
	for (id = start; id < XDPI_MAX_RULES; id++)
		if (bpf_map_lookup_elem(m->text, &id, &t) == 0 && !t.used)
			break;
	if (id >= XDPI_MAX_RULES) {
		snprintf(err, errlen, "no room: %d rules already", XDPI_MAX_RULES);
		return -1;
	}
	memset(&t, 0, sizeof(t));
	t.used = 1;
	snprintf(t.text, sizeof(t.text), "%s", r->text);
	v = (struct xdpi_rule){ .id = id, .action = r->action, .arg = r->arg };
	/* Text and zeroed hits first, the entries the packets see last. */
	if (bpf_map_update_elem(m->text, &id, &t, BPF_ANY) || zero_hits(m->hits, id) ||
	    put_entries(m, r, &v)) {
		snprintf(err, errlen, "cannot write rule '%s': %s", r->text, strerror(errno));
		put_entries(m, r, NULL);
		memset(&t, 0, sizeof(t));
		bpf_map_update_elem(m->text, &id, &t, BPF_ANY);
		return -1;
	}
	pol.rules_on |= table_bit(r);
	if (policy_set(m->config, &pol)) {
		snprintf(err, errlen, "cannot write the config map: %s", strerror(errno));
		return -1;
	}
	*id_out = id;
	return 0;
}

int rules_add(const struct rule_maps *m, const struct rule *r, uint32_t *id, char *err,
	      size_t errlen)
{
	return add_from(m, r, 0, id, err, errlen);
}

int rules_del(const struct rule_maps *m, uint32_t id, char *err, size_t errlen)
{
	struct xdpi_rule_text t = { 0 };
	struct rule r;

	if (id >= XDPI_MAX_RULES || read_rule(m, id, &r)) {
		snprintf(err, errlen, "no rule %u (see xdpi rules list)", id);
		return -1;
	}
	if (put_entries(m, &r, NULL) && r.match != MATCH_PORT) {
		snprintf(err, errlen, "cannot remove rule %u: %s", id, strerror(errno));
		return -1;
	}
	if (bpf_map_update_elem(m->text, &id, &t, BPF_ANY) || refresh_tables(m)) {
		snprintf(err, errlen, "cannot update the rule maps: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int rules_find(const struct rule_maps *m, const char *text)
{
	struct rule want, r;
	char err[160];

	if (rules_parse_line(text, &want, err, sizeof(err)))
		return -1;
	for (uint32_t id = 0; id < XDPI_MAX_RULES; id++)
		if (!read_rule(m, id, &r) && !strcmp(r.text, want.text))
			return (int)id;
	return -1;
}

int rules_install(const struct ruleset *rs, const struct rule_maps *m)
{
	char err[256];
	uint32_t id = 0;

	for (uint32_t i = 0; i < rs->n; i++) {
		if (add_from(m, &rs->r[i], id, &id, err, sizeof(err))) {
			fprintf(stderr, "xdpi: rule %u: %s\n", i + 1, err);
			return -1;
		}
		id++;
	}
	return 0;
}

int rules_hits(int fd, uint32_t id, struct xdpi_rule_hits *sum)
{
	int ncpus = libbpf_num_possible_cpus();
	struct xdpi_rule_hits v[256];

	memset(sum, 0, sizeof(*sum));
	if (ncpus <= 0 || ncpus > 256 || bpf_map_lookup_elem(fd, &id, v))
		return -1;
	for (int c = 0; c < ncpus; c++) {
		sum->pkts += v[c].pkts;
		sum->bytes += v[c].bytes;
	}
	return 0;
}

int rules_list(FILE *f, const struct rule_maps *m, const char *indent)
{
	struct xdpi_rule_hits h;
	struct xdpi_rule_text t;
	int n = 0;

	for (uint32_t id = 0; id < XDPI_MAX_RULES; id++) {
		if (read_text(m, id, &t))
			continue;
		t.text[sizeof(t.text) - 1] = 0;
		rules_hits(m->hits, id, &h);
		fprintf(f, "%srule %-4u %-40s %12llu packets %14llu bytes\n", indent, id, t.text,
			(unsigned long long)h.pkts, (unsigned long long)h.bytes);
		n++;
	}
	return n;
}

int rules_write_json(FILE *f, const struct rule_maps *m)
{
	struct xdpi_rule_hits h;
	struct xdpi_rule_text t;
	int n = 0;

	fprintf(f, ",\"rules\":[");
	for (uint32_t id = 0; id < XDPI_MAX_RULES; id++) {
		if (read_text(m, id, &t))
			continue;
		t.text[sizeof(t.text) - 1] = 0;
		rules_hits(m->hits, id, &h);
		fprintf(f, "%s{\"id\":%u,\"rule\":\"%s\",\"packets\":%llu,\"bytes\":%llu}",
			n ? "," : "", id, t.text, (unsigned long long)h.pkts,
			(unsigned long long)h.bytes);
		n++;
	}
	fprintf(f, "]");
	return n;
}
