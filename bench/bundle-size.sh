#!/usr/bin/env bash
# The browser's JavaScript of a built checkout (`next build` first): every chunk under .next/static/chunks,
# raw and gzip -9, and the i18n catalogs on their own. Usage: bash bench/bundle-size.sh [checkout ...]
set -euo pipefail
for dir in "${@:-.}"; do
  chunks=$(find "$dir/.next/static/chunks" -name '*.js' | sort)
  raw=$(cat $chunks | wc -c)
  gz=$(cat $chunks | gzip -9 | wc -c)
  echo "$dir: $(echo "$chunks" | wc -l) chunks, $raw B raw, $gz B gzip"
  for c in "$dir"/server/protocol/i18n/*.json; do
    [ -e "$c" ] && echo "  $(basename "$c"): $(wc -c <"$c") B raw, $(gzip -9c "$c" | wc -c) B gzip"
  done
done
