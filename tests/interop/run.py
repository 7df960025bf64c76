#!/usr/bin/python3
"""Interop scenarios between wsclean (tests/interop/ws_peer.c, public API only) and real peers:
Python `websockets` (Debian python3-websockets), Node `ws` and undici's WebSocket.

    run.py GROUP --peer BIN [--node-modules DIR] [--quick]

GROUP: client-python, client-node-ws (our client against their server), server-python,
server-node-ws, server-undici (their client against our server), tls (wss:// echo both ways with a
CA made here with the openssl CLI). Every scenario asserts what both sides observed (code, reason,
and wasClean where the peer exposes it). Prints one line per scenario, exits 1 if any failed.
Every subprocess has a timeout; the whole group stays well under a minute.
"""
import argparse
import asyncio
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES_FULL = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20]
SIZES_QUICK = [0, 1, 125, 126, 65535, 65536, 1 << 20]
APP_CODES = [1000, 3000, 4999]
WIRE_CODES = [1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014]
REASONS = [None, "bye", "@123"]

results = []


def reason_text(r):
    if r is None:
        return ""
    if r.startswith("@"):
        return "r" * int(r[1:])
    return r


def check(name, ok, detail=""):
    results.append((name, ok, detail))
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else "  -- " + detail), flush=True)


def parse_close(lines):
    for ln in lines:
        if ln.startswith("close "):
            d = dict(kv.split("=", 1) for kv in re.findall(r"(\w+=\S*)", ln[6:]))
            return {"code": int(d["code"]), "clean": d["clean"] == "1", "reason_len": int(d["reason_len"]),
                    "reason": d["reason"], "err": d["err"], "path": d.get("path", "-"), "line": ln}
    return None


