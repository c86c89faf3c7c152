"""Signals, reload, balance modes, configuration errors."""
import http.client
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import BIN, config_text, free_port, read_response


@pytest.mark.parametrize("balance", ["reuseport", "fair", "shared"])
def test_balance_modes_serve_many_connections(server_factory, docroot, balance):
    s = server_factory(config_text(docroot, balance=balance))
    errors = []

    def client():
        try:
            for _ in range(5):
                c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
                for path, want in [("/a.txt", b"alpha\n"), ("/b.txt", b"bravo bravo\n")]:
                    c.request("GET", path)
                    r = c.getresponse()
                    if (r.status, r.read()) != (200, want):
                        errors.append(path)
                c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert "balance %s" % balance in s.read_log()


def test_sigterm_finishes_in_flight_response_and_exits_0(server_factory, docroot):
    size = 64 << 20
    with open(os.path.join(docroot, "big.bin"), "wb") as f:
        f.truncate(size)
    s = server_factory(config_text(docroot))
    c = s.connect(timeout=10)
    c.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 65536)
    c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = c.recv(65536)
    assert buf.startswith(b"HTTP/1.1 200")
    s.signal(signal.SIGTERM)
    time.sleep(0.3)
    # New connections are no longer accepted once draining.
    total = len(buf.partition(b"\r\n\r\n")[2])
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        total += len(d)
    assert total == size
    assert s.proc.wait(timeout=15) == 0
    assert "stopped" in s.read_log()


def test_sighup_reloads_sites_without_dropping_connections(server_factory, docroot, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_bytes(b"reloaded\n")
    s = server_factory(config_text(docroot))
    c = s.connect()
    c.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(c)[2] == b"alpha\n"
    s.write_config(config_text(str(other)))
    s.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and "reloaded" not in s.read_log():
        time.sleep(0.1)
    time.sleep(0.6)  # workers pick the new settings up on their next sweep
    c.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    st, _, body, _ = read_response(c)
    assert (st, body) == (200, b"reloaded\n")
    c.close()
    # A broken file is refused and the running configuration kept.
    s.write_config("server:\n  bogus_key: 1\n")
    s.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and "reload failed" not in s.read_log():
        time.sleep(0.1)
    assert "server.bogus_key" in s.read_log()
    c = s.connect()
    c.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert read_response(c)[2] == b"reloaded\n"
    c.close()


def run_serve(tmp_path, text, *args):
    p = tmp_path / "bad.yaml"
    p.write_text(text.replace("{port}", "0"))
    return subprocess.run([BIN, "serve", "--config", str(p), "--port", str(free_port())] + list(args),
                          capture_output=True, timeout=20, env=dict(os.environ, SWIFT_BACKTRACE="enable=no"))


def test_unknown_key_is_an_error_naming_key_and_file(tmp_path, docroot):
    r = run_serve(tmp_path, config_text(docroot) + "server2:\n  x: 1\n")
    assert r.returncode == 2
    err = r.stderr.decode()
    assert "bad.yaml" in err and "server2" in err and "unknown key" in err


def test_bad_value_is_an_error_naming_key(tmp_path, docroot):
    r = run_serve(tmp_path, config_text(docroot).replace("workers: 2", "workers: lots"))
    assert r.returncode == 2
    err = r.stderr.decode()
    assert "bad.yaml:" in err and "server.workers" in err


def test_help_lists_flags():
    r = subprocess.run([BIN, "serve", "--help"], capture_output=True, timeout=20)
    out = r.stdout.decode()
    for flag in ["--config", "--port", "--root", "--workers", "--balance", "--cache-dir", "--no-cache", "--admin-port", "--log-level"]:
        assert flag in out


@pytest.mark.parametrize("x_cache", ["true", "false"])
def test_access_log_records_the_cache_verdict(server_factory, docroot, tmp_path, x_cache):
    """The json log's `cache`: MISS then HIT for a cached file, with and without X-Cache on responses."""
    log_path = tmp_path / "access.log"
    text = config_text(docroot).replace(
        "logging:\n", "plugins:\n  cache: true\ncache:\n  dir: %s\n  x_cache_header: %s\nlogging:\n"
        "  access_log: %s\n  access_log_format: json\n" % (tmp_path / "cache", x_cache, log_path))
    s = server_factory(text)
    c = s.connect()
    for i in range(2):
        c.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (X11) \"q\"\r\n\r\n")
        st, headers, _, _ = read_response(c)
        assert st == 200
        assert headers.get("x-cache") == (("HIT" if i else "MISS") if x_cache == "true" else None)
    c.close()
    assert s.stop() == 0
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [r["cache"] for r in records] == ["MISS", "HIT"]
    assert [r["status"] for r in records] == [200, 200]


def test_access_log_in_combined_format(server_factory, docroot, tmp_path):
    log_path = tmp_path / "access.log"
    text = config_text(docroot).replace("logging:\n", "logging:\n  access_log: %s\n" % log_path)
    s = server_factory(text)
    c = s.connect()
    c.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: t\"q\r\nReferer: http://r/\r\n\r\n"
              b"GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    st, _, _, rest = read_response(c)
    assert st == 200
    assert read_response(c, rest)[0] == 404
    c.close()
    assert s.stop() == 0
    lines = log_path.read_text().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("127.0.0.1 - - [")
    assert lines[0].endswith('"GET /a.txt HTTP/1.1" 200 6 "http://r/" "t\\x22q"')
    assert '"GET /missing HTTP/1.1" 404 ' in lines[1]
