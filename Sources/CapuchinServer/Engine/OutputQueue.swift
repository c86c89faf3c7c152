import CapuchinSystem

/// Bytes waiting for a socket: owned bytes (head lines, small bodies, copied
/// into one buffer), slices of mappings (writev straight from them) and file
/// slices (sendfile). Consecutive memory chunks go out in one writev.
struct OutputQueue {
    enum Chunk {
        /// A range of `buffer`.
        case owned(start: Int, end: Int)
        case mapped(MappedFile, offset: Int, count: Int)
        case file(OpenFile, offset: Int, count: Int)
    }

    private(set) var buffer: [UInt8] = []
    private(set) var chunks: [Chunk] = []
    private var first = 0
    /// The last flush left bytes unsent: before writing more of a mapped file,
    /// check that the file is still the version the response began with.
    private var resumed = false

    var isEmpty: Bool { first >= chunks.count }

    /// Bytes still to write.
    var pendingBytes: Int {
        var n = 0
        for i in first..<chunks.count {
            switch chunks[i] {
            case .owned(let s, let e): n += e - s
            case .mapped(_, _, let c), .file(_, _, let c): n += c
            }
        }
        return n
    }

    /// Bytes of owned-buffer capacity this queue keeps when reset.
    var bufferCapacity: Int { buffer.capacity }

    /// Clears contents, keeping capacity (the worker's reused batch).
    mutating func reset() {
        // removeLast keeps the capacity as removeAll(keepingCapacity:) does, without
        // its generic replaceSubrange (~120 instructions a call, twice a response).
        if !buffer.isEmpty { buffer.removeLast(buffer.count) }
        if !chunks.isEmpty { chunks.removeLast(chunks.count) }
        first = 0
        resumed = false
    }

