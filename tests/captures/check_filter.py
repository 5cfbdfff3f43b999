#!/usr/bin/env python3
"""Checks `xdpi read --filter E` and `xdpi read --kernel --filter E` end to end.

For each (capture, expression) below, both paths run with --stats-json, and:
- packets + filtered_out equal the capture's frames (nothing lost, nothing
  counted twice);
- packets equal what `tcpdump --count -r FILE 'E'` counts;
- the flow records' packets, summed per 5-tuple, are the same on both paths.

The user path compiles the expression for the capture's own link type, the
kernel path for Ethernet (the kernel programs see the synthetic Ethernet
frame that replaces other link layers). So non-Ethernet captures are paired
with expressions that mean the same on both (no Ethernet fields, no
lengths: `greater` counts the link header).

Prints one line per case and a final "filter: N passed, N failed". Needs
root for --kernel.
"""
import argparse, json, os, subprocess, sys, tempfile

ETHER_EXPRS = [
    'tcp port 443 and not net 10.0.0.0/8',
    'udp dst port 53 or tcp[tcpflags] & tcp-syn != 0',
    'greater 600 or ip6',
    'vlan and udp',
    'ip[6:2] & 0x3fff != 0 or ip6 protochain 44',
]
ANY_LINK_EXPRS = ['udp', 'tcp and not port 80', 'ip6 or icmp']

CASES = [
    ('ndpi-1kxun.pcap', ETHER_EXPRS[0]),
    ('ndpi-1kxun.pcap', ETHER_EXPRS[1]),
    ('ndpi-1kxun.pcap', ETHER_EXPRS[2]),
    ('cesnet-vlan.pcap', ETHER_EXPRS[3]),
    ('zeek-mixed-vlan-mpls.pcap', ETHER_EXPRS[3]),
    ('ndpi-dns_fragmented.pcap', ETHER_EXPRS[4]),
    ('zeek-ipv4-fragmented-1.pcap', ETHER_EXPRS[4]),
    ('tcpdump-ipv6_jumbogram_1.pcap', ETHER_EXPRS[2]),
    ('ndpi-http_ipv6.pcap', ETHER_EXPRS[0]),
    ('ndpi-tcp_scan.pcapng', ETHER_EXPRS[1]),
    ('sv-urgent11-tcphdr.pcap', ANY_LINK_EXPRS[1]),   # Linux cooked, with ARP
    ('tcpdump-quic_handshake.pcap', ANY_LINK_EXPRS[0]),  # BSD loopback
    # PPP without address and control bytes: libpcap's PPP code expects
    # them, so tcpdump (and the user path) match no IP packet here, while
    # the kernel path sees the IPv6 frames xdpi's reader makes of them.
    ('zeek-quic-quic-go-handshake.pcap', ANY_LINK_EXPRS[2], 'kernel differs'),
    ('bench/zeek-echo-connections.pcap', ETHER_EXPRS[1]),
]

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(('PASS ' if ok else 'FAIL ') + what)


def tcpdump_count(pcap, expr=None):
    cmd = ['tcpdump', '--count', '-r', pcap] + ([expr] if expr else [])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    return int(out.split()[0])


def xdpi_read(xdpi, pcap, expr, kernel, tmp):
    stats = os.path.join(tmp, 'stats.json')
    cmd = [xdpi, 'read', pcap, '-q', '--filter', expr, '--stats-json', stats]
    if kernel:
        cmd.append('--kernel')
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return None, None, r.stderr.strip()
    flows = {}
    for line in r.stdout.splitlines():
        rec = json.loads(line)
        if rec.get('type') != 'flow':
            continue
        ends = sorted([(rec['src_ip'], rec.get('src_port', 0)),
                       (rec['dst_ip'], rec.get('dst_port', 0))])
        key = (tuple(ends), rec['proto'])
        flows[key] = flows.get(key, 0) + rec['pkts_fwd'] + rec['pkts_rev']
    with open(stats) as f:
        return json.load(f), flows, ''


def run_case(xdpi, pcaps, tmp, name, expr, note=None):
    pcap = os.path.join(pcaps, name)
    frames = tcpdump_count(pcap)
    want = tcpdump_count(pcap, expr)
    res = {}
    for kernel in (False, True):
        path = 'read --kernel' if kernel else 'read'
        st, flows, err = xdpi_read(xdpi, pcap, expr, kernel, tmp)
        check(st is not None, "%s '%s' %s runs%s" % (name, expr, path, ': ' + err if err else ''))
        if st is None:
            continue
        check(st['packets'] + st['filtered_out'] == frames,
              "%s '%s' %s: packets %d + filtered_out %d = %d frames" %
              (name, expr, path, st['packets'], st['filtered_out'], frames))
        if kernel and note == 'kernel differs':
            continue
        check(st['packets'] == want, "%s '%s' %s: packets %d, tcpdump counts %d" %
              (name, expr, path, st['packets'], want))
        res[kernel] = (st, flows)
    if len(res) == 2:
        (_, fu), (_, fk) = res[False], res[True]
        check(fu == fk, "%s '%s': flow packets per 5-tuple agree (%d flows, %d packets)" %
              (name, expr, len(fu), sum(fu.values())))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--xdpi', default='build/xdpi')
    ap.add_argument('--pcaps', default='../shared/pcap')
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix='xdpi-filter.') as tmp:
        for case in CASES:
            run_case(args.xdpi, args.pcaps, tmp, *case)
    print('filter: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
