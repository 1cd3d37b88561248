/// Merges the segments of each finished day into one, with one chunk per series (or more for very
/// long series), and applies retention. Merging drops duplicates that late or repeated data left
/// in overlapping segments, and a day's worth of samples compresses better in one chunk than in
/// twelve two-hour ones.
public struct Compactor {
    /// What a compaction did.
    public struct Report: Sendable {
        public var merged: [Segment.Summary] = []
        /// Segments merged away.
        public var inputs = 0
        /// Segments removed by retention.
        public var expired: [String] = []
    }

    public let layout: StoreLayout
    /// The span one compacted segment covers.
    public var span: Int64 = 86_400_000
    /// Segments whose newest sample is older than this, counted back from the newest sample of the
    /// store, are removed (Prometheus's rule, so backfilled history is not deleted on arrival).
    public var retention: Int64?

    public init(layout: StoreLayout) {
        self.layout = layout
    }

    /// Compacts the store. The caller must hold the writer's lock (a `StoreWriter` open on it).
    public func run(now: Int64 = Clock.nowMilliseconds(), takeGeneration: () -> UInt64) throws(StoreError) -> Report {
        var report = Report()
        var readers: [Segment.Reader] = []
        for file in try layout.segments() { readers.append(try Segment.Reader(path: file.path)) }
        if let retention, let newest = readers.map(\.maxTime).max() {
            for reader in readers where reader.maxTime < newest - retention {
                try FileSystem.remove(reader.path)
                report.expired.append(reader.path)
            }
            readers.removeAll { $0.maxTime < newest - retention }
            if !report.expired.isEmpty { try FileSystem.syncDirectory(layout.segmentDirectory) }
        }
        let openWindows = Set(try layout.headLogs().map { StoreLayout.window(of: $0.window, length: span) })
        let bySpan = Dictionary(grouping: readers) { StoreLayout.window(of: $0.minTime, length: span) }
        for (start, group) in bySpan.sorted(by: { $0.key < $1.key }) {
            // A span is finished when it has ended, no head log still feeds it, and every segment
            // lies inside it.
            guard start + span <= now, !openWindows.contains(start), group.allSatisfy({ $0.maxTime < start + span }) else { continue }
            guard group.count > 1 || group[0].chunksPerSeries > 1 else { continue }
            let generation = takeGeneration()
            let summary = try merge(group, into: layout.segmentPath(window: start, generation: generation), generation: generation)
            report.merged.append(summary)
            report.inputs += group.count
        }
        return report
    }

    /// Writes one segment with every series of `segments`, then removes them.
    private func merge(_ segments: [Segment.Reader], into path: String, generation: UInt64) throws(StoreError) -> Segment.Summary {
        var sources: [[UInt8]: [(segment: Int, number: Int)]] = [:]
        var keys: [[UInt8]: ExpositionParser.SeriesKey] = [:]
        for (segmentIndex, segment) in segments.enumerated() {
            for number in 0..<segment.seriesCount {
                let key = segment.key(number)
                var canonical: [UInt8] = []
                ExpositionWriter.appendSeriesKey(name: key.name, labels: key.labels, to: &canonical)
                sources[canonical, default: []].append((segmentIndex, number))
                keys[canonical] = key
            }
        }
        let order = sources.keys.sorted { $0.lexicographicallyPrecedes($1) }
        // A chunk that cannot be read stops the merge before anything is replaced.
        let summary = try Segment.write(keys: order.map { keys[$0]! }, to: path, generation: generation,
                                        replaces: segments.map(\.generation)) { number throws(StoreError) in
            var timestamps: [Int64] = []
            var values: [Double] = []
            for (segmentIndex, seriesNumber) in sources[order[number]]! {
                for chunk in segments[segmentIndex].chunks(seriesNumber) {
                    let decoded = try segments[segmentIndex].read(chunk)
                    timestamps.append(contentsOf: decoded.timestamps)
                    values.append(contentsOf: decoded.values)
                }
            }
            let (sortedTimes, sortedValues, _, _) = StoreWriter.sortedUnique(timestamps, values)
            return (sortedTimes, sortedValues)
        }
        for segment in segments { try FileSystem.remove(segment.path) }
        try FileSystem.syncDirectory(layout.segmentDirectory)
        return summary
    }
}

extension Segment.Reader {
    /// The most chunks any series has here: above one, merging would give longer chunks.
    var chunksPerSeries: Int {
        (0..<seriesCount).reduce(0) { max($0, chunks($1).count) }
    }
}
