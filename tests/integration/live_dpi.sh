#!/usr/bin/env bash
# Live protocol inspection: xdpi on one end of a veth pair between two
# namespaces made here; a DNS query, an HTTP request and a TLS handshake
# (with SNI) cross it, and the dns/http/tls records must name them and link
# to their flow records. Namespaces go away even when a check fails.
set -u
. "$(dirname "$0")/lib/netns.sh"
cd "$(dirname "$0")/../.."
XDPI=${XDPI_BIN:-build/xdpi}
TEST_NAME="live-dpi"
NSA=xdpa$$ NSB=xdpb$$ IFA=vda$$ IFB=vdb$$
XPID=
EXTRA_CLEANUP=stop_xdpi
trap_cleanup
TMP=$(mktemp -d /tmp/xdpi-live-dpi.XXXXXX) || die "setup: mktemp"

# Lets a running xdpi stop on its own (and remove what it attached) first.
stop_xdpi() {
	[ -n "$XPID" ] && kill "$XPID" 2>/dev/null && wait_exit "$XPID" 5
}

check() { # description, python expression over recs
	if python3 - "$TMP/out.jsonl" "$2" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
flows = {r['flow_id']: r for r in recs if r['type'] == 'flow'}
of = lambda t: [r for r in recs if r['type'] == t]
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
	then pass "$1"
	else fail "$1"; fi
}

make_veth_pair
address_end "$NSA" "$IFA" 10.201.0.1
address_end "$NSB" "$IFB" 10.201.0.2
loopbacks_up

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" \
	-days 2 -subj "/CN=live.xdpi.test" >/dev/null 2>&1
timeout 30 ip netns exec "$NSB" python3 -m http.server 8080 --bind 10.201.0.2 \
	>/dev/null 2>&1 &
timeout 30 ip netns exec "$NSB" python3 - "$TMP" <<'PY' >/dev/null 2>&1 &
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1] + '/cert.pem', sys.argv[1] + '/key.pem')
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.201.0.2', 8443)); s.listen(1); s.settimeout(20)
c, _ = s.accept()
with ctx.wrap_socket(c, server_side=True) as t:
    while t.recv(100):
        t.send(b'ok')
PY

timeout 40 ip netns exec "$NSA" "$XDPI" run -i "$IFA" --snippet-bytes 1500 -w "$TMP/out.jsonl" \
	--stats-json "$TMP/stats.json" 2>"$TMP/err" &
XPID=$!
for _ in $(seq 50); do grep -q watching "$TMP/err" && break; sleep 0.1; done

timeout 20 ip netns exec "$NSA" python3 - <<'PY'
import socket, ssl, struct, time, urllib.request
q = struct.pack('>HHHHHH', 0x4242, 0x0100, 1, 0, 0, 0) + b'\x04live\x04xdpi\x04test\x00' + \
    struct.pack('>HH', 28, 1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(q, ('10.201.0.2', 53))
for _ in range(50):
    try:
        urllib.request.urlopen('http://10.201.0.2:8080/index-check', timeout=2)
    except Exception:
        pass
    break
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(['h2', 'http/1.1'])
for _ in range(20):
    try:
        with socket.create_connection(('10.201.0.2', 8443), timeout=2) as s:
            with ctx.wrap_socket(s, server_hostname='tls.live.xdpi.test') as t:
                # Data after the handshake: by then the worker has told
                # the kernel to stop sending this flow's snippets.
                for _ in range(10):
                    t.send(b'x')
                    t.recv(10)
                    time.sleep(0.05)
        break
    except OSError:
        time.sleep(0.1)
PY
sleep 0.5
kill -INT "$XPID"; wait "$XPID"; XPID=

cp "$TMP/out.jsonl" /tmp/ldpi.jsonl 2>/dev/null
check "dns record for the AAAA query of live.xdpi.test" \
	"any(r['qname'] == 'live.xdpi.test' and r['qtype'] == 28 and r['rcode'] is None and r['flow_id'] in flows for r in of('dns'))"
check "http record: GET /index-check to 10.201.0.2:8080 with status 404 and a latency" \
	"any(r['method'] == 'GET' and r['uri'] == '/index-check' and r['host'] == '10.201.0.2:8080' and r['status'] == 404 and r['latency_us'] is not None for r in of('http'))"
check "tls record: SNI tls.live.xdpi.test, ALPN offered, JA3 and JA4" \
	"any(r['sni'] == 'tls.live.xdpi.test' and r['alpn'] == ['h2', 'http/1.1'] and len(r['ja3']) == 32 and r['ja4'].startswith('t13d') for r in of('tls'))"
check "flow records carry the classification and names: tls + SNI, http + Host" \
	"any(f['app_proto'] == 'tls' and f.get('sni') == 'tls.live.xdpi.test' for f in flows.values()) and any(f['app_proto'] == 'http' and f.get('host') == '10.201.0.2:8080' for f in flows.values())"
if python3 - "$TMP/stats.json" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
print("     verdicts %d, flows_offloaded %d, snippets %d" % (st["verdicts"], st["flows_offloaded"], st["events_snippet"]))
sys.exit(0 if st["verdicts"] >= 2 and st["flows_offloaded"] >= 1 and st["verdicts_refused"] == 0 else 1)
PY
then pass "workers sent verdicts and the kernel stopped snippets of an offloaded flow"
else fail "no offload seen in the counters"; fi
check "protocol records link to flow records of this run" \
	"all(r['flow_id'] in flows for r in recs if r['type'] != 'flow')"
check "record times are wall-clock times of this run" \
	"all(r.get('ts', r.get('start', ''))[:4] >= '2020' for r in recs)"
