#!/usr/bin/env python3
"""HTTPS: Capuchin against nginx and h2o with the same certificate and cipher.

Every server gets the same ECDSA P-256 certificate (a throwaway CA made here) and
2 workers/threads; the clients (wrk, openssl s_time) run with an OPENSSL_CONF that
offers only TLS 1.3 with TLS_AES_128_GCM_SHA256, so every handshake and record uses
that suite. Rounds alternate the servers; medians are printed with the ratio to the
best competitor:

  keep-alive   wrk -t2 -c64 over https on the 1 KiB and 16 KiB files (cached by
               Capuchin), req/s and the server's CPU time per request (user+kernel);
  handshakes   two `openssl s_time` processes in parallel, each making new
               connections (full handshakes) or resuming its session (-reuse:
               tickets), one small GET per connection; handshakes/s, server CPU
               per handshake and the clients' CPU per handshake (the client's
               handshake costs as much as the server's, and both share the 2 cores:
               a server that makes its clients work more gets fewer handshakes/s);
  idle memory  (--idle N) N idle TLS connections held open after their handshake:
               the server's RSS growth per connection.

usage: tls.py [--only capuchin,nginx,h2o] [--cases small,medium] [--dur S] [--rounds N]
              [--hs-time S] [--no-handshakes] [--idle N] [--baseline BINARY]
              [--balance MODE] [--base-balance MODE]
--baseline adds "capuchin-base" (another build, e.g. main's, or the same one with
--base-balance: server.balance reuseport, fair or shared) to the same alternating
rounds, to measure a change against what it replaces.
Env: CAPUCHIN_BIN (else a release build in .build-bench2).
"""
import argparse
import os
import re
import resource
import socket
import ssl
import subprocess
import time

import benchlib as b
from cpu_per_request import cpu_seconds

SERVERS = ["capuchin", "nginx", "h2o"]
CLIENT_CONF = """openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.3
Ciphersuites = TLS_AES_128_GCM_SHA256
"""


def run(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def make_certificate(d):
    """A CA and an ECDSA P-256 leaf for localhost/127.0.0.1 under d; returns (ca, cert, key)."""
    d.mkdir()
    ca_key, ca, key, csr, cert, ext = (str(d / n) for n in ("ca.key", "ca.pem", "leaf.key", "leaf.csr", "leaf.pem", "ext"))
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key)
    run("openssl", "req", "-x509", "-new", "-key", ca_key, "-subj", "/CN=bench CA", "-days", "2", "-out", ca)
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    run("openssl", "req", "-new", "-key", key, "-subj", "/CN=localhost", "-out", csr)
    (d / "ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-set_serial", "2", "-days", "2",
        "-extfile", ext, "-out", cert)
    for p in (key, cert, ca):
        os.chmod(p, 0o644)  # h2o and nginx workers run as nobody
    return ca, cert, key


def capuchin(bench, binary, cert, key, name="capuchin", balance=None):
    port = b.free_port()
    d = bench.tmp / name
    d.mkdir()
    conf = d / "capuchin.yaml"
    conf.write_text(f"""server:
  listen: 127.0.0.1
  port: {port}
  workers: 2
{"  balance: %s" % balance + chr(10) if balance else ""}  keepalive_requests: {b.KEEPALIVE_REQUESTS}
  max_connections: 15000
  state_dir: {d / 'state'}
  tls: {{cert: {cert}, key: {key}}}
sites:
  - root: {bench.docroot}
    default: true
cache:
  dir: {d / 'cache'}
logging:
  level: warn
""")
    env = {**os.environ, "SWIFT_BACKTRACE": "enable=no"}
    return bench.add(b.Server(name, [binary, "serve", "--config", str(conf)], port, d, env))


def nginx(bench, cert, key):
    port = b.free_port()
    d = bench.tmp / "nginx"
    conf = b.nginx_conf(d, f"""    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests {b.KEEPALIVE_REQUESTS};
    open_file_cache max=10000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_min_uses 1;
    types {{ text/html html; text/css css; image/jpeg jpg; }}
    default_type application/octet-stream;
{{temps}}    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_tickets on;
        server_name localhost;
        root {bench.docroot};
        location / {{ }}
    }}
""").read_text()
    # worker_connections for the idle-memory run.
    (d / "nginx.conf").write_text(conf.replace("worker_connections 4096", "worker_connections 12000")
                                  .replace("worker_processes 2;", "worker_processes 2;\nworker_rlimit_nofile 20000;"))
    return bench.add(b.Server("nginx", b.nginx_argv(d, d / "nginx.conf"), port, d))


