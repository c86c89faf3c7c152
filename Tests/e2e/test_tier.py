"""A tier of cache nodes behind a front proxy that picks the node by consistent hashing
on the cache key (README, "Scaling out"): three `capuchin serve` nodes with the proxy
cache on, each with its own store, in front of one origin; one front proxy without a
cache. Every process is started here on a loopback port and stopped by PID.

Where a response came from is read from what the node adds to it: its `Via`
(`capuchin-NODE_ID`) and its `X-Cache`; what each node stores, from `cachedump list`
on its store."""
import json
import os
import subprocess
import time
import types

import pytest

from conftest import Server, free_port
from proxy_support import Backend, fetch, proxy_config
from test_admin import CACHEDUMP, wait_port

KEYS = ["/p/cache/tier/%d" % i for i in range(200)]


class Node:
    """One cache node: `capuchin serve` with the proxy cache on, proxying to the origin."""

    def __init__(self, base, name, origin, docroot):
        self.name = name
        self.workdir = os.path.join(base, name)
        os.makedirs(self.workdir)
        self.cache = os.path.join(self.workdir, "cache")
        config = proxy_config(docroot, [origin.address], cache_dir=self.cache, first_byte="20s")
        self.server = Server(self.workdir, config.replace("node_id: t1", "node_id: " + name), port=free_port())

    @property
    def address(self):
        return "127.0.0.1:%d" % self.server.port

    def stored(self):
        out = subprocess.run([CACHEDUMP, "list", os.path.join(self.cache, "proxy-index"), "--json", "--limit", "100000"],
                             capture_output=True, text=True, timeout=20)
        assert out.returncode == 0, out.stderr
        # KEY is scheme://host:port/p/PATH#VARY-HASH.
        return {row["key"].rsplit("/p/", 1)[-1].split("#")[0] for row in json.loads(out.stdout)}


def front_config(docroot, nodes):
    config = proxy_config(docroot, [n.address for n in nodes], balance="consistent-hash", attempts=2, first_byte="20s")
    # A node that refuses a connection is skipped for 2 s, then tried again; the
    # connect timeout is far above loopback's so a slow (debug, shared-CPU) node is
    # never taken for a dead one, which would move its keys.
    config = config.replace("offline_timeout: 30s", "offline_timeout: 2s").replace("connect_timeout: 1s", "connect_timeout: 10s")
    return config.replace("      backends:\n", "      hash_key: cache_key\n      virtual_nodes: 160\n      balance_factor: 1.25\n      backends:\n")


def served(front, key):
    """(node name, X-Cache) of one request through the front."""
    status, headers, body = fetch(front, key, timeout=30)
    assert status == 200, (key, status, body)
    via = [part.strip().split(" ")[-1] for part in headers.get("via", "").split(",")]
    nodes = [v[len("capuchin-"):] for v in via if v.startswith("capuchin-n")]
    assert len(nodes) == 1, headers.get("via")
    return nodes[0], headers.get("x-cache")


def sweep(front):
    return {k: served(front, k) for k in KEYS}


def wait_stored(nodes, expected):
    """Until each node's store holds exactly the keys expected of it (commits are batched)."""
    deadline = time.time() + 15
    while True:
        got = {n.name: n.stored() for n in nodes}
        if got == expected or time.time() > deadline:
            return got
        time.sleep(0.2)


@pytest.fixture
def tier(tmp_path, docroot):
    origin = Backend("origin")
    made = []

    def node(name):
        n = Node(str(tmp_path), name, origin, docroot)
        made.append(n.server)
        n.server.start()
        return n

    def front(nodes, port=None):
        s = Server(os.path.join(str(tmp_path), "front"), front_config(docroot, nodes), port=port)
        made.append(s)
        return s.start()

    os.makedirs(os.path.join(str(tmp_path), "front"))
    yield origin, node, front
    for s in made:
        s.stop()
    origin.stop()


