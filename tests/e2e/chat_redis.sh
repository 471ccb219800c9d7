#!/bin/bash
# The chat room on Redis (store = "redis"), against a private redis-server
# (tests/redis.sh: temp dir, unix socket, AOF with appendfsync always):
# two udpd processes share one room (interleaved posts get one gap-free
# sequence, /history on one shows the other's messages); lines identical
# to the file store's, escaping included; a reload with the same options
# keeps the connections; Redis killed and restarted (errors, then acks,
# no gap, nothing acknowledged lost); kill -9 of a udpd mid-stream (every
# acknowledged message in the stream exactly once); AUTH with a password
# and with an ACL user; a replica with wait_replicas = 1.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/redis.sh"

"$UDPD" -V | grep -q 'Redis (libhiredis): hiredis' ||
	skip "udpd was built without libhiredis"
need redis-server redis-cli python3
RD=$TMP/redis
B_PID=

chat_redis_cleanup() {
	[ -n "$B_PID" ] && kill -TERM "$B_PID" 2>/dev/null && wait "$B_PID"
	for d in "$TMP"/redis*; do
		[ -d "$d" ] && redis_stop "$d"
	done
	cleanup
}
trap chat_redis_cleanup EXIT

redis_start "$RD" || fail "redis-server did not start"
rcli() { redis_cli "$RD" "$@"; }

# conf FILE [chat settings...]: a file-store chat, a Redis chat on the
# room "room", an echo.
conf() {
	local file=$1
	shift
	cat >"$file" <<CONF
daemon = { workers = 2; metrics = { listen = [ "127.0.0.1:0" ]; }; };
services = (
  { name = "fchat"; module = "chat"; listen = [ "127.0.0.1:0", "[::1]:0" ];
    log_file = "$(basename "$file").log"; rate_limit = false; },
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0", "[::1]:0" ];
    store = "redis"; redis = "unix:$RD/redis.sock"; key = "room";
    rate_limit = false; $* },
  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0" ]; }
);
CONF
}

# start_b CONF: a second udpd (B), its ports in $TMP/ports_b.
start_b() {
	rm -f "$TMP/ports_b"
	UDPD_PORT_FILE=$TMP/ports_b "$UDPD" -f -c "$1" 2>>"$TMP/udpd.err" &
	B_PID=$!
	wait_until 5 test -s "$TMP/ports_b" || fail "udpd B did not start"
}

# talk: each stdin line "PORT TEXT" sent as one datagram from one client
# socket (the same source port for every line), each reply printed on one
# line, newline-terminated ("TIMEOUT" when none within 3 s).
talk() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(3.0)
for line in sys.stdin.buffer:
    port, text = line.rstrip(b"\n").split(b" ", 1)
    s.sendto(text.decode("unicode_escape").encode("latin-1"), ("127.0.0.1", int(port)))
    try:
        r = s.recv(65535)
    except socket.timeout:
        r = b"TIMEOUT\n"
    sys.stdout.buffer.write(r if r.endswith(b"\n") else r + b"\n")
    sys.stdout.flush()'
}

# gapless: the stream's seq fields are 1..XLEN, each line starting with
# its seq.
gapless() {
	rcli XRANGE '{room}' - + | python3 -c '
import sys
v = sys.stdin.read().split("\n")
seqs = []
i = 0
while i + 4 < len(v):
    assert v[i + 1] == "seq" and v[i + 3] == "line", v[i:i + 5]
    assert v[i + 4].startswith(v[i + 2] + " "), v[i:i + 5]
    seqs.append(int(v[i + 2]))
    i += 5
assert seqs == list(range(1, len(seqs) + 1)), seqs[:50]
print(len(seqs))'
}

conf "$TMP/a.conf"
conf "$TMP/b.conf"
start_udpd "$TMP/a.conf"
start_b "$TMP/b.conf"
A=$(port chat)
B=$(grep '^chat [0-9]' "$TMP/ports_b" | head -n 1 | sed 's/.*://')

# Two processes, one room: alternate posts get 1, 2, 3, ... in order.
for i in $(seq 1 10); do
	echo "$A from-a-$i"
	echo "$B from-b-$i"
done | talk >"$TMP/replies"
expect_eq "20 alternate posts to two udpd get one sequence" \
	"$(seq 1 20 | sed 's/^/ok /')" "$(cat "$TMP/replies")"
