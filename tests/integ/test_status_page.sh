#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The status page on the metrics listener (/status and /): gwd with a
# route to an origin, a rate-limited route, a denied client network and a
# ban, after some traffic (200s, 429s, filter drops) and a reload:
# - curl gets an HTML page (no script, no outside asset, a meta refresh),
#   every value escaped: a route whose label holds "<script>" shows as text;
# - headless Chromium renders it (a screenshot, a PNG of some size) and
#   its DOM's numbers equal `gwctl stats --json` / `gwctl status --json`
#   taken around it (retried while stray packets move the counters), the
#   routes' counts and p50/p99 equal /metrics' (its histogram), and the
#   rates equal the counts over the page's window (gwd samples at start);
# - a terminal-width fetch of / is the same page.
# The page is read from inside the gateway's netns (over lo, past no XDP),
# so fetching it moves no datapath counter.
# vm: skip (user space only)
. "$(dirname "$0")/lib.sh"
it_init stp
it_gwd_setup 1 curl chromium
it_l7_backends 120

XSS='<script>alert(1)</script>'
{
	it_gw_yaml false "$SOCK"
	cat <<YAML
  metrics: $GW:9100
filter:
  deny: [198.18.2.0/24]
listeners:
  - { name: http, address: "$GW:80" }
upstreams:
  - { name: web, servers: [198.18.11.2:8080] }
routes:
  - name: limited
    match: { path_prefix: /lim/ }
    upstream: web
    rate_limit: { rate: 1/m, burst: 3, key: ip }
  - match: { path_prefix: "/$XSS/" }
    upstream: web
  - name: plain
    match: { path_prefix: / }
    upstream: web
YAML
} >"$CFG"
it_gwd_start "$CFG" "$LOG" "$SOCK"
gwctl() { "$GWCTL_BIN" -s "$SOCK" "$@"; }
gwx() { nsenter --net="/run/netns/$IT_GW" "$@"; }
URL=http://$GW:9100

# ---- traffic: 200s, 429s, a denied client, a ban, a reload ----
for ((i = 0; i < 5; i++)); do
	c=$(code /x)
	[ "$c" = 200 ] || it_fail "GET /x: $c"
done
codes=""
for ((i = 0; i < 6; i++)); do
	codes+="$(code /lim/x) "
done
[ "$codes" = "200 200 200 429 429 429 " ] || it_fail "rate limit: $codes"
nsx "$IT_CL2" curl -s -o /dev/null -m 1 "http://198.18.2.1/" && it_fail "a denied client got through"
gwctl filter deny add 198.18.77.0/24 --ttl 10m >/dev/null || it_fail "a ban"
gwctl reload >/dev/null || it_fail "reload"
it_log "traffic: 5x200 on plain, 3x200+3x429 on limited, a denied client, a ban, a reload"

# ---- the HTML itself ----
gwx curl -s -m 5 -D "$IT_TMP/head" -o "$IT_TMP/page.html" "$URL/status" || it_fail "GET /status"
grep -qi '^Content-Type: text/html' "$IT_TMP/head" || it_fail "not HTML: $(cat "$IT_TMP/head")"
grep -qi "^Content-Security-Policy: default-src 'none'" "$IT_TMP/head" || it_fail "no CSP"
grep -q '<meta http-equiv="refresh"' "$IT_TMP/page.html" || it_fail "no meta refresh"
grep -qi '<script' "$IT_TMP/page.html" && it_fail "a <script> on the page: escaping failed"
grep -qiE '(src|href)="(https?:)?//' "$IT_TMP/page.html" && it_fail "an outside asset"
grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' "$IT_TMP/page.html" ||
	it_fail "the route label with <script> is not on the page, escaped"
gwx curl -s -m 5 "$URL/" | grep -q '<h1>gw status</h1>' || it_fail "/ is not the status page"
gwx curl -s -m 5 "$URL/metrics" | grep -q '^gw_config_generation 2' || it_fail "/metrics broke"
it_log "HTML: text/html with a CSP, a meta refresh, no script, escaped labels"

