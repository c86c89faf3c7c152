#!/usr/bin/env python3
"""Issue 14 benchmark: purging a cache tag on 100,000 proxied responses.

Origin: nginx on loopback answering /bulk/N with a tiny body, `Cache-Control:
max-age=3600` and `Surrogate-Key: bulk`, and /hot with `Surrogate-Key: hot`.
Capuchin's caching proxy (2 workers, admin API on) in front of it.

1. Fill: GET /bulk/0 .. /bulk/N-1 once each (N = --entries, default 100000) on
   --threads keep-alive connections; every response must say `stored`.
2. Baseline: wrk -t1 -c16 on /hot (cache hits) for --dur seconds: req/s and p99.
3. Soft purge of the tag while the same wrk load runs (the purge starts 1 s in):
   the DELETE /api/cache?tag=bulk&soft=1 time (until it answered), the time until
   every entry was marked (the server's "carried out" log line, when it writes one:
   purges are stamps answered at once and carried out in the background), and the
   hits' req/s and p99 of that run; then the same soft purge again without load.
4. Hard purge of the tag, the same way (DELETE /api/cache?tag=bulk).
5. Checks: the admin API said N each time, /hot is still a hit, a sample of
   /bulk/ paths are misses again.
6. Unless --no-prefix: fill again, then a prefix purge of /bulk/ the same way
   (DELETE /api/cache?prefix=proxy:http://127.0.0.1:PORT/bulk/).
7. The index on disk has no bulk entry left but the sampled ones
   (`cachedump list` after the server stops, when CACHEDUMP_BIN is given).

usage: tag_purge.py [--entries N] [--dur S] [--threads T] [--no-prefix] [--keep]
Env: CAPUCHIN_BIN (else a release build in .build-bench2), CACHEDUMP_BIN (optional).
Not a test: it asserts nothing about time, it prints what it measured.
"""
import argparse
import http.client
import json
import os
import subprocess
import threading
import time
import re
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import benchlib as b
import caches as c


def origin(bench):
    port = b.free_port()
    d = bench.tmp / "origin"
    conf = b.nginx_conf(d, f"""    access_log off;
    keepalive_requests {b.KEEPALIVE_REQUESTS};
    default_type text/plain;
{{temps}}    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location /bulk/ {{
            add_header Cache-Control "max-age=3600";
            add_header Surrogate-Key "bulk all";
            return 200 "$uri\\n";
        }}
        location /hot {{
            add_header Cache-Control "max-age=3600";
            add_header Surrogate-Key "hot all";
            return 200 "hot\\n";
        }}
    }}
""")
    return c._add(bench, c.CacheServer("origin", b.nginx_argv(d, conf), port, d))


def proxy(bench, binary, origin_port, admin_port, entries):
    return c.capuchin_proxy(bench, binary, origin_port, quick=False, admin_port=admin_port,
                            cache_extra=f"    capacity_entries: {entries * 2}\n    capacity_bytes: 8g\n")


def fill(server, n, threads):
    """GET /bulk/0..n-1 once each; returns (seconds, not stored)."""
    missed = []
    lock = threading.Lock()

    def work(t):
        conn = b.KeepAlive(server.port)
        bad = 0
        try:
            for i in range(t, n, threads):
                st, h, _ = conn.get(f"/bulk/{i}")
                if st != 200 or "stored" not in h.get("cache-status", ""):
                    bad += 1
        finally:
            conn.close()
        with lock:
            missed.append(bad)

    t0 = time.monotonic()
    with ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(work, t) for t in range(threads)]:
            f.result()
    return time.monotonic() - t0, sum(missed)


def purge(admin_port, query):
    """DELETE /api/cache?query -> (seconds, reply)."""
    conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=120)
    t0 = time.monotonic()
    conn.request("DELETE", "/api/cache?" + query)
    r = conn.getresponse()
    body = r.read()
    elapsed = time.monotonic() - t0
    conn.close()
    if r.status != 200:
        raise RuntimeError(f"purge {query}: {r.status} {body!r}")
    return elapsed, json.loads(body)


def hits_during(server, dur, action=None, start_after=1.0):
    """wrk on /hot for dur seconds (-t1 -c16); `action` runs start_after seconds in.
    Returns (wrk figures, action's result)."""
    result = {}

    def later():
        time.sleep(start_after)
        result["value"] = action()

    t = threading.Thread(target=later) if action else None
    if t:
        t.start()
    figures = b.run_wrk_url(f"http://127.0.0.1:{server.port}/hot", dur, threads=1, conns=16)
    if t:
        t.join()
    return figures, result.get("value")


def carried_out(server, offset, soft, timeout=20.0):
    """Milliseconds the server says its purge took after answering (its "carried out"
    log line after byte `offset` of its log); None when it writes none within `timeout`
    (a server that removes everything before answering). Only a line of the same
    kind that changed entries counts: an idle soft purge finishing after the next
    purge began wrote "0 response(s) marked", which was once taken for a hard purge's."""
    deadline = time.monotonic() + timeout
    pattern = re.compile(rb"carried out: ([1-9]\d*) response\(s\) %s in (\d+) ms" % (b"marked" if soft else b"removed"))
    while time.monotonic() < deadline:
        with open(server.log_path, "rb") as f:
            f.seek(offset)
            m = pattern.search(f.read())
        if m:
            return int(m.group(2))
        time.sleep(0.1)
    return None


def log_size(server):
    return os.path.getsize(server.log_path)


