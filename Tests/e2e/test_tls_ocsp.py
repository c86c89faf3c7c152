"""OCSP stapling (`tls: {ocsp_file}`, nginx's ssl_stapling_file): a throwaway CA signs an
OCSP response with `openssl ocsp`; `openssl s_client -status` sees it stapled. A file that
does not load or is for another certificate is refused by `capuchin check` naming the key,
and on SIGHUP is logged (naming the file) and no longer stapled; a good one comes back."""
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BIN
from tls_support import ThrowawayCA

CONFIG = """
server:
  listen: 127.0.0.1
  port: {port}
  workers: 1
  tls: {cert: %(cert)s, key: %(key)s, ocsp_file: %(ocsp)s}
sites:
  - root: %(root)s
    default: true
  - names: [site.test]
    root: %(root)s
    tls: {cert: %(site_cert)s, key: %(site_key)s}
logging:
  level: info
"""


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    d = tmp_path_factory.mktemp("ocsp-ca")
    ca = ThrowawayCA(d)
    ca.dir_path = d
    ca.main = ca.issue("main", ["localhost", "127.0.0.1"])
    ca.site = ca.issue("site", ["site.test"])
    ca.good = ca.ocsp_response(ca.main[0], str(d / "main.ocsp"))
    ca.revoked = ca.ocsp_response(ca.main[0], str(d / "main-revoked.ocsp"), revoked=True)
    ca.for_site = ca.ocsp_response(ca.site[0], str(d / "site.ocsp"))
    return ca


def status(port, ca, servername="localhost"):
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-status", "-CAfile", ca.pem,
                        "-servername", servername], input=b"", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    return r.stdout.decode("latin-1")


@pytest.fixture
def server(server_factory, tmp_path, ca):
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("hi\n")
    ocsp = tmp_path / "staple.der"  # a copy the test replaces before a SIGHUP
    shutil.copy(ca.good, ocsp)
    s = server_factory(CONFIG % dict(cert=ca.main[0], key=ca.main[1], ocsp=ocsp, root=root,
                                     site_cert=ca.site[0], site_key=ca.site[1]))
    s.ocsp = ocsp
    return s


def wait_for(predicate, seconds=10):
    deadline = time.time() + seconds
    while not predicate() and time.time() < deadline:
        time.sleep(0.1)
    return predicate()


def test_response_is_stapled(server, ca):
    out = status(server.port, ca)
    assert "OCSP Response Status: successful" in out, out
    assert "Cert Status: good" in out, out
    assert "Verify return code: 0 (ok)" in out, out
    # A site's certificate without an ocsp_file gets no staple.
    assert "OCSP response: no response sent" in status(server.port, ca, "site.test")


def test_sighup_rereads_and_refuses_a_response_for_another_certificate(server, ca):
    shutil.copy(ca.for_site, server.ocsp)
    server.signal(signal.SIGHUP)
    assert wait_for(lambda: "not for the certificate" in server.read_log()), server.read_log()
    log = server.read_log()
    assert str(server.ocsp) in log and "server.tls.ocsp_file" in log, log
    assert wait_for(lambda: "OCSP response: no response sent" in status(server.port, ca))
    # A revoked status is stapled as it is (the client decides).
    shutil.copy(ca.revoked, server.ocsp)
    server.signal(signal.SIGHUP)
    assert wait_for(lambda: "Cert Status: revoked" in status(server.port, ca))
    shutil.copy(ca.good, server.ocsp)
    server.signal(signal.SIGHUP)
    assert wait_for(lambda: "Cert Status: good" in status(server.port, ca))


@pytest.mark.parametrize("bad,words", [("garbage", "is not a DER OCSP response"), ("other", "not for the certificate"),
                                       ("missing", "cannot read the OCSP response")])
def test_check_refuses_a_bad_file_naming_the_key(tmp_path, ca, bad, words):
    root = tmp_path / "www"
    root.mkdir()
    ocsp = tmp_path / "bad.der"
    if bad == "garbage":
        ocsp.write_bytes(b"not an OCSP response\n")
    elif bad == "other":
        shutil.copy(ca.for_site, ocsp)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("server:\n  port: 0\n  tls:\n    cert: %s\n    key: %s\n    ocsp_file: %s\nsites:\n  - root: %s\n"
                   % (ca.main[0], ca.main[1], ocsp, root))
    r = subprocess.run([BIN, "check", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    text = r.stdout.decode()
    assert r.returncode == 2, text
    assert "c.yaml:6" in text and "server.tls.ocsp_file" in text and words in text and str(ocsp) in text, text
    # `serve` refuses to start with it, as it would with a bad certificate.
    r = subprocess.run([BIN, "serve", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode != 0 and "server.tls.ocsp_file" in r.stdout.decode()
