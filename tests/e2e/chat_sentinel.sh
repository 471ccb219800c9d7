#!/bin/bash
# tests/e2e/chat_sentinel.sh - the chat room on Redis found through Redis
# Sentinel, on loopback: a primary, its replica and three sentinels
# (private redis-server processes on ports the kernel chose, stopped by
# PID).  Checked: udpd -t does not connect; udpd starts with every
# sentinel down and answers "not stored" until they are back; a reload
# with the same settings keeps the connections; kill -9 of the primary is
# followed (the replica is promoted and the sequence goes on); a master
# name the sentinels do not know and a sentinel that names a replica are
# logged and never written to; a sentinel password is sent (AUTH).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/redis.sh"

need redis-server redis-cli python3 nc
"$UDPD" -V | grep -q 'Redis (libhiredis): hiredis' ||
	skip "udpd is built without the Redis store"
DOWN_AFTER_MS=1000
FAKE_PID=

sentinel_cleanup() {
	local d
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
	stop_udpd
	for d in "$TMP"/r? "$TMP"/s?; do
		[ -d "$d" ] && redis_stop "$d"
	done
	cleanup
}
trap sentinel_cleanup EXIT

redis_start "$TMP/r1" || fail "redis-server (primary) did not start"
P1=$(cat "$TMP/r1/redis.port")
redis_start "$TMP/r2" --replicaof 127.0.0.1 "$P1" ||
	fail "redis-server (replica) did not start"
P2=$(cat "$TMP/r2/redis.port")
for s in s1 s2 s3; do
	sentinel_start "$TMP/$s" room 127.0.0.1 "$P1" \
		"sentinel down-after-milliseconds room $DOWN_AFTER_MS" \
		"sentinel failover-timeout room 2000" ||
		fail "redis-server --sentinel did not start"
done
sentinels_ready() {
	local s
	redis_synced "$TMP/r2" || return 1
	for s in s1 s2 s3; do
		[ "$(redis_cli "$TMP/$s" SENTINEL sentinels room | grep -c '^name$')" = 2 ] &&
			[ "$(redis_cli "$TMP/$s" SENTINEL replicas room | grep -c '^name$')" = 1 ] ||
			return 1
	done
}
wait_until 20 sentinels_ready || fail "the sentinels did not find each other"
ok "primary :$P1, replica :$P2, three sentinels"

# conf FILE MASTER SENTINEL-PORTS...: the chat service through them
# (and $CONF_EXTRA's settings).
conf() {
	local file=$1 master=$2 list=() p
	shift 2
	for p in "$@"; do
		list+=("\"127.0.0.1:$p\"")
	done
	cat >"$file" <<CONF
daemon = { workers = 2; log_level = "info"; };
services = (
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
    store = "redis"; sentinels = [ $(IFS=,; echo "${list[*]}") ];
    master = "$master"; key = "room"; timeout_ms = 500; rate_limit = false;
    ${CONF_EXTRA:-} }
);
CONF
}
SP=()
for s in s1 s2 s3; do
	SP+=("$(cat "$TMP/$s/redis.port")")
done

# A fake sentinel: names HOST PORT (nothing when PORT is 0) and counts
# the connections it gets in $TMP/fake.conns.
fake_sentinel() {
	rm -f "$TMP/fake.port"
	python3 -c '
import socket, sys, threading
host, port, conns = sys.argv[1], sys.argv[2], sys.argv[3]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
open(sys.argv[4], "w").write("%d\n" % srv.getsockname()[1])
def bulk(s):
    return b"$%d\r\n%s\r\n" % (len(s), s)
def serve(c):
    with open(conns, "a") as f:
        f.write("connection\n")
    buf = b""
    while True:
        d = c.recv(4096)
        if not d:
            return
        buf += d
        while buf.startswith(b"*") and b"\r\n" in buf:
            head, rest = buf.split(b"\r\n", 1)
            args = []
            for _ in range(int(head[1:])):
                if b"\r\n" not in rest:
                    break
                n, rest = rest.split(b"\r\n", 1)
                if len(rest) < int(n[1:]) + 2:
                    break
                args.append(rest[:int(n[1:])])
                rest = rest[int(n[1:]) + 2:]
            else:
                buf = rest
                cmd = [a.lower() for a in args]
                if cmd[:2] == [b"sentinel", b"get-master-addr-by-name"]:
                    c.sendall(b"*-1\r\n" if port == "0" else
                              b"*2\r\n" + bulk(host.encode()) + bulk(port.encode()))
                elif cmd[0] == b"subscribe":
                    c.sendall(b"*3\r\n" + bulk(b"subscribe") + bulk(args[1]) + b":1\r\n")
                else:
                    c.sendall(b"+OK\r\n")
                continue
            break
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$1" "$2" "$TMP/fake.conns" "$TMP/fake.port" &
	FAKE_PID=$!
	wait_until 5 test -s "$TMP/fake.port" || fail "the fake sentinel did not start"
	FAKE_PORT=$(cat "$TMP/fake.port")
}

