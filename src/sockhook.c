#include "sockhook.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "xdpi_sock.skel.h"

/* A block goes to user space when full or after this many ms, so a quiet
 * link still delivers within a few ms and a stop drains quickly. */
#define RETIRE_MS   8
#define BLOCK_MAX   (1u << 20)
#define FRAME_SIZE  2048           /* TPACKET_V3 frames are variable: this only sizes the request */
#define VLAN_BUF    (65536 + 4)    /* a frame with its tag put back */

struct sockhook {
	struct xdpi_sock_bpf *skel;
	int fd;
	uint8_t *ring;
	size_t ring_len;
	uint32_t block_size;
	uint32_t block_nr;
	uint32_t next;             /* the block to look at next */
	struct socket_stats st;
	uint8_t *vlan_buf;
};

/* open -> set the snippet length -> load, as the XDP/TC loader does; a
 * --bpf-object replaces the built-in object. */
static struct xdpi_sock_bpf *load_filter(const struct xdpi_config *cfg)
{
	struct xdpi_sock_bpf *skel = calloc(1, sizeof(*skel));
	void *alt = NULL;
	int err;

	loader_log_begin();
	if (!skel || xdpi_sock_bpf__create_skeleton(skel)) {
		fprintf(stderr, "xdpi: out of memory\n");
		free(skel);
		return NULL;
	}
	if (loader_open_skeleton(skel->skeleton, cfg->bpf_object, &alt))
		goto fail;
	skel->rodata->snippet_bytes = cfg->snippet_bytes;
	err = bpf_object__load_skeleton(skel->skeleton);
	if (err) {
		loader_report_load_error(err);
		goto fail;
	}
	free(alt);
	skel->skeleton->data = NULL; /* do not let destroy see the freed copy */
	return skel;
fail:
	xdpi_sock_bpf__destroy(skel);
	free(alt);
	return NULL;
}

/* TPACKET_V3 ring of ring_bytes (a power of two): blocks of up to 1 MiB,
 * at least one. */
static int setup_ring(struct sockhook *h, uint64_t ring_bytes)
{
	int version = TPACKET_V3;
	struct tpacket_req3 req;
	uint64_t block = ring_bytes / 16;

	if (block > BLOCK_MAX)
		block = BLOCK_MAX;
	if (block < 4096)
		block = 4096;
	memset(&req, 0, sizeof(req));
	req.tp_block_size = (unsigned)block;
	req.tp_block_nr = (unsigned)(ring_bytes / block ? ring_bytes / block : 1);
	req.tp_frame_size = FRAME_SIZE;
	req.tp_frame_nr = req.tp_block_size / FRAME_SIZE * req.tp_block_nr;
	req.tp_retire_blk_tov = RETIRE_MS;
	if (setsockopt(h->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) ||
	    setsockopt(h->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req))) {
		fprintf(stderr, "xdpi: cannot set up the packet ring: %s\n", strerror(errno));
		return -1;
	}
	h->block_size = req.tp_block_size;
	h->block_nr = req.tp_block_nr;
	h->ring_len = (size_t)h->block_size * h->block_nr;
	h->ring = mmap(NULL, h->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (h->ring == MAP_FAILED) {
		h->ring = NULL;
		fprintf(stderr, "xdpi: cannot map the packet ring: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

struct sockhook *sockhook_open(const struct xdpi_config *cfg, int ifindex)
{
	struct sockhook *h = calloc(1, sizeof(*h));
	struct sockaddr_ll sll;
	int prog_fd, one = 1;

	if (!h || !(h->vlan_buf = malloc(VLAN_BUF))) {
		fprintf(stderr, "xdpi: out of memory\n");
		free(h);
		return NULL;
	}
	h->fd = -1;
	h->skel = load_filter(cfg);
	if (!h->skel)
		goto fail;
	/* Protocol 0: no packet reaches the socket before the filter and the
	 * ring are in place and it is bound to the one interface. */
	h->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (h->fd < 0) {
		fprintf(stderr, "xdpi: cannot open a packet socket: %s\n", strerror(errno));
		goto fail;
	}
	prog_fd = bpf_program__fd(h->skel->progs.xdpi_sock);
	if (setsockopt(h->fd, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof(prog_fd))) {
		fprintf(stderr, "xdpi: cannot attach the socket filter: %s\n", strerror(errno));
		goto fail;
	}
	if (setup_ring(h, cfg->ringbuf_bytes))
		goto fail;
	/* --no-egress: sent packets are not even handed to the socket. */
	if (cfg->no_egress &&
	    setsockopt(h->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one))) {
		fprintf(stderr, "xdpi: cannot leave out sent packets: %s\n", strerror(errno));
		goto fail;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(h->fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "xdpi: cannot bind the packet socket to %s: %s\n", cfg->ifname,
			strerror(errno));
		goto fail;
	}
	return h;
fail:
	sockhook_close(h);
	return NULL;
}

uint32_t sockhook_prog_id(const struct sockhook *h)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(h->skel->progs.xdpi_sock), &info, &len))
		return 0;
	return info.id;
}

