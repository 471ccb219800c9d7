#!/bin/bash
# NTS (RFC 8915) judged by a real client, chronyd -Q (measures, never sets
# the clock), on private loopback ports: with NTS-KE on udpd and the test
# CA it gets the time; trusting another CA it does not; its cookies saved
# (ntsdumpdir) still get the time after udpd restarted with NTS-KE gone,
# and no longer with new cookie keys; a fleet: NTS-KE on one udpd sends
# the client to a second udpd (ntp_port) that shares the cookie key file
# and serves it, and refuses it with a key file of its own; a reload that
# names the NTS-KE port the kernel chose keeps its socket.
. "$(dirname "$0")/../lib.sh"
need python3 openssl chronyd

"$UDPD" -V | grep -q 'NTS key exchange (libssl): OpenSSL' ||
	skip "udpd was built without the NTS key exchange"
"$UDPD" -V | grep -q 'NTS (AES-SIV-CMAC, Nettle): Nettle' ||
	skip "udpd was built without Nettle (NTS)"
"$TESTS_DIR/nts/mkcerts.sh" "$TMP" server
"$TESTS_DIR/nts/mkcerts.sh" "$TMP" other

B_PID=
CHRONY_PID=
nts_cleanup() {
	[ -n "$CHRONY_PID" ] && kill "$CHRONY_PID" 2>/dev/null
	if [ -n "$B_PID" ]; then
		kill "$B_PID" 2>/dev/null
		wait "$B_PID" 2>/dev/null
	fi
	cleanup
}
trap nts_cleanup EXIT

# conf FILE NTP_LISTEN NTS_GROUP: the SNTP service and a stats service.
conf() {
	cat >"$1" <<CONF
daemon = { log_level = "debug"; };
services = (
  { name = "ntp"; module = "time"; protocol = "sntp"; stratum = 10;
    listen = [ "$2" ];
    $3 },
  { name = "stats"; module = "stats"; listen = [ "127.0.0.1:0" ]; }
);
CONF
}
# replies PORTFILE: the replies of service ntp, from its stats service.
replies() {
	local sp
	sp=$(grep "^stats 127" "$1" | sed 's/.*://')
	printf x | nc -u -w1 127.0.0.1 "$sp" | python3 -c '
import json, sys
print(json.load(sys.stdin)["services"]["ntp"]["replies"])'
}
KE_A="nts = { listen = [ \"127.0.0.1:0\" ]; certificate = \"server.pem\";
      private_key = \"server.key\"; cookie_keys = \"a.keys\"; };"

# chrony NAME NTP_PORT KE_PORT CA [DUMPDIR]: chronyd -Q with a private
# config; 0 when it measured the clock.
chrony() {
	local name=$1
	cat >"$TMP/$name.conf" <<EOF
server 127.0.0.1 port $2 nts ntsport $3 iburst minpoll -6 maxpoll -6
ntstrustedcerts $4
${5:+ntsdumpdir $5}
cmdport 0
pidfile $TMP/$name.pid
EOF
	chronyd -Q -d -u root -f "$TMP/$name.conf" -t 10 >"$TMP/$name.out" 2>&1 &
	CHRONY_PID=$!
	wait "$CHRONY_PID"
	CHRONY_PID=
	grep -q 'System clock wrong by .* (ignored)' "$TMP/$name.out"
}

conf "$TMP/a.conf" "127.0.0.1:0" "$KE_A"
start_udpd "$TMP/a.conf"
P=$(port ntp)
K=$(grep "^@nts ntp 127" "$PORT_FILE" | sed 's/.*://')
[ -n "$K" ] || fail "no NTS-KE port in $PORT_FILE"

mkdir -p "$TMP/dump"
chrony good "$P" "$K" "$TMP/server-ca.pem" "$TMP/dump" ||
	fail "chronyd with NTS: $(cat "$TMP/good.out")"
