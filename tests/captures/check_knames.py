#!/usr/bin/env python3
"""Checks the server names the kernel finds on its own against the parsers.

For every shared capture, `xdpi read --kernel --snippet-pkts 0 --no-dpi`
gives flow records whose `sni`/`host` can only come from the kernel's
single-packet extraction (bpf/extract.h), and `xdpi read` gives the
user-space parsers' `tls` and `http` records. Each flow's first SNI and
first Host the parsers report must be in the kernel's record of that flow
(cut to 128 bytes) when the message was whole in one packet the kernel
looks at. This script decides that from the capture itself, with its own
reader (pcap, pcapng; Ethernet, VLAN, MPLS, PPPoE, SLL, null, raw, PPP;
IPv4, IPv6 with extension headers; TCP):

- the packet completing the message (the record's `ts`) is one TCP segment
  of the flow whose payload starts with the whole message: a TLS record of
  type 22 holding a whole ClientHello, or a request line with a known
  method and the head's empty line;
- it is among the first 8 packets of its direction in that 5-tuple
  (the kernel's XDPI_NAME_PKTS), its IP packet is not a fragment, and the
  name lies within the first 2048 payload bytes (XDPI_NAME_SCAN).

Packets count within the flow's time span (its records' start and end),
so a 5-tuple used by several flows in turn is told apart. Messages split
over segments or found in later packets are counted as skipped, with the
reason under -v. Also
checked on every capture: `xdpi read --snippet-pkts 0 --no-dpi` (the same
extraction in user space) gives the very records of the kernel run.

Prints one line per capture with a finding, and "knames: N passed, M failed".
"""
import argparse, ipaddress, json, os, re, struct, subprocess, sys

NAME_PKTS = 8
NAME_SCAN = 2048
NAME_MAX = 128
METHODS = (b'GET ', b'POST ', b'PUT ', b'PATCH ', b'HEAD ', b'DELETE ', b'OPTIONS ',
           b'CONNECT ', b'TRACE ')

# ---- capture reading -------------------------------------------------------

def pcap_frames(path):
    """Yields (ts_us, linktype, bytes) for every frame of a pcap or pcapng."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        le = magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1')
        nano = magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
        e = '<' if le else '>'
        lt = struct.unpack(e + 'I', data[20:24])[0] & 0x0fffffff
        off = 24
        while off + 16 <= len(data):
            sec, frac, incl, _orig = struct.unpack(e + 'IIII', data[off:off + 16])
            off += 16
            us = sec * 1000000 + (frac // 1000 if nano else frac)
            yield us, lt, data[off:off + incl]
            off += incl
        return
    if magic != b'\x0a\x0d\x0d\x0a':
        raise ValueError('not a pcap or pcapng file')
    off, e, ifs = 0, '<', []
    while off + 12 <= len(data):
        btype = struct.unpack(e + 'I', data[off:off + 4])[0]
        if btype == 0x0a0d0d0a:
            e = '<' if data[off + 8:off + 12] == b'\x4d\x3c\x2b\x1a' else '>'
            ifs = []
        blen = struct.unpack(e + 'I', data[off + 4:off + 8])[0]
        body = data[off + 8:off + blen - 4]
        if btype == 1:
            lt = struct.unpack(e + 'H', body[:2])[0]
            res = 6
            o = 8
            while o + 4 <= len(body):
                code, ln = struct.unpack(e + 'HH', body[o:o + 4])
                if code == 0:
                    break
                if code == 9:
                    res = body[o + 4]
                o += 4 + ((ln + 3) & ~3)
            ifs.append((lt, res))
        elif btype == 6:
            iface, hi, lo, incl = struct.unpack(e + 'IIII', body[:16])
            lt, res = ifs[iface] if iface < len(ifs) else (1, 6)
            t = hi << 32 | lo
            if res & 0x80:
                us = t * 1000000 >> (res & 0x7f)
            else:
                us = t * 1000000 // 10 ** res
            yield us, lt, body[20:20 + incl]
        off += blen
        if blen < 12:
            break

def ip_of(lt, b):
    """The outer IP packet of a frame and its first byte's offset, or None."""
    def eth(o):
        et = struct.unpack('>H', b[o:o + 2])[0] if len(b) >= o + 2 else 0
        o += 2
        vlan = None
        while et in (0x8100, 0x88a8, 0x9100) and len(b) >= o + 4:
            if vlan is None:
                vlan = struct.unpack('>H', b[o:o + 2])[0] & 0xfff
            et = struct.unpack('>H', b[o + 2:o + 4])[0]
            o += 4
        if et in (0x8847, 0x8848):
            while len(b) >= o + 4:
                bos = b[o + 2] & 1
                o += 4
                if bos:
                    break
            return (o, vlan) if len(b) > o and b[o] >> 4 in (4, 6) else None
        if et == 0x8864 and len(b) >= o + 8:
            proto = struct.unpack('>H', b[o + 6:o + 8])[0]
            return (o + 8, vlan) if proto in (0x21, 0x57) else None
        return (o, vlan) if et in (0x0800, 0x86dd) else None
    if lt == 1:
        return eth(12)
    if lt in (0, 108):                  # null / loop: 4-byte family
        return (4, None)
    if lt in (101, 12, 14, 228, 229):   # raw IP
        return (0, None)
    if lt == 113:                       # Linux SLL
        return eth(14)
    if lt == 276:                       # Linux SLL2
        return (20, None) if struct.unpack('>H', b[0:2])[0] in (0x0800, 0x86dd) else None
    if lt in (9, 50, 104):              # PPP, PPP serial, Cisco HDLC
        o = 2 if b[:2] == b'\xff\x03' else 0
        if lt == 104:
            o = 2
        proto = struct.unpack('>H', b[o:o + 2])[0] if len(b) >= o + 2 else 0
        return (o + 2, None) if proto in (0x21, 0x57, 0x0800, 0x86dd) else None
    return None

