#!/bin/bash
# The guards of issue 5 end to end (SPEC sections 3 and 6): access lists,
# per-source rate limits, SNTP Kiss-o'-Death, the loop guard, the size
# guard, malformed SNTP, and the 10-second drop summaries on stderr.
#
# The raw client is python3: nc cannot choose its source address and port,
# send an empty datagram or one of 65507 bytes.  Source ports below 1024
# need root; without it those checks are skipped with a message (the rest
# still runs).  Other 127.0.0.0/8 addresses are loopback on Linux, so
# 127.0.0.2 and 127.0.0.3 act as other sources.
. "$(dirname "$0")/../lib.sh"
need python3

# udp_client [--src HOST[:PORT]] [--hex HEX | --size N] [--n N] [--wait S] [--lens]
#    HOST PORT: sends N copies of one datagram back to back, then collects
#    the replies until none came for S seconds; prints one line per reply:
#    its hex, or its length with --lens.
cat >"$TMP/udp_client.py" <<'PY'
import socket, sys, time
args = sys.argv[1:]
src, payload, n, wait, lens = None, b"", 1, 0.3, False
while args and args[0].startswith("--"):
    opt = args.pop(0)
    if opt == "--src": src = args.pop(0)
    elif opt == "--hex": payload = bytes.fromhex(args.pop(0))
    elif opt == "--size": payload = b"x" * int(args.pop(0))
    elif opt == "--n": n = int(args.pop(0))
    elif opt == "--wait": wait = float(args.pop(0))
    elif opt == "--lens": lens = True
    else: sys.exit("udp_client: unknown option " + opt)
host, port = args[0], int(args[1])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
if src is not None:
    h, _, p = src.rpartition(":") if src.count(":") == 1 or src.startswith("[") else (src, "", "0")
    h = h.strip("[]") or src
    try:
        s.bind((h, int(p or 0)))
    except OSError as e:
        print("BINDFAIL %s" % e)
        sys.exit(0)
for i in range(n):
    s.sendto(payload, (host, port))
    if i % 64 == 63:
        time.sleep(0.002)           # no kernel drops at udpd's socket
s.settimeout(wait)
end = time.monotonic() + 10          # bounded whatever happens
got = 0
while got < n and time.monotonic() < end:   # one datagram, one reply at most
    try:
        r = s.recv(65536)
    except socket.timeout:
        break
    except ConnectionRefusedError:
        continue
    got += 1
    print(len(r) if lens else r.hex())
PY
udp_client() { python3 "$TMP/udp_client.py" "$@"; }
# count: replies printed by udp_client
count() { udp_client "$@" | grep -vc '^BINDFAIL' || true; }

# counter SERVICE KEY[.KEY]: one counter of the stats service.
counter() {
	python3 - "$S" "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"", ("127.0.0.1", int(sys.argv[1])))
v = json.loads(s.recv(65536))["services"][sys.argv[2]]
for k in sys.argv[3].split("."):
    v = v[k]
print(v)
PY
}

# A valid SNTP client request (LI 0, VN 4, mode 3) with transmit timestamp
# 0x0102030405060708, and a mode-4 (server) packet.
SNTP_REQ=23$(printf '%078d' 0)0102030405060708
SNTP_MODE4=24$(printf '%094d' 0)

