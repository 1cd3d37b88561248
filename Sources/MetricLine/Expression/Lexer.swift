/// A PromQL token and where it starts in the expression (a byte offset).
public struct Token: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case identifier(String)
        case number(Double)
        /// A duration such as `5m` or `1h30m`, in milliseconds.
        case duration(Int64)
        case string(String)
        case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket
        case comma, colon, at
        case assign          // =
        case notEqual        // !=
        case regexMatch      // =~
        case regexNoMatch    // !~
        case equal           // ==
        case less, lessOrEqual, greater, greaterOrEqual
        case plus, minus, star, slash, percent, caret
        case end
    }

    public var kind: Kind
    public var offset: Int
}

/// Splits a PromQL expression into tokens. Keywords (`by`, `and`, `offset`, …) come out as
/// identifiers; the parser decides by position, as Prometheus does.
struct Lexer {
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    mutating func tokens() throws(QueryError) -> [Token] {
        var tokens: [Token] = []
        while true {
            let token = try next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private func error(_ message: String, at offset: Int) -> QueryError {
        QueryError(message, offset: offset)
    }

    private mutating func next() throws(QueryError) -> Token {
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                index += 1
            } else if byte == UInt8(ascii: "#") {
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
            } else {
                break
            }
        }
        let start = index
        guard index < bytes.count else { return Token(kind: .end, offset: start) }
        let byte = bytes[index]
        func single(_ kind: Token.Kind, length: Int = 1) -> Token {
            index += length
            return Token(kind: kind, offset: start)
        }
        let following = index + 1 < bytes.count ? bytes[index + 1] : 0
        switch byte {
        case UInt8(ascii: "("): return single(.leftParen)
        case UInt8(ascii: ")"): return single(.rightParen)
        case UInt8(ascii: "{"): return single(.leftBrace)
        case UInt8(ascii: "}"): return single(.rightBrace)
        case UInt8(ascii: "["): return single(.leftBracket)
        case UInt8(ascii: "]"): return single(.rightBracket)
        case UInt8(ascii: ","): return single(.comma)
        case UInt8(ascii: ":"): return single(.colon)
        case UInt8(ascii: "@"): return single(.at)
        case UInt8(ascii: "+"): return single(.plus)
        case UInt8(ascii: "-"): return single(.minus)
        case UInt8(ascii: "*"): return single(.star)
        case UInt8(ascii: "/"): return single(.slash)
        case UInt8(ascii: "%"): return single(.percent)
        case UInt8(ascii: "^"): return single(.caret)
        case UInt8(ascii: "="):
            if following == UInt8(ascii: "=") { return single(.equal, length: 2) }
            if following == UInt8(ascii: "~") { return single(.regexMatch, length: 2) }
            return single(.assign)
        case UInt8(ascii: "!"):
            if following == UInt8(ascii: "=") { return single(.notEqual, length: 2) }
            if following == UInt8(ascii: "~") { return single(.regexNoMatch, length: 2) }
            throw error("unexpected character '!'", at: start)
        case UInt8(ascii: "<"):
            return following == UInt8(ascii: "=") ? single(.lessOrEqual, length: 2) : single(.less)
        case UInt8(ascii: ">"):
            return following == UInt8(ascii: "=") ? single(.greaterOrEqual, length: 2) : single(.greater)
        case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"):
            return Token(kind: .string(try string(quote: byte)), offset: start)
        default:
            break
        }
        if byte &- UInt8(ascii: "0") < 10 || (byte == UInt8(ascii: ".") && following &- UInt8(ascii: "0") < 10) {
            return Token(kind: try numberOrDuration(), offset: start)
        }
        if Names.isMetricNameStart(byte) {
            while index < bytes.count && Names.isMetricNameByte(bytes[index]) { index += 1 }
            let word = String(decoding: bytes[start..<index], as: UTF8.self)
            // Inf and NaN are numbers wherever they stand alone.
            switch word.lowercased() {
            case "inf", "infinity": return Token(kind: .number(.infinity), offset: start)
            case "nan": return Token(kind: .number(.nan), offset: start)
            default: return Token(kind: .identifier(word), offset: start)
            }
        }
        throw error("unexpected character '\(String(decoding: bytes[start..<min(start + 1, bytes.count)], as: UTF8.self))'", at: start)
    }