ok "chronyd -Q gets the time over NTS"
ls "$TMP/dump"/*.nts >/dev/null 2>&1 || fail "chronyd saved no cookies"
ok "chronyd saved its NTS cookies"
cp -a "$TMP/dump" "$TMP/dump-saved"

chrony other "$P" "$K" "$TMP/other-ca.pem" &&
	fail "chronyd trusting another CA got the time"
ok "chronyd trusting another CA gets nothing"

# Restart with the same cookie keys and no NTS-KE: the saved cookies work.
stop_udpd
conf "$TMP/a.conf" "127.0.0.1:$P" 'nts = { cookie_keys = "a.keys"; };'
start_udpd "$TMP/a.conf"
grep -q "^@nts" "$PORT_FILE" && fail "NTS-KE still listens"
grep -qx udpd-ntske /proc/"$UDPD_PID"/task/*/comm &&
	fail "no NTS-KE listener, yet an NTS-KE thread runs"
ok "no NTS-KE listener, no NTS-KE thread"
cp -a "$TMP/dump-saved" "$TMP/dump1"
chrony restart "$P" "$K" "$TMP/server-ca.pem" "$TMP/dump1" ||
	fail "saved cookies after a restart: $(cat "$TMP/restart.out")"
ok "cookies saved before a restart get the time, NTS-KE unreachable"

# New cookie keys: the saved cookies are refused.
stop_udpd
conf "$TMP/a.conf" "127.0.0.1:$P" 'nts = { cookie_keys = "new.keys"; };'
start_udpd "$TMP/a.conf"
cp -a "$TMP/dump-saved" "$TMP/dump2"
chrony newkeys "$P" "$K" "$TMP/server-ca.pem" "$TMP/dump2" &&
	fail "cookies of old keys got the time"
ok "with new cookie keys the saved cookies get nothing"
stop_udpd

# A fleet: B serves NTP only, sharing A's cookie key file; A's NTS-KE
# sends clients to B's port.
start_b() {	# start_b KEYFILE: udpd B, its NTP port in PB
	conf "$TMP/b.conf" "127.0.0.1:0" "nts = { cookie_keys = \"$1\"; };"
	rm -f "$TMP/b.ports"
	UDPD_PORT_FILE=$TMP/b.ports "$UDPD" -f -c "$TMP/b.conf" \
		2>>"$TMP/b.err" &
	B_PID=$!
	wait_until 5 test -s "$TMP/b.ports" || fail "udpd B did not start"
	PB=$(grep "^ntp 127" "$TMP/b.ports" | sed 's/.*://')
}
stop_b() {
	kill "$B_PID"
	wait "$B_PID" || fail "udpd B exited $?"
	B_PID=
	! grep -q -e "ERROR: AddressSanitizer" -e "runtime error:" \
		"$TMP/b.err" || fail "sanitizer report from udpd B"
}
start_b a.keys
conf "$TMP/a.conf" "127.0.0.1:0" "nts = { listen = [ \"127.0.0.1:0\" ];
      certificate = \"server.pem\"; private_key = \"server.key\";
      cookie_keys = \"a.keys\"; ntp_port = $PB; };"
start_udpd "$TMP/a.conf"
P=$(port ntp)
K=$(grep "^@nts ntp 127" "$PORT_FILE" | sed 's/.*://')
chrony fleet "$P" "$K" "$TMP/server-ca.pem" ||
	fail "fleet: $(cat "$TMP/fleet.out")"
expect_eq "A answered no NTP request" 0 "$(replies "$PORT_FILE")"
[ "$(replies "$TMP/b.ports")" -gt 0 ] || fail "B answered nothing"
ok "NTS-KE on A sends chronyd to B, which shares the key file"
stop_b

start_b b.keys
# A reload that names the NTS-KE port the kernel chose keeps that socket.
conf "$TMP/a.conf" "127.0.0.1:0" "nts = { listen = [ \"127.0.0.1:$K\" ];
      certificate = \"server.pem\"; private_key = \"server.key\";
      cookie_keys = \"a.keys\"; ntp_port = $PB; };"
n=$(grep -c reloaded "$TMP/udpd.err")
kill -HUP "$UDPD_PID"
reloaded() { [ "$(grep -c reloaded "$TMP/udpd.err")" -gt "$n" ]; }
wait_until 10 reloaded || fail "A did not reload"
grep -q "^@nts ntp 127.0.0.1:$K\$" "$PORT_FILE" || fail "NTS-KE moved"
chrony fleet2 "$P" "$K" "$TMP/server-ca.pem" &&
	fail "B with its own key file served A's cookies"
ok "B with a key file of its own refuses A's cookies"
stop_b

stop_udpd
expect_eq "udpd exits 0" 0 "$LAST_EXIT"
done_testing
