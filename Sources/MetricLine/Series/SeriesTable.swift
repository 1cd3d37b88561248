#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dense number for a series, assigned in order of first appearance in one `SeriesTable`.
public typealias SeriesID = Int32

/// Interns series: maps the bytes of `name{labels}` to a `SeriesID` without building strings for a
/// series it has already seen.
///
/// Every spelling of a key that the authoritative parser accepted (labels in another order, other
/// blanks, other escapes) is kept as an alias of the one canonical series, so a lookup is one hash
/// of the raw bytes and one `memcmp`.
public final class SeriesTable {
    /// Every key spelling, back to back; aliases point into it.
    @exclusivity(unchecked) private var arena: [UInt8] = []
    /// One per spelling: where its bytes are in `arena`, its hash and its series.
    @exclusivity(unchecked) private var aliases: [Alias] = []
    /// Open-addressing index into `aliases` (-1 = empty); its count is a power of two.
    @exclusivity(unchecked) private var slots: [Int32] = Array(repeating: -1, count: 1024)
    /// Per series: the canonical key bytes' place in `arena`.
    @exclusivity(unchecked) private var canonicalSpans: [Range<Int>] = []
    /// Per series: the parsed name and labels.
    @exclusivity(unchecked) private var keys: [ExpositionParser.SeriesKey] = []

    private struct Alias {
        var hash: UInt64
        var start: Int
        var count: Int32
        var series: SeriesID
    }

    public init() {}

    /// How many distinct series the table holds.
    public var count: Int { keys.count }

    /// The parsed name and labels of `series`.
    public func key(_ series: SeriesID) -> ExpositionParser.SeriesKey { keys[Int(series)] }

    /// Calls `body` with the canonical bytes of `series`' key (`name{labels}` as the writer prints it).
    @inlinable
    public func withCanonicalKey<R>(_ series: SeriesID, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withArenaBytes(canonicalRange(series), body)
    }

    @usableFromInline
    func canonicalRange(_ series: SeriesID) -> Range<Int> { canonicalSpans[Int(series)] }

    @usableFromInline
    func withArenaBytes<R>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try arena.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// The series whose key is spelled exactly `bytes`, if that spelling was seen before.
    @inline(__always)
    public func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> SeriesID? {
        let hash = ByteHash.hash(bytes)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        return arena.withUnsafeBufferPointer { arenaBytes in
            while true {
                let entry = slots[slot]
                if entry < 0 { return nil }
                let alias = aliases[Int(entry)]
                if alias.hash == hash && Int(alias.count) == bytes.count
                    && (bytes.isEmpty || memcmp(arenaBytes.baseAddress! + alias.start, bytes.baseAddress!, bytes.count) == 0) {
                    return alias.series
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The series for a parsed key, added if new; `spelling` (the raw bytes it was parsed from)
    /// becomes an alias so that the next lookup of the same bytes is a hit.
    @discardableResult
    public func intern(_ key: ExpositionParser.SeriesKey, spelling: UnsafeBufferPointer<UInt8>?) -> SeriesID {
        var canonical: [UInt8] = []
        ExpositionWriter.appendSeriesKey(name: key.name, labels: key.labels, to: &canonical)
        let series: SeriesID
        if let known = canonical.withUnsafeBufferPointer({ lookup($0) }) {
            series = known
        } else {
            series = SeriesID(keys.count)
            let start = arena.count
            arena.append(contentsOf: canonical)
            canonicalSpans.append(start..<arena.count)
            keys.append(key)
            addAlias(start: start, count: canonical.count, series: series)
        }
        if let spelling, !spelling.elementsEqual(canonical), lookup(spelling) == nil {
            let start = arena.count
            arena.append(contentsOf: spelling)
            addAlias(start: start, count: spelling.count, series: series)
        }
        return series
    }

    private func addAlias(start: Int, count: Int, series: SeriesID) {
        let hash = arena.withUnsafeBufferPointer { ByteHash.hash(UnsafeBufferPointer(rebasing: $0[start..<(start + count)])) }
        aliases.append(Alias(hash: hash, start: start, count: Int32(count), series: series))
        if aliases.count * 2 > slots.count {
            rebuildSlots(capacity: slots.count * 2)
        } else {
            place(Int32(aliases.count - 1), hash: hash)
        }
    }

    private func place(_ entry: Int32, hash: UInt64) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = entry
    }

    private func rebuildSlots(capacity: Int) {
        slots = Array(repeating: -1, count: capacity)
        for (index, alias) in aliases.enumerated() { place(Int32(index), hash: alias.hash) }
    }
}

/// A fast 64-bit hash of a byte string, eight bytes at a time. Not for anything adversarial that
/// must resist collisions: a collision only costs a longer probe, never a wrong answer.
public enum ByteHash {
    @inline(__always)
    public static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bytes.count)
        guard let base = bytes.baseAddress else { return hash }
        let raw = UnsafeRawPointer(base)
        var offset = 0
        let count = bytes.count
        while offset + 8 <= count {
            let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            hash = (hash ^ word) &* multiplier
            hash ^= hash >> 32
            offset += 8
        }
        if offset < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                tail |= UInt64(bytes[offset]) << shift
                shift += 8
                offset += 1
            }
            hash = (hash ^ tail) &* multiplier
            hash ^= hash >> 32
        }
        hash = (hash ^ (hash >> 29)) &* 0xBF58_476D_1CE4_E5B9
        return hash ^ (hash >> 32)
    }
}
