#!/usr/bin/env python3
"""permessage-deflate interop: wsclean (peer.c) against Node ws, Python websockets and Chromium.

  run.py node|python|chromium --peer PATH/TO/interop_deflate_peer [--node-modules DIR]

Each scenario starts a server (ours or theirs) on a free loopback port, runs the other side as
the client, and passes when both exit 0: every message (text and binary, up to 200 KB, some
fragmented) echoed intact, each one compressed, the closing handshake done with 1000. Scenarios
cover both directions, context takeover on and off, and (Node) small and size-8 windows, where
zlib's 8-means-9 quirk shows. Exit 77 (skipped) when the peer is not installed.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
N = "30"


def start_server(cmd, env):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=env)
    deadline = time.time() + 15
    lines = []
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("ready "):
            return p, int(line.split()[1]), lines
    p.kill()
    p.wait()
    return None, 0, lines


def scenario(name, server_cmd, client_cmd_for_port, env):
    srv, port, lines = start_server(server_cmd, env)
    if not srv:
        return False, "".join(lines) + "server did not start\n"
    try:
        cli = subprocess.run(client_cmd_for_port(port), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=60, env=env)
        cli_out, cli_rc = cli.stdout, cli.returncode
    except subprocess.TimeoutExpired as e:
        cli_out, cli_rc = (e.stdout or "") if isinstance(e.stdout, str) else "", -1
    try:
        srv_out, _ = srv.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        srv.kill()
        srv_out, _ = srv.communicate()
    out = "".join(lines) + (srv_out or "") + cli_out
    return cli_rc == 0 and srv.returncode == 0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("group", choices=["node", "python", "chromium"])
    ap.add_argument("--peer", required=True)
    ap.add_argument("--node-modules", default=os.path.join(HERE, "..", "peers", "node_modules"))
    a = ap.parse_args()
    env = dict(os.environ, WS_NODE_MODULES=a.node_modules)
    peer = a.peer
    runs = []
    if a.group == "node":
        if not os.path.isdir(os.path.join(a.node_modules, "ws")) or \
                subprocess.run(["node", "--version"], capture_output=True).returncode != 0:
            print("skipped: node or the ws package is missing")
            return 77
        js = os.path.join(HERE, "node_peer.js")
        for nct in ("0", "1"):
            runs.append(("wsclean client -> ws server, no_context_takeover=" + nct,
                         ["node", js, "server", nct],
                         lambda port, nct=nct: [peer, "client", str(port), nct, N]))
            runs.append(("ws client -> wsclean server, no_context_takeover=" + nct,
                         [peer, "server", "0", nct],
                         lambda port, nct=nct: ["node", js, "client", str(port), nct, N]))
        for sw, cw in (("9", "9"), ("10", "8"), ("8", "12")):
            runs.append(("wsclean client -> ws server, server_max_window_bits=%s "
                         "client_max_window_bits=%s" % (sw, cw),
                         ["node", js, "server", "0", sw, cw],
                         lambda port: [peer, "client", str(port), "0", N]))
    elif a.group == "chromium":
        if not os.path.exists("/usr/bin/chromium") or \
                not os.path.isdir(os.path.join(a.node_modules, "playwright-core")):
            print("skipped: /usr/bin/chromium or playwright-core is missing")
            return 77
        js = os.path.join(HERE, "chromium_peer.js")
        for nct in ("0", "1"):
            runs.append(("Chromium -> wsclean server, no_context_takeover=" + nct,
                         [peer, "server", "0", nct],
                         lambda port: ["node", js, str(port), N]))
    else:
        if subprocess.run([PY, "-c", "import websockets"], capture_output=True).returncode != 0:
            print("skipped: Python websockets is missing")
            return 77
        py = os.path.join(HERE, "py_peer.py")
        for nct in ("0", "1"):
            runs.append(("wsclean client -> websockets server, no_context_takeover=" + nct,
                         [PY, py, "server", nct],
                         lambda port, nct=nct: [peer, "client", str(port), nct, N]))
            runs.append(("websockets client -> wsclean server, no_context_takeover=" + nct,
                         [peer, "server", "0", nct],
                         lambda port, nct=nct: [PY, py, "client", str(port), nct, N]))
    passed = failed = 0
    for name, server_cmd, client_cmd in runs:
        ok, out = scenario(name, server_cmd, client_cmd, env)
        print(("ok   " if ok else "FAIL ") + name)
        for line in out.splitlines():
            if ok and not ("negotiated" in line or "answered" in line or "accepted" in line):
                continue
            print("       " + line)
        passed, failed = passed + ok, failed + (not ok)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
