#!/bin/bash
# The NTS key exchange (RFC 8915 section 4) on private loopback ports,
# judged by a Python TLS client (tests/nts/ke_client.py) and openssl
# s_client: udpd -t refuses a key that is not the certificate's (exit 1,
# FILE:LINE); the response records (NTPv4, AEAD 15, Port Negotiation, eight
# 104-byte cookies, End of Message); TLS 1.2, another ALPN or none
# refused in the handshake; a client trusting another CA fails; Error
# records for a bad request and an unknown critical record; handshake and
# request deadlines; a stalled client never delays another; the session
# cap, the sessions per source and the per-source rate; sessions counted
# by result in /metrics; a certificate renewed on disk served after a
# reload while a session opened before it completes with the old one; NTS
# removed and added back by a reload; sessions run on the thread
# udpd-ntske, not on the main thread (the first worker); reloads while
# sessions run lose none.
. "$(dirname "$0")/../lib.sh"
need python3 openssl curl

"$UDPD" -V | grep -q 'NTS key exchange (libssl): OpenSSL' ||
	skip "udpd was built without the NTS key exchange"
"$UDPD" -V | grep -q 'NTS (AES-SIV-CMAC, Nettle): Nettle' ||
	skip "udpd was built without Nettle (NTS)"
KE="python3 $TESTS_DIR/nts/ke_client.py"
"$TESTS_DIR/nts/mkcerts.sh" "$TMP" server
"$TESTS_DIR/nts/mkcerts.sh" "$TMP" other

# conf FILE NTS_GROUP [RATE_LIMIT]
conf() {
	cat >"$1" <<CONF
daemon = { log_level = "debug";
  metrics = { listen = [ "127.0.0.1:0" ]; }; };
services = (
  { name = "ntp"; module = "time"; protocol = "sntp"; stratum = 10;
    listen = [ "127.0.0.1:0" ]; ${3:-}
    $2 }
);
CONF
}
NTS='nts = { listen = [ "127.0.0.1:0" ]; certificate = "server.pem";
      private_key = "server.key"; cookie_keys = "cookies.keys";
      ntp_port = 1234; };'
conf "$TMP/udpd.conf" "$NTS" 'rate_limit = { rate = 1000; burst = 1000; };'
"$UDPD" -t -c "$TMP/udpd.conf" 2>"$TMP/t.err" ||
	fail "udpd -t refused the config: $(cat "$TMP/t.err")"
[ ! -e "$TMP/cookies.keys" ] || fail "udpd -t made the cookie key file"
ok "udpd -t accepts the nts group and writes nothing"
# A key that is not the certificate's: exit 1, FILE:LINE naming the file.
sed 's/private_key = "server.key"/private_key = "other.key"/' \
	"$TMP/udpd.conf" >"$TMP/bad.conf"
rc=0; "$UDPD" -t -c "$TMP/bad.conf" 2>"$TMP/bad.err" || rc=$?
expect_eq "udpd -t refuses a key that does not match: exit 1" 1 "$rc"
grep -q "bad.conf:[0-9]*: private_key: .*other.key: private key does not match the certificate" \
	"$TMP/bad.err" || fail "udpd -t said: $(cat "$TMP/bad.err")"
ok "its message names the file and the line"

start_udpd "$TMP/udpd.conf"
kport() {
	local line
	line=$(grep "^@nts ntp 127" "$PORT_FILE" | head -n1)
	[ -n "$line" ] || return 1
	echo "${line##*:}"
}
P=$(kport) || fail "no NTS-KE port in $PORT_FILE"
[ "$(stat -c %a "$TMP/cookies.keys")" = 600 ] ||
	fail "cookie key file mode $(stat -c %a "$TMP/cookies.keys")"
ok "the cookie key file is made at start, mode 0600"

# A good exchange, the server verified against the test CA.
$KE "$P" --ca "$TMP/server-ca.pem" >"$TMP/r1" 2>"$TMP/r1.err" ||
	fail "exchange failed: $(cat "$TMP/r1.err")"
expect_eq "Next Protocol: NTPv4, critical" "1 1 0000" "$(sed -n 1p "$TMP/r1")"
expect_eq "AEAD: AES-SIV-CMAC-256" "4 1 000f" "$(sed -n 2p "$TMP/r1")"
expect_eq "Port Negotiation: ntp_port" "7 1 04d2" "$(sed -n 3p "$TMP/r1")"
expect_eq "eight New Cookie records" 8 "$(grep -c '^5 0 ' "$TMP/r1")"
expect_eq "every cookie is 104 bytes" 8 \
	"$(awk '$1 == 5 && length($3) == 208' "$TMP/r1" | wc -l)"
expect_eq "cookies differ" 8 "$(awk '$1 == 5 { print $3 }' "$TMP/r1" |
	sort -u | wc -l)"
