#!/usr/bin/env bash
# Server names the kernel finds on its own, live: xdpi on one end of a veth
# pair between two namespaces made here, an HTTP request (Host with a port)
# and a TLS ClientHello (SNI) cross it, with the snippets off, with the
# parsers off, sampled out, with TC ingress and with the parsers on; every
# run's flow records must name both servers, with app_proto http / tls.
# Namespaces go away even when a check fails.
set -u
. "$(dirname "$0")/lib/netns.sh"
cd "$(dirname "$0")/../.."
XDPI=${XDPI_BIN:-build/xdpi}
TEST_NAME="live names"
NSA=xdna$$ NSB=xdnb$$ IFA=vna$$ IFB=vnb$$
XPID=
EXTRA_CLEANUP=stop_xdpi
trap_cleanup
TMP=$(mktemp -d /tmp/xdpi-live-names.XXXXXX) || die "setup: mktemp"

# Lets a running xdpi stop on its own (and remove what it attached) first.
stop_xdpi() {
	[ -n "$XPID" ] && kill "$XPID" 2>/dev/null && wait_exit "$XPID" 5
}

check() { # description, python expression over recs (flow records) and stats
	if python3 - "$TMP/out.jsonl" "$TMP/stats.json" "$2" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
flows = [r for r in recs if r['type'] == 'flow' and r['proto'] == 6]
stats = json.load(open(sys.argv[2]))
by_port = lambda p: [r for r in flows if p in (r['src_port'], r['dst_port'])]
sys.exit(0 if eval(sys.argv[3]) else 1)
PY
	then pass "$1"
	else fail "$1"; cat "$TMP/out.jsonl" "$TMP/err" 2>/dev/null | head -20; fi
}

make_veth_pair
address_end "$NSA" "$IFA" 10.202.0.1
address_end "$NSB" "$IFB" 10.202.0.2
loopbacks_up

# An HTTP server, and a TCP server that takes a ClientHello and closes (the
# name is in the client's first packet; no handshake needs to finish).
timeout 120 ip netns exec "$NSB" python3 -m http.server 8080 --bind 10.202.0.2 \
	>/dev/null 2>&1 &
timeout 120 ip netns exec "$NSB" python3 -c "
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
	timeout 30 ip netns exec "$NSA" "$XDPI" run -i "$IFA" "$@" --duration 3s --idle-timeout 1s \
		--close-grace 200ms -w "$TMP/out.jsonl" --stats-json "$TMP/stats.json" 2>"$TMP/err" &
	XPID=$!
	for _ in $(seq 100); do grep -q watching "$TMP/err" && break; sleep 0.1; done
	ip netns exec "$NSA" curl -s -o /dev/null -m 5 -H 'Host: names.xdpi.test:8080' \
		http://10.202.0.2:8080/
	timeout 5 ip netns exec "$NSA" openssl s_client -connect 10.202.0.2:8443 \
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

