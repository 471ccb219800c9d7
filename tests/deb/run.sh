#!/bin/bash
# tests/deb/run.sh - udpd's Debian package in a booted Debian:
# build, lintian, install, boot, upgrade, remove, purge.
#
# What it does, as root on a Debian host of the container's release:
#   1. builds the package from a copy of this source tree (tracked and
#      untracked, not ignored files) with "dpkg-buildpackage -b -us -uc",
#      and a second, newer one ("dch -l +upgrade", unit tests skipped) from
#      another copy, for the upgrade; the source tree is not touched;
#   2. runs lintian on the first build's .changes: no error, no warning;
#   3. copies the cached root file system of tests/systemd (made once by
#      debootstrap) and installs the .deb into it with apt, before the
#      boot (apt may fetch missing dependencies: the booted container has
#      no network);
#   4. boots it (systemd-nspawn -b --private-network) and checks that
#      udpd.service is enabled and active (udpd.socket neither), the
#      services answer "nc -u", "man udpd" renders; the group udpd-keys,
#      /etc/udpd's owner and mode, udpd's group; "systemctl reload" exits
#      0 for a good edit and non-zero, the old configuration serving, for
#      a port in use, a read-only log path, an unreadable password file or
#      key file (which chgrp udpd-keys + chmod 0640 fixes at the next
#      reload); logrotate reopens the chat log without applying a staged
#      edit; IPv6 disabled in the container's network namespace, the
#      shipped config serves IPv4; a broken config at start is "failed"
#      within 30 s, exit 78, not restarted, its error last in the journal;
#      a crash still restarts, a crash loop ends in "failed";
#   5. edits /etc/udpd.conf, upgrades to the newer package, checks that the
#      edit is kept and the daemon restarted (a new MainPID) with it;
#   6. switches to socket activation and upgrades again (--reinstall): the
#      administrator's choice of units stays, the daemon restarts;
#   7. removes the package (udpd and the socket stop; the configuration
#      stays), purges it (configuration and state go; /etc/udpd, which
#      holds a file added by hand, stays, and purge says so, as it says
#      the group stays), powers off.
#
# Output: "ok N - ..." / "not ok N - ..." per check, then "N passed, M
# failed".  Exit status 0 if everything passed, 1 otherwise, 77 (skip)
# when not root, a tool or a build dependency is missing, or the host is
# not the container's Debian release.
#
# Usage: tests/deb/run.sh [--keep]     (--keep: keep the scratch directory)
# Environment: UDPD_TEST_TIMEOUT (seconds, default 900) and the cache
# settings of tests/systemd/run.sh (UDPD_TEST_CACHE, UDPD_TEST_SUITE,
# UDPD_TEST_MIRROR).

# Functions run through check() and traps look unreachable to shellcheck;
# the sh -c scripts are single-quoted on purpose.
# shellcheck disable=SC2317,SC2016
set -u

: "${UDPD_TEST_TIMEOUT:=900}"
if [ -z "${UDPD_DEB_TEST_BOUNDED:-}" ] && command -v timeout >/dev/null 2>&1; then
	export UDPD_DEB_TEST_BOUNDED=1
	exec timeout --kill-after=180 "$UDPD_TEST_TIMEOUT" bash "$0" "$@"
fi

KEEP=0
for arg in "$@"; do
	case $arg in
	--keep) KEEP=1 ;;
	*) echo "usage: $0 [--keep]" >&2; exit 2 ;;
	esac
done

SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
TEST_TITLE="package test"
# shellcheck source=tests/systemd/lib.sh
. "$SRCDIR/tests/systemd/lib.sh"

# ---- can we run at all? --------------------------------------------------

[ "$(id -u)" = 0 ] || skip "must run as root (it boots a container)"
for tool in dpkg-buildpackage dpkg-checkbuilddeps dpkg-parsechangelog \
    dpkg-architecture dh dch lintian debootstrap systemd-nspawn nsenter \
    timeout flock; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done
[ -d /sys/fs/cgroup ] || skip "no cgroup file system"
# The package is built here and run there: same release, same libraries.
host_suite=$( (. /etc/os-release && echo "${VERSION_CODENAME:-}") 2>/dev/null)
[ "$host_suite" = "$SUITE" ] ||
    skip "the host is '${host_suite:-not Debian}', the container Debian $SUITE (set UDPD_TEST_SUITE)"
