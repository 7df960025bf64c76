#!/usr/bin/python3
"""wsclean's conformance harness: an Autobahn-style fuzzing client and fuzzing server.

    harness.py client --url ws://127.0.0.1:9001/ [--cases 1.*,7.9.*] [--json out.json]
        connects to an echo server under test, once per case;
    harness.py server --client-cmd "node peers/ws_echo_client.js {url}" [...]
        listens on 127.0.0.1, starts the echo client under test once per case with {url}
        = ws://127.0.0.1:PORT/case/<id>, and plays the server side of the case;
    harness.py list
        prints the cases.

Python 3 standard library only, its own framing (wsraw.py), no WebSocket library. The cases
(cases.py) are written from RFC 6455 and the published descriptions of the Autobahn|Testsuite
sections; every verdict has Autobahn's meaning:
    OK             the peer did what the RFC says, in the strict reading;
    NON-STRICT     acceptable by the RFC but not the strict behaviour (failed with the wrong
                   code, dropped TCP without a close frame, failed late instead of fast ...);
    INFORMATIONAL  behaviour the RFC leaves open; recorded, never judged;
    FAILED         the peer broke a MUST (echoed what it must reject, never closed, sent a
                   bad frame, kept TCP open ...).
Exit status: 0 when no case FAILED (with --strict: and none was NON-STRICT), 1 otherwise,
2 when the harness could not run at all.
"""

import argparse
import fnmatch
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pmd  # noqa: E402
import wsraw  # noqa: E402
from wsraw import (OP_BINARY, OP_CLOSE, OP_CONT, OP_NAMES, OP_PING, OP_PONG,  # noqa: E402
                   OP_TEXT, Timeout, now)

OK, NON_STRICT, INFORMATIONAL, FAILED = "OK", "NON-STRICT", "INFORMATIONAL", "FAILED"
VERDICTS = (OK, NON_STRICT, INFORMATIONAL, FAILED)
_SEVERITY = {OK: 0, NON_STRICT: 1, FAILED: 2}

# Close codes a peer may put on the wire (RFC 6455 7.4.1, 7.4.2 and the IANA registry):
# 1000-1003, 1007-1014 and 3000-4999. 1004-1006 and 1015 are reserved or local-only.
def code_on_wire_ok(code):
    return (1000 <= code <= 1003) or (1007 <= code <= 1014) or (3000 <= code <= 4999)


class CaseOver(Exception):
    """Stops a case early; the verdict is already recorded in the context."""


def summarize(payload, limit=24):
    p = bytes(payload)
    s = {"len": len(p)}
    if p:
        s["head"] = p[:limit].hex()
    return s


