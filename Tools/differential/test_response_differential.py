"""Differential test of the response side: HTTPCore's ResponseParser against
h11 (client side) and httptools (llhttp's response parser).

Our verdicts come from Fixtures/http-responses/*.expect, which
ResponseCorpusTests proves the parser matches. A verdict is `ok` (the final
status code and the decoded body), `reject` or `incomplete`:

- h11 is told the request method and gets the end of the connection after the
  bytes, as our corpus cases do, so it is compared with our verdict as written.
- httptools cannot be told either (no EOF, no method), so it is compared with
  our verdict *without* the end of the connection: a close-delimited body or a
  response cut short is `incomplete`; responses to HEAD are skipped.

A corpus disagreement must be explained by an `explain-h11:` /
`explain-llhttp:` line in the case's .expect, and an explanation must not
outlive its disagreement.

Generated cases: CAPUCHIN_RESPONSE_VERDICTS names a JSON file written by
`CAPUCHIN_RESPONSE_VERDICTS_OUT=... swift test --filter GeneratedResponseVerdictTests`
(random mutations of the corpus's valid responses with both of our verdicts);
a disagreement there is explained when our reason is listed in STRICTER (we
refuse on purpose) or the reference's complaint in REFERENCE_STRICTER.

Run: pytest Tools/differential/test_response_differential.py   (or python3 it for a report)
"""
import json
import os
import pathlib
import sys

import h11
import httptools

from test_differential import load_cases, summarize

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "Fixtures" / "http-responses"

# Our refusals (ResponseParseError.reason substrings) that are deliberate
# strictness the reference parsers do not share.
STRICTER = {
    "bare LF": "RFC 9112 2.2 lets a recipient accept bare LF; we refuse it (smuggling risk)",
    "bare CR": "a CR not followed by LF",
    "obsolete line folding": "RFC 9112 5.2: a proxy must replace obs-fold or reject; we reject",
    "whitespace before the first field": "RFC 9112 2.2",
    "control character": "we refuse every CTL but HTAB in field values, reason phrases and chunk lines",
    "unsupported HTTP version": "only HTTP/1.0 and HTTP/1.1 are relayed",
    "101 Switching Protocols was not requested": "we never ask to upgrade",
    "conflicting Content-Length": "RFC 9112 6.3: differing lengths are unrecoverable",
    "invalid Content-Length": "digits only, at most 18",
    "empty Content-Length": "a Content-Length without a value",
    "unsupported transfer coding": "we relay only a lone chunked coding; another coding is neither decoded nor guessed at",
    "Transfer-Encoding in an HTTP/1.0 response": "RFC 9112 6.1: ambiguous framing",
    "both Transfer-Encoding and Content-Length": "RFC 9112 6.3: ambiguous framing is refused, not resolved",
    "invalid chunk extension": "we check chunk extensions against RFC 9112 7.1.1; references skip them",
    "framing field in trailer section": "Content-Length/Transfer-Encoding/Host/Trailer are refused in trailers (RFC 9110 6.5.1)",
    "malformed trailer": "trailer lines are checked like header lines",
    "invalid header field name": "field names are tokens, no whitespace before the colon",
    "without a colon": "every field line has a colon",
    "empty field name": "every field line has a name",
    "status code is not three digits": "RFC 9112 4: exactly three digits, then SP or the end of the line",
    "out of range": "status codes are 100-599",
    "malformed status line": "RFC 9112 4: HTTP-version SP 3DIGIT",
    "too many interim": "limits are ours",
    "header fields": "limits are ours",
    "response head larger than": "limits are ours",
    "chunk size too large": "limits are ours (15 hex digits)",
}
# Reference complaints (substrings of its error) where it refuses what we accept.
def no_body_status(raw, mine, method):
    """RFC 9112 6.3 rule 1: the final response answers HEAD or is 204/304, so it
    has no body whatever its framing fields say."""
    return mine[0] == "ok" and (mine[1][0] in (204, 304) or method == "HEAD")


def bws_before_semicolon(raw, mine, method):
    return any(p in raw for p in (b" ;", b"\t;"))


