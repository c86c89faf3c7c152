#!/usr/bin/env bash
# Hit-ratio benchmark (not a test): builds capuchin in release and compares
# `capuchin simulate --policy default` with libCacheSim's LRU, LFU, ARC,
# S3-FIFO, SIEVE, W-TinyLFU (1% and 10% window) and Belady on every trace in
# ../shared/traces, at 1% and 10% of each trace's unique objects (or bytes).
#
#   Tools/hitratio/run.sh                      # all traces, default policy
#   POLICY=lru SIZES=0.1%,1% Tools/hitratio/run.sh
#   SKIP_BUILD=1 SCRATCH=.build-x Tools/hitratio/run.sh
#   SIMULATOR=replay POLICY=dueling-segmented Tools/hitratio/run.sh
#     (our policy through replay.sh's driver, Sources/CachePolicies compiled
#     with swiftc -O: the same counts as `capuchin simulate`, no release build)
#
# Needs python3 with `pip install libcachesim`.
set -euo pipefail
export SWIFT_BACKTRACE=enable=no

root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${SHARED:-$(dirname "$root")/shared}
scratch=${SCRATCH:-.build}
policy=${POLICY:-default}
sizes=${SIZES:-1%,10%}
baselines=${BASELINES:-lru,lfu,arc,s3fifo,sieve,wtinylfu,wtinylfu10,belady}

cd "$root"
if [[ "${SIMULATOR:-capuchin}" == replay ]]; then
    ours="$(bash "$root/Tools/hitratio/replay.sh" --build) --simulate $policy"
else
    if [[ -z "${SKIP_BUILD:-}" ]]; then
        swift build -c release --scratch-path "$scratch" --product capuchin
    fi
    bin="$root/$scratch/release/capuchin"
    [[ -x "$bin" ]] || { echo "run.sh: $bin not built" >&2; exit 1; }
    ours="$bin simulate --policy $policy"
fi
[[ -f "$shared/tools/hitratio.py" ]] || { echo "run.sh: $shared/tools/hitratio.py not found (set SHARED)" >&2; exit 1; }

shopt -s nullglob
traces=("$shared"/traces/*.xz "$shared"/traces/*.gz "$shared"/traces/*.txt "$shared"/traces/*.csv)
[[ ${#traces[@]} -gt 0 ]] || { echo "run.sh: no traces in $shared/traces" >&2; exit 1; }

python3 "$shared/tools/hitratio.py" --sizes "$sizes" --policies "$baselines" \
    --ours "$ours" --ours-name "capuchin $policy" --time "${traces[@]}"
