#!/bin/bash
# tests/systemd/run.sh - udpd as a real system service, in a throwaway Debian
# booted with systemd as PID 1.
#
# What it does, as root on a machine with debootstrap and systemd-nspawn:
#   1. builds udpd from a copy of this source tree (configure --prefix=/usr
#      --sysconfdir=/etc, make) in a scratch directory;
#   2. bootstraps a minimal Debian into a cache directory, once (later runs
#      reuse it), and copies it to the scratch directory, so runs never
#      pollute each other;
#   3. installs udpd into the copy with "make install DESTDIR=...";
#   4. boots it: systemd-nspawn -b --register=no --private-network;
#   5. from inside (nsenter -t <container PID 1> -a) checks that
#      "systemctl enable --now udpd" works, every shipped service answers
#      "nc -u", "systemctl reload udpd" applies an edited /etc/udpd.conf
#      (and a broken one changes nothing), the journal has the start-up
#      lines, logrotate works, socket activation through udpd.socket
#      works, and "systemctl stop" is clean;
#   6. powers the container off and removes the scratch directory.
#
# Output: one "ok N - ..." / "not ok N - ..." line per check, then
# "N passed, M failed".  Exit status 0 if everything passed, 1 otherwise,
# 77 (the automake "skip" status) when not root or a tool is missing.
#
# Usage: tests/systemd/run.sh [--prepare-cache] [--keep]
#   --prepare-cache  only build the cached root file system, then exit
#   --keep           keep the scratch directory (for a post-mortem)
# Environment:
#   UDPD_TEST_CACHE    cache directory (default /var/cache/udpd-test)
#   UDPD_TEST_SUITE    Debian suite (default bookworm)
#   UDPD_TEST_MIRROR   Debian mirror (default: the one apt uses here, read
#                      from /etc/apt/sources.list{,.d/*})
#   UDPD_TEST_TIMEOUT  limit for the whole run, seconds (default 900; a
#                      first run spends several minutes in debootstrap)
#   UDPD_TEST_BUILDDIR use this tree, already configured with --prefix=/usr
#                      --sysconfdir=/etc and built, instead of building one

# Functions run through check() and traps look unreachable to shellcheck;
# the sh -c scripts are single-quoted on purpose.
# shellcheck disable=SC2317,SC2016
set -u

: "${UDPD_TEST_TIMEOUT:=900}"
# The whole run is bounded: re-run ourselves under timeout(1).  The trap
# below cleans up when timeout sends SIGTERM.
if [ -z "${UDPD_SYSTEMD_TEST_BOUNDED:-}" ] && command -v timeout >/dev/null 2>&1; then
	export UDPD_SYSTEMD_TEST_BOUNDED=1
	exec timeout --kill-after=180 "$UDPD_TEST_TIMEOUT" bash "$0" "$@"
fi

PREPARE_ONLY=0
KEEP=0
for arg in "$@"; do
	case $arg in
	--prepare-cache) PREPARE_ONLY=1 ;;
	--keep) KEEP=1 ;;
	*) echo "usage: $0 [--prepare-cache] [--keep]" >&2; exit 2 ;;
	esac
done

SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
TEST_TITLE="systemd test"
# shellcheck source=tests/systemd/lib.sh
. "$SRCDIR/tests/systemd/lib.sh"

# ---- can we run at all? --------------------------------------------------

[ "$(id -u)" = 0 ] || skip "must run as root (it boots a container)"
for tool in debootstrap systemd-nspawn nsenter timeout flock make gcc \
    autoreconf pkg-config; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
[ -d /sys/fs/cgroup ] || skip "no cgroup file system"

if [ "$PREPARE_ONLY" = 1 ]; then
	prepare_cache || exit 1
	log "cache ready: $CACHED_ROOT"
	exit 0
fi

start_scratch

# ---- build ---------------------------------------------------------------

# Builds from a copy of the source tree (tracked and untracked, not ignored
# files), so a developer's own configured tree is neither used nor touched.
build_udpd() {
	local src=$WORK/src
	mkdir -p "$src"
	if git -C "$SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$SRCDIR" && git ls-files -z -c -o --exclude-standard |
		    xargs -0 cp --parents -a -t "$src" 2>/dev/null)
	else
		cp -a "$SRCDIR/." "$src/"
		[ -f "$src/Makefile" ] && make -C "$src" distclean >/dev/null 2>&1
	fi
	(
		set -e
		cd "$src"
		autoreconf -fi
		./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var
		make -j"$(nproc)"
	) >"$WORK/build.log" 2>&1
}

