#!/usr/bin/env python3
"""Issue 4 benchmark: Capuchin with the file cache on vs --no-cache, in the same run.

1. req/s (wrk -t2 -c64, rounds alternating the two instances) on 1 KiB, 16 KiB and the mix,
   with the ratio cache-on / cache-off;
2. syscalls per request for a keep-alive hit (strace -f -c while a client sends exactly
   N requests for one file), for both Capuchin instances and nginx.

usage: cache_onoff.py [--dur S] [--rounds N] [--cases small,medium,mix] [--requests N]
                      [--path /small/f0.html] [--skip-wrk] [--skip-strace] [--keep]
Env: CAPUCHIN_BIN (else a release build in .build-bench2), DUR, ROUNDS.
"""
import argparse
import os
import sys

import benchlib as b
import syscount


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dur", type=int, default=int(os.environ.get("DUR", 10)), help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 3)))
    ap.add_argument("--cases", type=b.csv_list(list(b.CASES)), default=["small", "medium", "mix"])
    ap.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured wrk per server and case")
    ap.add_argument("--requests", type=int, default=5000, help="requests sent under strace")
    ap.add_argument("--path", default="/small/f0.html", help="file requested under strace")
    ap.add_argument("--skip-wrk", action="store_true")
    ap.add_argument("--skip-strace", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs, strace output)")
    a = ap.parse_args()
    if a.dur < 1 or a.rounds < 1 or a.requests < 1:
        ap.error("--dur, --rounds and --requests must be >= 1")

    b.log(f"uptime at start: {b.uptime()}")
    b.log(f"machine: {os.cpu_count()} cores shared by wrk/the client and the servers.")
    binary = b.find_capuchin()
    no_cache, cache_dir = b.capuchin_cache_flags(binary)
    b.log(f"capuchin: {binary}  (--no-cache {'accepted' if no_cache else 'NOT accepted'}, "
          f"--cache-dir {'accepted' if cache_dir else 'NOT accepted'})")
    if not no_cache:
        raise RuntimeError("this build has no --no-cache flag: nothing to compare")
    with b.Bench(keep=a.keep) as bench:
        bench.make_docroot()
        on = bench.capuchin(binary, name="capuchin-cache", cache=True)
        off = bench.capuchin(binary, name="capuchin-nocache", cache=False)
        servers = [on, off]
        for s in servers:
            b.log(f"started {s.name} pid {s.proc.pid} on 127.0.0.1:{s.port}: {' '.join(s.argv[1:])}")
        bench.verify_all(servers, a.cases)
        for s in servers:
            b.log(bench.cache_note(s))
        if "absent" in bench.cache_note(on):
            b.log("!! the cache-on instance shows no cache: 'on' and 'off' below run the same code")

        if not a.skip_wrk:
            results = bench.measure(servers, a.cases, a.dur, a.rounds, a.warmup)
            b.print_medians(servers, a.cases, results, a.dur, a.rounds,
                            lambda med: ("cache on / off", on.name, [off.name]))

        if not a.skip_strace:
            ngx = bench.nginx()
            bench.verify(ngx, [a.path])
            b.log(f"\n== syscalls per request: {a.requests} keep-alive GET {a.path} (after 200 unmeasured), "
                  "strace -f -c on all the server's threads/processes ==")
            b.log("(idle workers' epoll_wait timeouts and background threads are counted too)")
            for s in (on, off, ngx):
                calls, conns, xc = syscount.syscalls_per_request(s, a.path, a.requests, bench.tmp)
                syscount.print_per_request(s.name + (f"  [X-Cache {xc}]" if xc else ""), calls,
                                           a.requests, conns)
    b.log(f"uptime at end: {b.uptime()}")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print(f"cache_onoff.py: {e}", file=sys.stderr)
        sys.exit(1)