expect_eq "End of Message last" "0 1 " "$(tail -n 1 "$TMP/r1")"

# Refusals in the handshake.
if echo | timeout 10 openssl s_client -connect "127.0.0.1:$P" -tls1_2 \
	-alpn ntske/1 >"$TMP/s12" 2>&1; then
	grep -q "Protocol  : TLSv1.2" "$TMP/s12" &&
		fail "openssl s_client -tls1_2 was served"
fi
grep -q "alert protocol version" "$TMP/s12" ||
	fail "TLS 1.2: no protocol_version alert: $(tail -3 "$TMP/s12")"
ok "openssl s_client -tls1_2 -alpn ntske/1 is refused"
rc=0; $KE "$P" --tls12 >/dev/null 2>&1 || rc=$?
expect_eq "TLS 1.2 from Python refused" 2 "$rc"
rc=0; $KE "$P" --alpn http/1.1 >/dev/null 2>"$TMP/alpn.err" || rc=$?
expect_eq "ALPN http/1.1 refused" 2 "$rc"
grep -q -i "no.application.protocol" "$TMP/alpn.err" ||
	fail "ALPN: no no_application_protocol alert: $(cat "$TMP/alpn.err")"
rc=0; $KE "$P" --alpn "" >/dev/null 2>&1 || rc=$?
expect_eq "no ALPN refused" 2 "$rc"
echo | timeout 10 openssl s_client -connect "127.0.0.1:$P" -alpn ntske/2 \
	>"$TMP/s2" 2>&1 && grep -q "ALPN protocol: ntske/2" "$TMP/s2" &&
	fail "ALPN ntske/2 was accepted"
ok "openssl s_client -alpn ntske/2 is refused"
rc=0; $KE "$P" --ca "$TMP/other-ca.pem" >/dev/null 2>&1 || rc=$?
expect_eq "a client trusting another CA fails" 2 "$rc"

# Error records.
$KE "$P" --request 80010002000080000000 >"$TMP/e1" 2>&1
expect_eq "NTPv4 without AEAD: Error 1 (bad request)" "2 1 0001" \
	"$(head -n 1 "$TMP/e1")"
$KE "$P" --request 80010002000080040002000fc0330000 >"$TMP/e2" 2>&1
expect_eq "unknown critical record: Error 0" "2 1 0000" \
	"$(head -n 1 "$TMP/e2")"
$KE "$P" --request "$(printf '0020%04x%02048d' 1024 0)" >"$TMP/e3" 2>&1
expect_eq "oversized request: Error 1" "2 1 0001" "$(head -n 1 "$TMP/e3")"
$KE "$P" --request 80010002000080040002000f800000000000 >"$TMP/e4" 2>&1
expect_eq "bytes after End of Message: Error 1" "2 1 0001" \
	"$(head -n 1 "$TMP/e4")"
# A non-critical unknown record is ignored.
$KE "$P" --request 800100020000444400010180040002000f80000000 \
	>"$TMP/e5" 2>&1
expect_eq "unknown non-critical record ignored" 8 \
	"$(grep -c '^5 0 ' "$TMP/e5")"

# Deadlines: a TCP client that never starts TLS, and a TLS client that
# never sends its request, are closed; meanwhile others are served.
python3 - "$P" >"$TMP/stall" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.monotonic()
s.settimeout(20)
d = s.recv(1)
print("closed after %.1f s" % (time.monotonic() - t), "with" if d else "no", "data")
PY
STALL=$!
mkfifo "$TMP/never"
$KE "$P" --hold "$TMP/never" >"$TMP/held" 2>&1 &
HELD=$!
start=$(date +%s%N)
$KE "$P" >"$TMP/r2" 2>&1 || fail "served nobody while clients stall"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 3000 ] || fail "a good client waited $ms ms behind stalled ones"
ok "stalled clients never delay another ($ms ms)"
wait "$STALL"
grep -q "^closed after [4-9]\.[0-9] s no data" "$TMP/stall" ||
	fail "handshake deadline: $(cat "$TMP/stall")"
ok "a client that never starts TLS is closed: $(cat "$TMP/stall")"
# Metrics: sessions by result.
scrape() {
	curl -sS --max-time 5 "http://127.0.0.1:$(metrics_port)/metrics"
}
count() {
	scrape | awk -v r="$1" '
	    $1 == "udpd_nts_ke_sessions_total{service=\"ntp\",result=\"" r "\"}" { print $2 }'
}
count_is() { [ "$(count "$1")" = "$2" ]; }
wait_until 10 count_is timeout 2 ||
	fail "timeout count $(count timeout), want 2"
