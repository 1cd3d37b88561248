/// Reads CSV (RFC 4180 quoting, one record per line) with the columns `name,labels,value,timestamp`,
/// where `labels` holds the inside of the braces of a sample line (`job="api",code="500"`) and
/// `timestamp` is milliseconds or empty. A header line naming the columns is skipped.
public struct CSVDecoder: SampleLineDecoder {
    public init() {}

    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>, into records: inout [ExpositionLine]) throws(LineError) {
        var end = line.count
        if end > 0 && line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        if end == 0 { return }
        let fields = try CSVDecoder.splitFields(UnsafeBufferPointer(rebasing: line[0..<end]))
        if fields.count == 4, fields[0] == Array("name".utf8), fields[2] == Array("value".utf8) { return }
        guard fields.count == 4 else { throw LineError("want 4 columns: name,labels,value,timestamp (got \(fields.count))", column: 1) }
        guard let name = String(validating: fields[0], as: UTF8.self), !name.isEmpty else {
            throw LineError("missing or invalid metric name", column: 1)
        }
        var labelSet: [UInt8] = [UInt8(ascii: "{")]
        labelSet.append(contentsOf: fields[1])
        labelSet.append(UInt8(ascii: "}"))
        let labels = try labelSet.withUnsafeBufferPointer { bytes throws(LineError) -> [Label] in
            var cursor = Cursor(bytes)
            cursor.index = 1
            var unnamed: String?
            var labels: [Label] = []
            try ExpositionParser.parseLabels(&cursor, name: &unnamed, labels: &labels)
            guard cursor.atEnd, unnamed == nil else { throw LineError("invalid labels column", column: 1) }
            return labels
        }
        let value = try fields[2].withUnsafeBufferPointer { bytes throws(LineError) -> Double in
            guard let value = ExpositionParser.parseValue(bytes) else {
                throw LineError("invalid value \(ExpositionParser.excerptOf(bytes))", column: 1)
            }
            return value
        }
        var timestamp: Int64?
        if !fields[3].isEmpty {
            timestamp = fields[3].withUnsafeBufferPointer { IntegerParser.parseInt64($0) }
            guard timestamp != nil else { throw LineError("invalid timestamp (want integer milliseconds)", column: 1) }
        }
        records.append(.sample(Sample(name: name, sortedLabels: try ExpositionParser.canonical(labels, column: 1), value: value, timestamp: timestamp)))
    }

    /// Splits one CSV record into its fields, undoing RFC 4180 quoting.
    static func splitFields(_ line: UnsafeBufferPointer<UInt8>) throws(LineError) -> [[UInt8]] {
        var fields: [[UInt8]] = []
        var index = 0
        while true {
            var field: [UInt8] = []
            if index < line.count, line[index] == UInt8(ascii: "\"") {
                let open = index
                index += 1
                while true {
                    guard index < line.count else { throw LineError("unterminated quoted field", column: open + 1) }
                    if line[index] == UInt8(ascii: "\"") {
                        if index + 1 < line.count, line[index + 1] == UInt8(ascii: "\"") {
                            field.append(UInt8(ascii: "\""))
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    field.append(line[index])
                    index += 1
                }
                guard index == line.count || line[index] == UInt8(ascii: ",") else {
                    throw LineError("text after a closing quote", column: index + 1)
                }
            } else {
                while index < line.count, line[index] != UInt8(ascii: ",") {
                    field.append(line[index])
                    index += 1
                }
            }
            fields.append(field)
            if index == line.count { return fields }
            index += 1  // the comma
        }
    }
}

/// Writes CSV with a header: `name,labels,value,timestamp`, quoting fields as RFC 4180 requires.
public struct CSVEncoder: SampleLineEncoder {
    public init() {}

    public mutating func start(into output: inout [UInt8]) {
        output.append(contentsOf: "name,labels,value,timestamp\n".utf8)
    }

    public mutating func encode(_ record: ExpositionLine, into output: inout [UInt8]) -> Bool {
        guard case .sample(let sample) = record else { return true }
        guard appendSeriesFields(sample, to: &output) else { return false }
        ExpositionWriter.appendValue(sample.value, to: &output)
        output.append(UInt8(ascii: ","))
        if let timestamp = sample.timestamp { IntegerFormatter.append(timestamp, to: &output) }
        output.append(UInt8(ascii: "\n"))
        return true
    }

    /// Appends a record's name and labels fields, each followed by a comma; false, appending
    /// nothing, when the name holds a line break (which would split the record over two lines).
    public func appendSeriesFields(_ sample: Sample, to output: inout [UInt8]) -> Bool {
        guard !sample.name.utf8.contains(0x0A), !sample.name.utf8.contains(0x0D) else { return false }
        appendField(Array(sample.name.utf8), to: &output)
        output.append(UInt8(ascii: ","))
        var labels: [UInt8] = []
        for (index, label) in sample.labels.enumerated() {
            if index > 0 { labels.append(UInt8(ascii: ",")) }
            if Names.isLegacyLabelName(label.name) {
                labels.append(contentsOf: label.name.utf8)
            } else {
                ExpositionWriter.appendQuoted(label.name, to: &labels)
            }
            labels.append(UInt8(ascii: "="))
            ExpositionWriter.appendQuoted(label.value, to: &labels)
        }
        appendField(labels, to: &output)
        output.append(UInt8(ascii: ","))
        return true
    }

    /// Appends a field, in quotes (with inner quotes doubled) when it holds a comma, quote or line break.
    private func appendField(_ field: [UInt8], to output: inout [UInt8]) {
        let needsQuotes = field.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else {
            output.append(contentsOf: field)
            return
        }
        output.append(UInt8(ascii: "\""))
        for byte in field {
            if byte == UInt8(ascii: "\"") { output.append(UInt8(ascii: "\"")) }
            output.append(byte)
        }
        output.append(UInt8(ascii: "\""))
    }
}
