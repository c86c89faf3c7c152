#!/usr/bin/env python3
"""Issue 16 benchmark: a million small cached files on one node.

Writes N files of 100-500 bytes (default 1,000,000; each starts with its own URL path)
in directories of 1,000, then for Capuchin (`serve` with the file cache and the admin
API, a private cache dir):
  - start with the default configuration and report any warning it logs;
  - admission: every file requested once (wrk, scale-fill.lua), entries admitted per
    second, RSS and disk (the LMDB store, allocated blocks) per entry;
  - hit req/s cycling over all N URLs (../shared/tools/wrk-multi.lua) beside nginx
    (open_file_cache sized to the descriptor limit) and h2o, alternating rounds,
    medians, with server CPU microseconds per request;
  - `/api/stats` latency; `cachedump stat`, `top 10`, `list --prefix P --limit 20` times;
  - a prefix purge of min(100,000, N/2) entries through the admin API while a probe
    sends hits for other files: the probe's worst latency during the purge and before;
  - kill -9 and restart: exec -> listening, exec -> first hit on a random cached file,
    2,000 random requests (how many hits), exec -> "cache: loaded" (the full index; the
    files are then checked with stat in the background: "cache: checked").

With --proxy (issue 16 item 4), the same N small files are served by nginx as the
origin (max-age 3600) and Capuchin's caching proxy in front of it (`serve` with a
proxy section, room for N responses) instead:
  - fill: every URL once through the proxy (wrk, scale-fill.lua), responses stored per
    second (polling `cachedump stat` on the proxy index), RSS per response;
  - kill -9 and restart: exec -> listening, exec -> first hit on a random stored URL,
    2,000 random requests (how many hits), exec -> the "proxy cache: N response(s)"
    line (the full index loaded in the background).

usage: scale.py [--files N] [--duration S] [--rounds R] [--only capuchin,nginx,h2o] [--proxy] [--keep]
Env: CAPUCHIN_BIN (else a release build in .build-bench2), CACHEDUMP_BIN (else beside it).
The machine is shared: figures are noisy; competitors run in the same session.
"""
import argparse
import http.client
import json
import os
import random
import re
import resource
import socket
import subprocess
import threading
import time
from pathlib import Path

import benchlib as b
import caches as c

HERE = Path(__file__).resolve().parent
FILL_LUA = HERE / "scale-fill.lua"
SERVERS = ["capuchin", "nginx", "h2o"]


def make_small_site(root, n, seed=16):
    """n files of 100-500 bytes under root/dDDDD/ (1,000 a directory), written with
    os.write; each starts with its URL path and a newline. Returns [(url path, size)]
    and writes root/urls.txt."""
    rng = random.Random(seed)
    pool = random.Random(seed + 1).randbytes(8192)
    out = []
    root.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    dir_fd = -1
    try:
        for i in range(n):
            d = f"d{i // 1000:04d}"
            if i % 1000 == 0:
                os.mkdir(root / d, 0o755)
                if dir_fd >= 0:
                    os.close(dir_fd)
                dir_fd = os.open(root / d, os.O_RDONLY | os.O_DIRECTORY)
            name = f"f{i}.txt"
            size = 100 + rng.randrange(401)
            head = f"/{d}/{name}\n".encode()
            off = rng.randrange(0, len(pool) - size)
            fd = os.open(name, flags, 0o644, dir_fd=dir_fd)
            os.write(fd, (head + pool[off:off + size])[:size])
            os.close(fd)
            out.append((f"/{d}/{name}", size))
    finally:
        if dir_fd >= 0:
            os.close(dir_fd)
    os.chmod(root, 0o755)
    (root / "urls.txt").write_text("".join(p + "\n" for p, _ in out))
    return out


def rss_kib(pid):
    """(VmRSS, RssAnon) of pid in KiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    get = lambda k: int(re.search(rf"^{k}:\s+(\d+)", text, re.M).group(1))
    return get("VmRSS"), get("RssAnon")


def map_count(pid):
    with open(f"/proc/{pid}/maps") as f:
        return sum(1 for _ in f)


def cpu_seconds(pids):
    """utime + stime of the processes (all their threads), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / tick


