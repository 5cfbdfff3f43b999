/* Verifier statistics of a BPF object: loads every program with the
 * verifier's statistics log (level 4) and prints, per program, the
 * instructions the verifier processed (bpf_prog_info.verified_insns, which
 * bpftool 7.1 does not show), the translated and JIT-compiled sizes, the
 * log's summary line, and the time the whole load took (maps included).
 *
 *   cc -O2 -o build/bench/verifstat bench/verifstat.c -lbpf
 *   build/bench/verifstat build/xdpi.bpf.o   (as root)
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define MAX_PROGS 32

static char logs[MAX_PROGS][1 << 16];

int main(int argc, char **argv)
{
	struct timespec a, b;
	struct bpf_program *p;
	struct bpf_object *o;
	int i = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: verifstat OBJECT\n");
		return 2;
	}
	o = bpf_object__open_file(argv[1], NULL);
	if (!o) {
		fprintf(stderr, "verifstat: cannot open %s\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(p, o) {
		if (i == MAX_PROGS)
			break;
		bpf_program__set_log_level(p, 4);
		bpf_program__set_log_buf(p, logs[i], sizeof(logs[i]));
		i++;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (bpf_object__load(o)) {
		fprintf(stderr, "verifstat: %s did not load (root needed?)\n", argv[1]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	i = 0;
	bpf_object__for_each_program(p, o) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		const char *l = i < MAX_PROGS ? strstr(logs[i], "processed") : NULL;
		int n = l ? (int)strcspn(l, "\n") : 0;

		memset(&info, 0, sizeof(info));
		bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len);
		printf("%-16s verified_insns %u, xlated %u B, jited %u B | %.*s\n",
		       bpf_program__name(p), info.verified_insns, info.xlated_prog_len,
		       info.jited_prog_len, n, l ? l : "");
		i++;
	}
	printf("object load (all programs and maps): %.1f ms\n",
	       (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	bpf_object__close(o);
	return 0;
}
