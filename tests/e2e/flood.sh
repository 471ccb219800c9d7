#!/bin/bash
# The flood test: FLOOD_COUNT (default 200000) random datagrams (random
# bytes; sizes 0-65507, 90% under 512 bytes so that the run stays short,
# the rest spread up to 65507, with 0 and 65507 present) from 80 source
# sockets (64 IPv4 on 49 loopback addresses, 16 IPv6) at every service of
# one udpd (greet, echo, upper, time format / sntp / rfc868 / daytime,
# chat, stats; 2 workers), replies drained and thrown away, not waited
# for.  Then:
# - the accounts balance: for every service, the datagrams udpd counted
#   (stats "requests") are exactly those sent minus those the kernel
#   dropped at its sockets (/proc/net/udp{,6} "drops");
# - every service still answers correctly, the chat log is intact (gap-free
#   seq, one line per acknowledged message, no raw control byte);
# - udpd's RSS, sampled every 0.5 s, and its VmHWM stayed under the bound;
# - nothing was logged per datagram;
# - SIGTERM exits 0, and in a sanitizer build with no sanitizer report.
#
# RSS bound: nothing is allocated per packet or per source; most of the
# memory is the workers' batch buffers (32 x 64 KiB to receive and
# 32 x 65507 bytes to send per worker, touched as large datagrams arrive),
# so RSS does not grow with the traffic.  The run prints what it saw.  The
# bounds: 24 MiB plain, 40 MiB under ASan+UBSan, 256 MiB under
# ThreadSanitizer (its shadow memory); FLOOD_RSS_BOUND_KB overrides.
# FLOOD_RATE (default 60000) caps the datagrams per second sent, so that
# most reach udpd rather than the kernel's drops.
. "$(dirname "$0")/../lib.sh"
need python3

COUNT=${FLOOD_COUNT:-200000}
SANITIZED=
if [ -n "${ASAN_OPTIONS:-}" ] ||
	nm "$UDPD" 2>/dev/null | grep -q '__asan_init'; then
	SANITIZED=1
	BOUND_KB=${FLOOD_RSS_BOUND_KB:-$((40 * 1024))}
	# leaks are what this run looks for, whatever the environment says
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1
elif nm "$UDPD" 2>/dev/null | grep -q '__tsan_init'; then
	SANITIZED=1
	BOUND_KB=${FLOOD_RSS_BOUND_KB:-$((256 * 1024))}
else
	BOUND_KB=${FLOOD_RSS_BOUND_KB:-$((24 * 1024))}
fi

cat >"$TMP/udpd.conf" <<CONF
daemon = { log_level = "info"; workers = 2; };
services = (
  # generous limits, so that the guards are on the path but drop nothing;
  # the others without the default limit (the flood has one source)
  { name = "greet"; module = "greet"; listen = [ "127.0.0.1:0", "[::1]:0" ];
    rate_limit = { rate = 1000000; burst = 1000000; }; },
  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0", "[::1]:0" ];
    allow = [ "127.0.0.0/8", "::1/128" ]; deny = [ "192.0.2.0/24" ];
    rate_limit = false; },
  { name = "upper"; module = "upper"; listen = [ "127.0.0.1:0" ];
    rate_limit = false; },
  { name = "time"; module = "time"; listen = [ "127.0.0.1:0" ]; utc = true;
    rate_limit = false; },
  { name = "sntp"; module = "time"; protocol = "sntp"; stratum = 10;
    listen = [ "127.0.0.1:0", "[::1]:0" ]; },
  { name = "rfc868"; module = "time"; protocol = "rfc868";
    listen = [ "127.0.0.1:0" ]; rate_limit = false; },
  { name = "daytime"; module = "time"; protocol = "daytime"; utc = true;
    listen = [ "127.0.0.1:0" ]; rate_limit = false; },
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0", "[::1]:0" ];
    log_file = "chat.log"; rate_limit = false; },
  { name = "stats"; module = "stats"; listen = [ "127.0.0.1:0" ];
    rate_limit = false; }
);
CONF
start_udpd "$TMP/udpd.conf"
# The port file: "NAME ADDR:PORT" lines, IPv6 as [addr]:port.
targets=$(awk '{ p = $2; sub(/.*:/, "", p); h = $2; sub(/:[0-9]+$/, "", h);
	gsub(/[][]/, "", h); print $1, h, p }' "$PORT_FILE")
echo "$targets" >"$TMP/targets"
[ "$(wc -l <"$TMP/targets")" = 13 ] || fail "port file: $(cat "$PORT_FILE")"

