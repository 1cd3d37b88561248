#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// When the head log is made durable.
public enum SyncPolicy: Sendable, Equatable {
    /// fsync after every committed batch: nothing acknowledged is lost.
    case batch
    /// fsync at most once per this many milliseconds (and at the end).
    case interval(Int64)
    /// never fsync; the operating system writes when it likes.
    case none

    /// Parses `batch`, `none`, or a duration such as `5s` / `1m` for an interval.
    public init?(_ text: String) {
        switch text {
        case "batch": self = .batch
        case "none", "never": self = .none
        default:
            guard let milliseconds = Duration.milliseconds(text), milliseconds > 0 else { return nil }
            self = .interval(milliseconds)
        }
    }
}

/// The one writer of a store: appends samples to head logs, and seals the windows that time has
/// left behind into segments.
public final class StoreWriter {
    /// Settings of a writer.
    public struct Options: Sendable {
        /// The length of a head window and so of a freshly sealed segment.
        public var windowLength: Int64 = 2 * 3_600_000
        /// How long after a window ends samples may still arrive before it is sealed.
        public var grace: Int64 = 10 * 60_000
        public var sync: SyncPolicy = .batch

        public init() {}
    }

    /// What sealing found.
    public struct SealReport: Sendable {
        public var segments: [Segment.Summary] = []
        /// Exact duplicates dropped.
        public var duplicates = 0
        /// Samples dropped because an earlier one had the same timestamp and another value.
        public var conflicts = 0
    }

    public let layout: StoreLayout
    public let options: Options
    /// The series of this writer's input; ids index head-log writers' tables.
    public let series: SeriesTable
    private let lockDescriptor: Int32
    /// Open head logs by window start.
    private var logs: [Int64: HeadLog.Writer] = [:]
    /// What this writer appended to head logs it created itself, by window start: sealing such a
    /// window needs no re-reading of its log.
    private var buffers: [Int64: WindowBuffer] = [:]
    /// Per series, how many samples it had in the last window sealed from memory: the capacity
    /// to reserve in the next, so arrays do not grow by doubling.
    private var expectedCounts: [Int32] = []
    private var nextGeneration: UInt64
    /// The latest sample time seen by this writer.
    @exclusivity(unchecked) public private(set) var maxTimestamp = Int64.min
    /// The window of the last append and its log and buffer: consecutive samples mostly share a
    /// window, and this spares two dictionary lookups per sample.
    @exclusivity(unchecked) private var currentWindow = Int64.min
    @exclusivity(unchecked) private var currentLog: HeadLog.Writer?
    @exclusivity(unchecked) private var currentBuffer: WindowBuffer?
    private var lastSync: Int64 = 0
    /// Messages worth telling the user (torn tails repaired, leftovers removed).
    public private(set) var warnings: [String] = []
    public private(set) var report = SealReport()

    /// Opens (creating if needed) the store for writing. A second writer gets a clear error.
    public init(directory: String, options: Options = Options(), series: SeriesTable = SeriesTable()) throws(StoreError) {
        layout = StoreLayout(directory: directory)
        guard options.windowLength > 0, options.windowLength <= Int64(Int32.max) else {
            throw StoreError("window length must be between 1 ms and 24 days")
        }
        self.options = options
        self.series = series
        try FileSystem.makeDirectory(layout.directory)
        try FileSystem.makeDirectory(layout.headDirectory)
        try FileSystem.makeDirectory(layout.segmentDirectory)
        lockDescriptor = try FileSystem.open(layout.lockPath, O_RDWR | O_CREAT)
        if flock(lockDescriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            Glibc.close(lockDescriptor)
            if code == EWOULDBLOCK { throw StoreError("\(layout.directory): the store is in use by another writer") }
            throw .system(layout.lockPath, "cannot lock", code)
        }
        do throws(StoreError) {
            nextGeneration = 1
            try recover()
        } catch {
            Glibc.close(lockDescriptor)
            throw error
        }
    }

