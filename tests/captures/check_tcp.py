#!/usr/bin/env python3
"""Checks the TCP metrics of `xdpi read` against the tshark truth.

For each capture (by default every shared capture with a truth file; the
TCP-anomaly captures among them), the sums over flow records of `tcp`
retransmissions, out-of-order segments, zero windows and resets, both
directions, must equal the truth's capture-wide counts "retransmission",
"out_of_order", "zero_window" and "rst" (tshark's expert info and flags).
Where tshark's heuristics differ, tests/known-differences.md lists the
(capture, metric) pair in its "TCP metrics" table with the count xdpi gives;
the pair passes only with exactly that count.

Prints one line per capture and a final "tcp: N passed, N failed".
"""
import argparse, json, os, re, subprocess, sys

# truth key -> record key (the record has <key>_fwd and <key>_rev)
METRICS = [('retransmission', 'retrans'), ('out_of_order', 'ooo'),
           ('zero_window', 'zero_win'), ('rst', 'rst')]

# Captures made for TCP corner cases: they must be present and checked.
REQUIRED = ['zeek-tcp-retransmit-fast009.pcap', 'arkime-wireshark-retrans.pcap',
            'zeek-tcp-handshake-reorder.pcap', 'zeek-tcp-ssh-dups.pcap',
            'zeek-tcp-reassembly.pcap']

def xdpi_sums(xdpi, pcap):
    r = subprocess.run([xdpi, 'read', pcap, '-q'], capture_output=True, text=True, timeout=300)
    sums = {t: 0 for t, _ in METRICS}
    rtts = 0
    for line in r.stdout.splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if rec.get('type') != 'flow':
            continue
        tcp = rec.get('tcp')
        if (tcp is None) != (rec['proto'] != 6):
            return r.returncode or 1, 'tcp object on a non-TCP flow or missing: %s' % line, sums, 0
        if tcp is None:
            continue
        for t, k in METRICS:
            sums[t] += tcp[k + '_fwd'] + tcp[k + '_rev']
        for k in ('rtt_syn_us', 'rtt_ack_us'):
            if tcp[k] is not None:
                if tcp[k] < 0:
                    return 1, 'negative %s: %s' % (k, line), sums, 0
                rtts += 1
    return r.returncode, r.stderr.strip()[-300:], sums, rtts

def excused(known_md):
    """{(capture, metric): xdpi count} from the TCP metrics table."""
    out = {}
    if os.path.exists(known_md):
        in_tcp = False
        for line in open(known_md):
            if line.startswith('#'):
                in_tcp = 'tcp metrics' in line.lower()
            m = re.match(r'\|\s*`?(\w+)`?\s*\|\s*`([\w.\-]+\.(?:pcap|pcapng))`\s*\|'
                         r'\s*(\d+)\s*\|\s*(\d+)\s*\|', line)
            if in_tcp and m:
                out[(m.group(2), m.group(1))] = int(m.group(4))
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--xdpi', default='build/xdpi')
    ap.add_argument('--pcaps', default='../shared/pcap')
    ap.add_argument('--known', default='tests/known-differences.md')
    ap.add_argument('--only', help='regex on capture names')
    args = ap.parse_args()

    truth_dir = os.path.join(args.pcaps, 'truth')
    known = excused(args.known)
    passed = failed = 0
    names = sorted(n for n in os.listdir(args.pcaps) if re.search(r'\.(pcap|pcapng)$', n))
    for name in REQUIRED:
        if not args.only and name not in names:
            failed += 1
            print('FAIL %s: capture missing' % name)
    for name in names:
        if args.only and not re.search(args.only, name):
            continue
        tpath = os.path.join(truth_dir, name + '.json')
        if not os.path.exists(tpath):
            continue
        truth = json.load(open(tpath)).get('tcp', {})
        rc, err, got, rtts = xdpi_sums(args.xdpi, os.path.join(args.pcaps, name))
        problems, notes = [], []
        if rc != 0:
            problems.append('xdpi read exited %d: %s' % (rc, err))
        for t, _ in METRICS:
            want = truth.get(t, 0)
            if got[t] == want and (name, t) not in known:
                continue
            if (name, t) in known:
                if got[t] == known[(name, t)] and got[t] != want:
                    notes.append('%s %d vs tshark %d (known)' % (t, got[t], want))
                else:
                    problems.append('%s: tshark %d, xdpi %d, known-differences.md says %d'
                                    % (t, want, got[t], known[(name, t)]))
            else:
                problems.append('%s: tshark %d, xdpi %d' % (t, want, got[t]))
        if problems:
            failed += 1
            print('FAIL %s\n  %s' % (name, '\n  '.join(problems)))
        else:
            passed += 1
            print('ok   %s: %s; %d handshake halves%s' % (
                name, ', '.join('%s %d' % (t, got[t]) for t, _ in METRICS), rtts,
                ' (' + '; '.join(notes) + ')' if notes else ''))
    print('tcp: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0

if __name__ == '__main__':
    sys.exit(main())
