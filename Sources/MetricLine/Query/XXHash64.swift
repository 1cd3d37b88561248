/// xxHash64 (seed 0), the hash Prometheus gives label sets; `limit_ratio` picks series by it, so
/// the same series are picked as in Prometheus.
enum XXHash64 {
    private static let prime1: UInt64 = 11_400_714_785_074_694_791
    private static let prime2: UInt64 = 14_029_467_366_897_019_727
    private static let prime3: UInt64 = 1_609_587_929_392_839_161
    private static let prime4: UInt64 = 9_650_029_242_287_828_579
    private static let prime5: UInt64 = 2_870_177_450_012_600_261

    private static func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 { (value << count) | (value >> (64 - count)) }

    private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotate(accumulator &+ input &* prime2, 31) &* prime1
    }

    private static func merge(_ accumulator: UInt64, _ value: UInt64) -> UInt64 {
        (accumulator ^ round(0, value)) &* prime1 &+ prime4
    }

    static func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { raw -> UInt64 in
            let count = raw.count
            var offset = 0
            func read64() -> UInt64 { defer { offset += 8 }; return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
            var hash: UInt64
            if count >= 32 {
                var v1 = prime1 &+ prime2, v2 = prime2, v3: UInt64 = 0, v4 = 0 &- prime1
                while offset + 32 <= count {
                    v1 = round(v1, read64())
                    v2 = round(v2, read64())
                    v3 = round(v3, read64())
                    v4 = round(v4, read64())
                }
                hash = rotate(v1, 1) &+ rotate(v2, 7) &+ rotate(v3, 12) &+ rotate(v4, 18)
                hash = merge(merge(merge(merge(hash, v1), v2), v3), v4)
            } else {
                hash = prime5
            }
            hash = hash &+ UInt64(count)
            while offset + 8 <= count {
                hash ^= round(0, read64())
                hash = rotate(hash, 27) &* prime1 &+ prime4
            }
            if offset + 4 <= count {
                hash ^= UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) &* prime1
                hash = rotate(hash, 23) &* prime2 &+ prime3
                offset += 4
            }
            while offset < count {
                hash ^= UInt64(raw[offset]) &* prime5
                hash = rotate(hash, 11) &* prime1
                offset += 1
            }
            hash ^= hash >> 33
            hash = hash &* prime2
            hash ^= hash >> 29
            hash = hash &* prime3
            hash ^= hash >> 32
            return hash
        }
    }

    /// Prometheus's `labels.Hash()`: names and values, each followed by 0xff.
    static func hash(_ labels: LabelSet) -> UInt64 {
        var bytes: [UInt8] = []
        for label in labels {
            bytes.append(contentsOf: label.name.utf8)
            bytes.append(0xFF)
            bytes.append(contentsOf: label.value.utf8)
            bytes.append(0xFF)
        }
        return hash(bytes)
    }
}