class Ctx:
    """One case on one connection: sends, reads, and accumulates the verdict.

    role "client": the harness is the WebSocket client (masks its frames, expects unmasked
    frames, expects the server to close TCP first). role "server": the reverse.
    """

    def __init__(self, conn, role, timeout, close_wait, fast_wait):
        self.conn = conn
        self.role = role
        self.t0 = now()
        self.deadline = self.t0 + timeout
        self.close_wait = close_wait
        self.fast_wait = fast_wait
        self.level = 0
        self.notes = []
        self.trace = []
        self.pending = []
        self.timings = {}
        self.msg_op = None
        self.msg_parts = []
        self.msg_frames = 0
        self.peer_close = None      # the close event the peer sent
        self.sent_close = False
        self.tcp_closed_by = None   # "peer" or "harness"
        self.last_send_at = self.t0
        self.informational = {}
        # permessage-deflate (RFC 7692), set by run_case when the handshake negotiated it.
        self.pmd = None             # pmd.Params
        self.codec = None           # pmd.Codec
        self.msg_compressed = False
        self.unjudged = False       # a case may turn its verdict into INFORMATIONAL

    def limit(self):
        return wsraw.MAX_INBOUND

    # -- verdict -------------------------------------------------------------------------
    def degrade(self, verdict, note):
        self.notes.append("%s: %s" % (verdict, note))
        self.level = max(self.level, _SEVERITY[verdict])

    def fail(self, note):
        """FAILED and stop the case."""
        self.degrade(FAILED, note)
        raise CaseOver()

    def info(self, key, value):
        self.informational[key] = value

    def ms(self, t=None):
        return round(((now() if t is None else t) - self.t0) * 1000.0, 1)

    def _trace(self, kind, **kw):
        if len(self.trace) < 60:
            ev = {"t_ms": self.ms(), "ev": kind}
            ev.update(kw)
            self.trace.append(ev)

    # -- sending -------------------------------------------------------------------------
    def frame(self, opcode, payload=b"", fin=True, rsv=0):
        key = os.urandom(4) if self.role == "client" else None
        return wsraw.encode_frame(opcode, payload, fin=fin, rsv=rsv, mask_key=key)

    def send(self, data, chop=None, delay=0.0, what="bytes"):
        """Send raw bytes, optionally in chops of `chop` bytes with `delay` s between them.

        Returns False when the peer is gone (which a fail case may expect)."""
        data = bytes(data)
        self._trace("send", what=what, len=len(data), chop=chop)
        try:
            if not chop:
                ok = self.conn.send(data, self.deadline)
            else:
                ok = True
                for i in range(0, len(data), chop):
                    if i and delay:
                        self.sleep(delay)
                    if not self.conn.send(data[i:i + chop], self.deadline):
                        ok = False
                        break
        except Timeout:
            self.fail("timeout while sending %s (the peer stopped reading)" % what)
        self.last_send_at = now()
        if not ok:
            self._trace("send-error", error=str(self.conn.write_error))
        return ok

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, chop=None, delay=0.0):
        what = "%s%s%s len=%d" % (OP_NAMES.get(opcode, "op%d" % opcode), "" if fin else " fin=0",
                                  " rsv=%d" % rsv if rsv else "", len(payload))
        return self.send(self.frame(opcode, payload, fin, rsv), chop, delay, what)

    def send_message(self, opcode, payload, compress=True):
        """One data message in one frame; compressed with RSV1 set when permessage-deflate
        was negotiated and `compress` (RFC 7692 6.1: RSV1 on the first frame only)."""
        if self.codec is not None and compress:
            return self.frame(opcode, self.codec.compress(payload), True, 4)
        return self.frame(opcode, payload)

    def send_close(self, payload=b"", code=None, reason=b""):
        if code is not None:
            payload = code.to_bytes(2, "big") + reason
        self.sent_close = True
        return self.send_frame(OP_CLOSE, payload)

    def sleep(self, seconds):
        """Wait while reading, so that what the peer sends meanwhile gets its time stamp."""
        end = min(now() + seconds, self.deadline)
        while now() < end:
            if not self.conn.wait_readable(end):
                break
            self._parse_into_pending()
            if self.conn.eof:
                time.sleep(max(0.0, min(0.01, end - now())))

    # -- receiving -----------------------------------------------------------------------
    def _parse_into_pending(self):
        while True:
            try:
                r = wsraw.parse_frame(self.conn.inbuf)
            except ValueError as e:
                self.fail("peer sent an unparseable frame: %s" % e)
            if r is None:
                return
            f, used = r
            del self.conn.inbuf[:used]
            ev = self._on_frame(f)
            if ev is not None:
                self.pending.append(ev)

    def _on_frame(self, f):
        """Check one frame from the peer against RFC 6455 and turn it into an event."""
        name = OP_NAMES.get(f.opcode, "op%d" % f.opcode)
        self._trace("recv", op=name, fin=f.fin, rsv=f.rsv, **summarize(f.payload))
        # RFC 6455 5.1/5.3: a client masks every frame, a server masks none.
        if self.role == "client" and f.masked:
            self.fail("server sent a masked frame (RFC 6455 5.1)")
        if self.role == "server" and not f.masked:
            self.fail("client sent an unmasked frame (RFC 6455 5.1, 5.3)")
        if f.rsv:
            # RFC 7692 6.1: with permessage-deflate, RSV1 (rsv=4) marks the first frame of a
            # compressed data message; on a control or continuation frame it is an error.
            if self.codec is None:
                self.fail("peer set RSV bits %d without an extension (RFC 6455 5.2)" % f.rsv)
            if f.rsv != 4 or f.opcode not in (OP_TEXT, OP_BINARY):
                self.fail("peer set RSV bits %d on a %s frame with permessage-deflate "
                          "(RFC 7692 6.1: RSV1 only on the first frame of a data message)"
                          % (f.rsv, name))
        if f.opcode not in OP_NAMES:
            self.fail("peer sent reserved opcode %d (RFC 6455 5.2)" % f.opcode)
        if self.peer_close is not None:
            if f.opcode in (OP_TEXT, OP_BINARY, OP_CONT):
                self.fail("peer sent a data frame after its close frame (RFC 6455 5.5.1)")
            self.degrade(NON_STRICT, "peer sent a %s frame after its close frame" % name)
            return None
        t = f.at
        if f.opcode >= 8:
            # RFC 6455 5.5: control frames are at most 125 bytes and never fragmented.
            if not f.fin or len(f.payload) > 125:
                self.fail("peer sent a fragmented or oversized control frame (RFC 6455 5.5)")
            if f.opcode == OP_PING:
                # Answer as any endpoint must (RFC 6455 5.5.2), unless we already sent close.
                if not self.sent_close:
                    self.send(self.frame(OP_PONG, f.payload), what="pong")
                return {"type": "ping", "payload": f.payload, "at": t}
            if f.opcode == OP_PONG:
                return {"type": "pong", "payload": f.payload, "at": t}
            return self._close_event(f.payload, t)
        if f.opcode == OP_CONT:
            if self.msg_op is None:
                self.fail("peer sent a continuation frame with no message to continue (5.4)")
        else:
            if self.msg_op is not None:
                self.fail("peer started a new message inside a fragmented one (RFC 6455 5.4)")
            self.msg_op = f.opcode
            self.msg_parts = []
            self.msg_frames = 0
            self.msg_compressed = bool(f.rsv & 4)
        self.msg_parts.append(f.payload)
        self.msg_frames += 1
        if not f.fin:
            return None
        payload = b"".join(self.msg_parts)
        op, frames = self.msg_op, self.msg_frames
        self.msg_op, self.msg_parts = None, []
        compressed = self.msg_compressed
        if compressed:
            try:
                payload = self.codec.inflate(payload, self.limit())
            except (zlib.error, ValueError) as e:
                self.fail("compressed %s message of %d bytes does not inflate with the "
                          "negotiated parameters (%s): %s (RFC 7692 7.2.2, 8.1)" % (
                              OP_NAMES[op], len(payload), self.pmd.describe(), e))
        if op == OP_TEXT:
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                self.fail("peer sent a text message that is not UTF-8 (RFC 6455 5.6, 8.1)")
        return {"type": "message", "opcode": op, "payload": payload, "frames": frames, "at": t,
                "compressed": compressed}

    def _close_event(self, payload, t):
        ev = {"type": "close", "code": None, "reason": b"", "at": t, "raw": payload}
        if len(payload) == 1:
            self.fail("peer sent a close frame with a 1-byte body (RFC 6455 5.5.1)")
        if len(payload) >= 2:
            code = int.from_bytes(payload[:2], "big")
            ev["code"] = code
            ev["reason"] = payload[2:]
            if not code_on_wire_ok(code):
                self.fail("peer sent close code %d, which must not be on the wire (7.4)" % code)
            try:
                payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                self.fail("peer's close reason is not UTF-8 (RFC 6455 5.5.1)")
        self.peer_close = ev
        return ev

    def next_event(self, deadline=None):
        """The next message/ping/pong/close/eof event, or None at the deadline."""
        deadline = self.deadline if deadline is None else min(deadline, self.deadline)
        while True:
            if self.pending:
                return self.pending.pop(0)
            self._parse_into_pending()
            if self.pending:
                continue
            if self.conn.eof:
                if self.tcp_closed_by is None:
                    self.tcp_closed_by = "peer"
                    self._trace("eof", reset=self.conn.reset)
                return {"type": "eof", "at": self.conn.eof_at, "reset": self.conn.reset}
            if not self.conn.wait_readable(deadline):
                return None

    def push_back(self, ev):
        self.pending.insert(0, ev)

    @staticmethod
    def describe(ev):
        if ev is None:
            return "nothing (timeout)"
        if ev["type"] == "message":
            return "%s message of %d bytes" % (OP_NAMES[ev["opcode"]], len(ev["payload"]))
        if ev["type"] in ("ping", "pong"):
            return "%s with %d bytes" % (ev["type"], len(ev["payload"]))
        if ev["type"] == "close":
            return "close %s" % ev["code"]
        return "TCP close" + (" (reset)" if ev.get("reset") else "")

    # -- expectations --------------------------------------------------------------------
    def expect(self, expected, what="the echo"):
        """Receive exactly `expected` in order: ("message", opcode, payload) / ("pong", payload).

        Pings from the peer are answered and skipped. Anything else fails the case."""
        got = []
        for exp in expected:
            while True:
                ev = self.next_event()
                if ev is not None and ev["type"] == "ping":
                    continue
                break
            if ev is None:
                self.fail("timeout waiting for %s (%d of %d received)" % (what, len(got),
                                                                           len(expected)))
            if ev["type"] in ("close", "eof"):
                self.push_back(ev)
                self.fail("peer sent %s while %s was expected" % (self.describe(ev), what))
            if exp[0] == "message":
                if ev["type"] != "message" or ev["opcode"] != exp[1] or ev["payload"] != exp[2]:
                    self.fail("expected a %s echo of %d bytes, got %s%s" % (
                        OP_NAMES[exp[1]], len(exp[2]), self.describe(ev),
                        " with different bytes" if ev["type"] == "message" else ""))
            else:
                if ev["type"] != "pong" or ev["payload"] != exp[1]:
                    self.fail("expected a pong with %d bytes, got %s" % (len(exp[1]),
                                                                         self.describe(ev)))
            got.append(ev)
        return got

    def expect_before_fail(self, expected, what):
        """Like expect(), for answers to valid data sent just before a violation. A peer that
        fails the connection before answering is NON-STRICT (Autobahn 3.2, 4.1.2, 5.15): the
        RFC only asks that nothing after the violation be processed."""
        try:
            self.expect(expected, what)
        except CaseOver:
            ev = self.pending[0] if self.pending else None
            if ev is None or ev["type"] not in ("close", "eof"):
                raise
            self.notes.pop()
            self.level = max([_SEVERITY[n.split(":")[0]] for n in self.notes] + [0])
            self.degrade(NON_STRICT, "failed the connection (%s) before sending %s"
                         % (self.describe(ev), what))

    def expect_quiet(self, seconds):
        """Nothing may arrive for `seconds` (used after unsolicited pongs and the like)."""
        end = now() + seconds
        ev = self.next_event(end)
        if ev is not None:
            if ev["type"] in ("close", "eof"):
                self.push_back(ev)
                return
            self.fail("peer sent %s where nothing was expected" % self.describe(ev))

    def wait_close_within(self, seconds):
        """True if the peer's close frame (or TCP close) arrives within `seconds`.

        Whatever arrives stays queued for the next expectation."""
        end = now() + seconds
        while True:
            self._parse_into_pending()
            if self.conn.eof or any(e["type"] == "close" for e in self.pending):
                return True
            if now() >= end or not self.conn.wait_readable(end):
                return False

    def close(self, code=1000, reason=b"", payload=None, accept=None, nonstrict=(),
              data_after="fail"):
        """We start the closing handshake; the peer must answer with a close frame.

        accept: close codes in the answer that are OK (default: our code, or none if we sent
        none). The answer may also carry no code when we sent none (RFC 6455 5.5.1)."""
        if payload is None:
            payload = b"" if code is None else code.to_bytes(2, "big") + reason
        if accept is None:
            accept = (None, 1000) if code is None else (code,)
        self.send_close(payload)  # if this fails, the answer may still be readable
        self.await_close_answer(accept, nonstrict, data_after)

    def await_close_answer(self, accept=(1000,), nonstrict=(), data_after="fail"):
        """The peer's close frame in answer to the one we sent, then the TCP close."""
        t_close = self.last_send_at
        while True:
            ev = self.next_event()
            if ev is None:
                self.fail("no close frame in answer to ours within the case timeout")
            if ev["type"] == "ping":
                continue
            if ev["type"] in ("message", "pong"):
                if data_after == "fail":
                    self.fail("unexpected %s before the close answer" % self.describe(ev))
                self.info("received_before_close_answer",
                          self.informational.get("received_before_close_answer", 0) + 1)
                continue
            break
        if ev["type"] == "eof":
            self.fail("peer closed TCP without answering our close frame (RFC 6455 5.5.1)")
        self.timings["close_answer_ms"] = round((ev["at"] - t_close) * 1000.0, 1)
        c = ev["code"]
        if c in accept:
            pass
        elif c in nonstrict:
            self.degrade(NON_STRICT, "close answer carried code %s, expected %s" % (
                c, "/".join(str(a) for a in accept if a is not None) or "none"))
        else:
            self.fail("close answer carried code %s, expected %s" % (
                c, "/".join(str(a) for a in accept if a is not None) or "none"))
        self.finish_tcp()

    def expect_fail(self, codes, allow_pongs=False, what="the violation"):
        """The peer must fail the connection: a close frame with one of `codes`, sent before
        (or instead of) answering anything sent after the violation (RFC 6455 7.1.7)."""
        while True:
            ev = self.next_event()
            if ev is None:
                self.fail("peer did not fail the connection after %s" % what)
            if ev["type"] == "ping":
                continue
            if ev["type"] == "pong" and allow_pongs:
                continue
            if ev["type"] in ("message", "pong"):
                self.fail("peer answered %s instead of failing the connection after %s" % (
                    self.describe(ev), what))
            break
        self.timings["fail_after_last_send_ms"] = round((ev["at"] - self.last_send_at) * 1000, 1)
        if ev["type"] == "eof":
            self.degrade(NON_STRICT, "peer dropped TCP without a close frame (RFC 6455 7.1.7: "
                                     "SHOULD send one with %s)" % "/".join(map(str, codes)))
            self.conn.close()
            if self.tcp_closed_by is None:
                self.tcp_closed_by = "peer"
            return
        if ev["code"] not in codes:
            self.degrade(NON_STRICT, "peer failed with close code %s, expected %s" % (
                ev["code"], "/".join(map(str, codes))))
        # Answer the close as RFC 6455 5.5.1 asks, echoing the code.
        if not self.sent_close:
            self.send_close(b"" if ev["code"] is None else ev["code"].to_bytes(2, "big"))
        self.finish_tcp()

    def finish_tcp(self):
        """After the closing handshake: a server closes TCP first (RFC 6455 5.5.1, 7.1.1)."""
        if self.role == "client":
            t = now()
            end = t + self.close_wait
            while not self.conn.eof:
                ev = self.next_event(end)
                if ev is None:
                    break
                if ev["type"] == "eof":
                    break
            if self.conn.eof:
                if self.tcp_closed_by is None:
                    self.tcp_closed_by = "peer"
                self.timings["tcp_close_ms"] = round((self.conn.eof_at - t) * 1000.0, 1)
            else:
                self.tcp_closed_by = "harness"
                self.degrade(FAILED, "server did not close TCP within %.1f s after the closing "
                                     "handshake (RFC 6455 5.5.1: it MUST close it at once)"
                             % self.close_wait)
            self.conn.close()
        else:
            if self.conn.eof and self.tcp_closed_by is None:
                self.tcp_closed_by = "peer"
            if self.tcp_closed_by is None:
                self.tcp_closed_by = "harness"
            self.conn.shutdown_write()
            end = now() + 1.0
            while not self.conn.eof and self.conn.wait_readable(end):
                self.conn.inbuf.clear()
            self.conn.close()


