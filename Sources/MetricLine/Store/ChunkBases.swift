/// Picks, among the series of one segment, a base series to code a chunk against: the chunk then
/// holds the differences from the base's values at the same timestamps.
///
/// Histograms are where this pays: cumulative buckets (`_bucket{le="0.1"}` and `le="0.25"`) rise
/// together, and their difference (the requests that fell between the two bounds) is a much
/// smaller number; `_count` is the `+Inf` bucket exactly, so its differences are all zero. Only a
/// series earlier in the segment can be a base, so that a writer streaming series in order has
/// the base at hand, and a reader never follows a cycle.
enum ChunkBases {
    private struct Group: Hashable {
        var family: Substring
        var labels: [Label]
    }

    /// For each series (in segment order), the number of an earlier series to try as its base.
    static func plan(_ keys: [ExpositionParser.SeriesKey]) -> [Int?] {
        var groups: [Group: [(bound: Double, number: Int)]] = [:]
        for (number, key) in keys.enumerated() where key.name.hasSuffix("_bucket") {
            guard let le = key.labels.first(where: { $0.name == "le" }), let bound = bound(le.value) else { continue }
            groups[Group(family: key.name.dropLast(7), labels: key.labels.filter { $0.name != "le" }), default: []].append((bound, number))
        }
        var bases = [Int?](repeating: nil, count: keys.count)
        for members in groups.values where members.count > 1 {
            for member in members {
                // The earlier member with the nearest bound.
                var best: (distance: Double, number: Int)?
                for other in members where other.number < member.number {
                    let distance = abs(other.bound - member.bound).isNaN ? .infinity : abs(other.bound - member.bound)
                    if best == nil || distance < best!.distance { best = (distance, other.number) }
                }
                bases[member.number] = best?.number
            }
        }
        for (number, key) in keys.enumerated() where key.name.hasSuffix("_count") {
            let group = Group(family: key.name.dropLast(6), labels: key.labels)
            if let infinite = groups[group]?.first(where: { $0.bound == .infinity }), infinite.number < number {
                bases[number] = infinite.number
            }
        }
        return bases
    }

    private static func bound(_ text: String) -> Double? {
        var copy = text
        return copy.withUTF8 { FloatParser.parse($0) }
    }

    /// `values - base`, if every value and difference is an integer below 2^53 so that adding the
    /// base back gives exactly the same bits; nil otherwise.
    static func exactDifferences(_ values: [Double], _ base: [Double]) -> [Double]? {
        guard values.count == base.count else { return nil }
        var differences: [Double] = []
        differences.reserveCapacity(values.count)
        for index in values.indices {
            let value = values[index], baseValue = base[index]
            guard abs(value) < 9_007_199_254_740_992, abs(baseValue) < 9_007_199_254_740_992,
                  value == value.rounded(), baseValue == baseValue.rounded() else { return nil }
            let difference = value - baseValue
            guard (difference + baseValue).bitPattern == value.bitPattern else { return nil }
            differences.append(difference)
        }
        return differences
    }
}
