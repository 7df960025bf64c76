/* Event, CloseEvent, MessageEvent and EventTarget (DOM "dispatch", HTML "event handlers").
 *
 * The listener list is one array per target, in registration order. DOM dispatch iterates over a
 * *clone* of the list taken when the dispatch starts, skipping entries whose "removed" flag got
 * set meanwhile (DOM "inner invoke"). We get the same result without allocating a clone: while
 * any dispatch runs on the target (depth > 0) entries are never moved, only flagged removed, and
 * new entries are only appended, so "the list at the start" is exactly the first n entries. The
 * removed entries are swept out when the outermost dispatch returns.
 */
#include "base/event.h"

#include "base/alloc.h"
#include "wsclean/errors.h"

#include <string.h>

/* Listeners per target, counting handler slots and removed-but-not-yet-swept entries. A page
 * rarely has more than a few; the bound keeps a runaway add loop from eating memory. */
#define MAX_LISTENERS 1024

typedef ws__listener entry;

/* ---- Event ---------------------------------------------------------------------------------- */

/* A type is 1..WS_EVENT_TYPE_MAX bytes; "" is accepted as DOM does (type is any string). */
static bool type_ok(const char *type) {
  return type && strnlen(type, WS_EVENT_TYPE_MAX + 1) <= WS_EVENT_TYPE_MAX;
}

/* The types a WebSocket dispatches, numbered 1..4 in events and listeners so that a dispatch
 * compares small integers instead of strings (0: any other type, compared as a string). */
static const char *const KNOWN_TYPES[] = {"open", "message", "error", "close"};

static uint8_t known_type(const char *type) {
  /* the first letter picks the one candidate: one comparison per event, not four */
  uint8_t k = type[0] == 'o' ? 1 : type[0] == 'm' ? 2 : type[0] == 'e' ? 3 : type[0] == 'c' ? 4 : 0;
  return k && strcmp(KNOWN_TYPES[k - 1], type) == 0 ? k : 0;
}

static void set_type(ws_event *ev, const char *type) {
  size_t n = strnlen(type, WS_EVENT_TYPE_MAX);
  memcpy(ev->type, type, n);
  ev->type[n] = '\0';
  ev->known = known_type(ev->type);
}

/* Same type: the numbers when either is a known type (equal strings have equal numbers). */
static bool same_type(uint8_t ka, const char *a, uint8_t kb, const char *b) {
  return (ka | kb) ? ka == kb : strcmp(a, b) == 0;
}

const char *ws_event_type(const ws_event *ev) { return ev ? ev->type : ""; }
ws_event_kind ws_event_get_kind(const ws_event *ev) { return ev ? ev->kind : WS_EVENT_PLAIN; }
bool ws_event_bubbles(const ws_event *ev) { return ev && ev->bubbles; }
bool ws_event_cancelable(const ws_event *ev) { return ev && ev->cancelable; }
bool ws_event_composed(const ws_event *ev) { return ev && ev->composed; }
bool ws_event_is_trusted(const ws_event *ev) { return ev && ev->is_trusted; }
double ws_event_time_stamp(const ws_event *ev) { return ev ? ev->time_stamp : 0.0; }

/* The base is the first member, so a pointer to it is a pointer to the whole event (C11 6.7.2.1).
 */
const ws_close_event *ws_event_as_close(const ws_event *ev) {
  return (ev && ev->kind == WS_EVENT_CLOSE) ? (const ws_close_event *)(const void *)ev : NULL;
}
const ws_message_event *ws_event_as_message(const ws_event *ev) {
  return (ev && ev->kind == WS_EVENT_MESSAGE) ? (const ws_message_event *)(const void *)ev : NULL;
}

/* A library event of a known type (1..4): no string to look at. */
static void init_known(ws_event *ev, ws_event_kind kind, uint8_t known, double time_stamp) {
  memset(ev, 0, sizeof *ev);
  ev->kind = kind;
  const char *t = KNOWN_TYPES[known - 1];
  memcpy(ev->type, t, strlen(t) + 1);
  ev->known = known;
  ev->is_trusted = true;
  ev->time_stamp = time_stamp;
}

void ws__event_init(ws_event *ev, ws_event_kind kind, const char *type, double time_stamp) {
  memset(ev, 0, sizeof *ev);
  ev->kind = kind;
  set_type(ev, type ? type : "");
  ev->is_trusted = true; /* only the library calls this: its events are trusted (DOM isTrusted) */
  ev->time_stamp = time_stamp;
}

/* ---- CloseEvent ----------------------------------------------------------------------------- */