hist=$(echo "$A /history 2" | talk)
echo "$hist" | grep -q '^19 .* 127\.0\.0\.1:[0-9]* from-a-10$' &&
	echo "$hist" | grep -q '^20 .* 127\.0\.0\.1:[0-9]* from-b-10$' ||
	fail "/history 2 on A: $(printf '%q' "$hist")"
ok "/history on A shows B's message"
expect_eq "the stream has 20 entries, seq 1..20" 20 "$(gapless)"

# The same messages to the file store and to Redis, from one client
# socket per family (IPv4 and IPv6): the lines differ only in seq and
# time.  Every byte value, UTF-8 edge cases (overlong, surrogate, past
# U+10FFFF, truncated, 4-byte), a backslash, the stripped line endings.
python3 - "$(port fchat)" "$(port chat)" "$(port fchat 6)" "$(port chat 6)" \
	>"$TMP/sent" <<'PY' || fail "the comparison messages got no ok"
import socket, sys
msgs = [b"a" + bytes([i]) + b"z" for i in range(256)] + [
    b"plain", b"tab\there back\\slash", b"\x1b[31mred \xff\xfe caf\xc3\xa9",
    b"\xc0\x80 \xe0\x80\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82",
    b"\xf0\x9f\x98\x80 \xe2\x82\xac", b"crlf\r\n", b"lf\n", b"two\n\n",
    b"cr\r", bytes(range(1, 128)), bytes(range(128, 256))]
n = 0
for fam, host, ports in ((socket.AF_INET, "127.0.0.1", sys.argv[1:3]),
                         (socket.AF_INET6, "::1", sys.argv[3:5])):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(3.0)
    for m in msgs:
        for p in ports:
            s.sendto(m, (host, int(p)))
            r = s.recv(100)
            if not r.startswith(b"ok "):
                sys.exit("%r to %s: %r" % (m, p, r))
    n += len(msgs)
print(n)
PY
n=$(cat "$TMP/sent")
cut -d' ' -f3- "$TMP/a.conf.log" >"$TMP/file_lines"
rcli XREVRANGE '{room}' + - COUNT "$n" | awk 'NR % 5 == 0' | tac |
	cut -d' ' -f3- >"$TMP/redis_lines"
[ "$(wc -l <"$TMP/file_lines")" = "$n" ] || fail "file store: $(wc -l <"$TMP/file_lines") lines, not $n"
grep -q '^\[::1\]:' "$TMP/file_lines" || fail "no IPv6 peer in the file"
cmp -s "$TMP/file_lines" "$TMP/redis_lines" ||
	fail "lines differ: $(diff "$TMP/file_lines" "$TMP/redis_lines" | head -5)"
ok "$n messages: escaping and line format identical to the file store"

# A reload with the same options keeps the connections.
ids() { rcli CLIENT LIST | grep -v 'cmd=client' | grep -o '^id=[0-9]*' | sort; }
before=$(ids)
kill -HUP "$UDPD_PID"
wait_until 5 grep -q "reloaded" "$TMP/udpd.err" || fail "no reload"
expect_eq "a reload keeps the Redis connections" "$before" "$(ids)"

# Redis killed: errors at once; restarted: acks again, the sequence goes on,
# and every entry acknowledged before is still there (AOF, appendfsync
# always).
# store_up LINE: polls /metrics until udpd_chat_store_up of chat is it.
store_up() {
	curl -sS --max-time 2 "http://127.0.0.1:$(metrics_port)/metrics" |
		grep -qxF "udpd_chat_store_up{service=\"chat\"} $1"
}
wait_until 5 store_up 1 || fail "udpd_chat_store_up is not 1"
rcli XRANGE '{room}' - + >"$TMP/before_kill"
redis_stop "$RD" KILL
expect_eq "Redis down: not stored" \
	"error: not stored: no connection to the store" \
	"$(echo "$A while-down" | talk)"
wait_until 5 store_up 0 || fail "udpd_chat_store_up is not 0 with Redis down"
ok "udpd_chat_store_up: 1, then 0 while Redis is down"
redis_restart "$RD" || fail "redis-server did not restart"
back() { echo "$A back" | talk | grep -q '^ok '; }
wait_until 10 back || fail "no ack after Redis came back"
wait_until 10 store_up 1 || fail "udpd_chat_store_up is not 1 again"
n=$(gapless)
expect_eq "acks again after a restart, no gap" "ok $((n + 1))" \
	"$(echo "$A again" | talk)"
