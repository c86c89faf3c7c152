"""Persistence: SIGTERM keeps everything; kill -9 keeps what was committed."""
import os
import random
import subprocess
import threading
import time

from conftest import CACHEDUMP


def test_sigterm_restart_first_requests_are_hits(server):
    paths = []
    for i in range(40):
        server.write(f"d{i % 4}/f{i}.html", f"<p>{i}</p>".encode() * (i + 1))
        paths.append(f"/d{i % 4}/f{i}.html")
    server.start()
    for p in paths:
        assert server.get(p)[1]["x-cache"] == "MISS"
    for p in paths[:10]:
        assert server.get(p)[1]["x-cache"] == "HIT"
    assert server.stop() == 0
    server.start()
    marks = [server.get(p)[1]["x-cache"] for p in paths]
    assert marks == ["HIT"] * len(paths)


def test_stale_entries_dropped_on_restart(server):
    server.write("keep.txt", b"keep")
    server.write("gone.txt", b"gone")
    server.write("edit.txt", b"old")
    server.start()
    for p in ("/keep.txt", "/gone.txt", "/edit.txt"):
        server.get(p)
    assert server.stop() == 0
    os.unlink(os.path.join(server.root, "gone.txt"))
    server.write("edit.txt", b"new and longer")
    server.start()
    assert server.get("/keep.txt")[1]["x-cache"] == "HIT"
    assert server.get("/gone.txt")[0] == 404
    s, h, b = server.get("/edit.txt")
    assert (h["x-cache"], b) == ("MISS", b"new and longer")


def _load(server, paths, stop):
    while not stop.is_set():
        try:
            server.get(random.choice(paths), timeout=2)
        except Exception:  # noqa: BLE001 - the server is killed under this load
            pass


def test_kill9_during_load_keeps_committed_entries(server):
    if not os.access(CACHEDUMP, os.X_OK):
        import pytest
        pytest.skip(f"no cachedump binary at {CACHEDUMP}")
    started = time.monotonic()
    committed = []
    server.start()
    for rnd in range(20):
        assert time.monotonic() - started < 80, "kill loop over its time budget"
        fresh = []
        for i in range(5):
            name = f"r{rnd}/f{i}.txt"
            server.write(name, f"round {rnd} file {i}\n".encode() * (i + 1))
            fresh.append("/" + name)
        for p in fresh:
            server.get(p)
        # Everything admitted so far is older than one commit interval (20 ms) at the kill.
        time.sleep(0.2)
        committed.extend(fresh)
        stop = threading.Event()
        loaders = [threading.Thread(target=_load, args=(server, committed, stop)) for _ in range(2)]
        for t in loaders:
            t.start()
        time.sleep(0.05)
        server.kill()
        stop.set()
        for t in loaders:
            t.join(timeout=10)
        v = subprocess.run([CACHEDUMP, "verify", server.cache_dir], capture_output=True, text=True, timeout=30)
        assert v.returncode == 0, v.stdout + v.stderr
        server.start()
        marks = {p: server.get(p)[1]["x-cache"] for p in committed}
        assert set(marks.values()) == {"HIT"}, {p: m for p, m in marks.items() if m != "HIT"}
    server.stop()


def _zipf_paths(rng, n_files, count):
    weights = [1.0 / (i + 1) for i in range(n_files)]
    return [f"/z/f{i}.bin" for i in rng.choices(range(n_files), weights=weights, k=count)]


def test_hit_ratio_survives_restart(tmp_path):
    from conftest import CAPUCHIN, Server
    if not os.access(CAPUCHIN, os.X_OK):
        import pytest
        pytest.skip("no capuchin binary")
    # 300 files, room for 64: popularity decides what stays.
    server = Server(tmp_path, "  capacity_bytes: 128k\n  capacity_entries: 64\n  max_file_size: 2k\n")
    try:
        for i in range(300):
            server.write(f"z/f{i}.bin", bytes([i % 251]) * 2000)
        server.start()
        rng = random.Random(7)

        def ratio(paths):
            return sum(server.get(p)[1]["x-cache"] == "HIT" for p in paths) / len(paths)

        ratio(_zipf_paths(rng, 300, 2000))           # warm up
        before = ratio(_zipf_paths(rng, 300, 400))
        assert server.stop() == 0
        server.start()
        after = ratio(_zipf_paths(rng, 300, 200))     # the first requests after the restart
        assert before > 0.3
        assert after >= before - 0.1, (before, after)
    finally:
        server.kill()
