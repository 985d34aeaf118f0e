#!/usr/bin/env bash
# Every test, for real: types, lint, unit + kernel integration (vitest, as root), e2e in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1

bash scripts/setup.sh
say() { printf '\033[1;34m[test]\033[0m %s\n' "$*" >&2; }

# What bpffs held before the suite: the leak check wants the same afterwards (tc's loader creates tc/, ip
# and xdp on first use, and the lab must remove them if it was the one that made them). The lab mounts
# bpffs if the machine has none; mount it first so that mount is not counted as a change.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
export PJ_BPFFS_BEFORE="$(ls -A /sys/fs/bpf 2>/dev/null | sort | tr '\n' ' ')"
say "typecheck"
npx tsc --noEmit
say "lint"
npx eslint --max-warnings=0 .
say "format"
npx prettier --check --log-level=warn .
say "unit + integration (vitest)"
# Files share the kernel and the lab's fixed names, so they run one at a time (vitest.config.ts); the lab
# goes down afterwards whatever a file left up, and the e2e run brings it up again.
status=0
npx vitest run || status=$?
npx tsx server/cli.ts lab down >/dev/null
[ "$status" = 0 ] || exit "$status"
say "build the UI"
npx next build >/tmp/packet-journey-build.log 2>&1 || { tail -40 /tmp/packet-journey-build.log >&2; exit 1; }
say "end-to-end (Playwright + /usr/bin/chromium)"
npx playwright test
say "leak check"
bash scripts/leak-check.sh
