#include "afxdp.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
/* libpcap's classic-BPF header clashes with the kernel's linux/bpf.h
 * (struct bpf_insn); only the dump calls are needed here. */
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
struct bpf_program;
#include <pcap/pcap.h>
#include <pcap/dlt.h>
#include <xdp/xsk.h>
#include "util.h"
#include "xdpi/flow.h"
#include "xdpi/parse.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define BATCH       64          /* frames taken from a queue per pass */
#define COMP_RING   64          /* completion ring: required, unused (no TX) */
#define HUGE_2M     (2u << 20)
/* The kernel keeps this much room before each frame it copies in
 * (XDP_PACKET_HEADROOM), so a buffer of S bytes holds frames of S - 256. */
#define XDP_HEADROOM 256
#define PIDX_SLOTS  (1u << 16)  /* flow slots of the pkt_index counts per reader */

/* One RX queue's socket and buffers. Only the reader that owns the queue
 * touches the rings and the plain counters; it publishes the counters once
 * per batch for afxdp_stats. */
struct xq {
	struct xsk_ring_cons rx;
	struct xsk_ring_prod fq;
	struct xsk_ring_cons cq;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	uint8_t *area;          /* this queue's buffers in the shared mapping */
	uint32_t queue;
	uint32_t idx;           /* first RX descriptor claimed by the last peek */
	uint32_t npeek;         /* how many it claimed, not yet taken */
	uint64_t packets, bytes, snippets;
	_Alignas(64) _Atomic uint64_t pub_packets;
	_Atomic uint64_t pub_bytes, pub_snippets;
};

struct afxdp {
	char ifname[IF_NAMESIZE];
	int nq;                 /* sockets open */
	int zerocopy;
	struct xq *q;
	uint8_t *area;          /* every queue's buffers, one mapping */
	size_t area_len;
	uint32_t frame_size;
	uint32_t nframes;       /* buffers per queue = fill and RX ring size */
	pcap_t *pcap;           /* --afxdp-dump */
	pcap_dumper_t *dump;
	pthread_mutex_t dump_lock; /* readers of different queues share the file */
};

/* Payload packets seen per flow direction, for the events' pkt_index; a
 * flow that shares a slot with another starts counting again. */
struct pidx {
	uint32_t tag;
	uint8_t n[2];
	uint8_t _pad[2];
};

struct afxdp_reader {
	struct afxdp *ax;
	afxdp_snippet_fn fn;
	void *ctx;
	int n;
	struct xq *q[XDPI_MAX_QUEUES];
	struct pollfd pfd[XDPI_MAX_QUEUES];
	struct pidx *pidx;
};

/* ---- set-up ------------------------------------------------------------ */

/* RX queues: ethtool's channel counts, else the sysfs queue directories
 * (drivers without the ethtool call still have those). */
static int rx_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	char path[96];
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && !ioctl(fd, SIOCETHTOOL, &ifr))
		n = (int)(ch.rx_count + ch.combined_count);
	if (fd >= 0)
		close(fd);
	if (n > 0)
		return n;
	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, "rx-", 3);
	closedir(d);
	return n;
}

static int if_mtu(const char *ifname)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu = -1;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (fd >= 0 && !ioctl(fd, SIOCGIFMTU, &ifr))
		mtu = ifr.ifr_mtu;
	if (fd >= 0)
		close(fd);
	return mtu;
}

/* 2 KiB buffers hold a 1500-byte MTU frame with two VLAN tags; larger MTUs
 * take 4 KiB (the most a buffer can be), and frames past that are dropped
 * by the kernel, counted in rx_dropped. */
static uint32_t pick_frame_size(const char *ifname, int quiet)
{
	int mtu = if_mtu(ifname);
	long need = (mtu > 0 ? mtu : 1500) + 14 + 8;

	if (need <= 2048 - XDP_HEADROOM)
		return 2048;
	if (need > 4096 - XDP_HEADROOM && !quiet)
		fprintf(stderr, "xdpi: warning: %s has MTU %d; AF_XDP takes frames of up to %d "
			"bytes, longer ones are dropped (counted in afxdp_rx_dropped)\n", ifname, mtu,
			4096 - XDP_HEADROOM);
	return 4096;
}

