#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The man pages render without warnings and document what is built, with
# the lists taken from the sources (so adding a verb, option or key without
# documenting it fails here):
# - every command form in gwctl's usage text and every gwctl long option
#   is in gwctl.8;
# - every gwd long option is in gwd.8;
# - every keyword of config.c's keyword tables is an item of gateway.yaml.5.
# Needs no root.
# vm: skip (man pages and help texts)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MAN=$ROOT/docs/man
command -v groff >/dev/null || { echo "SKIP: missing groff"; exit 77; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# Rendering: groff with every warning, and man(1)'s own check when present.
for page in gwd.8 gwctl.8 gateway.yaml.5; do
	[ -f "$MAN/$page" ] || { fail "missing $MAN/$page"; continue; }
	w=$(groff -ww -man -z "$MAN/$page" 2>&1)
	[ -z "$w" ] || fail "$page: groff warnings: $w"
	if command -v man >/dev/null; then
		w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN/$page" 2>&1 >/dev/null)
		[ -z "$w" ] || fail "$page: man warnings: $w"
	fi
done

# The text of a page as a reader sees it, on one line per paragraph.
text() { LC_ALL=C.UTF-8 groff -man -Tutf8 -P-cbou "$MAN/$1" 2>/dev/null | tr -s ' \n' '  '; }

# gwctl: the command forms of the usage text (the .form strings of its
# command table): the lowercase words before the first argument or option
# of each ("filter deny add|del", "ratelimit set packets|syn"), each
# alternative of a form split at " | ".
GWCTL_TEXT=$(text gwctl.8)
forms=$(sed -n 's/.*\.form = "\([a-z][^"]*\)".*/\1/p' "$ROOT/cli/gwctl.c" |
	sed 's/ | /\n/g' | awk '{
		out = ""
		for (i = 1; i <= NF; i++) {
			if ($i !~ /^[a-z][a-z|]*$/) break
			out = out (out ? " " : "") $i
		}
		if (out) print out
	}' | sort -u)
n=0
while read -r f; do
	[ -n "$f" ] || continue
	n=$((n + 1))
	grep -qF -- "$f" <<<"$GWCTL_TEXT" && continue
	# "filter deny add|del" may be documented as one item per alternative.
	head=${f% *} alts=${f##* }
	[[ $alts == *"|"* ]] || { fail "gwctl.8 does not document '$f'"; continue; }
	for a in ${alts//|/ }; do
		grep -qF -- "$head $a" <<<"$GWCTL_TEXT" || fail "gwctl.8 does not document '$head $a'"
	done
done <<<"$forms"
[ "$n" -ge 11 ] || fail "only $n gwctl command forms found in the command table (parser broken?)"

# check_opts SOURCE PAGE MIN: every long option of SOURCE's getopt table
# ("--name") is in PAGE's text; fewer than MIN found means a broken parser.
check_opts() {
	local o n=0 page_text
	page_text=$(text "$2")
	for o in $(sed -n 's/^[[:space:]]*{ "\([a-z-]*\)", \(no\|required\|optional\)_argument.*/--\1/p' "$1"); do
		n=$((n + 1))
		grep -qF -- "$o" <<<"$page_text" || fail "$2 does not document $o"
	done
	[ "$n" -ge "$3" ] || fail "only $n options found in $1"
}
check_opts "$ROOT/cli/gwctl.c" gwctl.8 10
check_opts "$ROOT/agent/daemon/gwd.c" gwd.8 6

# gateway.yaml: every keyword of every table is a bold item (".B key").
keys=$(sed -n 's/^[[:space:]]*\(STR\|BOOL\|U32\|DUR\|RATE\|IP\|EP\|ENUM\|TABLE\|LIST\|STRMAP\)(struct [a-z_]*, [a-z_]*, "\([a-z_0-9]*\)".*/\2/p' \
	"$ROOT/agent/config/config.c" | sort -u)
n=0
for k in $keys; do
	n=$((n + 1))
	grep -qE "^\.B $k( |$)|\\\\fB$k\\\\f" "$MAN/gateway.yaml.5" ||
		fail "gateway.yaml.5 does not document the key '$k'"
done
[ "$n" -ge 60 ] || fail "only $n config keywords found in config.c (parser broken?)"

[ "$fails" = 0 ] || exit 1
echo "PASS ($(wc -w <<<"$forms") words of gwctl forms, $n config keys)"
