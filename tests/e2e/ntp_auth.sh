#!/bin/bash
# SNTP authentication (SPEC 9) judged by real clients: ntpdig -k FILE -a ID
# for MD5, SHA1 and AES-128-CMAC keys, and chronyd -Q with its own key
# file, against udpd on 127.0.0.1:123 and 127.0.0.2:123 inside a network
# namespace of its own (ntpdig and chronyd only speak to port 123; root
# only, skipped otherwise).  Also, byte for byte with a Python client: the
# signed reply, silence for a bad MAC, the drop counters; trusted_keys,
# require_auth, a key file changed or broken on reload, the warning for a
# key file others can read, and no key in any log line.
. "$(dirname "$0")/../lib.sh"
need ip ntpdig chronyd python3 openssl awk

[ "$(id -u)" = 0 ] || skip "not root (ip netns needs it)"
"$UDPD" -V | grep -q 'libcrypto): OpenSSL' ||
	skip "udpd was built without OpenSSL (libcrypto)"

NS=udpd-auth-$$
CHRONY_PIDS=()
ns_cleanup() {
	stop_udpd
	for p in "${CHRONY_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	NS=
	cleanup
}
trap ns_cleanup EXIT
ip netns add "$NS" 2>"$TMP/netns.err" ||
	skip "ip netns add failed: $(cat "$TMP/netns.err")"
ip netns exec "$NS" ip link set lo up || fail "cannot bring lo up in $NS"
in_ns() { ip netns exec "$NS" "$@"; }

# Secrets: random for every run, so a leak into a log can be searched for.
K1=$(openssl rand -hex 6)			# 12 characters: ASCII
K2=$(openssl rand -hex 20)			# 40 hex digits: 20 bytes
K3=$(openssl rand -hex 16)			# 32 hex digits: 16 bytes
K4=$(openssl rand -hex 8)			# 16 characters: ASCII
K10=$(openssl rand -hex 20)
W=$(openssl rand -hex 20)			# for the wrong keys
umask 077
cat >"$TMP/ntp.keys" <<EOF
# udpd's key file, ntpsec format
1 md5 $K1
2 SHA1 $K2
3 aes-128 $K3   # AES-128-CMAC
4 AES $K4
10 sha1 $K10
EOF
cp "$TMP/ntp.keys" "$TMP/client.keys"
cat >"$TMP/wrong.keys" <<EOF
1 md5 ${W:0:12}
2 sha1 ${W}
3 aes-128 ${W:0:32}
4 AES ${W:0:16}
EOF
# chrony's key file: HEX: for binary keys, ASCII: for text.
k4hex=$(printf '%s' "$K4" | od -An -tx1 -v | tr -d ' \n')
cat >"$TMP/chrony.keys" <<EOF
1 MD5 ASCII:$K1
2 SHA1 HEX:$K2
3 AES128 HEX:$K3
4 AES128 HEX:$k4hex
EOF
cat >"$TMP/chrony-wrong.keys" <<EOF
2 SHA1 HEX:$W
3 AES128 HEX:${W:0:32}
EOF

cat >"$TMP/udpd.conf" <<CONF
daemon = { log_level = "debug"; };
services = (
  { name = "ntp"; module = "time"; protocol = "sntp"; stratum = 10;
    listen = [ "127.0.0.1:123" ]; keys = "ntp.keys";
    trusted_keys = [ 1, 2, 3, 4 ]; },
  { name = "strict"; module = "time"; protocol = "sntp"; stratum = 10;
    listen = [ "127.0.0.2:123" ]; keys = "$TMP/ntp.keys";
    require_auth = true; },
  { name = "stats"; module = "stats"; listen = [ "127.0.0.1:0" ]; }
);
CONF
printf '#!/bin/sh\nexec ip netns exec %s %q "$@"\n' "$NS" "$UDPD" \
	>"$TMP/udpd-in-ns"
chmod +x "$TMP/udpd-in-ns"

# A key file others can read is a warning, not an error.
chmod 0644 "$TMP/ntp.keys"
"$UDPD" -t -c "$TMP/udpd.conf" 2>"$TMP/t.err" ||
	fail "udpd -t: $(cat "$TMP/t.err")"
