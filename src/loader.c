#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xdpi/abi.h"
#include "filter.h"
#include "transport.h"
#include "xdpi.skel.h"

#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46 /* linux-libc-dev 6.1 predates TCX links */
#define BPF_TCX_EGRESS 47
#endif

/* libbpf's messages, verifier logs among them, kept so that a failed load
 * can show the end of the log. */
static char log_buf[1 << 20];
static size_t log_len;
static int verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	va_copy(cp, ap);
	if (verbose)
		vfprintf(stderr, fmt, cp);
	va_end(cp);
	if (log_len > sizeof(log_buf) / 2) { /* keep the newest half */
		memmove(log_buf, log_buf + log_len - sizeof(log_buf) / 4, sizeof(log_buf) / 4);
		log_len = sizeof(log_buf) / 4;
	}
	n = vsnprintf(log_buf + log_len, sizeof(log_buf) - log_len, fmt, ap);
	if (n > 0)
		log_len += (size_t)n < sizeof(log_buf) - log_len ? (size_t)n : sizeof(log_buf) - log_len - 1;
	return 0;
}

void loader_set_verbose(int on)
{
	verbose = on;
}

static void print_log_tail(int lines)
{
	size_t i = log_len;
	int seen = 0;

	while (i > 0 && seen <= lines) {
		i--;
		if (log_buf[i] == '\n')
			seen++;
	}
	if (i > 0)
		i++;
	fprintf(stderr, "---- last lines of the kernel verifier/libbpf log ----\n%.*s"
		"------------------------------------------------------\n",
		(int)(log_len - i), log_buf + i);
}

static int has_cap(int cap)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> cap) & 1;
}

int loader_check_privileges(const char *what)
{
	if (geteuid() == 0 || (has_cap(39 /* CAP_BPF */) && has_cap(38 /* CAP_PERFMON */) &&
			       has_cap(12 /* CAP_NET_ADMIN */)))
		return 0;
	fprintf(stderr, "xdpi: %s needs root (or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN); "
		"run it with sudo\n", what);
	return -1;
}

static void *read_file(const char *path, size_t *len)
{
	struct stat st;
	void *buf = NULL;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st) && st.st_size > 0) {
		buf = malloc((size_t)st.st_size);
		if (buf && read(fd, buf, (size_t)st.st_size) != st.st_size) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)st.st_size;
	}
	close(fd);
	return buf;
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* One program type's array: the translated filter in slot FILTER, the
 * programs it continues with in BODY and REJECT. Those two go in first, so
 * the filter never finds its continuation missing. */
static int fill_prog_array(const struct filter *f, enum cbpf_ctx ctx, struct bpf_map *array,
			   struct bpf_program *body, struct bpf_program *reject)
{
	int map_fd = bpf_map__fd(array);
	__u32 slots[] = { XDPI_PROG_BODY, XDPI_PROG_REJECT, XDPI_PROG_FILTER };
	int fds[] = { bpf_program__fd(body), bpf_program__fd(reject), -1 };
	int rc = -1;

	fds[2] = filter_load(f, ctx, map_fd, 0);
	if (fds[2] < 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		if (bpf_map_update_elem(map_fd, &slots[i], &fds[i], BPF_ANY)) {
			fprintf(stderr, "xdpi: --filter: cannot fill the program array: %s\n",
				strerror(errno));
			goto cleanup;
		}
	}
	rc = 0;
cleanup:
	close(fds[2]); /* the array holds the program now */
	return rc;
}

/* --filter: the expression, compiled for the Ethernet frames the programs
 * see, in front of the XDP program, and of the TC one when it is loaded. */
static int setup_filter(struct xdpi_bpf *skel, const struct xdpi_config *cfg, int replay)
{
	char err[512];
	struct filter *f = filter_compile(cfg->filter, FILTER_DLT_ETHERNET, err, sizeof(err));
	int rc = -1;

	if (!f) {
		fprintf(stderr, "xdpi: --filter: %s\n", err);
		return -1;
	}
	if (fill_prog_array(f, CBPF_CTX_XDP, skel->maps.xdp_progs, skel->progs.xdpi_xdp_body,
			    skel->progs.xdpi_xdp_reject))
		goto cleanup;
	if (!replay && fill_prog_array(f, CBPF_CTX_TC, skel->maps.tc_progs,
				       skel->progs.xdpi_tc_body, skel->progs.xdpi_tc_reject))
		goto cleanup;
	rc = 0;
cleanup:
	filter_free(f);
	return rc;
}

