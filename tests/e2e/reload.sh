#!/bin/bash
# SIGHUP reload (SPEC section 4): a paced stream of requests to an unchanged
# service loses nothing across 20 reloads; added, removed and changed
# services take effect; a bad config or a port in use leaves the old one
# serving; chat logs are reopened (rotation) and the sequence goes on.
. "$(dirname "$0")/../lib.sh"
need python3 nc

# conf GREETING EXTRA: greet (changes), echo (never changes), chat, EXTRA;
# two workers, so that a reload pauses and resumes a second thread.  The
# load comes from one source: no default rate limit.
conf() {
	cat >"$TMP/udpd.conf" <<CONF
daemon = { workers = 2; };
services = (
  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0" ];
    rate_limit = false; },
  { name = "greet"; module = "greet"; listen = [ "127.0.0.1:0" ];
    greeting = "$1"; rate_limit = false; },
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
    log_file = "chat.log"; rate_limit = false; },
  { name = "stats"; module = "stats"; listen = [ "127.0.0.1:0" ];
    rate_limit = false; }$2
);
CONF
}

# reload_and_wait: SIGHUP, then wait for the rewritten port file.
reload_and_wait() {
	rm -f "$PORT_FILE"
	kill -HUP "$UDPD_PID"
	for _ in $(seq 1 100); do
		[ -s "$PORT_FILE" ] && return 0
		sleep 0.02
	done
	fail "no port file after reload"
}

conf "Hello %s!" ""
start_udpd "$TMP/udpd.conf"
E=$(port echo)

# A paced stream to echo (one request every 2 ms) while the config changes
# 20 times under it, and 50 requests more once it is done.  A request not
# answered in 1 s is sent again (the machine may be slow), 5 times at most;
# what must hold is that every request is answered, and that udpd read
# every datagram sent but those the kernel dropped (full buffers), so that
# no reload loses one.
python3 - "$E" "$TMP/reloads.done" >"$TMP/stream.out" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1.0)
sent = datagrams = unanswered = after = 0
end = time.monotonic() + 120
while after < 50 and time.monotonic() < end:
    if os.path.exists(sys.argv[2]):
        after += 1
    msg = b"seq-%d" % sent
    sent += 1
    for _ in range(5):
        s.send(msg)
        datagrams += 1
        try:
            while s.recv(100) != msg:	# a late answer to a resend
                pass
            break
        except socket.timeout:
            continue
    else:
        unanswered += 1
    time.sleep(0.002)
print(sent, datagrams, unanswered)
PY
stream=$!
for i in $(seq 1 20); do
	if [ $((i % 2)) -eq 0 ]; then
		conf "Hi %s ($i)" ""
	else
		conf "Hey %s ($i)" ', { name = "upper"; module = "upper"; listen = [ "127.0.0.1:0" ]; }'
	fi
	reload_and_wait
	sleep 0.1	# pacing: spread the 20 reloads over the stream
done
touch "$TMP/reloads.done"
wait "$stream"
read -r sent datagrams unanswered <"$TMP/stream.out"
[ "$sent" -gt 70 ] || fail "stream sent only $sent requests"
expect_eq "every request answered across 20 reloads ($sent sent)" 0 "$unanswered"
read_by_udpd=$(echo | udp 127.0.0.1 "$(port stats)" | python3 -c '
import json, sys
print(json.load(sys.stdin)["services"]["echo"]["requests"])')
expect_eq "every datagram read by udpd or dropped by the kernel ($datagrams)" \
	"$datagrams" $((read_by_udpd + $(kernel_drops "$E")))
expect_eq "echo kept its socket" "$E" "$(port echo)"
expect_eq "changed service takes effect" "Hi z (20)" "$(echo z | udp 127.0.0.1 "$(port greet)")"
grep -q '^upper ' "$PORT_FILE" && fail "removed service still listed"
ok "removed service is gone"

conf "Hello %s!" ', { name = "upper"; module = "upper"; listen = [ "127.0.0.1:0" ]; }'
reload_and_wait
expect_eq "added service answers" "ABC" "$(echo abc | udp 127.0.0.1 "$(port upper)")"

# A bad config: logged, old one keeps serving.
echo 'services = ( { name = "x"; module = "nope"; listen = [ "127.0.0.1:0" ]; } );' >"$TMP/udpd.conf"
kill -HUP "$UDPD_PID"
wait_until 10 grep -q "reload failed, old configuration kept: .*udpd.conf:1: module: unknown module 'nope'" "$TMP/udpd.err" ||
	fail "bad reload not logged"
ok "bad config on reload is logged"
expect_eq "old config still serving" "Hello y!" "$(echo y | udp 127.0.0.1 "$(port greet)")"

# A port in use: the whole new config is refused.
hold_port 60
busy=$HELD_PORT holder=$HOLDER_PID
conf "Changed %s" ", { name = \"busy\"; module = \"echo\"; listen = [ \"127.0.0.1:$busy\" ]; }, { name = \"room\"; module = \"chat\"; listen = [ \"127.0.0.1:0\" ]; log_file = \"room.log\"; }"
kill -HUP "$UDPD_PID"
wait_until 10 grep -q "reload failed, old configuration kept: service busy: cannot bind 127.0.0.1:$busy" "$TMP/udpd.err" ||
	fail "port-in-use reload not logged"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
ok "port in use on reload is logged"
[ -e "$TMP/room.log" ] || [ -e "$TMP/room.log.seq" ] && fail "failed reload created the new chat log"
ok "failed reload touched no disk (no room.log)"
expect_eq "greet unchanged after failed reload" "Hello w!" "$(echo w | udp 127.0.0.1 "$(port greet)")"

# Log rotation: move the chat log away, SIGHUP, the sequence goes on.
conf "Hello %s!" ""
reload_and_wait
C=$(port chat)
expect_eq "chat before rotation" "ok 1" "$(echo one | udp 127.0.0.1 "$C")"
mv "$TMP/chat.log" "$TMP/chat.log.1"
reload_and_wait
expect_eq "chat after rotation" "ok 2" "$(echo two | udp 127.0.0.1 "$C")"
[ "$(cut -d' ' -f1,4 "$TMP/chat.log")" = "2 two" ] || fail "new chat.log: $(cat "$TMP/chat.log")"
ok "rotated log reopened, new file has the next seq"

stop_udpd
expect_eq "exit 0 after reloads" 0 "$LAST_EXIT"
done_testing
