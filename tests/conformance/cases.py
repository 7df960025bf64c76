"""The conformance cases, by Autobahn section number.

Written from RFC 6455 and the published one-line descriptions of the Autobahn|Testsuite cases
(what each case sends and expects), not from its code. The numbering follows Autobahn's
sections; within a section the ids are ours. Every case runs on its own connection against an
echo peer, so every valid message sent must come back unchanged (any fragmentation) and every
violation must make the peer fail the connection (RFC 6455 7.1.7) with the right code.

A case is a function of the context (harness.Ctx). Sections 12/13 (permessage-deflate,
RFC 7692) carry a `deflate` spec: what the harness offers as a client and asks for as a
server (pmd.py); every other case runs without an extension, so RSV1 stays a violation in
sections 3 and 4.
"""

import wsraw
from harness import Case, NON_STRICT, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT

_CASES = []


def case(cid, desc, timeout=3.0, informational=False):
    def reg(fn):
        _CASES.append(Case(cid, desc, fn, timeout, informational))
        return fn
    return reg


def add(cid, desc, fn, timeout=3.0, informational=False, deflate=None):
    _CASES.append(Case(cid, desc, fn, timeout, informational, deflate))


def all_cases():
    return [Case(c.id, c.desc, c.fn, c.timeout, c.informational, c.deflate) for c in _CASES]


def msg(op, payload):
    return ("message", op, bytes(payload))


def pong(payload):
    return ("pong", bytes(payload))


# ---- section 1: framing ----------------------------------------------------------------
# Every boundary of the 7-bit / 16-bit / 64-bit length encodings (RFC 6455 5.2).
LENGTHS = [0, 125, 126, 127, 128, 65535, 65536, 1 << 20]


def _echo_one(op, payload, chop=None):
    def fn(ctx):
        ctx.send_frame(op, payload, chop=chop)
        ctx.expect([msg(op, payload)])
        ctx.close()
    return fn


for _i, _n in enumerate(LENGTHS, 1):
    add("1.1.%d" % _i, "text message of %d bytes in one frame" % _n,
        _echo_one(OP_TEXT, b"*" * _n), timeout=5.0)
add("1.1.%d" % (len(LENGTHS) + 1), "text message of 65536 bytes written in chops of 997 bytes",
    _echo_one(OP_TEXT, b"*" * 65536, chop=997), timeout=5.0)
add("1.1.%d" % (len(LENGTHS) + 2), "text message of 127 bytes written one byte at a time",
    _echo_one(OP_TEXT, b"x" * 127, chop=1), timeout=5.0)
for _i, _n in enumerate(LENGTHS, 1):
    add("1.2.%d" % _i, "binary message of %d bytes in one frame" % _n,
        _echo_one(OP_BINARY, bytes([0xFE]) * _n), timeout=5.0)
add("1.2.%d" % (len(LENGTHS) + 1), "binary message of 65536 bytes written in chops of 997 bytes",
    _echo_one(OP_BINARY, bytes([0xFE]) * 65536, chop=997), timeout=5.0)
add("1.2.%d" % (len(LENGTHS) + 2), "binary message of 65536+1 bytes (0x00..0xff pattern)",
    _echo_one(OP_BINARY, bytes(range(256)) * 256 + b"\x00"), timeout=5.0)


@case("1.3.1", "three text messages written in one TCP write")
def _c131(ctx):
    ctx.send(b"".join(ctx.frame(OP_TEXT, p) for p in (b"one", b"", b"three")), what="3 frames")
    ctx.expect([msg(OP_TEXT, b"one"), msg(OP_TEXT, b""), msg(OP_TEXT, b"three")])
    ctx.close()


@case("1.4.1", "frame masked the wrong way (client: unmasked; server: masked) -> fail 1002")
def _c141(ctx):
    # RFC 6455 5.1: a server MUST close on an unmasked frame, a client on a masked one.
    key = None if ctx.role == "client" else b"\x11\x22\x33\x44"
    ctx.send(wsraw.encode_frame(OP_TEXT, b"Hello, world!", mask_key=key), what="wrong masking")
    ctx.send_frame(OP_PING, b"after")
    ctx.expect_fail([1002], what="a frame masked the wrong way")


@case("1.4.2", "64-bit length with the most significant bit set -> fail (1002 or 1009)")
def _c142(ctx):
    # RFC 6455 5.2: the most significant bit of a 64-bit length MUST be 0.
    head = bytes([0x82, (0x80 if ctx.role == "client" else 0) | 127]) + \
        (1 << 63 | 5).to_bytes(8, "big")
    ctx.send(head + (b"\x00\x00\x00\x00" if ctx.role == "client" else b"") + b"abcde",
             what="64-bit length with the MSB set")
    ctx.expect_fail([1002, 1009], what="a 64-bit length with the MSB set")


@case("1.4.3", "5-byte text sent with a 16-bit length (not minimal): echoed or refused?",
      informational=True)
def _c143(ctx):
    # RFC 6455 5.2 asks the sender for the minimal length encoding; receivers differ.
    payload = b"Hello"
    key = b"\x01\x02\x03\x04" if ctx.role == "client" else None
    head = bytes([0x81, (0x80 if key else 0) | 126]) + len(payload).to_bytes(2, "big")
    body = (key + wsraw.apply_mask(key, payload)) if key else payload
    ctx.send(head + body, what="non-minimal length")
    ev = ctx.next_event()
    while ev is not None and ev["type"] == "ping":
        ev = ctx.next_event()
    if ev is not None and ev["type"] == "message" and ev["payload"] == payload:
        ctx.info("non_minimal_length", "accepted (echoed)")
        ctx.close()
        return
    if ev is None:
        ctx.fail("no answer at all")
    ctx.info("non_minimal_length", "refused: %s" % ctx.describe(ev))
    ctx.push_back(ev)
    ctx.expect_fail([1002], what="a non-minimal length")


# ---- section 2: ping/pong (RFC 6455 5.5.2, 5.5.3) ---------------------------------------
def _ping_echo(payload, chop=None):
    def fn(ctx):
        ctx.send_frame(OP_PING, payload, chop=chop)
        ctx.expect([pong(payload)], "the pong")
        ctx.close()
    return fn


add("2.1", "ping without payload", _ping_echo(b""))
add("2.2", "ping with a small text payload", _ping_echo(b"Hello, world!"))
add("2.3", "ping with a small binary payload", _ping_echo(bytes([0x00, 0xFF, 0xFE, 0xFD, 0xFC])))
add("2.4", "ping with 125 bytes of binary payload (the maximum)", _ping_echo(b"\xfe" * 125))


@case("2.5", "ping with 126 bytes of payload (over the 125 limit) -> fail 1002")
def _c25(ctx):
    ctx.send_frame(OP_PING, b"\xfe" * 126)
    ctx.expect_fail([1002], what="an oversized ping")