def pattern(n, seed):
    return bytes(97 + ((i * 7 + seed) % 26) for i in range(n)) if n < 4096 else \
        (bytes(97 + ((i * 7 + seed) % 26) for i in range(26 * 7)) * (n // (26 * 7) + 1))[:n]


# ---------------------------------------------------------------------------------------------
# Our client (ws_peer client ...) as a subprocess
# ---------------------------------------------------------------------------------------------
async def run_our_client(args, peer_bin, timeout=25):
    proc = await asyncio.create_subprocess_exec(peer_bin, "client", *args, stdout=subprocess.PIPE,
                                                stderr=subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        return ["TIMEOUT"] + out.decode(errors="replace").splitlines(), -9
    lines = out.decode(errors="replace").splitlines()
    e = err.decode(errors="replace")
    if "Sanitizer" in e or "runtime error" in e:
        check("our client %s ran clean under the sanitizers" % " ".join(args[:1]), False, e[-2000:])
    if proc.returncode != 0 or err:
        lines.append("EXIT %d %s" % (proc.returncode, err.decode(errors="replace")[-2000:]))
    return lines, proc.returncode


def expect_close(name, lines, code, reason=None, clean=None, codes=None):
    c = parse_close(lines)
    if not c:
        check(name, False, "no close line: %r" % lines[-6:])
        return None
    ok = (c["code"] in codes) if codes else (c["code"] == code)
    if reason is not None:
        ok = ok and c["reason_len"] == len(reason) and (len(reason) > 40 or c["reason"] == reason)
    if clean is not None:
        ok = ok and c["clean"] == clean
    check(name, ok, c["line"])
    return c


# ---------------------------------------------------------------------------------------------
# Python websockets server for our client
# ---------------------------------------------------------------------------------------------
class PyServer:
    def __init__(self):
        self.results = {}

    async def handler(self, ws, path=None):
        path = path or ws.path
        parts = path.split("/")
        try:
            if parts[1] == "echo":
                async for m in ws:
                    await ws.send(m)
            elif parts[1] == "close":
                code = int(parts[2])
                reason = reason_text(None if parts[3] == "-" else parts[3])
                if code == 0:
                    # websockets has no "close without a code": write the empty close frame.
                    ws.transport.write(b"\x88\x00")
                    await ws.wait_closed()
                else:
                    await ws.close(code, reason)
            elif parts[1] == "drop":
                ws.transport.abort()
            elif parts[1] == "bad-utf8":
                ws.transport.write(b"\x81\x02\xc3\x28")  # RFC 3629: C3 28 is not UTF-8
            elif parts[1] == "bad-opcode":
                ws.transport.write(b"\x83\x00")  # RFC 6455 5.2: opcode 3 is reserved
            elif parts[1] == "big":
                await ws.send(pattern(int(parts[2]), 0))
            elif parts[1] == "frag":
                await ws.send(["part1", "part2", "part3"])  # an iterable is sent fragmented
                await ws.close(1000, "frag-done")
            elif parts[1] == "ping":
                waiter = await ws.ping(b"hi")
                await asyncio.wait_for(waiter, 5)
                await ws.close(1000, "pong-ok")
            await ws.wait_closed()
        except websockets.ConnectionClosed:
            pass
        except Exception as e:  # noqa: BLE001 - reported as a failed scenario
            self.results[path] = {"error": repr(e)}
            return
        self.results[path] = {"code": ws.close_code, "reason": ws.close_reason}

    async def start(self):
        self.server = await websockets.serve(self.handler, "127.0.0.1", 0, max_size=None,
                                             subprotocols=["chat"], ping_interval=None)
        self.port = self.server.sockets[0].getsockname()[1]

    async def result(self, path, wait=5.0):
        t0 = time.time()
        while path not in self.results and time.time() - t0 < wait:
            await asyncio.sleep(0.02)
        return self.results.get(path)

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()


class NodeServer:
    def __init__(self, env):
        self.env = env
        self.results = {}

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec("node", os.path.join(HERE, "node_peer.js"), "server-ws",
                                                         stdout=subprocess.PIPE, env=self.env)
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 10)).decode()
        self.port = int(line.split()[1])
        self.reader = asyncio.ensure_future(self.read())

    async def read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            d = json.loads(line)
            self.results[d["path"]] = d

    async def result(self, path, wait=5.0):
        t0 = time.time()
        while path not in self.results and time.time() - t0 < wait:
            await asyncio.sleep(0.02)
        return self.results.get(path)

    async def stop(self):
        self.proc.kill()
        await self.proc.wait()
        self.reader.cancel()


async def raw_noreply_server():
    """Completes the opening handshake and then ignores everything: a peer that never answers
    our close frame (so our close timeout must cut it)."""
    async def serve(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        key = re.search(rb"(?i)sec-websocket-key:\s*(\S+)", head).group(1)
        import base64
        acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass
        writer.close()
    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    return srv, srv.sockets[0].getsockname()[1]


async def group_client(peer_kind, a):
    env = node_env(a)
    srv = PyServer() if peer_kind == "python" else NodeServer(env)
    await srv.start()
    base = "ws://127.0.0.1:%d" % srv.port
    n = 0

    def uid():
        nonlocal n
        n += 1
        return n

    sizes = SIZES_QUICK if a.quick else SIZES_FULL
    # Echo of text and binary, 0 .. 16 MiB.
    path = "/echo/%d" % uid()
    lines, _ = await run_our_client([base + path, "--echo", ",".join(map(str, sizes))], a.peer)
    check("%s: echo %d sizes text+binary" % (peer_kind, len(sizes)), "echo-ok %d" % len(sizes) in lines, repr(lines[-4:]))
    expect_close("%s: echo then our close 1000 -> ours" % peer_kind, lines, 1000, clean=True)
    r = await srv.result(path)
    check("%s: echo then our close 1000 -> peer saw 1000" % peer_kind, r and r.get("code") == 1000, repr(r))

    # We close with each code a browser may send, and each other wire code (native API).
    for code in APP_CODES + WIRE_CODES + [0]:
        for reason in (REASONS if code in APP_CODES else ["x"] if code else [None]):
            path = "/wait/%d" % uid()
            args = [base + path, "--close", str(code)]
            if reason:
                args += ["--reason", reason]
            if code not in APP_CODES:
                args.append("--native")
            lines, _ = await run_our_client(args, a.peer)
            want = code if code else 1005
            name = "%s: we close %s reason=%s" % (peer_kind, code or "(no code)", reason)
            expect_close(name + " -> ours", lines, want, clean=True)
            r = await srv.result(path)
            ok = r is not None and r.get("code") == want and r.get("reason") == reason_text(reason)
            check(name + " -> peer", ok, repr(r))

    # The peer closes with each code.
    for code in APP_CODES + WIRE_CODES + [0]:
        for reason in (REASONS if code in APP_CODES else ["x"] if code else ["-"]):
            path = "/close/%d/%s/%d" % (code, reason or "-", uid())
            lines, _ = await run_our_client([base + path], a.peer)
            want = code if code else 1005
            name = "%s: peer closes %s reason=%s" % (peer_kind, code or "(no code)", reason)
            expect_close(name + " -> ours", lines, want, reason=reason_text(None if reason == "-" else reason), clean=True)
            r = await srv.result(path)
            check(name + " -> peer", r is not None and r.get("code") == want, repr(r))

    # Abnormal ends.
    path = "/drop/%d" % uid()
    lines, _ = await run_our_client([base + path], a.peer)
    expect_close("%s: peer drops TCP -> ours 1006 unclean" % peer_kind, lines, 1006, clean=False)

    for what, code in (("bad-utf8", 1007), ("bad-opcode", 1002)):
        path = "/%s/%d" % (what, uid())
        lines, _ = await run_our_client([base + path], a.peer)
        check("%s: peer sends %s -> ours error event" % (peer_kind, what), "error" in lines, repr(lines))
        expect_close("%s: peer sends %s -> ours unclean" % (peer_kind, what), lines, 1006, clean=False)
        r = await srv.result(path)
        check("%s: peer sends %s -> peer saw %d" % (peer_kind, what, code), r is not None and r.get("code") == code, repr(r))

    path = "/big/4096/%d" % uid()
    lines, _ = await run_our_client([base + path, "--max-message", "1024"], a.peer)
    check("%s: oversized message -> ours error" % peer_kind, "error" in lines, repr(lines))
    expect_close("%s: oversized message -> ours unclean" % peer_kind, lines, 1006, clean=False)
    r = await srv.result(path)
    check("%s: oversized message -> peer saw 1009" % peer_kind, r is not None and r.get("code") == 1009, repr(r))

    path = "/frag/%d" % uid()
    lines, _ = await run_our_client([base + path], a.peer)
    check("%s: fragmented message arrives whole" % peer_kind, "message text 15" in lines, repr(lines))
    expect_close("%s: fragmented then peer close" % peer_kind, lines, 1000, reason="frag-done", clean=True)

    path = "/ping/%d" % uid()
    lines, _ = await run_our_client([base + path], a.peer)
    expect_close("%s: peer ping answered by our pong" % peer_kind, lines, 1000, reason="pong-ok", clean=True)

    path = "/wait/%d" % uid()
    lines, _ = await run_our_client([base + path, "--protocol", "chat", "--close", "1000"], a.peer)
    check("%s: subprotocol chat negotiated" % peer_kind, any(ln.startswith("open proto=chat") for ln in lines), repr(lines))

    if peer_kind == "python":
        raw, port = await raw_noreply_server()
        t0 = time.time()
        lines, _ = await run_our_client(["ws://127.0.0.1:%d/" % port, "--close", "1000", "--close-timeout", "500"], a.peer)
        took = time.time() - t0
        expect_close("raw: peer never answers our close -> ours 1006 after the close timeout", lines, 1006, clean=False)
        check("raw: close timeout took %.2fs (0.5 s asked)" % took, 0.4 < took < 5, "%.2f" % took)
        raw.close()
        # Refused connection and a non-WebSocket answer: error + 1006, with our own detail.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
        s.close()
        lines, _ = await run_our_client(["ws://127.0.0.1:%d/" % free], a.peer)
        c = expect_close("refused: ours error + 1006", lines, 1006, clean=False)
        check("refused: diag err is WS_ERR_CONNECT", c is not None and c["err"] == "WS_ERR_CONNECT", repr(c))
    await srv.stop()


# ---------------------------------------------------------------------------------------------
# Peer clients against our server
# ---------------------------------------------------------------------------------------------
class OurServer:
    def __init__(self, peer_bin, args):
        self.args = args
        self.peer_bin = peer_bin
        self.closes = {}
        self.lines = []
        self.conns = set()

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(self.peer_bin, "server", *self.args, stdout=subprocess.PIPE,
                                                         stderr=subprocess.PIPE)
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 10)).decode()
        assert line.startswith("listening"), line
        self.port = int(line.split()[1])
        self.reader = asyncio.ensure_future(self.read())

    async def read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            ln = line.decode(errors="replace").rstrip("\n")
            self.lines.append(ln)
            if ln.startswith("conn path="):
                self.conns.add(ln[len("conn path="):])
            c = parse_close([ln])
            if c:
                self.closes.setdefault(c["path"], []).append(c)

    async def opened(self, path, wait=10.0):
        t0 = time.time()
        while path not in self.conns and time.time() - t0 < wait:
            await asyncio.sleep(0.02)
        return path in self.conns

    async def close_of(self, path, wait=5.0, count=1):
        t0 = time.time()
        while len(self.closes.get(path, [])) < count and time.time() - t0 < wait:
            await asyncio.sleep(0.02)
        got = self.closes.get(path, [])
        return got[count - 1] if len(got) >= count else None

    async def stop(self):
        self.reader.cancel()
        if self.proc.returncode is None:
            self.proc.kill()
        err = await self.proc.stderr.read()
        await self.proc.wait()
        return self.proc.returncode, err.decode(errors="replace")