unmet=$(cd "$SRCDIR" && dpkg-checkbuilddeps 2>&1) ||
    skip "build dependencies missing (script/setup --test installs them): $unmet"

start_scratch

# ---- build ---------------------------------------------------------------

# copy_tree DIR: the source tree as git has it (no build products), or the
# whole directory of an unpacked tarball.
copy_tree() {
	mkdir -p "$1"
	if git -C "$SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$SRCDIR" && git ls-files -z -c -o --exclude-standard |
		    xargs -0 cp --parents -a -t "$1")
	else
		cp -a "$SRCDIR/." "$1/"
		[ -f "$1/Makefile" ] && make -C "$1" distclean >/dev/null 2>&1
		rm -rf "$1/build" "$1/build-asan"
	fi
}

# build_package DIR [DEB_BUILD_OPTIONS]: dpkg-buildpackage in DIR/src, so
# the results land in DIR.
build_package() {
	(
		set -e
		cd "$1/src"
		DEB_BUILD_OPTIONS="${2:-} parallel=$(nproc)" dpkg-buildpackage -b -us -uc
	) >"$1/build.log" 2>&1
}

# The upgrade: the same tree with a newer local version.  Its unit tests
# were run by the first build.
copy_tree "$WORK/new/src"
# dch -l leaves the distribution UNRELEASED; name it, as a release would.
if ! (cd "$WORK/new/src" && DEBFULLNAME="udpd package test" DEBEMAIL=dev@udpd.invalid \
    dch -l +upgrade -D unstable --force-distribution "Upgrade test build.") \
    >"$WORK/dch.log" 2>&1; then
	not_ok "dch -l +upgrade"
	sed 's/^/#   /' "$WORK/dch.log"
	finish
fi

copy_tree "$WORK/pkg/src"
VERSION=$(dpkg-parsechangelog -l "$WORK/pkg/src/debian/changelog" -S Version)
NEW_VERSION=$(dpkg-parsechangelog -l "$WORK/new/src/debian/changelog" -S Version)
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
DEB=udpd_${VERSION}_$ARCH.deb
NEW_DEB=udpd_${NEW_VERSION}_$ARCH.deb
log "building $DEB (with the unit tests) and $NEW_DEB"
if build_package "$WORK/pkg" && [ -f "$WORK/pkg/$DEB" ]; then
	ok "dpkg-buildpackage -b -us -uc builds $DEB"
else
	not_ok "dpkg-buildpackage -b -us -uc builds $DEB"
	tail -n 40 "$WORK/pkg/build.log" | sed 's/^/#   /'
	finish
fi
expect_re "the package build ran the unit tests, and they passed" \
    '^# FAIL: +0$' "$(grep -E '^# (PASS|FAIL):' "$WORK/pkg/build.log")"
if build_package "$WORK/new" nocheck && [ -f "$WORK/new/$NEW_DEB" ]; then
	ok "the upgrade package $NEW_DEB builds"
else
	not_ok "the upgrade package $NEW_DEB builds"
	tail -n 40 "$WORK/new/build.log" | sed 's/^/#   /'
	finish
fi

# ---- lintian -------------------------------------------------------------

lint=$(lintian --allow-root "$WORK/pkg/udpd_${VERSION}_$ARCH.changes" 2>&1)
printf '%s\n' "$lint" | grep -v '^$' | sed 's/^/#   lintian: /'
expect "lintian on the .changes: no error, no warning" "" \
    "$(printf '%s\n' "$lint" | grep -E '^[EW]: ')"

# ---- what the package holds ----------------------------------------------

contents=$(dpkg-deb -c "$WORK/pkg/$DEB" | awk '{ print $NF }' | sed 's|^\./|/|')
for f in /usr/sbin/udpd /usr/share/man/man8/udpd.8.gz \
    /usr/share/man/man5/udpd.conf.5.gz /etc/udpd.conf /etc/logrotate.d/udpd \
    /usr/share/doc/udpd/copyright; do
	check "the package has $f" grep -qxF "$f" <<<"$contents"
done
for unit in udpd.service udpd.socket; do
	check "the package has $unit" grep -qx ".*/systemd/system/$unit" <<<"$contents"
done
expect "conffiles: /etc/logrotate.d/udpd and /etc/udpd.conf" \
    "/etc/logrotate.d/udpd /etc/udpd.conf" \
    "$(dpkg-deb -I "$WORK/pkg/$DEB" conffiles | sort | tr '\n' ' ' | sed 's/ $//')"

