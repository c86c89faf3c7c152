"""The admin listener: JSON API, Prometheus metrics, auth, and the dashboard in
a real browser (headless Chromium through the DevTools protocol)."""
import http.client
import json
import os
import subprocess
import threading
import time
import urllib.parse

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import REPO, config_text, free_port

CACHEDUMP = os.environ.get("CACHEDUMP_BIN") or os.path.join(REPO, ".build", "debug", "cachedump")
ARTIFACTS = os.path.join(REPO, "artifacts")


def admin_config(root, cache_dir, admin_port, token=None, bind="127.0.0.1"):
    text = config_text(root)
    text += "plugins:\n  admin: true\n  cache: true\n"
    text += "cache:\n  dir: %s\n  commit_interval_ms: 50\n" % cache_dir
    text += "admin:\n  port: %d\n  bind: %s\n" % (admin_port, bind)
    if token:
        text += "  token: %s\n" % token
    return text


class Admin:
    def __init__(self, port, token=None):
        self.port = port
        self.token = token

    def call(self, method, path, token=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        headers = {}
        tok = token if token is not None else self.token
        if tok:
            headers["Authorization"] = "Bearer " + tok
        c.request(method, path, headers=headers)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body

    def json(self, method, path, expect=200):
        status, _, body = self.call(method, path)
        assert status == expect, (status, body)
        return json.loads(body)


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("X-Cache"), body


@pytest.fixture
def admin_server(server_factory, docroot, tmp_path):
    port = free_port()
    cache_dir = str(tmp_path / "cache")
    s = server_factory(admin_config(docroot, cache_dir, port))
    wait_port(port)
    return s, Admin(port), cache_dir


def wait_port(port):
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=0.5).connect()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("admin port %d never opened" % port)


def test_stats_move_as_requests_are_served(admin_server):
    s, admin, _ = admin_server
    before = admin.json("GET", "/api/stats")
    for _ in range(3):
        assert get(s.port, "/a.txt")[0] == 200
    after = admin.json("GET", "/api/stats")
    assert after["requests"] >= before["requests"] + 3
    assert after["cache"]["misses"] >= before["cache"]["misses"] + 1
    assert after["cache"]["hits"] >= before["cache"]["hits"] + 2
    assert after["cache"]["entries"] >= 1
    assert 0 < after["cache"]["hit_ratio"] <= 1
    assert after["store"]["schema_version"] >= 1
    assert len(after["connections_per_worker"]) == 2


def test_admin_is_not_reachable_on_public_port(admin_server):
    s, _, _ = admin_server
    for path in ("/api/stats", "/metrics", "/api/cache?all=1"):
        status, _, body = get(s.port, path)
        assert status == 404, path
        assert b"capuchin_" not in body and b"hit_ratio" not in body


