#!/usr/bin/env bash
# Instruction counts of the echo path per message, with callgrind: noise-free numbers that show
# regressions a wall-clock benchmark on a shared machine would hide (issue 8).
#
#   bench/callgrind.sh BUILD_DIR
#
# 1. sans-I/O (always): bench_micro_echo runs exactly N1 and then N2 messages through a server
#    ws_conn (recv + unmask + UTF-8 check + send + take output); Ir(N2) - Ir(N1), less the same
#    difference for --copy-only (restoring the masked input), divided by N2 - N1, is the
#    instructions per message with set-up and teardown cancelled out. 20 B (64 frames per read)
#    and 64 KiB (1 per read).
# 2. server (once `BUILD_DIR/wsclean serve` exists): the server runs under callgrind while
#    bench_loadgen sends M1 and then M2 messages (20 B one in flight and 16 per write, 64 KiB,
#    1 MiB) over one connection; the difference of
#    the two whole-process counts divided by M2 - M1 is the server's instructions per message,
#    syscalls' user-space side included (kernel time is not counted by callgrind).
# Prints a markdown table. Bounded: every run has a timeout.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: bench/callgrind.sh BUILD_DIR}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not installed (scripts/install-bench-deps.sh)" >&2; exit 1; }

# Valgrind 3.19 (Debian 12) gives up on clang 14's default DWARF 5 debug info ("Possibly
# corrupted debuginfo file"), so the programs measured here are built again, same compiler and
# optimisation, with DWARF 4, in BUILD_DIR/callgrind.
cg="$build/callgrind"
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
if [ ! -f "$cg/build.ninja" ]; then
  cmake -S "$here/.." -B "$cg" -G Ninja ${cc:+-DCMAKE_C_COMPILER="$cc"} -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS=-gdwarf-4 -DWS_TESTS=OFF >/dev/null || exit 1
fi
cmake --build "$cg" --target bench_micro_echo bench_loadgen >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; exit 1; }
cmake --build "$cg" --target wsclean-cli >/dev/null 2>&1 || true
micro="$cg/bench/bench_micro_echo"
loadgen="$cg/bench/bench_loadgen"
build=$cg

# ir CMD...: total instructions (Ir) of the whole run of CMD under callgrind
ir() {
  local f="$tmp/cg.$RANDOM"
  timeout 600 valgrind --tool=callgrind --callgrind-out-file="$f" "$@" >/dev/null 2>&1 || return 1
  awk '/^(summary|totals):/ {print $2; exit}' "$f"
}

echo "| path | payload | instructions per message |"
echo "|---|---|---|"
if "$micro" --size 20 --count 64 >/dev/null 2>&1; then
  for spec in "20 64 640 6400" "65536 1 20 220"; do
    set -- $spec
    size=$1 per=$2 n1=$3 n2=$4
    a=$(ir "$micro" --size "$size" --per-read "$per" --count "$n1") || { echo "callgrind.sh: run failed" >&2; exit 1; }
    b=$(ir "$micro" --size "$size" --per-read "$per" --count "$n2")
    ca=$(ir "$micro" --size "$size" --per-read "$per" --count "$n1" --copy-only)
    cb=$(ir "$micro" --size "$size" --per-read "$per" --count "$n2" --copy-only)
    per_msg=$(awk -v a="$a" -v b="$b" -v ca="$ca" -v cb="$cb" -v n="$((n2 - n1))" \
      'BEGIN { printf "%.0f", ((b - a) - (cb - ca)) / n }')
    copy=$(awk -v ca="$ca" -v cb="$cb" -v n="$((n2 - n1))" 'BEGIN { printf "%.0f", (cb - ca) / n }')
    echo "| sans-I/O ws_conn echo (micro_echo, $per per read) | $size B | $per_msg (input restore, subtracted: $copy) |"
  done
else
  echo "| sans-I/O ws_conn echo | - | not built yet (needs the conn branch on main) |"
fi

if [ -x "$build/wsclean" ] && "$build/wsclean" serve --help >/dev/null 2>&1; then
  server_ir() { # MESSAGES [LOADGEN ARGS...] -> Ir of the whole server process
    local port=$((25000 + RANDOM % 500)) f="$tmp/srv.$RANDOM"
    timeout 300 valgrind --tool=callgrind --callgrind-out-file="$f" \
      "$build/wsclean" serve --port "$port" --quiet >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 1 200); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.05; done
    local n=$1
    shift
    timeout 120 "$loadgen" --port "$port" --conns 1 --messages "$n" \
      --warmup 0 --timeout 100 "$@" >/dev/null 2>&1
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    awk '/^(summary|totals):/ {print $2; exit}' "$f"
  }
  # spec: SIZE INFLIGHT M1 M2 LOADGEN-ARGS... (inflight 16: 16 frames per write, the pipe20
  # workload, where the output queue's per-frame cost shows; 1 MiB: the big-message copies)
  for spec in "20 1 2000 22000 --size 20" "20 16 2000 22000 --size 20" \
    "65536 1 200 2200 --size 65536 --binary" "1048576 1 20 120 --size 1048576 --binary"; do
    set -- $spec
    size=$1 inflight=$2 m1=$3 m2=$4
    shift 4
    a=$(server_ir "$m1" --inflight "$inflight" "$@")
    b=$(server_ir "$m2" --inflight "$inflight" "$@")
    if [ -n "$a" ] && [ -n "$b" ]; then
      how="one in flight"
      [ "$inflight" = 1 ] || how="$inflight frames per write"
      echo "| wsclean serve, whole process, user space (1 conn, $how) | $size B | $(awk -v a="$a" -v b="$b" -v n="$((m2 - m1))" 'BEGIN { printf "%.0f", (b - a) / n }') |"
    else
      echo "| wsclean serve | $size B | run failed (does the server write its callgrind file on SIGTERM?) |"
    fi
  done
else
  echo "| wsclean serve | - | not there yet (BUILD/wsclean serve) |"
fi
