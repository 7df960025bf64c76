"""Shared pieces of the CLI end-to-end tests: TAP-style checks, and wsclean processes that run in
the background with their output collected (killed at exit if a failure left them running)."""
import atexit
import os
import re
import signal
import subprocess
import sys
import time

WSCLEAN = sys.argv[1] if len(sys.argv) > 1 else "wsclean"
results = []
started = []  # every long-running process


@atexit.register
def _cleanup():
    for p in started:
        if p.poll() is None:
            p.kill()


def check(cond, desc, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {desc}")
    if not cond and detail:
        print(f"  # {str(detail)[:800]}")


def finish():
    print(f"1..{len(results)}")
    sys.exit(0 if all(results) else 1)


def close_of(events):
    return next((e for e in events if e["type"] == "close"), None)


class Tool:
    """A long-running wsclean process whose output is collected line by line."""

    def __init__(self, *args, url_re=r"://127\.0\.0\.1:(\d+)/"):
        self.p = subprocess.Popen([WSCLEAN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(self.p)
        os.set_blocking(self.p.stdout.fileno(), False)
        os.set_blocking(self.p.stderr.fileno(), False)
        self.out, self.err = "", ""
        end = time.time() + 5
        while time.time() < end:
            self.poll()
            m = re.search(url_re, self.out)
            if m:
                self.port = int(m.group(1))
                return
            time.sleep(0.02)
        raise RuntimeError(f"wsclean {' '.join(args)} printed no URL: {self.out} {self.err}")

    def poll(self):
        for stream, name in ((self.p.stdout, "out"), (self.p.stderr, "err")):
            try:
                chunk = stream.read()
            except (BlockingIOError, TypeError):
                chunk = None
            if chunk:
                setattr(self, name, getattr(self, name) + chunk)

    def log_close(self, tag, wait=3.0):
        end = time.time() + wait
        while time.time() < end:
            self.poll()
            for line in self.err.splitlines():
                if " close id=" in line and tag in line:
                    return dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line))
            time.sleep(0.02)
        return None

    def stop(self, sig=signal.SIGTERM, wait=15):
        self.p.send_signal(sig)
        try:
            rc = self.p.wait(wait)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = None
        self.poll()
        return rc
