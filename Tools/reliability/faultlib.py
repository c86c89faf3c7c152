"""Shared helpers for the crash and fault parts of Tools/reliability: finding
the binaries, starting `capuchin serve` / `capuchin proxy` on 127.0.0.1 and
stopping them by PID, a keep-alive HTTP client, cachedump wrappers, and the
part's JSON result line."""
import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = dict(os.environ, SWIFT_BACKTRACE="enable=no")


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--short", action="store_true", help="the CI version (about 90 s at most)")
    p.add_argument("--capuchin", default=os.environ.get("CAPUCHIN_BIN"))
    p.add_argument("--cachedump", default=os.environ.get("CACHEDUMP_BIN"))
    p.add_argument("--seed", type=int, default=int(time.time()))
    a = p.parse_args()
    if not a.capuchin or not a.cachedump:
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", ".build-reliability"],
                       cwd=REPO, env=ENV, check=True, stdout=sys.stderr)
        bindir = os.path.join(REPO, ".build-reliability", "release")
        a.capuchin = a.capuchin or os.path.join(bindir, "capuchin")
        a.cachedump = a.cachedump or os.path.join(bindir, "cachedump")
    for b in (a.capuchin, a.cachedump):
        if not os.access(b, os.X_OK):
            sys.exit(f"not an executable: {b}")
    return a


def note(msg):
    print(msg, file=sys.stderr, flush=True)


def finish(part, rows):
    """Prints the result line and exits 0 iff no row has failures."""
    print(json.dumps({"part": part, "rows": rows}), flush=True)
    sys.exit(0 if rows and all(r["failures"] == 0 for r in rows) else 1)


def row(test, tried, count, failures, detail):
    return {"test": test, "tried": tried, "count": int(count), "failures": int(failures), "detail": detail}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


STARTED = []


def stop_all():
    """SIGKILLs every server this script started that still runs (by PID)."""
    for p in STARTED:
        if p.alive():
            p.kill9()


