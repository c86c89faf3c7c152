"""Shared helpers for Tools/reliability parts: argument parsing, finding or
building the binaries, starting Capuchin and small loopback backends (stopped by
PID), raw HTTP exchanges, /proc figures, and the result rows every part prints.

The contract of a part: `part_<name>.py [--short] [--capuchin BIN] [--cachedump BIN]`
prints as its last stdout line {"part": name, "rows": [...]} and exits 0 iff every
row has failures == 0."""
import argparse
import hashlib
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRATCH = os.path.join(REPO, ".build-reliability")
os.environ["SWIFT_BACKTRACE"] = "enable=no"


# ---------------------------------------------------------------- arguments, binaries

def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--short", action="store_true", help="the CI version (about a minute at most)")
    p.add_argument("--capuchin", default=os.environ.get("CAPUCHIN_BIN"))
    p.add_argument("--cachedump", default=os.environ.get("CACHEDUMP_BIN"))
    a = p.parse_args()
    if not a.capuchin or not a.cachedump:
        built = build_release()
        a.capuchin = a.capuchin or os.path.join(built, "capuchin")
        a.cachedump = a.cachedump or os.path.join(built, "cachedump")
    a.capuchin = os.path.abspath(a.capuchin)
    a.cachedump = os.path.abspath(a.cachedump)
    return a


def build_release():
    """Builds capuchin and cachedump (release) under .build-reliability; returns the bin dir."""
    for product in ("capuchin", "cachedump"):
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", SCRATCH, "--product", product],
                       cwd=REPO, check=True, stdout=sys.stderr)
    out = subprocess.run(["swift", "build", "-c", "release", "--scratch-path", SCRATCH, "--show-bin-path"],
                         cwd=REPO, check=True, capture_output=True, text=True)
    return out.stdout.strip()


# ---------------------------------------------------------------- result rows

class Report:
    """Collects rows; `finish` prints the JSON line and exits."""

    def __init__(self, part):
        self.part = part
        self.rows = []

    def row(self, test, tried, count, failed_cases, extra=""):
        """failed_cases: list of strings naming each failed case (its length is the failure count)."""
        detail = "; ".join(failed_cases[:20])
        if len(failed_cases) > 20:
            detail += "; ... (%d more)" % (len(failed_cases) - 20)
        if extra:
            detail = (extra + ("; " + detail if detail else "")).strip()
        self.rows.append({"test": test, "tried": tried, "count": int(count),
                          "failures": len(failed_cases), "detail": detail})
        log("%s: %d tried, %d failed %s" % (test, count, len(failed_cases), detail))

    def finish(self):
        print(json.dumps({"part": self.part, "rows": self.rows}), flush=True)
        sys.exit(0 if self.rows and all(r["failures"] == 0 for r in self.rows) else 1)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, within=10.0, what="server"):
    deadline = time.time() + within
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited early (status %s)" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not open port %d" % (what, port))


