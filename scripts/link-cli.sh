#!/usr/bin/env bash
# Puts `packet-journey` on the PATH: a symlink PJ_BIN_DIR/packet-journey (default /usr/local/bin) to this
# checkout's bin/packet-journey.mjs. Idempotent. A link we made earlier that points to a checkout that is
# gone is replaced; a link to another checkout that still exists, or any other file there, is left alone
# (with a note), so a second clone or someone else's `packet-journey` is never overwritten.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${PJ_BIN_DIR:-/usr/local/bin}"
link="$dir/packet-journey"
target="$(pwd -P)/bin/packet-journey.mjs"
say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

if [ -L "$link" ]; then
  current="$(readlink "$link")"
  if [ "$current" = "$target" ]; then
    say "packet-journey command: $link (already links here)"
    exit 0
  fi
  # Ours: a link to some checkout's bin/packet-journey.mjs. Replaced only when that file is gone.
  if [[ "$current" == */bin/packet-journey.mjs ]] && [ ! -e "$current" ]; then
    ln -sfn "$target" "$link"
    say "packet-journey command: $link now links here (it pointed to $current, which is gone)"
    exit 0
  fi
  say "packet-journey command: $link points to $current; left as is (remove it and run setup again to use this checkout; \`npx packet-journey\` works here meanwhile)"
  exit 0
fi
if [ -e "$link" ]; then
  say "packet-journey command: $link exists and is not our link; left as is (\`npx packet-journey\` works instead)"
  exit 0
fi
mkdir -p "$dir"
ln -s "$target" "$link"
say "packet-journey command: $link -> $target"
