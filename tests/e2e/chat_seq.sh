#!/bin/bash
# The chat sequence across crashes and rotations, and the chat edges of
# issue 14: after a kill -9, with or without a rotation while udpd was
# stopped, the next seq is the last acknowledged + 1 (fsync on or off); a
# corrupt chat.log.seq stops the start naming it; a failed write says why;
# syslog = true logs each acknowledged message as seed 002's console does;
# started as root with user = "nobody" and the log in a root-owned
# directory (script/server), nothing fails after the drop.
. "$(dirname "$0")/../lib.sh"
need python3

# say PORT MSG...: one datagram per MSG, in order; prints the last reply.
say() {
	python3 - "$@" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
reply = b""
for m in sys.argv[2:]:
    s.sendto(m.encode(), ("127.0.0.1", port))
    reply = s.recv(65536)
sys.stdout.write(reply.decode(errors="replace"))
PY
}

# conf [EXTRA]: one chat service on chat.log in $TMP, with EXTRA settings.
conf() {
	cat >"$TMP/udpd.conf" <<CONF
services = (
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
    log_file = "chat.log"; $1 }
);
CONF
}

ten() { echo m1 m2 m3 m4 m5 m6 m7 m8 m9 m10; }

reloads_above() {
	[ "$(grep -c "reloaded" "$TMP/udpd.err")" -gt "$1" ]
}
# reload: SIGHUP, and wait until udpd says it is done.
reload() {
	local n
	n=$(grep -c "reloaded" "$TMP/udpd.err")
	kill -HUP "$UDPD_PID"
	wait_until 10 reloads_above "$n" || fail "no reload"
}

for mode in "fsync = false;" "fsync = true;"; do
	rm -f "$TMP"/chat.log*
	conf "$mode"
	start_udpd "$TMP/udpd.conf"
	# shellcheck disable=SC2046
	expect_eq "$mode 10 messages" "ok 10" "$(say "$(port chat)" $(ten))"
	stop_udpd KILL
	mv "$TMP/chat.log" "$TMP/chat.log.1"		# rotated while stopped
	start_udpd "$TMP/udpd.conf"
	expect_eq "$mode kill -9, rotation while stopped: next is 11" "ok 11" \
		"$(say "$(port chat)" next)"
	# A rotation by SIGHUP, 10 more, kill -9, a rotation while stopped.
	mv "$TMP/chat.log" "$TMP/chat.log.2"
	reload
	# shellcheck disable=SC2046
	expect_eq "$mode 10 more after a SIGHUP" "ok 21" "$(say "$(port chat)" $(ten))"
	stop_udpd KILL
	mv "$TMP/chat.log" "$TMP/chat.log.3"
	start_udpd "$TMP/udpd.conf"
	expect_eq "$mode the same after a SIGHUP: next is 22" "ok 22" \
		"$(say "$(port chat)" next)"
	stop_udpd
	# Every seq exactly once over the files.
	seqs=$(cat "$TMP"/chat.log.1 "$TMP"/chat.log.2 "$TMP"/chat.log.3 "$TMP"/chat.log |
		cut -d' ' -f1 | tr '\n' ' ')
	expect_eq "$mode seqs 1-22 once each" "$(seq 1 22 | tr '\n' ' ')" "$seqs"
done

# A corrupt state file stops the start, naming it (never a restart at 1).
conf ""
for bad in 'abc\n' '123' '18446744073709551615\n'; do
	printf "$bad" >"$TMP/chat.log.seq"
	: >"$TMP/udpd.err"
	"$UDPD" -f -c "$TMP/udpd.conf" 2>"$TMP/udpd.err"
	rc=$?
	expect_eq "corrupt .seq ($bad) stops the start" 3 "$rc"
	grep -q "$TMP/chat.log.seq: corrupt" "$TMP/udpd.err" ||
		fail "corrupt .seq message: $(cat "$TMP/udpd.err")"
done
ok "the message names the state file"
echo 22 >"$TMP/chat.log.seq"

# A write refused by a file size limit: the reason, not "short write".
rm -f "$TMP"/chat.log*
rm -f "$PORT_FILE"
(ulimit -f 1; exec "$UDPD" -f -c "$TMP/udpd.conf" 2>>"$TMP/udpd.err") &
UDPD_PID=$!
wait_until 10 test -s "$PORT_FILE" || fail "udpd did not start under ulimit -f"
big=$(head -c 700 /dev/zero | tr '\0' x)
expect_eq "under the limit" "ok 1" "$(say "$(port chat)" "$big")"
expect_eq "over the limit: why" "error: write failed: File too large" \
	"$(say "$(port chat)" "$big")"
grep -q "cannot append: File too large" "$TMP/udpd.err" ||
	fail "the log does not say why: $(tail -3 "$TMP/udpd.err")"
ok "the log says why the write failed"
stop_udpd

# syslog = true: "[<ctime>] <ip>: <escaped text>" per acknowledged message.
rm -f "$TMP"/chat.log*
conf "syslog = true;"
: >"$TMP/udpd.err"
start_udpd "$TMP/udpd.conf"
C=$(port chat)
expect_eq "ack 1" "ok 1" "$(say "$C" "$(printf 'hello\tthere')")"
expect_eq "empty: refused" "error: empty message" "$(say "$C" "")"
expect_eq "a command: no message" "$(sed -n 1p "$TMP/chat.log")" "$(say "$C" "/history 1")"
expect_eq "ack 2" "ok 2" "$(say "$C" "$(printf 'caf\xc3\xa9 \\ \x1b[2J')")"
stop_udpd
grep -E '^udpd: \[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}\] 127\.0\.0\.1: ' \
	"$TMP/udpd.err" | sed 's/^udpd: \[[^]]*\] //' >"$TMP/room"
expect_eq "the room, as seed 002 prints it" \
	"$(printf '127.0.0.1: hello\\x09there\n127.0.0.1: caf\xc3\xa9 \\\\ \\x1b[2J')" \
	"$(cat "$TMP/room")"

# As root with user = "nobody" and the log in a directory of root's, as
# script/server runs a newcomer: no error, not at a reload, not at the stop.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 755 "$TMP"
	mkdir -m 755 "$TMP/run"
	mkdir -m 1777 "$TMP/pf"
	PORT_FILE=$TMP/pf/ports
	export UDPD_PORT_FILE=$PORT_FILE
	cat >"$TMP/udpd.conf" <<CONF
daemon = { user = "nobody"; };
services = ( { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
  log_file = "run/chat.log"; } );
CONF
	: >"$TMP/udpd.err"
	start_udpd "$TMP/udpd.conf"
	expect_eq "as nobody: ack" "ok 1" "$(say "$(port chat)" hi)"
	reload
	expect_eq "as nobody after a reload" "ok 2" "$(say "$(port chat)" again)"
	stop_udpd
	grep -i -e "cannot" -e "denied" -e "fail" "$TMP/udpd.err" &&
		fail "errors after the privilege drop"
	ok "no error after the privilege drop (reload, stop)"
	expect_eq "the state file was kept up to date" 2 "$(cat "$TMP/run/chat.log.seq")"
else
	echo "# not root: the privilege drop case is skipped"
fi
done_testing
