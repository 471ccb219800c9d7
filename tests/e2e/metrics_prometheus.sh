#!/bin/bash
# A real Prometheus scrapes udpd (SPEC section 8): started by this test on a
# private port of 127.0.0.1 with its own config and data directory, stopped
# by its PID.  Its HTTP query API must return the values udpd counted, the
# target must be up, and the README's example queries must run.
. "$(dirname "$0")/../lib.sh"
need python3 curl prometheus

PROM_PID=
stop_prometheus() {
	[ -n "$PROM_PID" ] || return 0
	kill "$PROM_PID" 2>/dev/null
	wait "$PROM_PID" 2>/dev/null
	PROM_PID=
}
trap 'stop_prometheus; cleanup' EXIT

cat >"$TMP/udpd.conf" <<'CONF'
daemon = { metrics = { listen = [ "127.0.0.1:0" ]; allow = [ "127.0.0.1" ]; }; };
services = (
  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0" ]; },
  { name = "chat"; module = "chat"; listen = [ "127.0.0.1:0" ];
    log_file = "chat.log"; }
);
CONF
start_udpd "$TMP/udpd.conf"
M=$(metrics_port)
[ -n "$M" ] || fail "no metrics port"

for i in 1 2 3 4 5; do
	expect_eq "echo $i" "e$i" "$(printf 'e%s' "$i" | udp 127.0.0.1 "$(port echo)")"
done
for i in 1 2 3; do
	expect_eq "chat $i" "ok $i" "$(echo "hello $i" | udp 127.0.0.1 "$(port chat)")"
done

# A free port for Prometheus (it cannot report the one it got).
P=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: udpd
    static_configs:
      - targets: [ "127.0.0.1:$M" ]
YML
prometheus --config.file="$TMP/prometheus.yml" \
	--storage.tsdb.path="$TMP/prometheus-data" \
	--web.listen-address="127.0.0.1:$P" --log.level=warn \
	2>"$TMP/prometheus.err" &
PROM_PID=$!

# query PROMQL: the value of the first result ("" if none yet).
query() {
	curl -s --max-time 5 --get --data-urlencode "query=$1" \
		"http://127.0.0.1:$P/api/v1/query" | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
if r.get("status") != "success":
    print("error: " + r.get("error", "?"))
elif r["data"]["result"]:
    print(r["data"]["result"][0]["value"][1])'
}

# wait_query PROMQL VALUE: polls until Prometheus returns VALUE (60 s: it
# starts slowly on a busy machine).
wait_query() {
	local got=
	for _ in $(seq 1 300); do
		kill -0 "$PROM_PID" 2>/dev/null ||
			fail "prometheus exited: $(tail -n 5 "$TMP/prometheus.err")"
		got=$(query "$1")
		[ "$got" = "$2" ] && { ok "$1 = $2"; return 0; }
		sleep 0.2
	done
	fail "$1: expected $2, Prometheus says '$got'"
}

wait_query 'up{job="udpd"}' 1
wait_query 'udpd_chat_last_seq{service="chat"}' 3
wait_query 'udpd_requests_total{service="echo",module="echo"}' 5
wait_query 'udpd_sent_bytes_total{service="echo"}' 10
wait_query 'udpd_replies_total{service="chat"}' 3
wait_query 'udpd_build_info' 1

# Later traffic reaches it at the next scrapes.
expect_eq "chat 4" "ok 4" "$(echo "hello 4" | udp 127.0.0.1 "$(port chat)")"
wait_query 'udpd_chat_last_seq{service="chat"}' 4

# The README's example queries run (their value depends on timing).
for q in 'sum by (reason) (rate(udpd_dropped_total[5m]))' \
	'sum(deriv(udpd_chat_last_seq[5m]))'; do
	got=$(query "$q")
	case $got in
	error*) fail "$q: $got" ;;
	esac
	ok "query runs: $q"
done

stop_prometheus
stop_udpd
expect_eq "exit status" 0 "$LAST_EXIT"
done_testing
