"""Fixtures for the file cache's end-to-end tests: a real `capuchin serve`
on 127.0.0.1 with a temporary docroot and cache directory, stopped by PID."""
import http.client
import os
import signal
import socket
import subprocess
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CAPUCHIN = os.environ.get("CAPUCHIN_BIN", os.path.join(REPO, ".build", "debug", "capuchin"))
CACHEDUMP = os.environ.get("CACHEDUMP_BIN", os.path.join(os.path.dirname(CAPUCHIN), "cachedump"))
START_TIMEOUT = 15.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `capuchin serve` process; `start` may be called again after `stop`/`kill`."""

    def __init__(self, tmp, cache_extra=""):
        self.tmp = str(tmp)
        self.root = os.path.join(self.tmp, "docroot")
        self.cache_dir = os.path.join(self.tmp, "cache")
        os.makedirs(self.root, exist_ok=True)
        self.port = free_port()
        self.config = os.path.join(self.tmp, "capuchin.yaml")
        with open(self.config, "w") as f:
            f.write(f"""server:
  listen: 127.0.0.1
  port: {self.port}
  workers: 2
  state_dir: {self.tmp}/state
sites:
  - names: [localhost]
    root: {self.root}
    default: true
cache:
  commit_interval_ms: 20
{cache_extra}""")
        self.proc = None
        self.log = os.path.join(self.tmp, "server.log")

    def write(self, name, data, mode="wb"):
        path = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode) as f:
            f.write(data)
        return path

    def start(self):
        env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
        self.proc = subprocess.Popen(
            [CAPUCHIN, "serve", "--config", self.config, "--cache-dir", self.cache_dir],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"), env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {self.read_log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise AssertionError("server did not start listening")

    def read_log(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def stop(self):
        """SIGTERM, then wait (bounded) for a clean exit."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server ignored SIGTERM")
        return self.proc.returncode if self.proc else None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def get(self, path, headers=None, method="GET", timeout=10):
        """(status, headers dict with lowercase names, body); raises on a broken connection."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            c.close()


@pytest.fixture
def server(tmp_path):
    if not os.access(CAPUCHIN, os.X_OK):
        pytest.skip(f"no capuchin binary at {CAPUCHIN} (build first or set CAPUCHIN_BIN)")
    s = Server(tmp_path)
    yield s
    s.kill()
