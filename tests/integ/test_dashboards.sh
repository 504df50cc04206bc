#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# vm: skip (static files)
#
# The Grafana dashboard and the Prometheus alert rules in docs/ are valid
# and use only metrics gwd exports:
# - `promtool check rules` accepts docs/prometheus/gw-alerts.yml, and
#   `promtool test rules` passes its unit tests (gw-alerts.test.yml: each
#   alert fires on what it watches, not on healthy series);
# - docs/grafana/gw.json parses, is a dashboard with a ${DS_PROMETHEUS}
#   input and an instance variable, and every query of it is valid PromQL
#   (promtool checks them as recording rules, Grafana's variables
#   replaced);
# - every gw_* and process_* name in the dashboard's queries, the rules
#   and their tests is a metric named in agent/'s sources (so renaming a
#   metric without updating them fails here).
# Needs no root. Skips (77) without promtool (Debian's prometheus package).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DASH=$ROOT/docs/grafana/gw.json
RULES=$ROOT/docs/prometheus/gw-alerts.yml
RTEST=$ROOT/docs/prometheus/gw-alerts.test.yml
TMP=$(mktemp -d /tmp/gw-dash.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
command -v promtool >/dev/null || { echo "SKIP: missing promtool (prometheus)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: missing python3"; exit 77; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if out=$(promtool check rules "$RULES" 2>&1); then
	echo "ok: promtool check rules: $(tail -1 <<<"$out" | sed 's/^ *//')"
else
	fail "promtool check rules $RULES:"
	echo "$out"
fi
if out=$(cd "$(dirname "$RTEST")" && promtool test rules "$(basename "$RTEST")" 2>&1); then
	echo "ok: promtool test rules: $(grep -c 'alertname=' "$RTEST") alert samples expected"
else
	fail "promtool test rules $RTEST:"
	echo "$out"
fi

python3 - "$ROOT" "$DASH" "$TMP/dash-rules.yml" "$RULES" "$RTEST" <<'PY' || fails=$((fails + 1))
import glob, json, re, sys

root, dash_path, dash_rules = sys.argv[1:4]
rules_paths = sys.argv[4:]
NAME = re.compile(r'\b((?:gw|process)_[a-z0-9_]+)\b')

# Metric names gwd writes: string literals starting with gw_ or process_ in
# agent/ ("gw_x_total{...", gw_prom_header(f, "gw_x", ...)); a literal with
# %s (gw_service_%s_total) stands for each lower-case word literal of the
# same file that fills it.
known, patterns = set(), []
for path in glob.glob(root + '/agent/**/*.c', recursive=True):
    src = open(path).read()
    words = set(re.findall(r'"([a-z]+)"', src))
    for lit in re.findall(r'"((?:gw|process)_[a-z0-9_%]+)', src):
        if '%s' in lit:
            patterns.append((re.compile(re.escape(lit).replace('%s', '([a-z]+)') + '$'), words))
        else:
            known.add(lit)

def exported(name):
    if name in known:
        return True
    return any((m := p.match(name)) and m.group(1) in w for p, w in patterns)

fails = 0
def fail(msg):
    global fails
    print('FAIL: ' + msg)
    fails += 1

try:
    dash = json.load(open(dash_path))
except ValueError as e:
    print('FAIL: %s does not parse: %s' % (dash_path, e))
    sys.exit(1)

if not isinstance(dash.get('schemaVersion'), int) or dash['schemaVersion'] < 37:
    fail('dashboard schemaVersion %r, want >= 37' % dash.get('schemaVersion'))
if not any(i.get('name') == 'DS_PROMETHEUS' and i.get('pluginId') == 'prometheus'
           for i in dash.get('__inputs', [])):
    fail('dashboard has no DS_PROMETHEUS datasource input')
if not any(v.get('name') == 'instance' for v in dash.get('templating', {}).get('list', [])):
    fail('dashboard has no instance variable')

# Every query string of the dashboard: targets' expr, annotations' expr,
# template variables' query/definition.
exprs = []
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k in ('expr', 'definition') and isinstance(v, str):
                exprs.append(v)
            elif k == 'query' and isinstance(v, (str, dict)):
                exprs.append(v if isinstance(v, str) else v.get('query', ''))
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(dash)
n_panels = sum(1 for p in dash.get('panels', []) if p.get('type') != 'row')
if n_panels < 10 or len(exprs) < 10:
    fail('dashboard has %d panels and %d queries: too few' % (n_panels, len(exprs)))
for p in dash.get('panels', []):
    if p.get('type') != 'row' and not p.get('targets'):
        fail('panel %r has no query' % p.get('title'))

# The queries as recording rules for promtool, Grafana's variables
# replaced by what they stand for; json.dumps quotes each as YAML can read.
with open(dash_rules, 'w') as f:
    f.write('groups:\n  - name: dashboard\n    rules:\n')
    for i, e in enumerate(exprs):
        if e.startswith('label_values('):
            continue
        e = e.replace('$__rate_interval', '2m').replace('$instance', '.*')
        f.write('      - record: gw_dashboard_query_%d\n        expr: %s\n' % (i, json.dumps(e)))

used = {}
for e in exprs:
    for n in NAME.findall(e):
        used.setdefault(n, set()).add('gw.json')
for path in rules_paths:
    for line in open(path):
        if line.lstrip().startswith('#'):
            continue
        for n in NAME.findall(line):
            used.setdefault(n, set()).add(path.rsplit('/', 1)[-1])

for n in sorted(used):
    if not exported(n):
        fail('%s (in %s) is not a metric of agent/' % (n, ', '.join(sorted(used[n]))))
print('ok: %d metric names used, %d known from agent/' % (len(used), len(known)))
sys.exit(1 if fails else 0)
PY

if out=$(promtool check rules "$TMP/dash-rules.yml" 2>&1); then
	echo "ok: the dashboard's queries parse: $(tail -1 <<<"$out" | sed 's/^ *//')"
else
	fail "a query of $DASH is not valid PromQL:"
	echo "$out"
fi

[ "$fails" = 0 ] || { echo "FAIL: $fails"; exit 1; }
echo "PASS"
