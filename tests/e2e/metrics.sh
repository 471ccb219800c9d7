#!/bin/bash
# The Prometheus endpoint (SPEC section 8) read with curl: counted traffic
# (replies, size and ACL drops, chat messages) shows up with exact values,
# `promtool check metrics` finds nothing, HEAD/404/405/413 and oversized
# headers, a denied source is refused and counted, and a reload moves,
# removes and re-adds the endpoint while a failed one keeps it.
. "$(dirname "$0")/../lib.sh"
need python3 curl promtool

# conf METRICS: echo (max 8 bytes), upper (refuses 127.0.0.1), chat, and
# the daemon.metrics group given (empty: none).
conf() {
	cat >"$TMP/udpd.conf" <<CONF
daemon = { $1 };
services = (
  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0" ];
    max_request = 8; },
  { name = "upper"; module = "upper"; listen = [ "127.0.0.1:0" ];
    deny = [ "127.0.0.1" ]; },
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
    log_file = "chat.log"; retry_window_ms = 0; }
);
CONF
}
METRICS='metrics = { listen = [ "127.0.0.1:0", "[::1]:0" ];
    allow = [ "127.0.0.0/8", "::1/128" ]; deny = [ "127.0.0.2" ]; };'

# send PORT PAYLOAD N: N datagrams from one socket, one at a time; prints
# each reply (none for a drop: 0.2 s wait).  PAYLOAD takes \n escapes.
cat >"$TMP/send.py" <<'PY'
import codecs, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[3])
payload = codecs.decode(sys.argv[2], "unicode_escape").encode("latin-1")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
for _ in range(n):
    s.sendto(payload, ("127.0.0.1", port))
    try:
        print(s.recv(100).decode().rstrip("\n"))
    except socket.timeout:
        pass
PY
send() {
	python3 "$TMP/send.py" "$@"
}

# wait_for LINE: polls /metrics until it has LINE exactly (deadline 5 s).
wait_for() {
	for _ in $(seq 1 100); do
		scrape | grep -qxF "$1" && return 0
		sleep 0.05
	done
	fail "no line '$1' in /metrics"
}

conf "$METRICS"
start_udpd "$TMP/udpd.conf"
E=$(port echo) U=$(port upper) C=$(port chat)

# ---- counted traffic, exact values --------------------------------------
expect_eq "5 echoes" "abc abc abc abc abc" "$(send "$E" abc 5 | xargs)"
expect_eq "2 too large: no reply" "" "$(send "$E" 123456789 2)"
expect_eq "3 refused by deny: no reply" "" "$(send "$U" xyz 3)"
expect_eq "4 chat messages" "ok 1 ok 2 ok 3 ok 4" \
	"$(send "$C" 'm\n' 4 | xargs)"
# Drops have no reply to wait for: poll until the last one is counted.
wait_for 'udpd_dropped_total{service="upper",module="upper",reason="acl"} 3'

scrape >"$TMP/metrics.txt"
grep -E '^udpd_(requests|replies|received_bytes|sent_bytes|errors|dropped)_total|^udpd_chat_last_seq' \
	"$TMP/metrics.txt" >"$TMP/services.txt"
cat >"$TMP/want.txt" <<'WANT'
udpd_requests_total{service="echo",module="echo"} 7
udpd_requests_total{service="upper",module="upper"} 3
udpd_requests_total{service="chat",module="chat"} 4
udpd_replies_total{service="echo",module="echo"} 5
udpd_replies_total{service="upper",module="upper"} 0
udpd_replies_total{service="chat",module="chat"} 4
udpd_received_bytes_total{service="echo",module="echo"} 33
udpd_received_bytes_total{service="upper",module="upper"} 9
udpd_received_bytes_total{service="chat",module="chat"} 8
udpd_sent_bytes_total{service="echo",module="echo"} 15
udpd_sent_bytes_total{service="upper",module="upper"} 0
udpd_sent_bytes_total{service="chat",module="chat"} 20
udpd_errors_total{service="echo",module="echo"} 0
udpd_errors_total{service="upper",module="upper"} 0
udpd_errors_total{service="chat",module="chat"} 0
udpd_dropped_total{service="echo",module="echo",reason="acl"} 0
udpd_dropped_total{service="echo",module="echo",reason="rate"} 0
udpd_dropped_total{service="echo",module="echo",reason="size"} 2
udpd_dropped_total{service="echo",module="echo",reason="loop"} 0
udpd_dropped_total{service="echo",module="echo",reason="malformed"} 0
udpd_dropped_total{service="upper",module="upper",reason="acl"} 3
udpd_dropped_total{service="upper",module="upper",reason="rate"} 0
udpd_dropped_total{service="upper",module="upper",reason="size"} 0
udpd_dropped_total{service="upper",module="upper",reason="loop"} 0
udpd_dropped_total{service="upper",module="upper",reason="malformed"} 0
udpd_dropped_total{service="chat",module="chat",reason="acl"} 0
udpd_dropped_total{service="chat",module="chat",reason="rate"} 0
udpd_dropped_total{service="chat",module="chat",reason="size"} 0
udpd_dropped_total{service="chat",module="chat",reason="loop"} 0
udpd_dropped_total{service="chat",module="chat",reason="malformed"} 0
udpd_chat_last_seq{service="chat"} 4
WANT
diff -u "$TMP/want.txt" "$TMP/services.txt" >&2 ||
	fail "per-service metrics differ from the traffic sent"
