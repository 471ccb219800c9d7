#!/bin/bash
# Issue 5 item 8, log safety: bytes from the network (control characters,
# newlines, ANSI escapes, backslashes, NUL, invalid UTF-8) sent to greet and
# chat with log_level = "debug" reach neither the daemon's log nor the chat
# log raw.  Checks:
# - udpd's stderr (-f) and, when root, its syslog records (caught on a
#   private /dev/log in a mount namespace of udpd's own) hold only bytes
#   0x20-0x7e, every stderr line starts "udpd: ", and there is exactly one
#   "request from" line per request: no message can forge a line;
# - the chat log has one line per message, escaped as SPEC section 2 says
#   (\ -> \\, 0x00-0x1f and 0x7f -> \xhh lower-case, invalid UTF-8 bytes ->
#   \xhh, valid UTF-8 kept), and /history returns those lines as stored.
. "$(dirname "$0")/../lib.sh"
need python3

# send PORT HEX: one datagram to 127.0.0.1:PORT, prints the reply in hex.
send() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(bytes.fromhex(sys.argv[2]), ("127.0.0.1", int(sys.argv[1])))
try:
    print(s.recv(65536).hex())
except socket.timeout:
    pass
PY
}

# ---- syslog: when root, udpd runs in a mount namespace whose /dev is a
# directory of ours with null, zero, random, urandom and a log socket that
# a receiver here reads.  Nothing is mounted outside that namespace.
SYSLOG=
REAL_UDPD=$UDPD
SYSLOG_PID=
log_cleanup() {
	stop_udpd
	[ -n "$SYSLOG_PID" ] && kill "$SYSLOG_PID" 2>/dev/null &&
		wait "$SYSLOG_PID" 2>/dev/null
	SYSLOG_PID=
	cleanup
}
trap log_cleanup EXIT
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	unshare -m true 2>/dev/null; then
	mkdir "$TMP/dev"
	# Records as "<length> <hex>\n"; stops by itself after 120 s.
	python3 - "$TMP/dev/log" "$TMP/syslog" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.monotonic() + 120
with open(sys.argv[2], "w") as out:
    while time.monotonic() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        out.write("%d %s\n" % (len(d), d.hex()))
        out.flush()
PY
	SYSLOG_PID=$!
	wait_until 5 test -S "$TMP/dev/log" || fail "syslog receiver did not start"
	cat >"$TMP/udpd-ns" <<SH
#!/bin/sh
# udpd with /dev replaced, in a private mount namespace.
for n in null zero random urandom; do
	touch "$TMP/dev/\$n" && mount --bind "/dev/\$n" "$TMP/dev/\$n" || exit 3
done
mount --bind "$TMP/dev" /dev || exit 3
exec "$REAL_UDPD" "\$@"
SH
	chmod +x "$TMP/udpd-ns"
	SYSLOG=1
else
	echo "# not root (or no unshare -m): syslog not captured; udpd logs" \
		"the same text to syslog and to stderr (log.c), so stderr is checked"
fi

cat >"$TMP/udpd.conf" <<CONF
daemon = { log_level = "debug"; };
services = (
  { name = "greet"; module = "greet"; listen = [ "127.0.0.1:0" ]; },
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
    log_file = "chat.log"; }
);
CONF
# start_udpd quotes "\$UDPD" as one word: word-split it here instead.
if [ -n "$SYSLOG" ]; then
	rm -f "$PORT_FILE"
	unshare -m --propagation private "$TMP/udpd-ns" -f -c "$TMP/udpd.conf" \
		2>>"$TMP/udpd.err" &
	UDPD_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$PORT_FILE" ] && break
		kill -0 "$UDPD_PID" 2>/dev/null || fail "udpd exited at start"
		sleep 0.05
	done
	[ -s "$PORT_FILE" ] || fail "udpd did not write $PORT_FILE"
else
	start_udpd "$TMP/udpd.conf"
fi
G=$(port greet); C=$(port chat)

