#!/usr/bin/env bash
# Installs the Debian packages xdpi needs to build, run and test. Idempotent:
# does nothing (no apt-get at all) when every package is already present.
set -euo pipefail

PKGS=(
  clang llvm gcc make pkg-config          # compilers (BPF objects need clang)
  libbpf-dev bpftool libxdp-dev           # BPF loader, skeleton generator
  libpcap-dev libelf-dev zlib1g-dev       # capture files, libbpf's deps
  libssl-dev                              # MD5/SHA-256 (JA3/JA4), AES-GCM (QUIC Initials)
  libclang-rt-14-dev                      # ASan/UBSan/libFuzzer runtimes
  iproute2 tcpdump python3 ethtool        # live tests: netns, veth, reference capture, offloads
  iputils-ping curl                       # live tests: resolve ARP/ND first; HTTP requests, scrapes
  libsqlite3-dev sqlite3                  # the default store, and queries in its tests
  libfixbuf-dev nfdump tshark             # IPFIX export; collector and decoder for its tests
  libmicrohttpd-dev prometheus            # /metrics listener; promtool and a scraper for tests
  libnats-dev nats-server                 # JetStream publisher and collector; cluster in tests
  libpq-dev postgresql                    # PostgreSQL sink; a server started by its test
  libjansson-dev                          # /metrics of collected JSON (prom.c); reference parser in tests
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
