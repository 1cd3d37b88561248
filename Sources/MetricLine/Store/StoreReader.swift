/// Reads a store without locking it: the sealed segments (whole files only) and the head logs (up
/// to their last whole record). A damaged file is reported and skipped; the rest stays readable.
///
/// Segments are opened when a read first needs them: each file's footer gives its time range, and
/// a read opens the segments whose range it touches, with every segment of a later generation
/// (only those can replace it, as a compaction or a trim does). A query over the last hours of a
/// store that keeps a year opens the last day's segments, not the year's. A segment that is gone
/// by the time a read opens it was replaced meanwhile: the store is listed again (see `open`).
public final class StoreReader {
    public let layout: StoreLayout
    /// Every segment file, in the order the layout lists them (then any found later); indexes
    /// into it name segments.
    private var slots: [SegmentSlot] = []
    /// Generations that opened segments replace: leftovers of a crash, never read.
    private var replaced = Set<UInt64>()
    /// Head logs and what they hold.
    public private(set) var heads: [(path: String, contents: HeadLog.Contents)] = []
    /// Bytes of every head log, by path.
    public func headBytes(_ path: String) -> Int64 { FileSystem.size(path) ?? 0 }

    /// How many decoded samples each segment keeps for reuse (see `Segment.Reader.cacheBudget`):
    /// worth raising when many queries read the same series, as a rule file's rules do; above
    /// the default, every chunk read is kept, not only those others are coded against.
    public var cacheBudget: Int = Segment.Reader.defaultCacheBudget {
        didSet { slots.forEach { $0.reader?.cacheBudget = cacheBudget } }
    }

    /// How many chunks reads decoded so far (for `mquery --explain`).
    public private(set) var chunksRead = 0

    /// Problems found while reading, each naming its file, the rollup tiers' included.
    public var problems: [String] { ownProblems + (openedTiers ?? []).flatMap(\.reader.problems) }
    private var ownProblems: [String] = []

    /// The store's rollup tiers, finest first, opened when a read first asks for them (only for
    /// a reader of raw samples).
    public var tiers: [(step: Int64, reader: StoreReader)] {
        if let openedTiers { return openedTiers }
        var opened: [(step: Int64, reader: StoreReader)] = []
        if rollupStep == nil, let steps = try? layout.rollupSteps() {
            opened = steps.compactMap { step in (try? StoreReader(directory: layout.directory, rollup: step)).map { (step, $0) } }
        }
        openedTiers = opened
        return opened
    }
    private var openedTiers: [(step: Int64, reader: StoreReader)]?
    /// The step of the rollups this reader reads, or nil for raw samples.
    private let rollupStep: Int64?

    /// Opens the store's raw samples, or with `rollup` its rollups of that step (whose series
    /// carry the label `__rollup__`; see `Rollup`).
    public convenience init(directory: String, rollup: Int64? = nil) throws(StoreError) {
        try self.init(directory: directory, rollup: rollup, listed: nil)
    }

