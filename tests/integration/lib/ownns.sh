# Sourced first by a test that talks to servers over loopback: the test runs
# again inside a network namespace of its own, with only its loopback up, so
# nothing it sends crosses the host's own lo. The namespace (and whatever is
# left in it) goes away when the test ends, however it ends.
if [ -z "${XDPI_TEST_NS:-}" ]; then
	XDPI_TEST_NS=xdpi-t$$-$(basename "$0" .sh | tr -c 'a-z0-9\n' '-' | cut -c1-20)
	export XDPI_TEST_NS
	if ! ip netns add "$XDPI_TEST_NS" || ! ip -n "$XDPI_TEST_NS" link set lo up; then
		echo "$(basename "$0" .sh): cannot make network namespace $XDPI_TEST_NS (needs root)" >&2
		echo "$(basename "$0" .sh): 0 passed, 1 failed"
		exit 1
	fi
	ownns_cleanup() {
		local pid
		for pid in $(ip netns pids "$XDPI_TEST_NS" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$XDPI_TEST_NS" 2>/dev/null
	}
	trap ownns_cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns exec "$XDPI_TEST_NS" bash "$0" "$@"
	exit $?
fi
