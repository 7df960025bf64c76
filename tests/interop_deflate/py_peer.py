"""Python websockets peer for the permessage-deflate interop (run.py).

  py_peer.py server NCT          echo server on a free port, prints "ready PORT"
  py_peer.py client PORT NCT N   sends N messages, checks each echo, closes with 1000
NCT 0 uses websockets' default compression settings; NCT 1 asks for no context takeover both
ways.
"""
import asyncio
import random
import sys

import websockets
from websockets.extensions import permessage_deflate as pmd


def options(server, nct):
    kw = {"max_size": 1 << 22}
    if not nct:
        kw["compression"] = "deflate"
    elif server:
        kw["extensions"] = [pmd.ServerPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True)]
    else:
        kw["extensions"] = [pmd.ClientPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True)]
    return kw


async def server(nct):
    done = asyncio.get_running_loop().create_future()

    async def echo(ws, path=None):
        n = 0
        async for m in ws:
            n += 1
            await ws.send(m)
        print("py server: answered %r, %d echoed, close %s"
              % (ws.response_headers.get("Sec-WebSocket-Extensions"), n, ws.close_code), flush=True)
        done.set_result(ws.close_code == 1000 and n > 0)

    async with websockets.serve(echo, "127.0.0.1", 0, **options(True, nct)) as s:
        print("ready %d" % s.sockets[0].getsockname()[1], flush=True)
        ok = await asyncio.wait_for(done, 30)
    sys.exit(0 if ok else 3)


async def client(port, nct, count):
    async with websockets.connect("ws://127.0.0.1:%d/" % port, **options(False, nct)) as ws:
        print("py client: accepted %r" % ws.response_headers.get("Sec-WebSocket-Extensions"),
              flush=True)
        rnd = random.Random(3)
        for i in range(count):
            n = rnd.randrange(200000) if i % 7 == 0 else rnd.randrange(2000)
            if i % 2:
                m = ("héllo wörld " * (n // 12 + 1))[:n]
            else:
                m = bytes((k * 7 + (k >> 5)) & 15 for k in range(n))
            await ws.send(m)
            if await asyncio.wait_for(ws.recv(), 10) != m:
                print("py client: echo %d differs" % i)
                sys.exit(3)
        await ws.close(1000)
        print("py client: %d echoed, close %s" % (count, ws.close_code), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(server(sys.argv[2] == "1"))
    else:
        asyncio.run(client(int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])))