/* The buffers of every queue in one mapping: on reserved huge pages when
 * there are enough (fewer TLB misses on every frame), else plain pages. */
static int alloc_area(struct afxdp *ax, int nq, int quiet)
{
	size_t len = (size_t)nq * ax->nframes * ax->frame_size;
	size_t huge = (len + HUGE_2M - 1) / HUGE_2M * HUGE_2M;
	void *p;

	p = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
		 -1, 0);
	if (p != MAP_FAILED) {
		ax->area = p;
		ax->area_len = huge;
		return 0;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "xdpi: cannot allocate %zu MiB of AF_XDP buffers: %s "
			"(lower --afxdp-frames)\n", len >> 20, strerror(errno));
		return -1;
	}
	ax->area = p;
	ax->area_len = len;
	if (!quiet)
		fprintf(stderr, "xdpi: notice: no huge pages for the AF_XDP buffers (%zu MiB); "
			"using 4 KiB pages (see vm.nr_hugepages)\n", len >> 20);
	return 0;
}

static void bind_error(const char *ifname, uint32_t queue, int err)
{
	const char *hint = "";

	switch (err) {
	case EAFNOSUPPORT:
		hint = " (this kernel has no AF_XDP sockets: CONFIG_XDP_SOCKETS)";
		break;
	case EBUSY:
		hint = " (another AF_XDP socket holds this queue)";
		break;
	case EINVAL:
	case EOPNOTSUPP:
		hint = " (the interface or its driver cannot do AF_XDP here)";
		break;
	case ENOMEM:
	case ENOBUFS:
		hint = " (out of memory for the buffers: lower --afxdp-frames)";
		break;
	case EPERM:
		hint = " (needs root or CAP_NET_RAW)";
		break;
	}
	fprintf(stderr, "xdpi: cannot open an AF_XDP socket on %s queue %u: %s%s\n", ifname,
		queue, strerror(err), hint);
}

/* UMEM and socket of one queue, bound zero-copy or copy. libxdp returns
 * negative errnos. The ring structs must start zeroed: libxdp 1.3.1 leaves
 * cached_prod unset, and frames came out corrupted with stale values. */
static int queue_bind(struct afxdp *ax, struct xq *q, int zerocopy)
{
	struct xsk_umem_config uc = {
		.fill_size = ax->nframes, .comp_size = COMP_RING,
		.frame_size = ax->frame_size, .frame_headroom = 0, .flags = 0,
	};
	struct xsk_socket_config sc = {
		.rx_size = ax->nframes, .tx_size = 0,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, /* xdpi's program redirects */
		.xdp_flags = 0,
		.bind_flags = XDP_USE_NEED_WAKEUP | (zerocopy ? XDP_ZEROCOPY : XDP_COPY),
	};
	int err;

	memset(&q->rx, 0, sizeof(q->rx));
	memset(&q->fq, 0, sizeof(q->fq));
	memset(&q->cq, 0, sizeof(q->cq));
	err = xsk_umem__create(&q->umem, q->area, (uint64_t)ax->nframes * ax->frame_size,
			       &q->fq, &q->cq, &uc);
	if (err) {
		q->umem = NULL;
		return err;
	}
	err = xsk_socket__create(&q->xsk, ax->ifname, q->queue, q->umem, &q->rx, NULL, &sc);
	if (err) {
		q->xsk = NULL;
		xsk_umem__delete(q->umem);
		q->umem = NULL;
	}
	return err;
}

/* Every buffer goes to the fill ring, which is exactly that big: so there
 * is always room to give back the buffers of a batch. */
