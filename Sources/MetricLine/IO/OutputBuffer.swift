#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Collects output bytes and writes them to a file descriptor in large blocks.
///
/// When the reader of a pipe goes away (`EPIPE`, as with `| head`), the process exits quietly with
/// status 0, as Unix filters do; any other write error is fatal with a message. Call `flush()`
/// before the program ends: nothing is written on its own at exit.
public struct OutputBuffer: ~Copyable {
    /// Bytes waiting to be written; append to it directly.
    public var bytes: [UInt8] = []
    private let descriptor: Int32
    private let flushThreshold: Int
    private let tool: String

    public init(descriptor: Int32 = 1, tool: String, flushThreshold: Int = 1 << 16) {
        self.descriptor = descriptor
        self.flushThreshold = flushThreshold
        self.tool = tool
        bytes.reserveCapacity(min(flushThreshold, 1 << 20) + 4096)
    }

    /// Writes out the buffer if it has grown past the threshold.
    @inlinable
    public mutating func flushIfFull() {
        if bytes.count >= flushThresholdValue { flush() }
    }

    @usableFromInline var flushThresholdValue: Int { flushThreshold }

    /// Appends `text`; a text as long as the threshold or longer goes out as it is, after what
    /// was buffered, rather than being copied into the buffer first.
    public mutating func append(_ text: [UInt8]) {
        text.withUnsafeBytes { append($0) }
    }

    /// Appends `text` as `append(_: [UInt8])` does.
    public mutating func append(_ text: UnsafeRawBufferPointer) {
        if text.count < flushThreshold {
            bytes.append(contentsOf: text)
            return
        }
        flush()
        if let failure = OutputBuffer.writeAll(text, to: descriptor) { fail(failure) }
    }

    /// Writes out everything buffered.
    public mutating func flush() {
        guard !bytes.isEmpty else { return }
        let failure = bytes.withUnsafeBytes { OutputBuffer.writeAll($0, to: descriptor) }
        bytes.removeAll(keepingCapacity: true)
        if let failure { fail(failure) }
    }

    /// Ends the process after a failed write: quietly when the reader went away (EPIPE).
    private func fail(_ failure: Int32) -> Never {
        if failure == EPIPE { exit(0) }
        Diagnostics.writeStandardError("\(tool): write error: \(String(cString: strerror(failure)))\n")
        exit(1)
    }

    /// Writes all of `data` to `descriptor`, retrying on interrupts and short writes; the errno on failure.
    public static func writeAll(_ data: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32? {
        var offset = 0
        while offset < data.count {
            let written = write(descriptor, data.baseAddress! + offset, data.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return nil
    }
}
