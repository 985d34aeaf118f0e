#!/usr/bin/env bash
# After the suite: nothing the lab or a test created may be left behind.
set -uo pipefail
leaks=()
for ns in $(ip netns list | awk '{print $1}'); do
  case "$ns" in node1|node2|pod-a|pod-b|pod-c|pod-d|pjt-*) leaks+=("netns $ns") ;; esac
done
for l in kind0 veth-node1 veth-node2; do ip link show "$l" >/dev/null 2>&1 && leaks+=("link $l"); done
ip -br link | awk '{print $1}' | grep -q '^pjt-' && leaks+=("links named pjt-*")
iptables -S 2>/dev/null | grep -q 'packet-journey' && leaks+=("iptables rules tagged packet-journey")
pgrep -f 'server/lab/echo-server.mjs' >/dev/null && leaks+=("echo-server processes")
pgrep -f 'probes/build/' >/dev/null && leaks+=("probe loader processes")
if [ ${#leaks[@]} -gt 0 ]; then
  printf 'leak check FAILED: %s\n' "${leaks[@]}" >&2
  exit 1
fi
echo "leak check: clean"
