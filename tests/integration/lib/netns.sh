# Shared by the live tests in tests/integration/ (sourced, not run): PASS/FAIL
# counting, background processes with bounded waits, and two network
# namespaces joined by a veth pair that go away on exit, on failure and on
# Ctrl-C or SIGTERM.
#
# The sourcing script sets:
#   TEST_NAME  label of messages and of the closing "NAME: N passed, N failed"
#   NSA NSB    namespace names, unique per run (e.g. ending in $$); unset in
#              a test that makes no namespaces
#   IFA IFB    the veth ends, IFA in NSA and IFB in NSB
#   TMP        work directory, once made (removed at exit unless KEEP_TMP=1)
#   KEEP_TMP   1 keeps TMP
#   EXTRA_CLEANUP  optional: a function run at exit before the namespaces are
#              emptied and deleted
# and calls trap_cleanup before it creates anything.

PASSED=0
FAILED=0
BG_PIDS=()
TMP=
KEEP_TMP=0
EXTRA_CLEANUP=

pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

# Setup problems make every later check meaningless: count one failure, stop.
die() {
	fail "$*"
	exit 1
}

in_a() { ip netns exec "$NSA" "$@"; }
in_b() { ip netns exec "$NSB" "$@"; }

# Counts the PASS/FAIL lines of a checker's output (FILE) and shows them.
tally() {
	local line
	while IFS= read -r line; do
		case $line in
		PASS*) PASSED=$((PASSED + 1)) ;;
		FAIL*) FAILED=$((FAILED + 1)) ;;
		esac
		echo "$line"
	done <"$1"
}

# Dies unless every tool named is on PATH.
need_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || die "setup: $tool missing (run bash scripts/deps.sh)"
	done
}

# ---- background processes ------------------------------------------------

# Starts "$@" in the background with output in $TMP/NAME.{out,err}; sets BG.
# Whatever is still running at exit is killed.
bg_start() {
	local name=$1
	shift
	"$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	BG=$!
	BG_PIDS+=("$BG")
}

forget_pid() {
	local p keep=()
	for p in "${BG_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
}

# Waits up to SECS for background PID to exit and reaps it; sets WAIT_RC.
# Returns 1 (and kills it) on timeout. A zombie still answers kill -0, so
# the state in /proc tells when it has exited.
wait_exit() { # PID SECS
	local pid=$1 deadline=$((SECONDS + $2)) stat
	while :; do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || break
		stat=${stat##*) }
		[ "${stat%% *}" = Z ] && break
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			forget_pid "$pid"
			WAIT_RC=137
			return 1
		fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	WAIT_RC=$?
	forget_pid "$pid"
	return 0
}

# Waits up to SECS for PATTERN in FILE while PID lives.
wait_line() { # FILE PATTERN SECS PID
	local file=$1 pattern=$2 pid=$4 deadline=$((SECONDS + $3))
	while ! grep -q -- "$pattern" "$file" 2>/dev/null; do
		[ -e "/proc/$pid" ] || return 1
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# ---- namespaces and the veth pair ------------------------------------------

# Creates NSA and NSB and the pair IFA-IFB, each end directly inside its
# namespace; extra arguments (e.g. numrxqueues 2) apply to both ends.
make_veth_pair() {
	ip netns add "$NSA" || die "setup: ip netns add $NSA"
	ip netns add "$NSB" || die "setup: ip netns add $NSB"
	ip link add "$IFA" netns "$NSA" "$@" type veth peer name "$IFB" netns "$NSB" "$@" ||
		die "setup: veth pair"
}

# Gives one end an IPv4 /24 address (and an IPv6 /64 one) and brings it up.
address_end() { # NS IF IPV4 [IPV6]
	ip -n "$1" addr add "$3/24" dev "$2" || die "setup: $3 on $2"
	if [ -n "${4:-}" ]; then
		ip -n "$1" addr add "$4/64" dev "$2" nodad || die "setup: $4 on $2"
	fi
	ip -n "$1" link set "$2" up || die "setup: $2 up"
}

loopbacks_up() {
	ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up || die "setup: lo up"
}

# Addresses one end of the pair and brings it up, one frame per packet (no
# TSO/GSO/GRO: xdpi's TC egress and tcpdump would count merged packets
# differently).
setup_end() { # NS IF IPV4 [IPV6]
	address_end "$@"
	one_frame_per_packet "$1" "$2" || die "setup: ethtool -K $2 tso off gso off gro off"
}

# Turns off segmentation offloads and GRO on an end: one frame, one packet,
# as the checks count them. Returns ethtool's status.
one_frame_per_packet() { # NS IF
	ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1
}

# Packets the kernel dropped on IF in NS, received and sent.
veth_drops() { # NS IF
	ip -n "$1" -s link show dev "$2" | awk '/RX:|TX:/{getline; s += $4} END{print s+0}'
}

# Fails unless the veth pair dropped nothing: the exact counts assume it.
check_no_drops() { # WHAT
	local a b
	a=$(veth_drops "$NSA" "$IFA")
	b=$(veth_drops "$NSB" "$IFB")
	if [ "$a" = 0 ] && [ "$b" = 0 ]; then
		pass "$1: veth pair dropped nothing (rx+tx dropped: $IFA $a, $IFB $b)"
	else
		fail "$1: veth pair dropped packets (rx+tx dropped: $IFA $a, $IFB $b); counts cannot be exact"
	fi
}

# ---- the end ---------------------------------------------------------------

# Kills what the test started and whatever runs in its namespaces, deletes
# the namespaces (and with them the veth pair) and the work directory.
cleanup() {
	local pid ns left=() deadline=$((SECONDS + 5))
	trap "" INT TERM # finish cleaning up even on a second Ctrl-C
	[ -n "$EXTRA_CLEANUP" ] && "$EXTRA_CLEANUP"
	disown -a 2>/dev/null # no "Killed" reports for what we end here
	for pid in "${BG_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null && left+=("$pid")
	done
	# Children of killed wrappers (timeout -> python) still sit in our
	# namespaces; nothing else can be in them.
	for ns in "${NSA:-}" "${NSB:-}"; do
		if [ -n "$ns" ] && [ -e "/run/netns/$ns" ]; then
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null
			done
		fi
	done
	for pid in "${left[@]}"; do
		while [ -e "/proc/$pid" ] && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.05
		done
	done
	for ns in "${NSA:-}" "${NSB:-}"; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "$KEEP_TMP" = 1 ]; then
			echo "$TEST_NAME: kept $TMP" >&2
		else
			rm -rf "$TMP"
		fi
	fi
}

# Cleans up, prints the summary line and exits non-zero if a check failed.
on_exit() {
	local rc=$?
	cleanup
	echo "$TEST_NAME: $PASSED passed, $FAILED failed"
	if [ "$rc" -eq 0 ] && [ "$FAILED" -gt 0 ]; then
		rc=1
	fi
	exit "$rc"
}

trap_cleanup() {
	trap on_exit EXIT
	trap 'echo "$TEST_NAME: interrupted" >&2; exit 130' INT
	trap 'echo "$TEST_NAME: terminated" >&2; exit 143' TERM
}
