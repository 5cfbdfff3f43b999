#!/usr/bin/env bash
# Protocol inspection speed: `xdpi read` with every parser on (one worker)
# against ndpiReader (nDPI, one thread) and tshark extracting the same
# fields, on the same files in one run. Prints a Markdown table.
set -eu
cd "$(dirname "$0")/.."
B=build/bench
mkdir -p "$B"
[ -x "$B/mkpcap" ] || gcc -O2 -o "$B/mkpcap" ../shared/tools/mkpcap.c -lm
[ -f "$B/mix-200000.pcap" ] || "$B/mkpcap" -o "$B/mix-200000.pcap" -n 200000 >/dev/null

best_us() {
	local best=0 t0 t1 t
	for _ in 1 2 3; do
		t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N)
		t=$(( (t1 - t0) / 1000 ))
		if [ "$best" -eq 0 ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

echo "| capture | packets | xdpi read (all parsers) | records/s | ndpiReader | tshark -T fields | xdpi / ndpiReader |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for f in "$B/mix-200000.pcap" ../shared/pcap/bench/ppp-example.pcap ../shared/pcap/bench/ppp-tls2.pcap; do
	build/xdpi read "$f" -q --stats-json "$B/d.json" > "$B/d.jsonl"
	n=$(python3 -c "import json;print(json.load(open('$B/d.json'))['packets'])")
	recs=$(grep -vc '"type":"flow"' "$B/d.jsonl" || true)
	x=$(best_us build/xdpi read "$f" -q)
	if command -v ndpiReader >/dev/null; then
		nd=$(best_us ndpiReader -i "$f" -q)
	else
		nd=0
	fi
	if command -v tshark >/dev/null; then
		ts=$(best_us tshark -r "$f" -T fields -e dns.qry.name -e tls.handshake.extensions_server_name \
			-e http.host -e http.request.method -e http.request.uri)
	else
		ts=0
	fi
	awk -v f="$(basename "$f")" -v n="$n" -v r="$recs" -v x="$x" -v nd="$nd" -v ts="$ts" 'BEGIN {
		printf "| %s | %d | %.2f Mpps | %.0f k | %s | %s | %s |\n", f, n, n / x, r / x * 1000,
			nd ? sprintf("%.3f Mpps", n / nd) : "n/a", ts ? sprintf("%.3f Mpps", n / ts) : "n/a",
			nd ? sprintf("%.1fx", nd / x) : "n/a" }'
done
