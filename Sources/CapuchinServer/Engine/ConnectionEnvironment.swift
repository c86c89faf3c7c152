import CapuchinSystem
import HTTPCore

/// What every HTTP/1 connection of one event loop shares: the loop's clock
/// reading, the configuration snapshot, the Date line, counters, the access
/// log stage, a pool of output queues and the connections to service at the
/// end of the loop iteration. Owned by one thread; the in-memory test harness
/// builds one with a manual clock.
final class ConnectionEnvironment {
    let workerID: Int
    let parser: RequestParser
    let counters: LoopCounters
    let log: ErrorLog
    /// The logger stage's buffer (nil: no access log).
    let accessLog: AccessLogStage?
    /// The plugins' handle on the loop (nil in tests without one).
    unowned(unsafe) var eventLoop: EventLoop?

    private(set) var settings: RuntimeSettings
    /// Monotonic nanoseconds as of this loop iteration (timeouts, request start).
    var now: UInt64 = 0
    /// A precise time by which every request read in this iteration had arrived
    /// (the file cache orders its checks by it).
    var receivedBy: UInt64 = .max
    var dates = DateCache()
    /// SIGTERM: no new keep-alive, finish what is in flight.
    var draining = false
    /// The field array of the last request answered, emptied, for the next head
    /// the parser reads on this loop (one allocation and free less a request).
    var spareFields = HTTPHeaders()

    /// Connections waiting for service, not retained: one asks only while open
    /// (`requestService`), so its socket is in the worker's table or, closed
    /// since, kept alive with it until this list is empty (the worker releases
    /// removed sockets only then: `DescriptorTable`'s lifetime rule).
    private var serviceList: [Unmanaged<HTTP1Connection>] = []
    private var servicing: [Unmanaged<HTTP1Connection>] = []
    /// Emptied output queues kept with their capacity for the next response.
    private var spareQueues: [OutputQueue] = []
    private static let maxSpareQueues = 64
    private static let maxSpareQueueBytes = 16 << 10

    init(workerID: Int, settings: RuntimeSettings, parser: RequestParser, counters: LoopCounters, log: ErrorLog,
         accessLog: AccessLogStage?) {
        self.workerID = workerID
        self.settings = settings
        self.parser = parser
        self.counters = counters
        self.log = log
        self.accessLog = accessLog
    }

    /// A reload published new settings.
    func adopt(_ new: RuntimeSettings) { settings = new }

    /// Calls `body` with the settings, not retained: they are replaced only by
    /// `adopt`, between loop iterations, never while a request is answered.
    @inline(__always)
    func withSettings<R>(_ body: (RuntimeSettings) -> R) -> R {
        Unmanaged.passUnretained(settings)._withUnsafeGuaranteedRef(body)
    }

    /// `c` has output or resumed parsing to do: serviced at the end of this
    /// iteration, after every ready socket was read (one wake-up per client).
    @inline(__always)
    func requestService(_ c: HTTP1Connection) {
        if c.queuedForService || c.phase == .closed { return }
        c.queuedForService = true
        serviceList.append(Unmanaged.passUnretained(c))
    }

    var hasServiceRequests: Bool { !serviceList.isEmpty }

    /// Calls `body` for each connection that asked for service, including those
    /// asking while the list is walked, until none is left.
    func drainServiceList(_ body: (HTTP1Connection) -> Void) {
        while !serviceList.isEmpty {
            swap(&serviceList, &servicing)
            for c in servicing { c._withUnsafeGuaranteedRef(body) }
            servicing.removeLast(servicing.count)  // keeps the capacity (see HTTPHeaders.removeAll)
        }
    }

    /// An empty queue for a connection about to produce output (a pooled one keeps its capacity).
    @inline(__always)
    func lendQueue(to q: inout OutputQueue) {
        if let spare = spareQueues.popLast() { q = spare }
        q.inlineFileLimit = settings.config.sendfileThreshold
    }

    /// Takes an emptied queue back; a large one is dropped (a burst of large
    /// responses must not stay resident).
    @inline(__always)
    func recycle(_ q: inout OutputQueue) {
        guard q.isEmpty, q.bufferCapacity > 0 else { return }
        var taken = OutputQueue()
        swap(&taken, &q)
        if spareQueues.count < Self.maxSpareQueues && taken.bufferCapacity <= Self.maxSpareQueueBytes {
            taken.reset()
            spareQueues.append(consume taken)  // moved: a copy retained and released its two arrays
        }
    }
}
