#!/usr/bin/env bash
# Bad input gets a one-line, clear error and a non-zero exit: bad commands,
# flags and values, unreadable or corrupt captures, missing privileges.
set -u
cd "$(dirname "$0")/../.."
XDPI=${XDPI:-build/xdpi}
PCAPS=../shared/pcap
TMP=$(mktemp -d /tmp/xdpi-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0

# expect EXIT_CODE PATTERN -- command...: exit code and a stderr line matching PATTERN.
expect() {
	local want_rc=$1 pattern=$2 rc
	shift 3
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -eq "$want_rc" ] && grep -qE "$pattern" "$TMP/err"; then
		pass=$((pass + 1))
		echo "PASS [$rc] $*"
	else
		fail=$((fail + 1))
		echo "FAIL $*: exit $rc (want $want_rc), stderr:"; sed 's/^/    /' "$TMP/err"
	fi
}

expect 2 "unknown command 'frobnicate'" -- "$XDPI" frobnicate
expect 2 "unknown option '--bogus'" -- "$XDPI" read "$PCAPS/arkime-twovlan.pcap" --bogus
expect 2 "needs a value" -- "$XDPI" read "$PCAPS/arkime-twovlan.pcap" --idle-timeout
expect 2 "invalid value 'soon' for --idle-timeout" -- "$XDPI" read x.pcap --idle-timeout soon
expect 2 "invalid value '9999' for --snippet-bytes" -- "$XDPI" read x.pcap --snippet-bytes 9999
expect 2 "invalid value 'on' for --snippets: expected off" -- "$XDPI" read x.pcap --snippets on
expect 2 "invalid value '3000' for --ringbuf-size" -- "$XDPI" run -i xdpi-none0 --ringbuf-size 3000
expect 2 "invalid value 'fast' for --xdp-mode" -- "$XDPI" run -i xdpi-none0 --xdp-mode fast
expect 2 "invalid value 'pipe' for --transport: expected ringbuf, perfbuf or none" -- \
	"$XDPI" run -i xdpi-none0 --transport pipe
expect 2 "invalid value '3' for --sampling: expected a power of two" -- \
	"$XDPI" run -i xdpi-none0 --sampling 3
expect 2 "invalid value '1k' for --worker-ring" -- "$XDPI" run -i xdpi-none0 --worker-ring 1k
expect 2 "invalid value '0' for --ingest-threads" -- "$XDPI" run -i xdpi-none0 --ingest-threads 0
expect 2 "does not apply" -- "$XDPI" read x.pcap --transport perfbuf
expect 2 "does not apply" -- "$XDPI" read x.pcap --busy-poll
printf 'drop 10.0.0.0/8\nblock 192.0.2.0/24\n' >"$TMP/rules.txt"
expect 2 "rules.txt:2: unknown action 'block'" -- "$XDPI" run -i xdpi-none0 --rules "$TMP/rules.txt"
printf 'drop 10.0.0.1/8\n' >"$TMP/rules.txt"
expect 2 "rules.txt:1: '10.0.0.1/8' has host bits set" -- "$XDPI" run -i xdpi-none0 --rules "$TMP/rules.txt"
expect 2 "cannot open" -- "$XDPI" run -i xdpi-none0 --rules "$TMP/none.txt"
expect 2 "does not apply" -- "$XDPI" read x.pcap --ingress tc
expect 2 "invalid value '0' for --packet-sampling" -- "$XDPI" run -i xdpi-none0 --packet-sampling 0
expect 2 "does not apply" -- "$XDPI" read x.pcap --flow-sampling 4
printf 'sample 1 udp port 53\n' >"$TMP/rules.txt"
expect 2 "rules.txt:1: 'sample' takes a rate N from 2 to 65535" -- \
	"$XDPI" run -i xdpi-none0 --rules "$TMP/rules.txt"
printf 'drop icmp port 7\n' >"$TMP/rules.txt"
expect 2 "rules.txt:1: ports go with tcp, udp or sctp" -- "$XDPI" run -i xdpi-none0 --rules "$TMP/rules.txt"
expect 2 "unknown subcommand 'show'" -- "$XDPI" rules show -i xdpi-none0
expect 2 "which interface" -- "$XDPI" rules list
expect 2 "which rule" -- "$XDPI" rules add -i xdpi-none0
expect 2 "unknown protocol 'bogus'" -- "$XDPI" rules add -i xdpi-none0 drop proto bogus
expect 2 "bad port range '9-2000'" -- "$XDPI" rules add -i xdpi-none0 drop port 9-2000
expect 1 "is .xdpi run. running on this interface" -- "$XDPI" rules list -i xdpi-none0
expect 2 "invalid value '70000' for --flows" -- "$XDPI" sample -i xdpi-none0 --flows 70000
expect 2 "json applies to" -- "$XDPI" sample -i xdpi-none0 --json
expect 2 "invalid value 'a,b' for --cpus" -- "$XDPI" run -i xdpi-none0 --cpus a,b
expect 2 "invalid value '0' for --workers" -- "$XDPI" read x.pcap --workers 0
expect 2 "not to --kernel" -- "$XDPI" read x.pcap --workers 2 --kernel
# --filter: libpcap's own message, for the expression and, when reading, for
# the capture's link type.
expect 2 "^xdpi: --filter: can't parse filter expression: syntax error" -- \
	"$XDPI" read x.pcap --filter 'tcp prot 443'