struct xdpi_bpf *loader_load(const struct xdpi_config *cfg, int replay)
{
	struct xdpi_bpf *skel = calloc(1, sizeof(*skel));
	void *alt = NULL;
	int err;

	loader_log_begin();
	if (!skel || xdpi_bpf__create_skeleton(skel)) {
		fprintf(stderr, "xdpi: out of memory\n");
		free(skel);
		return NULL;
	}
	if (loader_open_skeleton(skel->skeleton, cfg->bpf_object, &alt))
		goto fail;

	skel->rodata->snippet_bytes = cfg->snippet_bytes;
	skel->rodata->snippet_pkts = cfg->snippet_pkts;
	skel->rodata->replay_ts = replay ? 1 : 0;
	if (!is_pow2(cfg->ringbuf_bytes) || cfg->ringbuf_bytes < 4096) {
		fprintf(stderr, "xdpi: --ringbuf-size must be a power of two of at least 4096 bytes\n");
		goto fail;
	}
	skel->rodata->wakeup_bytes = cfg->ringbuf_bytes / 4;
	if (bpf_map__set_max_entries(skel->maps.flows, cfg->max_flows) ||
	    bpf_map__set_max_entries(skel->maps.flow_names, cfg->max_flows) ||
	    transport_prepare(skel, cfg)) {
		fprintf(stderr, "xdpi: cannot size the BPF maps\n");
		goto fail;
	}
	skel->rodata->filter_on = cfg->filter ? 1 : 0;
	skel->rodata->capture_afxdp = cfg->capture_afxdp ? 1 : 0;
	/* Only the programs this run uses are loaded (the TC one is still
	 * needed live for egress; the tail-call targets only with a filter). */
	if (replay)
		bpf_program__set_autoload(skel->progs.xdpi_tc, false);
	if (replay || !cfg->filter) {
		bpf_program__set_autoload(skel->progs.xdpi_tc_body, false);
		bpf_program__set_autoload(skel->progs.xdpi_tc_reject, false);
	}
	if (!cfg->filter) {
		bpf_program__set_autoload(skel->progs.xdpi_xdp_body, false);
		bpf_program__set_autoload(skel->progs.xdpi_xdp_reject, false);
	}

	err = bpf_object__load_skeleton(skel->skeleton);
	if (err) {
		loader_report_load_error(err);
		goto fail;
	}
	if (cfg->filter && setup_filter(skel, cfg, replay))
		goto fail;
	free(alt);
	skel->skeleton->data = NULL; /* do not let destroy see the freed copy */
	return skel;
fail:
	xdpi_bpf__destroy(skel);
	free(alt);
	return NULL;
}

void loader_report_load_error(int err)
{
	char msg[256];

	libbpf_strerror(err, msg, sizeof(msg));
	if (err == -EPERM || err == -EACCES) {
		if (strstr(log_buf, "processed") || strstr(log_buf, "invalid") ||
		    strstr(log_buf, "R0") || strstr(log_buf, "BEGIN PROG LOAD LOG")) {
			fprintf(stderr, "xdpi: the kernel verifier rejected the BPF program (%s)\n", msg);
			print_log_tail(20);
		} else {
			fprintf(stderr, "xdpi: loading the BPF program was refused (%s); "
				"are you root, and is the memlock limit high enough?\n", msg);
		}
	} else {
		fprintf(stderr, "xdpi: loading the BPF program failed: %s\n", msg);
		print_log_tail(20);
	}
}

void loader_log_begin(void)
{
	libbpf_set_print(libbpf_print);
	log_len = 0;
}

