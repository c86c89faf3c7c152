/// Strict UTF-8 validation (RFC 3629): refuses overlong forms such as
/// `C0 AE`, surrogates, code points above U+10FFFF and truncated sequences.
enum UTF8Validator {
    static func isValid(_ bytes: [UInt8]) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            let count: Int
            var lower: UInt8 = 0x80, upper: UInt8 = 0xBF  // bounds for the second byte
            switch b {
            case 0xC2...0xDF: count = 1
            case 0xE0: count = 2; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: count = 2
            case 0xED: count = 2; upper = 0x9F
            case 0xF0: count = 3; lower = 0x90
            case 0xF1...0xF3: count = 3
            case 0xF4: count = 3; upper = 0x8F
            default: return false  // 0x80-0xC1 (continuation or overlong lead), 0xF5-0xFF
            }
            guard i + count < n else { return false }
            if bytes[i + 1] < lower || bytes[i + 1] > upper { return false }
            var k = 2
            while k <= count {
                if bytes[i + k] & 0xC0 != 0x80 { return false }
                k += 1
            }
            i += count + 1
        }
        return true
    }
}
