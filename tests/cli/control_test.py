#!/usr/bin/env python3
"""wsclean serve's /drop and /noclose scenarios (ws_terminate, ws_pause) and the
--deflate/--no-deflate flags of serve and connect, end to end on loopback; Python websockets
(Debian python3-websockets, when importable) negotiates permessage-deflate with serve --deflate.
usage: control_test.py WSCLEAN_BINARY        exit 77 (skipped) while `wsclean serve` is absent."""
import asyncio
import json
import subprocess
import sys
import time

from clitest import WSCLEAN, Tool, check, close_of, finish, started


class Serve(Tool):
    """`wsclean serve --port 0 --verbose ...`, its stderr log collected; .base is ws://host:port."""

    def __init__(self, *args):
        super().__init__("serve", "--port", "0", "--verbose", *args)
        self.base = f"ws://127.0.0.1:{self.port}"

def connect(url, stdin="", *opts, timeout=15):
    t0 = time.time()
    p = subprocess.run([WSCLEAN, "connect", "--json", *opts, url], input=stdin, capture_output=True,
                       text=True, timeout=timeout)
    events = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    return p.returncode, events, time.time() - t0




async def py_client(url, compression):
    import websockets.client
    async with websockets.client.connect(url, compression=compression, open_timeout=5) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        msg = "abc" * 2000
        await ws.send(msg)
        echo = await asyncio.wait_for(ws.recv(), 5)
        return ext, echo == msg


def main():
    help_text = subprocess.run([WSCLEAN, "serve", "--help"], capture_output=True, text=True)
    if help_text.returncode != 0:
        print("1..0 # SKIP wsclean serve is not available yet")
        sys.exit(77)
    for word in ["/drop", "/noclose", "--deflate", "--no-deflate"]:
        check(word in help_text.stdout, f"serve --help documents {word}")
    chelp = subprocess.run([WSCLEAN, "connect", "--help"], capture_output=True, text=True).stdout
    check("--deflate" in chelp and "--no-deflate" in chelp, "connect --help documents --deflate/--no-deflate")

    srv = Serve()
    # /drop: the server terminates right after open: no close frame, the client sees 1006.
    rc, ev, _ = connect(f"{srv.base}/drop", "", "--no-close-on-eof")
    c = close_of(ev)
    check([e["type"] for e in ev] == ["open", "close"], "/drop: open, then close (no error event)", ev)
    check(c and c["code"] == 1006 and not c["wasClean"] and c["codeReceived"] == 0,
          "/drop: client CloseEvent 1006, wasClean false, no close frame received", c)
    check(rc == 4, "/drop: connect exits 4 (abnormal)", rc)
    log = srv.log_close("target=/drop")
    check(log and log["code"] == "1006" and log["wasClean"] == "false" and log["error"] == "WS_ERR_TERMINATED"
          and log["sent"] == "0", "/drop: serve logged 1006, WS_ERR_TERMINATED, no close frame sent", log)

    # /noclose: the server stops reading; our close (on stdin EOF) is never answered, so our
    # close timeout (1 s) ends it: 1006, not clean, after about a second.
    rc, ev, took = connect(f"{srv.base}/noclose", "", "--close-timeout", "1000")
    c = close_of(ev)
    check(c and c["code"] == 1006 and not c["wasClean"] and c["codeSent"] == 1000 and c["codeReceived"] == 0
          and c["error"] == "WS_ERR_PROTO_CLOSE_TIMEOUT", "/noclose: 1006 wasClean false by the close timeout", c)
    check(c and 900 <= c["durationMs"] <= 3000 and took < 6, f"/noclose: ended after ~1 s ({c and c['durationMs']} ms)", c)
    check(rc == 4, "/noclose: connect exits 4", rc)
    # The server never saw it; SIGTERM cuts such a connection at once instead of waiting.
    t0 = time.time()
    check(srv.stop() == 0 and time.time() - t0 < 3, "serve exits 0 on SIGTERM at once with a /noclose connection")
    srv.poll()
    log = srv.log_close("target=/noclose", wait=0.5)
    check(log and log["code"] == "1006" and log["error"] == "WS_ERR_TERMINATED" and log["received"] == "0",
          "/noclose: the server never read the client's close frame (received=0)", log)

    # permessage-deflate: off by default on serve, on by default on connect.
    plain = Serve()
    rc, ev, _ = connect(f"{plain.base}/", "hi\n")
    check(rc == 0 and ev and ev[0]["extensions"] == "", "serve (default): no extension negotiated", ev[:1])
    plain.stop()
    defl = Serve("--deflate")
    big = "z" * 5000
    rc, ev, _ = connect(f"{defl.base}/", big + "\n")
    check(rc == 0 and ev and ev[0]["extensions"].startswith("permessage-deflate"),
          "serve --deflate + connect (default): permessage-deflate in the open event", ev[:1])
    check(any(e.get("data") == big for e in ev), "compressed echo of 5000 bytes comes back whole",
          [e.get("type") for e in ev])
    rc, ev, _ = connect(f"{defl.base}/", "hi\n", "--no-deflate")
    check(rc == 0 and ev and ev[0]["extensions"] == "", "connect --no-deflate: no extension", ev[:1])
    try:
        import websockets.client  # noqa: F401
        have_py = True
    except ImportError:
        have_py = False
    if have_py:
        ext, ok = asyncio.run(py_client(defl.base + "/", "deflate"))
        check(ext.startswith("permessage-deflate") and ok, f"Python websockets negotiates it: {ext!r}, echo ok", ext)
        ext, ok = asyncio.run(py_client(defl.base + "/", None))
        check(ext == "" and ok, "Python websockets without compression: none", ext)
    else:
        print("ok # SKIP Python websockets is not installed")
    defl.stop()
    off = Serve("--deflate", "--no-deflate")  # the last flag wins
    ext, ok = asyncio.run(py_client(off.base + "/", "deflate")) if have_py else ("", True)
    check(ext == "" and ok, "serve --no-deflate: Python websockets' offer is declined", ext)
    off.stop()

    finish()


if __name__ == "__main__":
    main()