grep -q "ntp.keys: key file of service \"ntp\" is readable by others" \
	"$TMP/t.err" || fail "no warning for a readable key file: $(cat "$TMP/t.err")"
ok "a key file others can read gives a warning"
chmod 0600 "$TMP/ntp.keys"
"$UDPD" -t -c "$TMP/udpd.conf" 2>"$TMP/t.err" || fail "udpd -t"
! grep -q "readable by others" "$TMP/t.err" || fail "warning for 0600"
ok "no warning for a key file of mode 0600"

UDPD=$TMP/udpd-in-ns start_udpd "$TMP/udpd.conf"
S=$(port stats)

# ntpdig ARGS...: 0 when ntpdig accepted a reply from the server.
dig() {
	in_ns ntpdig -t 1 "$@" >"$TMP/dig.out" 2>&1 &&
		grep -q ' s10 no-leap' "$TMP/dig.out"
}

for id in 1 2 3 4; do
	dig -k "$TMP/client.keys" -a "$id" 127.0.0.1 ||
		fail "ntpdig key $id: $(cat "$TMP/dig.out")"
	! dig -k "$TMP/wrong.keys" -a "$id" 127.0.0.1 ||
		fail "ntpdig accepted udpd with a wrong key $id"
done
ok "ntpdig accepts with the right key and refuses a wrong one (md5, sha1, aes-128 hex and ASCII)"

! dig -k "$TMP/client.keys" -a 10 127.0.0.1 ||
	fail "key 10 is not in trusted_keys, yet ntpdig was answered"
dig -k "$TMP/client.keys" -a 10 127.0.0.2 ||
	fail "key 10 (trusted by default) on strict: $(cat "$TMP/dig.out")"
ok "trusted_keys: an untrusted key gets no answer; without it every key is trusted"

dig 127.0.0.1 || fail "unauthenticated ntpdig without require_auth"
! dig 127.0.0.2 || fail "require_auth answered an unauthenticated ntpdig"
dig -k "$TMP/client.keys" -a 3 127.0.0.2 || fail "authenticated on strict"
ok "require_auth drops unauthenticated requests, answers authenticated ones"

# chronyd -Q (measure, never set the clock), private config, no cmdport.
chrony() {	# chrony NAME KEYFILE ID TIMEOUT
	cat >"$TMP/$1.conf" <<EOF
server 127.0.0.1 key $3 iburst minpoll -6 maxpoll -6
keyfile $2
cmdport 0
pidfile $TMP/$1.pid
EOF
	in_ns chronyd -Q -u root -f "$TMP/$1.conf" -t "$4" >"$TMP/$1.out" 2>&1
}
for id in 1 2 3 4; do
	chrony "chrony$id" "$TMP/chrony.keys" "$id" 10 ||
		fail "chronyd key $id: $(cat "$TMP/chrony$id.out")"
	grep -q 'System clock wrong by .* (ignored)' "$TMP/chrony$id.out" ||
		fail "chronyd key $id: $(cat "$TMP/chrony$id.out")"
done
ok "chronyd -Q accepts udpd with the right key (md5, sha1, aes-128)"
for id in 2 3; do
	chrony "wrong$id" "$TMP/chrony-wrong.keys" "$id" 3 &
	CHRONY_PIDS+=($!)
done
for i in 0 1; do
	rc=0
	wait "${CHRONY_PIDS[$i]}" || rc=$?
	[ "$rc" != 0 ] || fail "chronyd accepted a wrong key: $(cat "$TMP"/wrong*.out)"
done
CHRONY_PIDS=()
for id in 2 3; do
	grep -q -e 'Timeout reached' -e 'No suitable source' "$TMP/wrong$id.out" ||
		fail "chronyd with a wrong key $id: $(cat "$TMP/wrong$id.out")"
done
! grep -q 'System clock wrong' "$TMP"/wrong*.out ||
	fail "chronyd measured with a wrong key"
ok "chronyd -Q finds no usable source with a wrong key"

# Byte for byte: a signed request, a tampered one, counters.
in_ns python3 - "$S" "$K2" <<'PY' || fail "raw client checks failed"
import hashlib, json, os, socket, struct, sys
stats_port, k2 = int(sys.argv[1]), bytes.fromhex(sys.argv[2])

