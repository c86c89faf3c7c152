"""HTTPS: TLS 1.3/1.2 listeners with a throwaway CA made here (curl --cacert, Python's ssl,
openssl s_client), SNI, ALPN, resumption, keep-alive and pipelining, cache hits identical
to plain HTTP, certificate reload on SIGHUP, plain HTTP and bad ClientHellos on the TLS port."""
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import BIN, free_port, read_response, recv_all
from tls_support import ThrowawayCA, peer_common_name, peer_fingerprint

CONFIG = """
server:
  listen: 127.0.0.1
  port: {port}
  workers: 2
  header_timeout: 3s
  tls: {cert: %(cert)s, key: %(key)s}
  hsts: max-age=31536000
listeners:
  - port: %(plain)d
  - port: %(redirect)d
    redirect_https: {port}
sites:
  - root: %(root)s
    default: true
  - names: [site.test, '*.wild.test']
    root: %(site_root)s
    tls: {cert: %(site_cert)s, key: %(site_key)s}
cache:
  max_file_size: 64k
plugins:
  admin: true
admin:
  port: %(admin)d
logging:
  level: debug
"""


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    d = tmp_path_factory.mktemp("ca")
    ca = ThrowawayCA(d)
    ca.files = {
        "main": ca.issue("main", ["localhost", "127.0.0.1"]),
        "site": ca.issue("site", ["site.test", "*.wild.test"], rsa=True),
        "rotated": ca.issue("rotated", ["localhost", "127.0.0.1"]),
        "other": ca.issue("other", ["localhost"]),
    }
    return ca


@pytest.fixture
def tls_server(server_factory, tmp_path, ca):
    root = tmp_path / "www"
    site_root = tmp_path / "site"
    root.mkdir()
    site_root.mkdir()
    rnd = random.Random(13)
    files = {"index.html": b"<h1>home</h1>\n", "small.bin": bytes(rnd.getrandbits(8) for _ in range(1024)),
             "record.bin": bytes(rnd.getrandbits(8) for _ in range(16384)),
             "mapped.bin": bytes(rnd.getrandbits(8) for _ in range(60000)),
             # Record boundaries: two whole records, and one byte over one.
             "two-records.bin": bytes(rnd.getrandbits(8) for _ in range(32768)),
             "record-and-a-byte.bin": bytes(rnd.getrandbits(8) for _ in range(16385)),
             "large.bin": bytes(rnd.getrandbits(8) for _ in range(700000))}
    for name, data in files.items():
        (root / name).write_bytes(data)
    (site_root / "who.txt").write_bytes(b"site\n")
    (root / "who.txt").write_bytes(b"default\n")
    # The server reads copies, so a test can replace them before a SIGHUP.
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "cert.key")
    shutil.copy(ca.files["main"][0], cert)
    shutil.copy(ca.files["main"][1], key)
    plain, redirect, admin = free_port(), free_port(), free_port()
    s = server_factory(CONFIG % dict(cert=cert, key=key, plain=plain, redirect=redirect, admin=admin, root=root, site_root=site_root,
                                     site_cert=ca.files["site"][0], site_key=ca.files["site"][1]))
    s.files, s.plain_port, s.redirect_port, s.admin_port, s.cert, s.key = files, plain, redirect, admin, cert, key
    return s


def tls_connect(port, ctx, server_hostname="localhost", timeout=5):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname=server_hostname)


def get(sock, path, host=b"localhost", close=False):
    sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: " + host + (b"\r\nConnection: close" if close else b"") + b"\r\n\r\n")
    status, headers, body, rest = read_response(sock)
    assert rest == b""
    return status, headers, body


def s_client(port, *args, stdin=b""):
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + list(args), input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    return r.stdout.decode("latin-1")


