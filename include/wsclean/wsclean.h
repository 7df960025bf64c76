/* wsclean — the one header an application includes.
 *
 * It pulls in the other public headers (errors, allocator, close codes, events, the sans-I/O
 * connection) and declares the event loop and the browser-shaped client and server API.
 * docs/api.md walks through it; examples/echo_server.c and examples/client.c use it.
 *
 * THREADS. A ws_loop and every object created on it (sockets, servers, timers) belong to the
 * thread that runs the loop: call their functions only from that thread (from inside callbacks,
 * or before ws_loop_run starts). Exactly two functions may be called from any thread:
 * ws_loop_post() (hand a function to the loop's thread) and ws_loop_stop(). To use many cores,
 * run one loop per thread, each with its own ws_server listening on the same port with
 * `reuse_port` (SO_REUSEPORT: the kernel spreads new connections over the loops).
 *
 * LIFETIME. Every callback receives objects that stay valid for the duration of the call. A
 * ws_socket is freed by the library after its close event has been dispatched (handlers
 * included); keep no pointer to it past onclose. Freeing a loop cuts whatever is still open
 * without firing events.
 */
#ifndef WSCLEAN_WSCLEAN_H
#define WSCLEAN_WSCLEAN_H

#include "wsclean/alloc.h"
#include "wsclean/close_codes.h"
#include "wsclean/common.h"
#include "wsclean/conn.h"
#include "wsclean/deflate.h"
#include "wsclean/errors.h"
#include "wsclean/event.h"
#include "wsclean/handshake.h"

WS_BEGIN_DECLS

/* ============================================================================================
 * The event loop (epoll)
 * ========================================================================================== */
typedef struct ws_loop ws_loop;
typedef void (*ws_loop_fn)(ws_loop *loop, void *ud);

/* A new loop. alloc NULL: malloc. The loop has one shared 64 KiB read buffer. Returns NULL when
 * memory, epoll_create1 or eventfd fail. */
WS_API ws_loop *ws_loop_new(const ws_allocator *alloc);
/* Close everything still open on the loop (no events fire: sockets are cut, pending posts are
 * dropped) and free it. Must not be called while ws_loop_run is running. NULL is ignored. */
WS_API void ws_loop_free(ws_loop *loop);
/* Run until ws_loop_stop() is called or nothing is left to do (no socket, server or timer).
 * Returns WS_OK, or a negative ws_err if epoll_wait fails (other than EINTR). */
WS_API int ws_loop_run(ws_loop *loop);
/* One turn: wait at most timeout_ms (0: poll, -1: until something happens) and run what is
 * ready. Returns 1 if work remains, 0 if not, or a negative ws_err. For embedding the loop in
 * another one: poll ws_loop_fd() for readability and call ws_loop_run_once(loop, 0), and call
 * it again by ws_loop_next_timeout() milliseconds at the latest. */
WS_API int ws_loop_run_once(ws_loop *loop, int timeout_ms);
/* The epoll descriptor (readable when the loop has work) and the ms until its next timer
 * (-1: none). */
WS_API int ws_loop_fd(const ws_loop *loop);
WS_API int ws_loop_next_timeout(ws_loop *loop);
/* Make ws_loop_run return after the current turn. THREAD-SAFE. */
WS_API void ws_loop_stop(ws_loop *loop);
/* Have fn(loop, ud) called on the loop's thread at its next turn, in posting order.
 * THREAD-SAFE (the allocator must then be thread-safe too; the default one is).
 * WS_ERR_NOMEM; WS_ERR_CLOSED once ws_loop_free has started. Functions posted but not yet run
 * when the loop is freed are dropped without being called. */
WS_API int ws_loop_post(ws_loop *loop, ws_loop_fn fn, void *ud);
/* The loop's monotonic clock in ms (CLOCK_MONOTONIC). Inside callbacks: the time the turn's
 * wait ended, the same for every callback of the turn; outside the loop: the clock now. */
