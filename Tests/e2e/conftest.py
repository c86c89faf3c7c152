"""Starts the built `capuchin` binary on a free loopback port for end-to-end tests.

The binary is $CAPUCHIN_BIN, else .build/debug/capuchin under the repository root.
Every server is stopped by PID (SIGTERM, then SIGKILL after a bound)."""
import collections
import os
import random
import signal
import socket
import subprocess
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("CAPUCHIN_BIN") or os.path.join(REPO, ".build", "debug", "capuchin")


_recent_ports = collections.deque(maxlen=256)


def free_port():
    """A loopback port that is free now, for a server to listen on. Not from
    the kernel's ephemeral range (32768 up): a client's connection may take a
    port from there between this call and the server's bind. Under
    pytest-xdist (`-n`) each worker draws from a range of its own, so two
    workers never pick the same port; a
    port given out recently (not yet bound, or just freed by a stopped server)
    is not given again."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    n = int(worker[2:]) if worker[2:].isdigit() else 0
    low = 10000 + (n % 4) * 5000
    for _ in range(1000):
        port = random.randrange(low, low + 5000)
        if port in _recent_ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _recent_ports.append(port)
        return port
    raise RuntimeError("no free port in %d-%d" % (low, low + 4999))


class Server:
    def __init__(self, workdir, config, extra_args=(), port=None):
        self.workdir = workdir
        self.port = port or free_port()
        self.config_path = os.path.join(workdir, "capuchin.yaml")
        self.write_config(config)
        self.log_path = os.path.join(workdir, "server.log")
        self.extra_args = list(extra_args)
        self.proc = None

    def write_config(self, config):
        with open(self.config_path, "w") as f:
            f.write(config.replace("{port}", str(getattr(self, "port", 0))))

    def start(self):
        env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", self.config_path, "--port", str(self.port)] + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited early:\n" + self.read_log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start:\n" + self.read_log())

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def connect(self, timeout=5):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


def make_docroot(root):
    os.makedirs(os.path.join(root, "sub"), exist_ok=True)
    files = {
        "index.html": b"<h1>home</h1>\n",
        "a.txt": b"alpha\n",
        "b.txt": b"bravo bravo\n",
        "c.txt": b"charlie charlie charlie\n",
        "sub/index.html": b"<h1>sub index</h1>\n",
        "with space.txt": b"spaced\n",
        "digits.txt": b"0123456789" * 10,
    }
    for name, data in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
    return files


BASE_CONFIG = """
server:
  listen: 127.0.0.1
  port: {port}
  workers: 2
  balance: %(balance)s
  header_timeout: %(header_timeout)s
  keepalive_timeout: %(keepalive_timeout)s
  max_connections: %(max_connections)s
  max_request_body: 1k
sites:
%(sites)s
logging:
  level: debug
"""


def config_text(root, balance="reuseport", header_timeout="5s", keepalive_timeout="5s",
                max_connections=100, sites=None):
    if sites is None:
        sites = "  - root: %s\n    default: true\n" % root
    return BASE_CONFIG % dict(balance=balance, header_timeout=header_timeout,
                              keepalive_timeout=keepalive_timeout,
                              max_connections=max_connections, sites=sites)


@pytest.fixture
def docroot(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    make_docroot(str(root))
    return str(root)


@pytest.fixture
def server_factory(tmp_path):
    started = []

    def make(config, extra_args=(), port=None):
        """`port`: listen on this one (a restart keeps its clients' Host, part of the proxy's cache key)."""
        s = Server(str(tmp_path), config, extra_args, port)
        started.append(s)
        return s.start()

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def server(server_factory, docroot):
    return server_factory(config_text(docroot))


def recv_all(sock, limit=10 ** 8):
    chunks = []
    total = 0
    while total < limit:
        try:
            d = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not d:
            break
        chunks.append(d)
        total += len(d)
    return b"".join(chunks)


def read_response(sock, buf=b""):
    """Reads one response with a Content-Length body; returns (status, headers, body, rest)."""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise EOFError("connection closed before a full head")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        d = sock.recv(65536)
        if not d:
            break
        rest += d
    return status, headers, rest[:n], rest[n:]
