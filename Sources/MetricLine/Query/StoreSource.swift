import Synchronization

/// A store as the evaluator's source of series.
public final class StoreSource: SeriesSource {
    public let reader: StoreReader

    public init(reader: StoreReader) {
        self.reader = reader
    }

    /// Samples that rollups filled in where raw samples were gone, over all reads (for --explain).
    public private(set) var filledSamples = 0

    /// The longest rollup bucket the selections under way may read in place of raw samples.
    private var preferredRollupStep: Int64? = nil
    /// Every such limit set so far (for --explain).
    public private(set) var rollupLimitsUsed: [Int64] = []

    public func preferRollups(upTo longest: Int64?) {
        preferredRollupStep = longest
        if let longest { rollupLimitsUsed.append(longest) }
    }

    public func select(_ matchers: [LabelMatcher], from: Int64, to: Int64) throws(QueryError) -> [RangeSeries] {
        try select(matchers, from: from, to: to, filling: nil)
    }

    public func select(_ matchers: [LabelMatcher], from: Int64, to: Int64, filling: Rollup.Statistic?) throws(QueryError) -> [RangeSeries] {
        var result: [RangeSeries] = []
        filledSamples += reader.forEachSeries(matching: matchers, from: from, to: to, filling: filling, preferringRollupsUpTo: preferredRollupStep) { key, timestamps, values in
            result.append(RangeSeries(labels: LabelSet(key), timestamps: timestamps, values: values))
        }
        return result
    }

    /// Series read and transformed on as many threads as there are processors, each taking runs
    /// of series in order as it finishes the last (so a histogram's buckets, whose chunks build on
    /// one another, mostly stay with one thread and its chunk cache).
    public func selectEach<T: Sendable>(_ matchers: [LabelMatcher], from: Int64, to: Int64, filling: Rollup.Statistic?,
                                        _ transform: @escaping @Sendable (RangeSeries) -> T) throws(QueryError) -> (results: [T], samples: Int) {
        let locations = reader.locate(matching: matchers, from: from, to: to, filling: filling)
        let results = WorkerSlots<T>(locations.count)
        let samples = readEach(locations, from: from, to: to) { index, series in
            if let series { results[index] = transform(series) }
        }
        return ((0..<locations.count).compactMap { results[$0] }, samples)
    }