    deinit { Glibc.close(lockDescriptor) }

    /// Removes what a crash may have left: unfinished segments, and head logs or segments that a
    /// finished segment already replaces.
    private func recover() throws(StoreError) {
        for name in try FileSystem.list(layout.segmentDirectory) where name.hasSuffix(".tmp") {
            try FileSystem.remove(layout.segmentDirectory + "/" + name)
            warnings.append("removed unfinished segment \(layout.segmentDirectory)/\(name)")
        }
        // What each segment says it replaces, from its index's first bytes; a file is removed
        // only when a full, checked open of a segment claiming it agrees. Opening every segment
        // whole would cost each cron append milliseconds per day of history.
        var segmentFiles = try layout.segments()
        for step in try layout.rollupSteps() { segmentFiles += try layout.segments(rollup: step) }
        let headLogs = try layout.headLogs()
        let generations = segmentFiles.map(\.generation) + headLogs.map(\.generation)
        let existing = Set(generations)
        var replaced = Set<UInt64>()
        for segment in segmentFiles {
            guard let claimed = Segment.claimedReplacements(path: segment.path), claimed.contains(where: existing.contains),
                  let reader = try? Segment.Reader(path: segment.path) else { continue }
            replaced.formUnion(reader.replaces)
        }
        for file in segmentFiles where replaced.contains(file.generation) { try FileSystem.remove(file.path) }
        for log in headLogs where replaced.contains(log.generation) { try FileSystem.remove(log.path) }
        nextGeneration = (generations.max() ?? 0) + 1
    }

    /// Merges finished days into one segment each, makes rollups and applies retention as
    /// `policy` says (see `Compactor`), telling `progress` of each step.
    public func compact(policy: RetentionPolicy = RetentionPolicy(),
                        progress: @escaping (_ label: String, _ done: Int, _ total: Int) -> Void = { _, _, _ in }) throws(StoreError) -> Compactor.Report {
        try close()
        var compactor = Compactor(layout: layout)
        compactor.policy = policy
        compactor.progress = progress
        return try compactor.run { takeGeneration() }
    }

    private func takeGeneration() -> UInt64 {
        defer { nextGeneration += 1 }
        return nextGeneration
    }

    /// The head log for the window holding `timestamp`: an existing one of that window, or a new one.
    private func log(for window: Int64) throws(StoreError) -> HeadLog.Writer {
        if let open = logs[window] { return open }
        let existing = try layout.headLogs().filter { $0.window == window }.max { $0.generation < $1.generation }
        let path = existing?.path ?? layout.headPath(window: window, generation: takeGeneration())
        let writer = try HeadLog.Writer(path: path)
        if existing == nil { buffers[window] = WindowBuffer(start: window, path: path) }
        if writer.truncatedBytes > 0 {
            warnings.append("\(path): cut off a torn tail of \(writer.truncatedBytes) bytes (an interrupted write)")
        }
        logs[window] = writer
        return writer
    }

    /// Adds one sample of `series` (an id of `self.series`). It reaches the disk at `commit()`.
    @inline(__always)
    public func append(series id: SeriesID, timestamp: Int64, value: Double) throws(StoreError) {
        let window = StoreLayout.window(of: timestamp, length: options.windowLength)
        if window != currentWindow || currentLog == nil {
            currentLog = try log(for: window)
            currentBuffer = buffers[window]
            currentWindow = window
        }
        currentLog.unsafelyUnwrapped.append(series: id, key: { series.withCanonicalKey(id) { $0 } }, timestamp: timestamp, value: value)
        currentBuffer?.append(id, offset: Int32(timestamp - window), value: value, expected: expectedCounts)
        if timestamp > maxTimestamp { maxTimestamp = timestamp }
    }

