#!/usr/bin/env bash
# AF_XDP capture benchmark: `xdpi run --capture afxdp` against
# `tcpdump -w /dev/null` on a veth pair between two network namespaces this
# script creates (and always removes). bench/livegen.c sends paced
# 1024-flow IPv4/UDP traffic with live-frames BPF_PROG_TEST_RUN out of one
# end; at each target rate two runs follow, one after the other:
#   tcpdump  trivial XDP_PASS program (bench/livegen.bpf.c livegen_pass) on
#            the receiver, so live frames arrive, and tcpdump on it;
#   afxdp    xdpi run --capture afxdp (native XDP, AF_XDP copy mode): every
#            frame counted in the kernel's flow map and received whole over
#            AF_XDP, its payload handed to the workers.
# Exact: frames received over AF_XDP = kernel flow_packets = packets in the
# flow records = frames sent. Prints Markdown tables. Needs root. Touches
# only its own namespaces.
#   bash bench/afxdp.sh
#   RATES="0.5 1 max" SIZES=64 SECS=2 FRAMES=16384 bash bench/afxdp.sh
# RATES in Mpps ("max": unpaced), SIZES frame bytes, SECS traffic per run,
# FRAMES xdpi's --afxdp-frames (AF_XDP buffers = ring size per queue).
set -u
cd "$(dirname "$0")/.."
B=build/bench/afxdp
XDPI=${XDPI_BIN:-build/xdpi}
RATES=${RATES:-"0.25 0.5 0.75 1 1.25 1.5 2 max"}
SIZES=${SIZES:-"64 1514"}
SECS=${SECS:-2}
FLOWS=${FLOWS:-1024}
FRAMES=${FRAMES:-16384}

[ "$(id -u)" = 0 ] || { echo "afxdp.sh: needs root" >&2; exit 1; }
[ -x "$XDPI" ] || { echo "afxdp.sh: build xdpi first (make)" >&2; exit 1; }
case $SECS in ''|*[!0-9]*) echo "afxdp.sh: SECS must be whole seconds" >&2; exit 2;; esac

. bench/lib.sh
build_livegen "$B"
setup_pair xdpix
# The generator gets CPU 0; the veth receive path (XDP program, redirect,
# copy into the AF_XDP buffer) runs in its softirq on the same CPU, so the
# receivers' user space gets the other CPU. SCHED_FIFO for both, as in
# bench/live.sh: other work on the machine made the generator miss its
# schedule otherwise.
GEN_PRIO="chrt -f 20"
RCV_PRIO="chrt -f 10"

rx_xdp() { in_b ethtool -S "$IFB" | awk '/rx_queue_0_xdp_packets:/ { print $2 }'; }

# Runs the generator; sets GEN to "sent pps" and LINK to frames lost on the
# veth itself (sent but never seen by the receiver's XDP program).
generate() { # RATE_PPS SIZE
	local count=$(($1 * SECS)) r0 out
	[ "$1" = 0 ] && count=$((20000000 * SECS))
	r0=$(rx_xdp)
	out=$(timeout $((SECS * 3 + 10)) ip netns exec "$NSA" $GEN_PRIO taskset -c "$CPU0" \
		"$B/livegen" -i "$IFA" -d "$DMAC" -r "$1" -n "$count" -t $((SECS * 2)) \
		-f "$FLOWS" -s "$2") || { echo "afxdp.sh: generator failed" >&2; exit 1; }
	GEN=$(echo "$out" | sed -n 's/^sent=\([0-9]*\) .* pps=\([0-9]*\) .*/\1 \2/p')
	set -- $GEN
	LINK=$(( $1 - ($(rx_xdp) - r0) ))
}

# A run whose frames the veth itself dropped is repeated (up to 3 tries), as
# in bench/live.sh: that loss is the link's, whoever the receiver is.
retry() { # FUNCTION ARGS...
	local try
	for try in 1 2 3; do
		"$@"
		[ "$LINK" = 0 ] && break
	done
}

tcpdump_once() { # RATE_PPS SIZE; sets TD="pps sent captured dropped link"
	local err=$TMP/td.err cap=0 drop=0
	in_b ip link set dev "$IFB" xdpdrv obj "$B/livegen.bpf.o" sec xdp program livegen_pass ||
		exit 1
	timeout $((SECS * 3 + 30)) ip netns exec "$NSB" $RCV_PRIO taskset -c "$CPU1" \
		tcpdump -i "$IFB" -w /dev/null 2>"$err" &
	BG=$!
	wait_line "$err" "listening on" 10 "$BG" || { cat "$err" >&2; exit 1; }
	generate "$1" "$2"
	# tcpdump hands over a partly filled ring block only after its timeout (1 s).
	sleep 1.5
	kill -INT "$BG" 2>/dev/null
	wait_bounded "$BG" 10
	cap=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$err")
	drop=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$err")
	in_b ip link set dev "$IFB" xdpdrv off
	set -- $GEN
	TD="$2 $1 ${cap:-0} ${drop:-0} $LINK"
}