    /// Opens the store from its files as `listed` earlier (segments, head logs), or as listed
    /// now: tests stand for a writer that sealed a window between the listing and the reading.
    init(directory: String, rollup: Int64?, listed: (segments: [StoreLayout.File], headLogs: [StoreLayout.File])?) throws(StoreError) {
        layout = StoreLayout(directory: directory)
        rollupStep = rollup
        guard FileSystem.exists(layout.segmentDirectory) || FileSystem.exists(layout.headDirectory) else {
            throw StoreError("\(layout.directory): no store here (no segments/ or head/ directory)")
        }
        if let rollup, !FileSystem.exists(layout.rollupDirectory(step: rollup)) {
            throw StoreError("\(layout.directory): no rollups of step \(Duration.text(rollup)) (see mstore compact --policy)")
        }
        // Head logs are listed before segments: a window sealed in between then has its segment
        // listed, or its head log gone when read (below), never neither.
        let headLogs: [StoreLayout.File]
        if rollup != nil { headLogs = [] } else if let listed { headLogs = listed.headLogs } else { headLogs = try layout.headLogs() }
        try addSlots(listed?.segments)
        // Segments that may replace a head log (sealed from it) are later than it.
        guard let earliest = headLogs.map(\.generation).min() else { return }
        open(through: earliest)
        var read: [(generation: UInt64, path: String, tornBytes: Int)] = []
        var vanished = false
        for file in headLogs where !replaced.contains(file.generation) {
            do throws(StoreError) {
                let contents = try HeadLog.read(file.path)
                heads.append((file.path, contents))
                read.append((file.generation, file.path, contents.damagedBytes))
            } catch {
                if FileSystem.exists(file.path) { ownProblems.append(error.message) } else { vanished = true }
            }
        }
        if vanished {
            // A head log gone since the listing was sealed by a writer meanwhile (no lock keeps
            // writers and readers apart): the files are listed again and the segments that
            // replace it read instead. Those may also replace logs read whole, which are dropped.
            // (A window with no samples is sealed into nothing, and a seal then compacted leaves
            // a segment that names only what it merged: so a vanished log is not a problem.)
            try? addSlots()
            open(through: earliest)
        }
        let kept = read.indices.filter { !replaced.contains(read[$0].generation) }
        heads = kept.map { heads[$0] }
        for log in kept.map({ read[$0] }) where log.tornBytes > 0 {
            ownProblems.append("\(log.path): \(log.tornBytes) bytes after the last whole record (a torn write; the writer cuts it off)")
        }
    }

    /// A segment file, known by its footer's time range until it is opened.
    private final class SegmentSlot {
        let path: String
        let generation: UInt64
        let minTime: Int64
        let maxTime: Int64
        /// Whether opening it was tried; `reader` is nil if that failed.
        var tried = false
        var reader: Segment.Reader?

        init(path: String, generation: UInt64, minTime: Int64, maxTime: Int64) {
            self.path = path
            self.generation = generation
            self.minTime = minTime
            self.maxTime = maxTime
        }
    }

    /// Adds a slot for every segment file not known yet: of `listed`, or as listed now.
    private func addSlots(_ listed: [StoreLayout.File]? = nil) throws(StoreError) {
        let known = Set(slots.map(\.generation))
        let files: [StoreLayout.File]
        if let listed { files = listed } else { files = try layout.segments(rollup: rollupStep) }
        for file in files where !known.contains(file.generation) {
            // A footer that cannot be read gives no range: such a segment is opened by every read,
            // which reports what is wrong with it.
            let range = Segment.timeRange(path: file.path) ?? (.min, .max)
            slots.append(SegmentSlot(path: file.path, generation: file.generation, minTime: range.minTime, maxTime: range.maxTime))
        }
    }

    /// Opens every segment of generation `generation` or later not tried yet, noting what each
    /// replaces; one that cannot be opened is named in `problems` and left out. A segment that is
    /// gone was replaced since the store was listed (a compaction or trim running beside this
    /// read, which needs no lock): the files are listed again, and the ones that replace it are
    /// opened in its place.
    private func open(through generation: UInt64) {
        for listing in 0..<3 {
            var vanished = false
            for slot in slots where !slot.tried && slot.generation >= generation {
                slot.tried = true
                do throws(StoreError) {
                    let reader = try Segment.Reader(path: slot.path)
                    reader.cacheBudget = cacheBudget
                    replaced.formUnion(reader.replaces)
                    slot.reader = reader
                } catch {
                    if FileSystem.exists(slot.path) || listing == 2 { ownProblems.append(error.message) } else { vanished = true }
                }
            }
            guard vanished, (try? addSlots()) != nil else { return }
        }
    }

