#!/usr/bin/env bash
# The benchmarks' outside references in Python (bench/requirements.txt: Pillow for the decode
# reference; confluent-kafka, fastavro, numpy and onnxruntime for the plain Kafka consumer), installed
# from PyPI into .cache/bench/venv; `centaur bench` uses that Python unless --python names another.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/bench/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/requirements.txt
"$venv/bin/python" -c 'import PIL, onnxruntime, confluent_kafka; print("bench python: pillow", PIL.__version__, "onnxruntime", onnxruntime.__version__, "confluent-kafka", confluent_kafka.version())'
