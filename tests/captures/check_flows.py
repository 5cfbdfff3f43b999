#!/usr/bin/env python3
"""Checks `xdpi read` against the tshark truth of every shared capture.

For each capture with a truth file: the flow records of `xdpi read`, summed
per bidirectional 5-tuple (VLAN ignored), must equal the truth's flows.list
(same 5-tuples, packets, ip_bytes). With --kernel, `xdpi read --kernel` must
also give the very same records, and the same counters. Captures listed in
tests/known-differences.md are reported but not failed on for the truth part.

Prints one line per capture and a final "captures: N passed, N failed".
"""
import argparse, ipaddress, json, os, re, subprocess, sys, tempfile

def endpoint(text):
    # "10.0.0.1:80" or "[2001:db8::1]:80"; tshark writes "[None]" for an
    # address it could not decode.
    if text.startswith('['):
        addr, port = text[1:].rsplit(']:', 1)
    else:
        addr, port = text.rsplit(':', 1)
    try:
        addr = str(ipaddress.ip_address(addr))
    except ValueError:
        pass
    return (addr, int(port))

def flow_key(proto, a, b):
    return (proto,) + tuple(sorted([a, b]))

def truth_flows(path):
    with open(path) as f:
        t = json.load(f)
    out = {}
    for fl in t['flows']['list']:
        k = flow_key(fl['proto'], endpoint(fl['a']), endpoint(fl['b']))
        p, b = out.get(k, (0, 0))
        out[k] = (p + fl['packets'], b + fl['ip_bytes'])
    return out

def xdpi_read(xdpi, pcap, kernel, stats_path):
    cmd = [xdpi, 'read', pcap, '-q', '--stats-json', stats_path]
    if kernel:
        cmd.append('--kernel')
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    try:
        with open(stats_path) as f:
            stats = json.load(f)
        os.unlink(stats_path)
    except (OSError, ValueError):
        stats = {'packets': -1}  # the run failed before writing counters
    return r.returncode, r.stderr, recs, stats

def sum_records(recs):
    out = {}
    for r in recs:
        if r.get('type') != 'flow':
            continue
        a = (str(ipaddress.ip_address(r['src_ip'])), r['src_port'])
        b = (str(ipaddress.ip_address(r['dst_ip'])), r['dst_port'])
        k = flow_key(r['proto'], a, b)
        p, by = out.get(k, (0, 0))
        out[k] = (p + r['pkts_fwd'] + r['pkts_rev'], by + r['bytes_fwd'] + r['bytes_rev'])
    return out

def excused(known_md):
    """Capture names in the first column of the table in known-differences.md."""
    names = set()
    if os.path.exists(known_md):
        for line in open(known_md):
            m = re.match(r'\|\s*`?([\w.\-]+\.(?:pcap|pcapng))`?\s*\|', line)
            if m:
                names.add(m.group(1))
    return names

def diff_text(want, got, limit=6):
    lines = []
    for k in sorted(set(want) | set(got), key=str):
        if want.get(k) != got.get(k):
            lines.append('    %s: truth %s, xdpi %s' % (k, want.get(k), got.get(k)))
    more = len(lines) - limit
    return '\n'.join(lines[:limit] + (['    ... %d more' % more] if more > 0 else []))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--xdpi', default='build/xdpi')
    ap.add_argument('--pcaps', default='../shared/pcap')
    ap.add_argument('--known', default='tests/known-differences.md')
    ap.add_argument('--kernel', action='store_true', help='also compare with read --kernel')
    ap.add_argument('--only', help='regex on capture names')
    args = ap.parse_args()

    truth_dir = os.path.join(args.pcaps, 'truth')
    known = excused(args.known)
    passed = failed = 0
    tmp = tempfile.mkdtemp(prefix='xdpi-cap-')
    for name in sorted(os.listdir(args.pcaps)):
        if not re.search(r'\.(pcap|pcapng)$', name):
            continue
        if args.only and not re.search(args.only, name):
            continue
        tpath = os.path.join(truth_dir, name + '.json')
        if not os.path.exists(tpath):
            continue
        pcap = os.path.join(args.pcaps, name)
        problems = []
        rc, err, recs, stats = xdpi_read(args.xdpi, pcap, False, os.path.join(tmp, 'u.json'))
        if rc != 0:
            problems.append('xdpi read exited %d: %s' % (rc, err.strip()[-300:]))
        want, got = truth_flows(tpath), sum_records(recs)
        note = ''
        if want != got:
            if name in known:
                note = ' (differs from truth; excused in %s)' % args.known
            else:
                problems.append('flows differ from truth:\n' + diff_text(want, got))
        if stats['packets'] != json.load(open(tpath))['packets']:
            problems.append('packets counted %d, file has %d' %
                            (stats['packets'], json.load(open(tpath))['packets']))
        if args.kernel:
            krc, kerr, krecs, kstats = xdpi_read(args.xdpi, pcap, True, os.path.join(tmp, 'k.json'))
            if krc != 0:
                problems.append('xdpi read --kernel exited %d: %s' % (krc, kerr.strip()[-300:]))
            key = lambda r: json.dumps(r, sort_keys=True)
            if sorted(map(key, recs)) != sorted(map(key, krecs)):
                u, k = set(map(key, recs)), set(map(key, krecs))
                problems.append('read and read --kernel records differ:\n    only user: %s\n    only kernel: %s'
                                % (sorted(u - k)[:2], sorted(k - u)[:2]))
            # Memory use is a property of the process, not of the traffic.
            sdiff = {c: (stats[c], kstats.get(c)) for c in stats
                     if c != 'rss_anon_kb' and stats[c] != kstats.get(c)}
            if sdiff:
                problems.append('counters differ (user, kernel): %s' % sdiff)
        if problems:
            failed += 1
            print('FAIL %s\n  %s' % (name, '\n  '.join(problems)))
        else:
            passed += 1
            print('ok   %s: %d flows, %d records%s' % (name, len(got), len(recs), note))
    print('captures: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0

if __name__ == '__main__':
    sys.exit(main())