    /// The segments (by index) that may hold samples in [from, to], opened; leftovers that a later
    /// segment replaces are not among them.
    public func segmentIndexes(from: Int64 = .min, to: Int64 = .max) -> [Int] {
        let touching = { self.slots.indices.filter { self.slots[$0].maxTime >= from && self.slots[$0].minTime <= to } }
        guard let earliest = touching().map({ slots[$0].generation }).min() else { return [] }
        open(through: earliest)
        // Opening may have found newer files (see `open`), which are later than `earliest`.
        return touching().filter { index in
            guard let reader = slots[index].reader else { return false }
            return !replaced.contains(reader.generation) && reader.maxTime >= from && reader.minTime <= to
        }
    }

    /// How many segment files the store has, and how many reads have opened so far.
    public var segmentFiles: Int { slots.count }
    public var openedSegments: Int { slots.count { $0.tried } }

    /// The segment at `index` (one `segmentIndexes` gave).
    public func segment(_ index: Int) -> Segment.Reader { slots[index].reader! }

    /// Every segment, all opened, in the layout's order (leftovers left out).
    public var segments: [Segment.Reader] { segmentIndexes().map(segment) }

    /// Where one series' samples are: its segment series numbers and head log entries.
    public struct SeriesLocation: Sendable {
        public var key: ExpositionParser.SeriesKey
        var segmentSeries: [(segment: Int, number: Int)] = []
        var headSeries: [(head: Int, index: Int)] = []
        /// Rollup series of the same key that fill in before its raw samples: tier, segment and
        /// series number, finest tier first.
        var rollupSeries: [(tier: Int, segment: Int, number: Int)] = []
    }

    /// The series that match all `matchers` and may have samples in [from, to], in canonical key
    /// order, without reading their samples. With `filling`, a series' rollups of that statistic
    /// (see `Rollup`) stand in for its raw samples where those are gone: before its first raw
    /// sample, and for series whose raw samples have all expired; each is stamped at the end of
    /// its bucket.
    public func locate(matching matchers: [LabelMatcher], from: Int64 = .min, to: Int64 = .max,
                       filling statistic: Rollup.Statistic? = nil) -> [SeriesLocation] {
        // In the order first seen, with their keys and where each key is: a segment's series come
        // in key order, so with one segment (the usual case) nothing needs sorting.
        var locations: [SeriesLocation] = []
        var keys: [CanonicalSeriesKey] = []
        var positions: [CanonicalSeriesKey: Int] = [:]
        func add(_ canonical: CanonicalSeriesKey, _ key: ExpositionParser.SeriesKey, _ change: (inout SeriesLocation) -> Void) {
            if let position = positions[canonical] {
                change(&locations[position])
                return
            }
            positions[canonical] = locations.count
            keys.append(canonical)
            locations.append(SeriesLocation(key: key))
            change(&locations[locations.count - 1])
        }
        for segmentIndex in segmentIndexes(from: from, to: to) {
            let segment = segment(segmentIndex)
            for number in candidates(segment, matchers) {
                let key = segment.key(number)
                guard matchers.allSatisfy({ $0.matches(key) }) else { continue }
                add(CanonicalSeriesKey(key), key) { $0.segmentSeries.append((segmentIndex, number)) }
            }
        }
        for (headIndex, head) in heads.enumerated() {
            for (index, keyBytes) in head.contents.keys.enumerated() {
                let canonical = CanonicalSeriesKey(keyBytes)
                if let position = positions[canonical] {
                    locations[position].headSeries.append((headIndex, index))
                    continue
                }
                let key = keyBytes.withUnsafeBufferPointer { bytes -> ExpositionParser.SeriesKey? in
                    var cursor = Cursor(bytes)
                    return try? ExpositionParser.parseSeriesKey(&cursor)
                }
                guard let key, matchers.allSatisfy({ $0.matches(key) }) else { continue }
                add(canonical, key) { $0.headSeries.append((headIndex, index)) }
            }
        }
        if let statistic, let wanted = try? LabelMatcher(Rollup.label, .equal, statistic.rawValue) {
            for (tierIndex, tier) in tiers.enumerated() {
                // A bucket is stamped at its end, a step after the start the segment records.
                let (earlier, overflow) = from.subtractingReportingOverflow(tier.step)
                for segmentIndex in tier.reader.segmentIndexes(from: overflow ? .min : earlier, to: to) {
                    let segment = tier.reader.segment(segmentIndex)
                    for number in tier.reader.candidates(segment, matchers + [wanted]) {
                        let rollupKey = segment.key(number)
                        guard wanted.matches(rollupKey) else { continue }
                        let key = ExpositionParser.SeriesKey(name: rollupKey.name, labels: rollupKey.labels.filter { $0.name != Rollup.label })
                        // The statistic's label aside, the rollup series must match as a raw one would.
                        guard matchers.allSatisfy({ $0.matches(key) }) else { continue }
                        add(CanonicalSeriesKey(key), key) { $0.rollupSeries.append((tierIndex, segmentIndex, number)) }
                    }
                }
            }
        }
        if zip(keys, keys.dropFirst()).allSatisfy({ $0 < $1 }) { return locations }
        return keys.indices.sorted { keys[$0] < keys[$1] }.map { locations[$0] }
    }

