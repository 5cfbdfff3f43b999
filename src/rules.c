#include "rules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static const char *const action_names[] = {
	[XDPI_RULE_PASS] = "pass", [XDPI_RULE_DROP] = "drop", [XDPI_RULE_ALERT] = "alert",
};

int rules_parse_line(const char *line, struct rule *r, char *err, size_t errlen)
{
	char action[16], cidr[64], extra[2], *slash;
	unsigned long len;
	int n = sscanf(line, "%15s %63s %1s", action, cidr, extra);

	memset(r, 0, sizeof(*r));
	if (n < 2) {
		snprintf(err, errlen, "expected 'ACTION CIDR' (pass|drop|alert 10.0.0.0/8)");
		return -1;
	}
	if (n > 2) {
		snprintf(err, errlen, "unexpected text after '%s'", cidr);
		return -1;
	}
	for (uint32_t a = XDPI_RULE_PASS; a <= XDPI_RULE_ALERT; a++)
		if (!strcmp(action, action_names[a]))
			r->action = a;
	if (!r->action) {
		snprintf(err, errlen, "unknown action '%s' (pass, drop or alert)", action);
		return -1;
	}
	snprintf(r->text, sizeof(r->text), "%s %s", action, cidr);
	slash = strchr(cidr, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, cidr, r->addr) == 1)
		r->family = 4;
	else if (inet_pton(AF_INET6, cidr, r->addr) == 1)
		r->family = 6;
	else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", cidr);
		return -1;
	}
	r->prefixlen = r->family == 4 ? 32 : 128;
	if (slash) {
		char *end;

		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (end == slash + 1 || *end || errno || len > r->prefixlen) {
			snprintf(err, errlen, "bad prefix length '/%s' (0-%u)", slash + 1, r->prefixlen);
			return -1;
		}
		r->prefixlen = (uint32_t)len;
	}
	/* Host bits set are a typo more often than a wish: refuse them. */
	for (uint32_t bit = r->prefixlen; bit < (r->family == 4 ? 32u : 128u); bit++) {
		if (r->addr[bit / 8] & (0x80 >> (bit % 8))) {
			snprintf(err, errlen, "'%s/%u' has host bits set", cidr, r->prefixlen);
			return -1;
		}
	}
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
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
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

int rules_install(const struct ruleset *rs, int fd4, int fd6, int config_fd)
{
	struct xdpi_config_map cfg;
	uint32_t zero = 0;

	for (uint32_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->r[i];
		struct xdpi_rule v = { .id = i, .action = r->action };
		int err;

		if (r->family == 4) {
			struct xdpi_lpm4_key k = { .prefixlen = r->prefixlen };

			memcpy(k.addr, r->addr, 4);
			err = bpf_map_update_elem(fd4, &k, &v, BPF_ANY);
		} else {
			struct xdpi_lpm6_key k = { .prefixlen = r->prefixlen };

			memcpy(k.addr, r->addr, 16);
			err = bpf_map_update_elem(fd6, &k, &v, BPF_ANY);
		}
		if (err) {
			fprintf(stderr, "xdpi: cannot load rule '%s': %s\n", r->text, strerror(errno));
			return -1;
		}
	}
	if (!rs->n)
		return 0;
	if (bpf_map_lookup_elem(config_fd, &zero, &cfg))
		memset(&cfg, 0, sizeof(cfg));
	cfg.rules_on = 1;
	return bpf_map_update_elem(config_fd, &zero, &cfg, BPF_ANY) ? -1 : 0;
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

void rules_report(FILE *f, const struct ruleset *rs, int hits_fd)
{
	for (uint32_t i = 0; i < rs->n; i++) {
		struct xdpi_rule_hits h;

		if (rules_hits(hits_fd, i, &h) == 0)
			fprintf(f, "  rule %u '%s': %llu packets, %llu bytes\n", i, rs->r[i].text,
				(unsigned long long)h.pkts, (unsigned long long)h.bytes);
	}
}

int rules_write_json(FILE *f, const struct ruleset *rs, int hits_fd)
{
	fprintf(f, ",\"rules\":[");
	for (uint32_t i = 0; i < rs->n; i++) {
		struct xdpi_rule_hits h;

		rules_hits(hits_fd, i, &h);
		fprintf(f, "%s{\"id\":%u,\"rule\":\"%s\",\"packets\":%llu,\"bytes\":%llu}",
			i ? "," : "", i, rs->r[i].text, (unsigned long long)h.pkts,
			(unsigned long long)h.bytes);
	}
	fprintf(f, "]");
	return 0;
}

void rules_free(struct ruleset *rs)
{
	free(rs->r);
	rs->r = NULL;
	rs->n = 0;
}