if [ -n "${UDPD_TEST_BUILDDIR:-}" ]; then
	BUILD=$(cd "$UDPD_TEST_BUILDDIR" && pwd)
	log "using the udpd built in $BUILD"
	build_udpd() {
		grep -q "^prefix = /usr\$" "$BUILD/Makefile" &&
		    grep -q "^sysconfdir = /etc\$" "$BUILD/Makefile" &&
		    make -C "$BUILD" >"$WORK/build.log" 2>&1
	}
else
	BUILD=$WORK/src
	log "building udpd in $BUILD"
fi
if build_udpd; then
	ok "udpd builds (configure --prefix=/usr --sysconfdir=/etc)"
else
	not_ok "udpd builds (configure --prefix=/usr --sysconfdir=/etc)"
	tail -n 30 "$WORK/build.log" | sed 's/^/#   /'
	finish
fi

if prepare_cache; then
	ok "cached Debian $SUITE root file system ready"
else
	not_ok "cached Debian $SUITE root file system ready"
	finish
fi

log "copying the cached root file system"
# A shared lock: no other run may rebuild the cache while we copy it.
flock -s -w 1200 "$CACHE/.lock" cp -a --reflink=auto "$CACHED_ROOT" "$ROOT" ||
    { not_ok "copy the cached root file system"; finish; }

if make -C "$BUILD" install DESTDIR="$ROOT" >"$WORK/install.log" 2>&1; then
	ok "make install DESTDIR=<container root>"
else
	not_ok "make install DESTDIR=<container root>"
	tail -n 20 "$WORK/install.log" | sed 's/^/#   /'
	finish
fi

# udpd is built on this machine and run in the container: both must be the
# same Debian release (or at least agree on the libraries).
if version=$(chroot "$ROOT" /usr/sbin/udpd -V 2>&1); then
	ok "the installed udpd runs against the container's libraries ($version)"
else
	not_ok "the installed udpd runs against the container's libraries"
	printf '%s\n' "$version" | sed 's/^/#   /'
	log "build on a $SUITE host, or set UDPD_TEST_SUITE to this host's release"
	finish
fi

# Where the units landed (the unit directory comes from pkg-config).
find_unit() {
	local d
	for d in usr/lib/systemd/system lib/systemd/system etc/systemd/system; do
		[ -f "$ROOT/$d/$1" ] && { echo "$ROOT/$d/$1"; return 0; }
	done
	return 1
}
for unit in udpd.service udpd.socket; do
	if path=$(find_unit "$unit"); then
		ok "make install installs $unit (${path#"$ROOT"})"
	else
		# Go on with the checks anyway, from the source tree.
		not_ok "make install installs $unit"
		src_unit=$SRCDIR/systemd/$unit.in
		[ -f "$src_unit" ] || src_unit=$SRCDIR/systemd/$unit
		[ -f "$src_unit" ] && sed -e 's|@sbindir@|/usr/sbin|g' \
		    -e 's|@sysconfdir@|/etc|g' "$src_unit" \
		    >"$ROOT/etc/systemd/system/$unit"
	fi
done
if [ -f "$ROOT/etc/logrotate.d/udpd" ]; then
	ok "make install installs /etc/logrotate.d/udpd"
	HAVE_LOGROTATE_CONF=1
else
	not_ok "make install installs /etc/logrotate.d/udpd"
	HAVE_LOGROTATE_CONF=0
	if [ -f "$SRCDIR/etc/logrotate.d/udpd" ]; then
		mkdir -p "$ROOT/etc/logrotate.d"
		cp "$SRCDIR/etc/logrotate.d/udpd" "$ROOT/etc/logrotate.d/udpd"
		HAVE_LOGROTATE_CONF=1
	fi
fi

# ---- boot ----------------------------------------------------------------

boot_container


# ---- the unit as shipped -------------------------------------------------

# verify exits 0 even when it warns: its output is what counts.  The
# container has no man(1): Documentation= is checked by file name instead.
verify=$(ct systemd-analyze verify --man=no udpd.service udpd.socket 2>&1)
if [ -z "$verify" ]; then
	ok "systemd-analyze verify udpd.service udpd.socket: no warnings"
else
	not_ok "systemd-analyze verify udpd.service udpd.socket: no warnings"
	printf '%s\n' "$verify" | sed 's/^/#   /'