    /// A number (decimal, hexadecimal, with exponent) or a duration (`5m`, `1h30m`, `1.5`s is not one).
    private mutating func numberOrDuration() throws(QueryError) -> Token.Kind {
        let start = index
        if bytes[index] == UInt8(ascii: "0"), index + 1 < bytes.count, bytes[index + 1] | 0x20 == UInt8(ascii: "x") {
            index += 2
            let digitsStart = index
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 || (bytes[index] | 0x20) &- UInt8(ascii: "a") < 6 { index += 1 }
            guard index > digitsStart, let value = UInt64(String(decoding: bytes[digitsStart..<index], as: UTF8.self), radix: 16) else {
                throw error("bad hexadecimal number", at: start)
            }
            return .number(Double(value))
        }
        while index < bytes.count && bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        // A duration: digits followed by a unit, possibly several such parts.
        if index < bytes.count, Lexer.isUnitStart(bytes[index]) {
            while index < bytes.count && (Lexer.isUnitStart(bytes[index]) || bytes[index] &- UInt8(ascii: "0") < 10) { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            guard let milliseconds = Duration.milliseconds(text) else { throw error("bad duration '\(text)'", at: start) }
            return .duration(milliseconds)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.count && bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            var probe = index + 1
            if probe < bytes.count, bytes[probe] == UInt8(ascii: "+") || bytes[probe] == UInt8(ascii: "-") { probe += 1 }
            if probe < bytes.count, bytes[probe] &- UInt8(ascii: "0") < 10 {
                index = probe
                while index < bytes.count && bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            }
        }
        let value = bytes[start..<index].withUnsafeBufferPointer { FloatParser.parse($0) }
        guard let value else { throw error("bad number '\(String(decoding: bytes[start..<index], as: UTF8.self))'", at: start) }
        if index < bytes.count, Names.isLabelNameStart(bytes[index]) { throw error("bad number or duration", at: start) }
        return .number(value)
    }

    private static func isUnitStart(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "s") || byte == UInt8(ascii: "m") || byte == UInt8(ascii: "h") || byte == UInt8(ascii: "d")
            || byte == UInt8(ascii: "w") || byte == UInt8(ascii: "y")
    }

    /// A string in double or single quotes (Go escapes) or backquotes (raw).
    private mutating func string(quote: UInt8) throws(QueryError) -> String {
        let start = index
        index += 1
        var text: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated string", at: start) }
            let byte = bytes[index]
            index += 1
            if byte == quote { break }
            if quote != UInt8(ascii: "`") && byte == UInt8(ascii: "\\") {
                guard index < bytes.count else { throw error("unterminated string", at: start) }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "a"): text.append(0x07)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "v"): text.append(0x0B)
                case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): text.append(escape)
                case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let digits = escape == UInt8(ascii: "x") ? 2 : (escape == UInt8(ascii: "u") ? 4 : 8)
                    guard index + digits <= bytes.count,
                          let value = UInt32(String(decoding: bytes[index..<(index + digits)], as: UTF8.self), radix: 16) else {
                        throw error("bad escape in string", at: index - 2)
                    }
                    index += digits
                    if escape == UInt8(ascii: "x") {
                        text.append(UInt8(value))
                    } else {
                        guard let scalar = Unicode.Scalar(value) else { throw error("bad escape in string", at: index - digits - 2) }
                        text.append(contentsOf: String(Character(scalar)).utf8)
                    }
                default:
                    if escape &- UInt8(ascii: "0") < 8, index + 1 < bytes.count {
                        // Octal: exactly three digits.
                        let octal = String(decoding: bytes[(index - 1)..<(index + 2)], as: UTF8.self)
                        guard let value = UInt8(octal, radix: 8) else { throw error("bad escape in string", at: index - 2) }
                        text.append(value)
                        index += 2
                    } else {
                        throw error("unknown escape sequence '\\\(String(decoding: [escape], as: UTF8.self))'", at: index - 2)
                    }
                }
            } else {
                if quote != UInt8(ascii: "`") && byte == 0x0A { throw error("unterminated string", at: start) }
                text.append(byte)
            }
        }
        guard let string = String(validating: text, as: UTF8.self) else { throw error("invalid UTF-8 in string", at: start) }
        return string
    }
}

/// A query that cannot be parsed or evaluated; `offset` is the byte where the parser stopped.
public struct QueryError: Error, Equatable, Sendable {
    public var message: String
    public var offset: Int?

    public init(_ message: String, offset: Int? = nil) {
        self.message = message
        self.offset = offset
    }

    /// The message with the expression and a caret under the place, for a terminal:
    /// ```
    /// mquery: parse error: unexpected ')'
    ///   rate(foo[5m]))
    ///                ^
    /// ```
    public func explained(in expression: String) -> String {
        guard let offset else { return message }
        let lines = expression.split(separator: "\n", omittingEmptySubsequences: false)
        var consumed = 0
        for line in lines {
            let length = line.utf8.count
            if offset <= consumed + length {
                let column = String(decoding: Array(line.utf8)[0..<(offset - consumed)], as: UTF8.self).count
                return message + "\n  " + line + "\n  " + String(repeating: " ", count: column) + "^"
            }
            consumed += length + 1
        }
        return message
    }
}