    /// A located series' samples in [from, to], merged from every file, sorted, without
    /// duplicates; unreadable chunks are skipped and named in `problems`. With `caches` (one per
    /// segment, see `chunkCaches`), nothing of the reader changes, so threads may read at once,
    /// each with caches of its own. With `longest`, the coarsest rollup tier whose buckets are
    /// at most that long stands in for raw samples wherever it has buckets (for a location with a
    /// statistic to fill in, see `locate`); without, rollups stand in only where raw samples are
    /// gone.
    public func samples(of location: SeriesLocation, from: Int64 = .min, to: Int64 = .max, caches: [Segment.ChunkCache]? = nil,
                        preferringRollupsUpTo longest: Int64? = nil)
        -> (timestamps: [Int64], values: [Double], chunks: Int, problems: [String], filled: Int) {
        var timestamps: [Int64] = []
        var values: [Double] = []
        var chunks = 0
        var problems: [String] = []
        // With a preferred tier, its buckets in [from, to] and the span of raw time they cover
        // (a bucket [b, b + step) is stamped at b + step); raw samples are read only outside it.
        var preferred: (timestamps: [Int64], values: [Double], start: Int64, end: Int64)? = nil
        if let longest,
           let tierIndex = Set(location.rollupSeries.map(\.tier)).filter({ tiers[$0].step <= longest }).max(by: { tiers[$0].step < tiers[$1].step }) {
            let problemsBefore = problems.count
            let tier = tierSamples(location, tierIndex, from: from, before: .max, chunks: &chunks, problems: &problems)
            let begin = tier.timestamps.partitionIndex { $0 >= from }, end = tier.timestamps.partitionIndex { $0 > to }
            // A damaged tier (named in `problems`) may have holes: raw samples answer instead.
            if begin < end && problems.count == problemsBefore {
                preferred = (Array(tier.timestamps[begin..<end]), Array(tier.values[begin..<end]),
                             tier.timestamps[begin] - tiers[tierIndex].step, tier.timestamps[end - 1])
            }
        }
        // Each segment's chunks that overlap [from, to] (and not only the preferred rollups'
        // span), looked up once (a series' entry in the index is read when asked for).
        let wanted = location.segmentSeries.map { segmentIndex, number in
            (segmentIndex, segment(segmentIndex).chunks(number).filter { chunk in
                chunk.maxTime >= from && chunk.minTime <= to && (preferred.map { chunk.minTime < $0.start || chunk.maxTime > $0.end } ?? true)
            })
        }
        let expected = wanted.reduce(0) { total, one in one.1.reduce(total) { $0 + $1.samples } }
        let fromHeads = location.headSeries.reduce(0) { $0 + heads[$1.0].contents.timestamps[$1.1].count }
        // A chunk's own samples are in order (writers code them so, and a checksum guards them),
        // so the whole is in order if each chunk starts after the one before ends.
        var inOrder = location.headSeries.isEmpty
        // Chunks decode straight into the series' arrays, sized for all their samples.
        var placed = 0
        // Chunks others are coded against, decoded in place: kept in the caches once the arrays
        // they were decoded into are made.
        var keeping: [(segment: Int, decoded: [Segment.Reader.DecodedInPlace])] = []
        timestamps = [Int64](unsafeUninitializedCapacity: expected + fromHeads) { times, timesInitialized in
            values = [Double](unsafeUninitializedCapacity: expected + fromHeads) { numbers, numbersInitialized in
                guard let times = times.baseAddress, let numbers = numbers.baseAddress else { return }
                for (segmentIndex, chunkList) in wanted {
                    chunks += chunkList.count
                    var decoded: [Segment.Reader.DecodedInPlace] = []
                    defer { if !decoded.isEmpty { keeping.append((segmentIndex, decoded)) } }
                    segment(segmentIndex).read(chunkList, through: to, cache: caches?[segmentIndex], into: times, numbers, room: expected,
                                               filled: &placed, keeping: &decoded) { result in
                        switch result {
                        case .success(let (start, count)):
                            if start > 0 && count > 0 && times[start] <= times[start - 1] { inOrder = false }
                        case .failure(let error):
                            problems.append(error.message)
                        }
                    }
                }
                for (headIndex, index) in location.headSeries {
                    let headTimes = heads[headIndex].contents.timestamps[index], headValues = heads[headIndex].contents.values[index]
                    (times + placed).update(from: headTimes, count: headTimes.count)
                    (numbers + placed).update(from: headValues, count: headValues.count)
                    placed += headTimes.count
                }
                numbersInitialized = placed
            }
            timesInitialized = placed
        }
        for (segmentIndex, decoded) in keeping { segment(segmentIndex).keep(decoded, timestamps: timestamps, values: values, cache: caches?[segmentIndex]) }
        if !inOrder { (timestamps, values, _, _) = StoreWriter.sortedUnique(timestamps, values) }
        var filled = 0
        if let preferred {
            // Raw samples before the rollups' span, the rollups, raw samples after it.
            let before = timestamps.partitionIndex { $0 >= preferred.start }, after = timestamps.partitionIndex { $0 > preferred.end }
            timestamps = Array(timestamps[..<before]) + preferred.timestamps + Array(timestamps[after...])
            values = Array(values[..<before]) + preferred.values + Array(values[after...])
            filled = preferred.timestamps.count
        }
        if !location.rollupSeries.isEmpty {
            // Finest tier first; each fills only before what the finer ones and raw samples (and
            // preferred rollups) cover: from the series' first raw sample anywhere, not just in
            // [from, to] (a series that went stale before the window must stay gone).
            var covered = preferred?.start ?? Int64.max
            for (segmentIndex, number) in location.segmentSeries {
                if let first = segment(segmentIndex).chunks(number).first { covered = min(covered, first.minTime) }
            }
            for (headIndex, index) in location.headSeries {
                if let first = heads[headIndex].contents.timestamps[index].first { covered = min(covered, first) }
            }
            var before: [(timestamps: [Int64], values: [Double])] = []
            for tierIndex in Set(location.rollupSeries.map(\.tier)).sorted() {
                let (tierTimes, tierValues) = tierSamples(location, tierIndex, from: from, before: covered, chunks: &chunks, problems: &problems)
                let begin = tierTimes.partitionIndex { $0 >= from }
                let end = tierTimes.partitionIndex { $0 >= covered || $0 > to }
                guard begin < end else { continue }
                before.insert((Array(tierTimes[begin..<end]), Array(tierValues[begin..<end])), at: 0)
                filled += end - begin
                covered = tierTimes[begin]
            }
            if filled > 0 {
                timestamps = before.flatMap(\.timestamps) + timestamps
                values = before.flatMap(\.values) + values
            }
        }
        if from != .min || to != .max {
            let lower = timestamps.partitionIndex { $0 >= from }
            let upper = timestamps.partitionIndex { $0 > to }
            if lower > 0 || upper < timestamps.count {
                timestamps = lower < upper ? Array(timestamps[lower..<upper]) : []
                values = lower < upper ? Array(values[lower..<upper]) : []
            }
        }
        return (timestamps, values, chunks, problems, filled)
    }