def timed_purge(s, admin_port, label, query, dur, entries, rows):
    """One purge under the hit load; appends (label, answered s, all done s, figures) to rows."""
    offset = log_size(s)
    figures, (took, reply) = hits_during(s, dur, lambda: purge(admin_port, query))
    if reply["removed"] != entries:
        b.log(f"WARNING {label}: the admin API says {reply}, expected {entries}")
    lurk = carried_out(s, offset, soft="soft=1" in query)
    done = took + lurk / 1000 if lurk is not None else None
    rows.append((label, took, done, figures))
    b.log(f"hits on /hot, during {label:12s}: {b.fmt_rps(figures['rps'])} req/s, p99 {b.fmt_ms(figures['p99_ms'])}, "
          f"{figures['errors']} errors, {figures['non2xx']} non-2xx; answered in {took * 1000:.0f} ms, "
          + (f"carried out {lurk} ms later" if lurk is not None else "no carried-out line (done when answered)"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--dur", type=int, default=4, help="seconds per wrk run")
    ap.add_argument("--threads", type=int, default=6, help="fill connections")
    ap.add_argument("--no-prefix", action="store_true", help="skip the prefix purge (and its second fill)")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    a = ap.parse_args()
    measure(b.find_capuchin(), a.entries, a.dur, a.threads, prefix=not a.no_prefix, keep=a.keep)


def measure(binary, entries, dur, threads=6, prefix=True, keep=False):
    """Steps 1-7 above with `binary` on a fresh cache; prints the summary (also the
    entry point of proxy_cache.py's purge section)."""
    a = argparse.Namespace(entries=entries, dur=dur, threads=threads, no_prefix=not prefix, keep=keep)
    b.log(f"capuchin: {binary}; {os.cpu_count()} cores shared by wrk, the client, nginx and capuchin")
    with b.Bench(keep=a.keep) as bench:
        o = origin(bench)
        admin_port = b.free_port()
        s = proxy(bench, binary, o.port, admin_port, a.entries)
        conn = b.KeepAlive(s.port)
        conn.get("/hot")
        if not c.is_hit(conn.get("/hot")[1]):
            raise RuntimeError("/hot is not a hit on its second GET")
        conn.close()
        secs, bad = fill(s, a.entries, a.threads)
        b.log(f"fill: {a.entries} responses in {secs:.1f}s ({a.entries / secs:,.0f}/s), {bad} not stored")
        time.sleep(1)  # the index commits
        base, _ = hits_during(s, a.dur)
        b.log(f"hits on /hot, no purge:        {b.fmt_rps(base['rps'])} req/s, p99 {b.fmt_ms(base['p99_ms'])}")
        rows = []
        timed_purge(s, admin_port, "soft purge", "tag=bulk&soft=1", a.dur, a.entries, rows)
        # Soft-purged entries stay: the same purge again without load, the cost by itself.
        idle, reply = purge(admin_port, "tag=bulk&soft=1")
        rows.append(("soft, idle", idle, None, None))
        b.log(f"soft purge again without load: {idle * 1000:.0f} ms ({reply['removed']} entries)")
        timed_purge(s, admin_port, "purge", "tag=bulk", a.dur, a.entries, rows)
        sample = [f"/bulk/{i}" for i in range(0, a.entries, max(1, a.entries // 20))]

        def check(what):
            conn = b.KeepAlive(s.port)
            if not c.is_hit(conn.get("/hot")[1]):
                raise RuntimeError(f"/hot is no longer a hit after {what}")
            if any("uri-miss" not in conn.get(p)[1].get("cache-status", "") for p in sample):
                raise RuntimeError(f"a /bulk/ path was still a hit after {what}")
            conn.close()
            b.log(f"checks: /hot still a hit, {len(sample)} sampled /bulk/ paths are misses again after {what}")

        check("the tag purge")
        if not a.no_prefix:
            time.sleep(2)  # the tag purge's removals
            secs, bad = fill(s, a.entries, a.threads)
            b.log(f"fill again: {a.entries} responses in {secs:.1f}s, {bad} not stored")
            time.sleep(1)
            prefix = f"proxy:http://127.0.0.1:{s.port}/bulk/"
            timed_purge(s, admin_port, "prefix purge", "prefix=" + urllib.parse.quote(prefix, safe=""), a.dur, a.entries, rows)
            check("the prefix purge")
        dump = os.environ.get("CACHEDUMP_BIN")
        if dump:
            time.sleep(2)
            s.stop()
            out = subprocess.run([dump, "list", str(bench.tmp / "capuchin" / "cache" / "proxy-index"), "--json", "--limit", "1000000"],
                                 capture_output=True, text=True, timeout=300)
            left = [e["key"] for e in json.loads(out.stdout or "[]") if "/bulk/" in e["key"]]
            b.log(f"index on disk after stop: {len(left)} /bulk/ entries (the {len(sample)} refetched ones expected)")
        print()
        print(f"purges of {a.entries:,} entries ({binary}); machine shared with other builds, see the load average:")
        print(f"  load average: {os.getloadavg()[0]:.1f}")
        print(f"  baseline hits: {b.fmt_rps(base['rps'])} req/s, p99 {b.fmt_ms(base['p99_ms'])}")
        for label, took, done, figures in rows:
            during = f"; hits meanwhile {b.fmt_rps(figures['rps'])} req/s, p99 {b.fmt_ms(figures['p99_ms'])}" if figures else ""
            all_done = f", all done {done * 1000:7.0f} ms" if done is not None else ""
            print(f"  {label:12s}: answered {took * 1000:7.0f} ms{all_done}{during}")


if __name__ == "__main__":
    main()
