#!/usr/bin/env python3
"""Store faults, each handled with a clear log line, the server still serving
right bodies and nothing committed lost: LMDB map full, the cache directory on
a full filesystem (tmpfs) and read-only (bind mount), damaged data.mdb (moved
aside), a stale reader slot of a killed process, and ENOSPC/EIO injected by
strace into LMDB's writes and fdatasync. Needs root (mount) and strace.
Prints the part's JSON rows as its last line (see Tools/reliability/run)."""
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402


class Case:
    """One fault scenario's server, docroot and findings."""

    def __init__(self, a, tmp, name, files=300, cache_dir=None):
        self.a, self.name = a, name
        self.dir = os.path.join(tmp, "".join(ch if ch.isalnum() else "-" for ch in name))
        os.makedirs(self.dir)
        self.docs = fl.Docroot(os.path.join(self.dir, "docroot"), files, random.Random(name))
        self.cache_dir = cache_dir or os.path.join(self.dir, "cache")
        self.log = os.path.join(self.dir, "server.log")
        self.proc = None
        self.responses = 0
        self.problems = []

    def start(self, env=None, strace=None):
        self.proc = fl.start_serve(self.a.capuchin, self.dir, self.docs.root, self.cache_dir,
                                   "  commit_interval_ms: 50", strace=strace, log=self.log, env_extra=env)
        if not self.proc.wait_listening():
            self.problems.append(f"server did not start: {self.log_tail()}")
            self.proc.kill9()
            return False
        return True

    def fetch(self, paths=None):
        """Requests every path (default: all files) and checks each body."""
        c = fl.Client(self.proc.port, timeout=10)
        for p in paths or sorted(self.docs.expected):
            try:
                s, _, b = c.get(p)
            except Exception as e:  # noqa: BLE001 - reported as a problem
                self.problems.append(f"{p}: {e!r}")
                continue
            self.responses += 1
            if not self.docs.check(p, s, b):
                self.problems.append(f"wrong body for {p} (status {s}, {len(b)} bytes)")
        c.close()

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def log_tail(self):
        return self.log_text()[-800:]

    def expect_log(self, *needles, within=3.0):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            text = self.log_text()
            if all(n in text for n in needles):
                return next(line for line in text.splitlines() if needles[0] in line)
            time.sleep(0.1)
        self.problems.append(f"no log line with {needles}: {self.log_tail()}")
        return None

    def expect_alive(self):
        if not self.proc.alive():
            self.problems.append(f"server exited ({self.proc.proc.returncode}): {self.log_tail()}")

    def stop(self):
        if self.proc is not None:
            self.proc.term()
            self.proc = None

    def keys(self):
        return set(fl.export_records(self.a.cachedump, self.cache_dir))

    def expect_kept(self, seen, what):
        try:
            post = self.keys()
        except RuntimeError as e:
            self.problems.append(f"{what}: store does not open: {e}")
            return
        if seen - post:
            self.problems.append(f"{what}: {len(seen - post)} committed entries lost, e.g. {sorted(seen - post)[:3]}")

    def expect_verify_clean(self):
        rc, doc, err = fl.verify(self.a.cachedump, self.cache_dir)
        if rc != 0:
            self.problems.append(f"cachedump verify exit {rc}: {doc} {err}")

    def row(self, tried, detail):
        return fl.row(self.name, tried, self.responses, len(self.problems), "; ".join(self.problems[:3]) or detail)


def mount(*args):
    return subprocess.run(["mount", *args], capture_output=True, text=True).returncode == 0


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def map_full(a, tmp):
    c = Case(a, tmp, "LMDB map full", files=900)
    env = {"CAPUCHIN_STORE_MAP_SIZE": "64k", "CAPUCHIN_STORE_MAX_MAP_SIZE": "192k"}
    if c.start(env):
        c.fetch()
        c.fetch()
        grown = c.expect_log("map grown to")
        full = c.expect_log("full at its maximum map size")
        c.fetch()
        c.expect_alive()
        c.stop()
        c.expect_verify_clean()
        n = len(c.keys())
        if c.start(env):
            c.fetch()
            c.expect_alive()
            c.stop()
        return c.row("map 64 KiB growing to at most 192 KiB, 900 files admitted",
                     f"grew then shed; {n} entries kept; log: {(full or grown or '')[-150:]}")
    return c.row("map full", "")


