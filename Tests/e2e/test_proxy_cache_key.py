"""The proxy's cache key: scheme, host, port, path and query always (no
cross-host collision), listed query parameters dropped, optional sorting, and
Accept-Encoding normalised when a response varies on it."""
import pytest

from proxy_support import Backend, fetch, proxy_config


@pytest.fixture
def backend():
    b = Backend("b0")
    yield b
    b.stop()


def test_two_hosts_never_share_an_entry(server_factory, docroot, backend, tmp_path):
    s = server_factory(proxy_config(docroot, [backend.address], cache_dir=str(tmp_path / "c")))
    a = fetch(s, "/p/cache/page", headers={"Host": "a.example"})
    b = fetch(s, "/p/cache/page", headers={"Host": "b.example"})
    assert a[1]["x-cache"] == "MISS" and b[1]["x-cache"] == "MISS"
    assert fetch(s, "/p/cache/page", headers={"Host": "a.example:80"})[1]["x-cache"] == "HIT", "the default port is the same key"
    assert fetch(s, "/p/cache/page", headers={"Host": "a.example:8080"})[1]["x-cache"] == "MISS"
    assert backend.count("/p/cache/page") == 3


def test_ignored_query_parameters_and_sorting(server_factory, docroot, backend, tmp_path):
    config = proxy_config(docroot, [backend.address], cache_dir=str(tmp_path / "c"))
    config += "    key:\n      ignore_query: ['utm_*', gclid]\n      sort_query: true\n"
    s = server_factory(config)
    assert fetch(s, "/p/cache/q?b=2&a=1")[1]["x-cache"] == "MISS"
    for same in ["/p/cache/q?a=1&b=2", "/p/cache/q?utm_source=news&b=2&a=1&gclid=xyz", "/p/cache/q?a=1&utm_medium=x&b=2"]:
        status, h, _ = fetch(s, same)
        assert status == 200 and h["x-cache"] == "HIT", same
    assert fetch(s, "/p/cache/q?a=1&b=3")[1]["x-cache"] == "MISS"
    # The origin still gets the query as the client sent it.
    assert backend.paths[0] == "/p/cache/q?b=2&a=1"


def test_accept_encoding_spellings_share_a_variant(server_factory, docroot, backend, tmp_path):
    s = server_factory(proxy_config(docroot, [backend.address], cache_dir=str(tmp_path / "c")))
    path = "/p/hdr/ae?Cache-Control=max-age%3D60&Vary=Accept-Encoding"
    assert fetch(s, path, headers={"Accept-Encoding": "gzip, deflate, br"})[1]["x-cache"] == "MISS"
    assert fetch(s, path, headers={"Accept-Encoding": "br;q=1.0, gzip;q=0.8, deflate"})[1]["x-cache"] == "HIT"
    assert fetch(s, path, headers={"Accept-Encoding": "gzip"})[1]["x-cache"] == "MISS"
