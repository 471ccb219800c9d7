#!/bin/bash
# The command line and exit statuses of SPEC section 4: -t on good and bad
# configs, usage errors, -V, -h, a port in use, the pidfile lock, signals.
. "$(dirname "$0")/../lib.sh"
need python3 nc

write_conf "$TMP/udpd.conf"
"$UDPD" -t -c "$TMP/udpd.conf" 2>"$TMP/t.err"
expect_eq "-t on a good config exits 0" 0 $?

printf 'services = (\n  { name = "g"; module = "greet";\n    listen = [ "127.0.0.1:0" ]; colour = "red"; }\n);\n' >"$TMP/bad.conf"
"$UDPD" -t -c "$TMP/bad.conf" 2>"$TMP/t.err"
expect_eq "-t on a bad config exits 1" 1 $?
grep -q "bad.conf:3: colour: unknown setting" "$TMP/t.err" ||
	fail "-t message: $(cat "$TMP/t.err")"
ok "-t names file, line and setting"

"$UDPD" -f -c "$TMP/bad.conf" 2>/dev/null
expect_eq "a bad config stops the start with 1" 1 $?
"$UDPD" -t -c "$TMP/missing.conf" 2>/dev/null
expect_eq "a missing config exits 1" 1 $?

"$UDPD" -t -c /etc 2>"$TMP/t.err"
expect_eq "a directory as config exits 1" 1 $?
expect_eq "a directory says so" "udpd: /etc: cannot read: Is a directory" \
	"$(cat "$TMP/t.err")"
"$UDPD" -t -c '' 2>"$TMP/t.err"
expect_eq "-c '' is a usage error" 2 $?
grep -q "^udpd: -c needs a file name" "$TMP/t.err" || fail "-c '': $(cat "$TMP/t.err")"
ok "-c '' says what is missing"
printf 'services = (\n);\n' >"$TMP/idle.conf"
"$UDPD" -t -c "$TMP/idle.conf" 2>"$TMP/t.err"
expect_eq "an empty services list is valid" 0 $?
grep -q "warning: $TMP/idle.conf: no enabled service" "$TMP/t.err" ||
	fail "no warning for services = ( ): $(cat "$TMP/t.err")"
ok "an empty services list is warned about"

"$UDPD" -x 2>/dev/null
expect_eq "unknown option exits 2" 2 $?
# Usage errors win, whatever else is on the line (-V, -h act last).
for args in "-V extra" "-h -x" "-x -h" "-V -x" "-h stray" "-t -c $TMP/udpd.conf -V x"; do
	# shellcheck disable=SC2086
	"$UDPD" $args >"$TMP/out" 2>/dev/null
	expect_eq "udpd $args exits 2" 2 $?
	[ ! -s "$TMP/out" ] || fail "udpd $args printed on stdout: $(cat "$TMP/out")"
done
"$UDPD" -t -c "$TMP/udpd.conf" stray 2>/dev/null
expect_eq "stray argument exits 2" 2 $?
"$UDPD" -V | grep -q '^udpd [0-9]' || fail "-V output"
ok "-V prints the version"
"$UDPD" -h | grep -q '^usage: udpd' || fail "-h output"
ok "-h prints usage"

# A port in use: exit 3, the message names service and address.
hold_port 60	# killed below, once udpd has failed to bind it
P=$HELD_PORT holder=$HOLDER_PID
printf 'services = ( { name = "busy"; module = "echo"; listen = [ "127.0.0.1:%s" ]; } );\n' "$P" >"$TMP/busy.conf"
"$UDPD" -f -c "$TMP/busy.conf" 2>"$TMP/busy.err"
rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
expect_eq "port in use exits 3" 3 "$rc"
grep -q "service busy: cannot bind 127.0.0.1:$P" "$TMP/busy.err" ||
	fail "port-in-use message: $(cat "$TMP/busy.err")"
ok "port-in-use message names service and address"

# Pidfile: a second instance refuses to start (exit 3).
start_udpd "$TMP/udpd.conf" -p "$TMP/udpd.pid"
expect_eq "pidfile holds the pid" "$UDPD_PID" "$(cat "$TMP/udpd.pid")"
UDPD_PORT_FILE=$TMP/ports2 "$UDPD" -f -c "$TMP/udpd.conf" -p "$TMP/udpd.pid" 2>"$TMP/second.err"
expect_eq "second instance exits 3" 3 $?
grep -q "another udpd is running" "$TMP/second.err" || fail "second instance message"
ok "second instance says why"

# A pidfile is never followed through a symlink, nor anything but a
# regular file written (as root this would overwrite the link's target).
echo precious >"$TMP/target"
ln -s "$TMP/target" "$TMP/sym.pid"
UDPD_PORT_FILE=$TMP/ports3 "$UDPD" -f -c "$TMP/udpd.conf" -p "$TMP/sym.pid" 2>"$TMP/sym.err"
expect_eq "a symlinked pidfile exits 3" 3 $?
grep -q "pidfile $TMP/sym.pid: is a symbolic link" "$TMP/sym.err" ||
	fail "symlink pidfile message: $(cat "$TMP/sym.err")"
expect_eq "the link's target is untouched" precious "$(cat "$TMP/target")"
mkfifo "$TMP/fifo.pid"
UDPD_PORT_FILE=$TMP/ports3 "$UDPD" -f -c "$TMP/udpd.conf" -p "$TMP/fifo.pid" 2>"$TMP/fifo.err"
expect_eq "a FIFO as pidfile exits 3" 3 $?
grep -q "pidfile $TMP/fifo.pid: not a regular file" "$TMP/fifo.err" ||
	fail "FIFO pidfile message: $(cat "$TMP/fifo.err")"
ok "a FIFO is refused as pidfile"

# SIGINT also exits 0; SIGUSR1 logs the counters and keeps serving.
kill -USR1 "$UDPD_PID"
wait_until 10 grep -q "stats greet (greet): requests" "$TMP/udpd.err" ||
	fail "SIGUSR1 stats line"
expect_eq "alive after SIGUSR1" "Hello x!" "$(echo x | udp 127.0.0.1 "$(port greet)")"
ok "SIGUSR1 logs the counters"
stop_udpd INT
expect_eq "SIGINT exits 0" 0 "$LAST_EXIT"
[ ! -e "$TMP/udpd.pid" ] || fail "pidfile left behind"
ok "pidfile removed at exit"

# Without -f udpd detaches: the command returns, the daemon serves.
rm -f "$PORT_FILE"
"$UDPD" -c "$TMP/udpd.conf" -p "$TMP/d.pid"
expect_eq "detaching start exits 0" 0 $?
wait_until 10 test -s "$PORT_FILE" || fail "detached daemon wrote no port file"
expect_eq "detached daemon answers" "Hello d!" "$(echo d | udp 127.0.0.1 "$(port greet)")"
dpid=$(cat "$TMP/d.pid")
kill "$dpid"
wait_until 10 eval '! kill -0 "$dpid" 2>/dev/null' ||
	fail "detached daemon did not stop"
ok "detached daemon stops on SIGTERM"
done_testing
