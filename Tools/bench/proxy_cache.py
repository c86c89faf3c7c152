#!/usr/bin/env python3
"""Issue 6 benchmark: proxy-cache hits and warm restart of caching reverse proxies.

Origin: nginx static on loopback, every response with Cache-Control: max-age=3600.
Caches in front of it: capuchin (`capuchin proxy --to ORIGIN --cache-dir D`),
capuchin-conf (`capuchin serve --config` with the same proxy section and the keep-alive
limit the others get, 100000 requests per connection), nginx (proxy_cache), varnish
(default malloc storage) and ats (Apache Traffic Server, private runroot).

1. Hits of a 1 KiB and a 16 KiB object: wrk -t2 -c64 -dDUR per server and object, the
   server order rotated each round; median req/s and p99, and capuchin / the fastest
   competitor (goal 1.2x).
2. Warm restart: fill N distinct responses (GET each until `X-Cache: HIT`), hit ratio of
   R requests (distinct, seeded) before, restart (SIGTERM, then separately kill -9),
   exec -> first hit, and the hit ratio of the same R requests after (goal 100%).
3. Tag purge of --purge-entries responses (default 100,000; 0 skips it): `tag_purge.py`'s
   measurement (answer time, time until carried out, req/s and p99 of concurrent hits).
4. Coalesced waiters' time to first byte, Capuchin beside nginx's proxy_cache_lock
   (--coalesce-clients, default 50, of one --coalesce-mib object, default 256; 0 skips it):
   `coalescing.py`'s measurement.
Every server is checked first: the right bytes for every object and a hit on the second GET.

usage: proxy_cache.py [--dur S] [--rounds N] [--warmup S] [--only capuchin,nginx,...]
                      [--entries N] [--requests R] [--kinds term,kill] [--skip-wrk]
                      [--skip-restart] [--purge-entries N] [--coalesce-clients N] [--coalesce-mib M] [--keep]
Env: CAPUCHIN_BIN (else a release build in .build-bench2), DUR, ROUNDS.
"""
import argparse
import os
import random
import sys

import benchlib as b
import caches as c
import coalescing
import tag_purge

SERVERS = ["capuchin", "capuchin-conf", "nginx", "varnish", "ats"]
KINDS = {"term": "SIGTERM", "kill": "kill -9"}
OBJECTS = {"1k": ("/obj/1k.bin", 1024), "16k": ("/obj/16k.bin", 16384)}
LABELS = {"1k": "1 KiB object /obj/1k.bin (cache hit)", "16k": "16 KiB object /obj/16k.bin (cache hit)"}


def write_objects(root):
    """The two benchmark objects: each starts with its own path, then seeded bytes."""
    rng = random.Random(11)
    (root / "obj").mkdir(parents=True)
    for path, size in OBJECTS.values():
        (root / path.lstrip("/")).write_bytes(((path + "\n").encode() + rng.randbytes(size))[:size])


def start(bench, name, binary, origin_port):
    """Start one cache server by name; None (with a printed note) if ATS cannot run."""
    if name == "capuchin":
        return c.capuchin_proxy(bench, binary, origin_port, name, quick=True)
    if name == "capuchin-conf":
        return c.capuchin_proxy(bench, binary, origin_port, name, quick=False)
    if name == "nginx":
        return c.nginx_cache(bench, origin_port)
    if name == "varnish":
        return c.varnish(bench, origin_port)
    try:
        return c.ats(bench, origin_port)
    except RuntimeError as e:
        b.log(f"note: Apache Traffic Server skipped: {e}")
        return None