async def py_client(url, action, **kw):
    out = {"events": []}
    ws = None
    try:
        async with websockets.connect(url, max_size=None, ping_interval=None, close_timeout=3,
                                      subprotocols=action.get("protocols"), **kw) as conn:
            ws = conn
            out["events"].append("open")
            op = action["op"]
            if op == "echo":
                for i, n in enumerate(action["sizes"]):
                    t = pattern(n, i * 2).decode()
                    await ws.send(t)
                    if await ws.recv() != t:
                        out["echo"] = "bad text %d" % n
                        break
                    b = pattern(n, i * 2 + 1)
                    await ws.send(b)
                    if await ws.recv() != b:
                        out["echo"] = "bad binary %d" % n
                        break
                else:
                    out["echo"] = "ok"
                await ws.close(1000)
            elif op == "close":
                if action["code"] == 0:
                    ws.transport.write(b"\x88\x80\x00\x00\x00\x00")  # masked, empty close frame
                    await ws.wait_closed()
                else:
                    await ws.close(action["code"], action.get("reason") or "")
            elif op == "drop":
                ws.transport.abort()
            elif op == "wait":
                await ws.wait_closed()
            elif op == "big":
                await ws.send(pattern(action["n"], 0))
                await ws.wait_closed()
            elif op == "frag":
                await ws.send(["part1", "part2", "part3"])
                out["message"] = await ws.recv()
                await ws.close(1000, "frag-ok")
            elif op == "ping":
                waiter = await ws.ping(b"hi")
                await asyncio.wait_for(waiter, 5)
                out["pong"] = True
                await ws.close(1000, "pong-ok")
            elif op in ("raw-utf8", "raw-opcode"):
                # Masked frames (RFC 6455 5.3) with a zero key, so the payload is as written.
                frame = b"\x81\x82\x00\x00\x00\x00\xc3\x28" if op == "raw-utf8" else b"\x83\x80\x00\x00\x00\x00"
                ws.transport.write(frame)
                await ws.wait_closed()
    except websockets.InvalidStatusCode as e:
        out["status"] = e.status_code
        return out
    except websockets.ConnectionClosed:
        pass
    except Exception as e:  # noqa: BLE001
        out["exception"] = repr(e)
    if ws is not None:
        out["code"] = ws.close_code
        out["reason"] = ws.close_reason
    return out