rcli XRANGE '{room}' - + | head -c "$(wc -c <"$TMP/before_kill")" |
	cmp -s - "$TMP/before_kill" || fail "entries lost by the Redis restart"
ok "nothing acknowledged was lost by kill -9 of Redis"
grep -q "store unavailable: " "$TMP/udpd.err" &&
	grep -q "store back after" "$TMP/udpd.err" ||
	fail "the outage and its end were not logged"
ok "one log line when Redis went away, one when it came back"

# kill -9 of a udpd mid-stream: every ack in the stream, exactly once.
python3 - "$B" >"$TMP/acks" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1.0)
pending, nxt, deadline = {}, 0, time.time() + 30
while time.time() < deadline:
    while len(pending) < 32:
        msg = "storm-%d" % nxt
        s.send(msg.encode())
        pending[nxt] = msg
        nxt += 1
    try:
        r = s.recv(100).decode()
    except (socket.timeout, ConnectionRefusedError):
        break
    i = min(pending)
    if r.startswith("ok "):
        print(r.split()[1], pending[i], flush=True)
    del pending[i]
PY
sender=$!
# Mid-stream: once the storm has added 500 entries.
base=$(rcli XLEN '{room}')
storming() { [ "$(rcli XLEN '{room}')" -ge $((base + 500)) ]; }
wait_until 20 storming || fail "the storm did not start"
kill -9 "$B_PID"
wait "$B_PID" 2>/dev/null
B_PID=
wait "$sender"
[ -s "$TMP/acks" ] || fail "no ack before the kill"
rcli XRANGE '{room}' - + | awk 'NR % 5 == 0' >"$TMP/stream"
python3 - "$TMP/acks" "$TMP/stream" <<'PY' || fail "acknowledged messages missing"
import sys
seqs_of = {}
for l in open(sys.argv[2]):
    seq, rest = l.rstrip("\n").split(" ", 1)
    seqs_of.setdefault(rest.rsplit(" ", 1)[-1], []).append(seq)
for a in open(sys.argv[1]):
    seq, text = a.split()
    if seqs_of.get(text) != [seq]:
        sys.exit("ack %s %s: the stream has %r" % (seq, text, seqs_of.get(text)))
PY
gapless >/dev/null || fail "the stream has a gap after kill -9"
ok "kill -9 mid-stream: $(wc -l <"$TMP/acks") acks all in the stream once"
stop_udpd
[ "$LAST_EXIT" = 0 ] || fail "udpd A exited $LAST_EXIT"

# Stopped with messages waiting on a paused Redis: each gets its error
# before udpd exits (0), nothing is left unanswered.
cat >"$TMP/stop.conf" <<CONF
daemon = { workers = 2; };
services = (
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
    store = "redis"; redis = "unix:$RD/redis.sock"; key = "room";
    timeout_ms = 10000; rate_limit = false; },
  { name = "stats"; module = "stats"; listen = [ "127.0.0.1:0" ];
    rate_limit = false; }
);
CONF
start_udpd "$TMP/stop.conf"
P=$(port chat)
expect_eq "a message before the pause" "ok" "$(echo "$P warm" | talk | cut -d' ' -f1)"
rcli CLIENT PAUSE 30000 WRITE >/dev/null
python3 - "$P" >"$TMP/stop_replies" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5.0)
for i in range(50):
    s.sendto(b"pending-%d" % i, ("127.0.0.1", int(sys.argv[1])))
try:
    for i in range(50):
        print(s.recv(100).decode().strip(), flush=True)
except socket.timeout:
    pass
PY
client=$!
pending() {
	echo "$(port stats) x" | talk | python3 -c '
import json, sys
sys.exit(json.load(sys.stdin)["services"]["chat"]["requests"] < 51)'
}
wait_until 10 pending || fail "the 50 messages did not arrive"
stop_udpd
wait "$client"
rcli CLIENT UNPAUSE >/dev/null
expect_eq "stopped with 50 messages waiting: 50 errors, exit 0" \
	"50 error: outcome unknown: udpd stopped the store before it answered/0" \
	"$(sort "$TMP/stop_replies" | uniq -c | sed 's/^ *//')/$LAST_EXIT"

