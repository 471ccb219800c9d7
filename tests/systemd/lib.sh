# shellcheck shell=bash
# tests/systemd/lib.sh - shared by the tests that boot udpd in a throwaway
# Debian with systemd as PID 1 (sourced, bash): tests/systemd/run.sh (udpd
# installed with "make install") and tests/deb/run.sh (udpd installed from
# its Debian package).
#
# It provides: the cached root file system (prepare_cache; both tests share
# one cache), TAP-ish reporting (ok, not_ok, check, expect, expect_re,
# finish), a scratch directory removed on exit (start_scratch), booting a
# copy of the root (boot_container), running commands in it (ct, ask) and
# powering it off (poweroff_container).
#
# The sourcing script sets TEST_TITLE (for its skip message), KEEP (1 keeps
# the scratch directory) and UDPD_TEST_TIMEOUT (named when interrupted).
# Environment: UDPD_TEST_CACHE, UDPD_TEST_SUITE, UDPD_TEST_MIRROR, as
# described in tests/systemd/run.sh.

# Functions run through check() and traps look unreachable to shellcheck;
# the sh -c scripts are single-quoted on purpose.
# shellcheck disable=SC2317,SC2016,SC2034

SUITE=${UDPD_TEST_SUITE:-bookworm}
CACHE=${UDPD_TEST_CACHE:-/var/cache/udpd-test}
CACHED_ROOT=$CACHE/rootfs-$SUITE
# What udpd needs at run time (the Debian package pulls in the same
# libraries), and what the checks use: man-db for "man udpd".
PACKAGES="libevent-2.1-7 libevent-pthreads-2.1-7 libconfig9 libsystemd0"
PACKAGES="$PACKAGES netcat-openbsd systemd systemd-sysv dbus logrotate"
PACKAGES="$PACKAGES libhiredis0.14 libssl3 libevent-openssl-2.1-7 libnettle8 man-db"
CACHE_STAMP="udpd-test-cache 1 $SUITE $PACKAGES"

skip() {
	echo "SKIP: $TEST_TITLE: $*"
	exit 77
}

log() {
	echo "# $*"
}

# ---- the Debian mirror apt uses on this machine --------------------------

# Prints the first URI of an enabled apt source for suite $SUITE (one-line
# .list or deb822 .sources format), so no host name lives in the repository.
apt_mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v suite="$SUITE" '
			$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
				if ($(i + 1) == suite) { print $i; exit }
			}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v suite="$SUITE" '
			function flush() {
				if (enabled && deb && uri != "" && has) { print uri; found = 1 }
				enabled = 1; deb = 0; uri = ""; has = 0
			}
			BEGIN { enabled = 1 }
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); if (found) exit; next }
			tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
			tolower($1) == "uris:" { uri = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
			tolower($1) == "enabled:" { enabled = ($2 != "no") }
			END { if (!found) flush() }' "$f"
	done
}

# ---- the cached root file system -----------------------------------------

cache_ready() {
	[ -f "$CACHED_ROOT/.udpd-test-cache" ] &&
	    [ "$(cat "$CACHED_ROOT/.udpd-test-cache")" = "$CACHE_STAMP" ]
}

