"""Cache-Status (RFC 9211) on every response of the proxy cache, and targeted
cache control (RFC 9213): CDN-Cache-Control and Capuchin-Cache-Control decide
for this cache over Cache-Control and Expires."""
import time
import urllib.parse

import pytest

from proxy_support import Backend, fetch, proxy_config


@pytest.fixture
def backend():
    b = Backend("b0")
    yield b
    b.stop()


@pytest.fixture
def proxy(server_factory, docroot, backend, tmp_path):
    return server_factory(proxy_config(docroot, [backend.address], cache_dir=str(tmp_path / "cache")))


def members(headers):
    """The Cache-Status member of this cache as a dict of its parameters."""
    value = headers["cache-status"]
    name, *params = [p.strip() for p in value.split(";")]
    assert name == "capuchin", value
    out = {}
    for p in params:
        k, _, v = p.partition("=")
        out[k] = v if _ else True
    return out


def hdr_path(name, **fields):
    return "/p/hdr/%s?%s" % (name, urllib.parse.urlencode(fields))


def test_miss_then_hit_with_ttl(proxy, backend):
    status, h, _ = fetch(proxy, "/p/cache/one")
    m = members(h)
    assert status == 200 and m["fwd"] == "uri-miss" and m["fwd-status"] == "200" and m.get("stored") is True
    assert 55 <= int(m["ttl"]) <= 60
    status, h, _ = fetch(proxy, "/p/cache/one")
    m = members(h)
    assert status == 200 and m.get("hit") is True and "fwd" not in m and 55 <= int(m["ttl"]) <= 60
    assert h["x-cache"] == "HIT"
    assert backend.count("/p/cache/one") == 1


def test_not_stored_says_why(proxy):
    _, h, _ = fetch(proxy, "/p/nostore/x")
    m = members(h)
    assert m["fwd"] == "uri-miss" and "stored" not in m and m["detail"] == "noStore"
    _, h, _ = fetch(proxy, "/p/private/x")
    assert members(h)["detail"] == "privateResponse"


def test_unsafe_method_is_forwarded_for_its_method(proxy):
    status, h, _ = fetch(proxy, "/p/echo", method="POST", body=b"x")
    assert status == 200 and members(h)["fwd"] == "method"


def test_vary_miss(proxy):
    path = hdr_path("v", **{"Cache-Control": "max-age=60", "Vary": "Accept-Language"})
    fetch(proxy, path, headers={"Accept-Language": "en"})
    _, h, _ = fetch(proxy, path, headers={"Accept-Language": "fr"})
    assert members(h)["fwd"] == "vary-miss"
    _, h, _ = fetch(proxy, path, headers={"Accept-Language": "en"})
    assert members(h).get("hit") is True


def test_revalidated_and_stale_if_error(proxy, backend):
    path = "/p/v/doc?cc=" + urllib.parse.quote("max-age=1, stale-if-error=60")
    fetch(proxy, path)
    time.sleep(1.2)
    _, h, _ = fetch(proxy, path)
    m = members(h)
    assert m["fwd"] == "stale" and m["fwd-status"] == "304" and h["x-cache"] == "REVALIDATED"
    time.sleep(1.2)
    backend.failing = True
    status, h, body = fetch(proxy, path)
    m = members(h)
    assert status == 200 and body.startswith(b"v1:")
    assert m["fwd"] == "stale" and m["fwd-status"] == "503" and m["detail"] == "stale-if-error" and int(m["ttl"]) <= 0


def test_cdn_cache_control_takes_precedence(proxy, backend):
    cached = hdr_path("cdn1", **{"CDN-Cache-Control": "max-age=600", "Cache-Control": "no-store"})
    _, h, _ = fetch(proxy, cached)
    assert members(h).get("stored") is True
    assert h["cdn-cache-control"] == "max-age=600", "forwarded for caches downstream"
    _, h, _ = fetch(proxy, cached)
    assert members(h).get("hit") is True
    assert backend.count(urllib.parse.urlsplit(cached).path + "?" + urllib.parse.urlsplit(cached).query) == 1

    private = hdr_path("cdn2", **{"CDN-Cache-Control": "private", "Cache-Control": "max-age=600"})
    fetch(proxy, private)
    _, h, _ = fetch(proxy, private)
    assert members(h)["detail"] == "privateResponse"

    # An invalid targeted field is ignored as a whole: Cache-Control decides.
    invalid = hdr_path("cdn3", **{"CDN-Cache-Control": 'max-age="600"', "Cache-Control": "no-store"})
    fetch(proxy, invalid)
    _, h, _ = fetch(proxy, invalid)
    assert members(h)["detail"] == "noStore"


def test_own_targeted_field_is_used_and_not_forwarded(proxy):
    path = hdr_path("own", **{"Capuchin-Cache-Control": "max-age=600", "CDN-Cache-Control": "no-store",
                              "Cache-Control": "no-store"})
    _, h, _ = fetch(proxy, path)
    assert "capuchin-cache-control" not in h and h["cdn-cache-control"] == "no-store"
    _, h, _ = fetch(proxy, path)
    assert members(h).get("hit") is True and "capuchin-cache-control" not in h


@pytest.mark.parametrize("stop", ["sigterm", "kill9"])
@pytest.mark.parametrize("staleness", ["grace", "stale-if-error"])
def test_restarted_with_the_origin_down_every_stored_response_is_served_stale(server_factory, docroot, tmp_path,
                                                                              stop, staleness):
    # The headline case: a proxy restarted (cleanly or after kill -9) while its
    # origin is down still answers every stored response, stale, from disk.
    import signal
    b = Backend("origin")
    cc = "max-age=1" if staleness == "grace" else "max-age=1, stale-if-error=3600"
    extra = {"grace": "1h"} if staleness == "grace" else {}
    config = proxy_config(docroot, [b.address], cache_dir=str(tmp_path / "cache"), cache_extra=extra)
    s = server_factory(config)
    paths = ["/p/v/doc%d?cc=%s" % (i, urllib.parse.quote(cc)) for i in range(20)]
    bodies = {p: fetch(s, p)[2] for p in paths}
    time.sleep(0.5)  # past the index's commit interval
    if stop == "sigterm":
        assert s.stop() == 0
    else:
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
    b.stop()
    time.sleep(1.2)  # every stored response is now stale
    s2 = server_factory(config, port=s.port)
    for p in paths:
        status, h, body = fetch(s2, p)
        assert status == 200 and body == bodies[p], (p, status, body)
        m = members(h)
        assert h["x-cache"] == "STALE" and int(m["ttl"]) <= 0, h["cache-status"]
        if staleness == "grace":
            # Within grace it is served at once and refreshed in the background.
            assert m.get("hit") is True and m["detail"] == "stale-while-revalidate", h["cache-status"]
        else:
            # The origin was tried and did not answer.
            assert m["fwd"] == "stale" and "fwd-status" not in m and m["detail"] == "stale-if-error", h["cache-status"]