add("2.6", "ping with 125 bytes of payload written one byte at a time",
    _ping_echo(b"\xfe" * 125, chop=1))


@case("2.7", "unsolicited pong without payload: nothing comes back")
def _c27(ctx):
    ctx.send_frame(OP_PONG, b"")
    ctx.expect_quiet(0.2)
    ctx.close()


@case("2.8", "unsolicited pong with payload: nothing comes back")
def _c28(ctx):
    ctx.send_frame(OP_PONG, b"unsolicited pong payload")
    ctx.expect_quiet(0.2)
    ctx.close()


@case("2.9", "unsolicited pong, then ping: only the ping is answered")
def _c29(ctx):
    ctx.send_frame(OP_PONG, b"unsolicited pong payload")
    ctx.send_frame(OP_PING, b"ping payload")
    ctx.expect([pong(b"ping payload")], "the pong")
    ctx.close()


def _ten_pings(chop):
    def fn(ctx):
        payloads = [b"payload-%d" % i for i in range(10)]
        for p in payloads:
            ctx.send_frame(OP_PING, p, chop=chop)
        got = []
        while True:
            ev = ctx.next_event()
            if ev is None:
                ctx.fail("timeout: %d of 10 pongs" % len(got))
            if ev["type"] != "pong":
                ctx.fail("expected pongs, got %s" % ctx.describe(ev))
            if ev["payload"] not in payloads:
                ctx.fail("pong with a payload that no ping had")
            got.append(ev["payload"])
            if ev["payload"] == payloads[-1]:
                break
        if got != payloads:
            # RFC 6455 5.5.3 lets a peer answer only the most recent of several pings.
            ctx.degrade(NON_STRICT, "answered %d of 10 pings (allowed by 5.5.3)" % len(got))
        ctx.close()
    return fn


add("2.10", "10 pings in a row: 10 pongs in order", _ten_pings(None))
add("2.11", "10 pings in a row, each written one byte at a time", _ten_pings(1), timeout=5.0)


# ---- section 3: reserved bits (RFC 6455 5.2: non-zero RSV without an extension -> fail) --
def _rsv(op, rsv, lead_echo):
    payload = b"Hello, world!" if op != OP_BINARY else bytes([0xFF] * 8)

    def fn(ctx):
        if lead_echo:
            ctx.send_frame(OP_TEXT, b"before")
        ctx.send_frame(op, payload, rsv=rsv)
        ctx.send_frame(OP_PING, b"after")
        if lead_echo:
            ctx.expect_before_fail([msg(OP_TEXT, b"before")], "the echo of the valid message before")
        ctx.expect_fail([1002], what="a frame with RSV=%d" % rsv)
    return fn


_n = 0
for _op, _name in ((OP_TEXT, "text"), (OP_BINARY, "binary"), (OP_PING, "ping")):
    for _r in range(1, 8):
        _n += 1
        add("3.%d" % _n, "%s frame with RSV=%d, then a ping -> fail 1002, no pong" % (_name, _r),
            _rsv(_op, _r, False))
_n += 1
add("3.%d" % _n, "valid text, text with RSV=2, ping -> echo, then fail 1002",
    _rsv(OP_TEXT, 2, True))


@case("3.%d" % (_n + 1), "close frame with RSV=7 -> fail 1002")
def _c3close(ctx):
    ctx.send_frame(OP_CLOSE, (1000).to_bytes(2, "big"), rsv=7)
    ctx.expect_fail([1002], what="a close frame with RSV=7")


@case("3.%d" % (_n + 2), "text frame with RSV=1 written one byte at a time -> fail 1002")
def _c3chop(ctx):
    ctx.send_frame(OP_TEXT, b"Hello, world!", rsv=1, chop=1)
    ctx.expect_fail([1002], what="a frame with RSV=1")


# ---- section 4: reserved opcodes (RFC 6455 5.2: 3-7 data, 11-15 control -> fail) -------
def _opcode(op, payload, lead_echo):
    def fn(ctx):
        if lead_echo:
            ctx.send_frame(OP_TEXT, b"before")
        ctx.send_frame(op, payload)
        ctx.send_frame(OP_PING, b"after")
        if lead_echo:
            ctx.expect_before_fail([msg(OP_TEXT, b"before")], "the echo of the valid message before")
        ctx.expect_fail([1002], what="reserved opcode %d" % op)
    return fn


for _op in (3, 4, 5, 6, 7):
    add("4.1.%d" % (2 * _op - 5), "reserved data opcode %d without payload -> fail 1002" % _op,
        _opcode(_op, b"", False))
    add("4.1.%d" % (2 * _op - 4), "valid text, reserved data opcode %d with payload, ping"
        " -> echo, fail 1002" % _op, _opcode(_op, b"reserved opcode payload", True))
for _op in (11, 12, 13, 14, 15):
    add("4.2.%d" % (2 * _op - 21), "reserved control opcode %d without payload -> fail 1002"
        % _op, _opcode(_op, b"", False))
    add("4.2.%d" % (2 * _op - 20), "valid text, reserved control opcode %d with payload, ping"
        " -> echo, fail 1002" % _op, _opcode(_op, b"reserved opcode payload", True))


# ---- section 5: fragmentation (RFC 6455 5.4) ---------------------------------------------
def _fragmented_control(op):
    def fn(ctx):
        ctx.send_frame(op, b"fragment1", fin=False)
        ctx.send_frame(OP_CONT, b"fragment2", fin=True)
        ctx.expect_fail([1002], what="a fragmented %s" % ("ping" if op == OP_PING else "pong"))
    return fn


add("5.1", "ping in 2 fragments -> fail 1002", _fragmented_control(OP_PING))
add("5.2", "pong in 2 fragments -> fail 1002", _fragmented_control(OP_PONG))


@case("5.3", "close frame in 2 fragments -> fail 1002")
def _c53(ctx):
    ctx.send_frame(OP_CLOSE, (1000).to_bytes(2, "big"), fin=False)
    ctx.send_frame(OP_CONT, b"", fin=True)
    ctx.expect_fail([1002], what="a fragmented close frame")


def _frag_echo(op, parts, chop=None, delay=0.0, ping_after=None):
    def fn(ctx):
        expected = []
        for i, p in enumerate(parts):
            ctx.send_frame(op if i == 0 else OP_CONT, p, fin=(i == len(parts) - 1),
                           chop=chop, delay=delay)
            if ping_after is not None and i == ping_after:
                ctx.send_frame(OP_PING, b"ping in between", chop=chop, delay=delay)
                expected.append(pong(b"ping in between"))
        expected.append(msg(op, b"".join(parts)))
        ctx.expect(expected)
        ctx.close()
    return fn


