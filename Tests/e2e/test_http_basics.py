"""Static serving over loopback with real clients: http.client, curl, raw sockets."""
import http.client
import subprocess

from conftest import read_response, recv_all


def get(server, path, headers=None, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def test_keep_alive_reuses_one_connection(server):
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    bodies = []
    sock = None
    for path in ["/a.txt", "/b.txt", "/c.txt", "/a.txt"]:
        c.request("GET", path)
        r = c.getresponse()
        bodies.append(r.read())
        assert r.status == 200
        assert r.getheader("Connection") is None
        if sock is None:
            sock = c.sock
        assert c.sock is sock, "the server closed a keep-alive connection"
    assert bodies == [b"alpha\n", b"bravo bravo\n", b"charlie charlie charlie\n", b"alpha\n"]
    c.close()


def test_pipelined_requests_answered_in_order(server):
    s = server.connect()
    s.sendall(b"GET /c.txt HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
              b"HEAD /b.txt HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    rest = b""
    st, h, body, rest = read_response(s, rest)
    assert (st, body) == (200, b"charlie charlie charlie\n")
    st, h, body, rest = read_response(s, rest)
    assert (st, body) == (200, b"alpha\n")
    # HEAD: the length of the GET, but no body bytes.
    head, _, rest = rest.partition(b"\r\n\r\n") if b"\r\n\r\n" in rest else (rest + recv_until(s, b"\r\n\r\n")).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 12" in head
    st, h, body, rest = read_response(s, rest)
    assert (st, body) == (200, b"bravo bravo\n")
    assert h["connection"] == "close"
    assert recv_all(s) == b""
    s.close()


def recv_until(s, marker):
    buf = b""
    while marker not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return buf


def test_head_has_length_and_no_body(server):
    out = subprocess.run(["curl", "-sI", "http://127.0.0.1:%d/digits.txt" % server.port],
                         capture_output=True, timeout=10).stdout.decode()
    assert out.startswith("HTTP/1.1 200")
    assert "Content-Length: 100\r\n" in out
    assert "Accept-Ranges: bytes" in out
    assert "ETag: \"" in out and "Last-Modified: " in out


def test_etag_and_last_modified_give_304(server):
    r, _ = get(server, "/a.txt")
    etag, lm = r.getheader("ETag"), r.getheader("Last-Modified")
    r2, body = get(server, "/a.txt", {"If-None-Match": etag})
    assert r2.status == 304 and body == b""
    assert r2.getheader("ETag") == etag
    r3, _ = get(server, "/a.txt", {"If-Modified-Since": lm})
    assert r3.status == 304
    r4, body = get(server, "/a.txt", {"If-None-Match": '"other"'})
    assert r4.status == 200 and body == b"alpha\n"


def test_single_range(server):
    r, body = get(server, "/digits.txt", {"Range": "bytes=10-14"})
    assert r.status == 206
    assert r.getheader("Content-Range") == "bytes 10-14/100"
    assert body == b"01234"
    r, body = get(server, "/digits.txt", {"Range": "bytes=-3"})
    assert (r.status, body) == (206, b"789")


def test_multi_range_is_multipart(server):
    r, body = get(server, "/digits.txt", {"Range": "bytes=0-1,50-52"})
    assert r.status == 206
    ctype = r.getheader("Content-Type")
    assert ctype.startswith("multipart/byteranges; boundary=")
    boundary = ctype.split("boundary=")[1].encode()
    parts = [p for p in body.split(b"--" + boundary) if p.strip() not in (b"", b"--")]
    assert len(parts) == 2
    assert b"Content-Range: bytes 0-1/100" in parts[0] and parts[0].endswith(b"\r\n\r\n01\r\n")
    assert b"Content-Range: bytes 50-52/100" in parts[1] and parts[1].endswith(b"\r\n\r\n012\r\n")
    assert body.endswith(b"--" + boundary + b"--\r\n")


def test_unsatisfiable_range_is_416(server):
    r, _ = get(server, "/digits.txt", {"Range": "bytes=500-600"})
    assert r.status == 416
    assert r.getheader("Content-Range") == "bytes */100"


def test_missing_file_is_404_html(server):
    r, body = get(server, "/nope.html")
    assert r.status == 404
    assert r.getheader("Content-Type").startswith("text/html")
    assert b"404" in body


def test_directory_index_and_redirect(server):
    r, body = get(server, "/sub/")
    assert (r.status, body) == (200, b"<h1>sub index</h1>\n")
    r, _ = get(server, "/sub?x=1")
    assert r.status == 301
    assert r.getheader("Location") == "/sub/?x=1"
    r, body = get(server, "/")
    assert (r.status, body) == (200, b"<h1>home</h1>\n")


def test_percent_encoded_space(server):
    r, body = get(server, "/with%20space.txt")
    assert (r.status, body) == (200, b"spaced\n")


def test_methods_405_and_501(server):
    r, _ = get(server, "/a.txt", method="DELETE")
    assert r.status == 405 and r.getheader("Allow") == "GET, HEAD"
    s = server.connect()
    s.sendall(b"BREW /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, _, _ = read_response(s)
    assert st == 501
    s.close()


def test_content_length_and_transfer_encoding_conflict_is_400(server):
    s = server.connect()
    s.sendall(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    st, h, _, _ = read_response(s)
    assert st == 400 and h["connection"] == "close"
    assert recv_all(s) == b""
    s.close()


def test_bad_request_line_is_400_and_closes(server):
    s = server.connect()
    s.sendall(b"GET /a.txt HTTP/1.1 extra\r\n\r\n")
    st, h, body, _ = read_response(s)
    assert st == 400 and h["connection"] == "close" and body
    s.close()


def test_body_on_get_is_read_and_discarded(server):
    s = server.connect()
    s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
              b"GET /b.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
              b"GET /c.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    rest = b""
    for expected in [b"alpha\n", b"bravo bravo\n", b"charlie charlie charlie\n"]:
        st, h, body, rest = read_response(s, rest)
        assert (st, body) == (200, expected)
    s.close()


def test_body_over_limit_is_413(server):
    s = server.connect()
    s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n")
    st, h, _, _ = read_response(s)
    assert st == 413 and h["connection"] == "close"
    s.close()
