#!/usr/bin/env bash
# NATS JetStream end to end: a 3-node JetStream cluster on loopback, two
# producers (`xdpi read CAPTURE --out nats://all3 --out jsonl:...`, each a
# series of captures: one process, one run id, per capture) and three
# collectors (`xdpi collect`, one durable pull consumer, into one SQLite
# file). In the middle of the run a node of the cluster is SIGKILLed, then
# one of the collectors. The two others stop on SIGTERM once the database
# caught up; a last one of the same durable must then exit on --idle-exit
# adding nothing. Every record the producers wrote to their JSONL files must
# be in the database exactly once: the same count per type, the same (type,
# flow_id) multiset, no (host, run, seq) twice, seq 1..N without a gap in
# each run, one run per producer process with its number of records; the
# stream must hold each record once (the producers' retries were dropped by
# the message ids) and the consumer nothing pending.
#
# Needs nats-server (2.9) and no root. Prints one PASS/FAIL line per check
# and ends with `sink_nats: N passed, N failed`.
# NATS_KEEP_TMP=1 keeps the work directory; XDPI_BIN=PATH tests another build.
set -u
# Loopback traffic stays in a namespace of the test's own.
source "$(dirname "$0")/lib/ownns.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
XDPI=${XDPI_BIN:-$ROOT/build/xdpi}
NATS_SERVER=${NATS_SERVER:-/usr/sbin/nats-server}
PCAP=$ROOT/../shared/pcap
# Each producer reads these in turn, ROUNDS times: long enough that the
# node dies while they publish.
P1_CAPS=(ndpi-1kxun.pcap bench/ppp-tls2.pcap ndpi-quic_interop_V.pcapng zeek-tcp-ssh-dups.pcap)
P2_CAPS=(bench/ppp-many-protocols.pcap bench/ppp-example.pcap ndpi-android.pcap bench/zeek-echo-connections.pcap)
ROUNDS=3
PAUSE=0.15          # between two runs of a producer, so that the series lasts
KILL_AFTER=3        # P1's captures done when the node is killed
IDLE_EXIT=2s        # the last collector exits once the consumer is empty this long

. "$(dirname "$0")/lib/netns.sh"
TEST_NAME=sink_nats
KEEP_TMP=${NATS_KEEP_TMP:-0}
NODE_PIDS=()

# The producer loops run xdpi as children: stop them first, then the children.
kill_loops() {
	local pid kids
	for pid in "${BG_PIDS[@]}"; do
		kill -STOP "$pid" 2>/dev/null || continue
		kids=$(pgrep -P "$pid")
		kill -KILL "$pid" $kids 2>/dev/null
	done
}
EXTRA_CLEANUP=kill_loops
trap_cleanup

[ -x "$NATS_SERVER" ] || die "setup: $NATS_SERVER missing (bash scripts/deps.sh installs nats-server)"
[ -x "$XDPI" ] || die "setup: $XDPI missing (make)"
for c in "${P1_CAPS[@]}" "${P2_CAPS[@]}"; do
	[ -r "$PCAP/$c" ] || die "setup: capture $PCAP/$c missing"
done
TMP=$(mktemp -d /tmp/xdpi-nats.XXXXXX) || die "setup: mktemp"

# ---- the cluster ----------------------------------------------------------

# Nine free loopback ports: client, cluster and monitoring port of each node.
read -r -a PORTS < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(9)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
')
[ "${#PORTS[@]}" -eq 9 ] || die "setup: no free ports"
client_port() { echo "${PORTS[$(($1 - 1))]}"; }
route_port() { echo "${PORTS[$(($1 + 2))]}"; }
mon_port() { echo "${PORTS[$(($1 + 5))]}"; }
SERVERS=127.0.0.1:$(client_port 1),127.0.0.1:$(client_port 2),127.0.0.1:$(client_port 3)

for i in 1 2 3; do
	routes=
	for j in 1 2 3; do
		[ "$j" = "$i" ] || routes+="nats-route://127.0.0.1:$(route_port "$j"),"
	done
	mkdir -p "$TMP/n$i"
	cat >"$TMP/n$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:$(client_port "$i")
http: 127.0.0.1:$(mon_port "$i")
jetstream {
  store_dir: "$TMP/n$i"
  max_memory_store: 64MB
  max_file_store: 1GB
}
cluster {
  name: xdpi-test
  listen: 127.0.0.1:$(route_port "$i")
  routes: [ ${routes%,} ]
}
EOF
	bg_start "n$i" "$NATS_SERVER" -c "$TMP/n$i.conf"
	NODE_PIDS[$i]=$BG
done