/* The frame as it was on the wire: the driver may have moved the VLAN tag
 * into the packet's metadata, and the parser wants it in the frame. */
static void frame_of(struct sockhook *h, const struct tpacket3_hdr *t, struct sock_frame *f)
{
	const uint8_t *mac = (const uint8_t *)t + t->tp_mac;
	const struct sockaddr_ll *sll = (const void *)((const uint8_t *)t +
						     TPACKET_ALIGN(sizeof(*t)));
	uint32_t cap = t->tp_snaplen;
	uint16_t tpid = ETH_P_8021Q;

	f->data = mac;
	f->caplen = cap;
	f->wire_len = t->tp_len;
	f->ts_ns = (uint64_t)t->tp_sec * 1000000000ULL + t->tp_nsec;
	f->pkttype = sll->sll_pkttype;
	if (!(t->tp_status & TP_STATUS_VLAN_VALID) || cap < 12)
		return;
	if (t->tp_status & TP_STATUS_VLAN_TPID_VALID)
		tpid = t->hv1.tp_vlan_tpid;
	if (cap > VLAN_BUF - 4)
		cap = VLAN_BUF - 4;
	memcpy(h->vlan_buf, mac, 12);
	h->vlan_buf[12] = tpid >> 8;
	h->vlan_buf[13] = tpid & 0xff;
	h->vlan_buf[14] = t->hv1.tp_vlan_tci >> 8;
	h->vlan_buf[15] = t->hv1.tp_vlan_tci & 0xff;
	memcpy(h->vlan_buf + 16, mac + 12, cap - 12);
	f->data = h->vlan_buf;
	f->caplen = cap + 4;
	f->wire_len = t->tp_len + 4;
}

/* Hands every frame of one filled block to fn; returns how many. */
static int read_block(struct sockhook *h, struct tpacket_block_desc *b,
		      sockhook_frame_fn fn, void *arg)
{
	uint32_t n = b->hdr.bh1.num_pkts;
	const uint8_t *p = (const uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
	struct sock_frame f;

	for (uint32_t i = 0; i < n; i++) {
		const struct tpacket3_hdr *t = (const void *)p;

		frame_of(h, t, &f);
		h->st.frames++;
		h->st.wire_bytes += t->tp_len;
		h->st.copied_bytes += t->tp_snaplen;
		fn(&f, arg);
		p += t->tp_next_offset;
	}
	return (int)n;
}

/* Every block the kernel has handed over, in ring order. */
static int read_ready(struct sockhook *h, sockhook_frame_fn fn, void *arg)
{
	int frames = 0;

	for (;;) {
		struct tpacket_block_desc *b =
			(void *)(h->ring + (size_t)h->next * h->block_size);

		if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
		      TP_STATUS_USER))
			return frames;
		frames += read_block(h, b, fn, arg);
		/* The block goes back to the kernel only once it is read. */
		__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		h->next = (h->next + 1) % h->block_nr;
	}
}

int sockhook_poll(struct sockhook *h, int timeout_ms, sockhook_frame_fn fn, void *arg)
{
	struct pollfd pfd = { .fd = h->fd, .events = POLLIN | POLLERR };
	int frames = read_ready(h, fn, arg);

	if (frames)
		return frames;
	if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	return read_ready(h, fn, arg);
}

int sockhook_stop(struct sockhook *h)
{
	/* Classic BPF "ret #0": replaces the socket filter; nothing is copied. */
	struct sock_filter none[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = none };

	if (setsockopt(h->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		return -errno;
	return 0;
}

int sockhook_drain(struct sockhook *h, sockhook_frame_fn fn, void *arg)
{
	int n, total = 0;

	/* A partly filled block is handed over when its timer runs out; an
	 * empty one never is. Two timer periods without a block: done. */
	while ((n = sockhook_poll(h, 2 * RETIRE_MS + 10, fn, arg)) > 0)
		total += n;
	return n < 0 ? n : total;
}

const struct socket_stats *sockhook_stats(struct sockhook *h)
{
	struct tpacket_stats_v3 st;
	socklen_t len = sizeof(st);

	memset(&st, 0, sizeof(st));
	if (h->fd >= 0 && !getsockopt(h->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len)) {
		h->st.packets += st.tp_packets;
		h->st.drops += st.tp_drops;
		h->st.freezes += st.tp_freeze_q_cnt;
	}
	return &h->st;
}

void sockhook_close(struct sockhook *h)
{
	if (!h)
		return;
	if (h->ring)
		munmap(h->ring, h->ring_len);
	if (h->fd >= 0)
		close(h->fd);
	xdpi_sock_bpf__destroy(h->skel);
	free(h->vlan_buf);
	free(h);
}
