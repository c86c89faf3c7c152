"""Differential test: our parser's verdicts against h11 and httptools (llhttp).

Our verdicts come from Fixtures/http/*.expect, which CorpusTests proves the
parser matches. Each case is run through both reference parsers; a verdict
(accept / reject / incomplete) or method that differs from ours must be
explained by an `explain-h11:` / `explain-llhttp:` line in the case's .expect,
and an explanation must not outlive its disagreement.

Generated cases: when CAPUCHIN_VERDICTS names a JSON file written by
`CAPUCHIN_VERDICTS_OUT=... swift test --filter GeneratedVerdictTests`
(random mutations of the corpus's valid requests with our status and reason),
those are compared too; a disagreement there is explained when our reason is
listed in STRICTER (we refuse on purpose) or the reference's complaint is
listed in REFERENCE_STRICTER.

Run: pytest Tools/differential/test_differential.py   (or python3 it for a report)
"""
import json
import os
import pathlib
import sys

import h11
import httptools

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "Fixtures" / "http"

# Our rejection reasons (HTTPParseError.reason prefixes) that are deliberate
# strictness the reference parsers do not share.
STRICTER = {
    "bare LF line ending": "RFC 9112 2.2 lets a recipient accept bare LF; we refuse it (smuggling risk)",
    "bare CR": "a CR not followed by LF",
    "invalid Host": "we validate the Host value (RFC 9112 3.2); the references do not",
    "more than one Host": "RFC 9112 3.2 requires 400; references do not check",
    "missing Host": "RFC 9112 3.2 requires 400; references do not check",
    "path ": "path normalisation refusals (traversal, encoded slash, bad UTF-8) are ours alone",
    "invalid percent-escape in path": "references do not decode the target",
    "encoded ": "references do not decode the target",
    "request-target is not origin-form": "references do not check the target form",
    "asterisk-form": "references do not check the target form",
    "CONNECT needs": "references do not check the target form",
    "invalid authority": "references do not check the target form",
    "userinfo": "references do not check the target form",
    "more than one Content-Length": "we refuse even identical duplicates",
    "invalid character in request-target": "we allow only VCHAR except '#' in the target",
    "whitespace before the first field": "RFC 9112 2.2",
    "obsolete line folding": "RFC 9112 5.2: a server may reject obs-fold; we do",
    "control character in field value": "we refuse every CTL but HTAB in values",
    "too many empty lines": "we skip at most 4 leading CRLFs",
    "Transfer-Encoding": "we accept only a lone final chunked",
    "both Transfer-Encoding and Content-Length": "RFC 9112 6.1 lets a server reject; we do",
    "chunked applied more than once": "RFC 9112 6.1",
    "malformed Transfer-Encoding": "we accept only a lone final chunked",
    "unsupported transfer coding": "we decode no coding but chunked",
    "request line too long": "limits are ours",
    "header section too large": "limits are ours",
    "too many header fields": "limits are ours",
    "HTTP version not supported": "other major versions are 505",
    "malformed HTTP version": "version syntax",
    "request line has no HTTP version": "HTTP/0.9 request lines are 400 for us; llhttp accepts them",
    "empty request-target": "llhttp tolerates extra spaces in the request line; RFC 9112 3 has exactly one SP",
}
# Reference complaints (substrings of its error) where it refuses what we accept.
LLHTTP_METHODS = {"DELETE", "GET", "HEAD", "POST", "PUT", "CONNECT", "OPTIONS", "TRACE", "COPY", "LOCK",
                  "MKCOL", "MOVE", "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND",
                  "ACL", "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE",
                  "UNSUBSCRIBE", "PATCH", "PURGE", "MKCALENDAR", "LINK", "UNLINK", "SOURCE", "QUERY"}


def unknown_method(raw, mine):
    return mine[0] != "ok" or mine[1] not in LLHTTP_METHODS


REFERENCE_STRICTER = {
    # RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line.
    "h11": [("no request line received", lambda raw, mine: raw.startswith(b"\r\n"))],
    # Any token is a method (RFC 9110 9.1; the server answers 501): llhttp knows a fixed list.
    # HTTP/1.x minors above 1 are treated as 1.1 (RFC 9110 2.5).
    "llhttp": [("Invalid method encountered", unknown_method), ("Expected space after method", unknown_method),
               ("Invalid HTTP version", lambda raw, mine: b" HTTP/1." in raw)],
}
# h11 and llhttp wait for the end of a line (h11: the whole head) before judging
# it; we refuse at the first invalid byte, so "incomplete" versus our 4xx is
# the same verdict reached earlier.
# The converse: the reference refuses mid-line where we judge the line at its
# LF; explained only when our verdict on the input plus CRLFCRLF ("closed") is a refusal.
LATE_REJECTION = "the reference refuses before the line ends; we refuse once it does"
EARLY_REJECTION = "we refuse at the first invalid byte; the reference is still waiting for the line to end"