# Builds $CACHED_ROOT once: debootstrap into a temporary directory, then a
# rename, so an interrupted build never leaves a half-made cache behind.
prepare_cache() {
	local mirror proxy new="$CACHED_ROOT.new"

	mkdir -p "$CACHE" || return 1
	exec 9>"$CACHE/.lock"
	if ! flock -w 1200 9; then
		echo "cannot lock $CACHE/.lock" >&2
		return 1
	fi
	if cache_ready; then
		exec 9>&-
		return 0
	fi
	mirror=${UDPD_TEST_MIRROR:-$(apt_mirror | head -n 1)}
	if [ -z "$mirror" ]; then
		echo "no apt source for $SUITE found in /etc/apt; set UDPD_TEST_MIRROR" >&2
		return 1
	fi
	# debootstrap fetches with wget: hand it apt's proxy, if any.
	if [ -z "${http_proxy:-}" ] && command -v apt-config >/dev/null; then
		proxy=$(apt-config shell P Acquire::http::Proxy 2>/dev/null |
		    sed -n "s/^P='\(.*\)'$/\1/p")
		[ -n "$proxy" ] && export http_proxy=$proxy
	fi
	log "bootstrapping Debian $SUITE from $mirror into $CACHED_ROOT (once)"
	rm -rf --one-file-system "$new" "$CACHED_ROOT"
	if ! debootstrap --variant=minbase \
	    --include="${PACKAGES// /,}" \
	    "$SUITE" "$new" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
		echo "debootstrap failed; last lines of $CACHE/debootstrap.log:" >&2
		tail -n 20 "$CACHE/debootstrap.log" >&2
		rm -rf --one-file-system "$new"
		return 1
	fi
	echo udpd-test >"$new/etc/hostname"
	: >"$new/etc/machine-id"	# first boot makes one per copy
	rm -f "$new"/var/cache/apt/archives/*.deb
	echo "$CACHE_STAMP" >"$new/.udpd-test-cache"
	mv "$new" "$CACHED_ROOT"
	exec 9>&-
}

# ---- TAP-ish reporting ---------------------------------------------------

N=0
PASSED=0
FAILED=0

ok() {
	N=$((N + 1)); PASSED=$((PASSED + 1))
	echo "ok $N - $*"
}

not_ok() {
	N=$((N + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $*"
}

skip_check() {
	N=$((N + 1))
	echo "ok $N - # SKIP $*"
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.25 s until it
# succeeds; 1 if it still fails after about SECONDS (as tests/lib.sh's).
wait_until() {
	local tries=$(($1 * 4))
	shift
	until "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.25
	done
}

# check DESCRIPTION COMMAND...: one check, passed when COMMAND succeeds;
# its output is shown (as comments) when it fails.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/#   /'
	fi
}

# expect DESCRIPTION EXPECTED ACTUAL
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		log "  expected: $(printf %q "$2")"
		log "  got:      $(printf %q "$3")"
	fi
}

# expect_re DESCRIPTION EXTENDED-REGEX ACTUAL
expect_re() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then
		ok "$1"
	else
		not_ok "$1"
		log "  expected to match: $2"
		log "  got: $(printf %q "$3")"
		return 1
	fi
}

# journal_tail: the last lines of udpd's journal, as comments.
journal_tail() {
	ct journalctl -u udpd -n 15 -o short-monotonic --no-pager 2>&1 |
	    sed 's/^/#   journal: /'
}

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
	exit $?
}

# ---- scratch directory and cleanup ---------------------------------------

# start_scratch: makes $WORK (and names $ROOT, the container root in it),
# removed on exit, with the container stopped first.
start_scratch() {
	mkdir -p "$CACHE" || exit 1
	WORK=$(mktemp -d "$CACHE/run.XXXXXX") || exit 1
	ROOT=$WORK/rootfs
	NSPAWN_PID=
	CT_PID=
	trap cleanup EXIT
	trap 'not_ok "interrupted (signal, or the ${UDPD_TEST_TIMEOUT}s time limit)"; finish' INT TERM
}

cleanup() {
	local m
	trap - EXIT INT TERM
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		# SIGTERM makes nspawn ask the container's systemd to power off.
		kill -TERM "$NSPAWN_PID" 2>/dev/null
		for _ in $(seq 1 30); do
			kill -0 "$NSPAWN_PID" 2>/dev/null || break
			sleep 1
		done
		kill -KILL "$NSPAWN_PID" 2>/dev/null
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	# nspawn leaves this behind when /run is not a tmpfs.
	[ -n "${MACHINE:-}" ] &&
	    rmdir "/run/systemd/nspawn/propagate/$MACHINE" 2>/dev/null
	# Nothing may stay mounted below the scratch directory before removal.
	grep -F " $WORK" /proc/self/mounts | awk '{ print $2 }' | sort -r |
	    while read -r m; do umount -l "$m" 2>/dev/null; done
	if [ "$KEEP" = 1 ]; then
		log "kept $WORK"
	else
		rm -rf --one-file-system "$WORK"
	fi
}

# ---- boot ----------------------------------------------------------------

# The container's PID 1 is the child of the nspawn process that is PID 1
# in its own PID namespace (the last NSpid field).  nspawn has another,
# short-lived child while it sets up: wait until systemd runs there.
find_ct_pid() {
	local p
	# shellcheck disable=SC2013  # one PID per word
	for p in $(cat "/proc/$NSPAWN_PID/task/$NSPAWN_PID/children" 2>/dev/null); do
		if awk '$1 == "NSpid:" && $NF == 1 { f = 1 } END { exit !f }' \
		    "/proc/$p/status" 2>/dev/null &&
		    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# ct [-t SECONDS] COMMAND...: runs COMMAND inside the container.
ct() {
	local t=30
	if [ "$1" = -t ]; then t=$2; shift 2; fi
	timeout --kill-after=5 "$t" nsenter -t "$CT_PID" -a -r -w \
	    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	    SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# ask [-w SECONDS] HOST PORT TEXT: sends TEXT plus "\n" in one datagram and
# prints the reply; tries three times, as UDP may lose a datagram.
ask() {
	local w=1 reply
	if [ "$1" = -w ]; then w=$2; shift 2; fi
	for _ in 1 2 3; do
		reply=$(ct -t $((w + 10)) sh -c 'printf "%s\n" "$1" |
		    nc -u -w "$2" "$3" "$4"' sh "$3" "$w" "$1" "$2")
		[ -n "$reply" ] && break
	done
	printf '%s' "$reply"
}

# boot_container: boots $ROOT (no network: --private-network), sets
# NSPAWN_PID and CT_PID, and waits for the end of the boot; one check.
boot_container() {
	local state
	log "booting the container"
	# --register=no --keep-unit: no machined and no transient scope, so no
	# D-Bus is needed on the host (which need not run systemd at all).
	MACHINE=udpd-test-$$
	systemd-nspawn -q -D "$ROOT" -b --register=no --keep-unit --private-network \
	    --machine="$MACHINE" --console=pipe \
	    </dev/null >"$WORK/console.log" 2>&1 &
	NSPAWN_PID=$!

	for _ in $(seq 1 100); do
		CT_PID=$(find_ct_pid) && break
		kill -0 "$NSPAWN_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$CT_PID" ]; then
		not_ok "container boots"
		sed 's/^/#   /' "$WORK/console.log" | tail -n 30
		finish
	fi
	log "container PID 1 is host PID $CT_PID"

	# "offline" until the container's systemd listens; then --wait waits for
	# the end of the boot.
	for _ in $(seq 1 120); do
		state=$(ct -t 10 systemctl is-system-running 2>/dev/null)
		[ -n "$state" ] && [ "$state" != offline ] && break
		sleep 0.5
	done
	state=$(ct -t 120 systemctl is-system-running --wait 2>&1)
	case $state in
	running) ok "container booted: systemctl is-system-running = running" ;;
	degraded)
		# A container may lack a device or two: say which, do not fail udpd.
		ok "container booted: systemctl is-system-running = degraded"
		ct systemctl --failed --no-legend --plain | sed 's/^/#   failed: /'
		;;
	*)
		not_ok "container booted (is-system-running: $state)"
		sed 's/^/#   /' "$WORK/console.log" | tail -n 30
		finish
		;;
	esac
}

# poweroff_container: "systemctl poweroff" and wait for nspawn; one check.
poweroff_container() {
	ct -t 30 systemctl poweroff >/dev/null 2>&1
	for _ in $(seq 1 60); do
		kill -0 "$NSPAWN_PID" 2>/dev/null || break
		sleep 1
	done
	if kill -0 "$NSPAWN_PID" 2>/dev/null; then
		not_ok "container powers off within 60 s"
	else
		wait "$NSPAWN_PID"
		expect "container powered off cleanly (nspawn exit status)" 0 "$?"
		NSPAWN_PID=
	fi
}
