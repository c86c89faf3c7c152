"""Caching servers for the cache benchmarks (warm_restart.py, proxy_cache.py).

Each launcher starts one server with a private directory under the Bench's temp dir,
bound to 127.0.0.1, and returns a `CacheServer`: a benchlib.Server that can also be
restarted (SIGTERM or kill -9) and timed from exec to its first cache hit. Every
server marks its hits with an `X-Cache: HIT...` response header (Capuchin natively,
nginx with `$upstream_cache_status`, Varnish from vcl_deliver, ATS with the
header_rewrite plugin).

The shared measurements live here too: a test site of many small files, a Zipf
request stream, fill-until-hit, hit ratio of a stream, and the restart experiment.
"""
import os
import random
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import benchlib as b

ORIGIN_MAX_AGE = 3600


class CacheServer(b.Server):
    """A benchlib.Server that can be restarted and timed from exec; logs are appended."""

    def launch(self):
        """Exec the server without waiting for it; returns the monotonic time of the exec."""
        self._log = open(self.log_path, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir,
                                     env=self.env, start_new_session=True)
        return t0

    ready_marker = None  # (log file, line) that each start appends once it can cache

    def start(self):
        """Exec and wait until the port answers (and ready_marker appears); raises
        RuntimeError with the log tail if not."""
        seen = self._markers()
        self.launch()
        try:
            b.wait_port(self.port, self.proc)
            deadline = time.monotonic() + 60
            while self.ready_marker is not None and self._markers() <= seen:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"no {self.ready_marker[1]!r} in {self.ready_marker[0]}")
                time.sleep(0.05)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError(f"{self.name}: {e}\n--- {self.log_path} ---\n{self.log_tail()}")

    def _markers(self):
        if self.ready_marker is None:
            return -1
        try:
            return self.ready_marker[0].read_text(errors="replace").count(self.ready_marker[1])
        except OSError:
            return 0

    def stop(self, timeout=30.0):
        """SIGTERM (benchlib.Server.stop); remembers the PIDs of every incarnation."""
        before = list(self.seen_pids)
        super().stop(timeout)
        self.seen_pids = before + self.seen_pids

    def kill9(self):
        """SIGKILL the main PID and all its descendants at once, and wait until all are gone."""
        if self.proc is None:
            return
        pids = [self.proc.pid] + b.descendants_of(self.proc.pid)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        deadline = time.monotonic() + 10
        while any(b.pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.seen_pids += pids
        self._log.close()
        self.proc = None


def is_hit(headers):
    return headers.get("x-cache", "").upper().startswith("HIT")


# ---- launchers ------------------------------------------------------------------------

def _add(bench, server):
    bench.servers.append(server)
    server.start()
    return server


def origin_nginx(bench, root, name="origin"):
    """nginx serving `root` statically with `Cache-Control: max-age=3600` (the caches' origin)."""
    port = b.free_port()
    d = bench.tmp / name
    conf = b.nginx_conf(d, f"""    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests {b.KEEPALIVE_REQUESTS};
    default_type application/octet-stream;
{{temps}}    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
        location / {{ add_header Cache-Control "max-age={ORIGIN_MAX_AGE}"; }}
    }}
""")
    return _add(bench, CacheServer(name, b.nginx_argv(d, conf), port, d))


def nginx_cache(bench, origin_port, name="nginx", location_extra=""):
    """nginx proxy_cache in front of the origin: keys_zone of 64 MiB (~500k keys), 8 GiB max.
    `location_extra`: more directives for `location /` (e.g. proxy_cache_lock)."""
    port = b.free_port()
    d = bench.tmp / name
    conf = b.nginx_conf(d, f"""    access_log off;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests {b.KEEPALIVE_REQUESTS};
{{temps}}    proxy_cache_path {d}/cache levels=1:2 keys_zone=c:64m max_size=8g inactive=1d use_temp_path=off;
    upstream origin {{ server 127.0.0.1:{origin_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache c;
            proxy_cache_valid 200 1h;
            add_header X-Cache $upstream_cache_status;
{location_extra}        }}
    }}
""")
    return _add(bench, CacheServer(name, b.nginx_argv(d, conf), port, d))


VARNISH_VCL = """vcl 4.1;
backend origin {{ .host = "127.0.0.1"; .port = "{port}"; }}
sub vcl_deliver {{
    if (obj.hits > 0) {{ set resp.http.X-Cache = "HIT"; }} else {{ set resp.http.X-Cache = "MISS"; }}
}}
"""


def varnish(bench, origin_port, name="varnish", storage=None):
    """varnishd -F -j none with a private -n dir; storage None = `-s malloc,4G` (varnishd's
    default storage without -s is only 100 MB), "file" = `-s file,DIR/storage.bin,4G`."""
    port = b.free_port()
    d = bench.tmp / name
    d.mkdir()
    vcl = d / "default.vcl"
    vcl.write_text(VARNISH_VCL.format(port=origin_port))
    argv = ["varnishd", "-F", "-j", "none", "-n", str(d / "vn"), "-a", f"127.0.0.1:{port}",
            "-f", str(vcl)]
    if storage == "file":
        argv += ["-s", f"file,{d / 'storage.bin'},4G"]
    else:
        argv += ["-s", "malloc,4G"]
    return _add(bench, CacheServer(name, argv, port, d))


ATS_XCACHE_RULES = """cond %{SEND_RESPONSE_HDR_HOOK} [AND]
cond %{CACHE} ="hit-fresh"
set-header X-Cache HIT

cond %{SEND_RESPONSE_HDR_HOOK} [AND]
cond %{CACHE} ="hit-fresh" [NOT]
set-header X-Cache MISS
"""


def ats(bench, origin_port, name="ats", storage="1G"):
    """Apache Traffic Server as a reverse proxy from a private runroot (config, cache, logs
    and lock under DIR), staying root (`admin.user_id #-1`), 2 net threads, X-Cache from
    header_rewrite. Raises RuntimeError if traffic_server is missing or does not start."""
    if not os.path.exists("/etc/trafficserver/records.config"):
        raise RuntimeError("trafficserver is not installed (apt-get install -y trafficserver)")
    port = b.free_port()
    d = bench.tmp / name
    for sub in ("etc", "cache", "run", "log", "var"):
        (d / sub).mkdir(parents=True)
    subprocess.run(["cp", "-r", "/etc/trafficserver/.", str(d / "etc")], check=True, timeout=30)
    (d / "runroot.yaml").write_text(f"""prefix: {d}
exec_prefix: /usr
bindir: /usr/bin
sbindir: /usr/sbin
sysconfdir: {d}/etc
datadir: {d}/cache
includedir: /usr/include
libdir: /usr/lib/trafficserver
libexecdir: /usr/lib/trafficserver/modules
localstatedir: {d}/var
runtimedir: {d}/run
logdir: {d}/log
cachedir: {d}/cache
""")
    rec = d / "etc" / "records.config"
    override = {
        "proxy.config.admin.user_id": "STRING #-1",
        "proxy.config.http.server_ports": f"STRING {port}",
        "proxy.config.log.logging_enabled": "INT 0",
        "proxy.config.exec_thread.autoconfig": "INT 0",
        "proxy.config.exec_thread.limit": "INT 2",
        "proxy.config.http.keep_alive_no_activity_timeout_out": "INT 120",
    }
    lines = [ln for ln in rec.read_text().splitlines()
             if not any(ln.startswith(f"CONFIG {k} ") for k in override)]
    lines += [f"CONFIG {k} {v}" for k, v in override.items()]
    rec.write_text("\n".join(lines) + "\n")
    (d / "etc" / "storage.config").write_text(f"{d}/cache {storage}\n")
    (d / "etc" / "remap.config").write_text(f"map / http://127.0.0.1:{origin_port}/\n")
    (d / "etc" / "xcache.conf").write_text(ATS_XCACHE_RULES)
    (d / "etc" / "plugin.config").write_text(f"header_rewrite.so {d}/etc/xcache.conf\n")
    argv = ["traffic_server", f"--run-root={d}/runroot.yaml"]
    srv = CacheServer(name, argv, port, d)
    # ATS accepts before its cache is up; what it answers meanwhile is not stored.
    srv.ready_marker = (d / "log" / "diags.log", "NOTE: cache enabled")
    return _add(bench, srv)


def capuchin_yaml(d, extra):
    """Capuchin's config: loopback, the benchlib keep-alive limit, private state_dir, + extra."""
    return ("server:\n"
            "  listen: 127.0.0.1\n"
            f"  keepalive_requests: {b.KEEPALIVE_REQUESTS}\n"
            f"  state_dir: {d / 'state'}\n"
            "  workers: 2\n"
            "logging:\n"
            "  level: info\n" + extra)


def capuchin_files(bench, binary, root, name="capuchin", entries=200000, capacity="4g"):
    """`capuchin serve` of root with the file cache on, a private --cache-dir, and room for
    `entries` entries and `capacity` bytes (cache.capacity_entries / capacity_bytes)."""
    port = b.free_port()
    d = bench.tmp / name
    d.mkdir()
    conf = d / "capuchin.yaml"
    conf.write_text(capuchin_yaml(d, f"cache:\n  capacity_entries: {entries}\n  capacity_bytes: {capacity}\n"))
    argv = [binary, "serve", "--config", str(conf), "--port", str(port), "--root", str(root),
            "--cache-dir", str(d / "cache")]
    env = {**os.environ, "SWIFT_BACKTRACE": "enable=no"}
    return _add(bench, CacheServer(name, argv, port, d, env))


def capuchin_proxy(bench, binary, origin_port, name="capuchin", quick=True, admin_port=None, cache_extra=""):
    """Capuchin's caching proxy in front of the origin, 2 workers, private cache dir.

    quick: `capuchin proxy --port P --listen 127.0.0.1 --to ORIGIN --cache-dir D` (its
    keep-alive limit is the server default, 1000 requests per connection); else
    `capuchin serve --config` with the same proxy section plus the benchlib keep-alive limit,
    the admin API on `admin_port` if given, and `cache_extra` (YAML lines) in proxy.cache."""
    port = b.free_port()
    d = bench.tmp / name
    d.mkdir()
    if quick:
        argv = [binary, "proxy", "--port", str(port), "--listen", "127.0.0.1", "--to",
                f"127.0.0.1:{origin_port}", "--cache-dir", str(d / "cache"), "--workers", "2"]
    else:
        (d / "site").mkdir()
        conf = d / "capuchin.yaml"
        conf.write_text(capuchin_yaml(d, f"""sites:
  - root: {d / 'site'}
    default: true
plugins:
  proxy: true
""" + (f"  admin: true\nadmin:\n  port: {admin_port}\n" if admin_port else "") + f"""proxy:
  routes:
    - match: '^/'
      pool: default
  pools:
    default:
      balance: round-robin
      backends:
        - '127.0.0.1:{origin_port}'
  cache:
    dir: {d / 'cache'}
""" + cache_extra))
        argv = [binary, "serve", "--config", str(conf), "--port", str(port)]
    env = {**os.environ, "SWIFT_BACKTRACE": "enable=no"}
    return _add(bench, CacheServer(name, argv, port, d, env))


# ---- workload -------------------------------------------------------------------------

EXTS = ("html", "css", "js", "png", "jpg", "svg", "json", "txt")


def make_site(root, n, seed=1, prefix="s"):
    """Write n files under root/prefix/DDD/ with web-like sizes: log-normal, median 2 KiB,
    clipped to 200 B..32 KiB; each body starts with its own path (so a mix-up shows).

    Returns [(url path, size)] in creation order."""
    rng = random.Random(seed)
    pool = random.Random(seed + 1).randbytes(64 * 1024)
    out = []
    for i in range(n):
        size = int(min(32768, max(200, rng.lognormvariate(7.6, 1.1))))
        rel = f"{prefix}/{i // 1000:03d}/f{i}.{EXTS[i % len(EXTS)]}"
        head = f"/{rel}\n".encode()
        off = rng.randrange(0, len(pool) - size)
        body = (head + pool[off:off + size])[:size]
        path = root / rel
        if i % 1000 == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        out.append(("/" + rel, size))
    os.chmod(root, 0o755)
    for dirpath, dirs, _files in os.walk(root):
        os.chmod(dirpath, 0o755)
    return out


def zipf_stream(n_items, count, alpha=0.9, seed=7):
    """count item indexes (0..n_items-1) drawn Zipf(alpha); the rank -> item map is a seeded
    shuffle, so the most popular items are spread over the site. Same seed, same stream.

    Returns (stream, the least popular item)."""
    rng = random.Random(seed)
    items = list(range(n_items))
    rng.shuffle(items)
    acc, cum = 0.0, []
    for r in range(1, n_items + 1):
        acc += 1.0 / r ** alpha
        cum.append(acc)
    return [items[k] for k in rng.choices(range(n_items), cum_weights=cum, k=count)], items[-1]


def check(server, path, size, status, body):
    """Raise RuntimeError unless the response is 200 with the site file's bytes (length and
    the path the file starts with)."""
    if status != 200:
        raise RuntimeError(f"{server.name} GET {path}: status {status}, want 200")
    if len(body) != size or not body.startswith((path + "\n").encode()[:size]):
        raise RuntimeError(f"{server.name} GET {path}: {len(body)} bytes, want {size} bytes "
                           "starting with the path (wrong body)")


def verify_site(server, site, root, sample=300, seed=3):
    """GET a sample of site files twice and compare every byte with the file; the second
    GET must be a hit. Raises RuntimeError naming the server, path and mismatch."""
    c = b.KeepAlive(server.port)
    try:
        for path, _size in random.Random(seed).sample(site, min(sample, len(site))):
            want = (root / path.lstrip("/")).read_bytes()
            for attempt in (1, 2):
                st, h, body = c.get(path)
                if st != 200 or body != want:
                    raise RuntimeError(f"{server.name} GET {path} (#{attempt}): status {st}, "
                                       f"{len(body)} bytes; want 200 and the file's {len(want)} bytes")
            if not is_hit(h):
                raise RuntimeError(f"{server.name} GET {path}: second GET not a hit "
                                   f"(X-Cache {h.get('x-cache')!r})")
    finally:
        c.close()


def fill(server, site, threads=4, tries=4):
    """Request every site file until it answers with a hit (at most `tries` GETs each), on
    `threads` keep-alive connections; each response is checked. Returns (requests, files
    never seen as a hit). Raises RuntimeError on a wrong response."""
    chunks = [site[i::threads] for i in range(threads)]
    counts = []
    lock = threading.Lock()

    def work(chunk):
        c = b.KeepAlive(server.port)
        n, cold = 0, 0
        try:
            for path, size in chunk:
                for _ in range(tries):
                    st, h, body = c.get(path)
                    n += 1
                    check(server, path, size, st, body)
                    if is_hit(h):
                        break
                else:
                    cold += 1
        finally:
            c.close()
        with lock:
            counts.append((n, cold))

    with ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(work, ch) for ch in chunks]:
            f.result()
    return sum(n for n, _ in counts), sum(c for _, c in counts)