def same_lengths(raw, mine, method):
    """Every Content-Length field and list element holds the same digits (RFC 9112 6.3 rule 5)."""
    values = set()
    for line in raw.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            values |= {v.strip(b" \t") for v in line[15:].split(b",")}
    return mine[0] == "ok" and (len(values) == 1 or no_body_status(raw, mine, method))


def accepted(raw, mine, method):
    return mine[0] == "ok"


REFERENCE_STRICTER = {
    "h11": [
        # Framing fields of a response without a body (HEAD, 204, 304) are not read.
        ("Only Transfer-Encoding: chunked is supported", no_body_status),
        ("multiple Transfer-Encoding headers", no_body_status),
        ("bad Content-Length", no_body_status),
        ("conflicting Content-Length headers", no_body_status),
        # RFC 9112 7.1.1 allows BWS before the ";" of a chunk extension.
        ("illegal chunk header", bws_before_semicolon),
    ],
    "llhttp": [
        ("Duplicate Content-Length", same_lengths),
        ("Invalid character in Content-Length", same_lengths),
        ("Empty Content-Length", no_body_status),
        ("can't be present with", no_body_status),
        ("Invalid character in chunk size", bws_before_semicolon),
        # Bytes after a `Connection: close` response: we end the response there and drop the connection.
        ("Data after `Connection: close`", accepted),
    ],
}
EARLY_REJECTION = "we refuse at the first invalid byte; the reference is still waiting for more"
# The converse: the reference refuses a line before the head ends; we parse the
# head once it has ended. Explained only when our verdict on the input plus
# CRLFCRLF ("closed") is a refusal.
LATE_REJECTION = "the reference refuses before the head ends; we refuse once it does"


def h11_verdict(raw, method):
    """('ok', (code, body hex)) | ('reject', message) | ('incomplete', None), after EOF."""
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=65536)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "a")]))
    conn.send(h11.EndOfMessage())
    code, body = None, b""
    try:
        conn.receive_data(raw)
        conn.receive_data(b"")
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return "incomplete", None
            if isinstance(event, h11.Response):
                code = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return "ok", (code, body.hex())
            elif isinstance(event, h11.ConnectionClosed):
                return "reject", "connection closed before the response"
    except h11.RemoteProtocolError as e:
        return "reject", str(e)


def llhttp_verdict(raw):
    """The same, without EOF or method (httptools exposes neither)."""
    state = {"code": None, "final": None, "body": b"", "done": False}

    class Proto:
        def on_headers_complete(self):
            if not state["done"]:
                state["code"] = parser.get_status_code()

        def on_body(self, data):
            if not state["done"]:
                state["body"] += data

        def on_message_complete(self):
            if not state["done"] and state["code"] is not None and state["code"] >= 200:
                state["done"] = True
                state["final"] = state["code"]

    parser = httptools.HttpResponseParser(Proto())
    try:
        parser.feed_data(raw)
    except httptools.HttpParserUpgrade:
        if not state["done"]:
            return "reject", "upgrade"
    except httptools.HttpParserError as e:
        if not state["done"]:
            return "reject", str(e)
    if state["done"]:
        return "ok", (state["final"], state["body"].hex())
    return "incomplete", None


def ours_from_expect(expect):
    """Our verdicts (with EOF, without EOF) as written in a corpus .expect."""
    if expect["status"] == "ok":
        body = expect.get("body")
        payload = (int(expect["code"]), body.encode("utf-8").hex() if body is not None else None)
        at_eof = ("ok", payload)
        open_ = ("incomplete", None) if expect.get("framing") == "close" else at_eof
        return at_eof, open_
    reason = expect["error"]
    at_eof = ("reject", reason)
    return at_eof, (("incomplete", None) if any(k in reason for k in CUT_SHORT) else at_eof)


# Our reasons for a response the connection's end cut short (finishAtEOF):
# without the end, the verdict is "incomplete".
CUT_SHORT = ("connection closed", "before the body was complete", "inside the response head", "before any response")


def agrees(mine, theirs):
    if mine[0] != theirs[0]:
        return False
    if mine[0] != "ok":
        return True
    (code, body), (their_code, their_body) = mine[1], theirs[1]
    return code == their_code and (body is None or body == their_body)


def interim_with_framing(raw):
    """The first response is a 1xx with Content-Length or Transfer-Encoding."""
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    return (head.startswith(b"http/1.") and head[9:10] == b"1"
            and (b"\r\ncontent-length" in head or b"\r\ntransfer-encoding" in head))


