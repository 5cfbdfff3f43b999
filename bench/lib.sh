# Shared by the live benchmarks in bench/ (sourced, run from the top of the
# tree): builds the traffic generator, makes two network namespaces joined
# by a veth pair that go away on exit and on Ctrl-C or SIGTERM, and waits
# for processes with bounds. A script that starts a process in the
# background keeps its pid in BG until it has reaped it: cleanup kills it.

# Builds bench/livegen and its BPF object (livegen.bpf.o) into DIR.
build_livegen() { # DIR
	local bpf_cc="clang -O2 -g -target bpf -Wall -Werror -Iinclude -I/usr/include/$(uname -m)-linux-gnu"
	mkdir -p "$1"
	$bpf_cc -c bench/livegen.bpf.c -o "$1/livegen.bpf.o" || exit 1
	bpftool gen skeleton "$1/livegen.bpf.o" name livegen_bpf >"$1/livegen.skel.h" || exit 1
	cc -O2 -Wall -Wextra -Werror -I"$1" $(pkg-config --cflags libbpf) -o "$1/livegen" \
		bench/livegen.c $(pkg-config --libs libbpf) -lelf -lz || exit 1
}

in_a() { ip netns exec "$NSA" "$@"; }
in_b() { ip netns exec "$NSB" "$@"; }

# Kills BG and everything in the namespaces, deletes them and TMP.
cleanup() {
	local pid ns
	trap "" INT TERM
	[ -n "$BG" ] && kill -KILL "$BG" 2>/dev/null
	for ns in "$NSA" "$NSB"; do
		if [ -e "/run/netns/$ns" ]; then
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null
			done
			ip netns del "$ns" 2>/dev/null
		fi
	done
	rm -rf "$TMP"
}

# Names the namespaces NAME-a-PID (sender) and NAME-b-PID (receiver), the
# veth ends NAME-a and NAME-b, makes TMP (/tmp/NAME.*), and installs the
# cleanup; then creates the namespaces and the pair, with IPv6 off unless
# "ipv6" follows, and brings the ends up. Sets DMAC, the receiver's MAC, and
# CPU0 and CPU1, the first and last CPU this may run on.
setup_pair() { # NAME [ipv6]
	local ns
	NSA=$1-a-$$
	NSB=$1-b-$$
	IFA=$1-a
	IFB=$1-b
	BG=
	TMP=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NSA" && ip netns add "$NSB" &&
		ip link add "$IFA" netns "$NSA" type veth peer name "$IFB" netns "$NSB" || exit 1
	if [ "${2:-}" != ipv6 ]; then
		for ns in "$NSA" "$NSB"; do
			# No IPv6 router solicitations or ND in the counts.
			ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
				net.ipv6.conf.default.disable_ipv6=1
		done
	fi
	in_a ip link set "$IFA" up && in_b ip link set "$IFB" up || exit 1
	DMAC=$(in_b cat "/sys/class/net/$IFB/address")
	read -r CPU0 CPU1 < <(python3 -c 'import os; c=sorted(os.sched_getaffinity(0)); print(c[0], c[-1])')
}

# Waits up to SECS for PATTERN in FILE while PID lives.
wait_line() { # FILE PATTERN SECS PID
	local deadline=$((SECONDS + $3))
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		kill -0 "$4" 2>/dev/null || return 1
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# Waits up to SECS for PID, then kills it; clears BG.
wait_bounded() { # PID SECS
	local deadline=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.05
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	BG=
}

mpps() { awk -v p="$1" 'BEGIN { printf "%.3f", p / 1e6 }'; }

# Packets per second of a rate in Mpps, 0 for "max" (no limit); a bad rate
# says so and fails: pps=$(rate_pps "$rate" NAME) || exit 2.
rate_pps() { # RATE NAME
	local pps
	if [ "$1" = max ]; then
		echo 0
		return 0
	fi
	pps=$(awk -v r="$1" 'BEGIN { printf "%d", r * 1e6 }')
	if [ "$pps" -gt 0 ] && [ "$pps" -le 20000000 ]; then
		echo "$pps"
		return 0
	fi
	echo "$2: bad rate $1" >&2
	return 1
}

# Fails with a message unless SIZE is a whole number.
check_size() { # SIZE NAME
	case $1 in ''|*[!0-9]*) echo "$2: bad size $1" >&2; return 1;; esac
}