ok "sessions that hit a deadline are counted (timeout 2)"
echo go >"$TMP/never"	# too late: the server has closed
rc=0; wait "$HELD" || rc=$?
expect_eq "a client that never sends its request gets nothing" 3 "$rc"
expect_eq "ok sessions counted" 3 "$(count ok)"
[ "$(count tls)" -ge 6 ] || fail "tls count $(count tls), want >= 6"
ok "refused handshakes are counted (tls $(count tls))"
expect_eq "bad requests counted" 4 "$(count bad_request)"

# Sessions run on a thread of their own, never on the main thread (which
# is the first worker, the only one here): 300 sessions put their CPU
# time on the thread named udpd-ntske, next to nothing on the main one.
# thread_ticks TID: its utime + stime in clock ticks.
thread_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' \
		"/proc/$UDPD_PID/task/$1/stat"
}
KT=
for t in /proc/"$UDPD_PID"/task/*; do
	[ "$(cat "$t/comm")" = udpd-ntske ] && KT=${t##*/}
done
[ -n "$KT" ] || fail "no thread named udpd-ntske: $(cat \
	/proc/"$UDPD_PID"/task/*/comm | tr '\n' ' ')"
ok "NTS-KE has a thread of its own (udpd-ntske, $KT)"
ke0=$(thread_ticks "$KT"); main0=$(thread_ticks "$UDPD_PID")
set -- $($KE "$P" --repeat 300 2>/dev/null)
expect_eq "300 sessions served" 300 "$(printf '%s\n' "$@" | head -n 300 |
	grep -cx 0)"
ke=$(($(thread_ticks "$KT") - ke0)); main=$(($(thread_ticks "$UDPD_PID") - main0))
[ "$ke" -ge 5 ] && [ $((main * 4)) -lt "$ke" ] ||
	fail "300 sessions cost udpd-ntske $ke ticks, the main thread $main"
ok "300 sessions ran on udpd-ntske ($ke ticks), not the main thread ($main)"

