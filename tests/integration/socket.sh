#!/usr/bin/env bash
# Live test of `xdpi run --hook socket` on a veth pair between two network
# namespaces that this script creates: the socket filter on an AF_PACKET
# socket, the TPACKET_V3 ring and the user-space datapath. Known UDP
# (IPv4, IPv6, both directions; 802.1Q-tagged frames), a TCP transfer, an
# HTTP request and a DNS query cross the pair; the flow records must match what was sent and
# an independent tcpdump capture of the same interface exactly, the copied
# bytes must be the headers plus --snippet-bytes, the protocol records must
# come out, and nothing may stay behind. Needs root; touches nothing
# outside its own namespaces.
#
# Prints one PASS/FAIL line per check and ends with `socket: N passed, N failed`.
# SOCK_KEEP_TMP=1 keeps the work directory; XDPI_BIN=PATH tests another build.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
XDPI=${XDPI_BIN:-$ROOT/build/xdpi}
REJECT_OBJ=$ROOT/build/reject_sock.bpf.o

NSA=xdpi-sock-a-$$
NSB=xdpi-sock-b-$$
IFA=vethA
IFB=vethB
A4=10.203.7.1
B4=10.203.7.2
A6=fd03::1
B6=fd03::2
VA4=10.203.100.1   # in frames tagged with VLAN 100 (sent raw: the kernel may lack 802.1Q)
VB4=10.203.100.2
SNIP=128           # --snippet-bytes of the main run

# UDP exchanges: initiator's side (a|b), src port, dst port, count and size
# from the initiator, count and size of the replies.
U4_B=(b 41001 5001 200 100 100 300)   # IPv4, B starts (received first)
U4_A=(a 41002 5002 150 80 20 40)      # IPv4, A starts (sent first)
U6_B=(b 41003 5003 50 200 30 120)     # IPv6, B starts
U6_A=(a 41004 5004 40 60 10 50)       # IPv6, A starts
U4_BIG=(b 41005 5005 300 1400 0 0)    # cut to headers + SNIP bytes
UV_B=(b 41006 5006 100 100 0 0)       # IPv4 in VLAN 100, B -> A only
TCP_UP=200000                         # B (client) -> A (server) ...
TCP_DOWN=50000                        # ... and back, then a clean close
TCP_PORTS=(42001 5010)
HTTP_PORTS=(42002 8080)
DNS_PORTS=(42003 5353)

. "$(dirname "$0")/lib/netns.sh"
TEST_NAME=socket
KEEP_TMP=${SOCK_KEEP_TMP:-0}

