import HTTPCore

/// Binary encoding of a `StoredResponse` for the index's `extra` bytes.
/// Versioned; decoding never traps on bad input, it throws.
public enum StoredResponseCodec {
    static let magic: [UInt8] = [0x43, 0x50, 0x58, 0x01]   // "CPX" v1

    public static func encode(_ r: StoredResponse) -> [UInt8] {
        // Sized exactly: a stored response keeps these bytes (not a doubled growth's spare capacity).
        var size = magic.count + 2 + 8 + 8 + 8 + 1 + 2 + 4 + r.vary.value.utf8.count + 2
        for f in r.vary.fields { size += 4 + f.utf8.count }
        for field in r.headers { size += 8 + field.name.utf8.count + field.value.utf8.count }
        var w: [UInt8] = []
        w.reserveCapacity(size)
        w.append(contentsOf: magic)
        put(UInt64(r.status), 2, &w)
        put(UInt64(bitPattern: r.requestTime), 8, &w)
        put(UInt64(bitPattern: r.responseTime), 8, &w)
        put(UInt64(r.bodySize), 8, &w)
        w.append(r.vary.matchesNothing ? 1 : 0)
        put(UInt64(r.vary.fields.count), 2, &w)
        for f in r.vary.fields { putString(f, &w) }
        putString(r.vary.value, &w)
        put(UInt64(r.headers.count), 2, &w)
        for field in r.headers {
            putString(field.name, &w)
            putString(field.value, &w)
        }
        return w
    }

    /// Throws `ProxyStoreError.corruptMetadata` when `bytes` is truncated, of
    /// another version, or inconsistent.
    public static func decode(_ bytes: [UInt8]) throws -> StoredResponse {
        var r = Reader(bytes: bytes)
        let summary = try readSummary(&r)
        var headers = HTTPHeaders()
        let count = Int(try r.int(2))
        headers.reserveCapacity(count)
        for _ in 0..<count { headers.add(try r.string(), try r.string()) }
        guard r.atEnd else { throw ProxyStoreError.corruptMetadata("trailing bytes") }
        return StoredResponse(status: summary.status, headers: headers, requestTime: summary.requestTime,
                              responseTime: summary.responseTime, vary: summary.vary, bodySize: summary.bodySize)
    }

    /// What the load keeps of a stored response before its first use: its
    /// Vary key (lookups match on it) and body size, with the whole encoding
    /// checked as `decode` checks it, the header fields walked but not made into
    /// strings (their decoding waits for the first hit, `CachedObject.response`).
    /// Throws as `decode` does, for the same bytes.
    static func summary(_ bytes: [UInt8]) throws -> Summary {
        var r = Reader(bytes: bytes)
        let summary = try readSummary(&r)
        for _ in 0..<(try r.int(2)) {
            try r.skipString()
            try r.skipString()
        }
        guard r.atEnd else { throw ProxyStoreError.corruptMetadata("trailing bytes") }
        return summary
    }

    /// The fields before the header fields.
    struct Summary {
        var status: Int
        var requestTime: Int64
        var responseTime: Int64
        var bodySize: Int
        var vary: VaryKey
    }

    private static func readSummary(_ r: inout Reader) throws -> Summary {
        guard try r.bytes(4).elementsEqual(magic) else { throw ProxyStoreError.corruptMetadata("unknown metadata version") }
        let status = Int(try r.int(2))
        let requestTime = Int64(bitPattern: try r.int(8))
        let responseTime = Int64(bitPattern: try r.int(8))
        let bodySize = try r.int(8)
        guard (100...599).contains(status), bodySize <= UInt64(Int.max) else { throw ProxyStoreError.corruptMetadata("bad status or size") }
        let star = try r.int(1) != 0
        let fieldCount = Int(try r.int(2))
        // Most responses have no Vary: no array made for them.
        let fields = fieldCount == 0 ? [] : try (0..<fieldCount).map { _ in try r.string() }
        let varyValue = try r.string()
        return Summary(status: status, requestTime: requestTime, responseTime: responseTime, bodySize: Int(bodySize),
                       vary: VaryKey(fields: fields, matchesNothing: star, value: varyValue))
    }

    private static func put(_ v: UInt64, _ width: Int, _ out: inout [UInt8]) {
        for i in 0..<width { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    private static func putString(_ s: String, _ out: inout [UInt8]) {
        put(UInt64(s.utf8.count), 4, &out)
        out.append(contentsOf: s.utf8)
    }

    private struct Reader {
        let bytes: [UInt8]
        var at = 0
        var atEnd: Bool { at == bytes.count }

        mutating func bytes(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, n <= bytes.count - at else { throw ProxyStoreError.corruptMetadata("truncated") }
            defer { at += n }
            return bytes[at..<(at + n)]
        }

        mutating func int(_ width: Int) throws -> UInt64 {
            var v: UInt64 = 0
            for (i, b) in try bytes(width).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
            return v
        }

        mutating func string() throws -> String {
            String(decoding: try stringBytes(), as: UTF8.self)
        }

        mutating func skipString() throws { _ = try stringBytes() }

        private mutating func stringBytes() throws -> ArraySlice<UInt8> {
            let n = try int(4)
            guard n <= UInt64(bytes.count) else { throw ProxyStoreError.corruptMetadata("truncated") }
            return try bytes(Int(n))
        }
    }
}
