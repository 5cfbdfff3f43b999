#!/usr/bin/env bash
# The Prometheus sink end to end: `xdpi read CAPTURE --out prom:ADDR:PORT
# --out jsonl:FILE --linger T` serves /metrics while it lingers after the
# capture. The page must pass `promtool check metrics` without a word, and
# its values must agree with the JSON Lines of the same run: bytes and
# packets by protocol and direction, flows by protocol and application,
# records by type, and the top talkers computed from the JSONL. A real
# Prometheus server scrapes the listener and its query API must give back
# the JSONL's byte total. A synthetic capture with more addresses than the
# talker table holds checks the bound (exactly N series) and that the heavy
# hitters still lead with values never under their true count. Also: a
# second listener on a taken port fails with a clear message, and so does
# a bad target. No root, no namespaces; loopback ports only.
#
# Prints one PASS/FAIL line per check and ends with `sink_prom: N passed, N failed`.
# PROM_KEEP_TMP=1 keeps the work directory; XDPI_BIN=PATH tests another build;
# PROM_CAPTURE=FILE uses another capture for the first part.
set -u
# Loopback traffic stays in a namespace of the test's own.
source "$(dirname "$0")/lib/ownns.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
XDPI=${XDPI_BIN:-$ROOT/build/xdpi}
CAP=${PROM_CAPTURE:-$ROOT/../shared/pcap/ndpi-1kxun.pcap}
TOP_SYNTH=20

TEST_NAME=sink_prom
# shellcheck source=tests/integration/lib/netns.sh disable=SC2034 # its settings
. "$ROOT/tests/integration/lib/netns.sh"
trap_cleanup
KEEP_TMP=${PROM_KEEP_TMP:-0}
TMP=$(mktemp -d /tmp/xdpi-prom.XXXXXX) || die "setup: mktemp"

[ -x "$XDPI" ] || die "setup: no $XDPI (make first)"
[ -r "$CAP" ] || die "setup: no capture $CAP"
need_tools promtool prometheus curl python3

# Three free loopback ports at once (held together, so all differ).
read -r PORT_A PORT_B PORT_PROM < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
[ -n "${PORT_PROM:-}" ] || die "setup: no free ports"

# Ends a background process of ours (no job report: it is expected).
stop() { # PID
	disown "$1" 2>/dev/null
	kill -KILL "$1" 2>/dev/null
	wait_exit "$1" 5
}

# Fetches /metrics of PORT into FILE (body) and FILE.hdr (headers).
scrape() { # PORT FILE
	curl -s -m 5 -D "$2.hdr" -o "$2" "http://127.0.0.1:$1/metrics"
}