write_helper() {
	cat >"$TMP/sock.py" <<'PY'
"""Traffic, attachment queries and record checks for socket.sh."""
import ctypes
import datetime
import json
import os
import platform
import socket
import struct
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def paced_send(s, payload, dst, n):
    for i in range(int(n)):
        if s.sendto(payload, dst) != len(payload):
            sys.exit("short send")
        if i % 25 == 24:  # well below the veth ring (256 frames)
            time.sleep(0.002)


def udp_server(addr, port, expect, reply_n, reply_size, secs):
    """Receives EXPECT datagrams, then sends REPLY_N of REPLY_SIZE bytes
    back to their sender from the same port."""
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((addr, int(port)))
    s.settimeout(float(secs))
    print("ready", flush=True)
    got, peer = 0, None
    try:
        while got < int(expect):
            _, peer = s.recvfrom(65536)
            got += 1
    except socket.timeout:
        pass
    if peer and int(reply_n):
        paced_send(s, b"r" * int(reply_size), peer, reply_n)
    print("received", got, flush=True)


def udp_client(src, sport, dst, dport, n, size, replies, secs):
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((src, int(sport)))
    paced_send(s, b"x" * int(size), (dst, int(dport)), n)
    s.settimeout(float(secs))
    got = 0
    try:
        while got < int(replies):
            s.recv(65536)
            got += 1
    except socket.timeout:
        pass
    print("replies", got, flush=True)
    sys.exit(0 if got == int(replies) else 1)


def tcp_server(addr, port, reply, secs):
    """Reads until EOF, answers with REPLY bytes (or, for an HTTP request,
    a short response), closes."""
    ls = socket.socket(family(addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(1)
    ls.settimeout(float(secs))
    print("ready", flush=True)
    c, _ = ls.accept()
    c.settimeout(float(secs))
    data = b""
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        data += b
        if data.startswith(b"GET ") and b"\r\n\r\n" in data:
            break
    if data.startswith(b"GET "):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    else:
        c.sendall(b"z" * int(reply))
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    c.close()
    print("received", len(data), flush=True)


def tcp_client(src, sport, dst, dport, nbytes, secs):
    s = socket.socket(family(dst), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(float(secs))
    s.bind((src, int(sport)))
    s.connect((dst, int(dport)))
    if nbytes == "http":
        s.sendall(b"GET /sock HTTP/1.1\r\nHost: sock.test\r\nUser-Agent: xdpi-test\r\n\r\n")
    else:
        s.sendall(b"y" * int(nbytes))
        s.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        got += len(b)
    s.close()
    print("got", got, flush=True)


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff


def vlan_send(ifname, dst_mac, vlan, src, sport, dst, dport, n, size):
    """N UDP datagrams in 802.1Q-tagged frames, written raw to IFNAME."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    src_mac = open("/sys/class/net/%s/address" % ifname).read().strip()
    payload = b"v" * int(size)
    udp = struct.pack("!HHHH", int(sport), int(dport), 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", ""))
    frame = eth + struct.pack("!HHH", 0x8100, int(vlan), 0x0800) + ip + udp
    for i in range(int(n)):
        s.send(frame)
        if i % 25 == 24:
            time.sleep(0.002)
    print("sent", n)


def mcast_send(src, group, sport, dport, n, size):
    """N datagrams to GROUP, looped back to a member socket of this host:
    the interface carries each once, the host hands itself a copy."""
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    r.bind((group, int(dport)))
    r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton(group) + socket.inet_aton(src))
    r.settimeout(5)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, int(sport)))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    paced_send(s, b"m" * int(size), (group, int(dport)), n)
    got = 0
    try:
        while got < int(n):
            r.recv(65536)
            got += 1
    except socket.timeout:
        pass
    print("looped back", got, flush=True)
    sys.exit(0 if got == int(n) else 1)


def dns_server(addr, port, secs):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    s.settimeout(float(secs))
    print("ready", flush=True)
    q, peer = s.recvfrom(512)
    # Same id and question, QR + RD + RA, one answer: 192.0.2.53.
    r = q[:2] + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00" + q[12:]
    r += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton("192.0.2.53")
    s.sendto(r, peer)
    print("answered", flush=True)


def dns_client(src, sport, dst, dport, name, secs):
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.bind((src, int(sport)))
    s.settimeout(float(secs))
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00\x00\x01\x00\x01"
    s.sendto(q, (dst, int(dport)))
    s.recv(512)
    print("resolved", flush=True)


def attached(ifname):
    """XDP program id and TCX program counts on IFNAME (BPF_PROG_QUERY)."""
    nr = {"x86_64": 321, "aarch64": 280, "riscv64": 280,
          "s390x": 351, "ppc64le": 361}.get(platform.machine())
    libc = ctypes.CDLL(None, use_errno=True)
    idx = socket.if_nametoindex(ifname)
    out = []
    for attach_type in (46, 47):  # BPF_TCX_INGRESS, BPF_TCX_EGRESS
        attr = ctypes.create_string_buffer(64)
        struct.pack_into("=II", attr, 0, idx, attach_type)
        if libc.syscall(nr, 16, attr, 64) != 0:  # BPF_PROG_QUERY
            sys.exit("BPF_PROG_QUERY: " + os.strerror(ctypes.get_errno()))
        out.append(struct.unpack_from("=I", attr, 24)[0])
    print("tcx ingress %d egress %d" % tuple(out))


def l4_header(proto, l4):
    if proto == 6:
        return (l4[12] >> 4) * 4
    if proto == 17:
        return 8
    return None


def read_pcap(path, snip):
    """{(proto, src, sport, dst, dport, vlan): [pkts, l3 bytes, tcp flags OR,
    bytes the filter keeps (of the frame without a tag), frame bytes]}."""
    flows = {}
    data = open(path, "rb").read()
    e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off = 24
    while off + 16 <= len(data):
        incl, orig = struct.unpack_from(e + "II", data, off + 8)
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        et, l2, vlan = struct.unpack_from("!H", pkt, 12)[0], 14, None
        while et in (0x8100, 0x88a8):
            vlan = vlan if vlan is not None else struct.unpack_from("!H", pkt, l2)[0] & 0xfff
            et = struct.unpack_from("!H", pkt, l2 + 2)[0]
            l2 += 4
        tag = l2 - 14
        l3 = pkt[l2:]
        if et == 0x0800:
            ihl = (l3[0] & 15) * 4
            length, proto = struct.unpack_from("!H", l3, 2)[0], l3[9]
            src = socket.inet_ntop(socket.AF_INET, l3[12:16])
            dst = socket.inet_ntop(socket.AF_INET, l3[16:20])
        elif et == 0x86DD:
            ihl, length, proto = 40, struct.unpack_from("!H", l3, 4)[0] + 40, l3[6]
            src = socket.inet_ntop(socket.AF_INET6, l3[8:24])
            dst = socket.inet_ntop(socket.AF_INET6, l3[24:40])
        else:
            continue
        l4 = l3[ihl:]
        sport = dport = flags = 0
        if proto in (6, 17):
            sport, dport = struct.unpack_from("!HH", l4, 0)
        if proto == 6:
            flags = l4[13]
        hl = l4_header(proto, l4)
        # The filter sees the frame without the tag the driver moved out.
        l3_off = l2 - tag
        if hl is not None and length > ihl + hl:
            keep = l3_off + ihl + hl + min(length - ihl - hl, int(snip))
        else:
            keep = min(l3_off + length, 256)
        v = flows.setdefault((proto, src, sport, dst, dport, vlan), [0, 0, 0, 0, 0])
        v[0] += 1
        v[1] += length
        v[2] |= flags
        v[3] += keep
        v[4] += orig - tag
    return flows


def epoch(rfc3339):
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def check(jsonl, stats_path, pcap, expect_path, snip, t0, t1, ifname):
    """Expectations, one a line, '|'-separated:
    name|proto|src|sport|dst|dport|vlan|pkts_fwd|pkts_rev|bytes_fwd|bytes_rev|reasons
    A count of "pcap" takes the reference capture's value; every other
    count must equal the capture's too."""
    recs = [json.loads(l) for l in open(jsonl) if l.strip()]
    st = json.load(open(stats_path))
    ref = read_pcap(pcap, snip)
    flows = [r for r in recs if r.get("type") == "flow"]
    t0, t1 = float(t0), float(t1)
    mine = set()

    def say(ok, msg):
        print(("PASS " if ok else "FAIL ") + msg)

    for line in open(expect_path):
        if not line.strip():
            continue
        name, proto, src, sport, dst, dport, vlan, pf, pr, bf, br, reasons = \
            line.rstrip("\n").split("|")
        proto, sport, dport = int(proto), int(sport), int(dport)
        vlan = int(vlan) if vlan != "-" else None
        fkey = (proto, src, sport, dst, dport, vlan)
        rkey = (proto, dst, dport, src, sport, vlan)
        mine.update((fkey, rkey))
        rf, rr = ref.get(fkey, [0] * 5), ref.get(rkey, [0] * 5)
        from_ref = [rf[0], rr[0], rf[1], rr[1]]
        want = [r if v == "pcap" else int(v) for v, r in zip((pf, pr, bf, br), from_ref)]
        same = [r for r in flows if (r["proto"], r["src_ip"], r["src_port"], r["dst_ip"],
                                     r["dst_port"], r["vlan"]) == fkey]
        if len(same) != 1:
            say(False, "%s: expected 1 record %s, found %d" % (name, fkey, len(same)))
            for r in flows:
                if r["proto"] == proto and {r["src_port"], r["dst_port"]} == {sport, dport}:
                    print("     " + json.dumps(r))
            continue
        r = same[0]
        got = [r["pkts_fwd"], r["pkts_rev"], r["bytes_fwd"], r["bytes_rev"]]
        say(got == want, "%s: packets fwd/rev %d/%d, bytes %d/%d; expected %d/%d, %d/%d"
            % (name, *got, *want))
        say(from_ref == want, "%s: tcpdump on %s saw packets %d/%d, bytes %d/%d"
            % (name, ifname, *from_ref))
        say(r["ifname"] == ifname and r["end_reason"] in reasons.split(","),
            "%s: ifname %s, vlan %s, end_reason %s" % (name, r["ifname"], r["vlan"],
                                                       r["end_reason"]))
        say(t0 <= epoch(r["start"]) <= epoch(r["end"]) <= t1,
            "%s: start %s and end %s within the run" % (name, r["start"], r["end"]))
        if proto == 6:
            say((r["tcp_flags_fwd"], r["tcp_flags_rev"]) == (rf[2], rr[2]),
                "%s: tcp flags 0x%02x/0x%02x, tcpdump 0x%02x/0x%02x"
                % (name, r["tcp_flags_fwd"], r["tcp_flags_rev"], rf[2], rr[2]))

    # What the filter kept: the frames of the flows above (from the
    # capture) plus whatever else crossed the link while xdpi ran (IPv6
    # neighbour and multicast chatter, ARP), each cut to at most 256 bytes.
    keep = sum(v[3] for k, v in ref.items() if k in mine)
    wire = sum(v[4] for k, v in ref.items() if k in mine)
    frames = sum(v[0] for k, v in ref.items() if k in mine)
    tagged = sum(v[0] for k, v in ref.items() if k in mine and k[5] is not None)
    other = st["socket_frames"] - frames
    say(st["socket_drops"] == 0 and st["socket_packets"] == st["socket_frames"],
        "socket: %d packets passed the filter, %d read from the ring, %d dropped"
        % (st["socket_packets"], st["socket_frames"], st["socket_drops"]))
    say(st["packets"] == st["socket_frames"], "stats: packets %d = frames read %d"
        % (st["packets"], st["socket_frames"]))
    # A VLAN tag is in the frame or in the metadata, as the driver has it.
    say(other >= 0 and keep - 4 * tagged <= st["socket_copied_bytes"] <= keep + 4 * tagged + 256 * other,
        "socket: %d bytes copied of %d on the wire; the test's %d frames: %d of %d bytes "
        "(headers + %s payload bytes), other frames %d"
        % (st["socket_copied_bytes"], st["socket_wire_bytes"], frames, keep, wire, snip, other))
    say(wire <= st["socket_wire_bytes"] <= wire + 4 * tagged + 1518 * other,
        "socket: wire bytes %d, of which the test's frames %d" % (st["socket_wire_bytes"], wire))
    say(st["records"] == len(flows), "stats: records %d = %d flow lines" % (st["records"], len(flows)))

    http = [r for r in recs if r["type"] == "http"]
    say(len(http) == 1 and http[0].get("host") == "sock.test" and http[0].get("method") == "GET"
        and http[0].get("uri") == "/sock" and http[0].get("status") == 200,
        "dpi: http record %s" % (json.dumps(http[0]) if http else None))
    hf = [r for r in flows if r["dst_port"] == 8080]
    say(len(hf) == 1 and hf[0].get("host") == "sock.test" and hf[0].get("app_proto") == "http",
        "dpi: flow record of the HTTP connection carries host %s, app_proto %s"
        % (hf[0].get("host") if hf else None, hf[0].get("app_proto") if hf else None))
    dns = [r for r in recs if r["type"] == "dns"]
    say(len(dns) == 1 and dns[0].get("qname") == "sock.example.test" and dns[0].get("rcode") == 0
        and [a.get("data") for a in dns[0].get("answers", [])] == ["192.0.2.53"],
        "dpi: dns record %s" % (json.dumps(dns[0]) if dns else None))


def check_noegress(jsonl, stats_path, a4, b4):
    recs = [json.loads(l) for l in open(jsonl) if l.strip()]
    st = json.load(open(stats_path))
    flows = [r for r in recs if r["type"] == "flow"]
    ok = True

    def say(cond, msg):
        nonlocal ok
        ok = ok and cond
        print(("PASS " if cond else "FAIL ") + "no-egress: " + msg)
    rx = [r for r in flows if (r["src_ip"], r["src_port"], r["dst_port"]) == (b4, 41011, 5011)]
    say(len(rx) == 1 and (rx[0]["pkts_fwd"], rx[0]["bytes_fwd"], rx[0]["pkts_rev"]) ==
        (120, 120 * 128, 0), "received flow counted, its replies not: %s"
        % [(r["pkts_fwd"], r["bytes_fwd"], r["pkts_rev"]) for r in rx])
    tx = [r for r in flows if a4 == r["src_ip"] and r["src_port"] == 41012]
    say(not tx, "no record of a flow only sent (%d)" % len(tx))
    say(st["socket_drops"] == 0 and st["packets"] == st["socket_frames"],
        "packets %d = frames read %d, drops %d" % (st["packets"], st["socket_frames"],
                                                   st["socket_drops"]))
    return 0 if ok else 1


def check_term(jsonl, b4):
    recs = [json.loads(l) for l in open(jsonl) if l.strip()]
    r = [r for r in recs if r["type"] == "flow" and r["src_ip"] == b4 and r["src_port"] == 41021]
    ok = len(r) == 1 and r[0]["pkts_fwd"] == 30 and r[0]["end_reason"] == "end"
    print(("PASS " if ok else "FAIL ") + "sigterm: the open flow got its record: %s"
          % [(x["pkts_fwd"], x["end_reason"]) for x in r])
    return 0 if ok else 1


if __name__ == "__main__":
    cmds = {"udp-server": udp_server, "udp-client": udp_client, "tcp-server": tcp_server,
            "tcp-client": tcp_client, "dns-server": dns_server, "dns-client": dns_client,
            "vlan-send": vlan_send, "mcast-send": mcast_send,
            "attached": attached, "check": check, "check-noegress": check_noegress,
            "check-term": check_term}
    sys.exit(cmds[sys.argv[1]](*sys.argv[2:]))
PY
}

# ---- setup -------------------------------------------------------------

setup() {
	[ "$(id -u)" -eq 0 ] || die "setup: needs root"
	[ -x "$XDPI" ] || die "setup: $XDPI missing (run make)"
	[ -f "$REJECT_OBJ" ] || die "setup: $REJECT_OBJ missing (run make tests-build)"
	need_tools ip ethtool tcpdump python3 ping timeout nsenter bpftool curl promtool
	TMP=$(mktemp -d /tmp/xdpi-sock.XXXXXX) || die "setup: mktemp"
	write_helper
	make_veth_pair
	loopbacks_up # /metrics is scraped on A's loopback
	setup_end "$NSA" "$IFA" "$A4" "$A6"
	setup_end "$NSB" "$IFB" "$B4" "$B6"
	MAC_A=$(ip netns exec "$NSA" cat "/sys/class/net/$IFA/address")
	# Neighbours resolved before any run, so no first datagram waits.
	in_b ping -n -q -c 1 -W 3 "$A4" >/dev/null && in_b ping -n -q -c 1 -W 3 "$A6" >/dev/null ||
		die "setup: ping between the namespaces"
}

# Packet sockets open in namespace A (lines of /proc/net/packet).
packet_sockets() { in_a cat /proc/net/packet | tail -n +2 | grep -c .; }

# Starts xdpi --hook socket in namespace A; sets XDPI_PID and PROG_ID.
start_xdpi() {
	local name=$1
	shift
	T0=$(date +%s.%N)
	bg_start "$name" nsenter --net="/run/netns/$NSA" "$XDPI" run -i "$IFA" --hook socket \
		-w "$TMP/$name.jsonl" --stats-json "$TMP/$name.stats.json" \
		--state-dir "$TMP/state" "$@"
	XDPI_PID=$BG
	if ! wait_line "$TMP/$name.err" watching 15 "$XDPI_PID"; then
		echo "     xdpi stderr: $(tail -n 5 "$TMP/$name.err")"
		return 1
	fi
	PROG_ID=$(sed -n 's/.*program id \([0-9]*\).*/\1/p' "$TMP/$name.err" | head -n 1)
}

# The filter's program is gone and namespace A has no packet socket left.
check_gone() { # WHAT
	local what=$1 deadline=$((SECONDS + 5)) n
	# The program goes with the socket, after an RCU grace period.
	while bpftool prog show id "$PROG_ID" >/dev/null 2>&1 && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	n=$(packet_sockets)
	if ! bpftool prog show id "$PROG_ID" >/dev/null 2>&1 && [ "$n" = 0 ]; then
		pass "$what: program $PROG_ID unloaded, no packet socket left in $NSA"
	else
		fail "$what: program $PROG_ID still loaded or $n packet sockets left in $NSA"
	fi
}

stop_xdpi() { # NAME SIGNAL
	local name=$1 sig=${2:-INT}
	kill "-$sig" "$XDPI_PID"
	if ! wait_exit "$XDPI_PID" 20; then
		fail "$name: xdpi did not exit within 20s of SIG$sig"
	elif [ "$WAIT_RC" -eq 0 ]; then
		pass "$name: xdpi exited 0 after SIG$sig"
	else
		fail "$name: xdpi exited $WAIT_RC after SIG$sig: $(tail -n 3 "$TMP/$name.err")"
	fi
	T1=$(date +%s.%N)
	check_gone "$name: after exit"
}

# One UDP exchange (SPEC as U4_B...): a server on the other side, the
# client on the initiator's; both sides bound, so no ICMP errors.
udp_exchange() { # NAME SPEC... V4|V6
	local name=$1 who=$2 sport=$3 dport=$4 n=$5 size=$6 rn=$7 rsize=$8 fam=$9
	local cli_ns srv_ns cli_ip srv_ip srv
	case $fam in
	V4) cli_ip=$B4 srv_ip=$A4 ;;
	V6) cli_ip=$B6 srv_ip=$A6 ;;
	esac
	cli_ns=$NSB srv_ns=$NSA
	if [ "$who" = a ]; then
		cli_ns=$NSA srv_ns=$NSB
		case $fam in
		V4) cli_ip=$A4 srv_ip=$B4 ;;
		V6) cli_ip=$A6 srv_ip=$B6 ;;
		esac
	fi
	bg_start "$name-srv" timeout 30 ip netns exec "$srv_ns" python3 "$TMP/sock.py" \
		udp-server "$srv_ip" "$dport" "$n" "$rn" "$rsize" 10
	srv=$BG
	wait_line "$TMP/$name-srv.out" ready 10 "$srv" || die "$name: UDP server did not start"
	timeout 30 ip netns exec "$cli_ns" python3 "$TMP/sock.py" udp-client "$cli_ip" "$sport" \
		"$srv_ip" "$dport" "$n" "$size" "$rn" 10 >"$TMP/$name-cli.out" 2>&1 ||
		fail "$name: client: $(tail -n 1 "$TMP/$name-cli.out")"
	wait_exit "$srv" 20
	EXP_SRC=$cli_ip EXP_DST=$srv_ip
}