ok "per-service counters and chat seq exact"

version=$("$UDPD" -V | awk 'NR == 1 {print $2}')
grep -qxF "udpd_build_info{version=\"$version\"} 1" "$TMP/metrics.txt" ||
	fail "no udpd_build_info for $version"
grep -qxF 'udpd_config_reloads_total{result="success"} 0' "$TMP/metrics.txt" ||
	fail "reloads not 0"
ok "build info and reload counters"

# The start time is when udpd started, within this test's time.
start=$(sed -n 's/^udpd_start_time_seconds //p' "$TMP/metrics.txt")
now=$(date +%s)
python3 -c "import sys; s, n = float(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if n - 60 < s <= n else 1)" \
	"$start" "$now" || fail "udpd_start_time_seconds $start, now $now"
ok "start time"

# process_*: the daemon's own pid, as the kernel counts it.
fds=$(sed -n 's/^process_open_fds //p' "$TMP/metrics.txt")
real=$(($(ls "/proc/$UDPD_PID/fd" | wc -l)))
[ "$fds" -ge $((real - 2)) ] && [ "$fds" -le $((real + 2)) ] ||
	fail "process_open_fds $fds, /proc says $real"
rss=$(sed -n 's/^process_resident_memory_bytes //p' "$TMP/metrics.txt")
[ "$rss" -gt 100000 ] || fail "process_resident_memory_bytes $rss"
for f in process_cpu_seconds_total process_max_fds; do
	grep -q "^$f [0-9]" "$TMP/metrics.txt" || fail "no $f sample"
done
# The process started just before udpd_start_time_seconds was taken.
pstart=$(sed -n 's/^process_start_time_seconds //p' "$TMP/metrics.txt")
python3 -c "import sys; p, s = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if s - 5 < p <= s + 0.5 else 1)" \
	"$pstart" "$start" || fail "process_start_time_seconds $pstart, udpd started at $start"
ok "process metrics"

lint=$(promtool check metrics <"$TMP/metrics.txt" 2>&1) ||
	fail "promtool check metrics: $lint"
expect_eq "promtool check metrics finds nothing" "" "$lint"

# ---- HTTP ---------------------------------------------------------------
M=$(metrics_port)
head=$(curl -sS --max-time 5 -I "http://127.0.0.1:$M/metrics" | tr -d '\r')
echo "$head" | grep -qx "HTTP/1.1 200 OK" || fail "HEAD: $head"
echo "$head" | grep -qix "content-type: text/plain; version=0.0.4; charset=utf-8" ||
	fail "HEAD content type: $head"
expect_eq "HEAD has no body" 0 \
	"$(curl -sS --max-time 5 --head "http://127.0.0.1:$M/metrics" -o /dev/null -w '%{size_download}')"
code() {
	curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"
}
expect_eq "GET over IPv6" 200 "$(code "http://[::1]:$(metrics_port '\[')/metrics")"
expect_eq "another path: 404" 404 "$(code "http://127.0.0.1:$M/")"
expect_eq "a longer path: 404" 404 "$(code "http://127.0.0.1:$M/metrics/x")"
expect_eq "POST: 405" 405 "$(code -X POST "http://127.0.0.1:$M/metrics")"
expect_eq "DELETE: 405" 405 "$(code -X DELETE "http://127.0.0.1:$M/metrics")"
expect_eq "an unknown method: 405" 405 "$(code -X BREW "http://127.0.0.1:$M/metrics")"
curl -s --max-time 5 -D - -o /dev/null -X PUT "http://127.0.0.1:$M/metrics" |
	tr -d '\r' | grep -qx "Allow: GET, HEAD" || fail "405 without Allow"
