/* Classic BPF -> eBPF for XDP and TC (see cbpf.h).
 *
 * The classic machine maps onto callee-saved registers, so helper calls
 * (the slow packet loads) do not disturb it: R6 ctx, R7 A, R8 X.
 * The stack holds the scratch words M[0..15], an 8-byte buffer for the
 * helper loads, the packet length and a counter per loop (libpcap's
 * protochain jumps backward). A and X are 32-bit values; every
 * instruction that writes them is a 32-bit one (zero-extending), and the
 * comparisons are JMP32.
 *
 * Loads follow libpcap's interpreter: big-endian, and a load that does not
 * fit in the packet ends the filter with "no match". The fast path reads
 * the linear data directly after a bounds check against data_end; when the
 * bytes are not there (past the linear part: XDP frags, non-linear skb, or
 * past the end), bpf_xdp_load_bytes / bpf_skb_load_bytes decide, and their
 * failure is "no match". */
#include "cbpf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include "xdpi/abi.h"

_Static_assert(sizeof(struct cbpf_insn) == sizeof(struct sock_filter), "classic insn layout");
_Static_assert(sizeof(struct bpf_insn) == 8, "eBPF insn size");

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };
#define R_CTX R6
#define R_A   R7
#define R_X   R8

/* Stack layout, below the frame pointer. */
#define OFF_MEM(i) (-64 + 4 * (int)(i)) /* M[i], 4 bytes each */
#define OFF_BUF    (-72)                /* helper loads land here */
#define OFF_LEN    (-80)                /* packet length, set in the prologue */
#define OFF_LOOP(i) (-88 - 8 * (int)(i))  /* backward jumps taken to loop head i */
#define MAX_LOOPS  32                     /* counters; more loops share the last */

/* Largest offset the direct path takes: a variable packet offset must stay
 * under the verifier's MAX_PACKET_OFF (0xffff) with the load size added,
 * and a constant one must fit the 16-bit insn offset. */
#define DIRECT_MAX_VAR   0xff00
#define DIRECT_MAX_CONST 0x7ff0


enum target { T_PC, T_MATCH, T_MISS };

struct fixup {
	size_t at;        /* the jump instruction */
	enum target kind;
	uint32_t pc;      /* T_PC: classic instruction index */
};

struct emit {
	struct bpf_insn *insn;
	size_t len, cap;
	struct fixup *fix;
	size_t nfix, capfix;
	size_t *pc_at;    /* eBPF index where each classic instruction starts */
	const struct cbpf_opts *o;
	uint32_t loop_head[MAX_LOOPS]; /* classic targets of backward jumps */
	int nloops;
	int nomem;
};

/* ---------------------------------------------------------------------- */
/* Instruction building                                                    */
/* ---------------------------------------------------------------------- */

static struct bpf_insn ins(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };

	return i;
}

static size_t put(struct emit *e, struct bpf_insn i)
{
	if (e->len == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 256;
		struct bpf_insn *n = realloc(e->insn, cap * sizeof(*n));

		if (!n) {
			e->nomem = 1;
			return e->len;
		}
		e->insn = n;
		e->cap = cap;
	}
	e->insn[e->len] = i;
	return e->len++;
}

/* A jump whose target is resolved once everything is emitted. */
static void jump(struct emit *e, struct bpf_insn i, enum target kind, uint32_t pc)
{
	size_t at = put(e, i);

	if (e->nomem)
		return;
	if (e->nfix == e->capfix) {
		size_t cap = e->capfix ? e->capfix * 2 : 64;
		struct fixup *n = realloc(e->fix, cap * sizeof(*n));

		if (!n) {
			e->nomem = 1;
			return;
		}
		e->fix = n;
		e->capfix = cap;
	}
	e->fix[e->nfix++] = (struct fixup){ .at = at, .kind = kind, .pc = pc };
}

