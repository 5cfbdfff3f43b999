#!/usr/bin/env bash
# The IPFIX sink end to end. `xdpi read CAPTURE --out ipfix:udp://... --out
# jsonl:FILE` exports to a real collector, nfdump's nfcapd, on a loopback
# port; `nfdump` must then show the same flows as the JSONL of the same run:
# as many records, the same 5-tuple, VLAN, packets and bytes each way
# (RFC 5103 reverse counters become nfdump's "out" counters), the same
# totals. The export is captured on lo (dumpcap, filtered on the port) and
# tshark must decode every datagram as IPFIX without a malformed packet or
# an expert note; the datagrams, decoded again here independently, must
# carry every field of every JSONL flow (flow id, times, flags, ICMP type,
# end reason, application, server name, HTTP host) with consistent
# sequence numbers. nfcapd speaks UDP only, so TCP goes to a small Python
# collector: the same record-by-record check (DNS records too, ?dns=1),
# tshark on that capture, and a collector that closes its first connection
# at once: the sink must connect again and deliver every record exactly
# once. Also: bad targets and a refused TCP connection give clear errors.
# No namespaces; loopback ports only.
#
# Prints one PASS/FAIL line per check and ends with `sink_ipfix: N passed, N failed`.
# IPFIX_KEEP_TMP=1 keeps the work directory; XDPI_BIN=PATH tests another build.
set -u
# Loopback traffic stays in a namespace of the test's own.
source "$(dirname "$0")/lib/ownns.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
XDPI=${XDPI_BIN:-$ROOT/build/xdpi}
PCAPS=$ROOT/../shared/pcap
# IPv4 and IPv6 with TLS names; a mix with VLANs, ICMP, HTTP and DNS; ICMPv6.
UDP_CAPTURES="bench/ppp-tls2.pcap bench/ppp-many-protocols.pcap tcpdump-icmpv6.pcap"
TCP_CAPTURE=bench/ppp-tls2.pcap
RECONNECT_CAPTURE=bench/ppp-many-protocols.pcap

TEST_NAME=sink_ipfix
# shellcheck source=lib/netns.sh
. "$ROOT/tests/integration/lib/netns.sh"
trap_cleanup
KEEP_TMP=${IPFIX_KEEP_TMP:-0}
TMP=$(mktemp -d /tmp/xdpi-ipfix.XXXXXX) || die "setup: mktemp"

[ -x "$XDPI" ] || die "setup: no $XDPI (make first)"
need_tools nfcapd nfdump tshark dumpcap python3
for c in $UDP_CAPTURES $TCP_CAPTURE $RECONNECT_CAPTURE; do
	[ -r "$PCAPS/$c" ] || die "setup: no capture $PCAPS/$c"
done

# A free loopback port of the given type (udp or tcp).
free_port() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' "$1"
}

# How many of the arguments name existing files (globs that match nothing
# stay as they are).
count() {
	local f n=0
	for f in "$@"; do [ -e "$f" ] && n=$((n + 1)); done
	echo "$n"
}

# Starts dumpcap for FILTER into FILE on the loopback of the test's own
# namespace (lib/ownns.sh), where the export goes; sets CAP_PID once it captures.
start_dumpcap() { # NAME FILTER FILE
	bg_start "$1" dumpcap -i lo -f "$2" -w "$3"
	CAP_PID=$BG
	wait_line "$TMP/$1.err" "Capturing on" 10 "$CAP_PID" || die "setup: dumpcap did not start ($(cat "$TMP/$1.err"))"
}

# Stops a background process with SIGTERM (dumpcap and nfcapd write out
# what they hold) and waits for it.
stop_bg() { # PID WHAT
	kill -TERM "$1" 2>/dev/null
	wait_exit "$1" 10 || fail "$2 did not stop on SIGTERM within 10 s"
}

# ---- the independent IPFIX decoder and the comparisons ----------------------

cat >"$TMP/ipfix_check.py" <<'EOF'
"""Decodes IPFIX messages (RFC 7011, RFC 5103 reverse elements) without any
IPFIX library and compares the records with the JSON Lines of the same run.

usage: ipfix_check.py JSONL LABEL {udp HEXFILE | tcp FILE...} [dns]
Prints PASS/FAIL lines."""
import collections, datetime, json, struct, sys

