/* SPDX-License-Identifier: BSD-3-Clause */
/* A flow's server name from one packet: the SNI of a TLS ClientHello or the
 * Host of an HTTP request head, found in the payload's first XDPI_NAME_SCAN
 * bytes. Compiled into the BPF object (bpf/extract.h) and into the
 * user-space path (src/upath.c), so `xdpi read` and `xdpi read --kernel`
 * find the same names in the same packets.
 *
 * The payload is first copied into the buffer of a struct xdpi_name_walk
 * (in the kernel, a per-CPU map value: the BPF stack is nearly all taken by
 * the program that calls this). Every read masks
 * its offset with XDPI_NAME_SCAN - 1: that is what tells the verifier it
 * stays in the buffer. Every offset is checked against the copied length
 * before it is read, so the mask never changes a byte that matters, and
 * bytes past the copied length (left from an earlier packet) never decide
 * anything. Loops go through XDPI_LOOP: bpf_loop in the kernel, whose
 * callback is verified once rather than once per iteration, and a plain
 * loop in user space. bpf_loop wants its context on the stack: what goes
 * there is a pointer to the walk.
 *
 * Deliberately narrower than the parsers of src/proto/: no reassembly, the
 * first server_name entry only, a Host field on one line. The parsers still
 * run on snippets; this only makes sure a flow record has a name when they
 * cannot (snippets shed, sampled out or off). */
#ifndef XDPI_NAMES_H
#define XDPI_NAMES_H

#include <linux/types.h>
#include "abi.h"
#include "parse.h"

#define XDPI_NAME_SCAN 2048 /* payload bytes parsed: a whole 1500-byte packet */
#define XDPI_NAME_PKTS 8    /* first packets of a direction looked at (SYN
			     * retransmissions and duplicates come first) */
#define XDPI_NAME_MIN  16   /* shorter payloads hold neither */
#define XDPI_NAME_EXTS 64   /* TLS extensions walked at most */

/* Room past XDPI_NAME_SCAN, so that a name can be copied out in 8-byte
 * words from any masked offset. */
struct xdpi_name_buf {
	union {
		__u8  b[XDPI_NAME_SCAN + XDPI_NAME_MAX];
		__u64 w[(XDPI_NAME_SCAN + XDPI_NAME_MAX) / 8]; /* the HTTP scan's words */
	};
};

#ifdef __bpf__
/* In asm, so that the compiler cannot drop the mask where it believes the
 * offset small: the verifier needs to see it. */
static __always_inline __u64 xdpi_name_mask(__u64 off)
{
	asm volatile("%[o] &= %[m]" : [o] "+r"(off) : [m] "i"(XDPI_NAME_SCAN - 1));
	return off;
}
#define XDPI_LOOP(n, cb, ctx) bpf_loop((n), (cb), (ctx), 0)
#else
#define xdpi_name_mask(off) ((__u64)(off) & (XDPI_NAME_SCAN - 1))
static inline void xdpi_loop_user(__u32 n, long (*cb)(__u32, void *), void *ctx)
{
	for (__u32 i = 0; i < n; i++)
		if (cb(i, ctx))
			break;
}
#define XDPI_LOOP(n, cb, ctx) xdpi_loop_user((n), (cb), (ctx))
#endif

static __always_inline __u32 xdpi_nb(const struct xdpi_name_buf *nb, __u64 off)
{
	return nb->b[xdpi_name_mask(off)];
}

static __always_inline __u32 xdpi_nb16(const struct xdpi_name_buf *nb, __u64 off)
{
	return xdpi_nb(nb, off) << 8 | xdpi_nb(nb, off + 1);
}

/* Whether a packet is worth a look: TCP payload among the first packets of
 * its direction. In the kernel the count is the CPU's copy of the flow's,
 * so a flow spread over CPUs gets a few more looks, never fewer. Placed so
 * that most packets cost one compare. */
static __always_inline int xdpi_name_wanted(const struct xdpi_flow_val *v,
					    const struct xdpi_pkt *p, __u8 dir)
{
	return v->dir[dir & 1].pkts <= XDPI_NAME_PKTS && p->payload_len >= XDPI_NAME_MIN &&
	       p->proto == XDPI_IPPROTO_TCP;
}

