#!/bin/bash
# One exchange per service through the real nc -u, byte for byte, over
# IPv4 and IPv6, then the stats counters and a clean SIGTERM exit.
. "$(dirname "$0")/../lib.sh"
need nc python3

write_conf "$TMP/udpd.conf"
start_udpd "$TMP/udpd.conf"

G=$(port greet); G6=$(port greet 6); E=$(port echo); E6=$(port echo 6)
U=$(port upper); T=$(port time); C=$(port chat); S=$(port stats)

expect_eq "greet Alice" "$(printf 'Hello Alice!\n' | hex)" \
	"$(echo Alice | udp 127.0.0.1 "$G" | hex)"
expect_eq "greet over IPv6" "Hello Bob!" "$(echo Bob | udp ::1 "$G6")"
expect_eq "greet exit" "Good bye!" "$(echo exit | udp 127.0.0.1 "$G")"
expect_eq "greet empty is world" "Hello world!" "$(echo | udp 127.0.0.1 "$G")"
expect_eq "greet CRLF stripped once" "$(printf 'Hello Al\r\n!\n' | hex)" \
	"$(printf 'Al\r\n\r\n' | udp 127.0.0.1 "$G" | hex)"

expect_eq "echo byte-exact" "$(printf 'a\0b\r\n\xff' | hex)" \
	"$(printf 'a\0b\r\n\xff' | udp 127.0.0.1 "$E" | hex)"
expect_eq "echo over IPv6" "$(printf 'hi\n' | hex)" \
	"$(echo hi | udp ::1 "$E6" | hex)"

expect_eq "upper ASCII only" "$(printf 'H\xc3\xa9LLO 1\n' | hex)" \
	"$(printf 'h\xc3\xa9llo 1\n' | udp 127.0.0.1 "$U" | hex)"

year=$(date -u +%Y)
expect_eq "time %Y" "$year" "$(echo %Y | udp 127.0.0.1 "$T")"
got=$(echo | udp 127.0.0.1 "$T")
[[ $got =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}$ ]] ||
	fail "time default format: got '$got'"
ok "time default format"

expect_eq "chat first message" "ok 1" "$(echo 'hello room' | udp 127.0.0.1 "$C")"
expect_eq "chat over IPv6" "ok 2" "$(printf 'tab\there\n' | udp ::1 "$(port chat 6)")"
line=$(sed -n 1p "$TMP/chat.log")
[[ $line =~ ^1\ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\ 127\.0\.0\.1:[0-9]+\ hello\ room$ ]] ||
	fail "chat log line 1: '$line'"
ok "chat log line format (IPv4)"
line=$(sed -n 2p "$TMP/chat.log")
[[ $line =~ ^2\ .*Z\ \[::1\]:[0-9]+\ tab\\x09here$ ]] ||
	fail "chat log line 2: '$line'"
ok "chat log line format (IPv6, escaped tab)"
hist=$(echo '/history 2' | udp 127.0.0.1 "$C")
expect_eq "chat /history" "$(sed -n 1,2p "$TMP/chat.log")" "$hist"
expect_eq "chat unknown command" "error: unknown command" \
	"$(echo '/nope' | udp 127.0.0.1 "$C")"

L=$(port length); L6=$(port length 6)
expect_eq "length counts every byte" "$(printf 'Your data was 5 bytes long\n' | hex)" \
	"$(printf hello | udp 127.0.0.1 "$L" | hex)"
expect_eq "length keeps the newline and NULs (IPv6)" \
	"Your data was 9 bytes long" "$(printf 'a\0b\0\0\r\nc\n' | udp ::1 "$L6")"

json=$(echo | udp 127.0.0.1 "$S")
echo "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = d["services"]
assert d["uptime"] >= 0
assert s["greet"]["module"] == "greet"
assert s["greet"]["requests"] == 5 and s["greet"]["replies"] == 5, s["greet"]
assert s["chat"]["errors"] == 1, s["chat"]
assert s["echo"]["bytes_in"] == 6 + 3 and s["echo"]["bytes_out"] == 9, s["echo"]
for k in ("acl", "rate", "size", "loop", "malformed"):
    assert s["greet"]["dropped"][k] == 0
' || fail "stats JSON: $json"
ok "stats JSON counters"

stop_udpd TERM
expect_eq "SIGTERM exits 0" 0 "$LAST_EXIT"
done_testing
