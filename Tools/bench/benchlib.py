"""Shared pieces of the Capuchin benchmarks (static.py, cache_onoff.py).

Everything started here binds 127.0.0.1, is bounded in time and is stopped by
PID: start a `Bench` as a context manager and every server it started is stopped
on exit, on SIGINT/SIGTERM/SIGHUP and at interpreter exit.
"""
import argparse
import atexit
import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent.parent
SHARED = PROJECT.parent / "shared"
MKDOCROOT = SHARED / "tools" / "mkdocroot.sh"
WRK_MULTI = SHARED / "tools" / "wrk-multi.lua"

# name -> (URL path, expected file under the docroot); "mix" cycles urls.txt.
CASES = {
    "small": "/small/f0.html",
    "medium": "/medium/f0.css",
    "large": "/large/f0.jpg",
    "mix": None,
}
CASE_LABELS = {
    "small": "1 KiB  /small/f0.html",
    "medium": "16 KiB /medium/f0.css",
    "large": "256 KiB /large/f0.jpg",
    "mix": "mix (urls.txt, wrk-multi.lua)",
}
KEEPALIVE_REQUESTS = 100000  # same per-connection limit for every server


def log(msg):
    """Print now; a closed stdout (e.g. `| head`) must not stop the cleanup."""
    try:
        print(msg, flush=True)
    except (BrokenPipeError, OSError):
        pass


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()


def free_port():
    """A port that was free a moment ago on 127.0.0.1 (raced, but fine for a bench)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30.0):
    """Wait until 127.0.0.1:port accepts; raises RuntimeError if proc died or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} not answering after {timeout:.0f}s")


def children_of(pid):
    """Direct child PIDs of pid (all threads), from /proc."""
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def descendants_of(pid):
    out, todo = [], [pid]
    while todo:
        for c in children_of(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie we are not the parent of counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def find_capuchin():
    """Path of the capuchin binary: $CAPUCHIN_BIN, else a release build in .build-bench2.

    Raises RuntimeError if the build fails."""
    env = os.environ.get("CAPUCHIN_BIN")
    if env:
        if not os.access(env, os.X_OK):
            raise RuntimeError(f"CAPUCHIN_BIN={env} is not an executable")
        return env
    scratch = PROJECT / ".build-bench2"
    log(f"building capuchin (release, scratch {scratch}) ...")
    r = subprocess.run(["swift", "build", "-c", "release", "--product", "capuchin",
                        "--scratch-path", str(scratch)], cwd=PROJECT, timeout=3600,
                       env={**os.environ, "SWIFT_BACKTRACE": "enable=no"})
    if r.returncode != 0:
        raise RuntimeError("swift build failed")
    return str(scratch / "release" / "capuchin")


def capuchin_cache_flags(binary):
    """(supports --no-cache, supports --cache-dir) according to `capuchin serve --help`."""
    try:
        h = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, timeout=20)
        text = h.stdout + h.stderr
    except (OSError, subprocess.TimeoutExpired):
        text = ""
    return "--no-cache" in text, "--cache-dir" in text


def nginx_conf(d, http_body):
    """Write d/nginx.conf: 2 workers, pid/error log/temp paths under d, then `http { http_body }`.

    `{temps}` in http_body is replaced by the private *_temp_path lines. Returns the path."""
    (d / "logs").mkdir(parents=True)
    temps = ""
    for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (d / t).mkdir()
        temps += f"    {t}_temp_path {d / t};\n"
    conf = d / "nginx.conf"
    conf.write_text(f"""worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
""" + http_body.replace("{temps}", temps) + "}\n")
    return conf


def nginx_argv(d, conf):
    """nginx in the foreground with prefix d and config conf."""
    return ["nginx", "-p", str(d) + "/", "-e", str(d / "logs/error.log"),
            "-c", str(conf), "-g", "daemon off;"]