/* Whether the 8-byte word w0 (the payload's first bytes, in memory order)
 * starts with the string literal s: a masked compare, folded to constants. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define XDPI_SHIFT(i) (8 * (i))
#else
#define XDPI_SHIFT(i) (56 - 8 * (i))
#endif
#define XDPI_CH(s, i) (sizeof(s) - 1 > (i) ? (__u64)(__u8)(s)[i] << XDPI_SHIFT(i) : 0)
#define XDPI_MK(s, i) (sizeof(s) - 1 > (i) ? (__u64)0xff << XDPI_SHIFT(i) : 0)
#define XDPI_W8(s) (XDPI_CH(s, 0) | XDPI_CH(s, 1) | XDPI_CH(s, 2) | XDPI_CH(s, 3) | \
		    XDPI_CH(s, 4) | XDPI_CH(s, 5) | XDPI_CH(s, 6) | XDPI_CH(s, 7))
#define XDPI_M8(s) (XDPI_MK(s, 0) | XDPI_MK(s, 1) | XDPI_MK(s, 2) | XDPI_MK(s, 3) | \
		    XDPI_MK(s, 4) | XDPI_MK(s, 5) | XDPI_MK(s, 6) | XDPI_MK(s, 7))
#define XDPI_PFX(w0, s) (((w0) & XDPI_M8(s)) == XDPI_W8(s))

/* A request line's method (with its space), from the first 8 bytes. */
static __always_inline int xdpi_http_method(const struct xdpi_name_buf *nb)
{
	__u64 w0 = nb->w[0];

	switch (nb->b[0]) {
	case 'G': return XDPI_PFX(w0, "GET ");
	case 'P': return XDPI_PFX(w0, "POST ") || XDPI_PFX(w0, "PUT ") || XDPI_PFX(w0, "PATCH ");
	case 'H': return XDPI_PFX(w0, "HEAD ");
	case 'D': return XDPI_PFX(w0, "DELETE ");
	case 'O': return XDPI_PFX(w0, "OPTIONS ");
	case 'C': return XDPI_PFX(w0, "CONNECT ");
	case 'T': return XDPI_PFX(w0, "TRACE ");
	}
	return 0;
}

/* From the payload's first 8 bytes (copied to nb), the kind of name it may
 * hold, 0 for none: decides whether the rest is worth copying. A TLS record
 * of type handshake (22), version 3.0-3.4 as tls_detect wants, with a
 * ClientHello (1); or a request line. */
static __always_inline int xdpi_name_guess(const struct xdpi_name_buf *nb)
{
	if (nb->b[0] == 22)
		return nb->b[1] == 3 && nb->b[2] <= 4 && nb->b[5] == 1 ? XDPI_NAME_SNI : 0;
	return xdpi_http_method(nb) ? XDPI_NAME_HOST : 0;
}

/* The state of every loop below, the result, and the payload. */
struct xdpi_name_walk {
	__u32 len;   /* bytes copied to buf */
	__u32 pos;   /* TLS: next extension */
	__u32 end;   /* TLS: end of the extensions; HTTP: the Host value's end */
	__u32 start; /* HTTP: the Host value's start (after "host:"); 0 until found */
	__u32 off;   /* result: the name's offset in the payload ... */
	__u32 nlen;  /* ... and length; 0: none */
	struct xdpi_name_buf buf;
};

/* A callback's walk, from the pointer bpf_loop was given. */
#define XDPI_WALK(ctx) (*(struct xdpi_name_walk **)(ctx))

/* ---- TLS: the extensions of a ClientHello, up to server_name ---- */

