#!/bin/bash
# tests/fleet/chaos.sh - the chat room of a fleet under faults.
#
# Two udpd hosts behind the balancer (netns.sh) share a room on Redis: a
# primary with two replicas (appendfsync always, min-replicas-to-write 1)
# and three sentinels in the redis namespace; udpd finds the primary
# through the sentinels and acks with wait_replicas = 1.  Clients
# (chaos_client.py) post unique texts and retry each from its own socket
# until it is acked.  Under that load, one after another: the primary cut
# off from its replicas for a second, then killed with -9 (Sentinel
# promotes a replica; the old one comes back as a replica), SIGSTOP of
# the new primary for longer than timeout_ms, host1 cut off from Redis
# for 3 s, kill -9 of host1 (the balancer takes it out).  chaos_check.py
# then reads the room and checks that nothing acknowledged is lost or
# doubled and that acks resumed after each fault, above every seq acked
# before it.
#
# CHAOS_RETRY_WINDOW_MS and CHAOS_WAIT_REPLICAS override the settings
# (0 and 0 show that the check fails without them).  Needs root; every
# process is stopped by its PID, the namespaces are removed.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/redis.sh"
. "$TESTS_DIR/fleet/netns.sh"

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables)"
need ip nft conntrack python3 redis-server redis-cli
"$UDPD" -V | grep -q 'Redis (libhiredis): hiredis' ||
	skip "udpd is built without the Redis store"
RETRY_WINDOW_MS=${CHAOS_RETRY_WINDOW_MS:-10000}
WAIT_REPLICAS=${CHAOS_WAIT_REPLICAS:-1}
TIMEOUT_MS=300
DOWN_AFTER_MS=1000
DBIP=10.250.4.2
HOST_PID=()
CLIENT_PID=

chaos_cleanup() {
	local pid d
	[ -n "$CLIENT_PID" ] && kill -TERM "$CLIENT_PID" 2>/dev/null
	for pid in "${HOST_PID[@]}"; do
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	# every Redis at once (each takes a moment to exit), then waited for
	for d in "$TMP"/r? "$TMP"/s?; do
		[ -s "$d/redis.pid" ] || continue
		kill -CONT "$(cat "$d/redis.pid")" 2>/dev/null
		kill -TERM "$(cat "$d/redis.pid")" 2>/dev/null
	done
	for d in "$TMP"/r? "$TMP"/s?; do
		[ -d "$d" ] && redis_stop "$d"
	done
	netns_down
	cleanup
}
trap chaos_cleanup EXIT

# in_db FUNCTION ARGS...: a redis.sh function in the redis namespace.
in_db() {
	REDIS_BIND="127.0.0.1 $DBIP" in_ns "$DB" bash -c \
		". '$TESTS_DIR/redis.sh'; \"\$@\"" chaos "$@"
}

netns_up
ok "namespaces, veths and the balancer are up"

# The primary r1 and its replicas r2, r3; three sentinels.
redis_opts=(--min-replicas-to-write 1 --min-replicas-max-lag 5)
in_db redis_start "$TMP/r1" "${redis_opts[@]}" || fail "redis r1"
P1=$(cat "$TMP/r1/redis.port")
for r in r2 r3; do
	# over loopback (so that it can be cut alone), announced as $DBIP
	in_db redis_start "$TMP/$r" --replicaof 127.0.0.1 "$P1" \
		--replica-announce-ip "$DBIP" \
		"${redis_opts[@]}" || fail "redis $r"
done
wait_until 20 eval 'redis_synced "$TMP/r2" && redis_synced "$TMP/r3"' ||
	fail "the replicas did not sync"
for s in s1 s2 s3; do
	in_db sentinel_start "$TMP/$s" room "$DBIP" "$P1" \
		"sentinel down-after-milliseconds room $DOWN_AFTER_MS" \
		"sentinel failover-timeout room 2000" || fail "sentinel $s"
done
sentinels_ready() {
	local s
	for s in s1 s2 s3; do
		[ "$(redis_cli "$TMP/$s" SENTINEL sentinels room | grep -c '^name$')" = 2 ] &&
			[ "$(redis_cli "$TMP/$s" SENTINEL replicas room | grep -c '^name$')" = 2 ] ||
			return 1
	done
}
wait_until 20 sentinels_ready || fail "the sentinels did not see each other"
ok "redis primary :$P1, two replicas, three sentinels"

# primary_dir: the directory of the Redis the sentinels name as primary.
primary_dir() {
	local port d
	port=$(redis_cli "$TMP/s1" SENTINEL get-master-addr-by-name room | tail -n1)
	for d in "$TMP"/r?; do
		[ "$(cat "$d/redis.port")" = "$port" ] && echo "$d" && return 0
	done
	return 1
}

# The retry window, where this udpd has it.
retry_opt="retry_window_ms = $RETRY_WINDOW_MS;"
printf 'services = ({ name = "c"; module = "chat"; listen = [ "127.0.0.1:0" ];
  store = "redis"; redis = "127.0.0.1:1"; %s });\n' "$retry_opt" >"$TMP/t.conf"
if ! "$UDPD" -t -c "$TMP/t.conf" >/dev/null 2>&1; then
	echo "# this udpd has no retry_window_ms: retries may be stored twice"
	retry_opt=
fi