WS_API uint64_t ws_loop_now(const ws_loop *loop);
/* setTimeout: call fn(loop, ud) once, delay_ms (0..2^31 ms) after ws_loop_now(). Timers with the
 * same deadline fire in the order they were set. Returns an id > 0, or 0 on allocation failure. A
 * pending timer keeps ws_loop_run running. */
WS_API uint64_t ws_loop_set_timeout(ws_loop *loop, uint32_t delay_ms, ws_loop_fn fn, void *ud);
/* clearTimeout: WS_ERR_NOT_FOUND if id is unknown, already fired or cleared. O(number of
 * pending app timers). */
WS_API int ws_loop_clear_timeout(ws_loop *loop, uint64_t id);

/* ============================================================================================
 * WebSocket (browser-shaped): one object for both ends
 * ============================================================================================
 * A ws_socket is what `new WebSocket(url)` gives a script, plus what a server gets for each
 * connection. Events ("open", "message", "error", "close") go to an EventTarget (event.h): one
 * on<type> handler each (ws_on) and any number of listeners (ws_target + add/remove), called
 * in registration order. Inside a listener, ws_event_socket(ev) is event.target.
 *
 * Order (WHATWG 'the WebSocket connection is closed'): when the connection was *failed* (bad
 * frame, bad UTF-8, oversized message, TLS failure, refused handshake, ws_close while
 * CONNECTING) "error" fires first, then "close"; "close" fires exactly once, and afterwards the
 * library frees the socket. The CloseEvent carries code (1005 no status, 1006 abnormal, 1015 TLS
 * handshake failure: browsers show 1006 there, we tell more), reason, wasClean, and
 * ws_close_event_diag() says who closed, the codes sent/received, the ws_err and a detail text
 * (OpenSSL's error for TLS, the bad header for a handshake).
 */
typedef struct ws_socket ws_socket;

typedef struct ws_open_options {
  size_t size;              /* sizeof(ws_open_options), set by ws_open_options_init */
  const char *ca_file;      /* wss://: PEM CA bundle to verify the server with; NULL
                               (default): the system store. The name in the URL must match
                               the certificate (DNS name or IP address); SNI is sent for
                               names */
  bool insecure;            /* wss://: skip verification (tests only). Default false */
  const char *origin;       /* Origin header; default none */
  const ws_header *headers; /* extra request headers (Authorization...), default none */
  size_t num_headers;
  uint32_t handshake_timeout_ms; /* TCP + TLS + HTTP upgrade, default 30000; over it: error +
                                    close 1006 (diag.error WS_ERR_HANDSHAKE_TIMEOUT) */
  ws_conn_options conn;          /* limits and timeouts of the connection (conn.h):
                                    max_message_size 1 MiB, close_timeout_ms 5000, ... */
  ws_deflate_options deflate;    /* permessage-deflate (deflate.h): offered by default, as
                                    browsers do; inflated messages are capped by
                                    conn.max_message_size (1009). docs/deflate.md */
} ws_open_options;

WS_API void ws_open_options_init(ws_open_options *o);

/* new WebSocket(url, protocols): starts connecting and returns a socket in CONNECTING; its
 * events fire from the loop, never from inside ws_open. opts NULL: defaults.
 * URL: ws://, wss://, http:// (as ws), https:// (as wss); host names are resolved with
 * getaddrinfo, which blocks: use numeric or local names where that matters.
 * Returns NULL and sets *err (if err is not NULL) for what a browser throws a SyntaxError for:
 * WS_ERR_URL_* (handshake.h), WS_ERR_PROTOCOL_INVALID / _DUPLICATE; also WS_ERR_NOMEM,
 * WS_ERR_TLS_CONFIG (unreadable CA file), WS_ERR_INVAL (NULL loop or url). Every network
 * failure (resolution, refused, TLS, a non-WebSocket answer) arrives as error + close events. */
WS_API ws_socket *ws_open(ws_loop *loop, const char *url, const char *const *protocols,
                          size_t num_protocols, const ws_open_options *opts, int *err);

