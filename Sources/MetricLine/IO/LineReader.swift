#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads newline-separated lines from a file descriptor with `read(2)` into one reused buffer,
/// handing each line to the caller as bytes (no String, no copy).
///
/// A line longer than `maximumLineLength` is not kept in memory: the caller gets it as `.tooLong`
/// with its length, and reading goes on with the next line. A last line without a newline is
/// still a line. Reading stops early when `Interrupt.requested` is set (SIGINT / SIGTERM).
public struct LineReader: ~Copyable {
    /// What `forEachLine` hands over for each line.
    public enum Line {
        case text(UnsafeBufferPointer<UInt8>)
        /// A line over the length limit, skipped; its length in bytes.
        case tooLong(Int)
    }

    private let descriptor: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    private let maximumLineLength: Int
    /// 1-based number of the line last handed out.
    public private(set) var lineNumber = 0
    /// The read error that ended the input, if any (errno).
    public private(set) var readError: Int32?

    /// 16 MiB: longer than any sane sample line, small enough to never threaten memory.
    public static let defaultMaximumLineLength = 16 << 20

    public init(descriptor: Int32, bufferSize: Int = 1 << 16, maximumLineLength: Int = LineReader.defaultMaximumLineLength) {
        self.descriptor = descriptor
        self.buffer = .allocate(byteCount: max(bufferSize, 16), alignment: 16)
        self.maximumLineLength = maximumLineLength
    }

    deinit { buffer.deallocate() }

    /// Calls `body` with every line and its 1-based number until the end of input, an error, an interrupt, or `body`
    /// returning false.
    /// `beforeRead` runs before every `read(2)`, when every complete line read so far has been
    /// handed out: the place to commit work before possibly waiting for more input. It is given
    /// the bytes read so far and returns false to stop reading.
    public mutating func forEachLine(beforeRead: (_ bytesRead: Int64) -> Bool = { _ in true }, _ body: (Line, _ number: Int) throws -> Bool) rethrows {
        var bytesRead: Int64 = 0
        var filled = 0          // bytes in the buffer
        var lineStart = 0       // start of the first unconsumed line
        var skipping = -1       // >= 0: inside an over-long line, this many bytes dropped so far
        var scanFrom = 0        // where to resume looking for a newline
        while true {
            // Hand out every complete line already in the buffer.
            while let newline = findNewline(from: scanFrom, to: filled) {
                lineNumber += 1
                let keepGoing: Bool
                if skipping >= 0 {
                    keepGoing = try body(.tooLong(skipping + newline - lineStart), lineNumber)
                    skipping = -1
                } else {
                    let bytes = UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + lineStart, count: newline - lineStart)
                    keepGoing = try body(.text(bytes), lineNumber)
                }
                if !keepGoing { return }
                lineStart = newline + 1
                scanFrom = lineStart
            }
            // Make room: move the partial line to the front, grow, or start skipping.
            if lineStart > 0 {
                let partial = filled - lineStart
                if partial > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + lineStart, byteCount: partial) }
                filled = partial
                lineStart = 0
            }
            scanFrom = filled
            if filled == buffer.count {
                if skipping >= 0 || filled > maximumLineLength {
                    skipping = max(skipping, 0) + filled
                    filled = 0
                    scanFrom = 0
                } else {
                    let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: min(buffer.count * 2, maximumLineLength + 1), alignment: 16)
                    grown.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: filled)
                    buffer.deallocate()
                    buffer = grown
                }
            }
            if Interrupt.requested { return }
            guard beforeRead(bytesRead) else { return }
            let count = read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            if count < 0 {
                if errno == EINTR { continue }
                readError = errno
                return
            }
            bytesRead += Int64(count)
            if count == 0 {
                // End of input: a last line without a newline still counts.
                if filled > 0 || skipping >= 0 {
                    lineNumber += 1
                    if skipping >= 0 {
                        _ = try body(.tooLong(skipping + filled), lineNumber)
                    } else {
                        _ = try body(.text(UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: filled)), lineNumber)
                    }
                }
                return
            }
            filled += count
        }
    }

    private func findNewline(from start: Int, to end: Int) -> Int? {
        guard start < end else { return nil }
        guard let found = memchr(buffer.baseAddress! + start, 0x0A, end - start) else { return nil }
        return UnsafeRawPointer(found) - UnsafeRawPointer(buffer.baseAddress!)
    }
}
