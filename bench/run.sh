#!/usr/bin/env bash
# Side-by-side server benchmark (issue 8): wsclean's echo server and the peers, same workloads,
# same run, interleaved over rounds; prints medians and ratios to the best peer and writes a
# markdown table.
#
#   bench/run.sh BUILD_DIR              (what `make bench` runs)
#
# Environment:
#   BENCH_ROUNDS=3        rounds; every round runs every workload against every server, the server
#                         order rotating from round to round
#   BENCH_QUICK=1         smoke run (~1 minute): 1 round, 1 s per workload, 1000 idle connections
#   BENCH_SERVERS="..."   subset of: wsclean bun lws node python (default: all that are present)
#   BENCH_WORKLOADS="..." subset of: idle echo20 pipe20 echo64k echo1m churn, plus echo20x1000
#                         (1000 conns x 20 B, one in flight; not in the default set)
#   BENCH_SECONDS=3       measured seconds per echo/churn workload (after 0.5 s warm-up)
#   BENCH_IDLE_CONNS=10000
#   BENCH_OUT=DIR         where raw.txt and results.md go (default BUILD_DIR/bench-results)
#   BENCH_NICE=N          run servers and load generator with nice -n N (e.g. -10 as root)
#
# Each server is started fresh for every (round, workload) pinned to CPU 0 with taskset; the load
# generator (BUILD_DIR/bench/bench_loadgen, built on wsclean's ws_conn) runs pinned to CPU 1. Every
# load generator run is bounded (--timeout and `timeout`); every server is stopped with SIGTERM
# (SIGKILL after 3 s). Loopback only.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:?usage: bench/run.sh BUILD_DIR}
build=$(cd "$build" && pwd)
loadgen="$build/bench/bench_loadgen"
out=${BENCH_OUT:-$build/bench-results}
mkdir -p "$out"
raw="$out/raw.txt"
: >"$raw"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  rounds=${BENCH_ROUNDS:-1}; secs=${BENCH_SECONDS:-1}; warm=0.2; idle_conns=${BENCH_IDLE_CONNS:-1000}
else
  rounds=${BENCH_ROUNDS:-3}; secs=${BENCH_SECONDS:-3}; warm=0.5; idle_conns=${BENCH_IDLE_CONNS:-10000}
fi
workloads=(${BENCH_WORKLOADS:-idle echo20 pipe20 echo64k echo1m churn})

[ -x "$loadgen" ] || { echo "run.sh: $loadgen missing (build first: make bench)" >&2; exit 1; }
"$root/scripts/install-bench-deps.sh" || echo "run.sh: install-bench-deps failed; absent peers are skipped" >&2

# More file descriptors for the idle workload (servers and load generator inherit this).
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 0); pin_client=(taskset -c 1)
else
  pin_server=(); pin_client=()
  echo "run.sh: fewer than 2 CPUs or no taskset: not pinning (numbers are less meaningful)" >&2
fi
# BENCH_NICE=-10 (root): run servers and load generator at that niceness, so other work on a
# shared machine disturbs the numbers less (it slows that other work down meanwhile).
if [ -n "${BENCH_NICE:-}" ]; then
  pin_server=(nice -n "$BENCH_NICE" "${pin_server[@]}"); pin_client=(nice -n "$BENCH_NICE" "${pin_client[@]}")
fi

pyws=/usr/bin/python3
[ -x "$pyws" ] || pyws=python3
bun="$here/peers/node_modules/.bin/bun"
node_peers="$root/tests/peers/node_modules"
if [ ! -d "$node_peers/ws" ] && [ -f "$root/tests/peers/package-lock.json" ]; then
  (cd "$root/tests/peers" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) || true
fi

# libwebsockets peer: built here with pkg-config (not part of the wsclean build)
lws_bin="$build/bench/lws_echo"
if pkg-config --exists libwebsockets 2>/dev/null; then
  if [ ! -x "$lws_bin" ] || [ "$here/peers/lws_echo.c" -nt "$lws_bin" ]; then
    cc -O2 -o "$lws_bin" "$here/peers/lws_echo.c" $(pkg-config --cflags --libs libwebsockets) ||
      rm -f "$lws_bin"
  fi
fi

# server_cmd NAME PORT: prints the command line, or nothing when that server is not available.
server_cmd() {
  case $1 in
    wsclean)
      if [ -x "$build/wsclean" ] && "$build/wsclean" serve --help 2>&1 | grep -q -- '--port'; then
        # its default connection cap (10000) would refuse part of the idle workload
        local cap=
        "$build/wsclean" serve --help 2>&1 | grep -q -- '--max-connections' && cap=" --max-connections 1000000"
        echo "$build/wsclean serve --port $2 --quiet$cap"
      fi ;;
    bun) "$bun" --version >/dev/null 2>&1 && echo "$bun $here/peers/bun_echo.js $2" ;;
    lws) [ -x "$lws_bin" ] && echo "$lws_bin $2" ;;
    node) [ -d "$node_peers/ws" ] && [ -d "$node_peers/bufferutil" ] && command -v node >/dev/null &&
            echo "node $here/peers/node_ws_echo.js $2" ;;
    python) "$pyws" -c 'import websockets' 2>/dev/null && echo "$pyws $here/peers/py_websockets_echo.py $2" ;;
  esac
}

servers=()
for s in ${BENCH_SERVERS:-wsclean bun lws node python}; do
  if [ -n "$(server_cmd "$s" 1)" ]; then servers+=("$s"); else echo "run.sh: skipping $s (not available)" >&2; fi
