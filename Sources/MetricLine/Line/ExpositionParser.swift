/// Why a line was rejected, and the byte column (1-based) where the parser gave up.
public struct LineError: Error, Equatable, Sendable {
    public var reason: String
    public var column: Int

    public init(_ reason: String, column: Int) {
        self.reason = reason
        self.column = column
    }
}

/// What one line of Prometheus text exposition holds.
public enum ExpositionLine: Equatable, Sendable {
    case sample(Sample)
    /// `# HELP name text`, with the text unescaped.
    case help(metric: String, text: String)
    /// `# TYPE name type`
    case type(metric: String, type: MetricType)
    /// Any other line starting with `#`.
    case comment
    /// An empty line or one of blanks only.
    case blank
}

/// Parses one line of the Prometheus text exposition format (0.0.4, plus the quoted UTF-8 names
/// of 1.0.0) with millisecond timestamps and the `stale` value token.
///
/// This is the authoritative parser: the fast path in `SampleDecoder` only ever skips work for
/// series keys that this parser has already accepted.
public enum ExpositionParser {
    /// Parses `line` (without its newline). A trailing carriage return is ignored.
    public static func parse(_ line: UnsafeBufferPointer<UInt8>) throws(LineError) -> ExpositionLine {
        var cursor = Cursor(line)
        cursor.skipBlanks()
        if cursor.atEnd { return .blank }
        if cursor.peek == UInt8(ascii: "#") { return try parseComment(&cursor) }
        let key = try parseSeriesKey(&cursor)
        let (value, timestamp) = try parseValueAndTimestamp(&cursor)
        return .sample(Sample(name: key.name, sortedLabels: key.labels, value: value, timestamp: timestamp))
    }

    /// Parses `line` given as a String (convenience for tests and small inputs).
    public static func parse(_ line: String) throws(LineError) -> ExpositionLine {
        var copy = line
        let result = copy.withUTF8 { bytes in Result { () throws(LineError) in try parse(bytes) } }
        return try result.get()
    }

    /// A metric name and its canonical labels.
    public struct SeriesKey: Equatable, Sendable {
        public var name: String
        /// Sorted by name, no empty values.
        public var labels: [Label]

        /// A key from a name and labels already in canonical order.
        public init(name: String, labels: [Label]) {
            self.name = name
            self.labels = labels
        }
    }

    /// Parses `name{labels}` (or `{"name",labels}`) at the cursor and leaves the cursor after it.
    static func parseSeriesKey(_ cursor: inout Cursor) throws(LineError) -> SeriesKey {
        var name: String?
        if cursor.peek != UInt8(ascii: "{") {
            guard Names.isMetricNameStart(cursor.peek) else {
                throw LineError("metric name must start with a letter, '_' or ':'", column: cursor.column)
            }
            let start = cursor.index
            while !cursor.atEnd && Names.isMetricNameByte(cursor.peek) { cursor.index += 1 }
            name = cursor.string(from: start)
            // Blanks may stand between the name and its labels; otherwise they belong to the value.
            let afterName = cursor.index
            cursor.skipBlanks()
            if cursor.atEnd || cursor.peek != UInt8(ascii: "{") { cursor.index = afterName }
        }
        var labels: [Label] = []
        if !cursor.atEnd && cursor.peek == UInt8(ascii: "{") {
            cursor.index += 1
            try parseLabels(&cursor, name: &name, labels: &labels)
        }
        guard let name, !name.isEmpty else { throw LineError("missing metric name", column: cursor.column) }
        return SeriesKey(name: name, labels: try canonical(labels, column: cursor.column))
    }

