/* permessage-deflate (RFC 7692) through zlib, every allocation through the ws_allocator. */
#include "proto/deflate.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "base/alloc.h"

/* RFC 7692 7.2.1: the bytes a sync flush ends with, stripped on send, appended on receive. */
static const uint8_t pmd_tail[4] = {0x00, 0x00, 0xff, 0xff};

/* ---- configuration --------------------------------------------------------------------------- */

void ws__pmd_config_init(ws__pmd_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->level = WS__PMD_DEFAULT_LEVEL;
  cfg->mem_level = WS__PMD_DEFAULT_MEM_LEVEL;
  cfg->threshold = WS__PMD_DEFAULT_THRESHOLD;
  cfg->tx_max_window_bits = WS__PMD_DEFAULT_WINDOW_BITS;
  cfg->rx_max_window_bits = WS__PMD_DEFAULT_WINDOW_BITS;
}

int ws__pmd_config_check(const ws__pmd_config *cfg) {
  if (!cfg || cfg->level < 1 || cfg->level > 9 || cfg->mem_level < 1 || cfg->mem_level > 9)
    return WS_ERR_INVAL;
  if (cfg->tx_max_window_bits < 8 || cfg->tx_max_window_bits > 15)
    return WS_ERR_INVAL;
  if (cfg->rx_max_window_bits < 8 || cfg->rx_max_window_bits > 15)
    return WS_ERR_INVAL;
  return WS_OK;
}

/* ---- parameters (RFC 7692 7.1) --------------------------------------------------------------- */

static bool name_is(const ws__pmd_param *p, const char *name) {
  size_t n = strlen(name);
  if (p->name_len != n)
    return false;
  for (size_t i = 0; i < n; i++) {
    char ch = p->name[i];
    if (ch >= 'A' && ch <= 'Z')
      ch = (char)(ch - 'A' + 'a');
    if (ch != name[i])
      return false;
  }
  return true;
}

/* RFC 7692 7.1.2: "a decimal integer value without leading zeros between 8 to 15". */
static int window_value(const ws__pmd_param *p) {
  if (p->value_len == 1 && p->value[0] >= '8' && p->value[0] <= '9')
    return p->value[0] - '0';
  if (p->value_len == 2 && p->value[0] == '1' && p->value[1] >= '0' && p->value[1] <= '5')
    return 10 + (p->value[1] - '0');
  return 0;
}

int ws__pmd_parse(const ws__pmd_param *params, size_t n, ws__pmd_offer *out) {
  ws__pmd_offer o;
  memset(&o, 0, sizeof o);
  bool seen_smwb = false;
  for (size_t i = 0; i < n; i++) {
    const ws__pmd_param *p = &params[i];
    if (name_is(p, "server_no_context_takeover") || name_is(p, "client_no_context_takeover")) {
      bool *flag = p->name[0] == 's' || p->name[0] == 'S' ? &o.server_no_context_takeover
                                                          : &o.client_no_context_takeover;
      /* RFC 7692 7.1.1.1/7.1.1.2: "This parameter has no value"; 7.1: no parameter twice. */
      if (p->value || *flag)
        return WS_ERR_PMD_PARAMS;
      *flag = true;
    } else if (name_is(p, "server_max_window_bits")) {
      /* RFC 7692 7.1.2.1: a value is required. */
      int v = p->value ? window_value(p) : 0;
      if (!v || seen_smwb)
        return WS_ERR_PMD_PARAMS;
      seen_smwb = true;
      o.server_max_window_bits = (uint8_t)v;
    } else if (name_is(p, "client_max_window_bits")) {
      /* RFC 7692 7.1.2.2: the value is optional in an offer. */
      int v = 0;
      if (p->value && !(v = window_value(p)))
        return WS_ERR_PMD_PARAMS;
      if (o.client_max_window_bits)
        return WS_ERR_PMD_PARAMS;
      o.client_max_window_bits = true;
      o.client_max_window_bits_value = (uint8_t)v;
    } else {
      /* RFC 7692 7.1: an unknown parameter makes the offer (or response) invalid. */
      return WS_ERR_PMD_PARAMS;
    }
  }
  *out = o;
  return WS_OK;
}

