#!/usr/bin/env bash
# Renders `aide report <run> --format html` and loads the page in headless Chromium: takes a
# screenshot, and fails when the page's JS raised an error or drew no tree.
#
#   scripts/check-html-report.sh [-o DIR] [RUN ...]
#
# RUN is a run folder or its run.sqlite (several may be given). Without one, a 2,000-node run is
# generated through the real store (by HTMLReportTests/largeRunStaysCompact) and checked.
# Writes DIR/<run>.html, DIR/<run>.png (1400x1000) and DIR/<run>.dom.html; DIR defaults to a new
# temporary folder. Needs Debian's `chromium` package (apt-get install -y chromium).
set -euo pipefail

cd "$(dirname "$0")/.."

out=""
runs=()
while (($#)); do
    case "$1" in
        -o) out="${2:?-o needs a folder}"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) runs+=("$1"); shift ;;
    esac
done

browser=""
for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then browser="$candidate"; break; fi
done
if [[ -z "$browser" ]]; then
    echo "error: chromium is missing; install it with: apt-get install -y chromium" >&2
    exit 2
fi

out="${out:-$(mktemp -d "${TMPDIR:-/tmp}/aide-html-check.XXXXXX")}"
mkdir -p "$out"

echo "== building aide"
swift build --product aide 2>&1 | grep -E "error|warning" >&2 || true
aide=".build/debug/aide"
[[ -x "$aide" ]] || { echo "error: $aide was not built" >&2; exit 1; }

if ((${#runs[@]} == 0)); then
    echo "== generating a 2,000-node run"
    AIDE_HTML_REPORT_FIXTURE="$out/runs" swift test --filter HTMLReportTests/largeRunStaysCompact >"$out/generate.log" 2>&1 \
        || { echo "error: generating the run failed; see $out/generate.log" >&2; exit 1; }
    runs=("$out/runs/html-large")
fi

chrome=("$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars=false --no-first-run
    --disable-extensions --disable-background-networking)
failed=0
for run in "${runs[@]}"; do
    folder="$run"
    [[ "$(basename "$run")" == "run.sqlite" ]] && folder="$(dirname "$run")"
    name="$(basename "$folder")"
    html="$out/$name.html"
    echo "== $name"
    if ! "$aide" report "$run" --format html -o "$html"; then
        echo "FAIL $name: aide report --format html failed" >&2; failed=1; continue
    fi
    expected="$("$aide" report "$run" --format json | sed -n 's/^ *"steps" : \([0-9]*\),\{0,1\}$/\1/p' | head -1)"
    timeout 120 "${chrome[@]}" --screenshot="$out/$name.png" --window-size=1400,1000 "$html" >"$out/$name.chromium.log" 2>&1 \
        || { echo "FAIL $name: chromium could not take a screenshot; see $out/$name.chromium.log" >&2; failed=1; continue; }
    timeout 120 "${chrome[@]}" --dump-dom "$html" >"$out/$name.dom.html" 2>>"$out/$name.chromium.log" \
        || { echo "FAIL $name: chromium could not load the page; see $out/$name.chromium.log" >&2; failed=1; continue; }
    body="$(grep -o '<body[^>]*>' "$out/$name.dom.html" | head -1 || true)"
    nodes="$(sed -n 's/.*data-nodes="\([0-9]*\)".*/\1/p' <<<"$body")"
    if [[ "$body" == *data-error=* ]]; then
        echo "FAIL $name: the page's JS failed: $(sed -n 's/.*data-error="\([^"]*\)".*/\1/p' <<<"$body")" >&2; failed=1
    elif [[ -z "$nodes" ]]; then
        echo "FAIL $name: the page never finished drawing (no data-nodes on <body>)" >&2; failed=1
    elif ((nodes == 0)); then
        echo "FAIL $name: the tree is empty" >&2; failed=1
    elif [[ -n "$expected" && "$nodes" != "$expected" ]]; then
        echo "FAIL $name: drew $nodes nodes, the run has $expected" >&2; failed=1
    else
        echo "ok   $name: $nodes nodes drawn, $(wc -c <"$html") bytes, screenshot $out/$name.png"
    fi
done
exit "$failed"
