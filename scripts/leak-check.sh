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
ip6tables -S 2>/dev/null | grep -q 'packet-journey' && leaks+=("ip6tables rules tagged packet-journey")
pgrep -f 'server/lab/echo-server.mjs' >/dev/null && leaks+=("echo-server processes")
pgrep -f "$PWD/probes/build/" >/dev/null && leaks+=("probe loader processes")
# The lab's eBPF (issue 11): pins, tc's by-name maps, cgroup attachments and any loaded program of ours.
[ -e /sys/fs/bpf/packet-journey ] && leaks+=("/sys/fs/bpf/packet-journey")
if [ -n "${PJ_BPFFS_BEFORE+set}" ]; then
  now="$(ls -A /sys/fs/bpf 2>/dev/null | sort | tr '\n' ' ')"
  [ "$now" = "$PJ_BPFFS_BEFORE" ] || leaks+=("/sys/fs/bpf changed: was [${PJ_BPFFS_BEFORE}], now [${now}]")
fi
ls /sys/fs/bpf/tc/globals 2>/dev/null | grep -q '^pj_' && leaks+=("pj_* maps in /sys/fs/bpf/tc/globals")
cg=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
lab_progs=$(for o in probes/build/lab/*.bpf.o; do [ -f "$o" ] && bpftool btf dump file "$o" | sed -n "s/.*FUNC '\([^']*\)'.*/\1/p"; done | sort -u)
if [ -n "$lab_progs" ]; then
  loaded=$(bpftool prog show 2>/dev/null | sed -n 's/^[0-9]*: [a-z_]*  name \([^ ]*\) .*/\1/p' | sort -u)
  for p in $(comm -12 <(echo "$lab_progs") <(echo "$loaded")); do leaks+=("loaded BPF program $p"); done
  if [ -n "$cg" ]; then
    attached=$(bpftool cgroup tree "$cg" 2>/dev/null | awk 'NF >= 4 {print $NF}' | sort -u)
    for p in $(comm -12 <(echo "$lab_progs") <(echo "$attached")); do leaks+=("cgroup attachment $p"); done
  fi
fi
if [ ${#leaks[@]} -gt 0 ]; then
  printf 'leak check FAILED: %s\n' "${leaks[@]}" >&2
  exit 1
fi
echo "leak check: clean"