async def node_client(kind, url, action, env):
    proc = await asyncio.create_subprocess_exec("node", os.path.join(HERE, "node_peer.js"), kind, url, json.dumps(action),
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    except asyncio.TimeoutError:
        proc.kill()
        return {"exception": "node timeout"}
    try:
        return json.loads(out.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"exception": "node output: %r %r" % (out[-500:], err[-500:])}


async def raw_noreply_client(port, path):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % path).encode())
    await w.drain()
    try:
        while await asyncio.wait_for(r.read(65536), 10):
            pass
    except (asyncio.TimeoutError, ConnectionError):
        pass
    w.close()


async def node_batch(kind, runs, env):
    """Runs [(url, action)] in one Node process; returns the results in order."""
    proc = await asyncio.create_subprocess_exec("node", os.path.join(HERE, "node_peer.js"), "batch", kind,
                                                json.dumps(runs), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 110)
    except asyncio.TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
    res = []
    for ln in out.decode().splitlines():
        try:
            res.append(json.loads(ln))
        except ValueError:
            pass
    while len(res) < len(runs):
        res.append({"exception": "node batch ended early: %r" % err[-300:]})
    return res


async def group_server(kind, a):
    env = node_env(a)
    node_kind = "client-ws" if kind == "node-ws" else "client-undici"

    async def client(url, action, **kw):
        if kind == "python":
            return await py_client(url, action, **kw)
        return await node_client(node_kind, url, action, env)

    clean_known = kind == "undici"  # only the browser-shaped client exposes wasClean
    srv = OurServer(a.peer, ["--origin", "http://good.example"])
    await srv.start()
    base = "ws://127.0.0.1:%d" % srv.port
    n = 0

    def uid():
        nonlocal n
        n += 1
        return n

    # Scenarios on the main server: (name, path, action, check(peer_result, our_close) -> (ok, ok)).
    scen = []
    sizes = SIZES_QUICK if a.quick else SIZES_FULL
    scen.append(("echo %d sizes text+binary, peer closes 1000" % len(sizes), "/echo/%d" % uid(),
                 {"op": "echo", "sizes": sizes},
                 lambda r, c: (r.get("echo") == "ok", c and c["code"] == 1000 and c["clean"])))
    # Our server closes with each code (the server API may send every code valid on the wire).
    for code in APP_CODES + WIRE_CODES + [0]:
        for reason in (REASONS if code in APP_CODES else ["x"] if code else ["-"]):
            want = code if code else 1005
            rt = reason_text(None if reason == "-" else reason)
            scen.append(("we close %s reason=%s" % (code or "(no code)", reason),
                         "/close/%d/%s/%d" % (code, reason or "-", uid()), {"op": "wait"},
                         lambda r, c, want=want, rt=rt: (
                             r.get("code") == want and r.get("reason") == rt and (not clean_known or r.get("clean") is True),
                             c is not None and c["code"] == want and c["clean"])))
    # The peer closes with each code it may send (undici: only what WHATWG close() allows).
    for code in APP_CODES + ([] if kind == "undici" else WIRE_CODES) + [0]:
        for reason in (REASONS if code in APP_CODES else ["x"] if code else [None]):
            want = code if code else 1005
            act = {"op": "close", "code": code}
            if reason:
                act["reason"] = reason_text(reason)
            rl = len(reason_text(reason))
            scen.append(("peer closes %s reason=%s" % (code or "(no code)", reason), "/wait/%d" % uid(), act,
                         lambda r, c, want=want, rl=rl: (
                             r.get("code") == want and (not clean_known or r.get("clean") is True),
                             c is not None and c["code"] == want and c["clean"] and c["reason_len"] == rl)))
    if kind != "undici":  # a browser-shaped client cannot drop TCP
        scen.append(("peer drops TCP -> ours 1006 unclean", "/wait/%d" % uid(), {"op": "drop"},
                     lambda r, c: (True, c is not None and c["code"] == 1006 and not c["clean"])))
        scen.append(("our pong answers the peer's ping", "/echo/%d" % uid(), {"op": "ping"},
                     lambda r, c: (r.get("pong") is True and r.get("code") == 1000, c is not None and c["clean"])))
    scen.append(("handler failure -> 1011", "/fail/%d" % uid(), {"op": "wait"},
                 lambda r, c: (r.get("code") == 1011 and (not clean_known or r.get("clean") is True),
                               c is not None and c["code"] == 1011)))
    scen.append(("fragmented message echoed whole", "/echo/%d" % uid(), {"op": "frag"},
                 lambda r, c: (r.get("message") == "part1part2part3", c is not None and c["clean"])))
    scen.append(("no subprotocol in common -> none chosen", "/wait/%d" % uid(),
                 {"op": "close", "code": 1000, "protocols": ["x", "chat"]},
                 lambda r, c: (r.get("code") == 1006 and "open" not in r.get("events", []) if kind != "python"
                               else r.get("code") == 1000, True)))

    if kind == "python":
        peer_results = [await py_client(base + path, act) for _, path, act, _ in scen]
    else:
        peer_results = await node_batch(node_kind, [[base + path, act] for _, path, act, _ in scen], env)
    for (name, path, act, fn), r in zip(scen, peer_results):
        c = await srv.close_of(path, wait=3.0)
        ok_peer, ok_ours = fn(r, c)
        check("%s: %s -> peer" % (kind, name), ok_peer, repr(r)[:300])
        check("%s: %s -> ours" % (kind, name), ok_ours, repr(c))

    if kind == "python":
        path = "/wait/%d" % uid()
        r = await py_client(base + path, {"op": "wait"}, origin="http://evil.example")
        check("python: Origin not allowed -> HTTP 403", r.get("status") == 403, repr(r))
        for op, code in (("raw-utf8", 1007), ("raw-opcode", 1002)):
            path = "/wait/%d" % uid()
            r = await py_client(base + path, {"op": op})
            check("python: %s -> peer saw %d" % (op, code), r.get("code") == code, repr(r))
            c = await srv.close_of(path)
            check("python: %s -> ours error+1006 unclean" % op, c and not c["clean"] and c["code"] == 1006, repr(c))
        # Plain HTTP on the WebSocket port.
        rd, wr = await asyncio.open_connection("127.0.0.1", srv.port)
        wr.write(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
        data = await asyncio.wait_for(rd.read(4096), 5)
        check("python: plain HTTP GET -> 426", data.startswith(b"HTTP/1.1 426"), repr(data[:80]))
        wr.close()
    rc, err = await srv.stop()
    check("%s: our server exited without sanitizer reports" % kind, "ERROR: AddressSanitizer" not in err and
          "runtime error" not in err, err[-2000:])

    # Separate servers for the limits and shutdowns.
    small = OurServer(a.peer, ["--max-message", "1000", "--close-timeout", "500"])
    await small.start()
    sb = "ws://127.0.0.1:%d" % small.port
    path = "/echo/%d" % uid()
    r = await client(sb + path, {"op": "big", "n": 2000})
    check("%s: oversized message -> peer 1009" % kind, r.get("code") == 1009, repr(r))
    c = await small.close_of(path)
    check("%s: oversized message -> ours 1006 unclean" % kind, c and not c["clean"] and c["code"] == 1006, repr(c))
    if kind == "python":
        path = "/close/1000/-/%d" % uid()
        t0 = time.time()
        await asyncio.wait_for(raw_noreply_client(small.port, path), 15)
        c = await small.close_of(path)
        check("raw: client never answers our close -> ours 1006 unclean after %.2fs" % (time.time() - t0),
              c and c["code"] == 1006 and not c["clean"], repr(c))
    await small.stop()

    over = OurServer(a.peer, ["--max-conn", "1"])
    await over.start()
    ob = "ws://127.0.0.1:%d" % over.port
    first = asyncio.ensure_future(client(ob + "/wait/a", {"op": "wait"}))
    await over.opened("/wait/a")
    r = await client(ob + "/wait/b", {"op": "wait"})
    check("%s: over max connections -> peer 1013" % kind, r.get("code") == 1013, repr(r))
    await over.stop()
    first.cancel()

    for code in (1001, 1012):
        sd = OurServer(a.peer, ["--shutdown-after", "300", "--shutdown-code", str(code)])
        await sd.start()
        path = "/wait/%d" % uid()
        r = await client("ws://127.0.0.1:%d%s" % (sd.port, path), {"op": "wait"})
        ok = r.get("code") == code and (not clean_known or r.get("clean") is True)
        check("%s: server shutdown %d -> peer" % (kind, code), ok, repr(r))
        c = await sd.close_of(path)
        check("%s: server shutdown %d -> ours clean" % (kind, code), c and c["code"] == code and c["clean"], repr(c))
        await sd.stop()


# ---------------------------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------------------------
def make_ca(d):
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True, timeout=30)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=wsclean test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem",
        "-days", "2", "-extfile", "ext.cnf")
    # A second CA that signed nothing: verifying against it must fail.
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.pem", "-days", "2",
        "-subj", "/CN=unrelated CA")


