#!/usr/bin/env bash
# PostgreSQL sink against a real PostgreSQL 15 server started here by
# lib/pg.sh (in TMP, on 127.0.0.1 and a free port, as user postgres):
#  - the unit test of rows and sinks (build/tests/test_rows) with the server;
#  - `xdpi read CAPTURE --out postgres:CONNINFO --out jsonl:FILE`: every row
#    compared with its JSON line (lib/sql_check.py, as in sink_sqlite.sh);
#  - the server down when xdpi starts, up a little later: all rows arrive,
#    once each (the runner's retry and spool);
#  - the server stopped after the schema is made and the first rows are in,
#    while the capture is still being read (from a FIFO), then started again:
#    all rows, once each;
#  - a bad connection string: a clear message.
#
#   bash tests/integration/sink_postgres.sh        (BUILD=build-x for another build)
set -u
# Loopback traffic stays in a namespace of the test's own.
source "$(dirname "$0")/lib/ownns.sh"
cd "$(dirname "$0")/../.."

TEST_NAME=sink_postgres
. tests/integration/lib/netns.sh
. tests/integration/lib/pg.sh
# xdpi and the checker connect over TCP, as a remote database is reached.
PG_TCP=1

BUILD=${BUILD:-build}
XDPI=$BUILD/xdpi
PCAPS=../shared/pcap
CHECKER=tests/integration/lib/sql_check.py

EXTRA_CLEANUP=pg_kill
trap_cleanup

rows_in() { # DB: rows in all tables (empty if the server does not answer)
	pg_sql "SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM dns) +
		(SELECT count(*) FROM tls) + (SELECT count(*) FROM http) +
		(SELECT count(*) FROM quic) + (SELECT count(*) FROM ssh)" "$1" 2>/dev/null
}

run_checker() { # LABEL DB JSONL
	timeout 120 python3 "$CHECKER" --psql "$(pg_conninfo "$2")" --jsonl "$3" \
		--label "$1" >"$TMP/check.out" 2>&1
	local rc=$?
	tally "$TMP/check.out"
	[ "$rc" -eq 0 ] || grep -q FAIL "$TMP/check.out" || fail "$1: checker failed (exit $rc)"
}

# ---- setup ----
[ -x "$XDPI" ] || die "setup: $XDPI not built (make BUILD=$BUILD)"
[ -x "$PG_BIN/initdb" ] || die "setup: $PG_BIN/initdb missing (postgresql-15)"
command -v psql >/dev/null || die "setup: psql missing"
id postgres >/dev/null 2>&1 || die "setup: no user postgres"
TMP=$(mktemp -d /tmp/xdpi-sink-pg.XXXXXX)
pg_init "$TMP/pg" ||
	die "setup: PostgreSQL did not start: $(tail -n 5 "$TMP/pg/"*.log 2>/dev/null)"
pg_createdb unit cap1 cap2 cap3 cap4 down mid || die "setup: createdb"
pass "PostgreSQL $(pg_sql 'SHOW server_version') on 127.0.0.1:$PG_PORT"

# ---- the unit test with the server ----
if [ -x "$BUILD/tests/test_rows" ]; then
	XDPI_TEST_PG=$(pg_conninfo unit) timeout 60 "$BUILD/tests/test_rows" >"$TMP/unit.out" 2>&1
	rc=$?
	line=$(grep -oE 'rows \(sqlite, postgres\): [0-9]+ passed, [0-9]+ failed' "$TMP/unit.out")
	if [ "$rc" -eq 0 ] && [ -n "$line" ]; then
		pass "test_rows with PostgreSQL: $line"
	else
		fail "test_rows with PostgreSQL (exit $rc): $(grep FAIL "$TMP/unit.out" | head -n 5)"
	fi
else
	fail "test_rows not built ($BUILD/tests/test_rows: make BUILD=$BUILD tests-build)"
fi

# ---- captures ----
i=0
for cap in ndpi-1kxun.pcap cesnet-tls.pcap zeek-tcp-ssh-dups.pcap ndpi-quic_interop_V.pcapng; do
	i=$((i + 1))
	db=cap$i
	out="postgres:$(pg_conninfo $db)"
	# One of them in the URI form.
	[ "$i" = 2 ] && out="postgresql://postgres@127.0.0.1:$PG_PORT/$db"
	if ! timeout 60 "$XDPI" read "$PCAPS/$cap" -q --out "$out" --out "jsonl:$TMP/$db.jsonl" \
		2>"$TMP/$db.err"; then
		fail "$cap: xdpi read exited non-zero: $(head -c 300 "$TMP/$db.err")"
		continue
	fi
	[ -s "$TMP/$db.err" ] && fail "$cap: messages on stderr: $(head -c 300 "$TMP/$db.err")"
	run_checker "$cap" "$db" "$TMP/$db.jsonl"
