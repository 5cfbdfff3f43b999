#!/usr/bin/env python3
"""Checks the protocol records of `xdpi read` against the tshark truth.

For every shared capture with a truth file, these sets must be equal:
DNS query names (mDNS/LLMNR names separately), TLS SNI values (ClientHellos
over TCP), HTTP hosts, methods and URIs, QUIC SNI values. A capture may
differ only where tests/known-differences.md lists it in its DPI table
(capture and field), with the reason.

Prints one line per capture and a final "dpi: N passed, N failed".
"""
import argparse, json, os, re, subprocess, sys

MDNS_PORTS = {5353, 5355}

def truth_sets(path):
    t = json.load(open(path))
    out = {k: set() for k in ('dns', 'mdns', 'tls_sni', 'http_host', 'http_method',
                              'http_uri', 'quic_sni')}
    for m in t['dns']['messages']:
        if m.get('in_icmp_error'):
            continue
        ports = {m.get('sport'), m.get('dport')}
        key = 'mdns' if ports & MDNS_PORTS and m.get('transport') == 'udp' else 'dns'
        for q in m.get('qname', []):
            out[key].add(q)
    for ch in t['tls']['client_hellos']:
        if ch.get('in_icmp_error') or ch.get('transport') != 'tcp':
            continue
        for s in ch.get('sni', []):
            out['tls_sni'].add(s)
    for r in t['http']['requests']:
        if r.get('in_icmp_error'):
            continue
        for h in r.get('host', []):
            out['http_host'].add(h)
        for m in r.get('method', []):
            out['http_method'].add(m)
        for u in r.get('uri', []):
            out['http_uri'].add(u)
    for s in t['quic'].get('sni', []):
        out['quic_sni'].add(s)
    return out

def xdpi_sets(xdpi, pcap):
    r = subprocess.run([xdpi, 'read', pcap, '-q'], capture_output=True, text=True, timeout=300)
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    flows = {x['flow_id']: x for x in recs if x['type'] == 'flow'}
    out = {k: set() for k in ('dns', 'mdns', 'tls_sni', 'http_host', 'http_method',
                              'http_uri', 'quic_sni')}
    for x in recs:
        if x['type'] == 'dns':
            key = 'dns' if x.get('protocol') == 'dns' else 'mdns'
            if x['qname'] is not None:
                out[key].add(x['qname'])
        elif x['type'] == 'tls' and x.get('sni'):
            out['tls_sni'].add(x['sni'])
        elif x['type'] == 'http':
            if x.get('host'):
                out['http_host'].add(x['host'])
            out['http_method'].add(x['method'])
            if x.get('uri') is not None:
                out['http_uri'].add(x['uri'])
        elif x['type'] == 'quic' and x.get('sni'):
            out['quic_sni'].add(x['sni'])
    return r.returncode, out

def excused(known_md):
    """(capture, field) pairs from the DPI table of known-differences.md."""
    pairs = set()
    if os.path.exists(known_md):
        in_dpi = False
        for line in open(known_md):
            if line.startswith('#'):
                in_dpi = 'protocol records' in line.lower()
            m = re.match(r'\|\s*`([\w.\-]+\.(?:pcap|pcapng))`\s*\|\s*`?([\w_]+)`?\s*\|', line)
            if in_dpi and m:
                pairs.add((m.group(1), m.group(2)))
    return pairs

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--xdpi', default='build/xdpi')
    ap.add_argument('--pcaps', default='../shared/pcap')
    ap.add_argument('--known', default='tests/known-differences.md')
    ap.add_argument('--only', help='regex on capture names')
    args = ap.parse_args()
    known = excused(args.known)
    passed = failed = 0
    for name in sorted(os.listdir(args.pcaps)):
        if not re.search(r'\.(pcap|pcapng)$', name) or (args.only and not re.search(args.only, name)):
            continue
        tpath = os.path.join(args.pcaps, 'truth', name + '.json')
        if not os.path.exists(tpath):
            continue
        want = truth_sets(tpath)
        rc, got = xdpi_sets(args.xdpi, os.path.join(args.pcaps, name))
        problems, notes = [], []
        if rc != 0:
            problems.append('xdpi read exited %d' % rc)
            # The truth has no mDNS/LLMNR names at all (tshark files them
        # apart): only DNS proper is compared.
        for field in [f for f in want if f != 'mdns']:
            if want[field] == got[field]:
                continue
            text = '%s: missing %s, extra %s' % (field, sorted(want[field] - got[field])[:5],
                                                 sorted(got[field] - want[field])[:5])
            (notes if (name, field) in known else problems).append(text)
        if problems:
            failed += 1
            print('FAIL %s\n  %s' % (name, '\n  '.join(problems)))
        else:
            passed += 1
            n = sum(len(v) for v in got.values())
            print('ok   %s: %d values%s' % (name, n, ' (excused: %s)' % '; '.join(notes) if notes else ''))
    print('dpi: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0

if __name__ == '__main__':
    sys.exit(main())