INTERIM_FRAMING = ("RFC 9112 6.3 rule 1: a 1xx response ends at its empty line whatever its framing fields say; "
                   "the references read them")


def explain(mine, theirs, ref, raw, method, closed=None):
    """Why a generated disagreement is expected, or None."""
    if mine[0] != "reject" and interim_with_framing(raw):
        return INTERIM_FRAMING
    if mine[0] == "incomplete" and theirs[0] == "reject" and closed == "reject":
        return LATE_REJECTION
    if mine[0] == "reject" and theirs[0] == "incomplete":
        return EARLY_REJECTION
    if mine[0] == "reject":
        return next((v for k, v in STRICTER.items() if k in mine[1]), None)
    if theirs[0] == "reject":
        return next((k for k, applies in REFERENCE_STRICTER[ref] if k in (theirs[1] or "") and applies(raw, mine, method)), None)
    return None


def compare_corpus():
    """Returns (report rows, problems)."""
    rows, problems = [], []
    for name, raw, expect in load_cases(CORPUS):
        if expect.get("status") == "any":
            continue
        at_eof, open_ = ours_from_expect(expect)
        method = expect.get("request", "GET")
        runs = [("h11", at_eof, h11_verdict(raw, method))]
        if method == "GET":
            runs.append(("llhttp", open_, llhttp_verdict(raw)))
        for ref, mine, theirs in runs:
            agree = agrees(mine, theirs)
            explained = expect.get("explain-" + ref)
            rows.append((name, ref, mine, theirs, agree, explained))
            if not agree and not explained:
                problems.append(f"{name}: {ref} says {theirs}, we say {mine}; add explain-{ref}")
            if agree and explained:
                problems.append(f"{name}: explain-{ref} present but {ref} agrees now; remove it")
    return rows, problems


def verdict_of(record):
    if record["state"] == "ok":
        return "ok", (record["code"], record["body"])
    if record["state"] == "incomplete":
        return "incomplete", None
    return "reject", record["reason"]


def compare_generated(path):
    rows, problems = [], []
    for item in json.loads(pathlib.Path(path).read_text())["responses"]:
        raw = bytes.fromhex(item["hex"])
        runs = [("h11", verdict_of(item["eof"]), h11_verdict(raw, item["method"]))]
        if item["method"] == "GET":
            runs.append(("llhttp", verdict_of(item["open"]), llhttp_verdict(raw)))
        for ref, mine, theirs in runs:
            agree = agrees(mine, theirs)
            why = None if agree else explain(mine, theirs, ref, raw, item["method"], item.get("closed"))
            rows.append((item["hex"][:40], ref, mine, theirs, agree, why))
            if not agree and not why:
                problems.append(f"generated {item['hex'][:160]} ({item['method']}): {ref} says {theirs}, we say {mine}")
    return rows, problems


def test_response_corpus_against_references():
    rows, problems = compare_corpus()
    assert len({r[0] for r in rows}) >= 100
    assert not problems, "\n".join(problems)


def test_generated_responses_against_references():
    path = os.environ.get("CAPUCHIN_RESPONSE_VERDICTS")
    if not path or not os.path.exists(path):
        import pytest
        pytest.skip("set CAPUCHIN_RESPONSE_VERDICTS to a file written by GeneratedResponseVerdictTests")
    rows, problems = compare_generated(path)
    assert not problems, "\n".join(problems[:50])


if __name__ == "__main__":
    rows, problems = compare_corpus()
    print("\n".join(summarize(rows, "response corpus", ("h11", "llhttp"))))
    if os.environ.get("CAPUCHIN_RESPONSE_VERDICTS"):
        grows, gproblems = compare_generated(os.environ["CAPUCHIN_RESPONSE_VERDICTS"])
        print("\n".join(summarize(grows, "generated responses", ("h11", "llhttp"))))
        problems += gproblems
    if "-v" in sys.argv:
        for r in rows:
            if not r[4]:
                print(r[0], r[1], "ours", r[2], "theirs", r[3], "explained" if r[5] else "UNEXPLAINED")
    print("\n".join(problems[:300]))
    sys.exit(1 if problems else 0)
