"""X-Cache and Cache-Status marks, hits, and conditional/range requests on hits."""

import os
import socket
import time


def test_miss_then_hit(server):
    server.write("a.txt", b"hello, cache\n")
    server.start()
    s1, h1, b1 = server.get("/a.txt")
    s2, h2, b2 = server.get("/a.txt")
    assert (s1, h1["x-cache"], b1) == (200, "MISS", b"hello, cache\n")
    assert (s2, h2["x-cache"], b2) == (200, "HIT", b"hello, cache\n")
    for name in ("content-type", "etag", "last-modified", "accept-ranges"):
        assert h2[name] == h1[name], name
    assert h2["content-length"] == "13"
    # The query string is not part of the key (as nginx's open_file_cache).
    assert server.get("/a.txt?v=2")[1]["x-cache"] == "HIT"
    s, h, b = server.get("/a.txt", method="HEAD")
    assert (s, h["x-cache"], h["content-length"], b) == (200, "HIT", "13", b"")
    # RFC 9211 beside X-Cache: the miss went to the file, the hits did not.
    assert h1["cache-status"] == "capuchin; fwd=uri-miss"
    assert h2["cache-status"] == "capuchin; hit" and h["cache-status"] == "capuchin; hit"


def test_bypass_and_missing(server):
    server.write("a.txt", b"x")
    server.start()
    s, h, _ = server.get("/a.txt", method="POST")
    assert h.get("x-cache") == "BYPASS" and h.get("cache-status") == "capuchin; fwd=bypass"
    s, h, _ = server.get("/nothing-here")
    assert s == 404 and h.get("x-cache") == "MISS"


def test_conditional_and_range_on_hit(server):
    data = bytes(range(256)) * 8
    server.write("bin/data.bin", data)
    server.start()
    _, h, _ = server.get("/bin/data.bin")
    _, h, _ = server.get("/bin/data.bin")
    assert h["x-cache"] == "HIT"
    etag, lm = h["etag"], h["last-modified"]

    s, h304, b = server.get("/bin/data.bin", {"If-None-Match": etag})
    assert (s, b) == (304, b"")
    assert h304["etag"] == etag and h304["x-cache"] == "HIT"
    s, _, b = server.get("/bin/data.bin", {"If-Modified-Since": lm})
    assert (s, b) == (304, b"")
    s, h206, b = server.get("/bin/data.bin", {"Range": "bytes=10-19"})
    assert (s, b) == (206, data[10:20])
    assert h206["content-range"] == f"bytes 10-19/{len(data)}" and h206["x-cache"] == "HIT"
    s, _, b = server.get("/bin/data.bin", {"Range": "bytes=-5"})
    assert (s, b) == (206, data[-5:])
    s, h416, _ = server.get("/bin/data.bin", {"Range": "bytes=99999-"})
    assert s == 416 and h416["content-range"] == f"bytes */{len(data)}"
    s, _, b = server.get("/bin/data.bin", {"If-None-Match": '"other"', "Range": "bytes=0-0"})
    assert (s, b) == (206, data[:1])
    s, h, b = server.get("/bin/data.bin", {"Range": "bytes=0-1,4-5"})
    assert s == 206 and h["content-type"].startswith("multipart/byteranges") and h["x-cache"] == "HIT"
    assert data[0:2] in b and data[4:6] in b