    /// Writes what was appended as whole records, fsyncs as the policy says, and seals windows that
    /// the data has moved past.
    public func commit() throws(StoreError) {
        // In window order: with input in time order, a crash then loses only a suffix of it.
        for (_, writer) in logs.sorted(by: { $0.key < $1.key }) where writer.hasPending { try writer.write() }
        let now = Clock.nowMilliseconds()
        switch options.sync {
        case .batch:
            for writer in logs.values { try writer.sync() }
        case .interval(let every):
            if now - lastSync >= every {
                for writer in logs.values { try writer.sync() }
                lastSync = now
            }
        case .none:
            break
        }
        if maxTimestamp != .min { try seal(before: maxTimestamp) }
    }

    /// Commits, syncs, and seals every window that has ended (by the data or the clock).
    public func close() throws(StoreError) {
        try commit()
        if options.sync != .none { for writer in logs.values { try writer.sync() } }
        try seal(before: max(maxTimestamp, Clock.nowMilliseconds()))
    }

    /// Seals every head window that ends at least `grace` before `horizon`.
    private func seal(before horizon: Int64) throws(StoreError) {
        let byWindow = Dictionary(grouping: try layout.headLogs(), by: \.window)
        for (window, files) in byWindow.sorted(by: { $0.key < $1.key }) {
            guard window + options.windowLength + options.grace <= horizon else { continue }
            try seal(window: window, files: files)
        }
    }

    /// Reads the window's head logs, writes their samples as one segment, then removes them.
    private func seal(window: Int64, files: [StoreLayout.File]) throws(StoreError) {
        if let open = logs.removeValue(forKey: window) {
            try open.write()
            try open.sync()
        }
        if currentWindow == window {
            currentWindow = .min
            currentLog = nil
            currentBuffer = nil
        }
        let generation = takeGeneration()
        let segmentPath = layout.segmentPath(window: window, generation: generation)
        if let buffer = buffers.removeValue(forKey: window), files.count == 1, files[0].path == buffer.path {
            try sealFromMemory(buffer, to: segmentPath, generation: generation, replaces: files[0].generation)
        } else {
            try sealFromFiles(files, to: segmentPath, generation: generation)
        }
        for file in files { try FileSystem.remove(file.path) }
        try FileSystem.syncDirectory(layout.headDirectory)
    }

    /// Seals a window whose whole head log this writer wrote, from what it kept in memory.
    private func sealFromMemory(_ buffer: WindowBuffer, to path: String, generation: UInt64, replaces: UInt64) throws(StoreError) {
        var ids = buffer.offsets.indices.filter { !buffer.offsets[$0].isEmpty }
        guard !ids.isEmpty else { return }
        ids.sort { left, right in
            series.withCanonicalKey(SeriesID(left)) { a in series.withCanonicalKey(SeriesID(right)) { b in a.lexicographicallyPrecedes(b) } }
        }
        if expectedCounts.count < buffer.offsets.count { expectedCounts += repeatElement(0, count: buffer.offsets.count - expectedCounts.count) }
        let keys = ids.map { series.key(SeriesID($0)) }
        let summary = try Segment.write(keys: keys, to: path, generation: generation, replaces: [replaces]) { number throws(StoreError) in
            let id = ids[number]
            let offsets = buffer.offsets[id]
            expectedCounts[id] = Int32(clamping: offsets.count)
            let (timestamps, values, duplicates, conflicts) = StoreWriter.sortedUnique(offsets.map { buffer.start + Int64($0) }, buffer.values[id])
            report.duplicates += duplicates
            report.conflicts += conflicts
            buffer.offsets[id] = []
            buffer.values[id] = []
            return (timestamps, values)
        }
        report.segments.append(summary)
    }

