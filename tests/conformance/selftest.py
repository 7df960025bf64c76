#!/usr/bin/python3
"""Offline self-test of the harness's own framing and case tables (no network, < 1 s).

Checks wsraw against RFC 6455 facts (the 4.2.2 Sec-WebSocket-Accept example, the 5.7
example frames, every length-encoding boundary, masking, partial input) and the case table
(unique ids, every required section present, UTF-8 labels agree with a strict decoder).
Exit 0 on success, 1 with a list of failures.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
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

# The case table.
ids = [c.id for c in cases.all_cases()]
check(len(ids) == len(set(ids)), "duplicate case ids")
sections = {i.split(".")[0] for i in ids}
for s in ("1", "2", "3", "4", "5", "6", "7", "9", "10"):
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
