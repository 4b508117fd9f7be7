#!/bin/sh
# Runs every fuzz target (or the ones named) for SECONDS each, one at a time, and prints each
# run's executions. Usage: fuzz/run.sh [SECONDS] [TARGET...]   (needs nightly and cargo-fuzz)
set -eu
cd "$(dirname "$0")"
seconds=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-"frame_ywebsocket frame_hocuspocus storage_records json_values sync_engine"}
mkdir -p logs
for target in $targets; do
  mkdir -p "corpus/$target"
  # -detect_leaks=0: yrs leaks a whole document that holds a subdocument (a reference cycle),
  # which would stop every run at the first such input; see the README. Those leaks add up
  # over hundreds of thousands of runs, hence -rss_limit_mb=4096.
  started=$(date +%s)
  # SANITIZER=none runs without AddressSanitizer (faster). ASAN_OPTIONS=detect_leaks=0: the
  # same leaks would otherwise be reported when the run ends, as a finding (an empty input).
  ASAN_OPTIONS=detect_leaks=0 cargo +nightly fuzz run -O -s "${SANITIZER:-address}" "$target" -- -max_total_time="$seconds" -detect_leaks=0 \
    -rss_limit_mb=4096 -max_len=16384 -print_final_stats=1 >"logs/$target.log" 2>&1 || status=$?
  took=$(( $(date +%s) - started ))
  execs=$(grep -a -o 'stat::number_of_executed_units: [0-9]*' "logs/$target.log" | grep -o '[0-9]*$' || echo '?')
  corpus=$(ls "corpus/$target" | wc -l)
  # exit 0: the time ran out with no finding; otherwise the input is in fuzz/artifacts/$target/
  echo "$target: ${execs} executions in ${took} s, corpus ${corpus}, exit ${status:-0} (log: fuzz/logs/$target.log)"
  unset status
done
