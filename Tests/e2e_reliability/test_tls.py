"""Runs Tools/reliability/part_tls.py --short (bad ClientHellos, a handshake flood,
slow handshakes, renegotiation, idle TLS connections) and requires every row to pass.
Binaries: $CAPUCHIN_BIN / $CACHEDUMP_BIN, else the part builds a release under .build-reliability."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tools", "reliability"))
import rlib  # noqa: E402


def test_tls_short():
    rlib.assert_part_passes("tls")
