#!/usr/bin/env bash
# Runs every test of xdpi and prints one summary line "N passed, N failed".
# Each step prints its own "X passed, Y failed" line; a step that exits
# non-zero without such a line, or with failures, counts as failed.
set -u
cd "$(dirname "$0")/.."

total_pass=0
total_fail=0
failed_steps=()
LOG_DIR=$(mktemp -d /tmp/xdpi-test.XXXXXX)
trap 'rm -rf "$LOG_DIR"' EXIT

step() {
	local name=$1; shift
	local log="$LOG_DIR/$(echo "$name" | tr -c 'a-zA-Z0-9_-' '_').log"
	local start=$SECONDS rc p f line
	echo "== $name"
	"$@" >"$log" 2>&1
	rc=$?
	line=$(grep -oE '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
	else
		p=0; f=0
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or failed without saying what
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$f" -ne 0 ]; then
		failed_steps+=("$name")
		echo "   FAILED ($p passed, $f failed, exit $rc, $((SECONDS - start))s); log:"
		grep -E 'FAIL|error|Error|ERROR' "$log" | head -n 40 | sed 's/^/   | /'
		tail -n 15 "$log" | sed 's/^/   > /'
	else
		echo "   ok ($p passed, $((SECONDS - start))s)"
	fi
}

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: the kernel tests need root (BPF programs, network namespaces)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# Unit tests that open sockets (outputs' listeners and peers) do it on the
# loopback of a namespace of their own, not on the host's.
UNIT_NS=xdpi-unit-$$
ip netns add "$UNIT_NS" && ip -n "$UNIT_NS" link set lo up || UNIT_NS=
trap '[ -n "$UNIT_NS" ] && ip netns del "$UNIT_NS" 2>/dev/null; rm -rf "$LOG_DIR"' EXIT
in_unit_ns() {
	if [ -n "$UNIT_NS" ]; then
		ip netns exec "$UNIT_NS" "$@"
	else
		echo "tests/run.sh: no namespace for the unit tests" >&2
		return 1
	fi
}

# Binaries built from tests/bpf/ run as BPF tests below, the rest as unit tests.
for t in build/tests/test_*; do
	[ -x "$t" ] || continue
	[ -f "tests/bpf/$(basename "$t").c" ] && continue
	step "unit $(basename "$t")" in_unit_ns "$t"
done
for t in build/asan/test_*; do
	[ -x "$t" ] || continue
	step "unit+asan+ubsan $(basename "$t")" in_unit_ns "$t"
done
for s in tests/bpf/test_*.c; do
	t=build/tests/$(basename "$s" .c)
	[ -x "$t" ] || continue
	step "bpf $(basename "$t")" "$t"
done
if ls build/fuzz/fuzz_* >/dev/null 2>&1; then
	step "fuzz (short runs)" env FUZZ_SECONDS="${FUZZ_SECONDS:-10}" bash tests/fuzz.sh
fi
step "cli errors" bash tests/cli/test_errors.sh
step "captures vs truth, read vs read --kernel" \
	python3 tests/captures/check_flows.py --kernel --pcaps ../shared/pcap
step "protocol records vs truth (dns, tls, http, quic)" \
	python3 tests/captures/check_dpi.py --pcaps ../shared/pcap
step "server names the kernel finds in single packets vs the parsers" \
	python3 tests/captures/check_knames.py --pcaps ../shared/pcap
step "TCP metrics vs truth (retransmissions, out-of-order, zero windows, resets)" \
	python3 tests/captures/check_tcp.py --pcaps ../shared/pcap
step "ssh records vs tcpdump banners" \
	python3 tests/captures/check_ssh.py --pcaps ../shared/pcap
step "--filter: read and read --kernel vs tcpdump" \
	python3 tests/captures/check_filter.py --pcaps ../shared/pcap
step "benchmark captures vs truth" \
	python3 tests/captures/check_flows.py --kernel --pcaps ../shared/pcap/bench
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	step "integration $(basename "$t")" bash "$t"
done

echo
if [ ${#failed_steps[@]} -gt 0 ]; then
	echo "failed steps: ${failed_steps[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
