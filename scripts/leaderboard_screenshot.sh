#!/usr/bin/env bash
# Render the HTML leaderboard of a results folder and take a screenshot of it in headless Chromium.
#   scripts/leaderboard_screenshot.sh RESULTS_DIR OUT_PNG [SITE_DIR]
# The page is written to SITE_DIR/index.html (a temporary folder unless given). Environment:
#   PYTHON (default .venv/bin/python, else python3), CHROMIUM (default: chromium on PATH),
#   WINDOW (default 1280,1600).
# The README's docs/leaderboard.png: scripts/leaderboard_screenshot.sh results/sim-demo docs/leaderboard.png
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 RESULTS_DIR OUT_PNG [SITE_DIR]" >&2
  exit 2
fi
results=$1
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python=python3; fi
fi
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ]; then
  echo "no chromium found: make browser (or apt-get install chromium), or set CHROMIUM=/path/to/chrome" >&2
  exit 3
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
site=${3:-$scratch/site}
"$python" - "$results" "$site" <<'PY'
import sys

from ser_bench.reporting.html import write_site
from ser_bench.results.store import load_results

print(write_site(load_results(sys.argv[1]), sys.argv[2]))
PY
mkdir -p "$(dirname "$out")"
out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
page=$(cd "$site" && pwd)/index.html
# A profile of its own, so that two runs (or a running desktop browser) never share a lock.
"$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$scratch/profile" \
  --window-size="${WINDOW:-1280,1600}" --screenshot="$out_abs" "file://$page" >"$scratch/chromium.log" 2>&1 \
  || { cat "$scratch/chromium.log" >&2; exit 1; }
[ -s "$out_abs" ] || { echo "chromium wrote no screenshot" >&2; cat "$scratch/chromium.log" >&2; exit 1; }
echo "$out_abs"