# Waits (bounded) until the lingering xdpi on PORT has handed every record
# to both outputs: the prom sink's own count equals what the process gave
# it, and the JSONL file holds as many lines as its output was given (the
# file is complete once flushed). Leaves the final page in FILE.
wait_settled() { # PORT JSONL FILE SECS
	local deadline=$((SECONDS + $4))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if scrape "$1" "$3" && python3 - "$3" "$2" <<'EOF'; then
import re, sys
page, jsonl = sys.argv[1], sys.argv[2]
mine = given_prom = given_jsonl = None
for line in open(page):
    m = re.match(r'(\w+)(?:\{(.*)\})? (\S+)$', line)
    if not m:
        continue
    name, labels, v = m.group(1), m.group(2) or "", float(m.group(3))
    if name == "xdpi_records_total":
        mine = (mine or 0) + v
    elif name == "xdpi_sink_records_total" and 'sink="prom"' in labels:
        given_prom = v
    elif name == "xdpi_sink_records_total" and 'sink="jsonl"' in labels:
        given_jsonl = v
lines = sum(1 for _ in open(jsonl)) if jsonl else 0
ok = given_prom and mine == given_prom and given_jsonl and lines == given_jsonl
sys.exit(0 if ok else 1)
EOF
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# ---- part 1: a real capture -------------------------------------------------

bg_start xdpi_a "$XDPI" read "$CAP" --out "prom:127.0.0.1:$PORT_A" --out "jsonl:$TMP/a.jsonl" \
	--linger 45s
XDPI_A=$BG
wait_line "$TMP/xdpi_a.err" "capture done" 30 "$XDPI_A" ||
	die "xdpi read did not reach its linger: $(tail -n 3 "$TMP/xdpi_a.err")"
wait_settled "$PORT_A" "$TMP/a.jsonl" "$TMP/a.page" 15 ||
	die "records did not all reach the outputs (page and JSONL disagree on counts)"
pass "read $(basename "$CAP"): $(wc -l <"$TMP/a.jsonl") records in the JSONL, all counted by the prom sink"

if grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/a.page.hdr"; then
	pass "/metrics: Content-Type text/plain; version=0.0.4"
else
	fail "/metrics: Content-Type is $(grep -i '^content-type' "$TMP/a.page.hdr")"
fi
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_A/")
if [ "$code" = 404 ]; then pass "GET / is 404"; else fail "GET / is $code, want 404"; fi

# promtool prints warnings (lint) and errors; neither is acceptable.
lint() { # FILE WHAT
	local out rc
	out=$(promtool check metrics <"$1" 2>&1)
	rc=$?
	if [ "$rc" = 0 ] && [ -z "$out" ]; then
		pass "$2: promtool check metrics: no errors, no warnings"
	else
		fail "$2: promtool check metrics (exit $rc): $(echo "$out" | head -n 5)"
	fi
}
lint "$TMP/a.page" "$(basename "$CAP")"

# Values of the page against the JSONL; TOP is the number of talkers.
compare() { # PAGE JSONL TOP WHAT
	python3 - "$@" >"$TMP/compare.out" 2>&1 <<'EOF'
import collections, ipaddress, json, re, sys

page, jsonl, top, what = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
PROTO = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah",
         58: "icmpv6", 132: "sctp", 136: "udplite"}
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

def check(ok, msg):
    print(("PASS " if ok else "FAIL ") + what + ": " + msg)

series = collections.defaultdict(dict)
for line in open(page):
    if line.startswith("#") or not line.strip():
        continue
    m = re.match(r'(\w+)(?:\{(.*)\})? (\S+)$', line.rstrip("\n"))
    labels = tuple(sorted(LABEL.findall(m.group(2) or "")))
    series[m.group(1)][labels] = float(m.group(3))

bytes_, pkts, flows, types, apps = (collections.Counter() for _ in range(5))
talk = collections.Counter()
for line in open(jsonl):
    r = json.loads(line)
    types[r["type"]] += 1
    if r["type"] != "flow":
        continue
    scale = r.get("packet_sampling", 1) * r.get("flow_sampling", 1)
    p = PROTO.get(r["proto"], str(r["proto"]))
    for d in ("fwd", "rev"):
        bytes_[(p, d)] += r["bytes_" + d] * scale
        pkts[(p, d)] += r["pkts_" + d] * scale
    if r["end_reason"] != "active":
        flows[p] += r.get("flow_sampling", 1)
        apps[r["app_proto"] or "unknown"] += r.get("flow_sampling", 1)
    total = (r["bytes_fwd"] + r["bytes_rev"]) * scale
    if total:
        talk[r["src_ip"]] += total
        talk[r["dst_ip"]] += total

def by(name, keys):
    return {tuple(v for _, v in k): val for k, val in series[name].items()
            if [n for n, _ in k] == keys}

got = by("xdpi_flow_bytes_total", ["dir", "proto"])
want = {(d, p): v for (p, d), v in bytes_.items()}
check(got == want, "bytes by proto/dir equal the JSONL sums (%d series, %d bytes in all)%s"
      % (len(want), sum(want.values()), "" if got == want else ": got %s want %s" % (got, want)))
got = by("xdpi_flow_packets_total", ["dir", "proto"])
want = {(d, p): v for (p, d), v in pkts.items()}
check(got == want, "packets by proto/dir equal the JSONL sums (%d packets)%s"
      % (sum(want.values()), "" if got == want else ": got %s want %s" % (got, want)))
got = {k[0]: v for k, v in by("xdpi_flows_total", ["proto"]).items()}
check(got == dict(flows), "flows by proto equal the JSONL (%s)%s"
      % (dict(flows), "" if got == dict(flows) else ": got %s" % got))
got = {k[0]: v for k, v in by("xdpi_records_total", ["type"]).items() if v}
check(got == dict(types), "records by type equal the JSONL (%s)%s"
      % (dict(types), "" if got == dict(types) else ": got %s" % got))
got = {k[0]: v for k, v in by("xdpi_app_flows_total", ["app"]).items() if v}
check(got == dict(apps), "flows by app equal the JSONL (%s)%s"
      % (dict(apps), "" if got == dict(apps) else ": got %s" % got))

tt = {k[0]: v for k, v in by("xdpi_top_talker_bytes", ["addr"]).items()}
n = min(top, len(talk))
check(len(tt) == n and len(series["xdpi_top_talker_bytes"]) == n,
      "%d top-talker series (top %d of %d addresses)" % (len(tt), top, len(talk)))
norm = lambda a: str(ipaddress.ip_address(a))
tt = {norm(a): v for a, v in tt.items()}
truth = {norm(a): v for a, v in talk.items()}
if len(truth) <= 1024:
    # The table holds everyone: values are exact and the set is the top N
    # (ties at the cut may pick either).
    exact = all(truth.get(a) == v for a, v in tt.items())
    cut = min(tt.values()) if tt else 0
    above = [a for a, v in truth.items() if v > cut]
    check(exact and all(a in tt for a in above),
          "top talkers equal a computation from the JSONL (largest %s: %d bytes)"
          % (max(tt, key=tt.get) if tt else "-", max(tt.values()) if tt else 0))
else:
    under = [a for a, v in tt.items() if v < truth.get(a, 0)]
    check(not under and all(a in truth for a in tt),
          "talker estimates never under their true count (%d addresses, table 1024)" % len(truth))
    # Nobody missing: an address outside the table never has more than the
    # table's least, so anyone above the page's least value must be on it.
    cut = min(tt.values()) if tt else 0
    missing = [a for a, v in truth.items() if v > cut and a not in tt]
    check(tt and not missing, "every address with more than the page's least (%d bytes) is on it%s"
          % (cut, "" if not missing else ": missing %s" % missing[:5]))
    # The heavy senders came first and never left the table: exact, leading.
    real = sorted(truth, key=truth.get, reverse=True)[:3]
    got_order = sorted(tt, key=tt.get, reverse=True)[:3]
    check(got_order == real and all(tt[a] == truth[a] for a in real),
          "the 3 heavy hitters lead in their true order with exact bytes (%s)"
          % ", ".join("%s %d" % (a, truth[a]) for a in real))
EOF
	tally "$TMP/compare.out"
}
compare "$TMP/a.page" "$TMP/a.jsonl" 10 "$(basename "$CAP")"