def full_filesystem(a, tmp, mnt):
    os.makedirs(mnt)
    if not mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt):
        return fl.row("cache dir on a full filesystem", "tmpfs of 2 MiB", 0, 1, "mount -t tmpfs failed (needs root)")
    try:
        c = Case(a, tmp, "cache dir on a full filesystem", cache_dir=os.path.join(mnt, "cache"))
        detail = ""
        if c.start():
            c.fetch()
            time.sleep(0.3)
            seen = c.keys()
            filler = os.path.join(mnt, "filler")
            with open(filler, "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            new = [f"/new/n{i}.txt" for i in range(200)]
            for p in new:
                c.docs.write(p)
            c.fetch(new + sorted(c.docs.expected))
            # LMDB reports a short write on a full tmpfs as EIO, a failed one as ENOSPC.
            line = c.expect_log("commit failed")
            c.expect_alive()
            os.unlink(filler)
            more = [f"/more/m{i}.txt" for i in range(50)]
            for p in more:
                c.docs.write(p)
            c.fetch(more)
            c.expect_log("commits succeed again")
            time.sleep(0.3)
            stored = {fl.key_path(k) for k in c.keys()}
            if not set(more) <= stored:
                c.problems.append(f"persistence did not resume: {len(set(more) - stored)} new entries missing")
            c.proc.kill9()
            c.expect_kept(seen, "after ENOSPC and kill -9")
            c.expect_verify_clean()
            detail = f"{len(seen)} entries kept; log: {(line or '')[-160:]}"
        # Starting with the filesystem already full and no store yet: serve without persistence.
        # (When the store above already took the last of it, even creating the filler fails:
        # the filesystem is as full as this step wants it.)
        try:
            with open(os.path.join(mnt, "filler"), "wb") as f:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
        except OSError:
            pass
        c.cache_dir = os.path.join(mnt, "cache2")
        os.makedirs(c.cache_dir, exist_ok=True)
        if c.start():
            c.expect_log("cannot be written", "WITHOUT persistence")
            c.fetch()
            c.expect_alive()
            c.stop()
        return c.row("tmpfs of 2 MiB filled while serving, then freed; a start on the full filesystem", detail)
    finally:
        umount(mnt)


def read_only_dir(a, tmp):
    c = Case(a, tmp, "read-only cache dir")
    if not c.start():
        return c.row("read-only bind mount", "")
    c.fetch()
    c.stop()
    before = c.keys()
    if not (mount("--bind", c.cache_dir, c.cache_dir) and mount("-o", "remount,ro,bind", c.cache_dir)):
        umount(c.cache_dir)
        return fl.row(c.name, "read-only bind mount", 0, 1, "mount --bind/remount,ro failed (needs root)")
    try:
        line = None
        if c.start():
            line = c.expect_log("cannot be written", "WITHOUT persistence", c.cache_dir)
            c.fetch()
            c.expect_alive()
            c.stop()
    finally:
        umount(c.cache_dir)
    c.expect_kept(before, "after the read-only run")
    return c.row("server started on a read-only bind mount of a populated store", (line or "")[-200:])


def damaged(a, tmp, how):
    c = Case(a, tmp, f"damaged data.mdb ({how})")
    if not c.start():
        return c.row(how, "")
    c.fetch()
    c.stop()
    data = os.path.join(c.cache_dir, "data.mdb")
    size = os.path.getsize(data)
    with open(data, "r+b") as f:
        if how == "garbage":
            f.write(os.urandom(size))
        elif how == "truncated":
            f.truncate(8192)
        elif how == "zeroed meta pages":
            f.write(b"\0" * 8192)
        else:  # pages after the meta pages overwritten
            f.seek(8192)
            f.write(os.urandom(size - 8192))
    line = None
    if c.start():
        line = c.expect_log("is damaged", "moved it to")
        c.fetch()
        c.expect_alive()
        time.sleep(0.3)
        if len(c.keys()) == 0:
            c.problems.append("the fresh store stores nothing")
        c.stop()
        c.expect_verify_clean()
        asides = [d for d in os.listdir(c.dir) if d.startswith("cache.old-")]
        if not asides or not os.path.exists(os.path.join(c.dir, asides[0], "data.mdb")):
            c.problems.append(f"damaged store not kept aside: {os.listdir(c.dir)}")
    return c.row(f"data.mdb {how}, server restarted", (line or "")[-200:])


def stale_reader(a, tmp):
    c = Case(a, tmp, "stale reader slot")
    if not c.start():
        return c.row("killed reader", "")
    c.fetch()
    time.sleep(0.3)
    # cachedump is SIGKILLed at its first write to stdout: inside its read transaction.
    r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=write", "-e",
                        "inject=write:signal=SIGKILL:when=1", a.cachedump, "export", c.cache_dir],
                       capture_output=True, env=fl.ENV, timeout=30)
    if r.returncode != -9 and r.returncode != 137:
        c.problems.append(f"cachedump was not killed inside its transaction (exit {r.returncode})")
    line = c.expect_log("stale reader slot(s) left by killed processes", within=10)
    c.fetch()
    c.expect_alive()
    c.stop()
    return c.row("cachedump killed -9 inside a read transaction while the server runs", (line or "")[-160:])


