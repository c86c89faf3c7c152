#!/usr/bin/env python3
"""Compressed responses of a 16 KiB and a 256 KiB text file, `Accept-Encoding: br, gzip`:

    capuchin            its stored variant (compressed once on the compression thread at
                        brotli 11, then a cache hit)
    capuchin-identity   the same file without Accept-Encoding (an identity hit)
    nginx-static        nginx gzip_static on, file.gz (gzip -9) beside the file
    nginx-gzip          nginx compressing on the fly (gzip_comp_level 6)
    h2o                 h2o file.send-compressed, file.br (quality 11) and file.gz beside the file

wrk -t2 -c64 per (server, file), servers alternating each round; medians of req/s,
server CPU per request (user+kernel of every process it started, /proc) and bytes on
the wire per response (head + body, as one GET with Connection: close reads them).
Goal (issue 15): capuchin >= 0.9x capuchin-identity, >= the best competitor, fewer
bytes than nginx-gzip.

usage: compression.py [--dur S] [--rounds N] [--warmup S] [--keep]
Env: CAPUCHIN_BIN (else a release build in .build-bench2).
"""
import argparse
import brotli
import gzip
import http.client
import random
import socket
import time
import zlib

import benchlib as b
from cpu_per_request import cpu_seconds

FILES = {"16k": ("t16.css", 16 << 10), "256k": ("t256.css", 256 << 10)}
HEADER = "Accept-Encoding: br, gzip"


def css_text(size, seed):
    """Stylesheet-like text (selectors, properties, colours): compresses about as real CSS does."""
    rng = random.Random(seed)
    props = ["margin", "padding", "color", "background", "border", "display", "font-size", "line-height", "width", "height"]
    out = []
    n = 0
    while n < size:
        sel = ".%s-%s > .%s" % (rng.choice(["nav", "card", "btn", "grid", "hero", "menu"]), rng.randrange(500),
                                 rng.choice(["item", "title", "icon", "body", "link"]))
        body = "".join("  %s: %s;\n" % (rng.choice(props), rng.choice(["%dpx" % rng.randrange(64), "#%06x" % rng.randrange(1 << 24),
                                                                       "auto", "0 %dpx" % rng.randrange(32), "inherit"]))
                       for _ in range(rng.randrange(2, 7)))
        rule = "%s {\n%s}\n" % (sel, body)
        out.append(rule)
        n += len(rule)
    return "".join(out).encode()[:size]


class Client:
    """A (server, header) pair as measure_rounds sees a server."""

    def __init__(self, name, server, header):
        self.name, self.server, self.header = name, server, header
        self.port = server.port


def wire_bytes(port, path, header):
    """Bytes of one whole response (head and body) read until the server closes."""
    req = "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n" % (path, (header + "\r\n") if header else "")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(req.encode())
        n = 0
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return n
            n += len(chunk)