class Case:
    __slots__ = ("id", "desc", "fn", "timeout", "informational", "deflate")

    def __init__(self, cid, desc, fn, timeout=3.0, informational=False, deflate=None):
        self.id, self.desc, self.fn = cid, desc, fn
        self.timeout, self.informational = timeout, informational
        # permessage-deflate: {"offers": [[(param, value or None), ...], ...], "want": {...}}:
        # what the harness offers as a client, and what it asks for as a server.
        self.deflate = deflate

    @property
    def section(self):
        return self.id.split(".")[0]


def run_case(case, conn, role, opts, negotiated=None, ext_problem=None):
    ctx = Ctx(conn, role, case.timeout, opts.close_wait, opts.fast_wait)
    t0 = now()
    if negotiated is not None:
        ctx.pmd = negotiated
        ctx.codec = pmd.Codec(negotiated, role)
        ctx.info("deflate", negotiated.describe() or "permessage-deflate")
    elif case.deflate is not None:
        ctx.info("deflate", "declined")
    try:
        if ext_problem:
            ctx.fail(ext_problem)
        case.fn(ctx)
        # A case that returns without finishing must not leave a connection behind.
        if not conn.closed:
            ctx.degrade(FAILED, "harness bug: case %s ended without closing" % case.id)
    except CaseOver:
        pass
    except Exception as e:  # a harness bug must show, not hide as a peer failure
        ctx.degrade(FAILED, "harness exception %s: %s" % (type(e).__name__, e))
    finally:
        conn.close()
    verdict = [OK, NON_STRICT, FAILED][ctx.level]
    if (case.informational or ctx.unjudged) and verdict != FAILED:
        verdict = INFORMATIONAL
    pc = ctx.peer_close
    if verdict == OK and not opts.full_trace:
        ctx.trace = []  # keep the JSON small: traces only where there is something to read
    return {
        "id": case.id, "section": case.section, "desc": case.desc, "verdict": verdict,
        "notes": ctx.notes,
        "close_code": None if pc is None else pc["code"],
        "close_reason": None if pc is None else pc["reason"].decode("utf-8", "replace"),
        "peer_sent_close": pc is not None,
        "tcp_closed_by": ctx.tcp_closed_by,
        "duration_ms": round((now() - t0) * 1000.0, 1),
        "timings": ctx.timings, "info": ctx.informational, "trace": ctx.trace,
    }


