#!/usr/bin/env bash
# Live test of `xdpi run --capture afxdp` on a veth pair (two RX queues)
# between two network namespaces this script creates: B sends known UDP
# traffic to A, where xdpi counts every packet in the kernel and receives it
# whole over AF_XDP sockets. Checks the frames received against the counts
# sent and, byte for byte, against a tcpdump capture on B and the payloads
# as generated; the flow records; whole payloads reaching the parsers (a DNS
# record); the copy mode reported on veth; and that nothing stays attached
# after a stop, a kill -9 or a failed start. Needs root; touches nothing
# outside its own namespaces.
#
# Prints one PASS/FAIL line per check and ends with `afxdp: N passed, N failed`.
# AFXDP_KEEP_TMP=1 keeps the work directory; XDPI_BIN=PATH tests another build.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
XDPI=${XDPI_BIN:-$ROOT/build/xdpi}

NSA=xdpi-afxdp-a-$$     # receiver: xdpi
NSB=xdpi-afxdp-b-$$     # sender
IFA=vethA
IFB=vethB
A4=10.202.7.1
B4=10.202.7.2
A6=fd00:202::1
B6=fd00:202::2

# Flows B -> A: tag, family, count, payload bytes, source port, destination
# port. Payloads larger than the default --snippet-bytes (256) show that
# AF_XDP hands the parsers whole payloads.
FLOWS=(
	"1 4 400 1000 41001 5001"
	"2 4 300 64 41002 5002"
	"3 6 200 1200 41003 5003"
	"4 6 150 300 41004 5004"
	"5 4 120 1472 41005 5005"
	"6 4 90 20 41006 5006"
)

. "$(dirname "$0")/lib/netns.sh"
TEST_NAME=afxdp
KEEP_TMP=${AFXDP_KEEP_TMP:-0}
XDPI_PID=

