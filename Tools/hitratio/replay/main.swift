// A fast replay driver for trying policy variants (not a test, not shipped):
// compiled by Tools/hitratio/replay.sh together with Sources/CachePolicies, so
// a change to a policy is measured in seconds without building capuchin.
// Counts match `capuchin simulate` (dense ids in first-seen order, as
// KeyInterner gives); the baselines come from Tools/hitratio/run.sh.
//
//   replay TRACE-FILE SIZES VARIANT...
//   SIZES: 1%,10% of the unique objects (or of the working set's bytes when
//   the trace has sizes) or absolute units (3042136).
//   VARIANT: a PolicyKind (dueling-s3fifo), or a W-TinyLFU / S3-FIFO with
//   knobs: wtinylfu/largest=0.1/window=0.1, wtinylfu-fixed/..., s3fifo/small=0.2,
//   or a duel of chosen candidates: duel/c=s3fifo+segmented-tinylfu/z=2 (/p: promotes shadows).
//   REPLAY_SWITCHES=1: a duel's switches after its ratio ([request:candidate ...]).
//
//   replay --hit-path CAPACITIES VARIANT...
//   Thread CPU time per recordHit: the policy is filled with twice its
//   capacity in distinct keys (so a duel's shadows run), then 2,000,000 hits
//   cycle over up to 20,000 resident keys; best of 7 rounds, in ns.
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(("replay: " + message + "\n").data(using: .utf8)!)
    exit(2)
}

let args = CommandLine.arguments
guard args.count >= 4 else { fail("usage: replay TRACE-FILE SIZES VARIANT... | replay --hit-path CAPACITIES VARIANT...") }
if args[1] == "--hit-path" {
    measureHitPath(capacities: args[2].split(separator: ",").compactMap { Int($0) }, variants: Array(args[3...]))
    exit(0)
}
// `replay --simulate VARIANT --capacity N`: `capuchin simulate`'s interface for
// hitratio.py's --ours (the trace on stdin, "hits hit-bytes" out), so run.sh
// can tabulate a variant without a release build of capuchin (SIMULATOR=replay).
let simulating = args[1] == "--simulate"
let text: String
if simulating {
    guard args.count == 5, args[3] == "--capacity", Int(args[4]) != nil else { fail("usage: replay --simulate VARIANT --capacity N") }
    text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
} else {
    guard let t = try? String(contentsOfFile: args[1], encoding: .utf8) else { fail("cannot read \(args[1])") }
    text = t
}

var ids: [Substring: UInt64] = [:]
var requests: [(key: UInt64, size: Int)] = []
var sized: Bool?
var workingSet = 0
for (n, line) in text.split(separator: "\n").enumerated() {
    let l = line.trimmingCharacters(in: .whitespaces)[...]
    if l.isEmpty || l.hasPrefix("#") { continue }
    var key = l, size = 1
    if let comma = l.lastIndex(of: ",") {
        key = l[..<comma]
        guard let s = Double(l[l.index(after: comma)...].trimmingCharacters(in: .whitespaces)) else {
            if sized == nil { continue }  // a header such as "key,size"
            fail("\(args[1]):\(n + 1): size is not a number")
        }
        size = Int(s)
        sized = true
        if size <= 0 { continue }  // skipped, as libCacheSim and hitratio.py do
    } else {
        sized = sized ?? false
    }
    let id: UInt64
    if let known = ids[key] { id = known } else {
        id = UInt64(ids.count)
        ids[key] = id
        workingSet += size
    }
    requests.append((id, size))
}
guard !requests.isEmpty else { fail("\(args[1]): no requests") }

/// The duel's switches in the last replay ("request index:candidate now
/// serving"), printed after a variant's ratio with REPLAY_SWITCHES=1.
var switchLog: [String] = []

/// Hits and hit bytes of the whole trace through `policy`.
func replay(_ policy: any EvictionPolicy) -> (hits: Int, bytes: Int) {
    var hits = 0, hitBytes = 0
    let duel = policy as? DuelingPolicy
    var seen = 0
    for (n, r) in requests.enumerated() {
        if let duel, duel.switches != seen {
            seen = duel.switches
            switchLog.append("\(n):\(duel.active.rawValue)")
        }
        if policy.contains(r.key) {
            hits += 1
            hitBytes += r.size
            policy.recordHit(r.key)
        } else {
            _ = policy.recordMiss(r.key, size: r.size)
        }
    }
    return (hits, hitBytes)
}

if simulating {
    let (hits, hitBytes) = replay(makeVariant(args[2], capacity: Int(args[4])!))
    print("\(hits) \(hitBytes)")
    exit(0)
}

let capacities: [(label: String, units: Int)] = args[2].split(separator: ",").map { token in
    if token.hasSuffix("%"), let p = Double(token.dropLast()) {
        return (String(token), max(1, Int((p / 100 * Double(workingSet)).rounded())))
    }
    guard let units = Int(token), units >= 1 else { fail("bad size \(token)") }
    return (String(token), units)
}

