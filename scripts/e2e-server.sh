#!/usr/bin/env bash
# Playwright's web server: a production build (rebuilt only when stale), then the real server.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
(
  flock 9
  if [ ! -f .next/BUILD_ID ] || [ -n "$(find app server/protocol -newer .next/BUILD_ID -type f -print -quit)" ]; then
    npx next build >/tmp/packet-journey-e2e-build.log 2>&1 || { tail -40 /tmp/packet-journey-e2e-build.log >&2; exit 1; }
  fi
) 9>/tmp/pj-build.lock
exec npx tsx server/cli.ts serve --port "${1:-3100}"
