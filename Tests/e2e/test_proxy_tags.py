"""Cache tags (Surrogate-Key, Cache-Tag) and purges by tag, hard and soft,
through the admin API: exactly the tagged responses go, a soft-purged one is
revalidated (304: fresh again) or served stale when the origin is down, and
both hold after kill -9 and a restart. The tag fields never reach clients."""
import http.client
import json
import signal
import time
import urllib.parse

import pytest

from conftest import free_port
from proxy_support import Backend, fetch, proxy_config
from test_proxy_cache_status import members as cache_status


@pytest.fixture
def backend():
    b = Backend("b0")
    yield b
    b.stop()


class Proxy:
    """A proxy with the admin API and a cache, restartable on the same ports."""

    def __init__(self, server_factory, docroot, backend, tmp_path, extra=None):
        self.factory = server_factory
        self.admin_port = free_port()
        config = proxy_config(docroot, [backend.address], cache_dir=str(tmp_path / "cache"), cache_extra=extra)
        self.config = config.replace("plugins:\n  proxy: true\n",
                                     "plugins:\n  proxy: true\n  admin: true\nadmin:\n  port: %d\n" % self.admin_port)
        self.server = server_factory(self.config)

    def restart_after_kill9(self, settle=0.5):
        time.sleep(settle)  # past the index's commit interval
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait()
        self.server = self.factory(self.config, port=self.server.port)

    def get(self, path, headers=None):
        return fetch(self.server, path, headers=headers)

    def purge(self, query, expect=200):
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        c.request("DELETE", "/api/cache?" + query)
        r = c.getresponse()
        body = r.read()
        c.close()
        assert r.status == expect, (r.status, body)
        return json.loads(body)

    def key(self, path):
        return "proxy:http://127.0.0.1:%d%s" % (self.server.port, path)


@pytest.fixture
def proxy(server_factory, docroot, backend, tmp_path):
    return Proxy(server_factory, docroot, backend, tmp_path)


def tagged(name, surrogate=None, cache_tag=None, cc="max-age=600"):
    fields = {"Cache-Control": cc}
    if surrogate is not None:
        fields["Surrogate-Key"] = surrogate
    if cache_tag is not None:
        fields["Cache-Tag"] = cache_tag
    return "/p/hdr/%s?%s" % (name, urllib.parse.urlencode(fields))


def is_hit(proxy, path):
    _, h, _ = proxy.get(path)
    return cache_status(h).get("hit") is True


def no_tag_fields(headers):
    return "surrogate-key" not in headers and "cache-tag" not in headers


def test_tag_purge_removes_exactly_the_tagged_entries(proxy, backend):
    paths = {
        "a": tagged("a", surrogate="red blue"),
        "b": tagged("b", cache_tag="red, green"),
        "c": tagged("c", surrogate="green"),
        "d": tagged("d"),
    }
    for p in paths.values():
        status, h, _ = proxy.get(p)
        assert status == 200 and cache_status(h).get("stored") is True
        assert no_tag_fields(h), "tag fields stripped from a miss"
        _, h, _ = proxy.get(p)
        assert cache_status(h).get("hit") is True and no_tag_fields(h), "tag fields stripped from a hit"
    r = proxy.purge("tag=red")
    assert r == {"removed": 2, "scope": "tag", "value": "red"}
    assert not is_hit(proxy, paths["a"]) and not is_hit(proxy, paths["b"])
    assert is_hit(proxy, paths["c"]) and is_hit(proxy, paths["d"])
    # The refetched ones are tagged again; purge a tag nothing carries any more.
    assert proxy.purge("tag=nothing")["removed"] == 0


def test_several_tags_repeated_and_comma_separated(proxy):
    paths = [tagged("s%d" % i, surrogate="t%d all" % i) for i in range(6)]
    for p in paths:
        proxy.get(p)
    assert proxy.purge("tag=t0&tag=t1")["removed"] == 2
    assert proxy.purge("tag=" + urllib.parse.quote("t2, t3"))["removed"] == 2
    assert [is_hit(proxy, p) for p in paths] == [False] * 4 + [True, True]
    # The four just refetched carry their tags again, with the rest: 6 under "all".
    assert proxy.purge("tag=all")["removed"] == 6
    proxy.purge("tag=", expect=400)
    proxy.purge("tag=x&key=y", expect=400)
    proxy.purge("tag=x&soft=2", expect=400)


def test_soft_purge_is_revalidated_with_a_304_and_fresh_again(proxy, backend):
    path = "/p/v/soft?cc=%s&sk=doc" % urllib.parse.quote("max-age=600")
    proxy.get(path)
    assert is_hit(proxy, path)
    r = proxy.purge("tag=doc&soft=1")
    assert r == {"removed": 1, "scope": "tag", "value": "doc", "soft": True}
    status, h, body = proxy.get(path)
    m = cache_status(h)
    assert status == 200 and body.startswith(b"v1:")
    assert m["fwd"] == "stale" and m["fwd-status"] == "304", h["cache-status"]
    assert no_tag_fields(h), "a 304's tag fields are not stored"
    assert backend.kinds("/p/v/soft") == {"full": 1, "conditional": 1, "error": 0}
    # Fresh again: the next requests are hits, still tagged.
    assert is_hit(proxy, path) and is_hit(proxy, path)
    assert backend.kinds("/p/v/soft")["conditional"] == 1
    # Soft purges by key and by prefix too.
    assert proxy.purge("soft=1&key=" + urllib.parse.quote(proxy.key(path), safe=""))["removed"] == 1
    _, h, _ = proxy.get(path)
    assert cache_status(h)["fwd"] == "stale"
    assert proxy.purge("soft=1&prefix=" + urllib.parse.quote(proxy.key("/p/v/"), safe=""))["removed"] == 1
    _, h, _ = proxy.get(path)
    assert cache_status(h)["fwd"] == "stale"
    assert backend.kinds("/p/v/soft") == {"full": 1, "conditional": 3, "error": 0}


