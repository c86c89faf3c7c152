#!/usr/bin/env bash
# Replays one trace through policy variants in seconds (not a test): compiles
# Sources/CachePolicies with Tools/hitratio/replay/main.swift using swiftc -O -wmo
# (no capuchin build), for trying a change before the full run.sh table.
#
#   Tools/hitratio/replay.sh ../shared/traces/adaptsize-request.csv.xz 1%,10% \
#       dueling-s3fifo wtinylfu/largest=0.1 wtinylfu-fixed/window=0.1 s3fifo/small=0.2
#   Tools/hitratio/replay.sh --build    # only compiles; prints the binary's path
set -euo pipefail
export SWIFT_BACKTRACE=enable=no
[[ $# -ge 3 || "${1:-}" == --build ]] || { echo "usage: $0 TRACE SIZES VARIANT... | --build" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/.build/hitratio-replay"
mkdir -p "$out"
sources=()
for f in "$root"/Sources/CachePolicies/*.swift; do
    # The trace reader and simulator need CapuchinSystem; the driver reads the file itself.
    case "$(basename "$f")" in Simulator.swift|TraceReader.swift|SimulatorError.swift) ;; *) sources+=("$f") ;; esac
done
driver="$root/Tools/hitratio/replay/main.swift"
if [[ ! -x "$out/replay" ]] || [[ -n "$(find "$driver" "${sources[@]}" -newer "$out/replay" 2>/dev/null)" ]]; then
    # -wmo, as SwiftPM's release builds: generic code (HashKeyedTable) is then
    # specialised across files; per file, its metadata lookups doubled a replay's time.
    swiftc -O -wmo -module-name CachePolicies "$driver" "${sources[@]}" -o "$out/replay"
fi
[[ "$1" != --build ]] || { echo "$out/replay"; exit 0; }
trace=$1; shift
plain="$out/$(basename "$trace").plain"
case "$trace" in
    *.xz) [[ "$plain" -nt "$trace" ]] || xz -dc "$trace" > "$plain" ;;
    *.gz) [[ "$plain" -nt "$trace" ]] || gzip -dc "$trace" > "$plain" ;;
    *) plain=$trace ;;
esac
"$out/replay" "$plain" "$@"
