/// Merges the segments of each finished day into one, with one chunk per series (or more for very
/// long series), makes rollups of finished days, and applies retention per tier and series. Merging drops duplicates that late or repeated data left
/// in overlapping segments, and a day's worth of samples compresses better in one chunk than in
/// twelve two-hour ones.
public struct Compactor {
    /// What a compaction did.
    public struct Report: Sendable {
        public var merged: [Segment.Summary] = []
        /// Segments merged away.
        public var inputs = 0
        /// Rollup segments written.
        public var rollups: [Segment.Summary] = []
        /// Segments removed whole by retention.
        public var expired: [String] = []
        /// Segments rewritten without the series whose retention had passed.
        public var trimmed: [String] = []
    }

    public let layout: StoreLayout
    /// The span one compacted segment covers.
    public var span: Int64 = 86_400_000
    /// What to keep how long, and which rollups to make. Retention counts back from the newest
    /// sample of the store (Prometheus's rule, so backfilled history is not deleted on arrival).
    public var policy = RetentionPolicy()
    /// Told of each step done: what the step is (`days merged`, `5m rollups`), how many of them
    /// are done, and how many there are.
    public var progress: (_ label: String, _ done: Int, _ total: Int) -> Void = { _, _, _ in }

    public init(layout: StoreLayout) {
        self.layout = layout
    }

    /// Compacts the store: merges finished days, makes the rollups the policy asks for, then
    /// applies retention to every tier. The caller must hold the writer's lock.
    public func run(now: Int64 = Clock.nowMilliseconds(), takeGeneration: () -> UInt64) throws(StoreError) -> Report {
        var report = Report()
        var readers: [Segment.Reader] = []
        for file in try layout.segments() { readers.append(try Segment.Reader(path: file.path)) }
        let openWindows = Set(try layout.headLogs().map { StoreLayout.window(of: $0.window, length: span) })
        let bySpan = Dictionary(grouping: readers) { StoreLayout.window(of: $0.minTime, length: span) }
        var finished: [Int64: Segment.Reader] = [:]
        // A span is finished when it has ended, no head log still feeds it, and every segment lies
        // inside it.
        let spans = bySpan.sorted(by: { $0.key < $1.key }).filter { start, group in
            start + span <= now && !openWindows.contains(start) && group.allSatisfy({ $0.maxTime < start + span })
        }
        let merges = spans.filter { $0.value.count > 1 || $0.value[0].chunksPerSeries > 1 }.count
        for (start, group) in spans {
            guard group.count > 1 || group[0].chunksPerSeries > 1 else {
                finished[start] = group[0]
                continue
            }
            defer { progress("days merged", report.merged.count, merges) }
            let generation = takeGeneration()
            let path = layout.segmentPath(window: start, generation: generation)
            let summary = try merge(group, into: path, generation: generation)
            report.merged.append(summary)
            report.inputs += group.count
            finished[start] = try Segment.Reader(path: path)
        }
        for step in policy.rollupSteps {
            let folder = layout.rollupDirectory(step: step)
            try FileSystem.makeDirectory(layout.directory + "/rollups")
            try FileSystem.makeDirectory(folder)
            let done = Set(try layout.segments(rollup: step).map(\.window))
            let pending = finished.sorted(by: { $0.key < $1.key }).filter { !done.contains($0.key) }
            for (index, (start, segment)) in pending.enumerated() {
                defer { progress("\(Duration.text(step)) rollups", index + 1, pending.count) }
                let generation = takeGeneration()
                report.rollups.append(try Rollup.write(from: segment, step: step, to: layout.segmentPath(window: start, generation: generation)
                    .replacingPrefix(layout.segmentDirectory, with: folder), generation: generation))
            }
        }
        // Merging keeps the newest sample, so the readers opened above already know it.
        let newest = readers.map(\.maxTime).max()
        if let newest {
            try expire(tier: .raw, files: layout.segments(), newest: newest, report: &report, takeGeneration: takeGeneration)
            for step in try layout.rollupSteps() {
                try expire(tier: .rollup(step), files: layout.segments(rollup: step), newest: newest, report: &report, takeGeneration: takeGeneration)
            }
        }
        return report
    }

    /// Removes, from the segments of one tier, the series whose retention has passed: a segment
    /// all of whose series have expired is deleted, one with some is rewritten without them.
    private func expire(tier: RetentionPolicy.Tier, files: [StoreLayout.File], newest: Int64,
                        report: inout Report, takeGeneration: () -> UInt64) throws(StoreError) {
        guard policy.rules.contains(where: { $0.tier == tier }) else { return }
        for file in files {
            let segment = try Segment.Reader(path: file.path)
            var keep: [Int] = []
            for number in 0..<segment.seriesCount {
                var key = segment.key(number)
                key.labels.removeAll { $0.name == Rollup.label }
                let last = segment.chunks(number).map(\.maxTime).max() ?? segment.maxTime
                if let retention = policy.retention(of: tier, for: key), last < newest - retention { continue }
                keep.append(number)
            }
            if keep.count == segment.seriesCount { continue }
            if keep.isEmpty {
                try FileSystem.remove(file.path)
                report.expired.append(file.path)
            } else {
                let generation = takeGeneration()
                let folder = String(file.path[..<file.path.lastIndex(of: "/")!])
                let path = folder + "/W\(file.window)-G\(generation).mseg"
                _ = try Segment.write(keys: keep.map { segment.key($0) }, to: path, generation: generation, replaces: [file.generation]) { index throws(StoreError) in
                    try segment.readSeries(keep[index])
                }
                try FileSystem.remove(file.path)
                report.trimmed.append(file.path)
            }
            try FileSystem.syncDirectory(String(file.path[..<file.path.lastIndex(of: "/")!]))
        }
    }

    /// Writes one segment with every series of `segments`, then removes them.
    private func merge(_ segments: [Segment.Reader], into path: String, generation: UInt64) throws(StoreError) -> Segment.Summary {
        var sources: [CanonicalSeriesKey: [(segment: Int, number: Int)]] = [:]
        var keys: [CanonicalSeriesKey: ExpositionParser.SeriesKey] = [:]
        for (segmentIndex, segment) in segments.enumerated() {
            for number in 0..<segment.seriesCount {
                let key = segment.key(number)
                let canonical = CanonicalSeriesKey(key)
                sources[canonical, default: []].append((segmentIndex, number))
                keys[canonical] = key
            }
        }
        let order = sources.keys.sorted()
        // A chunk that cannot be read stops the merge before anything is replaced.
        let summary = try Segment.write(keys: order.map { keys[$0]! }, to: path, generation: generation,
                                        replaces: segments.map(\.generation)) { number throws(StoreError) in
            var timestamps: [Int64] = []
            var values: [Double] = []
            for (segmentIndex, seriesNumber) in sources[order[number]]! {
                let decoded = try segments[segmentIndex].readSeries(seriesNumber)
                timestamps += decoded.timestamps
                values += decoded.values
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

extension String {
    /// The string with `prefix` replaced by `replacement`, when it starts with it.
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
