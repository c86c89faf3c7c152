"""A stored response answers after kill -9 and a restart exactly as before it:
the load keeps each response's headers encoded until its first hit, and that
first hit must send the same head (byte for byte, apart from Age and the
Cache-Status ttl, which move with the clock), the same freshness (ttl + Age
unchanged) and the same conditional answers: a plain hit, a Vary'd response's
two variants, 304s to If-None-Match and If-Modified-Since, a 206 to Range, and
a stale response served with stale-if-error while the origin fails."""
import re
import signal
import socket
import time
import urllib.parse

from proxy_support import Backend, proxy_config

LAST_MODIFIED = "Tue, 01 Jan 2030 00:00:00 GMT"


def hdr_path(name, **fields):
    return "/p/hdr/%s?%s" % (name, urllib.parse.urlencode(fields))


def raw_get(port, path, headers=()):
    """One GET on its own connection: (head bytes as sent, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % (path, port)
        req += "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
        s.sendall(req.encode())
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def normalized(head):
    """The head without Age, the Cache-Status ttl taken out; and Age + ttl (the freshness lifetime)."""
    lines = head.split(b"\r\n")
    age = [int(l.split(b":", 1)[1]) for l in lines if l.lower().startswith(b"age:")]
    ttl = [int(m) for l in lines if l.lower().startswith(b"cache-status:") for m in re.findall(rb"ttl=(-?\d+)", l)]
    kept = [re.sub(rb"ttl=-?\d+", b"ttl=*", l) for l in lines if not l.lower().startswith(b"age:")]
    return b"\r\n".join(kept), (age[0] + ttl[0] if age and ttl else None), (age[0] if age else None)


def test_first_hit_after_kill_9_sends_the_head_it_sent_before(server_factory, docroot, tmp_path):
    b = Backend("origin")
    try:
        config = proxy_config(docroot, [b.address], cache_dir=str(tmp_path / "cache"))
        s = server_factory(config)
        fresh = hdr_path("fresh", **{"Cache-Control": "max-age=600, stale-while-revalidate=30", "ETag": '"f1"',
                                     "Last-Modified": LAST_MODIFIED, "Content-Type": "text/plain; charset=utf-8",
                                     "X-Thing": "a value longer than fifteen bytes", "Surrogate-Key": "k1 k2"})
        varied = hdr_path("varied", **{"Cache-Control": "s-maxage=900, max-age=60", "Vary": "Accept-Language",
                                       "ETag": '"v1"', "Content-Language": "xx"})
        stale = "/p/v/sie?cc=" + urllib.parse.quote("max-age=1, stale-if-error=3600")
        requests = [
            (fresh, ()),
            (fresh, (("If-None-Match", '"f1"'),)),
            (fresh, (("If-Modified-Since", LAST_MODIFIED),)),
            (fresh, (("Range", "bytes=2-5"),)),
            (fresh, (("If-None-Match", '"other"'),)),
            (varied, (("Accept-Language", "en"),)),
            (varied, (("Accept-Language", "fr"),)),
            (varied, (("Accept-Language", "fr"), ("If-None-Match", '"v1"'))),
            (stale, ()),
        ]
        for path, h in ((fresh, ()), (varied, (("Accept-Language", "en"),)), (varied, (("Accept-Language", "fr"),)),
                        (stale, ())):
            raw_get(s.port, path, h)  # the misses that store them
        time.sleep(1.2)  # the stale-if-error response is now stale; past the index's commit interval too
        b.failing = True
        before = [raw_get(s.port, p, h) for p, h in requests]
        assert b"x-cache: stale" in before[-1][0].lower() and b"stale-if-error" in before[-1][0], before[-1][0]
        assert all(b"x-cache: hit" in head.lower() or b"HTTP/1.1 304" in head for head, _ in before[:-1]), before
        time.sleep(0.5)
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()

        s2 = server_factory(config, port=s.port)
        # Wait (bounded) for the load: the requests below must find the loaded, not yet decoded, responses.
        deadline = time.time() + 20
        while "proxy cache: 4 response(s) in" not in s2.read_log() and time.time() < deadline:
            time.sleep(0.05)
        assert "proxy cache: 4 response(s) in" in s2.read_log(), s2.read_log()
        origin_requests = b.count()
        after = [raw_get(s2.port, p, h) for p, h in requests]
        for (p, h), (head0, body0), (head1, body1) in zip(requests, before, after):
            n0, lifetime0, age0 = normalized(head0)
            n1, lifetime1, age1 = normalized(head1)
            assert n1 == n0, (p, h, head0, head1)
            assert body1 == body0, (p, h)
            assert lifetime1 == lifetime0, ("freshness", p, h, head0, head1)
            if p != stale:
                assert lifetime0 is not None and age0 is not None, ("a hit has Age and a ttl", p, h, head0)
            assert (age0 is None) == (age1 is None) and (age0 is None or age1 >= age0), (p, h, head0, head1)
        # Only the stale one went to the (failing) origin; every other answer came from the store.
        assert b.count() == origin_requests + 1
    finally:
        b.stop()
