/* libFuzzer target for TCP reassembly: the input is a list of segments
 * (offset, length, SYN flag) cut from one reference stream, pushed in the
 * fuzzer's order with a fuzzer-chosen initial sequence number. Byte 0 is the
 * SYN's, or without one the first data segment's. Whatever the order,
 * duplicates and overlaps, the contiguous prefix must equal the reference
 * stream from byte 0 on, and the pool must never lose a buffer. */
#include <stdint.h>
#include <string.h>
#include "reasm.h"

#define WINDOW 2048

static uint8_t ref[WINDOW * 2];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reasm_pool *pool;
	struct reasm_dir d = { 0 };
	uint32_t isn, len, base = UINT32_MAX;
	const uint8_t *got;

	if (!pool) {
		pool = reasm_pool_new(2, WINDOW);
		for (size_t i = 0; i < sizeof(ref); i++)
			ref[i] = (uint8_t)(i * 31 + 7);
	}
	if (size < 4)
		return 0;
	memcpy(&isn, data, 4);
	data += 4;
	size -= 4;
	for (; size >= 4; data += 4, size -= 4) {
		uint32_t off = ((uint32_t)data[0] << 8 | data[1]) % (WINDOW * 2);
		uint32_t l = data[2] * 8u;
		int syn = data[3] & 1;

		if (off + l > sizeof(ref))
			l = (uint32_t)sizeof(ref) - off;
		if (syn) {
			if (base == UINT32_MAX)
				base = 0;
			reasm_push(pool, &d, isn - 1, NULL, 0, 1);
		} else {
			if (base == UINT32_MAX && l)
				base = off;
			reasm_push(pool, &d, isn + off, ref + off, l, 0);
		}
	}
	got = reasm_data(pool, &d, &len);
	if (len > WINDOW || (len && (!got || base == UINT32_MAX ||
				     base + len > sizeof(ref) || memcmp(got, ref + base, len))))
		__builtin_trap();
	reasm_release(pool, &d);
	if (reasm_free_bufs(pool) != 2)
		__builtin_trap();
	return 0;
}
