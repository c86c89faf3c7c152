"""The proxy cache past freshness: revalidation with validators (304 keeps the
stored body), stale-while-revalidate, stale-if-error and grace; conditional
and Range requests answered from stored responses; the size limit."""
import json
import os
import subprocess
import threading
import time
import urllib.parse

import pytest

from proxy_support import Backend, BackendHandler, fetch, proxy_config
from test_admin import CACHEDUMP

BODY = BackendHandler.VALIDATED_BODY


@pytest.fixture
def backend():
    b = Backend("b0")
    yield b
    b.stop()


def vpath(name, cc="max-age=1", **extra):
    return "/p/v/%s?%s" % (name, urllib.parse.urlencode(dict(cc=cc, **extra)))


def expire():
    """Wait until a max-age=1 response is stale (ages count in whole seconds)."""
    time.sleep(2.2)


def wait_for(predicate, what, timeout=10):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def cache_server(server_factory, docroot, backend, tmp_path, workers=1, **cache_extra):
    return server_factory(proxy_config(docroot, [backend.address], workers=workers,
                                       cache_dir=str(tmp_path / "cache"), cache_extra=cache_extra))


def test_stale_response_is_revalidated_and_a_304_keeps_the_stored_body(server_factory, docroot, backend, tmp_path):
    s = cache_server(server_factory, docroot, backend, tmp_path)
    p = vpath("reval")
    first = fetch(s, p)
    assert first[0] == 200 and first[1]["x-cache"] == "MISS" and first[2] == b"v1:" + BODY
    expire()
    status, headers, body = fetch(s, p)
    assert (status, body, headers["x-cache"]) == (200, first[2], "REVALIDATED")
    assert headers["etag"] == '"v1"'
    # One full fetch, then one conditional request answered 304 (not a refetch).
    assert backend.kinds("/p/v/reval") == {"full": 1, "conditional": 1, "error": 0}
    # The 304 made the stored response fresh again.
    status, headers, body = fetch(s, p)
    assert (status, body, headers["x-cache"]) == (200, first[2], "HIT")
    assert backend.kinds("/p/v/reval")["conditional"] == 1


def test_revalidation_uses_if_modified_since_without_an_etag(server_factory, docroot, backend, tmp_path):
    s = cache_server(server_factory, docroot, backend, tmp_path)
    p = vpath("ims", noetag="1")
    first = fetch(s, p)
    assert "etag" not in first[1]
    expire()
    status, headers, body = fetch(s, p)
    assert (status, body, headers["x-cache"]) == (200, first[2], "REVALIDATED")
    assert backend.kinds("/p/v/ims") == {"full": 1, "conditional": 1, "error": 0}


def test_stale_response_is_replaced_when_the_origin_changed(server_factory, docroot, backend, tmp_path):
    s = cache_server(server_factory, docroot, backend, tmp_path)
    p = vpath("changed")
    assert fetch(s, p)[2] == b"v1:" + BODY
    backend.versions["/p/v/changed"] = 2
    expire()
    status, headers, body = fetch(s, p)
    assert (status, body, headers["x-cache"]) == (200, b"v2:" + BODY, "MISS")
    status, headers, body = fetch(s, p)
    assert (status, body, headers["x-cache"]) == (200, b"v2:" + BODY, "HIT")
    assert backend.kinds("/p/v/changed") == {"full": 2, "conditional": 0, "error": 0}


def test_stale_while_revalidate_serves_stale_and_refreshes_once_in_background(server_factory, docroot, backend, tmp_path):
    s = cache_server(server_factory, docroot, backend, tmp_path, workers=2)
    # The origin takes a second, so the refresh is still running while the
    # stale copies go out (and the response is a second old when it arrives:
    # the 304 gives a longer max-age).
    p = vpath("swr", cc="max-age=1, stale-while-revalidate=60", cc304="max-age=600", delay="1")
    first = fetch(s, p)
    expire()
    stale = [fetch(s, p) for _ in range(4)]
    assert [(r[0], r[2], r[1]["x-cache"]) for r in stale] == [(200, first[2], "STALE")] * 4
    wait_for(lambda: backend.kinds("/p/v/swr")["conditional"] == 1, "the background revalidation")
    wait_for(lambda: fetch(s, p)[1]["x-cache"] == "HIT", "the refreshed response")
    assert backend.kinds("/p/v/swr") == {"full": 1, "conditional": 1, "error": 0}