def select_cases(all_cases, patterns):
    if not patterns:
        return list(all_cases)
    pats = [p.strip() for p in patterns.split(",") if p.strip()]
    out = []
    for c in all_cases:
        for p in pats:
            if fnmatch.fnmatchcase(c.id, p) or c.id == p or c.id.startswith(p + "."):
                out.append(c)
                break
    return out


def failed_setup(case, note, t0):
    return {"id": case.id, "section": case.section, "desc": case.desc, "verdict": FAILED,
            "notes": ["FAILED: " + note], "close_code": None, "close_reason": None,
            "peer_sent_close": False, "tcp_closed_by": None,
            "duration_ms": round((now() - t0) * 1000.0, 1), "timings": {}, "info": {},
            "trace": []}


def run_client_mode(cases, opts):
    u = urllib.parse.urlsplit(opts.url)
    if u.scheme != "ws":
        raise SystemExit("harness: only ws:// URLs (got %r)" % opts.url)
    host, port = u.hostname, u.port or 80
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    host_header = u.netloc
    results = []
    for case in cases:
        t0 = now()
        try:
            sock = socket.create_connection((host, port), timeout=opts.connect_timeout)
        except OSError as e:
            results.append(failed_setup(case, "cannot connect: %s" % e, t0))
            report_progress(opts, results[-1])
            continue
        conn = wsraw.Conn(sock)
        offers = case.deflate["offers"] if case.deflate else []
        extra = ["Sec-WebSocket-Extensions: " + ", ".join(pmd.format_offer(o) for o in offers)] \
            if offers else []
        try:
            headers = wsraw.client_handshake(conn, host_header, path,
                                             now() + opts.connect_timeout, extra)
        except (Timeout, ConnectionError, ValueError) as e:
            conn.close()
            results.append(failed_setup(case, "opening handshake: %s" % (e or "timeout"), t0))
            if case.deflate and case.deflate.get("may_refuse"):
                # A server may refuse any handshake (RFC 6455 4.2.2); for the rarely supported
                # parameters (window bits 8) that is recorded, not judged.
                r = results[-1]
                r["verdict"], r["notes"] = INFORMATIONAL, []
                r["info"]["refused"] = "opening handshake: %s" % (e or "timeout")
            report_progress(opts, results[-1])
            continue
        # RFC 6455 4.1 / RFC 7692 5.1: a client fails the connection on an extension answer
        # it did not offer or on invalid parameters.
        negotiated, problem = pmd.check_response(offers, headers.get("sec-websocket-extensions"))
        if problem:
            problem = "server's Sec-WebSocket-Extensions answer: %s" % problem
        r = run_case(case, conn, "client", opts, negotiated, problem)
        r["duration_ms"] = round((now() - t0) * 1000.0, 1)
        results.append(r)
        report_progress(opts, r)
    return results


