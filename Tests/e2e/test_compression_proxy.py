"""Compression of proxied responses (issue 15, item 4): a compressible identity
response of the origin gets stored variants (compressed once, served as hits,
no second origin request); an origin's own Content-Encoding is passed through
untouched, never compressed again."""
import gzip
import http.server
import threading
import time
import zlib

import brotli

from conftest import config_text, free_port
from proxy_support import fetch, proxy_config

TEXT = b"".join(b".c%d { margin: %dpx; color: #%06x; }\n" % (i, i % 40, (i * 7919) % (1 << 24)) for i in range(1200))
GZ = gzip.compress(b"already encoded by the origin\n" * 2000)


class Origin:
    def __init__(self):
        self.counts = {}
        self.lock = threading.Lock()
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with origin.lock:
                    origin.counts[self.path] = origin.counts.get(self.path, 0) + 1
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.send_header("Cache-Control", "max-age=600")
                if self.path.startswith("/p/gz"):
                    body = GZ
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Vary", "Accept-Encoding")
                else:
                    body = TEXT
                    self.send_header("ETag", '"v1"')
                    self.send_header("Surrogate-Key", "css")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.port = free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_identity_origin_compressed_once_and_origin_gzip_untouched(server_factory, tmp_path):
    origin = Origin()
    try:
        root = tmp_path / "www"
        root.mkdir()
        s = server_factory(proxy_config(str(root), ["127.0.0.1:%d" % origin.port], cache_dir=str(tmp_path / "pc")))
        deadline = time.time() + 15
        while True:
            st, h, body = fetch(s, "/p/text.css", {"Accept-Encoding": "br, gzip"})
            assert st == 200
            if h.get("content-encoding") == "br" or time.time() > deadline:
                break
            assert body == TEXT  # identity until the variant is ready
            if h.get("x-cache") == "HIT":  # (the miss relays the origin's response as it came)
                assert "accept-encoding" in h.get("vary", "").lower()
            time.sleep(0.05)
        assert h.get("content-encoding") == "br" and brotli.decompress(body) == TEXT
        assert "accept-encoding" in h["vary"].lower() and h["etag"] != '"v1"' and h["x-cache"] == "HIT"
        assert int(h["content-length"]) == len(body) < len(TEXT) // 2
        st, h2, part = fetch(s, "/p/text.css", {"Accept-Encoding": "br", "Range": "bytes=0-99"})
        assert st == 206 and part == body[:100] and h2["content-encoding"] == "br"
        st, h3, _ = fetch(s, "/p/text.css", {"Accept-Encoding": "br", "If-None-Match": h["etag"]})
        assert st == 304
        st, hg, gz = fetch(s, "/p/text.css", {"Accept-Encoding": "gzip"})
        if hg.get("content-encoding") == "gzip":
            assert zlib.decompress(gz, 31) == TEXT
        st, hi, ident = fetch(s, "/p/text.css")
        assert ident == TEXT and "content-encoding" not in hi and hi["etag"] == '"v1"'
        assert "accept-encoding" in hi["vary"].lower()
        assert origin.counts["/p/text.css"] == 1, "compressing must not fetch the origin again"

        for _ in range(3):
            st, h, body = fetch(s, "/p/gz.css", {"Accept-Encoding": "br, gzip"})
            assert st == 200 and h.get("content-encoding") == "gzip" and body == GZ
        assert origin.counts["/p/gz.css"] == 1
    finally:
        origin.stop()


def test_proxied_variant_survives_kill_9(server_factory, tmp_path):
    import json
    import os
    import signal
    import subprocess
    from test_compression import CACHEDUMP
    origin = Origin()
    try:
        root = tmp_path / "www"
        root.mkdir()
        pc = str(tmp_path / "pc")
        cfg = proxy_config(str(root), ["127.0.0.1:%d" % origin.port], cache_dir=pc)
        s = server_factory(cfg)
        deadline = time.time() + 15
        while fetch(s, "/p/keep.css", {"Accept-Encoding": "br"})[1].get("content-encoding") != "br":
            assert time.time() < deadline
            time.sleep(0.05)
        rows = []
        while not rows:
            assert time.time() < deadline
            out = subprocess.run([CACHEDUMP, "list", os.path.join(pc, "proxy-index"), "--json"], capture_output=True, text=True)
            rows = [r for r in json.loads(out.stdout or "[]") if r.get("kind") == "variant"]
            time.sleep(0.1)
        assert rows[0]["coding"] == "br"
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
        s2 = server_factory(cfg, port=s.port)
        st, h, body = fetch(s2, "/p/keep.css", {"Accept-Encoding": "br"})
        assert h.get("content-encoding") == "br" and brotli.decompress(body) == TEXT
        assert origin.counts["/p/keep.css"] == 1
    finally:
        origin.stop()


def test_purged_responses_lose_their_compressed_variants(server_factory, tmp_path):
    # Issue 15: a purge (key, prefix, tag, clear) removes the response's
    # compressed variants too: the next `Accept-Encoding: br` request is a miss,
    # and the variant files are deleted.
    import http.client
    import json
    import os
    import urllib.parse
    origin = Origin()
    try:
        root = tmp_path / "www"
        root.mkdir()
        admin = free_port()
        cfg = proxy_config(str(root), ["127.0.0.1:%d" % origin.port], cache_dir=str(tmp_path / "pc")).replace(
            "plugins:\n  proxy: true\n", "plugins:\n  proxy: true\n  admin: true\nadmin:\n  port: %d\n" % admin)
        s = server_factory(cfg)
        variants = tmp_path / "pc" / "proxy-variants"

        def names():
            return set(os.listdir(variants)) if variants.exists() else set()

        def purge(query):
            c = http.client.HTTPConnection("127.0.0.1", admin, timeout=10)
            c.request("DELETE", "/api/cache?" + query)
            r = c.getresponse()
            body = json.loads(r.read())
            c.close()
            assert r.status == 200 and body["removed"] >= 1, (query, r.status, body)

        def key(path):
            return "proxy:http://127.0.0.1:%d%s" % (s.port, path)

        for scope, path in (("key", "/p/k.css"), ("prefix", "/p/pre/x.css"), ("tag", "/p/t.css"), ("all", "/p/a.css")):
            before = names()
            deadline = time.time() + 15
            while fetch(s, path, {"Accept-Encoding": "br"})[1].get("content-encoding") != "br":
                assert time.time() < deadline, scope
                time.sleep(0.05)
            mine = names() - before
            assert any(n.endswith(".br") for n in mine), (scope, mine)
            query = {"key": "key=" + urllib.parse.quote(key(path), safe=""),
                     "prefix": "prefix=" + urllib.parse.quote(key("/p/pre/"), safe=""),
                     "tag": "tag=css", "all": "all=1"}[scope]
            purge(query)
            st, h, body = fetch(s, path, {"Accept-Encoding": "br"})
            assert st == 200 and "fwd=uri-miss" in h["cache-status"] and body == TEXT, (scope, h)
            # Deleted in the background, right after the response's own removal.
            deadline = time.time() + 10
            while names() & mine:
                assert time.time() < deadline, (scope, names() & mine)
                time.sleep(0.05)
        assert origin.counts["/p/k.css"] == 2 and origin.counts["/p/a.css"] == 2
    finally:
        origin.stop()