mon() { # NODE PATH: JSON from the node's monitoring port (empty when it does not answer)
	curl -s -m 2 "http://127.0.0.1:$(mon_port "$1")/$2" 2>/dev/null
}
# Prints the Python expression EXPR over the JSON on stdin (d); nothing when
# the JSON or the expression fails.
json_get() { # EXPR
	python3 -c '
import json, sys
try:
    v = eval(sys.argv[1], {"d": json.load(sys.stdin)})
except Exception:
    v = None
if v is not None:
    print(v)' "$1"
}
CONSUMER_LEADER='next(c["cluster"]["leader"] for a in d["account_details"] for s in a["stream_detail"] if s["name"] == "XDPI" for c in s["consumer_detail"] if c["name"] == "xdpi-collect")'


# JetStream needs a meta leader before a stream can be made.
leader=
deadline=$((SECONDS + 30))
while [ -z "$leader" ] && [ "$SECONDS" -lt "$deadline" ]; do
	for i in 1 2 3; do
		leader=$(mon "$i" jsz | json_get 'd["meta_cluster"]["leader"]')
		[ -n "$leader" ] && break
	done
	for i in 1 2 3; do
		[ -e "/proc/${NODE_PIDS[$i]}" ] || die "cluster: node n$i exited: $(tail -n 2 "$TMP/n$i.err")"
	done
	[ -z "$leader" ] && sleep 0.2
done
[ -n "$leader" ] || die "cluster: no JetStream meta leader within 30 s (logs in $TMP/n*.err)"
pass "cluster: 3 nodes up, JetStream meta leader $leader"

# ---- producers and collectors -----------------------------------------------

# One producer: its captures ROUNDS times, one process each; NAME-K.jsonl is
# what run K wrote, NAME.rc a line per finished run with its exit status.
producer() { # NAME CAPTURE...
	local name=$1 k=0 r c rc
	shift
	for r in $(seq "$ROUNDS"); do
		for c in "$@"; do
			k=$((k + 1))
			"$XDPI" read "$PCAP/$c" -q --out "nats://$SERVERS" \
				--out "jsonl:$TMP/$name-$k.jsonl" --out-wait 60s \
				2>>"$TMP/$name.log"
			rc=$?
			echo "$k $c $rc" >>"$TMP/$name.rc"
			sleep "$PAUSE"
		done
	done
}

# c1 and c2 run to the end; ck is SIGKILLed in the middle.
collectors=()
for name in c1 c2 ck; do
	bg_start "$name" "$XDPI" collect --from "nats://$SERVERS" --out "sqlite:$TMP/c.db" \
		--batch 50 --ack-wait 5s
	collectors+=("$BG")
done
CK=$BG
# All bound to the consumer before anything is published: all take a share.
n=0
for name in c1 c2 ck; do
	wait_line "$TMP/$name.err" "consuming stream" 30 "${collectors[$n]}" ||
		die "collector $name not consuming within 30 s: $(tail -n 3 "$TMP/$name.err" | tr '\n' ' ')"
	n=$((n + 1))
done
unset 'collectors[2]'
pass "collectors c1, c2, ck consuming: $(grep -h "consuming" "$TMP/c1.err" | cut -c 15-)"
bg_start p1 producer p1 "${P1_CAPS[@]}"
P1=$BG
bg_start p2 producer p2 "${P2_CAPS[@]}"
P2=$BG

# ---- a node dies in the middle --------------------------------------------

deadline=$((SECONDS + 60))
runs_done() { cat "$TMP/$1.rc" 2>/dev/null | wc -l; }
while [ "$(runs_done p1)" -lt "$KILL_AFTER" ] &&
	[ "$SECONDS" -lt "$deadline" ]; do
	sleep 0.02
done
# The node most producers are connected to right now; else the stream's
# leader (its loss moves the stream and the consumer). One Python for the
# three nodes: the producers do not wait.
read -r victim why < <(python3 - "$(mon_port 1)" "$(mon_port 2)" "$(mon_port 3)" <<'PY'
import json, sys, urllib.request

def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=2) as r:
            return json.load(r)
    except Exception:
        return {}

best, victim = 0, None
for i, port in enumerate(sys.argv[1:], 1):
    conns = get(port, "connz").get("connections") or []
    n = sum(1 for c in conns if (c.get("name") or "").startswith("xdpi-producer"))
    if n > best:
        best, victim = n, i
if victim:
    print(victim, f"{best} producer connections")
else:
    d = get(sys.argv[1], "jsz?accounts=true&streams=true")
    leaders = [s["cluster"]["leader"] for a in d.get("account_details", [])
               for s in a.get("stream_detail", []) if s.get("name") == "XDPI"]
    print(leaders[0][1:] if leaders else 1, "stream leader" if leaders else "no leader known")
PY
)
[ -n "$victim" ] || { victim=1; why="no answer from the nodes"; }
kill -KILL "${NODE_PIDS[$victim]}" 2>/dev/null
wait_exit "${NODE_PIDS[$victim]}" 5
alive=()
for i in 1 2 3; do
	[ "$i" = "$victim" ] || alive+=("$i")