/* Points the local forward jump at `at` to the next instruction emitted. */
static void land(struct emit *e, size_t at)
{
	if (!e->nomem)
		e->insn[at].off = (int16_t)(e->len - at - 1);
}

static void mov32_imm(struct emit *e, int dst, uint32_t k)
{
	put(e, ins(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, (int32_t)k));
}

static void mov64_reg(struct emit *e, int dst, int src)
{
	put(e, ins(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0));
}

static void ldx(struct emit *e, int size, int dst, int src, int16_t off)
{
	put(e, ins(BPF_LDX | BPF_MEM | size, dst, src, off, 0));
}

static void call(struct emit *e, int func)
{
	put(e, ins(BPF_JMP | BPF_CALL, 0, 0, 0, func));
}

/* ---------------------------------------------------------------------- */
/* Packet access                                                           */
/* ---------------------------------------------------------------------- */

static int ctx_data_off(const struct emit *e)
{
	return e->o->ctx == CBPF_CTX_XDP ? (int)offsetof(struct xdp_md, data) :
					   (int)offsetof(struct __sk_buff, data);
}

static int ctx_data_end_off(const struct emit *e)
{
	return e->o->ctx == CBPF_CTX_XDP ? (int)offsetof(struct xdp_md, data_end) :
					   (int)offsetof(struct __sk_buff, data_end);
}

static int bpf_size(int bytes)
{
	return bytes == 4 ? BPF_W : bytes == 2 ? BPF_H : BPF_B;
}

/* Network to host order, in place; loads of one byte need nothing. */
static void to_host(struct emit *e, int reg, int bytes)
{
	if (bytes > 1)
		put(e, ins(BPF_ALU | BPF_END | BPF_TO_BE, reg, 0, 0, bytes * 8));
}

/* Direct read of `bytes` at offset R2 (ind) or k into dst, after checking
 * the end against data_end. Jumps taken when the bytes are not in the
 * linear data are stored in slow[] (at most 2). Returns how many. */
static int load_direct(struct emit *e, int dst, int bytes, int ind, uint32_t k, size_t *slow)
{
	int n = 0;

	if (ind)
		slow[n++] = put(e, ins(BPF_JMP | BPF_JGT | BPF_K, R2, 0, 0, DIRECT_MAX_VAR));
	ldx(e, BPF_W, R3, R_CTX, (int16_t)ctx_data_off(e));
	ldx(e, BPF_W, R4, R_CTX, (int16_t)ctx_data_end_off(e));
	if (ind)
		put(e, ins(BPF_ALU64 | BPF_ADD | BPF_X, R3, R2, 0, 0));
	mov64_reg(e, R5, R3);
	put(e, ins(BPF_ALU64 | BPF_ADD | BPF_K, R5, 0, 0, (int32_t)((ind ? 0 : k) + (uint32_t)bytes)));
	slow[n++] = put(e, ins(BPF_JMP | BPF_JGT | BPF_X, R5, R4, 0, 0));
	ldx(e, bpf_size(bytes), dst, R3, (int16_t)(ind ? 0 : k));
	to_host(e, dst, bytes);
	return n;
}

/* The same bytes through the helper: it sees the whole packet (frags,
 * paged skb data) and fails past its end, which is "no match". */
static void load_helper(struct emit *e, int dst, int bytes, int ind, uint32_t k)
{
	if (ind) /* R2 = X + k, up to 2^33: no packet is that long */
		jump(e, ins(BPF_JMP | BPF_JGT | BPF_K, R2, 0, 0, 0x7fffffff), T_MISS, 0);
	else
		mov32_imm(e, R2, k);
	mov64_reg(e, R1, R_CTX);
	mov64_reg(e, R3, R10);
	put(e, ins(BPF_ALU64 | BPF_ADD | BPF_K, R3, 0, 0, OFF_BUF));
	mov32_imm(e, R4, (uint32_t)bytes);
	call(e, e->o->ctx == CBPF_CTX_XDP ? BPF_FUNC_xdp_load_bytes : BPF_FUNC_skb_load_bytes);
	jump(e, ins(BPF_JMP | BPF_JNE | BPF_K, R0, 0, 0, 0), T_MISS, 0);
	ldx(e, bpf_size(bytes), dst, R10, OFF_BUF);
	to_host(e, dst, bytes);
}

