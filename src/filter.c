/* The libpcap side of --filter: compile, match in user space, and hand the
 * classic program to the translator (cbpf.c) for the kernel. */
#include "filter.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <pcap/pcap.h>

/* The translator reads libpcap's instructions through its own mirror of
 * the layout. */
_Static_assert(sizeof(struct bpf_insn) == sizeof(struct cbpf_insn), "classic insn size");
_Static_assert(offsetof(struct bpf_insn, code) == offsetof(struct cbpf_insn, code) &&
	       offsetof(struct bpf_insn, jt) == offsetof(struct cbpf_insn, jt) &&
	       offsetof(struct bpf_insn, jf) == offsetof(struct cbpf_insn, jf) &&
	       offsetof(struct bpf_insn, k) == offsetof(struct cbpf_insn, k), "classic insn layout");

/* Larger than any frame pcap_source hands out (256 KiB + headers). */
#define FILTER_SNAPLEN 262144

struct filter {
	struct bpf_program prog;
};

/* Compiles expr with the handle p, which it closes. */
static struct filter *compile_with(pcap_t *p, const char *expr, char *err, size_t errlen)
{
	struct filter *f = calloc(1, sizeof(*f));

	if (!f) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (pcap_compile(p, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN)) {
		snprintf(err, errlen, "%s", pcap_geterr(p));
		goto fail;
	}
	pcap_close(p);
	return f;
fail:
	pcap_close(p);
	free(f);
	return NULL;
}

struct filter *filter_compile(const char *expr, int dlt, char *err, size_t errlen)
{
	pcap_t *p = pcap_open_dead(dlt, FILTER_SNAPLEN);

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return compile_with(p, expr, err, errlen);
}

struct filter *filter_compile_file(const char *expr, const char *path, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_open_offline(path, perr);

	if (!p) {
		snprintf(err, errlen, "%s", perr);
		return NULL;
	}
	return compile_with(p, expr, err, errlen);
}

int filter_match(const struct filter *f, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
	struct pcap_pkthdr h = { .caplen = caplen, .len = wirelen };

	return pcap_offline_filter(&f->prog, &h, data) != 0;
}

const struct cbpf_insn *filter_insns(const struct filter *f, size_t *n)
{
	*n = f->prog.bf_len;
	return (const struct cbpf_insn *)(const void *)f->prog.bf_insns;
}

int filter_load(const struct filter *f, enum cbpf_ctx ctx, int prog_array_fd, unsigned flags)
{
	struct cbpf_opts o = { .ctx = ctx, .prog_array_fd = prog_array_fd, .flags = flags };
	char err[256];
	size_t n;
	const struct cbpf_insn *in = filter_insns(f, &n);
	int fd = cbpf_load(in, n, &o, err, sizeof(err));

	if (fd < 0)
		fprintf(stderr, "xdpi: --filter (%s): %s\n", ctx == CBPF_CTX_XDP ? "XDP" : "TC", err);
	return fd;
}

void filter_free(struct filter *f)
{
	if (!f)
		return;
	pcap_freecode(&f->prog);
	free(f);
}
