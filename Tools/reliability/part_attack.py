#!/usr/bin/env python3
"""Attack corpus against `capuchin serve` over real sockets: request smuggling
shapes, path traversal, Range amplification, huge and many headers, pipelining
floods, HTTP/0.9, absolute-form and CONNECT, invalid Host.

Every case must get its expected status and have no effect: a secret file outside
the root never appears in any response, a request hidden in a body or behind a bad
framing is never answered (its file's marker never appears), an absolute-form or
CONNECT target is never contacted, and afterwards a fresh connection is served."""
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rlib  # noqa: E402

SECRET = b"TOP-SECRET-OUTSIDE-THE-ROOT\n"
SMUGGLED = b"SMUGGLED-REQUEST-WAS-ANSWERED\n"
BIG = bytes(range(256)) * 400  # 102400 bytes


class Attack:
    def __init__(self, port):
        self.port = port

    def sane(self):
        """A fresh connection is served normally."""
        st, _, body = rlib.get(self.port, "/a.txt")
        return st == 200 and body == b"alpha\n"

    def run(self, name, raw, expect, *, responses=1, must_close=True, check=None, idle=1.5):
        """Sends raw on one connection; returns a failure string or None.
        expect: allowed statuses of the first response; responses: exactly how many
        responses may come back; must_close: the server must end the connection."""
        try:
            rs, closed, data = rlib.exchange(self.port, raw, idle=idle)
        except OSError as e:
            return "%s: %s" % (name, e)
        problems = []
        if SECRET.strip() in data:
            problems.append("secret leaked")
        if SMUGGLED.strip() in data:
            problems.append("smuggled request answered")
        statuses = [r[0] for r in rs]
        if not rs or rs[0][0] not in expect:
            problems.append("status %s, want %s" % (statuses[:3] or "none", "/".join(map(str, expect))))
        elif responses is not None and len(rs) != responses:
            problems.append("%d responses %s, want %d" % (len(rs), statuses[:5], responses))
        if must_close and not closed:
            problems.append("connection left open")
        if check and not problems:
            msg = check(rs, data)
            if msg:
                problems.append(msg)
        if not self.sane():
            problems.append("next request on a fresh connection failed")
        return "%s: %s" % (name, ", ".join(problems)) if problems else None


def req(lines, body=b""):
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


SMUGGLE_GET = b"GET /smuggled.txt HTTP/1.1\r\nHost: x\r\n\r\n"


