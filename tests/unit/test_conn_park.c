/* Parking an idle ws_conn (wsclean/conn.h): refused whenever anything is in flight, and a
 * parked-then-unparked connection behaves byte for byte like one never parked. */
#include "conn_harness.h"
#include "wsclean/deflate.h"

static const ws_role ROLES[2] = {WS_ROLE_SERVER, WS_ROLE_CLIENT};

/* The role a connection talks to (frames from it are masked when it is a client). */
static ws_role peer_of(ws_role r) { return r == WS_ROLE_SERVER ? WS_ROLE_CLIENT : WS_ROLE_SERVER; }

static void unpark_into(h_conn *h, const ws_conn_parked *p, ws_role role, const ws_conn_options *o0,
                        uint64_t now) {
  ws_conn_options o;
  if (o0)
    o = *o0;
  else
    h_opts(&o, role, h);
  o.random_ud = h;
  h->c = ws_conn_unpark(p, &o, &H_CB, h, now);
}

WS_TEST(park_is_refused_while_anything_is_in_flight) {
  for (int ri = 0; ri < 2; ri++) {
    ws_role role = ROLES[ri];
    uint8_t f[64];
    ws_conn_parked p;
    for (int row = 0; row < 8; row++) {
      h_conn *h = h_new(role);
      switch (row) {
      case 0: /* half a frame header */
        h_frame(f, role, 0x81, "hi", 2);
        h_feed(h, f, 1, 0);
        break;
      case 1: { /* half a payload */
        size_t n = h_frame(f, role, 0x82, "abcdef", 6);
        h_feed(h, f, n - 2, 0);
        break;
      }
      case 2: { /* a fragmented message under way */
        size_t n = h_frame(f, role, 0x01, "frag", 4);
        h_feed(h, f, n, 0);
        break;
      }
      case 3: /* output queued, not written */
        WS_CHECK_EQ_INT(ws_conn_send(h->c, WS_OP_TEXT, "x", 1), WS_OK);
        break;
      case 4: /* a fragmented send under way, nothing queued any more */
        WS_CHECK_EQ_INT(ws_conn_send_fragment(h->c, WS_OP_TEXT, "a", 1, false), WS_OK);
        h_drain(h);
        break;
      case 5: /* closing */
        WS_CHECK_EQ_INT(ws_conn_close(h->c, 1000, NULL, 0), WS_OK);
        h_drain(h);
        break;
      case 6: { /* a close frame received */
        size_t n = h_close_frame(f, role, 1000, "", 0);
        h_feed(h, f, n, 0);
        break;
      }
      case 7: /* EOF */
        ws_conn_eof(h->c);
        break;
      }
      WS_CHECK_MSG(!ws_conn_park(h->c, &p), "role %d row %d parked", ri, row);
      h_free(h);
    }
    /* Nothing in flight: parks (and the conn is gone). */
    h_conn *h = h_new(role);
    WS_CHECK(ws_conn_park(h->c, &p));
    h->c = NULL;
    h_free(h);
  }
}

WS_TEST(park_is_refused_with_a_ping_awaiting_its_pong_or_deflate) {
  ws_conn_options o;
  ws_conn_parked p;
  h_opts(&o, WS_ROLE_SERVER, NULL);
  o.ping_interval_ms = 100;
  h_conn *h = h_new_opts(&o);
  ws_conn_tick(h->c, 1000 + 100); /* the keepalive ping goes out */
  h_drain(h);
  WS_CHECK(h->out_len > 0 && h->out[0] == 0x89);
  WS_CHECK(!ws_conn_park(h->c, &p));
  uint8_t f[16];
  size_t n = h_frame(f, WS_ROLE_SERVER, 0x8a, NULL, 0); /* the pong */
  h_feed(h, f, n, 0);
  WS_CHECK(ws_conn_park(h->c, &p));
  h->c = NULL;
  h_free(h);

  ws_deflate_params dp;
  memset(&dp, 0, sizeof dp);
  dp.enabled = true;
  dp.tx_window_bits = dp.rx_window_bits = 15;
  dp.level = 6;
  dp.mem_level = 8;
  h_opts(&o, WS_ROLE_SERVER, NULL);
  o.deflate = &dp;
  h = h_new_opts(&o);
  WS_CHECK(h->c != NULL);
  WS_CHECK(!ws_conn_park(h->c, &p));
  WS_CHECK(ws_conn_unpark(&p, &o, &H_CB, h, 2000) == NULL); /* nor unparked with deflate */
  h_free(h);
}

