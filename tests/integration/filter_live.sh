#!/usr/bin/env bash
# `xdpi run --filter` on a veth pair between two network namespaces this
# script creates: UDP to and from port 5001 must be inspected (flow records,
# `packets`), everything else counted in `filtered_out` and left out of the
# records. Once with XDP ingress + TC egress, once with TC both ways, so the
# translated filter runs in front of both programs. Needs root; touches
# nothing outside its own namespaces.
#
# Prints one PASS/FAIL line per check and ends with `filter-live: N passed, N failed`.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
XDPI=${XDPI_BIN:-$ROOT/build/xdpi}
NSA=xdpi-flt-a-$$
NSB=xdpi-flt-b-$$
IFA=vethA
IFB=vethB
A4=10.203.5.1
B4=10.203.5.2
FILTER='udp port 5001'
IN_MATCH=200   # B:40001 -> A:5001, received by A (ingress)
IN_OTHER=100   # B:40002 -> A:5002, filtered out
OUT_MATCH=50   # A:5001 -> B:6000, sent by A (egress)
OUT_OTHER=30   # A:40003 -> B:6002, filtered out

. "$(dirname "$0")/lib/netns.sh"
TEST_NAME=filter-live
XDPI_PID=

setup() {
	[ "$(id -u)" -eq 0 ] || die "setup: needs root"
	[ -x "$XDPI" ] || die "setup: $XDPI missing (run make)"
	TMP=$(mktemp -d /tmp/xdpi-filter-live.XXXXXX) || die "setup: mktemp"
	make_veth_pair
	address_end "$NSA" "$IFA" "$A4"
	address_end "$NSB" "$IFB" "$B4"
	loopbacks_up
	# One packet per datagram on the wire, as counted.
	one_frame_per_packet "$NSA" "$IFA"
	one_frame_per_packet "$NSB" "$IFB"
	ip netns exec "$NSB" ping -n -q -c 1 -W 3 "$A4" >/dev/null || die "setup: ping"
}

# UDP datagrams: NS SRC_PORT DST DST_PORT COUNT, paced so no ring overflows.
send() {
	ip netns exec "$1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", int(sys.argv[1])))
for _ in range(int(sys.argv[4])):
    s.sendto(b"x" * 64, (sys.argv[2], int(sys.argv[3])))
    time.sleep(0.0005)
' "$2" "$3" "$4" "$5"
}

# One run: NAME, xdpi options...
run_case() {
	local name=$1
	shift
	bg_start "$name" nsenter --net="/run/netns/$NSA" "$XDPI" run -i "$IFA" --filter "$FILTER" \
		-w "$TMP/$name.jsonl" --stats-json "$TMP/$name.stats.json" \
		--state-dir "$TMP/state" --duration 60s "$@"
	XDPI_PID=$BG
	if ! wait_line "$TMP/$name.err" watching 10 "$XDPI_PID"; then
		fail "$name: xdpi did not start: $(tail -n 5 "$TMP/$name.err")"
		return
	fi
	send "$NSB" 40001 "$A4" 5001 "$IN_MATCH"
	send "$NSB" 40002 "$A4" 5002 "$IN_OTHER"
	send "$NSA" 5001 "$B4" 6000 "$OUT_MATCH"
	send "$NSA" 40003 "$B4" 6002 "$OUT_OTHER"
	sleep 0.3
	kill -INT "$XDPI_PID"
	wait_exit "$XDPI_PID" 60
	local rc=$WAIT_RC
	XDPI_PID=
	[ "$rc" -eq 0 ] && pass "$name: xdpi exited 0" || fail "$name: xdpi exited $rc: $(tail -n 3 "$TMP/$name.err")"
	python3 - "$TMP/$name.jsonl" "$TMP/$name.stats.json" "$name" \
		"$IN_MATCH" "$IN_OTHER" "$OUT_MATCH" "$OUT_OTHER" <<'PY'
import json, sys
recs, stats, name = sys.argv[1], sys.argv[2], sys.argv[3]
in_match, in_other, out_match, out_other = map(int, sys.argv[4:8])
flows = {}
for line in open(recs):
    r = json.loads(line)
    if r.get('type') == 'flow':
        key = (r.get('src_port'), r.get('dst_port'), r['proto'])
        flows[key] = flows.get(key, 0) + r['pkts_fwd'] + r['pkts_rev']
st = json.load(open(stats))
want = {(40001, 5001, 17): in_match, (5001, 6000, 17): out_match}
ok = True
def check(cond, what):
    global ok
    print(('PASS ' if cond else 'FAIL ') + name + ': ' + what)
    ok = ok and cond
check(flows == want, 'flow records are the two matching flows only: %s' % flows)
check(st['packets'] == in_match + out_match,
      'packets %d = %d matching datagrams' % (st['packets'], in_match + out_match))
check(st['filtered_out'] >= in_other + out_other,
      'filtered_out %d >= %d other datagrams (plus ARP, ICMP)' %
      (st['filtered_out'], in_other + out_other))
sys.exit(0 if ok else 1)
PY
	if [ $? -eq 0 ]; then
		PASSED=$((PASSED + 3))
	else
		FAILED=$((FAILED + 1))
	fi
}

trap_cleanup
setup
run_case xdp-ingress
run_case tc-ingress --ingress tc
[ "$FAILED" -eq 0 ]