def smuggling_cases():
    chunk_hiding = b"0\r\n\r\n" + SMUGGLE_GET
    n = len(chunk_hiding)
    c = []
    c.append(("CL.TE", req(["POST /a.txt HTTP/1.1", "Host: x", "Content-Length: %d" % n,
                            "Transfer-Encoding: chunked"], chunk_hiding), [400]))
    c.append(("TE.CL", req(["POST /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding: chunked",
                            "Content-Length: 4"], b"5c\r\n" + SMUGGLE_GET + b"\r\n0\r\n\r\n"), [400]))
    c.append(("duplicate CL differing", req(["POST /a.txt HTTP/1.1", "Host: x", "Content-Length: 0",
                                             "Content-Length: %d" % len(SMUGGLE_GET)], SMUGGLE_GET), [400]))
    c.append(("duplicate CL same", req(["POST /a.txt HTTP/1.1", "Host: x", "Content-Length: 0",
                                        "Content-Length: 0"], SMUGGLE_GET), [400]))
    c.append(("CL list 0, N", req(["POST /a.txt HTTP/1.1", "Host: x", "Content-Length: 0, %d" % len(SMUGGLE_GET)],
                                  SMUGGLE_GET), [400]))
    c.append(("TE xchunked + CL", req(["POST /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding: xchunked",
                                       "Content-Length: %d" % n], chunk_hiding), [400]))
    c.append(("TE xchunked alone", req(["POST /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding: xchunked"],
                                       chunk_hiding), [400]))
    c.append(("TE chunked, identity", req(["POST /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding: chunked, identity"],
                                          chunk_hiding), [400]))
    c.append(("TE two fields", req(["POST /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding: chunked",
                                    "Transfer-Encoding: x"], chunk_hiding), [400]))
    c.append(("TE obs-fold", req(["POST /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding:", " chunked",
                                  "Content-Length: %d" % n], chunk_hiding), [400]))
    c.append(("obs-fold other field", req(["GET /a.txt HTTP/1.1", "Host: x", "X-A: a", "\tb"]) + SMUGGLE_GET, [400]))
    c.append(("TE space before colon", req(["POST /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding : chunked",
                                            "Content-Length: %d" % n], chunk_hiding), [400]))
    c.append(("TE vertical tab", req(["POST /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding:\x0bchunked",
                                      "Content-Length: %d" % n], chunk_hiding), [400]))
    c.append(("TE in HTTP/1.0", req(["POST /a.txt HTTP/1.0", "Host: x", "Transfer-Encoding: chunked"],
                                    chunk_hiding), [400]))
    c.append(("CL plus sign", req(["POST /a.txt HTTP/1.1", "Host: x", "Content-Length: +%d" % len(SMUGGLE_GET)],
                                  SMUGGLE_GET), [400]))
    c.append(("CL hex", req(["POST /a.txt HTTP/1.1", "Host: x", "Content-Length: 0x10"], SMUGGLE_GET), [400]))
    c.append(("CL overflow", req(["POST /a.txt HTTP/1.1", "Host: x", "Content-Length: 18446744073709551617"],
                                 SMUGGLE_GET), [400, 413]))
    c.append(("bare LF lines", b"GET /a.txt HTTP/1.1\nHost: x\n\n" + SMUGGLE_GET, [400]))
    c.append(("bare LF in one field", b"GET /a.txt HTTP/1.1\r\nHost: x\nX-B: 1\r\n\r\n" + SMUGGLE_GET, [400]))
    c.append(("bare CR in value", b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-B: a\rb\r\n\r\n" + SMUGGLE_GET, [400]))
    c.append(("bare CR line end", b"GET /a.txt HTTP/1.1\rHost: x\r\r" + SMUGGLE_GET, [400]))
    # Bad chunked framing on a GET: the server may answer the head before it reads the
    # body (200) or refuse it (400/413); either way exactly one response, then close.
    c.append(("chunk size overflow", req(["GET /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"],
                                         b"10000000000000001\r\nAA\r\n0\r\n\r\n" + SMUGGLE_GET), [200, 400, 413]))
    c.append(("chunk size with LF only", req(["GET /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"],
                                             b"3\nabc\r\n0\r\n\r\n" + SMUGGLE_GET), [200, 400, 413]))
    c.append(("chunk without CRLF after data", req(["GET /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"],
                                                   b"3\r\nabcXX0\r\n\r\n" + SMUGGLE_GET), [200, 400, 413]))
    c.append(("CL in chunked trailer", req(["GET /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"],
                                           b"0\r\nContent-Length: 50\r\n\r\n" + SMUGGLE_GET), [200, 400, 413]))
    return c


def valid_body_cases():
    """Correctly framed bodies that contain a request: it must be read as data, not answered."""
    follow = b"GET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    cl = req(["GET /a.txt HTTP/1.1", "Host: x", "Content-Length: %d" % len(SMUGGLE_GET)], SMUGGLE_GET) + follow
    chunked_body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLE_GET), SMUGGLE_GET)
    ch = req(["POST /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"], chunked_body) + follow
    # A chunk extension and a trailer hiding request text: still one body.
    ext = req(["POST /a.txt HTTP/1.1", "Host: x", "Transfer-Encoding: chunked"],
              b"%x;a=\"x\"\r\n%s\r\n0\r\nX-T: GET /smuggled.txt\r\n\r\n" % (len(SMUGGLE_GET), SMUGGLE_GET)) + follow

    def two(statuses_first):
        def check(rs, data):
            if len(rs) < 2 or rs[1][0] != 200 or rs[1][2] != b"bravo bravo\n":
                return "the request after the body was not answered with b.txt"
            return None
        return check
    return [("GET with CL body holding a request", cl, [200], two(200)),
            ("POST chunked body holding a request", ch, [200, 405], two(405)),
            ("chunk extension + trailer holding a request", ext, [200, 405], two(405))]


