#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make check-layers: every project include in agent/ and cli/ is allowed by
# the layer table in docs/architecture.md (between the "layers" markers).
# A file may include its own folder, include/gw/ ("gw/..."), the BPF
# skeletons (*.skel.h) and the folders its row lists; a folder without a row
# fails too, so a new part must be placed in the table. Prints every
# forbidden include as FILE:LINE:, checks that the built gwctl and gw-dpctl
# carry no L7 symbol, and ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 2

doc=docs/architecture.md
declare -A allowed
while IFS='|' read -r _ folder deps _; do
	folder=$(echo "$folder" | tr -d ' ')
	deps=$(echo "$deps" | tr -d ' ')
	[ -n "$folder" ] && [ "$folder" != folder ] && [ "${folder#-}" = "$folder" ] || continue
	allowed[$folder]=",${deps},"
done < <(sed -n '/<!-- layers: begin -->/,/<!-- layers: end -->/p' "$doc" | grep '^|')

if [ "${#allowed[@]}" = 0 ]; then
	echo "check-layers: no layer table in $doc"
	echo "0 passed, 1 failed"
	exit 1
fi

pass=0 fail=0
for f in agent/*/*.[ch] cli/*.c; do
	dir=${f%/*}
	part=${dir##*/}
	if [ -z "${allowed[$part]+x}" ]; then
		echo "$f: folder '$part' has no row in the layer table of $doc"
		fail=$((fail + 1))
		continue
	fi
	bad=0
	while IFS=: read -r line inc; do
		target=$(sed -E 's/.*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/' <<<"$inc")
		case $target in
		gw/* | *.skel.h) continue ;;
		*/*) to=${target%%/*} ;;
		*)
			echo "$f:$line: \"$target\": project includes name their folder"
			bad=1
			continue
			;;
		esac
		[ "$to" = "$part" ] && continue
		if [ -z "${allowed[$to]+x}" ] && [ ! -d "agent/$to" ]; then
			echo "$f:$line: \"$target\": no such part"
			bad=1
		elif [[ ${allowed[$part]} != *",$to,"* ]]; then
			echo "$f:$line: \"$target\": $part may not include $to (docs/architecture.md)"
			bad=1
		fi
	done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$f")
	if [ "$bad" = 0 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
# The CLI tools link core, config and dp only: no proxy, L7, TLS or JWT
# symbol may appear in them (checked when they are built).
for bin in "${BUILD:-build}"/bin/gwctl "${BUILD:-build}"/bin/gw-dpctl; do
	[ -x "$bin" ] || continue
	leaked=$(nm "$bin" | grep -E ' (gw_proxy_|gw_l7_|gw_tls_|gw_jwt|gw_jws|gw_jwks|gw_authset|gw_http_|SSL_)' | head -5)
	if [ -n "$leaked" ]; then
		echo "$bin links L7 code: $leaked"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
done
echo "check-layers: $pass passed, $fail failed"
[ "$fail" = 0 ]
