/* Classic BPF (what libpcap's pcap_compile makes of a tcpdump expression)
 * translated into an eBPF program for XDP or TC that ends in a tail call:
 * to slot XDPI_PROG_BODY of a program array when the packet matches, to
 * XDPI_PROG_REJECT when it does not.
 *
 * This header includes neither <pcap/bpf.h> nor <linux/bpf.h>: both define
 * a `struct bpf_insn`, of different shapes, so the libpcap side (filter.c)
 * and the kernel side (cbpf.c) live in separate translation units and meet
 * here. */
#ifndef XDPI_CBPF_H
#define XDPI_CBPF_H

#include <stddef.h>
#include <stdint.h>

/* One classic BPF instruction: the layout of libpcap's struct bpf_insn and
 * of the kernel's struct sock_filter. */
struct cbpf_insn {
	uint16_t code;
	uint8_t jt;
	uint8_t jf;
	uint32_t k;
};

/* Which program type (and context) the translation is for. */
enum cbpf_ctx {
	CBPF_CTX_XDP = 0, /* struct xdp_md; `len` also counts XDP frags and replay cuts */
	CBPF_CTX_TC,      /* struct __sk_buff; `len` is skb->len */
};

/* Every packet load through bpf_xdp_load_bytes / bpf_skb_load_bytes, none
 * by direct access: the path taken for bytes past the linear data, made
 * testable on any packet (tests, benchmarks). */
#define CBPF_F_HELPER_ONLY 1u

/* Backward jumps (libpcap's `protochain` loops) allowed per packet before
 * the filter gives up with "no match"; the verifier needs a bound. */
#define CBPF_MAX_BACKWARD_JUMPS 64

struct cbpf_opts {
	enum cbpf_ctx ctx;
	int prog_array_fd; /* the array with the BODY and REJECT slots */
	unsigned flags;    /* CBPF_F_* */
};

/* Translates n classic instructions. On success *out is a malloc'd array of
 * *out_len eBPF instructions (8 bytes each, struct bpf_insn of linux/bpf.h)
 * and 0 is returned; else -1 with a message in err. */
int cbpf_translate(const struct cbpf_insn *in, size_t n, const struct cbpf_opts *o,
		   void **out, size_t *out_len, char *err, size_t errlen);

/* Translates and loads the program (XDP: expected attach type BPF_XDP and
 * BPF_F_XDP_HAS_FRAGS, as the object's xdp.frags programs it is called
 * from and calls). Returns its fd, or -1 with a message in err; when the
 * verifier refused it, the tail of its log is printed on stderr. */
int cbpf_load(const struct cbpf_insn *in, size_t n, const struct cbpf_opts *o,
	      char *err, size_t errlen);

#endif