def traversal_targets():
    t = [b"/../private/secret.txt", b"/../../../../../../etc/passwd", b"/sub/../../private/secret.txt",
         b"/%2e%2e/private/secret.txt", b"/%2E%2e/private/secret.txt", b"/.%2e/private/secret.txt",
         b"/%2e./private/secret.txt", b"/sub/%2e%2e/%2e%2e/private/secret.txt",
         b"/%252e%252e/private/secret.txt", b"/%25252e%25252e/private/secret.txt",
         b"/..%2fprivate%2fsecret.txt", b"/%2e%2e%2fprivate%2fsecret.txt",
         b"/%c0%ae%c0%ae/private/secret.txt", b"/%c0%ae%c0%ae%c0%afprivate%c0%afsecret.txt",
         b"/%e0%80%ae%e0%80%ae/private/secret.txt", b"/%f0%80%80%ae%f0%80%80%ae/private/secret.txt",
         b"/..\\private\\secret.txt", b"/..%5cprivate%5csecret.txt", b"/%2e%2e%5cprivate%5csecret.txt",
         b"/sub\\..\\..\\private\\secret.txt",
         b"/a.txt%00.html", b"/..%00/private/secret.txt", b"/%00../private/secret.txt",
         b"/escape.txt", b"/escapedir/secret.txt", b"/relative-escape.txt", b"/chain.txt", b"/sub/updir/private/secret.txt",
         b"/escapedir/", b"/escapedir", b"//../private/secret.txt", b"/./../private/secret.txt",
         b"/.../private/secret.txt", b"/sub/..;/../private/secret.txt",
         b"http://x/../private/secret.txt", b"http://x/%2e%2e/private/secret.txt",
         b"/%u002e%u002e/private/secret.txt", b"/%%32%65%%32%65/private/secret.txt"]
    return t


def prepare(work):
    root = os.path.join(work, "www")
    private = os.path.join(work, "private")
    os.makedirs(private)
    with open(os.path.join(private, "secret.txt"), "wb") as f:
        f.write(SECRET)
    rlib.write_files(root, {"index.html": b"<h1>home</h1>\n", "a.txt": b"alpha\n", "b.txt": b"bravo bravo\n",
                            "smuggled.txt": SMUGGLED, "big.bin": BIG, "sub/index.html": b"sub\n",
                            "swap.txt": b"innocent\n"})
    os.symlink(os.path.join(private, "secret.txt"), os.path.join(root, "escape.txt"))
    os.symlink(private, os.path.join(root, "escapedir"))
    os.symlink("../private/secret.txt", os.path.join(root, "relative-escape.txt"))
    os.symlink("relative-escape.txt", os.path.join(root, "chain.txt"))
    os.symlink("../..", os.path.join(root, "sub", "updir"))
    return root, private


def main():
    a = rlib.parse_args(__doc__)
    rep = rlib.Report("attack")
    work = rlib.tempdir("attack")
    root, private = prepare(work)
    port = rlib.free_port()
    srv = rlib.Capuchin.serve(a.capuchin, work, rlib.server_config(
        root, port, "header_timeout: 3s\nkeepalive_timeout: 5s\nmax_request_body: 4k\nkeepalive_requests: 1000",
        cache_dir=os.path.join(work, "cache")), port)
    at = Attack(port)
    try:
        smuggling(at, rep)
        traversal(at, rep, root, private)
        ranges(at, rep, a.short)
        headers(at, rep)
        pipelining(at, rep, a.short)
        forms(at, rep)
        hosts(at, rep)
        if not srv.alive():
            rep.row("server alive after the corpus", "process still running", 1, ["server died: exit %s" % srv.proc.returncode])
        else:
            rep.row("server alive after the corpus", "process still running", 1, [])
    finally:
        srv.stop()
    rep.finish()


def smuggling(at, rep):
    fails = []
    cases = smuggling_cases()
    for name, raw, expect in cases:
        f = at.run(name, raw, expect)
        if f:
            fails.append(f)
    rep.row("smuggling shapes", "CL.TE, TE.CL, dup CL, xchunked, obs-fold, bare CR/LF, bad chunks on GET: 400 + close, "
            "hidden request never answered", len(cases), fails)
    fails = []
    vc = valid_body_cases()
    for name, raw, expect, check in vc:
        f = at.run(name, raw, expect, responses=2, must_close=True, check=check)
        if f:
            fails.append(f)
    rep.row("request inside a valid body", "body holding a request is read as data; the next real request answered",
            len(vc), fails)


