/* libFuzzer target: the single-packet server-name parser
 * (include/xdpi/names.h), as user space compiles it, on arbitrary bytes.
 *
 * The parser reads a buffer that holds len payload bytes followed by
 * whatever an earlier packet left; the kernel masks its offsets, so a bad
 * bound would read garbage rather than fault. So each input is parsed
 * twice, with the rest of the buffer filled with two different patterns
 * (line feeds, then 0xff), and the results must be equal: no byte past len
 * may decide anything. Besides, a name found lies within the input, is
 * 1..XDPI_NAME_MAX bytes, and a Host has no line end and no whitespace at
 * either end. */
#include <stdint.h>
#include <string.h>

#include "xdpi/names.h"

#define ENSURE(c)                                                              \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static struct xdpi_name_walk w;

/* kind, with off and nlen, for the input over a buffer filled with fill. */
static int parse(const uint8_t *data, uint32_t len, uint8_t fill, uint32_t *off, uint32_t *nlen)
{
	int kind;

	memset(w.buf.b, fill, sizeof(w.buf.b));
	memcpy(w.buf.b, data, len < 8 ? len : 8);
	if (len < XDPI_NAME_MIN || !xdpi_name_guess(&w.buf))
		return -1;
	memcpy(w.buf.b, data, len);
	kind = xdpi_name_find(&w, len);
	*off = w.off;
	*nlen = w.nlen;
	return kind;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t len = size < XDPI_NAME_SCAN ? (uint32_t)size : XDPI_NAME_SCAN;
	uint32_t off1 = 0, n1 = 0, off2 = 0, n2 = 0;
	int k1 = parse(data, len, '\n', &off1, &n1);
	int k2 = parse(data, len, 0xff, &off2, &n2);

	ENSURE(k1 == k2);
	if (k1 <= 0)
		return 0;
	ENSURE(off1 == off2 && n1 == n2);
	ENSURE(n1 >= 1 && n1 <= XDPI_NAME_MAX);
	ENSURE(off1 + n1 <= len);
	if (k1 == XDPI_NAME_SNI) {
		ENSURE(data[0] == 22);
	} else {
		ENSURE(k1 == XDPI_NAME_HOST);
		ENSURE(!memchr(data + off1, '\n', n1));
		ENSURE(data[off1] != ' ' && data[off1] != '\t' && data[off1] != '\r');
		/* A cut name may end anywhere; a whole one is trimmed. */
		if (n1 < XDPI_NAME_MAX)
			ENSURE(data[off1 + n1 - 1] != ' ' && data[off1 + n1 - 1] != '\t' &&
			       data[off1 + n1 - 1] != '\r');
	}
	return 0;
}
