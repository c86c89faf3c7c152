#!/usr/bin/env python3
"""Soak: clients at full speed over a mixed docroot while files are truncated,
rewritten in place, replaced and renamed. Checks: no crash or SIGBUS, RSS and
open descriptors flat (first/last reported), every complete 200 body is
byte-identical to some whole version of its file (sha256 of every version
written is kept), and a change during a send closes that connection (a cut
response) rather than finishing it with mixed bytes.

Full: 10 minutes (SOAK_SECONDS overrides); short: 30 s. Uses
../shared/tools/mkdocroot.sh when present for the initial tree, else its own."""
import os
import random
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rlib  # noqa: E402

MKDOCROOT = os.path.join(rlib.REPO, "..", "shared", "tools", "mkdocroot.sh")
SIZES = [0, 100, 4096, 20000, 65536, 70000, 300000, 1 << 20, 3 << 20]


class Versions:
    """sha256 of every whole version of each file. A file rewritten in place
    (truncate, then one write) also passes through every prefix of its new
    content while the write runs: those are states of the file, not mixes, so a
    body that is a prefix of an in-place version is accepted too (counted apart)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_path = {}
        self.in_place = {}
        self.recent = {}

    def add(self, path, data, in_place=False):
        with self.lock:
            self.by_path.setdefault(path, set()).add(rlib.sha256(data))
            r = self.recent.setdefault(path, [])
            r.append(data)
            del r[:-8]
            if in_place:
                self.in_place.setdefault(path, []).append(data)

    def known(self, path, body):
        """"whole", "prefix" (of an in-place write) or None (a mix or garbage)."""
        with self.lock:
            if rlib.sha256(body) in self.by_path.get(path, ()):
                return "whole"
            if any(v.startswith(body) for v in self.in_place.get(path, ())):
                return "prefix"
        return None

    def explain(self, path, body):
        """How a wrong body relates to the recent versions: the longest common prefix with each."""
        with self.lock:
            out = []
            for v in self.recent.get(path, ()):
                n = 0
                while n < min(len(v), len(body)) and v[n] == body[n]:
                    n += 1 if v[n:n + 4096] != body[n:n + 4096] else 4096
                out.append("%d/%d" % (min(n, len(v), len(body)), len(v)))
            best = max((int(x.split("/")[0]) for x in out), default=0)
            tail = body[best:]
            what = "zeros" if tail and not tail.strip(b"\0") else "other bytes"
            return ("common prefix with recent versions (bytes/version size): %s; after byte %d the body holds %s"
                    % (", ".join(out), best, what))


def content(rng, size, tag):
    head = ("%s version %d\n" % (tag, rng.getrandbits(48))).encode()
    block = bytes(rng.getrandbits(8) for _ in range(256))
    data = (head + block * (size // 256 + 2))[:size]
    return data


def build(root, versions, rng, count):
    """The mutated set: our own files of mixed sizes (mkdocroot's tree, if present, is served untouched)."""
    names = []
    for i in range(count):
        size = SIZES[i % len(SIZES)]
        name = "m/f%03d.%s" % (i, ["html", "css", "js", "bin", "txt"][i % 5])
        data = content(rng, size, name)
        versions.add(name, data)
        rlib.write_files(root, {name: data})
        names.append(name)
    return names


class Mutator(threading.Thread):
    def __init__(self, root, names, versions, seed):
        super().__init__(daemon=True)
        self.root, self.names, self.versions = root, names, versions
        self.rng = random.Random(seed)
        self.running = True
        self.done = {"truncate": 0, "rewrite": 0, "replace": 0, "rename": 0}

    def run(self):
        while self.running:
            name = self.rng.choice(self.names)
            path = os.path.join(self.root, name)
            op = self.rng.choice(list(self.done))
            size = self.rng.choice(SIZES)
            try:
                if op == "truncate":
                    with open(path, "rb") as f:
                        cur = f.read()
                    new = cur[: self.rng.randint(0, len(cur))] if cur else b""
                    self.versions.add(name, new)
                    os.truncate(path, len(new))
                elif op == "rewrite":  # in place, same file, one write
                    new = content(self.rng, size, name)
                    self.versions.add(name, new, in_place=True)
                    self.versions.add(name, b"")
                    with open(path, "r+b") as f:
                        f.truncate(0)
                        f.write(new)
                elif op == "replace":  # new inode renamed over
                    new = content(self.rng, size, name)
                    self.versions.add(name, new)
                    tmp = path + ".tmp"
                    with open(tmp, "wb") as f:
                        f.write(new)
                    os.rename(tmp, path)
                else:  # renamed away, then a new file appears under the name
                    away = path + ".old"
                    os.rename(path, away)
                    new = content(self.rng, size, name)
                    self.versions.add(name, new)
                    with open(path + ".tmp", "wb") as f:
                        f.write(new)
                    os.rename(path + ".tmp", path)
                    os.unlink(away)
                self.done[op] += 1
            except FileNotFoundError:
                pass
            time.sleep(self.rng.uniform(0, 0.01))


class Client(threading.Thread):
    def __init__(self, port, names, versions, seed, stats):
        super().__init__(daemon=True)
        self.port, self.names, self.versions, self.stats = port, names, versions, stats
        self.rng = random.Random(seed)
        self.running = True

    def run(self):
        s = None
        buf = b""
        while self.running:
            if s is None:
                try:
                    s = rlib.connect(self.port, timeout=10)
                    buf = b""
                except OSError:
                    self.stats["connect_errors"] += 1
                    time.sleep(0.05)
                    continue
            name = self.rng.choice(self.names)
            try:
                s.sendall(("GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % name).encode())
                status, headers, body, buf, complete = read_one(s, buf)
            except (OSError, ValueError):
                self.stats["cut"] += 1
                s.close()
                s = None
                continue
            if not complete:
                self.stats["cut"] += 1
                s.close()
                s = None
                continue
            self.stats["responses"] += 1
            if status == 200:
                kind = self.versions.known(name, body)
                if kind:
                    self.stats["ok"] += 1
                    self.stats["prefix"] += kind == "prefix"
                else:
                    self.stats["wrong"] += 1
                    if len(self.stats["wrong_cases"]) < 5:
                        self.stats["wrong_cases"].append("%s: %d bytes, sha %s.. (%s)" % (
                            name, len(body), rlib.sha256(body)[:12], self.versions.explain(name, body)))
            elif status == 404:
                self.stats["missing"] += 1
            else:
                self.stats["other"] += 1
            if headers.get("connection", "").lower() == "close":
                s.close()
                s = None
        if s:
            s.close()


def read_one(s, buf):
    """One response with a Content-Length body: (status, headers, body, rest, complete)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(262144)
        if not d:
            return None, {}, b"", b"", False
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        d = s.recv(262144)
        if not d:
            return status, headers, rest, b"", False
        rest += d
    return status, headers, rest[:n], rest[n:], True


def main():
    a = rlib.parse_args(__doc__)
    rep = rlib.Report("soak")
    secs = int(os.environ.get("SOAK_SECONDS") or (30 if a.short else 600))
    work = rlib.tempdir("soak")
    root = os.path.join(work, "www")
    os.makedirs(root)
    used_shared = False
    if os.path.exists(MKDOCROOT) and not a.short:
        used_shared = subprocess.run(["bash", MKDOCROOT, root], capture_output=True, timeout=300).returncode == 0
    versions = Versions()
    rng = random.Random(7)
    names = build(root, versions, rng, 60)
    port = rlib.free_port()
    srv = rlib.Capuchin.serve(a.capuchin, work, rlib.server_config(
        root, port, "keepalive_timeout: 30s\nwrite_timeout: 10s\nmax_connections: 1000",
        cache_dir=os.path.join(work, "cache"),
        extra="cache:\n  dir: %s\n  commit_interval_ms: 100\n" % os.path.join(work, "cache")).replace(
        "cache:\n  dir: %s\n" % os.path.join(work, "cache"), "", 1), port)
    stats = {"responses": 0, "ok": 0, "wrong": 0, "cut": 0, "missing": 0, "other": 0, "connect_errors": 0, "prefix": 0,
             "wrong_cases": []}
    mut = Mutator(root, names, versions, 11)
    clients = [Client(port, names, versions, 100 + i, stats) for i in range(6)]
    samples = []
    t0 = time.time()
    try:
        for c in clients:
            c.start()
        mut.start()
        while time.time() - t0 < secs and srv.alive():
            time.sleep(min(5, secs / 10))
            if srv.alive():
                samples.append((round(time.time() - t0), rlib.proc_rss_kib(srv.pid), rlib.proc_fds(srv.pid)))
        mut.running = False
        for c in clients:
            c.running = False
        for c in clients:
            c.join(15)
        mut.join(5)
        alive = srv.alive()
    finally:
        status = srv.stop()
    fails = []
    if not alive:
        fails.append("server died (status %s%s)" % (status, ", SIGBUS" if status == -7 else ""))
    if stats["wrong"]:
        fails.append("%d complete bodies match no whole version: %s" % (stats["wrong"], "; ".join(stats["wrong_cases"])))
    if stats["ok"] == 0:
        fails.append("no verified response")
    first, last = (samples[1] if len(samples) > 2 else samples[0]), samples[-1] if samples else (0, 0, 0)
    if samples:
        if last[1] > first[1] * 1.5 + 16384:
            fails.append("RSS grew %d -> %d KiB" % (first[1], last[1]))
        if last[2] > first[2] + 32:
            fails.append("open fds grew %d -> %d" % (first[2], last[2]))
    rate = stats["responses"] / max(1.0, time.time() - t0)
    extra = ("%d s%s: %d responses (%.0f/s), %d verified (%d of them a prefix of an in-place write in progress), %d wrong, %d cut by a change, %d 404, %d other; mutations %s; "
             "RSS %s -> %s KiB, fds %s -> %s" % (secs, " (+mkdocroot tree)" if used_shared else "", stats["responses"], rate,
                                                stats["ok"], stats["prefix"], stats["wrong"], stats["cut"], stats["missing"], stats["other"],
                                                mut.done, first[1] if samples else "?", last[1] if samples else "?",
                                                first[2] if samples else "?", last[2] if samples else "?"))
    rep.row("soak with changing files", "6 keep-alive clients at full speed, 60 files truncated/rewritten/replaced/"
            "renamed", stats["responses"], fails, extra)
    rep.finish()


if __name__ == "__main__":
    main()
