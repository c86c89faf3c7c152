"""Active health checks (issue 14, item 2): a backend whose check fails `fall`
times in a row is taken out (though it still answers other paths), comes back
after `rise` good checks; its state shows in /api/stats, /metrics and the
dashboard's data."""
import json
import time
import urllib.request

import pytest

from conftest import free_port
from proxy_support import Backend, fetch, proxy_config


@pytest.fixture
def backends():
    made = [Backend("b0"), Backend("b1")]
    yield made
    for b in made:
        b.stop()


def origin(body):
    return body.split()[0].decode()


def admin_get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        return r.read().decode()


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_failing_checks_take_a_backend_out_and_passing_ones_bring_it_back(server_factory, docroot, backends):
    admin = free_port()
    config = proxy_config(docroot, [b.address for b in backends], attempts=1)
    config = config.replace("plugins:\n  proxy: true\n", "plugins:\n  proxy: true\n  admin: true\nadmin:\n  port: %d\n" % admin)
    config += ("      health_check:\n        path: /p/health\n        interval: 200ms\n        timeout: 150ms\n"
               "        rise: 2\n        fall: 2\n")
    s = server_factory(config)
    assert {origin(fetch(s, "/p/a%d" % i)[2]) for i in range(4)} == {"b0", "b1"}

    def stats():
        return {b["backend"]: b for b in json.loads(admin_get(admin, "/api/stats"))["backends"]}

    assert wait_for(lambda: stats()[backends[1].address]["checks_passed"] >= 2)
    backends[1].failing = True
    assert wait_for(lambda: not stats()[backends[1].address]["up"]), stats()
    b1 = stats()[backends[1].address]
    assert b1["healthy"] is False and b1["checks_failed"] >= 2 and b1["pool"] == "p"
    # b1 still answers ordinary paths, but the proxy no longer sends it any.
    assert {origin(fetch(s, "/p/b%d" % i)[2]) for i in range(6)} == {"b0"}
    metrics = admin_get(admin, "/metrics")
    assert 'capuchin_backend_up{pool="p",backend="%s"} 0' % backends[1].address in metrics
    assert 'capuchin_backend_up{pool="p",backend="%s"} 1' % backends[0].address in metrics
    assert 'capuchin_backend_healthy{pool="p",backend="%s"} 0' % backends[1].address in metrics

    backends[1].failing = False
    assert wait_for(lambda: stats()[backends[1].address]["up"]), stats()
    assert stats()[backends[1].address]["healthy"] is True
    assert {origin(fetch(s, "/p/c%d" % i)[2]) for i in range(6)} == {"b0", "b1"}
    assert "is unhealthy" in s.read_log() and "healthy again" in s.read_log()


def test_a_backend_that_does_not_listen_fails_its_checks(server_factory, docroot, backends):
    dead = "127.0.0.1:%d" % free_port()
    admin = free_port()
    config = proxy_config(docroot, [backends[0].address, dead], attempts=1)
    config = config.replace("plugins:\n  proxy: true\n", "plugins:\n  proxy: true\n  admin: true\nadmin:\n  port: %d\n" % admin)
    config += "      health_check: {path: /p/health, interval: 100ms, timeout: 50ms, fall: 1}\n"
    s = server_factory(config)
    assert wait_for(lambda: 'capuchin_backend_healthy{pool="p",backend="%s"} 0' % dead in admin_get(admin, "/metrics"))
    # Every request goes to the live backend at once: none is tried on the dead one first.
    assert [fetch(s, "/p/x%d" % i)[0] for i in range(6)] == [200] * 6
    assert sum(backends[0].count("/p/x%d" % i) for i in range(6)) == 6


def test_health_check_config_errors_name_the_key(tmp_path, docroot, backends):
    import subprocess
    from conftest import BIN
    config = proxy_config(docroot, [backends[0].address]).replace("{port}", str(free_port()))
    bad = config + "      health_check: {path: /h, interval: 1s, timeout: 2s}\n"
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    r = subprocess.run([BIN, "serve", "--config", str(path)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "proxy.pools.p.health_check.timeout" in r.stderr + r.stdout
