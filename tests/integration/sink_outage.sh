#!/usr/bin/env bash
# An output that goes down while `xdpi run` captures: PostgreSQL (a real
# server this test starts) is stopped in the middle of the traffic and
# started again. Capture goes on; the records of the outage wait in the spool
# and reach the database when it is back: every flow record of the run's
# JSON Lines output is in the database exactly once. A second run with a
# tiny --spool-max shows the bound: what does not fit is dropped, counted
# and reported, and delivered + dropped = produced.
#
# Traffic: UDP datagrams from NSB to NSA over a veth pair between two network
# namespaces this test creates; the database is reached over a Unix socket.
set -u
cd "$(dirname "$0")/../.."
TEST_NAME=sink_outage
NSA=xdpi-outa-$$
NSB=xdpi-outb-$$
IFA=xoa$$
IFB=xob$$
XDPI=$PWD/build/xdpi
source tests/integration/lib/netns.sh
source tests/integration/lib/pg.sh

EXTRA_CLEANUP=pg_kill
trap_cleanup
[ "$(id -u)" -eq 0 ] || die "needs root"
[ -x "$XDPI" ] || die "build/xdpi missing (make)"
TMP=$(mktemp -d /tmp/xdpi-outage.XXXXXX)
chmod 755 "$TMP"

make_veth_pair
address_end "$NSA" "$IFA" 10.77.0.1
address_end "$NSB" "$IFB" 10.77.0.2
loopbacks_up
# No IPv6 link-local chatter (router solicitations): only the test's flows.
for ns in "$NSA" "$NSB"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
pg_init "$TMP/pg" || die "setup: PostgreSQL did not start ($(tail -n 3 "$TMP/pg/"*.log 2>/dev/null))"
pg_createdb xdpi2 || die "setup: createdb"

# N one-datagram UDP flows from NSB, each from its own source port.
send_flows() { # FIRST_PORT N
	ip netns exec "$NSB" timeout 30 python3 - "$1" "$2" <<'PY'
import socket, sys, time
first, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.77.0.2", first + i))
    s.sendto(b"outage test %d" % i, ("10.77.0.1", 9999))
    s.close()
    if i % 100 == 99:
        time.sleep(0.01)
PY
}

start_xdpi() { # NAME CONNINFO [extra options]
	local name=$1 conninfo=$2
	shift 2
	bg_start "$name" nsenter --net="/run/netns/$NSA" "$XDPI" run -i "$IFA" --no-egress \
		--idle-timeout 1s --poll-interval 200ms --duration 120s --state-dir "$TMP/state" \
		--spool-dir "$TMP" --out "postgres:$conninfo" --out "jsonl:$TMP/$name.jsonl" "$@"
	XDPI_PID=$BG
	wait_line "$TMP/$name.err" watching 20 "$XDPI_PID" || die "$name: xdpi did not start: $(tail -n 5 "$TMP/$name.err")"
}

