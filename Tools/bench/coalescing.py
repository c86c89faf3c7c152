#!/usr/bin/env python3
"""Coalesced misses of one large response: time to first byte of the waiters.

N clients ask a cold cache for the same large object at once. The origin (nginx,
`limit_rate` so the fetch takes a few seconds, access log on to count fetches)
serves it once to each cache. Capuchin streams the response to its waiters from
the body file as it arrives; nginx's `proxy_cache_lock` makes them wait until the
whole response is cached (it polls every 500 ms). Reported per cache: origin
fetches, the first client's time to first byte, the waiters' median and max
first byte after it, as each client process read it and as it arrived at its
socket (the kernel's receive time: a reader process may wait its turn for a core
first), and the time until every client had the whole body.

`--defaults` runs Capuchin with its default cache limits instead: the object is then
over max_object_size (64 MiB) and not stored, but still fetched once and spooled
for the waiters (an unlinked temporary file).

The clients are read by one process in an epoll loop (`--reader loop`, the default)
or by a process each (`--reader processes`: then "read" includes each process's wait
for a core on a small machine).

usage: coalescing.py [--only capuchin,nginx] [--clients 50] [--size-mib 256] [--rate 128m] [--defaults] [--reader loop|processes] [--keep]
Env: CAPUCHIN_BIN (else a release build in .build-bench2).
"""
import argparse
import multiprocessing as mp
import os
import select
import socket
import statistics
import struct
import sys
import time

import benchlib as b
import caches as c

SERVERS = ["capuchin", "nginx"]


def origin(bench, root, rate):
    port = b.free_port()
    d = bench.tmp / "origin"
    conf = b.nginx_conf(d, f"""    access_log {d}/access.log;
    sendfile on;
    default_type application/octet-stream;
{{temps}}    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
        limit_rate {rate};
        location / {{ add_header Cache-Control "max-age=3600"; }}
    }}
""")
    s = c._add(bench, c.CacheServer("origin", b.nginx_argv(d, conf), port, d))
    s.access_log = d / "access.log"
    return s


def nginx_locked(bench, origin_port):
    """nginx proxy_cache with proxy_cache_lock (its coalescing), lock timeouts past the fetch."""
    return c.nginx_cache(bench, origin_port, location_extra="""            proxy_cache_lock on;
            proxy_cache_lock_timeout 120s;
            proxy_cache_lock_age 120s;
            proxy_max_temp_file_size 0;
""")


# SO_TIMESTAMPNS (Linux asm-generic value; Python's socket module does not name it):
# each received segment carries the time the kernel queued it (SCM_TIMESTAMPNS, realtime).
SO_TIMESTAMPNS = 35


class Reading:
    """One client's response as its bytes come in: the time its first byte was read
    and arrived (SO_TIMESTAMPNS: the kernel's receive time, CLOCK_MONOTONIC seconds),
    and the body bytes after the head."""

    def __init__(self, sock):
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock, self.first, self.arrived, self.done, self.got, self.head = sock, None, None, None, 0, b""

    def read(self, buf):
        """One receive into buf; False at the end of the response (the server closes:
        the request says Connection: close)."""
        if self.first is None:
            data, anc, _, _ = self.sock.recvmsg(len(buf), socket.CMSG_SPACE(16))
            n = len(data)
            buf[:n] = data
            self.first = time.monotonic()
            for level, kind, d in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(d) >= 16:
                    sec, nsec = struct.unpack("qq", d[:16])
                    self.arrived = sec + nsec / 1e9 - (time.time() - time.monotonic())
        else:
            n = self.sock.recv_into(buf)
        if n == 0:
            self.done = time.monotonic()
            return False
        if self.head is not None:
            self.head += bytes(buf[:n])
            if b"\r\n\r\n" in self.head:
                self.got = len(self.head.split(b"\r\n\r\n", 1)[1])
                self.head = None
        else:
            self.got += n
        return True

    def times(self):
        nan = float("nan")
        return [self.first or nan, self.done or nan, self.arrived or nan]


def client(sock, ready, out, i):
    """One client process reading the response on `sock` (its request is sent by
    the parent). out[3i:3i+3] = Reading.times(); out_bytes[i]: body bytes.
    Processes, not threads: with 50 threads the GIL (5 ms switch interval) delayed
    the reading of first bytes, which the figures then counted against the server.
    50 reader processes on a small shared machine wait their turn for a core (more
    so while the others have bodies to copy): that wait is in "read" but is not the
    server's; see read_in_one_loop."""
    times, got_out = out
    try:
        reading = Reading(sock)
        ready.release()
        buf = bytearray(1 << 20)
        while reading.read(buf):
            pass
        times[3 * i:3 * i + 3] = reading.times()
        got_out[i] = reading.got
    finally:
        sock.close()


def read_in_one_loop(socks, request):
    """Every client's socket read by one process in one epoll loop (as wrk's threads
    and a browser's network thread read theirs): a socket's first bytes are read in
    the loop's next turn, whatever the others have pending, so "read" measures the
    server rather than which of 50 reader processes got a core. Reads of 256 KiB keep
    a turn of 50 sockets near 13 MiB of copying (a few ms)."""
    readings = [Reading(s) for s in socks]
    sent = []
    for s in socks:
        s.sendall(request)
        sent.append(time.monotonic())
    ep = select.epoll()
    by_fd = {}
    for r in readings:
        r.sock.setblocking(False)
        ep.register(r.sock.fileno(), select.EPOLLIN)
        by_fd[r.sock.fileno()] = r
    buf = bytearray(256 << 10)
    deadline = time.monotonic() + 600
    try:
        while by_fd and time.monotonic() < deadline:
            for fd, _ in ep.poll(1.0):
                r = by_fd.get(fd)
                if r is None:
                    continue
                try:
                    more = r.read(buf)
                except BlockingIOError:
                    continue
                except OSError:
                    more = False
                if not more:
                    ep.unregister(fd)
                    del by_fd[fd]
    finally:
        ep.close()
        for s in socks:
            s.close()
    return sent, [x for r in readings for x in r.times()], [r.got for r in readings]