def traversal(at, rep, root, private):
    fails = []
    targets = traversal_targets()
    for t in targets:
        raw = b"GET " + t + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        f = at.run(t.decode("latin-1"), raw, [400, 403, 404])
        if f:
            fails.append(f)
    # Swap a served (and cached) file for a symlink out of the root: the cache must not follow it.
    n = len(targets) + 1
    st, _, body = rlib.get(at.port, "/swap.txt")
    st2, _, body2 = rlib.get(at.port, "/swap.txt")
    swap = os.path.join(root, "swap.txt")
    os.unlink(swap)
    os.symlink(os.path.join(private, "secret.txt"), swap)
    st3, _, body3 = rlib.get(at.port, "/swap.txt")
    if (st, body, st2) != (200, b"innocent\n", 200) or SECRET in body3 or st3 not in (403, 404):
        fails.append("cached file swapped for an escaping symlink: %s %s then %s %r" % (st, st2, st3, body3[:40]))
    rep.row("path traversal", "dot segments, %2e, %252e, overlong UTF-8, backslash, NUL, symlinks out of the root, "
            "cached file swapped for a symlink: 400/403/404, secret never sent", n, fails)


def ranges(at, rep, short):
    fails = []
    cases = [
        ("0-,0- x16", "bytes=" + ",".join(["0-"] * 16), (200,)),
        ("0-,0- x200", "bytes=" + ",".join(["0-"] * 200), (200, 416)),
        ("overlapping 0-99999,1-99999,...", "bytes=" + ",".join("%d-99999" % i for i in range(16)), (200, 206)),
        ("many tiny ranges x17", "bytes=" + ",".join("%d-%d" % (i * 2, i * 2) for i in range(17)), (200,)),
        ("many tiny ranges x16", "bytes=" + ",".join("%d-%d" % (i * 2, i * 2) for i in range(16)), (206,)),
        ("suffix overlaps -100000 x16", "bytes=" + ",".join(["-100000"] * 16), (200, 206)),
        ("huge numbers", "bytes=0-99999999999999999999999999", (200, 206, 416)),
        ("overflowing sum", "bytes=0-9223372036854775807,0-9223372036854775807", (200, 206, 416)),
        ("negative", "bytes=-0", (200, 416)),
        ("reversed", "bytes=500-100", (200, 416)),
        ("unsatisfiable", "bytes=200000-", (416,)),
        ("other unit", "items=0-5", (200,)),
        ("10k-byte Range value", "bytes=" + ",".join(["1-2"] * 2000), (200, 400, 431)),
    ]
    for name, value, expect in cases:
        raw = ("GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: %s\r\nConnection: close\r\n\r\n" % value).encode()
        sent = [0]

        def check(rs, data, sent=sent):
            st, h, body = rs[0]
            if len(data) > len(BIG) + 16 * 200 + 1024:
                return "response of %d bytes for a %d-byte file (amplified)" % (len(data), len(BIG))
            if st == 200 and body != BIG:
                return "200 body differs from the file"
            if st == 206 and "multipart" not in h.get("content-type", ""):
                cr = h.get("content-range", "")
                lo, hi = cr.split()[1].split("/")[0].split("-")
                if body != BIG[int(lo):int(hi) + 1]:
                    return "206 body differs from the file slice " + cr
            return None
        f = at.run("Range " + name, raw, list(expect), check=check)
        if f:
            fails.append(f)
    # Overlapping ranges are coalesced into one part.
    raw = b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-10,5-20\r\nConnection: close\r\n\r\n"
    f = at.run("Range overlapping 0-10,5-20 coalesced", raw, [206],
               check=lambda rs, d: None if rs[0][1].get("content-range") == "bytes 0-20/%d" % len(BIG)
               and rs[0][2] == BIG[:21] else "not one coalesced part: %s" % rs[0][1].get("content-range"))
    if f:
        fails.append(f)
    # Amplification over keep-alive: many 0-,0- requests pipelined, bytes received stay near the file size each.
    n = 50 if short else 500
    raw = b"".join(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=" + b",".join([b"0-"] * 16) + b"\r\n\r\n"
                   for _ in range(n - 1))
    raw += b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-,0-\r\nConnection: close\r\n\r\n"
    f = at.run("Range 0-,0- pipelined x%d" % n, raw, [200], responses=n, idle=5,
               check=lambda rs, d: None if len(d) <= n * (len(BIG) + 1024) else "amplified: %d bytes" % len(d))
    if f:
        fails.append(f)
    rep.row("Range amplification", "0-,0-..., overlapping, >16 ranges, overflow, pipelined: no more bytes than the "
            "file, right slices", len(cases) + 2, fails)