expect_udp() { # NAME SPEC... L3+L4 header bytes VLAN|-
	local name=$1 sport=$3 dport=$4 n=$5 size=$6 rn=$7 rsize=$8 hdr=$9 vlan=${10}
	echo "$name|17|$EXP_SRC|$sport|$EXP_DST|$dport|$vlan|$n|$rn|$((n * (hdr + size)))|$((rn * (hdr + rsize)))|end" \
		>>"$EXPECT"
}

tcp_exchange() { # NAME SPORT DPORT UP DOWN
	local name=$1 srv
	bg_start "$name-srv" timeout 30 ip netns exec "$NSA" python3 "$TMP/sock.py" tcp-server \
		"$A4" "$3" "$5" 20
	srv=$BG
	wait_line "$TMP/$name-srv.out" ready 10 "$srv" || die "$name: TCP server did not start"
	timeout 30 ip netns exec "$NSB" python3 "$TMP/sock.py" tcp-client "$B4" "$2" "$A4" "$3" \
		"$4" 20 >"$TMP/$name-cli.out" 2>&1 || fail "$name: client: $(tail -n 1 "$TMP/$name-cli.out")"
	wait_exit "$srv" 20
}

# ---- scenario 1: everything, against what was sent and tcpdump -----------

scenario_main() {
	local s=main tcpdump_pid srv out pk dr
	echo "-- xdpi run -i $IFA --hook socket --snippet-bytes $SNIP"
	# The reference capture runs on the same interface from before xdpi
	# starts to after the traffic: it sees every packet of the test's flows.
	bg_start tcpdump ip netns exec "$NSA" tcpdump -i "$IFA" -nn -s 256 -U --immediate-mode \
		-Z root -w "$TMP/ref.pcap"
	tcpdump_pid=$BG
	wait_line "$TMP/tcpdump.err" "listening on" 10 "$tcpdump_pid" || die "$s: tcpdump did not start"
	start_xdpi $s --snippet-bytes "$SNIP" --idle-timeout 60s --out "prom:127.0.0.1:19465" ||
		die "$s: xdpi did not start"
	pass "$s: $(grep -m1 watching "$TMP/$s.err")"
	if bpftool prog show id "$PROG_ID" 2>/dev/null | grep -q socket_filter; then
		pass "$s: program $PROG_ID is a socket filter"
	else
		fail "$s: program '$PROG_ID' not found as a socket filter"
	fi
	out=$(in_a timeout 10 python3 "$TMP/sock.py" attached "$IFA" 2>&1)
	if [ "$out" = "tcx ingress 0 egress 0" ] && ! ip -n "$NSA" -d link show dev "$IFA" | grep -q 'prog/xdp'; then
		pass "$s: no XDP or TC program on $IFA ($out)"
	else
		fail "$s: XDP/TC attached: $out"
	fi
	[ "$(packet_sockets)" = 2 ] && pass "$s: two packet sockets in $NSA (xdpi, tcpdump)" ||
		fail "$s: $(packet_sockets) packet sockets in $NSA, expected 2"

	EXPECT=$TMP/$s.expect
	: >"$EXPECT"
	udp_exchange u4b "${U4_B[@]}" V4
	expect_udp "udp4 B->A and back" "${U4_B[@]}" 28 -
	udp_exchange u4a "${U4_A[@]}" V4
	expect_udp "udp4 A->B (sent first) and back" "${U4_A[@]}" 28 -
	udp_exchange u6b "${U6_B[@]}" V6
	expect_udp "udp6 B->A and back" "${U6_B[@]}" 48 -
	udp_exchange u6a "${U6_A[@]}" V6
	expect_udp "udp6 A->B (sent first) and back" "${U6_A[@]}" 48 -
	udp_exchange big "${U4_BIG[@]}" V4
	expect_udp "udp4 1400-byte datagrams" "${U4_BIG[@]}" 28 -
	# Tagged frames: the driver moves the tag into the packet's metadata;
	# xdpi must put it back (records carry vlan 100).
	timeout 20 ip netns exec "$NSB" python3 "$TMP/sock.py" vlan-send "$IFB" "$MAC_A" 100 \
		"$VB4" "${UV_B[1]}" "$VA4" "${UV_B[2]}" "${UV_B[3]}" "${UV_B[4]}" >/dev/null ||
		fail "$s: sending tagged frames failed"
	EXP_SRC=$VB4 EXP_DST=$VA4
	expect_udp "udp4 in VLAN 100" "${UV_B[@]}" 28 100

	# Multicast A sends and loops back to itself: seen going out, and
	# its looped copy (PACKET_LOOPBACK) must not count again.
	timeout 20 ip netns exec "$NSA" python3 "$TMP/sock.py" mcast-send "$A4" 239.1.2.3 41007 5007 \
		20 90 >"$TMP/mcast.out" 2>&1 || fail "$s: multicast: $(tail -n 1 "$TMP/mcast.out")"
	echo "udp4 multicast A->group, looped back|17|$A4|41007|239.1.2.3|5007|-|20|0|$((20 * 118))|0|end" \
		>>"$EXPECT"

	tcp_exchange tcp "${TCP_PORTS[@]}" "$TCP_UP" "$TCP_DOWN"
	if grep -qx "received $TCP_UP" "$TMP/tcp-srv.out" && grep -qx "got $TCP_DOWN" "$TMP/tcp-cli.out"; then
		pass "$s: TCP transfer of $TCP_UP + $TCP_DOWN bytes completed"
	else
		fail "$s: TCP transfer: $(tail -n 1 "$TMP/tcp-srv.out") / $(tail -n 1 "$TMP/tcp-cli.out")"
	fi
	echo "tcp B->A|6|$B4|${TCP_PORTS[0]}|$A4|${TCP_PORTS[1]}|-|pcap|pcap|pcap|pcap|fin,end" >>"$EXPECT"
	tcp_exchange http "${HTTP_PORTS[@]}" http 0
	echo "http B->A|6|$B4|${HTTP_PORTS[0]}|$A4|${HTTP_PORTS[1]}|-|pcap|pcap|pcap|pcap|fin,end" >>"$EXPECT"

	bg_start dns-srv timeout 20 ip netns exec "$NSA" python3 "$TMP/sock.py" dns-server \
		"$A4" "${DNS_PORTS[1]}" 10
	srv=$BG
	wait_line "$TMP/dns-srv.out" ready 10 "$srv" || die "$s: DNS server did not start"
	timeout 20 ip netns exec "$NSB" python3 "$TMP/sock.py" dns-client "$B4" "${DNS_PORTS[0]}" \
		"$A4" "${DNS_PORTS[1]}" sock.example.test 10 >/dev/null 2>&1 || fail "$s: DNS query failed"
	wait_exit "$srv" 10
	echo "dns B->A|17|$B4|${DNS_PORTS[0]}|$A4|${DNS_PORTS[1]}|-|1|1|pcap|pcap|end" >>"$EXPECT"

	sleep 0.3 # the last ACKs in flight
	kill -INT "$tcpdump_pid"
	wait_exit "$tcpdump_pid" 10 || fail "$s: tcpdump did not exit"
	grep -q "^0 packets dropped by kernel" "$TMP/tcpdump.err" &&
		pass "$s: reference capture complete: $(grep -m1 'packets captured' "$TMP/tcpdump.err")" ||
		fail "$s: reference capture lost packets: $(tr '\n' ' ' <"$TMP/tcpdump.err")"
	check_no_drops "$s"
	# /metrics of the socket hook: its ring's counters, valid exposition.
	sleep 1.2 # one poll: the metrics are published once a second
	in_a curl -s -m 5 http://127.0.0.1:19465/metrics >"$TMP/$s.metrics" ||
		fail "$s: no /metrics"
	if promtool check metrics <"$TMP/$s.metrics" >"$TMP/promtool.out" 2>&1; then
		pass "$s: /metrics passes promtool ($(wc -l <"$TMP/$s.metrics") lines)"
	else
		fail "$s: promtool: $(head -n 3 "$TMP/promtool.out")"
	fi
	pk=$(awk '$1 == "xdpi_socket_packets_total" { print $2 }' "$TMP/$s.metrics")
	dr=$(awk '$1 == "xdpi_socket_drops_total" { print $2 }' "$TMP/$s.metrics")
	if [ "${pk:-0}" -gt 0 ] 2>/dev/null && [ "$dr" = 0 ]; then
		pass "$s: /metrics: xdpi_socket_packets_total $pk, xdpi_socket_drops_total $dr"
	else
		fail "$s: /metrics: xdpi_socket_packets_total '$pk', xdpi_socket_drops_total '$dr'"
	fi
	stop_xdpi $s INT

	in_a timeout 60 python3 "$TMP/sock.py" check "$TMP/$s.jsonl" "$TMP/$s.stats.json" \
		"$TMP/ref.pcap" "$EXPECT" "$SNIP" "$T0" "$T1" "$IFA" >"$TMP/check.out" 2>&1 ||
		fail "$s: checker failed: $(tail -n 3 "$TMP/check.out")"
	tally "$TMP/check.out"
	grep -q "^  socket: " "$TMP/$s.err" && pass "$s: summary: $(grep -m1 '^  socket: ' "$TMP/$s.err")" ||
		fail "$s: no socket line in the summary"
}

