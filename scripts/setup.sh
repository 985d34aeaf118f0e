#!/usr/bin/env bash
# Installs what packet-journey needs on Debian 12, skipping what is already there:
# Debian packages, npm dependencies, and the eBPF probe build. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (packet-journey creates namespaces, loads eBPF and runs tcpdump)" >&2
  exit 1
fi

# Debian packages: tools the product drives, the probe toolchain, and what tests use (chromium, tshark, docker).
PKGS=(
  iproute2 iptables nftables bridge-utils net-tools iputils-ping curl tcpdump conntrack ethtool procps psmisc
  util-linux clang llvm libbpf-dev bpftool make gcc pkg-config libelf-dev zlib1g-dev
  chromium fonts-dejavu-core tshark docker.io docker-compose busybox-static iperf3 socat
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages: all present"
fi

# npm dependencies: reinstall only when the lockfile changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
else
  say "npm dependencies: up to date"
fi

# eBPF probes: make rebuilds only what changed (vmlinux.h comes from this kernel's BTF).
if [ -f probes/Makefile ]; then
  say "building eBPF probes"
  make -s -C probes
fi

# The CLI and server as JavaScript (esbuild, into dist/): only when a source is newer than the bundle.
# A stale or missing bundle still works (bin/packet-journey.mjs falls back to tsx), only slower to start.
say "building the CLI bundle (dist/) if a source changed"
node scripts/build-cli.mjs

# `packet-journey` on the PATH: a symlink to this checkout's bin script (see scripts/link-cli.sh).
bash scripts/link-cli.sh