# A second listener on the same port must fail, saying why.
timeout 20 "$XDPI" read "$CAP" --out "prom:127.0.0.1:$PORT_A" --out "jsonl:$TMP/dup.jsonl" \
	>"$TMP/dup.out" 2>"$TMP/dup.err"
rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "in use" "$TMP/dup.err"; then
	pass "port taken: exit $rc, \"$(grep -m1 "in use" "$TMP/dup.err")\""
else
	fail "port taken: exit $rc, stderr: $(head -c 300 "$TMP/dup.err")"
fi
timeout 20 "$XDPI" read "$CAP" --out "prom:9464" >/dev/null 2>"$TMP/bad.err"
rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "PORT" "$TMP/bad.err"; then
	pass "bad target prom:9464: exit $rc, \"$(grep -m1 "PORT" "$TMP/bad.err")\""
else
	fail "bad target prom:9464: exit $rc, stderr: $(head -c 300 "$TMP/bad.err")"
fi

# ---- part 1b: a real Prometheus scrapes the listener ------------------------

cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: xdpi
    static_configs:
      - targets: ['127.0.0.1:$PORT_A']
EOF
promtool check config "$TMP/prometheus.yml" >/dev/null 2>&1 || die "setup: prometheus.yml rejected"
bg_start prometheus prometheus --config.file="$TMP/prometheus.yml" \
	--storage.tsdb.path="$TMP/tsdb" --web.listen-address="127.0.0.1:$PORT_PROM" \
	--log.level=warn
PROM_PID=$BG
PROM_API=http://127.0.0.1:$PORT_PROM/api/v1

# Value of an instant query ("" if none yet).
query() {
	curl -s -m 5 --get --data-urlencode "query=$1" "$PROM_API/query" | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")'
}

