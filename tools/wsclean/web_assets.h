/* wsclean CLI — the playground page (the files of web/), compiled in by embed_web.cmake. */
#ifndef WSCLEAN_TOOLS_WEB_ASSETS_H
#define WSCLEAN_TOOLS_WEB_ASSETS_H

#include <stddef.h>

typedef struct wscli_asset {
  const char *path;         /* "/index.html", ... (NULL ends the table) */
  const char *content_type; /* from the file name's extension */
  const unsigned char *data;
  size_t len;
} wscli_asset;

/* Every file of web/, ended by an entry whose path is NULL. */
extern const wscli_asset wscli_assets[];

/* The asset for a request path ("/" is "/index.html"; a query is ignored), or NULL. */
const wscli_asset *wscli_asset_find(const char *path, size_t len);

#endif