PEN_REV, PEN_X = 29305, 32473
NAMES = {
    (0, 152): "start_ms", (0, 153): "end_ms", (0, 1): "octets", (0, 2): "packets",
    (PEN_REV, 1): "rev_octets", (PEN_REV, 2): "rev_packets", (0, 148): "flow_id",
    (0, 96): "app", (PEN_X, 1): "sni", (0, 460): "host", (0, 27): "src6", (0, 28): "dst6",
    (0, 8): "src4", (0, 12): "dst4", (0, 7): "sport", (0, 11): "dport", (0, 6): "flags",
    (PEN_REV, 6): "rev_flags", (0, 58): "vlan", (0, 32): "icmp4", (0, 139): "icmp6",
    (0, 4): "proto", (0, 136): "end_reason", (0, 239): "direction", (0, 323): "ts_ms",
    (PEN_X, 2): "qname", (PEN_X, 3): "qtype", (PEN_X, 4): "rcode", (PEN_X, 5): "dns_id",
}
STRINGS = {"app", "sni", "host", "qname"}
SIGNED = {"rcode"}
END_REASON = {"idle": 1, "active": 2, "fin": 3, "rst": 3, "end": 4}

problems = []


class Session:
    """One transport session: its templates and the sequence numbers."""

    def __init__(self, name):
        self.name, self.templates, self.records, self.next_seq = name, {}, [], None
        self.messages = self.template_sets = 0
        self.max_len = 0

    def message(self, m):
        if len(m) < 16:
            raise ValueError("message shorter than its header")
        ver, length, _t, seq, _dom = struct.unpack("!HHIII", m[:16])
        if ver != 10 or length != len(m):
            raise ValueError("bad header: version %d, length %d of %d" % (ver, length, len(m)))
        if self.next_seq is not None and seq != self.next_seq:
            problems.append("%s: sequence %d, expected %d" % (self.name, seq, self.next_seq))
        self.messages += 1
        self.max_len = max(self.max_len, len(m))
        n = 0
        off = 16
        while off < len(m):
            sid, slen = struct.unpack("!HH", m[off:off + 4])
            if slen < 4 or off + slen > len(m):
                raise ValueError("bad set length %d at %d" % (slen, off))
            body = m[off + 4:off + slen]
            if sid == 2:
                self.template_sets += 1
                self.template_set(body)
            elif sid >= 256:
                n += self.data_set(sid, body)
            else:
                raise ValueError("unexpected set id %d" % sid)
            off += slen
        self.next_seq = (seq + n) & 0xffffffff

    def template_set(self, b):
        off = 0
        while off + 4 <= len(b):
            tid, count = struct.unpack("!HH", b[off:off + 4])
            off += 4
            fields = []
            for _ in range(count):
                fid, flen = struct.unpack("!HH", b[off:off + 4])
                off += 4
                pen = 0
                if fid & 0x8000:
                    pen, = struct.unpack("!I", b[off:off + 4])
                    off += 4
                    fid &= 0x7fff
                fields.append((pen, fid, flen))
            self.templates[tid] = fields

    def data_set(self, tid, b):
        if tid not in self.templates:
            raise ValueError("data set %d before its template" % tid)
        fields = self.templates[tid]
        minlen = sum(1 if l == 65535 else l for _, _, l in fields)
        off = n = 0
        while len(b) - off >= minlen and len(b) - off > 0:
            rec = {"_tid": tid}
            for pen, fid, flen in fields:
                if flen == 65535:
                    flen = b[off]
                    off += 1
                    if flen == 255:
                        flen, = struct.unpack("!H", b[off:off + 2])
                        off += 2
                raw = b[off:off + flen]
                off += flen
                name = NAMES.get((pen, fid))
                if name is None:
                    raise ValueError("unknown element %d/%d" % (pen, fid))
                if name in STRINGS:
                    rec[name] = raw.decode("utf-8", "replace")
                elif name in ("src6", "dst6", "src4", "dst4"):
                    rec[name] = raw
                else:
                    rec[name] = int.from_bytes(raw, "big", signed=name in SIGNED)
            self.records.append(rec)
            n += 1
        return n


def addr(raw):
    import ipaddress
    return str(ipaddress.ip_address(bytes(raw)))


def ms(ts):
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 1000 + d.microsecond // 1000