def fd_note(server):
    """Print how many descriptors the server holds, by target (a leak shows here)."""
    if server.proc is None or server.proc.poll() is not None:
        return
    fd_dir = f"/proc/{server.proc.pid}/fd"
    try:
        targets = [os.readlink(f"{fd_dir}/{f}") for f in os.listdir(fd_dir)]
    except OSError:
        return
    under = sum(t.startswith(str(server.workdir)) for t in targets)
    b.log(f"   {server.name} pid {server.proc.pid}: {len(targets)} open descriptors, "
          f"{under} of them files under its dir {server.workdir}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dur", type=int, default=int(os.environ.get("DUR", 5)), help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 3)))
    ap.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured wrk per server and object")
    ap.add_argument("--only", type=b.csv_list(SERVERS), default=SERVERS)
    ap.add_argument("--entries", type=int, default=20000, help="distinct cached responses for the restart")
    ap.add_argument("--requests", type=int, default=2000, help="requests before and after each restart")
    ap.add_argument("--kinds", type=b.csv_list(list(KINDS)), default=list(KINDS))
    ap.add_argument("--skip-wrk", action="store_true")
    ap.add_argument("--skip-restart", action="store_true")
    ap.add_argument("--purge-entries", type=int, default=100_000, help="entries of the tag purge (0: skip it)")
    ap.add_argument("--coalesce-clients", type=int, default=50, help="clients of the coalescing run (0: skip it)")
    ap.add_argument("--coalesce-mib", type=int, default=256, help="size of the coalesced object")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")
    a = ap.parse_args()
    if a.dur < 1 or a.rounds < 1 or a.requests < 1 or a.entries <= a.requests:
        ap.error("--dur, --rounds, --requests must be >= 1 and --entries > --requests")

    b.log(f"uptime at start: {b.uptime()}")
    b.log(f"machine: {os.cpu_count()} cores shared by wrk/the client, the origin and the caches "
          "(and other work).")
    binary = b.find_capuchin() if any(n.startswith("capuchin") for n in a.only) else None
    with b.Bench(keep=a.keep) as bench:
        write_objects(bench.docroot)
        site = c.make_site(bench.docroot, a.entries, prefix="r")
        objects = list(OBJECTS.values())
        origin = c.origin_nginx(bench, bench.docroot)
        bench.verify(origin, [p for p, _ in objects + site[:20]])
        servers = []
        for name in a.only:
            s = start(bench, name, binary, origin.port)
            if s is None:
                continue
            c.verify_site(s, objects, bench.docroot, sample=len(objects))
            c.verify_site(s, site, bench.docroot, sample=50, seed=5)
            b.log(f"started and verified {s.name} (pid {s.proc.pid}, 127.0.0.1:{s.port}): "
                  f"{' '.join(s.argv)}")
            servers.append(s)
        b.log("verified: every server returns both objects' and 50 site files' bytes, "
              "the second GET a hit")

        if not a.skip_wrk:
            cases = list(OBJECTS)
            run = lambda s, case, d: b.run_wrk_url(f"http://127.0.0.1:{s.port}{OBJECTS[case][0]}", d)
            results = b.measure_rounds(servers, cases, a.dur, a.rounds, a.warmup, run)
            for s in servers:  # what wrk measured must have been hits
                try:
                    c.verify_site(s, objects, bench.docroot, sample=len(objects))
                    b.log(f"checked after wrk: {s.name} still answers both objects as hits, right bytes")
                except (RuntimeError, OSError) as e:
                    b.log(f"!! after wrk: {s.name}: {e}  -> its wrk numbers below are NOT cache hits")
                    fd_note(s)
            others = [s.name for s in servers if not s.name.startswith("capuchin")]
            b.print_medians(servers, cases, results, a.dur, a.rounds,
                            lambda med: ("capuchin / fastest competitor (goal x1.2)",
                                         "capuchin" if "capuchin" in med else "capuchin-conf", others),
                            labels=LABELS)
            if "capuchin" in a.only and "capuchin-conf" in a.only and others:
                for case in cases:
                    med = {s.name: b.median([r["rps"] for r in results[(s.name, case)]]) for s in servers}
                    best = max(others, key=lambda n: med[n])
                    b.log(f"  {case}: capuchin-conf / {best}: req/s x{med['capuchin-conf'] / med[best]:.2f}")

        if not a.skip_restart:
            rng = random.Random(13)
            picked = rng.sample(range(a.entries), a.requests + 1)
            stream, probe = picked[:-1], picked[-1]
            b.log(f"\n== warm restart: {a.entries} distinct cached responses (200 B..32 KiB), "
                  f"{a.requests} distinct requests before and after; one server at a time ==")
            rows = []
            for s in servers:
                for o in servers:
                    if o.proc is not None:
                        o.stop()
                s.start()  # a fresh process (its cache kept), whatever wrk left behind
                try:
                    rows += c.restart_experiment(s, site, stream, probe, [KINDS[k] for k in a.kinds])
                except (RuntimeError, OSError) as e:
                    b.log(f"!! restart experiment of {s.name} failed: {e}")
                    fd_note(s)
                s.stop()
            c.print_restart_table(rows, a.requests)
            b.log("  goal (issue 6): capuchin's hit ratio after = 100%, as before the restart")
    if binary and a.purge_entries > 0:
        b.log(f"\n== tag purge of {a.purge_entries:,} entries (tag_purge.py) ==")
        tag_purge.measure(binary, a.purge_entries, a.dur, keep=a.keep)
    if a.coalesce_clients > 0:
        b.log(f"\n== coalesced misses (coalescing.py) ==")
        who = [n for n in ("capuchin", "nginx") if n in a.only or (n == "capuchin" and "capuchin-conf" in a.only)]
        coalescing.measure(who, a.coalesce_clients, a.coalesce_mib, keep=a.keep)
    b.log(f"uptime at end: {b.uptime()}")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print(f"proxy_cache.py: {e}", file=sys.stderr)
        sys.exit(1)
