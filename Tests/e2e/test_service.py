"""Running as a service: sd_notify over a fake $NOTIFY_SOCKET, SIGUSR1 log
reopening, JSON and per-site access logs, the root warning."""
import http.client
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import BIN, free_port, make_docroot


class Notified:
    """A fake service manager's notification socket (AF_UNIX datagrams)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(20)

    def next(self):
        data = self.sock.recv(4096).decode()
        return dict(line.split("=", 1) for line in data.split("\n") if line)

    def close(self):
        self.sock.close()


def start(tmp_path, config, env_extra=None, wait_port=True):
    port = free_port()
    root = tmp_path / "www"
    if not root.exists():
        root.mkdir()
        make_docroot(str(root))
    path = tmp_path / "capuchin.yaml"
    path.write_text(config.format(port=port, root=root, dir=tmp_path))
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    env.update(env_extra or {})
    log = open(tmp_path / "server.log", "a")
    proc = subprocess.Popen([BIN, "serve", "--config", str(path)], stdout=log, stderr=subprocess.STDOUT, env=env)
    if wait_port:
        deadline = time.time() + 15
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.time() < deadline, "server did not start"
                time.sleep(0.05)
    return proc, port


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(port, path, host="localhost"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path, headers={"Host": host})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body


def wait_for(predicate, what, timeout=10):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, what
        time.sleep(0.05)


def lines(path):
    return open(path).read().splitlines() if os.path.exists(path) else []


BASE = """
server:
  listen: 127.0.0.1
  port: {port}
  workers: 2
  state_dir: {dir}/state
sites:
  - root: {root}
    default: true
logging:
  level: info
