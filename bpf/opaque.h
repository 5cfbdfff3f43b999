/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* XDPI_OPAQUE_DIFF for the parser (include/xdpi/parse.h), shared by the BPF
 * objects: pos - base, computed by the verifier itself. To it the
 * difference of two packet (or map-value) pointers is an unknown scalar
 * (for a loader with CAP_PERFMON, as root is), which the parser's rebase
 * then bounds. In asm, so the compiler cannot fold it into a per-path
 * constant on paths where it knows one. */
#ifndef XDPI_BPF_OPAQUE_H
#define XDPI_BPF_OPAQUE_H

static __always_inline long opaque_diff(void *pos, void *base)
{
	long off;

	asm volatile("%[off] = %[pos]\n\t%[off] -= %[base]"
		     : [off] "=&r"(off)
		     : [pos] "r"(pos), [base] "r"(base));
	return off;
}
#define XDPI_OPAQUE_DIFF(pos, base) opaque_diff(pos, base)

#endif
