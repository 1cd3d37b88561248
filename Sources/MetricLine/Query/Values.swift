/// A series' identity during evaluation: all its labels, the metric name as `__name__`, sorted by
/// name in byte order.
public typealias LabelSet = [Label]

extension Array where Element == Label {
    /// The value of label `name`, or "" when absent.
    public func value(of name: String) -> String {
        first { $0.name == name }?.value ?? ""
    }

    /// The set without `name`.
    func removing(_ name: String) -> LabelSet { filter { $0.name != name } }

    /// The set with `name` set to `value` (removed when `value` is empty), kept sorted.
    func setting(_ name: String, _ value: String) -> LabelSet {
        var result = filter { $0.name != name }
        if !value.isEmpty {
            let index = result.firstIndex { !$0.name.utf8.lexicographicallyPrecedes(name.utf8) } ?? result.count
            result.insert(Label(name, value), at: index)
        }
        return result
    }

    /// A key that identifies the set, for dictionaries.
    public var key: String {
        var text = ""
        for label in self {
            text += label.name
            text += "\u{0}"
            text += label.value
            text += "\u{1}"
        }
        return text
    }

    /// The set as a selector-like string, `name{a="b"}`, for messages and results.
    public var description: String {
        let name = value(of: Segment.nameLabel)
        var bytes: [UInt8] = []
        if name.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (index, label) in removing(Segment.nameLabel).enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(contentsOf: label.name.utf8)
                bytes.append(UInt8(ascii: "="))
                ExpositionWriter.appendQuoted(label.value, to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        } else {
            ExpositionWriter.appendSeriesKey(name: name, labels: removing(Segment.nameLabel), to: &bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The label set of a stored series key.
    public init(_ key: ExpositionParser.SeriesKey) {
        self = Sample.canonicalLabels(key.labels + [Label(Segment.nameLabel, key.name)])
    }
}

/// One element of an instant vector.
public struct VectorElement: Equatable, Sendable {
    public var labels: LabelSet
    public var value: Double
    /// Whether the metric name is to be dropped when the query ends. Functions and operators
    /// that drop the name mark it so instead (Prometheus's delayed name removal), which lets
    /// `label_replace` and friends still see it.
    public var dropsName: Bool

    public init(labels: LabelSet, value: Double, dropsName: Bool = false) {
        self.labels = labels
        self.value = value
        self.dropsName = dropsName
    }

    /// An element whose name is to be dropped at the end.
    static func withoutName(_ labels: LabelSet, _ value: Double) -> VectorElement {
        VectorElement(labels: labels, value: value, dropsName: true)
    }

    /// The element as the query returns it.
    var finished: VectorElement {
        dropsName ? VectorElement(labels: labels.removing(Segment.nameLabel), value: value) : self
    }
}

extension Array where Element == RangeSeries {
    /// The series in the order range queries return them: by label set, its key computed once per
    /// series rather than at every comparison.
    func sortedByLabels() -> [RangeSeries] {
        map { ($0.labels.key, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

/// One series of a range vector or a range query's result.
public struct RangeSeries: Equatable, Sendable {
    public var labels: LabelSet
    public var timestamps: [Int64]
    public var values: [Double]

    public init(labels: LabelSet, timestamps: [Int64] = [], values: [Double] = []) {
        self.labels = labels
        self.timestamps = timestamps
        self.values = values
    }
}

/// What an expression evaluates to at one instant.
public enum QueryValue: Sendable {
    case scalar(Double)
    case string(String)
    case vector([VectorElement])
    case matrix([RangeSeries])
}

/// Where the evaluator gets series: a store, or samples held in memory.
public protocol SeriesSource {
    /// Every series matching all `matchers`, with its samples in [from, to] in time order.
    func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) throws(QueryError) -> [RangeSeries]

    /// As `select`; a source that keeps rollups fills in with the statistic `filling` where raw
    /// samples are gone.
    func select(_ matchers: [LabelMatcher], from: Int64, to: Int64, filling: Rollup.Statistic?) throws(QueryError) -> [RangeSeries]

    /// `transform` of every series `select` gives, in the same order, and the samples read. A
    /// source that can read series apart does so on several threads, a series at a time, so
    /// the samples of all need not be in memory at once.
    func selectEach<T: Sendable>(_ matchers: [LabelMatcher], from: Int64, to: Int64, filling: Rollup.Statistic?,
                                 _ transform: @escaping @Sendable (RangeSeries) -> T) throws(QueryError) -> (results: [T], samples: Int)

    /// As `selectEach`, but each result goes to `consume` in the series' order, one at a time,
    /// and is not kept: only results waiting for an earlier one are in memory at once. Returns
    /// how many series there were and the samples read.
    func selectInOrder<T: Sendable>(_ matchers: [LabelMatcher], from: Int64, to: Int64, filling: Rollup.Statistic?,
                                    _ transform: @escaping @Sendable (RangeSeries) -> T, consume: (T) -> Void) throws(QueryError) -> (series: Int, samples: Int)

    /// For the selections that follow: a source that keeps rollups reads, where a tier has
    /// buckets, the coarsest tier whose buckets are at most `longest` in place of raw samples
    /// (in selections with a statistic to fill in); nil reads raw samples wherever they exist.
    func preferRollups(upTo longest: Int64?)
}

extension SeriesSource {
    public func preferRollups(upTo longest: Int64?) {}

    public func select(_ matchers: [LabelMatcher], from: Int64, to: Int64, filling: Rollup.Statistic?) throws(QueryError) -> [RangeSeries] {
        try select(matchers, from: from, to: to)
    }

    public func selectEach<T: Sendable>(_ matchers: [LabelMatcher], from: Int64, to: Int64, filling: Rollup.Statistic?,
                                        _ transform: @escaping @Sendable (RangeSeries) -> T) throws(QueryError) -> (results: [T], samples: Int) {
        let series = try select(matchers, from: from, to: to, filling: filling)
        return (series.map(transform), series.reduce(0) { $0 + $1.timestamps.count })
    }

    public func selectInOrder<T: Sendable>(_ matchers: [LabelMatcher], from: Int64, to: Int64, filling: Rollup.Statistic?,
                                           _ transform: @escaping @Sendable (RangeSeries) -> T, consume: (T) -> Void) throws(QueryError) -> (series: Int, samples: Int) {
        let series = try select(matchers, from: from, to: to, filling: filling)
        for one in series { consume(transform(one)) }
        return (series.count, series.reduce(0) { $0 + $1.timestamps.count })
    }
}

/// Series held in memory (tests, and samples read from stdin).
public final class MemorySource: SeriesSource {
    private var series: [String: RangeSeries] = [:]

    public init() {}

    /// Adds a sample; samples of a series must come in time order.
    public func add(_ labels: LabelSet, timestamp: Int64, value: Double) {
        let key = labels.key
        if series[key] == nil { series[key] = RangeSeries(labels: labels) }
        series[key]!.timestamps.append(timestamp)
        series[key]!.values.append(value)
    }

    /// Replaces a whole series.
    public func set(_ labels: LabelSet, timestamps: [Int64], values: [Double]) {
        series[labels.key] = RangeSeries(labels: labels, timestamps: timestamps, values: values)
    }

    public func removeAll() { series.removeAll() }

    /// Drops samples older than `time`, and series left without any (a bounded window for streams).
    public func prune(before time: Int64) {
        for (key, one) in series {
            let keep = one.timestamps.partitionIndex { $0 >= time }
            if keep == 0 { continue }
            if keep == one.timestamps.count {
                series[key] = nil
            } else {
                series[key] = RangeSeries(labels: one.labels, timestamps: Array(one.timestamps[keep...]), values: Array(one.values[keep...]))
            }
        }
    }

    /// The time of the newest sample of the series `labels`, if any.
    public func lastTimestamp(of labels: LabelSet) -> Int64? {
        series[labels.key]?.timestamps.last
    }

    /// In the order a store gives them (by canonical series key), not the dictionary's, which
    /// changes from run to run: an aggregation takes members in this order, and where that
    /// matters (ties of 0 and -0 in `min`, a sum's last bits) answers must not change.
    public func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) throws(QueryError) -> [RangeSeries] {
        let selected = series.values.filter { one in matchers.allSatisfy { $0.matches(one.labels.value(of: $0.name)) } }.compactMap { one -> RangeSeries? in
            let lower = one.timestamps.partitionIndex { $0 >= from }
            let upper = one.timestamps.partitionIndex { $0 > to }
            guard lower < upper else { return nil }
            return RangeSeries(labels: one.labels, timestamps: Array(one.timestamps[lower..<upper]), values: Array(one.values[lower..<upper]))
        }
        return selected.map { one in
            (CanonicalSeriesKey(ExpositionParser.SeriesKey(name: one.labels.value(of: Segment.nameLabel), labels: one.labels.filter { $0.name != Segment.nameLabel })), one)
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

extension RandomAccessCollection where Index == Int {
    /// The first index whose element satisfies `predicate`, for a predicate false then true along
    /// the collection (binary search).
    func partitionIndex(where predicate: (Element) -> Bool) -> Int {
        var low = startIndex
        var high = endIndex
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
