import CapuchinSystem
/// `logging.access_log_format`: how each request is written to the access log.
public enum AccessLogFormat: String, Sendable, CaseIterable {
    /// The Combined Log Format (Apache/nginx `combined`), the default.
    case combined
    /// One JSON object per line: time, client, method, target, status, bytes,
    /// duration_us, cache, upstream (names as in the admin API).
    case json
}

/// Appends records to a worker's buffer in the configured format. One per
/// worker (not shared): it keeps the JSON timestamp of the current second.
struct AccessLogFormatter {
    let format: AccessLogFormat
    private var second = -1
    private var isoStamp: [UInt8] = []

    init(format: AccessLogFormat) { self.format = format }

    /// `commonLogStamp` is the worker's "[06/Nov/1994:08:49:37 +0000]" for this second.
    mutating func append(_ r: AccessLogRecord, commonLogStamp: [UInt8], to out: inout [UInt8]) {
        switch format {
        case .combined: appendCombined(r, stamp: commonLogStamp, to: &out)
        case .json: appendJSON(r, to: &out)
        }
    }

    private func appendCombined(_ r: AccessLogRecord, stamp: [UInt8], to out: inout [UInt8]) {
        out.append(contentsOf: r.client.utf8)
        out.append(contentsOf: " - - ".utf8)
        out.append(contentsOf: stamp)
        out.append(contentsOf: " \"".utf8)
        if let method = r.method {
            Self.appendEscaped(method, to: &out)
            out.append(32)
            Self.appendEscaped(r.target ?? "", to: &out)
            out.append(32)
            Self.appendEscaped(r.version ?? "", to: &out)
        } else {
            out.append(UInt8(ascii: "-"))
        }
        out.append(contentsOf: "\" ".utf8)
        Self.appendDecimal(r.status, to: &out)
        out.append(32)
        Self.appendDecimal(r.bytes, to: &out)
        out.append(contentsOf: " \"".utf8)
        Self.appendEscaped(r.referer ?? "-", to: &out)
        out.append(contentsOf: "\" \"".utf8)
        Self.appendEscaped(r.userAgent ?? "-", to: &out)
        out.append(contentsOf: "\"\n".utf8)
    }

    private mutating func appendJSON(_ r: AccessLogRecord, to out: inout [UInt8]) {
        let nowMillis = r.wallMillis
        if nowMillis / 1000 != second {
            second = nowMillis / 1000
            let c = CivilTime(epochSeconds: second)
            func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
            isoStamp = Array("\(c.year)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute)):\(two(c.second))".utf8)
        }
        out.append(contentsOf: "{\"time\":\"".utf8)
        out.append(contentsOf: isoStamp)
        let ms = nowMillis % 1000
        out.append(UInt8(ascii: "."))
        out.append(UInt8(ascii: "0") + UInt8(ms / 100))
        out.append(UInt8(ascii: "0") + UInt8(ms / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(ms % 10))
        out.append(contentsOf: "Z\"".utf8)
        for (name, value) in [("client", r.client as String?), ("method", r.method), ("target", r.target)] {
            Self.appendKey(name, to: &out)
            Self.appendJSONString(value, to: &out)
        }
        for (name, value) in [("status", r.status), ("bytes", r.bytes), ("duration_us", r.durationMicros)] {
            Self.appendKey(name, to: &out)
            Self.appendDecimal(value, to: &out)
        }
        for (name, value) in [("cache", r.cache), ("upstream", r.upstream)] {
            Self.appendKey(name, to: &out)
            Self.appendJSONString(value, to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
    }

    /// `,"name":`
    private static func appendKey(_ name: String, to out: inout [UInt8]) {
        out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: "\"")])
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")); appendDecimal(-value, to: &out); return }
        if value >= 10 { appendDecimal(value / 10, to: &out) }
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    /// Quotes, backslashes and control bytes become \xHH so a line cannot be forged.
    /// A value with none (nearly all) is appended with one copy: byte by byte,
    /// a browser's User-Agent and Referer cost 8,000 instructions a request.
    static func appendEscaped(_ s: String, to out: inout [UInt8]) {
        withUTF8Bytes(s) { bytes in
            if !anyNeedsEscape(bytes) { out.append(contentsOf: bytes); return }
            for b in bytes {
                if needsEscape(b) {
                    out.append(92)
                    out.append(120)
                    out.append(hex[Int(b >> 4)])
                    out.append(hex[Int(b & 15)])
                } else {
                    out.append(b)
                }
            }
        }
    }

    /// Whether a byte of `b` needs escaping, looked for eight bytes at a time
    /// ("Bit Twiddling Hacks": hasless and haszero, a word flagged by them
    /// checked byte by byte): a browser's User-Agent and Referer, ~200 bytes,
    /// cost ~1,500 instructions a byte at a time.
    static func anyNeedsEscape(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = b.count
        var i = 0
        if let base = b.baseAddress {
            let raw = UnsafeRawPointer(base)
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            while i + 8 <= n {
                let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let quote = w ^ (0x22 &* ones), backslash = w ^ (0x5c &* ones), del = w ^ (0x7f &* ones)
                let flagged = ((w &- 0x20 &* ones) & ~w) | ((quote &- ones) & ~quote)
                    | ((backslash &- ones) & ~backslash) | ((del &- ones) & ~del)
                if flagged & highs != 0 {
                    for k in i..<i + 8 where needsEscape(b[k]) { return true }
                }
                i += 8
            }
        }
        while i < n {
            if needsEscape(b[i]) { return true }
            i += 1
        }
        return false
    }

    @inline(__always)
    private static func needsEscape(_ b: UInt8) -> Bool {
        b < 0x20 || b == 0x7f || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\")
    }

    /// A JSON string (or null). Bytes that are not valid UTF-8 were already
    /// replaced when the request's String was made; control bytes become \u00XX.
    static func appendJSONString(_ s: String?, to out: inout [UInt8]) {
        guard let s else { out.append(contentsOf: "null".utf8); return }
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0..<0x20, 0x7f: out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
}