def load_cases(corpus=CORPUS):
    """(name, bytes, expect keys) of every case in `corpus` (also the response corpus)."""
    cases = []
    for http in sorted(corpus.glob("*.http")):
        expect = {}
        for line in http.with_suffix(".expect").read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            expect[key.strip()] = value.strip()
        cases.append((http.stem, http.read_bytes(), expect))
    return cases


def h11_verdict(raw):
    """('ok', method) | ('reject', message) | ('incomplete', None)"""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=65536)
    try:
        conn.receive_data(raw)
        event = conn.next_event()
    except h11.RemoteProtocolError as e:
        return "reject", str(e)
    if isinstance(event, h11.Request):
        return "ok", event.method.decode("latin-1")
    return "incomplete", None


def llhttp_verdict(raw):
    state = {"done": False, "method": None}

    class Proto:
        def on_headers_complete(self):
            if not state["done"]:
                state["method"] = parser.get_method().decode("latin-1")
            state["done"] = True

    parser = httptools.HttpRequestParser(Proto())
    try:
        parser.feed_data(raw)
    except httptools.HttpParserUpgrade:
        pass
    except httptools.HttpParserError as e:
        if not state["done"]:
            return "reject", str(e)
    if state["done"]:
        return "ok", state["method"]
    return "incomplete", None


REFERENCES = {"h11": h11_verdict, "llhttp": llhttp_verdict}


def ours(expect):
    status = expect["status"]
    if status == "ok":
        return "ok", expect.get("method")
    return "reject", status


def compare_corpus():
    """Returns (report rows, problems)."""
    rows, problems = [], []
    for name, raw, expect in load_cases():
        if expect.get("status") == "any":
            continue
        mine = ours(expect)
        for ref, verdict in REFERENCES.items():
            theirs = verdict(raw)
            agree = mine[0] == theirs[0] and (mine[0] != "ok" or mine[1] == theirs[1])
            explained = expect.get("explain-" + ref)
            rows.append((name, ref, mine, theirs, agree, explained))
            if not agree and not explained:
                problems.append(f"{name}: {ref} says {theirs}, we say {mine}; add explain-{ref}")
            if agree and explained:
                problems.append(f"{name}: explain-{ref} present but {ref} agrees now; remove it")
    return rows, problems


CHUNKED_HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


def h11_chunked(raw):
    """('ok', body hex) | ('reject', message) | ('incomplete', None)"""
    conn = h11.Connection(h11.SERVER)
    body = b""
    try:
        conn.receive_data(CHUNKED_HEAD + raw)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                return "incomplete", None
            if isinstance(event, h11.Data):
                body += event.data
            if isinstance(event, h11.EndOfMessage):
                return "ok", body.hex()
    except h11.RemoteProtocolError as e:
        return "reject", str(e)


def llhttp_chunked(raw):
    state = {"body": b"", "done": False}

    class Proto:
        def on_body(self, data):
            if not state["done"]:
                state["body"] += data

        def on_message_complete(self):
            state["done"] = True

    parser = httptools.HttpRequestParser(Proto())
    try:
        parser.feed_data(CHUNKED_HEAD + raw)
    except httptools.HttpParserError as e:
        if not state["done"]:
            return "reject", str(e)
    return ("ok", state["body"].hex()) if state["done"] else ("incomplete", None)


CHUNKED_REFERENCES = {"h11": h11_chunked, "llhttp": llhttp_chunked}
# Our chunked-decoder refusals the references do not share.
CHUNKED_STRICTER = {
    "invalid chunk extension": "we check chunk extensions against RFC 9112 7.1.1; references skip them",
    "bare LF": "we refuse bare LF in chunk lines and trailers",
    "malformed trailer": "trailer lines are checked like header lines",
    "whitespace": "trailer lines are checked like header lines",
    "control character": "trailer lines are checked like header lines",
    "obsolete line folding": "trailer lines are checked like header lines",
    "invalid header field name": "trailer lines are checked like header lines",
    "field line without a colon": "trailer lines are checked like header lines",
    "empty field name": "trailer lines are checked like header lines",
    "framing field in trailer section": "Content-Length/Transfer-Encoding/Host/Trailer are refused in trailers (RFC 9110 6.5.1)",
    "bare CR in chunked framing": "a CR must be followed by LF; h11 lets one through inside chunk extensions",
    "control character in chunked framing": "we refuse CTLs in chunk lines and trailers",
}
CHUNKED_REFERENCE_STRICTER = {
    "h11": [],
    # RFC 9112 7.1.1 allows BWS around ";" and "=" in chunk extensions; llhttp refuses it.
    # Explained only when the input has whitespace next to ";" or "=".
    "llhttp": [("Invalid character in chunk extensions",
                lambda raw: any(p in raw for p in (b" ;", b"; ", b" =", b"= ", b"\t;", b";\t", b"\t=", b"=\t")))],
}