# The optional libraries are required by debian/rules (--with-X): the
# package must depend on them once configure.ac knows the option.
depends=$(dpkg-deb -f "$WORK/pkg/$DEB" Depends)
for pair in hiredis:libhiredis openssl:libssl systemd:libsystemd nettle:libnettle; do
	opt=${pair%%:*} lib=${pair#*:}
	if grep -q "AC_ARG_WITH(\[$opt\]" "$SRCDIR/configure.ac"; then
		expect_re "the package depends on $lib (configure --with-$opt)" \
		    "(^|, )${lib}[0-9]" "$depends"
	else
		skip_check "configure.ac has no --with-$opt (yet)"
	fi
done

# ---- install before the boot ---------------------------------------------

if prepare_cache; then
	ok "cached Debian $SUITE root file system ready"
else
	not_ok "cached Debian $SUITE root file system ready"
	finish
fi
log "copying the cached root file system"
flock -s -w 1200 "$CACHE/.lock" cp -a --reflink=auto "$CACHED_ROOT" "$ROOT" ||
    { not_ok "copy the cached root file system"; finish; }
mkdir -p "$ROOT/root/debs"
cp "$WORK/pkg/$DEB" "$WORK/new/$NEW_DEB" "$ROOT/root/debs/"

# apt resolves the dependencies (from the root's own package lists; it
# downloads only what the cached root lacks).  nspawn without -b: no
# systemd runs, so the package enables udpd.service without starting it.
if systemd-nspawn -q -D "$ROOT" --register=no --keep-unit \
    --machine="udpd-deb-install-$$" ${http_proxy:+--setenv=http_proxy="$http_proxy"} \
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/root/debs/$DEB" \
    </dev/null >"$WORK/apt.log" 2>&1; then
	ok "apt-get install ./$DEB into the container root"
	rmdir "/run/systemd/nspawn/propagate/udpd-deb-install-$$" 2>/dev/null
else
	not_ok "apt-get install ./$DEB into the container root"
	tail -n 30 "$WORK/apt.log" | sed 's/^/#   /'
	finish
fi
check "enabled: multi-user.target wants udpd.service" \
    test -L "$ROOT/etc/systemd/system/multi-user.target.wants/udpd.service"
# (The links are absolute: they would dangle here, so test -L.)
check "udpd.socket is not enabled" \
    test ! -L "$ROOT/etc/systemd/system/sockets.target.wants/udpd.socket"

# ---- boot: enabled and running -------------------------------------------

boot_container
expect "udpd.service is enabled" enabled "$(ct systemctl is-enabled udpd.service)"
expect "udpd.service is active after the boot" active "$(ct systemctl is-active udpd.service)"
expect "udpd.socket is not enabled" disabled "$(ct systemctl is-enabled udpd.socket)"
expect "udpd.socket is not active" inactive "$(ct systemctl is-active udpd.socket)"
expect "greet 127.0.0.1:6000" "Hello Alice!" "$(ask 127.0.0.1 6000 Alice)"
expect "echo [::1]:6001" "echo me" "$(ask ::1 6001 'echo me')"
expect "upper 127.0.0.1:6002" "SHOUT!" "$(ask 127.0.0.1 6002 'shout!')"
chat1=$(ask 127.0.0.1 6004 'before the upgrade')
expect_re "chat 127.0.0.1:6004 acknowledges" '^ok [0-9]+$' "$chat1"

# man_renders PAGE TITLE: "man PAGE" prints the page headed TITLE, with
# PAGE in its NAME section.
man_renders() {
	if ct sh -c 'MANWIDTH=80 man -P cat "$1"' sh "$1" >"$WORK/man.out" 2>&1 &&
	    head -n 1 "$WORK/man.out" | grep -q "^$2 " &&
	    awk -v page="$1" 'f { exit !($1 == page) } $0 == "NAME" { f = 1 }' "$WORK/man.out"; then
		return 0
	fi
	head -n 8 "$WORK/man.out"
	return 1
}
check "man udpd renders udpd(8)" man_renders udpd 'UDPD(8)'
check "man udpd.conf renders udpd.conf(5)" man_renders udpd.conf 'UDPD\.CONF(5)'

# ---- the permissions the package sets up ---------------------------------

expect "the group udpd-keys exists (sysusers.d, before the first start)" udpd-keys \
    "$(ct getent group udpd-keys | cut -d: -f1)"
expect "/etc/udpd is root:udpd-keys 0750" "root:udpd-keys 750" \
    "$(ct stat -c '%U:%G %a' /etc/udpd)"
keys_gid=$(ct getent group udpd-keys | cut -d: -f3)
MAINPID=$(ct systemctl show -p MainPID --value udpd)
expect "udpd runs with the group udpd-keys" "$keys_gid" \
    "$(ct awk '$1 == "Gid:" { print $2 }' "/proc/$MAINPID/status")"

# ---- reload tells the truth ----------------------------------------------

conf=$ROOT/etc/udpd.conf
cp "$conf" "$WORK/udpd.conf.shipped"
# reload_status: systemctl reload's exit status; its output as comments.
reload_status() {
	ct -t 120 systemctl reload udpd >"$WORK/reload.out" 2>&1
	echo $?
}
# add_service TEXT: one more service at the end of the shipped config.
add_service() {
	awk -v svc="$1" '$0 == ");" { print "  ,"; print svc } { print }' \
	    "$WORK/udpd.conf.shipped" >"$conf"
}
sed -i 's/greeting[[:space:]]*=[[:space:]]*"[^"]*"/greeting = "Reloaded %s!"/' "$conf"
expect "systemctl reload of a good edit exits 0" 0 "$(reload_status)"
expect "... and it serves when systemctl returns" "Reloaded Alice!" "$(ask 127.0.0.1 6000 Alice)"
RELOADED_CONF=$(cat "$conf")

# A port in use (held by nc in a transient unit).
ct systemd-run -q --unit=udpd-test-holder nc -u -l 127.0.0.1 7777 >/dev/null 2>&1
wait_until 5 ct sh -c 'grep -q ":1E61 " /proc/net/udp'
add_service '  { name = "busy"; module = "echo"; listen = [ "127.0.0.1:7777" ]; }'
expect "systemctl reload with a port in use exits non-zero" 1 "$(reload_status)"
expect_re "... saying why" "cannot bind 127.0.0.1:7777" \
    "$(ct journalctl -u udpd -n 20 --no-pager -o cat)" || journal_tail
ct systemctl stop udpd-test-holder >/dev/null 2>&1
expect "... and the old configuration serves" "Reloaded Alice!" "$(ask 127.0.0.1 6000 Alice)"

# A chat log on a path udpd may not write (/etc is read-only to it).
add_service '  { name = "rochat"; module = "chat"; listen = [ "127.0.0.1:7778" ]; log_file = "/etc/udpd-chat.log"; }'
expect "systemctl reload with a read-only log path exits non-zero" 1 "$(reload_status)"
expect "... and the old configuration serves" "Reloaded Alice!" "$(ask 127.0.0.1 6000 Alice)"

# A Redis password file udpd cannot read (root's, mode 0600).
ct sh -c 'umask 077 && echo secret >/etc/udpd/redis.pass'
add_service '  { name = "rchat"; module = "chat"; listen = [ "127.0.0.1:7779" ]; store = "redis"; redis = "127.0.0.1:6379"; password_file = "/etc/udpd/redis.pass"; }'
expect "systemctl reload with an unreadable password_file exits non-zero" 1 "$(reload_status)"
expect_re "... saying why" "redis.pass: .*Permission denied" \
    "$(ct journalctl -u udpd -n 20 --no-pager -o cat)" || journal_tail
expect "... and the old configuration serves" "Reloaded Alice!" "$(ask 127.0.0.1 6000 Alice)"
ct rm -f /etc/udpd/redis.pass

# A key file added later: unreadable, then root:udpd-keys 0640 and read
# at the next reload, without a restart.
ct sh -c 'umask 077 && echo "1 SHA1 0123456789abcdef0123456789abcdef01234567" >/etc/udpd/ntp.keys'
printf '%s\n' "$RELOADED_CONF" >"$conf"
sed -i 's|# keys = "/etc/udpd/ntp.keys";|keys = "/etc/udpd/ntp.keys";|' "$conf"
expect "a key file udpd cannot read: reload exits non-zero" 1 "$(reload_status)"
# The check as the service user that udpd(8) documents sees it too.
as_service() {
	ct -t 60 systemd-run --pipe --wait -q -p DynamicUser=yes -p Group=udpd-keys \
	    udpd -t -c /etc/udpd.conf >"$WORK/as_service.out" 2>&1
	echo $?
}
expect "udpd -t as the service user (systemd-run): the unreadable key file fails" \
    1 "$(as_service)"
ct sh -c 'chgrp udpd-keys /etc/udpd/ntp.keys && chmod 0640 /etc/udpd/ntp.keys'
expect "... and passes once it is root:udpd-keys 0640" 0 "$(as_service)"
PID_BEFORE=$(ct systemctl show -p MainPID --value udpd)
expect "chgrp udpd-keys, chmod 0640: the next reload reads it (exit 0)" 0 "$(reload_status)"
expect "... in the same process" "$PID_BEFORE" "$(ct systemctl show -p MainPID --value udpd)"

# ---- NTS under the unit's sandbox ---------------------------------------

# A certificate made here (tests/nts/mkcerts.sh: a test CA and a server
# certificate for 127.0.0.1) goes live with a reload: first with its key
# root's 0600, which udpd cannot read (the reload fails), then with the key
# root:udpd-keys 0640.  udpd makes the cookie key file itself.
nts_conf() {
	printf '%s\n' "$RELOADED_CONF" |
	    awk '{ print } index($0, "{ name = \"sntp\"; module = \"time\"; protocol = \"sntp\";") == 3 {
		print "    nts = { listen = [ \"127.0.0.1:4460\" ];"
		print "      certificate = \"/etc/udpd/nts.pem\"; private_key = \"/etc/udpd/nts.key\";"
		print "      cookie_keys = \"/var/lib/udpd/nts.keys\"; };"
	    }' >"$conf"
}
# nts_ke: an NTS-KE session (tests/nts/ke_client.py, chrony's request) from
# the host's python3 in the container's network namespace, verifying the
# server against the test CA; its records, one line each.
nts_ke() {
	timeout 30 nsenter -t "$CT_PID" -n python3 "$SRCDIR/tests/nts/ke_client.py" \
	    --ca "$WORK/nts/nts-ca.pem" 4460 2>&1
}
mkdir -p "$WORK/nts"
if ! command -v python3 >/dev/null 2>&1; then
	skip_check "NTS under udpd.service: no python3 on the host (the NTS-KE client)"
