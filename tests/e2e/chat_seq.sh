#!/bin/bash
# The chat sequence across crashes and rotations, and the chat edges:
# after a kill -9, with or without a rotation while udpd was
# stopped, the next seq is the last acknowledged + 1 (fsync on or off); a
# damaged chat.log.seq (a write cut short) is a warning naming it, and the
# sequence goes on from the log; the old "<seq>\n" is read; a failed write
# says why (and a full disk: not stored); a retry from the same socket is
# the same message, also after a kill -9 and a restart;
# syslog = true logs each acknowledged message as a plain console room does;
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

# say_from SRC PORT MSG...: as say, from 127.0.0.1:SRC (a client that
# retries from the same socket, even across udpd restarts).
say_from() {
	python3 - "$@" <<'PY'
import socket, sys
src, port = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", src))
s.settimeout(3)
reply = b""
for m in sys.argv[3:]:
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

# state FILE: the higher of the two 30-byte records "<20 digits> <hash>\n"
# of a chat.log.seq.
state() {
	for at in 1 31; do
		tail -c +$at "$1" | head -c 29 | tr -c '0-9a-f ' '?'
		echo
	done | grep -E '^[0-9]{20} [0-9a-f]{8}$' | sort -r | head -1 |
		cut -d' ' -f1 | sed 's/^0*//'
}

# A damaged state file (a write cut short) is a warning naming it, never
# a start that fails; the sequence goes on from the log's last line.
conf ""
for bad in 'abc\n' '0000000000000' '99999999999999999999 0\n'; do
	rm -f "$TMP"/chat.log*
	printf '5 2026-11-22T00:00:01.234Z 127.0.0.1:1 five\n' >"$TMP/chat.log"
	printf "$bad" >"$TMP/chat.log.seq"
	: >"$TMP/udpd.err"
	start_udpd "$TMP/udpd.conf"
	expect_eq "damaged .seq ($bad): the start goes on from the log" "ok 6" \
		"$(say "$(port chat)" six)"
	stop_udpd
	grep -q "$TMP/chat.log.seq: damaged" "$TMP/udpd.err" ||
		fail "damaged .seq message: $(cat "$TMP/udpd.err")"
	expect_eq "damaged .seq ($bad) holds it whole" 6 "$(state "$TMP/chat.log.seq")"
done
ok "the warning names the state file"
# The old format, written by earlier versions, is read.
rm -f "$TMP"/chat.log*
echo 22 >"$TMP/chat.log.seq"
start_udpd "$TMP/udpd.conf"
expect_eq "old .seq 22: next is 23" "ok 23" "$(say "$(port chat)" next)"
stop_udpd
expect_eq "old .seq converted" 23 "$(state "$TMP/chat.log.seq")"

# A write refused by a file size limit: the reason, not "short write".
rm -f "$TMP"/chat.log*
rm -f "$PORT_FILE"
(ulimit -f 1; exec "$UDPD" -f -c "$TMP/udpd.conf" 2>>"$TMP/udpd.err") &
UDPD_PID=$!
wait_until 10 test -s "$PORT_FILE" || fail "udpd did not start under ulimit -f"
big=$(head -c 700 /dev/zero | tr '\0' x)
expect_eq "under the limit" "ok 1" "$(say "$(port chat)" "$big")"
expect_eq "over the limit: why" "error: not stored: write failed: File too large" \
	"$(say "$(port chat)" "$big")"
grep -q "cannot append: .*File too large" "$TMP/udpd.err" ||
	fail "the log does not say why: $(tail -3 "$TMP/udpd.err")"
ok "the log says why the write failed"
stop_udpd

# A full disk: certainly not stored, and the reason.
cat >"$TMP/udpd.conf" <<CONF
services = ( { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
  log_file = "/dev/full"; } );
CONF
start_udpd "$TMP/udpd.conf"
expect_eq "a full disk: not stored" \
	"error: not stored: write failed: No space left on device" \
	"$(say "$(port chat)" full)"
stop_udpd

# Retries: the same text from the same socket within retry_window_ms is
# the same message (its first seq), after a kill -9 and a restart too;
# from another socket, or with the window off, it is a new one.
rm -f "$TMP"/chat.log*
conf ""
start_udpd "$TMP/udpd.conf"
SRC=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect_eq "retry: first try" "ok 1" "$(say_from "$SRC" "$(port chat)" "once please")"
expect_eq "retry: the reply was lost, the same again" "ok 1" \
	"$(say_from "$SRC" "$(port chat)" "once please")"
expect_eq "retry: another socket is another message" "ok 2" \
	"$(say "$(port chat)" "once please")"
stop_udpd KILL
start_udpd "$TMP/udpd.conf"
expect_eq "retry after kill -9 and a restart: the first seq" "ok 1" \
	"$(say_from "$SRC" "$(port chat)" "once please")"
expect_eq "and a new text is new" "ok 3" "$(say_from "$SRC" "$(port chat)" "twice")"
stop_udpd
expect_eq "each stored once" 2 "$(grep -c ' once please$' "$TMP/chat.log")"
conf "retry_window_ms = 0;"
start_udpd "$TMP/udpd.conf"
expect_eq "retry_window_ms = 0: a repeat is new" "ok 4" \
	"$(say_from "$SRC" "$(port chat)" "twice")"
stop_udpd

# syslog = true: "[<ctime>] <ip>: <escaped text>" per acknowledged message.
rm -f "$TMP"/chat.log*
conf "syslog = true;"
: >"$TMP/udpd.err"
start_udpd "$TMP/udpd.conf"
C=$(port chat)
expect_eq "ack 1" "ok 1" "$(say "$C" "$(printf 'hello\tthere')")"
expect_eq "empty: refused" "error: not stored: empty message" "$(say "$C" "")"
expect_eq "a command: no message" "$(sed -n 1p "$TMP/chat.log")" "$(say "$C" "/history 1")"
expect_eq "ack 2" "ok 2" "$(say "$C" "$(printf 'caf\xc3\xa9 \\ \x1b[2J')")"
stop_udpd
grep -E '^udpd: \[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}\] 127\.0\.0\.1: ' \
	"$TMP/udpd.err" | sed 's/^udpd: \[[^]]*\] //' >"$TMP/room"
expect_eq "the room, as a console chat prints it" \
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
	expect_eq "the state file was kept up to date" 2 "$(state "$TMP/run/chat.log.seq")"
else
	echo "# not root: the privilege drop case is skipped"
fi
done_testing
