/* Shared by the kernel cost benchmarks (bench/kcost.c, bench/namecost.c):
 * the test packet and its flows, a random order, one BPF_PROG_TEST_RUN,
 * the median of runs, and .rodata set before load. Include after
 * <bpf/bpf.h>, <bpf/btf.h> and <bpf/libbpf.h>. */
#ifndef XDPI_BENCH_KHARNESS_H
#define XDPI_BENCH_KHARNESS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

/* xorshift64: 0 .. n - 1, the same sequence on every run. */
static inline unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* Ethernet + IPv4 + TCP PSH|ACK 198.18.0.1:50000 -> 198.18.0.2:443 with
 * size - 54 payload bytes of zeros. */
static inline void tcp_frame(unsigned char *f, size_t size)
{
	size_t ip_len = size - 14;

	memset(f, 0, size);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (unsigned char)(ip_len >> 8);
	f[17] = (unsigned char)ip_len;
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, "\xc6\x12\x00\x01\xc6\x12\x00\x02", 8);
	f[34] = 0xc3; f[35] = 0x50;   /* 50000 */
	f[36] = 0x01; f[37] = 0xbb;   /* 443 */
	f[46] = 0x50;                 /* data offset 5 */
	f[47] = 0x18;                 /* PSH|ACK */
}

/* Flow i: source port i, source address 198.18.(i >> 16).1. */
static inline void set_flow(unsigned char *f, unsigned i)
{
	f[28] = (unsigned char)(i >> 16);
	f[34] = (unsigned char)(i >> 8);
	f[35] = (unsigned char)i;
}

/* One test run of program FD on the packet repeated REPEAT times: average
 * ns per packet, as the kernel measured it. Exits on failure, saying WHO. */
static inline unsigned test_run(int fd, unsigned char *pkt, size_t len, unsigned repeat,
				const char *who)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (unsigned)len,
			    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o)) {
		fprintf(stderr, "%s: test_run: %s\n", who, strerror(errno));
		exit(1);
	}
	return o.duration;
}

/* Sorts V (N values) and returns their median. */
static inline double median(double *v, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (v[j] < v[i]) {
				double t = v[i];

				v[i] = v[j];
				v[j] = t;
			}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Sets a 4- or 8-byte variable of the object's .rodata before load. */
static inline int set_rodata(struct bpf_object *o, const char *name, unsigned long long val)
{
	struct bpf_map *m = bpf_object__find_map_by_name(o, ".rodata");
	struct btf *btf = bpf_object__btf(o);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	size_t size;
	char *data;
	int id;

	if (!m || !btf)
		return -1;
	/* Writable before load (the const is libbpf 1.1's signature). */
	data = (char *)(unsigned long)bpf_map__initial_value(m, &size);
	if (!data)
		return -1;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return -1;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		if (vs->offset + vs->size > size)
			return -1;
		if (vs->size == 4) {
			unsigned v = (unsigned)val;

			memcpy(data + vs->offset, &v, 4);
		} else if (vs->size == 8) {
			memcpy(data + vs->offset, &val, 8);
		} else {
			return -1;
		}
		return 0;
	}
	return -1;
}

#endif
