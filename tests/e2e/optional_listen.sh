#!/bin/bash
# Optional listen addresses ("-addr:port"): one the host lacks (an address
# not assigned here, or IPv6 disabled) is skipped with one warning, at the
# start and at each reload; any other failure of it, and any failure of a
# required address, still fails the start.
. "$(dirname "$0")/../lib.sh"
need python3 nc

# conf LISTEN...: one greet service on these addresses.
conf() {
	local list
	list=$(printf '"%s", ' "$@")
	printf 'services = (\n  { name = "greet"; module = "greet"; listen = [ %s ]; }\n);\n' \
	    "${list%, }" >"$TMP/udpd.conf"
}

# 192.0.2.1 (TEST-NET-1) is assigned to no interface of a test machine.
conf 127.0.0.1:0 -192.0.2.1:0
"$UDPD" -t -c "$TMP/udpd.conf" 2>/dev/null
expect_eq "-t accepts an optional address" 0 $?
start_udpd "$TMP/udpd.conf"
expect_eq "the required address serves" "Hello A!" "$(echo A | udp 127.0.0.1 "$(port greet)")"
expect_eq "one warning for the missing optional address" 1 \
    "$(grep -c 'service greet: cannot bind 192.0.2.1:0 .*Cannot assign requested address (optional address: skipped)' "$TMP/udpd.err")"
rm -f "$PORT_FILE"
kill -HUP "$UDPD_PID"
wait_until 10 test -s "$PORT_FILE" || fail "no reload"
expect_eq "one more warning at the reload" 2 \
    "$(grep -c '192.0.2.1:0.*(optional address: skipped)' "$TMP/udpd.err")"
expect_eq "serving after the reload" "Hello B!" "$(echo B | udp 127.0.0.1 "$(port greet)")"
stop_udpd

conf 127.0.0.1:0 192.0.2.1:0
"$UDPD" -f -c "$TMP/udpd.conf" 2>"$TMP/req.err"
expect_eq "a required address the host lacks fails the start (69)" 69 $?
grep -q "cannot bind 192.0.2.1:0" "$TMP/req.err" || fail "message: $(cat "$TMP/req.err")"

# An optional address whose port is taken is no missing address: it fails.
hold_port 60
P=$HELD_PORT holder=$HOLDER_PID
conf "-127.0.0.1:$P"
"$UDPD" -f -c "$TMP/udpd.conf" 2>"$TMP/busy.err"
rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
expect_eq "an optional address in use fails the start (69)" 69 "$rc"

# Only a service's address can be optional.
printf 'daemon = { metrics = { listen = [ "-127.0.0.1:0" ]; }; };\nservices = ( );\n' >"$TMP/m.conf"
"$UDPD" -t -c "$TMP/m.conf" 2>"$TMP/m.err"
expect_eq "an optional metrics address is a config error" 1 $?
grep -q "m.conf:1: listen\[0\]: '-127.0.0.1:0': only a service's listen address can be optional" \
    "$TMP/m.err" || fail "message: $(cat "$TMP/m.err")"
ok "... which names the file, line and setting"

# A host without IPv6: in a network namespace of our own, IPv6 disabled.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null &&
    unshare -n true 2>/dev/null; then
	conf 127.0.0.1:0 "-[::1]:0"
	rm -f "$PORT_FILE"
	unshare -n sh -c '
		ip link set lo up && sysctl -q -w net.ipv6.conf.lo.disable_ipv6=1 \
		    net.ipv6.conf.default.disable_ipv6=1 || exit 99
		"$1" -f -c "$2" 2>>"$3" & pid=$!
		i=0; while [ ! -s "$4" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
		printf A | nc -u -w1 127.0.0.1 "$(sed -n "s/^greet 127.0.0.1://p" "$4")"
		kill $pid; wait $pid' sh "$UDPD" "$TMP/udpd.conf" "$TMP/v6.err" "$PORT_FILE" >"$TMP/v6.out"
	rc=$?
	[ "$rc" = 99 ] && skip "cannot disable IPv6 in a network namespace"
	expect_eq "IPv6 disabled: the IPv4 address serves, udpd exits 0" "Hello A! 0" "$(cat "$TMP/v6.out") $rc"
	grep -q 'cannot bind \[::1\]:0.*(optional address: skipped)' "$TMP/v6.err" ||
		fail "no warning for [::1]: $(cat "$TMP/v6.err")"
	ok "IPv6 disabled: [::1] skipped with a warning"
	conf 127.0.0.1:0 "[::1]:0"
	unshare -n sh -c 'ip link set lo up && sysctl -q -w net.ipv6.conf.lo.disable_ipv6=1 &&
	    exec "$1" -f -c "$2"' sh "$UDPD" "$TMP/udpd.conf" 2>/dev/null
	expect_eq "IPv6 disabled: a required [::1] fails the start (69)" 69 $?
fi
done_testing
