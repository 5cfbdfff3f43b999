#!/usr/bin/env bash
# SQLite sink: `xdpi read CAPTURE --out sqlite:DB --out jsonl:FILE` on
# captures with flow, dns, tls, http, quic and ssh records; every row of the
# database is compared with the JSON line of the same record (records have
# seq 1..N in the order of the JSON lines), column by column, and the counts,
# byte and packet sums, flow ids and names per table are compared too. Also:
# WAL mode, the indexes, a second run into the same file.
#
#   bash tests/integration/sink_sqlite.sh            (BUILD=build-x for another build)
#   bash tests/integration/sink_sqlite.sh --checker  prints the row checker (Python),
#                                                    which sink_postgres.sh runs too
set -u
cd "$(dirname "$0")/../.."

# The row checker, shared with sink_postgres.sh. Reads the tables of a
# SQLite file (--sqlite PATH) or of a PostgreSQL database (--psql CONNINFO,
# through psql) and compares them with the JSON Lines of the same run.
print_checker() {
	cat <<'PYEOF'
import argparse, collections, datetime, json, sqlite3, subprocess, sys

TABLES = {"flow": "flows", "dns": "dns", "tls": "tls", "http": "http", "quic": "quic",
          "ssh": "ssh"}
RENAME = {"start": "start_ts", "end": "end_ts", "host": "http_host"}
TIMES = {"start_ts": "start_us", "end_ts": "end_us", "ts": "ts_us"}
JSON_COLS = {"answers", "alpn"}
# Indexes the schema promises: (table, columns).
INDEXES = [("flows", "src_ip"), ("flows", "dst_ip"), ("flows", "start_ts"),
           ("dns", "qname"), ("dns", "ts"), ("tls", "sni"), ("http", "http_host")]

ap = argparse.ArgumentParser()
ap.add_argument("--jsonl", required=True)
ap.add_argument("--sqlite")
ap.add_argument("--psql")
ap.add_argument("--label", default="")
ap.add_argument("--run", type=int, help="only this run's rows (default: the only run)")
a = ap.parse_args()
label = a.label + ": " if a.label else ""
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS {label}{what}")
    else:
        failed += 1
        print(f"FAIL {label}{what}")


def epoch_us(s):
    d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return round((d - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc))
                 / datetime.timedelta(microseconds=1))


def psql(sql):
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", a.psql,
                          "-c", "SET TimeZone = 'UTC'", "-c", sql],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return [l for l in out.split("\n") if l]


def fetch(table):
    """The table's rows as dicts, in seq order."""
    where = f" WHERE run = {a.run}" if a.run is not None else ""
    if a.sqlite:
        db = sqlite3.connect(a.sqlite)
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute(f"SELECT * FROM {table}{where} ORDER BY seq")]
        db.close()
        return rows
    return [json.loads(l) for l in
            psql(f"SELECT row_to_json(t) FROM (SELECT * FROM {table}{where} ORDER BY seq) t")]


def expected_row(rec):
    """Columns the record's JSON line gives, by the schema's naming rules."""
    row = {}
    for k, v in rec.items():
        if k == "type":
            continue
        if isinstance(v, dict):  # tcp flattened as is; ssh sides prefixed
            for k2, v2 in v.items():
                row[k2 if k == "tcp" else f"{k}_{k2}"] = v2
            continue
        col = RENAME.get(k, k)
        row[col] = v
        if col in TIMES:
            row[TIMES[col]] = epoch_us(v)
    return row


def same(col, want, got):
    if col in TIMES and want is not None and got is not None:
        return epoch_us(want) == epoch_us(got) and (a.psql or want == got)
    if col in JSON_COLS and isinstance(got, str):
        got = json.loads(got)
    if isinstance(want, bool):
        return got in (want, int(want))
    return want == got


records = [json.loads(l) for l in open(a.jsonl)]
tables = {t: fetch(t) for t in TABLES.values()}
n = len(records)

# Identity: one host and run, seq 1..N over all tables, each once.
allrows = [r for rows in tables.values() for r in rows]
seqs = sorted(r["seq"] for r in allrows)
check(len(records) > 0 and seqs == list(range(1, n + 1)),
      f"seq is 1..{n} without gaps or repeats over all tables ({len(seqs)} rows)")
ids = {(r["host"], r["run"]) for r in allrows}
check(len(ids) == 1 and list(ids)[0][0] != "",
      f"one host and run in every row ({sorted(ids)[:2]})")

# Per table: counts, sums, ids and names as multisets.
by_type = collections.defaultdict(list)
for r in records:
    by_type[r["type"]].append(r)
for typ, table in TABLES.items():
    rows, recs = tables[table], by_type.get(typ, [])
    check(len(rows) == len(recs), f"{table}: {len(rows)} rows, {len(recs)} JSON records")
    check(collections.Counter(r["flow_id"] for r in rows) ==
          collections.Counter(r["flow_id"] for r in recs),
          f"{table}: the same flow_ids ({len(set(r['flow_id'] for r in recs))} distinct)")