def hit_ratio(server, site, stream):
    """Send the stream in order on one keep-alive connection; returns the fraction of hits.
    Raises RuntimeError on a wrong response."""
    c = b.KeepAlive(server.port)
    hits = 0
    try:
        for i in stream:
            path, size = site[i]
            st, h, body = c.get(path)
            check(server, path, size, st, body)
            hits += is_hit(h)
    finally:
        c.close()
    return hits / len(stream)


def first_hit(server, t0, path, timeout=120.0, host="127.0.0.1"):
    """Poll GET path as fast as possible from exec time t0 (one connection, reconnecting
    while refused), with `host` as the Host header (a proxy's cache key has it: the
    one the cache was filled with). Returns (ms to the first 200, X-Cache of that first 200, ms to the first
    hit or None). Raises RuntimeError if the server exits or nothing answers in time."""
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    first_ok = first_mark = None
    deadline = t0 + timeout
    sock = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.proc.returncode}) after restart:\n"
                               + server.log_tail())
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(req)
            status, headers = _read_response(sock)
        except OSError:
            if sock is not None:
                sock.close()
                sock = None
            time.sleep(0.0005)
            continue
        now = time.monotonic()
        if headers.get("connection", "").lower() == "close":
            sock.close()
            sock = None
        if status != 200:
            continue
        if first_ok is None:
            first_ok, first_mark = (now - t0) * 1000, headers.get("x-cache", "-")
        if is_hit(headers):
            if sock is not None:
                sock.close()
            return first_ok, first_mark, (now - t0) * 1000
    if sock is not None:
        sock.close()
    if first_ok is None:
        raise RuntimeError(f"{server.name}: no 200 within {timeout:.0f}s of the restart")
    return first_ok, first_mark, None


