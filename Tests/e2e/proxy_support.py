"""Backends for the proxy tests: threaded http.server instances on 127.0.0.1
free ports that count the requests they get and answer by path prefix."""
import http.client
import http.server
import json
import os
import socket
import threading
import time
import urllib.parse

from conftest import Server, free_port


_PATTERN = bytes(i % 251 for i in range(251)) * 300


def big_block(offset, n):
    """Bytes offset..offset+n of the repeating 0..250 pattern the /p/big bodies carry."""
    start = offset % 251
    out = bytearray()
    while len(out) < n:
        take = min(n - len(out), len(_PATTERN) - start)
        out += _PATTERN[start:start + take]
        start = 0
    return bytes(out)


class BackendHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.server.backend.track(self.connection)

    def do_GET(self):
        self.answer()

    def do_HEAD(self):
        self.answer()

    def do_POST(self):
        self.answer()

    def answer(self):
        backend = self.server.backend
        backend.record(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path
        extra = []
        if path.startswith("/p/v/"):
            return self.validated()
        if path.startswith("/p/big"):
            # /p/big/NAME?size=N&chunk=C&delay=S: a cacheable body of N bytes sent C at a time, S seconds apart;
            # &hold=H: after H bytes it waits for `backend.release` (set by the test; at most 30 s);
            # &hold1=H1 (below H): after H1 bytes it first waits for `backend.release_first`;
            # &chunked=1: sent chunked (no Content-Length).
            q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
            size, chunk, delay = int(q.get("size", 1 << 20)), int(q.get("chunk", 65536)), float(q.get("delay", 0))
            hold, chunked = int(q.get("hold", -1)), q.get("chunked") == "1"
            hold_first = int(q.get("hold1", -1))
            self.send_response(200)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(size))
            self.send_header("Cache-Control", "max-age=60")
            self.send_header("X-Backend", backend.name)
            self.end_headers()
            sent = 0
            try:
                while sent < size:
                    if sent == hold_first:
                        backend.release_first.wait(30)
                    if sent == hold:
                        backend.release.wait(30)
                    stop = min([h for h in (hold_first, hold) if h > sent] or [size])
                    n = min(chunk, size - sent, stop - sent)
                    part = bytes((sent + i) % 251 for i in range(n)) if n <= 4096 else big_block(sent, n)
                    self.wfile.write(b"%x\r\n%s\r\n" % (n, part) if chunked else part)
                    self.wfile.flush()
                    sent += n
                    if delay:
                        time.sleep(delay)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
            except OSError:
                pass
            return
        if path.startswith("/p/health"):
            # The health check target: 503 while the backend is failing.
            if backend.failing:
                return self.send(503, b"unhealthy\n", [("Cache-Control", "no-store")])
            return self.send(200, b"ok\n", [("Cache-Control", "no-store")])
        if path.startswith("/p/hdr"):
            # /p/hdr/NAME?Field=value&...: a 200 with exactly those response fields.
            query = urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query)
            return self.send(200, ("%s %s #%d\n" % (backend.name, path, backend.count(path))).encode(), query)
        if path.startswith("/p/slow"):
            time.sleep(1.0)
        if path.startswith("/p/hang"):
            time.sleep(4.0)
        if path.startswith("/p/echo"):
            payload = json.dumps({"method": self.command, "headers": [[k, v] for k, v in self.headers.items()],
                                  "body": body.decode("latin-1")}).encode()
            return self.send(200, payload, [("Cache-Control", "no-store"), ("Content-Type", "application/json")])
        if path.startswith("/p/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("X-Backend", backend.name)
            self.end_headers()
            for i in range(5):
                part = ("part %d of %s;" % (i, backend.name)).encode() * (i + 1)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
                time.sleep(0.02)
            self.wfile.write(b"0\r\n\r\n")
            return
        if path.startswith("/p/cache") or path.startswith("/p/slow"):
            extra.append(("Cache-Control", "max-age=60"))
        elif path.startswith("/p/nostore"):
            extra.append(("Cache-Control", "no-store, max-age=60"))
        elif path.startswith("/p/private"):
            extra.append(("Cache-Control", "private, max-age=60"))
        elif path.startswith("/p/cookie"):
            extra += [("Cache-Control", "max-age=60"), ("Set-Cookie", "s=1")]
        else:
            extra.append(("Cache-Control", "no-store"))
        n = backend.count(path)
        self.send(200, ("%s %s #%d\n" % (backend.name, path, n)).encode(), extra)

    # A fixed body and Last-Modified so ranges and dates are predictable.
    VALIDATED_BODY = b"0123456789abcdefghijklmnopqrstuvwxyz" * 4
    LAST_MODIFIED = "Tue, 01 Jan 2030 00:00:00 GMT"

    def validated(self):
        """/p/v/NAME?cc=...&cc304=...&delay=S: a response with ETag "vN" (N =
        the backend's version of NAME) and Last-Modified, Cache-Control from
        `cc` (default max-age=1; `cc304` on 304s); `noetag` leaves out the ETag; `sk` adds a Surrogate-Key. A matching If-None-Match (or, without it,
        If-Modified-Since) gets a 304. Each answer is recorded as 'full',
        'conditional' or 'error' (503 while the backend is failing)."""
        backend = self.server.backend
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        name = url.path
        if "delay" in query:
            time.sleep(float(query["delay"]))
        if backend.failing:
            backend.note(name, "error")
            return self.send(503, b"origin down\n", [("Cache-Control", "no-store")])
        etag = '"v%d"' % backend.versions.get(name, 1)
        headers = [("ETag", etag), ("Last-Modified", self.LAST_MODIFIED),
                   ("Cache-Control", query.get("cc", "max-age=1")), ("Content-Type", "text/plain")]
        if "noetag" in query:
            headers = headers[1:]
        if "sk" in query:
            headers.append(("Surrogate-Key", query["sk"]))
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if (inm is not None and etag in [t.strip() for t in inm.split(",")]) or \
                (inm is None and ims == self.LAST_MODIFIED and etag == '"v1"'):
            backend.note(name, "conditional")
            self.send_response(304)
            self.send_header("X-Backend", backend.name)
            for k, v in headers:
                if k == "Cache-Control" and "cc304" in query:
                    v = query["cc304"]
                if k != "Content-Type":
                    self.send_header(k, v)
            self.end_headers()
            return
        backend.note(name, "full")
        self.send(200, etag.strip('"').encode() + b":" + self.VALIDATED_BODY, headers)

    def send(self, status, body, headers):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.backend.name)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Backend:
    def __init__(self, name):
        self.name = name
        self.port = free_port()
        self.lock = threading.Lock()
        self.paths = []
        self.sockets = []
        self.notes = []
        self.versions = {}
        self.failing = False
        # Releases the /p/big bodies held at their `hold` offset (and at `hold1`).
        self.release = threading.Event()
        self.release_first = threading.Event()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), BackendHandler)
        self.httpd.daemon_threads = True
        self.httpd.backend = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def record(self, path):
        with self.lock:
            self.paths.append(path)

    def count(self, path=None):
        with self.lock:
            return len(self.paths) if path is None else self.paths.count(path)

    def note(self, path, kind):
        with self.lock:
            self.notes.append((path, kind))

    def kinds(self, path):
        """How many 'full', 'conditional' and 'error' answers `path` got."""
        with self.lock:
            seen = [k for p, k in self.notes if p == path]
        return {k: seen.count(k) for k in ("full", "conditional", "error")}

    def track(self, sock):
        with self.lock:
            self.sockets.append(sock)

    def stop(self):
        """Stops listening and cuts every open connection (a dead backend)."""
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.sockets = []


