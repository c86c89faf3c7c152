"""The proxy's TLS to origins: `--to https://host:port` with a CA file, connections verified
(name and chain), pooled and reused like plain ones; a certificate that does not verify is a
502 naming the reason; HTTPS on the proxy's own port with --tls-cert/--tls-key."""
import http.server
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import BIN, free_port, read_response
from proxy_support import fetch, proxy_config
from tls_support import ThrowawayCA


class Origin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.server.connections += 1
        # The handshake ran in accept(): whether this connection resumed a session.
        self.server.reused.append(self.connection.session_reused)

    def do_GET(self):
        body = ("origin says %s over %s\n" % (self.path, self.connection.version())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def start_origin(cert, key):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    srv.connections = 0
    srv.reused = []
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = ThrowawayCA(d)
    rogue = ThrowawayCA(d, name="rogue")
    return dict(ca=ca, good=ca.issue("origin", ["localhost", "127.0.0.1"]),
                wrong_name=ca.issue("elsewhere", ["elsewhere.test"]),
                untrusted=rogue.issue("untrusted", ["localhost", "127.0.0.1"]),
                front=ca.issue("front", ["localhost", "127.0.0.1"]))


@pytest.fixture
def proxy(tmp_path):
    started = []

    def start(*args):
        port = free_port()
        log = open(str(tmp_path / ("proxy%d.log" % len(started))), "w")
        p = subprocess.Popen([BIN, "proxy", "--port", str(port), "--listen", "127.0.0.1", "--workers", "2", "--no-cache",
                              "--cache-dir", str(tmp_path / "cache")] + list(args),
                             stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, SWIFT_BACKTRACE="enable=no"))
        started.append(p)
        deadline = time.time() + 10
        while True:
            assert p.poll() is None, open(log.name).read()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return port
            except OSError:
                assert time.time() < deadline
                time.sleep(0.05)

    yield start
    for p in started:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def ask(sock, path, close=False):
    sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\n" + (b"Connection: close\r\n" if close else b"") + b"\r\n")
    status, headers, body, rest = read_response(sock)
    return status, body


def test_proxy_to_an_https_origin_verifies_and_reuses(pki, proxy):
    origin = start_origin(*pki["good"])
    try:
        port = proxy("--to", "https://127.0.0.1:%d" % origin.server_port, "--ca-file", pki["ca"].pem, "--balance", "first-alive")
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                for i in range(4):
                    status, body = ask(c, b"/r%d" % i)
                    assert status == 200
                    assert body.startswith(b"origin says /r%d over TLSv1.3" % i), body
        # Twelve requests over pooled TLS connections (two workers: at most a few handshakes).
        assert origin.connections <= 4, origin.connections
    finally:
        origin.shutdown()


@pytest.mark.parametrize("which,reason", [("untrusted", b"certificate verify failed"),
                                          ("wrong_name", b"certificate verify failed")])
def test_an_origin_certificate_that_does_not_verify_is_a_502(pki, proxy, which, reason):
    origin = start_origin(*pki[which])
    try:
        port = proxy("--to", "https://127.0.0.1:%d" % origin.server_port, "--ca-file", pki["ca"].pem)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            status, body = ask(c, b"/x", close=True)
        assert status == 502
        assert reason in body, body
        assert b"TLS handshake with 127.0.0.1:%d" % origin.server_port in body
    finally:
        origin.shutdown()


def test_https_in_front_and_behind(pki, proxy):
    origin = start_origin(*pki["good"])
    try:
        front_cert, front_key = pki["front"]
        port = proxy("--to", "https://127.0.0.1:%d" % origin.server_port, "--ca-file", pki["ca"].pem,
                     "--tls-cert", front_cert, "--tls-key", front_key)
        ctx = pki["ca"].client_context()
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost") as c:
            status, body = ask(c, b"/both")
            assert status == 200 and body.startswith(b"origin says /both over TLS")
    finally:
        origin.shutdown()


def test_new_upstream_connections_resume_the_origins_session(pki, server_factory, docroot):
    """keepalive_timeout 0: every request opens a new connection to the origin; from the
    second on, each resumes the session (TLS 1.3 ticket) the origin gave the one before."""
    origin = start_origin(*pki["good"])
    try:
        admin = free_port()
        config = proxy_config(docroot, ["127.0.0.1:%d" % origin.server_port], attempts=1)
        config = config.replace("plugins:\n  proxy: true\n", "plugins:\n  proxy: true\n  admin: true\nadmin:\n  port: %d\n" % admin)
        config += "      tls: true\n      ca_file: %s\n      keepalive_timeout: 0\n" % pki["ca"].pem
        s = server_factory(config)
        for i in range(4):
            status, _, body = fetch(s, "/p/r%d" % i)
            assert status == 200 and body.startswith(b"origin says /p/r%d over TLSv1.3" % i), body
        assert origin.reused == [False, True, True, True], origin.reused
        with urllib.request.urlopen("http://127.0.0.1:%d/api/stats" % admin, timeout=5) as r:
            upstream = json.loads(r.read())["upstream_tls"]
        assert upstream["handshakes"] == 4 and upstream["resumed_handshakes"] == 3, upstream
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=5) as r:
            assert "capuchin_tls_upstream_resumed_handshakes_total 3" in r.read().decode()
    finally:
        origin.shutdown()


class ProtoEcho(http.server.BaseHTTPRequestHandler):
    """A cacheable answer naming the scheme the proxy says its client used, and a count."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.count += 1
        body = ("proto=%s n=%d\n" % (self.headers.get("X-Forwarded-Proto"), self.server.count)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=60")
        self.end_headers()
        self.wfile.write(body)


def test_the_cache_key_has_the_clients_scheme(pki, server_factory, docroot, tmp_path):
    """One proxy, a TLS listener and a plain one: the same path is two entries,
    https://... and http://..., each hit on its own scheme only."""
    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ProtoEcho)
    origin.count = 0
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    try:
        plain = free_port()
        config = proxy_config(docroot, ["127.0.0.1:%d" % origin.server_port], attempts=1, cache_dir=tmp_path / "pcache")
        cert, key = pki["front"]
        config = config.replace("  keepalive_timeout: 5s\n", "  keepalive_timeout: 5s\n  tls: {cert: %s, key: %s}\nlisteners:\n  - port: %d\n"
                                % (cert, key, plain))
        s = server_factory(config)
        ctx = pki["ca"].client_context()

        def over_tls():
            with ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port), timeout=10), server_hostname="localhost") as c:
                c.sendall(b"GET /p/same HTTP/1.1\r\nHost: localhost\r\n\r\n")
                status, headers, body, _ = read_response(c)
                return status, headers, body

        def plain_http():
            with socket.create_connection(("127.0.0.1", plain), timeout=10) as c:
                c.sendall(b"GET /p/same HTTP/1.1\r\nHost: localhost\r\n\r\n")
                status, headers, body, _ = read_response(c)
                return status, headers, body

        first_http = plain_http()
        assert first_http[0] == 200 and first_http[2] == b"proto=http n=1\n"
        first_https = over_tls()
        assert first_https[0] == 200 and first_https[2] == b"proto=https n=2\n", "an http entry answered an https request"
        for _ in range(2):
            h, t = plain_http(), over_tls()
            assert h[2] == b"proto=http n=1\n" and "hit" in h[1].get("cache-status", ""), h
            assert t[2] == b"proto=https n=2\n" and "hit" in t[1].get("cache-status", ""), t
        assert origin.count == 2
    finally:
        origin.shutdown()
