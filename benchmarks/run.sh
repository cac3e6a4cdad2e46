#!/usr/bin/env bash
# Issue 7 benchmark: generate, fill and collect N personalised books, with the pandas and unzip baselines.
#   benchmarks/run.sh            # quick (40 books, under a minute) and nationwide (1,788 books, a few minutes)
#   benchmarks/run.sh 500        # one run of 500 books
# Needs the package with the bench extra: pip install '.[bench]'  (pandas for the baseline, psutil for memory).
# Output: the printed figures, also written to benchmarks/results-N.txt. Nothing here asserts a figure.
set -euo pipefail
cd "$(dirname "$0")/.."
run() { xlsx-tool bench --n "$1" | tee "benchmarks/results-$1.txt"; }
if [ $# -gt 0 ]; then run "$1"; else run 40; run 1788; fi
