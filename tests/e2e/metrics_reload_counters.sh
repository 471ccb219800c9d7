#!/bin/bash
# A reload that closes one of a service's sockets keeps what that socket
# counted in the service's counters (SPEC section 8: counters; Prometheus
# reads a counter that goes down as a reset, and rate() then counts the
# rest again): 3 requests to each of greet's two addresses make
# udpd_requests_total 6, and 6 it stays once a reload drops the IPv6 one.
. "$(dirname "$0")/../lib.sh"
need python3 curl

conf() {
	metrics_conf "$TMP/udpd.conf" "" \
		"{ name = \"greet\"; module = \"greet\"; listen = [ $1 ]; }"
}

requests() {
	scrape | sed -n 's/^udpd_requests_total{service="greet",module="greet"} //p'
}

conf '"127.0.0.1:0", "[::1]:0"'
start_udpd "$TMP/udpd.conf"
M=$(metrics_port)
[ -n "$M" ] || fail "no metrics port"
P4=$(port greet 4)
P6=$(port greet 6)

python3 - "$P4" "$P6" <<'PY' || fail "greet did not answer"
import socket, sys
for fam, host, port in ((socket.AF_INET, "127.0.0.1", sys.argv[1]),
                        (socket.AF_INET6, "::1", sys.argv[2])):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(5)
    for _ in range(3):
        s.sendto(b"x", (host, int(port)))
        s.recvfrom(2048)
PY
expect_eq "requests to both addresses are counted" 6 "$(requests)"

conf '"127.0.0.1:0"'
reload_and_wait
grep -q '^greet \[' "$PORT_FILE" && fail "the IPv6 socket is still open"
expect_eq "the reload kept the IPv4 socket" "$P4" "$(port greet 4)"
expect_eq "the closed socket's requests stay counted" 6 "$(requests)"

stop_udpd
expect_eq "exit status" 0 "$LAST_EXIT"
done_testing