fi
for page in $(ct systemctl show -p Documentation --value udpd.service | tr -d '"'); do
	case $page in
	man:*\(*\))
		name=${page#man:}; sect=${name#*(}; sect=${sect%)}; name=${name%(*}
		check "man page $name($sect) (Documentation=) is installed" \
		    ct sh -c "ls /usr/share/man/man$sect/$name.$sect* >/dev/null 2>&1"
		;;
	esac
done
exposure=$(ct systemd-analyze security udpd.service 2>&1 |
    sed -n 's/.*Overall exposure level for udpd.service: \([0-9.]*\).*/\1/p')
if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }'; then
	ok "systemd-analyze security udpd.service: exposure $exposure <= 1.5"
else
	not_ok "systemd-analyze security udpd.service: exposure '$exposure' <= 1.5"
fi

# ---- enable --now --------------------------------------------------------

check "systemctl enable --now udpd" ct -t 60 systemctl enable --now udpd
expect "udpd.service is active" active "$(ct systemctl is-active udpd)"
expect "udpd.service is enabled" enabled "$(ct systemctl is-enabled udpd)"
status_text=$(ct systemctl show -p StatusText --value udpd)
if [ -n "$status_text" ]; then
	ok "udpd reports its status to systemd (STATUS=$status_text)"
else
	not_ok "udpd reports its status to systemd (StatusText is empty)"
fi
MAINPID=$(ct systemctl show -p MainPID --value udpd)
if [ -n "$MAINPID" ] && [ "$MAINPID" != 0 ]; then
	status=$(ct cat "/proc/$MAINPID/status")
	uid=$(printf '%s\n' "$status" | awk '$1 == "Uid:" { print $2 }')
	capeff=$(printf '%s\n' "$status" | awk '$1 == "CapEff:" { print $2 }')
	if [ -n "$uid" ] && [ "$uid" != 0 ]; then
		ok "udpd runs as an unprivileged dynamic user (uid $uid)"
	else
		not_ok "udpd runs as an unprivileged dynamic user (uid '$uid')"
	fi
	# CAP_NET_BIND_SERVICE is bit 10.
	expect "udpd's only capability is CAP_NET_BIND_SERVICE" \
	    0000000000000400 "$capeff"
else
	not_ok "udpd has a main PID"
fi

# ---- every shipped service answers ---------------------------------------