add("5.4", "text message in 2 fragments", _frag_echo(OP_TEXT, [b"fragment1", b"fragment2"]))
add("5.5", "text message in 2 fragments, written one byte at a time",
    _frag_echo(OP_TEXT, [b"fragment1", b"fragment2"], chop=1, delay=0.001))
add("5.6", "text message in 2 fragments with a ping in between",
    _frag_echo(OP_TEXT, [b"fragment1", b"fragment2"], ping_after=0))
add("5.7", "text message in 2 fragments with a ping in between, one byte at a time",
    _frag_echo(OP_TEXT, [b"fragment1", b"fragment2"], chop=1, delay=0.001, ping_after=0))
add("5.8", "binary message in 2 fragments",
    _frag_echo(OP_BINARY, [b"\x00\xff" * 10, b"\xfe" * 30]))
add("5.9", "binary message in 2 fragments with a ping in between",
    _frag_echo(OP_BINARY, [b"\x00\xff" * 10, b"\xfe" * 30], ping_after=0))
add("5.10", "text message in 5 fragments including empty ones",
    _frag_echo(OP_TEXT, [b"", b"a", b"", b"bc", b""]))


def _cont_without_start(fin, chop=None):
    def fn(ctx):
        ctx.send_frame(OP_CONT, b"non-continuation payload", fin=fin, chop=chop)
        ctx.send_frame(OP_TEXT, b"Hello, world!", chop=chop)
        ctx.expect_fail([1002], what="a continuation frame with nothing to continue")
    return fn


add("5.11", "continuation (FIN=1) with nothing to continue -> fail 1002",
    _cont_without_start(True))
add("5.12", "continuation (FIN=1) with nothing to continue, one byte at a time -> fail 1002",
    _cont_without_start(True, 1))
add("5.13", "continuation (FIN=0) with nothing to continue -> fail 1002",
    _cont_without_start(False))
add("5.14", "continuation (FIN=0) with nothing to continue, one byte at a time -> fail 1002",
    _cont_without_start(False, 1))


@case("5.15", "text in 2 fragments, then a stray continuation, then text -> echo, fail 1002")
def _c515(ctx):
    data = (ctx.frame(OP_TEXT, b"fragment1", fin=False) + ctx.frame(OP_CONT, b"fragment2") +
            ctx.frame(OP_CONT, b"fragment3", fin=False) + ctx.frame(OP_CONT, b"fragment4") +
            ctx.frame(OP_TEXT, b"unfragmented"))
    ctx.send(data, what="frames")
    ctx.expect_before_fail([msg(OP_TEXT, b"fragment1fragment2")], "the echo of the valid message")
    ctx.expect_fail([1002], what="a continuation with nothing to continue")


@case("5.16", "a new text frame inside a fragmented text message -> fail 1002")
def _c516(ctx):
    ctx.send_frame(OP_TEXT, b"fragment1", fin=False)
    ctx.send_frame(OP_TEXT, b"fragment2", fin=True)
    ctx.expect_fail([1002], what="a new message start inside a message")


@case("5.17", "a new binary frame inside a fragmented text message -> fail 1002")
def _c517(ctx):
    ctx.send_frame(OP_TEXT, b"fragment1", fin=False)
    ctx.send_frame(OP_BINARY, b"fragment2", fin=False)
    ctx.send_frame(OP_CONT, b"fragment3", fin=True)
    ctx.expect_fail([1002], what="a new message start inside a message")


@case("5.18", "fragmented text with pings between fragments and a pause in the middle")
def _c518(ctx):
    ctx.send_frame(OP_TEXT, b"fragment1", fin=False)
    ctx.send_frame(OP_CONT, b"fragment2", fin=False)
    ctx.send_frame(OP_PING, b"pongme 1!")
    ctx.expect([pong(b"pongme 1!")], "the first pong (sent while the message is open)")
    ctx.sleep(0.2)
    ctx.send_frame(OP_CONT, b"fragment3", fin=False)
    ctx.send_frame(OP_CONT, b"fragment4", fin=False)
    ctx.send_frame(OP_PING, b"pongme 2!")
    ctx.send_frame(OP_CONT, b"fragment5", fin=True)
    ctx.expect([pong(b"pongme 2!"), msg(OP_TEXT, b"fragment1fragment2fragment3fragment4"
                                    b"fragment5")])
    ctx.close()


@case("5.19", "the same as 5.18, written one byte at a time", timeout=5.0)
def _c519(ctx):
    for op, p, fin in ((OP_TEXT, b"fragment1", False), (OP_CONT, b"fragment2", False),
                       (OP_PING, b"pongme 1!", True)):
        ctx.send_frame(op, p, fin=fin, chop=1)
    ctx.expect([pong(b"pongme 1!")], "the first pong")
    for op, p, fin in ((OP_CONT, b"fragment3", False), (OP_PING, b"pongme 2!", True),
                       (OP_CONT, b"fragment4", True)):
        ctx.send_frame(op, p, fin=fin, chop=1)
    ctx.expect([pong(b"pongme 2!"), msg(OP_TEXT, b"fragment1fragment2fragment3fragment4")])
    ctx.close()


@case("5.20", "data frame starting a message, then close before the last fragment")
def _c520(ctx):
    ctx.send_frame(OP_TEXT, b"fragment1", fin=False)
    ctx.close()


# ---- section 6: UTF-8 (RFC 6455 8.1, RFC 3629) --------------------------------------------
KOSME = bytes.fromhex("cebae1bdb9cf83cebcceb5")  # Greek "kosme", the classic sample
HELLO = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode("utf-8")

# (family, [(label, bytes)]) in the order of Markus Kuhn's UTF-8 decoder stress test.
# Whether each vector is valid is decided by Python's strict UTF-8 codec (RFC 3629) and
# cross-checked against the family's expectation in self_check() below.
_H = bytes.fromhex


def _cont_run(a, b):
    return bytes(range(a, b))


