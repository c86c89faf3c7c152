"""Syscalls per request: strace -f -c attached to a server while a bounded keep-alive
client sends exactly N requests for one file."""
import glob
import os
import signal
import socket
import subprocess
import time

import benchlib as b


def keepalive_get(port, path, n, timeout=10.0, deadline_s=300.0):
    """Send exactly n GETs for path, one at a time, on as few keep-alive connections as
    the server allows. Returns (connections used, X-Cache values seen).

    Raises RuntimeError on a non-200 answer, a malformed response or the deadline."""
    req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    deadline = time.monotonic() + deadline_s
    conns, xcache, sent = 0, {}, 0
    sock, buf = None, b""
    try:
        while sent < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"keep-alive client: deadline after {sent} requests")
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conns, buf = conns + 1, b""
            sock.sendall(req)
            sent += 1
            while b"\r\n\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError(f"keep-alive client: connection closed mid-response (request {sent})")
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            if not lines[0].startswith("HTTP/1.1 200"):
                raise RuntimeError(f"keep-alive client: request {sent}: {lines[0]!r}")
            hdr = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                hdr[k.strip().lower()] = v.strip()
            length = int(hdr.get("content-length", "-1"))
            if length < 0:
                raise RuntimeError(f"keep-alive client: request {sent}: no Content-Length")
            while len(buf) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError(f"keep-alive client: connection closed mid-body (request {sent})")
                buf += chunk
            buf = buf[length:]
            if "x-cache" in hdr:
                xcache[hdr["x-cache"]] = xcache.get(hdr["x-cache"], 0) + 1
            if hdr.get("connection", "").lower() == "close":
                sock.close()
                sock = None
    finally:
        if sock is not None:
            sock.close()
    return conns, xcache


def _all_tasks_traced(pids):
    for pid in pids:
        for status in glob.glob(f"/proc/{pid}/task/*/status"):
            try:
                with open(status) as f:
                    tracer = [l for l in f if l.startswith("TracerPid:")]
            except OSError:
                continue  # thread gone
            if not tracer or tracer[0].split()[1] == "0":
                return False
    return True


def parse_strace_summary(text):
    """{syscall: calls} from strace -c output (the `total` line excluded)."""
    calls = {}
    for line in text.splitlines():
        t = line.split()
        if len(t) in (5, 6) and t[0][0].isdigit() and t[-1] != "total":
            try:
                calls[t[-1]] = calls.get(t[-1], 0) + int(t[3])
            except ValueError:
                continue
    return calls


def syscalls_per_request(server, path, n, workdir, warm=200):
    """Warm the file with `warm` requests, attach strace -f -c to the server's PIDs, send n
    requests, detach. Returns (calls by syscall, connections, X-Cache values seen).

    Raises RuntimeError if strace cannot attach or the client fails."""
    keepalive_get(server.port, path, warm)
    pids = server.worker_pids()
    out = workdir / f"strace-{server.name}.txt"
    argv = ["strace", "-f", "-c", "-o", str(out)]
    for p in pids:
        argv += ["-p", str(p)]
    err = open(workdir / f"strace-{server.name}.stderr", "wb")
    st = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while not _all_tasks_traced(pids):
            if st.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"strace could not attach to {server.name} {pids}: "
                                   + (workdir / f"strace-{server.name}.stderr").read_text(errors="replace"))
            time.sleep(0.05)
        time.sleep(0.2)  # let idle threads settle into their waits
        conns, xcache = keepalive_get(server.port, path, n)
    finally:
        if st.poll() is None:
            st.send_signal(signal.SIGINT)  # strace detaches and writes the summary
            try:
                st.wait(30)
            except subprocess.TimeoutExpired:
                st.kill()
                st.wait(5)
        err.close()
    return parse_strace_summary(out.read_text()), conns, xcache


def print_per_request(name, calls, n, conns, top=20):
    total = sum(calls.values())
    b.log(f"\n{name}: {total} syscalls for {n} requests on {conns} connection(s) "
          f"= {total / n:.2f} per request")
    for sc, c in sorted(calls.items(), key=lambda kv: -kv[1])[:top]:
        b.log(f"  {sc:24} {c / n:8.3f}   ({c})")
    rest = sorted(calls.items(), key=lambda kv: -kv[1])[top:]
    if rest:
        b.log(f"  ... {len(rest)} more syscall names, {sum(c for _, c in rest)} calls")
