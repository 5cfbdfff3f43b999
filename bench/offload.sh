#!/usr/bin/env bash
# DPI-then-offload: ring-buffer bytes with and without verdicts. Every
# Ethernet capture in ../shared/pcap/ is replayed over a veth pair between
# two namespaces made here (inter-packet gaps kept, capped at 1 ms), into
# `xdpi run` with offload on (default) and off (--no-offload). Prints a
# Markdown table. Needs root; namespaces are removed on any exit.
#   bash bench/offload.sh [SNIPPET_BYTES:K ...]   (default: 256:8 1500:8 256:32)
#   MODE=--busy-poll bash bench/offload.sh        readers spin: verdicts sooner
set -u
cd "$(dirname "$0")/.."
XDPI=${XDPI_BIN:-build/xdpi}
MODE=${MODE:-}
ID=$$
NA=xob-a$ID NB=xob-b$ID
TMP=$(mktemp -d /tmp/xdpi-offload.XXXXXX)

cleanup() {
	ip netns pids "$NB" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NA" && ip netns add "$NB" || exit 1
ip -n "$NA" link add veth0 mtu 9000 type veth peer name veth1 mtu 9000 netns "$NB"
ip -n "$NA" link set veth0 up
ip -n "$NB" link set veth1 up

# Classic pcap with Ethernet frames only (the sender writes raw frames).
cat >"$TMP/replay.py" <<'PY'
import glob, socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
frames = files = 0
for path in sorted(glob.glob(sys.argv[2] + "/*.pcap")):
    data = open(path, "rb").read()
    if len(data) < 24:
        continue
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        continue
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    if struct.unpack(end + "I", data[20:24])[0] != 1:
        continue
    files += 1
    off, last = 24, None
    while off + 16 <= len(data) and frames < 2000000:
        sec, frac, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = sec + frac / (1e9 if nano else 1e6)
        if last is not None and 0 < t - last:
            time.sleep(min(t - last, 0.001))
        last = t
        if len(frame) < 14:
            continue
        try:
            s.send(frame)
            frames += 1
        except OSError:
            pass
print(files, frames)
PY

run_mode() { # SNIPPET_BYTES:K extra-flag...
	local n=${1%:*} k=${1#*:} pid
	shift
	ip netns exec "$NB" timeout 600 "$XDPI" run -i veth1 --snippet-bytes "$n" --snippet-pkts "$k" \
		--no-egress --idle-timeout 5s -w /dev/null --stats-json "$TMP/stats.json" \
		--state-dir "$TMP/state" "$@" 2>"$TMP/err" &
	pid=$!
	for _ in $(seq 100); do grep -q watching "$TMP/err" && break; sleep 0.1; done
	ip netns exec "$NA" timeout 600 python3 "$TMP/replay.py" veth0 ../shared/pcap >"$TMP/sent"
	sleep 1
	kill -INT "$pid"
	wait "$pid"
	python3 - "$TMP/stats.json" "$TMP/sent" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
files, frames = open(sys.argv[2]).read().split()
print("%s|%s|%d|%d|%d|%d|%d" % (files, frames, st["packets"], st["events_snippet"],
      st["event_bytes"], st["verdicts"], st["flows_offloaded"]))
PY
}

echo "| snippet bytes:K | captures | frames sent | packets seen | offload | snippet events | event bytes | verdicts | flows offloaded |"
echo "|---:|---:|---:|---:|---|---:|---:|---:|---:|"
for n in ${@:-256:8 1500:8 256:32}; do
	off=$(run_mode "$n" --no-offload $MODE)
	on=$(run_mode "$n" $MODE)
	IFS='|' read -r f s p e b v o <<<"$off"
	echo "| $n | $f | $s | $p | off | $e | $b | $v | $o |"
	IFS='|' read -r f2 s2 p2 e2 b2 v2 o2 <<<"$on"
	echo "| $n | $f2 | $s2 | $p2 | on | $e2 | $b2 | $v2 | $o2 |"
	awk -v a="$b" -v b="$b2" -v ea="$e" -v eb="$e2" 'BEGIN {
		printf "| | | | | saved | %.1f %% | %.1f %% | | |\n", 100 * (ea - eb) / ea, 100 * (a - b) / a }'
done
