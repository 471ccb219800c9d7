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
done_testing