static const ws_close_diag no_diag = {WS_CLOSER_NONE, 0, 0, WS_OK, "", 0};

ws_close_event *ws_close_event_new(const ws_allocator *alloc, const char *type,
                                   const ws_close_event_init *init, double time_stamp) {
  if (!type_ok(type))
    return NULL;
  /* WHATWG CloseEventInit: wasClean false, code 0, reason ""; the code is not validated. */
  static const ws_close_event_init defaults = {false, false, false, false, 0, "", 0};
  if (!init)
    init = &defaults;
  const char *reason = init->reason ? init->reason : "";
  size_t len = init->reason_len;
  if (!init->reason || len == 0 || len == (size_t)-1)
    len = strlen(reason);

  alloc = ws__alloc_or_default(alloc);
  ws_close_event *ev = ws__calloc(alloc, 1, sizeof *ev);
  if (!ev)
    return NULL;
  ev->reason = ev->reason_inline;
  if (len >= WS__REASON_INLINE) {
    ev->reason = ws__malloc(alloc, len + 1);
    if (!ev->reason) {
      ws__free(alloc, ev);
      return NULL;
    }
  }
  memcpy(ev->reason, reason, len);
  ev->reason[len] = '\0';
  ev->reason_len = len;
  ev->alloc = alloc;

  ev->base.kind = WS_EVENT_CLOSE;
  set_type(&ev->base, type);
  ev->base.bubbles = init->bubbles;
  ev->base.cancelable = init->cancelable;
  ev->base.composed = init->composed;
  ev->base.is_trusted = false; /* DOM: events built by the application are never trusted */
  ev->base.time_stamp = time_stamp;
  ev->code = init->code;
  ev->was_clean = init->was_clean;
  ev->diag = no_diag;
  return ev;
}

void ws_close_event_free(ws_close_event *ev) {
  if (!ev || !ev->alloc)
    return; /* embedded events (alloc NULL) belong to whoever embeds them */
  if (ev->reason != ev->reason_inline)
    ws__free(ev->alloc, ev->reason);
  ws__free(ev->alloc, ev);
}

const ws_event *ws_close_event_base(const ws_close_event *ev) { return ev ? &ev->base : NULL; }
uint16_t ws_close_event_code(const ws_close_event *ev) { return ev ? ev->code : 0; }
bool ws_close_event_was_clean(const ws_close_event *ev) { return ev && ev->was_clean; }
const ws_close_diag *ws_close_event_diag(const ws_close_event *ev) {
  return ev ? &ev->diag : &no_diag;
}

const char *ws_close_event_reason(const ws_close_event *ev, size_t *len) {
  if (len)
    *len = ev ? ev->reason_len : 0;
  return ev ? ev->reason : "";
}

int ws_close_event_init_legacy(ws_close_event *ev, const char *type, bool bubbles, bool cancelable,
                               bool was_clean, uint16_t code, const char *reason) {
  if (!ev || !type_ok(type))
    return WS_ERR_INVAL;
  /* Gecko's initCloseEvent (MDN): "if the event has already been dispatched, this method does
   * nothing". */
  if (ev->base.dispatched)
    return WS_ERR_STATE;
  const char *r = reason ? reason : "";
  size_t len = strlen(r);
  char *buf = ev->reason_inline;
  if (len >= WS__REASON_INLINE) {
    if (!ev->alloc)
      return WS_ERR_LIMIT; /* an embedded event owns no allocator: wire reasons are <= 123 */
    buf = ws__malloc(ev->alloc, len + 1);
    if (!buf)
      return WS_ERR_NOMEM;
  }
  /* reason may point into the current reason (inline or heap): copy before freeing. */
  memmove(buf, r, len);
  buf[len] = '\0';
  if (ev->reason && ev->reason != ev->reason_inline && ev->reason != buf && ev->alloc)
    ws__free(ev->alloc, ev->reason);
  ev->reason = buf;
  ev->reason_len = len;

  set_type(&ev->base, type);
  ev->base.bubbles = bubbles;
  ev->base.cancelable = cancelable;
  ev->base.is_trusted = false; /* DOM "initialize an event": isTrusted becomes false */
  ev->was_clean = was_clean;
  ev->code = code;
  return WS_OK;
}

