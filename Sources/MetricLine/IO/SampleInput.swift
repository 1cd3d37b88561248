#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where input lines come from: standard input (`-`) or a file, with the name used in messages.
public struct InputSource: Sendable {
    /// The name in messages: the path, or `<stdin>`.
    public let name: String
    let path: String?

    /// `-` means standard input.
    public init(path: String) {
        if path == "-" {
            self.name = "<stdin>"
            self.path = nil
        } else {
            self.name = path
            self.path = path
        }
    }

    public static let standardInput = InputSource(path: "-")

    /// Calls `body` with every line of this source and its number (and `beforeRead` before each
    /// read from the source, with the bytes read so far and the source's size when it is a regular
    /// file; it returns false to stop). A line that `body` rejects, or
    /// one over the length limit, goes to `diagnostics` and reading goes on, unless strict. Returns
    /// the number of lines read; throws when the source cannot be opened or read, or (with a nil
    /// message, already reported) at the first bad line in strict mode.
    @discardableResult
    public func forEachLine(diagnostics: Diagnostics, bufferSize: Int = 1 << 16,
                            beforeRead: (_ bytesRead: Int64, _ size: Int64?) -> Bool = { _, _ in true },
                            _ body: (UnsafeBufferPointer<UInt8>, Int) throws(LineError) -> Void) throws(InputError) -> Int {
        let descriptor: Int32
        if let path {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw InputError("\(path): \(String(cString: strerror(errno)))") }
        } else {
            descriptor = 0
        }
        defer { if path != nil { close(descriptor) } }
        var reader = LineReader(descriptor: descriptor, bufferSize: bufferSize)
        var status = stat()
        let size: Int64? = fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG ? Int64(status.st_size) : nil
        var stopped = false
        reader.forEachLine(beforeRead: { beforeRead($0, size) }) { line, number in
            switch line {
            case .tooLong(let length):
                stopped = !diagnostics.reject(source: name, line: number, reason: "line too long (\(length) bytes)", text: nil)
            case .text(let bytes):
                do throws(LineError) {
                    try body(bytes, number)
                } catch {
                    stopped = !diagnostics.reject(source: name, line: number, reason: "\(error.reason) (column \(error.column))", text: bytes)
                }
            }
            return !stopped
        }
        if let failure = reader.readError { throw InputError("\(name): read error: \(String(cString: strerror(failure)))") }
        if stopped { throw InputError(nil) }
        return reader.lineNumber
    }

    /// Reads every record of `format` from this source, calling `body` for each; errors as in
    /// `forEachLine`, plus the format's own complaint at the end of input (a missing `# EOF`).
    @discardableResult
    public func readRecords(format: SampleFormat, diagnostics: Diagnostics, _ body: (ExpositionLine) -> Void) throws(InputError) -> Int {
        var decoder = format.makeDecoder()
        var records: [ExpositionLine] = []
        let lines = try forEachLine(diagnostics: diagnostics) { bytes, _ throws(LineError) in
            records.removeAll(keepingCapacity: true)
            defer { records.forEach(body) }
            try decoder.decode(bytes, into: &records)
        }
        if !Interrupt.requested {
            do throws(LineError) { try decoder.finish() } catch {
                if !diagnostics.reject(source: name, line: lines, reason: error.reason, text: nil) { throw InputError(nil) }
            }
        }
        return lines
    }
}

/// An input that could not be read; `message` is nil when the reason was already reported.
public struct InputError: Error, Sendable {
    public var message: String?
    public init(_ message: String?) { self.message = message }
}
