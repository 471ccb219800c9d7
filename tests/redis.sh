#!/bin/bash
# tests/redis.sh - a private redis-server for the tests, never the system's.
#
# Sourced (bash):  redis_start DIR [redis-server options...]
#                  redis_stop DIR [SIGNAL]     redis_cli DIR args...
#                  sentinel_start DIR NAME HOST PORT [config lines...]
#                  sentinel_restart DIR
#                  redis_role DIR   redis_synced DIR
# Run:             tests/redis.sh start|stop|restart DIR [options...]
#
# The server lives in DIR: its unix socket DIR/redis.sock (mode 700), its
# AOF (appendonly, appendfsync always: an ack is on disk), no RDB
# snapshots, its log DIR/redis.log, and a TCP port on 127.0.0.1 only,
# written to DIR/redis.port.  It is started and stopped by the PID in
# DIR/redis.pid, and waited for by polling PING, never by sleeping.
# A restart keeps the port and the AOF: the same Redis, back again.
# REDIS_BIND (default 127.0.0.1) adds addresses of a network namespace
# the test made (tests/fleet), never of the host's network.

# A free TCP port on 127.0.0.1 (the kernel's choice; redis-server gets it
# a moment later, and a lost race is retried by redis_start).
redis_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# redis_wait DIR: polls PING for up to 10 s; 1 if the server died or
# never answered.
redis_wait() {
	local dir=$1 pid i
	pid=$(cat "$dir/redis.pid")
	for i in $(seq 1 200); do
		# NOAUTH: up, with a password (requirepass)
		if redis-cli -s "$dir/redis.sock" ping 2>/dev/null |
			grep -q -e PONG -e NOAUTH; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# redis_launch DIR PORT [options...]: one attempt.
redis_launch() {
	local dir=$1 port=$2
	shift 2
	# shellcheck disable=SC2086 # one word per address
	redis-server --bind ${REDIS_BIND:-127.0.0.1} --port "$port" \
		--unixsocket "$dir/redis.sock" --unixsocketperm 700 \
		--dir "$dir" --appendonly yes --appendfsync always --save '' \
		--daemonize no --protected-mode no --logfile "$dir/redis.log" \
		--shutdown-timeout 0 \
		"$@" </dev/null >/dev/null 2>&1 &
	echo $! >"$dir/redis.pid"
	echo "$port" >"$dir/redis.port"
	redis_wait "$dir"
}

# redis_start DIR [options...]: a new server on a fresh port; its extra
# options are kept in DIR/redis.args for a restart.
redis_start() {
	local dir=$1 try
	shift
	command -v redis-server >/dev/null 2>&1 || return 2
	mkdir -p "$dir"
	: >"$dir/redis.args"
	[ $# -eq 0 ] || printf '%s\n' "$@" >"$dir/redis.args"
	for try in 1 2 3 4 5; do
		redis_launch "$dir" "$(redis_free_port)" "$@" && return 0
		redis_stop "$dir" KILL
	done
	echo "redis.sh: redis-server did not start; its log:" >&2
	tail -n 20 "$dir/redis.log" >&2
	return 1
}

# redis_restart DIR: the same port, options and AOF as before.
redis_restart() {
	local dir=$1 args=()
	[ -s "$dir/redis.args" ] && mapfile -t args <"$dir/redis.args"
	redis_launch "$dir" "$(cat "$dir/redis.port")" "${args[@]}"
}

# redis_stop DIR [SIGNAL]: signals the PID and polls until it is gone.
redis_stop() {
	local dir=$1 sig=${2:-TERM} pid i
	[ -s "$dir/redis.pid" ] || return 0
	pid=$(cat "$dir/redis.pid")
	kill -"$sig" "$pid" 2>/dev/null
	for i in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	rm -f "$dir/redis.pid"
	return 0
}

# redis_cli DIR args...: redis-cli on the private socket.
redis_cli() {
	local dir=$1
	shift
	redis-cli -s "$dir/redis.sock" "$@"
}

# A replica is redis_start DIR --replicaof HOST PORT.
# redis_role DIR: "master" or "slave" (nothing if it does not answer).
redis_role() {
	redis_cli "$1" ROLE 2>/dev/null | head -n1
}

# redis_synced DIR: the replica in DIR has its link to the primary up.
redis_synced() {
	redis_cli "$1" INFO replication 2>/dev/null |
		grep -q '^master_link_status:up'
}

# sentinel_launch DIR PORT NAME HOST PORT [config lines...]: one attempt.
# Sentinel rewrites its config file, so each attempt writes a new one.
sentinel_launch() {
	local dir=$1 port=$2 name=$3 host=$4 pport=$5 line
	shift 5
	{
		echo "port $port"
		echo "bind ${REDIS_BIND:-127.0.0.1}"
		echo "unixsocket $dir/redis.sock"
		echo "unixsocketperm 700"
		echo "dir $dir"
		echo "logfile $dir/redis.log"
		echo "protected-mode no"
		echo "sentinel monitor $name $host $pport 2"
		for line in "$@"; do
			echo "$line"
		done
	} >"$dir/sentinel.conf"
	redis-server "$dir/sentinel.conf" --sentinel \
		</dev/null >/dev/null 2>&1 &
	echo $! >"$dir/redis.pid"
	echo "$port" >"$dir/redis.port"
	redis_wait "$dir"
}

# sentinel_restart DIR: the sentinel again, on its port, with the state
# it wrote into its config.
sentinel_restart() {
	local dir=$1
	redis-server "$dir/sentinel.conf" --sentinel </dev/null >/dev/null 2>&1 &
	echo $! >"$dir/redis.pid"
	redis_wait "$dir"
}

# sentinel_start DIR NAME HOST PORT [config lines...]: a Redis Sentinel
# (quorum 2) watching the primary HOST:PORT as NAME, on a fresh port in
# DIR/redis.port, its PID in DIR/redis.pid: redis_stop stops it.  The
# lines are added to its config ("sentinel down-after-milliseconds ...").
sentinel_start() {
	local dir=$1 try
	shift
	command -v redis-server >/dev/null 2>&1 || return 2
	mkdir -p "$dir"
	for try in 1 2 3 4 5; do
		sentinel_launch "$dir" "$(redis_free_port)" "$@" && return 0
		redis_stop "$dir" KILL
	done
	echo "redis.sh: redis-server --sentinel did not start; its log:" >&2
	tail -n 20 "$dir/redis.log" >&2
	return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cmd=${1:-}
	shift || true
	case $cmd in
	start) redis_start "$@" ;;
	stop) redis_stop "$@" ;;
	restart) redis_restart "$@" ;;
	*) echo "usage: $0 start|stop|restart DIR [options...]" >&2; exit 2 ;;
	esac
fi
