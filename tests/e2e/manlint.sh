#!/bin/bash
# The man pages are clean under mandoc -T lint (only notes about manuals
# that are not installed on this machine are tolerated).
. "$(dirname "$0")/../lib.sh"
need mandoc
srcdir=$(cd "$TESTS_DIR/.." && pwd)
for page in udpd.8 udpd.conf.5; do
	sed -e 's|@sysconfdir[@]|/etc|g' -e 's|@sbindir[@]|/usr/sbin|g' \
		-e 's|@localstatedir[@]|/var|g' "$srcdir/man/$page.in" >"$TMP/$page"
	mandoc -T lint -W warning "$TMP/$page" 2>&1 |
		grep -v -e "referenced manual not found" -e "mandoc.db" \
		-e "lacks .* entry" >"$TMP/lint" || true
	[ -s "$TMP/lint" ] && fail "$page: $(cat "$TMP/lint")"
	ok "$page is clean under mandoc -T lint"
done
# What the pages say agrees with the code where a test can tell.
page_text() {
	mandoc -T ascii "$TMP/$1" | col -b | tr -s ' \t\n' '   '
}
page_text udpd.conf.5 | grep -q "a reference timestamp of 0, and the origin, receive and transmit timestamps all set to the request's transmit timestamp" ||
	fail "udpd.conf.5: the KoD's timestamps (ntp_build_kod: reference 0)"
ok "udpd.conf.5 describes the KoD's timestamps as ntp_build_kod sets them"
done_testing