    /// A series' rollups in tier `tierIndex` from buckets that may end at `from` or later and
    /// start before `before`, in order, each stamped at the end of its bucket: a bucket's
    /// statistic is known there, so a query never sees samples from after its time.
    private func tierSamples(_ location: SeriesLocation, _ tierIndex: Int, from: Int64, before covered: Int64,
                             chunks: inout Int, problems: inout [String]) -> (timestamps: [Int64], values: [Double]) {
        let tier = tiers[tierIndex].reader, step = tiers[tierIndex].step
        var tierTimes: [Int64] = [], tierValues: [Double] = []
        for entry in location.rollupSeries where entry.tier == tierIndex {
            let segment = tier.segment(entry.segment)
            for chunk in segment.chunks(entry.number) where chunk.minTime < covered && chunk.maxTime + step >= from {
                do throws(StoreError) {
                    chunks += 1
                    // A cache of this read's own: the tier reader's is not for threads to share.
                    let decoded = try segment.read(chunk, cache: Segment.ChunkCache(budget: Segment.Reader.defaultCacheBudget))
                    tierTimes.append(contentsOf: decoded.timestamps)
                    tierValues.append(contentsOf: decoded.values)
                } catch {
                    problems.append(error.message)
                }
            }
        }
        (tierTimes, tierValues, _, _) = StoreWriter.sortedUnique(tierTimes, tierValues)
        return (tierTimes.map { $0 + step }, tierValues)
    }