UTF8_FAMILIES = [
    ("valid: sample text", True, [("kosme", KOSME), ("hello", HELLO),
                                  ("ascii", b"The quick brown fox"), ("empty", b"")]),
    ("valid: first sequence of each length", True,
     [("U+0000", _H("00")), ("U+0080", _H("c280")), ("U+0800", _H("e0a080")),
      ("U+10000", _H("f0908080"))]),
    ("invalid: first 5- and 6-byte sequences", False,
     [("5-byte", _H("f888808080")), ("6-byte", _H("fc8480808080"))]),
    ("valid: last sequence of each length", True,
     [("U+007F", _H("7f")), ("U+07FF", _H("dfbf")), ("U+FFFF", _H("efbfbf")),
      ("U+10FFFF", _H("f48fbfbf"))]),
    ("invalid: last 4-, 5-, 6-byte patterns (beyond U+10FFFF)", False,
     [("U+1FFFFF", _H("f7bfbfbf")), ("5-byte", _H("fbbfbfbfbf")),
      ("6-byte", _H("fdbfbfbfbfbf"))]),
    ("valid: other boundaries", True,
     [("U+D7FF", _H("ed9fbf")), ("U+E000", _H("ee8080")), ("U+FFFD", _H("efbfbd")),
      ("U+10FFFF", _H("f48fbfbf"))]),
    ("invalid: above U+10FFFF", False, [("U+110000", _H("f4908080")),
                                        ("f5 lead", _H("f5808080"))]),
    ("invalid: unexpected continuation bytes", False,
     [("80", _H("80")), ("bf", _H("bf")), ("80bf", _H("80bf")), ("80bf80", _H("80bf80")),
      ("80bf80bf", _H("80bf80bf")), ("80bf80bf80", _H("80bf80bf80")),
      ("80bf80bf80bf", _H("80bf80bf80bf")), ("80bf80bf80bf80", _H("80bf80bf80bf80")),
      ("all 64", _cont_run(0x80, 0xC0))]),
    ("invalid: lonely start bytes followed by a space", False,
     [("2-byte starts", b"".join(bytes([b, 0x20]) for b in range(0xC0, 0xE0))),
      ("3-byte starts", b"".join(bytes([b, 0x20]) for b in range(0xE0, 0xF0))),
      ("4-byte starts", b"".join(bytes([b, 0x20]) for b in range(0xF0, 0xF8))),
      ("5-byte starts", b"".join(bytes([b, 0x20]) for b in range(0xF8, 0xFC))),
      ("6-byte starts", b"".join(bytes([b, 0x20]) for b in range(0xFC, 0xFE)))]),
    ("invalid: sequences with the last continuation byte missing", False,
     [("c0", _H("c0")), ("e080", _H("e080")), ("f08080", _H("f08080")),
      ("f8808080", _H("f8808080")), ("fc80808080", _H("fc80808080")), ("df", _H("df")),
      ("efbf", _H("efbf")), ("f7bfbf", _H("f7bfbf")), ("fbbfbfbf", _H("fbbfbfbf")),
      ("fdbfbfbfbf", _H("fdbfbfbfbf")), ("c2 (U+0080 cut)", _H("c2")),
      ("e0a0 (U+0800 cut)", _H("e0a0")), ("f09080 (U+10000 cut)", _H("f09080"))]),
    ("invalid: concatenated incomplete sequences", False,
     [("all ten", _H("c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf"))]),
    ("invalid: impossible bytes", False,
     [("fe", _H("fe")), ("ff", _H("ff")), ("fefeffff", _H("fefeffff"))]),
    ("invalid: overlong '/'", False,
     [("2", _H("c0af")), ("3", _H("e080af")), ("4", _H("f08080af")), ("5", _H("f8808080af")),
      ("6", _H("fc80808080af"))]),
    ("invalid: maximum overlongs", False,
     [("U+007F in 2", _H("c1bf")), ("U+07FF in 3", _H("e09fbf")),
      ("U+FFFF in 4", _H("f08fbfbf")), ("5", _H("f887bfbfbf")), ("6", _H("fc83bfbfbfbf"))]),
    ("invalid: overlong NUL", False,
     [("2", _H("c080")), ("3", _H("e08080")), ("4", _H("f0808080")), ("5", _H("f880808080")),
      ("6", _H("fc8080808080"))]),
    ("invalid: single UTF-16 surrogates", False,
     [("U+D800", _H("eda080")), ("U+DB7F", _H("edadbf")), ("U+DB80", _H("edae80")),
      ("U+DBFF", _H("edafbf")), ("U+DC00", _H("edb080")), ("U+DF80", _H("edbe80")),
      ("U+DFFF", _H("edbfbf"))]),
    ("invalid: paired UTF-16 surrogates", False,
     [("D800 DC00", _H("eda080edb080")), ("D800 DFFF", _H("eda080edbfbf")),
      ("DB7F DC00", _H("edadbfedb080")), ("DB7F DFFF", _H("edadbfedbfbf")),
      ("DB80 DC00", _H("edae80edb080")), ("DB80 DFFF", _H("edae80edbfbf")),
      ("DBFF DC00", _H("edafbfedb080")), ("DBFF DFFF", _H("edafbfedbfbf"))]),
    ("valid: noncharacters (valid UTF-8)", True,
     [("U+FFFE", _H("efbfbe")), ("U+FFFF", _H("efbfbf")), ("U+FDD0", _H("efb790")),
      ("U+FDEF", _H("efb7af")), ("U+1FFFE", _H("f09fbfbe")), ("U+10FFFE", _H("f48fbfbe"))]),
    ("valid: specials", True, [("U+FFF9..U+FFFD", _H("efbfb9efbfbaefbfbbefbfbcefbfbd"))]),
    ("invalid: valid text then a bad byte", False,
     [("kosme + ed a0 80 + text", KOSME + _H("eda080") + b"edited"),
      ("text + ff", b"Hello" + _H("ff"))]),
]

# Every prefix of "kosme": valid exactly when it ends on a code point boundary.
_KOSME_PREFIXES = [(len(KOSME[:i]), KOSME[:i]) for i in range(1, len(KOSME) + 1)]


def self_check():
    """The labels above agree with a strict RFC 3629 decoder (run by the self-test)."""
    bad = []
    for fam, valid, vectors in UTF8_FAMILIES:
        for label, v in vectors:
            try:
                v.decode("utf-8")
                ok = True
            except UnicodeDecodeError:
                ok = False
            if ok != valid:
                bad.append("%s / %s" % (fam, label))
    return bad


def _utf8_single(payload):
    valid = _is_utf8(payload)

    def fn(ctx):
        ctx.send_frame(OP_TEXT, payload)
        if valid:
            ctx.expect([msg(OP_TEXT, payload)])
            ctx.close()
        else:
            ctx.expect_fail([1007], what="invalid UTF-8")
    return fn


def _utf8_fragmented(payload, size):
    valid = _is_utf8(payload)

    def fn(ctx):
        parts = [payload[i:i + size] for i in range(0, len(payload), size)] or [b""]
        for i, p in enumerate(parts):
            ctx.send_frame(OP_TEXT if i == 0 else OP_CONT, p, fin=(i == len(parts) - 1))
        if valid:
            ctx.expect([msg(OP_TEXT, payload)])
            ctx.close()
        else:
            ctx.expect_fail([1007], what="invalid UTF-8")
    return fn


def _is_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


add("6.1.1", "empty text message", _utf8_single(b""))
add("6.1.2", "empty text message in 3 empty fragments", _utf8_fragmented(b"", 1))