elif ! ct udpd -V 2>/dev/null | grep -q 'NTS key exchange (libssl): OpenSSL' ||
    ! ct udpd -V 2>/dev/null | grep -q 'NTS (AES-SIV-CMAC, Nettle): Nettle'; then
	not_ok "the packaged udpd -V has NTS (Nettle) and NTS key exchange (OpenSSL)"
	ct udpd -V 2>&1 | sed 's/^/#   /'
elif ! bash "$SRCDIR/tests/nts/mkcerts.sh" "$WORK/nts" nts >"$WORK/nts/mkcerts.log" 2>&1; then
	not_ok "tests/nts/mkcerts.sh makes a test certificate"
	sed 's/^/#   /' "$WORK/nts/mkcerts.log"
else
	install -m 0640 "$WORK/nts/nts.pem" "$ROOT/etc/udpd/nts.pem"
	install -m 0600 "$WORK/nts/nts.key" "$ROOT/etc/udpd/nts.key"
	ct chown root:udpd-keys /etc/udpd/nts.pem
	ct chown root:root /etc/udpd/nts.key
	nts_conf
	check "an nts group added to the sntp service" grep -q 'nts = { listen' "$conf"
	PID_BEFORE=$(ct systemctl show -p MainPID --value udpd)
	expect "NTS with the private key root:root 0600: reload exits non-zero" 1 \
	    "$(reload_status)"
	expect_re "... saying why" "nts.key.*(Permission denied|cannot read|permission)" \
	    "$(ct journalctl -u udpd -n 20 --no-pager -o cat)" || journal_tail
	nts_ke >"$WORK/nts/ke.out"
	check "... and no NTS-KE is served" sh -c "! grep -q '^0 1 ' '$WORK/nts/ke.out'"
	ct sh -c 'chgrp udpd-keys /etc/udpd/nts.key && chmod 0640 /etc/udpd/nts.key'
	rs=$(reload_status)
	expect "the private key root:udpd-keys 0640: the next reload exits 0" 0 "$rs"
	[ "$rs" = 0 ] || sed 's/^/#   reload: /' "$WORK/reload.out"
	expect "... in the same process (no restart)" "$PID_BEFORE" \
	    "$(ct systemctl show -p MainPID --value udpd)"
	svc_uid=$(ct awk '$1 == "Uid:" { print $2 }' "/proc/$PID_BEFORE/status")
	expect "udpd made /var/lib/udpd/nts.keys, mode 0600, owned by the service user" \
	    "$svc_uid 600" "$(ct stat -L -c '%u %a' /var/lib/udpd/nts.keys 2>&1)"
	nts_ke >"$WORK/nts/ke.out"
	ke=$(cat "$WORK/nts/ke.out")
	expect_re "NTS-KE to 127.0.0.1:4460 (TLS 1.3, ntske/1, the test CA): End of Message" \
	    '^0 1 $' "$ke" || printf '%s\n' "$ke" | tail -n 6 | cut -c 1-100 | sed 's/^/#   ntske: /'
	expect "... Next Protocol NTPv4 and AEAD AES-SIV-CMAC-256" "1 0000 4 000f" \
	    "$(printf '%s\n' "$ke" | awk '$1 == 1 || $1 == 4 { print $1, $3 }' | tr '\n' ' ' | sed 's/ $//')"
	expect "... and 8 New Cookie records" 8 \
	    "$(printf '%s\n' "$ke" | awk '$1 == 5 && length($3) > 0' | wc -l)"
	exposure=$(ct systemd-analyze security udpd.service 2>&1 |
	    sed -n 's/.*Overall exposure level for udpd.service: \([0-9.]*\).*/\1/p')
	if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }'; then
		ok "systemd-analyze security udpd.service with NTS: exposure $exposure <= 1.5"
	else
		not_ok "systemd-analyze security udpd.service with NTS: exposure '$exposure' <= 1.5"
	fi
	ct rm -f /etc/udpd/nts.pem /etc/udpd/nts.key
