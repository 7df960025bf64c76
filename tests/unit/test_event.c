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
  ws_test_counting cnt = {1000, 0};
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
  ws_test_counting c = {0, 0};
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

int main(void) { return ws_test_main(); }
