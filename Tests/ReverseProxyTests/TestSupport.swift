import Foundation
import Glibc
import HTTPCore
@testable import ReverseProxy

func makeRequest(_ method: String = "GET", _ target: String = "/", version: HTTPVersion = .http11,
                 headers: [(String, String)] = [("Host", "example.com")], framing: BodyFraming = .none) -> HTTPRequest {
    let h = HTTPHeaders(headers)
    let path = String(target.split(separator: "?", maxSplits: 1).first ?? "/")
    return HTTPRequest(method: method, target: target, path: path, query: nil, version: version, headers: h,
                       framing: framing, keepAlive: true, host: h["Host"].map(hostWithoutPort))
}

/// The host as the request parser gives it: lowercased, without its port.
private func hostWithoutPort(_ value: String) -> String {
    let lower = value.lowercased()
    guard let colon = lower.lastIndex(of: ":"), !lower.hasSuffix("]") else { return lower }
    return String(lower[..<colon])
}

func addr(_ s: String) -> BackendAddress { try! BackendAddress(parsing: s, key: "test") }

func pool(_ algorithm: BalanceAlgorithm, count: Int, attempts: Int = 2, offline: UInt64 = 1_000,
          isSelf: (BackendAddress) -> Bool = { _ in false }) -> BackendPool {
    let backends = (0..<count).map { addr("10.0.0.\($0 + 1):80") }
    return BackendPool(config: PoolConfig(name: "p", backends: backends, balance: algorithm, attempts: attempts,
                                          offlineTimeoutNanos: offline), isSelf: isSelf)
}