def raise_nofile(n):
    """Raises this process's RLIMIT_NOFILE soft limit towards n (up to the hard limit); returns it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(n, hard) if hard != resource.RLIM_INFINITY else n
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def server_config(root, port, extra_server="", extra="", workers=2, cache_dir=None, sites=None):
    """A serve configuration on 127.0.0.1:port; extra_server is indented under `server:`."""
    sites = sites or "  - root: %s\n    default: true\n" % root
    text = "server:\n  listen: 127.0.0.1\n  port: %d\n  workers: %d\n" % (port, workers)
    for line in extra_server.strip("\n").splitlines():
        text += "  " + line.strip() + "\n"
    text += "sites:\n" + sites + "logging:\n  level: info\n"
    if cache_dir:
        text += "cache:\n  dir: %s\n" % cache_dir
    return text + extra


class Capuchin:
    """One capuchin process (serve or proxy) in `workdir`, stopped by PID."""

    def __init__(self, binary, workdir, args, port, nofile=None):
        self.binary, self.workdir, self.args, self.port, self.nofile = binary, workdir, args, port, nofile
        self.proc = None
        self.log_path = os.path.join(workdir, "capuchin-%d.log" % port)

    @classmethod
    def serve(cls, binary, workdir, config_text, port, nofile=None):
        path = os.path.join(workdir, "capuchin-%d.yaml" % port)
        with open(path, "w") as f:
            f.write(config_text)
        return cls(binary, workdir, ["serve", "--config", path], port, nofile).start()

    def start(self):
        cmd = [self.binary] + self.args
        if self.nofile:
            cmd = ["prlimit", "--nofile=%d:%d" % (self.nofile, self.nofile), "--"] + cmd
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, SWIFT_BACKTRACE="enable=no"))
        wait_port(self.port, self.proc, what="capuchin")
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status (negative: signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def hold_connections(connect, n, request, ending, max_failures=20):
    """Opens up to n connections with `connect()`, each answered once (`request` until the
    data ends with `ending`), and keeps them; returns (held sockets, failures)."""
    held, bad = [], 0
    for _ in range(n):
        try:
            c = connect()
            c.sendall(request)
            buf = b""
            while not buf.endswith(ending):
                d = c.recv(4096)
                if not d:
                    raise OSError("closed")
                buf += d
            held.append(c)
        except OSError:
            bad += 1
            if bad > max_failures:
                break
    return held, bad


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def proc_cpu_seconds(pid):
    """User + system CPU time of a process (all threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# ---------------------------------------------------------------- raw HTTP

def connect(port, timeout=5.0):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_until_close(sock, limit=1 << 26, idle=3.0):
    """Everything the peer sends until it closes, resets, or stays silent for `idle` seconds.
    Returns (data, closed) where closed says the peer ended the connection."""
    sock.settimeout(idle)
    chunks, total = [], 0
    while total < limit:
        try:
            d = sock.recv(65536)
        except socket.timeout:
            return b"".join(chunks), False
        except (ConnectionResetError, BrokenPipeError):
            return b"".join(chunks), True
        if not d:
            return b"".join(chunks), True
        chunks.append(d)
        total += len(d)
    return b"".join(chunks), False


def exchange(port, raw, idle=2.0, timeout=5.0):
    """Sends raw bytes on a fresh connection and reads until close or `idle` seconds of silence.
    Returns (responses, closed, data): responses as parsed by split_responses."""
    s = connect(port, timeout)
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, closed = read_until_close(s, idle=idle)
    finally:
        s.close()
    return split_responses(data), closed, data


def split_responses(data, head_requests=0):
    """Splits a byte stream into responses [(status, headers dict lowercased, body)].
    Bodies are framed by Content-Length or chunked; a trailing fragment becomes status -1."""
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            out.append((-1, {}, data[pos:]))
            break
        lines = data[pos:end].decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            out.append((-1, {}, data[pos:]))
            break
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        pos = end + 4
        if status in (204, 304) or 100 <= status < 200 or (head_requests > 0):
            body = b""
            head_requests = max(0, head_requests - 1)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body, pos = _dechunk(data, pos)
        else:
            n = int(headers.get("content-length", "0"))
            body = data[pos:pos + n]
            pos += n
        out.append((status, headers, body))
    return out


def _dechunk(data, pos):
    body = b""
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return body, len(data)
        size = int(data[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            end = data.find(b"\r\n\r\n", pos - 2)
            return body, (end + 4 if end >= 0 else len(data))
        body += data[pos:pos + size]
        pos += size + 2


def get(port, path, headers=(), timeout=5.0, host="x"):
    """One GET on its own connection (Connection: close): (status, headers, body) or (None, {}, b'')."""
    raw = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (path, host)
    raw += "".join("%s: %s\r\n" % kv for kv in headers) + "\r\n"
    try:
        rs, _, _ = exchange(port, raw.encode("latin-1"), idle=timeout, timeout=timeout)
    except OSError:
        return None, {}, b""
    return rs[0] if rs and rs[0][0] > 0 else (None, {}, b"")


def sha256(b):
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------- docroots

def write_files(root, files):
    for name, data in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def tempdir(prefix):
    return tempfile.mkdtemp(prefix="capuchin-%s-" % prefix)


# ---------------------------------------------------------------- loopback backends

class Backend:
    """A threaded http.server on 127.0.0.1 whose `handler(req)` returns
    (status, headers list, body); records every request it receives."""

    def __init__(self, handler):
        self.handler = handler
        self.requests = []
        self.lock = threading.Lock()
        backend = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with backend.lock:
                    backend.requests.append((self.command, self.path, list(self.headers.items()), body))
                status, headers, payload = backend.handler(self)
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = _any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def count(self, path=None):
        with self.lock:
            return sum(1 for r in self.requests if path is None or r[1] == path)

    def last_headers(self, path):
        with self.lock:
            for r in reversed(self.requests):
                if r[1] == path:
                    return {k.lower(): v for k, v in r[2]}
        return None

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class SilentBackend:
    """Accepts connections (and reads) but never answers; counts accepted connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        self.sock.settimeout(0.1)
        while self.running:
            try:
                c, _ = self.sock.accept()
                self.accepted.append(c)
            except (socket.timeout, OSError):
                continue

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        self.running = False
        self.thread.join(2)
        for c in self.accepted:
            c.close()
        self.sock.close()


# ---------------------------------------------------------------- pytest glue

def run_part_for_test(name, timeout=300):
    """Runs part_<name>.py --short; returns (exit status, rows, output) for a pytest to assert on."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "part_%s.py" % name)
    out = subprocess.run([sys.executable, script, "--short"], capture_output=True, text=True, timeout=timeout,
                         env=dict(os.environ, SWIFT_BACKTRACE="enable=no"))
    rows = []
    lines = [l for l in out.stdout.strip().splitlines() if l.strip()]
    if lines:
        try:
            rows = json.loads(lines[-1])["rows"]
        except (ValueError, KeyError):
            rows = []
    return out.returncode, rows, out.stdout + out.stderr[-4000:]


def assert_part_passes(name, timeout=1200):
    code, rows, output = run_part_for_test(name, timeout)
    table = "\n".join("%s | %s | %d | %d | %s" % (r["test"], r["tried"], r["count"], r["failures"], r["detail"])
                      for r in rows)
    assert rows, "part %s printed no rows:\n%s" % (name, output)
    assert all(r["count"] > 0 for r in rows), table
    assert all(r["failures"] == 0 for r in rows), table
    assert code == 0, table + "\n" + output