class KeepAlive:
    """One keep-alive HTTP/1.1 client connection that reconnects when the server closes."""

    def __init__(self, port, timeout=10):
        self.port, self.timeout, self.conn = port, timeout, None

    def get(self, path, headers=None):
        """GET path -> (status, {lowercased header: value}, body). Raises OSError/http.client errors."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request("GET", path, headers=headers or {})
                r = self.conn.getresponse()
                body = r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # a keep-alive connection closed between requests: retry once
                if attempt:
                    raise
                continue
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            if r.will_close:
                self.close()
            return r.status, hdrs, body

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Server:
    """One server process with a private config; `name` is what the reports show."""

    def __init__(self, name, argv, port, workdir, env=None):
        self.name, self.argv, self.port, self.workdir = name, argv, port, workdir
        self.env = env
        self.proc = None
        self.seen_pids = []
        self.log_path = workdir / f"{name}.stderr"

    def start(self):
        """Start and wait until the port answers; raises RuntimeError with the log tail if not."""
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir,
                                     env=self.env, start_new_session=True)
        try:
            wait_port(self.port, self.proc)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError(f"{self.name}: {e}\n--- {self.log_path} ---\n{self.log_tail()}")

    def log_tail(self, n=2000):
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def worker_pids(self):
        """PIDs whose syscalls serve requests: the process and its child processes."""
        return [self.proc.pid] + descendants_of(self.proc.pid)

    def stop(self, timeout=10.0):
        """SIGTERM the main PID, then SIGKILL it and any leftover child PIDs."""
        if self.proc is None:
            return
        pid = self.proc.pid
        kids = descendants_of(pid)
        self.seen_pids = [pid] + kids
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        for k in kids:
            while pid_alive(k) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_alive(k):
                try:
                    os.kill(k, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._log.close()
        self.proc = None


class Bench:
    """Temp directory, docroot and the servers of one run; cleans up however it ends."""

    def __init__(self, keep=False):
        self.keep = keep
        self.servers = []
        self.tmp = Path(tempfile.mkdtemp(prefix="capuchin-bench-"))
        # nginx and h2o drop to `nobody` when started as root: let them read the docroot.
        os.chmod(self.tmp, 0o755)
        self.docroot = self.tmp / "docroot"
        self._cleaned = False

    def __enter__(self):
        atexit.register(self.cleanup)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def _on_signal(self, signum, _frame):
        log(f"\nsignal {signum}: stopping servers")
        raise SystemExit(128 + signum)

    def cleanup(self):
        if self._cleaned:
            return
        self._cleaned = True
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second signal must not cut the cleanup short
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                log(f"stopping {s.name}: {e}")
        left = [p for s in self.servers for p in s.seen_pids if pid_alive(p)]
        n = sum(len(s.seen_pids) for s in self.servers)
        log(f"leftover check: {'PIDs still alive: ' + str(left) if left else f'none of the {n} server PIDs started remain'}")
        if not self.keep:
            subprocess.run(["rm", "-rf", str(self.tmp)], timeout=60)
        else:
            log(f"kept {self.tmp}")

    def make_docroot(self):
        """Run ../shared/tools/mkdocroot.sh into the temp dir; raises if it fails."""
        if not MKDOCROOT.exists():
            raise RuntimeError(f"{MKDOCROOT} not found (shared/ must sit next to the project)")
        r = subprocess.run(["sh", str(MKDOCROOT), str(self.docroot)], capture_output=True,
                           text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"mkdocroot.sh failed: {r.stderr}")
        log(r.stdout.strip())
        for p in [self.docroot] + [p for p in self.docroot.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)

    def urls(self):
        return (self.docroot / "urls.txt").read_text().split()

    def add(self, server):
        self.servers.append(server)
        server.start()
        return server

    # ---- server configurations -------------------------------------------------

    def capuchin(self, binary, name="capuchin", cache=None, cache_yaml=""):
        """cache: None = the build's default, True = on (private --cache-dir), False = --no-cache.
        cache_yaml: extra keys for the config's `cache:` section (indented lines).

        Raises RuntimeError if the requested cache mode is not supported by the binary."""
        port = free_port()
        d = self.tmp / name
        d.mkdir()
        conf = d / "capuchin.yaml"
        conf.write_text(
            "server:\n"
            "  listen: 127.0.0.1\n"
            f"  keepalive_requests: {KEEPALIVE_REQUESTS}\n"
            f"  state_dir: {d / 'state'}\n"
            "logging:\n"
            "  level: warn\n"  # access_log is off by default
            + (f"cache:\n{cache_yaml}" if cache_yaml else ""))
        argv = [binary, "serve", "--config", str(conf), "--port", str(port),
                "--root", str(self.docroot), "--workers", "2"]
        has_no_cache, has_cache_dir = capuchin_cache_flags(binary)
        if cache is False:
            if not has_no_cache:
                raise RuntimeError("this capuchin build does not accept --no-cache")
            argv.append("--no-cache")
        elif has_cache_dir:
            argv += ["--cache-dir", str(d / "cache")]
        elif cache is True:
            log(f"note: {name}: --cache-dir not accepted; the cache (if built in) uses its default under state_dir")
        env = {**os.environ, "SWIFT_BACKTRACE": "enable=no"}
        return self.add(Server(name, argv, port, d, env))

    def nginx(self, name="nginx"):
        port = free_port()
        d = self.tmp / name
        conf = nginx_conf(d, f"""    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests {KEEPALIVE_REQUESTS};
    open_file_cache max=10000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_min_uses 1;
    open_file_cache_errors on;
    types {{ text/html html; text/css css; image/jpeg jpg; }}
    default_type application/octet-stream;
{{temps}}    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {self.docroot};
        location / {{ }}
    }}