fi

# ---- rotation is not a reload --------------------------------------------

cp "$WORK/udpd.conf.shipped" "$conf"
expect "back to the shipped configuration (reload exits 0)" 0 "$(reload_status)"
rot1=$(ask 127.0.0.1 6004 'before the rotation')
sed -i 's/greeting[[:space:]]*=[[:space:]]*"[^"]*"/greeting = "Staged %s!"/' "$conf"
check "logrotate -f /etc/logrotate.d/udpd" ct -t 60 logrotate -f /etc/logrotate.d/udpd
check "the chat log was rotated" ct test -s /var/lib/udpd/chat.log.1
expect "chat goes on after the rotation" "ok $((${rot1#ok } + 1))" \
    "$(ask 127.0.0.1 6004 'after the rotation')"
expect_re "... into the new chat.log" "after the rotation$" "$(ct cat /var/lib/udpd/chat.log)"
expect "the staged edit stayed staged (no reload at rotation)" "Hello Alice!" \
    "$(ask 127.0.0.1 6000 Alice)"
cp "$WORK/udpd.conf.shipped" "$conf"

# ---- a host without IPv6 -------------------------------------------------

# The container's network namespace (--private-network) only.
v6() { nsenter -t "$CT_PID" -n sh -c "echo $1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 && echo $1 >/proc/sys/net/ipv6/conf/lo/disable_ipv6"; }
if v6 1; then
	check "IPv6 disabled: systemctl restart udpd with the shipped config" \
	    ct -t 60 systemctl restart udpd
	expect "... udpd.service is active" active "$(ct systemctl is-active udpd)"
	expect "... and serves IPv4" "Hello Alice!" "$(ask 127.0.0.1 6000 Alice)"
	expect_re "... having skipped [::1] with a warning" \
	    'cannot bind \[::1\]:6000 .*optional address: skipped' \
	    "$(ct journalctl -u udpd -n 60 --no-pager -o cat)" || journal_tail
	v6 0
	check "IPv6 back: systemctl restart udpd" ct -t 60 systemctl restart udpd
	expect "... serves [::1] again" "Hello Bob!" "$(ask ::1 6000 Bob)"
