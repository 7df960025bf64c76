"""Benchmark peer: Python `websockets` (Debian python3-websockets) echo server, no compression.

Usage: /usr/bin/python3 py_websockets_echo.py PORT   (listens on 127.0.0.1:PORT)
On SIGTERM prints "closes clean=N other=M" to stderr (clean: the close frame carried 1000).
"""
import asyncio
import signal
import sys

import websockets

counts = {"clean": 0, "other": 0}


async def echo(ws, path=None):
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    finally:
        counts["clean" if ws.close_code == 1000 else "other"] += 1


async def main(port):
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with websockets.serve(echo, "127.0.0.1", port, compression=None, max_size=64 * 1024 * 1024,
                                max_queue=None, ping_interval=None):
        print("listening", flush=True)
        await stop
    sys.stderr.write("closes clean=%d other=%d\n" % (counts["clean"], counts["other"]))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9001))