def _get_while_truncating(server, path, data, cut, change=None):
    """GET `path` with a small receive buffer, truncate the file to `cut` (or call
    `change(file path)`) after the first bytes arrived, read to the end.
    Returns (declared length, body received)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.settimeout(10)
    s.connect(("127.0.0.1", server.port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    got = s.recv(65536)
    time.sleep(0.3)
    target = os.path.join(server.root, path.lstrip("/"))
    if change:
        change(target)
    else:
        os.truncate(target, cut)
    while True:
        try:
            chunk = s.recv(1 << 20)
        except ConnectionResetError:
            break
        if not chunk:
            break
        got += chunk
    s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
    return length, body


def test_file_truncated_during_a_send_never_completes_with_wrong_bytes(server):
    # sendfile would queue page references that the truncation then zeroes:
    # the client got a complete 200 holding bytes the file never had.
    data = os.urandom(3 << 20)
    server.write("big/t.bin", data)
    server.start()
    for label, warm in (("miss", 0), ("hit", 2)):
        server.write("big/t.bin", data)
        for _ in range(warm):
            server.get("/big/t.bin")
        length, body = _get_while_truncating(server, "/big/t.bin", data, 1_174_977)
        assert length == len(data), label
        # Either the whole original, or a connection closed before the end.
        assert body == data or (len(body) < length and data.startswith(body)), \
            f"{label}: {len(body)} bytes, first difference at {next((i for i, (a, b) in enumerate(zip(body, data)) if a != b), None)}"


def test_file_rewritten_in_place_during_a_send_is_never_mixed(tmp_path):
    # Larger than the socket's send buffer (4 MiB at most): the first writev leaves
    # the rest, which must not come from the new version.
    from conftest import Server
    server = Server(tmp_path, cache_extra="  max_file_size: 32m\n")
    data = os.urandom(16 << 20)
    server.write("big/w.bin", data)
    server.start()

    def rewrite(target):
        with open(target, "r+b") as f:
            f.write(os.urandom(len(data)))

    try:
        for _ in range(2):
            server.get("/big/w.bin")
        assert server.get("/big/w.bin")[1]["x-cache"] == "HIT"
        length, body = _get_while_truncating(server, "/big/w.bin", data, 0, change=rewrite)
        assert length == len(data)
        assert body == data or (len(body) < length and data.startswith(body)), \
            f"{len(body)} bytes, first difference at {next((i for i, (a, b) in enumerate(zip(body, data)) if a != b), None)}"
    finally:
        server.stop()


def test_large_hits_stay_right_across_range_rename_and_truncate(server):
    data = os.urandom(200_000)
    path = server.write("big/blob.bin", data)
    server.start()
    assert server.get("/big/blob.bin")[1]["x-cache"] == "MISS"
    s, h, b = server.get("/big/blob.bin")
    assert (s, h["x-cache"], b) == (200, "HIT", data)
    s, h, b = server.get("/big/blob.bin", {"Range": "bytes=70000-70009,-3"})
    assert s == 206 and h["x-cache"] == "HIT" and data[70000:70010] in b and data[-3:] in b
    s, h, b = server.get("/big/blob.bin", {"Range": "bytes=100000-"})
    assert (s, b) == (206, data[100000:])
    # Replaced by rename: the new bytes, never the held old file's.
    new = os.urandom(150_000)
    tmp = server.write("big/blob.tmp", new)
    os.rename(tmp, path)
    s, _, b = server.get("/big/blob.bin")
    assert (s, b) == (200, new)
    # Truncated in place: the shorter file, not the held descriptor's old length.
    with open(path, "r+b") as f:
        f.truncate(70_000)
    s, h, b = server.get("/big/blob.bin")
    assert (s, b, h["content-length"]) == (200, new[:70_000], "70000")
    s, h, b = server.get("/big/blob.bin")
    assert (s, h["x-cache"], b) == (200, "HIT", new[:70_000])


def test_small_files_take_no_mapping_of_their_own(server):
    # Small bodies are copied into slab pages: caching 3,000 of them adds a few
    # 1 MiB pages to the map table, not 3,000 mappings (vm.max_map_count no
    # longer bounds the entries), and the default configuration warns of nothing.
    n = 3000
    for i in range(n):
        server.write(f"s/{i}.txt", b"%d:" % i + b"x" * (100 + i % 400))
    server.start()

    def maps():
        with open(f"/proc/{server.proc.pid}/maps") as f:
            return sum(1 for _ in f)

    assert server.get("/s/0.txt")[0] == 200
    before = maps()
    for i in range(n):
        assert server.get(f"/s/{i}.txt")[0] == 200
    for i in range(0, n, 7):
        s, h, b = server.get(f"/s/{i}.txt")
        assert (s, h["x-cache"], b) == (200, "HIT", b"%d:" % i + b"x" * (100 + i % 400))
    assert maps() - before < 100, (before, maps())
    assert "max_map_count" not in server.read_log(), server.read_log()


def test_a_byte_budget_for_more_large_files_than_the_map_count_allows_warns(tmp_path):
    # Files over 64 KiB stay mapped from their paths, one mapping each.
    from conftest import Server
    maps = int(open("/proc/sys/vm/max_map_count").read())
    server = Server(tmp_path, cache_extra=f"  capacity_bytes: {(maps + 10) * 70_000}\n")
    server.write("a.txt", b"a")
    server.start()
    try:
        assert server.get("/a.txt")[0] == 200
        log = server.read_log()
        assert f"vm.max_map_count {maps} allows {maps - 2000}" in log, log
    finally:
        server.stop()