else
	not_ok "cannot disable IPv6 in the container's network namespace"
fi

# ---- a broken configuration fails the start, once ------------------------

# wait_failed: up to 30 s for udpd.service to be "failed".
is_failed() { [ "$(ct systemctl is-failed udpd)" = failed ]; }
wait_failed() { wait_until 30 is_failed; }
echo 'services = ( this is not a configuration' >>"$conf"
ct -t 60 systemctl restart udpd >/dev/null 2>&1
check "a broken udpd.conf at start: failed within 30 s" wait_failed
expect "... not restarted (NRestarts)" 0 "$(ct systemctl show -p NRestarts --value udpd)"
expect "... exit status 78 (EX_CONFIG)" 78 "$(ct systemctl show -p ExecMainStatus --value udpd)"
expect_re "... the error is udpd's last journal line" \
    '^udpd: /etc/udpd.conf:[0-9]+: syntax: ' \
    "$(ct journalctl -u udpd --no-pager -o cat _COMM=udpd | tail -n 1)" || journal_tail
cp "$WORK/udpd.conf.shipped" "$conf"
check "fixed: systemctl reset-failed, start" \
    ct -t 60 sh -c 'systemctl reset-failed udpd && systemctl start udpd'
CRASHPID=$(ct systemctl show -p MainPID --value udpd)
ct systemctl kill -s SEGV udpd
# restarted_from PID: a udpd other than PID is active (its PID in $restarted).
restarted_from() {
	local pid
	pid=$(ct systemctl show -p MainPID --value udpd)
	[ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != "$1" ] &&
	    [ "$(ct systemctl is-active udpd)" = active ] && restarted=$pid
}
restarted=
wait_until 10 restarted_from "$CRASHPID"
if [ -n "$restarted" ]; then
	ok "a crash (SIGSEGV) still restarts udpd (MainPID $CRASHPID -> $restarted)"