ok "405 says Allow: GET, HEAD"
expect_eq "a request body: 413" 413 \
	"$(code -X GET --data-binary hello "http://127.0.0.1:$M/metrics")"
expect_eq "a query string is ignored" 200 "$(code "http://127.0.0.1:$M/metrics?x=1")"
# Past 8 KiB of request line and headers: an error, and the connection
# is closed (libevent 2.1 answers 400 or 413 depending on where it cut).
big=$(python3 - "$M" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
try:
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000)
except OSError:
    pass
data = b""
while True:
    try:
        chunk = s.recv(4096)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n")[0].decode(), "closed")
PY
)
case $big in
"HTTP/1.1 400 Bad Request closed" | "HTTP/1.1 413 Request Entity Too Large closed")
	ok "headers over 8 KiB: refused and closed ($big)" ;;
*)	fail "headers over 8 KiB: got '$big'" ;;
esac

# ---- access list ----------------------------------------------------------
expect_eq "127.0.0.2 is denied: no answer" 000 \
	"$(code --interface 127.0.0.2 "http://127.0.0.1:$M/metrics")"
expect_eq "127.0.0.2 is denied twice" 000 \
	"$(code --interface 127.0.0.2 "http://127.0.0.1:$M/metrics")"
wait_for "udpd_metrics_denied_connections_total 2"
ok "denied connections counted"

# ---- reload: move, fail, remove, add --------------------------------------
conf 'metrics = { listen = [ "[::1]:0" ]; };'
reload_and_wait
V6=$(metrics_port '\[')
expect_eq "moved to ::1" 200 "$(code "http://[::1]:$V6/metrics")"
expect_eq "old IPv4 address closed" 000 "$(code "http://127.0.0.1:$M/metrics")"
grep -q '^@metrics 127' "$PORT_FILE" && fail "IPv4 metrics still listed"
curl -sS --max-time 5 "http://[::1]:$V6/metrics" |
	grep -qxF 'udpd_config_reloads_total{result="success"} 1' ||
	fail "reload not counted"
ok "reload counted"

# A port that another process holds: the reload fails as a whole.
python3 - >"$TMP/held" <<'PY' &
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(30)
PY
holder=$!
for _ in $(seq 1 100); do [ -s "$TMP/held" ] && break; sleep 0.02; done
HELD=$(cat "$TMP/held")
conf "metrics = { listen = [ \"[::1]:0\", \"127.0.0.1:$HELD\" ]; };"
kill -HUP "$UDPD_PID"
for _ in $(seq 1 100); do
	curl -sS --max-time 5 "http://[::1]:$V6/metrics" |
		grep -qxF 'udpd_config_reloads_total{result="failure"} 1' && break
	sleep 0.05
done
curl -sS --max-time 5 "http://[::1]:$V6/metrics" |
	grep -qxF 'udpd_config_reloads_total{result="failure"} 1' ||
	fail "failed reload not counted"
grep -q "reload failed, old configuration kept: metrics: cannot listen on 127.0.0.1:$HELD (tcp)" \
	"$TMP/udpd.err" || fail "no message naming the metrics address"
expect_eq "the old endpoint still serves" 200 "$(code "http://[::1]:$V6/metrics")"
kill "$holder"
wait "$holder" 2>/dev/null

conf ""
reload_and_wait
expect_eq "removed: nothing listens" 000 "$(code "http://[::1]:$V6/metrics")"
grep -q '^@metrics' "$PORT_FILE" && fail "metrics still in the port file"
expect_eq "services go on without it" "abc" "$(send "$E" abc 1)"

conf 'metrics = { listen = [ "127.0.0.1:0" ]; };'
reload_and_wait
scrape >"$TMP/again.txt"
grep -qxF 'udpd_config_reloads_total{result="success"} 3' "$TMP/again.txt" ||
	fail "reloads not kept across a removal"
grep -qxF 'udpd_requests_total{service="echo",module="echo"} 8' "$TMP/again.txt" ||
	fail "echo counter not kept across reloads"
