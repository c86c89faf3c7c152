#!/usr/bin/env bash
# Runs every test: installs dependencies, builds, runs the XCTest suites, then
# the end-to-end and differential suites (pytest) against the built binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
bash Tools/setup.sh
swift build
swift test
export CAPUCHIN_BIN="$PWD/.build/debug/capuchin" CACHEDUMP_BIN="$PWD/.build/debug/cachedump"
suites=()
for d in Tests/e2e Tests/e2e_cache Tools/differential; do [ -d "$d" ] && suites+=("$d"); done
if [ ${#suites[@]} -gt 0 ]; then
  python3 -m pytest -q "${suites[@]}"
fi