else
	not_ok "a crash (SIGSEGV) still restarts udpd"
	journal_tail
fi
# A crash loop ends too: at most 5 starts a minute (StartLimitBurst=).
# crash_again: SIGSEGV to the running udpd, then wait (bounded) until
# systemd started another one or gave up.
crash_again() {
	local pid
	pid=$(ct systemctl show -p MainPID --value udpd)
	ct systemctl kill -s SEGV udpd >/dev/null 2>&1
	restarted=
	wait_until 15 restarted_or_failed "$pid" && [ -n "$restarted" ]
}
# restarted_or_failed PID: systemd gave up, or started a udpd other than PID.
restarted_or_failed() { is_failed || restarted_from "$1"; }
for _ in $(seq 1 8); do
	crash_again || break
done
check "a crash loop ends in failed (start limit)" wait_failed
expect_re "... systemd says why" "Start request repeated too quickly" \
    "$(ct journalctl -u udpd -n 20 --no-pager -o cat)" || journal_tail
check "systemctl reset-failed, start" \
    ct -t 60 sh -c 'systemctl reset-failed udpd && systemctl start udpd'

# The chat sequence the upgrade must go on from.
chat1=$(ask 127.0.0.1 6004 'just before the upgrade')

# ---- upgrade ---------------------------------------------------------------

conf=$ROOT/etc/udpd.conf
sed -i 's/greeting[[:space:]]*=[[:space:]]*"[^"]*"/greeting = "Howdy %s!"/' "$conf"
check "edited /etc/udpd.conf (greeting = \"Howdy %s!\")" grep -q 'Howdy %s!' "$conf"
OLDPID=$(ct systemctl show -p MainPID --value udpd)
# No --force-conf*: dpkg itself must keep the edited file.
if ct -t 180 env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q "/root/debs/$NEW_DEB" </dev/null >"$WORK/upgrade.log" 2>&1; then
	ok "apt-get install ./$NEW_DEB (upgrade, in the booted container)"
else
	not_ok "apt-get install ./$NEW_DEB (upgrade, in the booted container)"
	tail -n 30 "$WORK/upgrade.log" | sed 's/^/#   /'
fi
expect "the installed version is $NEW_VERSION" "$NEW_VERSION" \
    "$(ct dpkg-query -W -f='${Version}' udpd)"
check "the upgrade kept the edited /etc/udpd.conf" grep -q 'Howdy %s!' "$conf"
check "... and left no udpd.conf.dpkg-* beside it" \
    sh -c "! ls '$ROOT'/etc/udpd.conf.dpkg-* 2>/dev/null"
NEWPID=$(ct systemctl show -p MainPID --value udpd)
if [ -n "$NEWPID" ] && [ "$NEWPID" != 0 ] && [ "$NEWPID" != "$OLDPID" ]; then
	ok "the upgrade restarted udpd (MainPID $OLDPID -> $NEWPID)"
