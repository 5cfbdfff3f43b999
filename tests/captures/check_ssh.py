#!/usr/bin/env python3
"""Checks the ssh records of `xdpi read` against the banners tcpdump shows.

The shared truth files have no SSH fields, so the reference is the packet
text itself: for every capture holding the bytes "SSH-", the identification
lines in `tcpdump -nn -A -r` output (the first one each endpoint of a TCP
connection sends; the client is the endpoint that sent the connection's
first packet) must equal, connection by connection, the client and server
banners of the ssh records, rebuilt as "SSH-proto-software[ comments]".

Prints one line per capture and a final "ssh: N passed, N failed".
"""
import argparse, json, os, re, subprocess, sys

HEADER = re.compile(r'^\d\d:\d\d:\d\d\.\d+ IP6? (\S+) > (\S+?): ')
BANNER = re.compile(r'(SSH-[^\s-]+-\S+(?: .*)?)$')


def tcpdump_banners(pcap):
    """{(client, server): {'client': line, 'server': line}} from tcpdump -A."""
    out = subprocess.run(['tcpdump', '-nn', '-A', '-r', pcap], capture_output=True,
                         timeout=300).stdout.decode('latin-1')
    conns, src, dst = {}, None, None
    for line in out.splitlines():
        m = HEADER.match(line)
        if m:
            src, dst = m.group(1), m.group(2)
            if ' Flags [' not in line:
                src = None          # not TCP
                continue
            key = frozenset((src, dst))
            conns.setdefault(key, {'client': src, 'banners': {}})
            continue
        if src is None:
            continue
        b = BANNER.search(line)
        if b:
            c = conns[frozenset((src, dst))]
            c['banners'].setdefault(src, b.group(1))
    res = {}
    for key, c in conns.items():
        if not c['banners']:
            continue
        client = c['client']
        server = next(iter(key - {client}), client)
        res[(client, server)] = {'client': c['banners'].get(client),
                                 'server': c['banners'].get(server)}
    return res


def line_of(side):
    if side is None:
        return None
    s = 'SSH-%s-%s' % (side['proto'], side['software'])
    return s + ' ' + side['comments'] if side.get('comments') else s


def xdpi_banners(xdpi, pcap):
    r = subprocess.run([xdpi, 'read', pcap, '-q'], capture_output=True, text=True, timeout=300)
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    flows = {x['flow_id']: x for x in recs if x['type'] == 'flow'}
    res = {}
    for x in recs:
        if x['type'] != 'ssh':
            continue
        f = flows.get(x['flow_id'])
        if not f:
            res[('?', x['flow_id'])] = None
            continue
        key = ('%s.%d' % (f['src_ip'], f['src_port']), '%s.%d' % (f['dst_ip'], f['dst_port']))
        res[key] = {'client': line_of(x['client']), 'server': line_of(x['server'])}
    return r.returncode, res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--xdpi', default='build/xdpi')
    ap.add_argument('--pcaps', default='../shared/pcap')
    args = ap.parse_args()
    passed = failed = 0
    for root, _, files in sorted(os.walk(args.pcaps)):
        for name in sorted(files):
            path = os.path.join(root, name)
            if not re.search(r'\.(pcap|pcapng)$', name) or b'SSH-' not in open(path, 'rb').read():
                continue
            want = tcpdump_banners(path)
            rc, got = xdpi_banners(args.xdpi, path)
            if rc == 0 and want and got == want:
                passed += 1
                print('ok   %s: %s' % (name, sorted(want.items())))
            else:
                failed += 1
                print('FAIL %s (exit %d)\n  tcpdump %s\n  xdpi    %s' %
                      (name, rc, sorted(want.items()), sorted(got.items(), key=str)))
    if passed + failed == 0:
        failed += 1
        print('FAIL no capture with an SSH banner under %s' % args.pcaps)
    print('ssh: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
