#!/usr/bin/env bash
# Offline engine benchmarks: `xdpi read` packets/second with 1, 2, 3 workers,
# and memory (anonymous RSS) at 100k and 1M concurrent flows. Prints
# Markdown tables. Synthetic captures come from ../shared/tools/mkpcap.c.
set -eu
cd "$(dirname "$0")/.."
READ_FLAGS=${READ_FLAGS:-}   # e.g. --no-dpi: flows only
B=build/bench
mkdir -p "$B"
[ -x "$B/mkpcap" ] || gcc -O2 -o "$B/mkpcap" ../shared/tools/mkpcap.c -lm

capture() { # name packets concurrent
	[ -f "$B/$1" ] || "$B/mkpcap" -o "$B/$1" -n "$2" -c "$3" >/dev/null
	echo "$B/$1"
}

best_us() { # runs best-of-5 wall time of a command, in microseconds
	local best=0 t0 t1 t
	for _ in 1 2 3 4 5; do
		t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
		t=$(( (t1 - t0) / 1000 ))
		if [ "$best" -eq 0 ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

MIX=$(capture mix-200000.pcap 200000 1000)
BIG=$(capture mix-1000000.pcap 1000000 1000)
echo "### Offline read with workers (best of 5, page cache warm${READ_FLAGS:+, $READ_FLAGS})"
echo
echo "| capture | packets | workers | time | packets/s | vs 1 worker |"
echo "|---|---:|---:|---:|---:|---:|"
for f in "$BIG" "$MIX" ../shared/pcap/bench/zeek-echo-connections.pcap; do
	build/xdpi read "$f" -q --stats-json "$B/s.json" >/dev/null
	n=$(python3 -c "import json;print(json.load(open('$B/s.json'))['packets'])")
	base=0
	cat "$f" >/dev/null
	for w in 1 2 3; do
		us=$(best_us build/xdpi read "$f" -q --workers "$w" $READ_FLAGS)
		[ "$base" -eq 0 ] && base=$us
		awk -v f="$(basename "$f")" -v n="$n" -v w="$w" -v us="$us" -v b="$base" 'BEGIN {
			printf "| %s | %d | %d | %.1f ms | %.2f M | %.2fx |\n", f, n, w, us / 1000, n / us, b / us }'
	done
done

echo
echo "### Memory at many concurrent flows (xdpi read, idle timeout longer than the capture)"
echo
echo "| concurrent flows | flows in records | max flows (tables) | anonymous RSS | per flow |"
echo "|---:|---:|---:|---:|---:|"
build/xdpi read ../shared/pcap/arkime-twovlan.pcap -q --stats-json "$B/m0.json" --max-flows 16 >/dev/null
base_kb=$(python3 -c "import json;print(json.load(open('$B/m0.json'))['rss_anon_kb'])")
for c in 100000 1000000; do
	f=$(capture "conc-$c.pcap" $((c * 4)) "$c")
	max=$((c * 3 / 2))
	build/xdpi read "$f" -q --max-flows "$max" --idle-timeout 100000s --active-timeout 0 \
		--stats-json "$B/m.json" >/dev/null
	python3 - "$B/m.json" "$c" "$max" "$base_kb" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c, mx, base = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rss = d['rss_anon_kb']
print('| %d | %d | %d | %.1f MiB | %.0f B |' % (c, d['records'], mx, rss / 1024.0,
      (rss - base) * 1024.0 / max(d['records'], 1)))
PY
done