# Waits until the JSON Lines output has at least N flow records.
wait_records() { # FILE N SECS
	local deadline=$((SECONDS + $3))
	while [ "$(grep -c '"type":"flow"' "$1" 2>/dev/null)" -lt "$2" ]; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

flows_in_jsonl() { grep -c '"type":"flow"' "$1"; }

# /metrics of the running xdpi, from inside its namespace.
scrape() { ip netns exec "$NSA" curl -s -m 5 "http://127.0.0.1:$PROM_PORT/metrics"; }
metric() { # NAME{LABELS} as it appears on the page
	scrape | awk -v k="$1" '$1 == k { print $2 }'
}

# ---- the default output ----------------------------------------------------
echo "-- xdpi run without --out, on a terminal: SQLite in the working directory, a status line"
mkdir -p "$TMP/default"
# script(1) gives xdpi a terminal; its output (the typescript) is what a user sees.
bg_start default script -qefc "cd $TMP/default && nsenter --net=/run/netns/$NSA $XDPI run -i $IFA \
	--no-egress --idle-timeout 1s --poll-interval 200ms --duration 5s --state-dir $TMP/state" \
	"$TMP/default.tty"
DEF_PID=$BG
wait_line "$TMP/default.tty" watching 20 "$DEF_PID" || die "default: xdpi did not start: $(tail -c 300 "$TMP/default.tty")"
send_flows 19000 50
wait_exit "$DEF_PID" 30 || fail "default: xdpi did not stop after --duration"
rows=$(sqlite3 "$TMP/default/xdpi.db" "select count(*) from flows where dst_port = 9999" 2>&1)
[ "$rows" = 50 ] && pass "default output: 50 flow rows in ./xdpi.db" ||
	fail "default output: '$rows' flow rows in ./xdpi.db, expected 50"
grep -q "records go to sqlite:xdpi.db" "$TMP/default.tty" &&
	pass "it says where records go: '$(grep -m1 'records go to' "$TMP/default.tty" | tr -d '\r')'" ||
	fail "no 'records go to' line: $(head -c 300 "$TMP/default.tty")"
status=$(tr '\r' '\n' <"$TMP/default.tty" | grep -a 'packets/s' | tail -n 1 | sed 's/\x1b\[K//')
if [[ $status =~ ([0-9]+)\ records ]] && [ "${BASH_REMATCH[1]}" -ge 50 ]; then
	pass "status line on the terminal: '$status'"
else
	fail "no status line with the records: '$status'"
fi

# ---- an outage in the middle, no bound reached -----------------------------
echo "-- PostgreSQL stopped and started again while xdpi run captures"
PROM_PORT=19464
start_xdpi outage "$PG_CONNINFO" --out "prom:127.0.0.1:$PROM_PORT"
send_flows 20000 300
wait_records "$TMP/outage.jsonl" 300 20 || fail "phase 1: 300 flow records expected in JSON Lines"
deadline=$((SECONDS + 20))
while [ "$(pg_sql 'select count(*) from flows' 2>/dev/null || echo 0)" -lt 300 ] && [ $SECONDS -lt $deadline ]; do
	sleep 0.2
done
before=$(pg_sql 'select count(*) from flows')
[ "$before" -ge 300 ] && pass "phase 1: $before flow rows before the outage" ||
	fail "phase 1: $before flow rows before the outage, expected >= 300"

scrape >"$TMP/metrics.txt"
if promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1; then
	pass "live /metrics passes promtool check metrics ($(wc -l <"$TMP/metrics.txt") lines)"
else
	fail "promtool: $(head -n 3 "$TMP/promtool.out")"
fi
for m in xdpi_thread_cpu_seconds_total xdpi_worker_queue_bytes xdpi_flow_table_flows \
	xdpi_ring_events_lost_total xdpi_sink_backlog_records; do
	grep -q "^$m" "$TMP/metrics.txt" && pass "live /metrics has $m" || fail "live /metrics lacks $m"
done
[ "$(metric 'xdpi_sink_up{sink="postgres",index="0"}')" = 1 ] && pass "xdpi_sink_up of postgres is 1" ||
	fail "xdpi_sink_up of postgres: '$(metric 'xdpi_sink_up{sink="postgres",index="0"}')'"

pg_stop
send_flows 21000 1000
wait_records "$TMP/outage.jsonl" 1300 30 || fail "outage: 1300 flow records expected in JSON Lines"
during=$(flows_in_jsonl "$TMP/outage.jsonl")
if wait_line "$TMP/outage.err" "records go to the spool" 10 "$XDPI_PID"; then
	pass "outage reported: '$(grep -m1 'records go to the spool' "$TMP/outage.err")'"
else
	fail "no outage message on stderr: $(tail -n 3 "$TMP/outage.err")"
fi
sleep 1
up=$(metric 'xdpi_sink_up{sink="postgres",index="0"}')
spooled=$(metric 'xdpi_sink_spooled_records{sink="postgres",index="0"}')
if [ "$up" = 0 ] && [ "${spooled:-0}" -gt 0 ] 2>/dev/null; then
	pass "/metrics during the outage: xdpi_sink_up 0, $spooled records spooled"
else
	fail "/metrics during the outage: xdpi_sink_up '$up', spooled '$spooled'"
fi
if [ -e "/proc/$XDPI_PID" ]; then
	pass "capture goes on while the database is down ($during flow records so far)"
else
	fail "xdpi exited while the database was down"
fi

pg_start || die "PostgreSQL did not start again"
send_flows 23000 300
wait_records "$TMP/outage.jsonl" 1600 30 || fail "phase 3: 1600 flow records expected in JSON Lines"
if wait_line "$TMP/outage.err" "connected again" 40 "$XDPI_PID"; then
	pass "reconnect reported: '$(grep -m1 'connected again' "$TMP/outage.err")'"
else
	fail "no reconnect message: $(tail -n 3 "$TMP/outage.err")"
fi
kill -TERM "$XDPI_PID"
wait_exit "$XDPI_PID" 60 || fail "xdpi did not exit within 60 s of SIGTERM"
[ "$WAIT_RC" = 0 ] && pass "exit status 0: nothing lost" || fail "exit status $WAIT_RC: $(tail -n 3 "$TMP/outage.err")"

produced=$(flows_in_jsonl "$TMP/outage.jsonl")
stored=$(pg_sql 'select count(*) from flows')
distinct=$(pg_sql 'select count(distinct (host, run, seq)) from flows')
[ "$stored" = "$produced" ] && pass "every flow record arrived: $stored rows = $produced in JSON Lines" ||
	fail "$stored rows in the database, $produced flow records in JSON Lines"
[ "$distinct" = "$stored" ] && pass "no record twice ($distinct distinct ids)" ||
	fail "$distinct distinct ids for $stored rows"
python3 - "$TMP/outage.jsonl" <<'PY' >"$TMP/jsonl.ids"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "flow":
        print(r["flow_id"], r["pkts_fwd"] + r["pkts_rev"], r["bytes_fwd"] + r["bytes_rev"])
PY
pg_sql 'select flow_id, pkts_fwd + pkts_rev, bytes_fwd + bytes_rev from flows' | tr '|' ' ' >"$TMP/pg.ids"
if cmp -s <(sort "$TMP/jsonl.ids") <(sort "$TMP/pg.ids"); then
	pass "flow ids, packets and bytes of every row equal JSON Lines"
else
	fail "rows differ from JSON Lines: $(diff <(sort "$TMP/jsonl.ids") <(sort "$TMP/pg.ids") | head -n 4 | tr '\n' ' ')"
fi
grep -q "^  out postgres:.*: $stored records delivered" "$TMP/outage.err" &&
	pass "summary: '$(grep -m1 '^  out postgres' "$TMP/outage.err" | sed 's/^ *//')'" ||
	fail "summary line missing: $(tail -n 3 "$TMP/outage.err")"

# ---- the spool bound -------------------------------------------------------
echo "-- --spool-max 40k: beyond it records are dropped and counted"
CONN2=$(pg_conninfo xdpi2)
start_xdpi bound "$CONN2" --spool-max 40k
pg_stop
send_flows 30000 400
wait_records "$TMP/bound.jsonl" 400 30 || fail "bound: 400 flow records expected in JSON Lines"
sleep 0.5
pg_start || die "PostgreSQL did not start again"
kill -TERM "$XDPI_PID"
wait_exit "$XDPI_PID" 60 || fail "xdpi did not exit within 60 s of SIGTERM"
produced=$(flows_in_jsonl "$TMP/bound.jsonl")
stored=$(pg_sql 'select count(*) from flows' xdpi2 2>/dev/null || echo 0)
line=$(grep -m1 'records not delivered' "$TMP/bound.err")
dropped=$(sed -n 's/.*: \([0-9]*\) records not delivered.*/\1/p' <<<"$line")
[ "$WAIT_RC" = 1 ] && pass "exit status 1 when records were dropped" || fail "exit status $WAIT_RC, expected 1"
[ -n "$line" ] && pass "drops reported: '$line'" || fail "no drop report: $(tail -n 3 "$TMP/bound.err")"
max=$((40 * 1024 / 712))
if [ "$stored" -gt 0 ] && [ "$stored" -le "$max" ]; then
	pass "the spool kept what 40k holds: $stored rows (at most $max flow records fit)"
else
	fail "$stored rows delivered, expected 1..$max"
fi
[ "$((stored + ${dropped:-0}))" = "$produced" ] &&
	pass "delivered + dropped = produced: $stored + $dropped = $produced" ||
	fail "delivered $stored + dropped ${dropped:-?} != produced $produced"