def test_grace_serves_stale_while_revalidating_when_the_origin_says_nothing(server_factory, docroot, backend, tmp_path):
    s = cache_server(server_factory, docroot, backend, tmp_path, grace="60s")
    p = vpath("grace")
    first = fetch(s, p)
    expire()
    status, headers, body = fetch(s, p)
    assert (status, body, headers["x-cache"]) == (200, first[2], "STALE")
    wait_for(lambda: backend.kinds("/p/v/grace")["conditional"] == 1, "the background revalidation")
    # Within the grace the stored response is served when the origin fails too.
    backend.failing = True
    expire()
    status, headers, body = fetch(s, p)
    assert (status, body, headers["x-cache"]) == (200, first[2], "STALE")
    wait_for(lambda: backend.kinds("/p/v/grace")["error"] == 1, "the failed background revalidation")
    backend.stop()
    expire()
    status, headers, body = fetch(s, p)
    assert (status, body, headers["x-cache"]) == (200, first[2], "STALE")


def test_stale_if_error_serves_the_stored_response_on_5xx_and_connect_failure(server_factory, docroot, backend, tmp_path):
    s = cache_server(server_factory, docroot, backend, tmp_path)
    p = vpath("sie", cc="max-age=1, stale-if-error=60")
    first = fetch(s, p)
    backend.failing = True
    expire()
    status, headers, body = fetch(s, p)
    assert (status, body, headers["x-cache"]) == (200, first[2], "STALE")
    assert backend.kinds("/p/v/sie")["error"] == 1
    backend.stop()
    status, headers, body = fetch(s, p)
    assert (status, body, headers["x-cache"]) == (200, first[2], "STALE")


def test_origin_error_is_relayed_without_stale_if_error(server_factory, docroot, backend, tmp_path):
    s = cache_server(server_factory, docroot, backend, tmp_path)
    p = vpath("nosie")
    fetch(s, p)
    backend.failing = True
    expire()
    assert fetch(s, p)[0] == 503
    backend.stop()
    assert fetch(s, p)[0] == 502


def test_conditional_and_range_requests_are_answered_from_the_cache(server_factory, docroot, backend, tmp_path):
    s = cache_server(server_factory, docroot, backend, tmp_path)
    p = vpath("cond", cc="max-age=600")
    full = fetch(s, p)[2]
    assert full == b"v1:" + BODY
    status, headers, body = fetch(s, p, headers={"If-None-Match": '"v1"'})
    assert (status, body, headers["etag"], headers["x-cache"]) == (304, b"", '"v1"', "HIT")
    assert fetch(s, p, headers={"If-None-Match": '"v0"'})[0:3:2] == (200, full)
    assert fetch(s, p, headers={"If-Modified-Since": BackendHandler.LAST_MODIFIED})[0] == 304
    status, headers, body = fetch(s, p, headers={"Range": "bytes=3-6"})
    assert (status, body, headers["content-range"]) == (206, full[3:7], "bytes 3-6/%d" % len(full))
    status, headers, body = fetch(s, p, headers={"Range": "bytes=0-1,10-12"})
    assert status == 206 and headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert b"Content-Range: bytes 0-1/%d" % len(full) in body and b"Content-Range: bytes 10-12/%d" % len(full) in body
    assert b"\r\n\r\n" + full[0:2] + b"\r\n" in body and b"\r\n\r\n" + full[10:13] + b"\r\n" in body
    status, headers, _ = fetch(s, p, headers={"Range": "bytes=%d-" % (len(full) + 10)})
    assert (status, headers["content-range"]) == (416, "bytes */%d" % len(full))
    # If-Range with the current strong tag: the range; with another: the whole body.
    assert fetch(s, p, headers={"Range": "bytes=0-2", "If-Range": '"v1"'})[0:3:2] == (206, full[0:3])
    assert fetch(s, p, headers={"Range": "bytes=0-2", "If-Range": '"v9"'})[0:3:2] == (200, full)
    assert backend.kinds("/p/v/cond") == {"full": 1, "conditional": 0, "error": 0}