# udpd -t checks the options without connecting to any sentinel.
fake_sentinel 127.0.0.1 "$P1"
conf "$TMP/t.conf" room "$FAKE_PORT"
"$UDPD" -t -c "$TMP/t.conf" >/dev/null 2>&1 || fail "udpd -t refused sentinels"
[ ! -s "$TMP/fake.conns" ] || fail "udpd -t connected to a sentinel"
ok "udpd -t checks sentinels and master without connecting"
kill "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null
FAKE_PID=

# post TEXT: one message, the answer as soon as it comes (TIMEOUT when
# none in 2 s).
post() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2.0)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.send(sys.argv[2].encode() + b"\n")
try:
    sys.stdout.write(s.recv(65535).decode().rstrip("\n"))
except OSError:
    sys.stdout.write("TIMEOUT")' "$(port chat)" "$1"
}
# posted_ok TEXT: posts until the answer is "ok N" (for wait_until).
posted_ok() {
	ANSWER=$(post "$1")
	case $ANSWER in "ok "*) return 0 ;; esac
	return 1
}

# Every sentinel down at start: udpd starts, chat says "not stored".
for s in s1 s2 s3; do
	redis_stop "$TMP/$s"
done
conf "$TMP/udpd.conf" room "${SP[@]}"
start_udpd "$TMP/udpd.conf"
got=$(post "no sentinel")
case $got in
"error: not stored:"*) ;;
*) fail "with every sentinel down: $(printf '%q' "$got")" ;;
esac
[ "$(redis_cli "$TMP/r1" XLEN "{room}")" = 0 ] || fail "stored with no sentinel"
ok "every sentinel down at start: udpd runs, answers $(printf '%q' "$got")"
for s in s1 s2 s3; do
	sentinel_restart "$TMP/$s" || fail "sentinel $s did not come back"
done
wait_until 10 posted_ok "first" || fail "sentinels back: $(printf '%q' "$ANSWER")"
ok "sentinels back: the primary is found ($ANSWER)"
for i in 2 3 4 5; do
	expect_eq "post $i" "ok $i" "$(post "msg $i")"
done

# A reload with the same settings keeps the connections to the primary.
clients() {
	redis_cli "$TMP/r1" CLIENT LIST | grep -v -e 'cmd=client' -e 'flags=S' |
		sed 's/ .*//' | sort | tr '\n' ' '
}
before=$(clients)
[ -n "$before" ] || fail "no udpd connection on the primary"
kill -HUP "$UDPD_PID"
wait_until 5 grep -q "reloaded $TMP/udpd.conf" "$TMP/udpd.err" ||
	fail "no reload"
expect_eq "a post after the reload" "ok 6" "$(post "msg 6")"
expect_eq "the connections after a reload with the same settings" \
	"$before" "$(clients)"

# kill -9 of the primary: Sentinel promotes the replica, udpd follows.
redis_stop "$TMP/r1" KILL
t0=$(date +%s%N)
wait_until 20 posted_ok "after failover" ||
	fail "no ack after kill -9 of the primary: $(printf '%q' "$ANSWER")"
t1=$(date +%s%N)
expect_eq "the first ack after the failover" "ok 7" "$ANSWER"
[ "$(redis_role "$TMP/r2")" = master ] || fail "the replica was not promoted"
expect_eq "the stream on the new primary" 7 "$(redis_cli "$TMP/r2" XLEN "{room}")"
grep -q "failover: the primary is now 127.0.0.1:$P2" "$TMP/udpd.err" ||
	fail "no log line names the new primary"
ok "kill -9 of the primary: ok 7 from :$P2 after $(((t1 - t0) / 1000000)) ms"
stop_udpd
[ "$LAST_EXIT" = 0 ] || fail "udpd exited $LAST_EXIT on TERM"

