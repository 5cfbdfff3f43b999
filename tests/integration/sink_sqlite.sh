#!/usr/bin/env bash
# SQLite sink: `xdpi read CAPTURE --out sqlite:DB --out jsonl:FILE` on
# captures with flow, dns, tls, http, quic and ssh records; every row of the
# database is compared with the JSON line of the same record (records have
# seq 1..N in the order of the JSON lines), column by column, and the counts,
# byte and packet sums, flow ids and names per table are compared too. Also:
# WAL mode, the indexes, a second run into the same file.
#
# The row checker is lib/sql_check.py, which sink_postgres.sh runs too.
#
#   bash tests/integration/sink_sqlite.sh        (BUILD=build-x for another build)
set -u
cd "$(dirname "$0")/../.."

TEST_NAME=sink_sqlite
. tests/integration/lib/netns.sh
trap_cleanup

BUILD=${BUILD:-build}
XDPI=$BUILD/xdpi
PCAPS=../shared/pcap
CHECKER=tests/integration/lib/sql_check.py
# flow+dns+http+tls, flow+tls+quic, flow+dns+http+tls, ssh, many quic, many http+dns
CAPTURES="ndpi-1kxun.pcap cesnet-tls.pcap ndpi-android.pcap zeek-tcp-ssh-dups.pcap
	ndpi-quic_interop_V.pcapng bench/ppp-example.pcap"

[ -x "$XDPI" ] || die "setup: $XDPI not built (make BUILD=$BUILD)"
command -v python3 >/dev/null || die "setup: python3 missing"
TMP=$(mktemp -d /tmp/xdpi-sink-sqlite.XXXXXX)

for cap in $CAPTURES; do
	name=$(basename "$cap")
	[ -f "$PCAPS/$cap" ] || die "setup: $PCAPS/$cap missing"
	db=$TMP/$name.db
	if ! timeout 60 "$XDPI" read "$PCAPS/$cap" -q --out "sqlite:$db" \
		--out "jsonl:$TMP/$name.jsonl" 2>"$TMP/$name.err"; then
		fail "$name: xdpi read exited non-zero: $(head -c 300 "$TMP/$name.err")"
		continue
	fi
	[ -s "$TMP/$name.err" ] && fail "$name: messages on stderr: $(head -c 300 "$TMP/$name.err")"
	timeout 60 python3 "$CHECKER" --sqlite "$db" --jsonl "$TMP/$name.jsonl" \
		--label "$name" >"$TMP/check.out" 2>&1
	rc=$?
	tally "$TMP/check.out"
	[ "$rc" -eq 0 ] || grep -q FAIL "$TMP/check.out" || fail "$name: checker failed (exit $rc)"
done

# A second run into the same file: the schema is there, the rows of both
# runs are kept apart by their run ids.
name=ndpi-1kxun.pcap
db=$TMP/$name.db
n=$(wc -l <"$TMP/$name.jsonl")
if timeout 60 "$XDPI" read "$PCAPS/$name" -q --out "sqlite:$db" 2>"$TMP/again.err"; then
	got=$(python3 - "$db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
runs = {}
for t in ("flows", "dns", "tls", "http", "quic", "ssh"):
    for run, c, lo, hi in db.execute(f"SELECT run, count(*), min(seq), max(seq) FROM {t} GROUP BY run"):
        r = runs.setdefault(run, [0, 1 << 62, 0])
        r[0] += c; r[1] = min(r[1], lo); r[2] = max(r[2], hi)
print(" ".join(f"{c}:{lo}-{hi}" for c, lo, hi in sorted(runs.values())))
EOF
)
	if [ "$got" = "$n:1-$n $n:1-$n" ]; then
		pass "second run into the same file: two runs of $n rows, seq 1-$n each"
	else
		fail "second run into the same file: runs (rows:seq range) '$got', want two of $n:1-$n"
	fi
else
	fail "second run into the same file: exit non-zero: $(head -c 300 "$TMP/again.err")"
fi

# A file that is not a database stops the start with a clear message: a
# local file does not get better by waiting.
echo "this is a text file, not a database; it goes on for a while to be sure" >"$TMP/junk.db"
timeout 30 "$XDPI" read "$PCAPS/cesnet-dns.pcap" -q --out "sqlite:$TMP/junk.db" --out-wait 0 \
	>/dev/null 2>"$TMP/junk.err"
rc=$?
if [ "$rc" = 1 ] && grep -q "file is not a database" "$TMP/junk.err"; then
	pass "not a database: $(grep -m1 'not a database' "$TMP/junk.err")"
else
	fail "not a database: exit $rc, no clear message: $(head -c 300 "$TMP/junk.err")"
fi