""")
        return self.add(Server(name, nginx_argv(d, conf), port, d))

    def h2o(self, name="h2o"):
        port = free_port()
        d = self.tmp / name
        d.mkdir()
        conf = d / "h2o.conf"
        # No pid-file/error-log: h2o drops to `nobody` first; its errors go to stderr.
        conf.write_text(f"""num-threads: 2
listen:
  host: 127.0.0.1
  port: {port}
hosts:
  default:
    paths:
      /:
        file.dir: {self.docroot}
""")
        # h2o has no sendfile; keep-alive is on and unlimited per connection by default.
        return self.add(Server(name, ["h2o", "-c", str(conf)], port, d))

    def lighttpd(self, name="lighttpd"):
        port = free_port()
        d = self.tmp / name
        d.mkdir()
        conf = d / "lighttpd.conf"
        conf.write_text(f"""server.document-root = "{self.docroot}"
server.bind = "127.0.0.1"
server.port = {port}
server.max-worker = 2
server.errorlog = "{d}/error.log"
server.network-backend = "sendfile"
server.max-keep-alive-requests = {KEEPALIVE_REQUESTS}
server.max-keep-alive-idle = 65
server.max-fds = 8192
mimetype.assign = (".html" => "text/html", ".css" => "text/css", ".jpg" => "image/jpeg")
""")
        return self.add(Server(name, ["lighttpd", "-D", "-f", str(conf)], port, d))

    # ---- checks ----------------------------------------------------------------------

    def verify(self, server, paths):
        """GET each path on one keep-alive connection: 200, right Content-Length, right body.

        Raises RuntimeError naming the server, path and what was wrong."""
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            for p in paths:
                want = (self.docroot / p.lstrip("/")).read_bytes()
                conn.request("GET", p)
                r = conn.getresponse()
                body = r.read()
                cl = r.getheader("Content-Length")
                if r.status != 200:
                    raise RuntimeError(f"{server.name} GET {p}: status {r.status}, want 200")
                if cl != str(len(want)):
                    raise RuntimeError(f"{server.name} GET {p}: Content-Length {cl}, want {len(want)}")
                if body != want:
                    raise RuntimeError(f"{server.name} GET {p}: body differs from the file")
                if r.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        finally:
            conn.close()

    def cache_note(self, server, path="/small/f1.html"):
        """One line saying whether Capuchin's cache answers: X-Cache of 3 GETs, files in its cache dir."""
        marks = []
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            for _ in range(3):
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                marks.append(r.getheader("X-Cache") or "-")
        finally:
            conn.close()
        cdir = server.workdir / "cache"
        files = sum(1 for p in cdir.rglob("*") if p.is_file()) if cdir.exists() else None
        note = f"{server.name}: X-Cache on 3 GETs of {path}: {' '.join(marks)}; " + (
            f"{files} file(s) in its cache dir" if files is not None else "no cache dir on disk")
        if marks == ["-"] * 3:
            note += " -> no X-Cache header: the file cache plugin is off or absent from this build"
        return note

    def case_paths(self, case):
        return self.urls() if CASES[case] is None else [CASES[case]]

    def verify_all(self, servers, cases):
        """verify() every server on every case; raises RuntimeError on the first mismatch."""
        for s in servers:
            for case in cases:
                self.verify(s, self.case_paths(case))
        mix = f" (all {len(self.urls())} urls of the mix)" if "mix" in cases else ""
        log(f"verified: every server returns 200, the right Content-Length and body for {', '.join(cases)}{mix}")

    def measure(self, servers, cases, dur, rounds, warmup):
        """wrk every (server, case) once per round, server order rotated each round.

        Returns {(server name, case): [wrk result per round]}; raises RuntimeError if wrk fails."""
        return measure_rounds(servers, cases, dur, rounds, warmup,
                              lambda s, case, d: run_wrk(s.port, case, self.docroot, d))