@case("6.1.3", "text message: 2 empty fragments then a non-empty final one")
def _c613(ctx):
    ctx.send_frame(OP_TEXT, b"", fin=False)
    ctx.send_frame(OP_CONT, b"", fin=False)
    ctx.send_frame(OP_CONT, b"middle frame payload", fin=True)
    ctx.expect([msg(OP_TEXT, b"middle frame payload")])
    ctx.close()


add("6.2.1", "valid UTF-8 (multi-byte) in one frame", _utf8_single(HELLO))
add("6.2.2", "valid UTF-8 in 2 fragments split inside a code point",
    _utf8_fragmented(HELLO, 7))
add("6.2.3", "valid UTF-8 in 1-byte fragments", _utf8_fragmented(HELLO, 1))
add("6.2.4", "valid 4-byte UTF-8 (U+1D11E x3) in 1-byte fragments",
    _utf8_fragmented(("\U0001D11E" * 3).encode("utf-8"), 1))
add("6.3.1", "invalid UTF-8 (surrogate) in one frame -> fail 1007",
    _utf8_single(KOSME + _H("eda080") + b"edited"))
add("6.3.2", "invalid UTF-8 (surrogate) in 1-byte fragments -> fail 1007",
    _utf8_fragmented(KOSME + _H("eda080") + b"edited", 1))


# 6.4: fail fast. The bad byte goes out first; the rest of the message only after the peer
# had fast_wait seconds to fail. Failing only at the end of the message is NON-STRICT.
def _fail_fast(pieces, fragmented):
    """pieces: [(bytes, wait_after)]; the last piece completes the message."""
    def fn(ctx):
        if fragmented:
            datas = []
            for i, (p, _w) in enumerate(pieces):
                datas.append(ctx.frame(OP_TEXT if i == 0 else OP_CONT, p,
                                       fin=(i == len(pieces) - 1)))
        else:
            whole = ctx.frame(OP_TEXT, b"".join(p for p, _w in pieces))
            head = len(whole) - sum(len(p) for p, _w in pieces)
            datas, pos = [], 0
            for i, (p, _w) in enumerate(pieces):
                n = len(p) + (head if i == 0 else 0)
                datas.append(whole[pos:pos + n])
                pos += n
        for i, d in enumerate(datas):
            if not ctx.send(d, what="piece %d of %d" % (i + 1, len(datas))):
                break
            if pieces[i][1]:
                if ctx.wait_close_within(ctx.fast_wait):
                    ctx.timings["failed_after_piece"] = i + 1
                    break
        else:
            ctx.degrade(NON_STRICT, "did not fail fast: no close within %.1f s of the invalid "
                                    "byte; failed only when the message was complete"
                        % ctx.fast_wait)
        ctx.expect_fail([1007], what="invalid UTF-8")
    return fn


_P1, _P2, _P3 = KOSME, _H("f4908080"), b"edited"
add("6.4.1", "fail fast: 3 fragments, the 2nd holds U+110000; pause before the 3rd",
    _fail_fast([(_P1, 0), (_P2, 1), (_P3, 0)], True), timeout=5.0)
add("6.4.2", "fail fast: 3 fragments; the invalid byte 0x90 starts the 2nd; pause",
    _fail_fast([(_P1 + b"\xf4", 0), (b"\x90\x80\x80", 1), (_P3, 0)], True), timeout=5.0)
add("6.4.3", "fail fast: one frame written in 3 chops, U+110000 in the 2nd; pause",
    _fail_fast([(_P1, 0), (_P2, 1), (_P3, 0)], False), timeout=5.0)
add("6.4.4", "fail fast: one frame in 4 chops: f4, then 0x90 alone; pause after each",
    _fail_fast([(_P1, 0), (b"\xf4", 1), (b"\x90", 1), (b"\x80\x80" + _P3, 0)], False),
    timeout=6.0)

# 6.5 .. 6.2x: every vector of every family, in one frame; the sample prefixes too.
_sec = 5
for _fam, _valid, _vectors in UTF8_FAMILIES:
    for _j, (_label, _v) in enumerate(_vectors, 1):
        add("6.%d.%d" % (_sec, _j), "%s: %s -> %s" % (_fam, _label,
                                                      "echo" if _valid else "fail 1007"),
            _utf8_single(_v))
    _sec += 1
for _j, (_n, _v) in enumerate(_KOSME_PREFIXES, 1):
    add("6.%d.%d" % (_sec, _j), "first %d bytes of 'kosme' -> %s" % (
        _n, "echo" if _is_utf8(_v) else "fail 1007"), _utf8_single(_v))
_sec += 1
# The invalid vectors again, split into 1-byte fragments: the check must span frames.
_j = 0
for _fam, _valid, _vectors in UTF8_FAMILIES:
    if _valid:
        continue
    _label, _v = _vectors[0]
    _j += 1
    add("6.%d.%d" % (_sec, _j), "%s: %s in 1-byte fragments -> fail 1007" % (_fam, _label),
        _utf8_fragmented(_v if len(_v) > 1 else _v + b"x", 1))


# ---- section 7: closing (RFC 6455 5.5.1, 7) -----------------------------------------------
@case("7.1.1", "echo a message, then a normal close")
def _c711(ctx):
    ctx.send_frame(OP_TEXT, b"Hello World!")
    ctx.expect([msg(OP_TEXT, b"Hello World!")])
    ctx.close()


@case("7.1.2", "two close frames: the second is ignored")
def _c712(ctx):
    ctx.send_close(code=1000)
    ctx.close()


@case("7.1.3", "close, then a ping: no pong after the close")
def _c713(ctx):
    ctx.send_close(code=1000)
    ctx.send_frame(OP_PING, b"after close")
    ctx.await_close_answer()


@case("7.1.4", "close, then a text message: data after close is ignored")
def _c714(ctx):
    ctx.send_close(code=1000)
    ctx.send_frame(OP_TEXT, b"after close")
    ctx.await_close_answer()


@case("7.1.5", "first fragment, close, last fragment: the message is never echoed")
def _c715(ctx):
    ctx.send_frame(OP_TEXT, b"fragment1", fin=False)
    ctx.send_close(code=1000)
    ctx.send_frame(OP_CONT, b"fragment2", fin=True)
    ctx.await_close_answer()


@case("7.1.6", "256 KiB message, close, ping: is the message echoed before the close?",
      timeout=5.0, informational=True)
def _c716(ctx):
    ctx.send_frame(OP_BINARY, b"\xfe" * (256 << 10))
    ctx.send_close(code=1000)
    ctx.send_frame(OP_PING, b"after close")
    ctx.await_close_answer(data_after="ignore")
    ctx.info("echo_before_close_answer",
             bool(ctx.informational.get("received_before_close_answer")))


