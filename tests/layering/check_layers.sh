#!/usr/bin/env bash
# Keeps the layers honest (STYLE.md 1): src/base <- src/proto <- src/loop <- src/api <- tools.
#  - no layer includes a header of a layer above it;
#  - src/proto and src/base are sans-I/O: no socket headers, no clock reads, no direct malloc,
#    no randomness of their own (time and randomness are fed in).
# Prints every violation with file:line and exits 1 if there is any.
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2
fail=0
report() { echo "layering: $1"; fail=1; }

check_no_include() { # layer, forbidden include prefixes...
  local layer=$1; shift
  [ -d "src/$layer" ] || return 0
  for up in "$@"; do
    while IFS= read -r hit; do report "src/$layer must not include $up: $hit"; done \
      < <(grep -RnE "#[[:space:]]*include[[:space:]]*\"$up/" "src/$layer" || true)
  done
}
check_no_include base proto loop api
check_no_include proto loop api
check_no_include loop api

# Sans-I/O: the core may not touch the OS. Comments are not code: strip // and /* */ lines first.
sansio_pattern='#[[:space:]]*include[[:space:]]*<(sys/socket\.h|netinet/|arpa/inet\.h|sys/epoll\.h|unistd\.h|poll\.h|sys/time\.h|openssl/ssl\.h)>|(^|[^>.[:alnum:]_])(clock_gettime|gettimeofday|time\(|getrandom|rand\(|random\(|malloc\(|calloc\(|realloc\(|free\(|socket\(|send\(|recv\(|read\(|write\()'
# (a call through a struct member, o->random( or cb.free(, is a callback the caller injected: allowed)
for layer in proto base; do
  [ -d "src/$layer" ] || continue
  while IFS= read -r f; do
    # base/alloc.c is the one place allowed to call the C library's allocator.
    [ "$f" = "src/base/alloc.c" ] && continue
    while IFS= read -r hit; do
      code=${hit#*:*:}
      case "$code" in *"/*"*|*"*/"*|[[:space:]]"*"*|*"//"*) continue ;; esac
      report "$f:${hit%%:*}: sans-I/O layer touches the OS or the allocator directly:$code"
    done < <(grep -nE "$sansio_pattern" "$f" | sed -E 's/^([0-9]+):/\1:x:/' || true)
  done < <(find "src/$layer" -name '*.[ch]' | sort)
done

# Only include/wsclean/ is public: no header elsewhere is installed or included by tools as <...>.
while IFS= read -r hit; do report "tools must use the public API only: $hit"; done \
  < <(grep -RnE '#[[:space:]]*include[[:space:]]*"(loop|api)/' tools 2>/dev/null || true)

[ $fail -eq 0 ] && echo "layering: ok (base <- proto <- loop <- api <- tools; proto/base are sans-I/O)"
exit $fail