def admin_get(port, path, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def capuchin(bench, binary, n, admin_port):
    """Capuchin with the file cache (room for n entries) and the admin API."""
    port = b.free_port()
    d = bench.tmp / "capuchin"
    d.mkdir()
    entries = f"  capacity_entries: {int(n * 1.1)}\n" if n * 1.1 > 1_000_000 else ""
    conf = d / "capuchin.yaml"
    conf.write_text(c.capuchin_yaml(d, f"""sites:
  - root: {bench.docroot}
    default: true
plugins:
  admin: true
admin:
  port: {admin_port}
cache:
  capacity_bytes: 2g
{entries}"""))
    argv = [binary, "serve", "--config", str(conf), "--port", str(port), "--cache-dir", str(d / "cache")]
    env = {**os.environ, "SWIFT_BACKTRACE": "enable=no"}
    srv = c.CacheServer("capuchin", argv, port, d, env)
    bench.servers.append(srv)
    srv.start()
    return srv, d / "cache"


def default_config_warnings(bench, binary):
    """Starts capuchin with no cache section at all and returns its warning lines."""
    port = b.free_port()
    d = bench.tmp / "capuchin-default"
    d.mkdir()
    (d / "site").mkdir()
    conf = d / "capuchin.yaml"
    conf.write_text(c.capuchin_yaml(d, f"sites:\n  - root: {d / 'site'}\n    default: true\n"))
    srv = b.Server("capuchin-default", [binary, "serve", "--config", str(conf), "--port", str(port),
                                        "--cache-dir", str(d / "cache")], port, d,
                   {**os.environ, "SWIFT_BACKTRACE": "enable=no"})
    bench.servers.append(srv)
    srv.start()
    time.sleep(0.5)
    srv.stop()
    return [ln for ln in srv.log_tail(20000).splitlines() if "warn" in ln.lower() or "max_map_count" in ln]


def nginx(bench):
    """nginx serving the docroot, open_file_cache sized to the descriptor limit."""
    port = b.free_port()
    d = bench.tmp / "nginx"
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = hard if hard != resource.RLIM_INFINITY else 65536
    files = max(1000, nofile - 2000)  # room for the connections
    conf = b.nginx_conf(d, f"""    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests {b.KEEPALIVE_REQUESTS};
    open_file_cache max={files} inactive=600s;
    open_file_cache_valid 600s;
    open_file_cache_min_uses 1;
    default_type text/plain;
{{temps}}    server {{
        listen 127.0.0.1:{port};
        root {bench.docroot};
        location / {{ }}
    }}
""")
    text = conf.read_text().replace("worker_processes 2;", f"worker_processes 2;\nworker_rlimit_nofile {nofile};")
    conf.write_text(text)
    b.log(f"nginx: open_file_cache max={files} (descriptor limit {nofile})")
    return bench.add(b.Server("nginx", b.nginx_argv(d, conf), port, d))


def wrk_cycle(port, docroot, dur):
    return b._wrk(["-s", str(b.WRK_MULTI), f"http://127.0.0.1:{port}/", "--", str(docroot / "urls.txt")],
                  dur, 2, 64)


def fill(srv, docroot, n, admin_port=None, count=None, settle=5):
    """Every URL once through wrk (scale-fill.lua). With admin_port: polls /api/stats and
    returns (seconds until the admissions stopped growing or reached n, admissions then).
    `count`: another counter to poll instead (the proxy's stored responses); `settle`:
    seconds without growth that end the fill."""
    def admissions():
        return json.loads(admin_get(admin_port, "/api/stats")[1])["cache"]["admissions"]
    if count is not None:
        admissions, admin_port = count, True
    start = admissions() if admin_port else 0
    t = time.monotonic()
    limit = max(60, n // 1000)
    wrk = subprocess.Popen(["wrk", "-t2", "-c32", f"-d{limit}s", "-s", str(FILL_LUA),
                            f"http://127.0.0.1:{srv.port}/", "--", str(docroot / "urls.txt"), "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    last, last_change, got = start, t, 0
    while wrk.poll() is None:
        time.sleep(0.2)
        if admin_port:
            got = admissions()
            if got != last:
                last, last_change = got, time.monotonic()
            if got - start >= n or time.monotonic() - last_change > settle:
                break
    if wrk.poll() is None:
        wrk.terminate()
    wrk.wait(30)
    secs = (last_change if admin_port else time.monotonic()) - t
    return secs, last - start


def timed(argv):
    t = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    ms = (time.monotonic() - t) * 1000
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.returncode} {r.stderr}")
    return ms, r.stdout


def probe_latencies(port, path, stop, out):
    """GET path on one keep-alive connection until stop is set; appends (time, seconds)."""
    conn = b.KeepAlive(port)
    try:
        while not stop.is_set():
            t = time.monotonic()
            st, h, body = conn.get(path)
            out.append((t, time.monotonic() - t))
    finally:
        conn.close()


def purge_experiment(srv, admin_port, site, n, key_site):
    """Purge min(100k, n/2) entries by prefix while probing a file outside the prefix."""
    dirs = max(1, min(100_000, n // 2) // 1000)
    # Prefixes of whole directories: d0000..d00(dirs-1) as few prefixes as possible.
    prefixes = [f"d{i:04d}/" for i in range(dirs)] if dirs % 100 else [f"d{i:02d}" for i in range(dirs // 100)]
    outside = site[-1][0]
    samples, stop = [], threading.Event()
    th = threading.Thread(target=probe_latencies, args=(srv.port, outside, stop, samples))
    th.start()
    time.sleep(2.0)
    t0 = time.monotonic()
    removed = 0
    for p in prefixes:
        st, body = admin_get(admin_port, f"/api/cache?prefix={key_site}/{p}", method="DELETE")
        if st != 200:
            raise RuntimeError(f"purge {p}: {st} {body[:200]!r}")
        removed += json.loads(body).get("removed", 0)
    t1 = time.monotonic()
    time.sleep(1.0)
    stop.set()
    th.join()
    before = [s for t, s in samples if t < t0]
    during = [s for t, s in samples if t0 <= t <= t1]
    return dict(removed=removed, prefixes=len(prefixes), seconds=t1 - t0,
                before_max_ms=max(before, default=0) * 1000, during_max_ms=max(during, default=0) * 1000,
                during_n=len(during), before_p99_ms=pct(before, 99) * 1000, during_p99_ms=pct(during, 99) * 1000)


def slab_line(admin_port):
    c = json.loads(admin_get(admin_port, "/api/stats")[1])["cache"]
    mapped, slots, req = c.get("slab_bytes_mapped", 0), c.get("slab_bytes_in_slots", 0), c.get("slab_bytes_requested", 0)
    waste = (mapped - req) / mapped if mapped else 0
    return (f"slabs: {mapped / 2**20:.0f} MiB mapped, {slots / 2**20:.0f} MiB in slots, {req / 2**20:.0f} MiB "
            f"requested ({waste:.1%} of the mapped bytes wasted) for {c['entries']} entries")


def pct(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def restart_experiment(srv, site, log_path, probes=2000, loaded_marker="cache: loaded",
                       marker_lines=("cache: loaded", "cache: checked"), host="127.0.0.1",
                       checked_marker="cache: checked"):
    """kill -9, exec again: ms to listening, to the first hit (Host `host`), hits of
    `probes` random requests, ms until the log says the index is loaded (`loaded_marker`)
    and until its files were checked in the background (`checked_marker`: waited for, so
    the run never removes the cache directory under that check)."""
    text = log_path.read_text(errors="replace")
    before, checked_before = text.count(loaded_marker), text.count(checked_marker)
    srv.kill9()
    rng = random.Random(99)
    probe = rng.choice(site)[0]
    t0 = srv.launch()
    listen_ms = None
    while listen_ms is None and time.monotonic() - t0 < 60:
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
            listen_ms = (time.monotonic() - t0) * 1000
        except OSError:
            time.sleep(0.0005)
    loaded, checked = {}, {}

    def watch(marker, seen_before, into):
        # Generous: a loaded machine stretches a million entries' load far past 5 s.
        while time.monotonic() - t0 < 600:
            if log_path.read_text(errors="replace").count(marker) > seen_before:
                into["ms"] = (time.monotonic() - t0) * 1000
                return
            time.sleep(0.01)

    watchers = [threading.Thread(target=watch, args=(loaded_marker, before, loaded)),
                threading.Thread(target=watch, args=(checked_marker, checked_before, checked))]
    for w in watchers:
        w.start()
    ok_ms, mark, hit_ms = c.first_hit(srv, t0, probe, host=host)
    conn = b.KeepAlive(srv.port)
    hits = 0
    t = time.monotonic()
    for path, size in rng.sample(site, min(probes, len(site))):
        st, h, body = conn.get(path)
        c.check(srv, path, size, st, body)
        hits += c.is_hit(h)
    probe_s = time.monotonic() - t
    conn.close()
    for w in watchers:
        w.join()
    time.sleep(0.5)
    line = [ln for ln in log_path.read_text(errors="replace").splitlines()
            if any(m in ln for m in marker_lines)][-2:]
    return dict(listen_ms=listen_ms, first_ok_ms=ok_ms, first_mark=mark, first_hit_ms=hit_ms, hits=hits,
                probes=min(probes, len(site)), probe_s=probe_s, loaded_ms=loaded.get("ms"),
                checked_ms=checked.get("ms"), loaded_line="\n  ".join(line))


def restart_report(srv, r, what):
    b.log(f"\nkill -9 and restart with {what}: listening {r['listen_ms']:.1f} ms after exec, "
          f"first 200 {r['first_ok_ms']:.1f} ms ({r['first_mark']}), first hit "
          f"{c._ms(r['first_hit_ms'])}; {r['hits']} of {r['probes']} random requests hits "
          f"({r['probe_s']:.2f}s); index loaded {c._ms(r['loaded_ms'])} after exec, "
          f"its files checked {c._ms(r['checked_ms'])} after exec")
    b.log(f"  {r['loaded_line'].strip()}")
    rss, anon = rss_kib(srv.proc.pid)
    b.log(f"  RSS after the restart and load: {rss / 1024:.0f} MiB (anonymous {anon / 1024:.0f})")


# The line the proxy logs once its index is loaded: "proxy cache: N response(s) in DIR; ...".
PROXY_LOADED = " response(s) in "
# The line once its bodies were checked in the background.
PROXY_CHECKED = "proxy cache: checked "


def proxy_stored(cachedump, index_dir):
    """Responses in the proxy's index (`cachedump stat --json`, O(1))."""
    r = subprocess.run([cachedump, "stat", str(index_dir), "--json"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return 0
    return int(json.loads(r.stdout).get("entries", 0))


def proxy_scale(bench, binary, cachedump, site, n):
    """Issue 16 item 4: the proxy cache filled with n small responses from an nginx
    origin, then kill -9 and restart (see the module's docstring)."""
    origin = c.origin_nginx(bench, bench.docroot)
    cap = c.capuchin_proxy(bench, binary, origin.port, "capuchin-proxy", quick=False,
                           cache_extra=f"    capacity_entries: {int(n * 1.1)}\n    capacity_bytes: 4g\n")
    index_dir = cap.workdir / "cache" / "proxy-index"
    bench.verify(cap, [p for p, _ in random.Random(5).sample(site, 50)])
    rss0, anon0 = rss_kib(cap.proc.pid)
    base = proxy_stored(cachedump, index_dir)
    secs, stored = fill(cap, bench.docroot, n - base, count=lambda: proxy_stored(cachedump, index_dir), settle=10)
    time.sleep(1.0)
    total = proxy_stored(cachedump, index_dir)
    rss1, anon1 = rss_kib(cap.proc.pid)
    b.log(f"capuchin proxy fill: {stored} responses stored in {secs:.1f}s (every URL requested once through "
          f"the proxy, nginx origin): {stored / max(secs, 1e-9):,.0f} stores/s; {total} in the index")
    b.log(f"capuchin proxy RSS: {rss0 / 1024:.0f} -> {rss1 / 1024:.0f} MiB (anonymous {anon0 / 1024:.0f} -> "
          f"{anon1 / 1024:.0f} MiB): {(rss1 - rss0) * 1024 / max(1, total):.0f} B per response "
          f"({(anon1 - anon0) * 1024 / max(1, total):.0f} B anonymous); bodies are files in the cache dir")
    du = subprocess.run(["du", "-sk", str(cap.workdir / "cache")], capture_output=True, text=True).stdout.split()[0]
    b.log(f"capuchin proxy cache dir: {int(du) / 1024:.0f} MiB on disk, {int(du) * 1024 / max(1, total):.0f} B per response")
    restart_report(cap, restart_experiment(cap, site, cap.log_path, loaded_marker=PROXY_LOADED,
                                           marker_lines=(PROXY_LOADED, PROXY_CHECKED),
                                           checked_marker=PROXY_CHECKED,
                                           # The proxy's key has the Host wrk and http.client send.
                                           host=f"127.0.0.1:{cap.port}"), f"{total} stored responses")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1_000_000)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", type=b.csv_list(SERVERS), default=SERVERS)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--proxy", action="store_true", help="the proxy cache at N responses instead (issue 16 item 4)")
    a = ap.parse_args()
    if a.files < 2000:
        ap.error("--files must be >= 2000")
    b.log(f"uptime at start: {b.uptime()}")
    b.log(f"machine: {os.cpu_count()} cores shared by the client, the servers and other work (noisy)")
    binary = b.find_capuchin()
    cachedump = os.environ.get("CACHEDUMP_BIN", str(Path(binary).parent / "cachedump"))
    with b.Bench(keep=a.keep) as bench:
        t = time.monotonic()
        site = make_small_site(bench.docroot, a.files)
        total = sum(s for _, s in site)
        b.log(f"site: {a.files} files, {total / a.files:.0f} B average, {total / 2**20:.0f} MiB, "
              f"written in {time.monotonic() - t:.1f}s")
        if a.proxy:
            proxy_scale(bench, binary, cachedump, site, a.files)
            if not a.keep:
                subprocess.run(["rm", "-rf", str(bench.tmp)], timeout=3600)
            b.log(f"uptime at end: {b.uptime()}")
            return
        if "capuchin" in a.only:
            warns = default_config_warnings(bench, binary)
            b.log(f"capuchin with the default configuration: {len(warns)} warning lines at start"
                  + "".join("\n  " + w for w in warns))
        servers = []
        cap = cache_dir = None
        admin_port = b.free_port()
        if "capuchin" in a.only:
            cap, cache_dir = capuchin(bench, binary, a.files, admin_port)
            rss0, anon0 = rss_kib(cap.proc.pid)
            maps0 = map_count(cap.proc.pid)
            secs, admitted = fill(cap, bench.docroot, a.files, admin_port)
            time.sleep(1.0)
            st = json.loads(admin_get(admin_port, "/api/stats")[1])["cache"]
            entries = st["entries"]
            rss1, anon1 = rss_kib(cap.proc.pid)
            maps1 = map_count(cap.proc.pid)
            held = st["bytes_held"]
            b.log(f"capuchin fill: {admitted} admissions in {secs:.1f}s (every file requested once): "
                  f"{admitted / secs:,.0f} admissions/s; {entries} entries resident, {st['evictions']} evictions")
            b.log(f"capuchin RSS: {rss0 / 1024:.0f} MiB before, {rss1 / 1024:.0f} MiB after "
                  f"(anonymous {anon0 / 1024:.0f} -> {anon1 / 1024:.0f} MiB); "
                  f"{(rss1 - rss0) * 1024 / max(1, entries):.0f} B per entry, of which {held / max(1, entries):.0f} B "
                  f"body: {((rss1 - rss0) * 1024 - held) / max(1, entries):.0f} B per entry beside the body; "
                  f"mappings {maps0} -> {maps1}")
            b.log("capuchin " + slab_line(admin_port))
            # RSS counts the store's file pages the writes touched (LMDB maps its
            # file); the anonymous memory less the slabs is the index and policy.
            slab_mapped = st.get("slab_bytes_mapped", 0)
            b.log(f"capuchin anonymous memory beside the slabs: {((anon1 - anon0) * 1024 - slab_mapped) / max(1, entries):.0f} B "
                  f"per entry (index, policy, allocator slack); file-backed RSS (the store's pages) "
                  f"{((rss1 - anon1) - (rss0 - anon0)) * 1024 / max(1, entries):.0f} B per entry")
            du = subprocess.run(["du", "-sk", str(cache_dir)], capture_output=True, text=True).stdout.split()[0]
            b.log(f"capuchin store: {int(du) / 1024:.0f} MiB on disk, {int(du) * 1024 / max(1, entries):.0f} B per entry")
            servers.append(cap)
        if "nginx" in a.only:
            servers.append(nginx(bench))
        if "h2o" in a.only:
            servers.append(bench.h2o())
        for s in servers:
            bench.verify(s, [p for p, _ in random.Random(5).sample(site, 50)])
        # Warm every server the same way: one pass of the cycling client.
        results = {s.name: [] for s in servers}
        for s in servers:
            wrk_cycle(s.port, bench.docroot, 3)
        for r in range(a.rounds):
            for s in servers:
                pids = [s.proc.pid] + b.descendants_of(s.proc.pid)
                cpu0 = cpu_seconds(pids)
                out = wrk_cycle(s.port, bench.docroot, a.duration)
                cpu = cpu_seconds(pids) - cpu0
                out["cpu_us"] = cpu * 1e6 / max(1, out["rps"] * a.duration)
                results[s.name].append(out)
                b.log(f"  round {r + 1} {s.name}: {out['rps']:,.0f} req/s, p99 {out['p99_ms']:.2f} ms, "
                      f"{out['cpu_us']:.1f} us CPU/request, non-2xx {out['non2xx']}, errors {out['errors']}")
        b.log(f"\n== hits cycling over all {a.files} files (wrk -t2 -c64, {a.duration}s x {a.rounds}, medians) ==")
        for s in servers:
            rs = results[s.name]
            b.log(f"  {s.name:10} {b.median([x['rps'] for x in rs]):>10,.0f} req/s  p99 "
                  f"{b.median([x['p99_ms'] for x in rs]):6.2f} ms  {b.median([x['cpu_us'] for x in rs]):6.1f} us CPU/req")
        for s in servers:
            if s is not cap:
                s.stop()
        if cap is not None:
            st_ms = []
            for _ in range(20):
                t = time.monotonic()
                admin_get(admin_port, "/api/stats")
                st_ms.append((time.monotonic() - t) * 1000)
            b.log(f"\n/api/stats with {entries} entries: median {b.median(st_ms):.2f} ms, max {max(st_ms):.2f} ms")
            ms, out = timed([cachedump, "top", "1", str(cache_dir), "--json"])
            key = json.loads(out)[0]["key"]
            prefix = key.split("/", 1)[0] + "/d0001/"
            for argv in (["stat", str(cache_dir)], ["top", "10", str(cache_dir)],
                         ["list", str(cache_dir), "--prefix", prefix, "--limit", "20"]):
                ms, _ = timed([cachedump] + argv)
                b.log(f"cachedump {' '.join(x if x != str(cache_dir) else 'DIR' for x in argv)}: {ms:.0f} ms")
            p = purge_experiment(cap, admin_port, site, a.files, key.split("/", 1)[0])
            b.log(f"prefix purge of {p['removed']} entries ({p['prefixes']} requests) in {p['seconds'] * 1000:.0f} ms; "
                  f"a probe's hits for another file: worst {p['before_max_ms']:.2f} ms before, "
                  f"{p['during_max_ms']:.2f} ms during ({p['during_n']} requests; p99 {p['before_p99_ms']:.2f} -> "
                  f"{p['during_p99_ms']:.2f} ms)")
            b.log("after the purge, " + slab_line(admin_port))
            # Back to a full cache for the restart.
            fill(cap, bench.docroot, a.files, admin_port)
            time.sleep(1.0)
            b.log("refilled, " + slab_line(admin_port))
            restart_report(cap, restart_experiment(cap, site, cap.log_path), f"{a.files} entries")
            b.log(f"  RSS after the restart and load: {rss / 1024:.0f} MiB (anonymous {anon / 1024:.0f})")
        if not a.keep:
            # A million files outlast benchlib's cleanup timeout.
            subprocess.run(["rm", "-rf", str(bench.docroot)], timeout=3600)
    b.log(f"uptime at end: {b.uptime()}")


if __name__ == "__main__":
    main()
