#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The man pages render without warnings and document what is built, with
# the lists taken from the sources (so adding a verb, option or key without
# documenting it fails here):
# - every command form in gwctl's usage text and every gwctl long option
#   is in gwctl.8; gwctl.8's command items are exactly the usage text's
#   forms (operands and options included) and its OPTIONS exactly those
#   of `gwctl --help`;
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

# gwctl: the command items of gwctl.8 and the forms of its usage text are
# the same set, both ways, word for word (operands and options included),
# "add|del" among the command words standing for one line each; and the
# options of `gwctl --help` are the items of gwctl.8's OPTIONS.
GWCTL=${BUILD:-$ROOT/build}/bin/gwctl
[ -x "$GWCTL" ] || fail "missing $GWCTL (run make): gwctl --help not checked"
out=$(python3 - "$ROOT/cli/gwctl.c" "$MAN/gwctl.8" "$GWCTL" <<'PY'
import os, re, subprocess, sys
src, man, exe = sys.argv[1:4]

def expand(form):
    """One line per alternative of the command words of form."""
    out = []
    for alt in form.split(" | "):
        words, rest = alt.split(), []
        lines = [""]
        for i, w in enumerate(words):
            if not re.fullmatch(r"[a-z][a-z|]*", w):
                rest = words[i:]
                break
            lines = [(l + " " + a).strip() for l in lines for a in w.split("|")]
        out += [" ".join([l] + rest) for l in lines]
    return out

def roff(line):
    """The text of a man page line as a reader sees it."""
    line = re.sub(r"^\.(B|BR|BI|I|IR|RB)\s+", "", line)
    line = re.sub(r"\\f[BIRP]", "", line).replace("\\-", "-").replace('"', "")
    return " ".join(line.split())

def items(text, section):
    body = re.search(r"^\.SH %s\n(.*?)^\.SH " % section, text, re.S | re.M).group(1)
    return [roff(l) for l in re.findall(r"^\.TP\n(.*)$", body, re.M)]

text = open(man).read()
forms = re.findall(r'\.form = "([^"]*)"', open(src).read())
help_lines = {l for f in forms for l in expand(f)}
man_lines = {l for i in items(text, "COMMANDS") for l in expand(i)}
bad = 0
for l in sorted(help_lines - man_lines):
    print("gwctl --help has '%s', gwctl.8 has no such item" % l); bad += 1
for l in sorted(man_lines - help_lines):
    print("gwctl.8 has the item '%s', gwctl --help has not" % l); bad += 1
if os.access(exe, os.X_OK):
    h = subprocess.run([exe, "--help"], capture_output=True, text=True).stdout
    sect = h.split("\noptions:\n", 1)[1]
    hopts = set(re.findall(r"^  (?:(-[a-z]), )?(--[a-z-]+)", sect, re.M))
    hopts = {o for pair in hopts for o in pair if o}
    mopts = {o for i in items(text, "OPTIONS") for o in re.findall(r"--?[a-z][a-z-]*", i)}
    for o in sorted(hopts ^ mopts):
        print("option %s: in %s only" % (o, "gwctl --help" if o in hopts else "gwctl.8"))
        bad += 1
print("%d forms" % len(help_lines))
sys.exit(1 if bad else 0)
PY
) || fail "gwctl --help and gwctl.8 differ: $(sed '$d' <<<"$out")"
n=$(sed -n 's/^\([0-9]*\) forms$/\1/p' <<<"$out")
[ "${n:-0}" -ge 18 ] || fail "only ${n:-0} gwctl command forms read (parser broken?)"

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
keys=$(sed -n 's/^[[:space:]]*\(STR\|BOOL\|BOOLP\|U32\|DUR\|RATE\|IP\|EP\|ENUM\|TABLE\|LIST\|STRMAP\)(struct [a-z_]*, [a-z_]*, "\([a-z_0-9]*\)".*/\2/p' \
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
