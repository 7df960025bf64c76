#!/usr/bin/python3
"""A deliberately broken echo server, to prove the harness can fail a peer.

    lax_echo_server.py PORT
It echoes every frame as it comes (no RSV, opcode, length, fragmentation, UTF-8 or close-code
checks), answers pings and closes; after the closing handshake it closes TCP at once, except
on the path /keep-open where it never does. The self-test expects FAILED on the cases that
exercise each missing check.
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import wsraw  # noqa: E402


def serve_one(sock):
    conn = wsraw.Conn(sock)
    try:
        path, _ = wsraw.server_handshake(conn, time.monotonic() + 5)
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
                conn.send(wsraw.encode_frame(op, f.payload, fin=f.fin), end)
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
