import CBrotli

/// brotli (RFC 7932) through libbrotlienc and libbrotlidec.
enum BrotliCodec {
    static func compress(_ input: UnsafeRawBufferPointer, quality: Int) throws -> [UInt8] {
        var size = BrotliEncoderMaxCompressedSize(input.count)
        if size == 0 { size = input.count + 1024 }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBufferPointer { dst in
            BrotliEncoderCompress(Int32(quality), BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, input.count,
                                  input.baseAddress?.assumingMemoryBound(to: UInt8.self), &size, dst.baseAddress)
        }
        guard ok == BROTLI_TRUE else { throw CompressionError(.brotli, "BrotliEncoderCompress failed") }
        out.removeSubrange(size...)
        return out
    }

    static func decompress(_ input: [UInt8], limit: Int) throws -> [UInt8] {
        guard let state = BrotliDecoderCreateInstance(nil, nil, nil) else { throw CompressionError(.brotli, "no decoder") }
        defer { BrotliDecoderDestroyInstance(state) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        try input.withUnsafeBufferPointer { src in
            var availIn = src.count
            var nextIn = src.baseAddress
            while true {
                var availOut = chunk.count
                let result: BrotliDecoderResult = chunk.withUnsafeMutableBufferPointer { dst in
                    var nextOut = dst.baseAddress
                    return BrotliDecoderDecompressStream(state, &availIn, &nextIn, &availOut, &nextOut, nil)
                }
                out.append(contentsOf: chunk[0..<(chunk.count - availOut)])
                guard out.count <= limit else { throw CompressionError(.brotli, "output over \(limit) bytes") }
                switch result {
                case BROTLI_DECODER_RESULT_SUCCESS: return
                case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: continue
                case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT: throw CompressionError(.brotli, "truncated stream")
                default: throw CompressionError(.brotli, "corrupt stream")
                }
            }
        }
        return out
    }
}