long ws__pmd_format(const ws__pmd_offer *o, char *out, size_t cap) {
  char tmp[160];
  int n = snprintf(tmp, sizeof tmp, "%s%s%s", WS__PMD_NAME,
                   o->server_no_context_takeover ? "; server_no_context_takeover" : "",
                   o->client_no_context_takeover ? "; client_no_context_takeover" : "");
  if (o->server_max_window_bits)
    n += snprintf(tmp + n, sizeof tmp - (size_t)n, "; server_max_window_bits=%u",
                  (unsigned)o->server_max_window_bits);
  if (o->client_max_window_bits) {
    n += snprintf(tmp + n, sizeof tmp - (size_t)n, "; client_max_window_bits");
    if (o->client_max_window_bits_value)
      n += snprintf(tmp + n, sizeof tmp - (size_t)n, "=%u",
                    (unsigned)o->client_max_window_bits_value);
  }
  if ((size_t)n + 1 > cap)
    return WS_ERR_LIMIT;
  memcpy(out, tmp, (size_t)n + 1);
  return n;
}

static uint8_t min_u8(uint8_t a, uint8_t b) { return a < b ? a : b; }

void ws__pmd_client_offer(const ws__pmd_config *cfg, ws__pmd_offer *offer) {
  memset(offer, 0, sizeof *offer);
  offer->server_no_context_takeover = cfg->rx_no_context_takeover;
  offer->client_no_context_takeover = cfg->tx_no_context_takeover;
  if (cfg->rx_max_window_bits < 15)
    offer->server_max_window_bits = cfg->rx_max_window_bits;
  offer->client_max_window_bits = true;
  if (cfg->tx_max_window_bits < 15)
    offer->client_max_window_bits_value = cfg->tx_max_window_bits;
}

int ws__pmd_client_verify(const ws__pmd_config *cfg, const ws__pmd_offer *offered,
                          const ws__pmd_offer *r, ws__pmd_params *agreed) {
  ws__pmd_params a;
  /* RFC 7692 7.1.1.1: the server accepts our server_no_context_takeover by echoing it; an
   * answer without it did not accept what we offered. */
  if (offered->server_no_context_takeover && !r->server_no_context_takeover)
    return WS_ERR_PMD_PARAMS;
  /* RFC 7692 7.1.2.1: a limit we asked for must come back, at most as large. Unasked, the
   * server may still announce one. */
  if (offered->server_max_window_bits &&
      (!r->server_max_window_bits || r->server_max_window_bits > offered->server_max_window_bits))
    return WS_ERR_PMD_PARAMS;
  /* RFC 7692 7.1.2.2: only if we offered it, and then with a value, at most ours. */
  if (r->client_max_window_bits) {
    if (!offered->client_max_window_bits || !r->client_max_window_bits_value)
      return WS_ERR_PMD_PARAMS;
    if (offered->client_max_window_bits_value &&
        r->client_max_window_bits_value > offered->client_max_window_bits_value)
      return WS_ERR_PMD_PARAMS;
  }
  a.rx_window_bits = r->server_max_window_bits ? r->server_max_window_bits : 15;
  a.rx_no_context_takeover = r->server_no_context_takeover;
  a.tx_window_bits = cfg->tx_max_window_bits;
  if (r->client_max_window_bits_value)
    a.tx_window_bits = min_u8(a.tx_window_bits, r->client_max_window_bits_value);
  /* RFC 7692 7.1.1.2: the server may forbid our context takeover; we may give it up anyway. */
  a.tx_no_context_takeover = r->client_no_context_takeover || cfg->tx_no_context_takeover;
  *agreed = a;
  return WS_OK;
}

