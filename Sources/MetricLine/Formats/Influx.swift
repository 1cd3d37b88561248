/// Reads InfluxDB line protocol. Each numeric field becomes one sample named
/// `<measurement>_<field>` (Telegraf's convention), except a field called `value`, which keeps the
/// bare measurement name; tags become labels. Integers (`12i`, `12u`) and booleans (as 1 / 0)
/// are numbers; string fields are skipped. Nanosecond timestamps become milliseconds.
public struct InfluxDecoder: SampleLineDecoder {
    public init() {}

    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>, into records: inout [ExpositionLine]) throws(LineError) {
        var cursor = Cursor(line)
        cursor.skipBlanks()
        if cursor.atEnd || cursor.peek == UInt8(ascii: "#") { return }

        let measurement = try readEscaped(&cursor, stops: [UInt8(ascii: ","), UInt8(ascii: " ")], what: "measurement")
        guard !measurement.isEmpty else { throw LineError("missing measurement", column: cursor.column) }
        var labels: [Label] = []
        while !cursor.atEnd && cursor.peek == UInt8(ascii: ",") {
            cursor.index += 1
            let keyColumn = cursor.column
            let key = try readEscaped(&cursor, stops: [UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: " ")], what: "tag key")
            guard !cursor.atEnd, cursor.peek == UInt8(ascii: "="), !key.isEmpty else {
                throw LineError("tag needs key=value", column: keyColumn)
            }
            cursor.index += 1
            let value = try readEscaped(&cursor, stops: [UInt8(ascii: ","), UInt8(ascii: " ")], what: "tag value")
            labels.append(Label(Names.sanitizedLabelName(key), value))
        }
        guard !cursor.atEnd, cursor.peek == UInt8(ascii: " ") else { throw LineError("expected a space before the fields", column: cursor.column) }
        cursor.skipBlanks()

        var fields: [(name: String, value: Double?)] = []
        repeat {
            if !fields.isEmpty { cursor.index += 1 }
            let keyColumn = cursor.column
            let key = try readEscaped(&cursor, stops: [UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: " ")], what: "field key")
            guard !cursor.atEnd, cursor.peek == UInt8(ascii: "="), !key.isEmpty else {
                throw LineError("field needs key=value", column: keyColumn)
            }
            cursor.index += 1
            fields.append((key, try readFieldValue(&cursor)))
        } while !cursor.atEnd && cursor.peek == UInt8(ascii: ",")

        var timestamp: Int64?
        cursor.skipBlanks()
        if !cursor.atEnd {
            let column = cursor.column
            let token = cursor.token()
            guard let nanoseconds = IntegerParser.parseInt64(token) else {
                throw LineError("invalid timestamp \(ExpositionParser.excerptOf(token)) (want integer nanoseconds)", column: column)
            }
            timestamp = nanoseconds >= 0 ? nanoseconds / 1_000_000 : -((-(nanoseconds + 1)) / 1_000_000) - 1
            cursor.skipBlanks()
            guard cursor.atEnd else { throw LineError("unexpected text after the timestamp", column: cursor.column) }
        }
        let sortedLabels = try ExpositionParser.canonical(labels, column: 1)
        for field in fields {
            guard let value = field.value else { continue }
            let name = field.name == "value" ? measurement : measurement + "_" + field.name
            records.append(.sample(Sample(name: Names.sanitizedMetricName(name), sortedLabels: sortedLabels, value: value, timestamp: timestamp)))
        }
    }

    /// Reads up to an unescaped stop byte; a backslash escapes the next byte (a lone one stays).
    private func readEscaped(_ cursor: inout Cursor, stops: [UInt8], what: String) throws(LineError) -> String {
        var bytes: [UInt8] = []
        while !cursor.atEnd {
            let byte = cursor.peek
            if stops.contains(byte) { break }
            if byte == UInt8(ascii: "\\"), cursor.index + 1 < cursor.end {
                let next = cursor.bytes[cursor.index + 1]
                if stops.contains(next) || next == UInt8(ascii: "\\") || next == UInt8(ascii: "=") || next == UInt8(ascii: ",") || next == UInt8(ascii: " ") {
                    bytes.append(next)
                    cursor.index += 2
                    continue
                }
            }
            bytes.append(byte)
            cursor.index += 1
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw LineError("invalid UTF-8 in \(what)", column: cursor.column)
        }
        return text
    }

    /// A field value as a number, or nil for a string field.
    private func readFieldValue(_ cursor: inout Cursor) throws(LineError) -> Double? {
        let column = cursor.column
        guard !cursor.atEnd else { throw LineError("missing field value", column: column) }
        if cursor.peek == UInt8(ascii: "\"") {
            cursor.index += 1
            while !cursor.atEnd && cursor.peek != UInt8(ascii: "\"") {
                if cursor.peek == UInt8(ascii: "\\") { cursor.index += 1 }
                cursor.index += 1
            }
            guard !cursor.atEnd else { throw LineError("unterminated string field", column: column) }
            cursor.index += 1
            return nil
        }
        let start = cursor.index
        while !cursor.atEnd && cursor.peek != UInt8(ascii: ",") && cursor.peek != UInt8(ascii: " ") { cursor.index += 1 }
        var token = UnsafeBufferPointer(rebasing: cursor.bytes[start..<cursor.index])
        switch String(decoding: token, as: UTF8.self) {
        case "t", "T", "true", "True", "TRUE": return 1
        case "f", "F", "false", "False", "FALSE": return 0
        default: break
        }
        if let last = token.last, last == UInt8(ascii: "i") || last == UInt8(ascii: "u") {
            token = UnsafeBufferPointer(rebasing: token.dropLast())
            guard let integer = IntegerParser.parseInt64(token) ?? UInt64(String(decoding: token, as: UTF8.self)).map({ Int64(clamping: $0) }) else {
                throw LineError("invalid integer field \(ExpositionParser.excerptOf(token))", column: column)
            }
            return Double(integer)
        }
        guard let value = FloatParser.parse(token), value.isFinite else {
            throw LineError("invalid field value \(ExpositionParser.excerptOf(token))", column: column)
        }
        return value
    }
}