def test_curl_with_the_ca(tls_server, ca):
    out = subprocess.run(["curl", "-sS", "--cacert", ca.pem, "-D", "-", "https://localhost:%d/index.html" % tls_server.port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert text.startswith("HTTP/1.1 200")
    assert "strict-transport-security: max-age=31536000" in text.lower()
    assert text.endswith("<h1>home</h1>\n")


def test_versions_13_and_12_accepted_11_refused(tls_server, ca):
    for version, name in [(ssl.TLSVersion.TLSv1_3, "TLSv1.3"), (ssl.TLSVersion.TLSv1_2, "TLSv1.2")]:
        ctx = ca.client_context()
        ctx.minimum_version = ctx.maximum_version = version
        with tls_connect(tls_server.port, ctx) as c:
            assert c.version() == name
            assert get(c, b"/index.html")[0] == 200
    # TLS 1.1: the client must really offer it (its own default security level would not).
    out = s_client(tls_server.port, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", "-CAfile", ca.pem)
    assert "alert protocol version" in out, out
    assert "Cipher is (NONE)" in out
    out = s_client(tls_server.port, "-tls1_2", "-CAfile", ca.pem)
    assert "Verify return code: 0 (ok)" in out and "TLSv1.2" in out


def test_sni_picks_the_certificate(tls_server, ca):
    ctx = ca.client_context()
    with tls_connect(tls_server.port, ctx, "site.test") as c:
        assert peer_common_name(c) == "site.test"
        assert get(c, b"/who.txt", host=b"site.test")[2] == b"site\n"
    with tls_connect(tls_server.port, ctx, "a.wild.test") as c:
        assert peer_common_name(c) == "site.test"
    with tls_connect(tls_server.port, ctx, "localhost") as c:
        assert peer_common_name(c) == "localhost"
        assert get(c, b"/who.txt")[2] == b"default\n"
    # An unknown name gets the default certificate.
    loose = ca.client_context()
    loose.check_hostname = False
    with tls_connect(tls_server.port, loose, "unknown.test") as c:
        assert peer_common_name(c) == "localhost"


def test_alpn_answers_http11(tls_server, ca):
    out = s_client(tls_server.port, "-alpn", "h2,http/1.1", "-CAfile", ca.pem)
    assert "ALPN protocol: http/1.1" in out
    out = s_client(tls_server.port, "-alpn", "h2", "-CAfile", ca.pem)
    assert "No ALPN negotiated" in out and "Cipher is TLS_" in out
    with tls_connect(tls_server.port, ca.client_context()) as c:
        assert c.selected_alpn_protocol() == "http/1.1"


@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2"])
def test_resumption_with_tickets(tls_server, ca, tmp_path, version):
    sess = str(tmp_path / "session")
    out = s_client(tls_server.port, version, "-CAfile", ca.pem, "-sess_out", sess, "-ign_eof",
                   stdin=b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert "New, TLSv1" in out and "HTTP/1.1 200" in out
    # Two workers: several resumptions land on either one; the ticket keys are shared.
    for _ in range(6):
        out = s_client(tls_server.port, version, "-CAfile", ca.pem, "-sess_in", sess)
        assert "Reused, TLSv1" in out, out


def test_a_resumed_session_resumes_again(tls_server, ca, tmp_path):
    """A client that resumed resumes again with what it holds: a ticket of the current
    key is not replaced after a resumption (s_client writes -sess_out only when a new
    ticket arrives), and it stays good connection after connection, on either worker."""
    sess = str(tmp_path / "session")
    out = s_client(tls_server.port, "-tls1_3", "-CAfile", ca.pem, "-sess_out", sess, "-ign_eof",
                   stdin=b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert "New, TLSv1.3" in out and os.path.exists(sess)
    for i in range(6):
        renewed = str(tmp_path / ("renewed%d" % i))
        out = s_client(tls_server.port, "-tls1_3", "-CAfile", ca.pem, "-sess_in", sess, "-sess_out", renewed, "-ign_eof",
                       stdin=b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert "Reused, TLSv1.3" in out and "HTTP/1.1 200" in out, out
        assert not os.path.exists(renewed), "a new ticket after resuming with the current key"


def test_requests_in_pieces_over_tls_are_answered(tls_server, ca):
    """Each piece is its own record and TCP segment, read whole by a short read(2): the
    server skips the read that could only say EAGAIN and must still read what comes next
    (the handshake's flights, then requests split anywhere, a second one pipelined)."""
    with tls_connect(tls_server.port, ca.client_context()) as c:
        for pieces in ([b"GET /small.bin HTTP/1.1\r\n", b"Host: localhost\r\n", b"\r\n"],
                       [b"G", b"ET /index.html HTTP/1.1\r\nHost: localhost\r\n\r", b"\nGET /small.bin HT",
                        b"TP/1.1\r\nHost: localhost\r\n\r\n"]):
            for p in pieces:
                c.sendall(p)
                time.sleep(0.05)
            rest = b""
            for path in [x for x in (b"/index.html", b"/small.bin") if any(x in p for p in pieces)]:
                status, _, body, rest = read_response(c, rest)
                assert status == 200 and body == tls_server.files[path[1:].decode()], path
            assert rest == b""


@pytest.mark.parametrize("path", [b"/small.bin", b"/two-records.bin", b"/large.bin"])
@pytest.mark.parametrize("request_line", [b"HTTP/1.1\r\nHost: localhost\r\nConnection: close", b"HTTP/1.0"])
def test_a_closing_response_ends_with_close_notify(tls_server, ca, path, request_line):
    """The last response of a connection is followed by close_notify (sent with its last
    records): a client that refuses a bare end of stream sees a clean TLS close."""
    raw = socket.create_connection(("127.0.0.1", tls_server.port), timeout=5)
    with ca.client_context().wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False) as c:
        c.sendall(b"GET " + path + b" " + request_line + b"\r\n\r\n")
        status, _, body, rest = read_response(c)
        assert status == 200 and body == tls_server.files[path[1:].decode()] and rest == b""
        assert c.recv(1) == b""  # close_notify; a bare EOF raises SSLEOFError


def test_hits_over_tls_are_byte_identical_to_plain(tls_server, ca):
    ctx = ca.client_context()
    for name, data in tls_server.files.items():
        path = b"/" + name.encode()
        with socket.create_connection(("127.0.0.1", tls_server.plain_port), timeout=5) as p:
            plain = [get(p, path) for _ in range(2)]
        with tls_connect(tls_server.port, ctx) as c:
            over_tls = [get(c, path) for _ in range(3)]
        for status, headers, body in plain + over_tls:
            assert status == 200 and body == data, name
        if len(data) <= 65536:
            assert over_tls[-1][1]["x-cache"] == "HIT", name
        assert "strict-transport-security" not in plain[0][1] and "strict-transport-security" in over_tls[0][1]


def test_keepalive_and_pipelining_over_tls(tls_server, ca):
    with tls_connect(tls_server.port, ca.client_context()) as c:
        paths = [b"/index.html", b"/small.bin", b"/large.bin", b"/record.bin", b"/index.html"] * 3
        c.sendall(b"".join(b"GET " + p + b" HTTP/1.1\r\nHost: localhost\r\n\r\n" for p in paths))
        rest = b""
        for p in paths:
            status, _, body, rest = read_response(c, rest)
            assert status == 200 and body == tls_server.files[p[1:].decode()], p
        assert rest == b""
        assert get(c, b"/mapped.bin", close=True)[2] == tls_server.files["mapped.bin"]
        assert c.recv(1) == b""


def test_slow_reader_gets_whole_responses_over_tls(tls_server, ca):
    """A client with a small receive buffer: the records of one write (a 60 KB hit is
    one batch, one send) are taken in part, the rest kept pending until the socket is
    writable, and each response still arrives whole, in order, up to the closing one."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(10)
    raw.connect(("127.0.0.1", tls_server.port))
    with ca.client_context().wrap_socket(raw, server_hostname="localhost") as c:
        # One at a time: each response is the last thing the server has to write.
        for i in range(6):
            c.sendall(b"GET /mapped.bin HTTP/1.1\r\nHost: localhost\r\n" + (b"Connection: close\r\n" if i == 5 else b"") + b"\r\n")
            time.sleep(0.05)  # the server fills the socket before the client reads
            status, _, body, rest = read_response(c)
            assert status == 200 and body == tls_server.files["mapped.bin"] and rest == b"", i
    # Pipelined, files (sendfile ranges, read and encrypted) and hits mixed.
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(10)
    raw.connect(("127.0.0.1", tls_server.port))
    with ca.client_context().wrap_socket(raw, server_hostname="localhost") as c:
        paths = [b"/large.bin", b"/two-records.bin", b"/large.bin", b"/record-and-a-byte.bin", b"/mapped.bin"]
        c.sendall(b"".join(b"GET " + p + b" HTTP/1.1\r\nHost: localhost\r\n\r\n" for p in paths[:-1])
                  + b"GET /mapped.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        time.sleep(0.3)
        rest = b""
        for p in paths:
            status, _, body, rest = read_response(c, rest)
            assert status == 200 and body == tls_server.files[p[1:].decode()], p
        assert rest == b"" and c.recv(1) == b""


def test_plain_http_on_the_tls_port_gets_400(tls_server):
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        reply = recv_all(s)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert reply.endswith(b"The plain HTTP request was sent to HTTPS port\n")


def test_plain_listener_redirects_to_https(tls_server):
    with socket.create_connection(("127.0.0.1", tls_server.redirect_port), timeout=5) as s:
        status, headers, _ = get(s, b"/a/b?c=1", host=b"example.test:%d" % tls_server.redirect_port)
    assert status == 301
    assert headers["location"] == "https://example.test:%d/a/b?c=1" % tls_server.port


def test_bad_client_hellos_do_not_hurt_others(tls_server, ca):
    hello = b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + os.urandom(32)
    bad = [os.urandom(300),                          # garbage
           hello[:20],                               # truncated, then closed
           b"\x16\x03\x01\x00\xc8" + os.urandom(200),  # a record of garbage handshake bytes
           b"\x16\x03\x01\xff\xff" + os.urandom(70000),  # oversized record
           b"\x15\x03\x03\x00\x02\x02\x28"]           # an alert first
    ctx = ca.client_context()
    for payload in bad * 3:
        with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as s:
            try:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                recv_all(s)
            except OSError:  # reset or already closed by the server: what a bad hello may get
                pass
        with tls_connect(tls_server.port, ctx) as c:
            assert get(c, b"/index.html")[0] == 200
    assert tls_server.proc.poll() is None


def test_stalled_handshake_is_closed_by_the_header_timeout(tls_server, ca):
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=10) as s:
        s.sendall(b"\x16\x03\x01\x00\xc8\x01\x00")  # the start of a ClientHello, then nothing
        start = time.time()
        assert recv_all(s) == b""
        assert time.time() - start < 9
    with tls_connect(tls_server.port, ca.client_context()) as c:
        assert get(c, b"/index.html")[0] == 200


def test_sighup_rotates_the_certificate_and_keeps_open_connections(tls_server, ca):
    ctx = ca.client_context()
    old = tls_connect(tls_server.port, ctx)
    first = peer_fingerprint(old)
    assert get(old, b"/index.html")[0] == 200
    shutil.copy(ca.files["rotated"][0], tls_server.cert)
    shutil.copy(ca.files["rotated"][1], tls_server.key)
    tls_server.signal(signal.SIGHUP)
    deadline = time.time() + 10
    while True:
        with tls_connect(tls_server.port, ctx) as c:
            now = peer_fingerprint(c)
        if now != first or time.time() > deadline:
            break
        time.sleep(0.1)
    with open(ca.files["rotated"][0], "rb") as f:
        rotated = ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(f.read().decode()))
    import hashlib
    assert now == hashlib.sha256(ssl.PEM_cert_to_DER_cert(rotated)).hexdigest()
    # The connection opened before the reload goes on with its session.
    assert get(old, b"/small.bin")[2] == tls_server.files["small.bin"]
    old.close()

    # A key that does not match its certificate: logged, and the rotated certificate kept.
    shutil.copy(ca.files["other"][1], tls_server.key)
    tls_server.signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "does not match" not in tls_server.read_log() and time.time() < deadline:
        time.sleep(0.1)
    assert "does not match" in tls_server.read_log()
    with tls_connect(tls_server.port, ctx) as c:
        assert peer_fingerprint(c) == now
        assert get(c, b"/index.html")[0] == 200


def test_check_and_start_refuse_a_mismatched_key(tmp_path, ca):
    root = tmp_path / "www"
    root.mkdir()
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("server:\n  port: 0\n  tls:\n    cert: %s\n    key: %s\nsites:\n  - root: %s\n"
                   % (ca.files["main"][0], ca.files["other"][1], root))
    r = subprocess.run([BIN, "check", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode == 2
    text = r.stdout.decode()
    assert "bad.yaml:4" in text and "server.tls" in text and "does not match" in text, text
    r = subprocess.run([BIN, "serve", "--root", str(root), "--port", "0", "--tls-cert", ca.files["main"][0],
                        "--tls-key", str(tmp_path / "missing.key")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode != 0 and "missing.key" in r.stdout.decode()


def test_serve_flags_make_the_port_https(tmp_path, ca):
    root = tmp_path / "www"
    root.mkdir()
    (root / "x.txt").write_bytes(b"flag\n")
    port = free_port()
    proc = subprocess.Popen([BIN, "serve", "--root", str(root), "--port", str(port), "--workers", "1", "--no-cache",
                             "--tls-cert", ca.files["main"][0], "--tls-key", ca.files["main"][1]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, SWIFT_BACKTRACE="enable=no"))
    try:
        deadline = time.time() + 10
        while True:
            try:
                with tls_connect(port, ca.client_context()) as c:
                    assert get(c, b"/x.txt")[2] == b"flag\n"
                break
            except (ConnectionRefusedError, ssl.SSLError):
                assert time.time() < deadline
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_counters_in_stats_metrics_and_dashboard(tls_server, ca, tmp_path):
    import json
    import urllib.request
    sess = str(tmp_path / "session")
    s_client(tls_server.port, "-tls1_3", "-CAfile", ca.pem, "-sess_out", sess, "-ign_eof",
             stdin=b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert "Reused" in s_client(tls_server.port, "-tls1_3", "-CAfile", ca.pem, "-sess_in", sess)
    s_client(tls_server.port, "-tls1_2", "-CAfile", ca.pem)
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        recv_all(s)
    base = "http://127.0.0.1:%d" % tls_server.admin_port
    deadline = time.time() + 10
    while True:
        stats = json.load(urllib.request.urlopen(base + "/api/stats", timeout=5))
        t = stats["tls"]
        if t["handshakes"] >= 3 and t["handshake_failures"] >= 1 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert t["handshakes"] >= 3 and t["resumed_handshakes"] >= 1
    assert t["handshakes_by_protocol"].get("TLSv1.3", 0) >= 2 and t["handshakes_by_protocol"].get("TLSv1.2", 0) >= 1
    assert sum(t["handshakes_by_cipher"].values()) == t["handshakes"]
    assert t["failures_by_reason"].get("http request", 0) >= 1
    metrics = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
    import re
    assert int(re.search(r"^capuchin_tls_handshakes_total (\d+)$", metrics, re.M).group(1)) >= t["handshakes"]
    assert 'capuchin_tls_handshake_failures_total{reason="http request"}' in metrics
    assert 'capuchin_tls_handshakes_by_protocol_total{protocol="TLSv1.3"}' in metrics
    page = urllib.request.urlopen(base + "/", timeout=5).read().decode()
    assert "TLS handshakes" in page


@pytest.mark.parametrize("balance", ["fair", "shared"])
def test_fair_and_shared_balance_hand_tls_connections_to_workers(server_factory, tmp_path, ca, balance):
    root = tmp_path / "www"
    root.mkdir()
    (root / "f.txt").write_bytes(b"fair\n")
    cert, key = ca.files["main"]
    s = server_factory("server:\n  listen: 127.0.0.1\n  port: {port}\n  workers: 2\n  balance: %s\n"
                       "  tls: {cert: %s, key: %s}\nsites:\n  - root: %s\n    default: true\n" % (balance, cert, key, root))
    ctx = ca.client_context()
    conns = [tls_connect(s.port, ctx) for _ in range(4)]
    for c in conns:
        for _ in range(2):
            status, _, body = get(c, b"/f.txt")
            assert (status, body) == (200, b"fair\n")
        c.close()


def test_check_names_a_busy_extra_listener(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = tmp_path / "busy.yaml"
        cfg.write_text("server:\n  listen: 127.0.0.1\n  port: 0\nlisteners:\n  - port: %d\nsites:\n  - root: %s\n    default: true\n"
                       % (port, root))
        r = subprocess.run([BIN, "check", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode == 2
    assert "busy.yaml:5: listeners[0].port: cannot listen on 127.0.0.1:%d" % port in r.stdout.decode()
