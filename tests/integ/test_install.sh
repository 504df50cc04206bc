#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# `make install` into a temporary DESTDIR, with two PREFIXes: every file in
# its place with its mode, the unit's paths follow PREFIX, the installed
# programs run, the man pages render, the unit passes systemd-analyze
# verify (when present). Needs no root.
# vm: skip (make install and the systemd unit files)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
[ -x "$BUILD/bin/gwd" ] || { echo "SKIP: missing $BUILD/bin/gwd (run make)"; exit 77; }
for t in man systemd-analyze; do
	command -v "$t" >/dev/null || { echo "SKIP: missing $t (make deps installs man-db and systemd)"; exit 77; }
done
TMP=$(mktemp -d /tmp/gw-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

check_tree() {	# check_tree DESTDIR PREFIX
	local d=$1 p=$2 f mode want
	while read -r f want; do
		[ -f "$d$f" ] || { fail "$p: missing $f"; continue; }
		mode=$(stat -c %a "$d$f")
		[ "$mode" = "$want" ] || fail "$p: $f has mode $mode, want $want"
	done <<EOL
$p/sbin/gwd 755
$p/sbin/gw-dpctl 755
$p/bin/gwctl 755
$p/share/man/man8/gwd.8 644
$p/share/man/man8/gwctl.8 644
$p/share/man/man8/gw-dpctl.8 644
$p/share/man/man5/gateway.yaml.5 644
$p/lib/systemd/system/gwd.service 644
$p/lib/sysusers.d/gw.conf 644
$p/lib/tmpfiles.d/gw.conf 644
$p/lib/gw/decap.bpf.o 644
$p/share/bash-completion/completions/gwctl 644
$p/share/zsh/vendor-completions/_gwctl 644
$p/share/fish/vendor_completions.d/gwctl.fish 644
$p/share/doc/gw/gateway.example.yaml 644
$p/share/doc/gw/README.md 644
$p/share/doc/gw/admin-protocol.md 644
$p/share/doc/gw/contract.md 644
/etc/gw/gateway.yaml.example 640
EOL
	[ -e "$d/etc/gw/gateway.yaml" ] && fail "$p: install wrote a live /etc/gw/gateway.yaml"
	grep -q "^ExecStart=$p/sbin/gwd --foreground -c /etc/gw/gateway.yaml$" \
		"$d$p/lib/systemd/system/gwd.service" || fail "$p: the unit's ExecStart does not follow PREFIX"
	grep -q "^Type=notify$" "$d$p/lib/systemd/system/gwd.service" || fail "$p: unit is not Type=notify"
	"$d$p/sbin/gwd" --version | grep -q "^gwd " || fail "$p: installed gwd does not run"
	# The example names /etc/gw files a test host lacks (the certificate,
	# the upstream CA, the client CA, JWKS, API keys, the Redis password):
	# --check must find the file valid except for exactly those six.
	out=$("$d$p/sbin/gwd" --check -c "$d$p/share/doc/gw/gateway.example.yaml" 2>&1)
	bad=$(grep -v ': No such file or directory$' <<<"$out" | grep -v ': valid$' || true)
	[ -z "$bad" ] || fail "$p: the installed example config is not valid: $bad"
	[ "$(grep -c ': No such file or directory$' <<<"$out")" = 6 ] ||
		fail "$p: --check did not name the example's six missing files: $out"
	"$d$p/bin/gwctl" --help | grep -q "usage: gwctl" || fail "$p: installed gwctl does not run"
	bash -n "$d$p/share/bash-completion/completions/gwctl" || fail "$p: completion is not bash"
	if command -v zsh >/dev/null; then
		zsh -n "$d$p/share/zsh/vendor-completions/_gwctl" || fail "$p: completion is not zsh"
	fi
	if command -v fish >/dev/null; then
		fish -n "$d$p/share/fish/vendor_completions.d/gwctl.fish" ||
			fail "$p: completion is not fish"
	fi
	MANPATH=$d$p/share/man man -w gwd >/dev/null 2>&1 || fail "$p: man cannot find gwd(8)"
	# verify wants the program where the unit says; point it at DESTDIR.
	mkdir -p "$TMP/verify"
	sed "s#$p/sbin/#$d$p/sbin/#g" "$d$p/lib/systemd/system/gwd.service" \
		>"$TMP/verify/gwd.service"
	out=$(MANPATH=$d$p/share/man systemd-analyze verify --man=no \
		"$TMP/verify/gwd.service" 2>&1) || fail "$p: systemd-analyze verify: $out"
}

for p in /usr /usr/local; do
	d=$TMP/root${p//\//_}
	make -s -C "$ROOT" BUILD="$BUILD" install DESTDIR="$d" PREFIX="$p" >"$TMP/make.log" 2>&1 ||
		{ cat "$TMP/make.log"; fail "make install PREFIX=$p failed"; continue; }
	check_tree "$d" "$p"
done
[ "$fails" = 0 ] || exit 1
echo "PASS"