# ---- RSS sampler: every 0.5 s until $TMP/stop (at most 120 s).
python3 - "$UDPD_PID" "$TMP/stop" "$TMP/rss" <<'PY' &
import os, sys, time
pid, stop, out = sys.argv[1:]
peak, n = 0, 0
end = time.monotonic() + 120
while time.monotonic() < end and not os.path.exists(stop):
    try:
        for l in open("/proc/%s/status" % pid):
            if l.startswith("VmRSS:"):
                peak = max(peak, int(l.split()[1]))
    except OSError:
        break
    n += 1
    time.sleep(0.5)
open(out, "w").write("%d %d\n" % (peak, n))
PY
SAMPLER=$!

# ---- the flood
cat >"$TMP/flood.py" <<'PY'
import json, os, random, socket, sys, time
count, targets_file, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
targets = []
for line in open(targets_file):
    name, host, port = line.split()
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    targets.append((name, fam, (host, int(port))))
rng = random.Random(int(os.environ.get("FLOOD_SEED", "0")) or None)
rate = float(os.environ.get("FLOOD_RATE", "60000"))
pool = memoryview(os.urandom((1 << 21) + 65507))
socks = {socket.AF_INET: [], socket.AF_INET6: []}
for fam, n in ((socket.AF_INET, 64), (socket.AF_INET6, 16)):
    for _ in range(n):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        # IPv4 sources: 127.0.0.1 and 48 other loopback addresses
        host = "::1" if fam == socket.AF_INET6 else "127.0.0.1" \
            if len(socks[fam]) < 16 else "127.%d.%d.%d" % (
                rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
        s.bind((host, 0))
        socks[fam].append(s)
every = [s for l in socks.values() for s in l]
# Sizes: 0 and 65507 once each per 10000, 90% 1-511, the rest 512-65506.
def size():
    r = rng.random()
    if r < 0.0001: return 0
    if r < 0.0002: return 65507
    if r < 0.9: return rng.randrange(1, 512)
    return rng.randrange(512, 65507)
plan = [(rng.randrange(len(targets)), size(), rng.randrange(1 << 21))
        for _ in range(count)]
sent = [0] * len(targets)
errors = drained = big = empty = 0
t0 = time.monotonic()
deadline = t0 + 45                      # bounded whatever happens
for i, (t, n, off) in enumerate(plan):
    name, fam, addr = targets[t]
    l = socks[fam]
    try:
        l[i % len(l)].sendto(pool[off:off + n], addr)
        sent[t] += 1
        big += n == 65507
        empty += n == 0
    except (BlockingIOError, ConnectionRefusedError, OSError):
        errors += 1
    if i % 512 == 511:
        for s in every:                 # drain and discard the replies
            while True:
                try:
                    s.recv(65536)
                    drained += 1
                except (BlockingIOError, ConnectionRefusedError):
                    break
        # Keep udpd's queues from overflowing too much: at most rate/s.
        ahead = (i + 1) / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
        if time.monotonic() > deadline:
            break
elapsed = time.monotonic() - t0
json.dump({"sent": {targets[t][0] + " " + targets[t][2][0]: sent[t]
                    for t in range(len(targets))},
           "total": sum(sent), "errors": errors, "elapsed": elapsed,
           "drained": drained, "max_size": big, "empty": empty},
          open(out, "w"))
PY
python3 "$TMP/flood.py" "$COUNT" "$TMP/targets" "$TMP/sent.json" ||
	fail "flood sender failed"
kill -0 "$UDPD_PID" 2>/dev/null || fail "udpd died during the flood"

# Wait (at most 20 s) until udpd has read everything queued for it.
udpd_ports=$(awk '{ p = $2; sub(/.*:/, "", p); printf "%04X\n", p }' \
	"$PORT_FILE" | sort -u | paste -sd'|')
for _ in $(seq 1 200); do
	busy=$(awk -v re=":($udpd_ports)\$" 'NR > 1 && $2 ~ re {
		split($5, q, ":"); if (q[2] != "00000000") n++ } END { print n + 0 }' \
		/proc/net/udp /proc/net/udp6)
	[ "$busy" = 0 ] && break
	sleep 0.1
done
[ "$busy" = 0 ] || fail "udpd's sockets still have queued data after 20 s"
touch "$TMP/stop"
wait "$SAMPLER"
read -r rss_peak rss_samples <"$TMP/rss"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$UDPD_PID/status")

# ---- the accounts: requests == sent - kernel drops, per service
python3 - "$TMP/sent.json" "$(port stats)" "$PORT_FILE" >"$TMP/accounts" <<'PY' ||
import json, socket, sys
sent = json.load(open(sys.argv[1]))
# kernel drops per (family, port) of udpd's sockets
drops = {}
for fam, path in ((socket.AF_INET, "/proc/net/udp"), (socket.AF_INET6, "/proc/net/udp6")):
    for l in list(open(path))[1:]:
        f = l.split()
        port = int(f[1].split(":")[1], 16)
        drops[(fam, port)] = drops.get((fam, port), 0) + int(f[-1])
want, dropped = {}, 0
for line in open(sys.argv[3]):
    name, addr = line.split()
    host, port = addr.rsplit(":", 1)
    fam = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    d = drops.get((fam, int(port)), 0)
    dropped += d
    n = sent["sent"].get(name + " " + host.strip("[]"), 0) - d
    want[name] = want.get(name, 0) + n
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"", ("127.0.0.1", int(sys.argv[2])))
stats = json.loads(s.recv(65536))
want["stats"] += 1                      # this request
bad = []
for name, n in sorted(want.items()):
    got = stats["services"][name]["requests"]
    if got != n:
        bad.append("%s: requests %d, sent - kernel drops %d" % (name, got, n))
