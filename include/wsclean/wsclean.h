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
#include "wsclean/errors.h"
#include "wsclean/event.h"

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
/* The loop's monotonic clock in ms (CLOCK_MONOTONIC), as of the start of the current turn. */
WS_API uint64_t ws_loop_now(const ws_loop *loop);
/* setTimeout: call fn(loop, ud) once, after delay_ms (0..2^31 ms). Timers with the same
 * deadline fire in the order they were set. Returns an id > 0, or 0 on allocation failure.
 * A pending timer keeps ws_loop_run running. */
WS_API uint64_t ws_loop_set_timeout(ws_loop *loop, uint32_t delay_ms, ws_loop_fn fn, void *ud);
/* clearTimeout: WS_ERR_NOT_FOUND if id is unknown, already fired or cleared. O(number of
 * pending app timers). */
WS_API int ws_loop_clear_timeout(ws_loop *loop, uint64_t id);

WS_END_DECLS
#endif
