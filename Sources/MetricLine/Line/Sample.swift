/// One label of a series: a name and a non-empty value.
public struct Label: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One sample: a series (metric name plus labels), a value and an optional timestamp in milliseconds.
///
/// Labels are kept sorted by name (byte order), without `__name__` and without empty values, since
/// Prometheus treats an empty label as an absent one. Two samples are equal when their series,
/// timestamps and the bits of their values are equal, so NaN equals NaN and `-0` differs from `0`.
public struct Sample: Hashable, Sendable {
    public var name: String
    public var labels: [Label]
    public var value: Double
    /// Milliseconds since the Unix epoch; nil means "now" to the tool that receives it.
    public var timestamp: Int64?

    /// Makes a sample, sorting `labels` and dropping empty ones.
    public init(name: String, labels: [Label] = [], value: Double, timestamp: Int64? = nil) {
        self.name = name
        self.labels = Sample.canonicalLabels(labels)
        self.value = value
        self.timestamp = timestamp
    }

    /// Makes a sample from labels the caller already put in canonical order.
    init(name: String, sortedLabels: [Label], value: Double, timestamp: Int64?) {
        self.name = name
        self.labels = sortedLabels
        self.value = value
        self.timestamp = timestamp
    }

    /// `labels` sorted by name in byte order, with empty values removed.
    public static func canonicalLabels(_ labels: [Label]) -> [Label] {
        labels.filter { !$0.value.isEmpty }.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// The value of the label `name`, or nil.
    public func label(_ name: String) -> String? {
        labels.first { $0.name == name }?.value
    }

    /// Whether the value is Prometheus's staleness marker rather than an ordinary number.
    public var isStale: Bool { value.bitPattern == StaleMarker.bitPattern }

    public static func == (lhs: Sample, rhs: Sample) -> Bool {
        lhs.value.bitPattern == rhs.value.bitPattern && lhs.timestamp == rhs.timestamp
            && lhs.name == rhs.name && lhs.labels == rhs.labels
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(labels)
        hasher.combine(value.bitPattern)
        hasher.combine(timestamp)
    }
}

/// Prometheus's staleness marker: a NaN with a bit pattern of its own that ends a series.
/// In sample lines it is written as the value token `stale`; a `NaN` in text is an ordinary NaN.
public enum StaleMarker {
    public static let bitPattern: UInt64 = 0x7ff0_0000_0000_0002
    public static let value = Double(bitPattern: bitPattern)
}

/// What a metric family is, from its `# TYPE` line.
public enum MetricType: String, Sendable, CaseIterable {
    case counter, gauge, histogram, summary, untyped
    // OpenMetrics adds these.
    case gaugehistogram, stateset, info, unknown
}