static long xdpi_tls_ext(__u32 i, void *ctx)
{
	struct xdpi_name_walk *w = XDPI_WALK(ctx);
	const struct xdpi_name_buf *nb = &w->buf;
	__u32 off = w->pos, type, len, nlen;

	(void)i;
	if (off + 4 > w->end)
		return 1;
	type = xdpi_nb16(nb, off);
	len = xdpi_nb16(nb, off + 2);
	/* An extension running past the bytes there are: the record was cut
	 * (it goes on in the next segment), or this is no ClientHello. */
	if (off + 4 + len > w->end)
		return 1;
	if (type != 0) {
		w->pos = off + 4 + len;
		return 0;
	}
	/* server_name: list length (2), then type (1, 0 = host_name), name
	 * length (2), name. Only the first extension of the type counts, as for
	 * the parser of src/proto/tls.c. */
	nlen = xdpi_nb16(nb, off + 7);
	if (len >= 5 && xdpi_nb(nb, off + 6) == 0 && nlen && 5 + nlen <= len) {
		w->off = off + 9;
		w->nlen = nlen;
	}
	return 1;
}

/* The SNI of a ClientHello that starts the payload. Only the extensions
 * that are whole in these bytes are walked: a ClientHello cut by the end
 * of the segment still gives its name when server_name came before the cut. */
static __always_inline int xdpi_name_tls(struct xdpi_name_walk **wp)
{
	struct xdpi_name_walk *w = *wp;
	const struct xdpi_name_buf *nb = &w->buf;
	__u32 end, hs_end, o;

	/* record header (5), handshake header (4), version (2), random (32),
	 * session id length (1) */
	if (w->len < 44 || xdpi_name_guess(nb) != XDPI_NAME_SNI)
		return 0;
	end = 5 + (nb->b[3] << 8 | nb->b[4]);
	hs_end = 9 + (nb->b[6] << 16 | nb->b[7] << 8 | nb->b[8]);
	if (end > hs_end)
		end = hs_end;
	if (end > w->len)
		end = w->len;
	if (nb->b[43] > 32)
		return 0;
	o = 44 + nb->b[43];
	if (o + 2 > end)
		return 0;
	o += 2 + xdpi_nb16(nb, o);      /* cipher suites */
	if (o + 1 > end)
		return 0;
	o += 1 + xdpi_nb(nb, o);        /* compression methods */
	if (o + 2 > end)
		return 0;
	w->pos = o + 2;
	w->end = w->pos + xdpi_nb16(nb, o); /* extensions */
	if (w->end > end)
		w->end = end;
	XDPI_LOOP(XDPI_NAME_EXTS, xdpi_tls_ext, wp);
	return w->nlen ? XDPI_NAME_SNI : 0;
}

/* ---- HTTP: the Host field of a request head ---- */

/* At the LF at pos: the next line may be the Host field; the value ends at
 * the LF after it. 1 to stop. The field name matches as src/proto/http.c
 * matches it: "host" in any case, directly followed by the colon. Not
 * inlined: the step below calls it from 8 places. */
static __attribute__((noinline)) int xdpi_http_lf(struct xdpi_name_walk *w, __u32 pos)
{
	const struct xdpi_name_buf *nb = &w->buf;
	__u32 c;

	if (w->start) {
		w->end = pos;
		return 1;
	}
	/* No room left for "host:" and an LF after it. */
	if (pos + 6 > w->len)
		return 1;
	c = xdpi_nb(nb, pos + 1);
	/* An empty line: the head ends without a Host. */
	if (c == '\r' || c == '\n')
		return 1;
	/* x | 0x20 lowers a letter and maps nothing else onto one. */
	if ((c | 0x20) == 'h' && (xdpi_nb(nb, pos + 2) | 0x20) == 'o' &&
	    (xdpi_nb(nb, pos + 3) | 0x20) == 's' && (xdpi_nb(nb, pos + 4) | 0x20) == 't' &&
	    xdpi_nb(nb, pos + 5) == ':')
		w->start = pos + 6;
	return 0;
}

/* Whether the 8 bytes at word i hold an LF (the classic has-zero-byte test
 * on the word XOR LFs). */
