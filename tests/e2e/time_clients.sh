#!/bin/bash
# The time module through the real clients: rdate -n (SNTP) and rdate -u
# (RFC 868) against udpd on ephemeral ports, daytime through nc -u, and
# ntpdig / ntpdate -q, which only ever query port 123, against udpd bound
# to 127.0.0.1:123 inside a network namespace of its own (root only; that
# part is skipped with a message otherwise, and the test reports SKIP).
. "$(dirname "$0")/../lib.sh"
need rdate nc python3 awk date

NS=
ns_cleanup() {
	stop_udpd
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	NS=
	cleanup
}
trap ns_cleanup EXIT

# within LIMIT X: |X| < LIMIT
within() {
	awk -v l="$1" -v x="$2" 'BEGIN { if (x == "" || x + 0 != x) exit 1;
	    exit !(x < l && x > -l) }'
}

# dgram PORT HEX [TIMEOUT]: sends one datagram (empty allowed, which nc
# cannot send) to 127.0.0.1:PORT and prints the reply in hex, or nothing.
dgram() {
	python3 - "$1" "$2" "${3:-2}" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(float(sys.argv[3]))
s.sendto(bytes.fromhex(sys.argv[2]), ("127.0.0.1", int(sys.argv[1])))
try:
    print(s.recv(65536).hex())
except socket.timeout:
    pass
PY
}

cat >"$TMP/udpd.conf" <<CONF
daemon = { log_level = "debug"; };
services = (
  { name = "sntp"; module = "time"; protocol = "sntp"; stratum = 10;
    listen = [ "127.0.0.1:0" ]; },
  { name = "rfc868"; module = "time"; protocol = "rfc868";
    listen = [ "127.0.0.1:0" ]; },
  { name = "daytime"; module = "time"; protocol = "daytime"; utc = true;
    listen = [ "127.0.0.1:0" ]; }
);
CONF
start_udpd "$TMP/udpd.conf"
N=$(port sntp); R=$(port rfc868); D=$(port daytime)

# --- SNTP: rdate -n sends a random cookie and checks origin, LI, stratum.
out=$(rdate -n -p -v -o "$N" 127.0.0.1 2>&1) || fail "rdate -n: $out"
off=$(printf '%s\n' "$out" |
	sed -n 's/.*adjust local clock by \([-+0-9.e]*\) seconds.*/\1/p')
within 0.05 "$off" || fail "rdate -n offset '$off' not under 50 ms: $out"
ok "rdate -n -p accepts the SNTP reply (offset $off s)"

# Extensions are never echoed; server-mode packets get no answer.
req=$(printf '23%094d' 0)				# LI 0, VN 4, mode 3
reply=$(dgram "$N" "${req}$(printf '%040d' 0)")		# 68 bytes
expect_eq "SNTP 68-byte request gets 48 bytes" 96 "${#reply}"
expect_eq "SNTP reply mode 4, stratum 10" 240a "${reply:0:4}"
expect_eq "SNTP mode 4 packet dropped" "" \
	"$(dgram "$N" "$(printf '24%094d' 0)" 0.5)"

# --- RFC 868: rdate -u sends an empty datagram.
out=$(rdate -u -p -o "$R" 127.0.0.1 2>&1) || fail "rdate -u: $out"
got=$(date -d "$out" +%s 2>/dev/null) || fail "rdate -u printed '$out'"
within 2.5 $((got - $(date +%s))) ||
	fail "rdate -u says '$out', now is $(date)"
ok "rdate -u -p prints the time (within 2 s)"
reply=$(dgram "$R" "")
expect_eq "rfc868 empty datagram gets 4 bytes" 8 "${#reply}"
within 2.5 $((16#$reply - 2208988800 - $(date +%s))) ||
	fail "rfc868 value $reply"
ok "rfc868 value is the time since 1900"

# --- daytime: the 24 characters of ctime(3) and CRLF.
got=$(echo | nc -u -w1 127.0.0.1 "$D")
days='(Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
months='(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
re="^$days $months ( [1-9]|[12][0-9]|3[01]) "
re+="[0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4}"$'\r$'
[[ $got =~ $re ]] || fail "daytime: got $(printf '%q' "$got")"
within 2.5 $(($(date -u -d "${got%$'\r'}" +%s) - $(date +%s))) ||
	fail "daytime '$got' is not now ($(date -u))"
ok "daytime through nc -u"
reply=$(dgram "$D" "")
expect_eq "daytime empty datagram gets 26 bytes ending CRLF" 52,0d0a \
	"${#reply},${reply:48:4}"

stop_udpd TERM
expect_eq "SIGTERM exits 0" 0 "$LAST_EXIT"

# --- ntpdig and ntpdate -q only query port 123: a namespace of our own.
why=
if [ "$(id -u)" != 0 ]; then
	why="not root (ip netns needs it)"
else
	for tool in ip ntpdig; do
		command -v "$tool" >/dev/null 2>&1 || why="$tool is not installed"
	done
fi
if [ -z "$why" ]; then
	NS=udpd-test-$$
	ip netns add "$NS" 2>"$TMP/netns.err" ||
		why="ip netns add failed: $(cat "$TMP/netns.err")"
fi
if [ -n "$why" ]; then
	NS=
	done_testing
	skip "ntpdig/ntpdate part skipped: $why (everything else passed)"
fi
ip netns exec "$NS" ip link set lo up || fail "cannot bring lo up in $NS"
cat >"$TMP/ns.conf" <<CONF
services = (
  { name = "ntp"; module = "time"; protocol = "sntp"; stratum = 10;
    listen = [ "127.0.0.1:123" ]; }
);
CONF
printf '#!/bin/sh\nexec ip netns exec %s %q "$@"\n' "$NS" "$UDPD" \
	>"$TMP/udpd-in-ns"
chmod +x "$TMP/udpd-in-ns"
UDPD=$TMP/udpd-in-ns start_udpd "$TMP/ns.conf"

json=$(ip netns exec "$NS" ntpdig -j -t 2 127.0.0.1 2>&1) ||
	fail "ntpdig: $json"
printf '%s\n' "$json" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read().strip().splitlines()[-1])
assert d["stratum"] == 10, d
assert d["leap"] == "no-leap", d
assert abs(d["offset"]) < 0.05, d
' || fail "ntpdig reply: $json"
ok "ntpdig accepts udpd (offset under 50 ms)"

if command -v ntpdate >/dev/null 2>&1; then
	out=$(ip netns exec "$NS" ntpdate -q 127.0.0.1 2>&1) ||
		fail "ntpdate -q: $out"
	off=$(printf '%s\n' "$out" | awk '/ s10 / { print $4 }' | tail -n1)
	within 0.05 "$off" || fail "ntpdate -q: $out"
	ok "ntpdate -q accepts udpd (offset $off s)"
else
	echo "# ntpdate is not installed: ntpdate -q not tried"
fi

stop_udpd TERM
expect_eq "SIGTERM exits 0 (namespace)" 0 "$LAST_EXIT"
done_testing
