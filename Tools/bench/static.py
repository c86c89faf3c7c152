#!/usr/bin/env python3
"""Static-file benchmark: Capuchin vs nginx, h2o and lighttpd on the standard docroot.

usage: static.py [--only capuchin,nginx,h2o,lighttpd] [--dur S] [--rounds N]
                 [--cases small,medium,large,mix] [--warmup S] [--keep]
Env: CAPUCHIN_BIN (else a release build in .build-bench2), DUR, ROUNDS (defaults).
"""
import argparse
import os
import sys

import benchlib as b

SERVERS = ["capuchin", "nginx", "h2o", "lighttpd"]


def csv_list(allowed):
    def parse(text):
        items = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in items if x not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"unknown {bad or text!r}; choose from {','.join(allowed)}")
        return items
    return parse


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", type=csv_list(SERVERS), default=SERVERS, help="servers to run")
    ap.add_argument("--dur", type=int, default=int(os.environ.get("DUR", 10)), help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 3)))
    ap.add_argument("--cases", type=csv_list(list(b.CASES)), default=list(b.CASES))
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
            if name == "capuchin":
                binary = b.find_capuchin()
                no_cache, cache_dir = b.capuchin_cache_flags(binary)
                b.log(f"capuchin: {binary}  (cache flags: --no-cache {'yes' if no_cache else 'NOT accepted'}, "
                      f"--cache-dir {'yes' if cache_dir else 'NOT accepted'}; cache at the build's default)")
                servers.append(bench.capuchin(binary))
            else:
                servers.append(getattr(bench, name)())
        for s in servers:
            b.log(f"started {s.name} pid {s.proc.pid} on 127.0.0.1:{s.port}")

        # A wrong setup must not produce numbers.
        for s in servers:
            for case in a.cases:
                bench.verify(s, bench.case_paths(case))
        b.log(f"verified: every server returns 200, the right Content-Length and body for {', '.join(a.cases)}"
              f"{' (all ' + str(len(bench.urls())) + ' urls of the mix)' if 'mix' in a.cases else ''}")

        if a.warmup > 0:
            for s in servers:
                for case in a.cases:
                    b.run_wrk(s.port, case, bench.docroot, a.warmup)

        results = {(s.name, c): [] for s in servers for c in a.cases}
        for rnd in range(a.rounds):
            k = rnd % len(servers)
            order = servers[k:] + servers[:k]
            b.log(f"round {rnd + 1}/{a.rounds}: order {', '.join(s.name for s in order)}")
            for case in a.cases:
                for s in order:
                    r = b.run_wrk(s.port, case, bench.docroot, a.dur)
                    results[(s.name, case)].append(r)
                    warn = ""
                    if r["non2xx"] or r["errors"]:
                        warn = f"  !! non-2xx {r['non2xx']}, socket errors {r['errors']}"
                    b.log(f"  {case:7} {s.name:9} {b.fmt_rps(r['rps']):>10} req/s  p99 {b.fmt_ms(r['p99_ms'])}{warn}")
        report(servers, a, results)
    b.log(f"uptime at end: {b.uptime()}")


def report(servers, a, results):
    b.log(f"\n== medians over {a.rounds} round(s) of wrk -t2 -c64 -d{a.dur}s "
          "(wrk and servers share the machine's 2 cores) ==")
    for case in a.cases:
        b.log(f"\n{b.CASE_LABELS[case]}")
        b.log(f"  {'server':10} {'req/s':>10} {'p99':>10}   per round req/s")
        med = {}
        for s in servers:
            rs = results[(s.name, case)]
            med[s.name] = (b.median([r["rps"] for r in rs]), b.median([r["p99_ms"] for r in rs]))
            bad = sum(r["non2xx"] + r["errors"] for r in rs)
            b.log(f"  {s.name:10} {b.fmt_rps(med[s.name][0]):>10} {b.fmt_ms(med[s.name][1]):>10}   "
                  + " ".join(b.fmt_rps(r["rps"]) for r in rs)
                  + (f"   !! {bad} non-2xx/socket errors" if bad else ""))
        others = [n for n in med if n != "capuchin"]
        if "capuchin" in med and others:
            best = max(others, key=lambda n: med[n][0])
            b.log(f"  capuchin / best competitor ({best}): req/s x{med['capuchin'][0] / med[best][0]:.2f}, "
                  f"p99 x{med['capuchin'][1] / med[best][1]:.2f}")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print(f"static.py: {e}", file=sys.stderr)
        sys.exit(1)
