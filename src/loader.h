/* Loads the kernel programs (open -> configure rodata and map sizes -> load)
 * and attaches them with links, which the kernel removes when the process
 * goes away, however it ends. */
#ifndef XDPI_LOADER_H
#define XDPI_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

struct xdpi_bpf;

struct attachment {
	int xdp_link;          /* -1 when not attached */
	int tc_ingress_link;
	int tc_egress_link;
	const char *xdp_mode;  /* "native" or "generic" */
};

/* Checks for root or CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON; prints why not. */
int loader_check_privileges(const char *what);
/* NULL on failure, after printing the reason (with the verifier log tail
 * when the kernel rejected a program). */
struct xdpi_bpf *loader_load(const struct xdpi_config *cfg, int replay);
/* 0, or -1 after printing the reason; on failure nothing stays attached. */
int loader_attach(struct xdpi_bpf *skel, const struct xdpi_config *cfg, int ifindex,
		  struct attachment *a);
void loader_detach(struct attachment *a);
void loader_close(struct xdpi_bpf *skel);
/* Sends libbpf's messages to stderr as they come (for -v). */
void loader_set_verbose(int on);

/* The steps of loading a BPF object, for other objects too (src/sockhook.c):
 * keep libbpf's log from here on; open a skeleton, from the object file
 * PATH (--bpf-object) instead of the built-in one when PATH is set, where
 * *alt gets the file's bytes, which the caller frees after the load (0, or
 * -1 with the error reported); say why a skeleton did not load (the
 * verifier log's tail if it refused). */
struct bpf_object_skeleton;
void loader_log_begin(void);
int loader_open_skeleton(struct bpf_object_skeleton *s, const char *path, void **alt);
void loader_report_load_error(int err);

#endif