def from_json(r):
    icmp = r["icmp_type"] << 8 | r["icmp_code"] if "icmp_type" in r else None
    return (r["flow_id"], r["src_ip"], r["dst_ip"], r["src_port"], r["dst_port"], r["proto"],
            r["vlan"], r["pkts_fwd"], r["bytes_fwd"], r["pkts_rev"], r["bytes_rev"],
            r["tcp_flags_fwd"], r["tcp_flags_rev"], icmp, ms(r["start"]), ms(r["end"]),
            END_REASON[r["end_reason"]], r["app_proto"] or "", r.get("sni", ""), r.get("host", ""))


def from_ipfix(x):
    v6 = "src6" in x
    icmp = x.get("icmp6" if v6 else "icmp4")
    return (x["flow_id"], addr(x["src6"] if v6 else x["src4"]), addr(x["dst6"] if v6 else x["dst4"]),
            x.get("sport", 0), x.get("dport", 0), x["proto"], x.get("vlan"), x["packets"],
            x["octets"], x["rev_packets"], x["rev_octets"], x["flags"], x["rev_flags"], icmp,
            x["start_ms"], x["end_ms"], x["end_reason"], x["app"], x["sni"], x["host"])


def dns_json(r):
    return (r["flow_id"], ms(r["ts"]), r["qname"], r["qtype"], -1 if r["rcode"] is None else r["rcode"], r["id"])


def dns_ipfix(x):
    return (x["flow_id"], x["ts_ms"], x["qname"], x["qtype"], x["rcode"], x["dns_id"])


def same(what, want, got):
    w, g = collections.Counter(want), collections.Counter(got)
    if w == g:
        print("PASS %s: %d records, each field as in the JSONL" % (what, len(want)))
        return
    missing, extra = list((w - g).elements()), list((g - w).elements())
    print("FAIL %s: %d in JSONL, %d in IPFIX; %d missing, %d extra; e.g. missing %s extra %s"
          % (what, len(want), len(got), len(missing), len(extra), missing[:2], extra[:2]))


def main():
    jsonl, label, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    dns = bool(args) and args[-1] == "dns"
    if dns:
        args = args[:-1]
    recs = [json.loads(l) for l in open(jsonl)]
    sessions = []
    try:
        if mode == "udp":
            s = Session(label + " udp")
            sessions.append(s)
            for line in open(args[0]):
                h = line.strip().replace(":", "")
                if h:
                    s.message(bytes.fromhex(h))
        else:
            for i, path in enumerate(args):
                s = Session("%s tcp connection %d" % (label, i + 1))
                sessions.append(s)
                data = open(path, "rb").read()
                off = 0
                while off < len(data):
                    if len(data) - off < 4:
                        raise ValueError("stream ends inside a message header")
                    length, = struct.unpack("!H", data[off + 2:off + 4])
                    if length < 16 or off + length > len(data):
                        raise ValueError("stream ends inside a message")
                    s.message(data[off:off + length])
                    off += length
    except (ValueError, struct.error, IndexError) as e:
        print("FAIL %s: IPFIX does not decode: %s" % (label, e))
        return
    if problems:
        print("FAIL %s: %s" % (label, "; ".join(problems[:3])))
    else:
        print("PASS %s: %d messages in %d session(s), sequence numbers count the data records"
              % (label, sum(s.messages for s in sessions), len(sessions)))
    if mode == "udp":
        big = max(s.max_len for s in sessions)
        if big <= 1420:
            print("PASS %s: every datagram is one message of at most 1420 bytes (largest %d)" % (label, big))
        else:
            print("FAIL %s: a datagram of %d bytes (more than 1420)" % (label, big))
    bad = [s.name for s in sessions if s.messages and s.template_sets == 0]
    if bad:
        print("FAIL %s: no templates in %s" % (label, bad))
    got = [r for s in sessions for r in s.records]
    same(label + " flows", [from_json(r) for r in recs if r["type"] == "flow"],
         [from_ipfix(x) for x in got if "proto" in x])
    if dns:
        same(label + " DNS", [dns_json(r) for r in recs if r["type"] == "dns"],
             [dns_ipfix(x) for x in got if "qname" in x])
    elif any("qname" in x for x in got):
        print("FAIL %s: DNS records exported without dns=1" % label)
    if mode == "tcp" and len(sessions) > 1:
        print("%s %s: %d connections; records per connection %s" % (
            "PASS" if all(s.template_sets for s in sessions) else "FAIL", label, len(sessions),
            [len(s.records) for s in sessions]))


main()
EOF

# nfdump's view of the flows against the JSONL: records, totals and each
# flow's 5-tuple, VLAN and counters per direction.
cat >"$TMP/nfdump_check.py" <<'EOF'
import collections, csv, ipaddress, json, sys