expect "greet 127.0.0.1:6000" "Hello Alice!" "$(ask 127.0.0.1 6000 Alice)"
expect "greet [::1]:6000" "Hello Alice!" "$(ask ::1 6000 Alice)"
expect "echo 127.0.0.1:6001" "echo me" "$(ask 127.0.0.1 6001 'echo me')"
expect "echo [::1]:6001" "echo me" "$(ask ::1 6001 'echo me')"
expect "upper 127.0.0.1:6002" "SHOUT 42!" "$(ask 127.0.0.1 6002 'shout 42!')"
expect "upper [::1]:6002" "SHOUT 42!" "$(ask ::1 6002 'shout 42!')"
reply=$(ask 127.0.0.1 6003 '%Y-%m-%d')
case $reply in
"$(ct date +%Y-%m-%d)" | "$(ct date -u +%Y-%m-%d)") ok "time 127.0.0.1:6003 (format %Y-%m-%d)" ;;
*) not_ok "time 127.0.0.1:6003 (format %Y-%m-%d): got $(printf %q "$reply")" ;;
esac
reply=$(ask ::1 6003 '%Y')
case $reply in
"$(ct date +%Y)" | "$(ct date -u +%Y)") ok "time [::1]:6003 (format %Y)" ;;
*) not_ok "time [::1]:6003 (format %Y): got $(printf %q "$reply")" ;;
esac
chat1=$(ask 127.0.0.1 6004 'hello from the systemd test')
expect_re "chat 127.0.0.1:6004 acknowledges" '^ok [0-9]+$' "$chat1"
chat2=$(ask ::1 6004 'second message')
expect_re "chat [::1]:6004 acknowledges" '^ok [0-9]+$' "$chat2"
seq1=${chat1#ok }
seq2=${chat2#ok }
expect "chat sequence numbers follow each other" $((seq1 + 1)) "$seq2"
CHATLOG=$(ct sh -c 'ls /var/lib/udpd/*.log 2>/dev/null | head -n 1')
if [ -n "$CHATLOG" ]; then
	expect_re "chat log $CHATLOG (in the state directory) has the message" \
	    "^$seq1 [0-9T:.-]+Z 127\.0\.0\.1:[0-9]+ hello from the systemd test" \
	    "$(ct grep "^$seq1 " "$CHATLOG")"
else
	not_ok "chat log in /var/lib/udpd (StateDirectory)"
fi
if grep -Eq 'module[[:space:]]*=[[:space:]]*"stats"' "$ROOT/etc/udpd.conf"; then
	expect_re "stats 127.0.0.1:6005 answers JSON" '^\{"uptime": ?[0-9.]+,.*"services"' \
	    "$(ask 127.0.0.1 6005 '')"
	expect_re "stats counts the greet requests" \
	    '"greet": ?\{[^}]*"requests": ?[1-9]' "$(ask ::1 6005 '')"
else
	skip_check "stats: no stats service in the shipped udpd.conf yet"
	skip_check "stats counts the greet requests"
fi

# SNTP: a 48-byte mode-3 (client) request, version 4, whose transmit
# timestamp (bytes 40-47) must come back as the origin (bytes 24-31).
sntp=$(ct -t 15 sh -c 'printf "\043\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\001\002\003\004\005\006\007\010" |
    nc -u -w1 127.0.0.1 6006 | od -An -v -tx1' | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
# shellcheck disable=SC2086  # one byte per word
set -- $sntp
if [ $# = 48 ] && [ "$1" = 24 ] && [ "$2" = 0a ] &&
    [ "${25} ${26} ${27} ${28} ${29} ${30} ${31} ${32}" = "01 02 03 04 05 06 07 08" ]; then
	ok "sntp 127.0.0.1:6006: 48-byte mode-4 reply, stratum 10, origin copied"
else
	not_ok "sntp 127.0.0.1:6006: 48-byte mode-4 reply, stratum 10, origin copied"
	log "  got ($# bytes): $sntp"
fi
set --
# RFC 868: four bytes, big-endian seconds since 1900.
rfc868=$(ct -t 15 sh -c 'echo | nc -u -w1 ::1 6007 | od -An -v -tu1' |
    awk '{ for (i = 1; i <= NF; i++) { v = v * 256 + $i; n++ } }
	END { if (n == 4) print v - 2208988800 }')
now=$(ct date +%s)
if [ -n "$rfc868" ] && [ $((rfc868 - now)) -le 5 ] && [ $((now - rfc868)) -le 5 ]; then
	ok "rfc868 [::1]:6007: 4 bytes, the current time"
else
	not_ok "rfc868 [::1]:6007: 4 bytes, the current time (got '$rfc868', now $now)"
fi
expect_re "daytime 127.0.0.1:6008: a date line" "$(ct date -u +%Y)" \
    "$(ask 127.0.0.1 6008 '')"

# ---- the journal ---------------------------------------------------------

ct journalctl --sync >/dev/null 2>&1
journal=$(ct journalctl -u udpd -o cat --no-pager _PID="$MAINPID")
expect_re "journal: udpd logged its bound addresses" 'listening' "$journal"
expect_re "journal: udpd logged that it started" 'started' "$journal"
expect "journal: the start-up line is there once, not also from stderr" 1 \
    "$(printf '%s\n' "$journal" | grep -c 'started')"

# ---- reload --------------------------------------------------------------

# Waits (bounded) until greet answers $2 for "Alice", or fails.
wait_greeting() {
	local reply
	for _ in $(seq 1 20); do
		reply=$(ask 127.0.0.1 6000 Alice)
		[ "$reply" = "$1" ] && return 0
		sleep 0.25
	done
	log "  greet still answers $(printf %q "$reply")"
	return 1
}

conf=$ROOT/etc/udpd.conf
cp "$conf" "$WORK/udpd.conf.orig"
if grep -q 'greeting' "$conf"; then
	sed -i 's/greeting[[:space:]]*=[[:space:]]*"[^"]*"/greeting = "Howdy %s!"/' "$conf"
else
	sed -i 's/module[[:space:]]*=[[:space:]]*"greet"[[:space:]]*;/& greeting = "Howdy %s!";/' "$conf"
fi
check "systemctl reload udpd (after editing greet's greeting)" \
    ct -t 60 systemctl reload udpd
check "reload took effect: greet answers 'Howdy Alice!'" wait_greeting "Howdy Alice!"
expect "a reload keeps the process (same MainPID)" "$MAINPID" \
    "$(ct systemctl show -p MainPID --value udpd)"
expect "udpd.service is active after the reload" active "$(ct systemctl is-active udpd)"

echo 'services = ( this is not a configuration' >>"$conf"
if ct -t 60 systemctl reload udpd 2>/dev/null; then
	not_ok "systemctl reload fails on a broken udpd.conf"
else
	ok "systemctl reload fails on a broken udpd.conf"
fi
expect "... and the old configuration keeps serving" "Howdy Alice!" \
    "$(ask 127.0.0.1 6000 Alice)"
expect "... in the same process" "$MAINPID" \
    "$(ct systemctl show -p MainPID --value udpd)"
cp "$WORK/udpd.conf.orig" "$conf"
check "reload with the shipped udpd.conf again" ct -t 60 systemctl reload udpd
check "greet answers 'Hello Alice!' again" wait_greeting "Hello Alice!"

# ---- log rotation --------------------------------------------------------

if [ "$HAVE_LOGROTATE_CONF" = 1 ] && [ -n "$CHATLOG" ]; then
	check "logrotate -f /etc/logrotate.d/udpd" \
	    ct -t 60 logrotate -f /etc/logrotate.d/udpd
	check "the old chat log was rotated to $CHATLOG.1" ct test -s "$CHATLOG.1"
	chat3=$(ask 127.0.0.1 6004 'after rotation')
	expect "chat after rotation continues the sequence" "ok $((seq2 + 1))" "$chat3"
	expect_re "the message went to the new $CHATLOG" \
	    "^$((seq2 + 1)) .* after rotation$" "$(ct cat "$CHATLOG")"
	# Rotation is no reload: a staged edit of udpd.conf stays unapplied.
	cp "$conf" "$WORK/udpd.conf.good"
	sed -i 's/greeting[[:space:]]*=[[:space:]]*"[^"]*"/greeting = "Staged %s!"/' "$conf"
	ct -t 60 logrotate -f /etc/logrotate.d/udpd >/dev/null 2>&1
	expect "a rotation leaves a staged edit of udpd.conf unapplied" "Hello Alice!" \
	    "$(ask 127.0.0.1 6000 Alice)"
	# A rotation while udpd.conf is broken: the chat log is reopened all
	# the same (the configuration is not read).
	cp "$WORK/udpd.conf.good" "$conf"
	echo 'services = ( this is not a configuration' >>"$conf"
	check "logrotate -f with a broken udpd.conf" \
	    ct -t 60 logrotate -f /etc/logrotate.d/udpd
	chat3b=$(ask 127.0.0.1 6004 'rotated while the config was broken')
	seq3=${chat3#ok }
	expect "chat still acknowledges, next seq" "ok $((seq3 + 1))" "$chat3b"
	expect_re "... and writes to the new $CHATLOG, not the rotated one" \
	    "^$((seq3 + 1)) .* rotated while the config was broken$" \
	    "$(ct cat "$CHATLOG")" || journal_tail
	cp "$WORK/udpd.conf.good" "$conf"
	expect "udpd.service still active" active "$(ct systemctl is-active udpd)"
	# A restart right after a rotation: the live log is empty, yet the
	# sequence must go on (it continues across restarts).
	ct -t 60 logrotate -f /etc/logrotate.d/udpd >/dev/null 2>&1
	check "systemctl restart udpd right after a rotation" \
	    ct -t 60 systemctl restart udpd
	chat3c=$(ask 127.0.0.1 6004 'after rotation and restart')
	expect "chat sequence continues across rotation + restart" \
	    "ok $((${chat3b#ok } + 1))" "$chat3c"
else
	skip_check "logrotate: no /etc/logrotate.d/udpd or no chat log"
fi

# ---- Restart=on-failure, and acknowledged messages survive kill -9 ------

# wait_restarted OLDPID: until udpd.service is active again with a new main PID.
wait_restarted() {
	local pid
	for _ in $(seq 1 40); do
		pid=$(ct systemctl show -p MainPID --value udpd)
		[ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != "$1" ] &&
		    [ "$(ct systemctl is-active udpd)" = active ] && return 0
		sleep 0.25
	done
	return 1
}
chat4=$(ask 127.0.0.1 6004 'just before kill -9')
MAINPID=$(ct systemctl show -p MainPID --value udpd)
# Judged by what it did (a new MainPID, the acknowledged message kept),
# not by systemctl's status: with the hybrid cgroup layout it can say EIO
# for the unit's other processes although the kill worked.
ct systemctl kill -s KILL udpd >/dev/null 2>&1 || true
check "kill -9: Restart=on-failure brings udpd back (a new MainPID)" \
    wait_restarted "$MAINPID"
chat5=$(ask 127.0.0.1 6004 'after kill -9')
expect "chat after kill -9 continues the sequence (${chat4:-no ack} was kept)" \
    "ok $((${chat4#ok } + 1))" "$chat5"
expect_re "the message acknowledged before kill -9 is in the log" \
    "^${chat4#ok } .* just before kill -9$" "$(ct cat "${CHATLOG:-/dev/null}")"

# ---- stop ----------------------------------------------------------------

check "systemctl stop udpd" ct -t 60 systemctl stop udpd
expect "udpd.service is inactive (not failed) after stop" inactive \
    "$(ct systemctl is-active udpd)"
expect "udpd exited with status 0" "0" \
    "$(ct systemctl show -p ExecMainStatus --value udpd)"

# ---- socket activation ---------------------------------------------------

check "systemctl start udpd.socket" ct -t 60 systemctl start udpd.socket
expect "udpd.socket is active (listening)" active "$(ct systemctl is-active udpd.socket)"
expect "udpd.service is not running before the first datagram" inactive \
    "$(ct systemctl is-active udpd)"
expect "the first datagram starts udpd, which answers it" "Hello Bob!" \
    "$(ask -w 5 127.0.0.1 6000 Bob)"
expect "udpd.service is active after socket activation" active \
    "$(ct systemctl is-active udpd)"
expect "greet [::1]:6000 (passed socket) answers" "Hello Alice!" "$(ask ::1 6000 Alice)"
expect "echo 127.0.0.1:6001 answers" "echo me" "$(ask 127.0.0.1 6001 'echo me')"
MAINPID=$(ct systemctl show -p MainPID --value udpd)
ct journalctl --sync >/dev/null 2>&1
journal=$(ct journalctl -u udpd -o cat --no-pager _PID="$MAINPID")
expect_re "journal: the socket-activated udpd started" 'started' "$journal"
# udpd.socket matches the shipped udpd.conf: every passed socket is taken,
# so this instance has nothing to warn about.
warnings=$(ct journalctl -u udpd -o cat --no-pager -p warning _PID="$MAINPID")
expect "the socket-activated udpd logged no warning (every passed socket used)" \
    "" "$warnings"

check "systemctl stop udpd udpd.socket" ct -t 60 systemctl stop udpd udpd.socket
expect "udpd.service inactive" inactive "$(ct systemctl is-active udpd)"
expect "udpd.socket inactive" inactive "$(ct systemctl is-active udpd.socket)"
expect "udpd exited with status 0 after socket activation" "0" \
    "$(ct systemctl show -p ExecMainStatus --value udpd)"
# A passed socket that matches no service is reported, and the rest work.
mkdir -p "$ROOT/etc/systemd/system/udpd.socket.d"
printf '[Socket]\nListenDatagram=127.0.0.1:6099\n' \
    >"$ROOT/etc/systemd/system/udpd.socket.d/extra.conf"
ct systemctl daemon-reload
check "systemctl start udpd.socket (with an extra ListenDatagram=)" \
    ct -t 60 systemctl start udpd.socket
expect "udpd answers through the other passed sockets" "Hello Carol!" \
    "$(ask -w 5 127.0.0.1 6000 Carol)"
MAINPID=$(ct systemctl show -p MainPID --value udpd)
ct journalctl --sync >/dev/null 2>&1
expect_re "udpd warns about the passed socket that matches no service" \
    'matches no' "$(ct journalctl -u udpd -o cat --no-pager _PID="$MAINPID")" ||
    journal_tail
check "systemctl stop udpd udpd.socket (again)" \
    ct -t 60 systemctl stop udpd udpd.socket
rm -r "$ROOT/etc/systemd/system/udpd.socket.d"
ct systemctl daemon-reload

failed=$(ct systemctl list-units --failed --no-legend --plain 'udpd*')
expect "no failed udpd units" "" "$failed"
journal=$(ct journalctl -u udpd -u udpd.socket -o cat --no-pager -p warning)
if [ -z "$journal" ]; then
	ok "no warnings or errors from udpd in the journal"
else
	# Reported, not failed: the broken reload above is expected to warn.
	ok "udpd's journal warnings (the broken reload is expected to warn):"
	printf '%s\n' "$journal" | sed 's/^/#   /' | head -n 20
fi

poweroff_container

finish