async def group_tls(a):
    import ssl
    d = tempfile.mkdtemp(prefix="wsclean-tls-")
    try:
        make_ca(d)
        ca, cert, key = (os.path.join(d, f) for f in ("ca.pem", "srv.pem", "srv.key"))
        sizes = [0, 1, 126, 65536, 1 << 20]
        # Our client -> Python websockets wss server.
        sctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        sctx.load_cert_chain(cert, key)

        async def echo(ws, path=None):
            if (path or ws.path).startswith("/burst"):
                # Many small TLS records in flight: our 64 KiB reads end inside a record, so the
                # rest waits decrypted in OpenSSL (SSL_pending) and must be read next turn.
                for i in range(300):
                    await ws.send(pattern(1000 + i % 7, i))
                await ws.close(1000, "burst-done")
                return
            async for m in ws:
                await ws.send(m)
        server = await websockets.serve(echo, "127.0.0.1", 0, ssl=sctx, max_size=None)
        port = server.sockets[0].getsockname()[1]
        for host in ("localhost", "127.0.0.1"):
            lines, _ = await run_our_client(["wss://%s:%d/" % (host, port), "--ca", ca, "--echo", ",".join(map(str, sizes))], a.peer)
            check("tls: our client -> python wss://%s echo" % host, "echo-ok %d" % len(sizes) in lines, repr(lines[-3:]))
            expect_close("tls: our client -> python wss://%s close" % host, lines, 1000, clean=True)
        lines, _ = await run_our_client(["wss://localhost:%d/burst" % port, "--ca", ca], a.peer)
        got = sum(1 for ln in lines if ln.startswith("message binary"))
        check("tls: 300 small messages in a burst all arrive (decrypted-but-unread input)", got == 300, "%d" % got)
        expect_close("tls: burst then python closes", lines, 1000, reason="burst-done", clean=True)
        lines, _ = await run_our_client(["wss://localhost:%d/" % port, "--ca", os.path.join(d, "other.pem")], a.peer)
        c = expect_close("tls: unknown CA -> ours 1015 (browsers show 1006)", lines, 1015, clean=False)
        check("tls: unknown CA -> error event first", "error" in lines and lines.index("error") < len(lines) - 1, repr(lines))
        check("tls: unknown CA -> OpenSSL's text in diag.detail", c is not None and "certificate verify failed" in c["line"], c and c["line"])
        lines, _ = await run_our_client(["ws://127.0.0.1:%d/" % port], a.peer)
        expect_close("tls: plain ws:// to a TLS port -> 1006", lines, 1006, clean=False)
        server.close()
        await server.wait_closed()

        # Python and Node clients -> our wss server.
        srv = OurServer(a.peer, ["--tls", cert, key])
        await srv.start()
        cctx = ssl.create_default_context(cafile=ca)
        r = await py_client("wss://localhost:%d/echo/1" % srv.port, {"op": "echo", "sizes": sizes}, ssl=cctx)
        check("tls: python client -> our wss server echo", r.get("echo") == "ok" and r.get("code") == 1000, repr(r)[:300])
        c = await srv.close_of("/echo/1")
        check("tls: python client -> our wss server, ours clean 1000", c and c["code"] == 1000 and c["clean"], repr(c))
        env = node_env(a)
        env["NODE_EXTRA_CA_CERTS"] = ca
        have_node = a.node_modules and os.path.isdir(os.path.join(a.node_modules, "ws"))
        for kind in ("client-ws", "client-undici") if have_node else ():
            r = await node_client(kind, "wss://localhost:%d/echo/%s" % (srv.port, kind), {"op": "echo", "sizes": sizes}, env)
            check("tls: node %s -> our wss server echo" % kind, r.get("echo") == "ok" and r.get("code") == 1000, repr(r)[:300])
            if kind == "client-undici":
                check("tls: undici wasClean true", r.get("clean") is True, repr(r)[:300])
        # A client that does not trust our certificate: our side must not crash, and forgets it.
        bad = ssl.create_default_context(cafile=os.path.join(d, "other.pem"))
        r = await py_client("wss://localhost:%d/echo/2" % srv.port, {"op": "wait"}, ssl=bad)
        check("tls: client rejecting our certificate fails on its side", "exception" in r, repr(r)[:200])
        rc, err = await srv.stop()
        check("tls: our server exited without sanitizer reports", "AddressSanitizer" not in err and "runtime error" not in err, err[-1500:])
    finally:
        shutil.rmtree(d, ignore_errors=True)


