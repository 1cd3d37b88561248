/// label_replace, label_join and histogram_quantile: the functions that work on labels.
extension Evaluator {
    func labelReplace(_ arguments: [QueryExpression], at time: Int64) throws(QueryError) -> QueryValue {
        let destination = try stringArgument(arguments[1], at: time)
        let replacement = try stringArgument(arguments[2], at: time)
        let sourceLabel = try stringArgument(arguments[3], at: time)
        let pattern = try stringArgument(arguments[4], at: time)
        let regex: Regex
        do { regex = try Regex(pattern) } catch { throw QueryError("invalid regular expression in label_replace(): \(pattern)") }
        guard Names.isLegacyLabelName(destination) else { throw QueryError("invalid destination label name in label_replace(): \(destination)") }
        var result: [VectorElement] = []
        for element in try vectorArgument(arguments[0], at: time) {
            guard let groups = regex.captures(element.labels.value(of: sourceLabel)) else {
                result.append(element)
                continue
            }
            let value = regex.expand(replacement, groups: groups)
            result.append(VectorElement(labels: element.labels.setting(destination, value), value: element.value,
                                        dropsName: element.dropsName && destination != Segment.nameLabel))
        }
        return .vector(result)
    }

    func labelJoin(_ arguments: [QueryExpression], at time: Int64) throws(QueryError) -> QueryValue {
        let destination = try stringArgument(arguments[1], at: time)
        let separator = try stringArgument(arguments[2], at: time)
        var sources: [String] = []
        for argument in arguments.dropFirst(3) { sources.append(try stringArgument(argument, at: time)) }
        guard Names.isLegacyLabelName(destination) else { throw QueryError("invalid destination label name in label_join(): \(destination)") }
        return .vector(try vectorArgument(arguments[0], at: time).map { element in
            let joined = sources.map { element.labels.value(of: $0) }.joined(separator: separator)
            return VectorElement(labels: element.labels.setting(destination, joined), value: element.value,
                                 dropsName: element.dropsName && destination != Segment.nameLabel)
        })
    }

    func histogramQuantile(_ arguments: [QueryExpression], at time: Int64) throws(QueryError) -> QueryValue {
        let q = try scalarArgument(arguments[0], at: time)
        warnUnlessQuantile(q)
        var order: [String] = []
        var groups: [String: (labels: LabelSet, buckets: [(bound: Double, count: Double)])] = [:]
        for element in try vectorArgument(arguments[1], at: time) {
            guard let (bound, labels) = Evaluator.bucket(element.labels) else { continue }
            let key = labels.key
            if groups[key] == nil {
                groups[key] = (labels, [])
                order.append(key)
            }
            groups[key]!.buckets.append((bound, element.value))
        }
        return .vector(order.map { key in
            let (labels, buckets) = groups[key]!
            return .withoutName(labels, Evaluator.bucketQuantile(q, buckets))
        })
    }

    /// A bucket's upper bound (its `le` label) and the labels of its histogram: the rest, metric
    /// name included, so buckets of two metrics never mix (and collide, as in Prometheus); nil
    /// when `le` is not a number.
    static func bucket(_ labels: LabelSet) -> (bound: Double, histogram: LabelSet)? {
        var le = labels.value(of: "le")
        guard let bound = le.withUTF8({ FloatParser.parse($0) }) else { return nil }
        return (bound, labels.removing("le"))
    }

    /// The quantile of cumulative buckets, interpolating linearly inside the bucket that holds it.
    static func bucketQuantile(_ q: Double, _ unsorted: [(bound: Double, count: Double)]) -> Double {
        if q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        var buckets = unsorted.sorted { $0.bound < $1.bound }
        // Buckets with the same bound (spelt differently) are added together.
        var merged: [(bound: Double, count: Double)] = []
        for bucket in buckets {
            if let last = merged.last, last.bound == bucket.bound {
                merged[merged.count - 1].count += bucket.count
            } else {
                merged.append(bucket)
            }
        }
        buckets = merged
        guard buckets.count >= 2, buckets[buckets.count - 1].bound == .infinity else { return .nan }
        // Counts must not fall; where they do (scrapes of changing buckets), keep the maximum.
        var maximum = -Double.infinity
        for index in buckets.indices {
            if buckets[index].count < maximum { buckets[index].count = maximum } else { maximum = buckets[index].count }
        }
        let observations = buckets[buckets.count - 1].count
        guard observations > 0, !observations.isNaN else { return .nan }
        var rank = q * observations
        let found = buckets.partitionIndex { $0.count >= rank }
        if found == buckets.count - 1 { return buckets[buckets.count - 2].bound }
        if found == 0 && buckets[0].bound <= 0 { return buckets[0].bound }
        var start = 0.0
        let end = buckets[found].bound
        var count = buckets[found].count
        if found > 0 {
            start = buckets[found - 1].bound
            count -= buckets[found - 1].count
            rank -= buckets[found - 1].count
        }
        return start + (end - start) * (rank / count)
    }
}