    /// Appends to the owned buffer, extending the last chunk when it is owned.
    @inline(__always)
    mutating func appendBytes<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let start = buffer.count
        buffer.append(contentsOf: bytes)
        extendOwned(from: start)
    }

    /// Appends through a closure writing into the owned buffer (head serialization).
    @inline(__always)
    mutating func appendOwned(_ write: (inout [UInt8]) -> Void) {
        let start = buffer.count
        write(&buffer)
        extendOwned(from: start)
    }

    @inline(__always)
    private mutating func extendOwned(from start: Int) {
        if buffer.count == start { return }
        if let last = chunks.last, chunks.count > first, case .owned(let s, let e) = last, e == start {
            chunks[chunks.count - 1] = .owned(start: s, end: buffer.count)
        } else {
            chunks.append(.owned(start: start, end: buffer.count))
        }
    }

    /// Appends a body. Small byte bodies are copied; mappings and files are referenced.
    mutating func append(_ body: ResponseBody) {
        switch body {
        case .empty: break
        case .bytes(let b): appendBytes(b)
        case .mapped(let m, let off, let n):
            guard n > 0 else { break }
            // The last page of a file being changed now goes in a chunk of its
            // own (written after a version check: see `writeMemoryChunks`).
            if let tail = m.guardedTailStart, off < tail, off + n > tail {
                chunks.append(.mapped(m, offset: off, count: tail - off))
                chunks.append(.mapped(m, offset: tail, count: off + n - tail))
            } else {
                chunks.append(.mapped(m, offset: off, count: n))
            }
        case .file(let f, let off, let n):
            if n <= 0 { break }
            // A small file slice is copied behind the head so one writev sends both.
            if n <= inlineFileLimit && appendFileBytes(f, offset: off, count: n) { break }
            chunks.append(.file(f, offset: off, count: n))
        case .parts(let parts): for p in parts { append(p) }
        }
    }

    /// File slices up to this size are read into the buffer rather than sent
    /// with sendfile (the `sendfile_threshold` setting).
    var inlineFileLimit = 64 << 10

    /// preads a whole slice into the owned buffer; false (buffer unchanged) on a
    /// short read or error, so the caller falls back to sendfile.
    private mutating func appendFileBytes(_ f: OpenFile, offset: Int, count: Int) -> Bool {
        let start = buffer.count
        var ok = true
        buffer.append(contentsOf: repeatElement(0, count: count))
        buffer.withUnsafeMutableBytes { raw in
            var got = 0
            while got < count {
                guard let n = try? FileIO.pread(f.fd, into: raw.baseAddress! + start + got, count: count - got, offset: offset + got), n > 0 else {
                    ok = false
                    return
                }
                got += n
            }
        }
        if !ok { buffer.removeLast(count); return false }
        extendOwned(from: start)
        return true
    }

    /// The unwritten part as a compact queue that owns copies of its bytes (the
    /// worker's batch is reused for the next connection).
    func remainder() -> OutputQueue {
        var q = OutputQueue()
        q.resumed = resumed
        q.appendQueue(self)
        return q
    }

    /// Appends `other`'s unwritten chunks after this queue's (owned bytes copied).
    mutating func appendQueue(_ other: OutputQueue) {
        for i in other.first..<other.chunks.count {
            switch other.chunks[i] {
            case .owned(let s, let e): appendBytes(other.buffer[s..<e])
            case .mapped, .file: chunks.append(other.chunks[i])
            }
        }
    }

    enum FlushOutcome { case done, blocked }

    /// Writes as much as the transport takes. Throws `SystemError` when the peer
    /// is gone (EPIPE, ECONNRESET) or a file changed or shrank under the send.
    mutating func flush<T: Transport>(to transport: inout T) throws -> FlushOutcome {
        if resumed, first < chunks.count, case .mapped(let m, _, _) = chunks[first], m.sourceChanged() {
            throw SystemError.ioFailure("writev (file changed during the send)")
        }
        resumed = false
        while first < chunks.count {
            if let (f, off, n) = Self.sentAsFile(chunks[first], T.self) {
                switch try transport.send(file: f, offset: off, count: min(n, 1 << 30)) {
                case .wouldBlock: resumed = true; return .blocked
                case .processed(let sent):
                    if sent == 0 { throw SystemError.ioFailure("sendfile (file shrank)") }
                    advance(by: sent)
                }
                continue
            }
            let (total, result) = try writeMemoryChunks(&transport)
            guard case .processed(let written) = result else { resumed = true; return .blocked }
            advance(by: written)
            if written < total { resumed = true; return .blocked }
        }
        reset()
        return .done
    }

    /// Bytes of `buffer` already written while later ones wait: after a partial
    /// write, a queue past this is compacted so a slow reader of a long stream
    /// does not keep everything ever sent.
    private static let compactAfter = 256 << 10

    /// Drops written bytes when they dominate the buffer (called after a blocked flush).
    mutating func compactIfWasteful() {
        guard first > 0, buffer.count > Self.compactAfter else { return }
        let limit = inlineFileLimit
        self = remainder()
        inlineFileLimit = limit
    }

    private static let maxIOVecs = 64

    /// One writev over the memory chunks from `first` up to the next file chunk.
    private func writeMemoryChunks<T: Transport>(_ transport: inout T) throws -> (Int, IOResult<Int>) {
        try IOVectors.with(capacity: Self.maxIOVecs) { iov in
            try buffer.withUnsafeBytes { raw in
                var i = first
                var beforeTail = false
                loop: while i < chunks.count && !iov.isFull {
                    switch chunks[i] {
                    case .owned(let s, let e): iov.append(raw.baseAddress! + s, count: e - s)
                    case .mapped(let m, let off, let n):
                        if T.sendsFiles && m.immutableFile != nil { break loop }
                        // (Offset 0, every slab body's on the hit path, is passed
                        // over before the owner is looked at: a file mapping's
                        // last page starts past 0 unless the file is one page.)
                        if off > 0, let tail = m.guardedTailStart, off >= tail {
                            // A file truncated into its last page reads as zeros
                            // there (no fault): those bytes go first in a write of
                            // their own, once the file is seen to be the version
                            // mapped (the soak part once had a 200 ending in zeros).
                            if i > first { beforeTail = true; break loop }
                            if m.sourceChanged() { throw SystemError.ioFailure("writev (file changed during the send)") }
                        }
                        iov.append(m.base! + off, count: n)
                    case .file: break loop
                    }
                    i += 1
                }
                let beforeFile = i < chunks.count && !iov.isFull && Self.sentAsFile(chunks[i], T.self) != nil
                // Before a file or a last page, more follows at once (MSG_MORE:
                // no segment of its own for what is written now).
                return (iov.totalBytes, try transport.write(iov, beforeFile: beforeFile || beforeTail))
            }
        }
    }

    private mutating func advance(by written: Int) {
        var left = written
        while left > 0 && first < chunks.count {
            switch chunks[first] {
            case .owned(let s, let e):
                if left >= e - s { left -= e - s; first += 1 } else { chunks[first] = .owned(start: s + left, end: e); left = 0 }
            case .mapped(let m, let off, let n):
                if left >= n { left -= n; first += 1 } else { chunks[first] = .mapped(m, offset: off + left, count: n - left); left = 0 }
            case .file(let f, let off, let n):
                if left >= n { left -= n; first += 1 } else { chunks[first] = .file(f, offset: off + left, count: n - left); left = 0 }
            }
        }
    }

    /// The file a chunk is sent from with `T`'s `send(file:)`: a file slice,
    /// or a mapped slice of an immutable file when `T` sends files with sendfile.
    @inline(__always)
    private static func sentAsFile<T: Transport>(_ chunk: Chunk, _: T.Type) -> (OpenFile, Int, Int)? {
        switch chunk {
        case .file(let f, let off, let n): return (f, off, n)
        case .mapped(let m, let off, let n): return T.sendsFiles ? m.immutableFile.map { ($0, off, n) } : nil
        case .owned: return nil
        }
    }
}
