#!/bin/bash
# workers = 2: every service answers, the stats sum both workers, a
# source's rate-limit bucket is one bucket whatever its source port (the
# reuseport BPF program steers by address), the chat log stays one line per
# message with a strictly increasing seq under concurrent senders, and
# reload and stop coordinate both threads.
. "$(dirname "$0")/../lib.sh"
need python3 nc

cat >"$TMP/udpd.conf" <<CONF
daemon = { workers = 2; };
services = (
  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0", "[::1]:0" ];
    rate_limit = false; },
  { name = "limited"; module = "echo"; listen = [ "127.0.0.1:0" ];
    rate_limit = { rate = 1; burst = 5; }; },
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
    log_file = "chat.log"; rate_limit = false; },
  { name = "stats"; module = "stats"; listen = [ "127.0.0.1:0" ];
    rate_limit = false; }
);
CONF
start_udpd "$TMP/udpd.conf"
# the port file comes before the workers start and say so: poll
for _ in $(seq 1 250); do
	grep -q "2 workers" "$TMP/udpd.err" && break
	sleep 0.02
done
grep -q "2 workers" "$TMP/udpd.err" || fail "not started with 2 workers"
ok "2 workers started"

# 64 source ports, 10 requests each: all answered, counted once.  A
# request not answered in 1 s is sent again (5 times at most: the machine
# may be busy); every datagram sent is read by udpd or dropped by the
# kernel, which the stats below check.
datagrams=$(python3 - "$(port echo)" <<'PY'
import socket, sys
port = int(sys.argv[1])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(64)]
for s in socks:
    s.settimeout(1.0)
    s.connect(("127.0.0.1", port))
sent = 0
for r in range(10):
    for i, s in enumerate(socks):
        s.send(b"%d-%d" % (i, r))
        sent += 1
    for i, s in enumerate(socks):
        want = b"%d-%d" % (i, r)
        for _ in range(5):
            try:
                while s.recv(100) != want:	# a late answer to a resend
                    pass
                break
            except socket.timeout:
                s.send(want)
                sent += 1
        else:
            sys.exit("%s never answered" % want)
print(sent)
PY
) || fail "echo through 64 sockets"
ok "640 echoes from 64 source ports ($datagrams datagrams)"

# One address, 20 source ports, back to back: one bucket of 5 (rate 1/s),
# so 5 replies and one more per second the sending took (at most); a
# bucket per worker would give 10.  Replies are collected for 2 s.
read -r got bound <<<"$(python3 - "$(port limited)" <<'PY'
import math, select, socket, sys, time
port = int(sys.argv[1])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(20)]
start = time.monotonic()
for s in socks:
    s.connect(("127.0.0.1", port))
    s.send(b"x")
took = time.monotonic() - start
n, end = 0, time.monotonic() + 2
while time.monotonic() < end:
    ready, _, _ = select.select(socks, [], [], max(0, end - time.monotonic()))
    for s in ready:
        s.recv(10)
        n += 1
print(n, 5 + math.ceil(took))
PY
)"
[ "$got" -ge 5 ] && [ "$got" -le "$bound" ] ||
	fail "rate limit across workers: $got replies (want 5 to $bound)"
ok "one source, many ports: one bucket ($got replies, at most $bound)"

# 8 concurrent senders x 250 chat messages.
python3 - "$(port chat)" <<'PY' || fail "chat under concurrency"
import socket, sys, threading
port = int(sys.argv[1])
acks = []
def sender(t):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10.0)	# a busy machine: late is fine, lost is not
    s.connect(("127.0.0.1", port))
    for i in range(250):
        s.send(b"t%d-m%d" % (t, i))
        r = s.recv(100)
        assert r.startswith(b"ok "), r
        acks.append(int(r.split()[1]))
threads = [threading.Thread(target=sender, args=(t,)) for t in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert sorted(acks) == list(range(1, 2001)), "acks not 1..2000"
PY
python3 - "$TMP/chat.log" <<'PY' || fail "chat log after concurrent senders"
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[-1] == b"", "log does not end with a newline"
lines = lines[:-1]
assert len(lines) == 2000, len(lines)
seqs = [int(l.split(b" ", 1)[0]) for l in lines]
assert seqs == list(range(1, 2001)), "seq not strictly increasing in file order"
for l in lines:
    f = l.split(b" ", 3)
    assert len(f) == 4 and f[3].startswith(b"t"), l
PY
ok "2000 concurrent chat messages: one line each, seq 1..2000 in file order"

json=$(echo | udp 127.0.0.1 "$(port stats)")
echo "$json" | python3 -c '
import json, sys
s = json.load(sys.stdin)["services"]
sent, dropped = int(sys.argv[1]), int(sys.argv[2])
assert s["echo"]["requests"] + dropped == sent, (s["echo"], sent, dropped)
assert s["echo"]["replies"] == s["echo"]["requests"], s["echo"]
assert s["limited"]["requests"] == 20, s["limited"]
assert s["limited"]["dropped"]["rate"] + s["limited"]["replies"] == 20, s["limited"]
assert s["chat"]["replies"] == 2000, s["chat"]
' "$datagrams" "$(kernel_drops "$(port echo)")" || fail "stats over 2 workers: $json"
ok "stats sum both workers"

kill -HUP "$UDPD_PID"
wait_until 10 grep -q "reloaded " "$TMP/udpd.err" || fail "no reload"
expect_eq "echo after reload with workers" "after" "$(echo after | udp 127.0.0.1 "$(port echo)")"
stop_udpd
expect_eq "both workers stop, exit 0" 0 "$LAST_EXIT"
done_testing