/* dst = bytes at k (ABS) or X + k (IND), big-endian. */
static void emit_load(struct emit *e, int dst, int bytes, int ind, uint32_t k)
{
	size_t slow[2], done = 0;
	int nslow = 0, direct;

	if (!ind && k > 0x7fffffffu - 4) { /* beyond any packet */
		jump(e, ins(BPF_JMP | BPF_JA, 0, 0, 0, 0), T_MISS, 0);
		return;
	}
	if (ind) {
		mov32_imm(e, R2, k); /* zero-extended: X + k cannot wrap in 64 bits */
		put(e, ins(BPF_ALU64 | BPF_ADD | BPF_X, R2, R_X, 0, 0));
	}
	direct = !(e->o->flags & CBPF_F_HELPER_ONLY) && (ind || k + (uint32_t)bytes <= DIRECT_MAX_CONST);
	if (direct) {
		nslow = load_direct(e, dst, bytes, ind, k, slow);
		done = put(e, ins(BPF_JMP | BPF_JA, 0, 0, 0, 0));
		for (int i = 0; i < nslow; i++)
			land(e, slow[i]);
	}
	load_helper(e, dst, bytes, ind, k);
	if (direct)
		land(e, done);
}

/* The packet length into the stack slot: XDP counts the frags too, and,
 * for `read --kernel`, the bytes the capture's snap length cut off, which
 * the replay passes in the metadata before the packet. */
static void emit_len(struct emit *e)
{
	size_t skip[2];

	if (e->o->ctx == CBPF_CTX_TC) {
		ldx(e, BPF_W, R0, R_CTX, (int16_t)offsetof(struct __sk_buff, len));
		put(e, ins(BPF_STX | BPF_MEM | BPF_W, R10, R0, OFF_LEN, 0));
		return;
	}
	mov64_reg(e, R1, R_CTX);
	call(e, BPF_FUNC_xdp_get_buff_len);
	put(e, ins(BPF_STX | BPF_MEM | BPF_W, R10, R0, OFF_LEN, 0));
	ldx(e, BPF_W, R2, R_CTX, (int16_t)offsetof(struct xdp_md, data_meta));
	ldx(e, BPF_W, R3, R_CTX, (int16_t)offsetof(struct xdp_md, data));
	mov64_reg(e, R4, R2);
	put(e, ins(BPF_ALU64 | BPF_ADD | BPF_K, R4, 0, 0, (int32_t)sizeof(struct xdpi_replay_meta)));
	skip[0] = put(e, ins(BPF_JMP | BPF_JGT | BPF_X, R4, R3, 0, 0));
	ldx(e, BPF_W, R5, R2, (int16_t)offsetof(struct xdpi_replay_meta, magic));
	skip[1] = put(e, ins(BPF_JMP32 | BPF_JNE | BPF_K, R5, 0, 0, (int32_t)XDPI_META_TS_MAGIC));
	ldx(e, BPF_W, R5, R2, (int16_t)offsetof(struct xdpi_replay_meta, cut));
	put(e, ins(BPF_ALU | BPF_ADD | BPF_X, R0, R5, 0, 0));
	put(e, ins(BPF_STX | BPF_MEM | BPF_W, R10, R0, OFF_LEN, 0));
	land(e, skip[0]);
	land(e, skip[1]);
}

/* ---------------------------------------------------------------------- */
/* Classic instructions                                                    */
/* ---------------------------------------------------------------------- */