async def group_examples(a):
    """examples/echo_server and examples/client against each other, and libuv_embed (the
    sans-I/O core inside libuv) against Python websockets."""
    d = a.examples
    srv = await asyncio.create_subprocess_exec(os.path.join(d, "echo_server"), "0", stdout=subprocess.PIPE)
    try:
        await examples_echo(d, srv)
    finally:
        if srv.returncode is None:
            srv.kill()
        await srv.wait()
    uvbin = os.path.join(d, "libuv_embed")
    if not os.path.exists(uvbin):
        print("SKIP libuv_embed (libuv not found at build time)")
        return
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    uv = await asyncio.create_subprocess_exec(uvbin, str(port), stdout=subprocess.PIPE)
    try:
        await examples_uv(port, uv)
    finally:
        if uv.returncode is None:
            uv.kill()
        await uv.wait()


async def examples_echo(d, srv):
    line = (await asyncio.wait_for(srv.stdout.readline(), 10)).decode()
    port = int(re.search(r":(\d+)/", line).group(1))
    cli = await asyncio.create_subprocess_exec(os.path.join(d, "client"), "ws://127.0.0.1:%d/echo" % port, "hello there",
                                               stdout=subprocess.PIPE)
    out, _ = await asyncio.wait_for(cli.communicate(), 10)
    text = out.decode()
    check("examples: client <-> echo_server message", "message: hello there" in text, text)
    check("examples: client sees close 1000 clean", 'close: code 1000 reason "done" wasClean true' in text, text)
    r = await py_client("ws://127.0.0.1:%d/echo" % port, {"op": "echo", "sizes": [0, 5, 70000]})
    check("examples: python client <-> echo_server", r.get("echo") == "ok" and r.get("code") == 1000, repr(r))


