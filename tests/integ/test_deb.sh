#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The Debian package: debian/ builds with `dpkg-buildpackage -us -uc -b` (in
# a copy of the tree), lintian finds no error, `dpkg -i` installs it (gwd
# --version runs, the unit passes `systemd-analyze verify`, group gw
# exists, the unit is neither enabled nor started), and `dpkg --purge`
# leaves nothing behind: no file of the package, no /etc/gw, no group it
# made. It installs into the machine's own root, so it refuses to run
# where a gw package or another gwd is installed already.
# vm: skip (packaging)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (dpkg -i)"; exit 77; }
for t in dpkg-buildpackage dh lintian systemd-analyze; do
	command -v "$t" >/dev/null || { echo "SKIP: missing $t (make deps installs it)"; exit 77; }
done
if dpkg-query -W -f='${Status}' gw 2>/dev/null | grep -q installed; then
	echo "SKIP: a gw package is installed on this machine; not touching it"
	exit 77
fi
[ -e /usr/sbin/gwd ] && { echo "SKIP: /usr/sbin/gwd exists and is not ours"; exit 77; }

TMP=$(mktemp -d /tmp/gw-deb.XXXXXX)
installed=0
cleanup() {
	[ "$installed" = 1 ] && dpkg --purge gw >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
had_group=0
getent group gw >/dev/null && had_group=1

mkdir "$TMP/gw"
tar -C "$ROOT" --exclude=./build --exclude=./.git -cf - . | tar -C "$TMP/gw" -xf -
(cd "$TMP/gw" && dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1 ||
	{ tail -30 "$TMP/build.log"; fail "dpkg-buildpackage failed"; }
deb=$(ls "$TMP"/gw_*_amd64.deb)
echo "built $(basename "$deb"): $(dpkg-deb -f "$deb" Version), $(stat -c %s "$deb") bytes"

lintian "$deb" >"$TMP/lintian.log" 2>&1
sed 's/^/    lintian: /' "$TMP/lintian.log"
grep -q '^E: ' "$TMP/lintian.log" && fail "lintian reports errors"

dpkg -i "$deb" >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "dpkg -i failed"; }
installed=1
/usr/sbin/gwd --version | grep -q "^gwd " || fail "gwd --version: $(/usr/sbin/gwd --version 2>&1)"
/usr/bin/gwctl --json status >/dev/null 2>&1	# runs (no agent: exit 1 is fine)
[ $? -le 1 ] || fail "gwctl does not run"
getent group gw >/dev/null || fail "postinst made no group gw"
unit=/usr/lib/systemd/system/gwd.service
[ -f "$unit" ] || unit=/lib/systemd/system/gwd.service
[ -f "$unit" ] || fail "no gwd.service installed"
systemd-analyze verify "$unit" >"$TMP/verify.log" 2>&1 ||
	{ cat "$TMP/verify.log"; fail "systemd-analyze verify $unit"; }
[ -e /etc/systemd/system/multi-user.target.wants/gwd.service ] &&
	fail "the unit was enabled at install (it needs a config first)"
[ -f /etc/gw/gateway.yaml.example ] || fail "no example config in /etc/gw"
[ -f /usr/share/man/man8/gwd.8.gz ] || fail "no gwd(8)"
dpkg -L gw >"$TMP/files"

dpkg --purge gw >"$TMP/purge.log" 2>&1 || { cat "$TMP/purge.log"; fail "dpkg --purge failed"; }
installed=0
left=$(while read -r f; do [ -f "$f" ] && echo "$f"; done <"$TMP/files")
[ -z "$left" ] || fail "files left after purge: $left"
[ -e /etc/gw ] && fail "/etc/gw left after purge"
[ -e /var/lib/gw ] && fail "/var/lib/gw left after purge"
if [ "$had_group" = 0 ] && getent group gw >/dev/null; then
	fail "the group gw made at install is left after purge"
fi
echo "installed, checked and purged: nothing left"
echo PASS