static int fail(char *err, size_t errlen, size_t pc, const char *why, uint16_t code)
{
	snprintf(err, errlen, "classic BPF instruction %zu (code 0x%02x): %s", pc, code, why);
	return -1;
}

static int emit_ld(struct emit *e, const struct cbpf_insn *c, size_t pc, char *err, size_t errlen)
{
	int dst = BPF_CLASS(c->code) == BPF_LD ? R_A : R_X;
	int size = BPF_SIZE(c->code), bytes = size == BPF_W ? 4 : size == BPF_H ? 2 : size == BPF_B ? 1 : 0;

	switch (BPF_MODE(c->code)) {
	case BPF_IMM:
		mov32_imm(e, dst, c->k);
		return 0;
	case BPF_MEM:
		if (c->k >= 16)
			return fail(err, errlen, pc, "scratch memory index past M[15]", c->code);
		ldx(e, BPF_W, dst, R10, (int16_t)OFF_MEM(c->k));
		return 0;
	case BPF_LEN:
		ldx(e, BPF_W, dst, R10, OFF_LEN);
		return 0;
	case BPF_ABS:
	case BPF_IND:
		if (dst != R_A || !bytes)
			break;
		emit_load(e, R_A, bytes, BPF_MODE(c->code) == BPF_IND, c->k);
		return 0;
	case BPF_MSH: /* X = 4 * (P[k] & 0xf): the IPv4 header length */
		if (dst != R_X || size != BPF_B)
			break;
		emit_load(e, R_X, 1, 0, c->k);
		put(e, ins(BPF_ALU | BPF_AND | BPF_K, R_X, 0, 0, 0xf));
		put(e, ins(BPF_ALU | BPF_LSH | BPF_K, R_X, 0, 0, 2));
		return 0;
	}
	return fail(err, errlen, pc, "unknown load", c->code);
}

static int emit_alu(struct emit *e, const struct cbpf_insn *c, size_t pc, char *err, size_t errlen)
{
	int op = BPF_OP(c->code), x = BPF_SRC(c->code) == BPF_X;

	switch (op) {
	case BPF_NEG:
		put(e, ins(BPF_ALU | BPF_NEG, R_A, 0, 0, 0));
		return 0;
	case BPF_ADD: case BPF_SUB: case BPF_MUL: case BPF_AND: case BPF_OR: case BPF_XOR:
		break;
	case BPF_DIV: case BPF_MOD:
		/* Classic BPF ends with "no match" on a zero divisor; eBPF
		 * would go on with 0 (div) or A (mod). A constant zero is
		 * refused, as libpcap's and the kernel's checkers do. */
		if (x)
			jump(e, ins(BPF_JMP32 | BPF_JEQ | BPF_K, R_X, 0, 0, 0), T_MISS, 0);
		else if (!c->k)
			return fail(err, errlen, pc, "division by constant zero", c->code);
		break;
	case BPF_LSH: case BPF_RSH:
		if (x) { /* libpcap: a shift by 32 or more gives 0; eBPF would mask it */
			put(e, ins(BPF_JMP32 | BPF_JLT | BPF_K, R_X, 0, 2, 32));
			mov32_imm(e, R_A, 0);
			put(e, ins(BPF_JMP | BPF_JA, 0, 0, 1, 0));
		} else if (c->k >= 32) {
			return fail(err, errlen, pc, "shift by 32 or more", c->code);
		}
		break;
	default:
		return fail(err, errlen, pc, "unknown arithmetic operation", c->code);
	}
	if (x)
		put(e, ins(BPF_ALU | op | BPF_X, R_A, R_X, 0, 0));
	else
		put(e, ins(BPF_ALU | op | BPF_K, R_A, 0, 0, (int32_t)c->k));
	return 0;
}

