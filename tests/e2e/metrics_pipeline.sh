#!/bin/bash
# A client that pipelines requests to the metrics endpoint and never reads
# a reply cannot make udpd buffer without bound (SPEC sections 6 and 8,
# "bounded"): udpd stops reading that connection once it holds a little
# more than one request's worth (the connection's own buffer), so the
# client's sends stall with a few MB in the kernel's buffers at most; and a
# real scrape is answered meanwhile.
. "$(dirname "$0")/../lib.sh"
need python3 curl

metrics_conf "$TMP/udpd.conf"
start_udpd "$TMP/udpd.conf"
M=$(metrics_port)
[ -n "$M" ] || fail "no metrics port"

# Sends pipelined GETs, reading nothing, until 256 MB went (udpd read
# without bound) or no byte went for 2 s (udpd stopped reading); at most
# 60 s.  Holds the connection until $TMP/done appears, then prints the
# bytes sent.
python3 - "$M" "$TMP" >"$TMP/pipe.out" <<'PY' &
import os, socket, sys, time
port, tmp = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.setblocking(False)
req = b"GET /metrics HTTP/1.1\r\nHost: pipe\r\n\r\n" * 2000
sent, last, end = 0, time.monotonic(), time.monotonic() + 60
while sent < 256 << 20 and time.monotonic() < end:
    try:
        sent += s.send(req)
        last = time.monotonic()
    except BlockingIOError:
        if time.monotonic() - last > 2:
            break
        time.sleep(0.01)
open(os.path.join(tmp, "stalled"), "w").close()
end = time.monotonic() + 30
while not os.path.exists(os.path.join(tmp, "done")) and time.monotonic() < end:
    time.sleep(0.02)
print(sent)
PY
pipe=$!
for _ in $(seq 1 3500); do
	[ -e "$TMP/stalled" ] && break
	kill -0 "$pipe" 2>/dev/null || fail "the pipelining client died"
	sleep 0.02
done
[ -e "$TMP/stalled" ] || fail "the pipelining client did not finish in 70 s"

code=$(curl -sS --max-time 5 -o "$TMP/metrics.txt" -w '%{http_code}' \
	"http://127.0.0.1:$M/metrics") || fail "the scrape failed"
expect_eq "a scrape beside the pipelining client is answered" 200 "$code"

touch "$TMP/done"
wait "$pipe"
sent=$(cat "$TMP/pipe.out")
# Kernel buffers on both sides hold a few MB; udpd itself a few KB.
[ "$sent" -lt $((64 << 20)) ] ||
	fail "udpd read $sent bytes of requests whose replies were never read"
ok "the client's sends stalled after $sent bytes"

stop_udpd
expect_eq "exit status" 0 "$LAST_EXIT"
done_testing
