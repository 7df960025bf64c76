"""permessage-deflate (RFC 7692) for the conformance harness: negotiation and the codec.

Standard library only (zlib). Written from RFC 7692; nothing here judges a case, it only
parses and checks headers and turns messages into compressed payloads and back:

    parse_extensions(value)          -> [(name, [(param, value or None), ...]), ...]
    check_response(offers, value)    -> (Params, None) or (None, why the answer is invalid)
    choose_answer(value, want)       -> (header value, Params) or (None, None): the server side
    Codec(params, role)              -> .compress(payload) / .inflate(payload, limit)

The names "server_*" and "client_*" are the RFC's: server_max_window_bits and
server_no_context_takeover govern what the server compresses (and the client inflates).
"""

import zlib

TAIL = b"\x00\x00\xff\xff"  # RFC 7692 7.2.1: removed by the sender, appended by the receiver
NAME = "permessage-deflate"
_KNOWN = ("server_no_context_takeover", "client_no_context_takeover",
          "server_max_window_bits", "client_max_window_bits")


def _unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] == '"':
        v = v[1:-1]
    return v


def parse_extensions(value):
    """RFC 6455 9.1 grammar, simplified: comma-separated elements, ';'-separated params.

    Quoted values are unquoted (RFC 7692 7.1: a window-bits value may be a quoted-string)."""
    out = []
    for elem in (value or "").split(","):
        parts = [p.strip() for p in elem.split(";")]
        if not parts[0]:
            continue
        params = []
        for p in parts[1:]:
            if not p:
                continue
            k, eq, v = p.partition("=")
            params.append((k.strip().lower(), _unquote(v) if eq else None))
        out.append((parts[0].lower(), params))
    return out


def format_offer(params):
    """'permessage-deflate; a; b=9' from [(name, value or None), ...]."""
    s = NAME
    for k, v in params:
        s += "; %s" % k if v is None else "; %s=%s" % (k, v)
    return s


class Params:
    """The negotiated parameters (RFC 7692 7.1) as the two compressors must honour them."""

    def __init__(self, server_no_ctx=False, client_no_ctx=False, server_bits=15, client_bits=15,
                 header=""):
        self.server_no_ctx, self.client_no_ctx = server_no_ctx, client_no_ctx
        self.server_bits, self.client_bits = server_bits, client_bits
        self.header = header

    def describe(self):
        return self.header


def _bits(v):
    """A window-bits value: 1*DIGIT in 8..15 (RFC 7692 7.1.2.1/7.1.2.2), else None."""
    if v is None or not v.isdigit() or (len(v) > 1 and v[0] == "0"):
        return None
    n = int(v)
    return n if 8 <= n <= 15 else None


def _params_ok(params, response):
    """The parameters of one element are known, unrepeated and well-formed (RFC 7692 7.1)."""
    seen = set()
    for k, v in params:
        if k not in _KNOWN or k in seen:
            return False
        seen.add(k)
        if k.endswith("context_takeover") and v is not None:
            return False
        if k == "server_max_window_bits" and _bits(v) is None:
            return False
        if k == "client_max_window_bits" and (response or v is not None) and _bits(v) is None:
            return False
    return True


def check_response(offers, value):
    """Validate the server's Sec-WebSocket-Extensions answer against the offers we sent.

    offers: list of param lists (one per offered element). Returns (Params, None) when the
    answer is a valid acceptance of one of them (RFC 7692 7.1.1.1, 7.1.2.1, 7.1.2.2, and
    RFC 6455 9.1: the server answers only with what was offered), (None, None) when the server
    declined (no header), or (None, why) when a client MUST fail the connection (RFC 7692 5.1).
    """
    elems = parse_extensions(value)
    if not elems:
        return None, None
    if len(elems) != 1:
        return None, "the answer has %d extension elements: %r" % (len(elems), value)
    name, params = elems[0]
    if name != NAME:
        return None, "the answer names an extension that was not offered: %r" % value
    if not _params_ok(params, True):
        return None, "invalid or repeated parameters in the answer: %r" % value
    got = dict(params)
    why = "no offer matches the answer %r" % value
    for offer in offers:
        o = dict(offer)
        if "server_no_context_takeover" in o and "server_no_context_takeover" not in got:
            why = "the answer drops server_no_context_takeover (RFC 7692 7.1.1.1)"
            continue
        if "server_max_window_bits" in o:
            if "server_max_window_bits" not in got:
                why = "the answer drops server_max_window_bits (RFC 7692 7.1.2.1)"
                continue
            if int(got["server_max_window_bits"]) > int(o["server_max_window_bits"]):
                why = "server_max_window_bits above the offer (RFC 7692 7.1.2.1)"
                continue
        if "client_max_window_bits" in got:
            if "client_max_window_bits" not in o:
                why = "client_max_window_bits in the answer but not in the offer (7.1.2.2)"
                continue
            if o["client_max_window_bits"] is not None and \
                    int(got["client_max_window_bits"]) > int(o["client_max_window_bits"]):
                why = "client_max_window_bits above the offer (RFC 7692 7.1.2.2)"
                continue
        return Params("server_no_context_takeover" in got,
                      "client_no_context_takeover" in got or "client_no_context_takeover" in o,
                      int(got.get("server_max_window_bits") or 15),
                      # We compress within what we offered even when the answer omits it.
                      int(got.get("client_max_window_bits") or
                          o.get("client_max_window_bits") or 15), value), None
    return None, why