static void queue_fill(struct afxdp *ax, struct xq *q)
{
	uint32_t idx = 0;

	if (xsk_ring_prod__reserve(&q->fq, ax->nframes, &idx) != ax->nframes)
		return;
	for (uint32_t i = 0; i < ax->nframes; i++)
		*xsk_ring_prod__fill_addr(&q->fq, idx + i) = (uint64_t)i * ax->frame_size;
	xsk_ring_prod__submit(&q->fq, ax->nframes);
}

/* Binds queue q, zero-copy first when *zerocopy: a driver that cannot
 * fails that bind (veth: EOPNOTSUPP), and every queue is then bound in
 * copy mode. */
static int queue_open(struct afxdp *ax, struct xq *q, int *zerocopy)
{
	int err = -EOPNOTSUPP;

	if (*zerocopy) {
		err = queue_bind(ax, q, 1);
		if (err)
			*zerocopy = 0;
	}
	if (!*zerocopy)
		err = queue_bind(ax, q, 0);
	if (err) {
		bind_error(ax->ifname, q->queue, -err);
		return -1;
	}
	queue_fill(ax, q);
	return 0;
}

static int dump_open(struct afxdp *ax, const char *path)
{
	ax->pcap = pcap_open_dead(DLT_EN10MB, 65535);
	ax->dump = ax->pcap ? pcap_dump_open(ax->pcap, path) : NULL;
	if (!ax->dump) {
		fprintf(stderr, "xdpi: cannot write %s: %s\n", path,
			ax->pcap ? pcap_geterr(ax->pcap) : "out of memory");
		return -1;
	}
	return 0;
}

struct afxdp *afxdp_open(const struct xdpi_config *cfg, int xsks_fd)
{
	struct afxdp *ax = calloc(1, sizeof(*ax));
	int nq, zerocopy = cfg->xdp_mode != XDP_MODE_GENERIC; /* generic XDP copies anyway */

	if (!ax) {
		fprintf(stderr, "xdpi: out of memory\n");
		return NULL;
	}
	pthread_mutex_init(&ax->dump_lock, NULL);
	snprintf(ax->ifname, sizeof(ax->ifname), "%s", cfg->ifname);
	nq = rx_queues(cfg->ifname);
	if (nq <= 0) {
		fprintf(stderr, "xdpi: cannot count the RX queues of %s: %s\n", cfg->ifname,
			strerror(errno ? errno : ENODEV));
		goto fail;
	}
	if (nq > XDPI_MAX_QUEUES) {
		fprintf(stderr, "xdpi: warning: %s has %d RX queues; AF_XDP reads the first %d, "
			"packets of the others go to the stack uncaptured\n", cfg->ifname, nq,
			XDPI_MAX_QUEUES);
		nq = XDPI_MAX_QUEUES;
	}
	ax->nframes = cfg->afxdp_frames;
	ax->frame_size = pick_frame_size(cfg->ifname, cfg->quiet);
	ax->q = aligned_alloc(64, sizeof(*ax->q) * (size_t)nq);
	if (!ax->q || alloc_area(ax, nq, cfg->quiet))
		goto fail;
	memset(ax->q, 0, sizeof(*ax->q) * (size_t)nq);
	for (int i = 0; i < nq; i++) {
		struct xq *q = &ax->q[i];
		int err;

		q->queue = (uint32_t)i;
		q->area = ax->area + (size_t)i * ax->nframes * ax->frame_size;
		if (queue_open(ax, q, &zerocopy))
			goto fail;
		ax->nq++;
		err = xsk_socket__update_xskmap(q->xsk, xsks_fd);
		if (err) {
			fprintf(stderr, "xdpi: cannot put the AF_XDP socket of %s queue %d in the "
				"kernel's socket map: %s\n", cfg->ifname, i, strerror(-err));
			goto fail;
		}
	}
	ax->zerocopy = zerocopy;
	if (cfg->afxdp_dump && dump_open(ax, cfg->afxdp_dump))
		goto fail;
	return ax;
fail:
	afxdp_close(ax);
	return NULL;
}

