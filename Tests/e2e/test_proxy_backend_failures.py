"""A sole or flaky backend never blacks the proxy out (issue 14, item 1): a pooled
connection the origin closed is retried on a fresh one without an error or a
failure mark; a pool of one backend is never marked down; failures mark a backend
down only as max_fails/fail_timeout say; when every backend is down the one that
comes back first is still tried."""
import socket
import threading
import time

import pytest

from conftest import free_port
from proxy_support import Backend, fetch, proxy_config


class RawBackend:
    """A keep-alive origin on raw sockets. `plan(n, conn_requests)` decides each
    request: "ok" answers (keep-alive), "drop" closes the connection without a
    word. `n` counts requests overall, `conn_requests` on this connection."""

    def __init__(self, plan, port=None):
        self.plan = plan
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.requests = 0
        self.connections = 0
        self.listener = None
        self.open = []
        self.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.listener = s
        threading.Thread(target=self.accept_loop, args=(s,), daemon=True).start()

    def stop(self):
        """Stops listening and cuts every open connection (a dead origin)."""
        with self.lock:
            for c in self.open:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.open = []
        if self.listener:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.listener.close()
            self.listener = None

    def accept_loop(self, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.open.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        on_conn = 0
        with c:
            while True:
                while b"\r\n\r\n" not in buf:
                    try:
                        data = c.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                path = head.split(b" ")[1].decode()
                on_conn += 1
                with self.lock:
                    self.requests += 1
                    n = self.requests
                if self.plan(n, on_conn, path) == "drop":
                    c.close()
                    return
                body = ("ok %s #%d\n" % (path, n)).encode()
                try:
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nCache-Control: no-store\r\n\r\n%s" % (len(body), body))
                except OSError:
                    # The proxy may close an upstream connection first (its client gave
                    # up, the test stopping): as the recv above, the end of this one.
                    return


@pytest.fixture
def raw_backends():
    made = []

    def make(plan, port=None):
        made.append(RawBackend(plan, port))
        return made[-1]

    yield make
    for b in made:
        b.stop()


def test_pooled_connection_closed_by_the_origin_is_retried_fresh(server_factory, docroot, raw_backends):
    # Every second request on a connection finds it closed (an origin whose idle
    # timeout raced the reuse): the proxy resends on a fresh connection.
    b = raw_backends(lambda n, on_conn, path: "drop" if on_conn >= 2 else "ok")
    s = server_factory(proxy_config(docroot, [b.address], attempts=1))
    for i in range(20):
        status, _, body = fetch(s, "/p/k%d" % i)
        assert status == 200, (i, body)
        assert body.startswith(b"ok /p/k%d" % i)
    assert b.connections >= 20


def test_a_sole_backend_that_drops_one_connection_is_not_blacked_out(server_factory, docroot, raw_backends):
    # The origin drops a fresh connection once (a crash, a deploy): that request
    # fails, and the next one is served at once, not 502 for offline_timeout.
    b = raw_backends(lambda n, on_conn, path: "drop" if path == "/p/drop" else "ok")
    s = server_factory(proxy_config(docroot, [b.address], attempts=2))
    assert fetch(s, "/p/before")[0] == 200
    status, _, body = fetch(s, "/p/drop")
    assert status == 502 and b"without a response" in body
    for i in range(5):
        status, _, body = fetch(s, "/p/after%d" % i)
        assert status == 200, body


def test_a_sole_backend_restarted_under_load_is_used_as_soon_as_it_listens(server_factory, docroot, raw_backends):
    b = raw_backends(lambda n, on_conn, path: "ok")
    s = server_factory(proxy_config(docroot, [b.address], attempts=2))
    results = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                results.append((time.monotonic(), fetch(s, "/p/load", timeout=5)[0]))
            except OSError:
                results.append((time.monotonic(), "error"))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    b.stop()
    time.sleep(0.5)
    b.start()
    back = time.monotonic()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    down = [st for t, st in results if t < back]
    after = [st for t, st in results if t > back + 0.1]
    assert 502 in down, "the restart was not seen"
    assert after and set(after) == {200}, "502s after the backend listened again: %r" % sorted(set(after), key=str)
    assert "error" not in [st for _, st in results]


def test_failures_mark_one_of_two_backends_down_and_the_other_serves(server_factory, docroot, raw_backends):
    # Backend a drops everything; with max_fails 1 (the default) its first
    # failure takes it out, the retry goes to b, and later requests go to b alone.
    a = raw_backends(lambda n, on_conn, path: "drop")
    b = raw_backends(lambda n, on_conn, path: "ok")
    s = server_factory(proxy_config(docroot, [a.address, b.address], attempts=2))
    for i in range(6):
        assert fetch(s, "/p/x%d" % i)[0] == 200
    assert a.requests == 1, "a was tried again while marked down"
    assert b.requests == 6


def test_when_every_backend_is_down_the_first_to_return_is_tried(server_factory, docroot, raw_backends):
    ports = [free_port(), free_port()]
    a = raw_backends(lambda n, on_conn, path: "ok", port=ports[0])
    b = raw_backends(lambda n, on_conn, path: "ok", port=ports[1])
    s = server_factory(proxy_config(docroot, [a.address, b.address], attempts=2))
    a.stop()
    b.stop()
    status, _, body = fetch(s, "/p/down")
    assert status == 502
    # Both are marked down for 30 s (offline_timeout in the test config); the first
    # to come back is used at once rather than a 502 until the mark expires.
    a.start()
    status, _, body = fetch(s, "/p/back")
    assert status == 200 and body.startswith(b"ok /p/back")