def test_each_key_lives_on_one_node_and_a_dead_node_moves_only_its_keys(tier):
    origin, node, front_for = tier
    nodes = [node("n0"), node("n1"), node("n2")]
    front = front_for(nodes)

    first = sweep(front)
    assert {x for _, x in first.values()} == {"MISS"}
    owner = {k: n for k, (n, _) in first.items()}
    second = sweep(front)
    assert second == {k: (owner[k], "HIT") for k in KEYS}, "the same node, now a hit"
    assert all(origin.count(k) == 1 for k in KEYS), "each key fetched from the origin once: one node has it"
    share = {n.name: sum(1 for k in KEYS if owner[k] == n.name) for n in nodes}
    assert all(s >= 0.15 * len(KEYS) for s in share.values()), share
    # Each key is stored on exactly its node (and nowhere else).
    expected = {n.name: {k[len("/p/"):] for k in KEYS if owner[k] == n.name} for n in nodes}
    assert wait_stored(nodes, expected) == expected

    # kill -9 of n1: its keys go to the others, which keep every one of their own as hits.
    victim = nodes[1]
    victim.server.proc.kill()
    victim.server.proc.wait()
    down = sweep(front)
    for k in KEYS:
        if owner[k] == "n1":
            assert down[k][0] in ("n0", "n2"), (k, down[k])
        else:
            assert down[k] == (owner[k], "HIT"), (k, down[k])
    moved = [k for k in KEYS if owner[k] == "n1"]
    assert {down[k][1] for k in moved} == {"MISS"}
    assert {down[k][0] for k in moved} == {"n0", "n2"}, "the dead node's keys spread over the others"
    assert all(served(front, k) == (down[k][0], "HIT") for k in moved), "they stay on their stand-in"

    # Restarted on its port, with its store: warm, and it gets its keys back.
    fetched = {k: origin.count(k) for k in KEYS}
    victim.server.start()
    deadline = time.time() + 20
    while served(front, moved[0])[0] != "n1":
        assert time.time() < deadline, "n1 never got its keys back"
        time.sleep(0.2)
    back = sweep(front)
    assert back == {k: (owner[k], "HIT") for k in KEYS}
    assert {k: origin.count(k) for k in KEYS} == fetched, "n1 answered from its store, not the origin"


def test_a_fourth_node_takes_about_a_quarter_of_the_keys(tier):
    origin, node, front_for = tier
    nodes = [node("n0"), node("n1"), node("n2")]
    front = front_for(nodes)
    owner = {k: n for k, (n, _) in sweep(front).items()}
    port = front.port
    front.stop()

    nodes.append(node("n3"))
    front = front_for(nodes, port=port)  # same port: the Host in the cache key is unchanged
    after = sweep(front)
    moved = [k for k in KEYS if after[k][0] != owner[k]]
    assert {after[k][0] for k in moved} == {"n3"}, "keys only move to the new node"
    assert 0.12 * len(KEYS) <= len(moved) <= 0.40 * len(KEYS), len(moved)
    assert {after[k][1] for k in moved} == {"MISS"}
    assert all(after[k] == (owner[k], "HIT") for k in KEYS if k not in moved), "the rest stay warm where they were"
    assert sweep(front) == {k: (after[k][0], "HIT") for k in KEYS}


def test_the_readme_command_line_tier(tmp_path, tier):
    """README, "Scaling out": three `capuchin proxy` nodes and a front, told apart by
    `--node-id` (on one host they would otherwise share the host name in `Via`, and
    each node would take the front's request for a loop)."""
    from conftest import BIN
    origin, _, _ = tier
    ports = [free_port() for _ in range(4)]
    procs = []

    def proxy(port, to, *extra):
        args = [BIN, "proxy", "--listen", "127.0.0.1", "--port", str(port), "--workers", "1"]
        for t in to:
            args += ["--to", t]
        log = open(str(tmp_path / ("cli-%d.log" % port)), "w")
        procs.append(subprocess.Popen(args + list(extra), stdout=log, stderr=subprocess.STDOUT,
                                      env=dict(os.environ, SWIFT_BACKTRACE="enable=no")))

    try:
        for i in range(3):
            proxy(ports[i], [origin.address], "--cache-dir", str(tmp_path / ("cli-n%d" % i)), "--node-id", "n%d" % i)
        proxy(ports[3], ["127.0.0.1:%d" % p for p in ports[:3]], "--balance", "consistent-hash", "--no-cache", "--node-id", "front")
        # Every node listening before the first request, or the front marks a late one down.
        for port in ports:
            wait_port(port)
        front = types.SimpleNamespace(port=ports[3])
        keys = ["/p/cache/cli/%d" % i for i in range(30)]
        first = {k: served(front, k) for k in keys}
        assert {x for _, x in first.values()} == {"MISS"} and len({n for n, _ in first.values()}) == 3
        assert {k: served(front, k) for k in keys} == {k: (first[k][0], "HIT") for k in keys}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=15)
