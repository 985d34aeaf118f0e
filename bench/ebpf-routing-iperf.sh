#!/usr/bin/env bash
# iperf3 pod-a -> pod-c (across nodes) through the basic lab (cni0 bridges, iptables FORWARD) and through
# ebpf-routing (from-container/from-netdev, bpf_redirect_neigh/peer), in alternation (A B B A …) so both
# see the same machine noise; prints each run and the medians. Brings the lab up and leaves it down.
#   flock /tmp/pj-lab.lock bash bench/ebpf-routing-iperf.sh [rounds=6] [seconds=4]
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
rounds="${1:-6}"
secs="${2:-4}"
if ! command -v iperf3 >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null
fi
# Quiet unless it fails: then its output says why.
lab() {
  local out
  if ! out="$(npx tsx server/cli.ts lab "$@" 2>&1)"; then
    echo "$out" >&2
    return 1
  fi
}
pidfile="$(mktemp -u /tmp/pj-iperf3.XXXXXX.pid)"
stop_server() {
  # Only the iperf3 server this script started, by the PID it wrote.
  [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}
trap 'stop_server; lab down || true' EXIT

# One measurement: Gbit/s received by pod-c for a single TCP stream from pod-a.
run() {
  lab up --scenario "$1"
  ip netns exec pod-c iperf3 -s -D -1 -p 5201 --pidfile "$pidfile"
  sleep 0.2
  ip netns exec pod-a iperf3 -c 10.244.2.2 -p 5201 -t "$secs" -O 1 -J |
    jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100'
  stop_server
  lab down
}

declare -A results=([basic]="" [ebpf-routing]="")
for ((i = 0; i < rounds; i++)); do
  if ((i % 2 == 0)); then order=(basic ebpf-routing); else order=(ebpf-routing basic); fi
  for s in "${order[@]}"; do
    g="$(run "$s")"
    printf 'round %d\t%-12s\t%s Gbit/s\n' "$((i + 1))" "$s" "$g"
    results[$s]+="$g "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for s in basic ebpf-routing; do
  printf 'median\t%-12s\t%s Gbit/s over %d runs of %ss (iperf3 pod-a -> pod-c, 1 stream)\n' "$s" \
    "$(echo "${results[$s]}" | median)" "$rounds" "$secs"
done
