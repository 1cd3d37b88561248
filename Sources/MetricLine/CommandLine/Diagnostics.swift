#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The exit statuses every tool uses.
public enum ExitStatus {
    /// Everything went well.
    public static let success: Int32 = 0
    /// Something failed: bad input lines were skipped, a file could not be read, a delivery failed.
    public static let failure: Int32 = 1
    /// The command line was wrong.
    public static let usage: Int32 = 2
}

/// Reports problems on stderr in one shape for every tool, `tool: <source>:<line>: <reason>: <excerpt>`,
/// and counts the bad lines so a tool can end with a one-line summary.
public final class Diagnostics {
    public let tool: String
    /// Whether the first bad line should stop the tool (`--strict`).
    public let strict: Bool
    /// How many bad lines were reported.
    public private(set) var badLines = 0
    /// At most this many bad lines are printed one by one; the rest are only counted.
    public var printLimit = 100

    public init(tool: String, strict: Bool = false) {
        self.tool = tool
        self.strict = strict
    }

    /// Reports a bad line. Returns false when the tool should stop (`--strict`).
    @discardableResult
    public func reject(source: String, line: Int, reason: String, text: UnsafeBufferPointer<UInt8>?) -> Bool {
        badLines += 1
        if badLines <= printLimit || strict {
            var message = "\(tool): \(source):\(line): \(reason)"
            if let text { message += ": " + Diagnostics.excerpt(text) }
            Diagnostics.writeStandardError(message + "\n")
            if badLines == printLimit && !strict {
                Diagnostics.writeStandardError("\(tool): further bad lines are counted, not shown\n")
            }
        }
        return !strict
    }

    /// Prints `tool: message` on stderr.
    public func warn(_ message: String) {
        Diagnostics.writeStandardError("\(tool): \(message)\n")
    }

    /// Prints the one-line summary of skipped lines, if there were any, and returns the exit
    /// status the tool should end with.
    public func finish(linesRead: Int) -> Int32 {
        guard badLines > 0 else { return ExitStatus.success }
        if strict {
            warn("stopped at the first bad line (--strict)")
        } else {
            warn("skipped \(badLines) bad line\(badLines == 1 ? "" : "s") of \(linesRead)")
        }
        return ExitStatus.failure
    }

    /// Writes `text` to file descriptor 2 without buffering.
    public static func writeStandardError(_ text: String) {
        var copy = text
        copy.withUTF8 { _ = OutputBuffer.writeAll(UnsafeRawBufferPointer($0), to: 2) }
    }

    /// A short, printable quotation of a bad line: at most 80 bytes, control bytes and invalid
    /// UTF-8 shown as `\xNN`.
    public static func excerpt(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int = 80) -> String {
        var shown: [UInt8] = []
        var index = 0
        while index < bytes.count && shown.count < limit {
            let byte = bytes[index]
            let scalarLength = Diagnostics.validUTF8Length(bytes, at: index)
            if byte >= 0x20 && byte != 0x7F && scalarLength > 0 {
                shown.append(contentsOf: bytes[index..<(index + scalarLength)])
                index += scalarLength
            } else {
                let hex = Array("0123456789abcdef".utf8)
                shown.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
                index += 1
            }
        }
        var text = String(decoding: shown, as: UTF8.self)
        if index < bytes.count { text += "… (\(bytes.count) bytes)" }
        return text
    }

    /// The length of the valid UTF-8 scalar starting at `index`, or 0 if there is none.
    static func validUTF8Length(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let lead = bytes[index]
        if lead < 0x80 { return 1 }
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return 0
        }
        guard index + length <= bytes.count else { return 0 }
        return String(validating: UnsafeBufferPointer(rebasing: bytes[index..<(index + length)]), as: UTF8.self) == nil ? 0 : length
    }
}