# ---- Chromium: a screenshot, and the DOM against gwctl ----
chrome() {
	gwx timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$IT_TMP/chromium" --disable-dev-shm-usage "$@" 2>>"$IT_TMP/chromium.log"
}
chrome --screenshot="$IT_TMP/status.png" --window-size=1024,1400 "$URL/status" >/dev/null
[ -s "$IT_TMP/status.png" ] || it_fail "no screenshot: $(tail -5 "$IT_TMP/chromium.log")"
size=$(stat -c %s "$IT_TMP/status.png")
[ "$(head -c 8 "$IT_TMP/status.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
	it_fail "the screenshot is no PNG"
[ "$size" -gt 20000 ] || it_fail "the screenshot is only $size bytes"
[ -z "${GW_STATUS_PNG:-}" ] || cp "$IT_TMP/status.png" "$GW_STATUS_PNG"
it_log "screenshot: $size bytes"

ok=0
for ((try = 0; try < 5 && !ok; try++)); do
	gwctl --json stats >"$IT_TMP/stats1.json" || it_fail "gwctl stats"
	gwctl --json status >"$IT_TMP/status.json" || it_fail "gwctl status"
	chrome --dump-dom "$URL/status" >"$IT_TMP/dom.html"
	gwctl --json stats >"$IT_TMP/stats2.json" || it_fail "gwctl stats"
	gwx curl -s -m 5 "$URL/metrics" >"$IT_TMP/metrics.txt"
	# stray packets (IPv6 neighbour discovery) between the two: again
	cmp -s "$IT_TMP/stats1.json" "$IT_TMP/stats2.json" && ok=1
done
[ "$ok" = 1 ] || it_fail "the counters never held still over a page's fetch"
"$PY" - "$IT_TMP/dom.html" "$IT_TMP/stats1.json" "$IT_TMP/status.json" \
	"$IT_TMP/metrics.txt" "$XSS" <<'PYEOF' || it_fail "the page does not match gwctl"
import json, re, sys
from html.parser import HTMLParser

dom, stats, status = open(sys.argv[1]).read(), json.load(open(sys.argv[2])), \
    json.load(open(sys.argv[3]))
metrics, xss = open(sys.argv[4]).read(), sys.argv[5]

class Page(HTMLParser):
    """rows[(kind, key)] = {data-k: text}; every data-k outside a keyed row
    in top."""
    def __init__(self):
        super().__init__()
        self.rows, self.top, self.row, self.cell, self.scripts = {}, {}, None, None, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "tr":
            keyed = [(k[5:], v) for k, v in attrs if k.startswith("data-")]
            self.row = keyed[0] if keyed else None
            if self.row:
                self.rows.setdefault(self.row, {})
        if "data-k" in a:
            self.cell, self.text = a["data-k"], ""
    def handle_endtag(self, tag):
        if tag in ("td", "span") and self.cell:
            (self.rows[self.row] if self.row else self.top)[self.cell] = self.text.strip()
            self.cell = None
        if tag == "tr":
            self.row = None
    def handle_data(self, d):
        if self.cell:
            self.text += d

p = Page()
p.feed(dom)
fail = []
def same(what, page, want):
    if str(page) != str(want):
        fail.append(f"{what}: page {page!r}, gwctl {want!r}")

if p.scripts:
    fail.append("a script element in the DOM")
same("generation", p.top.get("generation"), status["generation"])
same("generation is 2", status["generation"], 2)
shown = {k[1] for k in p.rows if k[0] == "reason"}
for r in stats["reasons"]:
    if r["packets"]:
        row = p.rows.get(("reason", r["reason"]), {})
        same(f"reason {r['reason']} packets", row.get("packets"), r["packets"])
        same(f"reason {r['reason']} bytes", row.get("bytes"), r["bytes"])
    elif r["reason"] in shown:
        fail.append(f"reason {r['reason']} without packets is shown")
filt = [r for r in stats["reasons"] if r["reason"].startswith("filter")]
if not any(r["packets"] for r in filt):
    fail.append("no filter drop counted")
t = p.rows.get(("totals", ""), {})
for k in ("pass", "forward", "drop"):
    same(f"total {k}", t.get(k), stats["totals"][k])
# routes against /metrics
def requests(label, code=None):
    n = 0
    for m in re.finditer(r'^gw_http_requests_total\{route="((?:[^"\\]|\\.)*)",code="(\w+)"\} (\d+)$',
                         metrics, re.M):
        if m.group(1) == label and (code is None or m.group(2) == code):
            n += int(m.group(3))
    return n
for label in ("limited", "plain"):
    row = p.rows.get(("route", label), {})
    same(f"route {label} requests", row.get("requests"), requests(label))
    same(f"route {label} 429", row.get("limited"), requests(label, "429"))
    if not re.match(r"^[0-9.]+$", row.get("p50", "")) or not re.match(r"^[0-9.]+$", row.get("p99", "")):
        fail.append(f"route {label}: p50/p99 {row.get('p50')!r} {row.get('p99')!r}")
# p50/p99: interpolated in the buckets of /metrics' histogram (ms)
def quantile(label, q):
    b = [(float("inf") if m.group(1) == "+Inf" else float(m.group(1)), int(m.group(2)))
         for m in re.finditer(r'^gw_http_request_duration_seconds_bucket\{route="' +
                              re.escape(label) + r'",le="([^"]+)"\} (\d+)$', metrics, re.M)]
    rank, lo, cum = q * b[-1][1], 0.0, 0
    for le, c in b:
        if c >= rank:
            if le == float("inf"):
                return None
            return (lo + (le - lo) * ((rank - cum) / (c - cum) if c > cum else 1.0)) * 1000
        lo, cum = le, c
for label in ("limited", "plain"):
    for q, k in ((0.5, "p50"), (0.99, "p99")):
        want, got = quantile(label, q), p.rows.get(("route", label), {}).get(k)
        if want is None or abs(float(got) - want) > 0.006 * want + 1e-9:
            fail.append(f"route {label} {k}: page {got!r}, /metrics' histogram {want}")
same("limited requests", p.rows.get(("route", "limited"), {}).get("requests"), 6)
same("limited 429s", p.rows.get(("route", "limited"), {}).get("limited"), 3)
same("plain requests", p.rows.get(("route", "plain"), {}).get("requests"), 5)
# rates: gwd sampled at start, before the traffic, and every 5 s since;
# the page's window (its titles) is at most a minute
def near(what, rate, count, win):
    want = count / win
    try:
        got = float(rate)
    except (TypeError, ValueError):
        got = None
    if got is None or abs(got - want) > 0.06 + 0.1 * want:
        fail.append(f"{what}: {rate!r}/s over {win} s, want {want:.2f} ({count} in total)")
m = re.search(r"L7 routes \(rates over the last (\d+(?:\.\d)?) s", dom)
win = float(m.group(1)) if m else 0
if not 0 < win <= 65:
    fail.append(f"the routes' rate window: {win}")
else:
    lim, plain = p.rows.get(("route", "limited"), {}), p.rows.get(("route", "plain"), {})
    near("limited req/s", lim.get("rps"), 6, win)
    near("limited 429/s", lim.get("lps"), 3, win)
    near("plain req/s", plain.get("rps"), 5, win)
    near("plain 429/s", plain.get("lps"), 0, win)
    f = [r for r in filt if r["packets"]][0]
    near(f"reason {f['reason']} packets/s", p.rows.get(("reason", f["reason"]), {}).get("rate"),
         f["packets"], win)
if ("route", f"*/{xss}/*") not in p.rows:
    fail.append("the <script> route is not a row of its own: " + repr([k for k in p.rows if k[0] == "route"]))
same("upstream server state", p.rows.get(("server", "web/198.18.11.2:8080"), {}).get("state"), "up")
if ("ban", "198.18.77.0/24") not in p.rows:
    fail.append("the ban is not shown")
same("bans", p.rows.get(("bans", ""), {}).get("bans"), 1)
ifs = {i["name"]: i["hook"] for i in status["interfaces"]}
for name, hook in ifs.items():
    if ("iface", name) not in p.rows:
        fail.append(f"interface {name} ({hook}) not shown")
if ("listener", "http") not in p.rows:
    fail.append("the listener is not shown")
if "applied at" not in dom:
    fail.append("the last reload is not shown as applied")
if "Spliced connections" not in dom:
    fail.append("no spliced connections row")
for f in fail:
    print("MISMATCH:", f)
print(f"checked: {len(stats['reasons'])} reasons, {len(p.rows)} rows")
sys.exit(1 if fail else 0)
PYEOF
it_log "the DOM's numbers equal gwctl stats/status --json and /metrics"

# ---- a narrow terminal browser: plain tables, no script needed ----
if command -v w3m >/dev/null; then
	gwx timeout 10 w3m -dump -cols 80 "$URL/" >"$IT_TMP/w3m.txt" || it_fail "w3m"
	grep -q "Datapath verdicts" "$IT_TMP/w3m.txt" || it_fail "w3m: no verdicts"
	grep -qE "^ *limited +upstream +6 +0 +3 " "$IT_TMP/w3m.txt" ||
		it_fail "w3m: the limited route's row: $(grep limited "$IT_TMP/w3m.txt")"
	[ -z "${GW_STATUS_W3M:-}" ] || cp "$IT_TMP/w3m.txt" "$GW_STATUS_W3M"
	it_log "w3m -cols 80 renders it"
fi
it_log "PASS"
