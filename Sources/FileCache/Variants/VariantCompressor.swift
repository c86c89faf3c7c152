import CapuchinServer
import CapuchinSystem
import Compression
import Synchronization

/// The compression thread: compresses the variants too large to compress on
/// a serving thread, writes the variants requests compressed inline, retires
/// the variants of replaced files and sweeps the store at start. Requests only
/// queue work here (a short lock); none waits for it.
final class VariantCompressor: @unchecked Sendable { // safe: the queue under its lock, lets otherwise
    enum Job {
        /// Compress `body` (the source's, as the request had it) into slot `slot` of `set`.
        case compress(VariantSet, slot: Int, ContentCoding, level: Int, FileBody)
        /// Store bytes a request compressed inline.
        case store(VariantSet, slot: Int, ContentCoding, [UInt8])
        case retire(VariantSet)
        case sweep
    }

    let store: VariantStore?
    let counters: CompressionCounters
    let log: (String) -> Void
    private let jobs = Lock<[Job]>([])
    private let wake: EventFD
    private let stopping = Atomic<Bool>(false)
    private let thread = BackgroundJob()
    /// More queued jobs than this are dropped (their slot is given back).
    static let queueLimit = 4096
    /// Nice steps the thread runs below the serving threads.
    static let niceIncrement: Int32 = 10

    /// Throws `SystemError` (eventfd).
    init(store: VariantStore?, counters: CompressionCounters, log: @escaping (String) -> Void) throws {
        self.store = store
        self.counters = counters
        self.log = log
        wake = try EventFD()
    }

    /// Starts the thread. Throws `SystemError`.
    func start() throws {
        try thread.start(name: "compression") { [self] in run() }
    }

    /// Stops after the job in progress (queued ones are dropped: their variants are made again on demand).
    func stop() {
        stopping.store(true, ordering: .releasing)
        wake.signal()
        thread.wait()
    }

    /// Queues a job; false when the queue is full.
    @discardableResult
    func submit(_ job: Job) -> Bool {
        let queued = jobs.withLock { q -> Bool in
            guard q.count < Self.queueLimit else { return false }
            q.append(job)
            return true
        }
        if queued { wake.signal() } else { counters.queueFull.wrappingAdd(1, ordering: .relaxed) }
        return queued
    }

    /// Jobs waiting (tests).
    var pending: Int { jobs.withLock { $0.count } }

    private func run() {
        // Brotli 11 takes about half a second of CPU per 256 KiB: the serving threads come first.
        do { try SystemThread.lowerCurrentPriority(by: Self.niceIncrement) } catch { log("compression: \(error)") }
        while !stopping.load(ordering: .acquiring) {
            wake.wait(timeoutMillis: 1000)
            wake.drain()
            counters.persist()
            while !stopping.load(ordering: .acquiring) {
                let batch = jobs.withLock { q -> [Job] in
                    defer { q.removeAll(keepingCapacity: true) }
                    return q
                }
                if batch.isEmpty { break }
                for job in batch { perform(job) }
            }
        }
    }

    /// Runs one job (on the compression thread; tests call it directly).
    func perform(_ job: Job) {
        switch job {
        case .compress(let set, let slot, let coding, let level, let body):
            compress(set, slot: slot, coding: coding, level: level, body: body)
        case .store(let set, let slot, let coding, let bytes):
            persist(set, slot: slot, coding: coding, bytes: bytes)
        case .retire(let set):
            if let store { store.retire(set) } else { _ = set.retire() }
        case .sweep:
            if let kept = store?.sweep() { log("compression: \(kept) stored variants kept at start") }
        }
    }

    private func compress(_ set: VariantSet, slot: Int, coding: ContentCoding, level: Int, body: FileBody) {
        let encoded: [UInt8]
        do {
            encoded = try Self.encode(body, size: set.source.size, coding: coding, level: level, counters: counters, inline: false)
        } catch {
            log("compression: \(set.originPath): \(error)")
            counters.refused.wrappingAdd(1, ordering: .relaxed)
            set.settle(slot, .refused)
            return
        }
        // A mapping may have seen the file change while it was read: keep only what matches the version.
        guard set.immutableSource || set.source.isCurrent(at: set.originPath) else {
            set.settle(slot, .absent)
            return
        }
        guard encoded.count < set.source.size else {
            counters.refused.wrappingAdd(1, ordering: .relaxed)
            set.settle(slot, .refused)
            return
        }
        persist(set, slot: slot, coding: coding, bytes: encoded)
    }

    private func persist(_ set: VariantSet, slot: Int, coding: ContentCoding, bytes: [UInt8]) {
        guard let store else { return }
        do {
            guard let v = try store.write(set, coding, bytes: bytes) else { set.settle(slot, .refused); return }
            counters.variantsStored.wrappingAdd(1, ordering: .relaxed)
            if !set.settle(slot, .ready(v)) {
                // Replaced while compressing: its file and record go at once.
                if let p = v.filePath { store.forget(key: VariantRecord.key(sourceKey: set.sourceKey, coding: coding), bodyPath: p) }
            }
        } catch {
            // Not retried for this version: a full disk or map table would fail every request's retry.
            log("compression: storing a variant of \(set.originPath) failed: \(error)")
            set.settle(slot, .refused)
        }
    }

    /// `body` (`size` bytes) encoded, its CPU time counted. Throws
    /// `CompressionError`, or `SystemError` reading an open file.
    static func encode(_ body: FileBody, size: Int, coding: ContentCoding, level: Int, counters: CompressionCounters,
                       inline: Bool) throws -> [UInt8] {
        let cpu0 = Clock.threadCPUSeconds()
        let out: [UInt8]
        switch body {
        case .mapped(let m):
            out = try coding.compress(UnsafeRawBufferPointer(start: m.base, count: min(m.count, size)), level: level)
        case .bytes(let b):
            out = try coding.compress(b, level: level)
        case .file(let f):
            var buffer = [UInt8](repeating: 0, count: size)
            var got = 0
            try buffer.withUnsafeMutableBytes { p in
                while got < size {
                    let n = try FileIO.pread(f.fd, into: p.baseAddress! + got, count: size - got, offset: got)
                    if n == 0 { throw ConditionFailure("pread", .fileShrank) }
                    got += n
                }
            }
            out = try coding.compress(buffer, level: level)
        }
        counters.compressed(before: size, after: out.count, cpuSeconds: Clock.threadCPUSeconds() - cpu0, inline: inline)
        return out
    }
}
