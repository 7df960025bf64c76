"""Raw RFC 6455 framing and a socket wrapper for the conformance harness.

Standard library only, and deliberately no WebSocket library: the harness must be able to send
what a correct library never would (reserved bits, reserved opcodes, fragmented control frames,
invalid UTF-8, bad close payloads, one byte at a time) and to check every byte it gets back.

Nothing here judges a case; it only moves bytes and turns received bytes into events.
"""

import base64
import hashlib
import os
import select
import socket
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
OP_NAMES = {0: "cont", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}

# Largest frame or message the harness accepts from a peer: above the 16 MiB of section 9.
MAX_INBOUND = 64 << 20


class Timeout(Exception):
    """The case deadline passed while the harness was waiting for the peer."""


def now():
    return time.monotonic()


def accept_key(key):
    """RFC 6455 4.2.2: base64(SHA-1(key + GUID))."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def apply_mask(key, data):
    """XOR data with the 4-byte key (RFC 6455 5.3).

    Done as one big-integer XOR so that masking 16 MiB takes milliseconds, not seconds.
    """
    n = len(data)
    if n == 0:
        return b""
    reps = (n + 3) // 4
    k = (key * reps)[:n]
    x = int.from_bytes(data, "little") ^ int.from_bytes(k, "little")
    return x.to_bytes(n, "little")


def encode_frame(opcode, payload=b"", fin=True, rsv=0, mask_key=None):
    """One frame, header + (masked) payload, with the minimal length encoding (RFC 6455 5.2)."""
    payload = bytes(payload)
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    n = len(payload)
    mbit = 0x80 if mask_key is not None else 0
    if n <= 125:
        head = struct.pack("!BB", b0, mbit | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask_key is not None:
        return head + mask_key + apply_mask(mask_key, payload)
    return head + payload


class Frame:
    __slots__ = ("fin", "rsv", "opcode", "masked", "payload", "at")

    def __init__(self, fin, rsv, opcode, masked, payload, at):
        self.fin, self.rsv, self.opcode = fin, rsv, opcode
        self.masked, self.payload, self.at = masked, payload, at


def parse_frame(buf):
    """(Frame, consumed) for a complete frame at the start of buf, None if incomplete.

    Raises ValueError for a length the harness refuses (over MAX_INBOUND or with the top bit set).
    """
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    n = b1 & 0x7F
    pos = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n = struct.unpack_from("!H", buf, 2)[0]
        pos = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n = struct.unpack_from("!Q", buf, 2)[0]
        pos = 10
        if n >> 63:
            raise ValueError("64-bit length with the most significant bit set (RFC 6455 5.2)")
    if n > MAX_INBOUND:
        raise ValueError("frame of %d bytes is over the harness limit" % n)
    masked = bool(b1 & 0x80)
    key = None
    if masked:
        if len(buf) < pos + 4:
            return None
        key = bytes(buf[pos:pos + 4])
        pos += 4
    if len(buf) < pos + n:
        return None
    payload = bytes(buf[pos:pos + n])
    if masked:
        payload = apply_mask(key, payload)
    f = Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, masked, payload, now())
    return f, pos + n


class Conn:
    """A non-blocking TCP socket that never deadlocks: while it sends, it keeps reading.

    A peer that echoes can only keep reading while its own writes drain, so the harness must
    read during long sends (section 9 sends 16 MiB and thousands of messages back to back).
    """

    def __init__(self, sock):
        self.sock = sock
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.inbuf = bytearray()
        self.eof = False          # the peer's FIN (or RST) was seen
        self.eof_at = None
        self.reset = False        # it was an RST
        self.write_error = None   # the first send error (EPIPE/ECONNRESET)
        self.bytes_sent = 0
        self.closed = False

    def _read_some(self):
        if len(self.inbuf) > MAX_INBOUND + 16:
            return  # back-pressure: parse first
        try:
            data = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except (ConnectionResetError, ConnectionAbortedError, OSError):
            self.eof, self.reset, self.eof_at = True, True, now()
            return
        if not data:
            self.eof, self.eof_at = True, now()
        else:
            self.inbuf += data

    def send(self, data, deadline):
        """Send all of data (reading meanwhile). False if the peer is gone; Timeout at deadline."""
        view = memoryview(bytes(data))
        off = 0
        while off < len(view):
            if self.write_error is not None:
                return False
            left = deadline - now()
            if left <= 0:
                raise Timeout()
            rl = [] if self.eof else [self.sock]
            r, w, _ = select.select(rl, [self.sock], [], left)
            if r:
                self._read_some()
            if w:
                try:
                    k = self.sock.send(view[off:off + (1 << 20)])
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    self.write_error = e
                    return False
                off += k
                self.bytes_sent += k
        return True

    def wait_readable(self, deadline):
        """Read whatever arrives before deadline. False on timeout, True if something happened."""
        if self.eof:
            return True
        left = deadline - now()
        if left <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            return False
        self._read_some()
        return True

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass


def random_key():
    return base64.b64encode(os.urandom(16))


def read_http_head(conn, deadline, limit=16384):
    """Bytes of an HTTP head up to and including the blank line; leftovers stay in conn.inbuf."""
    while True:
        i = conn.inbuf.find(b"\r\n\r\n")
        if i >= 0:
            head = bytes(conn.inbuf[:i + 4])
            del conn.inbuf[:i + 4]
            return head
        if len(conn.inbuf) > limit:
            raise ValueError("HTTP head over %d bytes" % limit)
        if conn.eof:
            raise ConnectionError("peer closed during the opening handshake")
        if not conn.wait_readable(deadline):
            raise Timeout()


def parse_http_head(head):
    lines = head.decode("latin-1").split("\r\n")
    start = lines[0]
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = headers[key] + ", " + value if key in headers else value
    return start, headers


def client_handshake(conn, host_header, path, deadline, extra_headers=()):
    """RFC 6455 4.1 from the client side. Returns the response headers; raises on failure."""
    key = random_key()
    req = ["GET %s HTTP/1.1" % path, "Host: %s" % host_header, "Upgrade: websocket",
           "Connection: Upgrade", "Sec-WebSocket-Key: %s" % key.decode(),
           "Sec-WebSocket-Version: 13"]
    req.extend(extra_headers)
    if not conn.send(("\r\n".join(req) + "\r\n\r\n").encode("latin-1"), deadline):
        raise ConnectionError("send of the opening handshake failed")
    start, headers = parse_http_head(read_http_head(conn, deadline))
    parts = start.split(" ", 2)
    if len(parts) < 2 or parts[1] != "101":
        raise ConnectionError("handshake refused: %r" % start)
    if headers.get("sec-websocket-accept", "").encode() != accept_key(key):
        raise ConnectionError("wrong Sec-WebSocket-Accept %r" % headers.get("sec-websocket-accept"))
    if "upgrade" not in headers or headers["upgrade"].lower() != "websocket":
        raise ConnectionError("no 'Upgrade: websocket' in the response")
    return headers


def server_handshake(conn, deadline, extensions=None):
    """RFC 6455 4.2 from the server side. Returns (path, request headers); raises on failure.

    extensions(request headers) -> a Sec-WebSocket-Extensions answer or None (none sent)."""
    start, headers = parse_http_head(read_http_head(conn, deadline))
    parts = start.split(" ")
    if len(parts) != 3 or parts[0] != "GET":
        raise ConnectionError("not a GET request: %r" % start)
    key = headers.get("sec-websocket-key", "")
    problems = []
    if "websocket" not in headers.get("upgrade", "").lower():
        problems.append("no Upgrade: websocket")
    if "upgrade" not in headers.get("connection", "").lower():
        problems.append("no Connection: Upgrade")
    if headers.get("sec-websocket-version") != "13":
        problems.append("Sec-WebSocket-Version is not 13")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            problems.append("Sec-WebSocket-Key is not 16 bytes")
    except ValueError:
        problems.append("Sec-WebSocket-Key is not base64")
    if problems:
        conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                  deadline)
        raise ConnectionError("bad opening handshake: " + "; ".join(problems))
    ext = extensions(headers) if extensions else None
    resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\n%s\r\n" % (
                accept_key(key.encode()).decode(),
                "Sec-WebSocket-Extensions: %s\r\n" % ext if ext else ""))
    if not conn.send(resp.encode("latin-1"), deadline):
        raise ConnectionError("send of the handshake response failed")
    return parts[1], headers