# ---- scenario 2: --no-egress, stopped by --duration ----------------------

scenario_noegress() {
	local s=noegress rc
	echo "-- xdpi run -i $IFA --hook socket --no-egress --duration 4s"
	start_xdpi $s --no-egress --duration 4s || die "$s: xdpi did not start"
	udp_exchange ne-rx b 41011 5011 120 100 40 100 V4
	udp_exchange ne-tx a 41012 5012 80 100 0 0 V4
	if ! wait_exit "$XDPI_PID" 20; then
		fail "$s: xdpi did not stop by --duration"
	else
		[ "$WAIT_RC" -eq 0 ] && pass "$s: xdpi stopped by --duration, exit 0" ||
			fail "$s: exit $WAIT_RC: $(tail -n 3 "$TMP/$s.err")"
	fi
	check_gone "$s: after exit"
	python3 "$TMP/sock.py" check-noegress "$TMP/$s.jsonl" "$TMP/$s.stats.json" "$A4" "$B4" \
		>"$TMP/$s.out" 2>&1
	rc=$?
	tally "$TMP/$s.out"
	[ "$rc" -eq 0 ] || [ -s "$TMP/$s.out" ] || fail "$s: checker exited $rc"
}

# ---- failure paths, SIGTERM, SIGKILL -----------------------------------