PROXY_CONFIG = """
server:
  listen: 127.0.0.1
  port: {port}
  workers: %(workers)d
  balance: %(server_balance)s
  keepalive_timeout: 5s
sites:
  - root: %(root)s
    default: true
logging:
  level: debug
plugins:
  proxy: true
proxy:
  node_id: t1
  routes:
    - match: '^/p/'
      pool: p
  pools:
    p:
      balance: %(balance)s
      attempts: %(attempts)d
      offline_timeout: 30s
      connect_timeout: 1s
      first_byte_timeout: %(first_byte)s
      backends:
%(backends)s
%(cache)s
"""


def proxy_config(root, backends, balance="round-robin", attempts=2, workers=1, first_byte="3s", cache_dir=None,
                 cache_extra=None, server_balance="reuseport"):
    """`cache_extra`: more keys of proxy.cache, e.g. {"grace": "60s"}; `server_balance`:
    how connections reach workers (`fair` spreads them over the workers by load)."""
    lines = "".join("        - '%s'\n" % b for b in backends)
    cache = "  cache:\n    dir: %s\n" % cache_dir if cache_dir else ""
    for k, v in (cache_extra or {}).items():
        cache += "    %s: %s\n" % (k, v)
    return PROXY_CONFIG % dict(root=root, backends=lines.rstrip("\n"), balance=balance, attempts=attempts,
                               workers=workers, first_byte=first_byte, cache=cache, server_balance=server_balance)


def fetch(server, path, headers=None, method="GET", body=None, timeout=10):
    """One request on its own connection: (status, headers dict lowercased, body)."""
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def dead_address():
    """host:port where nothing listens."""
    return "127.0.0.1:%d" % free_port()


def start_server(workdir, config):
    return Server(workdir, config).start()
