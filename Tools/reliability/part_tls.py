#!/usr/bin/env python3
"""TLS listener under bad and heavy input (the TLS rows of attack, slow clients, idle):
malformed ClientHellos (garbage, truncated, oversized record, alert first, SSLv2
form, plain HTTP) from many threads; a handshake flood beside a normal client;
slow handshakes (a ClientHello a byte at a time) closed by the header timeout;
client-initiated renegotiation refused; idle TLS connections held (RSS per
connection in the detail, goal < 16 KiB: OpenSSL's SSL object and our session;
nginx's figure is in Tools/bench/tls.py --idle). After each row the server is
alive, serves a fresh TLS client, and holds no more descriptors than before."""
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rlib  # noqa: E402


def make_pki(work):
    key, cert, ca_key, ca = (os.path.join(work, n) for n in ("leaf.key", "leaf.pem", "ca.key", "ca.pem"))
    run = lambda *a: subprocess.run(a, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key)
    run("openssl", "req", "-x509", "-new", "-key", ca_key, "-subj", "/CN=reliability CA", "-days", "2", "-out", ca)
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    csr = os.path.join(work, "leaf.csr")
    run("openssl", "req", "-new", "-key", key, "-subj", "/CN=localhost", "-out", csr)
    ext = os.path.join(work, "ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-set_serial", "7", "-days", "2",
        "-extfile", ext, "-out", cert)
    return ca, cert, key


class TLSClient:
    def __init__(self, port, ca):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=ca)

    def connect(self, timeout=5.0):
        return self.ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.port), timeout=timeout),
                                    server_hostname="localhost")

    def sane(self):
        try:
            with self.connect() as s:
                s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data, _ = rlib.read_until_close(s)
            return data.startswith(b"HTTP/1.1 200") and data.endswith(b"alpha\n")
        except OSError:
            return False


def settle_fds(pid, baseline, within=5.0):
    """Waits for the server's descriptor count to come back to the baseline; returns the last count."""
    deadline = time.time() + within
    n = rlib.proc_fds(pid)
    while n > baseline and time.time() < deadline:
        time.sleep(0.1)
        n = rlib.proc_fds(pid)
    return n


def after_row(srv, client, fds0, fails):
    if not srv.alive():
        fails.append("server died: exit %s" % srv.proc.returncode)
        return
    if not client.sane():
        fails.append("a fresh TLS client was not served afterwards")
    n = settle_fds(srv.pid, fds0)
    if n > fds0:
        fails.append("descriptors %d -> %d (leak)" % (fds0, n))