def measure_rounds(servers, cases, dur, rounds, warmup, run):
    """run(server, case, seconds) -> wrk result, for every (server, case) once per round,
    server order rotated each round, after `warmup` unmeasured seconds of each.

    Returns {(server name, case): [result per round]}; passes on run's RuntimeError."""
    if warmup > 0:
        for s in servers:
            for case in cases:
                run(s, case, warmup)
    results = {(s.name, c): [] for s in servers for c in cases}
    for rnd in range(rounds):
        k = rnd % len(servers)
        order = servers[k:] + servers[:k]
        log(f"round {rnd + 1}/{rounds}: order {', '.join(s.name for s in order)}")
        for case in cases:
            for s in order:
                r = run(s, case, dur)
                results[(s.name, case)].append(r)
                warn = ""
                if r["non2xx"] or r["errors"]:
                    warn = f"  !! non-2xx {r['non2xx']}, socket errors {r['errors']}"
                log(f"  {case:7} {s.name:16} {fmt_rps(r['rps']):>10} req/s  p99 {fmt_ms(r['p99_ms'])}{warn}")
    return results


def print_medians(servers, cases, results, dur, rounds, compare, labels=None):
    """Per case: median req/s and p99 per server, then compare(medians) -> (label, ref name, other
    names), or a list of such triples.

    The ratio printed is ref / best of the others (by req/s); labels: case -> title
    (default CASE_LABELS)."""
    labels = labels or CASE_LABELS
    log(f"\n== medians over {rounds} round(s) of wrk -t2 -c64 -d{dur}s "
        "(wrk and the servers share the machine's 2 cores) ==")
    for case in cases:
        log(f"\n{labels[case]}")
        log(f"  {'server':16} {'req/s':>10} {'p99':>10}   per round req/s")
        med = {}
        for s in servers:
            rs = results[(s.name, case)]
            med[s.name] = (median([r["rps"] for r in rs]), median([r["p99_ms"] for r in rs]))
            bad = sum(r["non2xx"] + r["errors"] for r in rs)
            log(f"  {s.name:16} {fmt_rps(med[s.name][0]):>10} {fmt_ms(med[s.name][1]):>10}   "
                + " ".join(fmt_rps(r["rps"]) for r in rs)
                + (f"   !! {bad} non-2xx/socket errors" if bad else ""))
        lines = compare(med)
        for label, ref, others in (lines if isinstance(lines, list) else [lines]):
            others = [n for n in others if n in med]
            if ref in med and others:
                best = max(others, key=lambda n: med[n][0])
                log(f"  {label} ({ref} / {best}): req/s x{med[ref][0] / med[best][0]:.2f}, "
                    f"p99 x{med[ref][1] / med[best][1]:.2f}")


def csv_list(allowed):
    def parse(text):
        items = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in items if x not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"unknown {bad or text!r}; choose from {','.join(allowed)}")
        return items
    return parse



# ---- wrk ---------------------------------------------------------------------------------

_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * _UNIT[m.group(2)] if m else float("nan")


def run_wrk(port, case, docroot, dur, threads=2, conns=64):
    """One wrk run; returns dict(rps, p99_ms, errors, non2xx). Raises RuntimeError if wrk fails."""
    url = f"http://127.0.0.1:{port}"
    if CASES[case] is None:
        extra = ["-s", str(WRK_MULTI), url + "/", "--", str(docroot / "urls.txt")]
    else:
        extra = [url + CASES[case]]
    return _wrk(extra, dur, threads, conns)


def run_wrk_url(url, dur, threads=2, conns=64):
    """wrk on one URL; returns dict(rps, p99_ms, errors, non2xx). Raises RuntimeError if wrk fails."""
    return _wrk([url], dur, threads, conns)


def _wrk(extra, dur, threads, conns):
    argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{dur}s", "--latency"] + extra
    r = subprocess.run(argv, capture_output=True, text=True, timeout=dur + 60)
    out = r.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({r.returncode}): {out}{r.stderr}")
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(m.group(1)),
        "p99_ms": _ms(p99.group(1)) if p99 else float("nan"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": sum(int(x) for x in errs.groups()) if errs else 0,
    }


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_rps(x):
    return f"{x:,.0f}"


def fmt_ms(x):
    return f"{x:.2f}ms"
