#!/usr/bin/env python3
"""Admin listener security: with a token set, no admin route under any method
reads or changes anything without the right token (missing, wrong, prefix,
wrong scheme, token in the query, two Authorization fields), and the admin
routes are not reachable on the public port (they answer as ordinary files/404
there, even with the token)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rlib  # noqa: E402

TOKEN = "s3cret-Admin-t0ken"
ROUTES = ["/api/stats", "/api/entries", "/api/entries?limit=1000", "/api/cache?all=1", "/api/cache?prefix=/",
          "/api/cache?key=x", "/metrics", "/api/stats/", "/api//stats", "/API/stats", "/api/stats?x=1",
          "/%61pi/stats", "/api/%63ache?all=1", "/metrics/", "/api/entries/../stats", "/./api/stats"]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PURGE"]
BAD_AUTH = [None, "Bearer ", "Bearer wrong", "Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "x",
            "Basic " + TOKEN, "bearer" + TOKEN, TOKEN, "Bearer  " + TOKEN + " x", "Bearer " + TOKEN.upper()]
LEAKS = [b"hits", b"entries", b"capuchin_", b"/a.txt", b"removed"]


def request(port, method, path, auth=None, extra=b""):
    raw = ("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" % (method, path)).encode()
    if auth is not None:
        raw += b"Authorization: " + auth.encode() + b"\r\n"
    raw += extra + b"\r\n"
    rs, _, data = rlib.exchange(port, raw, idle=3)
    return (rs[0] if rs else (None, {}, b"")), data


def main():
    a = rlib.parse_args(__doc__)
    rep = rlib.Report("admin_security")
    work = rlib.tempdir("adminsec")
    root = os.path.join(work, "www")
    rlib.write_files(root, {"a.txt": b"alpha\n", "b.txt": b"bravo\n", "index.html": b"<h1>public home</h1>\n"})
    port, admin = rlib.free_port(), rlib.free_port()
    cfg = rlib.server_config(root, port, cache_dir=os.path.join(work, "cache"),
                             extra="plugins:\n  admin: true\n  cache: true\nadmin:\n  port: %d\n  token: %s\n" % (admin, TOKEN))
    srv = rlib.Capuchin.serve(a.capuchin, work, cfg, port)
    rlib.wait_port(admin, srv.proc, what="admin listener")
    try:
        for p in ("/a.txt", "/b.txt"):
            rlib.get(port, p)
        entries_before = stats_entries(admin)
        token_checks(admin, rep, entries_before)
        after = stats_entries(admin)
        rep.row("nothing changed", "cache entries before/after all unauthorised calls (%s -> %s)" % (entries_before, after),
                1, [] if after == entries_before and after else ["entries %s -> %s" % (entries_before, after)])
        public_port(port, rep)
    finally:
        srv.stop()
    rep.finish()


def stats_entries(admin):
    import json
    (st, _, body), _ = request(admin, "GET", "/api/stats", "Bearer " + TOKEN)
    try:
        return json.loads(body)["cache"]["entries"] if st == 200 else None
    except (ValueError, KeyError):
        return None


def token_checks(admin, rep, before):
    fails = []
    n = 0
    for path in ROUTES:
        for method in METHODS:
            for auth in BAD_AUTH:
                n += 1
                (st, h, body), data = request(admin, method, path, auth)
                if st is None or 200 <= st < 300 or any(l in body for l in LEAKS):
                    fails.append("%s %s auth=%r: %s %r" % (method, path, auth, st, body[:40]))
    # Token in other places, and a right token hidden behind a wrong one.
    tricks = [("GET", "/api/stats?token=" + TOKEN, None, b""),
              ("GET", "/api/stats?access_token=" + TOKEN, None, b""),
              ("GET", "/api/stats", None, b"Cookie: token=" + TOKEN.encode() + b"\r\n"),
              ("GET", "/api/stats", None, b"X-Admin-Token: " + TOKEN.encode() + b"\r\n"),
              ("GET", "/api/stats", "Bearer wrong", b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"),
              ("DELETE", "/api/cache?all=1", "Bearer wrong", b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"),
              ("DELETE", "/api/cache?all=1", None, b"Proxy-Authorization: Bearer " + TOKEN.encode() + b"\r\n")]
    for method, path, auth, extra in tricks:
        n += 1
        (st, h, body), data = request(admin, method, path, auth, extra)
        if st is None or 200 <= st < 300 or any(l in body for l in LEAKS):
            fails.append("%s %s %r %r: %s" % (method, path, auth, extra[:30], st))
    # Control: the right token works (else the checks above prove nothing).
    n += 1
    (st, _, body), _ = request(admin, "GET", "/api/stats", "Bearer " + TOKEN)
    if st != 200 or b"hits" not in body:
        fails.append("control: the right token got %s" % st)
    if before in (None, 0):
        fails.append("control: no cache entries to protect (%s)" % before)
    rep.row("admin token required", "%d routes x %d methods x %d bad Authorization values + token in query/cookie/"
            "second field; control with the token" % (len(ROUTES), len(METHODS), len(BAD_AUTH)), n, fails)


def public_port(port, rep):
    fails = []
    n = 0
    for path in ROUTES + ["/", "/index.html", "/chart.js"]:
        for auth in (None, "Bearer " + TOKEN):
            for method in ("GET", "DELETE"):
                n += 1
                (st, h, body), data = request(port, method, path, auth)
                if st is None:
                    fails.append("%s %s on the public port: no response" % (method, path))
                    continue
                if path in ("/", "/index.html") and method == "GET":
                    if st != 200 or body != b"<h1>public home</h1>\n":
                        fails.append("public %s is not the docroot's index (%s)" % (path, st))
                    continue
                if st == 200 or any(l in body for l in LEAKS) or h.get("content-type", "").startswith("application/json"):
                    fails.append("%s %s on the public port answered %s %r" % (method, path, st, body[:40]))
    rep.row("admin not on the public port", "admin routes (with and without the token, GET and DELETE) on the public "
            "port answer as the docroot (404/405)", n, fails)


if __name__ == "__main__":
    main()
