"""Kernel TLS (the `tls` ULP): the start-up log names the mode of each TLS listener,
`ktls: off` keeps records in user space, and a bad `ktls` value is an error naming the
file, line and key. The test machine has no `tls` ULP: where the kernel offers it the
probe must say so instead (the simulated-kernel XCTest covers that path's plumbing)."""
import signal
import subprocess
import time

from conftest import BIN, free_port
from tls_support import ThrowawayCA

CONFIG = """
server:
  listen: 127.0.0.1
  port: {port}
  workers: 1
  tls: {cert: %(cert)s, key: %(key)s}
listeners:
  - port: %(off)d
    tls: {cert: %(cert)s, key: %(key)s, ktls: off}
sites:
  - root: %(root)s
    default: true
"""


def kernel_offers_tls_ulp():
    with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
        return "tls" in f.read().split()


def start(server_factory, tmp_path):
    ca = ThrowawayCA(tmp_path / "ca")
    cert, key = ca.issue("main", ["localhost"])
    root = tmp_path / "www"
    root.mkdir()
    (root / "a.txt").write_bytes(b"a\n")
    off = free_port()
    s = server_factory(CONFIG % dict(cert=cert, key=key, off=off, root=root))
    s.off_port = off
    return s


def test_log_names_the_mode_of_each_tls_listener(server_factory, tmp_path):
    s = start(server_factory, tmp_path)
    off = s.off_port
    lines = [l for l in s.read_log().splitlines() if "TLS on 127.0.0.1:" in l]
    auto = [l for l in lines if "127.0.0.1:%d:" % s.port in l]
    manual = [l for l in lines if "127.0.0.1:%d:" % off in l]
    assert len(auto) == 1 and len(manual) == 1, lines
    assert "userspace records (ktls: off)" in manual[0]
    if kernel_offers_tls_ulp():
        assert "kernel TLS (tx)" in auto[0]
    else:
        # The probe's setsockopt(TCP_ULP, "tls") and its errno (ENOENT: no such module).
        assert "userspace records (kernel has no tls ULP: setsockopt(TCP_ULP, tls): " in auto[0], auto[0]
        assert "(errno " in auto[0]


def test_check_names_a_bad_ktls_value(tmp_path):
    ca = ThrowawayCA(tmp_path / "ca")
    cert, key = ca.issue("main", ["localhost"])
    root = tmp_path / "www"
    root.mkdir()
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("server:\n  port: 0\n  tls:\n    cert: %s\n    key: %s\n    ktls: yes-please\nsites:\n  - root: %s\n"
                   % (cert, key, root))
    r = subprocess.run([BIN, "check", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode == 2
    text = r.stdout.decode()
    assert "bad.yaml:6" in text and "server.tls.ktls" in text and "auto, off" in text, text
    cfg.write_text(cfg.read_text().replace("yes-please", "off"))
    r = subprocess.run([BIN, "check", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode == 0, r.stdout.decode()


def test_reload_logs_that_a_ktls_change_needs_a_restart(server_factory, tmp_path):
    s = start(server_factory, tmp_path)
    with open(s.config_path) as f:
        text = f.read()
    with open(s.config_path, "w") as f:
        f.write(text.replace("ktls: off", "ktls: auto"))
    s.signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "not reloadable" not in s.read_log():
        assert time.time() < deadline, s.read_log()
        time.sleep(0.05)
    line = [l for l in s.read_log().splitlines() if "not reloadable" in l][0]
    assert "listeners changed" in line and "+tls(ktls: off)" in line, line
