/// Reads Graphite plaintext: `path value timestamp`, with carbon's tags (`name;k=v;k2=v2`).
/// A dotted path becomes a metric name with `_` for every byte Prometheus does not allow;
/// timestamps are seconds (fractions kept to the millisecond), and `-1` means "now".
public struct GraphiteDecoder: SampleLineDecoder {
    public init() {}

    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>, into records: inout [ExpositionLine]) throws(LineError) {
        var cursor = Cursor(line)
        cursor.skipBlanks()
        if cursor.atEnd || cursor.peek == UInt8(ascii: "#") { return }
        let pathColumn = cursor.column
        let path = cursor.token()
        cursor.skipBlanks()
        let valueColumn = cursor.column
        let valueToken = cursor.token()
        cursor.skipBlanks()
        let timestampColumn = cursor.column
        let timestampToken = cursor.token()
        cursor.skipBlanks()
        guard !valueToken.isEmpty, !timestampToken.isEmpty, cursor.atEnd else {
            throw LineError("want exactly three fields: path value timestamp", column: valueToken.isEmpty ? valueColumn : cursor.column)
        }
        guard let value = FloatParser.parse(valueToken) else {
            throw LineError("invalid value \(ExpositionParser.excerptOf(valueToken))", column: valueColumn)
        }
        var timestamp: Int64?
        if !timestampToken.elementsEqual("-1".utf8) {
            guard let milliseconds = TimestampText.parseSeconds(timestampToken) else {
                throw LineError("invalid timestamp \(ExpositionParser.excerptOf(timestampToken)) (want seconds)", column: timestampColumn)
            }
            timestamp = milliseconds
        }
        guard let pathText = String(validating: path, as: UTF8.self) else {
            throw LineError("invalid UTF-8 in path", column: pathColumn)
        }
        var parts = pathText.split(separator: ";", omittingEmptySubsequences: false)
        let name = String(parts.removeFirst())
        guard !name.isEmpty else { throw LineError("empty metric path", column: pathColumn) }
        var labels: [Label] = []
        for part in parts {
            guard let equals = part.firstIndex(of: "="), equals != part.startIndex else {
                throw LineError("tag \(part) needs name=value", column: pathColumn)
            }
            labels.append(Label(String(part[..<equals]), String(part[part.index(after: equals)...])))
        }
        let sortedLabels = try ExpositionParser.canonical(labels, column: pathColumn)
        records.append(.sample(Sample(name: Names.sanitizedMetricName(name), sortedLabels: sortedLabels, value: value, timestamp: timestamp)))
    }
}

/// Writes Graphite plaintext with tags: `name;k=v value seconds`. A sample without a timestamp
/// gets the current time. NaN (which carbon drops), staleness markers, and labels that Graphite's
/// tags cannot hold (`;`, `~`, blanks, or `=` and `!^` in names) are left out.
public struct GraphiteEncoder: SampleLineEncoder {
    public init() {}

    public mutating func encode(_ record: ExpositionLine, into output: inout [UInt8]) -> Bool {
        guard case .sample(let sample) = record else { return true }
        guard !sample.value.isNaN, isPathSafe(sample.name, forbidden: ";~!^=") else { return false }
        for label in sample.labels where !isPathSafe(label.name, forbidden: ";~!^=") || !isPathSafe(label.value, forbidden: ";~") {
            return false
        }
        output.append(contentsOf: sample.name.utf8)
        for label in sample.labels {
            output.append(UInt8(ascii: ";"))
            output.append(contentsOf: label.name.utf8)
            output.append(UInt8(ascii: "="))
            output.append(contentsOf: label.value.utf8)
        }
        output.append(UInt8(ascii: " "))
        FloatFormatter.append(sample.value, to: &output)
        output.append(UInt8(ascii: " "))
        TimestampText.appendSeconds(sample.timestamp ?? Clock.nowMilliseconds(), to: &output)
        output.append(UInt8(ascii: "\n"))
        return true
    }

    private func isPathSafe(_ text: String, forbidden: StaticString) -> Bool {
        let forbiddenBytes = UnsafeBufferPointer(start: forbidden.utf8Start, count: forbidden.utf8CodeUnitCount)
        return !text.isEmpty && text.utf8.allSatisfy { byte in
            byte > 0x20 && byte != 0x7F && !forbiddenBytes.contains(byte)
        }
    }
}