/* The socket's EventTarget (for ws_event_target_add_listener/remove_listener). */
WS_API ws_event_target *ws_target(ws_socket *ws);
/* Set (cb) or clear (NULL) the on<type> handler: type "open", "message", "error", "close".
 * WS_ERR_INVAL for a type over 31 bytes; WS_ERR_NOMEM. */
WS_API int ws_on(ws_socket *ws, const char *type, ws_event_listener_cb cb, void *ud);
/* event.target: the socket that dispatched ev; NULL for an event the application created. */
WS_API ws_socket *ws_event_socket(const ws_event *ev);

/* send(): queue a text (must be UTF-8: WS_ERR_SYNTAX otherwise) or binary message.
 * WS_ERR_STATE while CONNECTING (InvalidStateError). After the closing handshake started the
 * data is dropped but counted in ws_buffered_amount, and WS_OK is returned (as a browser does).
 * WS_ERR_BUFFER_FULL when the queue would pass conn.send_queue_limit (default 16 MiB): a
 * browser would close the connection; here the message is refused and the socket stays open. */
WS_API int ws_send_text(ws_socket *ws, const char *text, size_t len);
WS_API int ws_send_binary(ws_socket *ws, const void *data, size_t len);
/* A ping with up to 125 bytes of data (WS_ERR_INVAL over it); "pong" is not an event. */
WS_API int ws_ping(ws_socket *ws, const void *data, size_t len);

/* close(code, reason) exactly as WHATWG: code 0 means "not given", reason NULL "not given".
 *   - code other than 1000 or 3000..4999 -> WS_ERR_INVALID_ACCESS;
 *   - reason over 123 bytes or not UTF-8 -> WS_ERR_SYNTAX (both checked before the state);
 *   - CLOSING or CLOSED: nothing (WS_OK);
 *   - CONNECTING: the connection is failed (readyState CLOSING; then error, close 1006);
 *   - OPEN: the closing handshake starts: no code and no reason -> an empty close frame (the
 *     peer reports 1005); a reason without a code -> code 1000. */
WS_API int ws_close(ws_socket *ws, uint16_t code, const char *reason);
/* A native close for codes a browser may not send but the wire allows (1001-1003, 1007-1014,
 * e.g. 1008 policy, 1011 internal error, 1013 try again later). WS_ERR_INVALID_ACCESS for a code
 * not valid on the wire (1004-1006, 1015, <1000, 1016-2999, >4999); WS_ERR_SYNTAX for the
 * reason; otherwise as ws_close. */
WS_API int ws_close_with(ws_socket *ws, uint16_t code, const char *reason);

/* terminate() (Node ws): cut the connection now, without a close frame. Like a TCP drop, the
 * peer reports 1006 (wasClean false). Our side's events fire from the loop, never from inside
 * the call: readyState is CLOSING at once, TCP is closed at the end of the current loop turn
 * (after a server's 101 response still being written, so a connection handler may terminate),
 * then "close" fires with code 1006 (or the code of a close frame already received), wasClean
 * false and diag.error WS_ERR_TERMINATED, initiator LOCAL unless a close frame was exchanged.
 * No "error" event: WHATWG fires "error" only when the connection is *failed* (a fault), and a
 * deliberate local abort is not one (Node ws's terminate() emits only "close" too). Messages
 * still queued are not written, input not yet delivered is dropped (no "message" follows);
 * send/ping/close afterwards are ignored (WS_OK).
 *   - CONNECTING: as ws_close while CONNECTING (error, then close 1006, WS_ERR_ABORTED: the
 *     one way WHATWG aborts a connection that is not open yet);
 *   - OPEN or CLOSING: as above (if the closing handshake had completed and only the TCP end
 *     was awaited, the close event stays clean with the exchanged code);
 *   - CLOSED or already terminating: nothing.
 * Returns WS_OK, or WS_ERR_INVAL for NULL. */
WS_API int ws_terminate(ws_socket *ws);

