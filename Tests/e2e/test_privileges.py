"""Privilege drop (`server.user` / `server.group`): started as root, the server
binds, opens its state and logs, then runs as the user. Needs root."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, free_port, make_docroot
from test_service import get, stop, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the privilege drop needs root")

USER = "nobody"


@pytest.fixture
def world(tmp_path):
    """A directory every user can traverse (pytest's tmp dirs are root-only 0700)."""
    d = tempfile.mkdtemp(prefix="capuchin-priv-", dir="/tmp")
    os.chmod(d, 0o755)
    root = os.path.join(d, "www")
    os.mkdir(root)
    make_docroot(root)
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    logs = os.path.join(d, "logs")
    os.mkdir(logs)
    pw = pwd.getpwnam(USER)
    os.chown(logs, pw.pw_uid, pw.pw_gid)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def config(d, port, extra=""):
    return ("server:\n  listen: 127.0.0.1\n  port: %d\n  workers: 2\n  user: %s\n  state_dir: %s/state\n%s"
            "sites:\n  - root: %s/www\n    default: true\n"
            "logging:\n  error_log: %s/logs/error.log\n  access_log: %s/logs/access.log\n"
            % (port, USER, d, extra, d, d, d))


def launch(d, text):
    path = os.path.join(d, "capuchin.yaml")
    with open(path, "w") as f:
        f.write(text)
    out = open(os.path.join(d, "stdout.log"), "a")
    return subprocess.Popen([BIN, "serve", "--config", path], stdout=out, stderr=subprocess.STDOUT,
                            env=dict(os.environ, SWIFT_BACKTRACE="enable=no"))


def wait_serving(proc, port, d):
    def up():
        assert proc.poll() is None, open(os.path.join(d, "stdout.log")).read()
        try:
            return get(port, "/a.txt")[0] == 200
        except OSError:
            return False
    wait_for(up, "server answers", timeout=15)


def ids(pid):
    status = open("/proc/%d/status" % pid).read().splitlines()
    fields = dict(l.split(":", 1) for l in status)
    return ([int(x) for x in fields["Uid"].split()], [int(x) for x in fields["Gid"].split()],
            [int(x) for x in fields["Groups"].split()])


def owners(top):
    found = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            found[p] = os.lstat(p).st_uid
        found[dirpath] = os.lstat(dirpath).st_uid
    return found


def test_drops_to_user_owns_its_files_serves_caches_and_survives_kill_9(world):
    d = world
    pw = pwd.getpwnam(USER)
    port = free_port()
    proc = launch(d, config(d, port))
    try:
        wait_serving(proc, port, d)
        uids, gids, groups = ids(proc.pid)
        assert uids == [pw.pw_uid] * 4          # real, effective, saved, filesystem
        assert gids == [pw.pw_gid] * 4
        assert groups == [pw.pw_gid]
        # Threads started before the drop (store writer, loaders) dropped too.
        for tid in os.listdir("/proc/%d/task" % proc.pid):
            assert ids(int(tid))[0] == [pw.pw_uid] * 4, tid
        # Caches: the second request is a hit.
        assert get(port, "/b.txt")[1].get("x-cache") == "MISS"
        assert get(port, "/b.txt")[1].get("x-cache") == "HIT"
        time.sleep(1.5)   # past the store's commit interval and the log writer's flush
        wait_for(lambda: os.path.exists(os.path.join(d, "logs/access.log")) and
                 "/b.txt" in open(os.path.join(d, "logs/access.log")).read(), "access log written")
        for top in ("state", "logs"):
            own = owners(os.path.join(d, top))
            assert own and set(own.values()) == {pw.pw_uid}, own
        assert os.path.exists(os.path.join(d, "state/cache/data.mdb"))
        proc.kill()
        proc.wait()
        # Restarted as root again: the state directory is the user's, the store warm.
        proc = launch(d, config(d, port))
        wait_serving(proc, port, d)
        assert ids(proc.pid)[0] == [pw.pw_uid] * 4
        assert get(port, "/b.txt")[1].get("x-cache") == "HIT"
        assert get(port, "/c.txt")[0] == 200
        own = owners(os.path.join(d, "state"))
        assert set(own.values()) == {pw.pw_uid}, own
    finally:
        stop(proc)
    log = open(os.path.join(d, "logs/error.log")).read()
    assert "running as %s (uid %d" % (USER, pw.pw_uid) in log
    assert "running as root" not in log


def test_state_directory_of_another_user_is_a_start_error(world):
    d = world
    os.mkdir(os.path.join(d, "state"))      # owned by root, not by nobody
    port = free_port()
    proc = launch(d, config(d, port))
    assert proc.wait(30) == 2
    out = open(os.path.join(d, "stdout.log")).read()
    assert "capuchin.yaml:6: server.state_dir: '%s/state' is owned by root, not by server.user 'nobody'" % d in out, out
    assert "chown -R nobody %s/state" % d in out
    r = subprocess.run([BIN, "check", "--config", os.path.join(d, "capuchin.yaml")], capture_output=True, text=True)
    assert r.returncode == 2 and "server.state_dir" in r.stderr and "is owned by root" in r.stderr, r.stderr


def test_unknown_group_is_a_start_error(world):
    d = world
    proc = launch(d, config(d, free_port(), extra="  group: no-such-group-xyz\n"))
    assert proc.wait(30) == 2
    out = open(os.path.join(d, "stdout.log")).read()
    assert "capuchin.yaml:7: server.group: no such group 'no-such-group-xyz'" in out, out


def test_notifications_and_log_reopen_work_after_the_drop(world):
    """The notify socket is writable by root only (0755): it was connected before
    the drop, so STOPPING=1 still arrives. SIGUSR1 reopens the logs as the user."""
    from test_service import Notified
    d = world
    pw = pwd.getpwnam(USER)
    n = Notified(os.path.join(d, "notify.sock"))
    os.chmod(n.path, 0o755)
    port = free_port()
    path = os.path.join(d, "capuchin.yaml")
    with open(path, "w") as f:
        f.write(config(d, port))
    out = open(os.path.join(d, "stdout.log"), "a")
    proc = subprocess.Popen([BIN, "serve", "--config", path], stdout=out, stderr=subprocess.STDOUT,
                            env=dict(os.environ, SWIFT_BACKTRACE="enable=no", NOTIFY_SOCKET=n.path))
    try:
        assert n.next().get("READY") == "1"
        assert ids(proc.pid)[0] == [pw.pw_uid] * 4
        assert get(port, "/a.txt?before")[0] == 200
        access = os.path.join(d, "logs/access.log")
        wait_for(lambda: os.path.exists(access) and "before" in open(access).read(), "first line logged")
        os.rename(access, access + ".1")
        proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: os.path.exists(access), "access log reopened")
        assert os.stat(access).st_uid == pw.pw_uid
        assert get(port, "/a.txt?after")[0] == 200
        wait_for(lambda: "after" in open(access).read(), "next line in the new file")
        proc.send_signal(signal.SIGTERM)
        assert n.next().get("STOPPING") == "1"
        assert proc.wait(15) == 0
    finally:
        stop(proc)
        n.close()
