#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# PNG plots of the benchmarks' ratio tables (`make bench` runs it last):
#   bench/plot.sh [--note TEXT] [DIR [OUT]]
# reads DIR/xdp.tsv (bench/run.sh: each bench_xdp row's ratio to the
# floor) and DIR/l7.tsv (bench/l7.sh: each run's gwd / HAProxy and gwd /
# nginx ratios) and writes, into OUT (default DIR, itself default
# build/bench):
#   xdp.png     gw's pass, deny and forward paths beside xdp-filter, in
#               multiples of the floor (a bare XDP program: 1.0)
#   l7.png      gwd's requests/s as a multiple of HAProxy's and nginx's,
#               median over the runs of each case (higher is better)
#   l7-p99.png  the same for p99 latency (lower is better)
# A missing input is skipped with a note. --note TEXT is added to the
# titles (e.g. the run's date). Needs gnuplot (Debian's gnuplot-nox) and
# python3.
set -euo pipefail

NOTE=
if [ "${1:-}" = --note ]; then
	NOTE=" ($2)"
	shift 2
fi
DIR=${1:-${BUILD:-build}/bench}
OUT=${2:-$DIR}
command -v gnuplot >/dev/null || { echo "bench/plot.sh: needs gnuplot (gnuplot-nox)" >&2; exit 1; }
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/gw-plot.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# tables: the gnuplot data files ("-" where a value is missing), from the
# TSVs; prints which were written.
python3 - "$DIR" "$TMP" >"$TMP/which" <<'PY'
import os, statistics, sys

src, tmp = sys.argv[1:3]

def rows(name):
    path = os.path.join(src, name)
    if not os.path.exists(path):
        print('bench/plot.sh: no %s: skipped' % path, file=sys.stderr)
        return None
    with open(path) as f:
        return [l.rstrip('\n').split('\t') for l in f if l.strip() and not l.startswith('#')]

def num(v):
    try:
        x = float(v)
        return x if x == x else None
    except ValueError:
        return None

def cell(v):
    return '-' if v is None else '%.3f' % v

# bench_xdp's rows by path: (gw row, xdp-filter row)
XDP = [('pass IPv4', 'gw pass IPv4 (filter+rl)', 'xdp-filter pass IPv4'),
       ('pass IPv6', 'gw pass IPv6 (filter+rl)', 'xdp-filter pass IPv6'),
       ('deny IPv4', 'gw deny IPv4', 'xdp-filter deny IPv4'),
       ('deny IPv6', 'gw deny IPv6', None),
       ('nat forward', 'gw nat forward (ct filled)', None),
       ('ipip forward', 'gw ipip forward', None)]
r = rows('xdp.tsv')
if r is not None:
    by = {l[0].strip(): num(l[1]) for l in r if len(l) >= 2}
    with open(os.path.join(tmp, 'xdp.dat'), 'w') as f:
        for name, gw, xf in XDP:
            if by.get(gw) is not None:
                f.write('"%s" %s %s\n' % (name, cell(by[gw]), cell(by.get(xf))))
    print('xdp')

KEYS = {'ec': 'P-256', 'rsa': 'RSA'}
r = rows('l7.tsv')
if r is not None:
    cases = {}
    for l in r:
        if len(l) < 7:
            continue
        label = l[0] if l[0] == 'plain' else '%s %s' % (l[0], KEYS.get(l[1], l[1]))
        c = cases.setdefault(label, [[], [], [], []])
        for i in range(4):
            if num(l[3 + i]) is not None:
                c[i].append(num(l[3 + i]))
    med = lambda v: statistics.median(v) if v else None
    for name, cols in (('l7.dat', (0, 1)), ('l7-p99.dat', (2, 3))):
        with open(os.path.join(tmp, name), 'w') as f:
            for label, c in cases.items():
                f.write('"%s" %s %s\n' % (label, cell(med(c[cols[0]])), cell(med(c[cols[1]]))))
    print('l7')
PY

# plot DAT PNG TITLE YLABEL A B: a clustered bar chart of the two columns
# of DAT (titled A and B), values on the bars, a dashed line at 1.0.
plot() {
	gnuplot <<-GP
	set terminal pngcairo size 1000,480 font "sans,10"
	set output "$2"
	set title "$3"
	set ylabel "$4"
	set datafile missing "-"
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.85 border -1
	set boxwidth 1
	set yrange [0:*]
	set grid ytics
	set key top left
	set xtics nomirror
	set offsets 0, 0, graph 0.12, 0
	plot "$1" using 2:xtic(1) title "$5" lc rgb "#1f77b4", \
		"" using 3 title "$6" lc rgb "#ff7f0e", \
		"" using (\$0 - 1.0 / 6):2:(sprintf("%.2f", \$2)) with labels offset 0, 0.7 notitle, \
		"" using (\$0 + 1.0 / 6):3:(sprintf("%.2f", \$3)) with labels offset 0, 0.7 notitle, \
		1 with lines dt 2 lc rgb "#444444" title "1.0"
	GP
	echo "  PLOT     $2"
}

if grep -qx xdp "$TMP/which"; then
	plot "$TMP/xdp.dat" "$OUT/xdp.png" "XDP paths in multiples of the floor (bare XDP program)$NOTE" \
		"multiple of the floor's ns/packet (lower is better)" gw xdp-filter
fi
if grep -qx l7 "$TMP/which"; then
	plot "$TMP/l7.dat" "$OUT/l7.png" "gwd requests/s against HAProxy and nginx$NOTE" \
		"gwd / peer, median (higher is better)" "gwd / HAProxy" "gwd / nginx"
	plot "$TMP/l7-p99.dat" "$OUT/l7-p99.png" "gwd p99 latency against HAProxy and nginx$NOTE" \
		"gwd / peer, median (lower is better)" "gwd / HAProxy" "gwd / nginx"
fi