/* The same conversation on a conn parked between every step and on one never parked: the same
 * bytes out, the same callbacks, the same close event (duration included). */
WS_TEST(parked_and_unparked_behaves_like_never_parked) {
  for (int ri = 0; ri < 2; ri++) {
    ws_role role = ROLES[ri];
    ws_role peer = peer_of(role);
    (void)peer;
    h_conn *a = h_new(role), *b = h_new(role);
    uint64_t now = 1000;
    static const char *const MSGS[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
      now += 250;
      uint8_t f[64];
      size_t n = h_frame(f, role, 0x81, MSGS[i], strlen(MSGS[i]));
      ws_conn_tick(a->c, now);
      h_feed(a, f, n, 0);
      ws_conn_send(a->c, WS_OP_TEXT, MSGS[i], strlen(MSGS[i]));
      h_drain(a);
      /* b: parked in between */
      ws_conn_parked p;
      WS_CHECK_MSG(ws_conn_park(b->c, &p), "role %d step %d", ri, i);
      b->c = NULL;
      unpark_into(b, &p, role, NULL, now);
      WS_CHECK(b->c != NULL);
      h_feed(b, f, n, 0);
      ws_conn_send(b->c, WS_OP_TEXT, MSGS[i], strlen(MSGS[i]));
      h_drain(b);
    }
    now += 1000;
    ws_conn_tick(a->c, now);
    ws_conn_tick(b->c, now);
    uint8_t cf[32];
    size_t n = h_close_frame(cf, role, 1000, "bye", 3);
    h_feed(a, cf, n, 0);
    h_feed(b, cf, n, 0);
    h_drain(a);
    h_drain(b);
    ws_conn_transport_closed(a->c, WS_OK, NULL);
    ws_conn_transport_closed(b->c, WS_OK, NULL);
    WS_CHECK_EQ_STR(b->log, a->log);
    WS_CHECK_EQ_INT((long)b->out_len, (long)a->out_len);
    WS_CHECK(memcmp(a->out, b->out, a->out_len) == 0);
    WS_CHECK_EQ_INT((long)a->diag.duration_ms, 1750);
    WS_CHECK_EQ_INT((long)b->diag.duration_ms, 1750);
    h_free(a);
    h_free(b);
  }
}

/* The idle timeout counts from the last byte received, parked or not. */
WS_TEST(parked_connection_keeps_its_idle_deadline) {
  ws_conn_options o;
  h_opts(&o, WS_ROLE_SERVER, NULL);
  o.idle_timeout_ms = 5000;
  h_conn *h = h_new_opts(&o);
  uint8_t f[16];
  size_t n = h_frame(f, WS_ROLE_SERVER, 0x82, "x", 1);
  ws_conn_tick(h->c, 3000);
  h_feed(h, f, n, 0);
  WS_CHECK_EQ_INT((long)ws_conn_next_deadline(h->c), 8000);
  ws_conn_parked p;
  WS_CHECK(ws_conn_park(h->c, &p));
  WS_CHECK_EQ_INT((long)ws_conn_parked_deadline(&p), 8000);
  h->c = ws_conn_unpark(&p, &o, &H_CB, h, 7000);
  WS_CHECK(h->c != NULL);
  WS_CHECK_EQ_INT((long)ws_conn_next_deadline(h->c), 8000);
  ws_conn_tick(h->c, 7999);
  h_drain(h);
  WS_CHECK_EQ_INT((long)h->out_len, 0);
  ws_conn_tick(h->c, 8000); /* 1001 for the idle timeout, as if never parked */
  h_drain(h);
  WS_CHECK(h->out_len >= 4 && h->out[0] == 0x88 && h->out[2] == 0x03 && h->out[3] == 0xe9);
  h_free(h);
}

WS_TEST(unpark_allocation_failure_returns_null) {
  ws_conn_parked p;
  h_conn *h = h_new(WS_ROLE_SERVER);
  WS_CHECK(ws_conn_park(h->c, &p));
  h->c = NULL;
  h_alloc fs = {0, 0, 0}; /* the first allocation (the conn itself) fails */
  ws_allocator fa = {ha_malloc, ha_realloc, ha_free, &fs};
  ws_conn_options o;
  h_opts(&o, WS_ROLE_SERVER, h);
  o.alloc = &fa;
  WS_CHECK(ws_conn_unpark(&p, &o, &H_CB, h, 2000) == NULL);
  WS_CHECK(!ws_conn_park(NULL, &p));
  WS_CHECK(ws_conn_unpark(NULL, &o, &H_CB, h, 2000) == NULL);
  h_free(h);
}

int main(void) { return ws_test_main(); }
