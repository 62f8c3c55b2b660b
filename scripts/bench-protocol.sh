#!/usr/bin/env bash
# Runs the hearth-protocol benchmarks and keeps their JSON figures.
#
#   scripts/bench-protocol.sh [OUT.jsonl] [-- criterion args, e.g. a filter]
#
# Criterion's report goes to the terminal; the JSON lines the bench prints
# at the end (one object per benchmark: bench, mean_ns, ops_per_sec,
# ns_per_element, elements_per_sec, ...) are written to OUT.jsonl
# (default: target/bench/protocol.jsonl). With jq installed, a short table
# follows. See docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

out="target/bench/protocol.jsonl"
if [[ $# -gt 0 && $1 != "--" ]]; then
  out=$1
  shift
fi
[[ ${1:-} == "--" ]] && shift

mkdir -p "$(dirname "$out")"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

cargo bench -p hearth-protocol --bench protocol -- "$@" | tee "$log"
grep '^{"bench":' "$log" >"$out" || {
  echo "no JSON figures in the bench output" >&2
  exit 1
}
echo
echo "wrote $(wc -l <"$out") figures to $out"

if command -v jq >/dev/null 2>&1; then
  jq -r '[.bench, (.mean_ns / 1000 | . * 100 | round / 100 | tostring) + " us",
          (.elements_per_sec | round | tostring) + " " + .element + "/s"] | @tsv' "$out" |
    column -t -s $'\t'
fi