def _tail(path, limit=2000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")


def run_server_mode(cases, opts):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", opts.port))
    lsock.listen(8)
    port = lsock.getsockname()[1]
    results = []
    errdir = opts.workdir
    os.makedirs(errdir, exist_ok=True)
    try:
        for case in cases:
            t0 = now()
            url = "ws://127.0.0.1:%d/case/%s" % (port, case.id)
            argv = [a.replace("{url}", url) for a in shlex.split(opts.client_cmd)]
            errpath = os.path.join(errdir, "client-%s.stderr" % case.id)
            # stdin is a pipe that stays open for the whole case: a client that treats EOF
            # on stdin as "close now" (wsclean connect does) must not end the case early.
            with open(errpath, "wb") as errf:
                proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, stderr=errf)
            try:
                r = _serve_one(lsock, case, port, opts, t0, proc)
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
                rc = _reap(proc, opts.client_exit_wait)
            r["client_exit"] = rc
            tail = _tail(errpath)
            if any(m in tail for m in SANITIZER_MARKS):
                r["verdict"] = FAILED
                r["notes"].append("FAILED: sanitizer report from the client under test")
            if tail.strip():
                r["client_stderr_tail"] = tail[-600:]
            if rc is None:
                r["notes"].append("note: client under test did not exit within %.1f s after "
                                  "the connection closed; killed" % opts.client_exit_wait)
            r["duration_ms"] = round((now() - t0) * 1000.0, 1)
            results.append(r)
            report_progress(opts, r)
    finally:
        lsock.close()
    return results


