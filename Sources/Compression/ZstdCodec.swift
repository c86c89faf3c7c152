import CZstd

/// zstd (RFC 8878) through libzstd.
enum ZstdCodec {
    static func compress(_ input: UnsafeRawBufferPointer, level: Int) throws -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress, dst.count, input.baseAddress, input.count, Int32(level))
        }
        if ZSTD_isError(n) != 0 { throw CompressionError(.zstd, String(cString: ZSTD_getErrorName(n))) }
        out.removeSubrange(n...)
        return out
    }

    static func decompress(_ input: [UInt8], limit: Int) throws -> [UInt8] {
        guard let stream = ZSTD_createDStream() else { throw CompressionError(.zstd, "no decoder") }
        defer { ZSTD_freeDStream(stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        try input.withUnsafeBytes { src in
            var inBuf = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
            while true {
                let (rc, n): (Int, Int) = chunk.withUnsafeMutableBytes { dst in
                    var outBuf = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                    let rc = ZSTD_decompressStream(stream, &outBuf, &inBuf)
                    return (rc, outBuf.pos)
                }
                if ZSTD_isError(rc) != 0 { throw CompressionError(.zstd, String(cString: ZSTD_getErrorName(rc))) }
                out.append(contentsOf: chunk[0..<n])
                guard out.count <= limit else { throw CompressionError(.zstd, "output over \(limit) bytes") }
                if rc == 0 && inBuf.pos == inBuf.size { return }
                if n == 0 && inBuf.pos == inBuf.size { throw CompressionError(.zstd, "truncated stream") }
            }
        }
        return out
    }
}
