#!/usr/bin/env python3
"""Slow and stuck peers: slowloris and slow reads (Debian's slowhttptest) while
another client is probed, a client that never reads its response (closed after
write_timeout, others served meanwhile), running out of descriptors (server
under a low `ulimit -n` via prlimit, many connections: no busy loop — CPU time
measured — and it recovers), and a proxy backend that accepts and never answers
(504 within first_byte_timeout, other requests still served)."""
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rlib  # noqa: E402

BIG = 32 << 20


class Prober:
    """Fetches /a.txt every `every` seconds on a fresh connection while running."""

    def __init__(self, port, every=0.25):
        self.port, self.every = port, every
        self.ok = self.bad = 0
        self.worst = 0.0
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            t0 = time.time()
            st, _, body = rlib.get(self.port, "/a.txt", timeout=3)
            dt = time.time() - t0
            self.worst = max(self.worst, dt)
            if st == 200 and body == b"alpha\n":
                self.ok += 1
            else:
                self.bad += 1
            time.sleep(self.every)

    def stop(self):
        self.running = False
        self.thread.join(5)
        return self.ok, self.bad


def docroot(work):
    root = os.path.join(work, "www")
    rlib.write_files(root, {"a.txt": b"alpha\n", "index.html": b"home\n"})
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.truncate(BIG)
    return root


def main():
    a = rlib.parse_args(__doc__)
    rep = rlib.Report("slow")
    rlib.raise_nofile(4096)
    work = rlib.tempdir("slow")
    root = docroot(work)
    dur = 10 if a.short else 60
    port = rlib.free_port()
    srv = rlib.Capuchin.serve(a.capuchin, work, rlib.server_config(
        root, port, "header_timeout: 2s\nkeepalive_timeout: 5s\nwrite_timeout: 2s\nmax_connections: 3000",
        cache_dir=os.path.join(work, "cache")), port)
    try:
        slowhttptest(port, rep, dur, srv)
        never_reads(port, rep)
    finally:
        srv.stop()
    emfile(a, work, root, rep)
    silent_backend(a, work, root, rep)
    rep.finish()


def slowhttptest(port, rep, dur, srv):
    tool = shutil.which("slowhttptest")
    if not tool:
        rep.row("slowhttptest", "slowloris / slow read", 1, ["slowhttptest not installed (apt-get install -y slowhttptest)"])
        return
    modes = [("slowloris", ["-H", "-c", "1000", "-r", "300", "-i", "1", "-x", "24", "-p", "3"], "/a.txt"),
             ("slow read", ["-X", "-c", "500", "-r", "200", "-w", "4", "-y", "8", "-n", "2", "-z", "32", "-k", "3",
                            "-p", "3"], "/big.bin")]
    for name, args, path in modes:
        fails = []
        prober = Prober(port)
        cmd = [tool] + args + ["-l", str(dur), "-u", "http://127.0.0.1:%d%s" % (port, path)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=dur + 60)
            text = out.stdout + out.stderr
        except subprocess.TimeoutExpired:
            text = ""
            fails.append("slowhttptest did not finish")
        ok, bad = prober.stop()
        if bad or ok == 0:
            fails.append("probe requests during %s: %d ok, %d failed" % (name, ok, bad))
        if not srv.alive():
            fails.append("server died")
        # slowhttptest's own verdict: the service must stay available.
        if "service available:   NO" in text.replace("\t", " ") or "service available: NO" in text:
            fails.append("slowhttptest reports the service unavailable")
        rep.row("slowhttptest " + name, "%s for %d s, probing another client every 0.25 s (worst %.0f ms)"
                % (" ".join(args[:3]), dur, prober.worst * 1000), ok + bad, fails)