    /// Seals a window from its head log files.
    private func sealFromFiles(_ files: [StoreLayout.File], to path: String, generation: UInt64) throws(StoreError) {
        var merged: [CanonicalSeriesKey: (key: ExpositionParser.SeriesKey, timestamps: [Int64], values: [Double])] = [:]
        for file in files {
            let contents = try HeadLog.read(file.path)
            if contents.damagedBytes > 0 { warnings.append("\(file.path): ignored \(contents.damagedBytes) bytes after the last whole record") }
            for index in contents.keys.indices {
                let keyBytes = contents.keys[index], canonical = CanonicalSeriesKey(keyBytes)
                if merged[canonical] == nil {
                    let key = keyBytes.withUnsafeBufferPointer { bytes -> ExpositionParser.SeriesKey? in
                        var cursor = Cursor(bytes)
                        return try? ExpositionParser.parseSeriesKey(&cursor)
                    }
                    guard let key else { throw StoreError("\(file.path): unreadable series key") }
                    merged[canonical] = (key, [], [])
                }
                merged[canonical]!.timestamps.append(contentsOf: contents.timestamps[index])
                merged[canonical]!.values.append(contentsOf: contents.values[index])
            }
        }
        var series: [Segment.Series] = []
        series.reserveCapacity(merged.count)
        for canonical in merged.keys.sorted() {
            let entry = merged[canonical]!
            let (timestamps, values, duplicates, conflicts) = StoreWriter.sortedUnique(entry.timestamps, entry.values)
            report.duplicates += duplicates
            report.conflicts += conflicts
            series.append(Segment.Series(key: entry.key, timestamps: timestamps, values: values))
        }
        if !series.isEmpty {
            report.segments.append(try Segment.write(series, to: path, generation: generation, replaces: files.map(\.generation)))
        }
    }

    /// Samples sorted by time; of equal timestamps the first written is kept. Returns the counts of
    /// exact duplicates and of conflicting values dropped.
    static func sortedUnique(_ timestamps: [Int64], _ values: [Double]) -> ([Int64], [Double], Int, Int) {
        var inOrder = true
        for index in timestamps.indices.dropFirst() where timestamps[index] <= timestamps[index - 1] {
            inOrder = false
            break
        }
        if inOrder { return (timestamps, values, 0, 0) }
        let order = timestamps.indices.sorted { timestamps[$0] < timestamps[$1] || (timestamps[$0] == timestamps[$1] && $0 < $1) }
        var sortedTimes: [Int64] = []
        var sortedValues: [Double] = []
        var duplicates = 0
        var conflicts = 0
        for index in order {
            if let last = sortedTimes.last, last == timestamps[index] {
                if sortedValues[sortedValues.count - 1].bitPattern == values[index].bitPattern { duplicates += 1 } else { conflicts += 1 }
                continue
            }
            sortedTimes.append(timestamps[index])
            sortedValues.append(values[index])
        }
        return (sortedTimes, sortedValues, duplicates, conflicts)
    }
}

/// The samples of one head window as a writer appended them: per series, milliseconds since the
/// window's start (a window is shorter than 2^31 ms) and values.
final class WindowBuffer {
    let start: Int64
    /// The head log these samples were also written to.
    let path: String
    @exclusivity(unchecked) var offsets: [[Int32]] = []
    @exclusivity(unchecked) var values: [[Double]] = []

    init(start: Int64, path: String) {
        self.start = start
        self.path = path
    }

    @inline(__always)
    func append(_ series: SeriesID, offset: Int32, value: Double, expected: [Int32]) {
        let index = Int(series)
        if index >= offsets.count {
            let missing = index - offsets.count + 1
            offsets.append(contentsOf: repeatElement([], count: missing))
            values.append(contentsOf: repeatElement([], count: missing))
        }
        if offsets[index].capacity == 0, index < expected.count, expected[index] > 0 {
            offsets[index].reserveCapacity(Int(expected[index]) + 8)
            values[index].reserveCapacity(Int(expected[index]) + 8)
        }
        offsets[index].append(offset)
        values[index].append(value)
    }
}