def injected(a, tmp, syscall, error, when, expect_resume=True):
    c = Case(a, tmp, f"{error} on {syscall} #{when}")
    if not c.start():
        return c.row("", "")
    c.fetch()
    time.sleep(0.3)
    seen = c.keys()
    c.stop()
    line = None
    strace = ["-e", f"trace={syscall}", "-e", f"inject={syscall}:error={error}:when={when}"]
    if c.start(strace=strace):
        new = [f"/new/n{i}.txt" for i in range(60)]
        for i, p in enumerate(new):
            c.docs.write(p)
            c.fetch([p])
            if i % 10 == 9:
                time.sleep(0.1)  # several commits, so the injected range is crossed
        line = c.expect_log("commit failed" if syscall == "pwrite64" else "failed")
        c.expect_log("durability unknown")
        c.fetch()
        c.expect_alive()
        if expect_resume:
            late = [f"/late/l{i}.txt" for i in range(20)]
            for p in late:
                c.docs.write(p)
            c.fetch(late)
            time.sleep(0.5)
            stored = {fl.key_path(k) for k in c.keys()}
            if not set(late) <= stored:
                c.problems.append(f"persistence did not resume after the faults: {sorted(set(late) - stored)[:3]}")
        c.proc.kill9()
    c.expect_kept(seen, "after the injected errors")
    c.expect_verify_clean()
    if c.start():
        c.fetch()
        c.stop()
    return c.row(f"strace inject={syscall}:error={error}:when={when}, then kill -9 and restart",
                 f"{len(seen)} entries kept; log: {(line or '')[-180:]}")


def main():
    a = fl.parse_args(__doc__)
    fl.note(f"part faults: seed {a.seed}")
    tmp = fl.make_tmp("faults")
    rows = []
    only = os.environ.get("FAULTS_ONLY")
    try:
        if only:
            rows.append(globals()[only](a, tmp) if only != "full_filesystem" else full_filesystem(a, tmp, os.path.join(tmp, "tmpfs")))
            fl.finish("faults", rows)
        rows.append(map_full(a, tmp))
        rows.append(full_filesystem(a, tmp, os.path.join(tmp, "tmpfs")))
        rows.append(read_only_dir(a, tmp))
        for how in (("garbage", "truncated") if a.short else ("garbage", "truncated", "zeroed meta pages", "damaged pages")):
            rows.append(damaged(a, tmp, how))
        rows.append(stale_reader(a, tmp))
        inj = [("pwrite64", "ENOSPC", "3..8"), ("fdatasync", "EIO", "2..4")]
        if not a.short:
            inj += [("pwrite64", "EIO", "2..5"), ("fdatasync", "ENOSPC", "1..2"), ("pwrite64", "EIO", "4")]
        for sc, err, when in inj:
            rows.append(injected(a, tmp, sc, err, when))
    finally:
        fl.stop_all()
        fl.remove_tmp(tmp)
    fl.finish("faults", rows)


if __name__ == "__main__":
    main()
