#!/usr/bin/env python3
"""wsclean probe against real servers on loopback:
  - Python websockets (a mature implementation): every check passes;
  - a broken server that completes the handshake and then ignores everything: the close checks
    fail with "no close frame" and the exit status is 1;
  - nothing listening: exit status 2; usage errors: 2; --help: 0.
usage: probe_test.py WSCLEAN_BINARY"""
import asyncio
import base64
import hashlib
import json
import logging
import subprocess
import sys
import threading

WSCLEAN = sys.argv[1]
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
results = []


def check(cond, desc, detail=""):
    results.append(cond)
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {desc}")
    if not cond and detail:
        print(f"  # {detail}")


def run(*args, timeout=60):
    p = subprocess.run([WSCLEAN, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class Servers:
    """Both servers on one asyncio loop in a background thread."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self):
        import websockets.server

        async def echo(ws, *_):
            async for m in ws:
                await ws.send(m)

        self.good = await websockets.server.serve(echo, "127.0.0.1", 0)
        self.good_port = self.good.sockets[0].getsockname()[1]
        self.bad = await asyncio.start_server(self._deaf, "127.0.0.1", 0)
        self.bad_port = self.bad.sockets[0].getsockname()[1]

    async def _deaf(self, reader, writer):
        # Completes the opening handshake, then reads and ignores every byte: it never answers
        # a close frame and never closes TCP (until the client goes away).
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(l.split(b":", 1)[1].strip() for l in head.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        await writer.drain()
        while await reader.read(65536):
            pass
        writer.close()


def main():
    # The good server logs a traceback for every connection the probe fails on purpose.
    logging.getLogger("websockets").setLevel(logging.CRITICAL)
    srv = Servers()

    rc, out, err = run("probe", "--json", f"ws://127.0.0.1:{srv.good_port}/")
    doc = json.loads(out)
    fails = [c for c in doc["checks"] if c["result"] != "pass" and c["result"] != "info"]
    check(rc == 0 and doc["summary"]["fail"] == 0 and not fails, "python websockets: no failed check, exit 0",
          json.dumps(fails)[:600])
    ids = {c["id"]: c for c in doc["checks"]}
    check(doc["summary"]["pass"] >= 30, f"python websockets: {doc['summary']['pass']} checks passed (>= 30)")
    for cid, want in [("close.1000", "close 1000"), ("invalid.1005", "close 1002"), ("close.1byte", "close 1002"),
                      ("reason.utf8", "close 1007"), ("close.1014", "close 1014"), ("reason.123", "close 1000"),
                      ("frame.unmasked", "close 1002")]:
        got = ids.get(cid, {}).get("got", "")
        check(got.startswith(want), f"python websockets: {cid} -> {want}", got)
    check(ids.get("echo", {}).get("got") == "yes", "python websockets: echo detected")

    rc, out, err = run("probe", f"ws://127.0.0.1:{srv.good_port}/")
    check(rc == 0 and "checks passed, 0 warning(s), 0 failed" in out, "text report card ends with the score", out[-200:])

    rc, out, err = run("probe", "--json", "--timeout", "150", f"ws://127.0.0.1:{srv.bad_port}/")
    doc = json.loads(out)
    ids = {c["id"]: c for c in doc["checks"]}
    check(rc == 1 and doc["summary"]["fail"] >= 25, f"deaf server: {doc['summary']['fail']} failed checks, exit 1 (got {rc})")
    check(ids["close.1000"]["result"] == "fail" and ids["close.1000"]["got"].startswith("no close frame"),
          "deaf server: close.1000 fails with 'no close frame'", ids["close.1000"]["got"])
    check(ids["handshake"]["result"] == "pass", "deaf server: the handshake itself passes")

    # Port 1 on loopback: nothing listens, connect is refused at once.
    rc, out, err = run("probe", "ws://127.0.0.1:1/")
    check(rc == 2 and "Connection refused" in out, "unreachable server: exit 2, says why", out)
    rc, out, err = run("probe")
    check(rc == 2, "no URL: exit 2")
    rc, out, err = run("probe", "--bogus", "ws://127.0.0.1:1/")
    check(rc == 2 and "unknown option" in err, "unknown option: exit 2")
    rc, out, err = run("probe", "ftp://127.0.0.1:1/")
    check(rc == 2 and "ws://" in err, "a URL that is not ws:// or wss://: exit 2 with a message", err)
    rc, out, err = run("probe", "wss://127.0.0.1:1/")
    check(rc == 2 and "Connection refused" in out, "wss:// to nothing: exit 2, says why", out)
    rc, out, err = run("probe", "--help")
    check(rc == 0 and "usage: wsclean probe" in out, "--help: exit 0, usage on stdout")

    print(f"1..{len(results)}")
    sys.exit(0 if all(results) else 1)


main()