static __always_inline int xdpi_word_lf(const struct xdpi_name_walk *w, __u32 i)
{
	__u64 x = w->buf.w[i & (XDPI_NAME_SCAN / 8 - 1)] ^ 0x0a0a0a0a0a0a0a0aULL;

	return ((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL) != 0;
}

/* The LFs of word i, one by one; 1 to stop. A call, not inlined in each of
 * the step's words: only words with an LF come here. */
static __attribute__((noinline)) int xdpi_word_lfs(struct xdpi_name_walk *w, __u32 i)
{
	__u32 k, pos = i * 8;

XDPI_UNROLL
	for (k = 0; k < 8; k++) {
		if (pos + k >= w->len)
			return 1;
		if (xdpi_nb(&w->buf, pos + k) == '\n' && xdpi_http_lf(w, pos + k))
			return 1;
	}
	return 0;
}

#define XDPI_HTTP_STEP 4 /* words per loop step: a step costs more than a word */

/* XDPI_HTTP_STEP words per step: most steps hold no LF and cost a few
 * tests. Words past the bytes there are stop the walk in xdpi_word_lfs. */
static long xdpi_http_step(__u32 i, void *ctx)
{
	struct xdpi_name_walk *w = XDPI_WALK(ctx);
	__u32 j, first = i * XDPI_HTTP_STEP;

XDPI_UNROLL
	for (j = 0; j < XDPI_HTTP_STEP; j++)
		if (xdpi_word_lf(w, first + j) && xdpi_word_lfs(w, first + j))
			return 1;
	return (first + XDPI_HTTP_STEP) * 8 >= w->len;
}

static __always_inline int xdpi_is_ws(__u32 c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The value's whitespace, from the front (start moves up) ... */
static long xdpi_http_lead(__u32 i, void *ctx)
{
	struct xdpi_name_walk *w = XDPI_WALK(ctx);

	(void)i;
	if (w->start >= w->end || !xdpi_is_ws(xdpi_nb(&w->buf, w->start)))
		return 1;
	w->start++;
	return 0;
}

/* ... and from the back (end moves down): a step or two each, usually. */
static long xdpi_http_trail(__u32 i, void *ctx)
{
	struct xdpi_name_walk *w = XDPI_WALK(ctx);

	(void)i;
	if (w->end <= w->start || !xdpi_is_ws(xdpi_nb(&w->buf, w->end - 1)))
		return 1;
	w->end--;
	return 0;
}

/* The Host of a request head that starts the payload, when its line ends
 * in these bytes. The port stays, as src/proto/http.c reports it. */
static __always_inline int xdpi_name_http(struct xdpi_name_walk **wp)
{
	struct xdpi_name_walk *w = *wp;

	if (w->len < XDPI_NAME_MIN || !xdpi_http_method(&w->buf))
		return 0;
	XDPI_LOOP((w->len + XDPI_HTTP_STEP * 8 - 1) / (XDPI_HTTP_STEP * 8), xdpi_http_step, wp);
	if (!w->end)
		return 0;
	XDPI_LOOP(w->end - w->start, xdpi_http_lead, wp);
	XDPI_LOOP(w->end - w->start, xdpi_http_trail, wp);
	if (w->end <= w->start)
		return 0;
	w->off = w->start;
	w->nlen = w->end - w->start;
	return XDPI_NAME_HOST;
}

/* The name in the first len payload bytes, copied to w->buf: its kind
 * (XDPI_NAME_SNI or XDPI_NAME_HOST), with w->off and w->nlen its offset in
 * the payload and its length, cut to XDPI_NAME_MAX; 0 when there is none. */
static __always_inline int xdpi_name_find(struct xdpi_name_walk *w, __u32 len)
{
	struct xdpi_name_walk *wp = w; /* on the stack, for bpf_loop */
	int kind;

	w->len = len < XDPI_NAME_SCAN ? len : XDPI_NAME_SCAN;
	w->pos = w->end = w->start = w->off = w->nlen = 0;
	if (w->buf.b[0] == 22)
		kind = xdpi_name_tls(&wp);
	else
		kind = xdpi_name_http(&wp);
	if (!kind)
		w->nlen = 0;
	if (w->nlen > XDPI_NAME_MAX)
		w->nlen = XDPI_NAME_MAX;
	return kind;
}

#endif