/* Hides what the verifier knows of A's and X's bounds, values unchanged:
 * two XORs with a number it cannot know (a context field). The verifier
 * walks a loop once per iteration; without this, each way round the loop
 * body (protochain's AH path, its other extension headers) leaves X with
 * bounds of its own, the states at the loop head stop covering each other,
 * and the work grows with the square of the iterations (150k instructions
 * processed for 32 of them, against the 1M limit). */
static void forget_bounds(struct emit *e)
{
	int off = e->o->ctx == CBPF_CTX_XDP ? (int)offsetof(struct xdp_md, rx_queue_index) :
					      (int)offsetof(struct __sk_buff, mark);

	ldx(e, BPF_W, R1, R_CTX, (int16_t)off);
	for (int i = 0; i < 2; i++) {
		put(e, ins(BPF_ALU | BPF_XOR | BPF_X, R_A, R1, 0, 0));
		put(e, ins(BPF_ALU | BPF_XOR | BPF_X, R_X, R1, 0, 0));
	}
}

/* The stack slot counting the backward jumps to a loop head. */
static int loop_slot(const struct emit *e, uint32_t head)
{
	int i;

	for (i = 0; i < e->nloops - 1 && e->loop_head[i] != head; i++)
		;
	return OFF_LOOP(i);
}

/* Unconditional jump. A backward one (protochain loops) is counted per
 * loop head, and past CBPF_MAX_BACKWARD_JUMPS the packet does not match.
 * One counter per loop, not one for all: a loop that follows another then
 * does not depend on how often the first went round (the first one's
 * counter is dead there), which keeps the verifier's work linear. */
static void emit_ja(struct emit *e, size_t pc, uint32_t target)
{
	if (target <= pc) {
		int16_t slot = (int16_t)loop_slot(e, target);

		ldx(e, BPF_DW, R1, R10, slot);
		jump(e, ins(BPF_JMP | BPF_JGE | BPF_K, R1, 0, 0, CBPF_MAX_BACKWARD_JUMPS), T_MISS, 0);
		put(e, ins(BPF_ALU64 | BPF_ADD | BPF_K, R1, 0, 0, 1));
		put(e, ins(BPF_STX | BPF_MEM | BPF_DW, R10, R1, slot, 0));
		forget_bounds(e);
	}
	jump(e, ins(BPF_JMP | BPF_JA, 0, 0, 0, 0), T_PC, target);
}

static int emit_jmp(struct emit *e, const struct cbpf_insn *c, size_t pc, size_t n, char *err,
		    size_t errlen)
{
	int op = BPF_OP(c->code);
	uint32_t jt = (uint32_t)pc + 1 + c->jt, jf = (uint32_t)pc + 1 + c->jf;

	if (op == BPF_JA) {
		uint32_t target = (uint32_t)pc + 1 + c->k; /* wraps for backward jumps */

		if (target >= n || target == pc)
			return fail(err, errlen, pc, "jump out of the program or to itself", c->code);
		emit_ja(e, pc, target);
		return 0;
	}
	if (op != BPF_JEQ && op != BPF_JGT && op != BPF_JGE && op != BPF_JSET)
		return fail(err, errlen, pc, "unknown jump", c->code);
	if (jt >= n || jf >= n)
		return fail(err, errlen, pc, "jump out of the program", c->code);
	if (jt == jf) {
		jump(e, ins(BPF_JMP | BPF_JA, 0, 0, 0, 0), T_PC, jt);
		return 0;
	}
	if (BPF_SRC(c->code) == BPF_X)
		jump(e, ins(BPF_JMP32 | op | BPF_X, R_A, R_X, 0, 0), T_PC, jt);
	else
		jump(e, ins(BPF_JMP32 | op | BPF_K, R_A, 0, 0, (int32_t)c->k), T_PC, jt);
	if (c->jf)
		jump(e, ins(BPF_JMP | BPF_JA, 0, 0, 0, 0), T_PC, jf);
	return 0;
}