/// Writes InfluxDB line protocol: the metric name as the measurement, labels as tags, the value
/// as the float field `value`, milliseconds times 10^6 as nanoseconds. NaN, infinities, staleness
/// markers and label values with a newline cannot be carried and are left out.
public struct InfluxEncoder: SampleLineEncoder {
    public init() {}

    public mutating func encode(_ record: ExpositionLine, into output: inout [UInt8]) -> Bool {
        guard case .sample(let sample) = record else { return true }
        guard sample.value.isFinite, !sample.name.utf8.contains(UInt8(ascii: "\n")),
              sample.labels.allSatisfy({ !$0.value.utf8.contains(UInt8(ascii: "\n")) && !$0.name.utf8.contains(UInt8(ascii: "\n")) })
        else { return false }
        var nanoseconds: Int64?
        if let timestamp = sample.timestamp {
            let (product, overflow) = timestamp.multipliedReportingOverflow(by: 1_000_000)
            guard !overflow else { return false }
            nanoseconds = product
        }
        appendEscaped(sample.name, escaping: [UInt8(ascii: ","), UInt8(ascii: " ")], to: &output)
        for label in sample.labels {
            output.append(UInt8(ascii: ","))
            appendEscaped(label.name, escaping: [UInt8(ascii: ","), UInt8(ascii: "="), UInt8(ascii: " ")], to: &output)
            output.append(UInt8(ascii: "="))
            appendEscaped(label.value, escaping: [UInt8(ascii: ","), UInt8(ascii: "="), UInt8(ascii: " ")], to: &output)
        }
        output.append(contentsOf: " value=".utf8)
        FloatFormatter.append(sample.value, to: &output)
        if let nanoseconds {
            output.append(UInt8(ascii: " "))
            IntegerFormatter.append(nanoseconds, to: &output)
        }
        output.append(UInt8(ascii: "\n"))
        return true
    }

    /// Backslashes are escaped too, so a value ending in `\` cannot swallow the separator after it.
    private func appendEscaped(_ text: String, escaping special: [UInt8], to output: inout [UInt8]) {
        for byte in text.utf8 {
            if special.contains(byte) || byte == UInt8(ascii: "\\") { output.append(UInt8(ascii: "\\")) }
            output.append(byte)
        }
    }
}
