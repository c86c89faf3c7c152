#!/usr/bin/env python3
"""Crash recovery: kill -9 `capuchin serve` (file cache on) under load at random
moments and at chosen syscalls (strace inject), changing files between kills;
then the same for `capuchin proxy`'s cached responses.

After every kill: the store opens, `cachedump verify` reports only entries of
files changed since, every body served matches its file (sha256), every entry
seen committed before the kill is still there (unless its file changed), and
the hit ratio comes back to its level before the kill.
Prints the part's JSON rows as its last line (see Tools/reliability/run)."""
import collections
import http.server
import os
import random
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402

WARM_LIMIT = 10.0      # seconds a restart may take to reach its pre-kill hit ratio
WARM_SLACK = 0.05      # hit ratio tolerance (files changed while down are misses once)


class Load:
    """Bounded loopback load: `threads` keep-alive clients asking random paths,
    checking every complete response against the file on disk."""

    def __init__(self, port, paths, check, threads=3):
        self.port, self.paths, self.check = port, paths, check
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.responses = 0
        self.wrong = []
        self.errors = 0
        self.history = collections.deque(maxlen=20000)  # (time, hit)
        self.threads = [threading.Thread(target=self.run, args=(random.Random(i),), daemon=True) for i in range(threads)]
        for t in self.threads:
            t.start()

    def run(self, rng):
        c = fl.Client(self.port, timeout=3)
        while not self.stop_event.is_set():
            path = rng.choice(self.paths)
            try:
                status, headers, body = c.get(path)
            except Exception:  # noqa: BLE001 - the server dies under this load on purpose
                with self.lock:
                    self.errors += 1
                time.sleep(0.01)
                continue
            ok = self.check(path, status, body)
            with self.lock:
                self.responses += 1
                if not ok:
                    self.wrong.append(f"{path}: status {status}, {len(body)} bytes")
                self.history.append((time.monotonic(), headers.get("x-cache") == "HIT"))
        c.close()

    def ratio(self, since, until=None):
        with self.lock:
            xs = [h for t, h in self.history if t >= since and (until is None or t <= until)]
        return (sum(xs) / len(xs), len(xs)) if xs else (0.0, 0)

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=10)


class Tally:
    def __init__(self):
        self.kills = 0
        self.failed_kills = []
        self.responses = 0
        self.wrong = 0
        self.committed_checked = 0
        self.lost = 0
        self.verify_runs = 0
        self.verify_bad = 0
        self.warm = []
        self.not_warm = 0
        self.notes = []

    def fail(self, msg):
        self.notes.append(msg)
        fl.note("FAIL " + msg)


def file_paths_of(records):
    return {fl.key_path(k): r for k, r in records.items()}


def check_after_kill(a, t, cache_dir, seen, allowed_stale, label):
    """Verify and export the store of a killed server. Returns False on a failure."""
    ok = True
    rc, doc, err = fl.verify(a.cachedump, cache_dir)
    t.verify_runs += 1
    if doc is None or rc == 2:
        t.fail(f"{label}: store does not open/verify (exit {rc}): {err}")
        t.verify_bad += 1
        return False
    stale = {fl.key_path(s["key"]) for s in doc["stale"]}
    if not stale <= allowed_stale or doc["corrupt"]:
        t.verify_bad += 1
        t.fail(f"{label}: verify reports unchanged files stale: {sorted(stale - allowed_stale)[:5]} corrupt {doc['corrupt'][:3]}")
        ok = False
    post = file_paths_of(fl.export_records(a.cachedump, cache_dir))
    lost = [p for p in seen if p not in post and p not in allowed_stale]
    t.committed_checked += len(seen)
    if lost:
        t.lost += len(lost)
        t.fail(f"{label}: {len(lost)} committed entries lost, e.g. {lost[:3]}")
        ok = False
    return ok