jsonl, csvfile, label = sys.argv[1:4]
PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58}
flows = [r for r in map(json.loads, open(jsonl)) if r["type"] == "flow"]
rows, summary = [], None
lines = open(csvfile).read().splitlines()
hdr = lines[0].split(",")
for i, line in enumerate(lines[1:], 1):
    if line.startswith("Summary"):
        summary = dict(zip(lines[i + 1].split(","), lines[i + 2].split(",")))
        break
    if line.strip():
        rows.append(dict(zip(hdr, line.split(","))))


def proto(p):
    p = p.strip()
    return PROTO[p] if p in PROTO else int(p)


def nf(r):
    return (str(ipaddress.ip_address(r["sa"].strip())), str(ipaddress.ip_address(r["da"].strip())),
            int(r["sp"]), int(r["dp"]), proto(r["pr"]), int(r["svln"]),
            int(r["ipkt"]), int(r["ibyt"]), int(r["opkt"]), int(r["obyt"]))


def js(r):
    dp = r["icmp_type"] << 8 | r["icmp_code"] if "icmp_type" in r else r["dst_port"]
    return (str(ipaddress.ip_address(r["src_ip"])), str(ipaddress.ip_address(r["dst_ip"])),
            r["src_port"], dp, r["proto"], r["vlan"] or 0,
            r["pkts_fwd"], r["bytes_fwd"], r["pkts_rev"], r["bytes_rev"])


want = (len(flows), sum(r["pkts_fwd"] + r["pkts_rev"] for r in flows),
        sum(r["bytes_fwd"] + r["bytes_rev"] for r in flows))
got = (int(summary["flows"]), int(summary["packets"]), int(summary["bytes"])) if summary else None
print("%s %s: nfdump summary flows/packets/bytes %s, JSONL %s" % (
    "PASS" if got == want else "FAIL", label, got, want))
w, g = collections.Counter(map(js, flows)), collections.Counter(map(nf, rows))
if w == g:
    print("PASS %s: nfdump shows each of the %d flows with the JSONL's 5-tuple, VLAN, "
          "packets and bytes in and out" % (label, len(rows)))
else:
    print("FAIL %s: nfdump %d rows, JSONL %d flows; missing %s; extra %s" % (
        label, len(rows), len(flows), list((w - g).elements())[:2], list((g - w).elements())[:2]))
EOF

# tshark must see IPFIX (cflow) in every frame of the export, no malformed
# packet, no expert note (sequence analysis included; on TCP, chats and
# notes are the handshake and the close, only warnings and errors count),
# and the same number of flow records and bytes as the JSONL.
tshark_check() { # PCAP DECODE_AS JSONL LABEL
	local out=$TMP/tshark.$RANDOM
	if ! tshark -r "$1" -d "$2" -T fields -E occurrence=a \
		-e frame.number -e frame.protocols -e _ws.expert.message -e _ws.malformed \
		-e cflow.protocol -e cflow.octets -e cflow.packets \
		-e _ws.expert.severity >"$out" 2>"$out.err"; then
		fail "$4: tshark failed: $(head -c 300 "$out.err")"
		return
	fi
	python3 - "$out" "$3" "$4" "${5:-}" <<'EOF' || echo "FAIL $4: the tshark check crashed"
import json, sys
out, jsonl, label, stream = sys.argv[1:5]
flows = [r for r in map(json.loads, open(jsonl)) if r["type"] == "flow"]
frames = ipfix_frames = nrec = octets = packets = 0
bad = []
for line in open(out):
    f = (line.rstrip("\n").split("\t") + [""] * 8)[:8]
    f[2:] = [x.replace(",", "/") for x in f[2:]]
    frames += 1
    has = "cflow" in f[1].split(":")
    ipfix_frames += has
    # Severity: chat 2097152, note 4194304, warn 6291456, error 8388608.
    tcp_chatter = stream and all(int(x) < 6291456 for x in f[7].split("/") if x)
    if (f[2] and not tcp_chatter) or f[3]:
        bad.append("frame %s: %s %s" % (f[0], f[2], f[3]))
    if not has and not stream:
        bad.append("frame %s is not IPFIX (%s)" % (f[0], f[1]))
    nrec += len([x for x in f[4].split("/") if x])
    octets += sum(int(x) for x in f[5].split("/") if x)
    packets += sum(int(x) for x in f[6].split("/") if x)
if not frames or not ipfix_frames:
    print("FAIL %s: tshark decoded no IPFIX (%d frames)" % (label, frames))
elif bad:
    print("FAIL %s: tshark: %s" % (label, "; ".join(bad[:3])))
else:
    print("PASS %s: tshark decodes the %d IPFIX frames of %d without a malformed packet or expert note"
          % (label, ipfix_frames, frames))
want = (len(flows), sum(r["pkts_fwd"] + r["pkts_rev"] for r in flows), sum(r["bytes_fwd"] + r["bytes_rev"] for r in flows))
got = (nrec, packets, octets)
print("%s %s: tshark flow records/packets/bytes %s, JSONL %s" % ("PASS" if got == want else "FAIL", label, got, want))
EOF
}

