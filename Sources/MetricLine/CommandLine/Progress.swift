#if canImport(Glibc)
import Glibc
#endif

/// A status line on stderr for work that takes a while (bulk imports, compaction), shown only when
/// stderr is a terminal: what is done, how fast, and the percentage when the total is known. It
/// appears after two seconds, so short runs stay silent; it is redrawn at most twice a second and
/// erased when the work ends. Logs and pipes never see it.
public final class Progress {
    /// What is being counted, after the tool's name: `samples`, `days merged`.
    public var label: String
    private let tool: String
    private let enabled: Bool
    /// How long the work runs before the line appears, in microseconds.
    private let delay: Int64
    /// Where the line goes: stderr, but for tests.
    private let write: (String) -> Void
    private let started: Int64
    /// When the line was last drawn (monotonic microseconds), or 0 before the first time.
    private var lastDrawn: Int64 = 0

    public init(tool: String, label: String, enabled: Bool = isatty(2) == 1, delay: Int64 = 2_000_000,
                write: @escaping (String) -> Void = Diagnostics.writeStandardError) {
        self.tool = tool
        self.label = label
        self.enabled = enabled
        self.delay = delay
        self.write = write
        started = Clock.monotonicMicroseconds()
    }

    /// Reports `count` things done, and optionally `done` out of `total` of the measure that gives
    /// the percentage (bytes of input, say). Cheap enough to call for every read.
    public func update(count: Int64, done: Int64? = nil, total: Int64? = nil) {
        guard enabled else { return }
        let now = Clock.monotonicMicroseconds()
        guard now - started >= delay, lastDrawn == 0 || now - lastDrawn >= 500_000 else { return }
        lastDrawn = now
        let text = Progress.line(tool: tool, label: label, count: count, seconds: Double(now - started) / 1e6, done: done, total: total)
        write("\r" + text + "\u{1B}[K")
    }

    /// Erases the line, if it was drawn.
    public func finish() {
        guard enabled, lastDrawn > 0 else { return }
        write("\r\u{1B}[K")
        lastDrawn = 0
    }

    /// `mstore: 12.3M samples, 2.05M/s, 45% (12s)`.
    static func line(tool: String, label: String, count: Int64, seconds: Double, done: Int64?, total: Int64?) -> String {
        let unit = ValueUnit("")
        var text = "\(tool): \(unit.format(Double(count))) \(label)"
        if seconds > 0 { text += ", \(unit.format(Double(count) / seconds))/s" }
        if let done, let total, total > 0 { text += ", \(min(100, done * 100 / total))%" }
        return text + " (\(Int(seconds))s)"
    }
}