expect 2 "^xdpi: --filter: .*syntax error" -- "$XDPI" run -i xdpi-none0 --filter 'host and'
expect 2 "^xdpi: --filter: ethernet addresses supported only on .*link type NULL" -- \
	"$XDPI" read "$PCAPS/tcpdump-quic_handshake.pcap" --filter 'ether host 1:2:3:4:5:6'
expect 2 "which interface" -- "$XDPI" run
expect 2 "which capture file" -- "$XDPI" read
expect 1 "cannot open .*No such file" -- "$XDPI" read "$TMP/missing.pcap"
expect 1 "is a directory" -- "$XDPI" read "$TMP"
printf 'this is not a capture\n' >"$TMP/text.pcap"
expect 1 "not a readable pcap/pcapng file" -- "$XDPI" read "$TMP/text.pcap"
# A capture cut in the middle of a record: the frames before it still count.
head -c 3000 "$PCAPS/ndpi-1kxun.pcap" >"$TMP/cut.pcap"
expect 1 "corrupt" -- "$XDPI" read "$TMP/cut.pcap"
if grep -q '"type":"flow"' "$TMP/out"; then
	pass=$((pass + 1)); echo "PASS corrupt capture: records of the frames before the damage"
else
	fail=$((fail + 1)); echo "FAIL corrupt capture: no records for the frames before the damage"
fi
expect 1 "unknown interface 'nosuchif0'" -- "$XDPI" run -i nosuchif0
expect 1 "no running 'xdpi run -i nosuchif0'" -- "$XDPI" stats -i nosuchif0 --state-dir "$TMP"
# Without privileges: a clear message, not a libbpf error.
if command -v setpriv >/dev/null; then
	expect 1 "needs root" -- setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all --bounding-set=-all "$XDPI" run -i nosuchif0
	expect 1 "needs root" -- setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all --bounding-set=-all "$XDPI" read "$PCAPS/arkime-twovlan.pcap" --kernel
	# Offline reading needs no privileges at all.
	cp "$PCAPS/arkime-twovlan.pcap" "$TMP/" && chmod 644 "$TMP/arkime-twovlan.pcap" && chmod 755 "$TMP"
	if setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		"$XDPI" read "$TMP/arkime-twovlan.pcap" -q | grep -q '"pkts_fwd":3'; then
		pass=$((pass + 1)); echo "PASS read works without privileges"
	else
		fail=$((fail + 1)); echo "FAIL read without privileges"
	fi
fi
# Outputs: a bad URI stops before anything runs; an output that stays down
# is reported with its count of undelivered records (exit 1), and messages
# never show a password.
expect 2 "unknown output; expected one of jsonl:PATH" -- "$XDPI" read "$PCAPS/arkime-twovlan.pcap" --out bogus:x
expect 2 "unknown output" -- "$XDPI" read "$PCAPS/arkime-twovlan.pcap" --out flows.jsonl
expect 2 "invalid value 'lots' for --spool-max" -- "$XDPI" read x.pcap --spool-max lots
expect 1 "cannot write $TMP/no/such/f.jsonl" -- "$XDPI" read "$PCAPS/arkime-twovlan.pcap" --out "jsonl:$TMP/no/such/f.jsonl"
expect 1 "records not delivered \\(.* lost at exit" -- "$XDPI" read "$PCAPS/arkime-twovlan.pcap" -q \
	--out "postgres:host=$TMP/none password=hunter2" --out-wait 300ms
if grep -q hunter2 "$TMP/err"; then
	fail=$((fail + 1)); echo "FAIL a password shows in messages: $(head -n 1 "$TMP/err")"
else
	pass=$((pass + 1)); echo "PASS the password is hidden: $(head -n 1 "$TMP/err" | cut -c1-90)"
fi
expect 1 "bad server 'host' \\(no :PORT\\): expected nats://\\[USER" -- "$XDPI" read "$PCAPS/arkime-twovlan.pcap" --out nats://host
expect 2 "are required; see xdpi collect --help" -- "$XDPI" collect
expect 2 "collect: --from: nats: bad server 'h'" -- "$XDPI" collect --from nats://h --out "sqlite:$TMP/c.db"
# --help explains each command and exits 0.
for c in run read stats rules sample collect; do
	if "$XDPI" "$c" --help | grep -q "usage: xdpi $c"; then
		pass=$((pass + 1)); echo "PASS $c --help"
	else
		fail=$((fail + 1)); echo "FAIL $c --help"
	fi
done

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