cat >"$TMP/udpd.conf" <<CONF
daemon = { log_level = "debug"; };
services = (
  # for (g): the first thing the test does is 1000 packets at each
  { name = "refuse"; module = "echo"; listen = [ "127.0.0.1:0" ];
    allow = [ "127.0.0.2/32" ]; },
  { name = "limit"; module = "echo"; listen = [ "127.0.0.1:0" ];
    rate_limit = { rate = 1; burst = 1; }; },
  # (a) access lists
  { name = "allow2"; module = "echo"; listen = [ "127.0.0.1:0" ];
    allow = [ "127.0.0.2/32" ]; },
  { name = "denywins"; module = "echo"; listen = [ "127.0.0.1:0" ];
    allow = [ "127.0.0.0/8" ]; deny = [ "127.0.0.2/32" ]; },
  { name = "deny6"; module = "echo"; listen = [ "[::1]:0" ];
    allow = [ "::1/128" ]; deny = [ "::1/128" ]; },
  { name = "open6"; module = "echo"; listen = [ "[::1]:0" ];
    deny = [ "127.0.0.0/8", "2001:db8::/32" ]; },
  # (b) rate limit
  { name = "rl"; module = "echo"; listen = [ "127.0.0.1:0" ];
    rate_limit = { rate = 1; burst = 5; }; },
  # (c) SNTP Kiss-o'-Death
  { name = "ntp"; module = "time"; protocol = "sntp"; stratum = 10;
    listen = [ "127.0.0.1:0" ]; rate_limit = { rate = 1; burst = 1; }; },
  # (d) loop guard
  { name = "loopecho"; module = "echo"; listen = [ "127.0.0.1:0" ]; },
  { name = "loopsntp"; module = "time"; protocol = "sntp"; stratum = 10;
    listen = [ "127.0.0.1:0" ]; },
  { name = "looprfc"; module = "time"; protocol = "rfc868";
    listen = [ "127.0.0.1:0" ]; },
  # (e) size guard
  { name = "small"; module = "echo"; listen = [ "127.0.0.1:0" ];
    max_request = 100; },
  { name = "big"; module = "echo"; listen = [ "127.0.0.1:0", "[::1]:0" ]; },
  # (f) malformed
  { name = "sntp"; module = "time"; protocol = "sntp"; stratum = 10;
    listen = [ "127.0.0.1:0" ]; },
  { name = "stats"; module = "stats"; listen = [ "127.0.0.1:0" ]; }
);
CONF
start_udpd "$TMP/udpd.conf"
S=$(port stats)

# ---- (g), first half: 1000 refused and 1000 rate-limited packets, sent
# at once so they fall in the first summary interval; checked at the end.
REFUSE=$(port refuse); LIMIT=$(port limit)
expect_eq "1000 packets refused by allow: no reply" 0 \
	"$(count --n 1000 --wait 0.2 --src 127.0.0.1 127.0.0.1 "$REFUSE")"
# 1000 back to back take some 30 ms: 1 reply, 2 on a machine so slow that
# they took over a second (a token refilled).
t0=$(date +%s%N)
lim=$(count --n 1000 --wait 0.2 --src 127.0.0.1 127.0.0.1 "$LIMIT")
t1=$(date +%s%N)
[ "$lim" -ge 1 ] && [ "$lim" -le $((1 + (t1 - t0) / 1000000000)) ] ||
	fail "1000 packets at rate 1 burst 1: $lim replies"
ok "1000 packets at rate 1 burst 1: $lim reply"
lines_before_summary=$(wc -l <"$TMP/udpd.err")

# ---- (a) allow / deny
P=$(port allow2)
expect_eq "allow 127.0.0.2/32: no reply to 127.0.0.1" 0 \
	"$(count --n 3 --hex 6869 --src 127.0.0.1 127.0.0.1 "$P")"
expect_eq "allow 127.0.0.2/32: 127.0.0.2 answered" 6869 \
	"$(udp_client --hex 6869 --src 127.0.0.2 127.0.0.1 "$P")"
expect_eq "allow2 dropped.acl counts the 3 refused" 3 \
	"$(counter allow2 dropped.acl)"
expect_eq "allow2 replies" 1 "$(counter allow2 replies)"

P=$(port denywins)
expect_eq "deny 127.0.0.2 wins over allow 127.0.0.0/8" 0 \
	"$(count --n 2 --hex 6869 --src 127.0.0.2 127.0.0.1 "$P")"
expect_eq "allow 127.0.0.0/8: 127.0.0.3 answered" 6869 \
	"$(udp_client --hex 6869 --src 127.0.0.3 127.0.0.1 "$P")"
expect_eq "denywins dropped.acl" 2 "$(counter denywins dropped.acl)"

P=$(port deny6 6)
expect_eq "IPv6 deny ::1/128 (wins over allow ::1/128): no reply" 0 \
	"$(count --n 4 --hex 6869 ::1 "$P")"
expect_eq "deny6 dropped.acl" 4 "$(counter deny6 dropped.acl)"
P=$(port open6 6)
expect_eq "IPv4 and other IPv6 deny entries leave ::1 alone" 6869 \
	"$(udp_client --hex 6869 ::1 "$P")"
expect_eq "open6 dropped.acl" 0 "$(counter open6 dropped.acl)"

