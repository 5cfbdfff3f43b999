#!/usr/bin/env bash
# Drop rules at line rate: over a veth pair between two namespaces this
# script creates (and always removes), bench/livegen.c sends unpaced UDP
# from 10.0.0.0/8 sources with live frames; the receiver runs either a bare
# XDP_DROP program or `xdpi run` with the rule 'drop 10.0.0.0/8' (and, for
# comparison, with no rule, inspecting everything). On a veth the
# receiver's XDP program runs on the sender's CPU, so the rate the sender
# reaches is what the receiver's per-packet cost allows. Median of RUNS.
#   bash bench/droplive.sh
#   SECS=2 RUNS=5 bash bench/droplive.sh
set -u
cd "$(dirname "$0")/.."
B=build/bench
XDPI=${XDPI_BIN:-build/xdpi}
SECS=${SECS:-2}
RUNS=${RUNS:-5}

[ "$(id -u)" = 0 ] || { echo "droplive.sh: needs root" >&2; exit 1; }
[ -x "$XDPI" ] || { echo "droplive.sh: build xdpi first (make)" >&2; exit 1; }
. bench/lib.sh
build_livegen "$B"
setup_pair xdpid ipv6

# Unpaced generator run; prints the pps it reached.
generate() {
	timeout $((SECS * 3 + 10)) ip netns exec "$NSA" chrt -f 20 taskset -c "$CPU0" \
		"$B/livegen" -i "$IFA" -d "$DMAC" -r 0 -n $((20000000 * SECS)) -t "$SECS" \
		-f 1024 -p 0 -s 64 | sed -n 's/.* pps=\([0-9]*\) .*/\1/p'
}

bare() {
	in_b ip link set dev "$IFB" xdpdrv obj "$B/livegen.bpf.o" sec xdp program livegen_drop || exit 1
	generate
	in_b ip link set dev "$IFB" xdpdrv off
}

with_xdpi() { # RULES-FILE-CONTENT
	local err=$TMP/x.err pps
	printf '%s\n' "$1" >"$TMP/rules.txt"
	timeout $((SECS * 3 + 60)) nsenter --net="/run/netns/$NSB" "$XDPI" run -i "$IFB" --xdp-mode native \
		--no-egress --cpus "$CPU1" --workers 1 --rules "$TMP/rules.txt" \
		--duration $((SECS * 3 + 40)) --state-dir "$TMP" -w /dev/null 2>"$err" &
	BG=$!
	wait_line "$err" "watching" 20 "$BG" || { cat "$err" >&2; exit 1; }
	pps=$(generate)
	kill -INT "$BG" 2>/dev/null
	wait "$BG" 2>/dev/null
	BG=
	echo "$pps"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$TMP/bare" >"$TMP/drop" >"$TMP/none"
for _ in $(seq "$RUNS"); do
	bare >>"$TMP/bare"
	with_xdpi "drop 10.0.0.0/8" >>"$TMP/drop"
	with_xdpi "# no rules" >>"$TMP/none"
done
b=$(median <"$TMP/bare")
d=$(median <"$TMP/drop")
n=$(median <"$TMP/none")
echo "### Drop rules over veth, 64-byte frames, ${SECS}s runs, median of $RUNS ($(uname -r), $(nproc) CPUs)"
echo
echo "| receiver | Mpps the sender reached | share of bare XDP_DROP |"
echo "|---|---:|---:|"
awk -v b="$b" -v d="$d" -v n="$n" 'BEGIN {
	printf "| bare XDP_DROP program | %.3f | 100%% |\n", b / 1e6
	printf "| xdpi run, rule drop 10.0.0.0/8 | %.3f | %.0f%% |\n", d / 1e6, 100 * d / b
	printf "| xdpi run, no rules (every packet inspected) | %.3f | %.0f%% |\n", n / 1e6, 100 * n / b
}'
