/* A main() for the libFuzzer targets without libFuzzer: runs LLVMFuzzerTestOneInput once over
 * every file named on the command line (directories: every regular file inside, one level).
 * Used by `make coverage` (scripts/coverage.sh) to replay the seed corpora and any fuzzing
 * corpus under gcc --coverage; not built by CMake (fuzz/CMakeLists.txt globs fuzz_*.c only). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      uint8_t *nb = realloc(buf, cap);
      if (!nb)
        break;
      buf = nb;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    if (n == 0)
      break;
    len += n;
  }
  fclose(f);
  /* an exact-size copy, so an over-read is as visible as under libFuzzer */
  uint8_t *exact = malloc(len ? len : 1);
  if (exact && len)
    memcpy(exact, buf, len);
  free(buf);
  if (!exact)
    return 0;
  (void)LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 1;
}

int main(int argc, char **argv) {
  long runs = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0)
      continue;
    if (!S_ISDIR(st.st_mode)) {
      runs += run_file(argv[i]);
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d)
      continue;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.')
        continue;
      size_t n = strlen(argv[i]) + strlen(e->d_name) + 2;
      char *p = malloc(n);
      if (!p)
        break;
      snprintf(p, n, "%s/%s", argv[i], e->d_name);
      struct stat fs;
      if (stat(p, &fs) == 0 && S_ISREG(fs.st_mode))
        runs += run_file(p);
      free(p);
    }
    closedir(d);
  }
  printf("replayed %ld inputs\n", runs);
  return 0;
}