def _reap(proc, wait):
    try:
        return proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        return None


def _serve_one(lsock, case, port, opts, t0, proc):
    # Wait for the connection, but stop at once if the client under test already exited
    # (a usage error would otherwise cost the full connect timeout on every case).
    end = now() + opts.connect_timeout
    sock = None
    while sock is None:
        lsock.settimeout(max(0.01, min(0.05, end - now())))
        try:
            sock, _ = lsock.accept()
        except socket.timeout:
            if proc.poll() is not None:
                return failed_setup(case, "the client under test exited with status %s "
                                    "without connecting" % proc.returncode, t0)
            if now() >= end:
                return failed_setup(case, "the client under test did not connect within "
                                    "%.1f s" % opts.connect_timeout, t0)
    conn = wsraw.Conn(sock)
    chosen = []

    def answer(headers):
        if not case.deflate:
            return None
        offer = headers.get("sec-websocket-extensions")
        header, params = pmd.choose_answer(offer, case.deflate.get("want", {}))
        chosen.append((offer, params))
        return header

    try:
        path, _headers = wsraw.server_handshake(conn, now() + opts.connect_timeout, answer)
    except (Timeout, ConnectionError, ValueError) as e:
        conn.close()
        return failed_setup(case, "opening handshake: %s" % (e or "timeout"), t0)
    if path != "/case/%s" % case.id:
        conn.close()
        return failed_setup(case, "client asked for %r, not /case/%s" % (path, case.id), t0)
    negotiated = chosen[0][1] if chosen else None
    r = run_case(case, conn, "server", opts, negotiated)
    if chosen:
        r["info"]["client_offer"] = chosen[0][0]
    return r


