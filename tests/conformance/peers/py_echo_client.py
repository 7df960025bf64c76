#!/usr/bin/python3
"""Echo client on Python `websockets`: echoes every message until the connection closes.

    py_echo_client.py URL
"""
import asyncio
import sys

import websockets


async def main(url):
    try:
        async with websockets.connect(url, max_size=64 << 20, max_queue=None, compression="deflate",
                                      close_timeout=2, ping_interval=None) as ws:
            async for message in ws:
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
