# tests/lib.sh - shared helpers for the end-to-end tests (sourced, bash).
#
# Each test starts the built udpd ($UDPD) as a separate process on loopback,
# with a config in its own temp dir, and talks to it with real clients.
# Services listen on port 0 and udpd writes the ports it really got into
# $UDPD_PORT_FILE (as memcached's tests do), so tests never race for ports.

set -u
: "${UDPD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/udpd}"
: "${TESTS_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/udpd-test.XXXXXX")
UDPD_PID=
PORT_FILE=$TMP/ports
export UDPD_PORT_FILE=$PORT_FILE
TEST_NAME=$(basename "$0")
PASSED=0

cleanup() {
	stop_udpd
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	if [ -s "$TMP/udpd.err" ]; then
		echo "--- udpd stderr (last 20 lines) ---" >&2
		tail -n 20 "$TMP/udpd.err" >&2
	fi
	exit 1
}

skip() {
	echo "SKIP: $TEST_NAME: $*" >&2
	exit 77
}

ok() {
	PASSED=$((PASSED + 1))
	echo "ok $PASSED - $*"
}

# need TOOL...: skips (77) without one; under script/test, which installed
# them all (script/setup --test), a missing one is a failure.
need() {
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 && continue
		[ -n "${UDPD_TEST_TOOLS_INSTALLED:-}" ] &&
			fail "$tool is not installed (script/setup --test installs it)"
		skip "$tool is not installed"
	done
}

# wait_until SECONDS COMMAND...: polls COMMAND every 20 ms until it
# succeeds; returns 1 if it still fails after about SECONDS.
wait_until() {
	local tries=$(($1 * 50))
	shift
	until "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.02
	done
}

# start_udpd CONFIG [extra args...]: runs udpd -f, waits for its port file.
start_udpd() {
	local conf=$1
	shift
	rm -f "$PORT_FILE"
	"$UDPD" -f -c "$conf" "$@" 2>>"$TMP/udpd.err" &
	UDPD_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$PORT_FILE" ] && return 0
		kill -0 "$UDPD_PID" 2>/dev/null || fail "udpd exited at start"
		sleep 0.05
	done
	fail "udpd did not write $PORT_FILE"
}

# stop_udpd [SIGNAL]: stops udpd, checks it exits 0 on TERM.
stop_udpd() {
	local sig=${1:-TERM} rc=0
	[ -n "$UDPD_PID" ] || return 0
	kill -"$sig" "$UDPD_PID" 2>/dev/null
	wait "$UDPD_PID" || rc=$?
	UDPD_PID=
	LAST_EXIT=$rc
	# In the sanitizer build any report fails the test, wherever it came.
	if grep -q -e "ERROR: AddressSanitizer" -e "ERROR: LeakSanitizer" \
		-e "runtime error:" -e "WARNING: ThreadSanitizer" \
		"$TMP/udpd.err" 2>/dev/null; then
		fail "sanitizer report in udpd's stderr"
	fi
	return 0
}

# port SERVICE [FAMILY]: the port udpd bound for SERVICE (4 or 6).
port() {
	local svc=$1 fam=${2:-4} line
	if [ "$fam" = 6 ]; then
		line=$(grep "^$svc \[" "$PORT_FILE" | head -n1)
	else
		line=$(grep "^$svc [0-9]" "$PORT_FILE" | head -n1)
	fi
	[ -n "$line" ] || fail "no port for $svc (IPv$fam) in $PORT_FILE"
	echo "${line##*:}"
}

# metrics_port [PREFIX]: the port of the metrics endpoint whose address
# starts with PREFIX (default 127: the IPv4 loopback one), from the port file.
metrics_port() {
	local line
	line=$(grep "^@metrics ${1:-127}" "$PORT_FILE" | head -n1)
	[ -n "$line" ] || fail "no metrics address ${1:-127} in $PORT_FILE"
	echo "${line##*:}"
}

# udp HOST PORT: sends stdin as one datagram with nc -u, prints the reply.
udp() {
	nc -u -w1 "$1" "$2"
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected $(printf '%q' "$2"), got $(printf '%q' "$3")"
	ok "$1"
}

done_testing() {
	echo "$PASSED passed, 0 failed"
}

# hex: stdin as lower-case hex, no spaces (for byte-exact comparisons).
hex() {
	od -An -tx1 -v | tr -d ' \n'
}

# write_conf FILE: the standard test config (every service on port 0).
write_conf() {
	cat >"$1" <<CONF
daemon = { log_level = "debug"; };
services = (
  { name = "greet"; module = "greet"; listen = [ "127.0.0.1:0", "[::1]:0" ]; },
  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0", "[::1]:0" ]; },
  { name = "upper"; module = "upper"; listen = [ "127.0.0.1:0" ]; },
  { name = "time"; module = "time"; listen = [ "127.0.0.1:0" ]; utc = true; },
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0", "[::1]:0" ];
    log_file = "chat.log"; },
  { name = "stats"; module = "stats"; listen = [ "127.0.0.1:0" ]; },
  { name = "length"; module = "length"; listen = [ "127.0.0.1:0", "[::1]:0" ]; }
);
CONF
}

# hold_port SECONDS: binds a UDP port on 127.0.0.1 for SECONDS in the
# background (HOLDER_PID), and sets HELD_PORT to it, with no race.
hold_port() {
	rm -f "$TMP/held_port"
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
time.sleep(float(sys.argv[1]))' "$1" >"$TMP/held_port" &
	HOLDER_PID=$!
	for _ in $(seq 1 250); do
		[ -s "$TMP/held_port" ] && break
		sleep 0.02
	done
	HELD_PORT=$(cat "$TMP/held_port")
	[ -n "$HELD_PORT" ] || fail "could not hold a port"
}

# kernel_drops PORT: what the kernel dropped (full receive buffers) on
# every UDP socket bound to 127.0.0.1:PORT, summed (/proc/net/udp).
kernel_drops() {
	awk -v p="$(printf '0100007F:%04X' "$1")" \
		'$2 == p { n += $NF } END { print n + 0 }' /proc/net/udp
}

# ---- the metrics endpoint ----------------------------------------------------

# metrics_conf FILE [SETTINGS [SERVICES]]: daemon.metrics on 127.0.0.1:0
# with SETTINGS inside its group, and SERVICES (default: one echo service).
metrics_conf() {
	local echo='{ name = "echo"; module = "echo"; listen = [ "127.0.0.1:0" ]; }'
	cat >"$1" <<CONF
daemon = { metrics = { listen = [ "127.0.0.1:0" ]; ${2:-} }; };
services = ( ${3:-$echo} );
CONF
}

# scrape [URL]: the body of GET /metrics (the IPv4 loopback endpoint by
# default), or fail.
scrape() {
	curl -sS --max-time 5 "${1:-http://127.0.0.1:$(metrics_port)/metrics}" ||
		fail "curl ${1:-/metrics} failed"
}

# reload_and_wait: SIGHUP, then the port file the reload writes.
reload_and_wait() {
	rm -f "$PORT_FILE"
	kill -HUP "$UDPD_PID"
	wait_until 5 test -s "$PORT_FILE" || fail "no port file after reload"
}