afxdp_once() { # RATE_PPS SIZE; sets XS="pps sent link" and $TMP/x.json
	local err=$TMP/x.err
	rm -f "$TMP/x.json" "$TMP/x.jsonl"
	timeout $((SECS * 3 + 60)) nsenter --net="/run/netns/$NSB" "$XDPI" run -i "$IFB" --capture afxdp \
		--afxdp-frames "$FRAMES" --xdp-mode native --rt --no-egress --cpus "$CPU1" \
		--workers 1 --duration $((SECS * 3 + 40)) --state-dir "$TMP" \
		--stats-json "$TMP/x.json" -w "$TMP/x.jsonl" 2>"$err" &
	BG=$!
	wait_line "$err" "watching" 20 "$BG" || { cat "$err" >&2; exit 1; }
	MODE=$(sed -n 's/^xdpi: AF_XDP on [^:]*: //p' "$err")
	HUGE=yes
	grep -q "no huge pages for the AF_XDP" "$err" && HUGE=no
	generate "$1" "$2"
	# SIGTERM takes what the sockets hold and writes every open flow.
	kill -TERM "$BG" 2>/dev/null
	wait_bounded "$BG" 30
	[ -s "$TMP/x.json" ] || { echo "afxdp.sh: xdpi wrote no stats" >&2; cat "$err" >&2; exit 1; }
	set -- $GEN
	XS="$2 $1 $LINK"
}

# "received redirected flow_pkts record_pkts ring_full dropped fill_empty worker_drops"
afxdp_figures() {
	python3 - "$TMP/x.json" "$TMP/x.jsonl" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rec = 0
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r.get("type") == "flow" and r.get("proto") == 17 and r.get("dst_port") == 5001:
        rec += r["pkts_fwd"] + r["pkts_rev"]
print(s["afxdp_packets"], s["afxdp_redirected"], s["flow_packets"], rec,
      s["afxdp_rx_ring_full"], s["afxdp_rx_dropped"], s["afxdp_fill_ring_empty"],
      s["ev_ring_full"])
PY
}

echo "### AF_XDP capture over veth, $FLOWS flows, ${SECS}s per run, --afxdp-frames $FRAMES ($(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start)"
echo
for size in $SIZES; do
	check_size "$size" afxdp.sh || exit 2
	SUM=$TMP/sum.$size
	: >"$SUM"
	echo "#### $size-byte frames"
	echo
	echo "| target Mpps | tcpdump Mpps | tcpdump captured / sent | dropped by kernel | xdpi afxdp Mpps | AF_XDP received / sent | flow pkts (kernel / records) | rx ring full | dropped | fill ring empty | worker-ring drops | exact |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for rate in $RATES; do
		pps=$(rate_pps "$rate" afxdp.sh) || exit 2
		retry tcpdump_once "$pps" "$size"
		set -- $TD
		td_pps=$1 td_sent=$2 td_cap=$3 td_drop=$4 td_link=$5
		retry afxdp_once "$pps" "$size"
		set -- $XS
		ax_pps=$1 ax_sent=$2 ax_link=$3
		set -- $(afxdp_figures)
		ax_rx=$1 ax_red=$2 ax_fl=$3 ax_rec=$4 ax_full=$5 ax_drop=$6 ax_empty=$7 ax_wr=$8

		exact=yes
		[ "$ax_rx" = "$ax_sent" ] && [ "$ax_red" = "$ax_sent" ] && [ "$ax_fl" = "$ax_sent" ] &&
			[ "$ax_rec" = "$ax_sent" ] || exact=no
		td_note= ax_note=
		[ "$td_link" = 0 ] || td_note=" (veth lost $td_link)"
		[ "$ax_link" = 0 ] || { ax_note=" (veth lost $ax_link)"; exact="veth lost"; }
		echo "| $rate | $(mpps "$td_pps") | $td_cap / $td_sent$td_note | $td_drop | $(mpps "$ax_pps") | $ax_rx / $ax_sent$ax_note | $ax_fl / $ax_rec | $ax_full | $ax_drop | $ax_empty | $ax_wr | $exact |"
		td_ok=yes
		[ "$td_cap" = "$td_sent" ] || td_ok=no
		[ "$td_link" = 0 ] || td_ok=skip
		[ "$ax_link" = 0 ] || exact=skip
		echo "$td_pps $td_ok $ax_pps $exact" >>"$SUM"
	done
	echo
	echo "xdpi: AF_XDP $MODE; UMEM on huge pages: $HUGE."
	# Per receiver: the lowest achieved rate of a run that lost frames, and
	# the highest of the clean runs before it; runs the veth itself spoiled
	# count neither way.
	awk '
	function say(name, col_pps, col_ok, what,   i, best, first) {
		best = 0; first = 0
		for (i = 1; i <= n; i++) {
			if (ok[i, col_ok] == "skip") continue
			if (ok[i, col_ok] != "yes") { first = r[i, col_pps]; break }
			if (r[i, col_pps] > best) best = r[i, col_pps]
		}
		if (first)
			printf "%s: first loss at %.3f Mpps", name, first / 1e6
		else
			printf "%s: %s in every run", name, what
		printf " (%s up to %.3f Mpps)", what, best / 1e6
		return best
	}
	{ n++; for (c = 1; c <= NF; c++) { r[n, c] = $c; ok[n, c] = $c } }
	END {
		say("tcpdump", 1, 2, "lossless"); printf "; "
		say("xdpi AF_XDP capture", 3, 4, "exact"); print "."
	}' "$SUM"
	echo
done
