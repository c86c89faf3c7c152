/// A map from 64-bit keys that already are hashes (the cache's `CacheKey.hash`,
/// the simulator's dense ids) to values: open addressing with linear probing
/// over one array of key-value buckets, at most three quarters full.
///
/// Why not `[UInt64: Value]`: a Dictionary hashes every key again with SipHash
/// (a lookup cost about 134 instructions, callgrind), and a file cache hit
/// looked two of them up (the shard's entry, the policy's slot). Here a bucket index is one multiply
/// and one shift (Fibonacci hashing: the multiply's high bits, so keys that
/// agree in their low bits, as the keys of one shard do, or dense ids, still
/// spread), and a lookup compares keys in place.
///
/// Removal shifts the following buckets of the probe run back (no tombstones:
/// a table with many removals never needs a clean-up rehash, and a lookup never
/// walks past dead buckets). Growth doubles the buckets, so inserting is
/// amortised O(1); the table never shrinks (as Dictionary).
/// Iteration order is the buckets' order: unspecified, as a Dictionary's.
///
/// Keys are stable hashes of what clients ask for (a cached URL's key): with a
/// fixed bucket function anyone could compute, offline, URLs whose keys share a
/// home bucket and make a proxy cache's lookups walk long probe runs (hash
/// flooding, which Dictionary's per-process SipHash seed prevents). So each
/// table mixes a random seed of its own into the bucket function.
///
/// Inlinable: the server's modules use it with their own value types, and an
/// unspecialised generic table would cost more than the SipHash it replaces.
public struct HashKeyedTable<Value> {
    @usableFromInline
    struct Bucket {
        @usableFromInline var key: UInt64
        /// nil: the bucket is empty.
        @usableFromInline var value: Value?

        @inlinable
        init(key: UInt64, value: Value?) {
            self.key = key
            self.value = value
        }
    }

    @usableFromInline var buckets: [Bucket]
    /// 64 - log2(buckets.count): a key's home bucket is the top bits of its product.
    @usableFromInline var shift: UInt64
    @usableFromInline var storedCount = 0
    /// XORed into every key before the multiply (see above).
    @usableFromInline let seed: UInt64

    @usableFromInline static var minimumBuckets: Int { 8 }

    @inlinable
    public init() {
        seed = UInt64.random(in: .min ... .max)
        buckets = Array(repeating: Bucket(key: 0, value: nil), count: Self.minimumBuckets)
        shift = UInt64(64 - Self.minimumBuckets.trailingZeroBitCount)
    }

    public var count: Int { storedCount }
    public var isEmpty: Bool { storedCount == 0 }

    /// Buckets allocated (a power of two), for memory accounting and tests.
    public var bucketCount: Int { buckets.count }

    /// How many keys fit before the table grows (as Dictionary's `capacity`).
    public var capacity: Int { buckets.count * 3 / 4 }

    @inlinable
    static func home(_ key: UInt64, seed: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: ((key ^ seed) &* 0x9e37_79b9_7f4a_7c15) &>> shift)
    }

    /// The bucket holding `key`, or nil.
    @inlinable
    func find(_ key: UInt64) -> Int? {
        buckets.withUnsafeBufferPointer { b in
            let mask = b.count - 1
            var i = Self.home(key, seed: seed, shift: shift)
            while b[i].value != nil {
                if b[i].key == key { return i }
                i = (i &+ 1) & mask
            }
            return nil
        }
    }

    @inlinable
    public subscript(key: UInt64) -> Value? {
        get {
            buckets.withUnsafeBufferPointer { b in
                let mask = b.count - 1
                var i = Self.home(key, seed: seed, shift: shift)
                while b[i].value != nil {
                    if b[i].key == key { return b[i].value }
                    i = (i &+ 1) & mask
                }
                return nil
            }
        }
        set {
            if let newValue { updateValue(newValue, forKey: key) } else { removeValue(forKey: key) }
        }
    }

    /// Sets `key`'s value; returns the value it replaced, if any.
    @inlinable
    @discardableResult
    public mutating func updateValue(_ value: Value, forKey key: UInt64) -> Value? {
        if (storedCount + 1) * 4 > buckets.count * 3 { resize(to: buckets.count * 2) }
        let shift = self.shift, seed = self.seed
        let inserted: Bool
        let old: Value?
        (inserted, old) = buckets.withUnsafeMutableBufferPointer { b -> (Bool, Value?) in
            let mask = b.count - 1
            var i = Self.home(key, seed: seed, shift: shift)
            while b[i].value != nil {
                if b[i].key == key {
                    let old = b[i].value
                    b[i].value = value
                    return (false, old)
                }
                i = (i &+ 1) & mask
            }
            b[i] = Bucket(key: key, value: value)
            return (true, nil)
        }
        if inserted { storedCount += 1 }
        return old
    }

    /// Removes `key`; returns its value, if it was present.
    @inlinable
    @discardableResult
    public mutating func removeValue(forKey key: UInt64) -> Value? {
        guard let found = find(key) else { return nil }
        let shift = self.shift, seed = self.seed
        storedCount -= 1
        return buckets.withUnsafeMutableBufferPointer { b -> Value? in
            let mask = b.count - 1
            let old = b[found].value
            // Backward-shift deletion: walk the run after the hole; a bucket
            // whose home is not cyclically in (hole, j] would become unreachable
            // past the hole, so it moves into it and leaves a new hole behind.
            var hole = found
            var j = found
            while true {
                j = (j &+ 1) & mask
                guard b[j].value != nil else { break }
                let home = Self.home(b[j].key, seed: seed, shift: shift)
                let reachable = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j)
                if !reachable {
                    b[hole] = b[j]
                    hole = j
                }
            }
            b[hole].value = nil
            return old
        }
    }

    /// Makes room for `n` keys without growing again.
    public mutating func reserveCapacity(_ n: Int) {
        var size = buckets.count
        while n * 4 > size * 3 { size *= 2 }
        if size > buckets.count { resize(to: size) }
    }

    public mutating func removeAll() { self = HashKeyedTable() }

    @usableFromInline
    mutating func resize(to size: Int) {
        let old = buckets
        buckets = Array(repeating: Bucket(key: 0, value: nil), count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
        let shift = self.shift, seed = self.seed
        buckets.withUnsafeMutableBufferPointer { b in
            let mask = size - 1
            for bucket in old where bucket.value != nil {
                var i = Self.home(bucket.key, seed: seed, shift: shift)
                while b[i].value != nil { i = (i &+ 1) & mask }
                b[i] = bucket
            }
        }
    }

    /// The values, in the table's order.
    public var values: [Value] { buckets.compactMap(\.value) }
}

extension HashKeyedTable: Sequence {
    public struct Iterator: IteratorProtocol {
        let buckets: [Bucket]
        var position = 0

        public mutating func next() -> (key: UInt64, value: Value)? {
            while position < buckets.count {
                let b = buckets[position]
                position += 1
                if let v = b.value { return (b.key, v) }
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(buckets: buckets) }
    public var underestimatedCount: Int { count }
}

extension HashKeyedTable: Sendable where Value: Sendable {}
extension HashKeyedTable.Bucket: Sendable where Value: Sendable {}