tot = {k: sum(v[k] for v in stats["services"].values())
       for k in ("requests", "replies", "errors")}
dr = {k: sum(v["dropped"][k] for v in stats["services"].values())
      for k in ("acl", "rate", "size", "loop", "malformed")}
print("# sent %d datagrams in %.1f s (%d send errors, %d max-size, %d empty),"
      " kernel drops at udpd %d" % (sent["total"], sent["elapsed"],
      sent["errors"], sent["max_size"], sent["empty"], dropped))
print("# udpd counted %s, dropped %s" % (tot, dr))
for name in ("greet", "echo"):
    d = stats["services"][name]["dropped"]
    if d["rate"] or d["acl"]:
        bad.append("%s: generous guards dropped %s" % (name, d))
for b in bad:
    print("MISMATCH " + b)
sys.exit(1 if bad else 0)
PY
	fail "accounts: $(cat "$TMP/accounts")"
cat "$TMP/accounts"
ok "every service counted exactly what was sent minus kernel drops"
total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$TMP/sent.json")
[ "$total" -ge "$COUNT" ] || fail "only $total of $COUNT datagrams sent"
ok "$total datagrams sent"

echo "# udpd RSS: peak sampled ${rss_peak} KiB over $rss_samples samples," \
	"VmHWM ${hwm} KiB, bound ${BOUND_KB} KiB${SANITIZED:+ (sanitizer build)}"
[ "$rss_peak" -gt 0 ] && [ "$rss_peak" -le "$BOUND_KB" ] ||
	fail "RSS peak ${rss_peak} KiB over the ${BOUND_KB} KiB bound"
ok "sampled RSS peak ${rss_peak} KiB <= ${BOUND_KB} KiB"
[ "$hwm" -le "$BOUND_KB" ] || fail "VmHWM ${hwm} KiB over ${BOUND_KB} KiB"
ok "VmHWM ${hwm} KiB <= ${BOUND_KB} KiB"

# ---- every service still answers correctly
# ask_hex HOST PORT HEX: one request, the reply in hex.
ask_hex() {
	python3 - "$1" "$2" "$3" <<'PY'
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(bytes.fromhex(sys.argv[3]), (sys.argv[1], int(sys.argv[2])))
try:
    print(s.recv(65536).hex())
except socket.timeout:
    pass
PY
}
# text_hex TEXT: TEXT as hex, for ask_hex.
text_hex() { printf '%s' "$1" | hex; }
expect_eq "greet after the flood" "$(text_hex 'Hello x!
')" "$(ask_hex 127.0.0.1 "$(port greet)" "$(text_hex 'x
')")"
expect_eq "greet over IPv6 after the flood" "$(text_hex 'Hello x!
')" "$(ask_hex ::1 "$(port greet 6)" "$(text_hex x)")"
expect_eq "echo after the flood" "00ff0a0d61" \
	"$(ask_hex 127.0.0.1 "$(port echo)" 00ff0a0d61)"
expect_eq "echo over IPv6 after the flood" "00ff0a0d61" \
	"$(ask_hex ::1 "$(port echo 6)" 00ff0a0d61)"
