#!/usr/bin/env bash
# Live receive rate of `xdpi run --hook socket` against `tcpdump -w
# /dev/null` on a veth pair between two network namespaces this script
# creates (and always removes). bench/livegen.c sends paced 1024-flow
# IPv4/UDP traffic with live-frames BPF_PROG_TEST_RUN; such frames reach
# only a receiver with a native XDP program, so a trivial XDP_PASS program
# (bench/livegen.bpf.c livegen_pass) sits on the receiver in both runs and
# the packets go on to the packet sockets. Prints a Markdown table. Root.
#   bash bench/socket.sh
#   RATES="0.25 0.5 max" SIZES=64 SECS=2 REPEAT=1000000 bash bench/socket.sh
set -u
cd "$(dirname "$0")/.."
B=build/bench
XDPI=${XDPI_BIN:-build/xdpi}
RATES=${RATES:-"0.1 0.25 0.5 0.75 1 max"}
SIZES=${SIZES:-"1514 64"}
SECS=${SECS:-2}
FLOWS=${FLOWS:-1024}

[ "$(id -u)" = 0 ] || { echo "socket.sh: needs root" >&2; exit 1; }
[ -x "$XDPI" ] && [ -f build/xdpi_sock.skel.h ] ||
	{ echo "socket.sh: build xdpi first (make)" >&2; exit 1; }
case $SECS in ''|*[!0-9]*) echo "socket.sh: SECS must be whole seconds" >&2; exit 2;; esac

. bench/lib.sh
build_livegen "$B"
setup_pair xdpis
in_b ip link set dev "$IFB" xdpdrv obj "$B/livegen.bpf.o" sec xdp program livegen_pass || exit 1
# Generator on the first CPU (the veth receive softirq runs there too),
# receivers' user space on the last, both real-time as in bench/live.sh.

generate() { # RATE_PPS SIZE; sets GEN="sent pps"
	local count=$(($1 * SECS)) out
	[ "$1" = 0 ] && count=$((20000000 * SECS))
	out=$(timeout $((SECS * 3 + 10)) ip netns exec "$NSA" chrt -f 20 taskset -c "$CPU0" \
		"$B/livegen" -i "$IFA" -d "$DMAC" -r "$1" -n "$count" -t $((SECS * 2)) \
		-f "$FLOWS" -p 0 -s "$2") || { echo "socket.sh: generator failed" >&2; exit 1; }
	GEN=$(echo "$out" | sed -n 's/^sent=\([0-9]*\) .* pps=\([0-9]*\) .*/\1 \2/p')
}

run_tcpdump() { # RATE SIZE; sets TD="captured dropped"
	local err=$TMP/td.err
	timeout $((SECS * 3 + 30)) ip netns exec "$NSB" chrt -f 10 taskset -c "$CPU1" \
		tcpdump -i "$IFB" -w /dev/null 2>"$err" &
	BG=$!
	wait_line "$err" "listening on" 10 "$BG" || { cat "$err" >&2; exit 1; }
	generate "$1" "$2"
	sleep 1.5 # tcpdump hands over a partly filled block after 1 s
	kill -INT "$BG" 2>/dev/null
	wait_bounded "$BG" 10
	TD="$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$err") $(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$err")"
}

run_xdpi() { # RATE SIZE; sets XS="socket_packets drops frames copied wire record_pkts"
	local err=$TMP/x.err
	rm -f "$TMP/x.json" "$TMP/x.jsonl"
	timeout $((SECS * 3 + 60)) ip netns exec "$NSB" chrt -f 10 taskset -c "$CPU1" \
		"$XDPI" run -i "$IFB" --hook socket --no-egress --duration $((SECS * 3 + 40)) \
		--state-dir "$TMP" --stats-json "$TMP/x.json" -w "$TMP/x.jsonl" 2>"$err" &
	BG=$!
	wait_line "$err" "watching" 20 "$BG" || { cat "$err" >&2; exit 1; }
	generate "$1" "$2"
	kill -TERM "$BG" 2>/dev/null
	wait_bounded "$BG" 30
	[ -s "$TMP/x.json" ] || { echo "socket.sh: xdpi wrote no stats" >&2; cat "$err" >&2; exit 1; }
	XS=$(python3 - "$TMP/x.json" "$TMP/x.jsonl" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rec = sum(r["pkts_fwd"] + r["pkts_rev"] for r in map(json.loads, open(sys.argv[2]))
          if r.get("type") == "flow" and r.get("proto") == 17 and r.get("dst_port") == 5001)
print(s["socket_packets"], s["socket_drops"], s["socket_frames"], s["socket_copied_bytes"],
      s["socket_wire_bytes"], rec)
PY
)
}


# Per-packet cost first (BPF_PROG_TEST_RUN), then the live rates.
cc -O2 -Wall -Wextra -Werror -Ibuild $(pkg-config --cflags libbpf) -o "$B/sockcost" \
	bench/sockcost.c $(pkg-config --libs libbpf) -lelf -lz || exit 1
echo "### Socket filter cost, BPF_PROG_TEST_RUN, best of 5 x ${REPEAT:-10000000}"
echo
"$B/sockcost" -r "${REPEAT:-10000000}" || exit 1
echo

echo "### Socket hook over veth, $FLOWS flows, ${SECS}s per run ($(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start)"
echo
echo "| frame bytes | target Mpps | sent Mpps | tcpdump captured / sent | tcpdump dropped | xdpi frames read / sent | socket drops | record pkts / sent | bytes copied / on the wire |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
for size in $SIZES; do
	for rate in $RATES; do
		pps=0
		[ "$rate" = max ] || pps=$(awk -v r="$rate" 'BEGIN { printf "%d", r * 1e6 }')
		run_tcpdump "$pps" "$size"
		set -- $GEN $TD
		td_sent=$1 td_pps=$2 td_cap=$3 td_drop=$4
		run_xdpi "$pps" "$size"
		set -- $GEN $XS
		x_sent=$1 x_pps=$2 x_drop=$4 x_frames=$5 x_copied=$6 x_wire=$7 x_rec=$8
		echo "| $size | $rate | $(mpps "$x_pps") | $td_cap / $td_sent | $td_drop | $x_frames / $x_sent | $x_drop | $x_rec / $x_sent | $x_copied / $x_wire |"
	done
done
