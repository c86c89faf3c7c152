import CapuchinServer

/// The client of a background refresh (stale-while-revalidate): no request
/// body, never congested, and whatever the exchange answers is dropped (the
/// exchange's cache fill and revalidation hooks are what matter).
final class DetachedClient: ExchangeClient {
    var onRequestBody: ((UnsafeRawBufferPointer) -> Void)?
    var onRequestBodyEnd: (() -> Void)?
    var onCancel: (() -> Void)?
    var onDrain: (() -> Void)?
    let requestBodyComplete = true
    let isCancelled = false
    let isCongested = false

    func respond(_ response: Response) {}
    func start(_ response: Response) {}
    func write(_ bytes: [UInt8]) {}
    func finish() {}
    func abort() {}
}