    /// As `selectEach`, with the results handed to `consume` in order as soon as every earlier
    /// one has been. Results are stored under a lock; whichever worker finds no one else
    /// consuming takes the ready ones out and consumes them outside the lock, while the other
    /// workers go on reading, so `consume` never runs twice at once nor holds anyone up.
    public func selectInOrder<T: Sendable>(_ matchers: [LabelMatcher], from: Int64, to: Int64, filling: Rollup.Statistic?,
                                           _ transform: @escaping @Sendable (RangeSeries) -> T, consume: (T) -> Void) throws(QueryError) -> (series: Int, samples: Int) {
        let locations = reader.locate(matching: matchers, from: from, to: to, filling: filling)
        // Per series: nil until done, then the result (nil for a series without samples).
        let results = WorkerSlots<T?>(locations.count)
        // The next series to consume, and how many had samples.
        let progress = Mutex((next: 0, series: 0))
        let consuming = Atomic(false)
        /// The results ready from the next one on, taken out of their slots.
        @Sendable func takeReady() -> [T] {
            progress.withLock { progress in
                var ready: [T] = []
                while progress.next < locations.count, let done = results[progress.next] {
                    results[progress.next] = nil
                    if let done {
                        ready.append(done)
                        progress.series += 1
                    }
                    progress.next += 1
                }
                return ready
            }
        }
        let samples = withoutActuallyEscaping(consume) { consume in
            let consumer = UncheckedConsumer(consume: consume)
            let samples = readEach(locations, from: from, to: to) { index, series in
                let result = series.map(transform)
                progress.withLock { _ in results[index] = .some(result) }
                // Consume while no one else does; a result stored while this worker was
                // finishing is taken on the next turn, or by the last drain below.
                while consuming.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
                    let ready = takeReady()
                    for one in ready { consumer.consume(one) }
                    consuming.store(false, ordering: .releasing)
                    if ready.isEmpty { break }
                }
            }
            for one in takeReady() { consumer.consume(one) }
            return samples
        }
        return (progress.withLock { $0.series }, samples)
    }

    /// Reads each located series on the workers and hands it to `body` with its position (nil
    /// for a series without samples in the range); records chunks, problems and filled samples,
    /// and returns the samples read.
    private func readEach(_ locations: [StoreReader.SeriesLocation], from: Int64, to: Int64,
                          _ body: @escaping @Sendable (_ index: Int, _ series: RangeSeries?) -> Void) -> Int {
        let workers = min(Workers.available, max(1, locations.count / 8))
        let tallies = WorkerSlots<(samples: Int, chunks: Int, problems: [String], filled: Int)>(workers)
        let shared = SharedReader(reader: reader), preferring = preferredRollupStep
        // Enough for a histogram's bases to be reused by its next buckets; a long query over many
        // segments must not keep every decoded chunk. Series are taken in runs of an eighth of a
        // worker's share, in order: a histogram's buckets are coded against each other, and a
        // run that starts inside one decodes the bases before it again.
        let caches = WorkerSlots<[Segment.ChunkCache]>(workers)
        for worker in 0..<workers {
            caches[worker] = reader.chunkCaches(budget: Segment.Reader.defaultCacheBudget)
            tallies[worker] = (0, 0, [], 0)
        }
        Workers.forEach(locations.count, workers: workers, batch: max(8, locations.count / (workers * 8))) { worker, index in
            let read = shared.reader.samples(of: locations[index], from: from, to: to, caches: caches[worker]!, preferringRollupsUpTo: preferring)
            tallies[worker]!.samples += read.timestamps.count
            tallies[worker]!.chunks += read.chunks
            tallies[worker]!.problems += read.problems
            tallies[worker]!.filled += read.filled
            body(index, read.timestamps.isEmpty ? nil : RangeSeries(labels: LabelSet(locations[index].key), timestamps: read.timestamps, values: read.values))
        }
        var samples = 0
        for worker in 0..<workers {
            guard let tally = tallies[worker] else { continue }
            samples += tally.samples
            filledSamples += tally.filled
            reader.record(chunks: tally.chunks, problems: tally.problems)
        }
        return samples
    }

    /// `consume` as workers call it, one at a time.
    private struct UncheckedConsumer<T>: @unchecked Sendable {
        let consume: (T) -> Void
    }

    /// The reader as threads share it: they only call `samples(of:caches:)` with caches of their
    /// own, which reads the reader's files with pread and changes nothing of it.
    private struct SharedReader: @unchecked Sendable {
        let reader: StoreReader
    }
}

extension Evaluator {
    /// The span of sample times a query over [start, end] can look at: back by the lookback, every
    /// range and offset on the way to a selector; unbounded when `@` pins a selector elsewhere.
    public func sampleWindow(of expression: QueryExpression, start: Int64, end: Int64) -> (from: Int64, to: Int64) {
        var back: Int64 = 0
        var ahead: Int64 = 0
        var pinned = false
        func walk(_ node: QueryExpression, _ reach: Int64, _ forward: Int64) {
            switch node {
            case .vector(let selector):
                if selector.at != nil { pinned = true }
                back = max(back, reach + lookback + max(selector.offset, 0))
                ahead = max(ahead, forward + max(-selector.offset, 0))
            case .matrix(let selector, let range):
                if selector.at != nil { pinned = true }
                back = max(back, reach + range + max(selector.offset, 0))
                ahead = max(ahead, forward + max(-selector.offset, 0))
            case .subquery(let inner, let range, let step, let offset, let at):
                if at != nil { pinned = true }
                walk(inner, reach + range + (step ?? defaultSubqueryStep) + max(offset, 0), forward + max(-offset, 0))
            case .call(_, let arguments):
                for argument in arguments { walk(argument, reach, forward) }
            case .aggregate(_, let parameter, let inner, _, _):
                if let parameter { walk(parameter, reach, forward) }
                walk(inner, reach, forward)
            case .binary(_, let left, let right, _, _):
                walk(left, reach, forward)
                walk(right, reach, forward)
            case .negate(let inner), .parenthesized(let inner):
                walk(inner, reach, forward)
            case .number, .string:
                break
            }
        }
        walk(expression, 0, 0)
        if pinned { return (.min, .max) }
        return (start - back, end + ahead)
    }

    /// Limits what selectors fetch to `window` (see `sampleWindow`).
    public func restrict(to window: (from: Int64, to: Int64)) {
        selectionWindow = window
    }
}
