"""Content codings for static files (issue 15): negotiation, precompressed
siblings, variants compressed once and stored in the cache directory (indexed
in LMDB), their invalidation and their survival across kill -9.
Bodies are decoded with Python's zlib, brotli and zstandard."""
import gzip
import http.client
import json
import os
import signal
import subprocess
import time
import zlib

import brotli
import pytest
import zstandard

from conftest import REPO, config_text

CACHEDUMP = os.environ.get("CACHEDUMP_BIN") or os.path.join(REPO, ".build", "debug", "cachedump")

DECODERS = {
    "br": brotli.decompress,
    "zstd": lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
    "gzip": lambda b: zlib.decompress(b, 16 + zlib.MAX_WBITS),
}


def text(n, seed=1):
    """`n` bytes of compressible CSS-like text, different per seed."""
    words = [b"body", b"margin:", b"0", b"auto;", b"color:", b"#%03x;" % seed, b".nav", b"{", b"}", b"\n"]
    out = bytearray()
    i = seed
    while len(out) < n:
        out += words[(i * 7 + i // 3) % len(words)] + b" "
        i += 1
    return bytes(out[:n])


def write(path, data, mtime=None):
    with open(path, "wb") as f:
        f.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    files = {
        "big.css": text(20000),          # above inline_max_size: compressed in the background
        "small.txt": text(3000, 2),      # compressed inline by the first request
        "tiny.txt": text(100, 3),        # below min_size: never compressed
        "pic.png": text(20000, 4),       # an image type: never compressed
        "page.json": text(40000, 5),
    }
    for name, data in files.items():
        write(str(root / name), data)
    return str(root), files


def server_config(root, cache_dir, compression=""):
    return config_text(root) + "cache:\n  dir: %s\n  commit_interval_ms: 20\n" % cache_dir + compression


@pytest.fixture
def srv(server_factory, site, tmp_path):
    root, files = site
    s = server_factory(server_config(root, str(tmp_path / "cache")))
    return s, root, files


def request(port, path, headers=None, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def encoded(port, path, coding, accept=None, timeout=15):
    """Polls until the variant in `coding` is served (a background compression
    finishes on its own time): bounded, no timing asserted."""
    deadline = time.time() + timeout
    while True:
        st, h, body = request(port, path, {"Accept-Encoding": accept or coding})
        if h.get("content-encoding") == coding or time.time() > deadline:
            return st, h, body
        time.sleep(0.05)


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip"])
def test_each_coding_decodes_to_the_file(srv, coding):
    s, root, files = srv
    for name in ["big.css", "small.txt", "page.json"]:
        st, h, body = encoded(s.port, "/" + name, coding)
        assert st == 200 and h.get("content-encoding") == coding, (name, h)
        assert DECODERS[coding](body) == files[name]
        assert int(h["content-length"]) == len(body) < len(files[name])
        assert h["vary"] == "Accept-Encoding"


def test_vary_and_a_distinct_strong_etag_per_coding(srv):
    s, _, files = srv
    st, ident, body = request(s.port, "/big.css")
    assert st == 200 and body == files["big.css"]
    assert ident["vary"] == "Accept-Encoding" and "content-encoding" not in ident
    tags = {ident["etag"]}
    for coding in ["br", "zstd", "gzip"]:
        _, h, _ = encoded(s.port, "/big.css", coding)
        assert h["etag"].startswith('"') and not h["etag"].startswith("W/")
        tags.add(h["etag"])
    assert len(tags) == 4
    # identity with an Accept-Encoding that refuses every coding still varies
    st, h, body = request(s.port, "/big.css", {"Accept-Encoding": "br;q=0, zstd;q=0, gzip;q=0"})
    assert "content-encoding" not in h and h["vary"] == "Accept-Encoding" and body == files["big.css"]


def test_q_values(srv):
    s, _, files = srv
    _, h, body = encoded(s.port, "/page.json", "gzip", accept="br;q=0, gzip")
    assert h.get("content-encoding") == "gzip"
    _, h, body = encoded(s.port, "/page.json", "zstd", accept="gzip;q=0.5, zstd;q=0.9, br;q=0.1")
    assert h.get("content-encoding") == "zstd" and DECODERS["zstd"](body) == files["page.json"]
    # equal weights: the server's order (br first)
    _, h, _ = encoded(s.port, "/page.json", "br", accept="gzip, br")
    assert h.get("content-encoding") == "br"
    _, h, body = request(s.port, "/page.json", {"Accept-Encoding": "*;q=0, identity"})
    assert "content-encoding" not in h and body == files["page.json"]


def test_identity_refused_gets_a_coding_at_once(srv):
    """identity;q=0 on a large file nothing was compressed for yet: the request
    itself compresses (no identity fallback allowed)."""
    s, _, files = srv
    st, h, body = request(s.port, "/page.json", {"Accept-Encoding": "gzip;q=0.5, identity;q=0"})
    assert st == 200 and h.get("content-encoding") == "gzip"
    assert DECODERS["gzip"](body) == files["page.json"]


def test_if_none_match_with_a_variants_etag(srv):
    s, _, _ = srv
    _, h, _ = encoded(s.port, "/big.css", "br")
    st, h304, body = request(s.port, "/big.css", {"Accept-Encoding": "br", "If-None-Match": h["etag"]})
    assert st == 304 and body == b""
    assert h304["etag"] == h["etag"] and h304["vary"] == "Accept-Encoding"
    # the same tag does not match the identity representation
    st, hid, _ = request(s.port, "/big.css", {"If-None-Match": h["etag"]})
    assert st == 200 and hid["etag"] != h["etag"] and hid["vary"] == "Accept-Encoding"


def test_range_applies_to_the_encoded_bytes(srv):
    s, _, files = srv
    _, h, full = encoded(s.port, "/big.css", "gzip")
    st, hr, part = request(s.port, "/big.css", {"Accept-Encoding": "gzip", "Range": "bytes=10-99"})
    assert st == 206 and part == full[10:100]
    assert hr["content-range"] == "bytes 10-99/%d" % len(full)
    assert hr["content-encoding"] == "gzip" and hr["vary"] == "Accept-Encoding" and hr["etag"] == h["etag"]
    st, hr, part = request(s.port, "/big.css", {"Accept-Encoding": "gzip", "Range": "bytes=0-9", "If-Range": h["etag"]})
    assert st == 206 and part == full[:10]


def test_head_matches_get(srv):
    s, _, _ = srv
    _, g, body = encoded(s.port, "/big.css", "zstd")
    st, h, hb = request(s.port, "/big.css", {"Accept-Encoding": "zstd"}, method="HEAD")
    assert st == 200 and hb == b""
    for k in ["content-encoding", "content-length", "etag", "vary", "content-type", "last-modified"]:
        assert h[k] == g[k], k
    assert int(h["content-length"]) == len(body)


def test_small_bodies_images_and_no_transform_left_alone(srv):
    s, _, files = srv
    for name in ["tiny.txt", "pic.png"]:
        st, h, body = request(s.port, "/" + name, {"Accept-Encoding": "br, gzip, zstd"})
        assert st == 200 and "content-encoding" not in h and body == files[name]
        assert "vary" not in h
    encoded(s.port, "/big.css", "br")
    st, h, body = request(s.port, "/big.css", {"Accept-Encoding": "br", "Cache-Control": "no-transform"})
    assert "content-encoding" not in h and body == files["big.css"] and h["vary"] == "Accept-Encoding"


def test_sibling_preferred_and_served_for_itself(server_factory, site, tmp_path):
    root, files = site
    now = time.time()
    write(os.path.join(root, "app.js"), text(30000, 7), now - 100)
    sibling_text = text(30000, 8)  # distinct: proves the sibling's bytes were sent
    gz = gzip.compress(sibling_text)
    write(os.path.join(root, "app.js.gz"), gz, now - 50)
    s = server_factory(server_config(root, str(tmp_path / "cache")))
    for accept in ["gzip", "br, gzip", "gzip, br;q=0.5"]:
        st, h, body = request(s.port, "/app.js", {"Accept-Encoding": accept})
        assert h.get("content-encoding") == "gzip", accept
        assert body == gz and DECODERS["gzip"](body) == sibling_text
        assert h["vary"] == "Accept-Encoding"
    # a request for the sibling is that file, not decoded, not re-encoded
    st, h, body = request(s.port, "/app.js.gz", {"Accept-Encoding": "gzip, br"})
    assert st == 200 and body == gz and "content-encoding" not in h


def test_sibling_older_than_its_file_is_ignored(server_factory, site, tmp_path):
    root, files = site
    now = time.time()
    stale = gzip.compress(b"old version " * 1000)
    write(os.path.join(root, "lib.js.gz"), stale, now - 100)
    fresh = text(30000, 9)
    write(os.path.join(root, "lib.js"), fresh, now - 10)
    s = server_factory(server_config(root, str(tmp_path / "cache")))
    st, h, body = encoded(s.port, "/lib.js", "gzip")
    assert h.get("content-encoding") == "gzip" and body != stale
    assert DECODERS["gzip"](body) == fresh


@pytest.mark.parametrize("change", ["in_place", "renamed_over", "deleted"])
def test_variant_dropped_when_the_source_changes(srv, change):
    s, root, files = srv
    path = os.path.join(root, "big.css")
    _, h, _ = encoded(s.port, "/big.css", "br")
    assert h.get("content-encoding") == "br"
    new = text(25000, 11)
    if change == "in_place":
        with open(path, "r+b") as f:
            f.truncate(0)
            f.write(new)
    elif change == "renamed_over":
        write(path + ".new", new)
        os.rename(path + ".new", path)
    else:
        os.unlink(path)
        st, h, _ = request(s.port, "/big.css", {"Accept-Encoding": "br"})
        assert st == 404
        write(path, new)
    # never the old bytes: identity of the new file until its variant is ready, then the new variant
    st, h, body = request(s.port, "/big.css", {"Accept-Encoding": "br"})
    assert st == 200
    assert (DECODERS["br"](body) if h.get("content-encoding") == "br" else body) == new
    st, h, body = encoded(s.port, "/big.css", "br")
    assert h.get("content-encoding") == "br" and DECODERS["br"](body) == new


def store_rows(cache_dir):
    out = subprocess.run([CACHEDUMP, "list", cache_dir, "--json"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_variants_are_hits_after_kill_9_and_restart(server_factory, site, tmp_path):
    root, files = site
    cache_dir = str(tmp_path / "cache")
    s = server_factory(server_config(root, cache_dir))
    for coding in ["br", "gzip"]:
        assert encoded(s.port, "/page.json", coding)[1].get("content-encoding") == coding
    # wait (bounded) until both variants are indexed in the store
    deadline = time.time() + 15
    while time.time() < deadline:
        rows = [r for r in store_rows(cache_dir) if r.get("kind") == "variant"]
        if len(rows) >= 2:
            break
        time.sleep(0.1)
    assert sorted(r["coding"] for r in rows) == ["br", "gzip"]
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait()
    s2 = server_factory(server_config(root, cache_dir), port=s.port)
    # the first request after the restart is already the stored variant (a
    # large body is never compressed on the serving thread)
    for coding in ["br", "gzip"]:
        st, h, body = request(s2.port, "/page.json", {"Accept-Encoding": coding})
        assert h.get("content-encoding") == coding and h.get("x-cache") == "HIT"
        assert DECODERS[coding](body) == files["page.json"]


def test_cachedump_lists_variants(srv, tmp_path):
    s, _, files = srv
    encoded(s.port, "/big.css", "zstd")
    deadline = time.time() + 15
    rows = []
    while time.time() < deadline:
        rows = [r for r in store_rows(str(tmp_path / "cache")) if r.get("kind") == "variant"]
        if rows:
            break
        time.sleep(0.1)
    assert rows and rows[0]["coding"] == "zstd" and rows[0]["source_size"] == len(files["big.css"])
    assert rows[0]["size"] < len(files["big.css"])
    out = subprocess.run([CACHEDUMP, "list", str(tmp_path / "cache")], capture_output=True, text=True, timeout=30)
    assert "/big.css [zstd]" in out.stdout


def test_compression_section_errors_name_the_key(tmp_path, site):
    root, _ = site
    from conftest import BIN
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(config_text(root).replace("{port}", "8080") + "compression:\n  encodings: [br, deflate]\n  gzip_level: 12\n")
    out = subprocess.run([BIN, "check", "--config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "compression.encodings" in out.stdout + out.stderr and "deflate" in out.stdout + out.stderr
    assert "compression.gzip_level" in out.stdout + out.stderr


def css(n, seed):
    """`n` bytes of stylesheet-like text varied enough that a codec's levels
    differ in size (the repetitive `text` compresses alike at every level)."""
    import random
    rng = random.Random(seed)
    out = []
    while sum(map(len, out)) < n:
        out.append(".c%d > .i%d { margin: %dpx; color: #%06x; }\n" % (rng.randrange(900), rng.randrange(90),
                                                                      rng.randrange(64), rng.randrange(1 << 24)))
    return "".join(out).encode()[:n]


def test_background_compressions_use_the_codecs_best_level_or_the_configured_one(server_factory, tmp_path):
    """A body past inline_max_size is compressed once by the compression thread,
    at brotli 11 / zstd 19 by default (smaller than the inline levels 9 / 6),
    or at the configured `*_background_level`."""
    root = tmp_path / "www"
    root.mkdir()
    data = css(64 << 10, 11)
    write(str(root / "site.css"), data)
    sizes = {}
    for name, section in [("default", ""), ("low", "compression:\n  brotli_background_level: 5\n  zstd_background_level: 3\n")]:
        s = server_factory(server_config(str(root), str(tmp_path / ("cache-" + name)), section))
        for coding in ["br", "zstd"]:
            st, h, body = encoded(s.port, "/site.css", coding)
            assert st == 200 and h.get("content-encoding") == coding, (name, h)
            assert DECODERS[coding](body) == data
            sizes[(name, coding)] = len(body)
    assert sizes[("default", "br")] < len(brotli.compress(data, quality=9)), sizes
    assert sizes[("default", "zstd")] < len(zstandard.ZstdCompressor(level=6).compress(data)), sizes
    assert sizes[("low", "br")] > sizes[("default", "br")], sizes
    assert sizes[("low", "zstd")] > sizes[("default", "zstd")], sizes


def test_compression_disabled_sends_identity(server_factory, site, tmp_path):
    root, files = site
    s = server_factory(server_config(root, str(tmp_path / "cache"), "compression:\n  enabled: false\n"))
    st, h, body = request(s.port, "/big.css", {"Accept-Encoding": "br, gzip"})
    assert "content-encoding" not in h and "vary" not in h and body == files["big.css"]


def test_counters_in_stats_and_metrics(server_factory, site, tmp_path):
    from conftest import free_port
    root, files = site
    admin_port = free_port()
    extra = "plugins:\n  admin: true\nadmin:\n  port: %d\n  bind: 127.0.0.1\n" % admin_port
    s = server_factory(server_config(root, str(tmp_path / "cache"), extra))
    encoded(s.port, "/big.css", "br")
    for _ in range(3):
        assert request(s.port, "/big.css", {"Accept-Encoding": "br"})[1].get("content-encoding") == "br"
    deadline = time.time() + 10
    while True:
        try:
            st, _, body = request(admin_port, "/api/stats")
            break
        except OSError:
            assert time.time() < deadline
            time.sleep(0.05)
    z = json.loads(body)["compression"]
    assert z["variants_stored"] >= 1 and z["compressions"] >= 1
    assert z["bytes_after"] < z["bytes_before"]
    assert z["variant_hits"] >= 4 and z["bytes_saved"] >= 3 * (len(files["big.css"]) // 2)
    assert z["compression_cpu_seconds"] > 0
    _, _, metrics = request(admin_port, "/metrics")
    text = metrics.decode()
    saved = [l for l in text.splitlines() if l.startswith("capuchin_compression_saved_bytes_total ")]
    assert saved and int(saved[0].split()[1]) >= z["bytes_saved"]
    assert 'capuchin_compression_encoded_responses_total{source="variant"}' in text


def test_without_the_cache_siblings_only(server_factory, site, tmp_path):
    root, files = site
    now = time.time()
    write(os.path.join(root, "big.css"), files["big.css"], now - 100)
    br = brotli.compress(files["big.css"])
    write(os.path.join(root, "big.css.br"), br, now - 50)
    cfg = config_text(root) + "cache:\n  enabled: false\n"
    s = server_factory(cfg)
    st, h, body = request(s.port, "/big.css", {"Accept-Encoding": "br, gzip"})
    assert h.get("content-encoding") == "br" and body == br and h["vary"] == "Accept-Encoding"
    st, h, part = request(s.port, "/big.css", {"Accept-Encoding": "br", "Range": "bytes=5-14"})
    assert st == 206 and part == br[5:15]
    # no sibling in gzip and nothing stored without the cache: identity, still varying
    st, h, body = request(s.port, "/page.json", {"Accept-Encoding": "gzip"})
    assert "content-encoding" not in h and body == files["page.json"] and h["vary"] == "Accept-Encoding"


def test_start_up_sweep_drops_variants_of_files_changed_while_down(server_factory, site, tmp_path):
    root, files = site
    cache_dir = str(tmp_path / "cache")
    s = server_factory(server_config(root, cache_dir))
    encoded(s.port, "/page.json", "gzip")
    deadline = time.time() + 15
    rows = []
    while time.time() < deadline and not rows:
        rows = [r for r in store_rows(cache_dir) if r.get("kind") == "variant"]
        time.sleep(0.1)
    assert rows
    body_file = rows[0]["origin_path"]
    assert os.path.exists(body_file)
    s.stop()
    write(os.path.join(root, "page.json"), text(41000, 12))  # changed while the server is down
    s2 = server_factory(server_config(root, cache_dir), port=s.port)
    deadline = time.time() + 15
    while time.time() < deadline and (os.path.exists(body_file) or
                                       [r for r in store_rows(cache_dir) if r.get("kind") == "variant"]):
        time.sleep(0.1)
    assert not os.path.exists(body_file)
    assert not [r for r in store_rows(cache_dir) if r.get("kind") == "variant"]
    st, h, body = encoded(s2.port, "/page.json", "gzip")
    assert DECODERS["gzip"](body) == text(41000, 12)
