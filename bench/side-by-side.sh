#!/usr/bin/env bash
# Runs one bench script in two checkouts in alternation (A B B A A B …), so both sides see the same
# noise, and prints each run's last output line tagged with its side. The script is copied into the
# other checkout when it lacks it (a bench written after the commit being compared against).
#   flock /tmp/pj-lab.lock bash bench/side-by-side.sh OTHER_CHECKOUT ROUNDS bench/follow-latency.ts [args…]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
other="$(cd "$1" && pwd)"
rounds="$2"
script="$3"
shift 3
[ -f "$other/$script" ] || cp "$here/$script" "$other/$script"
for ((i = 0; i < rounds; i++)); do
  if ((i % 2 == 0)); then order=("$other" "$here"); else order=("$here" "$other"); fi
  for tree in "${order[@]}"; do
    side=$([ "$tree" = "$here" ] && echo this || echo other)
    line="$(cd "$tree" && npx tsx "$script" "$@" | tail -1)"
    printf '%s\t%s\n' "$side" "$line"
  done
done
