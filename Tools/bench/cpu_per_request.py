#!/usr/bin/env python3
"""Where a request's CPU time goes: server and wrk, user and kernel, per request.

wrk and the servers share the machine's cores, so req/s is bounded by the sum of
both sides' CPU time per request. For each server and case this runs wrk -t2 -c64
and reads, before and after, the server's CPU times (/proc/PID/stat, every process
it started) and its threads' context switches, and wrk's (getrusage of children):

    server user / kernel us per request, wrk user / kernel us per request,
    server involuntary and wrk voluntary context switches per request.

Rounds alternate the servers; one line per run (no medians: read it as a profile).

usage: cpu_per_request.py [--only capuchin,capuchin-base,floor,capuchin-r1,nginx,h2o,lighttpd]
                          [--cases small,medium,...] [--dur S] [--rounds N] [--syscalls]
--syscalls: also the server's system calls per request under that load (`perf stat -e
raw_syscalls:sys_enter` attached to its processes while wrk runs; needs perf, Debian
linux-perf): under load a server answers several connections per epoll_wait, so this is
what strace of one keep-alive client cannot show.
Env: CAPUCHIN_BIN (else a release build in .build-bench2); CAPUCHIN_BASE_BIN: another
build run as `capuchin-base` with the same settings (before/after a change, in one run).
`floor`: ../shared/tools/floor-responder.c (built with gcc), a minimal C epoll responder
writing a response of the case's size: the floor of server CPU per request.
"""
import argparse
import glob
import os
import re
import resource
import signal
import subprocess

import benchlib as b

SERVERS = ["capuchin", "capuchin-base", "floor", "capuchin-r1", "nginx", "h2o", "lighttpd"]
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """(user, kernel) seconds of these processes, all their threads."""
    u = k = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            u += int(fields[11])
            k += int(fields[12])
        except OSError:
            pass
    return u / CLK, k / CLK


def switches(pids):
    """(voluntary, involuntary) context switches of every thread of these processes."""
    v = nv = 0
    for p in pids:
        for status in glob.glob(f"/proc/{p}/task/*/status"):
            try:
                with open(status) as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches"):
                            v += int(line.split()[1])
                        elif line.startswith("nonvoluntary_ctxt_switches"):
                            nv += int(line.split()[1])
            except OSError:
                pass
    return v, nv


def floor_servers(bench, cases):
    """One floor responder per case, answering with that case's file size."""
    src = b.SHARED / "tools" / "floor-responder.c"
    exe = bench.tmp / "floor-responder"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(src), "-lpthread"], check=True)
    out = {}
    for case in cases:
        size = (bench.docroot / b.CASES[case].lstrip("/")).stat().st_size
        port = b.free_port()
        d = bench.tmp / f"floor-{case}"
        d.mkdir()
        out[case] = bench.add(b.Server("floor", [str(exe), str(port), str(size)], port, d))
    return out


def start(bench, name, binary):
    if name == "capuchin":
        return bench.capuchin(binary, name=name, cache=True)
    if name == "capuchin-base":
        base = os.environ.get("CAPUCHIN_BASE_BIN")
        if not base or not os.access(base, os.X_OK):
            raise RuntimeError("capuchin-base needs CAPUCHIN_BASE_BIN, an executable capuchin build")
        return bench.capuchin(base, name=name, cache=True)
    if name == "capuchin-r1":
        return bench.capuchin(binary, name=name, cache=True, cache_yaml="  revalidate_interval: 1\n")
    return getattr(bench, name)()


# The calls a static server makes per request, counted one by one beside the total.
NAMED_SYSCALLS = ["epoll_wait", "read", "recvfrom", "write", "writev", "sendmsg", "sendto", "sendfile64",
                  "newfstatat", "statx", "openat", "close", "setsockopt", "epoll_ctl"]


