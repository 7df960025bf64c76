#!/usr/bin/python3
"""Echo server on Python `websockets` (Debian python3-websockets): the harness's reference peer.

    py_echo_server.py PORT
Limits are raised as Autobahn asks of a peer under test (messages up to 64 MiB);
permessage-deflate with the library's defaults (sections 12/13; websockets enables it on
servers too, with 12-bit windows). Nothing else changes without an offer. Prints "listening PORT" once it accepts
connections.
"""
import asyncio
import sys

import websockets


async def echo(ws, path=None):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main(port):
    async with websockets.serve(echo, "127.0.0.1", port, max_size=64 << 20, max_queue=None,
                                compression="deflate", close_timeout=2, ping_interval=None):
        print("listening %d" % port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
