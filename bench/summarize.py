"""Summarize bench/run.sh raw results into a markdown table: medians, ratios to the best peer,
spread between rounds, and the load generator's own CPU (client-bound flags).

Usage: python3 bench/summarize.py RAW [--command CMD] [--rounds R] [--seconds S] [--idle-conns N]
RAW lines: "round=R server=S workload=W key=value ..." (one per run; failed=... for a failed run).
"""
import argparse
import platform
import statistics
import subprocess

WORKLOADS = [
    # id, title, metric key, unit, higher is better
    ("idle", "server memory per idle connection", "bytes_per_conn", "B", False),
    ("echo20", "100 conns x 20 B, one in flight each", "rate", "msg/s", True),
    ("echo20x1000", "1000 conns x 20 B, one in flight each", "rate", "msg/s", True),
    ("pipe20", "100 conns x 20 B, 16 frames per write", "rate", "msg/s", True),
    ("echo64k", "1 conn x 64 KiB binary echo", "MBps", "MB/s", True),
    ("echo1m", "1 conn x 1 MiB binary echo", "MBps", "MB/s", True),
    ("churn", "connect + handshake + 1 echo + clean close, 10 at a time", "rate", "conn/s", True),
]
SERVERS = ["wsclean", "bun", "lws", "node", "python"]
NAMES = {"wsclean": "wsclean", "bun": "Bun (uWS)", "lws": "libwebsockets", "node": "Node ws",
         "python": "Python websockets"}


def parse(path):
    runs = []
    with open(path) as f:
        for line in f:
            kv = {}
            for tok in line.split():
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    kv[k] = v
            if kv:
                runs.append(kv)
    return runs


def fmt(v, unit):
    if unit == "B":
        return "%d B" % v if abs(v) < 10000 else "%.1f KB" % (v / 1000)
    if v >= 1e6:
        return "%.2f M" % (v / 1e6)
    if v >= 1e4:
        return "%.0f k" % (v / 1e3)
    return "%.0f" % v if v >= 100 else "%.1f" % v