/* pause()/resume() (Node ws): read-side backpressure. While paused nothing is read from the
 * socket: no "message", no close frame, no EOF is seen (the kernel's receive buffer fills, then
 * TCP flow control slows the peer). Writing and the timers go on: queued messages are sent, and
 * the close timeout, the idle timeout and ws_terminate still end the connection (a paused
 * socket that started a close will not see the answer, so it ends by its close timeout, 1006).
 * The pause takes effect at the next read: the rest of the bytes already read (at most one
 * 64 KiB read, or the frames that arrived with the handshake) are still delivered. ws_resume
 * reads again from the next loop turn, including input TLS decrypted before the pause.
 * Idempotent. WS_ERR_STATE while CONNECTING (there is no connection to pause yet: call it from
 * the "open" event or a server's connection handler) and once CLOSED; WS_ERR_INVAL for NULL. */
WS_API int ws_pause(ws_socket *ws);
WS_API int ws_resume(ws_socket *ws);
/* true between ws_pause and ws_resume. */
WS_API bool ws_is_paused(const ws_socket *ws);

/* readyState: WS_CONNECTING, WS_OPEN, WS_CLOSING, WS_CLOSED. */
WS_API ws_ready_state ws_state(const ws_socket *ws);
/* bufferedAmount: message bytes queued and not yet written (plus dropped-after-close bytes). */
WS_API uint64_t ws_buffered_amount(const ws_socket *ws);
/* The subprotocol and extensions the server chose ("" before open or when none), the URL as
 * parsed ("ws://host:port/path"). NUL-terminated, valid while the socket lives. */
WS_API const char *ws_protocol(const ws_socket *ws);
WS_API const char *ws_extensions(const ws_socket *ws);
WS_API const char *ws_get_url(const ws_socket *ws);
WS_API void ws_set_user_data(ws_socket *ws, void *ud);
WS_API void *ws_user_data(const ws_socket *ws);

/* Reconnecting (RFC 6455 7.2.3), off unless the application asks: given the close event of the
 * last attempt and how many attempts failed in a row (0 for the first retry), returns the delay
 * in ms before calling ws_open again, or -1 when it should not: after 1008 policy violation,
 * 1003 unsupported data and 1002 protocol error (retrying would fail the same way) and after a
 * clean 1000. 1012 service restart and 1013 try again later wait at least 5 s (the server asked
 * for "later"); other failures (1006, 1001, 1011, 1014, 1015...) retry. The delay is a random
 * value in [base/2, base] with base = min(max_ms, min_ms * 2^attempt) (defaults when 0:
 * min_ms 1000, max_ms 30000). random32 is a random number from the caller. */
WS_API int64_t ws_reconnect_delay(const ws_close_event *last, unsigned attempt, uint32_t min_ms,
                                  uint32_t max_ms, uint32_t random32);

/* The same policy, automatic: keeps a connection to url, opening a new socket after each close
 * with ws_reconnect_delay's backoff (min_ms/max_ms 0: 1000/30000; the count of attempts resets
 * at every "open"). on_socket(r, ws, ud) is called for every new socket, before any of its
 * events: set its handlers there. When the policy says stop (1002, 1003, 1008, clean 1000) or
 * ws_reconnect_stop was called, on_socket is called one last time with ws NULL, and the helper
 * frees itself. Returns NULL and *err as ws_open for a bad URL or protocols. */
typedef struct ws_reconnect ws_reconnect;
typedef void (*ws_reconnect_cb)(ws_reconnect *r, ws_socket *ws, void *ud);
WS_API ws_reconnect *ws_reconnect_start(ws_loop *loop, const char *url,
                                        const char *const *protocols, size_t num_protocols,
                                        const ws_open_options *opts, uint32_t min_ms,
                                        uint32_t max_ms, ws_reconnect_cb on_socket, void *ud,
                                        int *err);
/* Stop reconnecting. The current socket (if any) stays as it is (close it with ws_close if
 * wanted); on_socket(r, NULL) follows from the loop once it has closed (at once if there is
 * none). Idempotent until then. */
WS_API void ws_reconnect_stop(ws_reconnect *r);

/* ============================================================================================
 * Server
 * ========================================================================================== */