def choose_answer(value, want):
    """The server side: answer the first acceptable offer in `value`, shaped by `want`.

    want: dict of the parameters the case asks for (the keys of _KNOWN; window bits as int).
    server_* and client_no_context_takeover may always be answered; client_max_window_bits
    only when the client offered it (RFC 7692 7.1.2.2). Returns (header, Params) or
    (None, None) when the client offered nothing we can accept."""
    for name, params in parse_extensions(value):
        if name != NAME or not _params_ok(params, False):
            continue
        o = dict(params)
        ans = []
        if want.get("server_no_context_takeover") or "server_no_context_takeover" in o:
            ans.append(("server_no_context_takeover", None))
        if want.get("client_no_context_takeover"):
            ans.append(("client_no_context_takeover", None))
        sb = want.get("server_max_window_bits")
        if "server_max_window_bits" in o:
            sb = min(sb or 15, int(o["server_max_window_bits"]))
        if sb:
            ans.append(("server_max_window_bits", str(sb)))
        cb = None
        if "client_max_window_bits" in o and want.get("client_max_window_bits"):
            cb = want["client_max_window_bits"]
            if o["client_max_window_bits"] is not None:
                cb = min(cb, int(o["client_max_window_bits"]))
            ans.append(("client_max_window_bits", str(cb)))
        header = format_offer(ans)
        return header, Params("server_no_context_takeover" in dict(ans),
                              "client_no_context_takeover" in dict(ans) or
                              "client_no_context_takeover" in o, sb or 15, cb or 15, header)
    return None, None


class Codec:
    """Per-connection compressor and inflater honouring the negotiated parameters.

    role "client": we compress with the client_* parameters and inflate the server's messages
    with the server_* ones; "server": the reverse. Without context takeover each message gets a
    fresh zlib stream, so a peer that still refers to an earlier message fails to inflate
    (RFC 7692 7.2.3.2 / 8.1.1); the inflater's window is the negotiated one, so a peer that
    uses a larger window than agreed fails with "invalid distance too far back" (8.1.2)."""

    def __init__(self, params, role):
        mine, theirs = ("client", "server") if role == "client" else ("server", "client")
        self.send_bits = getattr(params, mine + "_bits")
        self.send_no_ctx = getattr(params, mine + "_no_ctx")
        self.recv_bits = getattr(params, theirs + "_bits")
        self.recv_no_ctx = getattr(params, theirs + "_no_ctx")
        self._c = None
        self._d = None

    def _compressor(self):
        if self.send_bits == 8:
            # zlib's deflate cannot make an 8-bit window (deflateInit2 refuses raw -8): use a
            # 9-bit stream without back-references (Huffman only), valid for any window.
            return zlib.compressobj(6, zlib.DEFLATED, -9, 8, zlib.Z_HUFFMAN_ONLY)
        return zlib.compressobj(6, zlib.DEFLATED, -self.send_bits)

    def compress(self, payload):
        """RFC 7692 7.2.1: deflate, sync-flush, drop the trailing 00 00 ff ff."""
        if self._c is None or self.send_no_ctx:
            self._c = self._compressor()
        out = self._c.compress(bytes(payload)) + self._c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TAIL)
        return out[:-4]

    def inflate(self, payload, limit):
        """RFC 7692 7.2.2: append 00 00 ff ff and inflate. Raises zlib.error or ValueError."""
        if self._d is None or self.recv_no_ctx or self._d.eof:
            self._d = zlib.decompressobj(-self.recv_bits)
        # zlib's inflate checks a distance against the window *plus what this call has
        # written so far* (the output buffer doubles as window), so one big call would accept
        # any distance. Small steps of 1/8 window make the check hold to within 12.5%:
        # a peer using a 9-bit window where 8 was agreed, or 15 for 9, still fails.
        step = max(32, (1 << self.recv_bits) // 8)
        parts, total = [], 0
        data = bytes(payload) + TAIL
        while True:
            out = self._d.decompress(data, step)
            parts.append(out)
            total += len(out)
            if total > limit:
                raise ValueError("inflates to more than %d bytes" % limit)
            data = self._d.unconsumed_tail
            if not data and len(out) < step:
                break
        return b"".join(parts)
