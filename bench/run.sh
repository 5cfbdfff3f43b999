#!/usr/bin/env bash
# Benchmarks of xdpi; prints Markdown tables (copy them into docs/benchmarks.md
# together with this command). Needs root for the kernel parts.
#   bash bench/run.sh            offline + kernel cost
#   PACKETS=2000000 bash bench/run.sh   larger synthetic capture
set -eu
cd "$(dirname "$0")/.."
B=build/bench
PACKETS=${PACKETS:-200000}
mkdir -p "$B"

[ -x "$B/mkpcap" ] || gcc -O2 -o "$B/mkpcap" ../shared/tools/mkpcap.c -lm
MIX="$B/mix-$PACKETS.pcap"
[ -f "$MIX" ] || "$B/mkpcap" -o "$MIX" -n "$PACKETS" >/dev/null
clang -O2 -g -target bpf -Wall -Werror -c bench/ref.bpf.c -o "$B/ref.bpf.o"
cc -O2 -Wall -Wextra -Werror -Iinclude -Ibuild $(pkg-config --cflags libbpf) -o "$B/kcost" \
	bench/kcost.c $(pkg-config --libs libbpf) -lelf -lz

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
echo "### Kernel program cost"
echo
"$B/kcost" "${REPEAT:-1000000}" "$B/ref.bpf.o"