int ws__pmd_server_accept(const ws__pmd_config *cfg, const ws__pmd_offer *o,
                          ws__pmd_offer *response, ws__pmd_params *agreed) {
  ws__pmd_offer r;
  ws__pmd_params a;
  memset(&r, 0, sizeof r);
  /* RFC 7692 7.1.1.1: we support it, so an offer of server_no_context_takeover is accepted by
   * echoing it; we may also declare it unasked. */
  r.server_no_context_takeover = o->server_no_context_takeover || cfg->tx_no_context_takeover;
  /* RFC 7692 7.1.1.2: the client's parameter is only a hint until the response carries it;
   * echoing it makes it binding and lets us free the inflater between messages. */
  r.client_no_context_takeover = o->client_no_context_takeover || cfg->rx_no_context_takeover;
  /* RFC 7692 7.1.2.1: a requested limit must be answered with a value at most as large; without
   * a request we may still announce our own. 8 is fine too (see ws__pmd_compress). */
  uint8_t tx = cfg->tx_max_window_bits;
  if (o->server_max_window_bits)
    tx = min_u8(tx, o->server_max_window_bits);
  if (o->server_max_window_bits || tx < 15)
    r.server_max_window_bits = tx;
  /* RFC 7692 7.1.2.2: we may limit the client's window only if it said it can be limited. */
  uint8_t rx = 15;
  if (o->client_max_window_bits) {
    rx = cfg->rx_max_window_bits;
    if (o->client_max_window_bits_value)
      rx = min_u8(rx, o->client_max_window_bits_value);
    if (rx < 15) {
      r.client_max_window_bits = true;
      r.client_max_window_bits_value = rx;
    }
  }
  a.tx_window_bits = tx;
  a.rx_window_bits = rx;
  a.tx_no_context_takeover = r.server_no_context_takeover;
  a.rx_no_context_takeover = r.client_no_context_takeover;
  *response = r;
  *agreed = a;
  return 1;
}

/* ---- zlib memory through the ws_allocator ---------------------------------------------------- */

static voidpf pmd_zalloc(voidpf opaque, uInt items, uInt size) {
  if (size && items > SIZE_MAX / size)
    return Z_NULL;
  return ws__malloc((const ws_allocator *)opaque, (size_t)items * size);
}

static void pmd_zfree(voidpf opaque, voidpf p) { ws__free((const ws_allocator *)opaque, p); }

static z_stream *stream_new(const ws_allocator *alloc) {
  z_stream *s = ws__calloc(alloc, 1, sizeof *s);
  if (!s)
    return NULL;
  s->zalloc = pmd_zalloc;
  s->zfree = pmd_zfree;
  /* zlib takes the opaque pointer as non-const; it is only handed back to the two functions
   * above, which treat it as const again. */
  s->opaque = (voidpf)(uintptr_t)ws__alloc_or_default(alloc);
  return s;
}

/* ---- the data path --------------------------------------------------------------------------- */

void ws__pmd_init(ws__pmd *d, const ws_allocator *alloc, const ws__pmd_config *cfg,
                  const ws__pmd_params *p) {
  memset(d, 0, sizeof *d);
  d->alloc = alloc;
  d->p = *p;
  d->level = cfg->level;
  d->mem_level = cfg->mem_level;
  d->threshold = cfg->threshold;
}

static void tx_end(ws__pmd *d) {
  if (!d->tx)
    return;
  deflateEnd(d->tx);
  ws__free(d->alloc, d->tx);
  d->tx = NULL;
}

static void rx_end(ws__pmd *d) {
  if (!d->rx)
    return;
  inflateEnd(d->rx);
  ws__free(d->alloc, d->rx);
  d->rx = NULL;
}

void ws__pmd_free(ws__pmd *d) {
  tx_end(d);
  rx_end(d);
}

bool ws__pmd_should_compress(const ws__pmd *d, size_t len) {
  return !d->broken && len >= d->threshold;
}