# A master name the sentinels do not know: a clear log line, no append.
conf "$TMP/udpd.conf" nosuchroom "${SP[@]}"
start_udpd "$TMP/udpd.conf"
got=$(post "unknown master")
case $got in "ok "*) fail "stored with an unknown master name" ;; esac
wait_until 5 grep -q 'master "nosuchroom": unknown to this sentinel' \
	"$TMP/udpd.err" || fail "no log line for an unknown master name"
ok "an unknown master name is logged: $(grep -m1 -o 'sentinel [^ ]*: master "nosuchroom": unknown[^;]*' "$TMP/udpd.err")"
stop_udpd

# A sentinel that names a replica: ROLE says so, nothing is written.
redis_start "$TMP/r3" --replicaof 127.0.0.1 "$P2" || fail "a third redis"
P3=$(cat "$TMP/r3/redis.port")
wait_until 10 redis_synced "$TMP/r3" || fail "r3 is no replica"
fake_sentinel 127.0.0.1 "$P3"
conf "$TMP/udpd.conf" room "$FAKE_PORT"
start_udpd "$TMP/udpd.conf"
got=$(post "to a replica")
case $got in "ok "*) fail "acknowledged by a replica" ;; esac
wait_until 5 grep -q "127.0.0.1:$P3, named by sentinel 127.0.0.1:$FAKE_PORT, is not the primary (ROLE: slave)" \
	"$TMP/udpd.err" || fail "no log line for a sentinel naming a replica"
expect_eq "the stream (one copy, replicated)" 7 "$(redis_cli "$TMP/r3" XLEN "{room}")"
ok "a sentinel that names a replica is logged; nothing is written there"
stop_udpd
kill "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null
FAKE_PID=

# A sentinel that names nothing (a nil answer): logged the same way.
fake_sentinel 127.0.0.1 0
conf "$TMP/udpd.conf" room "$FAKE_PORT"
start_udpd "$TMP/udpd.conf"
got=$(post "nothing named")
case $got in "ok "*) fail "stored with no primary named" ;; esac
wait_until 5 grep -q "sentinel 127.0.0.1:$FAKE_PORT: master \"room\": unknown" \
	"$TMP/udpd.err" || fail "no log line for a sentinel that names nothing"
ok "a sentinel that names nothing is logged"
stop_udpd
[ "$LAST_EXIT" = 0 ] || fail "udpd exited $LAST_EXIT on TERM"
kill "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null
FAKE_PID=

# A sentinel that names a host name: never resolved (a worker does not
# wait on DNS), logged.
fake_sentinel localhost "$P2"
conf "$TMP/udpd.conf" room "$FAKE_PORT"
start_udpd "$TMP/udpd.conf"
got=$(post "a host name")
case $got in "ok "*) fail "stored through a host name" ;; esac
wait_until 5 grep -q "sentinel 127.0.0.1:$FAKE_PORT: master \"room\": it names no numeric address" \
	"$TMP/udpd.err" || fail "no log line for a sentinel that names a host name"
ok "a sentinel that names a host name is logged, the name not resolved"
stop_udpd
kill "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null
FAKE_PID=

# A sentinel with a password: a wrong one is logged, the right one works.
redis_cli "$TMP/s1" ACL SETUSER watcher on '>w4tch' '+@all' >/dev/null &&
	redis_cli "$TMP/s1" ACL SETUSER default off >/dev/null ||
	fail "ACL on the sentinel"
printf 'watcher wrong\n' >"$TMP/s.pass"
chmod 600 "$TMP/s.pass"
CONF_EXTRA='sentinel_password_file = "s.pass";' conf "$TMP/udpd.conf" room "${SP[0]}"
start_udpd "$TMP/udpd.conf"
got=$(post "wrong password")
case $got in "ok "*) fail "stored with a wrong sentinel password" ;; esac
wait_until 5 grep -q "sentinel 127.0.0.1:${SP[0]}: master \"room\": WRONGPASS" \
	"$TMP/udpd.err" || fail "no log line for a refused sentinel password"
stop_udpd
printf 'watcher w4tch\n' >"$TMP/s.pass"
start_udpd "$TMP/udpd.conf"
wait_until 10 posted_ok "right password" ||
	fail "with the sentinel password: $(printf '%q' "$ANSWER")"
expect_eq "with the sentinel password (AUTH watcher)" "ok 8" "$ANSWER"
stop_udpd
[ "$LAST_EXIT" = 0 ] || fail "udpd exited $LAST_EXIT on TERM"
done_testing
