#!/usr/bin/env bash
# Output throughput: `xdpi read` of a synthetic capture into each output, one
# at a time, with its real peer started here on loopback (a PostgreSQL
# server, nfcapd, a one-node JetStream nats-server, a Prometheus listener).
# Records per second count from the start of the read to the moment the
# output has taken the last record (the process exits only then). Prints a
# Markdown table. Usage: bash bench/sinks.sh [PACKETS] (default 1000000).
set -u
# Loopback traffic stays in a namespace of the bench's own.
source "$(dirname "$0")/../tests/integration/lib/ownns.sh"
cd "$(dirname "$0")/.."
source tests/integration/lib/pg.sh
PACKETS=${1:-1000000}
XDPI=$PWD/build/xdpi
B=build/bench
mkdir -p "$B"
[ -x "$B/mkpcap" ] || gcc -O2 -o "$B/mkpcap" ../shared/tools/mkpcap.c -lm
CAP=$B/mix-$PACKETS.pcap
[ -f "$CAP" ] || "$B/mkpcap" -o "$CAP" -n "$PACKETS" >/dev/null

TMP=$(mktemp -d /tmp/xdpi-bench-sinks.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	pg_kill 2>/dev/null
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do [ -e "/proc/$p" ] || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

RECORDS=$("$XDPI" read "$CAP" -q | wc -l)

best_ms() { # best of 3 wall times of a command, in milliseconds
	local best=0 t0 t1 t
	for _ in 1 2 3; do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>"$TMP/err" || { echo "bench: $* failed: $(tail -n 2 "$TMP/err")" >&2; echo 0; return; }
		t1=$(date +%s%N)
		t=$(( (t1 - t0) / 1000000 ))
		if [ "$best" -eq 0 ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

row() { # LABEL MS
	local rate=0
	[ "$2" -gt 0 ] && rate=$(( RECORDS * 1000 / $2 ))
	printf '| %s | %d | %d |\n' "$1" "$2" "$rate"
}

# Peers.
PG_TCP=0 pg_init "$TMP/pg" >/dev/null 2>&1 || echo "bench: PostgreSQL did not start" >&2
NF_PORT=$(free_port)
mkdir -p "$TMP/nf"
nfcapd -w "$TMP/nf" -p "$NF_PORT" -b 127.0.0.1 >"$TMP/nfcapd.log" 2>&1 &
PIDS+=($!)
NATS_PORT=$(free_port)
mkdir -p "$TMP/js"
/usr/sbin/nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$TMP/js" >"$TMP/nats.log" 2>&1 &
PIDS+=($!)
PROM_PORT=$(free_port)
sleep 1

echo "### Outputs: \`xdpi read\` of $(basename "$CAP") ($RECORDS records), best of 3"
echo
echo "| output | ms | records/s |"
echo "| --- | --- | --- |"
row "none (jsonl:/dev/null)" "$(best_ms "$XDPI" read "$CAP" -q --out jsonl:/dev/null)"
row "jsonl:FILE" "$(best_ms "$XDPI" read "$CAP" -q --out "jsonl:$TMP/x.jsonl")"
sqlite_run() { rm -f "$TMP/x.db"*; "$XDPI" read "$CAP" -q --out "sqlite:$TMP/x.db"; }
row "sqlite:FILE (new file each run)" "$(best_ms sqlite_run)"
pg_run() { pg_sql 'DROP TABLE IF EXISTS flows, dns, tls, http, quic, ssh, meta' >/dev/null; "$XDPI" read "$CAP" -q --out "postgres:$PG_CONNINFO"; }
row "postgres: (Unix socket, empty tables)" "$(best_ms pg_run)"
row "ipfix:udp:// to nfcapd" "$(best_ms "$XDPI" read "$CAP" -q --out "ipfix:udp://127.0.0.1:$NF_PORT")"
row "prom: (aggregation only)" "$(best_ms "$XDPI" read "$CAP" -q --out "prom:127.0.0.1:$PROM_PORT")"
row "nats:// (one JetStream node, file storage)" "$(best_ms "$XDPI" read "$CAP" -q --out "nats://127.0.0.1:$NATS_PORT")"
row "five at once (all but postgres)" "$(best_ms "$XDPI" read "$CAP" -q --out "jsonl:$TMP/y.jsonl" --out "sqlite:$TMP/y-$RANDOM.db" \
	--out "ipfix:udp://127.0.0.1:$NF_PORT" --out "prom:127.0.0.1:$PROM_PORT" --out "nats://127.0.0.1:$NATS_PORT")"
