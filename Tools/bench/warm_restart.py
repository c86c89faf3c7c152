#!/usr/bin/env python3
"""Issue 4 benchmark: warm restart of a file cache holding 100,000 entries.

Builds a site of N small files (200 B..32 KiB, log-normal, median 2 KiB) in a temp dir.
For each server, alone on the machine: fill (GET every file until `X-Cache: HIT`), hit
ratio of R requests drawn Zipf over the N files, restart (SIGTERM, then separately
kill -9), time from the exec to the first 200 and to the first hit on a cached URL
(polled as fast as possible), and the hit ratio of the same R requests right after.

Servers: capuchin (`serve` with the file cache, private --cache-dir, capacity set for N),
nginx (proxy_cache in front of an nginx static origin), varnish (default malloc storage),
varnish-file (`-s file,...`); the proxies' origin is nginx on loopback sending
Cache-Control: max-age=3600.

usage: warm_restart.py [--files N] [--requests R] [--alpha A] [--only capuchin,nginx,...]
                       [--kinds term,kill] [--keep]
Env: CAPUCHIN_BIN (else a release build in .build-bench2).
"""
import argparse
import os
import sys
import time
from pathlib import Path

import benchlib as b
import caches as c

SERVERS = ["capuchin", "nginx", "varnish", "varnish-file"]
KINDS = {"term": "SIGTERM", "kill": "kill -9"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=100000, help="files in the site (cached entries)")
    ap.add_argument("--requests", type=int, default=10000, help="requests before and after each restart")
    ap.add_argument("--alpha", type=float, default=0.9, help="Zipf exponent of the request stream")
    ap.add_argument("--only", type=b.csv_list(SERVERS), default=SERVERS)
    ap.add_argument("--kinds", type=b.csv_list(list(KINDS)), default=list(KINDS))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")
    a = ap.parse_args()
    if a.files < 10 or a.requests < 1:
        ap.error("--files must be >= 10 and --requests >= 1")

    b.log(f"uptime at start: {b.uptime()}")
    b.log(f"machine: {os.cpu_count()} cores shared by the client and the servers (and other work).")
    binary = b.find_capuchin() if "capuchin" in a.only else None
    kinds = [KINDS[k] for k in a.kinds]
    rows = []
    with b.Bench(keep=a.keep) as bench:
        t = time.monotonic()
        site = c.make_site(bench.docroot, a.files)
        total = sum(s for _, s in site)
        b.log(f"site: {a.files} files, {total / 2**20:.0f} MiB under {bench.docroot} "
              f"({time.monotonic() - t:.0f}s to write)")
        try:
            maps = int(Path("/proc/sys/vm/max_map_count").read_text())
        except (OSError, ValueError):
            maps = None
        if maps is not None and "capuchin" in a.only and a.files > maps:
            b.log(f"note: {a.files} files > vm.max_map_count {maps}: a cache that maps each "
                  "file separately cannot hold them all in one process")
        stream, probe = c.zipf_stream(a.files, a.requests, a.alpha)
        b.log(f"stream: {a.requests} requests, Zipf alpha {a.alpha} over the {a.files} files "
              f"({len(set(stream))} distinct), the same before and after each restart; "
              f"the exec->hit probe is the least popular file {site[probe][0]}")
        origin = None
        if any(n != "capuchin" for n in a.only):
            origin = c.origin_nginx(bench, bench.docroot)
            bench.verify(origin, [p for p, _ in site[:50]])
        for name in a.only:
            if name == "capuchin":
                srv = c.capuchin_files(bench, binary, bench.docroot, entries=a.files * 2)
            elif name == "nginx":
                srv = c.nginx_cache(bench, origin.port)
            elif name == "varnish":
                srv = c.varnish(bench, origin.port)
            else:
                srv = c.varnish(bench, origin.port, name="varnish-file", storage="file")
            b.log(f"\n== {srv.name}: {' '.join(srv.argv)}")
            c.verify_site(srv, site, bench.docroot)
            b.log(f"verified: {srv.name} returns the files' bytes for a sample of 300, "
                  "the second GET a hit")
            rows += c.restart_experiment(srv, site, stream, probe, kinds)
            srv.stop()
            if name == "capuchin":
                b.log("capuchin log lines about the cache:\n  " + "\n  ".join(
                    ln for ln in srv.log_tail(20000).splitlines() if "cache" in ln)[-3000:])
        b.log(f"\n== warm restart: {a.files} cached files, {a.requests} Zipf({a.alpha}) requests "
              "before and after ==")
        c.print_restart_table(rows, a.requests)
        b.log("  goal (issue 4): capuchin exec->first hit < 200 ms, hit ratio after = before")
    b.log(f"uptime at end: {b.uptime()}")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print(f"warm_restart.py: {e}", file=sys.stderr)
        sys.exit(1)
