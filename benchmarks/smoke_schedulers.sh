#!/usr/bin/env bash
# Wall time of the smoke profile (16 stages, no book) in process vs on the run's LocalCluster.
# Writes benchmarks/results/smoke_schedulers.csv (scheduler, seconds, git_sha). Run from the project root.
set -euo pipefail
out=benchmarks/results/smoke_schedulers.csv
tmp=$(mktemp -d)
sha=$(git rev-parse --short=10 HEAD)
echo "scheduler,seconds,cores,git_sha" > "$tmp/rows.csv"
for sched in inprocess local; do
  start=$(date +%s.%N)
  GRNBENCH_SCHEDULER=$sched .venv/bin/grnbench run --profile smoke --force --no-book --results-dir "$tmp/$sched" > "$tmp/$sched.log"
  end=$(date +%s.%N)
  echo "$sched,$(echo "$end - $start" | bc),$(nproc),$sha" >> "$tmp/rows.csv"
done
mv "$tmp/rows.csv" "$out"
cat "$out"
