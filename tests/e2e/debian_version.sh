#!/bin/bash
# The Debian package and the upstream build agree: the upstream part of the
# newest debian/changelog version is the version configure.ac gives udpd
# (what "udpd -V" prints), so a release cannot bump one and forget the
# other.  Also: the licence the tree carries is the one debian/copyright
# names.
. "$(dirname "$0")/../lib.sh"
srcdir=$(cd "$TESTS_DIR/.." && pwd)
changelog=$srcdir/debian/changelog
[ -r "$changelog" ] || fail "no $changelog"

# "udpd (1:0.1.0-1+local1) unstable; urgency=medium": the epoch goes before
# ":", the Debian revision after the last "-".
first=$(head -n 1 "$changelog")
[[ $first =~ ^udpd\ \(([^\)]+)\)\  ]] ||
	fail "first line of debian/changelog is not 'udpd (VERSION) ...': $first"
debian_version=${BASH_REMATCH[1]}
upstream=${debian_version#*:}
[[ $upstream == *-* ]] ||
	fail "debian/changelog version $debian_version has no Debian revision (the source format is 3.0 (quilt))"
upstream=${upstream%-*}

# The first line of "udpd -V" is "udpd VERSION" (the next ones list the
# optional libraries).
built=$("$UDPD" -V) || fail "udpd -V failed"
built=${built%%$'\n'*}
[ "$built" = "udpd $upstream" ] ||
	fail "debian/changelog says $debian_version (upstream $upstream), udpd -V says '$built': bump both"
ok "debian/changelog ($debian_version) matches configure.ac ($built)"

[ "$(head -n 1 "$srcdir/LICENSE")" = "ISC License" ] || fail "LICENSE is not the ISC licence"
awk '/^Files: \*$/ { f = 1; next } f && /^License:/ { print $2; exit }' \
	"$srcdir/debian/copyright" | grep -qx ISC ||
	fail "debian/copyright does not give 'Files: *' the ISC licence"
ok "LICENSE and debian/copyright both say ISC"
done_testing
