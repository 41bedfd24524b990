#!/usr/bin/env bash
# Rerun the side-by-side comparison of ser-bench and nkululeko on real RAVDESS (issue 12); the logic and
# its options are in compare_nkululeko.py (--help). Typical use, from a quiet machine:
#   scripts/compare_nkululeko.sh --setup --repeats 3 --ravdess /path/to/ravdess --out results/compare-nkululeko
# --setup creates .venv-nkululeko (torch==2.13.0 first, then nkululeko==1.14.1); --only ser-bench needs none.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
exec "$PY" scripts/compare_nkululeko.py "$@"
