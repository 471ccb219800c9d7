#!/bin/bash
# interface = "lo" (issue 14 item 8): every socket of the service is bound
# to the device (SO_BINDTODEVICE, seen by ss as addr%lo), a device that
# does not exist is a config error naming it, and after a drop to an
# unprivileged user a reload that would change a kept socket's device is
# refused by the kernel: a warning says why and the socket serves on.
. "$(dirname "$0")/../lib.sh"
need nc ss

cat >"$TMP/bad.conf" <<'CONF'
services = ( { name = "e"; module = "echo"; listen = [ "127.0.0.1:0" ];
  interface = "udpd-nope0"; } );
CONF
"$UDPD" -t -c "$TMP/bad.conf" 2>"$TMP/t.err"
expect_eq "a missing interface is a config error" 1 $?
expect_eq "the error names the file, line and interface" \
	"udpd: $TMP/bad.conf:2: interface: no such network interface 'udpd-nope0'" \
	"$(cat "$TMP/t.err")"

# As root, drop to nobody, in a directory nobody may write (port file).
user=
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	user='daemon = { user = "nobody"; };'
	chmod 755 "$TMP"
	mkdir -m 1777 "$TMP/run"
	PORT_FILE=$TMP/run/ports
	export UDPD_PORT_FILE=$PORT_FILE
fi
conf() {
	cat >"$TMP/udpd.conf" <<CONF
$user
services = (
  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0", "[::1]:0" ];
    $1 },
  { name = "plain"; module = "echo"; listen = [ "127.0.0.1:0" ]; }
);
CONF
}
conf 'interface = "lo";'
start_udpd "$TMP/udpd.conf"
E=$(port echo); E6=$(port echo 6); P=$(port plain)
expect_eq "a service bound to lo answers" "hi" "$(echo hi | udp 127.0.0.1 "$E")"
expect_eq "and over IPv6" "hi6" "$(echo hi6 | udp ::1 "$E6")"
ss -Hunl "sport = :$E" | grep -q "127.0.0.1%lo:$E" ||
	fail "the socket is not bound to lo: $(ss -Hunl "sport = :$E")"
ss -Hunl "sport = :$E6" | grep -q "\[::1\]%lo:$E6" ||
	fail "the IPv6 socket is not bound to lo: $(ss -Hunl "sport = :$E6")"
ok "both sockets are bound to lo (ss shows %lo)"
ss -Hunl "sport = :$P" | grep -q "%" && fail "a service without interface is bound to a device"
ok "a service without interface is bound to none"

[ -n "$user" ] || { stop_udpd; done_testing; exit 0; }
# Unprivileged now: removing the device from a kept socket needs CAP_NET_RAW.
conf ''
reloaded_more_than() {
	[ "$(grep -c "reloaded" "$TMP/udpd.err")" -gt "$1" ]
}
n=$(grep -c "reloaded" "$TMP/udpd.err")
kill -HUP "$UDPD_PID"
wait_until 10 reloaded_more_than "$n" || fail "no reload"
grep -q "service echo: cannot bind 127.0.0.1:0 to interface (none): Operation not permitted (needs CAP_NET_RAW or root)" \
	"$TMP/udpd.err" || fail "no warning about the kept device: $(tail -5 "$TMP/udpd.err")"
ok "an unprivileged reload that changes the device says why"
expect_eq "the kept socket serves on" "still" "$(echo still | udp 127.0.0.1 "$(port echo)")"
stop_udpd
expect_eq "clean exit" 0 "$LAST_EXIT"
done_testing
