#!/bin/bash
# "udpd --reload" waits for the daemon's verdict and says it in its exit
# status (0 applied, 1 old configuration kept: a config error or a port in
# use), by pidfile or $MAINPID; "udpd --reopen" and SIGUSR2 reopen the chat
# log (rotation) without reading the configuration, so a staged edit stays
# staged; a request from another user is refused.
. "$(dirname "$0")/../lib.sh"
need python3 nc

# conf GREETING [EXTRA]
conf() {
	cat >"$TMP/udpd.conf" <<CONF
services = (
  { name = "greet"; module = "greet"; listen = [ "127.0.0.1:0" ];
    greeting = "$1"; },
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
    log_file = "chat.log"; }${2:-}
);
CONF
}
greet() { echo "${1:-A}" | udp 127.0.0.1 "$(port greet)"; }
chat() { echo "$1" | udp 127.0.0.1 "$(port chat)"; }

conf "Hello %s!"
start_udpd "$TMP/udpd.conf" -p "$TMP/udpd.pid"
expect_eq "serving" "Hello A!" "$(greet)"

conf "Howdy %s!"
"$UDPD" --reload -p "$TMP/udpd.pid" >"$TMP/out" 2>&1
expect_eq "--reload of a good edit exits 0" 0 $?
grep -q "^udpd: reloaded $TMP/udpd.conf" "$TMP/out" || fail "--reload said: $(cat "$TMP/out")"
expect_eq "... and it is applied when --reload returns" "Howdy A!" "$(greet)"

# A config error: exit 1 with udpd's own message, the old one serves.
conf "Bad %s!" ',
  { name = "x"; module = "nosuch"; listen = [ "127.0.0.1:0" ]; }'
"$UDPD" --reload -p "$TMP/udpd.pid" >"$TMP/out" 2>&1
expect_eq "--reload of a broken config exits 1" 1 $?
grep -q "old configuration kept: $TMP/udpd.conf:6: module: unknown module" "$TMP/out" ||
	fail "--reload said: $(cat "$TMP/out")"
expect_eq "... the old configuration serves" "Howdy A!" "$(greet)"

# A port in use (found only when binding): exit 1 too, through $MAINPID.
hold_port 60
P=$HELD_PORT holder=$HOLDER_PID
conf "Busy %s!" ",
  { name = \"busy\"; module = \"echo\"; listen = [ \"127.0.0.1:$P\" ]; }"
MAINPID=$UDPD_PID "$UDPD" --reload >"$TMP/out" 2>&1
rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
expect_eq "--reload with a port in use exits 1 (\$MAINPID)" 1 "$rc"
grep -q "old configuration kept: service busy: cannot bind 127.0.0.1:$P" "$TMP/out" ||
	fail "--reload said: $(cat "$TMP/out")"
expect_eq "... the old configuration serves" "Howdy A!" "$(greet)"

# Rotation: rename the chat log, --reopen; a staged edit stays staged.
conf "Staged %s!"
expect_eq "chat before the rotation" "ok 1" "$(chat one)"
mv "$TMP/chat.log" "$TMP/chat.log.1"
"$UDPD" --reopen -p "$TMP/udpd.pid" >"$TMP/out" 2>&1
expect_eq "--reopen exits 0" 0 $?
expect_eq "chat goes on (the sequence too)" "ok 2" "$(chat two)"
wait_until 10 grep -q ' two$' "$TMP/chat.log" || fail "no new chat.log after --reopen"
grep -q ' one$' "$TMP/chat.log.1" || fail "the rotated log lost its line"
grep -q ' two$' "$TMP/chat.log.1" && fail "chat wrote into the rotated file"
ok "the new message is in the new chat.log, the old one in chat.log.1"
expect_eq "--reopen did not apply the staged edit" "Howdy A!" "$(greet)"
mv "$TMP/chat.log" "$TMP/chat.log.2"
kill -USR2 "$UDPD_PID"
wait_until 10 grep -q "reopening log files" "$TMP/udpd.err" || fail "no reopen on SIGUSR2"
expect_eq "SIGUSR2: chat goes on" "ok 3" "$(chat three)"
wait_until 10 grep -q ' three$' "$TMP/chat.log" || fail "no new chat.log after SIGUSR2"
ok "SIGUSR2 reopens the chat log"
expect_eq "SIGUSR2 did not apply the staged edit" "Howdy A!" "$(greet)"

# Only root and udpd's own user are heard.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    env MAINPID="$UDPD_PID" "$UDPD" --reload >"$TMP/out" 2>&1
	rc=$?
	expect_eq "another user's --reload is refused (1)" 1 "$rc"
	grep -q "refused: only root and udpd's own user may ask" "$TMP/out" ||
		fail "refused --reload said: $(cat "$TMP/out")"
	grep -q "control request from uid 65534 refused" "$TMP/udpd.err" ||
		fail "no log of the refused request"
	expect_eq "... and changed nothing" "Howdy A!" "$(greet)"
fi

stop_udpd
"$UDPD" --reload -p "$TMP/udpd.pid" >"$TMP/out" 2>&1
expect_eq "--reload with no daemon running exits 69" 69 $?
done_testing