# ---- (b) rate limit: rate 1/s, burst 5.  20 packets sent back to back
# take a few ms, so the refill adds far less than a token: exactly 5.
P=$(port rl)
t0=$(date +%s%N)
n1=$(count --n 20 --hex 72 --src 127.0.0.1 127.0.0.1 "$P")
n3=$(count --n 20 --hex 72 --src 127.0.0.3 127.0.0.1 "$P")
t1=$(date +%s%N)
# Each source's 20 packets leave within well under a second; allow for a
# refilled token only if the whole thing took that long (slow machines).
extra=$(( (t1 - t0) / 1000000000 ))
[ "$n1" -ge 5 ] && [ "$n1" -le $((5 + extra)) ] ||
	fail "rate 1 burst 5: 20 back-to-back from 127.0.0.1 got $n1 replies"
ok "rate 1 burst 5: 20 back-to-back get 5 replies ($n1)"
[ "$n3" -ge 5 ] && [ "$n3" -le $((5 + extra)) ] ||
	fail "rate limit: 127.0.0.3 got $n3 replies, not its own 5"
ok "another source (127.0.0.3) has its own bucket ($n3 replies)"
expect_eq "rl dropped.rate" $((40 - n1 - n3)) "$(counter rl dropped.rate)"
expect_eq "rl replies" $((n1 + n3)) "$(counter rl replies)"
echo "# two sources in one IPv6 /64 need two addresses of a /64: loopback" \
	"has only ::1, so that grouping is left to tests/test_ratelimit.c"

# ---- (c) SNTP KoD: rate 1 burst 1, a burst of 10 from one source.
P=$(port ntp)
replies=$(udp_client --n 10 --hex "$SNTP_REQ" --src 127.0.0.1 127.0.0.1 "$P")
normal=0 kod=0
for r in $replies; do
	[ "${#r}" = 96 ] || fail "SNTP reply of ${#r} hex digits: $r"
	if [ "${r:2:2}" = 00 ]; then
		# LI 3 VN 4 mode 4 = 0xe4; stratum 0; refid "RATE"; origin =
		# the request's transmit timestamp
		expect_eq "KoD LI 3, VN 4, mode 4" e4 "${r:0:2}"
		expect_eq "KoD refid RATE" 52415445 "${r:24:8}"
		expect_eq "KoD origin = request transmit" 0102030405060708 \
			"${r:48:16}"
		kod=$((kod + 1))
	else
		expect_eq "normal SNTP reply: LI 0 VN 4 mode 4, stratum 10" \
			240a "${r:0:4}"
		normal=$((normal + 1))
	fi
done
expect_eq "SNTP burst of 10 at burst 1: one normal reply" 1 "$normal"
[ "$kod" -ge 1 ] && [ "$kod" -le 2 ] || fail "SNTP burst: $kod KoD replies"
ok "SNTP burst of 10: $kod KoD (at least 1, at most 2)"
# A second burst within 8 s of the KoD: no KoD again (at most 1 normal
# reply if a token was refilled in the meantime).
replies=$(udp_client --n 10 --hex "$SNTP_REQ" --src 127.0.0.1 127.0.0.1 "$P")
kod2=0
for r in $replies; do
	[ "${r:2:2}" = 00 ] && kod2=$((kod2 + 1))
done
expect_eq "no second KoD to the same source within 8 s" 0 "$kod2"
normal2=$(( $(echo "$replies" | grep -c . || true) - kod2 ))
expect_eq "ntp dropped.rate counts every limited request (KoD or not)" \
	$((20 - normal - normal2)) "$(counter ntp dropped.rate)"

# ---- (d) loop guard
echo "# a reply is never sent to source port 0: untestable from userspace" \
	"(nothing can send from port 0); tests/test_*.c cover the guard table"
LE=$(port loopecho); LS=$(port loopsntp); LR=$(port looprfc)
expect_eq "loopecho answers an ordinary port" 6869 \
	"$(udp_client --hex 6869 --src 127.0.0.1 127.0.0.1 "$LE")"
loops=0
# The daemon's own ports: 127.0.0.2 has them free, udpd holds 127.0.0.1.
for own in loopsntp stats; do
	got=$(udp_client --hex 6869 --src "127.0.0.2:$(port $own)" 127.0.0.1 "$LE")
	case $got in BINDFAIL*) fail "bind 127.0.0.2:$(port $own): $got" ;; esac
	expect_eq "no echo to the daemon's own port ($own)" "" "$got"
	loops=$((loops + 1))
