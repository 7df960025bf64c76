/* wsclean CLI — looking up the embedded playground files (see web_assets.h). */
#include "web_assets.h"

#include <string.h>

const wscli_asset *wscli_asset_find(const char *path, size_t len) {
  size_t n = strcspn(path, "?#");
  if (n > len)
    n = len;
  if (n == 1 && path[0] == '/') {
    path = "/index.html";
    n = strlen(path);
  }
  for (const wscli_asset *a = wscli_assets; a->path; a++)
    if (strlen(a->path) == n && memcmp(a->path, path, n) == 0)
      return a;
  return NULL;
}
