#!/bin/bash
# Socket activation without systemd as PID 1: systemd-socket-activate
# passes datagram sockets (LISTEN_FDS) as systemd would.  udpd takes the
# ones that match a service's listen address, binds the rest itself, and
# warns about a passed socket that matches no service.
. "$(dirname "$0")/../lib.sh"
need systemd-socket-activate python3 nc
"$UDPD" -V >/dev/null
if ! ldd "$UDPD" 2>/dev/null | grep -q libsystemd; then
	# Sanitizer builds link statically enough that ldd may not say; ask
	# the binary for the symbol instead.
	nm -D "$UDPD" 2>/dev/null | grep -q sd_listen_fds ||
		skip "udpd built without libsystemd"
fi

hold_port 0.1
A=$HELD_PORT
sleep 0.2
hold_port 0.1
B=$HELD_PORT
sleep 0.2
cat >"$TMP/udpd.conf" <<CONF
services = (
  { name = "greet"; module = "greet"; listen = [ "127.0.0.1:$A" ]; },
  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0" ]; }
);
CONF
systemd-socket-activate -d -l "127.0.0.1:$A" -l "127.0.0.1:$B" \
	-E UDPD_PORT_FILE="$PORT_FILE" \
	"$UDPD" -f -c "$TMP/udpd.conf" 2>>"$TMP/udpd.err" &
UDPD_PID=$!
for _ in $(seq 1 100); do
	grep -q "Listening on 127.0.0.1:$B" "$TMP/udpd.err" 2>/dev/null && break
	sleep 0.05
done
# systemd-socket-activate starts udpd at the first datagram.
reply=$(echo Alice | udp 127.0.0.1 "$A")
expect_eq "first datagram starts udpd, which answers on the passed socket" \
	"Hello Alice!" "$reply"
for _ in $(seq 1 50); do [ -s "$PORT_FILE" ] && break; sleep 0.05; done
grep -q "greet 127.0.0.1:$A: listening (socket from systemd)" "$TMP/udpd.err" ||
	fail "passed socket not taken: $(cat "$TMP/udpd.err")"
ok "greet took the passed socket"
expect_eq "unmatched service bound by udpd itself" "x" \
	"$(echo x | udp 127.0.0.1 "$(port echo)")"
grep -q "matches no service's listen address: unused" "$TMP/udpd.err" ||
	fail "no warning for the unused passed socket"
ok "unused passed socket is warned about"
stop_udpd
expect_eq "exit 0" 0 "$LAST_EXIT"
done_testing