def h2o(bench, cert, key):
    port = b.free_port()
    d = bench.tmp / "h2o"
    d.mkdir()
    conf = d / "h2o.conf"
    conf.write_text(f"""num-threads: 2
max-connections: 15000
listen:
  host: 127.0.0.1
  port: {port}
  ssl:
    certificate-file: {cert}
    key-file: {key}
    minimum-version: TLSv1.2
hosts:
  default:
    paths:
      /:
        file.dir: {bench.docroot}
""")
    return bench.add(b.Server("h2o", ["h2o", "-c", str(conf)], port, d))


def verify(server, ca, path, docroot):
    """GET path over TLS 1.3: 200 and the file's bytes. Raises RuntimeError."""
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    want = (docroot / path.lstrip("/")).read_bytes()
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", server.port), timeout=10), server_hostname="localhost") as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") or body != want:
        raise RuntimeError(f"{server.name} GET {path} over TLS: {head[:60]!r}, body {len(body)} bytes, want {len(want)}")


def wrk(server, path, dur, env):
    pids = server.worker_pids()
    c0 = cpu_seconds(pids)
    r = subprocess.run(["wrk", "-t2", "-c64", f"-d{dur}s", f"https://127.0.0.1:{server.port}{path}"],
                       capture_output=True, text=True, timeout=dur + 60, env=env)
    c1 = cpu_seconds(pids)
    m = re.search(r"(\d+) requests in", r.stdout)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    if r.returncode != 0 or not m or not rps:
        raise RuntimeError(f"wrk failed on {server.name}: {r.stdout}{r.stderr}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", r.stdout)
    if bad:
        raise RuntimeError(f"{server.name}: {bad.group(1)} non-2xx responses")
    n = int(m.group(1))
    return {"rps": float(rps.group(1)), "cpu_us": 1e6 * (c1[0] + c1[1] - c0[0] - c0[1]) / n}


