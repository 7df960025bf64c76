#!/usr/bin/env bash
# Installs what wsclean needs to build and test, from Debian (apt-get) and the npm registry only.
# Idempotent: silent and fast when everything is already present.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --build  only what `make run` needs to compile
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

build_pkgs=(gcc make cmake ninja-build pkg-config libssl-dev zlib1g-dev)
test_pkgs=(clang libclang-rt-14-dev python3 python3-websockets libuv1-dev chromium
           nodejs npm openssl valgrind cppcheck clang-format clang-tidy)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--build" ] || want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  # nodejs/npm may come from outside Debian's packages on some machines; a working command is enough.
  case $p in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing from Debian: ${missing[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "${1:-}" = "--build" ] && exit 0

# Node peers for the interop and browser tests (ws, undici, playwright-core), pinned by the lock file.
peers="$here/tests/peers"
if [ -f "$peers/package.json" ]; then
  if [ ! -d "$peers/node_modules" ] || [ "$peers/package-lock.json" -nt "$peers/node_modules/.package-lock.json" ]; then
    echo "install-deps: installing npm packages in tests/peers"
    (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi
