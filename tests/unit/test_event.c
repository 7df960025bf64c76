/* src/base/event.c: Event, CloseEvent, MessageEvent and EventTarget against the DOM, HTML and
 * WHATWG WebSockets rules they claim (CloseEventInit defaults, isTrusted, dispatch order, handler
 * position, removal/addition during dispatch, re-entrancy, the legacy initCloseEvent). */
#include "base/event.h"
#include "wsclean/errors.h"
#include "wstest.h"
#include "wstest_alloc.h"

#include <stdlib.h>

/* ---- helpers -------------------------------------------------------------------------------- */


/* Listeners record their name in ctx->log and may then run an action. */
typedef struct ctx ctx;
typedef struct node node;
struct node {
  ctx *c;
  char name;
  void (*act)(node *self, const ws_event *ev);
  node *other;
  int calls;
};
struct ctx {
  ws_event_target *t;
  char log[128];
  size_t n;
  int rc; /* return code of the last action, for the test to check */
};

static void rec(const ws_event *ev, void *ud) {
  node *self = ud;
  ctx *c = self->c;
  self->calls++;
  if (c->n + 1 < sizeof c->log) {
    c->log[c->n++] = self->name;
    c->log[c->n] = '\0';
  }
  if (self->act)
    self->act(self, ev);
}

/* A second function, so (cb, ud) pairs can differ by cb alone. */
static void rec2(const ws_event *ev, void *ud) { rec(ev, ud); }

static void reset(ctx *c) {
  c->n = 0;
  c->log[0] = '\0';
}

static ws_close_event *close_ev(const char *type) {
  return ws_close_event_new(NULL, type, NULL, 0.0);
}

/* Dispatch a fresh close event of `type` and return the log. */
static const char *fire(ctx *c, const char *type) {
  reset(c);
  ws_close_event *ev = close_ev(type);
  WS_CHECK(ev != NULL);
  if (ev) {
    WS_CHECK_EQ_INT(ws_event_target_dispatch(c->t, (ws_event *)ev), WS_OK);
    ws_close_event_free(ev);
  }
  return c->log;
}

/* ---- CloseEvent construction ---------------------------------------------------------------- */

WS_TEST(close_event_defaults_are_closeeventinit_defaults) {
  ws_close_event *ev = ws_close_event_new(NULL, "close", NULL, 12.5);
  WS_CHECK(ev != NULL);
  if (!ev)
    return;
  const ws_event *b = ws_close_event_base(ev);
  WS_CHECK_EQ_STR(ws_event_type(b), "close");
  WS_CHECK_EQ_INT(ws_event_get_kind(b), WS_EVENT_CLOSE);
  WS_CHECK_EQ_INT(ws_close_event_code(ev), 0);
  size_t len = 99;
  WS_CHECK_EQ_STR(ws_close_event_reason(ev, &len), "");
  WS_CHECK_EQ_INT(len, 0);
  WS_CHECK(!ws_close_event_was_clean(ev));
  WS_CHECK(!ws_event_bubbles(b));
  WS_CHECK(!ws_event_cancelable(b));
  WS_CHECK(!ws_event_composed(b));
  WS_CHECK(!ws_event_is_trusted(b));
  WS_CHECK(ws_event_time_stamp(b) == 12.5);
  const ws_close_diag *d = ws_close_event_diag(ev);
  WS_CHECK(d->initiator == WS_CLOSER_NONE && d->code_sent == 0 && d->code_received == 0 &&
           d->error == WS_OK && d->duration_ms == 0);
  WS_CHECK_EQ_STR(d->detail, "");
  WS_CHECK(ws_event_as_close(b) == ev);
  WS_CHECK(ws_event_as_message(b) == NULL);
  ws_close_event_free(ev);
}

WS_TEST(close_event_constructor_accepts_any_code_and_init) {
  /* WHATWG: the constructor validates nothing about the code, unlike close(). */
  static const uint16_t codes[] = {0, 1, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535};
  for (size_t k = 0; k < sizeof codes / sizeof codes[0]; k++) {
    ws_close_event_init init = {.bubbles = true,
                                .cancelable = true,
                                .composed = true,
                                .was_clean = true,
                                .code = codes[k],
                                .reason = "bye"};
    ws_close_event *ev = ws_close_event_new(NULL, "close", &init, 1.0);
    WS_CHECK(ev != NULL);
    if (!ev)
      continue;
    const ws_event *b = ws_close_event_base(ev);
    WS_CHECK_EQ_INT(ws_close_event_code(ev), codes[k]);
    WS_CHECK_EQ_STR(ws_close_event_reason(ev, NULL), "bye"); /* reason_len 0 means strlen */
    WS_CHECK(ws_close_event_was_clean(ev));
    WS_CHECK(ws_event_bubbles(b) && ws_event_cancelable(b) && ws_event_composed(b));
    WS_CHECK(!ws_event_is_trusted(b));
    ws_close_event_free(ev);
  }
}

WS_TEST(close_event_reason_bytes_and_lengths) {
  /* An explicit length may carry a NUL; (size_t)-1 is strlen; over 123 bytes is allowed for an
   * app-built event (only wire reasons are bounded). */
  static const char with_nul[] = {'a', '\0', 'b'};
  ws_close_event_init init = {.reason = with_nul, .reason_len = 3};
  ws_close_event *ev = ws_close_event_new(NULL, "close", &init, 0);
  size_t len = 0;
  const char *r = ws_close_event_reason(ev, &len);
  WS_CHECK_EQ_MEM(r, len, with_nul, 3);
  WS_CHECK_EQ_INT(r[3], 0);
  ws_close_event_free(ev);

  init.reason = "\xC3\xA9t\xC3\xA9"; /* "été" */
  init.reason_len = (size_t)-1;
  ev = ws_close_event_new(NULL, "close", &init, 0);
  WS_CHECK_EQ_STR(ws_close_event_reason(ev, &len), "\xC3\xA9t\xC3\xA9");
  WS_CHECK_EQ_INT(len, 5);
  ws_close_event_free(ev);

  char big[300];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  for (size_t n = 122; n <= 125; n++) { /* around the inline buffer's edge */
    init.reason = big;
    init.reason_len = n;
    ev = ws_close_event_new(NULL, "close", &init, 0);
    r = ws_close_event_reason(ev, &len);
    WS_CHECK_EQ_INT(len, n);
    WS_CHECK_EQ_MEM(r, len, big, n);
    WS_CHECK_EQ_INT(r[n], 0);
    ws_close_event_free(ev);
  }
  init.reason = NULL;
  init.reason_len = 5; /* NULL is "" whatever the length says */
  ev = ws_close_event_new(NULL, "close", &init, 0);
  WS_CHECK_EQ_STR(ws_close_event_reason(ev, &len), "");
  ws_close_event_free(ev);
}