static int emit_one(struct emit *e, const struct cbpf_insn *c, size_t pc, size_t n, char *err,
		    size_t errlen)
{
	switch (BPF_CLASS(c->code)) {
	case BPF_LD:
	case BPF_LDX:
		return emit_ld(e, c, pc, err, errlen);
	case BPF_ST:
	case BPF_STX:
		if (c->k >= 16)
			return fail(err, errlen, pc, "scratch memory index past M[15]", c->code);
		put(e, ins(BPF_STX | BPF_MEM | BPF_W, R10, BPF_CLASS(c->code) == BPF_ST ? R_A : R_X,
			   (int16_t)OFF_MEM(c->k), 0));
		return 0;
	case BPF_ALU:
		return emit_alu(e, c, pc, err, errlen);
	case BPF_JMP:
		return emit_jmp(e, c, pc, n, err, errlen);
	case BPF_RET: /* classic BPF returns the bytes to keep: non-zero is a match */
		if (BPF_RVAL(c->code) == BPF_K) {
			jump(e, ins(BPF_JMP | BPF_JA, 0, 0, 0, 0), c->k ? T_MATCH : T_MISS, 0);
		} else if (BPF_RVAL(c->code) == BPF_A) {
			jump(e, ins(BPF_JMP32 | BPF_JNE | BPF_K, R_A, 0, 0, 0), T_MATCH, 0);
			jump(e, ins(BPF_JMP | BPF_JA, 0, 0, 0, 0), T_MISS, 0);
		} else {
			return fail(err, errlen, pc, "unknown return", c->code);
		}
		return 0;
	case BPF_MISC:
		if (BPF_MISCOP(c->code) == BPF_TAX)
			put(e, ins(BPF_ALU | BPF_MOV | BPF_X, R_X, R_A, 0, 0));
		else if (BPF_MISCOP(c->code) == BPF_TXA)
			put(e, ins(BPF_ALU | BPF_MOV | BPF_X, R_A, R_X, 0, 0));
		else
			return fail(err, errlen, pc, "unknown miscellaneous operation", c->code);
		return 0;
	}
	return fail(err, errlen, pc, "unknown instruction class", c->code);
}

/* ---------------------------------------------------------------------- */
/* Program                                                                 */
/* ---------------------------------------------------------------------- */

static int uses_len(const struct cbpf_insn *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((BPF_CLASS(in[i].code) == BPF_LD || BPF_CLASS(in[i].code) == BPF_LDX) &&
		    BPF_MODE(in[i].code) == BPF_LEN)
			return 1;
	return 0;
}

/* The loop heads: targets of backward jumps, one counter each. */
static void find_loops(struct emit *e, const struct cbpf_insn *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t t = (uint32_t)i + 1 + in[i].k;
		int j;

		if (in[i].code != (BPF_JMP | BPF_JA) || t > i)
			continue;
		for (j = 0; j < e->nloops && e->loop_head[j] != t; j++)
			;
		if (j == e->nloops && e->nloops < MAX_LOOPS)
			e->loop_head[e->nloops++] = t;
	}
}

/* Classic BPF starts with A = X = 0 and the scratch memory zeroed (as
 * libpcap's interpreter does), and reads the length once. */
static void emit_prologue(struct emit *e, const struct cbpf_insn *in, size_t n)
{
	uint32_t mem = 0;

	mov64_reg(e, R_CTX, R1);
	mov32_imm(e, R_A, 0);
	mov32_imm(e, R_X, 0);
	for (size_t i = 0; i < n; i++) {
		int cls = BPF_CLASS(in[i].code);

		if ((cls == BPF_ST || cls == BPF_STX ||
		     ((cls == BPF_LD || cls == BPF_LDX) && BPF_MODE(in[i].code) == BPF_MEM)) &&
		    in[i].k < 16)
			mem |= 1u << in[i].k;
	}
	for (int i = 0; i < 16; i++)
		if (mem & (1u << i))
			put(e, ins(BPF_ST | BPF_MEM | BPF_W, R10, 0, (int16_t)OFF_MEM(i), 0));
	if (uses_len(in, n))
		emit_len(e);
	find_loops(e, in, n);
	for (int i = 0; i < e->nloops; i++)
		put(e, ins(BPF_ST | BPF_MEM | BPF_DW, R10, 0, (int16_t)OFF_LOOP(i), 0));
}

