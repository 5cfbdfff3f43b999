#!/usr/bin/env bash
# NATS with a user and password: a one-node JetStream server started here on
# a loopback port requires them. A producer and `xdpi collect` given them in
# the URL deliver every record; a wrong password is refused, the records are
# reported undelivered (exit 1), and no message ever shows a password.
set -u
# Loopback traffic stays in a namespace of the test's own.
source "$(dirname "$0")/lib/ownns.sh"
cd "$(dirname "$0")/../.."
TEST_NAME=sink_nats_auth
XDPI=${XDPI_BIN:-$PWD/build/xdpi}
CAP=../shared/pcap/ndpi-1kxun.pcap
source tests/integration/lib/netns.sh

trap_cleanup
need_tools /usr/sbin/nats-server sqlite3 python3
[ -x "$XDPI" ] || die "setup: $XDPI missing (make)"
TMP=$(mktemp -d /tmp/xdpi-nats-auth.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PASSWORD=Sesame-$$-x
bg_start nats /usr/sbin/nats-server -a 127.0.0.1 -p "$PORT" -js -sd "$TMP/js" \
	--user xdpi --pass "$PASSWORD"
deadline=$((SECONDS + 15))
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; do
	[ $SECONDS -ge $deadline ] && die "setup: nats-server did not listen: $(tail -n 3 "$TMP/nats.err")"
	sleep 0.1
done

no_password() { # FILE WHAT
	if grep -q -- "$PASSWORD\|wrong-$$" "$1"; then
		fail "$2: a password shows on stderr: $(grep -m1 -- "$PASSWORD\|wrong-$$" "$1")"
	else
		pass "$2: no password on stderr"
	fi
}

"$XDPI" read "$CAP" -q --out "nats://xdpi:$PASSWORD@127.0.0.1:$PORT" --out "jsonl:$TMP/p.jsonl" \
	2>"$TMP/p.err"
rc=$?
produced=$(wc -l <"$TMP/p.jsonl")
[ "$rc" = 0 ] && pass "producer with user and password: exit 0, $produced records" ||
	fail "producer: exit $rc: $(tail -n 2 "$TMP/p.err")"
no_password "$TMP/p.err" producer

timeout 60 "$XDPI" collect --from "nats://xdpi:$PASSWORD@127.0.0.1:$PORT" \
	--out "sqlite:$TMP/c.db" --idle-exit 2s 2>"$TMP/c.err"
rc=$?
stored=$(sqlite3 "$TMP/c.db" "select (select count(*) from flows) + (select count(*) from dns) +
	(select count(*) from tls) + (select count(*) from http) + (select count(*) from quic) +
	(select count(*) from ssh)" 2>&1)
[ "$rc" = 0 ] && [ "$stored" = "$produced" ] &&
	pass "collector with user and password: $stored rows = $produced records" ||
	fail "collector: exit $rc, $stored rows for $produced records: $(tail -n 2 "$TMP/c.err")"
grep -q "through nats://127.0.0.1:$PORT\|through nats://\*\*\*@127.0.0.1:$PORT" "$TMP/c.err" &&
	pass "collector names the server: $(grep -m1 -o 'through [^ ]*' "$TMP/c.err")" ||
	fail "collector: no 'consuming ... through' line: $(head -n 2 "$TMP/c.err")"
no_password "$TMP/c.err" collector

timeout 60 "$XDPI" read "$CAP" -q --out "nats://xdpi:wrong-$$@127.0.0.1:$PORT" --out-wait 1s \
	2>"$TMP/w.err"
rc=$?
if [ "$rc" = 1 ] && grep -q "records not delivered" "$TMP/w.err" && grep -qi "author" "$TMP/w.err"; then
	pass "wrong password: exit 1, '$(grep -m1 -i 'author' "$TMP/w.err" | cut -c1-160)'"
else
	fail "wrong password: exit $rc: $(head -n 3 "$TMP/w.err")"
fi
no_password "$TMP/w.err" "wrong password"

out=$("$XDPI" read "$CAP" -q --out "nats://xdpi:$PASSWORD@" 2>&1)
rc=$?
[ "$rc" != 0 ] && [[ $out == *"***@"* ]] && [[ $out != *"$PASSWORD"* ]] &&
	pass "bad URL with a password: exit $rc, '$out'" ||
	fail "bad URL with a password: exit $rc, '$out'"