def compare_chunked(items):
    rows, problems = [], []
    for item in items:
        raw = bytes.fromhex(item["hex"])
        status = item["status"]
        mine = ("ok", item["body"]) if status == 200 else (("incomplete", None) if status == 0 else ("reject", item["reason"]))
        for ref, verdict in CHUNKED_REFERENCES.items():
            theirs = verdict(raw)
            agree = mine[0] == theirs[0] and (mine[0] != "ok" or mine[1] == theirs[1])
            why = None
            if not agree:
                if mine[0] == "reject" and theirs[0] == "incomplete":
                    why = EARLY_REJECTION
                elif mine[0] == "reject":
                    why = next((v for k, v in CHUNKED_STRICTER.items() if k in mine[1]), None)
                elif mine[0] == "incomplete" and theirs[0] == "reject" and item.get("closed", 0) not in (0, 200):
                    why = LATE_REJECTION
                elif theirs[0] == "reject":
                    why = next((k for k, applies in CHUNKED_REFERENCE_STRICTER[ref]
                                if k in (theirs[1] or "") and applies(raw)), None)
            rows.append((item["hex"][:40], ref, mine, theirs, agree, why))
            if not agree and not why:
                problems.append(f"chunked {item['hex'][:80]}: {ref} says {theirs}, we say {mine}")
    return rows, problems


def compare_generated(path):
    """Returns (request rows, chunked rows, problems)."""
    rows, problems = [], []
    data = json.loads(pathlib.Path(path).read_text())
    crows, cproblems = compare_chunked(data["chunked"])
    for item in data["requests"]:
        raw = bytes.fromhex(item["hex"])
        mine = ("ok", item["method"]) if item["status"] == 200 else (("incomplete", None) if item["status"] == 0 else ("reject", item["reason"]))
        for ref, verdict in REFERENCES.items():
            theirs = verdict(raw)
            agree = mine[0] == theirs[0] and (mine[0] != "ok" or mine[1] == theirs[1])
            why = None
            if not agree:
                if mine[0] == "reject" and theirs[0] == "incomplete":
                    why = EARLY_REJECTION
                elif mine[0] == "reject":
                    why = next((v for k, v in STRICTER.items() if mine[1].startswith(k) or k in mine[1]), None)
                elif theirs[0] == "reject":
                    why = next((k for k, applies in REFERENCE_STRICTER[ref]
                                if k in (theirs[1] or "") and applies(raw, mine)), None)
            rows.append((item["hex"][:40], ref, mine, theirs, agree, why))
            if not agree and not why:
                problems.append(f"generated {item['hex'][:80]}...: {ref} says {theirs}, we say {mine}")
    return rows, crows, problems + cproblems


def summarize(rows, label, references=tuple(REFERENCES)):
    out = []
    for ref in references:
        mine = [r for r in rows if r[1] == ref]
        agree = sum(1 for r in mine if r[4])
        explained = sum(1 for r in mine if not r[4] and r[5])
        out.append(f"{label} vs {ref}: {len(mine)} cases, {agree} agree, {explained} explained disagreements, "
                   f"{len(mine) - agree - explained} unexplained")
    return out


def test_corpus_against_references():
    rows, problems = compare_corpus()
    assert len({r[0] for r in rows}) >= 150
    assert not problems, "\n".join(problems)


def test_generated_against_references():
    path = os.environ.get("CAPUCHIN_VERDICTS")
    if not path or not os.path.exists(path):
        import pytest
        pytest.skip("set CAPUCHIN_VERDICTS to a file written by GeneratedVerdictTests")
    rows, crows, problems = compare_generated(path)
    assert not problems, "\n".join(problems[:50])


if __name__ == "__main__":
    rows, problems = compare_corpus()
    print("\n".join(summarize(rows, "corpus")))
    if os.environ.get("CAPUCHIN_VERDICTS"):
        grows, crows, gproblems = compare_generated(os.environ["CAPUCHIN_VERDICTS"])
        print("\n".join(summarize(grows, "generated")))
        print("\n".join(summarize(crows, "chunked")))
        problems += gproblems
    if "-v" in sys.argv:
        for r in rows:
            if not r[4]:
                print(r[0], r[1], "ours", r[2], "theirs", r[3], "explained" if r[5] else "UNEXPLAINED")
    print("\n".join(problems[:300]))
    sys.exit(1 if problems else 0)
