#!/usr/bin/python3
"""A stand-in with the command-line shape of `wsclean serve` / `wsclean connect --echo`,
built on Python websockets, to test run_all.py's wsclean wiring before the real CLI exists:

    fake_wsclean.py serve --host H --port P [--max-message BYTES] [--close-timeout MS]
                          [--deflate]
    fake_wsclean.py connect URL --echo [--max-message BYTES] [--close-timeout MS] [--deflate]
    fake_wsclean.py serve --help | connect --help

With FAKE_WSCLEAN_NO_SERVE=1 in the environment it behaves like a CLI without those
commands (exit 2), which the runner must turn into a skip (77).
"""
import argparse
import asyncio
import os
import sys

import websockets


async def serve(host, port, max_message, close_timeout, deflate):
    async def echo(ws, path=None):
        try:
            async for m in ws:
                await ws.send(m)
        except websockets.ConnectionClosed:
            pass
    async with websockets.serve(echo, host, port, max_size=max_message, max_queue=None,
                                compression="deflate" if deflate else None,
                                close_timeout=close_timeout,
                                ping_interval=None):
        await asyncio.Future()


async def connect(url, max_message, close_timeout, deflate):
    try:
        async with websockets.connect(url, max_size=max_message, max_queue=None,
                                      compression="deflate" if deflate else None,
                                      close_timeout=close_timeout,
                                      ping_interval=None) as ws:
            async for m in ws:
                await ws.send(m)
    except websockets.ConnectionClosed:
        pass


def main():
    if os.environ.get("FAKE_WSCLEAN_NO_SERVE"):
        print("fake_wsclean: unknown command", file=sys.stderr)
        return 2
    ap = argparse.ArgumentParser(prog="wsclean")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--max-message", type=int, default=1 << 20)
    s.add_argument("--close-timeout", type=int, default=5000)
    s.add_argument("--deflate", action="store_true")
    c = sub.add_parser("connect")
    c.add_argument("url")
    c.add_argument("--echo", action="store_true")
    c.add_argument("--max-message", type=int, default=16 << 20)
    c.add_argument("--close-timeout", type=int, default=5000)
    c.add_argument("--deflate", action="store_true", default=True)
    a = ap.parse_args()
    if a.cmd == "serve":
        asyncio.run(serve(a.host, a.port, a.max_message, a.close_timeout / 1000.0, a.deflate))
    else:
        asyncio.run(connect(a.url, a.max_message, a.close_timeout / 1000.0, a.deflate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
