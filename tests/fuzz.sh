#!/usr/bin/env bash
# Runs every libFuzzer target build/fuzz/fuzz_<name> for FUZZ_SECONDS
# (default 20) on its seeds in fuzz/corpus/<name>/. The fuzzer works on a
# scratch copy of the seeds, so the repo is left as it was; inputs that
# crash are kept in build/fuzz/crashes/<name>/. Ends with one line
# "fuzz: N passed, N failed" (one count per target); exits non-zero if any
# target crashed.
set -u
cd "$(dirname "$0")/.."

secs=${FUZZ_SECONDS:-20}
# Without it libFuzzer caps inputs at the largest seed.
max_len=${FUZZ_MAX_LEN:-4096}
# UBSan only prints by default; a report should fail the run like a crash.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

shopt -s nullglob
targets=(build/fuzz/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
	echo "tests/fuzz.sh: no build/fuzz/fuzz_* targets (make build/fuzz/fuzz_<name>)" >&2
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d /tmp/xdpi-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0

for bin in "${targets[@]}"; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=$(basename "$bin")
	name=${name#fuzz_}
	corpus="$work/corpus-$name"
	crashes="$work/crashes-$name"
	log="$work/$name.log"
	mkdir -p "$corpus" "$crashes"
	if [ -d "fuzz/corpus/$name" ]; then
		cp -R "fuzz/corpus/$name/." "$corpus/"
	else
		echo "fuzz $name: no seeds in fuzz/corpus/$name/, starting empty"
	fi
	seeds=$(find "$corpus" -type f | wc -l)

	"$bin" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" \
		>"$log" 2>&1
	rc=$?
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
	found=$(find "$corpus" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		echo "fuzz $name: ok, ${execs:-?} runs in ${secs}s, corpus $seeds -> $found"
	else
		fail=$((fail + 1))
		keep="build/fuzz/crashes/$name"
		mkdir -p "$keep"
		cp "$crashes"/* "$keep"/ 2>/dev/null
		echo "fuzz $name: FAILED (exit $rc)"
		grep -E 'ERROR|runtime error|SUMMARY|deadly signal|Test unit written' "$log" |
			head -n 10 | sed 's/^/   | /'
		for c in "$crashes"/*; do
			echo "   reproduce: $bin $keep/$(basename "$c")"
		done
		tail -n 30 "$log" | sed 's/^/   > /'
	fi
done

echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