/* Tail call into the array's slot; if that fails (empty slot), pass. */
static size_t emit_exit(struct emit *e, uint32_t slot)
{
	size_t at = e->len;

	mov64_reg(e, R1, R_CTX);
	put(e, ins(BPF_LD | BPF_DW | BPF_IMM, R2, BPF_PSEUDO_MAP_FD, 0, e->o->prog_array_fd));
	put(e, ins(0, 0, 0, 0, 0));
	mov32_imm(e, R3, slot);
	call(e, BPF_FUNC_tail_call);
	mov32_imm(e, R0, e->o->ctx == CBPF_CTX_XDP ? XDP_PASS : TC_ACT_OK);
	put(e, ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	return at;
}

static int resolve(struct emit *e, size_t match_at, size_t miss_at, char *err, size_t errlen)
{
	for (size_t i = 0; i < e->nfix; i++) {
		const struct fixup *f = &e->fix[i];
		size_t to = f->kind == T_MATCH ? match_at : f->kind == T_MISS ? miss_at : e->pc_at[f->pc];
		long off = (long)to - (long)f->at - 1;

		if (off < -32768 || off > 32767) {
			snprintf(err, errlen, "filter too large: a jump spans %ld instructions", off);
			return -1;
		}
		e->insn[f->at].off = (int16_t)off;
	}
	return 0;
}

static int is_jump(const struct bpf_insn *i)
{
	int cls = BPF_CLASS(i->code), op = BPF_OP(i->code);

	return (cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT;
}

/* Marks what can run, from instruction 0. */
static void mark_reachable(const struct emit *e, uint8_t *live, size_t *stack)
{
	size_t sp = 0;

	stack[sp++] = 0;
	while (sp) {
		size_t i = stack[--sp];
		const struct bpf_insn *x;

		if (i >= e->len || live[i])
			continue;
		live[i] = 1;
		x = &e->insn[i];
		if (x->code == (BPF_LD | BPF_DW | BPF_IMM)) { /* two slots */
			live[i + 1] = 1;
			stack[sp++] = i + 2;
			continue;
		}
		if (x->code == (BPF_JMP | BPF_EXIT))
			continue;
		if (is_jump(x))
			stack[sp++] = (size_t)((long)i + 1 + x->off);
		if (x->code != (BPF_JMP | BPF_JA))
			stack[sp++] = i + 1;
	}
}

/* The verifier refuses unreachable instructions, and some are: classic
 * code after a return that nothing jumps to, the fall-off-the-end guard, an
 * exit block no return uses, whatever follows a load that can never be in
 * the packet. They go, and the jumps are renumbered. */
static int drop_unreachable(struct emit *e)
{
	uint8_t *live = calloc(e->len + 1, 1);
	size_t *idx = calloc(e->len + 1, sizeof(*idx));
	size_t *stack = calloc(2 * e->len + 2, sizeof(*stack));
	size_t out = 0;
	int rc = -1;

	if (!live || !idx || !stack)
		goto cleanup;
	mark_reachable(e, live, stack);
	for (size_t i = 0; i < e->len; i++) {
		idx[i] = out;
		out += live[i];
	}
	idx[e->len] = out;
	for (size_t i = 0; i < e->len; i++) {
		struct bpf_insn x = e->insn[i];

		if (!live[i])
			continue;
		if (is_jump(&x)) /* (the second half of an LD_IMM64 has code 0: no jump) */
			x.off = (int16_t)((long)idx[(size_t)((long)i + 1 + x.off)] - (long)idx[i] - 1);
		e->insn[idx[i]] = x;
	}
	e->len = out;
	rc = 0;
cleanup:
	free(live);
	free(idx);
	free(stack);
	return rc;
}

int cbpf_translate(const struct cbpf_insn *in, size_t n, const struct cbpf_opts *o,
		   void **out, size_t *out_len, char *err, size_t errlen)
{
	struct emit e = { .o = o };
	size_t match_at, miss_at;
	int rc = -1;

	if (!n || n > 65536) {
		snprintf(err, errlen, "classic BPF program of %zu instructions", n);
		return -1;
	}
	e.pc_at = calloc(n, sizeof(*e.pc_at));
	if (!e.pc_at)
		goto nomem;
	emit_prologue(&e, in, n);
	for (size_t pc = 0; pc < n; pc++) {
		e.pc_at[pc] = e.len;
		if (emit_one(&e, &in[pc], pc, n, err, errlen))
			goto cleanup;
	}
	/* Running off the end is "no match" in libpcap's interpreter. */
	jump(&e, ins(BPF_JMP | BPF_JA, 0, 0, 0, 0), T_MISS, 0);
	match_at = emit_exit(&e, XDPI_PROG_BODY);
	miss_at = emit_exit(&e, XDPI_PROG_REJECT);
	if (e.nomem)
		goto nomem;
	if (resolve(&e, match_at, miss_at, err, errlen))
		goto cleanup;
	if (drop_unreachable(&e))
		goto nomem;
	*out = e.insn;
	*out_len = e.len;
	e.insn = NULL;
	rc = 0;
	goto cleanup;
nomem:
	snprintf(err, errlen, "out of memory");
cleanup:
	free(e.insn);
	free(e.fix);
	free(e.pc_at);
	return rc;
}

/* The end of the verifier's log, which says why. */
static void print_log_tail(const char *log, int lines)
{
	size_t i = strlen(log);
	int seen = 0;

	while (i > 0 && seen <= lines)
		if (log[--i] == '\n')
			seen++;
	if (i > 0)
		i++;
	fprintf(stderr, "---- last lines of the kernel verifier log ----\n%s"
		"-----------------------------------------------\n", log + i);
}

int cbpf_load(const struct cbpf_insn *in, size_t n, const struct cbpf_opts *o,
	      char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_prog_load_opts, lo);
	enum bpf_prog_type type = o->ctx == CBPF_CTX_XDP ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS;
	const size_t log_size = 4 << 20;
	char *log = NULL;
	void *prog = NULL;
	size_t len = 0;
	int fd = -1;

	if (cbpf_translate(in, n, o, &prog, &len, err, errlen))
		return -1;
	if (o->ctx == CBPF_CTX_XDP) {
		lo.expected_attach_type = BPF_XDP;
		lo.prog_flags = BPF_F_XDP_HAS_FRAGS;
	}
	fd = bpf_prog_load(type, "xdpi_filter", "Dual BSD/GPL", prog, len, &lo);
	if (fd >= 0 || (errno != EACCES && errno != EINVAL && errno != E2BIG)) {
		if (fd < 0)
			snprintf(err, errlen, "loading the filter program failed: %s", strerror(errno));
		goto cleanup;
	}
	/* Refused: load again with the log, to say why. */
	log = calloc(1, log_size);
	if (log) {
		lo.log_buf = log;
		lo.log_size = (__u32)log_size;
		lo.log_level = 1;
		fd = bpf_prog_load(type, "xdpi_filter", "Dual BSD/GPL", prog, len, &lo);
	}
	if (fd < 0) {
		snprintf(err, errlen, "the kernel verifier rejected the filter program (%zu "
			 "instructions): %s", len, strerror(errno));
		if (log)
			print_log_tail(log, 20);
	}
cleanup:
	free(log);
	free(prog);
	return fd;
}