def tcp_of(b, o):
    """(src, sport, dst, dport, payload, fragment) of a TCP packet at o, or None."""
    if len(b) < o + 20:
        return None
    v = b[o] >> 4
    if v == 4:
        ihl = (b[o] & 15) * 4
        tot = struct.unpack('>H', b[o + 2:o + 4])[0]
        frag = struct.unpack('>H', b[o + 6:o + 8])[0] & 0x3fff
        if b[o + 9] != 6 or ihl < 20:
            return None
        src, dst = ipaddress.ip_address(b[o + 12:o + 16]), ipaddress.ip_address(b[o + 16:o + 20])
        l4, end = o + ihl, min(len(b), o + tot)
    elif v == 6:
        if len(b) < o + 40:
            return None
        nxt = b[o + 6]
        end = min(len(b), o + 40 + struct.unpack('>H', b[o + 4:o + 6])[0])
        src, dst = ipaddress.ip_address(b[o + 8:o + 24]), ipaddress.ip_address(b[o + 24:o + 40])
        l4, frag = o + 40, 0
        for _ in range(8):
            if nxt in (0, 43, 60) and len(b) >= l4 + 2:
                nxt, l4 = b[l4], l4 + 8 + b[l4 + 1] * 8
            elif nxt == 51 and len(b) >= l4 + 2:
                nxt, l4 = b[l4], l4 + (b[l4 + 1] + 2) * 4
            elif nxt == 44 and len(b) >= l4 + 8:
                frag = 1
                nxt, l4 = b[l4], l4 + 8
            else:
                break
        if nxt != 6:
            return None
    else:
        return None
    if end < l4 + 20:
        return None
    doff = (b[l4 + 12] >> 4) * 4
    sport, dport = struct.unpack('>HH', b[l4:l4 + 4])
    if doff < 20 or l4 + doff > end:
        return None
    return str(src), sport, str(dst), dport, b[l4 + doff:end], frag