for col, key in (("bytes_fwd", "bytes_fwd"), ("bytes_rev", "bytes_rev"),
                 ("pkts_fwd", "pkts_fwd"), ("pkts_rev", "pkts_rev")):
    got = sum(r[col] for r in tables["flows"])
    want = sum(r[key] for r in by_type["flow"])
    check(got == want, f"flows: sum({col}) {got}, JSON {want}")
for table, typ, col, key in (("dns", "dns", "qname", "qname"), ("tls", "tls", "sni", "sni"),
                             ("quic", "quic", "sni", "sni"),
                             ("http", "http", "http_host", "host"),
                             ("flows", "flow", "sni", "sni"),
                             ("flows", "flow", "http_host", "host"),
                             ("ssh", "ssh", "server_software", None)):
    got = collections.Counter(r[col] for r in tables[table])
    if key:
        want = collections.Counter(r.get(key) for r in by_type.get(typ, []))
    else:
        want = collections.Counter((r["server"] or {}).get("software")
                                   for r in by_type.get(typ, []))
    if tables[table] or by_type.get(typ):
        check(got == want, f"{table}: {col} equal as multisets "
                           f"({sum(v for k, v in want.items() if k is not None)} non-null)")

# Every column of every row against its JSON line (row seq k: line k).
byseq = {r["seq"]: (t, r) for t, rows in tables.items() for r in rows}
bad = []
for i, rec in enumerate(records, 1):
    t, row = byseq.get(i, (None, None))
    if t != TABLES[rec["type"]]:
        bad.append(f"seq {i}: in table {t}, a {rec['type']} record")
        continue
    want = expected_row(rec)
    for col, v in want.items():
        if col not in row:
            bad.append(f"seq {i}: JSON field {col} has no column in {t}")
        elif not same(col, v, row[col]):
            bad.append(f"seq {i}: {t}.{col} = {row[col]!r}, JSON {v!r}")
    for col, v in row.items():
        if col in want or col in ("host", "run", "seq"):
            continue
        if not (v is None or (col == "shed" and v in (0, False))):
            bad.append(f"seq {i}: {t}.{col} = {v!r} without a JSON field")
check(not bad, f"every column of the {n} rows equals its JSON field "
               f"({len(bad)} differences{': ' + '; '.join(bad[:5]) if bad else ''})")

# Indexes: the identity (unique) and the promised ones.
if a.sqlite:
    db = sqlite3.connect(a.sqlite)
    idx = []
    for table in TABLES.values():
        for _, name, unique, *_ in db.execute(f"PRAGMA index_list({table})"):
            cols = [c[2] for c in db.execute(f"PRAGMA index_info({name})")]
            idx.append((table, tuple(cols), bool(unique)))
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    db.close()
    check(mode == "wal", f"journal_mode is {mode}")
else:
    idx = []
    for l in psql("SELECT tablename || '|' || indexdef FROM pg_indexes "
                  "WHERE schemaname = current_schema()"):
        table, d = l.split("|", 1)
        cols = tuple(c.strip() for c in d[d.rindex("(") + 1:d.rindex(")")].split(","))
        idx.append((table, cols, d.startswith("CREATE UNIQUE")))
for table in TABLES.values():
    check((table, ("host", "run", "seq"), True) in idx,
          f"{table}: unique index on (host, run, seq)")
for table, col in INDEXES:
    check(any(t == table and c[0] == col for t, c, _ in idx), f"{table}: index on {col}")

print(f"{label}{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PYEOF
}

if [ "${1:-}" = --checker ]; then
	print_checker
	exit 0
fi

TEST_NAME=sink_sqlite
# No namespaces here: names that never exist, so the shared cleanup skips them.
NSA=xdpi-none-a$$
NSB=xdpi-none-b$$
. tests/integration/lib/netns.sh
trap_cleanup

BUILD=${BUILD:-build}
XDPI=$BUILD/xdpi
PCAPS=../shared/pcap
# flow+dns+http+tls, flow+tls+quic, flow+dns+http+tls, ssh, many quic, many http+dns
CAPTURES="ndpi-1kxun.pcap cesnet-tls.pcap ndpi-android.pcap zeek-tcp-ssh-dups.pcap
	ndpi-quic_interop_V.pcapng bench/ppp-example.pcap"

[ -x "$XDPI" ] || die "setup: $XDPI not built (make BUILD=$BUILD)"
command -v python3 >/dev/null || die "setup: python3 missing"
TMP=$(mktemp -d /tmp/xdpi-sink-sqlite.XXXXXX)
print_checker >"$TMP/check.py"

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
	timeout 60 python3 "$TMP/check.py" --sqlite "$db" --jsonl "$TMP/$name.jsonl" \
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