class Proc:
    """One server process (maybe under strace): started, then killed by PID."""

    def __init__(self, argv, log, port, strace=None, env_extra=None):
        self.port = port
        self.log = log
        self.started = time.monotonic()
        cmd = argv if strace is None else ["strace", "-f", "-qq", "-o", "/dev/null"] + strace + argv
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "ab"), env=dict(ENV, **(env_extra or {})))
        self.traced = strace is not None
        STARTED.append(self)

    def target_pid(self):
        """The server's PID (strace's child when traced)."""
        if not self.traced:
            return self.proc.pid
        kids = children_of(self.proc.pid)
        return kids[0] if kids else None

    def wait_listening(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                time.sleep(0.01)
        return False

    def alive(self):
        return self.proc.poll() is None

    def kill9(self):
        """SIGKILL the server (not strace), then reap everything we started."""
        pid = self.target_pid()
        if pid and self.proc.poll() is None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.reap()

    def reap(self, timeout=10):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pid = self.target_pid()
            if pid:
                os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait(timeout=10)

    def term(self, timeout=20):
        """SIGTERM and wait; SIGKILL when ignored. Returns the exit status."""
        if self.proc.poll() is None:
            pid = self.target_pid() or self.proc.pid
            os.kill(pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self.proc.returncode

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")


def serve_config(tmp, root, port, cache_extra=""):
    path = os.path.join(tmp, f"capuchin-{port}.yaml")
    with open(path, "w") as f:
        f.write(f"""server:
  listen: 127.0.0.1
  port: {port}
  workers: 2
  state_dir: {tmp}/state
sites:
  - names: [localhost]
    root: {root}
    default: true
cache:
{cache_extra or "  enabled: true"}
""")
    return path


def start_serve(binary, tmp, root, cache_dir, cache_extra="", strace=None, log=None, env_extra=None):
    port = free_port()
    cfg = serve_config(tmp, root, port, cache_extra)
    p = Proc([binary, "serve", "--config", cfg, "--cache-dir", cache_dir], log or os.path.join(tmp, "server.log"),
             port, strace, env_extra)
    return p


def start_proxy(binary, tmp, backend_port, cache_dir, strace=None):
    port = free_port()
    return Proc([binary, "proxy", "--listen", "127.0.0.1", "--port", str(port), "--workers", "2",
                 "--to", f"127.0.0.1:{backend_port}", "--cache-dir", cache_dir],
                os.path.join(tmp, "proxy.log"), port, strace)


class Client:
    """A keep-alive HTTP/1.1 client that reconnects after errors."""

    def __init__(self, port, timeout=3):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def get(self, path):
        """(status, headers with lowercase names, body); raises OSError/HTTPException."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request("GET", path)
            r = self.conn.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        except Exception:
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def cachedump(binary, *args, timeout=60):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, env=ENV)


def export_records(binary, directory):
    """key -> record dict of every entry (cachedump export), or raises with its stderr."""
    r = cachedump(binary, "export", directory)
    if r.returncode != 0:
        raise RuntimeError(f"cachedump export {directory} exited {r.returncode}: {r.stderr.strip()}")
    out = {}
    for line in r.stdout.splitlines():
        if line.strip():
            rec = json.loads(line)
            out[rec["key"]] = rec
    return out


def verify(binary, directory):
    """(exit status, parsed JSON or None, stderr) of `cachedump verify --json`."""
    r = cachedump(binary, "verify", "--json", directory)
    try:
        doc = json.loads(r.stdout) if r.stdout.strip() else None
    except ValueError:
        doc = None
    return r.returncode, doc, r.stderr.strip()


class Docroot:
    """A docroot of small files whose current contents the script knows."""

    def __init__(self, root, n, rng):
        self.root = root
        self.rng = rng
        self.expected = {}   # url path -> sha256 of the file now, None when deleted
        os.makedirs(root, exist_ok=True)
        for i in range(n):
            self.write(f"/d{i % 8}/f{i}.txt")

    def file(self, path):
        return self.root + path

    def write(self, path, in_place=False):
        data = os.urandom(self.rng.randint(100, 6000))
        f = self.file(path)
        os.makedirs(os.path.dirname(f), exist_ok=True)
        if in_place and os.path.exists(f):
            with open(f, "r+b") as h:
                h.truncate(0)
                h.write(data)
        else:
            tmp = f + ".new"
            with open(tmp, "wb") as h:
                h.write(data)
            os.rename(tmp, f)
        self.expected[path] = sha(data)

    def delete(self, path):
        if os.path.exists(self.file(path)):
            os.unlink(self.file(path))
        self.expected[path] = None

    def mutate(self, count):
        """Modifies in place, replaces by rename, deletes or recreates `count` files;
        returns the url paths changed."""
        changed = set()
        for path in self.rng.sample(sorted(self.expected), count):
            op = self.rng.choice(["modify", "replace", "delete"])
            if self.expected[path] is None or op == "replace":
                self.write(path)
            elif op == "modify":
                self.write(path, in_place=True)
            else:
                self.delete(path)
            changed.add(path)
        return changed

    def check(self, path, status, body):
        """True when a complete response is right for the file as it is now."""
        want = self.expected[path]
        if want is None:
            return status == 404
        return status == 200 and sha(body) == want


def make_tmp(prefix):
    return tempfile.mkdtemp(prefix=f"capuchin-{prefix}-")


def remove_tmp(path):
    shutil.rmtree(path, ignore_errors=True)


def key_path(key):
    """The url path of a file cache key (site NUL path, or site + path)."""
    i = key.find("/")
    return key[i:] if i >= 0 else key


def run_part_short(name, timeout=300):
    """Runs `part_<name>.py --short` as the test suites do and returns its rows;
    AssertionError (with the rows) unless it exits 0 with only passing rows.
    Uses CAPUCHIN_BIN/CACHEDUMP_BIN, else the debug build when present."""
    env = dict(ENV)
    debug = os.path.join(REPO, ".build", "debug")
    if "CAPUCHIN_BIN" not in env and os.access(os.path.join(debug, "capuchin"), os.X_OK):
        env["CAPUCHIN_BIN"] = os.path.join(debug, "capuchin")
        env["CACHEDUMP_BIN"] = os.path.join(debug, "cachedump")
    script = os.path.join(REPO, "Tools", "reliability", f"part_{name}.py")
    r = subprocess.run([sys.executable, script, "--short"], capture_output=True, text=True, timeout=timeout, env=env)
    lines = r.stdout.strip().splitlines()
    assert lines, f"part {name} printed nothing (exit {r.returncode}): {r.stderr[-3000:]}"
    doc = json.loads(lines[-1])
    rows = doc["rows"]
    shown = json.dumps(rows, indent=1) + "\n" + r.stderr[-3000:]
    assert r.returncode == 0, shown
    assert doc["part"] == name and rows, shown
    assert all(x["count"] > 0 and x["failures"] == 0 for x in rows), shown
    return rows