# ---- UDP to nfcapd -----------------------------------------------------------

udp_run() { # CAPTURE
	local cap=$1 name port dir np rc
	name=$(basename "$cap" .pcap)
	dir=$TMP/udp-$name
	mkdir -p "$dir/nf"
	port=$(free_port udp)
	# Its messages all in one file: exec keeps nfcapd's PID.
	bg_start "nfcapd-$name" bash -c 'exec "$@" 2>&1' nfcapd \
		nfcapd -w "$dir/nf" -p "$port" -b 127.0.0.1 -t 3600
	np=$BG
	wait_line "$TMP/nfcapd-$name.out" "Startup" 10 "$np" ||
		die "setup: nfcapd did not start on port $port ($(cat "$TMP/nfcapd-$name.out"))"
	start_dumpcap "dumpcap-$name" "udp port $port" "$dir/export.pcapng"
	timeout 60 "$XDPI" read "$PCAPS/$cap" --out "ipfix:udp://127.0.0.1:$port" \
		--out "jsonl:$dir/x.jsonl" -q 2>"$dir/xdpi.err"
	rc=$?
	if [ "$rc" -eq 0 ] && ! grep -q . "$dir/xdpi.err"; then
		pass "udp $name: xdpi read exits 0 with nothing on stderr"
	else
		fail "udp $name: xdpi read exit $rc: $(head -c 300 "$dir/xdpi.err")"
	fi
	sleep 0.5 # the last datagrams reach dumpcap's ring
	stop_bg "$CAP_PID" "dumpcap"
	stop_bg "$np" "nfcapd"
	if grep -q "Sequence Errors: 0, Bad Packets: 0" "$TMP/nfcapd-$name.out"; then
		pass "udp $name: nfcapd counts no sequence error and no bad packet"
	else
		fail "udp $name: nfcapd: $(grep -m1 Ident "$TMP/nfcapd-$name.out")"
	fi
	if nfdump -R "$dir/nf" -o csv >"$dir/nfdump.csv" 2>"$dir/nfdump.err"; then
		python3 "$TMP/nfdump_check.py" "$dir/x.jsonl" "$dir/nfdump.csv" "udp $name" >"$dir/check.out" 2>&1 ||
			echo "FAIL udp $name: the nfdump check crashed: $(tail -n1 "$dir/check.out")" >>"$dir/check.out"
		tally "$dir/check.out"
	else
		fail "udp $name: nfdump -R failed: $(head -c 300 "$dir/nfdump.err")"
	fi
	tshark_check "$dir/export.pcapng" "udp.port==$port,cflow" "$dir/x.jsonl" "udp $name" >"$dir/tshark.out" 2>&1
	tally "$dir/tshark.out"
	tshark -r "$dir/export.pcapng" -T fields -e udp.payload >"$dir/payloads.hex" 2>/dev/null
	python3 "$TMP/ipfix_check.py" "$dir/x.jsonl" "udp $name" udp "$dir/payloads.hex" >"$dir/decode.out" 2>&1 ||
		echo "FAIL udp $name: the decoder crashed: $(tail -n1 "$dir/decode.out")" >>"$dir/decode.out"
	tally "$dir/decode.out"
}

for c in $UDP_CAPTURES; do
	udp_run "$c"
done

# ---- TCP to a collector of our own ---------------------------------------------