def syscall_counter(pids):
    """perf counting the system calls of these processes (every thread) until SIGINT."""
    events = ["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{n}" for n in NAMED_SYSCALLS]
    return subprocess.Popen(["perf", "stat", "-x,", "-e", ",".join(events), "-p", ",".join(map(str, pids))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def syscalls_counted(perf):
    """(all system calls, {name: count} of the named ones that were made)."""
    perf.send_signal(signal.SIGINT)
    err = perf.communicate(timeout=30)[1]
    counts = {m.group(2): int(m.group(1)) for m in re.finditer(r"^(\d+),[^,]*,([\w:]+)", err, re.M)}
    if "raw_syscalls:sys_enter" not in counts:
        raise RuntimeError(f"perf stat printed no count: {err.strip()}")
    named = {k.split("sys_enter_")[1]: v for k, v in counts.items() if "sys_enter_" in k and v > 0}
    return counts["raw_syscalls:sys_enter"], named


def measure(server, case, docroot, dur, count_syscalls=False):
    pids = server.worker_pids()
    url = f"http://127.0.0.1:{server.port}{b.CASES[case]}"
    perf = syscall_counter(pids) if count_syscalls else None
    c0, s0 = cpu_seconds(pids), switches(pids)
    w0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # wrk's CPU times and voluntary switches come from getrusage once it was waited for.
    wrk = subprocess.Popen(["wrk", "-t2", "-c64", f"-d{dur}s", url], stdout=subprocess.PIPE, text=True)
    out = wrk.communicate(timeout=dur + 60)[0]
    c1, s1 = cpu_seconds(pids), switches(pids)
    w1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    calls, named = syscalls_counted(perf) if perf else (None, {})
    m = re.search(r"(\d+) requests in", out)
    if wrk.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed: {out}")
    n = int(m.group(1))
    us = lambda a, z: 1e6 * (z - a) / n
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "srv_user": us(c0[0], c1[0]), "srv_kernel": us(c0[1], c1[1]),
        "wrk_user": us(w0.ru_utime, w1.ru_utime), "wrk_kernel": us(w0.ru_stime, w1.ru_stime),
        "srv_invol": (s1[1] - s0[1]) / n, "wrk_vol": (w1.ru_nvcsw - w0.ru_nvcsw) / n,
        "syscalls": calls / n if calls is not None else None,
        "named": {k: v / n for k, v in named.items()},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", type=b.csv_list(SERVERS), default=["capuchin", "capuchin-r1", "h2o", "lighttpd"])
    ap.add_argument("--cases", type=b.csv_list([c for c in b.CASES if b.CASES[c]]), default=["small"])
    ap.add_argument("--dur", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--syscalls", action="store_true")
    a = ap.parse_args()
    b.log(f"uptime at start: {b.uptime()}")
    binary = b.find_capuchin() if any(n.startswith("capuchin") for n in a.only) else None
    with b.Bench() as bench:
        bench.make_docroot()
        servers = [start(bench, n, binary) for n in a.only if n != "floor"]
        for s in servers:
            bench.verify(s, [b.CASES[c] for c in a.cases])
            for c in a.cases:
                b.run_wrk(s.port, c, bench.docroot, 1)
        # The floor answers any path with the case's size (not the file: nothing to verify).
        floors = floor_servers(bench, a.cases) if "floor" in a.only else {}
        for c, f in floors.items():
            b.run_wrk(f.port, c, bench.docroot, 1)
        b.log("us per request: server user + kernel, wrk user + kernel; switches per request")
        for r in range(a.rounds):
            for case in a.cases:
                for s in servers + ([floors[case]] if floors else []):
                    m = measure(s, case, bench.docroot, a.dur, a.syscalls)
                    b.log(f"round {r + 1} {case:6s} {s.name:12s} {m['rps']:9,.0f} req/s  "
                          f"server {m['srv_user']:5.2f} + {m['srv_kernel']:5.2f}  "
                          f"wrk {m['wrk_user']:5.2f} + {m['wrk_kernel']:5.2f}  "
                          f"total {m['srv_user'] + m['srv_kernel'] + m['wrk_user'] + m['wrk_kernel']:5.2f}  "
                          f"server preempted {m['srv_invol']:.3f}  wrk slept {m['wrk_vol']:.3f}"
                          + (f"  syscalls {m['syscalls']:.2f} (" + ", ".join(f"{k} {v:.2f}" for k, v in
                                                                     sorted(m["named"].items(), key=lambda kv: -kv[1]))
                             + ")" if m["syscalls"] is not None else ""))
    b.log(f"uptime at end: {b.uptime()}")


if __name__ == "__main__":
    main()