void afxdp_close(struct afxdp *ax)
{
	if (!ax)
		return;
	for (int i = 0; i < ax->nq; i++) {
		xsk_socket__delete(ax->q[i].xsk);
		xsk_umem__delete(ax->q[i].umem);
	}
	if (ax->dump)
		pcap_dump_close(ax->dump);
	if (ax->pcap)
		pcap_close(ax->pcap);
	if (ax->area)
		munmap(ax->area, ax->area_len);
	pthread_mutex_destroy(&ax->dump_lock);
	free(ax->q);
	free(ax);
}

int afxdp_nqueues(const struct afxdp *ax)
{
	return ax->nq;
}

const char *afxdp_mode(const struct afxdp *ax)
{
	return ax->zerocopy ? "zero-copy" : "copy";
}

void afxdp_stats(struct afxdp *ax, struct afxdp_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->queues = (uint32_t)ax->nq;
	st->zerocopy = (uint32_t)ax->zerocopy;
	for (int i = 0; i < ax->nq; i++) {
		struct xq *q = &ax->q[i];
		struct xdp_statistics xs;
		socklen_t len = sizeof(xs);

		st->packets += atomic_load_explicit(&q->pub_packets, memory_order_relaxed);
		st->bytes += atomic_load_explicit(&q->pub_bytes, memory_order_relaxed);
		st->snippets += atomic_load_explicit(&q->pub_snippets, memory_order_relaxed);
		memset(&xs, 0, sizeof(xs));
		if (getsockopt(xsk_socket__fd(q->xsk), SOL_XDP, XDP_STATISTICS, &xs, &len))
			continue;
		st->rx_dropped += xs.rx_dropped;
		st->rx_ring_full += xs.rx_ring_full;
		st->fill_ring_empty += xs.rx_fill_ring_empty_descs;
		st->rx_invalid += xs.rx_invalid_descs;
	}
}

/* ---- reading ----------------------------------------------------------- */

struct afxdp_reader *afxdp_reader_new(struct afxdp *ax, int first, int step,
				      afxdp_snippet_fn fn, void *ctx)
{
	struct afxdp_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->pidx = calloc(PIDX_SLOTS, sizeof(*r->pidx));
	if (!r->pidx) {
		free(r);
		return NULL;
	}
	r->ax = ax;
	r->fn = fn;
	r->ctx = ctx;
	for (int i = first; step > 0 && i < ax->nq; i += step) {
		r->q[r->n] = &ax->q[i];
		r->pfd[r->n].fd = xsk_socket__fd(ax->q[i].xsk);
		r->pfd[r->n].events = POLLIN;
		r->n++;
	}
	return r;
}

int afxdp_reader_nqueues(const struct afxdp_reader *r)
{
	return r->n;
}

void afxdp_reader_free(struct afxdp_reader *r)
{
	if (!r)
		return;
	free(r->pidx);
	free(r);
}

/* The kernel side counts snippets per flow direction in its flow entry;
 * here a reader-local table does, keyed by the flow hash. */
static uint8_t next_index(struct afxdp_reader *r, const struct xdpi_flow_key *k, uint8_t dir)
{
	uint64_t h = flow_key_hash(k, 0);
	struct pidx *s = &r->pidx[h & (PIDX_SLOTS - 1)];
	uint32_t tag = (uint32_t)(h >> 32);
	uint8_t *n = &s->n[dir & 1];

	if (s->tag != tag) {
		s->tag = tag;
		s->n[0] = s->n[1] = 0;
	}
	return *n < 255 ? (*n)++ : 255;
}

/* One frame: parsed with the kernel's parser and, when it carries payload,
 * handed on as the snippet event the kernel would have written. The kernel
 * redirects only packets it counted in a flow, so other frames are rare. */