def whole_message(pl):
    """'tls' or 'http' when the payload starts with one whole message."""
    if len(pl) >= 9 and pl[0] == 22 and pl[1] == 3 and pl[5] == 1:
        rlen = pl[3] << 8 | pl[4]
        hlen = pl[6] << 16 | pl[7] << 8 | pl[8]
        if 5 + rlen <= len(pl) and 4 + hlen <= rlen:
            return 'tls'
    # The head ends at an empty line, CRLF or bare LF (as src/proto/http.c).
    ends = b'\r\n\r\n' in pl or b'\n\n' in pl or b'\n\r\n' in pl
    if pl.startswith(METHODS) and ends:
        return 'http'
    if ends and pl.startswith(tuple(m[:-1] for m in METHODS)):
        return 'http-nospace'  # "OPTIONS\n...": no URI, no space after the method
    return None

def tcp_packets(pcap):
    """Every TCP packet: {sorted endpoints: [(ts_us, sender, kind, payload)]},
    kind as whole_message (None for fragments)."""
    out = {}
    for ts, lt, b in pcap_frames(pcap):
        ip = ip_of(lt, b)
        if not ip:
            continue
        t = tcp_of(b, ip[0])
        if not t:
            continue
        src, sport, dst, dport, pl, frag = t
        key = tuple(sorted([(src, sport), (dst, dport)]))
        out.setdefault(key, []).append((ts, (src, sport), None if frag else whole_message(pl), pl))
    return out

def candidates(pkts, first_us, last_us):
    """Packets of one flow (its time span) that hold a whole message:
    [(ts_us, kind, index in its direction, payload)]."""
    out, counts = [], {}
    for ts, sender, kind, pl in pkts:
        if ts < first_us or ts > last_us:
            continue
        counts[sender] = counts.get(sender, 0) + 1
        if kind:
            out.append((ts, kind, counts[sender], pl))
    return out

# ---- xdpi runs ---------------------------------------------------------------

