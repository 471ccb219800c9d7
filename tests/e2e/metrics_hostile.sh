#!/bin/bash
# The metrics endpoint against hostile clients: CONNECT is answered 405 and
# closed, two Content-Length headers are a 400; a reload that denies a
# source, lowers max_connections or removes the endpoint closes the
# connections already open at once; and with few file descriptors left
# (ulimit -n) udpd neither spins nor floods its log, and still answers.
. "$(dirname "$0")/../lib.sh"
need python3 curl prlimit

# hold PORT SRC N TAG: N half-sent requests from SRC, kept open in the
# background; $TMP/TAG.closed holds how many udpd has closed (updated every
# 20 ms) until $TMP/TAG.done appears (at most 60 s).
cat >"$TMP/hold.py" <<'PY'
import os, socket, sys, time
port, src, n, tag = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
base = os.path.join(os.environ["TMP"], tag)
conns = []
for _ in range(n):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: hold\r\n")
    s.setblocking(False)
    conns.append(s)
open(base + ".ready", "w").close()
gone = set()
end = time.monotonic() + 60
while not os.path.exists(base + ".done") and time.monotonic() < end:
    for i, s in enumerate(conns):
        if i in gone:
            continue
        try:
            if s.recv(1) == b"":
                gone.add(i)
        except BlockingIOError:
            pass
        except OSError:
            gone.add(i)
    try:
        with open(base + ".tmp", "w") as f:
            f.write("%d\n" % len(gone))
        os.rename(base + ".tmp", base + ".closed")
    except OSError:		# the test is over: $TMP is gone
        break
    time.sleep(0.02)
PY
export TMP
HOLDERS=
hold() {
	rm -f "$TMP/$4".*
	python3 "$TMP/hold.py" "$@" &
	HOLDERS="$HOLDERS $!"
	wait_until 20 test -e "$TMP/$4.ready" || fail "$4: connections not made"
}
closed_is() {
	[ "$(cat "$TMP/$1.closed" 2>/dev/null)" = "$2" ]
}

# raw PORT REQUEST: sends REQUEST (\r\n escapes), prints the status line
# and "closed" if udpd closed the connection within 3 s, else "held".
cat >"$TMP/raw.py" <<'PY'
import codecs, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(codecs.decode(sys.argv[2], "unicode_escape").encode("latin-1"))
data, state = b"", "held"
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            state = "closed"
            break
        data += chunk
except OSError:
    pass
print(data.split(b"\r\n")[0].decode(), state)
PY
raw() {
	python3 "$TMP/raw.py" "$@"
}

conf() {
	metrics_conf "$TMP/udpd.conf" "$1"
}
reload() {
	reload_and_wait
}

conf ""
start_udpd "$TMP/udpd.conf"
M=$(metrics_port)

# ---- methods and headers ----------------------------------------------------
expect_eq "CONNECT: 405, closed" "HTTP/1.1 405 Method Not Allowed closed" \
	"$(raw "$M" "CONNECT 127.0.0.1:$M HTTP/1.1\r\nHost: x\r\n\r\n")"
expect_eq "CONNECT /metrics: 405, closed" "HTTP/1.1 405 Method Not Allowed closed" \
	"$(raw "$M" "CONNECT /metrics HTTP/1.1\r\nHost: x\r\n\r\n")"
expect_eq "two Content-Length headers: 400" "HTTP/1.1 400 Bad Request closed" \
	"$(raw "$M" "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n")"
expect_eq "two different Content-Length headers: 400" "HTTP/1.1 400 Bad Request closed" \
	"$(raw "$M" "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\ncontent-length: 7\r\n\r\n")"
case $(raw "$M" "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n") in
"HTTP/1.1 200 OK closed") ok "one Content-Length: 0 is fine" ;;
*) fail "one Content-Length: 0 refused" ;;
esac

# ---- a reload closes what the new configuration would refuse --------------
conf 'max_connections = 16;'
reload
hold "$M" 127.0.0.3 2 three
hold "$M" 127.0.0.1 10 one
conf 'max_connections = 16; deny = [ "127.0.0.3" ];'
reload
wait_until 3 closed_is three 2 || fail "denied at a reload: still open"
ok "a reload that denies a source closes its connections"
closed_is one 0 || fail "allowed connections closed too"
ok "the others stay open"
conf 'max_connections = 4; deny = [ "127.0.0.3" ];'
reload
wait_until 3 closed_is one 6 || fail "cap lowered to 4: $(cat "$TMP/one.closed") of 10 closed"
ok "a lowered max_connections closes the oldest at once"
curl -sS --max-time 5 "http://127.0.0.1:$M/metrics" >"$TMP/m.txt" || fail "scrape"
grep -qx "udpd_metrics_connections [1-4]" "$TMP/m.txt" ||
	fail "$(grep '^udpd_metrics_connections ' "$TMP/m.txt") over the cap"
ok "at most 4 open"
cat >"$TMP/udpd.conf" <<'CONF'
services = ( { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0" ]; } );
CONF
reload
wait_until 3 closed_is one 10 || fail "endpoint removed: $(cat "$TMP/one.closed") of 10 closed"
ok "removing the endpoint closes its connections"
touch "$TMP/one.done" "$TMP/three.done"
# shellcheck disable=SC2086
wait $HOLDERS
HOLDERS=
stop_udpd
expect_eq "exit status" 0 "$LAST_EXIT"

# ---- file descriptors run out ---------------------------------------------
# A cap above what the limit allows is lowered (and said so); and when the
# limit is lowered under a running udpd, accepting pauses instead of
# spinning: little CPU, a few log lines, and a scrape answered afterwards.
: >"$TMP/udpd.err"
rm -f "$PORT_FILE"
conf 'max_connections = 1000;'
(ulimit -n 64 && exec "$UDPD" -f -c "$TMP/udpd.conf" 2>>"$TMP/udpd.err") &
UDPD_PID=$!
wait_until 5 test -s "$PORT_FILE" || fail "no port file"
M=$(metrics_port)
grep -q "metrics: max_connections 1000 lowered to [0-9]* (open file limit 64, " \
	"$TMP/udpd.err" || fail "no message about the lowered cap"
ok "max_connections lowered to fit the open file limit"
prlimit --pid "$UDPD_PID" --nofile=20:64 || fail "prlimit"
cpu() {
	awk '{print $14 + $15}' "/proc/$UDPD_PID/stat"
}
before=$(cpu)
hold "$M" 127.0.0.1 60 many
sleep 3	# the span over which udpd must stay calm (no condition to wait for)
used=$(($(cpu) - before))
ticks=$(getconf CLK_TCK)
[ "$used" -lt $((ticks / 2)) ] || fail "udpd used $used ticks of CPU in 3 s"
ok "no busy loop ($used ticks in 3 s)"
lines=$(grep -c -i "open files" "$TMP/udpd.err")
[ "$lines" -ge 1 ] && [ "$lines" -le 10 ] || fail "$lines log lines about open files"
ok "$lines log lines about open files"
touch "$TMP/many.done"
# shellcheck disable=SC2086
wait $HOLDERS
prlimit --pid "$UDPD_PID" --nofile=64:64 || fail "prlimit back"
code=000
for _ in $(seq 1 50); do
	code=$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$M/metrics")
	[ "$code" = 200 ] && break
	sleep 0.1
done
expect_eq "answered once fds are free again" 200 "$code"
stop_udpd
expect_eq "exit status" 0 "$LAST_EXIT"
done_testing
