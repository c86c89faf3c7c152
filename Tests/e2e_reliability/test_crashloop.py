"""CI version of Tools/reliability/part_crashloop.py: kill -9 under load (file
cache and proxy cache) and at chosen syscalls; every row must have no failures."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tools", "reliability"))
import faultlib  # noqa: E402


def test_crashloop_short():
    faultlib.run_part_short("crashloop")