done
[ ${#servers[@]} -gt 0 ] || { echo "run.sh: no server to benchmark" >&2; exit 1; }

# loadgen arguments per workload
wl_args() {
  local common=(--duration "$secs" --warmup "$warm" --timeout 60)
  case $1 in
    idle) echo --mode idle --conns "$idle_conns" --addrs 4 --hold 0.5 --timeout 90 ;;
    echo20) echo --conns 100 --inflight 1 --size 20 "${common[@]}" ;;
    echo20x1000) echo --conns 1000 --inflight 1 --size 20 "${common[@]}" ;;
    pipe20) echo --conns 100 --inflight 16 --size 20 "${common[@]}" ;;
    echo64k) echo --conns 1 --inflight 1 --size 65536 --binary "${common[@]}" ;;
    echo1m) echo --conns 1 --inflight 1 --size 1048576 --binary "${common[@]}" ;;
    churn) echo --mode churn --conns 10 --size 20 "${common[@]}" ;;
  esac
}

port_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

port=24300
srv_pid=
start_server() { # NAME PORT -> srv_pid, or returns 1
  local cmd; cmd=$(server_cmd "$1" "$2")
  [ -n "$cmd" ] || return 1
  # shellcheck disable=SC2086
  "${pin_server[@]}" $cmd >"$out/server.out" 2>"$out/server.err" &
  srv_pid=$!
  for _ in $(seq 1 100); do
    port_listening "$2" && return 0
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "run.sh: $1 did not start listening on $2 (see $out/server.err)" >&2
  stop_server
  return 1
}
stop_server() {
  [ -n "$srv_pid" ] || return 0
  kill -TERM "$srv_pid" 2>/dev/null
  for _ in $(seq 1 60); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$srv_pid" 2>/dev/null
  wait "$srv_pid" 2>/dev/null
  srv_pid=
}
trap 'stop_server; exit 130' INT TERM

# wsclean serve --quiet prints nothing per connection, so its side of the churn closes is checked
# in a separate, unmeasured 1 s churn run with --verbose (one line per close with wasClean=).
wsclean_close_check() {
  local p=$((port + 1)) cmd
  while port_listening "$p"; do p=$((p + 1)); done
  cmd=$(server_cmd wsclean "$p")
  # shellcheck disable=SC2086
  "${pin_server[@]}" ${cmd/--quiet/--verbose} >"$out/check.out" 2>"$out/check.err" &
  local pid=$!
  for _ in $(seq 1 100); do port_listening "$p" && break; sleep 0.05; done
  timeout 30 "${pin_client[@]}" "$loadgen" --port "$p" --mode churn --conns 10 --size 20 \
    --duration 1 --warmup 0 --timeout 20 >/dev/null 2>&1
  sleep 0.2
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  echo "srv_clean=$(cat "$out/check.out" "$out/check.err" | grep -c 'wasClean=true') srv_other=$(cat "$out/check.out" "$out/check.err" | grep -c 'wasClean=false')"
}

echo "run.sh: servers: ${servers[*]}; workloads: ${workloads[*]}; rounds: $rounds; ${secs}s each" >&2
echo "run.sh: load now: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine adds noise)" >&2
t_start=$(date +%s)
for ((r = 1; r <= rounds; r++)); do
  for w in "${workloads[@]}"; do
    n=${#servers[@]}
    for ((i = 0; i < n; i++)); do
      s=${servers[$(((i + r - 1) % n))]}
      # a fresh port each time, never one that something else (another test) listens on
      port=$((port + 1)); [ $port -gt 24900 ] && port=24301
      while port_listening "$port"; do port=$((port + 1)); done
      start_server "$s" "$port" || { echo "round=$r server=$s workload=$w failed=start" >>"$raw"; continue; }
      # shellcheck disable=SC2046
      line=$(timeout 120 "${pin_client[@]}" "$loadgen" --port "$port" --server-pid "$srv_pid" $(wl_args "$w") 2>&1 | grep '^result ')
      stop_server
      closes=$(grep -o 'closes clean=[0-9]* other=[0-9]*' "$out/server.err" | sed 's/closes clean=/srv_clean=/; s/other=/srv_other=/')
      if [ -z "$line" ]; then
        echo "round=$r server=$s workload=$w failed=loadgen" >>"$raw"
        echo "  r$r $w $s: FAILED" >&2
        continue
      fi
      if [ "$s" = wsclean ] && [ "$w" = churn ] && [ -z "$closes" ]; then
        closes=$(wsclean_close_check)
      fi
      echo "round=$r server=$s workload=$w ${line#result } $closes" >>"$raw"
      echo "  r$r $w $s: $(echo "$line" | grep -o -E '(rate|bytes_per_conn|MBps|client_cpu)=[^ ]*' | tr '\n' ' ')" >&2
    done
  done
done
echo "run.sh: $(( $(date +%s) - t_start )) s; raw results in $raw" >&2

cmdline="$(env | grep '^BENCH_' | grep -v '^BENCH_OUT=' | sort | tr '\n' ' ')bench/run.sh $1"
python3 "$here/summarize.py" "$raw" --command "$cmdline" --rounds "$rounds" --seconds "$secs" \
  --idle-conns "$idle_conns" >"$out/results.md"
cat "$out/results.md"
echo "run.sh: markdown table written to $out/results.md" >&2
