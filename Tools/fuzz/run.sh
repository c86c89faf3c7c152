#!/bin/sh
# Fuzzes HTTPCore (request parser, response parser, chunked decoder, dates,
# entity-tags, ranges, conditional evaluation) with libFuzzer for SECONDS
# seconds: every input goes through FuzzTarget.check, which runs all of them.
# Usage: Tools/fuzz/run.sh SECONDS        (work files: $FUZZ_WORK, default .build-fuzz)
# Seeds: Fixtures/http/*.http (requests) and Fixtures/http-responses/*.http.
# A crash is saved as Fixtures/http/fuzz-<sha1>.http with a `status: any`
# expectation, so CorpusTests replays it through FuzzTarget.check from then on.
set -eu
SECS=${1:?usage: Tools/fuzz/run.sh SECONDS}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${FUZZ_WORK:-$ROOT/.build-fuzz}
export SWIFT_BACKTRACE=enable=no
mkdir -p "$WORK/corpus" "$WORK/artifacts"
cd "$ROOT"

echo "building $WORK/fuzz-httpcore"
swiftc -sanitize=fuzzer,address -parse-as-library -O \
    Sources/HTTPCore/*.swift Tools/fuzz/FuzzMain.swift -o "$WORK/fuzz-httpcore" 2>&1 \
    | grep -v "Cannot export local symbol" || true
[ -x "$WORK/fuzz-httpcore" ] || { echo "build failed" >&2; exit 2; }

cp Fixtures/http/*.http Fixtures/http-responses/*.http "$WORK/corpus/"
rm -f "$WORK/artifacts/"crash-* "$WORK/artifacts/"oom-* "$WORK/artifacts/"timeout-*
status=0
"$WORK/fuzz-httpcore" -max_total_time="$SECS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -dict=Tools/fuzz/http.dict -artifact_prefix="$WORK/artifacts/" -print_final_stats=1 \
    "$WORK/corpus" > "$WORK/fuzz.log" 2>&1 || status=$?

grep -E "^Done|stat::number_of_executed_units|stat::average_exec_per_sec|cov: " "$WORK/fuzz.log" | tail -4
found=0
for f in "$WORK/artifacts/"crash-* "$WORK/artifacts/"oom-* "$WORK/artifacts/"timeout-*; do
    [ -e "$f" ] || continue
    sum=$(sha1sum "$f" | cut -c1-16)
    cp "$f" "Fixtures/http/fuzz-$sum.http"
    printf '# found by Tools/fuzz/run.sh (%s): must not crash\nstatus: any\n' "$(basename "$f" | cut -d- -f1)" \
        > "Fixtures/http/fuzz-$sum.expect"
    echo "saved Fixtures/http/fuzz-$sum.http"
    found=1
done
if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
    echo "FUZZING FOUND A PROBLEM (see $WORK/fuzz.log)" >&2
    grep -E "ERROR|Fatal|precondition|SUMMARY" "$WORK/fuzz.log" | head -5 >&2
    exit 1
fi
echo "no crash"
