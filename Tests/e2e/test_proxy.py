"""The reverse proxy end to end: balancing, failover, errors, loop detection,
header rewriting, chunked relay, caching, coalescing and cache persistence."""
import http.client
import json
import os
import signal
import threading
import time

import pytest

from proxy_support import Backend, dead_address, fetch, proxy_config


@pytest.fixture
def backends():
    made = []

    def make(n):
        for i in range(n):
            made.append(Backend("b%d" % len(made)))
        return made[-n:]

    yield make
    for b in made:
        b.stop()


def origin(body):
    return body.split()[0].decode()


def test_round_robin_alternates(server_factory, docroot, backends):
    b = backends(2)
    s = server_factory(proxy_config(docroot, [x.address for x in b], balance="round-robin"))
    seen = [origin(fetch(s, "/p/rr%d" % i)[2]) for i in range(6)]
    assert seen[0::2] == [seen[0]] * 3 and seen[1::2] == [seen[1]] * 3 and seen[0] != seen[1]
    assert b[0].count() == 3 and b[1].count() == 3


def test_requests_outside_routes_are_served_statically(server_factory, docroot, backends):
    b = backends(1)
    s = server_factory(proxy_config(docroot, [b[0].address]))
    status, _, body = fetch(s, "/a.txt")
    assert (status, body) == (200, b"alpha\n")
    assert b[0].count() == 0


def test_first_alive_sticks_to_first_then_fails_over(server_factory, docroot, backends):
    b = backends(2)
    s = server_factory(proxy_config(docroot, [x.address for x in b], balance="first-alive"))
    assert [origin(fetch(s, "/p/f%d" % i)[2]) for i in range(4)] == ["b0"] * 4
    b[0].stop()
    results = [fetch(s, "/p/g%d" % i) for i in range(4)]
    assert [r[0] for r in results] == [200] * 4
    assert [origin(r[2]) for r in results] == ["b1"] * 4


def test_least_connections_avoids_the_busy_backend(server_factory, docroot, backends):
    b = backends(2)
    s = server_factory(proxy_config(docroot, [x.address for x in b], balance="least-connections"))
    slow = {}
    t = threading.Thread(target=lambda: slow.update(r=fetch(s, "/p/slow-lc")))
    t.start()
    deadline = time.time() + 3
    while b[0].count() + b[1].count() == 0 and time.time() < deadline:
        time.sleep(0.01)
    busy = "b0" if b[0].count() else "b1"
    quick = [origin(fetch(s, "/p/q%d" % i)[2]) for i in range(4)]
    t.join()
    assert slow["r"][0] == 200 and origin(slow["r"][2]) == busy
    assert busy not in quick


def test_consistent_hash_maps_a_path_to_one_backend(server_factory, docroot, backends):
    b = backends(3)
    s = server_factory(proxy_config(docroot, [x.address for x in b], balance="consistent-hash"))
    for i in range(8):
        owners = {origin(fetch(s, "/p/h%d" % i)[2]) for _ in range(3)}
        assert len(owners) == 1, owners


def test_failover_when_a_backend_dies_mid_run(server_factory, docroot, backends):
    b = backends(2)
    s = server_factory(proxy_config(docroot, [x.address for x in b], balance="round-robin", attempts=2))
    assert {origin(fetch(s, "/p/a%d" % i)[2]) for i in range(4)} == {"b0", "b1"}
    b[1].stop()
    results = [fetch(s, "/p/b%d" % i) for i in range(6)]
    assert [r[0] for r in results] == [200] * 6
    assert {origin(r[2]) for r in results} == {"b0"}


def test_all_backends_down_gives_502(server_factory, docroot):
    s = server_factory(proxy_config(docroot, [dead_address(), dead_address()], attempts=2))
    status, headers, body = fetch(s, "/p/x")
    assert status == 502
    assert b"502 Bad Gateway" in body and b"127.0.0.1" in body
    # The server itself is fine.
    assert fetch(s, "/a.txt")[0] == 200


