import CapuchinServer

/// The receiving side of an `UpstreamExchange`: a client's `ResponseSink`,
/// or a `DetachedClient` for a background refresh that no client waits for.
protocol ExchangeClient: AnyObject {
    var onRequestBody: ((UnsafeRawBufferPointer) -> Void)? { get set }
    var onRequestBodyEnd: (() -> Void)? { get set }
    var onCancel: (() -> Void)? { get set }
    var onDrain: (() -> Void)? { get set }
    var requestBodyComplete: Bool { get }
    var isCancelled: Bool { get }
    var isCongested: Bool { get }
    func respond(_ response: Response)
    func start(_ response: Response)
    func write(_ bytes: [UInt8])
    func finish()
    func abort()
}

extension ResponseSink: ExchangeClient {}