# Accepts connections on a free port (written to PORTFILE), each read to
# its end into DIR/conn.N.bin, then DIR/conn.N.done. With "close-first"
# it half-closes its first connection at once (it goes on reading): the
# exporter must notice and connect again.
cat >"$TMP/collector.py" <<'EOF'
import os, socket, sys
outdir, portfile, mode = sys.argv[1:4]
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(4)
ls.settimeout(60)
open(portfile + ".tmp", "w").write(str(ls.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
n = 0
while True:
    c, _ = ls.accept()
    n += 1
    c.settimeout(30)
    if mode == "close-first" and n == 1:
        c.shutdown(socket.SHUT_WR)
    with open("%s/conn.%d.bin" % (outdir, n), "wb") as f:
        while True:
            b = c.recv(65536)
            if not b:
                break
            f.write(b)
    c.close()
    open("%s/conn.%d.done" % (outdir, n), "w").close()
EOF

tcp_run() { # CAPTURE MODE QUERY LABEL
	local cap=$1 mode=$2 query=$3 label=$4 dir cp port rc n i conns
	dir=$TMP/$label
	mkdir -p "$dir"
	bg_start "collector-$label" python3 "$TMP/collector.py" "$dir" "$dir/port" "$mode"
	cp=$BG
	for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
	[ -s "$dir/port" ] || die "setup: the TCP collector did not start ($(cat "$TMP/collector-$label.err"))"
	port=$(cat "$dir/port")
	start_dumpcap "dumpcap-$label" "tcp port $port" "$dir/export.pcapng"
	timeout 60 "$XDPI" read "$PCAPS/$cap" --out "ipfix:tcp://127.0.0.1:$port$query" \
		--out "jsonl:$dir/x.jsonl" -q 2>"$dir/xdpi.err"
	rc=$?
	# xdpi closed its connection on exit: the collector reaches its end.
	n=$(count "$dir"/conn.*.bin)
	for _ in $(seq 200); do
		[ "$(count "$dir"/conn.*.done)" -ge "$n" ] && break
		sleep 0.05
	done
	sleep 0.3
	stop_bg "$CAP_PID" "dumpcap"
	kill -TERM "$cp" 2>/dev/null
	wait_exit "$cp" 5
	if [ "$rc" -eq 0 ]; then
		pass "$label: xdpi read exits 0 (every record delivered)"
	else
		fail "$label: xdpi read exit $rc: $(head -c 300 "$dir/xdpi.err")"
	fi
	conns=()
	for ((i = 1; i <= n; i++)); do conns+=("$dir/conn.$i.bin"); done
	python3 "$TMP/ipfix_check.py" "$dir/x.jsonl" "$label" tcp "${conns[@]}" ${query:+dns} \
		>"$dir/decode.out" 2>&1 ||
		echo "FAIL $label: the decoder crashed: $(tail -n1 "$dir/decode.out")" >>"$dir/decode.out"
	tally "$dir/decode.out"
	LAST_DIR=$dir
	LAST_PORT=$port
}

tcp_run "$TCP_CAPTURE" normal "" tcp
tshark_check "$LAST_DIR/export.pcapng" "tcp.port==$LAST_PORT,cflow" "$LAST_DIR/x.jsonl" "tcp" stream >"$LAST_DIR/tshark.out" 2>&1
tally "$LAST_DIR/tshark.out"

tcp_run "$RECONNECT_CAPTURE" close-first "?dns=1" tcp-reconnect
nconn=$(count "$LAST_DIR"/conn.*.bin)
if [ "$nconn" -ge 2 ]; then
	pass "tcp-reconnect: the sink connected again after the collector closed ($nconn connections)"
else
	fail "tcp-reconnect: $nconn connection(s); the closed one was not noticed"
fi

# ---- errors ------------------------------------------------------------------

check_error() { # TARGET PATTERN
	local out rc
	out=$(timeout 20 "$XDPI" read "$PCAPS/$TCP_CAPTURE" --out "$1" -q --out-wait 1s 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q -- "$2" <<<"$out"; then
		pass "error: --out $1 fails: $(head -n1 <<<"$out")"
	else
		fail "error: --out $1: exit $rc, expected /$2/: $(head -c 300 <<<"$out")"
	fi
}
check_error "ipfix:sctp://127.0.0.1:4739" "expected udp://HOST:PORT or tcp://HOST:PORT"
check_error "ipfix:udp://127.0.0.1" "no host or no port"
check_error "ipfix:udp://127.0.0.1:70000" "not a number 1-65535"
check_error "ipfix:udp://127.0.0.1:4739?foo=1" "bad option 'foo=1'"
check_error "ipfix:tcp://127.0.0.1:$(free_port tcp)" "cannot connect: Connection refused"