def records(xdpi, args):
    r = subprocess.run([xdpi, 'read'] + args + ['-q'], capture_output=True, text=True, timeout=300)
    return r.returncode, r.stderr, [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

def ts_us(text):
    # "2016-02-21T08:22:01.641303Z"
    import datetime
    d = datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 1000000 + d.microsecond

def endpoints(r):
    a = (str(ipaddress.ip_address(r['src_ip'])), r['src_port'])
    b = (str(ipaddress.ip_address(r['dst_ip'])), r['dst_port'])
    return tuple(sorted([a, b]))

def cut(name):
    return name.encode('utf-8', 'surrogateescape')[:NAME_MAX]

def name_within_scan(pl, name):
    i = pl.find(name.encode('utf-8', 'surrogateescape')[:NAME_MAX])
    return 0 <= i and i + min(len(name.encode()), NAME_MAX) <= NAME_SCAN

def check_capture(xdpi, pcap, why):
    """(passed, failed, skipped, problems) for one capture; why collects
    (reason, flow, kind, name) for each name skipped."""
    problems = []
    krc, kerr, krecs = records(xdpi, [pcap, '--kernel', '--snippet-pkts', '0', '--no-dpi'])
    urc, uerr, urecs = records(xdpi, [pcap, '--snippet-pkts', '0', '--no-dpi'])
    drc, derr, drecs = records(xdpi, [pcap])
    for rc, err, what in ((krc, kerr, 'read --kernel'), (urc, uerr, 'read --no-dpi'), (drc, derr, 'read')):
        if rc != 0:
            problems.append('xdpi %s exited %d: %s' % (what, rc, err.strip()[-200:]))
    key = lambda r: json.dumps(r, sort_keys=True)
    if sorted(map(key, krecs)) != sorted(map(key, urecs)):
        only_k = sorted(set(map(key, krecs)) - set(map(key, urecs)))[:1]
        only_u = sorted(set(map(key, urecs)) - set(map(key, krecs)))[:1]
        problems.append('kernel and user-space extraction differ: kernel %s, user %s' % (only_k, only_u))
    kflows = {r['flow_id']: r for r in krecs if r['type'] == 'flow'}
    dflows = [r for r in drecs if r['type'] == 'flow']
    tuple_of = {r['flow_id']: (r['proto'], endpoints(r)) for r in dflows}
    # A flow's time span, over its records (active timeouts split it).
    span = {}
    for r in dflows:
        a, b = ts_us(r['start']), ts_us(r['end'])
        lo, hi = span.get(r['flow_id'], (a, b))
        span[r['flow_id']] = (min(lo, a), max(hi, b))
    firsts = {}
    for r in sorted((r for r in drecs if r['type'] in ('tls', 'http')), key=lambda r: r['ts']):
        name = r.get('sni') if r['type'] == 'tls' else r.get('host')
        if name and (r['flow_id'], r['type']) not in firsts:
            firsts[(r['flow_id'], r['type'])] = (r, name)
    pkts = tcp_packets(pcap)
    passed = failed = skipped = 0
    for (fid, kind), (r, name) in sorted(firsts.items(), key=lambda x: x[1][0]['ts']):
        t = tuple_of.get(fid)
        reason = None
        if not t or t[0] != 6:
            reason = 'not a TCP flow (HTTP over UDP, or a tunnel)'
        elif kind == 'http' and (r['method'] + ' ').encode() not in METHODS:
            reason = 'method %s: not one the kernel looks for' % r['method']
        else:
            when = ts_us(r['ts'])
            cands = candidates(pkts.get(t[1], []), *span[fid])
            near = [c for c in cands if abs(c[0] - when) <= 1]
            hit = [c for c in near if c[1] == kind]
            if not hit and any(c[1] == 'http-nospace' for c in near):
                reason = 'request line without a space after the method'
            elif not hit:
                reason = 'message not whole in the packet that completed it'
            elif hit[0][2] > NAME_PKTS:
                reason = 'packet %d of its direction' % hit[0][2]
            elif not name_within_scan(hit[0][3], name):
                reason = 'name past the first %d bytes' % NAME_SCAN
        if reason:
            skipped += 1
            why.append((reason, fid, kind, name))
            continue
        k = kflows.get(fid, {})
        got = k.get('sni' if kind == 'tls' else 'host')
        if got is not None and cut(got) == cut(name) and \
           k.get('app_proto') in ('tls' if kind == 'tls' else 'http', None) and k.get('app_proto'):
            passed += 1
        else:
            failed += 1
            problems.append('flow %d: %s %r from one packet, kernel record has %r (app_proto %r)'
                            % (fid, kind, name, got, k.get('app_proto')))
    return passed, failed, skipped, problems

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--xdpi', default='build/xdpi')
    ap.add_argument('--pcaps', default='../shared/pcap')
    ap.add_argument('--only', help='regex on capture names')
    ap.add_argument('-v', '--verbose', action='store_true', help='say why each name was skipped')
    args = ap.parse_args()
    tp = tf = ts = 0
    for name in sorted(os.listdir(args.pcaps)):
        if not re.search(r'\.(pcap|pcapng)$', name) or (args.only and not re.search(args.only, name)):
            continue
        why = []
        p, f, s, problems = check_capture(args.xdpi, os.path.join(args.pcaps, name), why)
        # The record comparison counts as one check per capture.
        agree = not any(x.startswith(('kernel and user', 'xdpi ')) for x in problems)
        p += agree
        f += not agree
        tp, tf, ts = tp + p, tf + f, ts + s
        if problems:
            print('FAIL %s\n  %s' % (name, '\n  '.join(problems)))
        elif p > 1 or s:
            print('ok   %s: %d names from single packets, %d skipped' % (name, p - 1, s))
        for reason, fid, kind, n in why if args.verbose else ():
            print('     skipped %s %r (flow %d): %s' % (kind, n, fid, reason))
    print('(%d names skipped: not TCP, split over segments, in a later packet; -v says which)' % ts)
    print('knames: %d passed, %d failed' % (tp, tf))
    return 1 if tf else 0

if __name__ == '__main__':
    sys.exit(main())