def test_entries_purge_and_clear(admin_server):
    s, admin, cache_dir = admin_server
    for name in ("a.txt", "b.txt", "c.txt", "sub/index.html"):
        get(s.port, "/" + name)
    page = admin.json("GET", "/api/entries?sort=key&limit=2")
    assert page["total"] == 4 and len(page["entries"]) == 2 and page["next_cursor"] == "2"
    key_a = [e["key"] for e in admin.json("GET", "/api/entries?limit=10")["entries"] if e["key"].endswith("/a.txt")][0]

    r = admin.json("DELETE", "/api/cache?key=" + urllib.parse.quote(key_a, safe=""))
    assert r["removed"] == 1
    assert get(s.port, "/a.txt")[1] == "MISS"

    prefix = key_a[: -len("a.txt")] + "sub/"
    r = admin.json("DELETE", "/api/cache?prefix=" + urllib.parse.quote(prefix, safe=""))
    assert r["removed"] == 1
    assert admin.json("GET", "/api/entries?prefix=" + urllib.parse.quote(prefix, safe=""))["total"] == 0

    r = admin.json("DELETE", "/api/cache?all=1")
    assert r["removed"] == 3  # a.txt (re-admitted), b.txt, c.txt
    assert admin.json("GET", "/api/stats")["cache"]["entries"] == 0
    # The store reflects it at the next commit.
    deadline = time.time() + 3
    while time.time() < deadline:
        out = subprocess.run([CACHEDUMP, "stat", cache_dir, "--json"], capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and json.loads(out.stdout)["entries"] == 0:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("store still has entries: " + out.stdout + out.stderr)


def test_bad_parameters_get_400_with_a_message(admin_server):
    _, admin, _ = admin_server
    for method, path, needle in [("GET", "/api/entries?sort=sideways", "sort"),
                                 ("GET", "/api/entries?limit=-1", "limit"),
                                 ("DELETE", "/api/cache", "exactly one"),
                                 ("DELETE", "/api/cache?prefix=", "prefix"),
                                 ("DELETE", "/api/cache?all=2", "all")]:
        status, headers, body = admin.call(method, path)
        assert status == 400, (path, status)
        assert headers["content-type"].startswith("application/json")
        assert needle in json.loads(body)["error"]


def test_token_required_and_nothing_changes_without_it(server_factory, docroot, tmp_path):
    port = free_port()
    s = server_factory(admin_config(docroot, str(tmp_path / "cache"), port, token="t0ken-123"))
    wait_port(port)
    get(s.port, "/a.txt")
    admin = Admin(port, token="t0ken-123")
    entries = admin.json("GET", "/api/stats")["cache"]["entries"]
    assert entries == 1
    for tok in ("", "wrong", "t0ken-12"):
        for method, path in (("GET", "/api/stats"), ("GET", "/metrics"), ("GET", "/api/entries"), ("DELETE", "/api/cache?all=1")):
            status, headers, body = admin.call(method, path, token=tok)
            assert status == 401, (method, path, tok)
            assert b"hits" not in body
    assert admin.json("GET", "/api/stats")["cache"]["entries"] == entries


def test_non_loopback_bind_without_token_is_a_config_error(tmp_path, docroot):
    from conftest import BIN
    cfg = tmp_path / "c.yaml"
    cfg.write_text(admin_config(docroot, str(tmp_path / "cache"), free_port(), bind="0.0.0.0").replace("{port}", str(free_port())))
    out = subprocess.run([BIN, "serve", "--config", str(cfg), "--port", str(free_port())],
                         capture_output=True, text=True, timeout=20, env=dict(os.environ, SWIFT_BACKTRACE="enable=no"))
    assert out.returncode == 2
    assert "admin.bind" in out.stderr + out.stdout


def test_metrics_parse_and_match_stats(admin_server):
    s, admin, _ = admin_server
    for _ in range(4):
        get(s.port, "/b.txt")
    stats = admin.json("GET", "/api/stats")
    _, headers, body = admin.call("GET", "/metrics")
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    def value(name):
        return families[name].samples[0].value
    # prometheus_client strips _total from counter family names.
    assert value("capuchin_cache_hits") == stats["cache"]["hits"]
    assert value("capuchin_cache_misses") == stats["cache"]["misses"]
    assert value("capuchin_cache_entries") == stats["cache"]["entries"]
    assert value("capuchin_cache_capacity_bytes") == stats["cache"]["capacity_bytes"]
    assert families["capuchin_cache_hits"].type == "counter"
    assert families["capuchin_cache_entries"].type == "gauge"
    # /metrics and the stats call each count as one request on the admin listener.
    assert value("capuchin_requests") >= stats["requests"]


def test_counters_persist_across_restart(server_factory, docroot, tmp_path):
    port = free_port()
    cache_dir = str(tmp_path / "cache")
    cfg = admin_config(docroot, cache_dir, port)
    s = server_factory(cfg)
    wait_port(port)
    for _ in range(5):
        get(s.port, "/c.txt")
    before = Admin(port).json("GET", "/api/stats")["cache"]
    assert s.stop() == 0
    s2 = server_factory(cfg)
    wait_port(port)
    after = Admin(port).json("GET", "/api/stats")["cache"]
    assert after["hits"] >= before["hits"] >= 4
    assert after["misses"] >= before["misses"] >= 1


def test_dashboard_in_headless_chromium(admin_server):
    cdp = pytest.importorskip("cdp")
    s, admin, _ = admin_server
    stop = threading.Event()

    def load():
        paths = ["/a.txt", "/b.txt", "/c.txt", "/index.html"]
        n = 0
        while not stop.is_set() and n < 20000:
            get(s.port, paths[n % len(paths)])
            n += 1
            time.sleep(0.002)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    browser = cdp.Browser(1280, 800)
    try:
        browser.navigate("http://127.0.0.1:%d/" % admin.port)
        browser.wait_for("Number(document.body && document.body.dataset.points || 0) >= 4", timeout=20)
        assert browser.eval("typeof Chart") == "function", "chart.js not served"
        points = browser.eval("Chart.getChart('c-rps').data.datasets[0].data.filter(v => v > 0).length")
        assert points >= 2
        assert browser.eval("Chart.getChart('c-hm').data.datasets[0].data.some(v => v > 0)")
        assert browser.eval("document.getElementById('k-entries').textContent") not in ("", "–", "0")
        browser.wait_for("document.querySelectorAll('#t-top tr').length >= 1", timeout=10)
        os.makedirs(ARTIFACTS, exist_ok=True)
        browser.screenshot(os.path.join(ARTIFACTS, "dashboard.png"))
        stop.set()
        t.join(5)
        browser.eval("window.confirm = () => true; document.getElementById('b-clear').click(); true")
        browser.wait_for("document.getElementById('a-result').textContent.startsWith('cleared')", timeout=10)
        assert admin.json("GET", "/api/stats")["cache"]["entries"] == 0
        browser.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
        time.sleep(1.2)
        # Nothing wider than the phone's viewport.
        assert browser.eval("document.documentElement.scrollWidth <= window.innerWidth + 1")
        browser.screenshot(os.path.join(ARTIFACTS, "dashboard-phone.png"))
    finally:
        stop.set()
        browser.close()