ok "added again, counters kept"

stop_udpd
expect_eq "exit status" 0 "$LAST_EXIT"

# ---- two workers: the counters are summed over both ----------------------
cat >"$TMP/udpd.conf" <<'CONF'
daemon = { workers = 2; metrics = { listen = [ "127.0.0.1:0" ]; }; };
services = (
  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0" ]; },
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
    log_file = "chat2.log"; retry_window_ms = 0; }
);
CONF
start_udpd "$TMP/udpd.conf"
# 8 source addresses (steered to the workers by source), 40 echoes and 5
# chat messages each, one at a time: every one answered.
python3 - "$(port echo)" "$(port chat)" <<'PY' || fail "traffic over 2 workers"
import socket, sys
echo, chat = int(sys.argv[1]), int(sys.argv[2])
for src in range(1, 9):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.%d" % src, 0))
    s.settimeout(2)
    for i in range(40):
        s.sendto(b"e", ("127.0.0.1", echo))
        assert s.recv(10) == b"e"
    for i in range(5):
        s.sendto(b"c", ("127.0.0.1", chat))
        assert s.recv(30).startswith(b"ok ")
PY
scrape >"$TMP/workers.txt"
for line in 'udpd_requests_total{service="echo",module="echo"} 320' \
	'udpd_replies_total{service="echo",module="echo"} 320' \
	'udpd_sent_bytes_total{service="echo",module="echo"} 320' \
	'udpd_requests_total{service="chat",module="chat"} 40' \
	'udpd_chat_last_seq{service="chat"} 40'; do
	grep -qxF "$line" "$TMP/workers.txt" || fail "2 workers: no '$line'"
done
ok "2 workers: counters summed over both, chat seq 40"
stop_udpd
expect_eq "exit status (2 workers)" 0 "$LAST_EXIT"

# ---- start-up: a metrics port in use is a runtime failure (exit 69) --------
rm -f "$TMP/held"
python3 - >"$TMP/held" <<'PY' &
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(30)
PY
holder=$!
for _ in $(seq 1 100); do [ -s "$TMP/held" ] && break; sleep 0.02; done
conf "metrics = { listen = [ \"127.0.0.1:$(cat "$TMP/held")\" ]; };"
rc=0
"$UDPD" -f -c "$TMP/udpd.conf" 2>"$TMP/start.err" || rc=$?
kill "$holder"
wait "$holder" 2>/dev/null
expect_eq "port in use: exit 69" 69 "$rc"
grep -q "metrics: cannot listen on 127.0.0.1:.* (tcp): Address already in use" \
	"$TMP/start.err" || fail "start error: $(cat "$TMP/start.err")"
ok "the message names the address"

# ---- a chat room on Redis: its last seq is the highest Redis acked -------
cat >"$TMP/probe.conf" <<'CONF'
services = ( { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
  store = "redis"; redis = "127.0.0.1:1"; } );
CONF
if "$UDPD" -t -c "$TMP/probe.conf" 2>/dev/null &&
	command -v redis-server >/dev/null; then
	. "$TESTS_DIR/redis.sh"
	trap 'redis_stop "$TMP/redis"; cleanup' EXIT
	redis_start "$TMP/redis" || fail "a private redis-server did not start"
	cat >"$TMP/udpd.conf" <<CONF
daemon = { metrics = { listen = [ "127.0.0.1:0" ]; }; };
services = ( { name = "room"; module = "chat"; listen = [ "127.0.0.1:0" ];
  store = "redis"; redis = "127.0.0.1:$(cat "$TMP/redis/redis.port")";
  key = "metrics-$$"; retry_window_ms = 0; } );
CONF
	start_udpd "$TMP/udpd.conf"
	scrape | grep -q '^udpd_chat_last_seq' &&
		fail "a seq before any message was stored"
	ok "Redis room: no seq before the first message"
	expect_eq "3 messages to the Redis room" "ok 1 ok 2 ok 3" \
		"$(send "$(port room)" 'r\n' 3 | xargs)"
	wait_for 'udpd_chat_last_seq{service="room"} 3'
	ok "Redis room: udpd_chat_last_seq 3"
	stop_udpd
	redis_stop "$TMP/redis"
else
	echo "# no Redis store or no redis-server: the Redis room is not checked"
fi

done_testing
