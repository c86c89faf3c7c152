"""Tools/install.sh into a temporary prefix: the binaries run, the unit passes
`systemd-analyze verify` (when the tool exists), the example configuration
checks clean, a second run keeps an edited configuration, --uninstall leaves
the cache and logs; --deb packages the same files."""
import os
import shutil
import subprocess

import pytest

from conftest import BIN, REPO, free_port

INSTALL = os.path.join(REPO, "Tools", "install.sh")


def layout(p):
    return ["--prefix", "%s/usr" % p, "--sysconfdir", "%s/etc" % p, "--statedir", "%s/var/lib/capuchin" % p,
            "--logdir", "%s/var/log/capuchin" % p, "--wwwdir", "%s/www" % p, "--unitdir", "%s/etc/systemd/system" % p,
            "--logrotatedir", "%s/etc/logrotate.d" % p]


def install(p, *extra):
    bins = os.path.dirname(BIN)
    assert os.path.exists(os.path.join(bins, "cachedump")), "cachedump must be built beside capuchin"
    r = subprocess.run(["bash", INSTALL] + layout(p) + ["--binaries", bins] + list(extra),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.fixture
def prefix(tmp_path):
    return str(tmp_path / "root")


def test_install_runs_verifies_and_upgrades_keeping_the_edited_config(prefix):
    # `nobody` exists everywhere: the example then names a real user and no user is created.
    install(prefix, "--user", "nobody")
    capuchin, cachedump = prefix + "/usr/bin/capuchin", prefix + "/usr/bin/cachedump"
    version = subprocess.run([capuchin, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("capuchin "), version
    assert subprocess.run([cachedump, "--help"], capture_output=True).returncode == 0

    unit = prefix + "/etc/systemd/system/capuchin.service"
    text = open(unit).read()
    for line in ["Type=notify", "ExecStart=%s serve --config %s/etc/capuchin/capuchin.yaml" % (capuchin, prefix),
                 "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ReadWritePaths=%s/var/lib/capuchin %s/var/log/capuchin" % (prefix, prefix), "LimitNOFILE=16384"]:
        assert line + "\n" in text, line
    assert "CAP_NET_BIND_SERVICE" in text
    assert "@" not in text.replace("$MAINPID", "")        # every placeholder filled

    snippet = prefix + "/etc/logrotate.d/capuchin"
    rotate = open(snippet).read()
    assert "%s/var/log/capuchin/*.log" % prefix in rotate and "--signal=USR1" in rotate
    if shutil.which("logrotate"):
        open(prefix + "/var/log/capuchin/access.log", "w").close()
        # Debug mode parses the snippet and changes nothing. (Stat errors on the logs
        # themselves are expected: `su` to the user cannot enter pytest's 0700 tmp dir.)
        r = subprocess.run(["logrotate", "-d", "-s", prefix + "/logrotate.state", snippet], capture_output=True, text=True)
        out = r.stdout + r.stderr
        assert "rotating pattern: %s/var/log/capuchin/*.log" % prefix in out, out
        assert "error: %s:" % snippet not in out and "found error" not in out, out
    else:
        print("logrotate not installed: snippet parse skipped")

    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    else:
        print("systemd-analyze not installed (Debian package systemd): unit verification skipped")

    config = prefix + "/etc/capuchin/capuchin.yaml"
    r = subprocess.run([capuchin, "serve", "--config", config, "--check", "--port", str(free_port())],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

    edited = open(config).read().replace("max_connections: 10000", "max_connections: 40000")
    assert "max_connections: 40000" in edited
    with open(config, "w") as f:
        f.write(edited + "# edited by the operator\n")
    r = install(prefix, "--user", "nobody")
    assert open(config).read() == edited + "# edited by the operator\n"
    assert "kept your" in r.stdout
    # The upgraded unit's descriptor limit follows the kept config: 40000 + 1024, rounded up to 1024.
    assert "LimitNOFILE=41984\n" in open(unit).read()
    assert not open(config + ".example").read().endswith("# edited by the operator\n")

    # The cache and logs outlive an uninstall; what was installed does not.
    os.makedirs(prefix + "/var/lib/capuchin/cache", exist_ok=True)
    open(prefix + "/var/lib/capuchin/cache/data.mdb", "w").close()
    open(prefix + "/var/log/capuchin/access.log", "w").close()
    r = subprocess.run(["bash", INSTALL, "--uninstall"] + layout(prefix), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for gone in [capuchin, cachedump, unit, prefix + "/etc/logrotate.d/capuchin", config + ".example"]:
        assert not os.path.exists(gone), gone
    assert os.path.exists(prefix + "/var/lib/capuchin/cache/data.mdb")
    assert os.path.exists(prefix + "/var/log/capuchin/access.log")
    assert os.path.exists(config)            # edited: kept


def test_uninstall_removes_an_unedited_config(prefix):
    install(prefix, "--no-user")
    r = subprocess.run(["bash", INSTALL, "--uninstall"] + layout(prefix), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(prefix + "/etc/capuchin/capuchin.yaml")


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not installed")
def test_deb_package_holds_the_same_files(tmp_path):
    bins = os.path.dirname(BIN)
    r = subprocess.run(["bash", INSTALL, "--deb", "--binaries", bins], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    deb = os.path.join(REPO, r.stdout.strip().splitlines()[-1])
    try:
        contents = subprocess.run(["dpkg-deb", "--contents", deb], capture_output=True, text=True).stdout
        for path in ["./usr/bin/capuchin", "./usr/bin/cachedump", "./etc/systemd/system/capuchin.service",
                     "./etc/logrotate.d/capuchin", "./etc/capuchin/capuchin.yaml"]:
            assert path in contents, path
        conffiles = subprocess.run(["dpkg-deb", "--info", deb, "conffiles"], capture_output=True, text=True).stdout
        assert conffiles.strip() == "/etc/capuchin/capuchin.yaml"
        unit = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True).stdout
        assert b"ExecStart=/usr/bin/capuchin serve --config /etc/capuchin/capuchin.yaml" in unit
    finally:
        os.remove(deb)