"""


@pytest.mark.parametrize("abstract", [False, True])
def test_sd_notify_ready_reloading_stopping(tmp_path, abstract):
    if abstract:
        name = "capuchin-test-%d" % os.getpid()
        n = Notified("\0" + name)
        env = {"NOTIFY_SOCKET": "@" + name}
    else:
        n = Notified(str(tmp_path / "notify.sock"))
        env = {"NOTIFY_SOCKET": n.path}
    # Not polling the port first: the test must not connect before READY=1.
    proc, port = start(tmp_path, BASE, env, wait_port=False)
    try:
        ready = n.next()
        # READY=1 comes once every listener accepts: a request right after it is answered.
        assert ready.get("READY") == "1", ready
        assert ready.get("MAINPID") == str(proc.pid)
        assert get(port, "/a.txt")[0] == 200

        proc.send_signal(signal.SIGHUP)
        reloading = n.next()
        assert reloading.get("RELOADING") == "1", reloading
        assert int(reloading["MONOTONIC_USEC"]) > 0
        again = n.next()
        assert again.get("READY") == "1", again
        assert get(port, "/a.txt")[0] == 200

        proc.send_signal(signal.SIGTERM)
        stopping = n.next()
        assert stopping.get("STOPPING") == "1", stopping
        assert proc.wait(15) == 0
    finally:
        stop(proc)
        n.close()


def test_json_access_log_fields_and_cache_result(tmp_path):
    access = tmp_path / "access.json.log"
    # One worker: the lines are in request order (each worker flushes its own buffer).
    proc, port = start(tmp_path, BASE.replace("workers: 2", "workers: 1") + "  access_log: %s\n  access_log_format: json\n" % access)
    try:
        answers = [get(port, p) for p in ("/a.txt", "/a.txt", "/missing.txt")]
        assert [a[0] for a in answers] == [200, 200, 404]
        assert [a[1].get("x-cache") for a in answers[:2]] == ["MISS", "HIT"]
        wait_for(lambda: len(lines(access)) >= 3, "three access log lines")
    finally:
        stop(proc)
    records = [json.loads(l) for l in lines(access)]
    assert len(records) == 3
    for r in records:
        assert set(r) == {"time", "client", "method", "target", "status", "bytes", "duration_us", "cache", "upstream"}
        assert r["client"] == "127.0.0.1"
        assert r["method"] == "GET"
        assert r["time"].endswith("Z") and r["time"][:2] == "20"
        assert isinstance(r["duration_us"], int) and r["duration_us"] >= 0
        assert r["upstream"] is None
    # The cache field is the verdict the client saw in X-Cache.
    assert [(r["target"], r["status"], r["cache"]) for r in records] == [
        ("/a.txt", 200, "MISS"), ("/a.txt", 200, "HIT"), ("/missing.txt", 404, answers[2][1].get("x-cache"))]
    assert records[2]["cache"] is not None
    assert records[0]["bytes"] == len(b"alpha\n")


def test_combined_is_the_default_format(tmp_path):
    access = tmp_path / "access.log"
    proc, port = start(tmp_path, BASE + "  access_log: %s\n" % access)
    try:
        get(port, "/b.txt")
        wait_for(lambda: len(lines(access)) >= 1, "one access log line")
    finally:
        stop(proc)
    line = lines(access)[0]
    assert line.startswith('127.0.0.1 - - [')
    assert '"GET /b.txt HTTP/1.1" 200 12 "-" "Python-urllib' in line or '"GET /b.txt HTTP/1.1" 200 12 "-" "-"' in line, line


def test_per_site_access_log(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "o.txt").write_text("other site\n")
    main_log, site_log = tmp_path / "main.log", tmp_path / "other-site.log"
    config = BASE.replace("    default: true\n", "    default: true\n  - names: [other.test]\n    root: %s\n    access_log: %s\n"
                          % (other, site_log)) + "  access_log: %s\n" % main_log
    proc, port = start(tmp_path, config)
    try:
        assert get(port, "/a.txt")[0] == 200
        assert get(port, "/o.txt", host="other.test")[0] == 200
        wait_for(lambda: lines(main_log) and lines(site_log), "both logs written")
    finally:
        stop(proc)
    assert len(lines(main_log)) == 1 and "/a.txt" in lines(main_log)[0]
    assert len(lines(site_log)) == 1 and "/o.txt" in lines(site_log)[0]


def test_sigusr1_reopens_logs_without_losing_a_line(tmp_path):
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    proc, port = start(tmp_path, BASE.replace("  level: info\n", "  level: info\n  error_log: %s\n" % errors)
                       + "  access_log: %s\n" % access)
    try:
        for i in range(50):
            assert get(port, "/a.txt?n=%d" % i)[0] == 200
        os.rename(access, str(access) + ".1")
        os.rename(errors, str(errors) + ".1")
        proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: access.exists() and errors.exists(), "new log files at the configured paths")
        for i in range(50, 100):
            assert get(port, "/a.txt?n=%d" % i)[0] == 200
        wait_for(lambda: sum(1 for l in lines(access) + lines(str(access) + ".1") if "/a.txt?n=" in l) >= 100,
                 "every request logged")
    finally:
        stop(proc)
    old, new = lines(str(access) + ".1"), lines(access)
    logged = [int(l.split("?n=")[1].split()[0]) for l in old + new]
    assert sorted(logged) == list(range(100))   # none lost, none twice
    # Every request made after the new file appeared is in it.
    assert {int(l.split("?n=")[1].split()[0]) for l in new} >= set(range(50, 100))
    assert "reopen" in open(errors).read()


def test_root_without_user_warns_naming_the_key(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    proc, port = start(tmp_path, BASE)
    try:
        assert get(port, "/a.txt")[0] == 200
    finally:
        stop(proc)
    log = (tmp_path / "server.log").read_text()
    assert "[warn] running as root: set server.user" in log


def test_json_access_log_names_the_upstream_and_proxy_cache_result(server_factory, docroot, tmp_path):
    from proxy_support import Backend, fetch, proxy_config
    backend = Backend("b0")
    access = tmp_path / "proxy-access.log"
    try:
        config = proxy_config(docroot, [backend.address], cache_dir=str(tmp_path / "pcache")).replace(
            "logging:\n  level: debug\n", "logging:\n  level: debug\n  access_log: %s\n  access_log_format: json\n" % access)
        s = server_factory(config)
        first, second = fetch(s, "/p/cache1"), fetch(s, "/p/cache1")
        assert [first[1].get("x-cache"), second[1].get("x-cache")] == ["MISS", "HIT"]
        wait_for(lambda: len(lines(access)) >= 2, "two access log lines")
    finally:
        backend.stop()
    miss, hit = [json.loads(l) for l in lines(access)]
    assert (miss["target"], miss["status"], miss["cache"], miss["upstream"]) == ("/p/cache1", 200, "MISS", backend.address)
    assert (hit["cache"], hit["upstream"]) == ("HIT", None)    # answered from the proxy cache
    assert miss["bytes"] == len(first[2]) and hit["bytes"] == len(second[2])