def verify_changes(a, t, cache_dir, changed, maybe_stale, label):
    """After files changed while the server was down: verify must name every
    stored entry of a file changed now, and nothing but entries of files changed
    now or earlier without a run long enough to commit their removal
    (`maybe_stale`: a kill at a commit may undo the removal)."""
    rc, doc, err = fl.verify(a.cachedump, cache_dir)
    t.verify_runs += 1
    if doc is None:
        t.verify_bad += 1
        t.fail(f"{label}: verify failed after the changes: {err}")
        return
    stored = set(file_paths_of(fl.export_records(a.cachedump, cache_dir)))
    stale = {fl.key_path(s["key"]) for s in doc["stale"]}
    must = changed & stored
    may = (changed | maybe_stale) & stored
    if not (must <= stale <= may) or (rc == 0) != (not stale):
        t.verify_bad += 1
        t.fail(f"{label}: verify stale {sorted(stale)[:5]}: missing {sorted(must - stale)[:5]}, "
               f"unexpected {sorted(stale - may)[:5]} (exit {rc})")


def measure_warm(load, pre_ratio, started):
    """Seconds from the restart until a window of 100 responses reaches the pre-kill
    hit ratio; None when not within WARM_LIMIT."""
    deadline = time.monotonic() + WARM_LIMIT
    while time.monotonic() < deadline:
        with load.lock:
            window = [(tm, h) for tm, h in load.history if tm >= started][:100000]
        i = 0
        while i + 100 <= len(window):
            if sum(h for _, h in window[i:i + 100]) / 100 >= pre_ratio - WARM_SLACK:
                return window[i + 99][0] - started
            i += 25
        time.sleep(0.05)
    return None


def file_cache_kills(a, rng, kills, strace_points):
    tmp = fl.make_tmp("crashloop")
    t = Tally()
    strace_rows = []
    proc = None
    try:
        docs = fl.Docroot(os.path.join(tmp, "docroot"), 300, rng)
        cache_dir = os.path.join(tmp, "cache")
        paths = sorted(docs.expected)
        # Files changed since the last run long enough to commit the removal of
        # their stale entries (a run killed sooner may leave them in the store).
        pending = set()
        pre_ratio = 0.0
        plan = [("random", None)] * kills + strace_points
        for n, (kind, point) in enumerate(plan):
            label = f"kill {n + 1} ({kind}{'' if point is None else ' ' + point[0] + ' #' + str(point[1])})"
            strace = None
            if point is not None:
                strace = ["-e", f"trace={point[0]}", "-e", f"inject={point[0]}:signal=SIGKILL:when={point[1]}"]
            started = time.monotonic()
            proc = fl.start_serve(a.capuchin, tmp, docs.root, cache_dir, "  commit_interval_ms: 100", strace=strace)
            if not proc.wait_listening():
                if point is None or proc.alive():
                    t.fail(f"{label}: server did not start: {proc.log_text()[-600:]}")
                    t.failed_kills.append(label)
                    proc.kill9()
                    continue
                # Killed by the injection during start-up (the store's first commit).
                proc.reap()
                ok = check_after_kill(a, t, cache_dir, set(), pending, label)
                strace_rows.append((point, ok, "killed during start-up"))
                t.kills += 1
                continue
            listening = time.monotonic()
            load = Load(proc.port, paths, docs.check)
            warm = measure_warm(load, pre_ratio, started) if n > 0 else None
            if n > 0 and point is None:
                if warm is None:
                    t.not_warm += 1
                    t.fail(f"{label}: hit ratio did not return to {pre_ratio:.2f} within {WARM_LIMIT}s")
                else:
                    t.warm.append(warm)
            seen = set()
            if point is None:
                time.sleep(rng.uniform(0.2, 0.8))
                seen = set(file_paths_of(fl.export_records(a.cachedump, cache_dir)))
                time.sleep(rng.uniform(0.35, 0.9))
                pre_ratio = load.ratio(time.monotonic() - 0.5)[0]
                died = time.monotonic()
                proc.kill9()
                reached = True
            else:
                # Wait for the injected SIGKILL; snapshot what is committed meanwhile.
                deadline = time.monotonic() + 20
                while proc.alive() and time.monotonic() < deadline:
                    try:
                        seen = set(file_paths_of(fl.export_records(a.cachedump, cache_dir)))
                    except RuntimeError:
                        pass
                    time.sleep(0.2)
                reached = not proc.alive()
                died = time.monotonic()
                pre_ratio = load.ratio(time.monotonic() - 1.0)[0] if reached else pre_ratio
                proc.kill9()
            load.stop()
            t.responses += load.responses
            if load.wrong:
                t.wrong += len(load.wrong)
                t.fail(f"{label}: {len(load.wrong)} wrong bodies, e.g. {load.wrong[:3]}")
            ok = check_after_kill(a, t, cache_dir, seen, pending, label) and not load.wrong
            # A run killed at a chosen syscall may have lost the commit of the removals.
            if died - listening > 1.0 and reached and point is None:
                pending = set()
            if point is not None:
                strace_rows.append((point, ok, "injected kill reached" if reached else "syscall count not reached in 20 s"))
            t.kills += 1
            if not ok:
                t.failed_kills.append(label)
            changed = docs.mutate(rng.randint(3, 12))
            verify_changes(a, t, cache_dir, changed, pending, label)
            pending |= changed
        # One last start: the store opens and serves right after the last kill.
        proc = fl.start_serve(a.capuchin, tmp, docs.root, cache_dir, "  commit_interval_ms: 100")
        if not proc.wait_listening():
            t.fail(f"final start failed: {proc.log_text()[-600:]}")
            t.failed_kills.append("final start")
        else:
            c = fl.Client(proc.port)
            for p in paths:
                s, _, b = c.get(p)
                t.responses += 1
                if not docs.check(p, s, b):
                    t.wrong += 1
                    t.fail(f"final pass: wrong body for {p}")
            c.close()
        proc.term()
        return t, strace_rows
    finally:
        if proc is not None:
            proc.kill9()
        fl.remove_tmp(tmp)


