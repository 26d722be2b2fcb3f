#!/usr/bin/env bash
# The benchmarks' outside references in Python (Pillow for the decode reference), installed from
# PyPI into .cache/bench/venv; the benchmarks use that Python unless CENTAUR_BENCH_PYTHON names another.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/bench/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/pip" install --quiet --disable-pip-version-check 'pillow>=11,<13'
"$venv/bin/python" -c 'import PIL; print("bench python:", PIL.__version__)'
