#!/usr/bin/python3
"""Offline self-test of the harness's own framing and case tables (no network, < 1 s).

Checks wsraw against RFC 6455 facts (the 4.2.2 Sec-WebSocket-Accept example, the 5.7
example frames, every length-encoding boundary, masking, partial input) and the case table
(unique ids, every required section present, UTF-8 labels agree with a strict decoder), and
the permessage-deflate codec and negotiation checks (pmd.py) against RFC 7692.
Exit 0 on success, 1 with a list of failures.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import pmd  # noqa: E402
import wsraw  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


# RFC 6455 4.2.2 (and 1.3): the sample key and its accept value.
check(wsraw.accept_key(b"dGhlIHNhbXBsZSBub25jZQ==") == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
      "Sec-WebSocket-Accept of the RFC example")

# RFC 6455 5.7: an unmasked "Hello" and a masked "Hello" with key 37 fa 21 3d.
check(wsraw.encode_frame(wsraw.OP_TEXT, b"Hello") == bytes.fromhex("810548656c6c6f"),
      "unmasked Hello frame (5.7)")
check(wsraw.encode_frame(wsraw.OP_TEXT, b"Hello", mask_key=bytes.fromhex("37fa213d")) ==
      bytes.fromhex("818537fa213d7f9f4d5158"), "masked Hello frame (5.7)")
check(wsraw.encode_frame(wsraw.OP_TEXT, b"Hel", fin=False) == bytes.fromhex("010348656c"),
      "first fragment of the 5.7 example")
check(wsraw.encode_frame(wsraw.OP_PING, b"Hello") == bytes.fromhex("890548656c6c6f"),
      "unmasked ping (5.7)")
check(wsraw.encode_frame(wsraw.OP_BINARY, b"\0" * 256)[:4] == bytes.fromhex("827e0100"),
      "256-byte binary header (5.7)")
check(wsraw.encode_frame(wsraw.OP_BINARY, b"\0" * 65536)[:10] ==
      bytes.fromhex("827f0000000000010000"), "64 KiB binary header (5.7)")

# Length boundaries: minimal encoding and a round trip, masked and unmasked; every strict
# prefix of a frame is incomplete.
for n, hlen in ((0, 2), (125, 2), (126, 4), (127, 4), (65535, 4), (65536, 10), (70000, 10)):
    payload = bytes(i & 0xFF for i in range(n))
    for key in (None, b"\x01\x02\x03\x04"):
        f = wsraw.encode_frame(wsraw.OP_BINARY, payload, rsv=5, fin=False, mask_key=key)
        check(len(f) == hlen + (4 if key else 0) + n, "frame length for %d bytes" % n)
        r = wsraw.parse_frame(bytearray(f) + b"extra")
        check(r is not None and r[1] == len(f) and r[0].payload == payload and
              r[0].rsv == 5 and not r[0].fin and r[0].masked == bool(key),
              "round trip of %d bytes (mask=%s)" % (n, bool(key)))
        if n <= 130:
            for cut in range(len(f)):
                if wsraw.parse_frame(bytearray(f[:cut])) is not None:
                    check(False, "a %d-byte prefix of a %d-byte frame parsed" % (cut, len(f)))
                    break

# Masking agrees with the byte-by-byte definition of RFC 6455 5.3.
for n in (0, 1, 3, 4, 5, 1000, 4099):
    data = os.urandom(n)
    key = os.urandom(4)
    naive = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    check(wsraw.apply_mask(key, data) == naive, "masking of %d bytes" % n)

# A 64-bit length with the top bit set is refused (RFC 6455 5.2).
try:
    wsraw.parse_frame(bytearray(bytes.fromhex("827f8000000000000000")))
    check(False, "64-bit length with the MSB set was accepted")
except ValueError:
    pass

# permessage-deflate (pmd.py). RFC 7692 7.2.3.1/7.2.3.2: "Hello" compressed, then the same
# again with the shared window; without context takeover the second message cannot inflate.
def _codec(role="client", **kw):
    return pmd.Codec(pmd.Params(**kw), role)


c = _codec()
check(c.compress(b"Hello") == bytes.fromhex("f248cdc9c90700"), "RFC 7692 7.2.3.1 Hello")
d = _codec("server")
check(d.inflate(bytes.fromhex("f248cdc9c90700"), 100) == b"Hello", "inflate 7.2.3.1")
check(d.inflate(bytes.fromhex("f20011000000"[:10]), 100) == b"Hello",
      "inflate 7.2.3.2 (context takeover)")
d = _codec("server", client_no_ctx=True)
d.inflate(bytes.fromhex("f248cdc9c90700"), 100)
try:
    d.inflate(bytes.fromhex("f200110000"), 100)
    check(False, "a back-reference into the previous message inflated without takeover")
except Exception:
    pass
# The inflater's window is the negotiated one: distances over 2^bits fail (RFC 7692 8.1.2).
far = os.urandom(600) + b"x" * 10 + os.urandom(600)
far = far + far
big = _codec("client", client_bits=15).compress(far)
for bits, ok in ((15, True), (11, True), (9, False), (8, False)):
    try:
        got = _codec("server", client_bits=bits).inflate(big, 1 << 20) == far
    except Exception:
        got = False
    check(got == ok, "inflate with a %d-bit window: %s expected" % (bits, ok))
for bits in (8, 9):  # our own compressor stays within the negotiated window
    out = _codec("client", client_bits=bits).compress(far)
    check(_codec("server", client_bits=bits).inflate(out, 1 << 20) == far,
          "compress within a %d-bit window" % bits)
try:
    _codec("server").inflate(b"\x00" * 10, 4)
    check(False, "inflate limit not enforced")
except Exception:
    pass
# Negotiation (RFC 7692 7.1): what a client must refuse, what it may accept.
_o = [[("client_max_window_bits", None)]]
for answer, valid in (("permessage-deflate", True),
                      ("permessage-deflate; client_max_window_bits=10", True),
                      ("permessage-deflate; server_max_window_bits=9", True),
                      ("permessage-deflate; server_max_window_bits=7", False),
                      ("permessage-deflate; client_max_window_bits", False),
                      ("permessage-deflate; x=1", False),
                      ("permessage-deflate; server_no_context_takeover; "
                       "server_no_context_takeover", False),
                      ("permessage-deflate, permessage-deflate", False),
                      ("x-webkit-deflate-frame", False)):
    p, why = pmd.check_response(_o, answer)
    check((p is not None) == valid and (why is None) == valid, "answer %r" % answer)
check(pmd.check_response([], "permessage-deflate")[1] is not None, "answer without an offer")
check(pmd.check_response([[("server_max_window_bits", "9")]],
                         "permessage-deflate; server_max_window_bits=10")[1] is not None,
      "server_max_window_bits above the offer")
check(pmd.check_response([[("server_no_context_takeover", None)]],
                         "permessage-deflate")[1] is not None, "dropped server_no_context_takeover")
h, p = pmd.choose_answer("permessage-deflate; client_max_window_bits",
                         {"client_max_window_bits": 8, "server_no_context_takeover": True})
check(h == "permessage-deflate; server_no_context_takeover; client_max_window_bits=8" and
      p.client_bits == 8 and p.server_no_ctx, "server answer %r" % h)
h, p = pmd.choose_answer("permessage-deflate", {"client_max_window_bits": 8})
check(h == "permessage-deflate" and p.client_bits == 15,
      "client_max_window_bits answered without an offer: %r" % h)
check(pmd.choose_answer("foo, permessage-deflate; bad", {}) == (None, None), "bad offers")

# The case table.
ids = [c.id for c in cases.all_cases()]
check(len(ids) == len(set(ids)), "duplicate case ids")
sections = {i.split(".")[0] for i in ids}
for s in ("1", "2", "3", "4", "5", "6", "7", "9", "10", "12", "13"):
    check(s in sections, "section %s missing" % s)
for bad in cases.self_check():
    check(False, "UTF-8 label disagrees with the strict decoder: %s" % bad)
for code in cases.INVALID_CODES:
    check(not __import__("harness").code_on_wire_ok(code), "code %d judged valid" % code)
for code in cases.VALID_CODES:
    check(__import__("harness").code_on_wire_ok(code), "code %d judged invalid" % code)

if failures:
    print("selftest: %d failures:\n  %s" % (len(failures), "\n  ".join(failures)))
    sys.exit(1)
print("selftest: %d cases, all framing and table checks pass" % len(ids))