def proxy_body(i, version):
    seed = fl.sha(f"{i}-{version}".encode()).encode()
    return (seed * (1 + (i * 37) % 200))[: 100 + (i * 997) % 20000]


class Backend(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # the proxy is killed mid-response on purpose


def make_backend():
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 - http.server's name
            try:
                i = int(self.path.rsplit("/", 1)[1])
            except ValueError:
                self.send_error(404)
                return
            body = proxy_body(i, 0)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Cache-Control", "public, max-age=3600")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = Backend(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def proxy_kills(a, rng, kills):
    tmp = fl.make_tmp("crashloop-proxy")
    backend = make_backend()
    proc = None
    t = Tally()
    try:
        cache_dir = os.path.join(tmp, "cache")
        index = os.path.join(cache_dir, "proxy-index")
        paths = [f"/o/{i}" for i in range(200)]

        def check(path, status, body):
            return status == 200 and body == proxy_body(int(path.rsplit("/", 1)[1]), 0)

        for n in range(kills):
            label = f"proxy kill {n + 1}"
            proc = fl.start_proxy(a.capuchin, tmp, backend.server_address[1], cache_dir)
            if not proc.wait_listening():
                t.fail(f"{label}: proxy did not start: {proc.log_text()[-600:]}")
                t.failed_kills.append(label)
                proc.kill9()
                continue
            load = Load(proc.port, paths, check)
            time.sleep(rng.uniform(0.3, 0.8))
            seen = set()
            if os.path.exists(index):
                seen = set(fl.export_records(a.cachedump, index))
            time.sleep(rng.uniform(0.3, 0.8))
            proc.kill9()
            load.stop()
            t.kills += 1
            t.responses += load.responses
            ok = True
            if load.wrong:
                t.wrong += len(load.wrong)
                t.fail(f"{label}: wrong bodies {load.wrong[:3]}")
                ok = False
            rc, doc, err = fl.verify(a.cachedump, index)
            t.verify_runs += 1
            if rc != 0:
                t.verify_bad += 1
                t.fail(f"{label}: verify of the proxy index exit {rc}: {doc} {err}")
                ok = False
            post = set(fl.export_records(a.cachedump, index))
            t.committed_checked += len(seen)
            if seen - post:
                t.lost += len(seen - post)
                t.fail(f"{label}: {len(seen - post)} committed proxy entries lost")
                ok = False
            if not ok:
                t.failed_kills.append(label)
        # After the last kill: every stored response is served whole.
        proc = fl.start_proxy(a.capuchin, tmp, backend.server_address[1], cache_dir)
        hits = 0
        if proc.wait_listening():
            c = fl.Client(proc.port)
            for p in paths:
                s, h, b = c.get(p)
                t.responses += 1
                hits += h.get("x-cache", "").startswith("HIT")
                if not check(p, s, b):
                    t.wrong += 1
                    t.fail(f"proxy final pass: wrong body for {p}")
            c.close()
        else:
            t.fail(f"proxy final start failed: {proc.log_text()[-600:]}")
            t.failed_kills.append("final start")
        proc.term()
        t.notes.append(f"{hits} of {len(paths)} served from the cache after the last restart")
        return t
    finally:
        if proc is not None:
            proc.kill9()
        backend.shutdown()
        backend.server_close()
        fl.remove_tmp(tmp)


def main():
    a = fl.parse_args(__doc__)
    rng = random.Random(a.seed)
    fl.note(f"part crashloop: seed {a.seed}")
    kills = 20 if a.short else 100
    # LMDB's commit: pwrite64 (data pages, then the meta page), fdatasync
    # (batched: once per commit, meta not synced), and the writer's mdb_env_sync.
    points = [("fdatasync", n) for n in ((1, 4, 9) if a.short else (1, 2, 4, 9, 17, 30))]
    points += [("pwrite64", n) for n in ((3, 25) if a.short else (1, 2, 3, 7, 25, 60, 150))]
    t, strace_rows = file_cache_kills(a, rng, kills, [("strace", p) for p in points])
    warm = sorted(t.warm)
    rows = [
        fl.row("kill -9 under load (file cache)", f"{kills} random kills + {len(points)} at syscalls, 300 files, 3-12 changed between kills",
               t.kills, len(t.failed_kills), f"kills survived {t.kills - len(t.failed_kills)}; " + ("; ".join(t.notes[:3]) or "store opened every time")),
        fl.row("bodies served match the file (sha256)", "every complete response during and after the kills", t.responses, t.wrong,
               f"responses checked {t.responses}, wrong bodies {t.wrong}"),
        fl.row("committed entries kept", "entries seen by cachedump before each kill, present after it", t.committed_checked, t.lost,
               f"committed entries lost {t.lost}"),
        fl.row("cachedump verify after kill", "stale only for files changed since; exactly those after changes", t.verify_runs, t.verify_bad,
               f"{t.verify_bad} mismatches"),
        fl.row("time to warm after restart", f"window of 100 responses back to the pre-kill hit ratio - {WARM_SLACK}", len(warm) + t.not_warm, t.not_warm,
               (f"median {statistics.median(warm) * 1000:.0f} ms, max {warm[-1] * 1000:.0f} ms" if warm else "no measurement")),
    ]
    for (sc, n), ok, what in strace_rows:
        rows.append(fl.row(f"kill at {sc} #{n} (strace inject)", "SIGKILL before the Nth call, then restart and verify", 1, 0 if ok else 1, what))
    pt = proxy_kills(a, rng, 8 if a.short else 30)
    rows.append(fl.row("kill -9 under load (proxy cache)", "random kills of capuchin proxy, 200 cached responses", pt.kills,
                       len(pt.failed_kills), "; ".join(pt.notes[:3])))
    rows.append(fl.row("proxy: no entry without its whole body", "cachedump verify of proxy-index + served bodies", pt.verify_runs + pt.responses,
                       pt.verify_bad + pt.wrong + pt.lost, f"responses checked {pt.responses}, wrong {pt.wrong}, verify failures {pt.verify_bad}, committed lost {pt.lost}"))
    fl.stop_all()
    fl.finish("crashloop", rows)


if __name__ == "__main__":
    main()