func makeVariant(_ spec: String, capacity: Int) -> any EvictionPolicy {
    let parts = spec.split(separator: "/").map(String.init)
    if parts[0] == "duel" {
        // duel/c=s3fifo+segmented-tinylfu+wtinylfu/z=2: DuelingPolicy with these candidates.
        var kinds: [PolicyKind] = [.s3fifo, .wtinylfu, .wtinylfuFixed]
        var z = 0.0, promotes = false
        for p in parts.dropFirst() {
            if p == "p" { promotes = true; continue }
            if p.hasPrefix("c=") {
                kinds = p.dropFirst(2).split(separator: "+").map { k -> PolicyKind in
                    guard let kind = PolicyKind(rawValue: String(k)) else { fail("unknown policy \(k)") }
                    return kind
                }
            } else if p.hasPrefix("z="), let v = Double(p.dropFirst(2)) {
                z = v
            } else { fail("duel knobs: c=KIND+KIND, z=CONFIDENCE, p (promotes shadows)") }
        }
        return DuelingPolicy(capacity: capacity, candidates: kinds, confidence: z, promotesShadows: promotes)
    }
    guard let kind = PolicyKind(rawValue: parts[0]) else { fail("unknown policy \(parts[0])") }
    if parts.count == 1 { return makePolicy(kind, capacity: capacity) }
    var knobs: [String: Double] = [:]
    for p in parts.dropFirst() {
        let kv = p.split(separator: "=")
        guard kv.count == 2, let v = Double(kv[1]) else { fail("bad knob \(p) in \(spec)") }
        knobs[String(kv[0])] = v
    }
    if kind == .segmentedTinyLFU {
        guard knobs.keys.allSatisfy({ $0 == "window" }) else { fail("segmented-tinylfu knobs: window") }
        return SegmentedTinyLFUPolicy(capacity: capacity, windowShare: knobs["window"] ?? 0.3)
    }
    if kind == .s3fifo {
        guard knobs.keys.allSatisfy({ $0 == "small" }) else { fail("s3fifo knobs: small") }
        return S3FIFOPolicy(capacity: capacity, smallFraction: knobs["small"] ?? 0.1)
    }
    guard kind == .wtinylfu || kind == .wtinylfuFixed else { fail("\(kind.rawValue) takes no knobs") }
    var c = kind == .wtinylfuFixed ? WTinyLFUConfiguration.fixedWindow : WTinyLFUConfiguration()
    for (k, v) in knobs {
        switch k {
        case "window": c.initialWindow = v
        case "protected": c.protectedShare = v
        case "ghosts": c.ghostShare = v
        case "largest": c.largestShare = v
        case "victimFloor": c.victimFloor = Int(v)
        case "maxVictims": c.maxVictims = Int(v)
        case "sketchScale": c.sketchScale = Int(v)
        case "sketchSample": c.sketchSample = Int(v)
        case "doorkeeper": c.doorkeeper = v != 0
        case "bypass": c.windowBypass = v
        default: fail("unknown knob \(k) (window protected ghosts largest victimFloor maxVictims sketchScale sketchSample doorkeeper bypass)")
        }
    }
    return WTinyLFUPolicy(capacity: capacity, configuration: c)
}

let totalBytes = requests.reduce(0) { $0 + $1.size }
let isSized = sized ?? false
print("\(args[1]): \(requests.count) requests, \(ids.count) objects, working set \(workingSet)\(isSized ? " B" : " objects")")
print("variant".padding(toLength: 52, withPad: " ", startingAt: 0)
      + capacities.map { "  \($0.label) (\($0.units))" }.joined())
for spec in args[3...] {
    var row = spec.count < 52 ? spec.padding(toLength: 52, withPad: " ", startingAt: 0) : spec + " "
    for cap in capacities {
        let policy = makeVariant(spec, capacity: cap.units)
        switchLog = []
        let (hits, hitBytes) = replay(policy)
        row += String(format: "  %6.2f", 100 * Double(hits) / Double(requests.count))
        if ProcessInfo.processInfo.environment["REPLAY_SWITCHES"] != nil, policy is DuelingPolicy {
            row += " [" + switchLog.joined(separator: " ") + "]"
        }
        if isSized { row += String(format: " B %6.2f", 100 * Double(hitBytes) / Double(totalBytes)) }
    }
    print(row)
}

func measureHitPath(capacities: [Int], variants: [String]) {
    func cpuNanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
    print("hit path, ns per recordHit".padding(toLength: 52, withPad: " ", startingAt: 0)
          + capacities.map { "  \($0)" }.joined())
    for spec in variants {
        var row = spec.count < 52 ? spec.padding(toLength: 52, withPad: " ", startingAt: 0) : spec + " "
        for capacity in capacities {
            let policy = makeVariant(spec, capacity: capacity)
            for k in 0..<(2 * capacity) { _ = policy.recordMiss(UInt64(k), size: 1) }
            let resident = (0..<UInt64(2 * capacity)).filter(policy.contains).prefix(20_000)
            let keys = Array(resident)
            var best = UInt64.max
            for _ in 0..<7 {
                let start = cpuNanoseconds()
                var i = 0
                for _ in 0..<2_000_000 {
                    policy.recordHit(keys[i])
                    i += 1
                    if i == keys.count { i = 0 }
                }
                best = min(best, cpuNanoseconds() - start)
            }
            row += String(format: "  %6.0f", Double(best) / 2_000_000)
        }
        print(row)
    }
}