def test_backend_timeout_gives_504(server_factory, docroot, backends):
    b = backends(1)
    s = server_factory(proxy_config(docroot, [b[0].address], attempts=1, first_byte="500ms"))
    started = time.time()
    status, _, body = fetch(s, "/p/hang")
    assert status == 504 and b"timeout" in body
    assert time.time() - started < 3.5


def test_loop_to_itself_is_refused(server_factory, docroot):
    s = server_factory(proxy_config(docroot, ["127.0.0.1:{port}"], attempts=2))
    status, _, body = fetch(s, "/p/loop", timeout=5)
    assert status in (502, 508), (status, body)
    assert fetch(s, "/a.txt")[0] == 200


def test_request_that_already_passed_through_gets_508(server_factory, docroot, backends):
    b = backends(1)
    s = server_factory(proxy_config(docroot, [b[0].address]))
    status, _, body = fetch(s, "/p/x", headers={"Via": "1.1 other, 1.1 capuchin-t1"})
    assert status == 508 and b"Loop detected" in body
    status, _, _ = fetch(s, "/p/x", headers={"X-Capuchin-Loop": "t1"})
    assert status == 508
    assert b[0].count() == 0


def test_hop_by_hop_stripped_and_forwarding_headers_added(server_factory, docroot, backends):
    b = backends(1)
    s = server_factory(proxy_config(docroot, [b[0].address]))
    status, headers, body = fetch(s, "/p/echo", method="POST", body=b"payload=1",
                                  headers={"Connection": "keep-alive, X-Secret", "X-Secret": "hop",
                                           "Keep-Alive": "timeout=5", "TE": "trailers", "X-Kept": "yes",
                                           "X-Forwarded-For": "6.6.6.6", "Content-Type": "text/plain"})
    assert status == 200
    got = json.loads(body)
    names = {k.lower(): v for k, v in got["headers"]}
    assert got["method"] == "POST" and got["body"] == "payload=1"
    for hop in ("x-secret", "keep-alive", "te"):
        assert hop not in names
    assert names["x-kept"] == "yes"
    assert names["x-forwarded-for"] == "127.0.0.1"  # the client is not a trusted proxy
    assert "capuchin-t1" in names["via"]
    assert "capuchin-t1" in headers["via"]


def test_chunked_backend_response_relayed_intact(server_factory, docroot, backends):
    b = backends(1)
    s = server_factory(proxy_config(docroot, [b[0].address]))
    status, headers, body = fetch(s, "/p/chunked")
    expected = b"".join(("part %d of b0;" % i).encode() * (i + 1) for i in range(5))
    assert status == 200 and body == expected
    assert headers.get("transfer-encoding") == "chunked"
    # The connection stays usable after a chunked relay (keep-alive).
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
    for _ in range(2):
        c.request("GET", "/p/chunked")
        r = c.getresponse()
        assert r.read() == expected
    c.close()


