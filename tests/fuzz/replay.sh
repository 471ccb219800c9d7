#!/bin/bash
# Replays every file of tests/fuzz/corpus/<target>/ and every saved crash
# tests/fuzz/regress/<target>-* through that target's entry point, built
# with a plain main() (replay.c), so make check runs them in every build,
# the sanitizer ones included, with no libFuzzer.  Each target must have
# its replay binary; an input that breaks an invariant aborts and fails.
set -u
: "${TESTS_DIR:=$(cd "$(dirname "$0")/.." && pwd)}"
BIN=${FUZZ_REPLAY_DIR:-$(dirname "${UDPD:?}")/tests/fuzz}
FUZZ=$TESTS_DIR/fuzz
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/udpd-replay.XXXXXX")
export TMPDIR		# chat and config targets make their files here
trap 'rm -rf "$TMPDIR"' EXIT
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$FUZZ/lsan.supp:print_suppressions=0}

failed=0 replayed=0
shopt -s nullglob
for src in "$FUZZ"/fuzz_*.c; do
	t=$(basename "$src" .c)
	t=${t#fuzz_}
	inputs=()
	[ -d "$FUZZ/corpus/$t" ] && inputs+=("$FUZZ/corpus/$t")
	inputs+=("$FUZZ"/regress/"$t"-*)
	if [ ! -x "$BIN/replay_$t" ]; then
		echo "FAIL: no replay binary for target $t ($BIN/replay_$t)"
		failed=1
		continue
	fi
	[ ${#inputs[@]} -gt 0 ] || { echo "# $t: no inputs"; continue; }
	if ! "$BIN/replay_$t" "${inputs[@]}" >"$TMPDIR/$t.log" 2>&1; then
		echo "FAIL: target $t:"
		tail -n 20 "$TMPDIR/$t.log"
		failed=1
		continue
	fi
	n=$(tail -n 1 "$TMPDIR/$t.log" | cut -d' ' -f1)
	replayed=$((replayed + n))
	echo "ok - $t: $(tail -n 1 "$TMPDIR/$t.log")"
done
echo "$replayed input(s) replayed"
[ "$replayed" -gt 0 ] || { echo "FAIL: nothing replayed"; exit 1; }
exit "$failed"