# Each message (as printf text) and its escaped form in the chat log.
msgs=(
	'ctl\001\002\007\010\177'
	'line1\nline2'
	'\033[31mred\033[0m'
	'back\\slash'
	'nul\000byte'
	'bad\377\376\303('
	'\300\257\355\240\200'
	'caf\303\251 \342\202\254'
	'\r\n2 2026-01-01T00:00:00.000Z 1.2.3.4:5 forged'
	'tab\there\r\n'
	'cr only\r'
	'two newlines\n\n'
	'\033]0;title\007'
	'lone\233csi'
)
want=(
	'ctl\x01\x02\x07\x08\x7f'
	'line1\x0aline2'
	'\x1b[31mred\x1b[0m'
	'back\\slash'
	'nul\x00byte'
	'bad\xff\xfe\xc3('
	'\xc0\xaf\xed\xa0\x80'
	"$(printf 'caf\303\251 \342\202\254')"
	'\x0d\x0a2 2026-01-01T00:00:00.000Z 1.2.3.4:5 forged'
	'tab\x09here'
	'cr only\x0d'
	'two newlines\x0a'
	'\x1b]0;title\x07'
	'lone\x9bcsi'
)
N=${#msgs[@]}
requests=0
for i in "${!msgs[@]}"; do
	h=$(printf "${msgs[$i]}" | hex)
	expect_eq "chat message $((i + 1)) acknowledged" \
		"$(printf 'ok %d\n' $((i + 1)) | hex)" "$(send "$C" "$h")"
	# greet answers the sender with the name as sent (one line end off)
	name=$(printf "${msgs[$i]}" | python3 -c '
import sys
b = sys.stdin.buffer.read()
for end in (b"\r\n", b"\n"):
    if b.endswith(end):
        b = b[:-len(end)]
        break
sys.stdout.write(("Hello " + b.decode("latin-1") + "!\n").encode("latin-1").hex())')
	expect_eq "greet reply $((i + 1)) is the name as sent" "$name" \
		"$(send "$G" "$h")"
	requests=$((requests + 2))
done

expect_eq "chat log: one line per message" "$N" "$(wc -l <"$TMP/chat.log")"
for i in "${!want[@]}"; do
	line=$(sed -n "$((i + 1))p" "$TMP/chat.log")
	text=${line#* * * }
	prefix=${line%"$text"}
	[[ $prefix =~ ^$((i + 1))\ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z\ 127\.0\.0\.1:[0-9]+\ $ ]] ||
		fail "chat line $((i + 1)) prefix: '$prefix'"
	expect_eq "chat line $((i + 1)) escaped as SPEC" "${want[$i]}" "$text"
done
# Only valid UTF-8 (message 8) may leave ASCII in the chat log.
python3 - "$TMP/chat.log" <<'PY' || fail "chat log has raw control bytes"
import sys
data = open(sys.argv[1], "rb").read()
bad = [b for b in data if (b < 0x20 and b != 0x0a) or b == 0x7f]
sys.exit(1 if bad else 0)
PY
ok "chat log: no control byte but the line ends"

hist=$(send "$C" "$(printf '/history %d\n' "$N" | hex)")
requests=$((requests + 1))
expect_eq "/history $N returns the lines as stored" "$(hex <"$TMP/chat.log")" \
	"$hist"

# ---- the daemon's log
python3 - "$TMP/udpd.err" <<'PY' || fail "udpd stderr has raw bytes"
import sys
data = open(sys.argv[1], "rb").read()
bad = sorted({b for b in data if not (0x20 <= b <= 0x7e or b == 0x0a)})
if bad:
    print("bytes outside 0x20-0x7e:", bad)
    sys.exit(1)
PY
ok "udpd stderr: only bytes 0x20-0x7e and line ends"
expect_eq "every stderr line starts 'udpd: '" 0 \
	"$(grep -vc '^udpd: ' "$TMP/udpd.err" || true)"
expect_eq "one 'request from' line per request" "$requests" \
	"$(grep -c ': request from 127\.0\.0\.1:[0-9]*: ' "$TMP/udpd.err")"
grep -qF 'greet 127.0.0.1:'"$G"': request from 127.0.0.1:' "$TMP/udpd.err" ||
	fail "no greet request line"
for esc in 'ctl\x01\x02\x07\x08\x7f' 'line1\x0aline2' '\x1b[31mred\x1b[0m' \
	'back\\slash' 'nul\x00byte' 'bad\xff\xfe\xc3(' 'caf\xc3\xa9 \xe2\x82\xac' \
	'\x0d\x0a2 2026-01-01T00:00:00.000Z 1.2.3.4:5 forged'; do
	expect_eq "stderr: greet and chat lines show $esc escaped" 2 \
		"$(grep -cF ": $esc" "$TMP/udpd.err")"
done
expect_eq "no forged line in stderr" 0 "$(grep -c '^2 2026' "$TMP/udpd.err")"

# syslog_caught_up: every request line has reached the receiver.
syslog_caught_up() {
	local n
	n=$(python3 - "$TMP/syslog" <<'PY'
import sys
print(sum(1 for l in open(sys.argv[1]) if len(l.split()) == 2 and
          b": request from 127.0.0.1:" in bytes.fromhex(l.split()[1])))
PY
)
	[ "$n" -ge "$requests" ]
}
if [ -n "$SYSLOG" ]; then
	wait_until 10 syslog_caught_up || fail "request lines missing in syslog"
	python3 - "$TMP/syslog" "$requests" <<'PY' || fail "syslog records"
import sys
recs = [bytes.fromhex(l.split()[1]) if " " in l.strip() else b""
        for l in open(sys.argv[1]) if l.strip()]
bad = [r for r in recs if any(not (0x20 <= b <= 0x7e) for b in r.rstrip(b"\n"))]
if bad:
    print("raw bytes in syslog:", bad[:3])
    sys.exit(1)
if any(b"\n" in r.rstrip(b"\n") for r in recs):
    print("a newline inside a syslog record")
    sys.exit(1)
n = sum(1 for r in recs if b"udpd[" in r and b": request from 127.0.0.1:" in r)
if n != int(sys.argv[2]):
    print("request records:", n, "want", sys.argv[2])
    sys.exit(1)
print("# %d syslog records, %d request lines" % (len(recs), n))
PY
	ok "syslog: only printable bytes, one record per request line"
fi

stop_udpd TERM
expect_eq "SIGTERM exits 0" 0 "$LAST_EXIT"
done_testing