def test_max_age_response_is_served_from_cache(server_factory, docroot, backends, tmp_path):
    b = backends(1)
    s = server_factory(proxy_config(docroot, [b[0].address], cache_dir=str(tmp_path / "cache")))
    first = fetch(s, "/p/cache1")
    assert first[0] == 200 and first[1].get("x-cache") == "MISS"
    for _ in range(3):
        status, headers, body = fetch(s, "/p/cache1")
        assert (status, body) == (200, first[2])
        assert headers["x-cache"] == "HIT" and "age" in headers
    assert b[0].count("/p/cache1") == 1
    # HEAD is answered from the stored GET response too.
    status, headers, body = fetch(s, "/p/cache1", method="HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == str(len(first[2]))
    assert b[0].count("/p/cache1") == 1


def test_hit_head_has_each_field_once_with_age_via_and_type(server_factory, docroot, backends, tmp_path):
    # A hit's head is built once per stored response: the origin's Server and
    # Content-Length are replaced by the server's, its Date is kept (RFC 9111 4),
    # Age is per hit, Via gains this server, and the other stored fields are sent
    # as the miss sent them.
    b = backends(1)
    s = server_factory(proxy_config(docroot, [b[0].address], cache_dir=str(tmp_path / "cache")))

    def raw(method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
        try:
            c.request(method, "/p/cache-head")
            r = c.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            c.close()

    _, miss_headers, miss_body = raw()
    for method in ("GET", "HEAD", "GET"):
        status, fields, body = raw(method)
        names = [k.lower() for k, _ in fields]
        h = {k.lower(): v for k, v in fields}
        assert status == 200 and body == (miss_body if method == "GET" else b"")
        for once in ("date", "server", "content-length", "age", "via", "x-cache", "cache-control", "accept-ranges"):
            assert names.count(once) == 1, (once, fields)
        assert h["server"] == "capuchin" and h["x-cache"] == "HIT" and h["accept-ranges"] == "bytes"
        assert h["content-length"] == str(len(miss_body)) and h["cache-control"] == "max-age=60"
        assert h["age"].isdigit() and int(h["age"]) < 60
        assert h["x-backend"] == dict((k.lower(), v) for k, v in miss_headers)["x-backend"]
        assert h["via"].startswith("1.1 ") and h["via"] == dict((k.lower(), v) for k, v in miss_headers)["via"]
        assert h["date"] == dict((k.lower(), v) for k, v in miss_headers)["date"], "the origin's Date, unchanged"
    assert b[0].count("/p/cache-head") == 1


def test_hits_and_misses_release_their_descriptors(server_factory, docroot, backends, tmp_path):
    # Each deferred request's context and sink referenced each other: every hit
    # kept its response, and so its open body file, forever.
    b = backends(1)
    s = server_factory(proxy_config(docroot, [b[0].address], cache_dir=str(tmp_path / "cache")))
    fd_dir = f"/proc/{s.proc.pid}/fd"
    fetch(s, "/p/cache-fds")
    before = len(os.listdir(fd_dir))
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    for i in range(300):
        c.request("GET", "/p/cache-fds")
        r = c.getresponse()
        r.read()
        assert r.getheader("X-Cache") == "HIT"
        c.request("GET", f"/p/miss-fds-{i}", headers={"Cache-Control": "no-cache"})
        c.getresponse().read()
    c.close()
    assert len(os.listdir(fd_dir)) < before + 20


@pytest.mark.parametrize("path,headers", [
    ("/p/nostore", {}),
    ("/p/private", {}),
    ("/p/cookie", {}),
    ("/p/cache-auth", {"Authorization": "Basic dTpw"}),
])
def test_uncacheable_responses_are_not_stored(server_factory, docroot, backends, tmp_path, path, headers):
    b = backends(1)
    s = server_factory(proxy_config(docroot, [b[0].address], cache_dir=str(tmp_path / "cache")))
    for _ in range(3):
        status, h, _ = fetch(s, path, headers=headers)
        assert status == 200 and h.get("x-cache") != "HIT"
    assert b[0].count(path) == 3


def test_concurrent_misses_are_coalesced(server_factory, docroot, backends, tmp_path):
    b = backends(1)
    s = server_factory(proxy_config(docroot, [b[0].address], workers=1, cache_dir=str(tmp_path / "cache")))
    results = [None] * 6

    def get(i):
        results[i] = fetch(s, "/p/slow-coalesce")

    threads = [threading.Thread(target=get, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r[0] == 200 for r in results)
    assert len({r[2] for r in results}) == 1
    assert b[0].count("/p/slow-coalesce") == 1


def test_concurrent_misses_on_different_workers_are_coalesced(server_factory, docroot, backends, tmp_path):
    # `fair` hands each new connection to the worker with the fewest: 12
    # connections open at once land on both workers, so one miss leads and the
    # waiters on the other worker get the leader's answer posted to their own.
    b = backends(1)
    s = server_factory(proxy_config(docroot, [b[0].address], workers=2, server_balance="fair",
                                    cache_dir=str(tmp_path / "cache")))
    conns = [http.client.HTTPConnection("127.0.0.1", s.port, timeout=10) for _ in range(12)]
    for c in conns:
        c.connect()
    time.sleep(0.3)  # every connection adopted by its worker before the requests
    results = [None] * len(conns)

    def get(i):
        conns[i].request("GET", "/p/slow-coalesce-2w")
        r = conns[i].getresponse()
        results[i] = (r.status, r.getheader("X-Cache"), r.read())

    threads = [threading.Thread(target=get, args=(i,)) for i in range(len(conns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    assert all(r[0] == 200 for r in results), results
    assert len({r[2] for r in results}) == 1
    assert b[0].count("/p/slow-coalesce-2w") == 1
    assert sorted(r[1] for r in results).count("HIT") == len(conns) - 1


def test_cache_survives_restart(server_factory, docroot, backends, tmp_path):
    b = backends(1)
    config = proxy_config(docroot, [b[0].address], cache_dir=str(tmp_path / "cache"))
    s = server_factory(config)
    bodies = {p: fetch(s, p)[2] for p in ("/p/cache-r1", "/p/cache-r2")}
    assert s.stop() == 0
    s2 = server_factory(config, port=s.port)
    for p, body in bodies.items():
        status, headers, got = fetch(s2, p)
        assert (status, got, headers["x-cache"]) == (200, body, "HIT")
    assert b[0].count() == 2


def test_cache_survives_kill_9_without_dangling_entries(server_factory, docroot, backends, tmp_path):
    b = backends(1)
    cache = tmp_path / "cache"
    config = proxy_config(docroot, [b[0].address], cache_dir=str(cache))
    s = server_factory(config)
    bodies = {p: fetch(s, p)[2] for p in ("/p/cache-k%d" % i for i in range(5))}
    time.sleep(0.5)  # past the index's commit interval (100 ms)
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()
    s2 = server_factory(config, port=s.port)
    # The index is loaded and checked in the background after the port opens: wait (bounded) for its report.
    deadline = time.time() + 20
    log = s2.read_log()
    while not ("proxy cache: 5 response(s)" in log and "recovery dropped" in log) and time.time() < deadline:
        time.sleep(0.05)
        log = s2.read_log()
    assert "proxy cache: 5 response(s)" in log and "recovery dropped 0 entr" in log, log
    for p, body in bodies.items():
        status, headers, got = fetch(s2, p)
        assert (status, got, headers["x-cache"]) == (200, body, "HIT")
    assert b[0].count() == 5
    # Every body file on disk belongs to an entry (recovery removed none, none left over).
    files = [f for d, _, fs in os.walk(str(cache / "proxy")) for f in fs if os.path.basename(d) != "tmp"]
    assert len(files) == 5


def test_proxy_subcommand_balances_and_caches(backends, tmp_path):
    import subprocess
    from conftest import BIN, free_port
    b = backends(2)
    port = free_port()
    log = open(str(tmp_path / "proxy.log"), "w")
    proc = subprocess.Popen([BIN, "proxy", "--port", str(port), "--listen", "127.0.0.1", "--to", b[0].address,
                             "--to", b[1].address, "--balance", "round-robin", "--cache-dir", str(tmp_path / "pc"),
                             "--workers", "1"], stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ, SWIFT_BACKTRACE="enable=no"))
    try:
        class S:
            pass
        s = S()
        s.port = port
        deadline = time.time() + 10
        while True:
            try:
                fetch(s, "/p/cache-warm", timeout=1)
                break
            except OSError:
                assert time.time() < deadline and proc.poll() is None, open(str(tmp_path / "proxy.log")).read()
                time.sleep(0.05)
        assert {origin(fetch(s, "/other%d" % i)[2]) for i in range(4)} == {"b0", "b1"}
        first = fetch(s, "/p/cache-sub")
        again = fetch(s, "/p/cache-sub")
        assert again[2] == first[2] and again[1]["x-cache"] == "HIT"
        assert b[0].count("/p/cache-sub") + b[1].count("/p/cache-sub") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