scenario_errors() {
	local out rc opt deadline
	echo "-- failure paths"
	printf 'drop 198.51.100.0/24\n' >"$TMP/rules.txt"
	for opt in "--ingress tc" "--capture afxdp" "--rules $TMP/rules.txt" "--transport ringbuf"; do
		# shellcheck disable=SC2086 # the option and its value
		out=$("$XDPI" run -i "$IFA" --hook socket $opt 2>&1)
		rc=$?
		if [ "$rc" -eq 2 ] && [[ $out == *"${opt%% *} does not go with --hook socket"* ]]; then
			pass "--hook socket $opt refused: $out"
		else
			fail "--hook socket $opt: exit $rc, '$out'"
		fi
	done

	out=$(in_a timeout 30 "$XDPI" run -i "$IFA" --hook socket --bpf-object "$REJECT_OBJ" \
		-w "$TMP/reject.jsonl" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [[ $out == *verifier* ]] && [[ $out == *processed* || $out == *invalid* || $out == *"R"[0-9]* ]]; then
		pass "verifier rejection: exit $rc, '$(grep -m1 verifier <<<"$out")' and the log's tail"
	else
		fail "verifier rejection: exit $rc: '$(head -n 3 <<<"$out")'"
	fi
	[ "$(packet_sockets)" = 0 ] && pass "verifier rejection: no packet socket left" ||
		fail "verifier rejection: $(packet_sockets) packet sockets left"

	start_xdpi term --idle-timeout 60s || die "term: xdpi did not start"
	udp_exchange term b 41021 5021 30 50 0 0 V4
	stop_xdpi term TERM
	python3 "$TMP/sock.py" check-term "$TMP/term.jsonl" "$B4" >"$TMP/term.out" 2>&1
	tally "$TMP/term.out"

	start_xdpi killed || die "killed: xdpi did not start"
	[ "$(packet_sockets)" = 1 ] && pass "SIGKILL: one packet socket before" ||
		fail "SIGKILL: $(packet_sockets) packet sockets before"
	disown "$XDPI_PID"
	kill -KILL "$XDPI_PID"
	deadline=$((SECONDS + 10))
	while [ -e "/proc/$XDPI_PID" ] && [ "$(cut -d' ' -f3 "/proc/$XDPI_PID/stat" 2>/dev/null)" != Z ] &&
		[ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.05
	done
	forget_pid "$XDPI_PID"
	check_gone "SIGKILL: after the process died"
}

main() {
	trap_cleanup
	setup
	for sc in ${SOCK_ONLY:-main noegress errors}; do
		"scenario_$sc"
	done
}

main "$@"
