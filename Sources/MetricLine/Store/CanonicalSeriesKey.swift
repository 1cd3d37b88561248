#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A series' canonical key (`ExpositionWriter.appendSeriesKey`) as a dictionary and sort key,
/// where reads, compaction and sealing gather a series' parts from several files: hashed in one
/// call and compared with memcmp, where `[UInt8]` hashes and compares a byte at a time (a third
/// of locating a few thousand series went there). Segments list series in this order.
struct CanonicalSeriesKey: Hashable, Comparable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The key of a parsed series key.
    init(_ key: ExpositionParser.SeriesKey) {
        var bytes: [UInt8] = []
        ExpositionWriter.appendSeriesKey(name: key.name, labels: key.labels, to: &bytes)
        self.bytes = bytes
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (left: CanonicalSeriesKey, right: CanonicalSeriesKey) -> Bool {
        left.bytes.count == right.bytes.count && compare(left, right) == 0
    }

    /// Byte order, as `lexicographicallyPrecedes` gives it.
    static func < (left: CanonicalSeriesKey, right: CanonicalSeriesKey) -> Bool {
        let order = compare(left, right)
        return order != 0 ? order < 0 : left.bytes.count < right.bytes.count
    }

    /// memcmp over the common length.
    private static func compare(_ left: CanonicalSeriesKey, _ right: CanonicalSeriesKey) -> Int32 {
        let common = min(left.bytes.count, right.bytes.count)
        guard common > 0 else { return 0 }
        return left.bytes.withUnsafeBytes { first in
            right.bytes.withUnsafeBytes { second in memcmp(first.baseAddress!, second.baseAddress!, common) }
        }
    }
}