done
if [ "$(id -u)" = 0 ]; then
	for sp in 7 13 19 37 123; do
		got=$(udp_client --hex 6869 --src "127.0.0.2:$sp" 127.0.0.1 "$LE")
		case $got in
		BINDFAIL*) echo "# source port $sp busy here: skipped ($got)"
			continue ;;
		esac
		expect_eq "no echo to source port $sp" "" "$got"
		loops=$((loops + 1))
	done
	got=$(udp_client --hex 6869 --src 127.0.0.2:7 127.0.0.1 "$LS")
	case $got in BINDFAIL*) ;; *)
		expect_eq "sntp service: nothing to source port 7" "" "$got"
		expect_eq "loopsntp dropped.loop" 1 "$(counter loopsntp dropped.loop)"
	esac
	got=$(udp_client --hex "$SNTP_REQ" --src 127.0.0.2:123 127.0.0.1 "$LS")
	case $got in
	BINDFAIL*) echo "# source port 123 busy here: skipped ($got)" ;;
	*)	expect_eq "sntp answers source port 123 (mode 4 is terminal)" \
			240a "${got:0:4}"
		got=$(udp_client --src 127.0.0.2:123 127.0.0.1 "$LR")
		expect_eq "rfc868 service: nothing to source port 123" "" "$got"
		expect_eq "looprfc dropped.loop" 1 "$(counter looprfc dropped.loop)"
	esac
else
	echo "# not root: source ports 7, 13, 19, 37, 123 not tried"
fi
expect_eq "loopecho dropped.loop counts each" "$loops" \
	"$(counter loopecho dropped.loop)"
expect_eq "loopecho replies (only the ordinary port)" 1 \
	"$(counter loopecho replies)"

# ---- (e) size guard
P=$(port small)
expect_eq "max_request 100: 100 bytes answered" 100 \
	"$(udp_client --lens --size 100 127.0.0.1 "$P")"
expect_eq "max_request 100: 101 bytes dropped" "" \
	"$(udp_client --lens --size 101 127.0.0.1 "$P")"
expect_eq "max_request 100: 65507 bytes dropped" "" \
	"$(udp_client --lens --size 65507 127.0.0.1 "$P")"
expect_eq "small dropped.size" 2 "$(counter small dropped.size)"
P=$(port big)
expect_eq "default max_request: 65507 bytes over IPv4 echoed" 65507 \
	"$(udp_client --lens --size 65507 127.0.0.1 "$P")"
P6=$(port big 6)
expect_eq "default max_request: 65507 bytes over IPv6 echoed" 65507 \
	"$(udp_client --lens --size 65507 ::1 "$P6")"
# 65527 bytes is the largest IPv6 UDP payload without jumbograms; it is
# above the 65507 limit (the largest IPv4 one), so no reply, counted.
expect_eq "65527 bytes over IPv6: no reply" "" \
	"$(udp_client --lens --size 65527 ::1 "$P6")"
expect_eq "big dropped.size counts the IPv6 datagram" 1 \
	"$(counter big dropped.size)"
expect_eq "big replies" 2 "$(counter big replies)"

# ---- (f) malformed SNTP
P=$(port sntp)
expect_eq "mode-4 packet to sntp: no reply" "" \
	"$(udp_client --hex "$SNTP_MODE4" 127.0.0.1 "$P")"
expect_eq "47-byte packet to sntp: no reply" "" \
	"$(udp_client --hex "${SNTP_REQ:0:94}" 127.0.0.1 "$P")"
expect_eq "empty packet to sntp: no reply" "" "$(udp_client 127.0.0.1 "$P")"
expect_eq "sntp dropped.malformed" 3 "$(counter sntp dropped.malformed)"
got=$(udp_client --hex "$SNTP_REQ" 127.0.0.1 "$P")
expect_eq "sntp still answers a valid request" 240a "${got:0:4}"

