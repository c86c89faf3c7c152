#!/usr/bin/env bash
# Runs every test: installs dependencies, builds, runs the XCTest suites, then
# the end-to-end and differential suites (pytest) against the built binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
bash Tools/setup.sh
# The syscall fence: only Sources/CapuchinSystem imports Glibc (Tools/check-fence.sh).
bash Tools/check-fence.sh
swift build --build-tests
# The concurrency tests (and the store's writer beside its readers) run again
# under the thread sanitizer, from a build directory of their own (the main
# build stays valid). That build compiles while the XCTest suites run (they
# leave a core mostly idle); its output goes to a log, shown if it fails.
mkdir -p .build-tsan
tsan_log=.build-tsan/test-build.log
swift build --build-tests --sanitize=thread --scratch-path .build-tsan > "$tsan_log" 2>&1 &
tsan_build=$!
swift test --skip-build || { kill "$tsan_build" 2> /dev/null; wait "$tsan_build" 2> /dev/null; exit 1; }
if ! wait "$tsan_build"; then cat "$tsan_log"; echo "test.sh: the thread-sanitizer build failed" >&2; exit 1; fi
swift test --skip-build --sanitize=thread --scratch-path .build-tsan --filter "ConcurrencyTests|StorePersistenceTests|LockTests|SlabAllocatorTests"
export CAPUCHIN_BIN="$PWD/.build/debug/capuchin" CACHEDUMP_BIN="$PWD/.build/debug/cachedump"
# One pytest run per directory: each has its own conftest.py module.
for d in Tools/differential Tests/e2e_cache; do
  python3 -m pytest -q -p no:cacheprovider "$d"
done
# Tests/e2e one test at a time: four files at a time (pytest-xdist) took 88-110 s
# instead of 272 s, but two of eleven such runs failed a test that read a
# counter the compression thread updates behind the response (fixed in the
# test); sequential until more parallel runs show none.
python3 -m pytest -q -p no:cacheprovider Tests/e2e
# The short parts of Tools/reliability (crash, fault, attack, slow-client, idle,
# soak, fuzz), one at a time (they load the machine); they need root (tmpfs,
# read-only mounts).
python3 -m pytest -q -p no:cacheprovider Tests/e2e_reliability
# The public HTTP caching test suite against `capuchin proxy` with its defaults
# (../shared/cache-tests; prints that it did not run when the suite is absent).
CACHE_TESTS_GATE=1 bash Tools/conformance/cache-tests.sh
