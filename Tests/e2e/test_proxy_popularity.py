"""The proxy cache's popularity survives a restart, SIGTERM or kill -9: a full cache
whose oldest responses are its popular ones is restarted, then new responses are
stored until most old ones are evicted; the popular ones stay (with insertion order
standing in for popularity they were evicted first)."""
import json
import os
import subprocess
import time

import pytest

from proxy_support import Backend, fetch, proxy_config
from test_admin import CACHEDUMP

CAPACITY = 100  # responses; each is charged 1% of capacity_bytes (over 2% is not stored once full)
POPULAR = range(10)


def key(i):
    return "/p/cache/pop/%d" % i


def stored(cache):
    """{response number: hits} as the index has them."""
    out = subprocess.run([CACHEDUMP, "list", os.path.join(cache, "proxy-index"), "--json", "--limit", "100000"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    rows = {row["key"].split("#")[0].split("/p/cache/pop/")[-1]: row["hits"] for row in json.loads(out.stdout)}
    return {int(p): hits for p, hits in rows.items() if p.isdigit()}


def cached_old_ones(cache):
    return {i for i in stored(cache) if i < CAPACITY}


@pytest.mark.parametrize("stop", ["sigterm", "kill9"])
def test_popular_responses_survive_a_restart(server_factory, docroot, tmp_path, stop):
    origin = Backend("origin")
    cache = str(tmp_path / "cache")
    config = proxy_config(docroot, [origin.address], cache_dir=cache,
                          cache_extra={"capacity_entries": CAPACITY, "capacity_bytes": "%dk" % CAPACITY})
    try:
        s = server_factory(config)
        for i in range(CAPACITY):
            assert fetch(s, key(i))[1].get("x-cache") == "MISS"
        for _ in range(10):
            for i in POPULAR:
                assert fetch(s, key(i))[1].get("x-cache") == "HIT"
        if stop == "sigterm":
            assert s.stop() == 0
        else:
            # What kill -9 keeps: the touches the hits wrote, once committed (100 ms batches).
            deadline = time.time() + 10
            while not all(stored(cache).get(i, 0) > 0 for i in POPULAR):
                assert time.time() < deadline, "the hits never reached the index"
                time.sleep(0.1)
            s.proc.kill()
            s.proc.wait()
        s = server_factory(config, port=s.port)  # same port: the Host is part of the cache key
        assert fetch(s, key(0))[1].get("x-cache") == "HIT", "warm after the restart"
        # New responses, each asked for a few times (fewer than the popular ones).
        for i in range(CAPACITY, 3 * CAPACITY):
            for _ in range(4):
                assert fetch(s, key(i))[0] == 200
        assert s.stop() == 0
        left = cached_old_ones(cache)
        assert len(left) <= CAPACITY // 2, "the new responses evicted most old ones: %s" % sorted(left)
        assert set(POPULAR) <= left, "popular responses evicted: left %s" % sorted(left)
    finally:
        origin.stop()