expect_eq "upper after the flood" "$(text_hex 'ABC
')" "$(ask_hex 127.0.0.1 "$(port upper)" "$(text_hex 'abc
')")"
expect_eq "time %Y after the flood" "$(date -u +%Y | hex)" \
	"$(ask_hex 127.0.0.1 "$(port time)" "$(text_hex '%Y')")"
req=23$(printf '%078d' 0)0102030405060708
for fam in 4 6; do
	host=127.0.0.1; [ $fam = 6 ] && host=::1
	r=$(ask_hex "$host" "$(port sntp $fam)" "$req")
	[ "${#r}" = 96 ] && [ "${r:0:4}" = 240a ] &&
		[ "${r:48:16}" = 0102030405060708 ] ||
		fail "sntp over IPv$fam after the flood: '$r'"
	ok "sntp over IPv$fam after the flood (mode 4, stratum 10, origin)"
done
r=$(ask_hex 127.0.0.1 "$(port rfc868)" "")
[ "${#r}" = 8 ] && d=$((16#$r - 2208988800 - $(date +%s))) &&
	[ "$d" -ge -2 ] && [ "$d" -le 2 ] || fail "rfc868 after the flood: '$r'"
ok "rfc868 after the flood (4 bytes, now)"
r=$(python3 -c 'import sys; sys.stdout.write(bytes.fromhex(sys.argv[1]).decode())' \
	"$(ask_hex 127.0.0.1 "$(port daytime)" "")")
[[ $r =~ ^[A-Z][a-z]{2}\ [A-Z][a-z]{2}\ [\ 0-9][0-9]\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ [0-9]{4}$'\r'$ ]] ||
	fail "daytime after the flood: '$r'"
ok "daytime after the flood"

# The chat log: seq 1..n with no gap, one line each, nothing raw.
python3 - "$TMP/chat.log" >"$TMP/chatcheck" 2>&1 <<'PY' || fail "chat log: $(cat "$TMP/chatcheck")"
import re, sys
data = open(sys.argv[1], "rb").read()
assert data == b"" or data.endswith(b"\n"), "torn last line"
lines = data.split(b"\n")[:-1] if data else []
pat = re.compile(rb"^(\d+) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                 rb"(127\.\d+\.\d+\.\d+|\[::1\]):\d+ ")
for i, l in enumerate(lines, 1):
    m = pat.match(l)
    assert m and int(m.group(1)) == i, "line %d: %r" % (i, l[:80])
    assert not any(b < 0x20 or b == 0x7f for b in l), "raw byte in line %d" % i
print(len(lines))
PY
n=$(cat "$TMP/chatcheck")
ok "chat log: $n lines, seq 1..$n without gap, no raw control byte"
expect_eq "chat after the flood" "$(printf 'ok %d\n' $((n + 1)) | hex)" \
	"$(ask_hex 127.0.0.1 "$(port chat)" "$(text_hex 'after the flood')")"
expect_eq "chat over IPv6 after the flood" "$(printf 'ok %d\n' $((n + 2)) | hex)" \
	"$(ask_hex ::1 "$(port chat 6)" "$(text_hex 'again')")"
# chat "ok" replies in stats = lines written
python3 - "$(port stats)" "$n" <<'PY' || fail "stats after the flood"
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"x", ("127.0.0.1", int(sys.argv[1])))
d = json.loads(s.recv(65536))
assert d["uptime"] >= 0 and set(d["services"]) == {"greet", "echo", "upper",
    "time", "sntp", "rfc868", "daytime", "chat", "stats"}, d
PY
ok "stats JSON parses after the flood, every service listed"

grep -q 'AddressSanitizer\|LeakSanitizer\|ThreadSanitizer\|runtime error' "$TMP/udpd.err" &&
	fail "sanitizer report during the flood"
# At log_level info nothing is logged per datagram: start-up lines and a
# few 10-second summaries at most.
n=$(wc -l <"$TMP/udpd.err")
[ "$n" -lt 60 ] || fail "$n lines logged during the flood"
ok "$n lines logged during the flood (no line per datagram)"
stop_udpd TERM
expect_eq "SIGTERM exits 0 after the flood" 0 "$LAST_EXIT"
if [ -n "$SANITIZED" ]; then
	grep -q 'LeakSanitizer\|AddressSanitizer\|ThreadSanitizer\|runtime error' \
		"$TMP/udpd.err" && fail "sanitizer report at exit"
	ok "sanitizer build: no ASan / LSan / UBSan / TSan report"
else
	echo "# not a sanitizer build: the leak check runs with UDPD from" \
		"configure --enable-sanitizers"
fi
done_testing
