import CZlib

/// gzip (RFC 1952) through zlib: deflate with the gzip wrapper.
enum GzipCodec {
    static func compress(_ input: UnsafeRawBufferPointer, level: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard capuchin_deflate_init_gzip(&stream, Int32(level)) == Z_OK else { throw CompressionError(.gzip, "deflateInit2 failed") }
        defer { deflateEnd(&stream) }
        // deflateBound is an upper bound for one Z_FINISH call: one pass, no loop.
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let written: Int = try out.withUnsafeMutableBytes { dst in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = dst.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(dst.count)
            let rc = deflate(&stream, Z_FINISH)
            guard rc == Z_STREAM_END else { throw CompressionError(.gzip, "deflate returned \(rc)") }
            return dst.count - Int(stream.avail_out)
        }
        out.removeSubrange(written...)
        return out
    }

    static func decompress(_ input: [UInt8], limit: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard capuchin_inflate_init_gzip(&stream) == Z_OK else { throw CompressionError(.gzip, "inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        try input.withUnsafeBytes { src in
            stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(src.count)
            while true {
                let (rc, n): (Int32, Int) = chunk.withUnsafeMutableBytes { dst in
                    stream.next_out = dst.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(dst.count)
                    let rc = inflate(&stream, Z_NO_FLUSH)
                    return (rc, dst.count - Int(stream.avail_out))
                }
                out.append(contentsOf: chunk[0..<n])
                guard out.count <= limit else { throw CompressionError(.gzip, "output over \(limit) bytes") }
                if rc == Z_STREAM_END { return }
                guard rc == Z_OK else { throw CompressionError(.gzip, "inflate returned \(rc)") }
                if n == 0 && stream.avail_in == 0 { throw CompressionError(.gzip, "truncated stream") }
            }
        }
        return out
    }
}