def _read_response(sock):
    """Read one response with a Content-Length body; returns (status, lowercased headers)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("closed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    need = int(headers.get("content-length", "0")) - len(rest)
    while need > 0:
        chunk = sock.recv(min(need, 65536))
        if not chunk:
            raise ConnectionResetError("closed mid-body")
        need -= len(chunk)
    return status, headers


def restart(server, kind):
    """Stop the server (kind "SIGTERM": graceful, "kill -9": SIGKILL of every process),
    exec it again and return the monotonic time of the exec."""
    if kind == "kill -9":
        server.kill9()
    else:
        server.stop()
    return server.launch()


def restart_experiment(server, site, stream, probe, kinds, log_prefix=""):
    """For each restart kind: fill (every file until a hit), hit ratio of `stream` before,
    restart, exec -> first 200 / first hit on site[probe], hit ratio of the same stream after.

    Returns [dict(server, kind, first_ok_ms, first_mark, first_hit_ms, before, after,
    fill_requests, cold)]. Raises RuntimeError on a wrong response or a dead server."""
    rows = []
    for kind in kinds:
        t = time.monotonic()
        n, cold = fill(server, site)
        b.log(f"{log_prefix}{server.name}: filled {len(site)} files with {n} requests in "
              f"{time.monotonic() - t:.1f}s ({cold} never answered as a hit)")
        before = hit_ratio(server, site, stream)
        time.sleep(0.5)  # more than Capuchin's commit interval (100 ms): the fill is in the store
        t0 = restart(server, kind)
        ok_ms, mark, hit_ms = first_hit(server, t0, site[probe][0])
        after = hit_ratio(server, site, stream)
        b.log(f"{log_prefix}{server.name} {kind}: first 200 after {ok_ms:.1f} ms (X-Cache {mark}), "
              f"first hit after {_ms(hit_ms)}; hit ratio {before:.2%} before, {after:.2%} after")
        rows.append(dict(server=server.name, kind=kind, first_ok_ms=ok_ms, first_mark=mark,
                         first_hit_ms=hit_ms, before=before, after=after, fill_requests=n, cold=cold))
    return rows


def _ms(x):
    return "never" if x is None else f"{x:.1f} ms"


def print_restart_table(rows, n_after):
    """One line per (server, restart kind)."""
    b.log(f"\n  {'server':18} {'restart':8} {'exec->first 200':>16} {'(X-Cache)':>9} "
          f"{'exec->first hit':>16} {'hit ratio before':>17} {f'first {n_after} after':>17}")
    for r in rows:
        b.log(f"  {r['server']:18} {r['kind']:8} {r['first_ok_ms']:>13.1f} ms {r['first_mark']:>9} "
              f"{_ms(r['first_hit_ms']):>16} {r['before']:>17.2%} {r['after']:>17.2%}")
    b.log("  (exec->first hit: a first 200 marked MISS means the entry was refetched after the "
          "restart, so that hit is a fresh fill, not a warm cache)")