def ask(addr, data, timeout=0.3):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(data, addr)
    try:
        return s.recv(2048)
    except socket.timeout:
        return None

def counters(name):
    return json.loads(ask(("127.0.0.1", stats_port), b"", 2))["services"][name]

req = bytes([0x23]) + bytes(39) + os.urandom(8)
signed = req + struct.pack("!I", 2) + hashlib.sha1(k2 + req).digest()
rep = ask(("127.0.0.1", 123), signed, 2)
assert rep is not None and len(rep) == 72, rep
assert rep[0] & 7 == 4 and rep[24:32] == req[40:48], rep.hex()
assert rep[48:52] == struct.pack("!I", 2), rep.hex()
assert rep[52:] == hashlib.sha1(k2 + rep[:48]).digest(), "reply MAC"
before = counters("strict")
bad = [signed[:-1] + bytes([signed[-1] ^ 1]),		# tampered MAC
       req + struct.pack("!I", 7) + bytes(16),		# unknown key
       req + struct.pack("!I", 2),			# key id alone
       req + bytes(8),					# no valid trailer
       req]						# no MAC at all
for b in bad:
    assert ask(("127.0.0.2", 123), b) is None, "answered " + b.hex()
after = counters("strict")
assert after["requests"] - before["requests"] == len(bad), (before, after)
assert after["dropped"]["malformed"] - before["dropped"]["malformed"] == \
    len(bad), (before, after)
assert after["replies"] == before["replies"], (before, after)
PY
ok "signed reply byte for byte; bad MACs, unknown keys and unauthenticated requests get nothing and are counted"

# Reload: a changed key file is picked up.
K2NEW=$(openssl rand -hex 20)
sed -i "s/^2 SHA1 .*/2 SHA1 $K2NEW/" "$TMP/ntp.keys"
cp "$TMP/ntp.keys" "$TMP/new.keys"
kill -HUP "$UDPD_PID"
for _ in $(seq 1 100); do
	dig -k "$TMP/new.keys" -a 2 127.0.0.1 && break
	sleep 0.1
done
dig -k "$TMP/new.keys" -a 2 127.0.0.1 || fail "new key 2 after reload"
! dig -k "$TMP/client.keys" -a 2 127.0.0.1 || fail "old key 2 after reload"
dig -k "$TMP/client.keys" -a 3 127.0.0.1 || fail "key 3 after reload"
ok "a reload picks up the changed key file"

# A broken key file: udpd -t names its line; a reload keeps the old keys.
printf '1 md5 %s\n2 sha1 %s\n5 blake2 %s\n' "$K1" "$K2NEW" "$K4" \
	>"$TMP/ntp.keys"
rc=0
"$UDPD" -t -c "$TMP/udpd.conf" 2>"$TMP/t.err" || rc=$?
expect_eq "udpd -t with a bad key file exits 1" 1 "$rc"
grep -q "^udpd: $TMP/ntp.keys:3: keys of service \"ntp\": key 5: unsupported type (md5, sha1 or aes-128)" \
	"$TMP/t.err" || fail "udpd -t message: $(cat "$TMP/t.err")"
ok "the message names the key file and line"
kill -HUP "$UDPD_PID"
for _ in $(seq 1 100); do
	grep -q "ntp.keys:3: keys of service" "$TMP/udpd.err" && break
	sleep 0.1
done
grep -q "ntp.keys:3: keys of service" "$TMP/udpd.err" ||
	fail "the failed reload was not logged"
dig -k "$TMP/new.keys" -a 2 127.0.0.1 || fail "old keys lost on a bad reload"
ok "a reload with a broken key file keeps the running keys"

stop_udpd TERM
expect_eq "SIGTERM exits 0" 0 "$LAST_EXIT"
for k in "$K1" "$K2" "$K2NEW" "$K3" "$K4" "$K10"; do
	! grep -q -i -e "$k" -e "${k:0:10}" "$TMP/udpd.err" "$TMP/t.err" ||
		fail "key material in udpd's log"
done
ok "no key material in any log line (debug level)"
done_testing
