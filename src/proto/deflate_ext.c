/* permessage-deflate as a handshake extension (the ws_extension hooks) and the public options. */
#include <stdio.h>
#include <string.h>

#include "proto/deflate.h"
#include "wsclean/deflate.h"

void ws_deflate_options_init(ws_deflate_options *o, ws_role role) {
  ws__pmd_config c;
  ws__pmd_config_init(&c);
  memset(o, 0, sizeof *o);
  o->size = sizeof *o;
  /* docs/deflate.md: on for clients (every browser offers it), off for servers (memory). */
  o->enabled = role == WS_ROLE_CLIENT;
  o->level = c.level;
  o->mem_level = c.mem_level;
  o->threshold = c.threshold;
  o->max_window_bits = c.tx_max_window_bits;
  o->peer_max_window_bits = c.rx_max_window_bits;
}

static void to_config(const ws_deflate_options *o, ws__pmd_config *c) {
  ws__pmd_config_init(c);
  c->level = o->level;
  c->mem_level = o->mem_level;
  c->threshold = o->threshold;
  c->tx_max_window_bits = o->max_window_bits;
  c->rx_max_window_bits = o->peer_max_window_bits;
  c->tx_no_context_takeover = o->no_context_takeover;
  c->rx_no_context_takeover = o->peer_no_context_takeover;
}

int ws_deflate_options_check(const ws_deflate_options *o) {
  if (!o || o->size < sizeof *o)
    return WS_ERR_INVAL;
  ws__pmd_config c;
  to_config(o, &c);
  return ws__pmd_config_check(&c);
}

/* The handshake's parameters as ours (same fields, RFC 7692 names). */
static int parse_offer(const ws_ext_offer *e, ws__pmd_offer *out) {
  ws__pmd_param ps[WS_EXT_MAX_PARAMS];
  if (e->num_params > WS_EXT_MAX_PARAMS)
    return WS_ERR_PMD_PARAMS;
  for (size_t i = 0; i < e->num_params; i++) {
    ps[i].name = e->params[i].name;
    ps[i].name_len = e->params[i].name_len;
    ps[i].value = e->params[i].value;
    ps[i].value_len = e->params[i].value_len;
  }
  return ws__pmd_parse(ps, e->num_params, out);
}

static int add_params(ws_ext_list *l, const ws__pmd_offer *o) {
  int rc = WS_OK;
  char v[4];
  if (o->server_no_context_takeover)
    rc = ws_ext_list_add_param(l, "server_no_context_takeover", 26, NULL, 0);
  if (!rc && o->client_no_context_takeover)
    rc = ws_ext_list_add_param(l, "client_no_context_takeover", 26, NULL, 0);
  if (!rc && o->server_max_window_bits) {
    int n = snprintf(v, sizeof v, "%u", (unsigned)o->server_max_window_bits);
    rc = ws_ext_list_add_param(l, "server_max_window_bits", 22, v, (size_t)n);
  }
  if (!rc && o->client_max_window_bits) {
    if (o->client_max_window_bits_value) {
      int n = snprintf(v, sizeof v, "%u", (unsigned)o->client_max_window_bits_value);
      rc = ws_ext_list_add_param(l, "client_max_window_bits", 22, v, (size_t)n);
    } else {
      rc = ws_ext_list_add_param(l, "client_max_window_bits", 22, NULL, 0);
    }
  }
  return rc;
}

static int hook_client_offer(void *ud, ws_ext_list *offers) {
  ws__pmd_config c;
  ws__pmd_offer o;
  to_config(ud, &c);
  ws__pmd_client_offer(&c, &o);
  int rc = ws_ext_list_add(offers, WS__PMD_NAME, sizeof WS__PMD_NAME - 1);
  return rc ? rc : add_params(offers, &o);
}

static int hook_client_verify(void *ud, const ws_ext_offer *response) {
  ws__pmd_config c;
  ws__pmd_offer offered, r;
  ws__pmd_params agreed;
  to_config(ud, &c);
  ws__pmd_client_offer(&c, &offered);
  int rc = parse_offer(response, &r);
  return rc ? rc : ws__pmd_client_verify(&c, &offered, &r, &agreed);
}

static int hook_server_accept(void *ud, const ws_ext_offer *offer, ws_ext_list *response) {
  ws__pmd_config c;
  ws__pmd_offer o, r;
  ws__pmd_params agreed;
  to_config(ud, &c);
  /* RFC 7692 5.1: an offer we cannot parse is declined and the next one is tried. */
  if (parse_offer(offer, &o) != WS_OK)
    return 0;
  if (ws__pmd_server_accept(&c, &o, &r, &agreed) != 1)
    return 0;
  int rc = add_params(response, &r);
  return rc ? rc : 1;
}

void ws_deflate_extension(ws_extension *ext, const ws_deflate_options *o) {
  memset(ext, 0, sizeof *ext);
  ext->name = WS__PMD_NAME;
  ext->rsv = 0x4; /* RFC 7692 6: RSV1 marks a compressed message */
  ext->required = false;
  ext->client_offer = hook_client_offer;
  ext->client_verify = hook_client_verify;
  ext->server_accept = hook_server_accept;
  /* The hooks only read *o; the handshake API passes ud as non-const. */
  ext->ud = (void *)(uintptr_t)o;
}

int ws_deflate_params_from_handshake(ws_deflate_params *p, ws_role role,
                                     const ws_deflate_options *o, const ws_ext_list *accepted) {
  memset(p, 0, sizeof *p);
  const ws_ext_offer *e = NULL;
  for (size_t i = 0; accepted && i < accepted->num_offers && !e; i++)
    if (strcmp(accepted->offers[i].name, WS__PMD_NAME) == 0)
      e = &accepted->offers[i];
  if (!e || !o)
    return 0;
  ws__pmd_config c;
  ws__pmd_offer r;
  ws__pmd_params a;
  to_config(o, &c);
  int rc = parse_offer(e, &r);
  if (rc)
    return rc;
  if (role == WS_ROLE_CLIENT) {
    ws__pmd_offer offered;
    ws__pmd_client_offer(&c, &offered);
    rc = ws__pmd_client_verify(&c, &offered, &r, &a);
    if (rc)
      return rc;
  } else {
    /* The response is what ws__pmd_server_accept wrote: it states every agreed value. */
    a.tx_window_bits = r.server_max_window_bits ? r.server_max_window_bits : 15;
    a.tx_no_context_takeover = r.server_no_context_takeover;
    a.rx_window_bits = r.client_max_window_bits_value ? r.client_max_window_bits_value : 15;
    a.rx_no_context_takeover = r.client_no_context_takeover;
  }
  p->enabled = true;
  p->tx_window_bits = a.tx_window_bits;
  p->rx_window_bits = a.rx_window_bits;
  p->tx_no_context_takeover = a.tx_no_context_takeover;
  p->rx_no_context_takeover = a.rx_no_context_takeover;
  p->level = c.level;
  p->mem_level = c.mem_level;
  p->threshold = c.threshold;
  return 1;
}
