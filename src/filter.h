/* --filter EXPR: a tcpdump expression compiled by libpcap, matched in user
 * space (xdpi read) or translated for the kernel (src/cbpf.c). No libpcap
 * or kernel BPF types cross this header (see cbpf.h on the name clash). */
#ifndef XDPI_FILTER_H
#define XDPI_FILTER_H

#include <stddef.h>
#include <stdint.h>
#include "cbpf.h"

#define FILTER_DLT_ETHERNET 1 /* DLT_EN10MB: what the kernel programs see */

struct filter;

/* Compiles expr (optimised) for frames of link type dlt. NULL with
 * libpcap's message in err when the expression is not valid. */
struct filter *filter_compile(const char *expr, int dlt, char *err, size_t errlen);
/* The same for the frames of the capture file at path, compiled with the
 * file's own libpcap handle, as tcpdump does: some link types compile to
 * other code for a saved file (DLT_NULL: the writer's byte order, every
 * BSD's AF_INET6 value). */
struct filter *filter_compile_file(const char *expr, const char *path, char *err, size_t errlen);
/* Whether a frame of wirelen bytes, caplen of them captured at data,
 * matches (pcap_offline_filter). */
int filter_match(const struct filter *f, const uint8_t *data, uint32_t caplen, uint32_t wirelen);
/* The classic program, n instructions. */
const struct cbpf_insn *filter_insns(const struct filter *f, size_t *n);
/* Loads the program for the kernel (see cbpf_load): its fd, or -1 after
 * printing why. */
int filter_load(const struct filter *f, enum cbpf_ctx ctx, int prog_array_fd, unsigned flags);
void filter_free(struct filter *f);

#endif
