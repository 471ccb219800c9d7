#!/bin/bash
# 200 idle, half-sent requests to the metrics endpoint do not stop a real
# scrape (SPEC section 8, "bounded"): past max_connections (16 by default)
# each new connection closes the oldest, so the scrape is answered at once,
# udpd holds at most 16 connections (and their fds), and every connection
# it closed to make room is one the idle client sees closed.
. "$(dirname "$0")/../lib.sh"
need python3 curl promtool

metrics_conf "$TMP/udpd.conf"
start_udpd "$TMP/udpd.conf"
M=$(metrics_port)
[ -n "$M" ] || fail "no metrics port"

# 200 connections, each with a request line and a header but never the
# blank line that ends the request.  Holds them until $TMP/done appears
# (at most 30 s), then prints how many udpd closed.
python3 - "$M" "$TMP" >"$TMP/idle.out" <<'PY' &
import os, socket, sys, time
port, tmp = int(sys.argv[1]), sys.argv[2]
conns = []
for _ in range(200):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: idle\r\n")
    conns.append(s)
open(os.path.join(tmp, "ready"), "w").close()
end = time.monotonic() + 30
while not os.path.exists(os.path.join(tmp, "done")) and time.monotonic() < end:
    time.sleep(0.02)
closed = 0
for s in conns:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print(closed)
PY
idle=$!
for _ in $(seq 1 1000); do
	[ -e "$TMP/ready" ] && break
	kill -0 "$idle" 2>/dev/null || fail "the idle client died"
	sleep 0.02
done
[ -e "$TMP/ready" ] || fail "200 connections not made in 20 s"
ok "200 half-sent requests open"

code=$(curl -sS --max-time 5 -o "$TMP/metrics.txt" -w '%{http_code}' \
	"http://127.0.0.1:$M/metrics") || fail "the scrape failed"
expect_eq "a real scrape is answered" 200 "$code"
lint=$(promtool check metrics <"$TMP/metrics.txt" 2>&1) || fail "promtool: $lint"
expect_eq "and is valid" "" "$lint"

open=$(sed -n 's/^udpd_metrics_connections //p' "$TMP/metrics.txt")
evicted=$(sed -n 's/^udpd_metrics_evicted_connections_total //p' "$TMP/metrics.txt")
fds=$(sed -n 's/^process_open_fds //p' "$TMP/metrics.txt")
expect_eq "udpd holds max_connections (16) connections" 16 "$open"
# 184 to fit the 200 in 16 slots, one more for the scrape itself.
expect_eq "the oldest were closed to make room" 185 "$evicted"
[ "$fds" -lt 40 ] || fail "process_open_fds $fds with 200 clients"
ok "fds stay bounded ($fds)"

touch "$TMP/done"
wait "$idle"
expect_eq "the idle client saw as many closed" "$evicted" "$(cat "$TMP/idle.out")"

stop_udpd
expect_eq "exit status" 0 "$LAST_EXIT"
done_testing