def run(server, path, size, clients, reader="loop"):
    """Every client connected (and, with reader "processes", its reader process
    waiting), then the requests sent one after another (within a millisecond or so:
    the requests' spread is not the processes' scheduling); returns [(request sent,
    first byte read, complete, bytes, first byte arrived)] relative to the first request."""
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=120) for _ in range(clients)]
    request = b"GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n" % path.encode()
    if reader == "loop":
        sent, times, got = read_in_one_loop(socks, request)
    else:
        ctx = mp.get_context("fork")
        times = ctx.Array("d", 3 * clients, lock=False)
        got = ctx.Array("q", clients, lock=False)
        ready = ctx.Semaphore(0)
        procs = [ctx.Process(target=client, args=(socks[i], ready, (times, got), i)) for i in range(clients)]
        for p in procs:
            p.start()
        for _ in procs:
            ready.acquire(timeout=60)
        sent = []
        for s in socks:
            s.sendall(request)
            sent.append(time.monotonic())
        for s in socks:
            s.close()  # the parent's copies; each child holds its own
        for p in procs:
            p.join(600)
    start = sent[0]
    return [(sent[i] - start, times[3 * i] - start, times[3 * i + 1] - start, got[i], times[3 * i + 2] - start)
            for i in range(clients)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", type=b.csv_list(SERVERS), default=SERVERS)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--rate", default="128m", help="the origin's limit_rate per connection")
    ap.add_argument("--defaults", action="store_true", help="Capuchin with its default cache limits (the object is not stored)")
    ap.add_argument("--reader", choices=["loop", "processes"], default="loop",
                    help="one process reading every client's socket in an epoll loop, or a process per client")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    measure(a.only, a.clients, a.size_mib, a.rate, a.defaults, a.keep, a.reader)


def measure(only, clients, size_mib, rate="128m", defaults=False, keep=False, reader="loop"):
    """The run described above; prints its table (also proxy_cache.py's coalescing section)."""
    a = argparse.Namespace(only=only, clients=clients, size_mib=size_mib, rate=rate, defaults=defaults, keep=keep)
    size = a.size_mib << 20
    b.log(f"uptime at start: {b.uptime()}")
    with b.Bench(keep=a.keep) as bench:
        root = bench.tmp / "origin-root"
        root.mkdir()
        with open(root / "big.bin", "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(a.size_mib):
                f.write(block)
        o = origin(bench, root, a.rate)
        rows = []
        for name in a.only:
            if name == "capuchin":
                # Room to store the object, as nginx's max_size=8g gives it: Capuchin stores
                # nothing over max_object_size or 2% of capacity_bytes (such a response is
                # spooled for the waiters instead: see --defaults).
                room = max(16, a.size_mib * 64 // 1024 + 1)
                extra = "" if a.defaults else f"    max_object_size: {a.size_mib * 2}m\n    capacity_bytes: {room}g\n"
                s = c.capuchin_proxy(bench, b.find_capuchin(), o.port, name="capuchin", quick=False, cache_extra=extra)
            else:
                s = nginx_locked(bench, o.port)
            before = o.access_log.read_text().count("big.bin") if o.access_log.exists() else 0
            out = run(s, "/big.bin", size, a.clients, reader)
            time.sleep(0.5)
            fetches = o.access_log.read_text().count("big.bin") - before
            ok = [r for r in out if r[3] == size]
            firsts = sorted(r[1] for r in ok)
            lead = firsts[0] if firsts else float("nan")
            after = [f - lead for f in firsts[1:]]
            own = sorted(r[1] - r[0] for r in ok)
            arrivals = sorted(r[4] for r in ok)
            arrived_after = [f - arrivals[0] for f in arrivals[1:]]
            rows.append((name, fetches, len(ok), lead, statistics.median(after) if after else float("nan"),
                         max(after) if after else float("nan"), max(r[2] for r in ok) if ok else float("nan"),
                         max(r[0] for r in out), statistics.median(own) if own else float("nan"), own[-1] if own else float("nan"),
                         statistics.median(arrived_after) if arrived_after else float("nan"),
                         max(arrived_after) if arrived_after else float("nan")))
        b.log(f"\n{a.clients} clients ({'one reader loop' if reader == 'loop' else 'a reader process each'}), "
              f"one {a.size_mib} MiB object, origin limit_rate {a.rate}:")
        b.log(f"  {'cache':10} {'origin fetches':>14} {'complete':>9} {'first TTFB':>11} "
              f"{'waiters TTFB-first (median / max)':>34} {'all done':>9} {'requests sent within':>21} "
              f"{'TTFB after own request (median / max)':>38} {'waiters arrived-first (median / max)':>37}")
        for name, fetches, ok, lead, med, mx, done, skew, own_med, own_max, arr_med, arr_max in rows:
            b.log(f"  {name:10} {fetches:>14} {ok:>6}/{a.clients:<2} {lead * 1000:>9.1f}ms "
                  f"{med * 1000:>15.1f} ms / {mx * 1000:>8.1f} ms {done:>8.2f}s {skew * 1000:>18.1f} ms "
                  f"{own_med * 1000:>19.1f} ms / {own_max * 1000:>8.1f} ms "
                  f"{arr_med * 1000:>18.1f} ms / {arr_max * 1000:>8.1f} ms")
    b.log(f"uptime at end: {b.uptime()}")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print(f"coalescing.py: {e}", file=sys.stderr)
        sys.exit(1)
