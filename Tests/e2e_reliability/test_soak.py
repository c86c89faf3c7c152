"""Runs Tools/reliability/part_soak.py --short and requires every row to pass
(the rows are printed on failure). Binaries: $CAPUCHIN_BIN / $CACHEDUMP_BIN,
else the part builds a release under .build-reliability."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tools", "reliability"))
import rlib  # noqa: E402


def test_soak_short():
    rlib.assert_part_passes("soak")
