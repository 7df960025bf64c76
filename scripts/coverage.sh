#!/bin/sh
# make coverage: line coverage of src/proto from the unit tests plus a replay of every fuzz
# corpus, measured with gcc --coverage (gcov) in a build directory of its own.
#
#   scripts/coverage.sh [BUILD_DIR]     (default build-cov)
#   FUZZ_CORPUS_EXTRA=DIR  also replay DIR/<target>/ for each target (e.g. a long fuzzing run's
#                          working corpus)
#   COVERAGE_MIN=90        exit 1 when src/proto is below this percentage (default 90)
#
# Prints one line per src/proto file and the total; a per-line report is left in
# BUILD_DIR/gcov/*.gcov for reading.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build-cov}
case $B in /*) ;; *) B=$SRC/$B ;; esac
MIN=${COVERAGE_MIN:-90}
CC_COV=${CC_COV:-gcc}

cmake -S "$SRC" -B "$B" -G Ninja -DCMAKE_C_COMPILER="$CC_COV" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS="--coverage -O0" -DCMAKE_EXE_LINKER_FLAGS=--coverage -DWS_WERROR=OFF >/dev/null

# The library and the plain (not sanitized) unit tests only.
targets="wsclean"
for t in "$SRC"/tests/unit/test_*.c; do
  targets="$targets $(basename "$t" .c)"
done
# shellcheck disable=SC2086
cmake --build "$B" --target $targets >/dev/null
find "$B" -name '*.gcda' -delete

(cd "$B" && ctest -R '^unit\.' --output-on-failure -j "$(nproc 2>/dev/null || echo 2)") | tail -3

# Corpus replay: each fuzz target linked with fuzz/replay_main.c against the coverage library.
mkdir -p "$B/replay"
for f in "$SRC"/fuzz/fuzz_*.c; do
  name=$(basename "$f" .c)
  short=${name#fuzz_}
  "$CC_COV" --coverage -O0 -std=c11 -D_GNU_SOURCE -DWS_FUZZING -I"$SRC/include" -I"$SRC/src" \
    -o "$B/replay/$name" "$f" "$SRC/fuzz/replay_main.c" "$B/libwsclean.a" \
    -lssl -lcrypto -lz -lpthread -lm
  dirs="$SRC/fuzz/corpus/$short"
  if [ -n "${FUZZ_CORPUS_EXTRA:-}" ] && [ -d "$FUZZ_CORPUS_EXTRA/$short" ]; then
    dirs="$dirs $FUZZ_CORPUS_EXTRA/$short"
  fi
  if [ -d "$SRC/fuzz/regressions/$short" ]; then
    dirs="$dirs $SRC/fuzz/regressions/$short"
  fi
  # shellcheck disable=SC2086
  printf '%-22s ' "$short"; "$B/replay/$name" $dirs
done

# gcov over the library's src/proto objects.
OBJ="$B/CMakeFiles/wsclean.dir/src/proto"
mkdir -p "$B/gcov"
cd "$B/gcov"
total=0
hit=0
for c in "$SRC"/src/proto/*.c; do
  base=$(basename "$c")
  if [ ! -f "$OBJ/$base.gcda" ]; then
    n=$(grep -c . "$c" || true)
    printf '%-24s never run\n' "$base"
    continue
  fi
  out=$(gcov -o "$OBJ" "$OBJ/$base.gcda" 2>/dev/null | awk -v f="$base" '
    $0 ~ "^File .*"f"'"'"'" {want=1; next}
    want && /^Lines executed:/ {sub("Lines executed:",""); print; exit}')
  pct=${out%%%*}
  lines=${out##* of }
  h=$(awk -v p="$pct" -v l="$lines" 'BEGIN{printf "%d", p*l/100 + 0.5}')
  total=$((total + lines))
  hit=$((hit + h))
  printf '%-24s %6s%% of %5s lines\n' "$base" "$pct" "$lines"
done
pct=$(awk -v h="$hit" -v t="$total" 'BEGIN{ if (t) printf "%.1f", 100*h/t; else print "0" }')
echo "src/proto total: $pct% of $total lines ($hit covered)"
awk -v p="$pct" -v m="$MIN" 'BEGIN{ exit !(p + 0 >= m + 0) }' || {
  echo "coverage below $MIN%"
  exit 1
}