@case("7.2.1", "who closes TCP: after a closing handshake we start, the server closes TCP",
      informational=False)
def _c721(ctx):
    ctx.send_frame(OP_TEXT, b"who closes")
    ctx.expect([msg(OP_TEXT, b"who closes")])
    if ctx.role == "client":
        ctx.close()  # finish_tcp() fails the case if the server keeps TCP open
        return
    # The harness is the server: the client SHOULD wait for our TCP close but MAY close
    # earlier (RFC 6455 5.5.1, 7.1.1); the server here waits 0.5 s and reports what happened.
    ctx.send_close(code=1000)
    ev = ctx.next_event()
    while ev is not None and ev["type"] in ("ping",):
        ev = ctx.next_event()
    if ev is None or ev["type"] != "close":
        ctx.fail("expected the client's close answer, got %s" % ctx.describe(ev))
    t = ev["at"]
    closed = ctx.next_event(t + 0.5)
    first = closed is not None and closed["type"] == "eof"
    ctx.info("client_closed_tcp_first", first)
    if first:
        ms = round((closed["at"] - t) * 1000.0, 1)
        ctx.info("client_tcp_close_ms", ms)
        ctx.degrade(NON_STRICT, "client closed TCP %.1f ms after the closing handshake instead "
                                "of waiting for the server (RFC 6455 7.1.1: SHOULD wait)" % ms)
    ctx.finish_tcp()


@case("7.2.2", "who closes TCP: the peer fails the connection (1007) and closes TCP once the"
      " close frames crossed (a failing endpoint may close at once, RFC 6455 7.1.7)")
def _c722(ctx):
    ctx.send_frame(OP_TEXT, b"\xff")
    ctx.expect_fail([1007], what="invalid UTF-8")


@case("7.2.3", "close timeout: after the close frames the harness keeps TCP open and silent;"
      " when does the peer close TCP itself?", timeout=5.0, informational=True)
def _c723(ctx):
    if ctx.role == "client":
        # A server that fails the connection may close TCP at once (RFC 6455 7.1.7).
        ctx.send_frame(OP_TEXT, b"\xff")
    else:
        # A client SHOULD wait for the server's TCP close, then give up after a timeout
        # (RFC 6455 7.1.1); the harness never closes, so this measures that timeout.
        ctx.send_close(code=1000)
    ev = ctx.next_event()
    while ev is not None and ev["type"] in ("ping", "pong", "message"):
        ev = ctx.next_event()
    if ev is None:
        ctx.fail("no close frame from the peer")
    if ev["type"] == "close":
        ctx.sent_close = True  # from now on: silent
        t = ev["at"]
        gone = ctx.next_event(t + 3.0)
        while gone is not None and gone["type"] != "eof":
            gone = ctx.next_event(t + 3.0)
        if gone is None:
            ctx.info("peer_closed_tcp_after_ms", "> 3000 (still open)")
        else:
            ctx.info("peer_closed_tcp_after_ms", round((gone["at"] - t) * 1000.0, 1))
    else:
        ctx.info("peer_closed_tcp_after_ms", "no close frame: %s" % ctx.describe(ev))
    ctx.tcp_closed_by = ctx.tcp_closed_by or "harness"
    ctx.conn.close()


@case("7.3.1", "close with an empty body: the answer has no code or 1000")
def _c731(ctx):
    ctx.close(code=None)


@case("7.3.2", "close with a 1-byte body -> fail 1002")
def _c732(ctx):
    ctx.send_frame(OP_CLOSE, b"\x03")
    ctx.expect_fail([1002], what="a 1-byte close body")


@case("7.3.3", "close 1000 with no reason")
def _c733(ctx):
    ctx.close(code=1000)


@case("7.3.4", "close 1000 with a short reason")
def _c734(ctx):
    ctx.close(code=1000, reason=b"Hello World!", accept=(1000,))


@case("7.3.5", "close 1000 with a 123-byte reason (the 125-byte maximum body)")
def _c735(ctx):
    ctx.close(code=1000, reason=b"*" * 123, accept=(1000,))


@case("7.3.6", "close 1000 with a 124-byte reason (126-byte body) -> fail 1002")
def _c736(ctx):
    ctx.send_frame(OP_CLOSE, (1000).to_bytes(2, "big") + b"*" * 124)
    ctx.expect_fail([1002], what="an oversized close frame")


@case("7.5.1", "close 1000 with an invalid UTF-8 reason -> fail 1007")
def _c751(ctx):
    ctx.send_frame(OP_CLOSE, (1000).to_bytes(2, "big") + KOSME + _H("eda080") + b"edited")
    ctx.expect_fail([1007], what="a close reason that is not UTF-8")


@case("7.5.2", "close 1000 with a truncated UTF-8 reason -> fail 1007")
def _c752(ctx):
    ctx.send_frame(OP_CLOSE, (1000).to_bytes(2, "big") + b"abc\xce")
    ctx.expect_fail([1007], what="a close reason that is not UTF-8")


VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
               3000, 3003, 3999, 4000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


def _valid_code(code):
    def fn(ctx):
        # RFC 6455 5.5.1: the answer "typically echos the status code it received";
        # an answer with 1000 is accepted but not strict.
        ctx.close(code=code, reason=b"code %d" % code, accept=(code,), nonstrict=(1000, None))
    return fn


def _invalid_code(code):
    def fn(ctx):
        ctx.send_frame(OP_CLOSE, code.to_bytes(2, "big") + b"invalid code")
        ctx.expect_fail([1002], what="close code %d" % code)
    return fn


for _j, _c in enumerate(VALID_CODES, 1):
    add("7.7.%d" % _j, "close with valid code %d: echoed" % _c, _valid_code(_c))
for _j, _c in enumerate(INVALID_CODES, 1):
    add("7.9.%d" % _j, "close with invalid code %d -> fail 1002" % _c, _invalid_code(_c))


