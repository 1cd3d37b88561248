/// Where things live in a store directory, and how files are named.
///
/// ```
/// DIR/LOCK                         held (flock) by the one writer
/// DIR/head/W<start>-G<gen>.wal     head log of the window starting at <start> ms
/// DIR/segments/W<start>-G<gen>.mseg  a sealed segment (`.tmp` while being written)
/// DIR/rollups/<step>/W<day>-G<gen>.mseg  rollups of one finished day at one step
/// ```
/// Generations number files across the store; a segment lists the generations it replaces (the
/// head logs it sealed, the segments it compacted), so after a crash between writing a segment
/// and removing its inputs, the inputs are recognised and removed, never read twice.
public struct StoreLayout: Sendable {
    public let directory: String

    /// A segment or head log as listed: its window's start, its generation and its path.
    public typealias File = (window: Int64, generation: UInt64, path: String)

    public init(directory: String) {
        var trimmed = directory
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.directory = trimmed
    }

    public var lockPath: String { directory + "/LOCK" }
    public var headDirectory: String { directory + "/head" }
    public var segmentDirectory: String { directory + "/segments" }

    /// Where the rollups of one step live: `DIR/rollups/5m`.
    public func rollupDirectory(step: Int64) -> String {
        directory + "/rollups/" + Duration.text(step)
    }

    /// The rollup steps present in the store, ascending.
    public func rollupSteps() throws(StoreError) -> [Int64] {
        let root = directory + "/rollups"
        guard FileSystem.exists(root) else { return [] }
        return try FileSystem.list(root).compactMap { Duration.milliseconds($0) }.sorted()
    }

    public func headPath(window: Int64, generation: UInt64) -> String {
        headDirectory + "/W\(window)-G\(generation).wal"
    }

    public func segmentPath(window: Int64, generation: UInt64) -> String {
        segmentDirectory + "/W\(window)-G\(generation).mseg"
    }

    /// A file name's window start and generation, if it is one of ours with `suffix`.
    public static func parse(_ name: String, suffix: String) -> (window: Int64, generation: UInt64)? {
        guard name.hasPrefix("W"), name.hasSuffix(suffix) else { return nil }
        let middle = name.dropFirst().dropLast(suffix.count)
        guard let dash = middle.lastIndex(of: "-"), middle[middle.index(after: dash)...].hasPrefix("G"),
              let window = Int64(middle[..<dash]),
              let generation = UInt64(middle[middle.index(dash, offsetBy: 2)...]) else { return nil }
        return (window, generation)
    }

    /// Head logs present: window, generation, path.
    public func headLogs() throws(StoreError) -> [File] {
        guard FileSystem.exists(headDirectory) else { return [] }
        return try FileSystem.list(headDirectory).compactMap { name in
            StoreLayout.parse(name, suffix: ".wal").map { ($0.window, $0.generation, headDirectory + "/" + name) }
        }
    }

    /// Segments present (finished ones only): window, generation, path. With `rollup`, those of
    /// that rollup step instead of the raw ones.
    public func segments(rollup step: Int64? = nil) throws(StoreError) -> [File] {
        let folder = step.map { rollupDirectory(step: $0) } ?? segmentDirectory
        guard FileSystem.exists(folder) else { return [] }
        return try FileSystem.list(folder).compactMap { name in
            StoreLayout.parse(name, suffix: ".mseg").map { ($0.window, $0.generation, folder + "/" + name) }
        }
    }

    /// The start of the window holding `timestamp`.
    public static func window(of timestamp: Int64, length: Int64) -> Int64 {
        let remainder = timestamp % length
        return timestamp - (remainder < 0 ? remainder + length : remainder)
    }
}
