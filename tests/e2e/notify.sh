#!/bin/bash
# sd_notify(3) (SPEC section 4): READY=1 once every socket is bound,
# RELOADING=1 (with MONOTONIC_USEC) and READY=1 around a reload (SIGHUP or
# udpd --reload), also a failed one, and STOPPING=1, sent as datagrams to
# $NOTIFY_SOCKET, a path or an abstract name ('@').  Run by script/test against a build without
# libsystemd (build-nosd/), where udpd speaks the protocol itself; in a
# libsystemd build it checks that library's messages the same way.
. "$(dirname "$0")/../lib.sh"
need python3 nc

# notify_listen ADDRESS: a socket that records each datagram as one line of
# $TMP/notify.out: the CLOCK_MONOTONIC microseconds at arrival, a tab, the
# message with its newlines shown as '|'.  Stops by itself after 60 s.
notify_listen() {
	rm -f "$TMP/notify.out" "$TMP/notify.bound"
	python3 - "$1" "$TMP/notify.out" "$TMP/notify.bound" <<'PY' &
import socket, sys, time
addr = sys.argv[1]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(addr)
open(sys.argv[3], "w").close()
s.settimeout(60)
with open(sys.argv[2], "w") as out:
    while True:
        try:
            msg = s.recv(4096)
        except socket.timeout:
            break
        now = int(time.monotonic() * 1e6)
        out.write("%d\t%s\n" % (now, msg.decode().replace("\n", "|")))
        out.flush()
PY
	LISTENER_PID=$!
	wait_until 10 test -e "$TMP/notify.bound" || fail "notify socket not bound"
}
notify_count() { [ -s "$TMP/notify.out" ] && wc -l <"$TMP/notify.out" || echo 0; }
has_messages() { [ "$(notify_count)" -ge "$1" ]; }
# message N: the text of the Nth message (1-based), without its time.
message() { sed -n "$1p" "$TMP/notify.out" | cut -f2-; }
message_time() { sed -n "$1p" "$TMP/notify.out" | cut -f1; }

cat >"$TMP/udpd.conf" <<CONF
services = (
  { name = "greet"; module = "greet"; listen = [ "127.0.0.1:0", "[::1]:0" ]; },
  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0" ]; }
);
CONF
notify_listen "$TMP/notify.sock"
NOTIFY_SOCKET=$TMP/notify.sock start_udpd "$TMP/udpd.conf"
wait_until 10 has_messages 1 || fail "no message on NOTIFY_SOCKET"
expect_eq "READY=1 once bound, with a status line" \
	"READY=1|STATUS=serving 2 service(s) on 3 socket(s)" "$(message 1)"
expect_eq "ready means answering" "Hello n!" \
	"$(echo n | udp 127.0.0.1 "$(port greet)")"

kill -HUP "$UDPD_PID"
wait_until 10 has_messages 3 || fail "no RELOADING=1 and READY=1 after SIGHUP"
[[ $(message 2) =~ ^RELOADING=1\|MONOTONIC_USEC=([0-9]+)\|STATUS=reloading$ ]] ||
	fail "reload message: $(message 2)"
ok "RELOADING=1 with MONOTONIC_USEC on SIGHUP"
usec=${BASH_REMATCH[1]}
arrived=$(message_time 2)
[ "$usec" -le "$arrived" ] && [ "$usec" -gt $((arrived - 10000000)) ] ||
	fail "MONOTONIC_USEC $usec is not CLOCK_MONOTONIC (arrived at $arrived)"
ok "MONOTONIC_USEC is the time of the reload on CLOCK_MONOTONIC"
expect_eq "READY=1 after the reload" \
	"READY=1|STATUS=serving 2 service(s) on 3 socket(s)" "$(message 3)"

echo 'services = ( { name = "x"; module = "nosuch"; listen = [ "127.0.0.1:0" ]; } );' \
	>"$TMP/udpd.conf"
kill -HUP "$UDPD_PID"
wait_until 10 has_messages 5 || fail "no messages after a failed reload"
expect_eq "a failed reload also says RELOADING=1 first" "RELOADING=1" \
	"$(message 4 | cut -d'|' -f1)"
expect_eq "then READY=1 saying the old configuration is kept" \
	"READY=1|STATUS=reload failed, old configuration kept" "$(message 5)"

# udpd --reload (systemd's ExecReload=): the same messages around it.
MAINPID=$UDPD_PID "$UDPD" --reload >/dev/null 2>&1
expect_eq "udpd --reload of the broken file exits 1" 1 $?
wait_until 10 has_messages 7 || fail "no messages after udpd --reload"
expect_eq "udpd --reload: RELOADING=1 first" "RELOADING=1" "$(message 6 | cut -d'|' -f1)"
expect_eq "udpd --reload: then READY=1, old configuration kept" \
	"READY=1|STATUS=reload failed, old configuration kept" "$(message 7)"

stop_udpd
expect_eq "exit 0" 0 "$LAST_EXIT"
wait_until 10 has_messages 8 || fail "no STOPPING=1"
expect_eq "STOPPING=1 on SIGTERM" "STOPPING=1|STATUS=stopping" "$(message 8)"
expect_eq "nothing after STOPPING=1" 8 "$(notify_count)"
kill "$LISTENER_PID" 2>/dev/null; wait "$LISTENER_PID" 2>/dev/null

# An abstract socket name (as systemd --user and containers may pass).
cat >"$TMP/udpd.conf" <<CONF
services = ( { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0" ]; } );
CONF
notify_listen "@udpd-notify-test-$$"
NOTIFY_SOCKET=@udpd-notify-test-$$ start_udpd "$TMP/udpd.conf"
wait_until 10 has_messages 1 || fail "no message on an abstract NOTIFY_SOCKET"
expect_eq "READY=1 on an abstract socket" \
	"READY=1|STATUS=serving 1 service(s) on 1 socket(s)" "$(message 1)"
stop_udpd
kill "$LISTENER_PID" 2>/dev/null; wait "$LISTENER_PID" 2>/dev/null
done_testing