void ws__close_event_set(ws_close_event *ev, uint16_t code, const char *reason, size_t reason_len,
                         bool was_clean, const ws_close_diag *diag, double time_stamp) {
  init_known(&ev->base, WS_EVENT_CLOSE, 4, time_stamp); /* "close" */
  /* RFC 6455 5.5: a control frame carries at most 125 bytes, so a wire reason is <= 123. A longer
   * one is a caller bug; cut it rather than overflow. */
  if (!reason)
    reason_len = 0;
  if (reason_len > WS__REASON_INLINE - 1)
    reason_len = WS__REASON_INLINE - 1;
  if (reason_len)
    memcpy(ev->reason_inline, reason, reason_len);
  ev->reason_inline[reason_len] = '\0';
  ev->reason = ev->reason_inline;
  ev->reason_len = reason_len;
  ev->code = code;
  ev->was_clean = was_clean;
  ev->diag = diag ? *diag : no_diag;
  if (!ev->diag.detail)
    ev->diag.detail = "";
  ev->alloc = NULL;
}

/* ---- MessageEvent --------------------------------------------------------------------------- */

const ws_event *ws_message_event_base(const ws_message_event *ev) { return ev ? &ev->base : NULL; }

const uint8_t *ws_message_event_data(const ws_message_event *ev, size_t *len) {
  if (len)
    *len = ev ? ev->len : 0;
  return ev ? ev->data : NULL;
}

bool ws_message_event_is_binary(const ws_message_event *ev) { return ev && ev->binary; }

void ws__message_event_set(ws_message_event *ev, const uint8_t *data, size_t len, bool binary,
                           double time_stamp) {
  init_known(&ev->base, WS_EVENT_MESSAGE, 2, time_stamp); /* "message" */
  ev->data = data;
  ev->len = len;
  ev->binary = binary;
}

/* ---- EventTarget ---------------------------------------------------------------------------- */

/* The uint16_t counts above must hold MAX_LISTENERS, and the target must stay small: a server
 * embeds one in every connection (issue 8, memory per idle connection). */
_Static_assert(MAX_LISTENERS <= UINT16_MAX, "len/cap are uint16_t");
_Static_assert(sizeof(ws_event_target) <= 32, "ws_event_target grew");
_Static_assert(sizeof(void *) != 8 || sizeof(ws_event_target) == 24,
               "ws_event_target is 24 bytes on LP64");

ws_event_target *ws_event_target_new(const ws_allocator *alloc) {
  alloc = ws__alloc_or_default(alloc);
  ws_event_target *t = ws__calloc(alloc, 1, sizeof *t);
  if (t)
    t->alloc = alloc;
  return t;
}

void ws__event_target_init(ws_event_target *t, const ws_allocator *alloc) {
  memset(t, 0, sizeof *t);
  t->alloc = ws__alloc_or_default(alloc);
  t->embedded = true;
}

static void entry_fini(const ws_allocator *alloc, entry *e) {
  if (e->own_type)
    ws__free(alloc, (void *)(uintptr_t)e->type);
}

/* Drop the listeners; a view frees nothing (the set owns its entries). */
static void release(ws_event_target *t) {
  if (!t->shared) {
    for (uint32_t i = 0; i < t->len; i++)
      entry_fini(t->alloc, &t->v[i]);
    ws__free(t->alloc, t->v);
  }
  t->v = NULL;
  t->len = t->cap = 0;
  t->shared = false;
}

static void destroy(ws_event_target *t) {
  release(t);
  if (!t->embedded)
    ws__free(t->alloc, t);
}

void ws__event_target_fini(ws_event_target *t) { release(t); }

void ws__event_target_share(ws_event_target *t, const ws__listener_set *from) {
  release(t);
  if (from && from->len) {
    /* const is kept by discipline: a view never writes through v (unshare copies first). */
    t->v = (entry *)(uintptr_t)from->v;
    t->len = t->cap = (uint16_t)from->len;
    t->shared = true;
  }
}

/* Copy-on-write: before t's first change, its view of a shared set becomes an array of its own
 * (with room for `extra` more entries), type strings included, so the set and every other view
 * stay as they are. Indices are kept, so a dispatch under way (which re-reads t->v) carries on
 * over the copy. Out of memory: t stays the view it was. */
static int unshare(ws_event_target *t, uint32_t extra) {
  if (!t->shared)
    return WS_OK;
  uint32_t cap = t->len + extra;
  if (cap > MAX_LISTENERS)
    cap = MAX_LISTENERS;
  entry *v = ws__malloc(t->alloc, cap * sizeof *v);
  if (!v)
    return WS_ERR_NOMEM;
  memcpy(v, t->v, t->len * sizeof *v);
  for (uint32_t i = 0; i < t->len; i++) {
    if (!v[i].own_type)
      continue; /* a static string: nothing to own */
    size_t n = strlen(v[i].type) + 1;
    char *copy = ws__malloc(t->alloc, n);
    if (!copy) {
      for (uint32_t j = 0; j < i; j++)
        entry_fini(t->alloc, &v[j]);
      ws__free(t->alloc, v);
      return WS_ERR_NOMEM;
    }
    memcpy(copy, v[i].type, n);
    v[i].type = copy;
  }
  t->v = v;
  t->cap = (uint16_t)cap;
  t->shared = false;
  return WS_OK;
}