up=
deadline=$((SECONDS + 30))
while [ "$SECONDS" -lt "$deadline" ] && [ -e "/proc/$PROM_PID" ]; do
	up=$(curl -s -m 5 "$PROM_API/targets" | python3 -c '
import json, sys
try:
    t = json.load(sys.stdin)["data"]["activeTargets"]
    print(" ".join(x["health"] for x in t))
except Exception:
    pass')
	[ "$up" = up ] && break
	sleep 0.3
done
if [ "$up" = up ]; then
	pass "prometheus: target 127.0.0.1:$PORT_A is up"
else
	fail "prometheus: target not up within 30 s (health: ${up:-none}); $(tail -n 3 "$TMP/prometheus.err")"
fi

want_bytes=$(python3 -c '
import json, sys
print(sum(r["bytes_fwd"] + r["bytes_rev"] for r in map(json.loads, open(sys.argv[1])) if r["type"] == "flow"))' "$TMP/a.jsonl")
got_bytes=
deadline=$((SECONDS + 15))
while [ "$SECONDS" -lt "$deadline" ]; do
	got_bytes=$(query 'sum(xdpi_flow_bytes_total)')
	[ -n "$got_bytes" ] && break
	sleep 0.3
done
if [ -n "$got_bytes" ] && python3 -c 'import sys; sys.exit(float(sys.argv[1]) != float(sys.argv[2]))' \
	"$got_bytes" "$want_bytes"; then
	pass "prometheus: sum(xdpi_flow_bytes_total) = $got_bytes, the JSONL's byte total"
else
	fail "prometheus: sum(xdpi_flow_bytes_total) = '${got_bytes}', JSONL total $want_bytes"
fi
got=$(query 'count(xdpi_top_talker_bytes)')
if [ "$got" = 10 ]; then
	pass "prometheus: count(xdpi_top_talker_bytes) = 10"
else
	fail "prometheus: count(xdpi_top_talker_bytes) = '$got', want 10"
fi
got=$(query 'sum(xdpi_records_total)')
want=$(wc -l <"$TMP/a.jsonl")
if [ "$got" = "$want" ]; then
	pass "prometheus: sum(xdpi_records_total) = $got, the JSONL's lines"
else
	fail "prometheus: sum(xdpi_records_total) = '$got', JSONL lines $want"
fi

stop "$PROM_PID"
stop "$XDPI_A"

# ---- part 2: more addresses than the talker table ---------------------------

# UDP flows among 3000 addresses of 10.50/16, 1-3 packets each way, and 3
# heavy senders (10.99.0.1-3) with full-size packets to random peers.
python3 - "$TMP/synth.pcap" <<'EOF'
import random, struct, sys

rnd = random.Random(4242)
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
t = [1700000000_000000]

def csum(h):
    s = sum(struct.unpack("!10H", h))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def pkt(src, dst, sport, dport, size):
    payload = bytes(size)
    udp = struct.pack("!HHHH", sport, dport, 8 + size, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    frame = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + udp
    t[0] += 100
    out.write(struct.pack("<IIII", t[0] // 1000000, t[0] % 1000000, len(frame), len(frame)))
    out.write(frame)

hosts = [(10, 50, i // 250, i % 250 + 1) for i in range(3000)]
heavy = [(10, 99, 0, i) for i in (1, 2, 3)]
port = 20000
for i in range(6000):
    a, b = rnd.sample(hosts, 2)
    if i % 10 == 0:
        a = heavy[i // 10 % 3]
        size = 1400
    else:
        size = rnd.randint(10, 300)
    port += 1
    for _ in range(rnd.randint(1, 3)):
        pkt(a, b, port, 9000, size)
    for _ in range(rnd.randint(0, 2)):
        pkt(b, a, 9000, port, rnd.randint(10, 200))
EOF
[ -s "$TMP/synth.pcap" ] || die "setup: synthetic capture not written"

bg_start xdpi_b "$XDPI" read "$TMP/synth.pcap" --out "prom:127.0.0.1:$PORT_B?top=$TOP_SYNTH" \
	--out "jsonl:$TMP/b.jsonl" --linger 30s
XDPI_B=$BG
wait_line "$TMP/xdpi_b.err" "capture done" 30 "$XDPI_B" ||
	die "xdpi read (synthetic) did not reach its linger: $(tail -n 3 "$TMP/xdpi_b.err")"
wait_settled "$PORT_B" "$TMP/b.jsonl" "$TMP/b.page" 15 ||
	die "synthetic: records did not all reach the outputs"
pass "read synthetic capture: $(wc -l <"$TMP/b.jsonl") records, all counted by the prom sink"
lint "$TMP/b.page" "synthetic"
compare "$TMP/b.page" "$TMP/b.jsonl" "$TOP_SYNTH" "synthetic, >1024 addresses, top=$TOP_SYNTH"
stop "$XDPI_B"
