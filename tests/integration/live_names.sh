#!/usr/bin/env bash
# Server names the kernel finds on its own, live: xdpi on one end of a veth
# pair between two namespaces made here, an HTTP request (Host with a port)
# and a TLS ClientHello (SNI) cross it, with the snippets off, with the
# parsers off, sampled out, with TC ingress and with the parsers on; every
# run's flow records must name both servers, with app_proto http / tls.
# Namespaces go away even when a check fails.
set -u
cd "$(dirname "$0")/../.."
XDPI=${XDPI_BIN:-build/xdpi}
ID=$$
NA=xdna$ID NB=xdnb$ID VA=vna$ID VB=vnb$ID
TMP=$(mktemp -d /tmp/xdpi-live-names.XXXXXX)
pass=0 fail=0

cleanup() {
	[ -n "${XPID:-}" ] && kill "$XPID" 2>/dev/null
	ip netns pids "$NB" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() { # description, python expression over recs (flow records) and stats
	if python3 - "$TMP/out.jsonl" "$TMP/stats.json" "$2" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
flows = [r for r in recs if r['type'] == 'flow' and r['proto'] == 6]
stats = json.load(open(sys.argv[2]))
by_port = lambda p: [r for r in flows if p in (r['src_port'], r['dst_port'])]
sys.exit(0 if eval(sys.argv[3]) else 1)
PY
	then pass=$((pass + 1)); echo "PASS $1"
	else fail=$((fail + 1)); echo "FAIL $1"; cat "$TMP/out.jsonl" "$TMP/err" 2>/dev/null | head -20; fi
}

ip netns add "$NA" && ip netns add "$NB" || exit 1
ip -n "$NA" link add "$VA" type veth peer name "$VB" netns "$NB"
ip -n "$NA" addr add 10.202.0.1/24 dev "$VA"
ip -n "$NB" addr add 10.202.0.2/24 dev "$VB"
for ns in "$NA" "$NB"; do ip -n "$ns" link set lo up; done
ip -n "$NA" link set "$VA" up
ip -n "$NB" link set "$VB" up

# An HTTP server, and a TCP server that takes a ClientHello and closes (the
# name is in the client's first packet; no handshake needs to finish).
timeout 120 ip netns exec "$NB" python3 -m http.server 8080 --bind 10.202.0.2 \
	>/dev/null 2>&1 &
timeout 120 ip netns exec "$NB" python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.202.0.2', 8443)); s.listen(8)
while True:
    c, _ = s.accept(); c.recv(4096); c.close()
" >/dev/null 2>&1 &

run_case() { # name, xdpi options...
	local name=$1
	shift
	rm -f "$TMP/out.jsonl" "$TMP/stats.json" "$TMP/err"
	timeout 30 ip netns exec "$NA" "$XDPI" run -i "$VA" "$@" --duration 3s --idle-timeout 1s \
		--close-grace 200ms -w "$TMP/out.jsonl" --stats-json "$TMP/stats.json" 2>"$TMP/err" &
	XPID=$!
	for _ in $(seq 100); do grep -q watching "$TMP/err" && break; sleep 0.1; done
	ip netns exec "$NA" curl -s -o /dev/null -m 5 -H 'Host: names.xdpi.test:8080' \
		http://10.202.0.2:8080/
	timeout 5 ip netns exec "$NA" openssl s_client -connect 10.202.0.2:8443 \
		-servername tls.names.xdpi.test </dev/null >/dev/null 2>&1
	wait "$XPID"
	XPID=
	check "$name: HTTP flow record has the Host" \
		"any(r.get('host') == 'names.xdpi.test:8080' and r.get('app_proto') == 'http' for r in by_port(8080))"
	check "$name: TLS flow record has the SNI" \
		"any(r.get('sni') == 'tls.names.xdpi.test' and r.get('app_proto') == 'tls' for r in by_port(8443))"
	check "$name: no record carries both names" \
		"not any(r.get('sni') and r.get('host') for r in flows)"
	check "$name: names_extracted counts the two names" "stats['names_extracted'] == 2"
}

run_case "--snippets off" --snippets off
run_case "--no-dpi" --no-dpi
run_case "sampled out (--sampling 32768)" --sampling 32768
run_case "--ingress tc --snippets off" --ingress tc --snippets off
run_case "parsers on" --snippet-bytes 1500

echo "live names: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
