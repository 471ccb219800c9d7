#!/bin/bash
# The command line and exit statuses: -t on good and bad configs (every
# error reported), long options, usage errors, -V, -h, a port in use, the
# pidfile lock, signals.
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
expect_eq "a bad config stops the start with 78 (EX_CONFIG)" 78 $?
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

# -t reports every error it finds, each with FILE:LINE, not only the first.
cat >"$TMP/many.conf" <<'CONF'
daemon = { log_level = "loud"; };
services = (
  { name = "g"; module = "greet"; listen = [ "127.0.0.1:0" ]; colour = "red"; },
  { name = "e"; module = "echo"; listen = [ "127.0.0.1:99999" ]; },
  { name = "g"; module = "upper"; listen = [ "127.0.0.1:0" ]; },
  { name = "n"; module = "nosuch"; listen = [ "127.0.0.1:0" ]; }
);
CONF
"$UDPD" -t -c "$TMP/many.conf" 2>"$TMP/t.err"
expect_eq "-t with five errors exits 1" 1 $?
for want in "many.conf:1: log_level" "many.conf:3: colour" "many.conf:4: listen" \
    "many.conf:5: name: duplicate" "many.conf:6: module" "many.conf: 5 errors"; do
	grep -q "$want" "$TMP/t.err" || fail "-t does not report '$want': $(cat "$TMP/t.err")"
done
ok "-t reports all five errors, each with FILE:LINE"
# Bounded: 30 bad services give 20 lines and a count.
{ echo 'services = ('
  for i in $(seq 1 30); do echo "  { name = \"s$i\"; module = \"nosuch\"; listen = [ \"127.0.0.1:0\" ]; },"; done
  echo '  { name = "last"; module = "echo"; listen = [ "127.0.0.1:0" ]; }'
  echo ');'; } >"$TMP/thirty.conf"
"$UDPD" -t -c "$TMP/thirty.conf" 2>"$TMP/t.err"
expect_eq "-t with 30 errors exits 1" 1 $?
expect_eq "-t shows at most 20 errors" 20 "$(grep -c ': module: unknown module' "$TMP/t.err")"
grep -q "thirty.conf: 30 errors, the first 20 shown" "$TMP/t.err" ||
	fail "no count of the errors not shown: $(tail -n 1 "$TMP/t.err")"
ok "-t says how many errors it did not show"
# A syntax error quotes the line and hints at the usual mistake.
printf 'services = (\n  { name = "g"; module = "greet"; listen = [ "127.0.0.1:0" ]; }\n  { name = "e"; module = "echo"; listen = [ "127.0.0.1:0" ]; }\n);\n' >"$TMP/syn.conf"
"$UDPD" --test --config "$TMP/syn.conf" 2>"$TMP/t.err"
expect_eq "a syntax error exits 1" 1 $?
grep -qF "syn.conf:3: syntax: syntax error in \"  { name = \"e\"; module" "$TMP/t.err" ||
	fail "syntax error without the line: $(cat "$TMP/t.err")"
grep -q "is a ';' or ',' missing at the end of the line before" "$TMP/t.err" ||
	fail "syntax error without a hint: $(cat "$TMP/t.err")"
ok "a syntax error quotes the line and gives a hint"

# Long options, as users expect them.
"$UDPD" --help >"$TMP/out" 2>&1
expect_eq "--help exits 0" 0 $?
grep -q -- '--config=FILE' "$TMP/out" || fail "--help does not list the long options"
"$UDPD" --version >"$TMP/out" 2>&1
expect_eq "--version exits 0" 0 $?
grep -q '^udpd [0-9]' "$TMP/out" || fail "--version output: $(cat "$TMP/out")"
"$UDPD" --test --config="$TMP/udpd.conf" 2>/dev/null
expect_eq "--test --config=FILE on a good config exits 0" 0 $?
"$UDPD" --test --config "$TMP/bad.conf" 2>/dev/null
expect_eq "--test --config FILE on a bad config exits 1" 1 $?
"$UDPD" --foreground --debug --pidfile="$TMP/x.pid" --config "$TMP/many.conf" 2>/dev/null
expect_eq "--foreground --debug --pidfile: a bad config at start exits 78" 78 $?
"$UDPD" --bogus 2>/dev/null
expect_eq "an unknown long option exits 2" 2 $?
"$UDPD" --reload --test 2>/dev/null
expect_eq "--reload with -t is a usage error" 2 $?
env -u MAINPID "$UDPD" --reload 2>"$TMP/t.err"
expect_eq "--reload without -p or \$MAINPID is a usage error" 2 $?

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

# A port in use: exit 69 (EX_UNAVAILABLE), the message names service and address.
hold_port 60	# killed below, once udpd has failed to bind it
P=$HELD_PORT holder=$HOLDER_PID
printf 'services = ( { name = "busy"; module = "echo"; listen = [ "127.0.0.1:%s" ]; } );\n' "$P" >"$TMP/busy.conf"
"$UDPD" -f -c "$TMP/busy.conf" 2>"$TMP/busy.err"
rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
expect_eq "port in use exits 69" 69 "$rc"
grep -q "service busy: cannot bind 127.0.0.1:$P" "$TMP/busy.err" ||
	fail "port-in-use message: $(cat "$TMP/busy.err")"
ok "port-in-use message names service and address"

# Pidfile: a second instance refuses to start (exit 69).
start_udpd "$TMP/udpd.conf" -p "$TMP/udpd.pid"
expect_eq "pidfile holds the pid" "$UDPD_PID" "$(cat "$TMP/udpd.pid")"
UDPD_PORT_FILE=$TMP/ports2 "$UDPD" -f -c "$TMP/udpd.conf" -p "$TMP/udpd.pid" 2>"$TMP/second.err"
expect_eq "second instance exits 69" 69 $?
grep -q "another udpd is running" "$TMP/second.err" || fail "second instance message"
ok "second instance says why"

# A pidfile is never followed through a symlink, nor anything but a
# regular file written (as root this would overwrite the link's target).
echo precious >"$TMP/target"
ln -s "$TMP/target" "$TMP/sym.pid"
UDPD_PORT_FILE=$TMP/ports3 "$UDPD" -f -c "$TMP/udpd.conf" -p "$TMP/sym.pid" 2>"$TMP/sym.err"
expect_eq "a symlinked pidfile exits 69" 69 $?
grep -q "pidfile $TMP/sym.pid: is a symbolic link" "$TMP/sym.err" ||
	fail "symlink pidfile message: $(cat "$TMP/sym.err")"
expect_eq "the link's target is untouched" precious "$(cat "$TMP/target")"
mkfifo "$TMP/fifo.pid"
UDPD_PORT_FILE=$TMP/ports3 "$UDPD" -f -c "$TMP/udpd.conf" -p "$TMP/fifo.pid" 2>"$TMP/fifo.err"
expect_eq "a FIFO as pidfile exits 69" 69 $?
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