typedef struct ws_server ws_server;
typedef struct ws_http_exchange ws_http_exchange;

/* A new connection on a route, called after the 101 response is queued and before the "open"
 * event: set the socket's handlers and user data here. The socket already has its route's
 * handlers (ws_server_route_on); ws_on here overrides or clears one for this socket only.
 * Return 0, or non-zero when the application cannot take it: the connection is closed with
 * 1011 Internal Error. */
typedef int (*ws_connection_cb)(ws_server *srv, ws_socket *ws, const ws_http_request *req,
                                void *ud);
/* A plain HTTP request (not an upgrade) on the server's port: answer it with
 * ws_http_respond() before returning; a request left unanswered gets 404. */
typedef void (*ws_http_cb)(ws_server *srv, ws_http_exchange *x, const ws_http_request *req,
                           void *ud);

typedef struct ws_server_options {
  size_t size;               /* sizeof(ws_server_options), set by ws_server_options_init */
  const char *host;          /* address to bind; NULL or "" (default): all, IPv6 and IPv4 */
  uint16_t port;             /* 0 (default): any free port, see ws_server_port */
  bool reuse_port;           /* SO_REUSEPORT: several loops/processes share the port */
  const char *tls_cert_file; /* both set: wss:// (PEM certificate chain and key) */
  const char *tls_key_file;
  const char *const *allowed_origins; /* exact Origin values allowed, others get HTTP 403;
                                         NULL (default): any origin */
  size_t num_allowed_origins;
  uint32_t max_connections;      /* default 10000; a connection over the limit completes the
                                    handshake and is closed at once with 1013 Try Again Later */
  uint32_t handshake_timeout_ms; /* default 30000: TLS + upgrade request (or a plain HTTP
                                    request), then cut. Above Chromium's 10 s for unused
                                    pre-opened sockets: see docs/api.md */
  /* Slow consumers: when a connection's unsent output stays above slow_consumer_bytes for
   * slow_consumer_ms, it is closed with 1008 Policy Violation (the peer does not read what it
   * asked for; reconnecting would not help, so not 1013) and the queue is dropped. Default
   * 0 (off). The hard cap conn.send_queue_limit applies in any case. */
  size_t slow_consumer_bytes;
  uint32_t slow_consumer_ms;
  /* Memory of idle connections: an OPEN connection with nothing in flight (no partial frame or
   * message, nothing queued, no ping awaiting its pong, no permessage-deflate) for park_idle_ms
   * gives back its protocol state (ws_conn_park, about 650 B) and gets it back when it is next
   * used (bytes arrive, a send, a timer); nothing observable changes. A connection idle since
   * its handshake is parked as soon as its 101 is out; after it has worked, once idle for
   * park_idle_ms. Default 1000 ms (parked 1-2 s after its last activity: a busy connection never
   * pays for it); 0: at the end of every loop turn that leaves it idle (least memory, a little
   * CPU per message); UINT32_MAX: only right after the handshake. */
  uint32_t park_idle_ms;
  ws_http_cb on_http; /* plain HTTP requests; NULL (default): 426 Upgrade Required */
  void *http_ud;
  ws_conn_options conn; /* per-connection limits (conn.h), server role */
  ws_deflate_options deflate; /* permessage-deflate (deflate.h): off by default (about 190 KiB
                                 per connection once used); .enabled = true accepts browsers'
                                 offers. docs/deflate.md */
} ws_server_options;

WS_API void ws_server_options_init(ws_server_options *o);
/* Listen. Returns NULL and sets *err: WS_ERR_LISTEN (address in use...), WS_ERR_RESOLVE,
 * WS_ERR_TLS_CONFIG (certificate or key unreadable), WS_ERR_NOMEM, WS_ERR_INVAL.
 * A listening server keeps ws_loop_run running until ws_server_shutdown completes. */