def report_progress(opts, r):
    if opts.verbose or r["verdict"] in (FAILED, NON_STRICT) and not opts.quiet:
        print("%-9s %-13s %s %s" % (r["id"], r["verdict"], r["desc"][:60],
                                    "; ".join(r["notes"])[:300]), file=sys.stderr)


def summary(results):
    table = {}
    for r in results:
        row = table.setdefault(r["section"], {v: 0 for v in VERDICTS})
        row[r["verdict"]] += 1
    return table


def main(argv=None):
    import cases as case_defs

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    for name in ("client", "server"):
        p = sub.add_parser(name)
        p.add_argument("--cases", default="", help="comma-separated ids or globs (1.*,7.9.*)")
        p.add_argument("--json", help="write the results here")
        p.add_argument("--agent", default=None, help="name of the peer under test")
        p.add_argument("--strict", action="store_true", help="exit 1 on NON-STRICT too")
        p.add_argument("--close-wait", type=float, default=2.0,
                       help="seconds the server under test gets to close TCP (default 2)")
        p.add_argument("--fast-wait", type=float, default=1.0,
                       help="seconds to wait for a fail-fast close (default 1)")
        p.add_argument("--connect-timeout", type=float, default=5.0)
        p.add_argument("--timeout-scale", type=float, default=1.0,
                       help="multiply every case timeout (slow sanitizer builds)")
        p.add_argument("--full-trace", action="store_true",
                       help="keep the frame trace of OK cases too in the JSON")
        p.add_argument("-v", "--verbose", action="store_true")
        p.add_argument("-q", "--quiet", action="store_true")
        if name == "client":
            p.add_argument("--url", required=True, help="ws:// URL of the echo server under test")
        else:
            p.add_argument("--client-cmd", required=True,
                           help="command line of the echo client under test; {url} is replaced")
            p.add_argument("--port", type=int, default=0)
            p.add_argument("--client-exit-wait", type=float, default=3.0,
                           help="seconds the client gets to exit after the connection closed")
            p.add_argument("--workdir", default=os.path.join(
                os.environ.get("TMPDIR", "/tmp"), "wsclean-conformance-%d" % os.getpid()))
    sub.add_parser("list")
    opts = ap.parse_args(argv)

    all_cases = case_defs.all_cases()
    if opts.mode == "list":
        for c in all_cases:
            print("%-9s %5.1fs %s%s" % (c.id, c.timeout, c.desc,
                                        "  [informational]" if c.informational else ""))
        return 0
    chosen = select_cases(all_cases, opts.cases)
    if not chosen:
        print("harness: no case matches %r" % opts.cases, file=sys.stderr)
        return 2
    if opts.timeout_scale != 1.0:
        for c in chosen:
            c.timeout *= opts.timeout_scale
    t0 = time.time()
    if opts.mode == "client":
        results = run_client_mode(chosen, opts)
        target = opts.url
    else:
        results = run_server_mode(chosen, opts)
        target = opts.client_cmd
    elapsed = time.time() - t0
    table = summary(results)
    totals = {v: sum(row[v] for row in table.values()) for v in VERDICTS}
    out = {"agent": opts.agent or target, "mode": opts.mode,
           "side_under_test": "server" if opts.mode == "client" else "client",
           "target": target, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
           "elapsed_s": round(elapsed, 2), "summary": table, "totals": totals,
           "cases": results}
    if opts.json:
        os.makedirs(os.path.dirname(os.path.abspath(opts.json)), exist_ok=True)
        with open(opts.json, "w") as f:
            # One case per line: readable in a diff, a third of the size of indented JSON.
            head = dict(out)
            del head["cases"]
            text = json.dumps(head)[:-1] + ', "cases": [\n' + ",\n".join(
                json.dumps(r, separators=(",", ":")) for r in results) + "\n]}\n"
            f.write(text)
    if not opts.quiet:
        print("%s (%s side): %d cases in %.1f s: %s" % (
            out["agent"], out["side_under_test"], len(results), elapsed,
            ", ".join("%s %d" % (v, totals[v]) for v in VERDICTS)), file=sys.stderr)
    bad = totals[FAILED] + (totals[NON_STRICT] if opts.strict else 0)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