WS_TEST(close_event_type_limits) {
  char t31[32], t32[33];
  memset(t31, 't', 31);
  t31[31] = '\0';
  memset(t32, 't', 32);
  t32[32] = '\0';
  ws_close_event *ev = ws_close_event_new(NULL, t31, NULL, 0);
  WS_CHECK(ev != NULL);
  WS_CHECK_EQ_STR(ws_event_type(ws_close_event_base(ev)), t31);
  ws_close_event_free(ev);
  WS_CHECK(ws_close_event_new(NULL, t32, NULL, 0) == NULL);
  WS_CHECK(ws_close_event_new(NULL, NULL, NULL, 0) == NULL);
  ev = ws_close_event_new(NULL, "", NULL, 0); /* DOM allows the empty type */
  WS_CHECK(ev != NULL);
  ws_close_event_free(ev);
  ws_close_event_free(NULL);
}

/* ---- legacy initCloseEvent ------------------------------------------------------------------ */

WS_TEST(legacy_init_sets_fields_before_dispatch) {
  ws_close_event_init init = {.code = 4000, .reason = "old", .composed = true};
  ws_close_event *ev = ws_close_event_new(NULL, "close", &init, 7.0);
  WS_CHECK_EQ_INT(ws_close_event_init_legacy(ev, "custom", true, true, true, 1001, "going"), WS_OK);
  const ws_event *b = ws_close_event_base(ev);
  WS_CHECK_EQ_STR(ws_event_type(b), "custom");
  WS_CHECK(ws_event_bubbles(b) && ws_event_cancelable(b));
  WS_CHECK(ws_event_composed(b));          /* initCloseEvent has no composed argument */
  WS_CHECK(ws_event_time_stamp(b) == 7.0); /* nor a timestamp */
  WS_CHECK(ws_close_event_was_clean(ev));
  WS_CHECK_EQ_INT(ws_close_event_code(ev), 1001);
  WS_CHECK_EQ_STR(ws_close_event_reason(ev, NULL), "going");

  /* Long, then short again (the heap copy is released: ASan would see a leak), then NULL. */
  char big[200];
  memset(big, 'y', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  WS_CHECK_EQ_INT(ws_close_event_init_legacy(ev, "close", false, false, false, 0, big), WS_OK);
  WS_CHECK_EQ_STR(ws_close_event_reason(ev, NULL), big);
  /* The reason may be the event's own reason (heap, then inline). */
  WS_CHECK_EQ_INT(ws_close_event_init_legacy(ev, "close", false, false, false, 0,
                                             ws_close_event_reason(ev, NULL)),
                  WS_OK);
  WS_CHECK_EQ_STR(ws_close_event_reason(ev, NULL), big);
  WS_CHECK_EQ_INT(ws_close_event_init_legacy(ev, "close", false, false, false, 0,
                                             ws_close_event_reason(ev, NULL) + 190),
                  WS_OK);
  WS_CHECK_EQ_STR(ws_close_event_reason(ev, NULL), "yyyyyyyyy");
  WS_CHECK_EQ_INT(ws_close_event_init_legacy(ev, "close", false, false, false, 0, NULL), WS_OK);
  size_t len = 9;
  WS_CHECK_EQ_STR(ws_close_event_reason(ev, &len), "");
  WS_CHECK_EQ_INT(len, 0);
  WS_CHECK_EQ_INT(ws_close_event_init_legacy(ev, NULL, false, false, false, 0, ""), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_close_event_init_legacy(NULL, "close", false, false, false, 0, ""),
                  WS_ERR_INVAL);
  ws_close_event_free(ev);
}

static void try_legacy_init(node *self, const ws_event *ev) {
  /* A listener reaching for the event it is given (as a script may). */
  self->c->rc = ws_close_event_init_legacy((ws_close_event *)(uintptr_t)ws_event_as_close(ev),
                                           "other", true, true, true, 4999, "late");
}

WS_TEST(legacy_init_is_a_no_op_once_dispatched) {
  ctx c = {0};
  c.t = ws_event_target_new(NULL);
  node a = {&c, 'a', try_legacy_init, NULL, 0};
  WS_CHECK_EQ_INT(ws_event_target_add_listener(c.t, "close", rec, &a), WS_OK);
  ws_close_event_init init = {.code = 1000, .reason = "done", .was_clean = true};
  ws_close_event *ev = ws_close_event_new(NULL, "close", &init, 0);
  WS_CHECK_EQ_INT(ws_event_target_dispatch(c.t, (ws_event *)ev), WS_OK);
  WS_CHECK_EQ_INT(c.rc, WS_ERR_STATE); /* during the dispatch */
  WS_CHECK_EQ_INT(ws_close_event_init_legacy(ev, "other", true, true, false, 4999, "late"),
                  WS_ERR_STATE); /* and after it */
  const ws_event *b = ws_close_event_base(ev);
  WS_CHECK_EQ_STR(ws_event_type(b), "close");
  WS_CHECK_EQ_INT(ws_close_event_code(ev), 1000);
  WS_CHECK_EQ_STR(ws_close_event_reason(ev, NULL), "done");
  WS_CHECK(ws_close_event_was_clean(ev) && !ws_event_bubbles(b));
  ws_close_event_free(ev);
  ws_event_target_free(c.t);
}

/* ---- trusted events of the library ---------------------------------------------------------- */

WS_TEST(library_events_are_trusted_and_embedded) {
  ws_close_event ev;
  memset(&ev, 0x5A, sizeof ev); /* garbage: set must not read the old state */
  ws_close_diag diag = {WS_CLOSER_REMOTE, 1000, 1001, WS_OK, NULL, 42};
  ws__close_event_set(&ev, 1001, "server restart", 14, true, &diag, 99.0);
  const ws_event *b = ws_close_event_base(&ev);
  WS_CHECK(ws_event_is_trusted(b));
  WS_CHECK_EQ_STR(ws_event_type(b), "close");
  WS_CHECK(!ws_event_bubbles(b) && !ws_event_cancelable(b) && !ws_event_composed(b));
  WS_CHECK(ws_event_time_stamp(b) == 99.0);
  WS_CHECK_EQ_INT(ws_close_event_code(&ev), 1001);
  WS_CHECK_EQ_STR(ws_close_event_reason(&ev, NULL), "server restart");
  WS_CHECK(ws_close_event_was_clean(&ev));
  const ws_close_diag *d = ws_close_event_diag(&ev);
  WS_CHECK(d->initiator == WS_CLOSER_REMOTE && d->code_sent == 1000 && d->code_received == 1001 &&
           d->duration_ms == 42);
  WS_CHECK_EQ_STR(d->detail, ""); /* never NULL */
  WS_CHECK(ws_event_as_close(b) == &ev);
  ws_close_event_free(&ev); /* embedded: ignored, must not crash */

  /* A wire reason is at most 123 bytes; a longer one is cut, never overflowed. */
  char big[200];
  memset(big, 'r', sizeof big);
  ws__close_event_set(&ev, 1006, big, sizeof big, false, NULL, 0);
  size_t len = 0;
  const char *r = ws_close_event_reason(&ev, &len);
  WS_CHECK_EQ_INT(len, 123);
  WS_CHECK_EQ_INT(r[123], 0);
  WS_CHECK_EQ_STR(ws_close_event_diag(&ev)->detail, "");
  ws__close_event_set(&ev, 1005, NULL, 10, false, NULL, 0);
  WS_CHECK_EQ_STR(ws_close_event_reason(&ev, &len), "");

  /* The legacy init still works before dispatch, and makes the event untrusted (DOM
   * "initialize"); an embedded event cannot take a reason it has no room for. */
  char long_reason[151];
  memset(long_reason, 'l', 150);
  long_reason[150] = '\0';
  WS_CHECK_EQ_INT(ws_close_event_init_legacy(&ev, "close", false, false, true, 1000, long_reason),
                  WS_ERR_LIMIT);
  WS_CHECK(ws_event_is_trusted(b));
  WS_CHECK_EQ_INT(ws_close_event_init_legacy(&ev, "close", false, false, true, 1000, "ok"), WS_OK);
  WS_CHECK(!ws_event_is_trusted(b));
}

WS_TEST(message_events_and_downcasts) {
  ws_message_event m;
  static const uint8_t data[] = {1, 2, 3};
  ws__message_event_set(&m, data, sizeof data, true, 5.0);
  const ws_event *b = ws_message_event_base(&m);
  WS_CHECK_EQ_STR(ws_event_type(b), "message");
  WS_CHECK_EQ_INT(ws_event_get_kind(b), WS_EVENT_MESSAGE);
  WS_CHECK(ws_event_is_trusted(b));
  WS_CHECK(ws_event_as_message(b) == &m);
  WS_CHECK(ws_event_as_close(b) == NULL);
  size_t len = 0;
  WS_CHECK(ws_message_event_data(&m, &len) == data);
  WS_CHECK_EQ_INT(len, 3);
  WS_CHECK(ws_message_event_is_binary(&m));

  ws_event plain;
  ws__event_init(&plain, WS_EVENT_PLAIN, "open", 1.0);
  WS_CHECK(ws_event_as_close(&plain) == NULL && ws_event_as_message(&plain) == NULL);
  WS_CHECK(ws_event_is_trusted(&plain));
  WS_CHECK(ws_event_as_close(NULL) == NULL && ws_event_as_message(NULL) == NULL);
}

/* ---- EventTarget: order --------------------------------------------------------------------- */

WS_TEST(listeners_run_in_registration_order_by_type) {
  ctx c = {0};
  c.t = ws_event_target_new(NULL);
  node a = {&c, 'a', NULL, NULL, 0}, h = {&c, 'h', NULL, NULL, 0}, b = {&c, 'b', NULL, NULL, 0},
       o = {&c, 'o', NULL, NULL, 0};
  WS_CHECK_EQ_INT(ws_event_target_add_listener(c.t, "close", rec, &a), WS_OK);
  WS_CHECK_EQ_INT(ws_event_target_set_handler(c.t, "close", rec, &h), WS_OK);
  WS_CHECK_EQ_INT(ws_event_target_add_listener(c.t, "close", rec, &b), WS_OK);
  WS_CHECK_EQ_INT(ws_event_target_add_listener(c.t, "open", rec, &o), WS_OK);
  WS_CHECK_EQ_STR(fire(&c, "close"), "ahb");
  WS_CHECK_EQ_STR(fire(&c, "open"), "o");
  WS_CHECK_EQ_STR(fire(&c, "Close"), ""); /* types compare exactly */
  WS_CHECK_EQ_STR(fire(&c, "error"), "");
  ws_event_target_free(c.t);
}

WS_TEST(handler_keeps_the_position_of_its_first_assignment) {
  ctx c = {0};
  c.t = ws_event_target_new(NULL);
  node a = {&c, 'a', NULL, NULL, 0}, h = {&c, 'h', NULL, NULL, 0}, g = {&c, 'g', NULL, NULL, 0},
       b = {&c, 'b', NULL, NULL, 0};
  ws_event_target_add_listener(c.t, "close", rec, &a);
  ws_event_target_set_handler(c.t, "close", rec, &h);
  ws_event_target_add_listener(c.t, "close", rec, &b);
  /* HTML: assigning another function keeps the handler's place. */
  WS_CHECK_EQ_INT(ws_event_target_set_handler(c.t, "close", rec2, &g), WS_OK);
  WS_CHECK_EQ_STR(fire(&c, "close"), "agb");
  /* Clearing removes it; setting again appends it at the end. */
  WS_CHECK_EQ_INT(ws_event_target_set_handler(c.t, "close", NULL, NULL), WS_OK);
  WS_CHECK_EQ_STR(fire(&c, "close"), "ab");
  WS_CHECK_EQ_INT(ws_event_target_set_handler(c.t, "close", rec, &h), WS_OK);
  WS_CHECK_EQ_STR(fire(&c, "close"), "abh");
  /* Clearing a slot never set is fine; one slot per type. */
  WS_CHECK_EQ_INT(ws_event_target_set_handler(c.t, "error", NULL, NULL), WS_OK);
  WS_CHECK_EQ_INT(ws_event_target_set_handler(c.t, "open", rec, &a), WS_OK);
  WS_CHECK_EQ_STR(fire(&c, "close"), "abh");
  WS_CHECK_EQ_STR(fire(&c, "open"), "a");
  /* A handler is not a listener: removeEventListener does not reach it. */
  WS_CHECK_EQ_INT(ws_event_target_remove_listener(c.t, "close", rec, &h), WS_ERR_NOT_FOUND);
  ws_event_target_free(c.t);
}

WS_TEST(duplicate_add_is_ignored_and_remove_of_missing_is_not_found) {
  ctx c = {0};
  c.t = ws_event_target_new(NULL);
  node a = {&c, 'a', NULL, NULL, 0}, b = {&c, 'b', NULL, NULL, 0};
  WS_CHECK_EQ_INT(ws_event_target_add_listener(c.t, "close", rec, &a), WS_OK);
  WS_CHECK_EQ_INT(ws_event_target_add_listener(c.t, "close", rec, &a), WS_OK);
  WS_CHECK_EQ_STR(fire(&c, "close"), "a");
  /* Different user_data, callback or type: different listeners. */
  ws_event_target_add_listener(c.t, "close", rec, &b);
  ws_event_target_add_listener(c.t, "close", rec2, &a);
  ws_event_target_add_listener(c.t, "open", rec, &a);
  WS_CHECK_EQ_STR(fire(&c, "close"), "aba");
  WS_CHECK_EQ_INT(ws_event_target_remove_listener(c.t, "close", rec2, &a), WS_OK);
  WS_CHECK_EQ_INT(ws_event_target_remove_listener(c.t, "close", rec2, &a), WS_ERR_NOT_FOUND);
  WS_CHECK_EQ_INT(ws_event_target_remove_listener(c.t, "close", rec, &c), WS_ERR_NOT_FOUND);
  WS_CHECK_EQ_INT(ws_event_target_remove_listener(c.t, "message", rec, &a), WS_ERR_NOT_FOUND);
  WS_CHECK_EQ_INT(ws_event_target_remove_listener(c.t, "close", NULL, &a), WS_ERR_NOT_FOUND);
  WS_CHECK_EQ_STR(fire(&c, "close"), "ab");
  /* Removed then added again: back, at the end. */
  ws_event_target_remove_listener(c.t, "close", rec, &a);
  ws_event_target_add_listener(c.t, "close", rec, &a);
  WS_CHECK_EQ_STR(fire(&c, "close"), "ba");
  ws_event_target_free(c.t);
}

WS_TEST(bad_arguments) {
  ws_event_target *t = ws_event_target_new(NULL);
  node a = {NULL, 'a', NULL, NULL, 0};
  char t32[33];
  memset(t32, 't', 32);
  t32[32] = '\0';
  WS_CHECK_EQ_INT(ws_event_target_add_listener(NULL, "close", rec, &a), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_event_target_add_listener(t, NULL, rec, &a), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_event_target_add_listener(t, t32, rec, &a), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_event_target_add_listener(t, "close", NULL, &a), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_event_target_set_handler(t, t32, rec, &a), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_event_target_remove_listener(NULL, "close", rec, &a), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_event_target_dispatch(t, NULL), WS_ERR_INVAL);
  WS_CHECK_EQ_INT(ws_event_target_dispatch(NULL, NULL), WS_ERR_INVAL);
  ws_event_target_free(t);
  ws_event_target_free(NULL);
}

/* ---- EventTarget: changes during dispatch --------------------------------------------------- */

static void remove_other(node *self, const ws_event *ev) {
  (void)ev;
  self->c->rc = ws_event_target_remove_listener(self->c->t, "close", rec, self->other);
}
static void remove_self(node *self, const ws_event *ev) {
  (void)ev;
  self->c->rc = ws_event_target_remove_listener(self->c->t, "close", rec, self);
}
static void add_other(node *self, const ws_event *ev) {
  (void)ev;
  self->c->rc = ws_event_target_add_listener(self->c->t, "close", rec, self->other);
}

WS_TEST(a_listener_removed_during_dispatch_is_not_called) {
  ctx c = {0};
  c.t = ws_event_target_new(NULL);
  node b = {&c, 'b', NULL, NULL, 0}, a = {&c, 'a', remove_other, &b, 0},
       z = {&c, 'z', NULL, NULL, 0};
  ws_event_target_add_listener(c.t, "close", rec, &a);
  ws_event_target_add_listener(c.t, "close", rec, &b);
  ws_event_target_add_listener(c.t, "close", rec, &z);
  WS_CHECK_EQ_STR(fire(&c, "close"), "az");
  WS_CHECK_EQ_INT(c.rc, WS_OK);
  WS_CHECK_EQ_INT(b.calls, 0);
  WS_CHECK_EQ_STR(fire(&c, "close"), "az"); /* b stays gone; a's second removal is NOT_FOUND */
  WS_CHECK_EQ_INT(c.rc, WS_ERR_NOT_FOUND);
  ws_event_target_free(c.t);
}

WS_TEST(a_listener_may_remove_itself) {
  ctx c = {0};
  c.t = ws_event_target_new(NULL);
  node a = {&c, 'a', remove_self, NULL, 0}, b = {&c, 'b', NULL, NULL, 0};
  ws_event_target_add_listener(c.t, "close", rec, &a);
  ws_event_target_add_listener(c.t, "close", rec, &b);
  WS_CHECK_EQ_STR(fire(&c, "close"), "ab");
  WS_CHECK_EQ_STR(fire(&c, "close"), "b");
  ws_event_target_free(c.t);
}

WS_TEST(a_listener_added_during_dispatch_waits_for_the_next_one) {
  ctx c = {0};
  c.t = ws_event_target_new(NULL);
  node n = {&c, 'n', NULL, NULL, 0}, a = {&c, 'a', add_other, &n, 0};
  ws_event_target_add_listener(c.t, "close", rec, &a);
  WS_CHECK_EQ_STR(fire(&c, "close"), "a");
  WS_CHECK_EQ_STR(fire(&c, "close"), "an"); /* the second add is a duplicate: still one n */
  WS_CHECK_EQ_STR(fire(&c, "close"), "an");
  ws_event_target_free(c.t);
}

/* Many additions during one dispatch grow (and move) the array under the loop. */
static void add_many(node *self, const ws_event *ev) {
  (void)ev;
  node *pool = self->other;
  for (int k = 0; k < 40; k++)
    ws_event_target_add_listener(self->c->t, "close", rec, &pool[k]);
}

WS_TEST(growth_during_dispatch_is_safe) {
  ctx c = {0};
  c.t = ws_event_target_new(NULL);
  node pool[40];
  for (int k = 0; k < 40; k++)
    pool[k] = (node){&c, (char)('0' + k % 10), NULL, NULL, 0};
  node a = {&c, 'a', add_many, pool, 0}, b = {&c, 'b', NULL, NULL, 0};
  ws_event_target_add_listener(c.t, "close", rec, &a);
  ws_event_target_add_listener(c.t, "close", rec, &b);
  WS_CHECK_EQ_STR(fire(&c, "close"), "ab");
  WS_CHECK_EQ_STR(fire(&c, "close"), "ab0123456789012345678901234567890123456789");
  ws_event_target_free(c.t);
}

static void change_handler(node *self, const ws_event *ev) {
  (void)ev;
  ws_event_target_set_handler(self->c->t, "close", rec, self->other);
}
static void clear_handler(node *self, const ws_event *ev) {
  (void)ev;
  ws_event_target_set_handler(self->c->t, "close", NULL, NULL);
}

WS_TEST(handler_changes_during_dispatch_follow_html) {
  ctx c = {0};
  c.t = ws_event_target_new(NULL);
  node h = {&c, 'h', NULL, NULL, 0}, g = {&c, 'g', NULL, NULL, 0};
  node a = {&c, 'a', change_handler, &g, 0};
  ws_event_target_add_listener(c.t, "close", rec, &a);
  ws_event_target_set_handler(c.t, "close", rec, &h);
  /* A new value for an active handler is what its listener calls, even mid-dispatch. */
  WS_CHECK_EQ_STR(fire(&c, "close"), "ag");
  /* A cleared handler is not called... */
  a.act = clear_handler;
  WS_CHECK_EQ_STR(fire(&c, "close"), "a");
  /* ...and one set for the first time during a dispatch joins after it. */
  a.act = change_handler;
  a.other = &h;
  WS_CHECK_EQ_STR(fire(&c, "close"), "a");
  a.act = NULL;
  WS_CHECK_EQ_STR(fire(&c, "close"), "ah");
  ws_event_target_free(c.t);
}

/* ---- re-entrancy ---------------------------------------------------------------------------- */

static void dispatch_nested(node *self, const ws_event *ev) {
  if (strcmp(ws_event_type(ev), "close") != 0)
    return;
  ws_event inner;
  ws__event_init(&inner, WS_EVENT_PLAIN, "error", 0);
  self->c->rc = ws_event_target_dispatch(self->c->t, &inner);
}
static void dispatch_same(node *self, const ws_event *ev) {
  self->c->rc = ws_event_target_dispatch(self->c->t, (ws_event *)(uintptr_t)ev);
}

WS_TEST(dispatch_is_reentrant) {
  ctx c = {0};
  c.t = ws_event_target_new(NULL);
  node e = {&c, 'e', NULL, NULL, 0}, b = {&c, 'b', NULL, NULL, 0};
  node a = {&c, 'a', dispatch_nested, NULL, 0};
  node r = {&c, 'r', remove_other, &b, 0}; /* removes b from inside the nested dispatch */
  ws_event_target_add_listener(c.t, "close", rec, &a);
  ws_event_target_add_listener(c.t, "close", rec, &b);
  ws_event_target_add_listener(c.t, "error", rec, &e);
  ws_event_target_add_listener(c.t, "error", rec, &r);
  WS_CHECK_EQ_STR(fire(&c, "close"), "aer"); /* b was removed by the nested dispatch */
  WS_CHECK_EQ_INT(b.calls, 0);
  ws_event_target_free(c.t);

  /* The same event cannot be dispatched while it is being dispatched (DOM InvalidStateError). */
  ctx d = {0};
  d.t = ws_event_target_new(NULL);
  node s = {&d, 's', dispatch_same, NULL, 0};
  ws_event_target_add_listener(d.t, "close", rec, &s);
  WS_CHECK_EQ_STR(fire(&d, "close"), "s");
  WS_CHECK_EQ_INT(d.rc, WS_ERR_STATE);
  /* Once done, it may be dispatched again. */
  ws_close_event *ev = close_ev("close");
  WS_CHECK_EQ_INT(ws_event_target_dispatch(d.t, (ws_event *)ev), WS_OK);
  s.act = NULL;
  WS_CHECK_EQ_INT(ws_event_target_dispatch(d.t, (ws_event *)ev), WS_OK);
  WS_CHECK_EQ_INT(s.calls, 3);
  ws_close_event_free(ev);
  ws_event_target_free(d.t);
}

static void free_target(node *self, const ws_event *ev) {
  (void)ev;
  ws_event_target_free(self->c->t);
}

WS_TEST(freeing_the_target_from_a_listener_is_deferred) {
  ws_test_counting cnt = {.budget = 1000};
  ws_allocator al = ws_test_counting_allocator(&cnt);
  ctx c = {0};
  c.t = ws_event_target_new(&al);
  node b = {&c, 'b', NULL, NULL, 0}, a = {&c, 'a', free_target, NULL, 0};
  ws_event_target_add_listener(c.t, "close", rec, &a);
  ws_event_target_add_listener(c.t, "close", rec, &b);
  ws_close_event *ev = ws_close_event_new(&al, "close", NULL, 0);
  WS_CHECK_EQ_INT(ws_event_target_dispatch(c.t, (ws_event *)ev), WS_OK);
  WS_CHECK_EQ_STR(c.log, "a"); /* b is skipped: the target is going away */
  ws_close_event_free(ev);
  WS_CHECK_EQ_INT(cnt.live, 0);
}

/* ---- limits and allocation failure ---------------------------------------------------------- */

WS_TEST(a_target_holds_at_most_1024_entries) {
  ws_event_target *t = ws_event_target_new(NULL);
  static char uds[1025];
  for (int k = 0; k < 1024; k++)
    WS_CHECK_EQ_INT(ws_event_target_add_listener(t, "close", rec, &uds[k]), WS_OK);
  WS_CHECK_EQ_INT(ws_event_target_add_listener(t, "close", rec, &uds[1024]), WS_ERR_LIMIT);
  WS_CHECK_EQ_INT(ws_event_target_set_handler(t, "close", rec, &uds[1024]), WS_ERR_LIMIT);
  WS_CHECK_EQ_INT(ws_event_target_remove_listener(t, "close", rec, &uds[0]), WS_OK);
  WS_CHECK_EQ_INT(ws_event_target_add_listener(t, "close", rec, &uds[1024]), WS_OK);
  ws_event_target_free(t);
}

WS_TEST(allocation_failures_return_null_or_nomem_and_leak_nothing) {
  ws_test_counting c = {.budget = 0};
  ws_allocator al = ws_test_counting_allocator(&c);
  char big[200];
  memset(big, 'z', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ws_close_event_init init = {.reason = big};

  /* Fail each allocation in turn until the call succeeds. */
  int needed = -1;
  for (int budget = 0; budget < 5 && needed < 0; budget++) {
    c.budget = budget;
    ws_close_event *ev = ws_close_event_new(&al, "close", &init, 0);
    if (ev) {
      needed = budget;
      WS_CHECK_EQ_STR(ws_close_event_reason(ev, NULL), big);
      ws_close_event_free(ev);
    }
    WS_CHECK_EQ_INT(c.live, 0);
  }
  WS_CHECK_EQ_INT(needed, 2); /* the event, then its long reason */

  c.budget = 0;
  WS_CHECK(ws_event_target_new(&al) == NULL);
  WS_CHECK_EQ_INT(c.live, 0);

  c.budget = 1; /* the target, not its list */
  ws_event_target *t = ws_event_target_new(&al);
  WS_CHECK(t != NULL);
  node a = {NULL, 'a', NULL, NULL, 0};
  WS_CHECK_EQ_INT(ws_event_target_add_listener(t, "close", rec, &a), WS_ERR_NOMEM);
  WS_CHECK_EQ_INT(ws_event_target_set_handler(t, "close", rec, &a), WS_ERR_NOMEM);
  c.budget = 100;
  WS_CHECK_EQ_INT(ws_event_target_add_listener(t, "close", rec, &a), WS_OK);
  ws_event_target_free(t);
  WS_CHECK_EQ_INT(c.live, 0);

  /* The legacy init keeps the event unchanged when it cannot copy a long reason. */
  c.budget = 1;
  ws_close_event *ev = ws_close_event_new(&al, "close", NULL, 0);
  WS_CHECK(ev != NULL);
  WS_CHECK_EQ_INT(ws_close_event_init_legacy(ev, "x", true, true, true, 4000, big), WS_ERR_NOMEM);
  WS_CHECK_EQ_STR(ws_event_type(ws_close_event_base(ev)), "close");
  WS_CHECK_EQ_INT(ws_close_event_code(ev), 0);
  WS_CHECK_EQ_STR(ws_close_event_reason(ev, NULL), "");
  ws_close_event_free(ev);
  WS_CHECK_EQ_INT(c.live, 0);
}

/* ---- shared listener sets (copy-on-write views: a server route's handlers) ----------------- */

/* A set made of the listeners a, b, z on "close" (b and z as given, NULL: left out), built
 * through a throwaway target as the server builds its routes' sets. */
static ws__listener_set *set_of(const ws_allocator *al, node *a, node *b, node *z) {
  ws_event_target *t = ws_event_target_new(al);
  node *ns[3] = {a, b, z};
  for (int k = 0; k < 3; k++)
    if (ns[k])
      WS_CHECK_EQ_INT(ws_event_target_add_listener(t, "close", rec, ns[k]), WS_OK);
  ws__listener_set *s = NULL;
  WS_CHECK_EQ_INT(ws__listener_set_take(t, &s), WS_OK);
  ws_event_target_free(t);
  return s;
}

WS_TEST(a_view_dispatches_the_shared_listeners_and_owns_nothing) {
  ws_test_counting cnt = {.budget = 1000};
  ws_allocator al = ws_test_counting_allocator(&cnt);
  ctx c = {0};
  node a = {&c, 'a', NULL, NULL, 0}, b = {&c, 'b', NULL, NULL, 0}, x = {&c, 'x', NULL, NULL, 0};
  ws__listener_set *s = set_of(&al, &a, &b, NULL);
  /* a handler of a type the library does not know: its type string belongs to the set */
  ws__listener_set *s2 = NULL;
  WS_CHECK_EQ_INT(ws__listener_set_handler(&al, s, "x-custom", rec, &x, &s2), WS_OK);
  WS_CHECK(s2 != NULL && s2 != s);
  long live = cnt.live;
  ws_event_target v, w;
  ws__event_target_init(&v, &al);
  ws__event_target_init(&w, &al);
  ws__event_target_share(&v, s2);
  ws__event_target_share(&w, s2); /* two views of one set */
  c.t = &v;
  WS_CHECK_EQ_STR(fire(&c, "close"), "ab");
  WS_CHECK_EQ_STR(fire(&c, "x-custom"), "x");
  c.t = &w;
  WS_CHECK_EQ_STR(fire(&c, "close"), "ab");
  WS_CHECK_EQ_INT(cnt.live, live); /* sharing and dispatching allocate nothing */
  /* Finalising a view frees nothing it does not own (ASan would see a double free). */
  ws__event_target_fini(&v);
  ws__event_target_fini(&w);
  WS_CHECK_EQ_INT(cnt.live, live);
  /* The set s is unchanged by the one built from it. */
  ws__event_target_init(&v, &al);
  ws__event_target_share(&v, s);
  c.t = &v;
  WS_CHECK_EQ_STR(fire(&c, "x-custom"), "");
  ws__event_target_fini(&v);
  ws__listener_set_free(&al, s);
  ws__listener_set_free(&al, s2);
  WS_CHECK_EQ_INT(cnt.live, 0);
}

/* Each change, made on a view of the set {onclose = h, listener a on "close", onx-custom = x}:
 * what the view then fires on "close", and whether it had to copy. The set and another view of
 * it must be unchanged in every row. */
enum { OP_SET, OP_CLEAR, OP_ADD, OP_REMOVE };
WS_TEST(a_change_on_a_view_copies_and_leaves_the_set_untouched) {
  ws_test_counting cnt = {.budget = 1000};
  ws_allocator al = ws_test_counting_allocator(&cnt);
  ctx c = {0};
  node h = {&c, 'h', NULL, NULL, 0}, a = {&c, 'a', NULL, NULL, 0}, x = {&c, 'x', NULL, NULL, 0},
       g = {&c, 'g', NULL, NULL, 0};
  static const struct {
    int op;
    char who; /* 'h' 'a' 'g' */
    int rc;
    const char *fires;
    bool copies;
  } rows[] = {
      {OP_SET, 'g', WS_OK, "ga", true},   /* new value, same position */
      {OP_SET, 'h', WS_OK, "ha", false},  /* the value it has: nothing to change */
      {OP_CLEAR, 'h', WS_OK, "a", true},  /* the slot leaves the list */
      {OP_ADD, 'g', WS_OK, "hag", true},  /* appended */
      {OP_ADD, 'a', WS_OK, "ha", false},  /* a duplicate: nothing to do */
      {OP_REMOVE, 'a', WS_OK, "h", true}, /* removed */
      {OP_REMOVE, 'g', WS_ERR_NOT_FOUND, "ha", false},
  };
  ws_event_target b;
  ws__event_target_init(&b, &al);
  WS_CHECK_EQ_INT(ws_event_target_set_handler(&b, "close", rec, &h), WS_OK);
  WS_CHECK_EQ_INT(ws_event_target_add_listener(&b, "close", rec, &a), WS_OK);
  WS_CHECK_EQ_INT(ws_event_target_set_handler(&b, "x-custom", rec, &x), WS_OK);
  ws__listener_set *s = NULL;
  WS_CHECK_EQ_INT(ws__listener_set_take(&b, &s), WS_OK);
  ws__event_target_fini(&b);
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    node *who = rows[i].who == 'h' ? &h : rows[i].who == 'a' ? &a : &g;
    ws_event_target v, w;
    ws__event_target_init(&v, &al);
    ws__event_target_init(&w, &al);
    ws__event_target_share(&v, s);
    ws__event_target_share(&w, s);
    long live = cnt.live;
    int rc = -1;
    switch (rows[i].op) {
    case OP_SET:
      rc = ws_event_target_set_handler(&v, "close", rec, who);
      break;
    case OP_CLEAR:
      rc = ws_event_target_set_handler(&v, "close", NULL, NULL);
      break;
    case OP_ADD:
      rc = ws_event_target_add_listener(&v, "close", rec, who);
      break;
    default:
      rc = ws_event_target_remove_listener(&v, "close", rec, who);
      break;
    }
    WS_CHECK_MSG(rc == rows[i].rc, "row %zu: rc %d", i, rc);
    /* A copy is the array and the copy of the one type string the set owns. */
    WS_CHECK_MSG((cnt.live > live) == rows[i].copies, "row %zu: %ld blocks", i, cnt.live - live);
    c.t = &v;
    WS_CHECK_MSG(strcmp(fire(&c, "close"), rows[i].fires) == 0, "row %zu: %s", i, c.log);
    WS_CHECK_EQ_STR(fire(&c, "x-custom"), "x"); /* the copy kept the custom type */
    c.t = &w;
    WS_CHECK_MSG(strcmp(fire(&c, "close"), "ha") == 0, "row %zu: other view %s", i, c.log);
    ws__event_target_fini(&v); /* frees the copy, not the set (ASan) */
    WS_CHECK_EQ_INT(cnt.live, live);
    ws__event_target_fini(&w);
  }
  ws__event_target_init(&b, &al);
  ws__event_target_share(&b, s);
  c.t = &b;
  WS_CHECK_EQ_STR(fire(&c, "close"), "ha");
  ws__event_target_fini(&b);
  ws__listener_set_free(&al, s);
  WS_CHECK_EQ_INT(cnt.live, 0);
}

/* DOM dispatch on a view: a listener that removes a later shared listener, or adds one, copies
 * the list under the running dispatch, which carries on over the copy. */
WS_TEST(changes_during_dispatch_on_a_view_follow_the_dom) {
  ctx c = {0};
  node b = {&c, 'b', NULL, NULL, 0}, z = {&c, 'z', NULL, NULL, 0}, n = {&c, 'n', NULL, NULL, 0};
  node a = {&c, 'a', remove_other, &b, 0};
  ws__listener_set *s = set_of(NULL, &a, &b, &z);
  ws_event_target v;
  ws__event_target_init(&v, NULL);
  ws__event_target_share(&v, s);
  c.t = &v;
  WS_CHECK_EQ_STR(fire(&c, "close"), "az"); /* b, not yet reached, is skipped */
  WS_CHECK_EQ_INT(c.rc, WS_OK);
  WS_CHECK_EQ_INT(b.calls, 0);
  WS_CHECK_EQ_STR(fire(&c, "close"), "az");
  WS_CHECK_EQ_INT(c.rc, WS_ERR_NOT_FOUND);
  ws__event_target_fini(&v);

  /* Adding: not called in this dispatch, called in the next. */
  a.act = add_other;
  a.other = &n;
  ws__event_target_init(&v, NULL);
  ws__event_target_share(&v, s);
  WS_CHECK_EQ_STR(fire(&c, "close"), "abz");
  WS_CHECK_EQ_STR(fire(&c, "close"), "abzn");
  ws__event_target_fini(&v);

  /* The set itself never changed. */
  a.act = NULL;
  ws__event_target_init(&v, NULL);
  ws__event_target_share(&v, s);
  WS_CHECK_EQ_STR(fire(&c, "close"), "abz");
  ws__event_target_fini(&v);
  ws__listener_set_free(NULL, s);
}

/* Out of memory while copying: the change fails with WS_ERR_NOMEM, the view is intact, nothing
 * leaks. Each change needs the array, then the copy of the custom type the set owns, then (an
 * add of a custom type) the copy of the new type: fail each in turn. */
WS_TEST(out_of_memory_while_copying_leaves_the_view_intact) {
  ws_test_counting cnt = {.budget = 1000};
  ws_allocator al = ws_test_counting_allocator(&cnt);
  ctx c = {0};
  node h = {&c, 'h', NULL, NULL, 0}, x = {&c, 'x', NULL, NULL, 0}, g = {&c, 'g', NULL, NULL, 0};
  ws__listener_set *s0 = NULL, *s = NULL;
  WS_CHECK_EQ_INT(ws__listener_set_handler(&al, NULL, "close", rec, &h, &s0), WS_OK);
  WS_CHECK_EQ_INT(ws__listener_set_handler(&al, s0, "x-custom", rec, &x, &s), WS_OK);
  ws__listener_set_free(&al, s0);
  static const struct {
    int op;
    const char *type;
    int needed; /* allocations the change makes */
    const char *fires;
  } rows[] = {
      {OP_SET, "close", 2, "g"},    {OP_CLEAR, "close", 2, ""},      {OP_ADD, "close", 2, "hg"},
      {OP_ADD, "y-custom", 3, "h"}, {OP_REMOVE, "x-custom", 2, "h"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    for (int budget = 0; budget <= rows[i].needed; budget++) {
      ws_event_target v;
      ws__event_target_init(&v, &al);
      ws__event_target_share(&v, s);
      long live = cnt.live;
      cnt.budget = budget;
      int rc;
      switch (rows[i].op) {
      case OP_SET:
        rc = ws_event_target_set_handler(&v, rows[i].type, rec, &g);
        break;
      case OP_CLEAR:
        rc = ws_event_target_set_handler(&v, rows[i].type, NULL, NULL);
        break;
      case OP_ADD:
        rc = ws_event_target_add_listener(&v, rows[i].type, rec, &g);
        break;
      default:
        rc = ws_event_target_set_handler(&v, rows[i].type, NULL, NULL);
        break;
      }
      cnt.budget = 1000;
      c.t = &v;
      if (budget < rows[i].needed) {
        WS_CHECK_MSG(rc == WS_ERR_NOMEM, "row %zu budget %d: rc %d", i, budget, rc);
        if (budget < 2) { /* the copy itself failed: still the view, nothing allocated */
          WS_CHECK_MSG(v.shared, "row %zu budget %d", i, budget);
          WS_CHECK_EQ_INT(cnt.live, live);
        }
        WS_CHECK_MSG(strcmp(fire(&c, "close"), "h") == 0, "row %zu budget %d: %s", i, budget,
                     c.log);
      } else {
        WS_CHECK_MSG(rc == WS_OK, "row %zu: rc %d", i, rc);
        WS_CHECK_MSG(!v.shared, "row %zu", i);
        WS_CHECK_MSG(strcmp(fire(&c, "close"), rows[i].fires) == 0, "row %zu: %s", i, c.log);
      }
      /* whatever happened, the custom handler of the set still works on the view */
      WS_CHECK_MSG(
          strcmp(fire(&c, "x-custom"), rows[i].op == OP_REMOVE && budget >= 2 ? "" : "x") == 0,
          "row %zu budget %d: %s", i, budget, c.log);
      ws__event_target_fini(&v);
      WS_CHECK_EQ_INT(cnt.live, live);
    }
  }
  /* A set built from a set when memory runs out: an error, the source untouched, no leak. */
  long live = cnt.live;
  for (int budget = 0; budget < 3; budget++) {
    cnt.budget = budget;
    ws__listener_set *out = NULL;
    WS_CHECK_EQ_INT(ws__listener_set_handler(&al, s, "close", rec, &g, &out), WS_ERR_NOMEM);
    WS_CHECK_EQ_INT(cnt.live, live);
  }
  cnt.budget = 1000;
  ws_event_target v;
  ws__event_target_init(&v, &al);
  ws__event_target_share(&v, s);
  c.t = &v;
  WS_CHECK_EQ_STR(fire(&c, "close"), "h");
  ws__event_target_fini(&v);
  ws__listener_set_free(&al, s);
  WS_CHECK_EQ_INT(cnt.live, 0);
}

WS_TEST(a_set_follows_the_handler_rules_and_the_1024_limit) {
  ctx c = {0};
  node h = {&c, 'h', NULL, NULL, 0}, g = {&c, 'g', NULL, NULL, 0}, o = {&c, 'o', NULL, NULL, 0};
  ws__listener_set *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL, *same = NULL;
  WS_CHECK_EQ_INT(ws__listener_set_handler(NULL, NULL, "close", rec, &h, &s1), WS_OK);
  WS_CHECK_EQ_INT(ws__listener_set_handler(NULL, s1, "open", rec, &o, &s2), WS_OK);
  /* the value it has: the same set back */
  WS_CHECK_EQ_INT(ws__listener_set_handler(NULL, s2, "open", rec, &o, &same), WS_OK);
  WS_CHECK(same == s2);
  /* a new value keeps the position; clearing leaves the list; clearing all gives NULL */
  WS_CHECK_EQ_INT(ws__listener_set_handler(NULL, s2, "close", rec, &g, &s3), WS_OK);
  WS_CHECK_EQ_INT(ws__listener_set_handler(NULL, s3, "open", NULL, NULL, &s4), WS_OK);
  WS_CHECK(s4 != NULL && s4->len == 1);
  WS_CHECK_EQ_INT(ws__listener_set_handler(NULL, s4, "close", NULL, NULL, &same), WS_OK);
  WS_CHECK(same == NULL);
  WS_CHECK_EQ_INT(ws__listener_set_handler(NULL, s4, "", NULL, NULL, &same), WS_OK);
  WS_CHECK(same == s4);
  WS_CHECK_EQ_INT(ws__listener_set_handler(NULL, s4, NULL, rec, &g, &same), WS_ERR_INVAL);
  ws_event_target v;
  ws__event_target_init(&v, NULL);
  ws__event_target_share(&v, s3);
  c.t = &v;
  WS_CHECK_EQ_STR(fire(&c, "close"), "g");
  ws__event_target_share(&v, s2); /* re-pointing a view frees nothing */
  WS_CHECK_EQ_STR(fire(&c, "close"), "h");
  ws__event_target_share(&v, NULL);
  WS_CHECK_EQ_STR(fire(&c, "close"), "");
  ws__event_target_fini(&v);
  ws__listener_set_free(NULL, s1);
  ws__listener_set_free(NULL, s2);
  ws__listener_set_free(NULL, s3);
  ws__listener_set_free(NULL, s4);

  /* A full set: a view of it can add nothing (WS_ERR_LIMIT, before any copy), remove one and
   * add again. */
  static char uds[1025];
  ws_event_target *t = ws_event_target_new(NULL);
  for (int k = 0; k < 1024; k++)
    ws_event_target_add_listener(t, "close", rec, &uds[k]);
  ws__listener_set *full = NULL;
  WS_CHECK_EQ_INT(ws__listener_set_take(t, &full), WS_OK);
  ws_event_target_free(t);
  WS_CHECK(full != NULL && full->len == 1024);
  ws__event_target_init(&v, NULL);
  ws__event_target_share(&v, full);
  WS_CHECK_EQ_INT(ws_event_target_add_listener(&v, "close", rec, &uds[1024]), WS_ERR_LIMIT);
  WS_CHECK(v.shared);
  WS_CHECK_EQ_INT(ws__listener_set_handler(NULL, full, "open", rec, &o, &same), WS_ERR_LIMIT);
  WS_CHECK_EQ_INT(ws_event_target_remove_listener(&v, "close", rec, &uds[0]), WS_OK);
  WS_CHECK_EQ_INT(ws_event_target_add_listener(&v, "close", rec, &uds[1024]), WS_OK);
  ws__event_target_fini(&v);
  ws__listener_set_free(NULL, full);
}

int main(void) { return ws_test_main(); }