done

# ---- the server down when xdpi starts ----
CAP=$PCAPS/bench/ppp-example.pcap
pg_stop || die "pg_ctl stop"
bg_start down "$XDPI" read "$CAP" -q --out "postgres:$(pg_conninfo down)" \
	--out "jsonl:$TMP/down.jsonl" --out-wait 40s
XPID=$BG
if wait_line "$TMP/down.err" "not reachable" 15 "$XPID"; then
	pass "server down: xdpi says so: $(grep -m1 'not reachable' "$TMP/down.err" | head -c 200)"
else
	fail "server down: no 'not reachable' message: $(head -c 300 "$TMP/down.err")"
fi
sleep 1 # a retry or two against the closed port
pg_start || die "pg_ctl start again: $(tail -n 5 "$PG_DIR/server.log")"
if wait_exit "$XPID" 60 && [ "$WAIT_RC" = 0 ]; then
	pass "server down at first: xdpi delivered and exited 0"
else
	fail "server down at first: xdpi exit ${WAIT_RC:-timeout}: $(tail -c 300 "$TMP/down.err")"
fi
run_checker "server down at first" down "$TMP/down.jsonl"

# ---- the server stopped while records flow, then started again ----
# The capture comes through a FIFO: its first half, then (once rows are in
# and the server is down) the rest.
mkfifo "$TMP/cap.fifo"
cat >"$TMP/feeder.py" <<'EOF'
import os, struct, sys, time
cap, fifo, go = sys.argv[1:4]
data = open(cap, "rb").read()
off, ends = 24, []
while off + 16 <= len(data):  # classic pcap: 24-byte header, 16-byte record headers
    off += 16 + struct.unpack("<I", data[off + 8:off + 12])[0]
    ends.append(off)
half = ends[len(ends) // 2]
with open(fifo, "wb") as f:
    f.write(data[:half])
    f.flush()
    deadline = time.time() + 60
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.05)
    f.write(data[half:])
EOF
bg_start feeder python3 "$TMP/feeder.py" "$CAP" "$TMP/cap.fifo" "$TMP/go"
FPID=$BG
bg_start mid "$XDPI" read "$TMP/cap.fifo" -q --out "postgres:$(pg_conninfo mid)" \
	--out "jsonl:$TMP/mid.jsonl" --out-wait 40s
XPID=$BG
first=
for _ in $(seq 1 200); do
	first=$(rows_in mid)
	[ -n "$first" ] && [ "$first" -gt 0 ] && break
	[ -e "/proc/$XPID" ] || break
	sleep 0.1
done
if [ -n "$first" ] && [ "$first" -gt 0 ]; then
	pass "mid-run: schema made and $first rows in from the first half of the capture"
else
	fail "mid-run: no rows from the first half (rows: '${first}'): $(head -c 300 "$TMP/mid.err")"
fi
pg_stop || die "pg_ctl stop mid-run"
touch "$TMP/go"
if wait_line "$TMP/mid.err" "write failed\|failed" 20 "$XPID"; then
	pass "mid-run: the write after the stop failed: $(grep -m1 'failed' "$TMP/mid.err" | head -c 200)"
else
	fail "mid-run: no failed write reported: $(head -c 300 "$TMP/mid.err")"
fi
sleep 1
pg_start || die "pg_ctl start mid-run: $(tail -n 5 "$PG_DIR/server.log")"
wait_exit "$FPID" 30
if wait_exit "$XPID" 60 && [ "$WAIT_RC" = 0 ]; then
	pass "mid-run: xdpi delivered and exited 0 ($(grep -c . "$TMP/mid.jsonl") records)"
else
	fail "mid-run: xdpi exit ${WAIT_RC:-timeout}: $(tail -c 300 "$TMP/mid.err")"
fi
grep -q "connected again" "$TMP/mid.err" && pass "mid-run: xdpi connected again" ||
	fail "mid-run: no reconnection reported: $(head -c 300 "$TMP/mid.err")"
run_checker "server stopped mid-run" mid "$TMP/mid.jsonl"

# ---- a bad connection string ----
timeout 30 "$XDPI" read "$PCAPS/cesnet-dns.pcap" -q --out "postgres:host=127.0.0.1 bogus=1" \
	>/dev/null 2>"$TMP/bad.err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q 'bogus' "$TMP/bad.err"; then
	pass "bad connection string: exit $rc, $(head -n 1 "$TMP/bad.err" | head -c 200)"
else
	fail "bad connection string: exit $rc: $(head -c 300 "$TMP/bad.err")"
fi