# A reload that removes the chat service while 300 messages wait on a
# paused Redis: each client gets exactly one answer, before the socket
# closes.
cp "$TMP/stop.conf" "$TMP/removed.conf"
start_udpd "$TMP/removed.conf"
P=$(port chat)
expect_eq "before the pause" "ok" "$(echo "$P warm2" | talk | cut -d' ' -f1)"
rcli CLIENT PAUSE 30000 WRITE >/dev/null
python3 - "$P" >"$TMP/reload_replies" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:    # 300 answers at once: room for all of them (root: past rmem_max)
    s.setsockopt(socket.SOL_SOCKET, 33, 1 << 22)   # SO_RCVBUFFORCE
except OSError:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.settimeout(5.0)
for i in range(300):
    s.sendto(b"removed-%d" % i, ("127.0.0.1", int(sys.argv[1])))
    if i % 20 == 19:
        time.sleep(0.005)   # paced: the socket's buffer holds them all
try:
    while True:
        print(s.recv(100).decode().strip(), flush=True)
except socket.timeout:
    pass
PY
client=$!
pending300() {
	echo "$(port stats) x" | talk | python3 -c '
import json, sys
sys.exit(json.load(sys.stdin)["services"]["chat"]["requests"] < 301)'
}
wait_until 10 pending300 || fail "the 300 messages did not arrive"
reloads=$(grep -c "reloaded" "$TMP/udpd.err")
cat >"$TMP/removed.conf" <<CONF
services = ( { name = "stats"; module = "stats"; listen = [ "127.0.0.1:0" ];
    rate_limit = false; } );
CONF
kill -HUP "$UDPD_PID"
reloaded() { [ "$(grep -c "reloaded" "$TMP/udpd.err")" -gt "$reloads" ]; }
wait_until 5 reloaded || fail "no reload"
wait "$client"
rcli CLIENT UNPAUSE >/dev/null
expect_eq "a reload removed the service with 300 waiting: 300 answers" \
	"300 error: outcome unknown: no answer from the store" \
	"$(sort "$TMP/reload_replies" | uniq -c | sed 's/^ *//')"
stop_udpd

# AUTH: a password, then an ACL user, from password_file.
RA=$TMP/redis-auth
redis_start "$RA" --requirepass s3cret || fail "redis-server with a password"
redis_cli "$RA" -a s3cret --no-auth-warning ACL SETUSER alice on '>pw2' \
	'~{room}*' +@all >/dev/null
# The ACL of udpd.conf(5), exactly (key "room"): bob can do all udpd does.
# shellcheck disable=SC2046 # one word per rule
redis_cli "$RA" -a s3cret --no-auth-warning ACL SETUSER bob on '>pw3' \
	$(sed -n 's/^.*ACL SETUSER udpd on >PASSWORD //p' \
	"$TESTS_DIR/../man/udpd.conf.5.in" | sed 's/udpd:chat/room/g') >/dev/null ||
	fail "the man page's ACL was refused"
redis_cli "$RA" -a s3cret --no-auth-warning ACL GETUSER bob |
	grep -q 'evalsha' || fail "bob has not the man page's ACL"
for cred in "s3cret" "alice pw2"; do
	printf '%s\n' "$cred" >"$TMP/redis.pass"
	chmod 600 "$TMP/redis.pass"
	cat >"$TMP/auth.conf" <<CONF
services = ( { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
  store = "redis"; redis = "unix:$RA/redis.sock"; key = "room";
  password_file = "redis.pass"; rate_limit = false; } );
CONF
	start_udpd "$TMP/auth.conf"
	acked() { echo "$(port chat) hello" | talk | grep -q '^ok '; }
	wait_until 5 acked || fail "AUTH ${cred%% *}: no ack"
	stop_udpd
done
ok "AUTH with a password and with an ACL user"
# bob: the old keys are moved, messages, retries, /history and WAIT work.
redis_cli "$RA" -a s3cret --no-auth-warning DEL '{room}' '{room}:seq' \
	>/dev/null
redis_cli "$RA" -a s3cret --no-auth-warning XADD room '*' seq 7 line \
	"7 old" >/dev/null
