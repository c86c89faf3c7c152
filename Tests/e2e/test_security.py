"""Paths that try to leave the document root never yield the file."""
import os

import pytest

from conftest import read_response

SECRET = b"top secret outside the root\n"


@pytest.fixture
def outside(tmp_path, docroot):
    secret_dir = tmp_path / "private"
    secret_dir.mkdir()
    (secret_dir / "secret.txt").write_bytes(SECRET)
    os.symlink(str(secret_dir / "secret.txt"), os.path.join(docroot, "escape.txt"))
    os.symlink(str(secret_dir), os.path.join(docroot, "escapedir"))
    os.symlink("../private/secret.txt", os.path.join(docroot, "relative-escape.txt"))
    os.symlink("a.txt", os.path.join(docroot, "inside-link.txt"))
    return str(secret_dir)


def raw_get(server, target):
    s = server.connect()
    s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    st, h, body, _ = read_response(s)
    s.close()
    return st, body


@pytest.mark.parametrize("target", [
    b"/../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/%2E%2E/%2e%2E/etc/passwd",
    b"/sub/../../etc/passwd", b"/..%2f..%2fetc%2fpasswd", b"/%2e%2e%5c%2e%2e%5cetc/passwd",
    b"/./../private/secret.txt", b"/a.txt%00.html",
])
def test_traversal_attempts_refused(server, outside, target):
    st, body = raw_get(server, target)
    assert st in (400, 403, 404), (target, st)
    assert b"root:" not in body and SECRET not in body


@pytest.mark.parametrize("target", [b"/escape.txt", b"/escapedir/secret.txt", b"/relative-escape.txt"])
def test_symlinks_out_of_root_refused(server, outside, target):
    st, body = raw_get(server, target)
    assert st in (403, 404), (target, st)
    assert SECRET not in body


def test_symlink_inside_root_served(server, outside):
    st, body = raw_get(server, b"/inside-link.txt")
    assert (st, body) == (200, b"alpha\n")


def test_allow_symlinks_site_follows_them(server_factory, docroot, outside):
    from conftest import config_text
    sites = "  - root: %s\n    default: true\n    allow_symlinks: true\n" % docroot
    s = server_factory(config_text(docroot, sites=sites))
    st, body = raw_get(s, b"/escape.txt")
    assert (st, body) == (200, SECRET)
    # Still no ".." past the root.
    st, body = raw_get(s, b"/%2e%2e/private/secret.txt")
    assert st in (400, 403, 404) and SECRET not in body