void ws_event_target_free(ws_event_target *t) {
  if (!t || t->embedded)
    return; /* an embedded target goes with its owner */
  if (t->depth > 0) {
    /* Called from one of t's own listeners: the dispatch loop still reads t, so the outermost
     * dispatch frees it on its way out. */
    t->free_pending = true;
    return;
  }
  destroy(t);
}

/* Drop entries flagged removed; only when no dispatch holds indices into the array. A shared
 * set never holds removed entries (it is built swept, and flagging one copies it first). */
static void sweep(ws_event_target *t) {
  if (t->shared)
    return;
  uint32_t w = 0;
  for (uint32_t r = 0; r < t->len; r++) {
    if (!t->v[r].removed)
      t->v[w++] = t->v[r];
    else
      entry_fini(t->alloc, &t->v[r]);
  }
  t->len = (uint16_t)w;
}

/* Flag entry i removed (t already unshared). */
static void mark_removed(ws_event_target *t, uint32_t i) {
  t->v[i].removed = true;
  if (t->depth == 0)
    sweep(t);
  else
    t->dirty = true; /* swept when the outermost dispatch returns */
}

/* The index of the matching live entry, or -1. Read-only, so it works on a view as is: a call
 * that finds nothing to change (a duplicate add, a missing remove) copies nothing. */
static int32_t find(const ws_event_target *t, const char *type, bool handler,
                    ws_event_listener_cb cb, void *ud) {
  for (uint32_t i = 0; i < t->len; i++) {
    const entry *e = &t->v[i];
    if (e->removed || e->handler != handler || strcmp(e->type, type) != 0) /* not hot */
      continue;
    if (handler || (e->cb == cb && e->ud == ud))
      return (int32_t)i;
  }
  return -1;
}

/* The types a WebSocket dispatches are shared static strings; others are copied. */
static int append(ws_event_target *t, const char *type, bool handler, ws_event_listener_cb cb,
                  void *ud) {
  if (t->len >= MAX_LISTENERS)
    return WS_ERR_LIMIT;
  int rc = unshare(t, 1);
  if (rc)
    return rc;
  uint8_t known = known_type(type);
  const char *tp = known ? KNOWN_TYPES[known - 1] : NULL;
  char *copy = NULL;
  if (!tp) {
    size_t n = strlen(type) + 1;
    copy = ws__malloc(t->alloc, n);
    if (!copy)
      return WS_ERR_NOMEM;
    memcpy(copy, type, n);
    tp = copy;
  }
  if (t->len == t->cap) {
    uint32_t cap = t->cap ? t->cap * 2u : 1u; /* one handler (a server's "message") is common */
    if (cap > MAX_LISTENERS)
      cap = MAX_LISTENERS;
    entry *v = ws__realloc(t->alloc, t->v, cap * sizeof *v);
    if (!v) {
      ws__free(t->alloc, copy);
      return WS_ERR_NOMEM;
    }
    t->v = v;
    t->cap = (uint16_t)cap;
  }
  entry *e = &t->v[t->len++];
  memset(e, 0, sizeof *e);
  e->type = tp;
  e->known = known;
  e->own_type = copy != NULL;
  e->cb = cb;
  e->ud = ud;
  e->handler = handler;
  return WS_OK;
}

static int check(const ws_event_target *t, const char *type) {
  if (!t || !type_ok(type))
    return WS_ERR_INVAL;
  return t->free_pending ? WS_ERR_STATE : WS_OK;
}

int ws_event_target_set_handler(ws_event_target *t, const char *type, ws_event_listener_cb cb,
                                void *user_data) {
  int rc = check(t, type);
  if (rc)
    return rc;
  int32_t i = find(t, type, true, NULL, NULL);
  if (!cb) {
    /* HTML "deactivate an event handler": its listener leaves the list; set again, it re-enters
     * at the end. */
    if (i >= 0 && (rc = unshare(t, 0)) == WS_OK)
      mark_removed(t, (uint32_t)i);
    return rc;
  }
  if (i >= 0) {
    if (t->v[i].cb == cb && t->v[i].ud == user_data)
      return WS_OK; /* the value it has: nothing to change (and nothing to copy on a view) */
    /* HTML: changing an active handler's value keeps its listener (and so its position); the
     * listener reads the handler when called, so a dispatch under way sees the new value. */
    if ((rc = unshare(t, 0)) != WS_OK)
      return rc;
    t->v[i].cb = cb;
    t->v[i].ud = user_data;
    return WS_OK;
  }
  return append(t, type, true, cb, user_data);
}