def decoded(port, path, header):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path, headers=dict([header.split(": ", 1)]) if header else {})
    r = c.getresponse()
    body = r.read()
    coding = r.getheader("Content-Encoding")
    c.close()
    if coding == "br":
        return coding, brotli.decompress(body)
    if coding == "gzip":
        return coding, zlib.decompress(body, 16 + zlib.MAX_WBITS)
    return coding, body


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dur", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    binary = b.find_capuchin()
    with b.Bench(keep=args.keep) as bench:
        plain, sib = bench.tmp / "plain", bench.tmp / "siblings"
        for d in (plain, sib):
            d.mkdir()
            d.chmod(0o755)
        originals = {}
        for key, (name, size) in FILES.items():
            data = css_text(size, seed=size)
            originals[name] = data
            for d in (plain, sib):
                (d / name).write_bytes(data)
            (sib / (name + ".gz")).write_bytes(gzip.compress(data, 9))
            (sib / (name + ".br")).write_bytes(brotli.compress(data, quality=11))
        for p in list(plain.iterdir()) + list(sib.iterdir()):
            p.chmod(0o644)
        bench.docroot = plain
        cap = bench.capuchin(binary, name="capuchin", cache=True)
        ngx_common = f"""    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests {b.KEEPALIVE_REQUESTS};
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    types {{ text/css css; }}
    default_type application/octet-stream;
{{temps}}"""
        servers = []
        for name, root, extra in [("nginx-static", sib, "gzip_static on;"),
                                  ("nginx-gzip", plain, "gzip on; gzip_comp_level 6; gzip_types text/css; gzip_min_length 256;")]:
            port = b.free_port()
            d = bench.tmp / name
            conf = b.nginx_conf(d, ngx_common + f"""    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ {extra} }}
    }}
""")
            servers.append(bench.add(b.Server(name, b.nginx_argv(d, conf), port, d)))
        port = b.free_port()
        d = bench.tmp / "h2o"
        d.mkdir()
        (d / "h2o.conf").write_text(f"""num-threads: 2
listen:
  host: 127.0.0.1
  port: {port}
file.send-compressed: ON
hosts:
  default:
    paths:
      /:
        file.dir: {sib}
""")
        servers.append(bench.add(b.Server("h2o", ["h2o", "-c", str(d / "h2o.conf")], port, d)))

        clients = [Client("capuchin", cap, HEADER), Client("capuchin-identity", cap, None)] + \
                  [Client(s.name, s, HEADER) for s in servers]
        # Capuchin's variants are compressed in the background on first request: wait until both are hits.
        for name in originals:
            deadline = time.time() + 30
            while decoded(cap.port, "/" + name, HEADER)[0] != "br":
                if time.time() > deadline:
                    raise RuntimeError(f"capuchin never served a br variant of {name}")
                time.sleep(0.1)
        wire = {}
        for c in clients:
            for key, (name, _) in FILES.items():
                coding, body = decoded(c.port, "/" + name, c.header)
                if body != originals[name]:
                    raise RuntimeError(f"{c.name} /{name}: decoded body differs from the file")
                wire[(c.name, key)] = (coding or "identity", wire_bytes(c.port, "/" + name, c.header))
        cpu = {}

        def run(c, case, dur):
            pids = c.server.worker_pids()
            u0, k0 = cpu_seconds(pids)
            extra = (["-H", c.header] if c.header else []) + [f"http://127.0.0.1:{c.port}/{FILES[case][0]}"]
            r = b._wrk(extra, dur, 2, 64)
            u1, k1 = cpu_seconds(pids)
            if dur == args.dur:
                cpu.setdefault((c.name, case), []).append(((u1 - u0) + (k1 - k0)) * 1e6 / max(1, r["rps"] * dur))
            return r

        results = b.measure_rounds(clients, list(FILES), args.dur, args.rounds, args.warmup, run)
        b.log(f"\n== medians over {args.rounds} round(s) of wrk -t2 -c64 -d{args.dur}s, '{HEADER}' "
              "(wrk and the servers share 2 cores with other work: noisy) ==")
        for case, (name, size) in FILES.items():
            b.log(f"\n{name} ({size >> 10} KiB)")
            b.log(f"  {'server':18} {'coding':>8} {'req/s':>10} {'CPU us/req':>11} {'wire B/resp':>12}   per round req/s")
            med = {}
            for c in clients:
                rs = results[(c.name, case)]
                med[c.name] = (b.median([r["rps"] for r in rs]), b.median(cpu[(c.name, case)]), wire[(c.name, case)][1])
                b.log(f"  {c.name:18} {wire[(c.name, case)][0]:>8} {b.fmt_rps(med[c.name][0]):>10} {med[c.name][1]:>11.1f} "
                      f"{med[c.name][2]:>12,}   " + " ".join(b.fmt_rps(r["rps"]) for r in rs))
            comp = ["nginx-static", "nginx-gzip", "h2o"]
            best = max(comp, key=lambda n: med[n][0])
            b.log(f"  capuchin / capuchin-identity: req/s x{med['capuchin'][0] / med['capuchin-identity'][0]:.2f}")
            b.log(f"  capuchin / best competitor ({best}): req/s x{med['capuchin'][0] / med[best][0]:.2f}, "
                  f"CPU/req x{med['capuchin'][1] / med[best][1]:.2f}")
            b.log(f"  capuchin / nginx-gzip: wire bytes x{med['capuchin'][2] / med['nginx-gzip'][2]:.2f}")


if __name__ == "__main__":
    main()