done
done_then=$(runs_done p1)
total_runs=$((ROUNDS * ${#P1_CAPS[@]}))
if [ "$done_then" -lt "$total_runs" ]; then
	pass "node n$victim ($why) SIGKILLed after producer 1 finished $done_then of $total_runs captures"
else
	fail "node n$victim killed only after producer 1 was done ($done_then runs): make the producers last longer"
fi

# A collector dies too, with whatever it holds: what it had not
# acknowledged comes again to the others after the ack wait.
until_run=$((done_then + 2 < total_runs ? done_then + 2 : total_runs))
while [ "$(runs_done p1)" -lt "$until_run" ] && [ "$SECONDS" -lt "$deadline" ]; do
	sleep 0.02
done
kill -KILL "$CK" 2>/dev/null
wait_exit "$CK" 5
pass "collector ck SIGKILLed after producer 1 finished $(runs_done p1) of $total_runs captures"

# ---- the end of the run ---------------------------------------------------

for p in "$P1" "$P2"; do
	wait_exit "$p" 120 || fail "a producer loop did not finish within 120 s"
done
for name in p1 p2; do
	runs=$(wc -l <"$TMP/$name.rc" 2>/dev/null || echo 0)
	bad=$(awk '$3 != 0' "$TMP/$name.rc" 2>/dev/null)
	if [ "$runs" -eq "$total_runs" ] && [ -z "$bad" ]; then
		pass "producer $name: $runs runs of xdpi read --out nats://... exited 0"
	else
		fail "producer $name: $runs of $total_runs runs, failed: ${bad:-none} (see $TMP/$name.log)"
	fi
done
retries=$(cat "$TMP/p1.log" "$TMP/p2.log" 2>/dev/null | grep -c "failed\|not reachable")
echo "info: the producers' outputs failed $retries times (retried; ids drop repeats)"

# ---- the collectors drain the stream ----------------------------------------

# They run without --idle-exit: after a node's loss the consumer may have no
# leader for ~10 s and the producers wait out their backoff, so "idle" would
# not mean "done". Once the database holds as many rows as the producers
# wrote (or 60 s passed), SIGTERM stops them.
expected=$(cat "$TMP"/p[12]-*.jsonl | wc -l)
db_rows() {
	sqlite3 "$TMP/c.db" "SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM dns) +
		(SELECT count(*) FROM tls) + (SELECT count(*) FROM http) +
		(SELECT count(*) FROM quic) + (SELECT count(*) FROM ssh)" 2>/dev/null
}
deadline=$((SECONDS + 60))
rows=$(db_rows)
while [ "${rows:-0}" -lt "$expected" ] && [ "$SECONDS" -lt "$deadline" ]; do
	sleep 0.2
	rows=$(db_rows)
done
echo "info: the database holds ${rows:-0} rows for $expected records produced;" \
	"collectors reconnected $(cat "$TMP/c1.err" "$TMP/c2.err" | grep -c reconnected) times"
n=0
for c in "${collectors[@]}"; do
	n=$((n + 1))
	kill -TERM "$c" 2>/dev/null
	if wait_exit "$c" 15 && [ "$WAIT_RC" -eq 0 ] && grep -q "records stored" "$TMP/c$n.err"; then
		pass "collector c$n stopped by SIGTERM, exit 0: $(grep "records stored" "$TMP/c$n.err")"
	else
		fail "collector c$n: exit $WAIT_RC ($(tail -n 3 "$TMP/c$n.err" | tr '\n' ' '))"
	fi
done

# A collector of the same durable started now finds nothing to do (at most
# what was delivered but not acknowledged, again): it exits on --idle-exit
# and adds no row.
bg_start c3 "$XDPI" collect --from "nats://$SERVERS" --out "sqlite:$TMP/c.db" \
	--idle-exit "$IDLE_EXIT" --batch 50
if wait_exit "$BG" 60 && [ "$WAIT_RC" -eq 0 ]; then
	pass "collector c3 (same durable, --idle-exit $IDLE_EXIT) exited 0: $(tail -n 1 "$TMP/c3.err")"
else
	fail "collector c3: exit $WAIT_RC ($(tail -n 3 "$TMP/c3.err" | tr '\n' ' '))"
fi
rows_after=$(db_rows)
if [ "${rows_after:-0}" = "${rows:-0}" ]; then
	pass "collector c3 added no row (${rows_after:-0})"
else
	fail "collector c3 changed the row count: ${rows:-0} -> ${rows_after:-0}"
fi

# ---- what reached the database ----------------------------------------------

# The state as the consumer's leader sees it (a follower's view may lag, and
# may still name the dead node).
STREAM_JSON=$TMP/stream.json
Q="?accounts=true&streams=true&consumers=true&config=true"
for i in "${alive[@]}"; do
	mon "$i" "jsz$Q" >"$STREAM_JSON"
	cl=$(json_get "$CONSUMER_LEADER" <"$STREAM_JSON")
	[ "$cl" = "n$i" ] && break
done

python3 - "$TMP" "$STREAM_JSON" "$TMP/c1.err" "$TMP/c2.err" >"$TMP/check.out" 2>&1 <<'PY'
import collections, glob, json, os, re, sqlite3, sys

tmp, stream_json, c1err, c2err = sys.argv[1:5]
TABLES = {"flow": "flows", "dns": "dns", "tls": "tls", "http": "http", "quic": "quic", "ssh": "ssh"}

def check(ok, text):
    print(("PASS " if ok else "FAIL ") + text)

# What the producers wrote: one file per run.
expected = collections.Counter()          # (type, flow_id)
per_type = collections.Counter()
run_sizes = collections.Counter()
files = sorted(glob.glob(os.path.join(tmp, "p[12]-*.jsonl")))
for f in files:
    n = 0
    with open(f) as fh:
        for line in fh:
            r = json.loads(line)
            expected[(r["type"], r["flow_id"])] += 1
            per_type[r["type"]] += 1
            n += 1
    run_sizes[n] += 1
total = sum(per_type.values())
check(total > 0 and len(files) > 0, f"producers wrote {total} records in {len(files)} runs "
      f"({', '.join(f'{t} {per_type[t]}' for t in sorted(per_type))})")

db = sqlite3.connect(os.path.join(tmp, "c.db"))
got = collections.Counter()
got_type = collections.Counter()
ids = collections.Counter()               # (host, run, seq) over all tables
runs = collections.defaultdict(list)
for t, table in TABLES.items():
    for host, run, seq, flow_id in db.execute(f"SELECT host, run, seq, flow_id FROM {table}"):
        got[(t, flow_id)] += 1
        got_type[t] += 1
        ids[(host, run, seq)] += 1
        runs[(host, run)].append(seq)
db_total = sum(got_type.values())

for t in sorted(set(per_type) | set(got_type)):
    check(per_type[t] == got_type[t], f"type {t}: {got_type[t]} rows in the database, "
          f"{per_type[t]} records produced")
check(got == expected, f"(type, flow_id) multiset of the database equals the producers' "
      f"({db_total} vs {total}; missing {sum((expected - got).values())}, "
      f"extra {sum((got - expected).values())})")
dups = sum(1 for v in ids.values() if v > 1)
check(dups == 0 and len(ids) == db_total, f"no (host, run, seq) twice ({len(ids)} distinct "
      f"of {db_total} rows)")
gaps = [k for k, s in runs.items() if sorted(s) != list(range(1, len(s) + 1))]
check(not gaps, f"seq is 1..N without a gap in each of the {len(runs)} runs"
      + (f"; not in {gaps[:3]}" if gaps else ""))
sizes = collections.Counter(len(s) for s in runs.values())
check(len(runs) == len(files) and sizes == run_sizes,
      f"one run per producer process with its number of records ({len(runs)} runs, "
      f"{len(files)} processes)")

# The stream: each record once (retried batches dropped by Nats-Msg-Id),
# the consumer with nothing left.
try:
    js = json.load(open(stream_json))
    streams = [s for a in js.get("account_details", []) for s in a.get("stream_detail", [])
               if s.get("name") == "XDPI"]
    st = streams[0]
    msgs = st["state"]["messages"]
    check(msgs == total, f"stream XDPI holds {msgs} messages for {total} records "
          f"(replicas {st['config'].get('num_replicas')}, subjects {st['config'].get('subjects')})")
    cons = [c for c in st.get("consumer_detail", []) if c.get("name") == "xdpi-collect"]
    c = cons[0]
    check(c["num_pending"] == 0 and c["num_ack_pending"] == 0,
          f"consumer xdpi-collect: nothing pending ({c['num_pending']}) or unacknowledged "
          f"({c['num_ack_pending']}), {c['num_redelivered']} redelivered")
except (OSError, ValueError, KeyError, IndexError) as e:
    check(False, f"stream/consumer state from the monitoring port: {e!r}")

# The collectors of the durable shared the records.
stored, redelivered = [], 0
for f in (c1err, c2err):
    m = re.search(r"(\d+) records stored in (\d+) batches; (\d+) redeliveries", open(f).read())
    stored.append(int(m.group(1)) if m else -1)
    redelivered += int(m.group(3)) if m else 0
check(all(s > 0 for s in stored), f"c1 and c2 both stored records ({stored[0]} and "
      f"{stored[1]} of {total}, the rest by ck; {redelivered} redeliveries seen)")
PY
tally "$TMP/check.out"