def handshakes(server, mode, seconds, env, path):
    """Two parallel s_time clients; returns handshakes/s and server and client CPU us per handshake
    (the clients' from the rusage of reaped children: the two s_time processes)."""
    pids = server.worker_pids()
    c0 = cpu_seconds(pids)
    k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    procs = [subprocess.Popen(["openssl", "s_time", "-connect", f"127.0.0.1:{server.port}", mode, "-time", str(seconds),
                               "-www", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=seconds + 60)[0] for p in procs]
    wall = time.monotonic() - t0
    c1 = cpu_seconds(pids)
    k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    n = 0
    for out in outs:
        found = re.findall(r"(\d+) connections in [\d.]+ real seconds", out)
        if not found:
            raise RuntimeError(f"s_time failed on {server.name}: {out[-500:]}")
        n += int(found[-1])
        if mode == "-reuse" and out.count("r") < 10:
            raise RuntimeError(f"{server.name}: s_time -reuse did not resume sessions: {out[-300:]}")
    return {"rps": n / wall, "cpu_us": 1e6 * (c1[0] + c1[1] - c0[0] - c0[1]) / max(n, 1),
            "client_us": 1e6 * (k1.ru_utime + k1.ru_stime - k0.ru_utime - k0.ru_stime) / max(n, 1)}


def rss_kib(server):
    total = 0
    for p in server.worker_pids():
        try:
            with open(f"/proc/{p}/status") as f:
                total += int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        except (OSError, AttributeError):
            pass
    return total


def idle_memory(server, ca, n):
    """RSS growth per idle TLS connection (handshake done, then silent), in KiB."""
    ctx = ssl.create_default_context(cafile=ca)
    before = rss_kib(server)
    socks = []
    try:
        for _ in range(n):
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            socks.append(ctx.wrap_socket(raw, server_hostname="localhost"))
        time.sleep(1)
        after = rss_kib(server)
    finally:
        for s in socks:
            s.close()
    return (after - before) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", type=b.csv_list(SERVERS), default=SERVERS)
    ap.add_argument("--cases", type=b.csv_list(["small", "medium", "large"]), default=["small", "medium"])
    ap.add_argument("--dur", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--hs-time", type=int, default=4)
    ap.add_argument("--idle", type=int, default=0, help="idle TLS connections for the memory row (0: skip)")
    ap.add_argument("--no-handshakes", action="store_true", help="keep-alive rows only")
    ap.add_argument("--baseline", help="another Capuchin binary, run as capuchin-base in the same rounds")
    ap.add_argument("--balance", choices=["reuseport", "fair", "shared"], help="capuchin's server.balance (else its default)")
    ap.add_argument("--base-balance", choices=["reuseport", "fair", "shared"], help="capuchin-base's server.balance")
    a = ap.parse_args()
    b.log(f"uptime at start: {b.uptime()}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    binary = b.find_capuchin() if "capuchin" in a.only else None
    with b.Bench() as bench:
        bench.make_docroot()
        ca, cert, key = make_certificate(bench.tmp / "pki")
        client_conf = bench.tmp / "client-openssl.cnf"
        client_conf.write_text(CLIENT_CONF)
        env = {**os.environ, "OPENSSL_CONF": str(client_conf)}
        starters = {"capuchin": lambda: capuchin(bench, binary, cert, key, balance=a.balance), "nginx": lambda: nginx(bench, cert, key),
                    "h2o": lambda: h2o(bench, cert, key)}
        servers = [starters[n]() for n in a.only]
        if a.baseline:
            servers.insert(1, capuchin(bench, a.baseline, cert, key, name="capuchin-base", balance=a.base_balance))
        paths = [b.CASES[c] for c in a.cases]
        for s in servers:
            for p in paths:
                verify(s, ca, p, bench.docroot)
            out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{s.port}"], input=b"",
                                 capture_output=True, env=env, timeout=20).stdout.decode(errors="replace")
            b.log(f"{s.name}: " + (re.search(r"New, .*", out) or re.search(r".*", out)).group(0))
            for p in paths:
                wrk(s, p, 1, env)  # warm-up (fills Capuchin's cache)
        b.log("verified: every server answers 200 with the file's bytes over TLS 1.3 (TLS_AES_128_GCM_SHA256)")
        tests = [(c, "keep-alive " + b.CASE_LABELS[c]) for c in a.cases]
        if not a.no_handshakes:
            tests += [("-new", "full handshakes"), ("-reuse", "resumed handshakes")]
        results = {}
        for r in range(a.rounds):
            order = servers[r % len(servers):] + servers[:r % len(servers)]
            for key_, label in tests:
                for s in order:
                    if key_.startswith("-"):
                        m = handshakes(s, key_, a.hs_time, env, b.CASES["small"])
                    else:
                        m = wrk(s, b.CASES[key_], a.dur, env)
                    results.setdefault((s.name, key_), []).append(m)
                    client = f"  client CPU {m['client_us']:7.1f} us each" if "client_us" in m else ""
                    b.log(f"round {r + 1} {label:34s} {s.name:9s} {m['rps']:10,.0f}/s  server CPU {m['cpu_us']:7.1f} us each{client}")
        b.log("")
        b.log(f"medians of {a.rounds} alternating rounds (the 2 cores are shared with the clients; the machine is noisy):")
        for key_, label in tests:
            med = {s.name: (b.median([m["rps"] for m in results[(s.name, key_)]]),
                            b.median([m["cpu_us"] for m in results[(s.name, key_)]])) for s in servers}
            line = f"{label:34s} " + "  ".join(f"{n} {v[0]:9,.0f}/s {v[1]:6.1f}us" for n, v in med.items())
            others = [v for n, v in med.items() if not n.startswith("capuchin")]
            if "capuchin" in med and others:
                best = max(others, key=lambda v: v[0])
                line += f"   capuchin/best {med['capuchin'][0] / best[0]:.2f}x rate, {med['capuchin'][1] / best[1]:.2f}x CPU"
                line += "".join(f"   /{n} {med['capuchin'][0] / v[0]:.2f}x" for n, v in med.items() if n != "capuchin")
            b.log(line)
            if key_.startswith("-"):
                b.log(f"{'':34s} client CPU per handshake (both s_time processes, median): " + "  ".join(
                    f"{s.name} {b.median([m['client_us'] for m in results[(s.name, key_)]]):6.1f}us" for s in servers))
        if a.idle:
            for s in servers:
                b.log(f"idle memory: {s.name}: {idle_memory(s, ca, a.idle):.1f} KiB RSS per idle TLS connection ({a.idle} connections)")
    b.log(f"uptime at end: {b.uptime()}")


if __name__ == "__main__":
    main()