def machine_notes():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = "?"
    return "%s, %s CPUs, Linux %s" % (cpu, nproc, platform.release())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--command", default="bench/run.sh build")
    ap.add_argument("--rounds", default="?")
    ap.add_argument("--seconds", default="?")
    ap.add_argument("--idle-conns", default="?")
    a = ap.parse_args()
    runs = parse(a.raw)
    present = [s for s in SERVERS if any(r.get("server") == s for r in runs)]
    out = []
    out.append("Command: `%s` (%s rounds, %s s per workload, %s idle connections); machine: %s."
               % (a.command, a.rounds, a.seconds, a.idle_conns, machine_notes()))
    out.append("")
    out.append("Median over rounds; in brackets the ratio to the best peer (wsclean excluded) of the same"
               " run: for memory, bytes / best peer's bytes (lower is better); otherwise value / best"
               " peer's value (higher is better).")
    out.append("")
    out.append("| workload | " + " | ".join(NAMES[s] for s in present) + " |")
    out.append("|---|" + "---|" * len(present))
    med = {}
    spread = {}
    cpu = {}
    flags = {}
    ran = [w for w in WORKLOADS if any(r.get("workload") == w[0] for r in runs)]
    for wid, title, key, unit, higher in ran:
        for s in present:
            vals = [float(r[key]) for r in runs if r.get("workload") == wid and r.get("server") == s
                    and key in r and float(r[key]) >= 0]
            if not vals:
                continue
            m = statistics.median(vals)
            med[(wid, s)] = m
            spread[(wid, s)] = (max(vals) - min(vals)) / abs(m) * 100 if m else 0.0
            rs = [r for r in runs if r.get("workload") == wid and r.get("server") == s]
            cpu[(wid, s)] = statistics.median(float(r.get("client_cpu", 0)) for r in rs)
            notes = []
            nb = sum(1 for r in rs if r.get("client_bound") == "1")
            if nb:
                notes.append("client-bound %d/%d" % (nb, len(rs)))
            if wid == "churn":
                uncl = sum(int(r.get("unclean", 0)) for r in rs)
                so = sum(int(r.get("srv_other", 0)) for r in rs)
                sc = sum(int(r.get("srv_clean", 0)) for r in rs)
                notes.append("unclean: client %d, server %d of %d" % (uncl, so, so + sc))
            errs = sum(int(r.get("errors", 0)) + int(r.get("bad_echo", 0)) + int(r.get("hs_fail", 0))
                       + int(r.get("connect_fail", 0)) for r in rs)
            if errs:
                notes.append("errors %d" % errs)
            fails = sum(1 for r in runs if r.get("workload") == wid and r.get("server") == s and "failed" in r)
            if fails:
                notes.append("failed runs %d" % fails)
            flags[(wid, s)] = notes
        peers = [med[(wid, s)] for s in present if s != "wsclean" and (wid, s) in med]
        best = (max(peers) if higher else min(p for p in peers if p > 0)) if peers else None
        cells = []
        for s in present:
            if (wid, s) not in med:
                cells.append("-")
                continue
            m = med[(wid, s)]
            c = fmt(m, unit) + ("" if unit == "B" else " " + unit)
            if best:
                c += " (%.2f)" % (m / best)
            cells.append(c)
        out.append("| %s | %s |" % (title, " | ".join(cells)))
    out.append("")
    out.append("Spread between rounds, (max - min) / median, and the load generator's own CPU use"
               " (median fraction of its core; over 0.9 = client-bound: the server may be faster"
               " than shown):")
    out.append("")
    out.append("| workload | " + " | ".join(NAMES[s] for s in present) + " |")
    out.append("|---|" + "---|" * len(present))
    for wid, title, key, unit, higher in ran:
        cells = []
        for s in present:
            if (wid, s) not in spread:
                cells.append("-")
                continue
            c = "%.0f%%, cpu %.2f" % (spread[(wid, s)], cpu[(wid, s)])
            if flags[(wid, s)]:
                c += "; " + "; ".join(flags[(wid, s)])
            cells.append(c)
        out.append("| %s | %s |" % (wid, " | ".join(cells)))
    out.append("")
    out.append("Server CPU per message (median us of server CPU time / message echoed; churn: per"
               " connection cycle), from /proc/PID/stat (10 ms ticks), in brackets the ratio to"
               " the cheapest peer (lower is better): on a busy machine this moves less than the"
               " rates, which also measure waiting. Last column: the load generator's own CPU per"
               " message, median over all servers:")
    out.append("")
    out.append("| workload | " + " | ".join(NAMES[s] for s in present) + " | load generator |")
    out.append("|---|" + "---|" * (len(present) + 1))
    for wid, title, key, unit, higher in ran:
        if wid == "idle":
            continue
        cpu_med = {}
        for s in present:
            vals = [float(r["server_us_per_msg"]) for r in runs if r.get("workload") == wid
                    and r.get("server") == s and "server_us_per_msg" in r]
            if vals:
                cpu_med[s] = statistics.median(vals)
        peer_cpu = [v for s, v in cpu_med.items() if s != "wsclean" and v > 0]
        best_cpu = min(peer_cpu) if peer_cpu else None
        cells = []
        for s in present:
            if s not in cpu_med:
                cells.append("-")
            elif best_cpu:
                cells.append("%.2f (%.2f)" % (cpu_med[s], cpu_med[s] / best_cpu))
            else:
                cells.append("%.2f" % cpu_med[s])
        cv = [float(r["client_us_per_msg"]) for r in runs if r.get("workload") == wid and "client_us_per_msg" in r]
        cells.append("%.2f" % statistics.median(cv) if cv else "-")
        out.append("| %s | %s |" % (wid, " | ".join(cells)))
    lat_rows = [w for w in ran if w[0] in ("echo20", "echo20x1000", "echo64k", "echo1m")]
    if lat_rows:
        out.append("")
        out.append("Round-trip latency with one message in flight per connection, median over rounds of"
                   " each run's p50 / p99 (us; with 100 connections a message also waits for the"
                   " others' turns):")
        out.append("")
        out.append("| workload | " + " | ".join(NAMES[s] for s in present) + " |")
        out.append("|---|" + "---|" * len(present))
        for wid, title, key, unit, higher in lat_rows:
            cells = []
            for s in present:
                rs = [r for r in runs if r.get("workload") == wid and r.get("server") == s and "p50_us" in r]
                if not rs:
                    cells.append("-")
                    continue
                cells.append("%.0f / %.0f" % (statistics.median(float(r["p50_us"]) for r in rs),
                                              statistics.median(float(r["p99_us"]) for r in rs)))
            out.append("| %s | %s |" % (wid, " | ".join(cells)))
    print("\n".join(out))


if __name__ == "__main__":
    main()