    /// A chunk cache per segment, for one thread's `samples(of:caches:)`.
    public func chunkCaches(budget: Int) -> [Segment.ChunkCache] {
        slots.map { _ in Segment.ChunkCache(budget: budget) }
    }

    /// Calls `body` for every series that matches all `matchers`, in canonical key order, with its
    /// samples in [from, to] merged from every file, sorted, without duplicates (and with
    /// `filling`, rollups standing in where raw samples are gone; see `locate`). Unreadable
    /// chunks are skipped and added to `problems`. Returns how many samples rollups gave.
    @discardableResult
    public func forEachSeries(matching matchers: [LabelMatcher], from: Int64 = .min, to: Int64 = .max, filling: Rollup.Statistic? = nil,
                              preferringRollupsUpTo longest: Int64? = nil,
                              _ body: (ExpositionParser.SeriesKey, [Int64], [Double]) throws -> Void) rethrows -> Int {
        var filled = 0
        for location in locate(matching: matchers, from: from, to: to, filling: filling) {
            let read = samples(of: location, from: from, to: to, preferringRollupsUpTo: longest)
            record(chunks: read.chunks, problems: read.problems)
            filled += read.filled
            if read.timestamps.isEmpty { continue }
            try body(location.key, read.timestamps, read.values)
        }
        return filled
    }

    /// Adds what reads on other threads found: chunks decoded and problems.
    public func record(chunks: Int, problems: [String]) {
        chunksRead += chunks
        ownProblems += problems
    }

    /// Series numbers of `segment` worth checking: the postings of an equality matcher, or all.
    func candidates(_ segment: Segment.Reader, _ matchers: [LabelMatcher]) -> [Int] {
        var best: [Int32]?
        for matcher in matchers where matcher.operation == .equal && !matcher.value.isEmpty {
            let list = segment.postings(name: matcher.name, value: matcher.value)
            if best == nil || list.count < best!.count { best = list }
        }
        if let best { return best.map(Int.init) }
        return Array(0..<segment.seriesCount)
    }
}
