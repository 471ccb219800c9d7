#!/bin/bash
# One spoofed datagram between two udpd hosts must not start an endless
# exchange (SPEC 6, issue 14 item 3).  Host A (127.0.0.1) and host B
# (127.0.0.2) run the same configuration, on ports the kernel picks, so
# neither knows the other's ports (the loop guard cannot help).  A raw
# socket sends A's service one datagram that claims to come from B's
# service; the two then answer each other until a per-source rate limit
# drops one datagram.  The test counts the datagrams each side received
# (the SIGUSR1 counters) once the exchange stopped, and fails when it does
# not stop.  Twice: with the shipped udpd.conf (ports and paths rewritten)
# and with a config that sets no rate_limit (the defaults); then A against
# a peer that reflects everything and limits nothing.
. "$(dirname "$0")/../lib.sh"
need python3
[ "$(id -u)" = 0 ] || skip "needs root: a raw socket spoofs the source"
python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)' \
	2>/dev/null || skip "no raw socket (CAP_NET_RAW)"
srcdir=$(cd "$TESTS_DIR/.." && pwd)
PID_A= PID_B= PEER_PID=
stop_all() {
	local p
	for p in $PID_A $PID_B $PEER_PID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	cleanup
}
trap stop_all EXIT
BOUND=300	# datagrams a loop may cost, both sides together

# shipped_on ADDR: etc/udpd.conf on ADDR, ports 0, the chat log here.
shipped_on() {
	sed -e "s/127\.0\.0\.1:60[0-9][0-9]/$1:0/g" -e 's/\[::1\]:60[0-9][0-9]/[::1]:0/g' \
		-e 's|/var/lib/udpd/chat.log|chat.log|' "$srcdir/etc/udpd.conf"
}

# defaults_on ADDR: the looping services with no rate_limit written.
defaults_on() {
	cat <<CONF
services = (
  { name = "echo"; module = "echo"; listen = [ "$1:0" ]; },
  { name = "upper"; module = "upper"; listen = [ "$1:0" ]; },
  { name = "greet"; module = "greet"; listen = [ "$1:0" ]; },
  { name = "chat"; module = "chat"; listen = [ "$1:0" ]; log_file = "chat.log"; },
  { name = "length"; module = "length"; listen = [ "$1:0" ]; },
  { name = "time"; module = "time"; listen = [ "$1:0" ]; utc = true; },
  { name = "daytime"; module = "time"; protocol = "daytime"; listen = [ "$1:0" ]; },
  { name = "rfc868"; module = "time"; protocol = "rfc868"; listen = [ "$1:0" ]; },
  { name = "stats"; module = "stats"; listen = [ "$1:0" ]; }
);
CONF
}

# start HOST: one udpd with $TMP/HOST/udpd.conf, its pid in PID_HOST.
start() {
	local d=$TMP/$1
	rm -f "$d/ports"
	UDPD_PORT_FILE=$d/ports "$UDPD" -f -c "$d/udpd.conf" 2>"$d/err" &
	eval "PID_$1=$!"
	wait_until 10 test -s "$d/ports" || fail "udpd $1 did not start: $(cat "$d/err")"
}

stop() {
	local pid
	eval "pid=\$PID_$1; PID_$1="
	kill "$pid" 2>/dev/null && wait "$pid"
	# In the sanitizer build any report fails the test.
	if grep -q -e "ERROR: AddressSanitizer" -e "ERROR: LeakSanitizer" \
		-e "runtime error:" "$TMP/$1/err"; then
		fail "sanitizer report from udpd $1: $(grep -m3 -e ERROR -e "runtime error" "$TMP/$1/err")"
	fi
}

# portof HOST SERVICE
portof() {
	local line
	line=$(grep "^$2 [0-9]" "$TMP/$1/ports" | head -n1)
	[ -n "$line" ] || fail "no port for $2 on $1"
	echo "${line##*:}"
}

# stat_lines HOST SERVICE: how many SIGUSR1 lines HOST logged for SERVICE.
stat_lines() {
	grep -c "stats $2 (" "$TMP/$1/err"
}

# more_lines HOST SERVICE N: true once there are more than N such lines.
more_lines() {
	[ "$(stat_lines "$1" "$2")" -gt "$3" ]
}

# counters HOST SERVICE: sets COUNTS to "requests rate loop" from a fresh
# SIGUSR1 line.  (No command substitution: fail must end the test.)
counters() {
	local pid n
	eval "pid=\$PID_$1"
	n=$(stat_lines "$1" "$2")
	kill -USR1 "$pid"
	wait_until 5 more_lines "$1" "$2" "$n" || fail "no SIGUSR1 counters from $1"
	COUNTS=$(grep "stats $2 (" "$TMP/$1/err" | tail -n1 |
		sed -E 's/.*requests ([0-9]+) .* rate ([0-9]+) .* loop ([0-9]+) .*/\1 \2 \3/')
}