write_helper() {
	cat >"$TMP/afxdp.py" <<'PY'
"""Sender and checks for afxdp.sh."""
import json
import socket
import struct
import sys
import time


def payload(tag, seq, size):
    """Bytes that name their flow and sequence number, then a pattern of
    both: any byte out of place shows."""
    head = struct.pack("!HI", tag, seq)
    body = bytes(((seq * 7 + tag * 13 + i) & 0xFF) for i in range(max(0, size - len(head))))
    return (head + body)[:size]


def send(a4, b4, a6, b6, *flows):
    """Each flow: tag,family,count,size,sport,dport; paced well below the
    veth's 256-frame ring so that nothing is dropped on the link."""
    sent = 0
    for spec in flows:
        tag, fam, count, size, sport, dport = map(int, spec.split(","))
        af, src, dst = (socket.AF_INET, b4, a4) if fam == 4 else (socket.AF_INET6, b6, a6)
        s = socket.socket(af, socket.SOCK_DGRAM)
        s.bind((src, sport))
        for seq in range(count):
            p = payload(tag, seq, size)
            if s.sendto(p, (dst, dport)) != len(p):
                sys.exit("short send")
            sent += 1
            if seq % 25 == 24:
                time.sleep(0.002)
        s.close()
    print("sent", sent)


def dns_query(b4, a4, name):
    q = struct.pack(">HHHHHH", 0x5151, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((b4, 41053))
    s.sendto(q, (a4, 53))
    print("sent dns")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def http_segments(b4, a4, sport, dport, host):
    """An HTTP request over TCP from a raw socket (A's stack never answers:
    its packets go to AF_XDP): SYN, the request in three segments, the last
    two swapped, FIN. The parsers must put the segments back by sequence
    number, which only works if every event carries the right one (the
    first data segment seen is byte 0: live, SYNs carry no payload event)."""
    req = ("GET /afxdp HTTP/1.1\r\nHost: %s\r\nUser-Agent: afxdp-test\r\n\r\n" % host).encode()
    sport, dport, cut1, cut2, isn = int(sport), int(dport), 20, 40, 1000
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.bind((b4, 0))

    def seg(seq, flags, data):
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, flags, 65535, 0, 0)
        pseudo = socket.inet_aton(b4) + socket.inet_aton(a4) + struct.pack("!BBH", 0, 6, len(hdr) + len(data))
        c = csum(pseudo + hdr + data)
        s.sendto(hdr[:16] + struct.pack("!H", c) + hdr[18:] + data, (a4, 0))
        time.sleep(0.01)

    seg(isn, 0x02, b"")                                   # SYN
    seg(isn + 1, 0x18, req[:cut1])
    seg(isn + 1 + cut2, 0x18, req[cut2:])                 # the third part before
    seg(isn + 1 + cut1, 0x18, req[cut1:cut2])             # the second
    seg(isn + 1 + len(req), 0x11, b"")                    # FIN
    print("sent http")


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        incl, orig = struct.unpack_from(e + "II", data, off + 8)
        out.append((data[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return out


def udp_of(frame):
    """(family, src, dst, sport, dport, payload) of an untagged UDP frame."""
    et = struct.unpack_from("!H", frame, 12)[0]
    if et == 0x0800 and frame[23] == 17:
        ihl = (frame[14] & 15) * 4
        tot = struct.unpack_from("!H", frame, 16)[0]
        l4, end = 14 + ihl, 14 + tot
        src = socket.inet_ntop(socket.AF_INET, frame[26:30])
        dst = socket.inet_ntop(socket.AF_INET, frame[30:34])
        fam = 4
    elif et == 0x86DD and frame[20] == 17:
        l4, end = 54, 54 + struct.unpack_from("!H", frame, 18)[0]
        src = socket.inet_ntop(socket.AF_INET6, frame[22:38])
        dst = socket.inet_ntop(socket.AF_INET6, frame[38:54])
        fam = 6
    else:
        return None
    sport, dport = struct.unpack_from("!HH", frame, l4)
    return fam, src, dst, sport, dport, frame[l4 + 8:end]


def check(dump, ref, stats_path, jsonl, a4, b4, a6, b6, flows_arg, dns_name, scenario):
    flows = [tuple(map(int, f.split(","))) for f in flows_arg.split()]
    st = json.load(open(stats_path))
    recs = [json.loads(l) for l in open(jsonl) if l.strip()]
    frec = [r for r in recs if r["type"] == "flow"]
    got = read_pcap(dump)
    want = read_pcap(ref) if ref != "-" else None

    def say(ok, msg):
        print(("PASS " if ok else "FAIL ") + scenario + ": " + msg)

    sent = sum(f[2] for f in flows) + (6 if dns_name != "-" else 0)
    say(st.get("afxdp_queues") == 2 and st.get("afxdp_zerocopy") == 0,
        "stats: %s AF_XDP queues, zero-copy %s (veth: 2 queues, copy mode)"
        % (st.get("afxdp_queues"), st.get("afxdp_zerocopy")))
    say(st["afxdp_packets"] == st["afxdp_redirected"] and st["afxdp_packets"] >= sent
        and st["afxdp_packets"] == len(got),
        "received %d frames over AF_XDP = %d the kernel redirected = %d in the dump (%d sent)"
        % (st["afxdp_packets"], st["afxdp_redirected"], len(got), sent))
    say(st["afxdp_packets"] == st["flow_packets"],
        "every packet counted in a flow went to AF_XDP (%d of %d)"
        % (st["afxdp_packets"], st["flow_packets"]))
    say(st["afxdp_rx_ring_full"] == 0 and st["afxdp_rx_dropped"] == 0 and
        st["afxdp_rx_invalid"] == 0,
        "no frame lost at the sockets (rx ring full %d, dropped %d, invalid %d; "
        "fill ring empty %d)" % (st["afxdp_rx_ring_full"], st["afxdp_rx_dropped"],
                                 st["afxdp_rx_invalid"], st["afxdp_fill_ring_empty"]))
    say(all(len(f) == o for f, o in got), "the dump holds whole frames")

    # The frames of each flow: all there, in order, byte for byte as the
    # sender's side captured them and as the payload generator made them.
    by_flow = {}
    for frame, _ in got:
        u = udp_of(frame)
        if u:
            by_flow.setdefault(u[:5], []).append((frame, u[5]))
    ref_by = {}
    for frame, _ in (want or []):
        u = udp_of(frame)
        if u:
            ref_by.setdefault(u[:5], []).append(frame)
    payload_bytes = 0
    for tag, fam, count, size, sport, dport in flows:
        key = (fam, b4 if fam == 4 else b6, a4 if fam == 4 else a6, sport, dport)
        mine = by_flow.get(key, [])
        seqs = [struct.unpack_from("!HI", p)[1] for _, p in mine]
        say(len(mine) == count and sorted(seqs) == list(range(count)),
            "flow %d (IPv%d, %d x %d B): %d frames received, sequence numbers %s"
            % (tag, fam, count, size, len(mine),
               "0..%d each once" % (count - 1) if sorted(seqs) == list(range(count)) else "wrong"))
        bad = [s for (f, p), s in zip(mine, seqs) if p != payload(tag, s, size)]
        say(not bad, "flow %d: every payload byte-exact against the generator (%d differ)"
            % (tag, len(bad)))
        payload_bytes += sum(len(p) for _, p in mine)
        if want is not None:
            theirs = {struct.unpack_from("!HI", udp_of(f)[5])[1]: f for f in ref_by.get(key, [])}
            same = sum(1 for (f, _), s in zip(mine, seqs) if theirs.get(s) == f)
            say(same == count, "flow %d: %d of %d frames byte-identical to the sender's "
                "tcpdump capture (Ethernet, IP, UDP headers and payload)" % (tag, same, count))

        rec = [r for r in frec if (r["src_ip"], r["dst_ip"], r["src_port"], r["dst_port"],
                                   r["proto"]) == (key[1], key[2], sport, dport, 17)]
        l3 = (20 if fam == 4 else 40) + 8 + size
        say(len(rec) == 1 and rec[0]["pkts_fwd"] == count and rec[0]["pkts_rev"] == 0 and
            rec[0]["bytes_fwd"] == count * l3,
            "flow %d: one record, packets %s, bytes %s (expected %d, %d)"
            % (tag, [r["pkts_fwd"] for r in rec], [r["bytes_fwd"] for r in rec], count,
               count * l3))

    # Whole payloads, not --snippet-bytes, reached the workers: the largest
    # flows alone carry more than 256 bytes a packet.
    all_payload = sum(len(u[5]) for u in (udp_of(f) for f, _ in got) if u)
    say(st["ev_snippet_bytes"] >= payload_bytes and st["ev_snippets"] == st["afxdp_snippets"],
        "workers got %d payloads of %d bytes (AF_XDP %d payloads; test flows %d bytes, "
        "all UDP %d)" % (st["ev_snippets"], st["ev_snippet_bytes"], st["afxdp_snippets"],
                         payload_bytes, all_payload))
    written = st["events_flow_start"] + st["events_flow_end"] + st["events_snippet"] + \
        st["afxdp_snippets"]
    say(written == st["ev_delivered"] + st["ev_ring_full"] and st["ev_ring_full"] == 0 and
        st["events_snippet"] == 0,
        "every event reached a worker: kernel events %d + AF_XDP payloads %d = delivered %d "
        "(ring full %d); no kernel snippets (%d)"
        % (written - st["afxdp_snippets"], st["afxdp_snippets"], st["ev_delivered"],
           st["ev_ring_full"], st["events_snippet"]))
    if dns_name != "-":
        dns = [r for r in recs if r["type"] == "dns" and r.get("qname") == dns_name]
        fids = {r["flow_id"] for r in frec}
        say(len(dns) == 1 and dns[0]["flow_id"] in fids,
            "dns record for %s from the AF_XDP frame, linked to its flow (%d found)"
            % (dns_name, len(dns)))
        http = [r for r in recs if r["type"] == "http" and r.get("uri") == "/afxdp"]
        say(len(http) == 1 and http[0]["host"] == dns_name and http[0]["method"] == "GET" and
            http[0]["user_agent"] == "afxdp-test" and http[0]["flow_id"] in fids,
            "http record from three TCP segments, two out of order, reassembled by "
            "sequence number: %s" % [(r["method"], r["host"], r["user_agent"]) for r in http])
        tcp = [r for r in frec if r["proto"] == 6 and r["dst_port"] == 8080]
        say(len(tcp) == 1 and tcp[0]["pkts_fwd"] == 5 and tcp[0]["tcp_flags_fwd"] == 0x1B,
            "tcp flow record: 5 packets, flags SYN|FIN|PSH|ACK: %s"
            % [(r["pkts_fwd"], r["tcp_flags_fwd"]) for r in tcp])


if __name__ == "__main__":
    cmds = {"send": send, "dns": dns_query, "http": http_segments, "check": check}
    sys.exit(cmds[sys.argv[1]](*sys.argv[2:]))
PY
}

setup() {
	[ "$(id -u)" -eq 0 ] || die "setup: needs root"
	[ -x "$XDPI" ] || die "setup: $XDPI missing (run make)"
	need_tools ip ethtool tcpdump python3 timeout
	TMP=$(mktemp -d /tmp/xdpi-afxdp.XXXXXX) || die "setup: mktemp"
	write_helper
	# Two queues each way: B's flows spread over A's two RX queues, one
	# AF_XDP socket each.
	make_veth_pair numtxqueues 2 numrxqueues 2
	address_end "$NSA" "$IFA" "$A4" "$A6"
	address_end "$NSB" "$IFB" "$B4" "$B6"
	# Checksums computed in software and one frame per datagram, so B's
	# tcpdump sees the frames exactly as they leave.
	in_b ethtool -K "$IFB" tx off tso off gso off >/dev/null 2>&1 ||
		die "setup: ethtool -K $IFB tx off tso off gso off"
	in_a ethtool -K "$IFA" gro off >/dev/null 2>&1
	# A's stack never sees the IP packets (they go to AF_XDP), so it cannot
	# answer neighbour discovery: B knows A's address statically.
	local mac
	mac=$(in_a cat "/sys/class/net/$IFA/address") || die "setup: MAC address of $IFA"
	ip -n "$NSB" neigh replace "$A4" lladdr "$mac" dev "$IFB" nud permanent ||
		die "setup: static ARP entry"
	ip -n "$NSB" neigh replace "$A6" lladdr "$mac" dev "$IFB" nud permanent ||
		die "setup: static ND entry"
}

xdp_attached() { ip -n "$NSA" -d link show dev "$IFA" | grep -q 'prog/xdp'; }

check_detached() { # WHAT
	local deadline=$((SECONDS + 5))
	while xdp_attached && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	if xdp_attached; then
		fail "$1: an XDP program is still attached to $IFA: $(ip -n "$NSA" -d link show dev "$IFA" | grep xdp)"
	else
		pass "$1: nothing attached to $IFA (ip link shows no xdp)"
	fi
}

# Starts xdpi in A (name for its files, then options); sets XDPI_PID.
start_xdpi() {
	local name=$1
	shift
	# nsenter runs xdpi itself (its pid is XDPI_PID) and keeps the root
	# mount namespace, with /sys/fs/bpf; --duration bounds it.
	bg_start "$name" nsenter --net="/run/netns/$NSA" "$XDPI" run -i "$IFA" --capture afxdp \
		--no-egress --idle-timeout 60s --duration 100s --state-dir "$TMP/state" \
		-w "$TMP/$name.jsonl" --stats-json "$TMP/$name.stats.json" "$@"
	XDPI_PID=$BG
	wait_line "$TMP/$name.err" watching 20 "$XDPI_PID"
}

stop_xdpi() {
	local name=$1
	kill -INT "$XDPI_PID"
	if ! wait_exit "$XDPI_PID" 20; then
		fail "$name: xdpi did not exit within 20s of SIGINT"
	elif [ "$WAIT_RC" -eq 0 ]; then
		pass "$name: xdpi exited 0 after SIGINT"
	else
		fail "$name: xdpi exited $WAIT_RC: $(tail -n 3 "$TMP/$name.err")"
	fi
	check_detached "$name: after stop"
}

# Both RX queues carried frames (so both sockets were read): veth counts
# the packets its XDP program saw per queue.
check_queues() {
	local q0 q1
	q0=$(in_a ethtool -S "$IFA" | awk '/rx_queue_0_xdp_packets:/ { print $2 }')
	q1=$(in_a ethtool -S "$IFA" | awk '/rx_queue_1_xdp_packets:/ { print $2 }')
	if [ "${q0:-0}" -gt 0 ] && [ "${q1:-0}" -gt 0 ]; then
		pass "$1: both RX queues carried frames ($q0 and $q1)"
	else
		fail "$1: frames per RX queue ${q0:-?} and ${q1:-?}: one socket was not exercised"
	fi
}

flow_args() { # as the helper takes them: tag,family,count,size,sport,dport ...
	local f
	for f in "${FLOWS[@]}"; do
		set -- $f
		printf '%s,%s,%s,%s,%s,%s ' "$@"
	done
}

send_all() {
	local args
	read -r -a args <<<"$(flow_args)"
	timeout 60 ip netns exec "$NSB" python3 "$TMP/afxdp.py" send "$A4" "$B4" "$A6" "$B6" \
		"${args[@]}" >/dev/null || die "$1: sending failed"
}

# ---- scenario 1: ring-buffer flow events, AF_XDP payloads ---------------

scenario_ring() {
	local s=afxdp td
	echo "-- xdpi run -i $IFA --capture afxdp --no-offload --afxdp-dump FILE"
	# --no-offload: every frame goes on to user space, to be compared.
	start_xdpi $s --no-offload --afxdp-dump "$TMP/$s.pcap" ||
		die "$s: xdpi did not start: $(cat "$TMP/$s.err")"
	if grep -q "AF_XDP on $IFA: 2 queues, copy mode" "$TMP/$s.err"; then
		pass "$s: $(grep -m1 'AF_XDP on' "$TMP/$s.err")"
	else
		fail "$s: no 'AF_XDP on $IFA: 2 queues, copy mode' line: $(cat "$TMP/$s.err")"
	fi
	if xdp_attached; then pass "$s: XDP program attached while running"
	else fail "$s: no XDP program on $IFA while running"; fi

	bg_start tcpdump ip netns exec "$NSB" tcpdump -i "$IFB" -nn -s 0 -U --immediate-mode \
		-Z root -w "$TMP/ref.pcap" udp
	td=$BG
	wait_line "$TMP/tcpdump.err" "listening on" 10 "$td" || die "$s: tcpdump did not start"

	send_all $s
	timeout 10 ip netns exec "$NSB" python3 "$TMP/afxdp.py" dns "$B4" "$A4" afxdp.xdpi.test \
		>/dev/null || fail "$s: DNS query not sent"
	timeout 10 ip netns exec "$NSB" python3 "$TMP/afxdp.py" http "$B4" "$A4" 42080 8080 \
		afxdp.xdpi.test >/dev/null || fail "$s: HTTP segments not sent"
	sleep 0.5
	kill -INT "$td"
	wait_exit "$td" 10 || fail "$s: tcpdump did not exit"
	grep -q "^0 packets dropped by kernel" "$TMP/tcpdump.err" ||
		fail "$s: the reference capture lost packets: $(tr '\n' ' ' <"$TMP/tcpdump.err")"
	check_no_drops $s
	check_queues $s
	stop_xdpi $s
	grep -m1 "AF_XDP:" "$TMP/$s.err" | sed 's/^ */     /'

	timeout 60 python3 "$TMP/afxdp.py" check "$TMP/$s.pcap" "$TMP/ref.pcap" \
		"$TMP/$s.stats.json" "$TMP/$s.jsonl" "$A4" "$B4" "$A6" "$B6" "$(flow_args)" \
		afxdp.xdpi.test $s >"$TMP/check.out" 2>&1 || fail "$s: checker failed: $(tail -n 3 "$TMP/check.out")"
	tally "$TMP/check.out"
}

# ---- scenario 2: no event ring at all, two readers ------------------------
# Flow records from map polling alone; the payloads still reach the workers
# (counted), but no parsers run: without flow-start events their records
# could not name the flow (see --transport none).

scenario_none() {
	local s=afxdp-none
	echo "-- xdpi run -i $IFA --capture afxdp --transport none --ingest-threads 2"
	start_xdpi $s --transport none --ingest-threads 2 --no-offload --afxdp-dump "$TMP/$s.pcap" ||
		die "$s: xdpi did not start: $(cat "$TMP/$s.err")"
	send_all $s
	sleep 0.5
	check_no_drops $s
	stop_xdpi $s
	timeout 60 python3 "$TMP/afxdp.py" check "$TMP/$s.pcap" - \
		"$TMP/$s.stats.json" "$TMP/$s.jsonl" "$A4" "$B4" "$A6" "$B6" "$(flow_args)" \
		- $s >"$TMP/check.out" 2>&1 || fail "$s: checker failed: $(tail -n 3 "$TMP/check.out")"
	tally "$TMP/check.out"
}

# ---- scenario 3: offload ------------------------------------------------
# By default, once the parsers are done with a flow (here: no protocol
# recognised after 8 payloads) the kernel drops its packets instead of
# handing them over; the flow counts stay exact, and every packet is
# either handed over or counted as dropped for that reason.

scenario_offload() {
	local s=afxdp-offload
	echo "-- xdpi run -i $IFA --capture afxdp (offload on)"
	start_xdpi $s || die "$s: xdpi did not start: $(cat "$TMP/$s.err")"
	send_all $s
	sleep 0.5
	check_no_drops $s
	stop_xdpi $s
	python3 - "$TMP/$s.stats.json" "$TMP/$s.jsonl" "$(flow_args)" >"$TMP/check.out" 2>&1 <<'CHK'
import json, sys
st = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
flows = [tuple(map(int, f.split(","))) for f in sys.argv[3].split()]
def say(ok, msg):
    print(("PASS " if ok else "FAIL ") + "afxdp-offload: " + msg)
sent = sum(f[2] for f in flows)
say(st["afxdp_redirected"] + st["afxdp_done"] == st["flow_packets"] and st["afxdp_done"] > 0,
    "handed over %d + dropped after the verdict %d = %d counted in flows" %
    (st["afxdp_redirected"], st["afxdp_done"], st["flow_packets"]))
say(st["afxdp_packets"] == st["afxdp_redirected"] and st["afxdp_redirected"] < sent,
    "received %d = redirected %d, fewer than the %d sent" %
    (st["afxdp_packets"], st["afxdp_redirected"], sent))
say(st["flows_offloaded"] >= len(flows), "flows offloaded: %d" % st["flows_offloaded"])
for tag, fam, count, size, sport, dport in flows:
    rec = [r for r in recs if r["type"] == "flow" and r["proto"] == 17 and
           r["src_port"] == sport and r["dst_port"] == dport]
    say(len(rec) == 1 and rec[0]["pkts_fwd"] == count,
        "flow %d: counted exactly all the same: %s of %d" % (tag, [r["pkts_fwd"] for r in rec], count))
CHK
	[ $? -eq 0 ] || fail "$s: checker failed: $(tail -n 3 "$TMP/check.out")"
	tally "$TMP/check.out"
}

# ---- errors, kill -9 ------------------------------------------------------

scenario_errors() {
	local out rc deadline
	echo "-- failure paths"
	out=$(in_a timeout 20 "$XDPI" run -i "$IFA" --capture afxdp --ingress tc 2>&1)
	rc=$?
	if [ "$rc" -eq 2 ] && [[ $out == *"--capture afxdp needs XDP"* ]]; then
		pass "--capture afxdp --ingress tc: exit 2, '$out'"
	else
		fail "--capture afxdp --ingress tc: exit $rc, '$out'"
	fi
	out=$(in_a timeout 20 "$XDPI" run -i "$IFA" --capture pcap 2>&1)
	rc=$?
	if [ "$rc" -eq 2 ] && [[ $out == *"expected ring or afxdp"* ]]; then
		pass "--capture pcap: exit 2, '$out'"
	else
		fail "--capture pcap: exit $rc, '$out'"
	fi
	# The sockets are opened before the program is attached: a start that
	# fails there (here: the dump file cannot be created) attaches nothing.
	out=$(in_a timeout 30 "$XDPI" run -i "$IFA" --capture afxdp --state-dir "$TMP/state" \
		--afxdp-dump "$TMP/no/such/dir/x.pcap" -w "$TMP/fail.jsonl" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [[ $out == *"cannot write"* ]]; then
		pass "failed start: exit $rc, '$(grep -m1 'cannot write' <<<"$out")'"
	else
		fail "failed start: exit $rc, expected non-zero and 'cannot write': '$out'"
	fi
	check_detached "failed start"

	start_xdpi killed || die "killed: xdpi did not start: $(cat "$TMP/killed.err")"
	disown "$XDPI_PID"
	kill -KILL "$XDPI_PID"
	deadline=$((SECONDS + 10))
	while [ -e "/proc/$XDPI_PID" ] && [ "$(cut -d' ' -f3 "/proc/$XDPI_PID/stat" 2>/dev/null)" != Z ] &&
		[ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.05
	done
	forget_pid "$XDPI_PID"
	check_detached "kill -9"
}

main() {
	trap_cleanup
	setup
	scenario_ring
	scenario_none
	scenario_offload
	scenario_errors
}

main "$@"