def test_soft_purged_entry_is_served_stale_when_the_origin_fails(proxy, backend):
    # No stale-if-error and no grace: only the soft purge lets it be served.
    failing = "/p/v/down?cc=%s&sk=fail" % urllib.parse.quote("max-age=600")
    gone = tagged("gone", surrogate="dead")
    _, _, body = proxy.get(failing)
    proxy.get(gone)
    assert proxy.purge("tag=fail,dead&soft=1")["removed"] == 2
    backend.failing = True
    status, h, got = proxy.get(failing)
    m = cache_status(h)
    assert status == 200 and got == body
    assert m["fwd"] == "stale" and m["fwd-status"] == "503" and m["detail"] == "stale-if-error", h["cache-status"]
    assert h["x-cache"] == "STALE"
    backend.stop()
    status, h, _ = proxy.get(gone)
    m = cache_status(h)
    assert status == 200 and m["fwd"] == "stale" and "fwd-status" not in m, h["cache-status"]


def test_tags_and_soft_purges_hold_after_kill9(proxy, backend):
    soft = "/p/v/k9?cc=%s&sk=soft" % urllib.parse.quote("max-age=600")
    hard = [tagged("h%d" % i, cache_tag="hard") for i in range(3)]
    later = [tagged("l%d" % i, surrogate="later") for i in range(3)]
    kept = tagged("kept", surrogate="other")
    for p in [soft, kept] + hard + later:
        proxy.get(p)
    assert proxy.purge("tag=soft&soft=1")["removed"] == 1
    assert proxy.purge("tag=hard")["removed"] == 3
    proxy.restart_after_kill9()
    # Purged before the kill: still gone.
    for p in hard:
        _, h, _ = proxy.get(p)
        assert cache_status(h)["fwd"] == "uri-miss", p
    # Soft-purged before the kill: still stale, revalidated with a 304.
    _, h, _ = proxy.get(soft)
    m = cache_status(h)
    assert m["fwd"] == "stale" and m["fwd-status"] == "304", h["cache-status"]
    assert is_hit(proxy, kept)
    # Tags stored before the kill still find their entries.
    assert proxy.purge("tag=later")["removed"] == 3
    assert not any(is_hit(proxy, p) for p in later)
    # The soft-purged-then-revalidated entry stays fresh across another kill -9.
    proxy.restart_after_kill9()
    assert is_hit(proxy, soft) and is_hit(proxy, kept)
    assert backend.kinds("/p/v/k9") == {"full": 1, "conditional": 1, "error": 0}


def test_tag_fields_kept_when_stripping_is_off(server_factory, docroot, backend, tmp_path):
    proxy = Proxy(server_factory, docroot, backend, tmp_path,
                  extra={"strip_tag_headers": "false", "tag_headers": "['Cache-Tag', 'X-Tags']"})
    path = "/p/hdr/keep?%s" % urllib.parse.urlencode({"Cache-Control": "max-age=600", "Surrogate-Key": "sk",
                                                       "Cache-Tag": "ct", "X-Tags": "x1,x2"})
    _, h, _ = proxy.get(path)
    assert h["cache-tag"] == "ct" and h["x-tags"] == "x1,x2" and h["surrogate-key"] == "sk"
    _, h, _ = proxy.get(path)
    assert cache_status(h).get("hit") is True and h["x-tags"] == "x1,x2"
    # Surrogate-Key is not a configured tag field here.
    assert proxy.purge("tag=sk")["removed"] == 0
    assert proxy.purge("tag=x2")["removed"] == 1


def test_purges_hold_after_a_kill9_right_after_they_answered(proxy, backend):
    # A purge by tag or prefix answers once its stamp is committed: killed at
    # once, before its entries were removed in the background, it still holds.
    tagged_paths = [tagged("n%d" % i, surrogate="now") for i in range(40)]
    prefixed = ["/p/v/pre/%d?cc=%s" % (i, urllib.parse.quote("max-age=600")) for i in range(40)]
    kept = tagged("still", surrogate="other")
    for p in tagged_paths + prefixed + [kept]:
        proxy.get(p)
    assert proxy.purge("tag=now")["removed"] == 40
    assert proxy.purge("prefix=" + urllib.parse.quote(proxy.key("/p/v/pre/"), safe=""))["removed"] == 40
    proxy.restart_after_kill9(settle=0)
    for p in tagged_paths + prefixed:
        _, h, _ = proxy.get(p)
        assert cache_status(h)["fwd"] == "uri-miss", (p, h["cache-status"])
    assert is_hit(proxy, kept)
    # Stored again after the purge (a miss while the index loads is not
    # stored: fetched once more): hits, also after another kill -9.
    for p in tagged_paths[:5] + prefixed[:5]:
        proxy.get(p)
    proxy.restart_after_kill9()
    assert all(is_hit(proxy, p) for p in tagged_paths[:5] + prefixed[:5])