int ws_event_target_add_listener(ws_event_target *t, const char *type, ws_event_listener_cb cb,
                                 void *user_data) {
  int rc = check(t, type);
  if (rc)
    return rc;
  if (!cb)
    return WS_ERR_INVAL;
  /* DOM "add an event listener": an equal (type, callback, capture) entry means do nothing. */
  if (find(t, type, false, cb, user_data) >= 0)
    return WS_OK;
  return append(t, type, false, cb, user_data);
}

int ws_event_target_remove_listener(ws_event_target *t, const char *type, ws_event_listener_cb cb,
                                    void *user_data) {
  int rc = check(t, type);
  if (rc)
    return rc;
  int32_t i = cb ? find(t, type, false, cb, user_data) : -1;
  if (i < 0)
    return WS_ERR_NOT_FOUND;
  if ((rc = unshare(t, 0)) != WS_OK)
    return rc;
  mark_removed(t, (uint32_t)i);
  return WS_OK;
}

int ws_event_target_dispatch(ws_event_target *t, ws_event *ev) {
  if (!t || !ev)
    return WS_ERR_INVAL;
  /* DOM dispatchEvent: InvalidStateError if the event is being dispatched. */
  if (ev->in_dispatch || t->free_pending)
    return WS_ERR_STATE;
  if (t->depth == UINT16_MAX)
    return WS_ERR_LIMIT; /* 65535 nested dispatches on one target: a runaway recursion */
  ev->dispatched = true;
  ev->in_dispatch = true;
  t->depth++;
  /* Entries appended from here on are past n: not called in this dispatch (DOM clones the list). */
  uint32_t n = t->len;
  for (uint32_t i = 0; i < n && !t->free_pending; i++) {
    /* Re-read through t->v each time: a listener may have grown (moved) the array, or copied a
     * shared one into its own (copy-on-write keeps the indices). */
    const entry *e = &t->v[i];
    if (e->removed || !same_type(e->known, e->type, ev->known, ev->type))
      continue;
    e->cb(ev, e->ud);
  }
  t->depth--;
  ev->in_dispatch = false;
  if (t->depth == 0) {
    if (t->free_pending) {
      destroy(t);
    } else if (t->dirty) {
      t->dirty = false;
      sweep(t);
    }
  }
  return WS_OK;
}

/* ---- shared listener sets ------------------------------------------------------------------- */

int ws__listener_set_take(ws_event_target *t, ws__listener_set **out) {
  /* No dispatch runs on t (depth 0), so nothing flagged removed is left: mark_removed swept. */
  int rc = unshare(t, 0);
  if (rc)
    return rc;
  ws__listener_set *s = NULL;
  if (t->len) {
    s = ws__malloc(t->alloc, sizeof *s + t->len * sizeof(entry));
    if (!s)
      return WS_ERR_NOMEM;
    s->next = NULL;
    s->len = t->len;
    memcpy(s->v, t->v, t->len * sizeof(entry)); /* the type strings move with the entries */
    ws__free(t->alloc, t->v);
    t->v = NULL;
    t->len = t->cap = 0;
  }
  *out = s;
  return WS_OK;
}

int ws__listener_set_handler(const ws_allocator *alloc, ws__listener_set *from, const char *type,
                             ws_event_listener_cb cb, void *user_data, ws__listener_set **out) {
  /* Through a target viewing `from`, so that the set follows the very rules of set_handler
   * (position kept, a cleared slot leaves, 1024 entries) and `from` is not touched. */
  ws_event_target tmp;
  ws__event_target_init(&tmp, alloc);
  ws__event_target_share(&tmp, from);
  int rc = ws_event_target_set_handler(&tmp, type, cb, user_data);
  if (rc == WS_OK) {
    if (tmp.shared)
      *out = from; /* nothing changed: still the view */
    else
      rc = ws__listener_set_take(&tmp, out);
  }
  ws__event_target_fini(&tmp);
  return rc;
}

void ws__listener_set_free(const ws_allocator *alloc, ws__listener_set *s) {
  if (!s)
    return;
  alloc = ws__alloc_or_default(alloc);
  for (uint32_t i = 0; i < s->len; i++)
    entry_fini(alloc, &s->v[i]);
  ws__free(alloc, s);
}