WS_API ws_server *ws_server_new(ws_loop *loop, const ws_server_options *opts, int *err);
/* The port actually bound (useful with port 0). */
WS_API uint16_t ws_server_port(const ws_server *srv);
/* Serve WebSocket upgrades for an exact path ("/chat"; "*" matches any path without a route).
 * protocols: the subprotocols this route speaks, in preference order (the first one the client
 * also offers is chosen; none in common: no Sec-WebSocket-Protocol, as RFC 6455 4.2.2 allows).
 * At most 32 routes (WS_ERR_LIMIT); requests for other paths get 404. The arrays must outlive
 * the server. on_connection NULL: no callback, for a route whose handlers (ws_server_route_on)
 * do all the work. WS_ERR_INVAL for NULL srv or path. */
WS_API int ws_server_route(ws_server *srv, const char *path, const char *const *protocols,
                           size_t num_protocols, ws_connection_cb on_connection, void *ud);
/* The route's on<type> handler ("open", "message", "error", "close" or any type up to 31
 * bytes): every connection accepted on the route from now on starts with it, exactly as if
 * ws_on(ws, type, cb, user_data) had run before the route's connection callback (which may
 * override or clear it for one socket; "open" reaches it). cb NULL clears it. Connections
 * already accepted keep the handlers they had. path is the string given to ws_server_route
 * (e.g. "/chat" or "*"), compared exactly. Memory: the connections share the route's one list
 * of handlers and copy it only when they change their own, so a connection that keeps its
 * route's handlers allocates nothing for them (ws_on on every socket costs about 48 bytes per
 * connection). A route holds at most 1024 handlers (WS_ERR_LIMIT); WS_ERR_INVAL for NULL srv,
 * path or type or a type over 31 bytes; WS_ERR_NOT_FOUND for a path without a route;
 * WS_ERR_NOMEM (the route's handlers unchanged). */
WS_API int ws_server_route_on(ws_server *srv, const char *path, const char *type,
                              ws_event_listener_cb cb, void *user_data);
/* Answer a plain HTTP request (from ws_http_cb): status, content type (NULL: none), body
 * (copied, at most 16 MiB: WS_ERR_LIMIT). The connection closes after the response.
 * WS_ERR_STATE if already answered. */
WS_API int ws_http_respond(ws_http_exchange *x, int status, const char *content_type,
                           const void *body, size_t len);
/* The OPEN connections of the server (count). */
WS_API size_t ws_server_connections(const ws_server *srv);
/* Send one message to every OPEN connection of the server (route NULL) or of one route path.
 * The frame is built once and shared (no copy per connection). Returns how many connections it
 * was queued on, or WS_ERR_NOMEM. Connections whose queue is full are skipped. */
WS_API long ws_server_broadcast(ws_server *srv, const char *route, bool binary, const void *data,
                                size_t len);
/* The same for an explicit set of sockets of one server (NULL entries are skipped). */
WS_API long ws_broadcast(ws_socket *const *sockets, size_t n, bool binary, const void *data,
                         size_t len);
/* Start the closing handshake on every OPEN connection of the server (route NULL) or of one
 * route path, as ws_close_with(ws, code, reason) on each, without stopping the listener (e.g.
 * 1012 Service Restart on SIGHUP). Returns how many connections it started closing;
 * WS_ERR_INVALID_ACCESS for a code not valid on the wire, WS_ERR_SYNTAX for a reason over
 * 123 bytes or not UTF-8, WS_ERR_INVAL for NULL srv. */
WS_API long ws_server_close_all(ws_server *srv, const char *route, uint16_t code,
                                const char *reason);
/* Graceful shutdown: stop accepting, close every connection with `code` (1001 Going Away, or
 * 1012 Service Restart for a restart; any on-wire code is accepted, 0 means 1001) after the
 * messages already queued, wait up to deadline_ms (default when 0: 5000) for the closing
 * handshakes, then cut what is left (those see 1006). Then the server frees itself. WS_OK, or
 * WS_ERR_STATE if a shutdown is already running. */
WS_API int ws_server_shutdown(ws_server *srv, uint16_t code, uint32_t deadline_ms);

WS_END_DECLS
#endif
