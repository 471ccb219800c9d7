#!/bin/bash
# Chat durability: every acknowledged message survives kill -9, exactly
# once, and the sequence continues after a restart, also when the daemon
# is killed in the middle of a stream; a client that sends every
# unanswered message again, from the same socket, through a kill -9 and a
# restart, gets every text stored exactly once (the retry window).
. "$(dirname "$0")/../lib.sh"
need python3 nc

# Thousands of messages from one source: no default rate limit.
cat >"$TMP/udpd.conf" <<CONF
services = (
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
    log_file = "chat.log"; rate_limit = false; }
);
CONF

# send_msgs PORT COUNT TAG: sends COUNT messages (16 in flight), prints one
# "seq text" line per ack received.
send_msgs() {
	python3 - "$@" <<'PY'
import socket, sys, time
port, count, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", port))
s.settimeout(0.5)
pending, nxt, acks = {}, 0, []
deadline = time.time() + 30
while (nxt < count or pending) and time.time() < deadline:
    while nxt < count and len(pending) < 16:
        msg = "%s-%d" % (tag, nxt)
        s.send(msg.encode())
        pending[nxt] = msg
        nxt += 1
    try:
        reply = s.recv(100).decode()
    except (socket.timeout, ConnectionRefusedError):
        break
    # Replies come back in order on loopback: match the oldest pending.
    i = min(pending)
    if reply.startswith("ok "):
        acks.append("%s %s" % (reply.split()[1], pending[i]))
    del pending[i]
for a in acks:
    print(a)
PY
}

# check_acks ACKFILE: every acked seq is in chat.log once, with its text.
check_acks() {
	python3 - "$1" "$TMP/chat.log" <<'PY' || fail "acknowledged messages missing"
import sys
acks = [l.split() for l in open(sys.argv[1]) if l.strip()]
data = open(sys.argv[2], "rb").read()
lines = data.split(b"\n")
# A kill -9 inside a large write can leave the batch's last line cut short
# (the kernel stops between pages); it was never acknowledged, and the
# next start moves it aside.  Everything before it must be whole.
if not data.endswith(b"\n"):
    lines.pop()
seqs = {}
for l in lines:
    if not l:
        continue
    f = l.split(b" ", 3)
    seqs.setdefault(int(f[0]), []).append(f[3].decode())
for seq, text in acks:
    got = seqs.get(int(seq), [])
    if got != [text]:
        sys.exit("seq %s: expected [%r], file has %r" % (seq, text, got))
all_seqs = sorted(seqs)
if all_seqs != list(range(1, len(all_seqs) + 1)):
    sys.exit("sequence has gaps or repeats: %r" % all_seqs[:20])
PY
}

start_udpd "$TMP/udpd.conf"
P=$(port chat)
send_msgs "$P" 200 calm >"$TMP/acks1"
expect_eq "200 messages acknowledged" 200 "$(wc -l <"$TMP/acks1")"
kill -9 "$UDPD_PID"; wait "$UDPD_PID" 2>/dev/null; UDPD_PID=
check_acks "$TMP/acks1"
ok "every acknowledged seq in the file exactly once after kill -9"

start_udpd "$TMP/udpd.conf"
P=$(port chat)
expect_eq "seq continues after restart" "ok 201" "$(echo again | udp 127.0.0.1 "$P")"

# Kill -9 in the middle of a stream.
send_msgs "$P" 200000 storm >"$TMP/acks2" &
sender=$!
# Mid-stream: once the storm's first 500 lines are in the file.
storming() { [ "$(grep -c ' storm-' "$TMP/chat.log")" -ge 500 ]; }
wait_until 20 storming || fail "the storm did not start"
kill -9 "$UDPD_PID"; wait "$UDPD_PID" 2>/dev/null; UDPD_PID=
wait "$sender"
n=$(wc -l <"$TMP/acks2")
[ "$n" -gt 0 ] || fail "no ack before the kill"
check_acks "$TMP/acks2"
ok "kill -9 mid-stream: $n acknowledged messages all in the file once"
last=$(tail -n 1 "$TMP/chat.log" | cut -d' ' -f1)
start_udpd "$TMP/udpd.conf"
P=$(port chat)
expect_eq "next ack follows the file's last seq" "ok $((last + 1))" \
	"$(echo after | udp 127.0.0.1 "$P")"
stop_udpd

# Retries through a kill -9: one message at a time from one socket, each
# sent again every 0.2 s until "ok" (at most 30 s in all), to the port
# in $TMP/target (the restarted daemon has another); the first "ok" of
# every 10th message is taken as lost, so it is always sent again.
# Prints "seq text" per message acknowledged.
retrying_client() {
	python3 - "$TMP/target" "$1" <<'PY'
import socket, sys, time
target, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
deadline = time.time() + 30
for i in range(count):
    msg = "retry-%d" % i
    lose = i % 10 == 0
    while time.time() < deadline:
        try:
            port = int(open(target).read())
            s.sendto(msg.encode(), ("127.0.0.1", port))
        except (OSError, ValueError):
            pass
        s.settimeout(0.2)
        try:
            reply = s.recv(100).decode()
        except OSError:
            continue
        if reply.startswith("ok ") and lose:
            lose = False
            continue
        if reply.startswith("ok "):
            print(reply.split()[1], msg, flush=True)
            break
        if reply.startswith("error: not stored"):
            continue
        sys.exit("message %d: %r" % (i, reply))
    # a late second answer to this message must not pass for the next's
    s.setblocking(False)
    try:
        while s.recv(100):
            pass
    except OSError:
        pass
PY
}

rm -f "$TMP"/chat.log*
start_udpd "$TMP/udpd.conf"
port chat >"$TMP/target"
retrying_client 300 >"$TMP/acks3" &
client=$!
some() { [ "$(grep -c ' retry-' "$TMP/chat.log")" -ge 100 ]; }
wait_until 20 some || fail "the retrying client did not start"
kill -9 "$UDPD_PID"; wait "$UDPD_PID" 2>/dev/null; UDPD_PID=
start_udpd "$TMP/udpd.conf"
port chat >"$TMP/target"
wait "$client" || fail "the retrying client failed"
expect_eq "every message acknowledged through the kill" 300 "$(wc -l <"$TMP/acks3")"
stop_udpd
check_acks "$TMP/acks3"
expect_eq "every text stored once" "300 300" \
	"$(grep -c ' retry-' "$TMP/chat.log") $(cut -d' ' -f4 "$TMP/chat.log" | sort -u | wc -l)"
ok "retries through kill -9 and a restart: each acknowledged seq is its text's"
done_testing