# spoof SRC SPORT DST DPORT PAYLOAD: one UDP datagram with a forged source.
spoof() {
	python3 - "$@" <<'PY'
import socket, struct, sys
src, sport, dst, dport, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5].encode()
udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                 socket.inet_aton(src), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + udp, (dst, 0))
PY
}

# settle LABEL HOST SERVICE [HOST2 SERVICE2]: waits until no count moves
# for 0.3 s (deadline 15 s, then the test fails); sets TOTAL to
# the requests and CUT to the rate and loop drops, summed.
settle() {
	local label=$1 prev= now deadline=$((SECONDS + 15))
	shift
	while :; do
		counters "$1" "$2"; now=$COUNTS
		if [ $# -gt 2 ]; then counters "$3" "$4"; now="$now $COUNTS"; fi
		[ "$now" = "$prev" ] && break
		[ $SECONDS -lt $deadline ] ||
			fail "$label: the exchange still runs after 15 s ($now)"
		prev=$now
		sleep 0.3	# a loop makes thousands of exchanges in this time
	done
	set -- $now 0 0 0
	TOTAL=$(($1 + $4)); CUT=$(($2 + $3 + $5 + $6))
}

# loop_case LABEL SVC_A SVC_B PAYLOAD: spoof B:SVC_B -> A:SVC_A and count.
loop_case() {
	local pa pb total0 cut0
	pa=$(portof A "$2"); pb=$(portof B "$3")
	# The previous case ended: these counts stand still.
	counters A "$2"; set -- "$@" $COUNTS
	counters B "$3"; set -- "$@" $COUNTS
	total0=$(($5 + $8)); cut0=$(($6 + $7 + $9 + ${10}))
	spoof 127.0.0.2 "$pb" 127.0.0.1 "$pa" "$4"
	settle "$1" A "$2" B "$3"
	TOTAL=$((TOTAL - total0)); CUT=$((CUT - cut0))
	[ "$TOTAL" -le "$BOUND" ] || fail "$1: $TOTAL datagrams (bound $BOUND)"
	[ "$TOTAL" -ge 3 ] || fail "$1: the spoofed datagram started no exchange ($TOTAL)"
	[ "$CUT" -ge 1 ] || fail "$1: it stopped with no drop"
	ok "$1: ended by itself after $TOTAL datagrams"
}

run_pairs() {
	loop_case "$1 echo <-> echo" echo echo "ping"
	loop_case "$1 upper <-> upper" upper upper "ping"
	loop_case "$1 greet <-> greet" greet greet "x"
	loop_case "$1 chat <-> chat" chat chat "hello"
	loop_case "$1 length <-> length" length length "x"
	loop_case "$1 time <-> time" time time "%Y"
	loop_case "$1 daytime <-> daytime" daytime daytime ""
	loop_case "$1 rfc868 <-> rfc868" rfc868 rfc868 ""
	loop_case "$1 echo <-> chat" echo chat "hi"
	loop_case "$1 stats <-> stats" stats stats ""
}

mkdir -p "$TMP/A" "$TMP/B"
shipped_on 127.0.0.1 >"$TMP/A/udpd.conf"; start A
shipped_on 127.0.0.2 >"$TMP/B/udpd.conf"; start B
run_pairs "shipped:"
stop A; stop B

defaults_on 127.0.0.1 >"$TMP/A/udpd.conf"; start A
defaults_on 127.0.0.2 >"$TMP/B/udpd.conf"; start B
run_pairs "defaults:"
stop B

# A against a peer that reflects everything, with no limit of its own.
rm -f "$TMP/peer.port"
python3 - "$TMP/peer.port" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.3", 0))
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(20)
try:
    while True:
        data, peer = s.recvfrom(65536)
        s.sendto(data, peer)
except socket.timeout:
    pass
PY
PEER_PID=$!
wait_until 10 test -s "$TMP/peer.port" || fail "reflecting peer did not start"
pp=$(cat "$TMP/peer.port")
pa=$(portof A upper)
counters A upper; total0=${COUNTS%% *}
spoof 127.0.0.3 "$pp" 127.0.0.1 "$pa" "ping"
settle "udpd <-> reflecting peer" A upper
kill "$PEER_PID" 2>/dev/null; wait "$PEER_PID" 2>/dev/null; PEER_PID=
n=$((TOTAL - total0))
[ "$n" -ge 2 ] && [ "$n" -le "$BOUND" ] || fail "udpd <-> reflecting peer: $n datagrams at udpd"
ok "udpd upper <-> a reflecting peer: ended after $n datagrams at udpd"
stop A
done_testing
