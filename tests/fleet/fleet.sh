#!/bin/bash
# tests/fleet/fleet.sh - several udpd hosts behind one virtual address.
#
# Network namespaces are the machines (netns.sh): a client, a balancer
# that spreads new flows to the virtual address 10.250.0.10 over host1 and
# host2 (nftables numgen DNAT), and Redis in its own namespace.  Both
# hosts run udpd: greet names the host, chat is the room on that Redis.
# Checked: replies come from the virtual address, both hosts serve, one
# chat room with one gap-free sequence, and when one host is killed (and
# the balancer's health check takes it out) the other goes on with the
# room.
#
# Only addresses inside namespaces this test made, none linked to the
# host's network; everything is torn down at the end.  Needs root.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/redis.sh"
. "$TESTS_DIR/fleet/netns.sh"

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables)"
need ip nft nc python3
HOST_PID=()

fleet_cleanup() {
	local pid
	for pid in "${HOST_PID[@]}"; do
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	[ -d "$TMP/redis" ] && redis_stop "$TMP/redis"
	netns_down
	cleanup
}
trap fleet_cleanup EXIT

netns_up
ok "namespaces, veths and the balancer are up"

# The chat room on Redis needs udpd built with libhiredis.
have_redis=no
if "$UDPD" -V | grep -q 'Redis (libhiredis): hiredis' &&
	command -v redis-server >/dev/null; then
	have_redis=yes
	REDIS_BIND="127.0.0.1 10.250.4.2" in_ns "$DB" bash -c \
		". '$TESTS_DIR/redis.sh'; redis_start '$TMP/redis'" ||
		fail "redis-server in its namespace"
	REDIS_PORT=$(cat "$TMP/redis/redis.port")
	ok "redis-server on 10.250.4.2:$REDIS_PORT"
fi

# host N NAME: udpd in NAME's namespace; greet names the host, chat is
# the shared room (on Redis when there is one).
host() {
	local n=$1 ns=$2 dir="$TMP/host$1" chat
	mkdir -p "$dir"
	chat="log_file = \"chat.log\";"
	[ "$have_redis" = yes ] &&
		chat="store = \"redis\"; redis = \"10.250.4.2:$REDIS_PORT\"; key = \"fleet\";"
	cat >"$dir/udpd.conf" <<CONF
daemon = { workers = 2; };
services = (
  { name = "greet"; module = "greet"; listen = [ "*:6000" ];
    greeting = "host$n: Hello %s!"; rate_limit = false; },
  { name = "chat"; module = "chat"; listen = [ "*:6004" ]; $chat
    rate_limit = false; }
);
CONF
	# ip netns exec and env exec: $! is udpd itself, to be killed by PID
	ip netns exec "$ns" env UDPD_PORT_FILE="$dir/ports" "$UDPD" -f \
		-c "$dir/udpd.conf" 2>>"$TMP/udpd.err" >/dev/null &
	HOST_PID[n]=$!
	for _ in $(seq 1 100); do
		[ -s "$dir/ports" ] && return 0
		kill -0 "${HOST_PID[n]}" 2>/dev/null || fail "udpd on host$n exited"
		sleep 0.05
	done
	fail "udpd on host$n did not start"
}
host 1 "$H1"
host 2 "$H2"
ok "udpd runs on host1 and host2"

# vip PORT: each line of stdin as one datagram from the client to the
# virtual address, each from a new socket (a new source port: a new flow
# for the balancer); prints one line per reply ("TIMEOUT" if none in 2 s).
# The sockets are connected to the virtual address: a reply from any other
# source is not read.
vip() {
	in_ns "$CL" python3 -c '
import socket, sys
for line in sys.stdin.buffer:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    s.connect((sys.argv[1], int(sys.argv[2])))
    s.send(line)
    try:
        sys.stdout.buffer.write(s.recv(65535))
    except socket.timeout:
        sys.stdout.buffer.write(b"TIMEOUT\n")
    sys.stdout.flush()
    s.close()' "$VIP" "$1"
}

# The virtual address answers, and both hosts are behind it.
seen1=0
seen2=0
i=0
while IFS= read -r reply; do
	i=$((i + 1))
	case $reply in
	"host1: Hello c$i!") seen1=$((seen1 + 1)) ;;
	"host2: Hello c$i!") seen2=$((seen2 + 1)) ;;
	*) fail "greet through $VIP: got $(printf '%q' "$reply")" ;;
	esac
done < <(seq 1 8 | sed 's/^/c/' | vip 6000)
[ "$i" = 8 ] || fail "$i replies of 8"
[ "$seen1" -gt 0 ] && [ "$seen2" -gt 0 ] ||
	fail "one host got everything (host1 $seen1, host2 $seen2)"
ok "8 greetings through $VIP, replies from it, host1 $seen1 and host2 $seen2"

if [ "$have_redis" != yes ]; then
	echo "# no Redis store built in (or no redis-server): the chat room part is skipped"
	done_testing
	exit 0
fi

# One room: interleaved posts through the virtual address (both hosts)
# get one gap-free sequence.
got=$(seq 1 20 | sed 's/^/msg /' | vip 6004)
[ "$got" = "$(seq 1 20 | sed 's/^/ok /')" ] ||
	fail "20 posts through $VIP: $(printf '%q' "$got")"
ok "20 posts through $VIP: ok 1 .. ok 20, in order"
[ "$(in_ns "$DB" redis-cli -s "$TMP/redis/redis.sock" XLEN "{fleet}")" = 20 ] ||
	fail "the stream does not hold 20 entries"
hist=$(printf '/history 2\n' | vip 6004)
printf '%s\n' "$hist" | grep -q '^19 .* 10\.250\.1\.2:[0-9]* msg 19$' &&
	printf '%s\n' "$hist" | grep -q '^20 .* 10\.250\.1\.2:[0-9]* msg 20$' ||
	fail "/history 2: $(printf '%q' "$hist")"
ok "/history through either host reads the one room"

# host1 dies; the balancer's health check takes it out; host2 goes on.
kill -KILL "${HOST_PID[1]}"
wait "${HOST_PID[1]}" 2>/dev/null
kill -0 "${HOST_PID[1]}" 2>/dev/null && fail "udpd on host1 survived kill -9"
HOST_PID[1]=
balance 10.250.3.2
got=$(seq 21 25 | sed 's/^/after /' | vip 6004)
[ "$got" = "$(seq 21 25 | sed 's/^/ok /')" ] ||
	fail "after host1 died: $(printf '%q' "$got")"
ok "host1 killed: host2 serves the same room (ok 21 .. ok 25)"
done_testing