def test_size_limit_evicts_body_and_index_entry_together(server_factory, docroot, backend, tmp_path):
    cache = tmp_path / "cache"
    s = cache_server(server_factory, docroot, backend, tmp_path, capacity_entries=50, capacity_bytes="1m")
    for i in range(80):
        assert fetch(s, vpath("lim%d" % i, cc="max-age=600"))[0] == 200
    assert s.stop() == 0
    files = [f for d, _, fs in os.walk(str(cache / "proxy")) for f in fs if os.path.basename(d) != "tmp"]
    out = subprocess.run([CACHEDUMP, "list", str(cache / "proxy-index"), "--json"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    keys = [row["key"] for row in json.loads(out.stdout)]
    assert 40 <= len(keys) <= 50 and len(files) == len(keys), (len(keys), len(files))


def cachedump_keys(cache):
    out = subprocess.run([CACHEDUMP, "list", str(cache / "proxy-index"), "--json"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return sorted(row["key"] for row in json.loads(out.stdout))


def test_admin_purges_proxied_entries_by_key_and_prefix(server_factory, docroot, backend, tmp_path):
    from conftest import free_port
    from test_admin import Admin, wait_port
    cache = tmp_path / "cache"
    admin_port = free_port()
    config = proxy_config(docroot, [backend.address], cache_dir=str(cache))
    config = config.replace("plugins:\n  proxy: true\n", "plugins:\n  proxy: true\n  admin: true\n")
    config += "admin:\n  port: %d\n  bind: 127.0.0.1\n" % admin_port
    s = server_factory(config)
    wait_port(admin_port)
    admin = Admin(admin_port)
    paths = {n: vpath(n, cc="max-age=600") for n in ("pa", "pb", "pc")}
    for p in paths.values():
        assert fetch(s, p)[1]["x-cache"] == "MISS"
    wait_for(lambda: len(cachedump_keys(cache)) == 3, "the index commit")
    keys = cachedump_keys(cache)
    assert all(k.startswith("proxy:") for k in keys), keys
    key_a = [k for k in keys if "/p/v/pa?" in k][0]
    assert admin.json("DELETE", "/api/cache?key=" + urllib.parse.quote(key_a, safe=""))["removed"] == 1
    assert fetch(s, paths["pa"])[1]["x-cache"] == "MISS"
    assert fetch(s, paths["pb"])[1]["x-cache"] == "HIT"
    prefix = key_a[:key_a.index("/p/v/") + len("/p/v/")]
    assert admin.json("DELETE", "/api/cache?prefix=" + urllib.parse.quote(prefix, safe=""))["removed"] == 3
    assert fetch(s, paths["pb"])[1]["x-cache"] == "MISS"
    assert fetch(s, paths["pc"])[1]["x-cache"] == "MISS"
    assert admin.json("DELETE", "/api/cache?all=1")["removed"] == 2
    assert fetch(s, paths["pc"])[1]["x-cache"] == "MISS"
    assert s.stop() == 0
    keys = cachedump_keys(cache)
    files = [f for d, _, fs in os.walk(str(cache / "proxy")) for f in fs if os.path.basename(d) != "tmp"]
    assert len(keys) == 1 and "/p/v/pc?" in keys[0] and len(files) == 1
    assert backend.kinds("/p/v/pa")["full"] == 2 and backend.kinds("/p/v/pc")["full"] == 3