# ---- (g) summaries: every 10 s, one line per listener with drops and
# one per rate-limited source.  A summary may fall in the middle of a step
# above, so the counts are summed over the intervals.
# drops LABEL FIELD: the sum of one field of LABEL's "dropped since" lines
# (FIELD: refused, large, looping or malformed).
drops() {
	grep -F "udpd: $1: dropped since the last summary: " "$TMP/udpd.err" |
	awk -v f="$2" '{
		n = split($0, p, ": dropped since the last summary: ")
		split(p[n], c, ", ")
		i = f == "refused" ? 1 : f == "large" ? 2 : f == "looping" ? 3 : 4
		split(c[i], w, " "); s += w[1] } END { print s + 0 }'
}
# limited LABEL SOURCE: the sum of SOURCE's rate-limit lines of LABEL
limited() {
	grep -F "udpd: $1: rate limit: $2: " "$TMP/udpd.err" |
	awk '{ s += $(NF - 1) } END { print s + 0 }'
}
R="refuse 127.0.0.1:$REFUSE"; L="limit 127.0.0.1:$LIMIT"
RL="rl 127.0.0.1:$(port rl)"; SM="small 127.0.0.1:$(port small)"
SN="sntp 127.0.0.1:$(port sntp)"; LP="loopecho 127.0.0.1:$LE"
AL="allow2 127.0.0.1:$(port allow2)"
ref=$(counter refuse requests); lreq=$(counter limit requests)
# On a loaded machine the kernel may drop some of the 1000 before udpd
# reads them: what udpd counted plus the socket's kernel drops is all.
expect_eq "refuse: every packet read by udpd or dropped by the kernel" 1000 \
	$((ref + $(kernel_drops "$REFUSE")))
expect_eq "limit: every packet read by udpd or dropped by the kernel" 1000 \
	$((lreq + $(kernel_drops "$LIMIT")))
expect_eq "refuse: dropped.acl = requests" "$ref" "$(counter refuse dropped.acl)"
expect_eq "limit: dropped.rate = requests - replies" $((lreq - lim)) \
	"$(counter limit dropped.rate)"
summarised() {
	[ "$(drops "$R" refused)" = "$ref" ] &&
	[ "$(limited "$L" 127.0.0.1)" = $((lreq - lim)) ] &&
	[ "$(limited "$RL" 127.0.0.3)" = $((20 - n3)) ] &&
	[ "$(drops "$SM" large)" = 2 ] && [ "$(drops "$SN" malformed)" = 3 ]
}
# the first summary comes 10 s after the start, the next 10 s later
for _ in $(seq 1 230); do
	summarised && break
	sleep 0.1
done
grep "dropped since the last summary\|rate limit:" "$TMP/udpd.err" |
	sed 's/^/# /'
expect_eq "refuse: summaries count the refused" "$ref" "$(drops "$R" refused)"
expect_eq "refuse: nothing else" 0 \
	$(( $(drops "$R" large) + $(drops "$R" looping) + $(drops "$R" malformed) ))
expect_eq "limit: summaries count the rate-limited" $((lreq - lim)) \
	"$(limited "$L" 127.0.0.1)"
expect_eq "rl: summaries for 127.0.0.1" $((20 - n1)) "$(limited "$RL" 127.0.0.1)"
expect_eq "rl: summaries for 127.0.0.3" $((20 - n3)) "$(limited "$RL" 127.0.0.3)"
expect_eq "allow2: summaries count 3 refused" 3 "$(drops "$AL" refused)"
expect_eq "loopecho: summaries count the looping" "$loops" "$(drops "$LP" looping)"
expect_eq "small: summaries count 2 too large" 2 "$(drops "$SM" large)"
expect_eq "sntp: summaries count 3 malformed" 3 "$(drops "$SN" malformed)"
# Everything logged about refuse and limit since they were flooded: the
# 2000 packets produced no per-packet line (debug included).
n=$(tail -n +"$((lines_before_summary + 1))" "$TMP/udpd.err" |
	grep -c "udpd: \(refuse\|limit\) " || true)
[ "$n" -lt 10 ] || fail "$n log lines about 2000 dropped packets"
ok "2000 dropped packets: $n log lines about them (< 10)"
n=$(grep -c "udpd: \(refuse\|limit\) " "$TMP/udpd.err" || true)
[ "$n" -lt 10 ] || fail "$n log lines in all about refuse and limit"
ok "log lines about refuse and limit in all: $n"
bad=$(LC_ALL=C grep -c '[^[:print:]]' "$TMP/udpd.err" || true)
expect_eq "stderr has only printable bytes" 0 "$bad"

stop_udpd TERM
expect_eq "SIGTERM exits 0" 0 "$LAST_EXIT"
done_testing
