#!/usr/bin/env bash
# First-load size of the dashboard: the JavaScript and CSS that pb_public/dist/index.html loads, gzipped.
# Budget: under 200 KB (204,800 bytes). Run after `make ui` (or `make bench-ui`). Exits 1 over budget.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=pb_public/dist
[ -f "$dist/index.html" ] || { echo "no $dist/index.html: run 'make ui' first" >&2; exit 2; }
budget=204800
total=0
# Every script and stylesheet the page references (src= / href=), same-origin paths only.
for ref in $(grep -oE '(src|href)="/[^"]+\.(js|css)"' "$dist/index.html" | sed -E 's/^(src|href)="\/(.*)"$/\2/'); do
  size=$(gzip -9 -c "$dist/$ref" | wc -c)
  raw=$(wc -c < "$dist/$ref")
  printf '%-40s %8d bytes  %8d gzipped\n' "$ref" "$raw" "$size"
  total=$((total + size))
done
printf 'first load (JS + CSS, gzip -9): %d bytes = %.1f KB (budget %d KB)\n' "$total" "$(awk "BEGIN{print $total/1024}")" $((budget / 1024))
[ "$total" -lt "$budget" ] || { echo "over budget" >&2; exit 1; }
