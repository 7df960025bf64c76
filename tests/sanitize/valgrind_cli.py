#!/usr/bin/python3
"""The CLI smoke commands under valgrind (issue 9): no invalid access, no uninitialised use,
no definite or indirect leak. Python 3 standard library only.

usage: valgrind_cli.py VALGRIND WSCLEAN

Runs each command with `valgrind --error-exitcode=99 --leak-check=full
--errors-for-leak-kinds=definite,indirect`; a command must exit with its usual status (not 99).
When the CLI has `serve`, one server runs under valgrind through an open, an echo, a close and
SIGTERM, and must exit 0.
"""

import base64
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

VG_ERR = 99


def vg(valgrind, args, **kw):
    return [valgrind, "-q", f"--error-exitcode={VG_ERR}", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
            *args]


def smoke(valgrind, exe):
    fails = []
    cmds = [
        ([exe, "--help"], 0),
        ([exe, "--version"], 0),
        ([exe, "codes", "all"], 0),
        ([exe, "codes", "1006"], 0),
        ([exe, "codes", "all", "--json", "--lang", "fr"], 0),
        ([exe, "codes", "all", "--markdown"], 0),
        ([exe, "codes", "99999"], 2),
        ([exe, "nope"], 2),
    ]
    for extra in ("serve", "connect", "probe", "proxy"):
        r = subprocess.run([exe, extra, "--help"], capture_output=True)
        if r.returncode == 0:
            cmds.append(([exe, extra, "--help"], 0))
    for args, want in cmds:
        r = subprocess.run(vg(valgrind, args), capture_output=True, timeout=120)
        ok = r.returncode == want
        print(("ok  " if ok else "FAIL"), " ".join(args[1:]), "->", r.returncode)
        if not ok:
            fails.append(" ".join(args[1:]))
            sys.stdout.write(r.stderr.decode(errors="replace")[-3000:])
    return fails


def serve_round(valgrind, exe):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = subprocess.Popen(vg(valgrind, [exe, "serve", "--port", str(port), "--quiet"]),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while True:
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                if time.time() > deadline or p.poll() is not None:
                    return ["serve did not start"]
                time.sleep(0.2)
        key = base64.b64encode(os.urandom(16))
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += c.recv(4096)
        head, buf = buf.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            return ["serve: no 101"]
        mask = b"\x01\x02\x03\x04"
        payload = b"valgrind"
        c.sendall(b"\x81" + bytes([0x80 | len(payload)]) + mask +
                  bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        while len(buf) < 2 + len(payload):
            buf += c.recv(4096)
        if buf[2:2 + len(payload)] != payload:
            return ["serve: bad echo"]
        body = struct.pack("!H", 1000)
        c.sendall(b"\x88" + bytes([0x80 | len(body)]) + mask +
                  bytes(b ^ mask[i % 4] for i, b in enumerate(body)))
        c.settimeout(10)
        try:
            while c.recv(4096):
                pass
        except OSError:
            pass
        c.close()
        p.send_signal(signal.SIGTERM)
        rc = p.wait(60)
        err = p.stderr.read().decode(errors="replace")
        print(("ok  " if rc == 0 else "FAIL"), "serve: open, echo, close, SIGTERM ->", rc)
        if rc != 0:
            sys.stdout.write(err[-4000:])
            return ["serve round"]
        return []
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    valgrind, exe = sys.argv[1], sys.argv[2]
    # valgrind cannot read clang's DWARF 5 (it gives up on the whole binary): run a copy without
    # debug sections; the symbol table still names functions in its reports.
    tmp = tempfile.mkdtemp(prefix="wsclean-vg-")
    stripped = os.path.join(tmp, "wsclean")
    if subprocess.run(["objcopy", "--strip-debug", exe, stripped]).returncode == 0:
        exe = stripped
    fails = smoke(valgrind, exe)
    r = subprocess.run([exe, "serve", "--help"], capture_output=True)
    if r.returncode == 0:
        fails += serve_round(valgrind, exe)
    shutil.rmtree(tmp, ignore_errors=True)
    print("valgrind: %d failures" % len(fails) if fails else "valgrind clean")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
