import Glibc

/// `vm.max_map_count`: how many mappings one process may hold (65530 by
/// default). The file cache maps each cached file, so it bounds the entries.
public enum MapCountLimit {
    /// The limit, or nil when /proc cannot be read (then nothing is clamped).
    public static func current() -> Int? {
        let fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 31) }
        guard n > 0 else { return nil }
        let digits = buf[0..<n].prefix { $0 >= 48 && $0 <= 57 }
        return digits.isEmpty ? nil : Int(String(decoding: digits, as: UTF8.self))
    }
}