    /// Parses the inside of `{...}` up to and including the closing brace.
    static func parseLabels(_ cursor: inout Cursor, name: inout String?, labels: inout [Label]) throws(LineError) {
        var first = true
        while true {
            cursor.skipBlanks()
            guard !cursor.atEnd else { throw LineError("unterminated label set: missing '}'", column: cursor.column) }
            if cursor.peek == UInt8(ascii: "}") {
                cursor.index += 1
                return
            }
            let labelName: String
            let quotedName = cursor.peek == UInt8(ascii: "\"")
            if quotedName {
                labelName = try parseQuoted(&cursor)
                cursor.skipBlanks()
                // `{"metric.name", ...}`: a lone quoted string is the metric name.
                if !cursor.atEnd && (cursor.peek == UInt8(ascii: ",") || cursor.peek == UInt8(ascii: "}")) {
                    guard first, name == nil else {
                        throw LineError("quoted metric name must come first and only once", column: cursor.column)
                    }
                    name = labelName
                    first = false
                    if cursor.peek == UInt8(ascii: ",") { cursor.index += 1 }
                    continue
                }
            } else {
                guard Names.isLabelNameStart(cursor.peek) else {
                    throw LineError("label name must start with a letter or '_'", column: cursor.column)
                }
                let start = cursor.index
                while !cursor.atEnd && Names.isLabelNameByte(cursor.peek) { cursor.index += 1 }
                labelName = cursor.string(from: start)
                cursor.skipBlanks()
            }
            guard !cursor.atEnd, cursor.peek == UInt8(ascii: "=") else {
                throw LineError("expected '=' after label name \(labelName)", column: cursor.column)
            }
            cursor.index += 1
            cursor.skipBlanks()
            guard !cursor.atEnd, cursor.peek == UInt8(ascii: "\"") else {
                throw LineError("label value must be in double quotes", column: cursor.column)
            }
            let value = try parseQuoted(&cursor)
            if labelName == "__name__" {
                guard name == nil else { throw LineError("metric name given twice", column: cursor.column) }
                name = value
            } else {
                labels.append(Label(labelName, value))
            }
            first = false
            cursor.skipBlanks()
            guard !cursor.atEnd else { throw LineError("unterminated label set: missing '}'", column: cursor.column) }
            // Prometheus's parser lets the comma between labels be left out; so do we.
            if cursor.peek == UInt8(ascii: ",") {
                cursor.index += 1
            } else if cursor.peek != UInt8(ascii: "}") && cursor.peek != UInt8(ascii: "\"") && !Names.isLabelNameStart(cursor.peek) {
                throw LineError("expected ',' or '}' after label value", column: cursor.column)
            }
        }
    }