host() {
	local n=$1 ns=$2 dir="$TMP/host$1" list=() s
	mkdir -p "$dir"
	for s in s1 s2 s3; do
		list+=("\"$DBIP:$(cat "$TMP/$s/redis.port")\"")
	done
	cat >"$dir/udpd.conf" <<CONF
daemon = { workers = 2; log_level = "info"; };
services = (
  { name = "chat"; module = "chat"; listen = [ "*:6004" ]; rate_limit = false;
    store = "redis"; sentinels = [ $(IFS=,; echo "${list[*]}") ];
    master = "room"; key = "fleet"; wait_replicas = $WAIT_REPLICAS;
    timeout_ms = $TIMEOUT_MS; $retry_opt }
);
CONF
	ip netns exec "$ns" env UDPD_PORT_FILE="$dir/ports" "$UDPD" -f \
		-c "$dir/udpd.conf" 2>>"$TMP/udpd.err" >/dev/null &
	HOST_PID[n]=$!
	wait_until 5 test -s "$dir/ports" || fail "udpd on host$n did not start"
}
host 1 "$H1"
host 2 "$H2"
ok "udpd on host1 and host2 (wait_replicas = $WAIT_REPLICAS," \
	"retry_window_ms = $RETRY_WINDOW_MS, timeout_ms = $TIMEOUT_MS)"

# ip netns exec runs python in place: $! is the client, to stop by PID
ip netns exec "$CL" python3 "$TESTS_DIR/fleet/chaos_client.py" "$VIP" 6004 6 \
	"$TMP/events" "$TMP/acks" "$TMP/stop" &
CLIENT_PID=$!
acks() { cat "$TMP/acks" 2>/dev/null || echo 0; }
T0=$(date +%s)
took() { echo "$(($(date +%s) - T0)) s"; }
# acks_grow N: N more acks than when it was called, within 20 s.
acks_grow() {
	local want=$(($(acks) + $1))
	wait_until 20 eval '[ "$(acks)" -ge '"$want"' ]'
}
# fault NAME: the time it began (just done), for the checker.
fault() {
	echo "$1 $(date +%s.%N)" >>"$TMP/faults"
}
# check_room: stops the load, reads the room from the primary the
# sentinels name, and runs the checker on it.
check_room() {
	local d key="{fleet}"	# the room's stream, under its hash tag
	touch "$TMP/stop"
	wait "$CLIENT_PID"
	CLIENT_PID=
	d=$(primary_dir) || d=${old:-}
	[ "$(redis_cli "$d" TYPE "$key")" = stream ] || fail "no stream $key"
	redis_cli "$d" --raw XRANGE "$key" - + >"$TMP/stream"
	python3 "$TESTS_DIR/fleet/chaos_check.py" "$TMP/events" "$TMP/stream" \
		"$TMP/faults"
}
# resumed WHAT: 50 more acks, else the room is checked and the test fails.
resumed() {
	acks_grow 50 && return 0
	echo "# acks did not resume after $1; the room:"
	check_room
	fail "acks did not resume after $1"
}
acks_grow 100 || fail "no acks under no fault"
ok "load: $(acks) acks ($(took))"

# The primary loses its replicas for a second (it still takes writes:
# min-replicas-max-lag is 5 s), then dies: what it acked in that second
# without WAIT is lost with it.
old=$(primary_dir) || fail "no primary named"
in_ns "$DB" nft -f - <<NFT || fail "nft: cut the replication"
table ip chaos {
	chain output {
		type filter hook output priority filter; policy accept;
		ip daddr 127.0.0.1 tcp sport $P1 drop
	}
}
NFT
sleep 1		# the fault: the replication cut for 1 s
kill -KILL "$(cat "$old/redis.pid")"
fault kill-primary
redis_stop "$old" KILL		# waits until it is gone
new_primary() { d=$(primary_dir) && [ "$d" != "$old" ]; }
wait_until 20 new_primary || fail "no failover after kill -9 of the primary"
in_ns "$DB" nft delete table ip chaos
resumed "the failover"
# back, as a replica of the new primary (as Sentinel would make it)
in_db redis_launch "$old" "$(cat "$old/redis.port")" "${redis_opts[@]}" \
	--replicaof "$DBIP" "$(cat "$d/redis.port")" ||
	fail "the old primary did not restart"
wait_until 20 redis_synced "$old" || fail "the old primary is no replica"
ok "replication cut 1 s, then kill -9 of the primary: $(basename "$d") promoted; $(acks) acks ($(took))"

frozen=$(primary_dir)
kill -STOP "$(cat "$frozen/redis.pid")"
fault freeze-primary
sleep 0.8	# the fault: frozen past timeout_ms, short of a failover
kill -CONT "$(cat "$frozen/redis.pid")"
resumed "the freeze"
ok "primary frozen 0.8 s; $(acks) acks ($(took))"

netns_cut 10.250.2.2 10.250.4.0/24 || fail "nft: cut"
fault cut-host1
sleep 3		# the fault: host1 cut off from Redis for 3 s
netns_uncut
resumed "the cut"
ok "host1 cut off from Redis for 3 s; $(acks) acks ($(took))"

kill -KILL "${HOST_PID[1]}"
fault kill-host1
wait "${HOST_PID[1]}" 2>/dev/null
HOST_PID[1]=
balance 10.250.3.2
# host1's flows go to host2 now (the same source ports: the same messages)
in_ns "$LB" conntrack -D --reply-src 10.250.2.2 >/dev/null 2>&1
resumed "host1 died"
ok "kill -9 of host1: host2 serves; $(acks) acks ($(took))"

check_room || fail "the room does not hold what was acknowledged"
ok "every ack is in the room once, no text twice, acks resumed after each fault"
kill -TERM "${HOST_PID[2]}"
wait "${HOST_PID[2]}" || fail "udpd on host2 exited $? on TERM"
HOST_PID[2]=
grep -q -e "ERROR: AddressSanitizer" -e "ERROR: LeakSanitizer" \
	-e "runtime error:" -e "WARNING: ThreadSanitizer" "$TMP/udpd.err" &&
	fail "sanitizer report in udpd's stderr"
done_testing