def bad_hellos(port):
    hello_start = b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + os.urandom(32)
    return [("garbage", os.urandom(512)),
            ("truncated", hello_start[:25]),
            ("garbage handshake record", b"\x16\x03\x01\x00\xc8" + os.urandom(200)),
            ("oversized record", b"\x16\x03\x01\xff\xff" + os.urandom(70000)),
            ("alert first", b"\x15\x03\x03\x00\x02\x02\x28"),
            ("SSLv2 hello", b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10" + os.urandom(37)),
            ("plain HTTP", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("zero-length records", b"\x16\x03\x01\x00\x00" * 2000)]


def send_quietly(port, payload):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            data, _ = rlib.read_until_close(s, idle=3.0)
            return data
        finally:
            s.close()
    except OSError:
        return b""


def row_bad_hellos(rep, srv, client, port, short):
    fds0 = rlib.proc_fds(srv.pid)
    cases = bad_hellos(port)
    rounds = 20 if short else 200
    fails = []
    plain_answers = []

    def worker(k):
        for r in range(rounds):
            name, payload = cases[(k + r) % len(cases)]
            data = send_quietly(port, payload)
            if name == "plain HTTP":
                plain_answers.append(data)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wrong = [d[:40] for d in plain_answers if not d.startswith(b"HTTP/1.1 400")]
    if wrong:
        fails.append("%d plain-HTTP probes not answered 400 (%r)" % (len(wrong), wrong[0]))
    after_row(srv, client, fds0, fails)
    rep.row("TLS bad ClientHellos", ", ".join(n for n, _ in cases) + "; 8 threads", 8 * rounds, fails)


def row_flood(rep, srv, client, port, short):
    fds0 = rlib.proc_fds(srv.pid)
    seconds = 3 if short else 20
    stop = time.time() + seconds
    counts, errors = [0] * 4, []

    def flood(k):
        while time.time() < stop:
            try:
                with client.connect() as s:
                    counts[k] += 1
            except OSError as e:
                errors.append(str(e))

    threads = [threading.Thread(target=flood, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    served, missed = 0, 0
    while time.time() < stop:
        if client.sane():
            served += 1
        else:
            missed += 1
    for t in threads:
        t.join()
    fails = []
    if missed:
        fails.append("%d of %d requests of the other client failed during the flood" % (missed, served + missed))
    if len(errors) > sum(counts) // 100:
        fails.append("%d flood handshakes failed (%s)" % (len(errors), errors[0]))
    after_row(srv, client, fds0, fails)
    rep.row("TLS handshake flood", "4 threads of full handshakes for %d s beside a client making requests" % seconds,
            sum(counts) + served + missed, fails, "%d handshakes, other client %d requests" % (sum(counts), served))


def row_slow(rep, srv, client, port, short, header_timeout):
    fds0 = rlib.proc_fds(srv.pid)
    n = 20 if short else 200
    hello = b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + os.urandom(32)
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
    closed_at = [None] * n
    t0 = time.time()
    for i in range(len(hello)):
        for k, s in enumerate(socks):
            if closed_at[k] is not None:
                continue
            try:
                s.sendall(hello[i:i + 1])
            except OSError:
                closed_at[k] = time.time() - t0
        if all(c is not None for c in closed_at) or time.time() - t0 > header_timeout + 6:
            break
        time.sleep(0.25)
    for k, s in enumerate(socks):
        if closed_at[k] is None:
            s.settimeout(max(0.1, header_timeout + 3 - (time.time() - t0)))
            try:
                if s.recv(1) == b"":
                    closed_at[k] = time.time() - t0
            except OSError:
                closed_at[k] = time.time() - t0
        s.close()
    fails = []
    open_too_long = sum(1 for c in closed_at if c is None or c > header_timeout + 3)
    if open_too_long:
        fails.append("%d of %d slow handshakes not closed within header_timeout + 3 s" % (open_too_long, n))
    after_row(srv, client, fds0, fails)
    rep.row("TLS slow handshakes", "ClientHello a byte per 0.25 s, header_timeout %ds" % header_timeout, n, fails,
            "closed after %.1f-%.1f s" % (min(c for c in closed_at if c is not None) if any(closed_at) else -1,
                                         max(c for c in closed_at if c is not None) if any(closed_at) else -1))


def row_renegotiation(rep, srv, client, port, ca):
    fds0 = rlib.proc_fds(srv.pid)
    fails = []
    tries = 5
    for _ in range(tries):
        p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2", "-CAfile", ca],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(0.5)
        try:
            out = p.communicate(b"R\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", timeout=10)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            p.kill()
            out = p.communicate()[0].decode(errors="replace")
        if "RENEGOTIATING" not in out:
            fails.append("s_client did not attempt renegotiation")
        elif "alpha" in out and "no renegotiation" not in out and "alert" not in out:
            fails.append("renegotiation seemed accepted: %s" % out[-200:])
    after_row(srv, client, fds0, fails)
    rep.row("TLS renegotiation refused", "s_client -tls1_2, 'R' then a request", tries, fails)


def row_idle(rep, srv, client, port, short):
    n = 1000 if short else 10000
    fds0 = rlib.proc_fds(srv.pid)
    client.sane()
    time.sleep(0.3)
    rss0 = rlib.proc_rss_kib(srv.pid)
    held, _ = rlib.hold_connections(lambda: client.connect(timeout=10), n, b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                                    b"alpha\n")
    time.sleep(1.0)
    rss1 = rlib.proc_rss_kib(srv.pid)
    per = (rss1 - rss0) / max(1, len(held))
    fails = []
    if len(held) != n:
        fails.append("only %d of %d idle TLS connections opened" % (len(held), n))
    if not client.sane():
        fails.append("another client was not served with the idle connections held")
    sample = held[:: max(1, len(held) // 100)]
    still = 0
    for s in sample:
        try:
            s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            if s.recv(4096).startswith(b"HTTP/1.1 200"):
                still += 1
        except OSError:
            pass
    if still != len(sample):
        fails.append("%d of %d sampled idle TLS connections no longer answered" % (len(sample) - still, len(sample)))
    if not per < 16:
        fails.append("RSS per idle TLS connection %.1f KiB >= 16 KiB goal" % per)
    for s in held:
        s.close()
    after_row(srv, client, fds0, fails)
    rep.row("idle TLS connections", "%d TLS connections held after one request each" % n, len(held), fails,
            "RSS %d -> %d KiB = %.1f KiB per idle TLS connection" % (rss0, rss1, per))


def main():
    a = rlib.parse_args(__doc__)
    rep = rlib.Report("tls")
    n_idle = 1000 if a.short else 10000
    rlib.raise_nofile(n_idle + 500)
    work = rlib.tempdir("tls")
    ca, cert, key = make_pki(work)
    root = os.path.join(work, "www")
    rlib.write_files(root, {"a.txt": b"alpha\n"})
    port = rlib.free_port()
    header_timeout = 2
    srv = rlib.Capuchin.serve(a.capuchin, work, rlib.server_config(
        root, port, "header_timeout: %ds\nkeepalive_timeout: 600s\nmax_connections: %d\ntls: {cert: %s, key: %s}"
        % (header_timeout, n_idle + 1000, cert, key)), port, nofile=n_idle + 1000)
    client = TLSClient(port, ca)
    try:
        row_bad_hellos(rep, srv, client, port, a.short)
        row_flood(rep, srv, client, port, a.short)
        row_slow(rep, srv, client, port, a.short, header_timeout)
        row_renegotiation(rep, srv, client, port, ca)
        row_idle(rep, srv, client, port, a.short)
    finally:
        srv.stop()
    rep.finish()


if __name__ == "__main__":
    main()
