#!/usr/bin/python3
"""Run the conformance suite against every target and write RESULTS.md.

    /usr/bin/python3 tests/conformance/run_all.py --out tests/conformance/RESULTS.md

runs the harness against each target (below), writes one JSON per target into
tests/conformance/results/ and the summary tables into RESULTS.md between the GENERATED
markers (the prose around them is kept). Targets:

    py-server       Python websockets echo server      (harness in client mode)
    py-client       Python websockets echo client      (harness in server mode)
    ws-server       Node ws echo server
    ws-client       Node ws echo client
    wsclean-server  `wsclean serve` (found with --wsclean, default build/wsclean)
    wsclean-client  `wsclean connect URL --echo`

A target whose program is missing (no node, no wsclean binary, a wsclean without the serve or
connect command) is skipped. CTest uses the same script for one target at a time:

    run_all.py --targets wsclean-server --wsclean PATH --strict --no-report
        exit 0 = no FAILED (and no NON-STRICT with --strict), 1 = some, 77 = skipped
    run_all.py --targets py-server --expect
        compare every verdict with expected/<target>.json (the harness self-test)
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
SKIP = 77

# The wsclean flags the suite relies on (issue 7): an echo server and an echo client.
# --deflate: the server accepts permessage-deflate offers (off by default) for sections 12/13;
# the client offers it by default and says so. Without an offer nothing else changes.
WSCLEAN_SERVE = "{bin} serve --host 127.0.0.1 --port {port} --max-message 67108864 " \
                "--close-timeout 1000 --deflate"
WSCLEAN_CONNECT = "{bin} connect {url} --echo --deflate --max-message 67108864 " \
                  "--close-timeout 1000"

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")

# A small set of cases covering every family, for the slower client-side peer self-tests
# (each client-side case starts a fresh interpreter).
QUICK = ("1.1.1,1.1.3,1.1.7,1.1.9,1.2.8,2.1,2.4,2.5,2.10,3.1,3.15,3.22,4.1.1,4.2.2,5.1,5.3,5.6,"
         "5.11,5.16,5.18,6.2.3,6.3.2,6.4.1,6.4.3,6.7.1,6.9.1,6.13.1,6.16.1,7.1.4,7.2.1,7.3.1,"
         "7.3.2,7.3.6,7.5.1,7.7.12,7.9.5,9.1.3,9.7.2,10.1.3,12.1.4,12.2.11,13.1.3,13.3.2,13.4.4,"
         "13.8.3,13.12.1")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def have_node():
    try:
        subprocess.run(["node", "--version"], capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return os.path.isdir(os.path.join(REPO, "tests", "peers", "node_modules", "ws"))


def wsclean_supports(binary, command):
    """True if `binary command --help` works: the CLI has the command (serve/connect)."""
    if not binary or not os.access(binary, os.X_OK):
        return False
    try:
        r = subprocess.run([binary, command, "--help"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    out = (r.stdout + r.stderr).decode("utf-8", "replace").lower()
    if r.returncode != 0:
        return False
    if command == "connect" and "--echo" not in out:
        return False
    return True


def target_plan(name, opts):
    """(kind, server_argv_template or client_cmd, why_skipped)."""
    peers = os.path.join(HERE, "peers")
    if name == "py-server":
        return "server", [PY, os.path.join(peers, "py_echo_server.py"), "{port}"], None
    if name == "py-client":
        return "client", "%s %s {url}" % (PY, shlex.quote(os.path.join(peers,
                                                                         "py_echo_client.py"))), None
    if name == "lax-server":
        return "server", [PY, os.path.join(peers, "lax_echo_server.py"), "{port}"], None
    if name in ("ws-server", "ws-client"):
        if not have_node():
            return None, None, "node or tests/peers/node_modules/ws missing (npm ci in tests/peers)"
        if name == "ws-server":
            return "server", ["node", os.path.join(peers, "ws_echo_server.js"), "{port}"], None
        return "client", "node %s {url}" % shlex.quote(os.path.join(peers, "ws_echo_client.js")), \
            None
    if name in ("wsclean-server", "wsclean-client"):
        b = opts.wsclean
        if not b or not os.access(b, os.X_OK):
            return None, None, "no wsclean binary at %s" % b
        if name == "wsclean-server":
            if not wsclean_supports(b, "serve"):
                return None, None, "%s has no working `serve --help`" % b
            return "server", shlex.split(WSCLEAN_SERVE.format(bin=shlex.quote(b), port="{port}")), \
                None
        if not wsclean_supports(b, "connect"):
            return None, None, "%s has no `connect --help` mentioning --echo" % b
        return "client", WSCLEAN_CONNECT.format(bin=shlex.quote(b), url="{url}"), None
    return None, None, "unknown target %r" % name


def run_target(name, opts):
    """Run the harness against one target. Returns (result dict or None, problems, skipped)."""
    kind, plan, why = target_plan(name, opts)
    if kind is None:
        return None, [why], True
    out_json = os.path.join(opts.results_dir, "%s.json" % name)
    hargs = [PY, os.path.join(HERE, "harness.py")]
    common = ["--json", out_json, "--agent", name, "-q"]
    if opts.cases:
        common += ["--cases", opts.cases]
    if opts.timeout_scale != 1.0:
        common += ["--timeout-scale", str(opts.timeout_scale)]
    problems = []
    os.makedirs(opts.results_dir, exist_ok=True)
    if kind == "server":
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in plan]
        errfd, errpath = tempfile.mkstemp(prefix="wsclean-conformance-%s-" % name,
                                          suffix=".stderr")
        os.close(errfd)
        with open(errpath, "wb") as errf:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=errf)
        try:
            if not wait_port(port, proc, 10 * opts.timeout_scale):
                return None, ["%s did not listen on port %d (exit %s)" % (
                    " ".join(argv), port, proc.poll())], False
            url = "ws://127.0.0.1:%d/" % port
            r = subprocess.run(hargs + ["client", "--url", url] + common, timeout=600)
            if r.returncode not in (0, 1):
                problems.append("harness exited with %d" % r.returncode)
            if proc.poll() is not None:
                problems.append("the server under test exited during the run (status %s)"
                                % proc.returncode)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        with open(errpath, "rb") as f:
            err = f.read().decode("utf-8", "replace")
        os.unlink(errpath)
        if any(m in err for m in SANITIZER_MARKS):
            problems.append("sanitizer report from the server under test:\n" + err[-3000:])
    else:
        # The client's stderr per case goes to a scratch folder (the JSON keeps its tail).
        work = tempfile.mkdtemp(prefix="wsclean-conformance-%s-" % name)
        try:
            r = subprocess.run(hargs + ["server", "--client-cmd", plan, "--workdir", work] +
                               common, timeout=900)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if r.returncode not in (0, 1):
            problems.append("harness exited with %d" % r.returncode)
    try:
        with open(out_json) as f:
            text = f.read()
        # Results are committed: no absolute path of this checkout in them.
        text = text.replace(REPO + os.sep, "")
        if opts.wsclean and os.path.isabs(opts.wsclean):
            text = text.replace(opts.wsclean, os.path.basename(opts.wsclean))
        with open(out_json, "w") as f:
            f.write(text)
        res = json.loads(text)
    except (OSError, ValueError) as e:
        return None, problems + ["no results: %s" % e], False
    return res, problems, False


def compare_expected(name, res, like=None):
    """Differences between this run and expected/<name>.json (a verdict or a list of them).

    like="py": compare with the py-server/py-client expectations instead (the wiring test,
    where fake_wsclean.py stands in for wsclean and is Python websockets inside)."""
    if like:
        name = "%s-%s" % (like, name.rsplit("-", 1)[1])
    path = os.path.join(HERE, "expected", "%s.json" % name)
    with open(path) as f:
        exp = json.load(f)
    diffs = []
    seen = set()
    for c in res["cases"]:
        seen.add(c["id"])
        want = exp.get(c["id"])
        if want is None:
            diffs.append("%s: %s, but no expectation recorded" % (c["id"], c["verdict"]))
            continue
        allowed = want if isinstance(want, list) else [want]
        if c["verdict"] not in allowed:
            diffs.append("%s: %s, expected %s (%s)" % (c["id"], c["verdict"], "/".join(allowed),
                                                       "; ".join(c["notes"])[:300]))
    return diffs


def load_known(name):
    """expected/<target>.known.json: {case id: why} for wsclean bugs already reported.

    A known case does not fail the run (it is printed as KNOWN), so that main stays green
    while its owner fixes it; when it passes, the run says to delete the entry."""
    path = os.path.join(HERE, "expected", "%s.known.json" % name)
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        return {}


# ---- RESULTS.md ---------------------------------------------------------------------------
BEGIN, END = "<!-- BEGIN GENERATED by run_all.py -->", "<!-- END GENERATED -->"
SECTION_NAMES = {"1": "framing", "2": "ping/pong", "3": "reserved bits", "4": "opcodes",
                 "5": "fragmentation", "6": "UTF-8", "7": "close", "9": "throughput",
                 "10": "auto-fragmentation", "12": "deflate", "13": "deflate"}
VERDICTS = ("OK", "NON-STRICT", "INFORMATIONAL", "FAILED")


def _sec_key(s):
    return int(s) if s.isdigit() else 999


def render(results, skipped, wsclean_label=None):
    lines = [BEGIN, ""]
    lines.append("Generated %s by `/usr/bin/python3 tests/conformance/run_all.py --out "
                 "tests/conformance/RESULTS.md`." % time.strftime("%Y-%m-%d %H:%M UTC",
                                                                 time.gmtime()))
    lines.append("")
    if wsclean_label and any(n.startswith("wsclean") for n in results):
        lines.append("wsclean build under test: %s." % wsclean_label)
        lines.append("")
    names = [n for n in results]
    lines.append("### Totals")
    lines.append("")
    lines.append("| target | side under test | cases | OK | NON-STRICT | INFORMATIONAL | FAILED "
                 "| run time |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for n in names:
        r = results[n]
        t = r["totals"]
        lines.append("| %s | %s | %d | %d | %d | %d | %d | %.1f s |" % (
            n, r["side_under_test"], len(r["cases"]), t["OK"], t["NON-STRICT"],
            t["INFORMATIONAL"], t["FAILED"], r["elapsed_s"]))
    for n, why in skipped:
        lines.append("| %s | — | skipped: %s | | | | | |" % (n, why))
    lines.append("")
    lines.append("### Per section (OK / NON-STRICT / INFORMATIONAL / FAILED)")
    lines.append("")
    secs = sorted({s for r in results.values() for s in r["summary"]}, key=_sec_key)
    lines.append("| section | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for s in secs:
        row = ["%s %s" % (s, SECTION_NAMES.get(s, ""))]
        for n in names:
            c = results[n]["summary"].get(s)
            row.append("—" if c is None else "/".join(str(c[v]) for v in VERDICTS))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("### Cases that are not OK")
    lines.append("")
    for n in names:
        bad = [c for c in results[n]["cases"] if c["verdict"] != "OK"]
        lines.append("**%s** (%d):" % (n, len(bad)))
        lines.append("")
        if not bad:
            lines.append("- none")
        for c in bad:
            detail = "; ".join(x for x in c["notes"]) or ", ".join(
                "%s=%s" % kv for kv in sorted(c["info"].items()))
            if c["verdict"] == "INFORMATIONAL" and c["info"]:
                detail = ", ".join("%s=%s" % kv for kv in sorted(c["info"].items()))
            lines.append("- `%s` %s — %s: %s" % (c["id"], c["verdict"], c["desc"],
                                                  detail.replace("|", "/")[:400]))
        lines.append("")
    lines.append("### Throughput (section 9, harness in Python: a floor, not a benchmark)")
    lines.append("")
    t9 = [c["id"] for c in next(iter(results.values()))["cases"] if c["section"] == "9"] \
        if results else []
    if t9:
        lines.append("| case | " + " | ".join(names) + " |")
        lines.append("|---|" + "---|" * len(names))
        by = {n: {c["id"]: c for c in results[n]["cases"]} for n in names}
        for cid in t9:
            row = ["%s %s" % (cid, by[names[0]][cid]["desc"])]
            for n in names:
                c = by[n].get(cid)
                if c is None or "roundtrip_ms" not in c["timings"]:
                    row.append(c["verdict"] if c else "—")
                else:
                    tm = c["timings"]
                    extra = tm.get("MiB_per_s") and "%s MiB/s" % tm["MiB_per_s"] or \
                        "%s msg/s" % tm.get("messages_per_s")
                    row.append("%.0f ms (%s)" % (tm["roundtrip_ms"], extra))
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_report(path, results, skipped, wsclean_label=None):
    text = render(results, skipped, wsclean_label)
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        old = "# Conformance results\n\n%s\n%s\n" % (BEGIN, END)
    if BEGIN in old and END in old:
        pre = old[:old.index(BEGIN)]
        post = old[old.index(END) + len(END):]
        new = pre + text + post
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    with open(path, "w") as f:
        f.write(new)


def main():
    ap = argparse.ArgumentParser(description="Run the conformance suite; write RESULTS.md.")
    ap.add_argument("--targets", default="py-server,py-client,ws-server,ws-client,"
                                         "wsclean-server,wsclean-client")
    ap.add_argument("--wsclean", default=os.path.join(REPO, "build", "wsclean"),
                    help="the wsclean CLI binary (default build/wsclean)")
    ap.add_argument("--wsclean-label", default=None,
                    help="how RESULTS.md names the wsclean build (default: its path)")
    ap.add_argument("--out", default=None, help="RESULTS.md to update (default: none)")
    ap.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--cases", default="", help="restrict the cases (harness --cases)")
    ap.add_argument("--quick", action="store_true", help="only the QUICK case list")
    ap.add_argument("--timeout-scale", type=float, default=1.0)
    ap.add_argument("--strict", action="store_true", help="NON-STRICT counts as failure")
    ap.add_argument("--expect", action="store_true",
                    help="compare with expected/<target>.json (harness self-test)")
    ap.add_argument("--expect-like", default=None, metavar="PEER",
                    help="with --expect: use expected/PEER-<side>.json (e.g. py)")
    ap.add_argument("--no-report", action="store_true")
    opts = ap.parse_args()
    if opts.quick:
        opts.cases = QUICK
    targets = [t.strip() for t in opts.targets.split(",") if t.strip()]
    results, skipped, failures = {}, [], []
    for name in targets:
        t0 = time.monotonic()
        res, problems, was_skipped = run_target(name, opts)
        if was_skipped:
            skipped.append((name, problems[0].replace(REPO + os.sep, "")))
            print("%s: SKIPPED (%s)" % (name, problems[0]), file=sys.stderr)
            continue
        failures += ["%s: %s" % (name, p) for p in problems]
        if res is None:
            continue
        results[name] = res
        t = res["totals"]
        print("%s: %d cases in %.1f s: %s" % (name, len(res["cases"]), time.monotonic() - t0,
                                              ", ".join("%s %d" % (v, t[v]) for v in VERDICTS)),
              file=sys.stderr)
        if opts.expect:
            diffs = compare_expected(name, res, opts.expect_like)
            failures += ["%s: %s" % (name, d) for d in diffs]
        else:
            known = load_known(name)
            for c in res["cases"]:
                bad = c["verdict"] == "FAILED" or (opts.strict and c["verdict"] == "NON-STRICT")
                if c["id"] in known:
                    if bad:
                        print("%s: %s %s: KNOWN (%s)" % (name, c["id"], c["verdict"],
                                                         known[c["id"]]), file=sys.stderr)
                    else:
                        print("%s: %s is %s now: delete it from expected/%s.known.json" % (
                            name, c["id"], c["verdict"], name), file=sys.stderr)
                    continue
                if bad:
                    failures.append("%s: %s %s: %s" % (name, c["id"], c["verdict"],
                                                       "; ".join(c["notes"])[:400]))
    if opts.out and not opts.no_report:
        write_report(opts.out, results, skipped, opts.wsclean_label or
                     opts.wsclean.replace(REPO + os.sep, ""))
    for f in failures:
        print(f, file=sys.stderr)
    if failures:
        return 1
    if not results and skipped:
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
