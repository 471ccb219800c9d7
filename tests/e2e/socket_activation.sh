#!/bin/bash
# Socket activation (SPEC section 4): datagram sockets passed as systemd
# passes them (fds from 3, LISTEN_FDS, LISTEN_PID).  udpd takes the ones
# that match a service's listen address, binds the rest itself, and warns
# about a passed socket that matches no service.  The sockets are bound by
# the launcher below and handed over through exec, so no port is ever
# freed and bound again (which another process could take in between).
. "$(dirname "$0")/../lib.sh"
need python3 nc

# Binds two UDP sockets on ports the kernel picks, writes the config with
# the first one's port, and execs udpd with both as fds 3 and 4.
python3 - "$TMP" "$UDPD" 2>>"$TMP/udpd.err" <<'PY' &
import os, socket, sys
tmp, udpd = sys.argv[1], sys.argv[2]
socks = []
for _ in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
a, b = (s.getsockname()[1] for s in socks)
with open(tmp + "/udpd.conf", "w") as f:
    f.write('services = (\n'
            '  { name = "greet"; module = "greet"; listen = [ "127.0.0.1:%d" ]; },\n'
            '  { name = "echo"; module = "echo"; listen = [ "127.0.0.1:0" ]; }\n'
            ');\n' % a)
with open(tmp + "/passed.tmp", "w") as f:
    f.write("%d %d\n" % (a, b))
os.rename(tmp + "/passed.tmp", tmp + "/passed")
for fd, s in enumerate(socks, 3):
    if s.fileno() != fd:
        os.dup2(s.fileno(), fd)
    os.set_inheritable(fd, True)
os.environ["LISTEN_FDS"] = "2"
os.environ["LISTEN_PID"] = str(os.getpid())    # exec keeps the pid
os.execv(udpd, [udpd, "-f", "-c", tmp + "/udpd.conf"])
PY
UDPD_PID=$!
wait_until 10 test -s "$PORT_FILE" || fail "udpd did not start"
read -r A B <"$TMP/passed"

expect_eq "greet answers on the passed socket" "Hello Alice!" \
	"$(echo Alice | udp 127.0.0.1 "$A")"
grep -q "greet 127.0.0.1:$A: listening (socket from systemd)" "$TMP/udpd.err" ||
	fail "passed socket not taken: $(cat "$TMP/udpd.err")"
ok "greet took the passed socket"
expect_eq "unmatched service bound by udpd itself" "x" \
	"$(echo x | udp 127.0.0.1 "$(port echo)")"
grep -q "(fd 4) matches no service's listen address: unused" "$TMP/udpd.err" ||
	fail "no warning for the unused passed socket"
ok "unused passed socket is warned about"
stop_udpd
expect_eq "exit 0" 0 "$LAST_EXIT"
done_testing