static void take_frame(struct afxdp_reader *r, struct xq *q, const uint8_t *data, uint32_t len,
		       uint64_t ts)
{
	struct xdpi_event h;
	struct xdpi_pkt p;

	q->packets++;
	q->bytes += len;
	if (xdpi_parse((void *)data, (void *)(data + len), 0, &p) != XDPI_P_FLOW ||
	    !p.payload_len)
		return;
	memset(&h, 0, sizeof(h));
	h.type = XDPI_EV_SNIPPET;
	h.ts_ns = ts;
	h.dir = xdpi_flow_key_from_pkt(&p, &h.key);
	h.tcp_seq = p.tcp_seq;
	h.pkt_len = p.ip_len;
	h.tcp_flags = p.tcp_flags;
	h.len = p.payload_len < XDPI_SNIPPET_MAX ? p.payload_len : XDPI_SNIPPET_MAX;
	h.pkt_index = next_index(r, &h.key, h.dir);
	q->snippets++;
	r->fn(r->ctx, &h, data + p.payload_off);
}

/* Zero-copy drivers may wait for a kick before they use new fill-ring
 * buffers (need_wakeup); copy mode never asks. Only when the queue is idle. */
static void kick(struct xq *q)
{
	if (xsk_ring_prod__needs_wakeup(&q->fq))
		recvfrom(xsk_socket__fd(q->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

int afxdp_reader_peek(struct afxdp_reader *r)
{
	int total = 0;

	for (int i = 0; i < r->n; i++) {
		struct xq *q = r->q[i];

		if (!q->npeek)
			q->npeek = xsk_ring_cons__peek(&q->rx, BATCH, &q->idx);
		if (!q->npeek)
			kick(q);
		total += (int)q->npeek;
	}
	return total;
}

static void dump_batch(struct afxdp *ax, struct xq *q, uint32_t n)
{
	uint64_t now = real_ns();
	struct pcap_pkthdr ph = {
		.ts = { .tv_sec = (time_t)(now / NSEC_PER_SEC),
			.tv_usec = (suseconds_t)(now % NSEC_PER_SEC / 1000) },
	};

	pthread_mutex_lock(&ax->dump_lock);
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, q->idx + i);

		ph.caplen = ph.len = d->len;
		pcap_dump((u_char *)ax->dump, &ph, xsk_umem__get_data(q->area, d->addr));
	}
	pthread_mutex_unlock(&ax->dump_lock);
}

static uint32_t queue_take(struct afxdp_reader *r, struct xq *q, uint64_t ts)
{
	uint64_t mask = ~(uint64_t)(r->ax->frame_size - 1);
	uint32_t n = q->npeek, fi = 0;

	/* The fill ring has a slot for every buffer, so this cannot fail; if
	 * it ever did, the frames would wait for the next pass. */
	if (!n || xsk_ring_prod__reserve(&q->fq, n, &fi) != n)
		return 0;
	if (r->ax->dump)
		dump_batch(r->ax, q, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, q->idx + i);

		take_frame(r, q, xsk_umem__get_data(q->area, d->addr), d->len, ts);
		*xsk_ring_prod__fill_addr(&q->fq, fi + i) = d->addr & mask;
	}
	xsk_ring_prod__submit(&q->fq, n);
	xsk_ring_cons__release(&q->rx, n);
	q->npeek = 0;
	atomic_store_explicit(&q->pub_packets, q->packets, memory_order_relaxed);
	atomic_store_explicit(&q->pub_bytes, q->bytes, memory_order_relaxed);
	atomic_store_explicit(&q->pub_snippets, q->snippets, memory_order_relaxed);
	return n;
}

int afxdp_reader_take(struct afxdp_reader *r)
{
	/* One clock read per pass, as the kernel's bpf_ktime_get_ns() clock. */
	uint64_t ts = mono_ns();
	int total = 0;

	for (int i = 0; i < r->n; i++)
		total += (int)queue_take(r, r->q[i], ts);
	return total;
}

void afxdp_reader_wait(struct afxdp_reader *r, int timeout_ms)
{
	if (r->n)
		poll(r->pfd, (nfds_t)r->n, timeout_ms);
}