printf 'bob pw3\n' >"$TMP/redis.pass"
sed 's/rate_limit = false;/rate_limit = false; wait_replicas = 1; timeout_ms = 300;/' \
	"$TMP/auth.conf" >"$TMP/bob.conf"
errs=$(wc -l <"$TMP/udpd.err")
start_udpd "$TMP/bob.conf"
P=$(port chat)
replied() { echo "$P hello" | talk | grep -q '^error: outcome unknown: stored'; }
wait_until 5 replied || fail "bob: no answer"
printf '%s\n' "$P hello" "$P hello" "$P /history 3" | talk >"$TMP/bob_replies"
expect_eq "the man page's ACL: retries, WAIT (no replica here), /history" \
	"error: outcome unknown: stored on the primary, on 0 of 1 replica(s)
error: outcome unknown: stored on the primary, on 0 of 1 replica(s)
7 old" "$(head -3 "$TMP/bob_replies")"
tail -n +"$((errs + 1))" "$TMP/udpd.err" >"$TMP/bob.err"
grep -q "NOPERM" "$TMP/bob.err" && fail "NOPERM: $(grep -m1 NOPERM "$TMP/bob.err")"
grep -q "the room moved from the keys room" "$TMP/bob.err" ||
	fail "the old room was not moved"
expect_eq "bob: the room was moved, goes on from 7, the retry stored once" \
	"9/3" "$(redis_cli "$RA" -a s3cret --no-auth-warning GET '{room}:seq')/$(
	redis_cli "$RA" -a s3cret --no-auth-warning XLEN '{room}')"
stop_udpd
# udpd -t reads the password file: a missing one is a config error.
sed 's/redis.pass/missing.pass/' "$TMP/auth.conf" >"$TMP/nopass.conf"
rc=0
"$UDPD" -t -c "$TMP/nopass.conf" 2>"$TMP/nopass.err" || rc=$?
expect_eq "-t with a missing password_file: exit 1" 1 "$rc"
grep -q "nopass.conf:3: password_file: .*missing.pass: No such file" \
	"$TMP/nopass.err" || fail "no FILE:LINE: $(cat "$TMP/nopass.err")"
ok "-t names the missing password file with FILE:LINE"
printf 'wrong\n' >"$TMP/redis.pass"
start_udpd "$TMP/auth.conf"
# sent behind the failed AUTH (unknown), or refused once it failed
case $(echo "$(port chat) hello" | talk) in
"error: outcome unknown: connection lost" | \
	"error: not stored: no connection to the store") ok "a wrong password: errors" ;;
*) fail "a wrong password: not an error" ;;
esac
wait_until 5 grep -q "WRONGPASS" "$TMP/udpd.err" || fail "WRONGPASS not logged"
stop_udpd

# wait_replicas = 1: acks are on the replica; without it, errors.
RP=$TMP/redis-primary
RR=$TMP/redis-replica
redis_start "$RP" --repl-diskless-sync-delay 0 || fail "primary"
redis_start "$RR" --replicaof 127.0.0.1 "$(cat "$RP/redis.port")" \
	--appendonly no || fail "replica"
cat >"$TMP/wait.conf" <<CONF
services = ( { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
  store = "redis"; redis = "unix:$RP/redis.sock"; key = "room";
  wait_replicas = 1; timeout_ms = 400; rate_limit = false; } );
CONF
start_udpd "$TMP/wait.conf"
P=$(port chat)
replicating() { echo "$P probe" | talk | grep -q '^ok '; }
wait_until 10 replicating || fail "no ack with a replica"
for i in $(seq 1 5); do echo "$P rep-$i"; done | talk >"$TMP/replies"
grep -c '^ok ' "$TMP/replies" | grep -qx 5 || fail "$(cat "$TMP/replies")"
for i in $(seq 1 5); do
	redis_cli "$RR" XRANGE '{room}' - + | grep -q " rep-$i\$" ||
		fail "rep-$i acked but not on the replica"
done
ok "wait_replicas = 1: every acked message is on the replica"
redis_stop "$RR"
expect_eq "the replica gone: stored on the primary only, outcome unknown" \
	"error: outcome unknown: stored on the primary, on 0 of 1 replica(s)" \
	"$(echo "$P lonely" | talk)"
stop_udpd
done_testing
