#!/usr/bin/env bash
# The demo in one command: install what is missing, build, bring the lab up, serve the UI, print the URL.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
HOST=${PJ_HOST:-127.0.0.1}
PORT=${PJ_PORT:-3000}

bash scripts/setup.sh
say() { printf '\033[1;34m[demo]\033[0m %s\n' "$*" >&2; }

if [ ! -f .next/BUILD_ID ] || [ -n "$(find app server/protocol -newer .next/BUILD_ID -type f -print -quit)" ]; then
  say "building the web UI (next build)"
  npx next build >/tmp/packet-journey-build.log 2>&1 || { tail -30 /tmp/packet-journey-build.log >&2; exit 1; }
fi
# This checkout's command (the bundle setup built), whatever /usr/local/bin/packet-journey points to.
pj() { node bin/packet-journey.mjs "$@"; }
say "bringing the lab up"
pj lab up
say "starting the server; open the URL below (Ctrl-C stops it; \`packet-journey lab down\` removes the lab)"
exec node bin/packet-journey.mjs serve --host "$HOST" --port "$PORT"