def never_reads(port, rep):
    fails = []
    readers = []
    for _ in range(20):
        c = rlib.connect(port)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        readers.append(c)
    prober = Prober(port, 0.1)
    time.sleep(6)  # write_timeout is 2 s
    ok, bad = prober.stop()
    if bad or ok == 0:
        fails.append("other clients while 20 never read: %d ok, %d failed" % (ok, bad))
    closed_count = 0
    for c in readers:
        data, closed = rlib.read_until_close(c, limit=BIG + 4096, idle=2)
        if closed and len(data) < BIG:
            closed_count += 1
        c.close()
    if closed_count != len(readers):
        fails.append("%d of %d stalled readers not closed after write_timeout" % (len(readers) - closed_count, len(readers)))
    rep.row("client never reads", "20 clients request 32 MiB and never read; write_timeout 2 s; probes meanwhile",
            len(readers) + ok + bad, fails)


def emfile(a, work, root, rep):
    fails = []
    port = rlib.free_port()
    srv = rlib.Capuchin.serve(a.capuchin, work, rlib.server_config(
        root, port, "header_timeout: 30s\nkeepalive_timeout: 30s\nmax_connections: 10000", workers=2), port, nofile=64)
    held = []
    try:
        for _ in range(300):
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        time.sleep(0.5)
        cpu0 = rlib.proc_cpu_seconds(srv.pid)
        time.sleep(3)
        cpu = rlib.proc_cpu_seconds(srv.pid) - cpu0
        if cpu > 0.6:
            fails.append("busy loop at EMFILE: %.2f s CPU in 3 s" % cpu)
        if not srv.alive():
            fails.append("server died at EMFILE")
        for c in held:
            c.close()
        held = []
        deadline = time.time() + 10
        st = None
        while time.time() < deadline and st != 200:
            st, _, _ = rlib.get(port, "/a.txt", timeout=2)
            if st != 200:
                time.sleep(0.2)
        if st != 200:
            fails.append("no recovery after the connections closed (last status %s)" % st)
        log = srv.read_log()
        if "descriptor" not in log.lower() and "emfile" not in log.lower() and "too many open files" not in log.lower():
            fails.append("no log line naming the descriptor shortage")
        extra = "CPU %.2f s over 3 s at EMFILE" % cpu
    finally:
        for c in held:
            c.close()
        srv.stop()
    rep.row("EMFILE", "server under ulimit -n 64, 300 connections held, then released", 300, fails, extra)


def silent_backend(a, work, root, rep):
    fails = []
    silent = rlib.SilentBackend()
    port = rlib.free_port()
    extra = ("plugins:\n  proxy: true\n  cache: false\nproxy:\n  routes:\n    - match: '^/p/'\n      pool: p\n  pools:\n"
             "    p:\n      attempts: 1\n      connect_timeout: 1s\n      first_byte_timeout: 2s\n      backends:\n"
             "        - '%s'\n" % silent.address)
    srv = rlib.Capuchin.serve(a.capuchin, work, rlib.server_config(root, port, "header_timeout: 10s", extra=extra), port)
    results = []

    def hung():
        t0 = time.time()
        st, _, _ = rlib.get(port, "/p/x", timeout=15)
        results.append((st, time.time() - t0))
    try:
        ts = [threading.Thread(target=hung) for _ in range(10)]
        for t in ts:
            t.start()
        prober = Prober(port, 0.1)
        for t in ts:
            t.join(20)
        ok, bad = prober.stop()
        wrong = [r for r in results if r[0] != 504 or r[1] > 2 + 3]
        if wrong or len(results) != 10:
            fails.append("hung backend: %s (want 504 within 2 s + 3 s slack)" % [(s, round(t, 1)) for s, t in wrong][:4])
        if bad or ok == 0:
            fails.append("static requests meanwhile: %d ok, %d failed" % (ok, bad))
    finally:
        srv.stop()
        silent.stop()
    times = [round(t, 2) for _, t in results]
    rep.row("backend never answers", "10 proxied requests to a backend that accepts and is silent "
            "(first_byte_timeout 2 s), static probes meanwhile", 10 + ok + bad, fails,
            "504 after %s s" % (max(times) if times else "?"))


if __name__ == "__main__":
    main()
