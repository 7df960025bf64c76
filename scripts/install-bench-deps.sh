#!/usr/bin/env bash
# Installs what `make bench` needs beyond `make test`: the benchmark peers. From Debian (apt-get)
# and the npm registry only; idempotent, silent and fast when everything is present.
#   - libwebsockets-dev: bench/peers/lws_echo.c (built by bench/run.sh; skipped if absent)
#   - util-linux (taskset), procps: pinning and /proc reading in bench/run.sh
#   - bun (npm package `bun`, which ships the linux-x64 binary as an optional dependency, so no
#     download happens at install time) into bench/peers/node_modules, pinned by the lock file
#   - Node ws + bufferutil and Python websockets come from scripts/install-deps.sh (test peers)
# Never called by `make test`: the peers are only benchmark yardsticks.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

want=(libwebsockets-dev util-linux procps valgrind)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-bench-deps: installing from Debian: ${missing[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

peers="$here/bench/peers"
if [ ! -d "$peers/node_modules" ] || [ "$peers/package-lock.json" -nt "$peers/node_modules/.package-lock.json" ]; then
  echo "install-bench-deps: installing npm packages in bench/peers (bun)"
  (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
if ! "$peers/node_modules/.bin/bun" --version >/dev/null 2>&1; then
  echo "install-bench-deps: warning: bench/peers/node_modules/.bin/bun does not run; Bun is skipped" >&2
fi
