#!/usr/bin/env python3
"""GET /api/stats latency with N cached entries on a real server (not a test).
(Also the server CPU per request of the dashboard's top-entries query.)

Serves a docroot of N files of 200 bytes (default 60,000), requests each once
over keep-alive connections on 127.0.0.1 so all are cached and committed to the
store, then times GET /api/stats on the admin port with curl (time_total) and
prints the median and the 99th percentile, with the store's entry count; then
sends --runs requests on one keep-alive connection and prints their wall time
(min, median) and the server's CPU time per request (/proc/PID/stat), which a
loaded machine does not inflate the way it does wall time.

Then hits on one cached file under wrk (-t2 -c64 --latency), rounds alternating
without and with a dashboard's polling (GET /api/stats every second and the top
entries, /api/entries?sort=hits&limit=10, every second too, five times the
dashboard's rate): req/s and p99 of the hits for each.

usage: Tools/store-bench/api_stats.py [--entries N] [--bin PATH] [--runs R] [--rounds K]
(default binary: .build/release/capuchin, else .build/debug/capuchin)
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("capuchin exited with %d" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("port %d not listening after %d s" % (port, seconds))


def request_all(port, paths):
    def run(part):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for p in part:
            c.request("GET", p)
            r = c.getresponse()
            r.read()
            if r.status != 200:
                raise SystemExit("GET %s: %d" % (p, r.status))
        c.close()
    threads = [threading.Thread(target=run, args=(paths[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def stats(admin_port):
    c = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=10)
    c.request("GET", "/api/stats")
    body = json.loads(c.getresponse().read())
    c.close()
    return body


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def keepalive_stats(admin_port, pid, runs, path="/api/stats"):
    c = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=10)
    walls = []
    cpu0 = cpu_seconds(pid)
    for _ in range(runs):
        t = time.perf_counter()
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        walls.append((time.perf_counter() - t) * 1e3)
    cpu = cpu_seconds(pid) - cpu0
    c.close()
    walls.sort()
    print("GET %s (keep-alive, %d requests): wall min %.3f ms, median %.3f ms; server CPU %.3f ms per request"
          % (path, runs, walls[0], statistics.median(walls), cpu * 1e3 / runs))


def dashboard_poller(admin_port, stop):
    """What an open dashboard asks for, once a second each (the page asks every 1 s and 5 s)."""
    while not stop.is_set():
        for path in ("/api/stats", "/api/entries?sort=hits&limit=10"):
            try:
                c = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=10)
                c.request("GET", path)
                c.getresponse().read()
                c.close()
            except OSError:
                pass
        stop.wait(1.0)


def wrk_hits(port, path, seconds):
    out = subprocess.run(["wrk", "-t2", "-c64", "-d%ds" % seconds, "--latency", "http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, check=True).stdout
    rps = float(out.split("Requests/sec:")[1].split()[0])
    p99 = out.split(" 99%")[1].split()[0]
    return rps, p99


def dashboard_effect(port, admin_port, path, rounds):
    print("hits on %s while the dashboard polls (wrk -t2 -c64 -d5s, alternating):" % path)
    for r in range(rounds):
        for polling in (False, True):
            stop = threading.Event()
            t = threading.Thread(target=dashboard_poller, args=(admin_port, stop))
            if polling:
                t.start()
            rps, p99 = wrk_hits(port, path, 5)
            stop.set()
            if polling:
                t.join()
            print("  round %d %-22s %9.0f req/s  p99 %s" % (r + 1, "dashboard polling" if polling else "no dashboard", rps, p99))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=60000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--bin")
    ap.add_argument("--rounds", type=int, default=3, help="alternating wrk rounds without/with the dashboard")
    args = ap.parse_args()
    binary = args.bin or next(p for p in (os.path.join(REPO, ".build", b, "capuchin") for b in ("release", "debug"))
                              if os.path.exists(p))
    work = tempfile.mkdtemp(prefix="api-stats-")
    root = os.path.join(work, "www")
    for d in range(args.entries // 1000 + 1):
        os.makedirs(os.path.join(root, "d%d" % d), exist_ok=True)
    paths = []
    body = b"x" * 199 + b"\n"
    for i in range(args.entries):
        rel = "/d%d/f%d.html" % (i // 1000, i)
        with open(root + rel, "wb") as f:
            f.write(body)
        paths.append(rel)
    port, admin_port = free_port(), free_port()
    config = os.path.join(work, "capuchin.yaml")
    with open(config, "w") as f:
        f.write("server:\n  listen: 127.0.0.1\n  port: %d\n  workers: 2\n"
                "sites:\n  - root: %s\n    default: true\n"
                "plugins:\n  admin: true\n  cache: true\n"
                "cache:\n  dir: %s\n  capacity_entries: %d\n  commit_interval_ms: 50\n"
                "admin:\n  port: %d\n  bind: 127.0.0.1\nlogging:\n  level: warn\n"
                % (port, root, os.path.join(work, "cache"), args.entries + 1000, admin_port))
    proc = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        wait_port(admin_port, proc)
        t0 = time.time()
        request_all(port, paths)
        print("requested %d files in %.1f s (%s)" % (len(paths), time.time() - t0, binary))
        deadline = time.time() + 30
        while time.time() < deadline:
            s = stats(admin_port)
            if (s.get("store") or {}).get("entries", 0) >= args.entries:
                break
            time.sleep(0.2)
        print("cache entries %s, store entries %s" % (s["cache"]["entries"], s["store"]["entries"]))
        times = []
        for _ in range(args.runs):
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{time_starttransfer} %{time_connect}",
                                  "http://127.0.0.1:%d/api/stats" % admin_port], capture_output=True, text=True, check=True)
            total, ttfb, connect = (float(x) for x in out.stdout.split())
            times.append((total * 1e3, (ttfb - connect) * 1e3))
        totals = sorted(t[0] for t in times)
        server = sorted(t[1] for t in times)
        print("GET /api/stats (curl time_total): median %.3f ms, p99 %.3f ms over %d runs"
              % (statistics.median(totals), totals[len(totals) * 99 // 100], args.runs))
        print("GET /api/stats (first byte after connect): median %.3f ms, p99 %.3f ms"
              % (statistics.median(server), server[len(server) * 99 // 100]))
        keepalive_stats(admin_port, proc.pid, max(args.runs, 2000))
        # The dashboard's other poll: the ten most-hit entries.
        keepalive_stats(admin_port, proc.pid, args.runs, "/api/entries?sort=hits&limit=10")
        dashboard_effect(port, admin_port, paths[0], args.rounds)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