# ---- section 9: bounded throughput (timed and reported, not asserted) -----------------
def _timed_echo(op, size, frag=None, chop=None):
    payload = (b"BAsd7&jh23" * (size // 10 + 1))[:size] if op == OP_TEXT else \
        bytes([0xFE]) * size

    def fn(ctx):
        t = ctx.ms()
        if frag:
            parts = [payload[i:i + frag] for i in range(0, len(payload), frag)]
            data = b"".join(ctx.frame(op if i == 0 else OP_CONT, p, fin=(i == len(parts) - 1))
                            for i, p in enumerate(parts))
            ctx.send(data, what="%d fragments" % len(parts))
        else:
            ctx.send_frame(op, payload, chop=chop)
        ctx.expect([msg(op, payload)])
        rt = ctx.ms() - t
        ctx.timings["roundtrip_ms"] = round(rt, 1)
        ctx.timings["MiB_per_s"] = round(2 * size / (1 << 20) / max(rt / 1000.0, 1e-6), 1)
        ctx.close()
    return fn


def _many(op, count, size):
    payload = b"*" * size if op == OP_TEXT else b"\xfe" * size

    def fn(ctx):
        t = ctx.ms()
        ctx.send(b"".join(ctx.frame(op, payload) for _ in range(count)),
                 what="%d messages" % count)
        for i in range(count):
            ev = ctx.next_event()
            while ev is not None and ev["type"] == "ping":
                ev = ctx.next_event()
            if ev is None or ev["type"] != "message" or ev["payload"] != payload:
                ctx.fail("message %d of %d: got %s" % (i + 1, count, ctx.describe(ev)))
        rt = ctx.ms() - t
        ctx.timings["roundtrip_ms"] = round(rt, 1)
        ctx.timings["messages_per_s"] = round(count / max(rt / 1000.0, 1e-6))
        ctx.close()
    return fn


_SIZES = [64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20]
for _j, _s in enumerate(_SIZES, 1):
    # Generous for 16 MiB (the harness masks in Python); short elsewhere, so that a peer
    # that stalls costs seconds, not minutes (timeouts are multiplied under sanitizers).
    _t = 8.0 if _s > (4 << 20) else 5.0
    add("9.1.%d" % _j, "text message of %d KiB" % (_s >> 10), _timed_echo(OP_TEXT, _s),
        timeout=_t)
    add("9.2.%d" % _j, "binary message of %d KiB" % (_s >> 10), _timed_echo(OP_BINARY, _s),
        timeout=_t)
for _j, _f in enumerate([64, 1024, 65536, 1 << 20], 1):
    add("9.3.%d" % _j, "1 MiB text message in fragments of %d bytes" % _f,
        _timed_echo(OP_TEXT, 1 << 20, frag=_f), timeout=5.0)
    add("9.4.%d" % _j, "1 MiB binary message in fragments of %d bytes" % _f,
        _timed_echo(OP_BINARY, 1 << 20, frag=_f), timeout=5.0)
for _j, _c in enumerate([64, 512, 4096], 1):
    add("9.5.%d" % _j, "1 MiB text frame written in chops of %d bytes" % _c,
        _timed_echo(OP_TEXT, 1 << 20, chop=_c), timeout=5.0)
    add("9.6.%d" % _j, "1 MiB binary frame written in chops of %d bytes" % _c,
        _timed_echo(OP_BINARY, 1 << 20, chop=_c), timeout=5.0)
for _j, _s in enumerate([0, 16, 256, 4096], 1):
    add("9.7.%d" % _j, "1000 text messages of %d bytes, back to back" % _s,
        _many(OP_TEXT, 1000, _s), timeout=5.0)
    add("9.8.%d" % _j, "1000 binary messages of %d bytes, back to back" % _s,
        _many(OP_BINARY, 1000, _s), timeout=5.0)


# ---- section 10: auto-fragmentation ------------------------------------------------------
def _frames_reported(op, payload, frag=None):
    def fn(ctx):
        if frag:
            parts = [payload[i:i + frag] for i in range(0, len(payload), frag)]
            ctx.send(b"".join(ctx.frame(op if i == 0 else OP_CONT, p, fin=(i == len(parts) - 1))
                              for i, p in enumerate(parts)), what="%d fragments" % len(parts))
        else:
            ctx.send_frame(op, payload)
        got = ctx.expect([msg(op, payload)])
        ctx.info("echo_frames", got[0]["frames"])
        ctx.close()
    return fn


add("10.1.1", "64 KiB text message: echoed whole, in any number of frames",
    _frames_reported(OP_TEXT, b"*" * 65536), timeout=5.0)
add("10.1.2", "1 MiB binary message sent in 1 KiB fragments: reassembled and echoed",
    _frames_reported(OP_BINARY, bytes(range(256)) * 4096, frag=1024), timeout=5.0)
add("10.1.3", "96 KiB of 3-byte characters in 7-byte fragments (splitting code points)",
    _frames_reported(OP_TEXT, "\u20ac".encode("utf-8") * 32768, frag=7), timeout=5.0)


# ---- sections 12 and 13: permessage-deflate (RFC 7692) ------------------------------------
# Autobahn's 12.x echoes batches of real-world-like messages of growing size with the
# extension negotiated with default parameters; 13.x repeats that under other parameters.
# Fewer messages per size (10) and sizes up to 256 KiB keep each section to a few seconds.
# The harness sends every message compressed (RSV1, RFC 7692 6.1); the peer may answer
# compressed or not; every echo must inflate, with the negotiated window and context
# takeover, to the bytes sent.
_WORDS = ("the of and to in is was that for on with as by at from this be have are not "
          "socket frame message close deflate window server client browser event handshake "
          "connection extension payload buffer context takeover compression literal "
          "distance length huffman block tail octet mask opcode fragment continuation "
          "caf\u00e9 na\u00efve \u20ac42 \u00fcber stra\u00dfe \u65e5\u672c 12 345 6789 "
          "{\"id\": 17, \"ok\": true} <p>hello</p> 2026-11-21T21:30:00Z").split(" ")
_CORPUS = {}


def _corpus(kind):
    """1.25 MiB of deterministic text (words, JSON, markup, some non-ASCII) or binary (an
    8-bit 'image': gradients with noise), compressible the way real payloads are."""
    if kind not in _CORPUS:
        import random
        rng = random.Random(7692)
        n = 1280 << 10
        if kind == "text":
            out, size = [], 0
            while size < n:
                w = rng.choice(_WORDS) + (".\n" if rng.random() < 0.08 else " ")
                out.append(w)
                size += len(w.encode("utf-8"))
            _CORPUS[kind] = "".join(out).encode("utf-8")
        else:
            # Rows of a horizontal gradient, each row shifted (bytes.translate keeps this
            # fast), with a run of noise in every row.
            base = bytes((x * 3 // 7) & 0xFF for x in range(512))
            tables = [bytes((v + k) & 0xFF for v in range(256)) for k in range(256)]
            rows = []
            for r in range(n // 512):
                row = bytearray(base.translate(tables[(r * 5 // 7) & 0xFF]))
                at = rng.randrange(448)
                row[at:at + 64] = rng.randbytes(64)
                rows.append(bytes(row))
            _CORPUS[kind] = b"".join(rows)
    return _CORPUS[kind]


def _deflate_payload(op, size, i):
    """Message i of a batch: a different slice of the corpus, exactly `size` bytes."""
    c = _corpus("text" if op == OP_TEXT else "binary")
    off = (i * 99991) % (len(c) - size - 8)
    p = c[off:off + size + 8]
    if op == OP_TEXT:
        # Cut on a character boundary and pad with spaces, so the text stays UTF-8.
        t = p[:size].decode("utf-8", "ignore").encode("utf-8")
        while t and (t[0] & 0xC0) == 0x80:
            t = t[1:]
        t = t[:size]
        return t + b" " * (size - len(t))
    return p[:size]


def _deflate_batch(op, size, count=10, may_refuse=False):
    """Send `count` compressed messages of `size` bytes in one write; expect every echo.

    may_refuse: the parameters are legal but rarely supported (window bits 8, zlib cannot
    deflate with it): a peer that declines the offer or fails the connection instead of
    echoing is recorded (INFORMATIONAL), not judged. Bad data is still FAILED."""
    def fn(ctx):
        if ctx.codec is None:
            ctx.unjudged = True  # the peer declined the offer: nothing to judge (Autobahn:
            #                      "unimplemented"); the echo is still checked, uncompressed
        msgs = [_deflate_payload(op, size, i) for i in range(count)]
        t = ctx.ms()
        frames = [ctx.send_message(op, m) for m in msgs]
        ctx.timings["sent_ratio"] = round(sum(len(f) for f in frames) / (count * size), 3)
        ctx.send(b"".join(frames), what="%d messages of %d bytes%s" % (
            count, size, " (compressed)" if ctx.codec else ""))
        compressed = 0
        for i, m in enumerate(msgs):
            ev = ctx.next_event()
            while ev is not None and ev["type"] == "ping":
                ev = ctx.next_event()
            if may_refuse and i == 0 and ev is not None and ev["type"] in ("close", "eof"):
                ctx.unjudged = True
                ctx.info("refused", "the peer failed the connection with %s instead of "
                         "echoing" % ctx.describe(ev))
                if ev["type"] == "close":
                    if not ctx.sent_close:
                        ctx.send_close(b"" if ev["code"] is None else
                                       ev["code"].to_bytes(2, "big"))
                    ctx.finish_tcp()
                else:
                    ctx.conn.close()
                return
            if ev is None or ev["type"] != "message" or ev["opcode"] != op or \
                    ev["payload"] != m:
                ctx.fail("message %d of %d (%d bytes): got %s%s" % (
                    i + 1, count, size, ctx.describe(ev),
                    " with different bytes" if ev and ev["type"] == "message" else ""))
            compressed += bool(ev.get("compressed"))
        ctx.timings["roundtrip_ms"] = round(ctx.ms() - t, 1)
        ctx.info("echoes_compressed", "%d/%d" % (compressed, count))
        ctx.close()
    return fn


_PMD_SIZES = [16, 64, 256, 1 << 10, 4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10,
              128 << 10, 256 << 10]


def _size(n):
    return "%d KiB" % (n >> 10) if n >= 1024 else "%d B" % n


# Section 12: the default offer, as a browser makes it ("permessage-deflate;
# client_max_window_bits"), and as a server: the plain acceptance "permessage-deflate".
_DEFAULT = {"offers": [[("client_max_window_bits", None)]], "want": {}}
for _j, _s in enumerate(_PMD_SIZES, 1):
    add("12.1.%d" % _j, "deflate, default parameters: 10 text messages of %s in a batch"
        % _size(_s), _deflate_batch(OP_TEXT, _s), timeout=5.0, deflate=_DEFAULT)
    add("12.2.%d" % _j, "deflate, default parameters: 10 binary messages of %s in a batch"
        % _size(_s), _deflate_batch(OP_BINARY, _s), timeout=5.0, deflate=_DEFAULT)

# Section 13: other parameters. "offers" is the harness's Sec-WebSocket-Extensions as a
# client (one list per offer, several offers in one header for 13.12); "want" is what the
# harness answers as a server (client_max_window_bits only if the client offered it,
# RFC 7692 7.1.2.2). may_refuse for window bits 8 (see _deflate_batch).
_SNC, _CNC = ("server_no_context_takeover", None), ("client_no_context_takeover", None)
_PMD_CONFIGS = [
    ("server_no_context_takeover", [[_SNC, ("client_max_window_bits", None)]],
     {"server_no_context_takeover": True}, False),
    ("client_no_context_takeover", [[_CNC, ("client_max_window_bits", None)]],
     {"client_no_context_takeover": True}, False),
    ("both no_context_takeover", [[_SNC, _CNC]],
     {"server_no_context_takeover": True, "client_no_context_takeover": True}, False),
    ("server_max_window_bits=9", [[("server_max_window_bits", "9")]],
     {"server_max_window_bits": 9}, False),
    ("server_max_window_bits=15", [[("server_max_window_bits", "15")]],
     {"server_max_window_bits": 15}, False),
    ("client_max_window_bits=9", [[("client_max_window_bits", "9")]],
     {"client_max_window_bits": 9}, False),
    ("client_max_window_bits=15", [[("client_max_window_bits", "15")]],
     {"client_max_window_bits": 15}, False),
    ("both window bits 9, no context takeover",
     [[_SNC, _CNC, ("server_max_window_bits", "9"), ("client_max_window_bits", "9")]],
     {"server_no_context_takeover": True, "client_no_context_takeover": True,
      "server_max_window_bits": 9, "client_max_window_bits": 9}, False),
    ("server_max_window_bits=8", [[("server_max_window_bits", "8")]],
     {"server_max_window_bits": 8}, True),
    ("client_max_window_bits=8", [[("client_max_window_bits", "8")]],
     {"client_max_window_bits": 8}, True),
    ("server_max_window_bits=8 with no_context_takeover both ways",
     [[_SNC, _CNC, ("server_max_window_bits", "8")]],
     {"server_no_context_takeover": True, "client_no_context_takeover": True,
      "server_max_window_bits": 8}, True),
    ("three offers in one header (8+no takeover / 10 / default); as a server: "
     "client_max_window_bits=10, server_no_context_takeover",
     [[("server_max_window_bits", "8"), _SNC], [("server_max_window_bits", "10"),
                                                ("client_max_window_bits", None)], []],
     {"server_no_context_takeover": True, "client_max_window_bits": 10}, False),
]
_PMD13_MSGS = [(OP_TEXT, 64), (OP_BINARY, 4 << 10), (OP_TEXT, 64 << 10), (OP_BINARY, 256 << 10)]
for _j, (_name, _offers, _want, _refuse) in enumerate(_PMD_CONFIGS, 1):
    for _k, (_op, _s) in enumerate(_PMD13_MSGS, 1):
        add("13.%d.%d" % (_j, _k), "deflate, %s: 10 %s messages of %s" % (
            _name, "text" if _op == OP_TEXT else "binary", _size(_s)),
            _deflate_batch(_op, _s, may_refuse=_refuse), timeout=5.0,
            deflate={"offers": _offers, "want": _want, "may_refuse": _refuse})