# hold PORT FILE N FIRST: N TCP connections that never start TLS, 16 from
# each source 127.0.0.FIRST, FIRST+1...; "ready" in FILE once all are
# open, held until FILE.done exists (30 s at most; the server's own
# handshake deadline closes them after 5 s).  (A session the server
# refused is closed at once.)
hold() {
	python3 - "$1" "$2" "$3" "$4" <<'PY' &
import os, socket, sys, time
port, n, first = int(sys.argv[1]), int(sys.argv[3]), int(sys.argv[4])
socks = [socket.create_connection(("127.0.0.1", port),
         source_address=("127.0.0.%d" % (first + i // 16), 0))
         for i in range(n)]
open(sys.argv[2], "w").write("ready\n")
deadline = time.monotonic() + 30
while not os.path.exists(sys.argv[2] + ".done") and time.monotonic() < deadline:
    time.sleep(0.02)
PY
}

# One source holds at most 16 sessions: the 17th is refused, while
# another source is served.
hold "$P" "$TMP/src" 16 7
SRC=$!
wait_until 10 test -s "$TMP/src" || fail "could not open 16 connections"
rc=0; $KE "$P" --source 127.0.0.7 >/dev/null 2>&1 || rc=$?
expect_eq "a 17th session from one source is refused" 2 "$rc"
$KE "$P" --source 127.0.0.8 >/dev/null 2>&1 ||
	fail "another source was refused beside a source at its cap"
ok "another source is served meanwhile"
touch "$TMP/src.done"
wait "$SRC"

# The session cap: 256 open sessions, the next one is closed at once.
hold "$P" "$TMP/cap" 256 10
CAP=$!
wait_until 10 test -s "$TMP/cap" || fail "could not open 256 connections"
rc=0; $KE "$P" --source 127.0.0.200 >/dev/null 2>&1 || rc=$?
expect_eq "past 256 open sessions a new one is refused" 2 "$rc"
touch "$TMP/cap.done"
wait "$CAP"
wait_until 10 sh -c "$KE $P >/dev/null 2>&1" ||
	fail "no session after the cap cleared"
ok "sessions are served again once the cap clears"
[ "$(count refused)" -ge 1 ] || fail "refused count $(count refused)"
ok "refused sessions are counted ($(count refused))"

# reload: SIGHUP, then waits for "reloaded" once more in the log.
reloads() { grep -c "reloaded" "$TMP/udpd.err"; }
reloads_above() { [ "$(reloads)" -gt "$1" ]; }
reload() {
	local n
	n=$(reloads)
	kill -HUP "$UDPD_PID"
	wait_until 10 reloads_above "$n" || fail "no reload ($1)"
}

# The per-source rate: the service's rate_limit (burst 2 here).
conf "$TMP/udpd.conf" "$NTS" 'rate_limit = { rate = 1; burst = 2; };'
reload "rate limit"
P=$(kport) || fail "no NTS-KE port after reload"
# Six sessions back to back from one client: the first two (the burst)
# are served, and no more are served than the bucket refilled in the time
# they took (1 a second), so a slow machine cannot make this fail.
set -- $($KE "$P" --repeat 6 2>/dev/null)
[ $# = 7 ] || fail "ke_client --repeat printed: $*"
[ "$1 $2" = "0 0" ] || fail "the burst was refused: $*"
served=0
for rc in "$1" "$2" "$3" "$4" "$5" "$6"; do
	[ "$rc" = 0 ] && served=$((served + 1))
	[ "$rc" = 0 ] || [ "$rc" = 2 ] || fail "session ended with $rc: $*"
done
refill=$(python3 -c 'import math, sys; print(math.ceil(float(sys.argv[1])))' "$7")
[ "$served" -le $((2 + refill)) ] ||
	fail "past the burst a source is refused: $served of 6 served in $7 s"
[ "$served" -lt 6 ] || [ "$refill" -ge 4 ] ||
	fail "past the burst a source is refused: 6 of 6 served in $7 s"
ok "past the burst a source is refused ($served of 6 served in $7 s)"
$KE "$P" --source 127.0.0.2 >/dev/null 2>&1 ||
	fail "another source was refused too"
ok "another source is served"

# A certificate renewed on disk: new sessions get it after a reload, a
# session opened before completes with the old one.
conf "$TMP/udpd.conf" "$NTS" 'rate_limit = { rate = 1000; burst = 1000; };'
reload "rate limit lifted"
P=$(kport) || fail "no NTS-KE port after reload"
old=$($KE "$P" --fingerprint | awk '$1 == "cert" { print $2 }')
[ -n "$old" ] || fail "no certificate from NTS-KE"
mkfifo "$TMP/go"
$KE "$P" --hold "$TMP/go" --fingerprint >"$TMP/inflight" 2>&1 &
INFLIGHT=$!
wait_until 5 grep -q "^cert $old" "$TMP/inflight" ||
	fail "the session to hold did not start: $(cat "$TMP/inflight")"
"$TESTS_DIR/nts/mkcerts.sh" "$TMP" renewed
cp "$TMP/renewed.pem" "$TMP/server.pem"
cp "$TMP/renewed.key" "$TMP/server.key"
reload "renewed certificate"
P=$(kport) || fail "no NTS-KE port after the renewal"
new=$($KE "$P" --fingerprint --ca "$TMP/renewed-ca.pem" |
	awk '$1 == "cert" { print $2 }')
[ -n "$new" ] && [ "$new" != "$old" ] ||
	fail "new sessions still get the old certificate"
ok "a certificate renewed on disk is served after a reload"
echo go >"$TMP/go"
wait "$INFLIGHT" || fail "the session in flight failed: $(cat "$TMP/inflight")"
expect_eq "the session opened before the reload completes" 8 \
	"$(grep -c '^5 0 ' "$TMP/inflight")"

# Reloads while sessions run: the NTS-KE thread is parked and let go
# each time, the listener kept (its address now fixed), no session lost.
P=$(kport)
conf "$TMP/udpd.conf" "${NTS/127.0.0.1:0/127.0.0.1:$P}" \
	'rate_limit = { rate = 1000; burst = 1000; };'
reload "a fixed NTS-KE port"
expect_eq "the NTS-KE listener is kept" "$P" "$(kport)"
$KE "$P" --repeat 60 >"$TMP/during" 2>/dev/null &
LOAD=$!
# Reload for as long as the client runs (at least 5 times, at most 40).
n=0
while [ "$n" -lt 5 ] || { kill -0 "$LOAD" 2>/dev/null && [ "$n" -lt 40 ]; }
do
	n=$((n + 1))
	reload "reload $n during sessions"
done
wait "$LOAD"
set -- $(cat "$TMP/during")
expect_eq "60 sessions across $n reloads, all served" 60 \
	"$(printf '%s\n' "$@" | head -n 60 | grep -cx 0)"

# NTS removed by a reload closes the listener; added back, it serves.
conf "$TMP/udpd.conf" ""
reload "NTS removed"
grep -q "^@nts" "$PORT_FILE" && fail "the port file still lists NTS-KE"
rc=0; $KE "$P" >/dev/null 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "NTS-KE still answers after NTS was removed"
ok "a reload removes NTS-KE"
conf "$TMP/udpd.conf" "$NTS"
reload "NTS added back"
kport >/dev/null || fail "no NTS-KE after adding it back"
$KE "$(kport)" >"$TMP/r3" 2>&1 || fail "NTS-KE added back does not serve"
expect_eq "a reload adds NTS-KE back" 8 "$(grep -c '^5 0 ' "$TMP/r3")"
expect_eq "its sessions are counted from 0 again" 1 "$(count ok)"

stop_udpd
expect_eq "udpd exits 0" 0 "$LAST_EXIT"
done_testing