    /// Parses a double-quoted string with the escapes `\\`, `\"` and `\n`; any other backslash
    /// pair is kept as written, as Prometheus does. The text must be valid UTF-8.
    static func parseQuoted(_ cursor: inout Cursor) throws(LineError) -> String {
        let openColumn = cursor.column
        cursor.index += 1
        let start = cursor.index
        var hasEscape = false
        while true {
            guard !cursor.atEnd else { throw LineError("unterminated quoted string", column: openColumn) }
            let byte = cursor.peek
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                hasEscape = true
                cursor.index += 1
                guard !cursor.atEnd else { throw LineError("unterminated quoted string", column: openColumn) }
            }
            cursor.index += 1
        }
        let raw = UnsafeBufferPointer(rebasing: cursor.bytes[start..<cursor.index])
        cursor.index += 1
        guard hasEscape else {
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw LineError("invalid UTF-8 in quoted string", column: openColumn)
            }
            return text
        }
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            if byte == UInt8(ascii: "\\") {
                let next = raw[index + 1]
                switch next {
                case UInt8(ascii: "\\"), UInt8(ascii: "\""): unescaped.append(next)
                case UInt8(ascii: "n"): unescaped.append(UInt8(ascii: "\n"))
                default: unescaped.append(byte); unescaped.append(next)
                }
                index += 2
            } else {
                unescaped.append(byte)
                index += 1
            }
        }
        guard let text = String(validating: unescaped, as: UTF8.self) else {
            throw LineError("invalid UTF-8 in quoted string", column: openColumn)
        }
        return text
    }

    /// Sorts labels by name, drops empty values and rejects a name given twice.
    static func canonical(_ labels: [Label], column: Int) throws(LineError) -> [Label] {
        if labels.isEmpty { return labels }
        let sorted = Sample.canonicalLabels(labels)
        for index in sorted.indices.dropFirst() where sorted[index].name == sorted[index - 1].name {
            throw LineError("label \(sorted[index].name) given twice", column: column)
        }
        // An empty value may hide a duplicate of a non-empty one.
        if sorted.count != labels.count {
            var seen = Set<String>()
            for label in labels where !seen.insert(label.name).inserted {
                throw LineError("label \(label.name) given twice", column: column)
            }
        }
        return sorted
    }

    /// Parses `SP value [SP timestamp]` up to the end of the line.
    static func parseValueAndTimestamp(_ cursor: inout Cursor) throws(LineError) -> (Double, Int64?) {
        let afterKey = cursor.index
        cursor.skipBlanks()
        guard !cursor.atEnd else { throw LineError("missing value", column: cursor.column) }
        // After a closing brace the value may follow at once (`up{job="a"}1`), as Prometheus allows.
        guard cursor.index > afterKey || (afterKey > 0 && cursor.bytes[afterKey - 1] == UInt8(ascii: "}")) else {
            throw LineError("expected a blank before the value", column: cursor.column)
        }
        let valueColumn = cursor.column
        let valueToken = cursor.token()
        guard let value = parseValue(valueToken) else {
            throw LineError("invalid value \(excerptOf(valueToken))", column: valueColumn)
        }
        cursor.skipBlanks()
        if cursor.atEnd { return (value, nil) }
        let timestampColumn = cursor.column
        let timestampToken = cursor.token()
        guard let timestamp = IntegerParser.parseInt64(timestampToken) else {
            throw LineError("invalid timestamp \(excerptOf(timestampToken)) (want integer milliseconds)", column: timestampColumn)
        }
        cursor.skipBlanks()
        guard cursor.atEnd else { throw LineError("unexpected text after the timestamp", column: cursor.column) }
        return (value, timestamp)
    }

    /// A sample value: Go float syntax, or `stale` for the staleness marker.
    @inlinable
    public static func parseValue(_ token: UnsafeBufferPointer<UInt8>) -> Double? {
        if token.count == 5, token[0] == UInt8(ascii: "s"), token[1] == UInt8(ascii: "t"), token[2] == UInt8(ascii: "a"),
           token[3] == UInt8(ascii: "l"), token[4] == UInt8(ascii: "e") {
            return StaleMarker.value
        }
        return FloatParser.parse(token)
    }

    /// Parses `# HELP`, `# TYPE` or a plain comment.
    private static func parseComment(_ cursor: inout Cursor) throws(LineError) -> ExpositionLine {
        cursor.index += 1
        cursor.skipBlanks()
        let keyword = cursor.token()
        let isHelp = keyword.elementsEqual("HELP".utf8)
        let isType = keyword.elementsEqual("TYPE".utf8)
        guard isHelp || isType else { return .comment }
        cursor.skipBlanks()
        let nameColumn = cursor.column
        let nameToken = cursor.token()
        guard let metric = String(validating: nameToken, as: UTF8.self), !metric.isEmpty else {
            throw LineError("# \(isHelp ? "HELP" : "TYPE") needs a metric name", column: nameColumn)
        }
        let quoted = metric.hasPrefix("\"") && metric.hasSuffix("\"") && metric.utf8.count >= 2
        let name = quoted ? String(metric.dropFirst().dropLast()) : metric
        guard quoted || Names.isLegacyMetricName(name) else {
            throw LineError("invalid metric name \(excerptOf(nameToken))", column: nameColumn)
        }
        if cursor.index < cursor.end, cursor.bytes[cursor.index] == UInt8(ascii: " ") || cursor.bytes[cursor.index] == UInt8(ascii: "\t") {
            cursor.index += 1
        }
        if isHelp {
            let raw = UnsafeBufferPointer(rebasing: cursor.bytes[cursor.index..<cursor.end])
            guard String(validating: raw, as: UTF8.self) != nil else { throw LineError("invalid UTF-8 in HELP text", column: cursor.column) }
            return .help(metric: name, text: unescapeHelp(raw))
        }
        cursor.skipBlanks()
        let typeColumn = cursor.column
        let typeToken = cursor.token()
        cursor.skipBlanks()
        guard let text = String(validating: typeToken, as: UTF8.self), let type = MetricType(rawValue: text), cursor.atEnd else {
            throw LineError("unknown metric type \(excerptOf(typeToken))", column: typeColumn)
        }
        return .type(metric: name, type: type)
    }

    /// HELP text knows two escapes, `\\` and `\n`; OpenMetrics adds `\"`.
    static func unescapeHelp(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            if raw[index] == UInt8(ascii: "\\"), index + 1 < raw.count {
                switch raw[index + 1] {
                case UInt8(ascii: "\\"): text.append(UInt8(ascii: "\\")); index += 2; continue
                case UInt8(ascii: "n"): text.append(UInt8(ascii: "\n")); index += 2; continue
                case UInt8(ascii: "\""): text.append(UInt8(ascii: "\"")); index += 2; continue
                default: break
                }
            }
            text.append(raw[index])
            index += 1
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// At most 40 bytes of `token`, with invalid UTF-8 repaired, for error messages.
    static func excerptOf(_ token: UnsafeBufferPointer<UInt8>) -> String {
        let shown = token.prefix(40)
        return "'" + String(decoding: shown, as: UTF8.self) + (token.count > 40 ? "…'" : "'")
    }
}

/// A read position in one line of bytes.
struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// One past the last byte of the line proper (a trailing carriage return is left out).
    let end: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        var end = bytes.count
        if end > 0 && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        self.end = end
    }

    var atEnd: Bool { index >= end }
    var peek: UInt8 { bytes[index] }
    /// 1-based column of the cursor, for messages.
    var column: Int { index + 1 }

    mutating func skipBlanks() {
        while index < end && (bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t")) { index += 1 }
    }

    /// The run of non-blank bytes at the cursor; the cursor moves past it.
    mutating func token() -> UnsafeBufferPointer<UInt8> {
        let start = index
        while index < end && bytes[index] != UInt8(ascii: " ") && bytes[index] != UInt8(ascii: "\t") { index += 1 }
        return UnsafeBufferPointer(rebasing: bytes[start..<index])
    }

    func string(from start: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }
}
