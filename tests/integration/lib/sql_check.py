#!/usr/bin/env python3
"""Row checker of the SQL outputs (sqlite:, postgres:).

Compares the tables xdpi wrote -- of a SQLite file (--sqlite PATH) or of a
PostgreSQL database (--psql CONNINFO, read through psql) -- with the JSON
Lines of the same run (--jsonl FILE, where line k is the record of seq k):
seq 1..N over all tables and one (host, run); per table the row count, the
flow ids, the byte and packet sums and the names (qname, sni, host, SSH
software) as multisets; every column of every row against its JSON field;
the unique (host, run, seq) index and the indexes the schema promises; WAL
mode for SQLite.

Prints a "PASS ..." or "FAIL ..." line per check (prefixed by --label) and
"N passed, M failed"; exits 1 if a check failed.

    python3 tests/integration/lib/sql_check.py --jsonl RUN.jsonl --sqlite RUN.db [--label L]
    python3 tests/integration/lib/sql_check.py --jsonl RUN.jsonl --psql 'host=... dbname=...'
"""
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
db_arg = ap.add_mutually_exclusive_group(required=True)
db_arg.add_argument("--sqlite", metavar="PATH")
db_arg.add_argument("--psql", metavar="CONNINFO")
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
