#!/usr/bin/env bash
# Benchmarks of xdpi; prints Markdown tables (copy them into docs/benchmarks.md
# together with this command). Needs root for the kernel parts.
#   bash bench/run.sh            offline + kernel cost
#   bash bench/run.sh kernel     kernel cost only
#   bash bench/run.sh transport  ring buffer vs perf buffer, ingestion rate
#   PACKETS=2000000 bash bench/run.sh   larger synthetic capture
#   REPEAT=N FLOWS=N             kernel cost: test-run repeat, flows of the many-flow table
set -eu
cd "$(dirname "$0")/.."
B=build/bench
PACKETS=${PACKETS:-200000}
mkdir -p "$B"

# Kernel-cost objects, here only (never in the normal build): the reference
# flow counter and its LRU and LRU + timestamp variants, xdpi's program as
# the normal build makes it, and the same stopped after each stage.
BPF_CC="clang -O2 -g -target bpf -Wall -Werror -Iinclude -I/usr/include/$(uname -m)-linux-gnu"
$BPF_CC -c bench/ref.bpf.c -o "$B/ref.bpf.o"
$BPF_CC -DREF_LRU -c bench/ref.bpf.c -o "$B/ref-lru.bpf.o"
$BPF_CC -DREF_LRU -DREF_TS -c bench/ref.bpf.c -o "$B/ref-lru-ts.bpf.o"
$BPF_CC -c bpf/xdpi.bpf.c -o "$B/xdpi.bpf.o"
for stage in 1 2 3; do
	$BPF_CC -DXDPI_BENCH_STAGE=$stage -c bpf/xdpi.bpf.c -o "$B/xdpi-stage$stage.bpf.o"
done
# Server-name extraction on every packet, to time it (bench/namecost.c).
$BPF_CC -DXDPI_BENCH_NAMES=1 -c bpf/xdpi.bpf.c -o "$B/xdpi-names.bpf.o"
cc -O2 -Wall -Wextra -Werror $(pkg-config --cflags libbpf) -o "$B/namecost" \
	bench/namecost.c $(pkg-config --libs libbpf) -lelf -lz
# kcost also times the program behind a --filter: it links the translator.
cc -O2 -Wall -Wextra -Werror -Iinclude -Isrc $(pkg-config --cflags libbpf) -o "$B/kcost" \
	bench/kcost.c src/cbpf.c src/filter.c $(pkg-config --libs libbpf) -lpcap -lelf -lz

# Transports and ingestion (bench/transport.c) use xdpi's own modules.
cc -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -Ibuild -o "$B/transport" \
	bench/transport.c $(ls build/obj/*.o build/obj/sink/*.o build/obj/proto/*.o | grep -v '/main\.o$') \
	-lbpf -lxdp -lpcap -lcrypto -lelf -lz -lpthread
transport() {
	"$B/transport" -o "$B/xdpi-stage3.bpf.o" -n "${EVENTS:-2000000}"
}
if [ "${1:-}" = transport ]; then
	transport
	exit 0
fi

kernel_cost() {
	echo "### Kernel program cost"
	echo
	"$B/kcost" -d "$B" -r "${REPEAT:-1000000}" -f "${FLOWS:-65536}"
	echo
	echo "### Server-name extraction"
	echo
	"$B/namecost" -d "$B" -r "${REPEAT:-1000000}" -f "${FLOWS:-65536}"
}
if [ "${1:-}" = kernel ]; then
	kernel_cost
	exit 0
fi

[ -x "$B/mkpcap" ] || gcc -O2 -o "$B/mkpcap" ../shared/tools/mkpcap.c -lm
MIX="$B/mix-$PACKETS.pcap"
[ -f "$MIX" ] || "$B/mkpcap" -o "$MIX" -n "$PACKETS" >/dev/null

# best of N wall-clock runs, in seconds
best() {
	local n=$1 best= t0 t1 t; shift
	for _ in $(seq "$n"); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		t=$(( (t1 - t0) / 1000 ))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	awk -v us="$best" 'BEGIN{printf "%.6f", us / 1e6}'
}

echo "### Offline: packets/second on one core (best of 3, page cache warm)"
echo
echo "| capture | packets | tcpdump -r -w /dev/null | xdpi read | xdpi read --kernel |"
echo "|---|---:|---:|---:|---:|"
for f in "$MIX" ../shared/pcap/bench/zeek-echo-connections.pcap ../shared/pcap/bench/ppp-tls2.pcap; do
	n=$(build/xdpi read "$f" -q --stats-json "$B/s.json" >/dev/null && python3 -c "import json;print(json.load(open('$B/s.json'))['packets'])")
	cat "$f" >/dev/null
	t_dump=$(best 3 tcpdump -r "$f" -w /dev/null)
	t_user=$(best 3 build/xdpi read "$f" -q)
	t_kern=$(best 3 build/xdpi read "$f" -q --kernel)
	pps() { awk -v n="$n" -v t="$1" 'BEGIN{ printf "%.2f M (%.3f s)", n / t / 1e6, t }'; }
	echo "| $(basename "$f") | $n | $(pps "$t_dump") | $(pps "$t_user") | $(pps "$t_kern") |"
done
echo
kernel_cost
echo
transport
