import ArgumentParser
import CachePolicies
import CapuchinSystem

extension PolicyKind: ExpressibleByArgument {}

/// `capuchin simulate`: replays a request trace through an eviction policy and
/// prints `HITS HIT_BYTES`, for comparing hit ratios (Tools/hitratio).
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Replay a request trace through an eviction policy and print HITS HIT_BYTES.",
        discussion: """
            The trace has one request per line: KEY, or KEY,SIZE (then the capacity \
            is in bytes; otherwise in entries). Blank lines and lines starting with \
            # are skipped.
            """)

    @Option(help: "The eviction policy: \(PolicyKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var policy: PolicyKind = .default

    @Option(help: "The cache capacity: entries, or bytes when the trace has sizes.")
    var capacity: Int

    @Option(help: "Read the trace from this file instead of standard input.")
    var input: String?

    @Flag(help: "Also print requests and hit ratios on standard error.")
    var verbose = false

    func validate() throws {
        guard capacity >= 1 else { throw ValidationError("--capacity must be at least 1") }
    }

    func run() throws {
        var fd = FileDescriptor.standardInput
        if let input {
            do { fd = try FileDescriptor.open(input, .readOnly) } catch let e as SystemError {
                throw SimulateFailure(message: "cannot open \(input): \(e.code)")
            }
        }
        defer { if fd != .standardInput { fd.close() } }
        var out = StandardOutput()
        do {
            let r = try Simulator.run(policy: policy, capacity: capacity, input: fd.rawValue, output: &out)
            if verbose {
                let ratio = r.requests == 0 ? 0 : 100 * Double(r.hits) / Double(r.requests)
                let bytes = r.requestBytes == 0 ? 0 : 100 * Double(r.hitBytes) / Double(r.requestBytes)
                var err = StandardError()
                print("\(policy.resolved.rawValue): \(r.requests) requests, hit ratio \(ratio)%, byte hit ratio \(bytes)%",
                      to: &err)
            }
        } catch let error as SimulatorError {
            throw SimulateFailure(message: "\(input ?? "standard input"): \(error)")
        }
    }
}

/// A failure reported as one line, without the usage text.
private struct SimulateFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// print(..., to:) targets for the two standard streams.
private struct StandardOutput: TextOutputStream {
    mutating func write(_ string: String) { print(string, terminator: "") }
}

private struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { try? FileDescriptor.standardError.writeAll(Array(string.utf8)) }
}