async def examples_uv(port, uv):
    await asyncio.wait_for(uv.stdout.readline(), 10)
    r = await py_client("ws://127.0.0.1:%d/" % port, {"op": "echo", "sizes": [0, 5, 126, 70000, 1 << 20]})
    check("examples: python client <-> libuv_embed echo", r.get("echo") == "ok" and r.get("code") == 1000, repr(r))
    for code in (1000, 4000, 1001):
        r = await py_client("ws://127.0.0.1:%d/" % port, {"op": "close", "code": code, "reason": "r"})
        check("examples: libuv_embed echoes close %d" % code, r.get("code") == code, repr(r))


def node_env(a):
    env = dict(os.environ)
    if a.node_modules:
        env["NODE_PATH"] = a.node_modules
    return env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("group")
    ap.add_argument("--peer", required=True)
    ap.add_argument("--node-modules")
    ap.add_argument("--quick", action="store_true", help="echo up to 1 MiB (for the ASan runs)")
    ap.add_argument("--examples", help="directory of the built examples (group examples)")
    a = ap.parse_args()
    if a.group.startswith("client-") or a.group.startswith("server-") or a.group == "tls":
        if ("node" in a.group or "undici" in a.group) and \
                not (a.node_modules and os.path.isdir(os.path.join(a.node_modules, "ws"))):
            print("SKIP: tests/peers/node_modules missing (run scripts/install-deps.sh)")
            return 77
    t0 = time.time()
    if a.group == "client-python":
        asyncio.run(group_client("python", a))
    elif a.group == "client-node-ws":
        asyncio.run(group_client("node-ws", a))
    elif a.group == "server-python":
        asyncio.run(group_server("python", a))
    elif a.group == "server-node-ws":
        asyncio.run(group_server("node-ws", a))
    elif a.group == "server-undici":
        asyncio.run(group_server("undici", a))
    elif a.group == "tls":
        asyncio.run(group_tls(a))
    elif a.group == "examples":
        asyncio.run(group_examples(a))
    else:
        print("unknown group", a.group)
        return 2
    failed = [r for r in results if not r[1]]
    print("%s: %d passed, %d failed in %.1f s" % (a.group, len(results) - len(failed), len(failed), time.time() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
