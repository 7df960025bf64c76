#!/usr/bin/env bash
# Idle connections at scale on one wsclean server process (issue 8: 10,000 and then 100,000
# connections, with the memory per connection reported).
#
#   bench/scale.sh BUILD_DIR [COUNT...]        (make bench-scale; default counts 10000 50000 100000)
#
# For each count: `wsclean serve` pinned to CPU 0, `bench_loadgen --mode idle` pinned to CPU 1
# opens COUNT connections from 127.0.0.2.. (one source address per 25,000 connections, so the
# ephemeral ports of one address never run out), holds them, and reads the server's VmRSS before
# and after: user-space bytes per connection (the kernel's socket memory is not in RSS). Each
# process needs COUNT + 100 file descriptors. A count the machine's RLIMIT_NOFILE hard limit
# cannot hold is reported as skipped with that limit (raising it needs CAP_SYS_RESOURCE), never
# silently dropped. Bounded: every run has a timeout; only loopback addresses are used.
set -uo pipefail
build=$(cd "${1:?usage: bench/scale.sh BUILD_DIR [COUNT...]}" && pwd)
shift
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(10000 50000 100000)
server="$build/wsclean"
loadgen="$build/bench/bench_loadgen"
for f in "$server" "$loadgen"; do
  [ -x "$f" ] || { echo "scale.sh: $f missing (build first)" >&2; exit 1; }
done

hard=$(ulimit -Hn)
echo "| idle connections | opened | server RSS per connection | note |"
echo "|---|---|---|---|"
status=0
for n in "${counts[@]}"; do
  need=$((n + 100))
  if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
    echo "| $n | - | - | skipped: RLIMIT_NOFILE hard limit $hard < $need (raising it needs CAP_SYS_RESOURCE) |"
    continue
  fi
  port=$((27000 + RANDOM % 1000))
  addrs=$(((n + 24999) / 25000))
  [ "$addrs" -ge 2 ] || addrs=2
  out=$(
    ulimit -Sn "$need"
    # taskset execs the server, so $! is the server itself (its VmRSS is what is read); a
    # watchdog bounds it instead of timeout(1), whose pid would be the one measured.
    taskset -c 0 "$server" serve --host 127.0.0.1 --port "$port" --quiet \
      --max-connections "$n" >/dev/null 2>&1 &
    pid=$!
    (
      sleep 900 &
      nap=$!
      trap 'kill $nap; exit 0' TERM
      wait "$nap"
      kill -KILL "$pid" 2>/dev/null
    ) >/dev/null 2>&1 &
    dog=$!
    for _ in $(seq 1 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.05; done
    taskset -c 1 timeout 600 "$loadgen" --mode idle --conns "$n" --addrs "$addrs" --hold 1 \
      --port "$port" --server-pid "$pid" --timeout 300 2>&1 | tail -1
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    kill "$dog" 2>/dev/null
  )
  opened=$(sed -n 's/.*opened=\([0-9]*\).*/\1/p' <<<"$out")
  per=$(sed -n 's/.*bytes_per_conn=\([0-9]*\).*/\1/p' <<<"$out")
  if [ -z "$opened" ] || [ -z "$per" ]; then
    echo "| $n | - | - | run failed: ${out:0:200} |"
    status=1
  else
    note=""
    [ "$opened" -eq "$n" ] || { note="only $opened opened"; status=1; }
    echo "| $n | $opened | $per B | $note |"
  fi
done
exit $status