else
	not_ok "the upgrade restarted udpd (MainPID $OLDPID -> '$NEWPID')"
fi
expect "udpd.service is active after the upgrade" active "$(ct systemctl is-active udpd)"
expect "the restarted udpd serves the edited configuration" "Howdy Alice!" \
    "$(ask 127.0.0.1 6000 Alice)"
expect "chat state survived the upgrade (the sequence goes on)" \
    "ok $((${chat1#ok } + 1))" "$(ask 127.0.0.1 6004 'after the upgrade')"
expect "udpd.socket is still not enabled" disabled "$(ct systemctl is-enabled udpd.socket)"

# ---- an administrator's choice: socket activation ------------------------

# udpd.service disabled, udpd.socket enabled: an upgrade must neither
# re-enable the service nor stop the socket, and removal stops both.
check "switch to socket activation (disable --now udpd, enable --now udpd.socket)" \
    ct -t 60 sh -c 'systemctl disable --now udpd.service && systemctl enable --now udpd.socket'
expect "the socket starts udpd, which answers" "Howdy Alice!" "$(ask -w 5 127.0.0.1 6000 Alice)"
SOCKPID=$(ct systemctl show -p MainPID --value udpd)
if ct -t 180 env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --reinstall "/root/debs/$NEW_DEB" </dev/null >"$WORK/reinstall.log" 2>&1; then
	ok "apt-get install --reinstall ./$NEW_DEB (an upgrade under socket activation)"
else
	not_ok "apt-get install --reinstall ./$NEW_DEB (an upgrade under socket activation)"
	tail -n 30 "$WORK/reinstall.log" | sed 's/^/#   /'
fi
expect "udpd.socket is still enabled" enabled "$(ct systemctl is-enabled udpd.socket)"
expect "udpd.socket is still active" active "$(ct systemctl is-active udpd.socket)"
expect "udpd.service is still disabled" disabled "$(ct systemctl is-enabled udpd.service)"
NEWPID=$(ct systemctl show -p MainPID --value udpd)
if [ -n "$NEWPID" ] && [ "$NEWPID" != 0 ] && [ "$NEWPID" != "$SOCKPID" ]; then
	ok "the running socket-activated udpd was restarted (MainPID $SOCKPID -> $NEWPID)"
else
	not_ok "the running socket-activated udpd was restarted (MainPID $SOCKPID -> '$NEWPID')"
fi
expect "... and answers through the passed sockets" "Howdy Bob!" "$(ask 127.0.0.1 6000 Bob)"

# ---- remove, purge -------------------------------------------------------

check "state directory /var/lib/private/udpd exists (DynamicUser=)" \
    test -d "$ROOT/var/lib/private/udpd"
check "dpkg --remove udpd" ct -t 120 dpkg --remove udpd
expect "remove stopped udpd" inactive "$(ct systemctl is-active udpd)"
expect "remove stopped udpd.socket" inactive "$(ct systemctl is-active udpd.socket)"
expect "nothing answers on 127.0.0.1:6000 any more" "" "$(ask 127.0.0.1 6000 Alice)"
check "remove keeps the configuration" test -f "$conf"
purge_logged() { ct -t 120 dpkg --purge udpd >"$WORK/purge.out" 2>&1; }
check "dpkg --purge udpd" purge_logged
sed 's/^/#   purge: /' "$WORK/purge.out"
# /etc/udpd holds ntp.keys, added above: kept, and said so.
check "purge kept /etc/udpd, which holds a file the package did not install" \
    test -f "$ROOT/etc/udpd/ntp.keys"
expect_re "... and said so" "/etc/udpd is kept" "$(cat "$WORK/purge.out")"
expect_re "purge says the group udpd-keys is kept" "udpd-keys is kept" "$(cat "$WORK/purge.out")"
for f in /etc/udpd.conf /etc/logrotate.d/udpd /var/lib/udpd /var/lib/private/udpd \
    /usr/lib/sysusers.d/udpd.conf \
    /etc/systemd/system/multi-user.target.wants/udpd.service; do
	check "purge removed $f" sh -c "! test -e '$ROOT$f' && ! test -L '$ROOT$f'"
done
expect "dpkg forgot udpd" "" "$(ct dpkg-query -W -f='${Status}' udpd 2>/dev/null)"

poweroff_container
finish