def headers(at, rep):
    fails = []
    cases = [
        ("request line 9000 bytes", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", [414], True),
        ("header section 40 KiB", req(["GET /a.txt HTTP/1.1", "Host: x"] + ["X-F%d: %s" % (i, "v" * 1000) for i in range(40)]),
         [431], True),
        ("one header 40 KiB", req(["GET /a.txt HTTP/1.1", "Host: x", "X-Big: " + "v" * 40000]), [431], True),
        ("101 headers", req(["GET /a.txt HTTP/1.1", "Host: x"] + ["X-F%d: v" % i for i in range(101)]), [431], True),
        ("5000 tiny headers", req(["GET /a.txt HTTP/1.1", "Host: x"] + ["A:" for i in range(5000)]), [431], True),
        ("99 headers (allowed)", req(["GET /a.txt HTTP/1.1", "Host: x", "Connection: close"] +
                                     ["X-F%d: v" % i for i in range(96)]), [200], True),
        ("30 KiB headers (allowed)", req(["GET /a.txt HTTP/1.1", "Host: x", "Connection: close"] +
                                         ["X-F%d: %s" % (i, "v" * 1000) for i in range(29)]), [200], True),
    ]
    for name, raw, expect, close in cases:
        f = at.run(name, raw, expect, must_close=close)
        if f:
            fails.append(f)
    # An endless header with no line end: refused once past the limit, without buffering it all.
    n = len(cases) + 1
    try:
        s = rlib.connect(at.port)
        s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        sent = 0
        try:
            while sent < (8 << 20):
                s.sendall(b"v" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        data, closed = rlib.read_until_close(s, idle=3)
        s.close()
        if not data.startswith(b"HTTP/1.1 431") and sent >= (8 << 20):
            fails.append("endless header: %d bytes accepted without a 431 (%r)" % (sent, data[:40]))
    except OSError as e:
        fails.append("endless header: %s" % e)
    if not at.sane():
        fails.append("endless header: next request failed")
    rep.row("huge and many headers", "line > 8 KiB: 414, head > 32 KiB or > 100 fields: 431, endless field cut off",
            n, fails)


def pipelining(at, rep, short):
    fails = []
    n = 2000 if short else 20000
    limit = 1000  # keepalive_requests in this part's configuration
    raw = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" * n
    s = rlib.connect(at.port, timeout=10)
    sender = threading.Thread(target=lambda: _send_quietly(s, raw), daemon=True)
    sender.start()
    data, closed = rlib.read_until_close(s, idle=5)
    sender.join(5)
    s.close()
    rs = rlib.split_responses(data)
    want = min(n, limit)
    ok = sum(1 for r in rs if r[0] == 200 and r[2] == b"alpha\n")
    if ok != want or len(rs) != want or not closed:
        fails.append("flood of %d: %d responses (%d ok), want %d then close (closed=%s)" % (n, len(rs), ok, want, closed))
    elif rs[-1][1].get("connection", "").lower() != "close":
        fails.append("flood: request %d not answered with Connection: close" % limit)
    # Many connections each flooding at once.
    conns = 20 if short else 100
    results = []

    def flood():
        try:
            rs, closed, _ = rlib.exchange(at.port, b"GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n" * 300 +
                                          b"GET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", idle=10, timeout=20)
            results.append(sum(1 for r in rs if r[0] == 200 and r[2] == b"bravo bravo\n") == 301 and closed)
        except OSError:
            results.append(False)
    ts = [threading.Thread(target=flood) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    bad = results.count(False) + (conns - len(results))
    if bad:
        fails.append("%d of %d parallel floods of 301 requests incomplete" % (bad, conns))
    if not at.sane():
        fails.append("after floods: next request failed")
    rep.row("pipelining floods", "%d pipelined requests on one connection (cap %d), %d connections x 301" % (n, limit, conns),
            1 + conns, fails)


def _send_quietly(sock, raw):
    try:
        sock.sendall(raw)
    except OSError:
        pass


def forms(at, rep):
    fails = []
    target = rlib.Backend(lambda h: (200, [], SECRET))
    tp = target.port
    cases = [
        ("HTTP/0.9 GET", b"GET /a.txt\r\n", [400], lambda rs, d: None if d.startswith(b"HTTP/1.1 400") else "not a 1.1 400"),
        ("HTTP/0.9 GET no CRLF then close", b"GET /a.txt\r\n\r\n", [400], None),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", [400, 505], None),
        ("HTTP/3.0 version", b"GET /a.txt HTTP/3.0\r\nHost: x\r\n\r\n", [505], None),
        ("absolute-form to another server", ("GET http://127.0.0.1:%d/secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % tp).encode(),
         [200, 404], None),
        ("absolute-form other host, local file", b"GET http://elsewhere.example/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
         [200], lambda rs, d: None if rs[0][2] == b"alpha\n" else "not the local file"),
        ("absolute-form ftp scheme", b"GET ftp://x/a.txt HTTP/1.1\r\nHost: x\r\n\r\n", [400], None),
        ("absolute-form userinfo", b"GET http://u:p@x/a.txt HTTP/1.1\r\nHost: x\r\n\r\n", [400], None),
        ("CONNECT to a live port", ("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\nGET /secret HTTP/1.1\r\nHost: y\r\n\r\n"
                                    % (tp, tp)).encode(), [400, 405, 501], None),
        ("CONNECT origin-form", b"CONNECT /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", [400], None),
        ("GET authority-form", b"GET x:80 HTTP/1.1\r\nHost: x\r\n\r\n", [400], None),
        ("asterisk with GET", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", [400], None),
    ]
    for name, raw, expect, check in cases:
        # A refused CONNECT leaves the connection in HTTP (RFC 9110 9.3.6): the bytes after it are
        # a new request to this server (not a tunnel), so more responses and keep-alive are allowed.
        tunnel = name.startswith("CONNECT to")
        f = at.run(name, raw, expect, check=check, responses=None if tunnel else 1, must_close=not tunnel)
        if f:
            fails.append(f)
    if target.count():
        fails.append("the server contacted the absolute-form/CONNECT target %d times" % target.count())
    target.stop()
    rep.row("HTTP/0.9, absolute-form, CONNECT", "0.9 and 2.0 lines, absolute-form to another host, CONNECT tunnel: "
            "right status, no request to the target", len(cases), fails)


def hosts(at, rep):
    fails = []
    bad = ["", "a b", "x/../..", "../../etc", "a@b", "[::1", "x:99999", "x:-1", "%2e%2e", "x\\y", "a,b", "x..y",
           ".x", "x:80:80", "[v1.x]", "\x7f"]
    cases = [("missing Host", b"GET /a.txt HTTP/1.1\r\n\r\n"),
             ("two Hosts", b"GET /a.txt HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
             ("two Hosts same", b"GET /a.txt HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n")]
    cases += [("Host %r" % h, ("GET /a.txt HTTP/1.1\r\nHost: %s\r\n\r\n" % h).encode("latin-1"))
              for h in bad if h != ""]
    for name, raw in cases:
        f = at.run(name, raw, [400])
        if f:
            fails.append(f)
    # Empty Host is allowed (RFC 9112 3.2 for an authority without host): default site.
    f = at.run("Host empty", b"GET /a.txt HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n", [200, 400])
    if f:
        fails.append(f)
    rep.row("invalid Host", "missing, repeated, spaces, traversal, userinfo, bad port, bad IPv6: 400 + close",
            len(cases) + 1, fails)


if __name__ == "__main__":
    main()
