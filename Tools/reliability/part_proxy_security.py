#!/usr/bin/env python3
"""`capuchin proxy` security: hop-by-hop fields stripped both ways, a client's
X-Forwarded-For/Forwarded not trusted by default, responses with Set-Cookie or
to Authorization requests not stored, unkeyed-header cache poisoning (a test
backend reflects X-Forwarded-Host, X-Original-URL, ... into a cacheable body)
fails, and path confusion (/account.php/x.css) is not cached unless the origin
says so. Each storage check has a positive control proving the path is cached."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rlib  # noqa: E402

REFLECTED = ["X-Forwarded-Host", "X-Host", "X-Forwarded-Server", "X-Original-URL", "X-Rewrite-URL",
             "X-Forwarded-Scheme", "X-Forwarded-Proto", "X-Forwarded-Port", "X-HTTP-Method-Override",
             "X-Forwarded-Prefix", "Forwarded", "X-Real-IP", "Host"]


def handler(h):
    p = h.path
    if p.startswith("/echo"):
        body = json.dumps([[k, v] for k, v in h.headers.items()]).encode()
        return 200, [("Cache-Control", "no-store"), ("Content-Type", "application/json")], body
    if p.startswith("/hopresp"):
        return 200, [("Connection", "X-Backend-Hop"), ("X-Backend-Hop", "1"), ("Keep-Alive", "timeout=99"),
                     ("Proxy-Authenticate", "Basic realm=x"), ("Proxy-Connection", "keep-alive"),
                     ("Cache-Control", "no-store")], b"hop\n"
    if p.startswith("/reflect"):
        n = int(h.headers.get("Content-Length") or 0)
        parts = ["%s=%s" % (k, h.headers.get(k)) for k in REFLECTED if h.headers.get(k) is not None]
        return 200, [("Cache-Control", "max-age=60"), ("Content-Type", "text/html")], \
            ("reflect %s\n" % " ".join(parts)).encode()
    if p.startswith("/cookie"):
        return 200, [("Cache-Control", "max-age=60"), ("Set-Cookie", "session=victim-secret")], b"cookie body\n"
    if p.startswith("/auth"):
        who = h.headers.get("Authorization") or "anonymous"
        return 200, [("Cache-Control", "max-age=60")], ("private page of %s\n" % who).encode()
    if p.startswith("/account.php"):
        return 200, [("Content-Type", "text/html")], b"account of the logged-in user\n"
    if p.startswith("/origin-says-cache.php"):
        return 200, [("Content-Type", "text/css"), ("Cache-Control", "public, max-age=60")], b"cacheable\n"
    if p.startswith("/static"):
        return 200, [("Cache-Control", "max-age=60"), ("Content-Type", "text/css")], b"static\n"
    return 404, [("Cache-Control", "no-store")], b"no\n"


def main():
    a = rlib.parse_args(__doc__)
    rep = rlib.Report("proxy_security")
    work = rlib.tempdir("proxysec")
    backend = rlib.Backend(handler)
    port = rlib.free_port()
    srv = rlib.Capuchin(a.capuchin, work, ["proxy", "--port", str(port), "--listen", "127.0.0.1", "--to", backend.address,
                                           "--cache-dir", os.path.join(work, "pc"), "--workers", "1"], port).start()
    try:
        hop_by_hop(port, backend, rep)
        forwarded(port, backend, rep)
        storage(port, backend, rep)
        poisoning(port, backend, rep)
        path_confusion(port, backend, rep)
        rep.row("proxy alive", "process still running after the checks", 1,
                [] if srv.alive() else ["proxy exited %s" % srv.proc.returncode])
    finally:
        srv.stop()
        backend.stop()
    rep.finish()


def echo(port, path, headers):
    st, _, body = rlib.get(port, path, headers)
    try:
        return st, {k.lower(): v for k, v in json.loads(body)}
    except ValueError:
        return st, None


def hop_by_hop(port, backend, rep):
    fails = []
    sent = [("Connection", "X-Secret-Hop, close"), ("X-Secret-Hop", "1"), ("Keep-Alive", "timeout=5"),
            ("Proxy-Authorization", "Basic dXNlcjpwYXNz"), ("Proxy-Connection", "keep-alive"),
            ("Upgrade", "websocket"), ("X-Kept", "yes")]
    st, seen = echo(port, "/echo/hop", sent)
    if seen is None:
        fails.append("echo request failed: %s" % st)
    else:
        for name in ("x-secret-hop", "keep-alive", "proxy-authorization", "proxy-connection", "upgrade"):
            if name in seen:
                fails.append("request field %s forwarded upstream" % name)
        if "x-secret-hop" in seen.get("connection", "").lower():
            fails.append("Connection option forwarded upstream")
        if seen.get("x-kept") != "yes":
            fails.append("end-to-end field X-Kept lost")
    st, h, body = rlib.get(port, "/hopresp")
    if st != 200:
        fails.append("hop response: status %s" % st)
    for name in ("x-backend-hop", "keep-alive", "proxy-authenticate", "proxy-connection"):
        if name in h:
            fails.append("response field %s relayed to the client" % name)
    rep.row("hop-by-hop fields", "Connection-listed, Keep-Alive, Proxy-*, Upgrade: stripped both ways", 2, fails)


def forwarded(port, backend, rep):
    fails = []
    st, seen = echo(port, "/echo/xff", [("X-Forwarded-For", "6.6.6.6"), ("Forwarded", "for=6.6.6.6"),
                                        ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example")])
    if seen is None:
        fails.append("echo request failed: %s" % st)
    else:
        if seen.get("x-forwarded-for") != "127.0.0.1":
            fails.append("X-Forwarded-For upstream is %r, want 127.0.0.1 only" % seen.get("x-forwarded-for"))
        if "6.6.6.6" in seen.get("forwarded", ""):
            fails.append("client Forwarded passed upstream")
        if seen.get("x-forwarded-proto") != "http":
            fails.append("X-Forwarded-Proto upstream is %r" % seen.get("x-forwarded-proto"))
        if "evil" in seen.get("x-forwarded-host", ""):
            fails.append("client X-Forwarded-Host passed upstream")
    rep.row("forwarding fields not trusted", "client X-Forwarded-For/-Proto/-Host and Forwarded replaced, "
            "no trusted_proxies", 4, fails)


def fetch_twice(port, path, first_headers=(), second_headers=()):
    """Two requests; returns (backend hits for path, first response, second response)."""
    before = backend_count(path)
    r1 = rlib.get(port, path, first_headers)
    r2 = rlib.get(port, path, second_headers)
    return backend_count(path) - before, r1, r2


BACKEND = [None]


def backend_count(path):
    return BACKEND[0].count(path)


def storage(port, backend, rep):
    BACKEND[0] = backend
    fails = []
    hits, r1, r2 = fetch_twice(port, "/static/control.css")
    if hits != 1:
        fails.append("control: a max-age response was not cached (%d backend hits), checks below prove nothing" % hits)
    hits, r1, r2 = fetch_twice(port, "/cookie/a")
    if hits != 2:
        fails.append("response with Set-Cookie was stored (%d backend hits for 2 requests)" % hits)
    hits, r1, r2 = fetch_twice(port, "/auth/a", [("Authorization", "Bearer alice")], [])
    if hits != 2 or b"alice" in r2[2]:
        fails.append("response to an Authorization request was stored (second got %r)" % r2[2][:40])
    hits, r1, r2 = fetch_twice(port, "/auth/b", [("Authorization", "Bearer alice")], [("Authorization", "Bearer bob")])
    if b"alice" in r2[2]:
        fails.append("bob got alice's page")
    rep.row("not stored: Set-Cookie, Authorization", "max-age responses with Set-Cookie / to Authorization "
            "requests fetched twice (control: plain max-age cached)", 4, fails)


def poisoning(port, backend, rep):
    fails = []
    tried = 0
    for i, name in enumerate(REFLECTED):
        path = "/reflect/%d" % i
        value = "evil%d.example" % i if name not in ("Forwarded",) else "host=evil%d.example" % i
        if name == "X-Original-URL" or name == "X-Rewrite-URL":
            value = "/evil%d" % i
        tried += 1
        _, _, b1 = rlib.get(port, path, [(name, value)]) if name != "Host" else rlib.get(port, path, host="evil%d.example" % i)
        _, _, b2 = rlib.get(port, path)
        if ("evil%d" % i).encode() in b2:
            fails.append("%s reflected into a cached response served to another client" % name)
    # A GET body is not part of the key either.
    tried += 1
    path = "/reflect/body"
    rs, _, _ = rlib.exchange(port, b"GET %s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nX-Original-URL: /evilbody\r\n"
                             b"Connection: close\r\n\r\nevil" % path.encode())
    _, _, b2 = rlib.get(port, path)
    if b"evilbody" in b2:
        fails.append("GET with body and X-Original-URL poisoned %s" % path)
    rep.row("unkeyed header poisoning", "attacker request with X-Forwarded-Host, X-Original-URL, Host, ... reflected "
            "by the origin into a max-age body; next plain request must not see it", tried, fails)


def path_confusion(port, backend, rep):
    fails = []
    for path in ("/account.php/x.css", "/account.php/..%2fx.css", "/account.php;x.css", "/account.php/nonexistent.js",
                 "/account.php%2fx.png"):
        hits, r1, r2 = fetch_twice(port, path)
        if r1[0] == 200 and hits != 2:
            fails.append("%s cached without the origin's permission (%d backend hits)" % (path, hits))
    hits, r1, r2 = fetch_twice(port, "/origin-says-cache.php/x.css")
    if hits != 1:
        fails.append("control: origin's public max-age on /origin-says-cache.php/x.css not cached (%d hits)" % hits)
    rep.row("path confusion", "/account.php/x.css and variants (no Cache-Control) fetched twice: both reach the origin; "
            "control with max-age cached", 6, fails)


if __name__ == "__main__":
    main()
