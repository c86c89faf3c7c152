"""Virtual hosts: exact name, then wildcard, then the default site."""
from conftest import config_text, read_response


def test_sites_chosen_by_host(server_factory, tmp_path):
    roots = {}
    for name in ["default", "exact", "wild"]:
        d = tmp_path / name
        d.mkdir()
        (d / "who.txt").write_bytes(name.encode())
        roots[name] = str(d)
    sites = (
        "  - root: %(default)s\n    default: true\n"
        "  - names: [exact.test]\n    root: %(exact)s\n"
        "  - names: ['*.wild.test']\n    root: %(wild)s\n" % roots)
    s = server_factory(config_text(roots["default"], sites=sites))
    for host, want in [(b"exact.test", b"exact"), (b"EXACT.test:8080", b"exact"), (b"a.wild.test", b"wild"),
                       (b"b.c.wild.test", b"wild"), (b"wild.test", b"default"), (b"other.test", b"default")]:
        c = s.connect()
        c.sendall(b"GET /who.txt HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        st, _, body, _ = read_response(c)
        c.close()
        assert (st, body) == (200, want), host
