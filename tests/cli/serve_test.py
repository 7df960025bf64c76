#!/usr/bin/env python3
"""wsclean serve, connect and proxy, end to end on loopback: every event line of
`connect --json`, its exit status, what `serve --verbose` logged, the limits and the signals.
usage: serve_test.py WSCLEAN_BINARY        exit 77 (skipped) while `wsclean serve` is absent."""
import json
import os
import re
import signal
import subprocess
import shutil
import sys
import tempfile
import time

from clitest import WSCLEAN, Tool, check, close_of, finish, started


def connect(url, stdin="", *opts, timeout=10):
    # Nothing to type: wait for the server's close rather than race it with our own on EOF.
    if not stdin and "--no-close-on-eof" not in opts:
        opts = (*opts, "--no-close-on-eof")
    p = subprocess.run([WSCLEAN, "connect", "--json", *opts, url], input=stdin, capture_output=True, text=True,
                       timeout=timeout)
    events = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    return p.returncode, events, p.stderr




def main():
    if subprocess.run([WSCLEAN, "serve", "--help"], capture_output=True).returncode != 0:
        print("1..0 # SKIP wsclean serve is not available yet")
        sys.exit(77)

    help_text = subprocess.run([WSCLEAN, "serve", "--help"], capture_output=True, text=True).stdout
    for path in ["/close?code=", "/empty", "/fail", "/shutdown", "/restart", "/overload", "/policy", "/toobig"]:
        check(path in help_text, f"serve --help documents {path}")
    check(subprocess.run([WSCLEAN, "serve", "--bogus"], capture_output=True).returncode == 2, "serve: unknown option exits 2")

    srv = Tool("serve", "--port", "0", "--verbose")
    base = f"ws://127.0.0.1:{srv.port}"

    # The echo, text and binary, and a clean 1000 on EOF.
    rc, ev, err = connect(f"{base}/?t=echo", "hello\n/binary 01 02 ff\n//slash\n")
    types = [e["type"] for e in ev]
    check(rc == 0 and types == ["open", "message", "message", "message", "close"], "connect: open, 3 echoes, close; exit 0", ev)
    check(ev[0] == {"type": "open", "protocol": "", "extensions": ""}, "connect --json open line shape", ev[:1])
    check(ev[1] == {"type": "message", "binary": False, "data": "hello"}, "text echo", ev[1:2])
    check(ev[2] == {"type": "message", "binary": True, "data": "AQL/"}, "binary echo as base64", ev[2:3])
    check(ev[3]["data"] == "/slash", "//slash sends /slash", ev[3:4])
    c = close_of(ev)
    check(c and c["code"] == 1000 and c["wasClean"] and c["initiator"] == "local" and c["error"] is None,
          "EOF closes with 1000, clean, initiated locally", c)
    log = srv.log_close("t=echo")
    check(log and log["code"] == "1000" and log["wasClean"] == "true" and log["initiator"] == "remote",
          "serve logged the client's 1000 (remote, clean)", log)

    # Server-chosen codes and reasons.
    for code, reason in [(4000, "bye"), (3008, "timeout"), (1012, "")]:
        q = f"/close?code={code}" + (f"&reason={reason}" if reason else "") + f"&t=c{code}"
        rc, ev, err = connect(base + q)
        c = close_of(ev)
        check(rc == 3 and c and c["code"] == code and c["reason"] == reason and c["wasClean"] and c["initiator"] == "remote",
              f"/close {code}: CloseEvent {code} {reason!r} clean, exit 3", (rc, c))
        log = srv.log_close(f"t=c{code}")
        check(log and log["sent"] == str(code) and log["initiator"] == "local", f"serve logged sent={code}", log)
    for path, code in [("/empty", 1005), ("/fail", 1011), ("/shutdown", 1001), ("/overload", 1013), ("/policy", 1008),
                       ("/protocol-error", 1002), ("/badutf8", 1007)]:
        rc, ev, err = connect(base + path)
        c = close_of(ev)
        check(rc == 3 and c and c["code"] == code and c["wasClean"], f"{path}: CloseEvent {code}, exit 3", (rc, c))
    rc, ev, err = connect(base + "/toobig", "x" * 200 + "\n", "--no-close-on-eof")
    check(close_of(ev) and close_of(ev)["code"] == 1009, "/toobig: 200 bytes -> 1009", ev)
    rc, ev, err = connect(base + "/text-only", "/binary 00\n", "--no-close-on-eof")
    check(close_of(ev) and close_of(ev)["code"] == 1003, "/text-only: binary -> 1003", ev)

    # close() as a browser: refused codes and reasons keep the connection open.
    rc, ev, err = connect(f"{base}/", "/close 1001 x\n/close 1000 " + "r" * 124 + "\nstill open\n/close 4999 done\n")
    exc = [e for e in ev if e["type"] == "exception"]
    check([e["name"] for e in exc] == ["InvalidAccessError", "SyntaxError"] and "InvalidAccessError" in err,
          "/close 1001 -> InvalidAccessError, 124-byte reason -> SyntaxError", exc)
    check(any(e.get("data") == "still open" for e in ev), "the connection stayed open after the refusals", ev)
    c = close_of(ev)
    check(rc == 3 and c and c["code"] == 4999 and c["codeSent"] == 4999, "then /close 4999 closes with 4999 (exit 3)", c)

    # Failures: nothing listening, and the origin check.
    rc, ev, err = connect("ws://127.0.0.1:1/")
    c = close_of(ev)
    check(rc == 1 and [e["type"] for e in ev] == ["error", "close"] and c["code"] == 1006 and not c["wasClean"],
          "nothing listening: error then close 1006, exit 1", (rc, ev))
    rc, ev, err = connect("http://[bad")
    check(rc == 2, "a bad URL: exit 2", (rc, err))

    # Limits and policy on a second server.
    lim = Tool("serve", "--port", "0", "--verbose", "--max-message", "16", "--binary-only", "--max-connections", "1",
               "--origin", "http://ok.example")
    lbase = f"ws://127.0.0.1:{lim.port}"
    # With --max-connections 1 the next connection waits until the server has seen the last one
    # end (its TCP close may come a turn after the client's): otherwise it may get 1013.
    rc, ev, err = connect(lbase + "/?t=big", "/binary " + "00" * 20 + "\n", "--origin", "http://ok.example", "--no-close-on-eof")
    check(close_of(ev) and close_of(ev)["code"] == 1009, "--max-message 16: 20 bytes -> 1009", ev)
    lim.log_close("t=big")
    rc, ev, err = connect(lbase + "/?t=text", "text\n", "--origin", "http://ok.example", "--no-close-on-eof")
    check(close_of(ev) and close_of(ev)["code"] == 1003, "--binary-only: text -> 1003", ev)
    lim.log_close("t=text")
    rc, ev, err = connect(lbase + "/", "", "--origin", "http://evil.example")
    check(rc == 1 and ev and ev[0]["type"] == "error" and "403" in ev[0]["message"],
          "--origin: another origin gets 403 (error, 1006, exit 1)", (rc, ev))
    held = subprocess.Popen([WSCLEAN, "connect", "--json", "--no-close-on-eof", "--origin", "http://ok.example", lbase + "/?t=held"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    rc, ev, err = connect(lbase + "/", "", "--origin", "http://ok.example")
    check(close_of(ev) and close_of(ev)["code"] == 1013, "--max-connections 1: the second gets 1013", ev)
    # SIGHUP: 1012 to everyone, the server keeps serving; SIGTERM: 1001 and exit 0.
    lim.p.send_signal(signal.SIGHUP)
    out, _ = held.communicate(timeout=10)
    c = close_of([json.loads(l) for l in out.splitlines() if l.startswith("{")])
    check(held.returncode == 3 and c and c["code"] == 1012, "SIGHUP: the open connection gets 1012", (held.returncode, c))
    held = subprocess.Popen([WSCLEAN, "connect", "--json", "--no-close-on-eof", "--origin", "http://ok.example", lbase + "/?t=term"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    rc = lim.stop(signal.SIGTERM)
    out, _ = held.communicate(timeout=10)
    c = close_of([json.loads(l) for l in out.splitlines() if l.startswith("{")])
    check(c and c["code"] == 1001 and c["wasClean"], "SIGTERM: the open connection gets 1001, clean", c)
    check(rc == 0, "serve exits 0 after SIGTERM", rc)
    log = lim.log_close("t=term")
    check(log and log["sent"] == "1001" and log["wasClean"] == "true", "serve logged sent=1001 on shutdown", log)

    # --idle-timeout: a silent client is closed (1001 Going Away, RFC 6455 7.4.1).
    idle = Tool("serve", "--port", "0", "--idle-timeout", "300", "--quiet")
    t0 = time.time()
    rc, ev, err = connect(f"ws://127.0.0.1:{idle.port}/")
    c = close_of(ev)
    check(c and c["code"] == 1001 and 0.25 < time.time() - t0 < 5, "--idle-timeout 300: silent client closed with 1001",
          (c, time.time() - t0))
    rc = idle.stop()
    check(rc == 0 and idle.out.count("\n") == 1 and idle.err == "", "--quiet prints the address line only, exits 0",
          (rc, idle.out, idle.err))
    # --threads 2: two loops share the port; the probe's 30-odd connections land on both.
    two = Tool("serve", "--port", "0", "--threads", "2", "--verbose")
    p = subprocess.run([WSCLEAN, "probe", "--json", f"ws://127.0.0.1:{two.port}/"], capture_output=True, text=True, timeout=60)
    fails = [c for c in json.loads(p.stdout)["checks"] if c["result"] == "fail"] if p.stdout else p.stderr
    check(p.returncode == 0, "--threads 2: the probe passes", fails)
    rc = two.stop()
    ids = [int(i) for i in re.findall(r" close id=(\d+)", two.err)]
    check(rc == 0 and any(i % 2 == 0 for i in ids) and any(i % 2 == 1 for i in ids),
          "--threads 2: both loops served connections (even and odd ids), exit 0", (rc, sorted(ids)[:20]))

    # TLS: wss:// and https:// with a throwaway self-signed certificate for 127.0.0.1.
    if shutil.which("openssl"):
        tmp = tempfile.mkdtemp(prefix="wsclean-tls-")
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, check=True, timeout=30)
        tls = Tool("serve", "--port", "0", "--tls-cert", cert, "--tls-key", key)
        wss = f"wss://127.0.0.1:{tls.port}/"
        rc, ev, err = connect(wss, "over tls\n", "--ca", cert)
        check(rc == 0 and any(e.get("data") == "over tls" for e in ev), "wss:// with --ca: echo and clean 1000", ev)
        rc, ev, err = connect(wss, "x\n")
        c = close_of(ev)
        check(rc == 1 and c and c["code"] == 1015 and c["error"] == "WS_ERR_TLS_HANDSHAKE" and "verify" in c["detail"],
              "wss:// to an untrusted certificate: 1015 with the verification error", (rc, c))
        rc, ev, err = connect(wss, "x\n", "--insecure")
        check(rc == 0, "wss:// --insecure: connects", ev)
        p = subprocess.run([WSCLEAN, "probe", "--json", "--ca", cert, wss], capture_output=True, text=True, timeout=60)
        check(p.returncode == 0 and json.loads(p.stdout)["summary"]["fail"] == 0, "probe over wss:// (--ca): no failure",
              p.stdout[-400:])
        p = subprocess.run([WSCLEAN, "probe", wss], capture_output=True, text=True, timeout=60)
        check(p.returncode == 2 and "self-signed" in p.stdout, "probe over wss:// to an untrusted certificate: exit 2, says why",
              p.stdout[-300:])
        rc = tls.stop()
        check(rc == 0, "TLS serve exits 0", (rc, tls.out, tls.err))
        shutil.rmtree(tmp, ignore_errors=True)

    # The proxy: pass-through and 1014.
    px = Tool("proxy", "--listen", "0", "--to", base, "--verbose")
    rc, ev, err = connect(f"ws://127.0.0.1:{px.port}/close?code=4321&reason=through")
    c = close_of(ev)
    check(c and c["code"] == 4321 and c["reason"] == "through", "proxy: 4321 'through' passes unchanged", c)
    # Typed before the upstream is open and closed right after: queued, delivered, then closed.
    rc, ev, err = connect(f"ws://127.0.0.1:{px.port}/?t=px", "via proxy\n")
    log = srv.log_close("t=px")
    check(rc == 0 and log and log["code"] == "1000" and log["initiator"] == "remote",
          "proxy: the client's 1000 reaches the upstream after the queued message", (rc, log))
    p = subprocess.Popen([WSCLEAN, "connect", "--json", f"ws://127.0.0.1:{px.port}/"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    p.stdin.write("via proxy\n")
    p.stdin.flush()
    time.sleep(0.5)  # the echo comes back through the proxy before we end with EOF
    out, _ = p.communicate(timeout=10)
    ev = [json.loads(l) for l in out.splitlines()]
    check(any(e.get("data") == "via proxy" for e in ev) and p.returncode == 0, "proxy: messages both ways, clean 1000", ev)
    rc, ev, err = connect(f"ws://127.0.0.1:{px.port}/empty")
    check(close_of(ev) and close_of(ev)["code"] == 1005, "proxy: an empty close stays empty (1005)", ev)
    check(px.stop() == 0, "proxy exits 0 on SIGTERM")
    bad = Tool("proxy", "--listen", "0", "--to", "ws://127.0.0.1:1")
    rc, ev, err = connect(f"ws://127.0.0.1:{bad.port}/")
    c = close_of(ev)
    check(c and c["code"] == 1014 and c["reason"].startswith("bad gateway"), "proxy: unreachable upstream -> 1014", c)
    bad.stop()

    # The probe against our own server: a full score.
    p = subprocess.run([WSCLEAN, "probe", "--json", base + "/"], capture_output=True, text=True, timeout=60)
    doc = json.loads(p.stdout)
    fails = [c for c in doc["checks"] if c["result"] in ("fail", "warn")]
    check(p.returncode == 0 and not fails, f"probe of wsclean serve: {doc['summary']}", fails)

    check(srv.stop() == 0, "serve exits 0 on SIGTERM")
    finish()


main()
