#!/usr/bin/env python3
"""Static-file benchmark: Capuchin vs nginx, h2o and lighttpd on the standard docroot.

usage: static.py [--only capuchin,capuchin-base,nginx,h2o,lighttpd] [--dur S] [--rounds N]
                 [--cases small,medium,large,mix] [--warmup S] [--keep]
Env: CAPUCHIN_BIN (else a release build in .build-bench2), DUR, ROUNDS (defaults);
CAPUCHIN_BASE_BIN: another build run as `capuchin-base` with capuchin's settings (before
and after a change, alternating in one run; listed with --only).
"""
import argparse
import os
import sys

import benchlib as b

# capuchin: the default config (every cache hit revalidated with stat).
# capuchin-r1: revalidate_interval 1 s, the freshness lighttpd's default stat
# cache gives (nginx here runs open_file_cache_valid 60s).
SERVERS = ["capuchin", "capuchin-r1", "nginx", "h2o", "lighttpd", "capuchin-base"]
OURS = ["capuchin", "capuchin-r1", "capuchin-base"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", type=b.csv_list(SERVERS), default=SERVERS[:-1], help="servers to run")
    ap.add_argument("--dur", type=int, default=int(os.environ.get("DUR", 10)), help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 3)))
    ap.add_argument("--cases", type=b.csv_list(list(b.CASES)), default=list(b.CASES))
    ap.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured wrk per server and case")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")
    a = ap.parse_args()
    if a.dur < 1 or a.rounds < 1:
        ap.error("--dur and --rounds must be >= 1")

    b.log(f"uptime at start: {b.uptime()}")
    b.log(f"machine: {os.cpu_count()} cores; wrk (-t2 -c64) and the servers share them, "
          "so absolute numbers are low and the ratios matter more.")
    with b.Bench(keep=a.keep) as bench:
        bench.make_docroot()
        servers = []
        for name in a.only:
            if name in OURS:
                binary = os.environ.get("CAPUCHIN_BASE_BIN", "") if name == "capuchin-base" else b.find_capuchin()
                if not os.access(binary, os.X_OK):
                    raise RuntimeError("capuchin-base needs CAPUCHIN_BASE_BIN, an executable capuchin build")
                no_cache, cache_dir = b.capuchin_cache_flags(binary)
                b.log(f"capuchin: {binary}  (cache flags: --no-cache {'yes' if no_cache else 'NOT accepted'}, "
                      f"--cache-dir {'yes' if cache_dir else 'NOT accepted'}; cache at the build's default)")
                yaml = "  revalidate_interval: 1\n" if name == "capuchin-r1" else ""
                servers.append(bench.capuchin(binary, name=name, cache_yaml=yaml))
            else:
                servers.append(getattr(bench, name)())
        for s in servers:
            b.log(f"started {s.name} pid {s.proc.pid} on 127.0.0.1:{s.port}")

        # A wrong setup must not produce numbers.
        bench.verify_all(servers, a.cases)
        for s in servers:
            if s.name in OURS:
                b.log(bench.cache_note(s))
        results = bench.measure(servers, a.cases, a.dur, a.rounds, a.warmup)
        b.print_medians(servers, a.cases, results, a.dur, a.rounds,
                        lambda med: [(f"{o} / best competitor", o, [n for n in med if n not in OURS]) for o in OURS])
    b.log(f"uptime at end: {b.uptime()}")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print(f"static.py: {e}", file=sys.stderr)
        sys.exit(1)
