"""Stored variants of 16 KiB and more are sent with sendfile from their own
(immutable) file on plain connections and from memory over TLS (issue 15).
Both listeners of one server serve the same bytes; Range, HEAD and 304 apply to
the encoded bytes as for small variants; a slow reader of pipelined large
variants gets every byte in order (sendfile blocked and resumed)."""
import random
import socket
import ssl
import time

import brotli
import pytest

from conftest import config_text, free_port
from tls_support import ThrowawayCA


def hex_text(n, seed):
    """Text that compresses to about half: its variants are well above 16 KiB."""
    rng = random.Random(seed)
    return "".join("%08x\n" % rng.getrandbits(32) for _ in range(n // 9 + 1)).encode()[:n]


FILES = {"mid.txt": hex_text(100_000, 1),     # a ~50 KB variant: a slab copy and its file
         "large.txt": hex_text(400_000, 2)}   # a ~200 KB variant: a mapping and its file


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    ca = ThrowawayCA(tmp_path_factory.mktemp("ca"))
    ca.main = ca.issue("main", ["localhost", "127.0.0.1"])
    return ca


@pytest.fixture
def srv(server_factory, tmp_path, ca):
    root = tmp_path / "www"
    root.mkdir()
    for name, data in FILES.items():
        (root / name).write_bytes(data)
    tls_port = free_port()
    cfg = config_text(str(root)) + "cache:\n  dir: %s\n  commit_interval_ms: 20\n" % (tmp_path / "cache")
    cfg += "listeners:\n  - port: %d\n    tls: {cert: %s, key: %s}\n" % (tls_port, ca.main[0], ca.main[1])
    s = server_factory(cfg)
    s.tls_port = tls_port
    s.ctx = ca.client_context()
    return s


def exchange(sock, path, headers=(), method=b"GET"):
    req = method + b" " + path + b" HTTP/1.1\r\nHost: localhost\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n"
    sock.sendall(req)
    return read_one(sock, head=(method == b"HEAD"))


def connect(s, tls):
    raw = socket.create_connection(("127.0.0.1", s.tls_port if tls else s.port), timeout=10)
    return s.ctx.wrap_socket(raw, server_hostname="localhost") if tls else raw


def stored_variant(s, path):
    """Polls (bounded) until the br variant, compressed in the background, is served."""
    deadline = time.time() + 20
    while True:
        with connect(s, False) as c:
            st, h, body = exchange(c, path, [b"Accept-Encoding: br"])
        if h.get("content-encoding") == "br" or time.time() > deadline:
            assert h.get("content-encoding") == "br", h
            return h, body


@pytest.mark.parametrize("name", list(FILES))
def test_plain_and_tls_send_the_same_variant(srv, name):
    path = b"/" + name.encode()
    h, body = stored_variant(srv, path)
    assert len(body) > 16 << 10 and brotli.decompress(body) == FILES[name]
    for tls in (False, True):
        with connect(srv, tls) as c:
            # Keep-alive: the same connection three times, then a Range and a HEAD.
            for _ in range(3):
                st, h2, b2 = exchange(c, path, [b"Accept-Encoding: gzip;q=0.5, br"])
                assert st == 200 and b2 == body and h2["etag"] == h["etag"], tls
                assert int(h2["content-length"]) == len(body) and h2["vary"] == "Accept-Encoding"
            st, hr, part = exchange(c, path, [b"Accept-Encoding: br", b"Range: bytes=1000-20999"])
            assert st == 206 and part == body[1000:21000]
            assert hr["content-range"] == "bytes 1000-20999/%d" % len(body) and hr["content-encoding"] == "br"
            st, hr, part = exchange(c, path, [b"Accept-Encoding: br", b"Range: bytes=-100"])
            assert st == 206 and part == body[-100:]
            st, hh, hb = exchange(c, path, [b"Accept-Encoding: br"], method=b"HEAD")
            assert st == 200 and hb == b"" and hh["content-length"] == h["content-length"] and hh["etag"] == h["etag"]
            st, h304, b304 = exchange(c, path, [b"Accept-Encoding: br", b"If-None-Match: " + h["etag"].encode()])
            assert st == 304 and b304 == b"" and h304["vary"] == "Accept-Encoding"


def test_a_slow_reader_of_pipelined_large_variants_gets_every_byte(srv):
    _, body = stored_variant(srv, b"/large.txt")
    _, mid = stored_variant(srv, b"/mid.txt")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as c:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        req = lambda p: b"GET " + p + b" HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: br\r\n\r\n"
        c.sendall(req(b"/large.txt") + req(b"/mid.txt") + req(b"/large.txt"))
        time.sleep(0.3)  # let the server fill the socket and block
        got = []
        for expected in (body, mid, body):
            st, h, b = read_one(c, piece=4096)
            assert st == 200 and h["content-encoding"] == "br" and b == expected
            got.append(b)
    assert len(got) == 3


def read_one(sock, head=False, piece=65536):
    """One response (no body for HEAD or 304), read `piece` bytes at a time and
    never past its end, so pipelined responses are read one by one."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(1)
        assert chunk, "connection closed before a full head"
        buf += chunk
    lines = buf[:-4].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    n = 0 if head or status == 304 else int(headers["content-length"])
    body = b""
    while len(body) < n:
        chunk = sock.recv(min(piece, n - len(body)))
        assert chunk, "connection closed before the whole body"
        body += chunk
    return status, headers, body
