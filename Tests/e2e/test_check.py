"""`capuchin check --config FILE` and `serve --check`: exit 0 for a good file, 2
naming file, line and key for every error found; `capuchin --version`."""
import contextlib
import os
import re
import socket
import subprocess

import pytest

from conftest import BIN, REPO, free_port


def run(*args):
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=60, env=env)


def write(tmp_path, text, name="capuchin.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def good_config(tmp_path, port):
    root = tmp_path / "www"
    root.mkdir(exist_ok=True)
    (root / "index.html").write_text("hi\n")
    return ("server:\n  listen: 127.0.0.1\n  port: %d\n  state_dir: %s\n"
            "sites:\n  - root: %s\n    default: true\n"
            "logging:\n  access_log: %s\n  access_log_format: json\n"
            % (port, tmp_path / "state", root, tmp_path / "access.log"))


def test_version_names_the_git_revision():
    r = run("--version")
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"capuchin (\d+\.\d+\.\d+) \(git (\S+)\)\n", r.stdout)
    assert m, r.stdout
    rev = m.group(2)
    if rev == "unknown":
        pytest.skip("built outside a git checkout")
    # `git describe` output: the abbreviated commit is a real object of this repository.
    sha = re.search(r"(?:^|-g)([0-9a-f]{7,40})(?:-dirty)?$", rev)
    assert sha, rev
    git = subprocess.run(["git", "-C", REPO, "cat-file", "-t", sha.group(1)], capture_output=True, text=True)
    if git.returncode != 0 and "not a git repository" in git.stderr:
        pytest.skip("no git repository at the source tree")
    assert git.stdout.strip() == "commit", (rev, git.stderr)


def test_good_config_exits_0(tmp_path):
    path = write(tmp_path, good_config(tmp_path, free_port()))
    r = run("check", "--config", path)
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout
    # Nothing was started or created by the check.
    assert not (tmp_path / "state").exists()
    assert not (tmp_path / "access.log").exists()
    r = run("serve", "--config", path, "--check")
    assert r.returncode == 0, r.stderr


BROKEN = {
    # name: (config text with {root} {port}, [(line, key, words)])
    "unknown key": ("server:\n  port: {port}\n  keepalive_timeot: 5\nsites:\n  - root: {root}\n",
                    [(3, "server.keepalive_timeot", "unknown key")]),
    "bad type": ("server:\n  port: {port}\n  workers: many\nsites:\n  - root: {root}\n",
                 [(3, "server.workers", "expected an integer")]),
    "missing root": ("server:\n  port: {port}\nsites:\n  - root: {root}/nowhere\n",
                     [(4, "sites[0].root", "does not exist")]),
    "bad format": ("server:\n  port: {port}\nsites:\n  - root: {root}\nlogging:\n  access_log_format: xml\n",
                   [(6, "logging.access_log_format", "expected one of combined, json")]),
    "unknown user": ("server:\n  port: {port}\n  user: no-such-user-xyz\nsites:\n  - root: {root}\n",
                     [(3, "server.user", "no such user")]),
    "log directory missing": ("server:\n  port: {port}\nsites:\n  - root: {root}\nlogging:\n  access_log: {root}/none/a.log\n",
                              [(6, "logging.access_log", "does not exist")]),
    "plugin section": ("server:\n  port: {port}\nsites:\n  - root: {root}\ncache:\n  polcy: lru\n",
                       [(6, "cache.polcy", "unknown key")]),
    "every error at once": (
        "server:\n  port: {port}\n  workers: many\n  keepalive_timeot: 5\nsites:\n  - root: {root}/nowhere\n"
        "logging:\n  level: loud\ncache:\n  capacity_bytes: lots\n",
        [(3, "server.workers", "expected an integer"), (4, "server.keepalive_timeot", "unknown key"),
         (6, "sites[0].root", "does not exist"), (8, "logging.level", "expected one of"),
         (10, "cache.capacity_bytes", "expected a size")]),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
@pytest.mark.parametrize("command", ["check", "serve --check"])
def test_broken_config_exits_2_naming_file_line_key(tmp_path, name, command):
    text, expected = BROKEN[name]
    root = tmp_path / "www"
    root.mkdir()
    path = write(tmp_path, text.format(root=root, port=free_port()))
    args = ["check", "--config", path] if command == "check" else ["serve", "--config", path, "--check"]
    r = run(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    for line, key, words in expected:
        want = "%s:%d: %s: " % (path, line, key)
        hits = [l for l in r.stderr.splitlines() if l.startswith(want)]
        assert hits and words in hits[0], (want, words, r.stderr)
    assert "%d error" % len(expected) in r.stderr, r.stderr


@contextlib.contextmanager
def held_port():
    """A loopback port some other socket listens on."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


def test_port_in_use_is_named(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    with held_port() as port:
        path = write(tmp_path, "server:\n  listen: 127.0.0.1\n  port: %d\nsites:\n  - root: %s\n" % (port, root))
        r = run("check", "--config", path)
    assert r.returncode == 2
    assert re.search(r"^%s:3: server\.port: cannot listen on 127\.0\.0\.1:%d: .*in use" % (re.escape(path), port),
                     r.stderr, re.M), r.stderr


def test_admin_port_in_use_is_named(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    with held_port() as admin_port:
        path = write(tmp_path, "server:\n  listen: 127.0.0.1\n  port: %d\nsites:\n  - root: %s\nplugins:\n  admin: true\n"
                               "admin:\n  port: %d\n" % (free_port(), root, admin_port))
        r = run("check", "--config", path)
    assert r.returncode == 2
    assert "%s:9: admin.port: cannot listen on 127.0.0.1:%d" % (path, admin_port) in r.stderr, r.stderr


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "server:\n  port: 1\n   bad: [\n")
    r = run("check", "--config", path)
    assert r.returncode == 2
    assert re.search(r"^%s:\d+: YAML syntax error" % re.escape(path), r.stderr, re.M), r.stderr


def test_unreadable_file_is_an_error(tmp_path):
    r = run("check", "--config", str(tmp_path / "absent.yaml"))
    assert r.returncode == 2
    assert "absent.yaml: cannot read the file" in r.stderr


def test_serve_names_the_line_of_a_missing_root_at_start(tmp_path):
    path = write(tmp_path, "server:\n  listen: 127.0.0.1\n  port: %d\n  state_dir: %s\nsites:\n  - root: %s\n"
                 % (free_port(), tmp_path / "state", tmp_path / "nowhere"))
    r = run("serve", "--config", path)
    assert r.returncode == 2
    assert "%s:6: sites[0].root: " % path in r.stderr + r.stdout, r.stderr


def test_serve_reports_every_error_of_the_file_at_start(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    path = write(tmp_path, "server:\n  port: %d\n  workers: many\n  keepalive_timeot: 5\nsites:\n  - root: %s\n"
                 "cache:\n  polcy: lru\n" % (free_port(), root))
    r = run("serve", "--config", path)
    assert r.returncode == 2
    out = r.stderr + r.stdout
    assert "%s:3: server.workers: expected an integer" % path in out, out
    assert "%s:4: server.keepalive_timeot: unknown key" % path in out, out
    # A plugin's section is validated when the plugin is built: its error is named too.
    r = run("serve", "--config", write(tmp_path, "server:\n  port: %d\nsites:\n  - root: %s\ncache:\n  polcy: lru\n"
                                       % (free_port(), root), name="plugin.yaml"))
    assert r.returncode == 2
    assert "plugin.yaml:6: cache.polcy: unknown key" in r.stderr + r.stdout
