#!/usr/bin/python3
"""A deliberately broken echo server, to prove the harness can fail a peer.

    lax_echo_server.py PORT
It echoes every frame as it comes (no RSV, opcode, length, fragmentation, UTF-8 or close-code
checks), answers pings and closes; after the closing handshake it closes TCP at once, except
on the path /keep-open where it never does. It accepts any permessage-deflate offer without
compressing anything itself (see accept_any_deflate). The self-test expects FAILED on the cases that
exercise each missing check.
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import wsraw  # noqa: E402


def accept_any_deflate(headers):
    """Accepts the client's first permessage-deflate offer as it stands, then echoes the
    client's compressed frames verbatim: right with the default parameters, wrong as soon as
    the offer asks for server_no_context_takeover or a smaller server window (sections 12/13
    must then be FAILED)."""
    first = headers.get("sec-websocket-extensions", "").split(",")[0]
    params = [p.strip() for p in first.split(";")]
    if params[0] != "permessage-deflate":
        return None
    return "; ".join(p for p in params if p != "client_max_window_bits")


def serve_one(sock):
    conn = wsraw.Conn(sock)
    try:
        answered = []
        path, _ = wsraw.server_handshake(
            conn, time.monotonic() + 5, lambda h: answered.append(accept_any_deflate(h)) or
            answered[-1])
        # With the extension on, RSV1 (the compressed flag) goes back with the frame.
        keep_rsv = 4 if answered and answered[0] else 0
        end = time.monotonic() + 30
        while time.monotonic() < end and not conn.eof:
            conn.wait_readable(end)
            while True:
                r = wsraw.parse_frame(conn.inbuf)
                if r is None:
                    break
                f, used = r
                del conn.inbuf[:used]
                op = wsraw.OP_PONG if f.opcode == wsraw.OP_PING else f.opcode
                if f.opcode == wsraw.OP_PONG:
                    continue
                conn.send(wsraw.encode_frame(op, f.payload, fin=f.fin, rsv=f.rsv & keep_rsv), end)
                if f.opcode == wsraw.OP_CLOSE:
                    if path != "/keep-open":
                        conn.close()
                        return
                    time.sleep(5)
                    conn.close()
                    return
    except Exception:
        pass
    finally:
        conn.close()


def main(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    print("listening %d" % port, flush=True)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve_one, args=(s,), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]))