int loader_open_skeleton(struct bpf_object_skeleton *s, const char *path, void **alt)
{
	size_t len = 0;
	char msg[256];
	int err;

	*alt = NULL;
	if (path) {
		*alt = read_file(path, &len);
		if (!*alt) {
			fprintf(stderr, "xdpi: cannot read BPF object %s: %s\n", path,
				strerror(errno ? errno : EINVAL));
			return -1;
		}
		s->data = *alt;
		s->data_sz = len;
	}
	err = bpf_object__open_skeleton(s, NULL);
	if (err) {
		libbpf_strerror(err, msg, sizeof(msg));
		fprintf(stderr, "xdpi: cannot open the BPF object: %s\n", msg);
		return -1;
	}
	return 0;
}

static int link_xdp(int prog_fd, int ifindex, unsigned flags)
{
	DECLARE_LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);

	return fd < 0 ? -errno : fd;
}

static int link_tcx(int prog_fd, int ifindex, int type)
{
	int fd = bpf_link_create(prog_fd, ifindex, (enum bpf_attach_type)type, NULL);

	return fd < 0 ? -errno : fd;
}

int loader_attach(struct xdpi_bpf *skel, const struct xdpi_config *cfg, int ifindex,
		  struct attachment *a)
{
	int xdp_fd = bpf_program__fd(skel->progs.xdpi_xdp);
	int tc_fd = bpf_program__fd(skel->progs.xdpi_tc);
	char msg[256];
	int fd;

	a->xdp_link = a->tc_ingress_link = a->tc_egress_link = -1;
	a->xdp_mode = NULL;

	if (cfg->ingress_tc) {
		fd = link_tcx(tc_fd, ifindex, BPF_TCX_INGRESS);
		if (fd < 0) {
			libbpf_strerror(fd, msg, sizeof(msg));
			fprintf(stderr, "xdpi: cannot attach the TC ingress program to %s: %s\n",
				cfg->ifname, msg);
			goto fail;
		}
		a->tc_ingress_link = fd;
	} else {
		fd = -EOPNOTSUPP;
		if (cfg->xdp_mode != XDP_MODE_GENERIC) {
			fd = link_xdp(xdp_fd, ifindex, XDP_FLAGS_DRV_MODE);
			if (fd >= 0)
				a->xdp_mode = "native";
		}
		if (fd < 0 && cfg->xdp_mode != XDP_MODE_NATIVE) {
			int native_err = fd;

			fd = link_xdp(xdp_fd, ifindex, XDP_FLAGS_SKB_MODE);
			if (fd >= 0) {
				a->xdp_mode = "generic";
				if (cfg->xdp_mode == XDP_MODE_AUTO && !cfg->quiet) {
					libbpf_strerror(native_err, msg, sizeof(msg));
					fprintf(stderr, "xdpi: native XDP not available on %s (%s); "
						"using generic XDP\n", cfg->ifname, msg);
				}
			}
		}
		if (fd < 0) {
			libbpf_strerror(fd, msg, sizeof(msg));
			fprintf(stderr, "xdpi: cannot attach the XDP program to %s: %s%s\n",
				cfg->ifname, msg,
				fd == -EBUSY ? " (another XDP program is attached; "
					       "remove it with 'ip link set dev IF xdp off')" : "");
			goto fail;
		}
		a->xdp_link = fd;
	}
	if (!cfg->no_egress) {
		fd = link_tcx(tc_fd, ifindex, BPF_TCX_EGRESS);
		if (fd < 0) {
			libbpf_strerror(fd, msg, sizeof(msg));
			fprintf(stderr, "xdpi: cannot attach the TC egress program to %s: %s\n",
				cfg->ifname, msg);
			goto fail;
		}
		a->tc_egress_link = fd;
	}
	return 0;
fail:
	loader_detach(a);
	return -1;
}

void loader_detach(struct attachment *a)
{
	int *links[] = { &a->xdp_link, &a->tc_ingress_link, &a->tc_egress_link };

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (*links[i] >= 0) {
			bpf_link_detach(*links[i]);
			close(*links[i]);
			*links[i] = -1;
		}
	}
}

void loader_close(struct xdpi_bpf *skel)
{
	xdpi_bpf__destroy(skel);
}
