#!/usr/bin/env bash
# The README's C example must compile against the public headers and link against the library,
# so the first code a newcomer copies never rots. Usage: check_readme_example.sh SRC_DIR LIB CC
set -euo pipefail
src=$1 lib=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^```c$/{on=1;next} /^```$/{if(on){exit}} on' "$src/README.md" > "$tmp/example.c"
[ -s "$tmp/example.c" ] || { echo "README.md has no \`\`\`c block"; exit 1; }
"$cc" -std=c11 -Wall -Wextra -Wno-unused-parameter -Werror -I"$src/include" "$tmp/example.c" \
  "$lib" -lssl -lcrypto -lz -lpthread -lm -o "$tmp/example"
echo "README example: $(wc -l < "$tmp/example.c") lines, compiles and links"