int ws__pmd_compress(ws__pmd *d, const void *data, size_t len, bool fin, ws__buf *out) {
  const uint8_t *in = data;
  if (d->broken)
    return WS_ERR_STATE;
  if (fin && len == 0 && d->tx_in == 0) {
    /* RFC 7692 7.2.3.6: the empty message is one 0x00 byte (an empty stored block once the tail
     * is appended). zlib would write nothing for a flush right after a flush. */
    return ws__buf_append(out, "", 1);
  }
  d->tx_in += len;
  if (!d->tx) {
    z_stream *s = stream_new(d->alloc);
    if (!s)
      return WS_ERR_NOMEM;
    /* Negative windowBits: raw DEFLATE, no zlib header (RFC 7692 7.2.1). zlib >= 1.2.9 refuses
     * raw 8 (Z_STREAM_ERROR); 9 keeps a peer's 256-byte window safe all the same, because zlib
     * limits match distances to the window minus MIN_LOOKAHEAD (262): at most 250 here. */
    int wbits = d->p.tx_window_bits < 9 ? 9 : d->p.tx_window_bits;
    if (deflateInit2(s, d->level, Z_DEFLATED, -wbits, d->mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
      ws__free(d->alloc, s);
      return WS_ERR_NOMEM;
    }
    d->tx = s;
  }
  z_stream *s = d->tx;
  size_t start = out->len;
  /* zlib counts in uInt: feed at most UINT_MAX bytes per call. */
  while (len > 0 || fin) {
    uInt chunk = len > UINT_MAX ? UINT_MAX : (uInt)len;
    int flush = (fin && chunk == len) ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    s->next_in = (Bytef *)(uintptr_t)in;
    s->avail_in = chunk;
    for (;;) {
      int rc = ws__buf_reserve(out, out->cap - out->len >= 64 ? 0 : 64);
      if (rc == WS_ERR_LIMIT && out->cap > out->len)
        rc = WS_OK; /* near the maximum: use what is left */
      if (rc) {
        /* zlib has taken input whose output is lost: its history no longer matches what the
         * peer will see, so this deflater is never used again (messages go uncompressed). */
        d->broken = true;
        return rc;
      }
      size_t room = out->cap - out->len;
      s->next_out = out->data + out->len;
      s->avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
      uInt before = s->avail_out;
      int z = deflate(s, flush);
      out->len += before - s->avail_out;
      if (z == Z_STREAM_ERROR) {
        d->broken = true;
        return WS_ERR_NOMEM;
      }
      /* Done with this chunk when zlib had room left over: all input taken and, for a flush,
       * everything written (zlib manual: "avail_out > 0 after deflate() with Z_SYNC_FLUSH"). */
      if (s->avail_out != 0 && s->avail_in == 0)
        break;
      if (s->avail_out != 0 && z == Z_BUF_ERROR)
        break;
    }
    in += chunk;
    len -= chunk;
    if (flush == Z_SYNC_FLUSH)
      break;
  }
  if (fin) {
    /* RFC 7692 7.2.1: remove the 4 octets 0x00 0x00 0xff 0xff that end the flushed data. */
    if (out->len - start < 4 || memcmp(out->data + out->len - 4, pmd_tail, 4) != 0) {
      d->broken = true;
      return WS_ERR_STATE;
    }
    out->len -= 4;
    d->tx_in = 0;
    /* RFC 7692 7.1.1.1/7.1.1.2: without context takeover every message starts afresh. We free
     * the deflater rather than reset it, so an idle connection holds no zlib memory. */
    if (d->p.tx_no_context_takeover)
      tx_end(d);
  }
  return WS_OK;
}

/* The peer's DEFLATE stream ended with a final block (RFC 7692 7.2.3.4): restart zlib's stream.
 * Under context takeover the window is kept, since the peer may still refer to it. */
static int rx_restart(ws__pmd *d) {
  z_stream *s = d->rx;
  const Bytef *next = s->next_in;
  uInt avail = s->avail_in;
  int z = Z_OK;
  if (d->p.rx_no_context_takeover) {
    z = inflateReset(s);
  } else {
    /* Rare (zlib peers flush with a sync marker): a transient copy of the window. */
    uint8_t *win = ws__malloc(d->alloc, (size_t)1 << 15);
    uInt wlen = 0;
    if (!win)
      return WS_ERR_NOMEM;
    inflateGetDictionary(s, win, &wlen);
    z = inflateReset(s);
    if (z == Z_OK && wlen)
      z = inflateSetDictionary(s, win, wlen);
    ws__free(d->alloc, win);
  }
  s->next_in = (Bytef *)(uintptr_t)next;
  s->avail_in = avail;
  d->rx_reset = false;
  return z == Z_OK ? WS_OK : WS_ERR_PMD_DATA;
}

static int rx_new(ws__pmd *d) {
  z_stream *s = stream_new(d->alloc);
  if (!s)
    return WS_ERR_NOMEM;
  /* At least 9: a peer told "8" deflates with 9 when it uses zlib (which refuses raw 8); zlib
   * keeps its distances within 256 bytes then, but a deflater that does not would still be
   * understood. The larger window costs 256 bytes. */
  int wbits = d->p.rx_window_bits < 9 ? 9 : d->p.rx_window_bits;
  if (inflateInit2(s, -wbits) != Z_OK) {
    ws__free(d->alloc, s);
    return WS_ERR_NOMEM;
  }
  d->rx = s;
  d->rx_reset = false;
  return WS_OK;
}

/* Inflate in[0..len) into out, never growing out past out->max. `tail`: these are the 4 bytes
 * we appended; after a final block they are not needed and are ignored. */
static int inflate_some(ws__pmd *d, const uint8_t *in, size_t len, bool tail, ws__buf *out) {
  z_stream *s = d->rx;
  if (d->rx_reset && tail)
    return WS_OK;
  s->next_in = (Bytef *)(uintptr_t)in;
  while (len > 0) {
    uInt chunk = len > UINT_MAX ? UINT_MAX : (uInt)len;
    s->next_in = (Bytef *)(uintptr_t)in;
    s->avail_in = chunk;
    for (;;) {
      if (d->rx_reset) {
        /* More bytes after a final block: RFC 7692 7.2.3.4 shows one (0x00, an empty stored
         * block once the tail is appended); they start a new DEFLATE stream. */
        int rc = rx_restart(d);
        if (rc)
          return rc;
      }
      uint8_t probe;
      bool full = out->len >= out->max;
      if (!full && out->len == out->cap) {
        /* Grow by doubling (ws__buf), never beyond the cap: the allocation stays <= out->max. */
        int rc = ws__buf_reserve(out, 1);
        if (rc)
          return rc;
      }
      if (full) {
        /* At the cap: one more inflated byte is one too many. */
        s->next_out = &probe;
        s->avail_out = 1;
      } else {
        size_t room = out->cap - out->len;
        s->next_out = out->data + out->len;
        s->avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
      }
      uInt before = s->avail_out;
      int z = inflate(s, Z_SYNC_FLUSH);
      size_t produced = before - s->avail_out;
      if (full && produced)
        return WS_ERR_PROTO_MESSAGE_TOO_BIG; /* RFC 6455 7.4.1: 1009 */
      out->len += produced;
      if (z == Z_STREAM_END) {
        d->rx_reset = true;
        if (s->avail_in == 0 || tail)
          break;
        continue;
      }
      if (z == Z_MEM_ERROR)
        return WS_ERR_NOMEM;
      if (z != Z_OK && z != Z_BUF_ERROR)
        return WS_ERR_PMD_DATA; /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
      if (s->avail_in == 0 && s->avail_out != 0)
        break; /* all input taken and nothing held back */
      if (z == Z_BUF_ERROR && s->avail_out != 0)
        break; /* no progress possible */
    }
    if (d->rx_reset && tail)
      return WS_OK;
    in += chunk;
    len -= chunk;
  }
  return WS_OK;
}

int ws__pmd_inflate(ws__pmd *d, const uint8_t *in, size_t len, bool fin, ws__buf *out) {
  if (d->broken)
    return WS_ERR_STATE;
  int rc = WS_OK;
  if (len > 0) {
    if (!d->rx)
      rc = rx_new(d);
    d->rx_in += len;
    if (!rc)
      rc = inflate_some(d, in, len, false, out);
  }
  if (!rc && fin) {
    /* RFC 7692 7.2.2: append 0x00 0x00 0xff 0xff, then inflate. A message with no payload at all
     * is the empty message: the inflater is left untouched (the tail alone is not a complete
     * DEFLATE block and would leave it mid-block). */
    if (d->rx_in > 0)
      rc = inflate_some(d, pmd_tail, sizeof pmd_tail, true, out);
    if (!rc) {
      d->rx_in = 0;
      /* RFC 7692 7.1.1.1/7.1.1.2: the peer starts every message afresh; free the inflater so an
       * idle connection holds no zlib memory. */
      if (d->p.rx_no_context_takeover)
        rx_end(d);
    }
  }
  if (rc)
    d->broken = true;
  return rc;
}
