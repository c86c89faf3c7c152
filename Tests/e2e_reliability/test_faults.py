"""CI version of Tools/reliability/part_faults.py: map full, full and read-only
cache directory, damaged data file, stale readers, injected I/O errors; every
row must have no failures."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tools", "reliability"))
import faultlib  # noqa: E402


def test_faults_short():
    faultlib.run_part_short("faults")
