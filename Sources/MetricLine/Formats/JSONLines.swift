/// Reads JSON lines in VictoriaMetrics' export format:
/// `{"metric":{"__name__":"up","job":"node"},"values":[1,0],"timestamps":[1700000000000,1700000015000]}`.
/// Values may be numbers, VictoriaMetrics' bare `NaN`, `+Inf` and `-Inf`, or strings (`"NaN"`,
/// `"+Inf"`, `"stale"`); `timestamps` may be left out for a single value.
public struct JSONLinesDecoder: SampleLineDecoder {
    public init() {}

    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>, into records: inout [ExpositionLine]) throws(LineError) {
        var cursor = Cursor(line)
        cursor.skipBlanks()
        if cursor.atEnd { return }
        let json = try JSONParser.parse(line, specialNumbers: true)
        guard case .object(let metricMembers)? = json["metric"] else {
            throw LineError("want an object with \"metric\", \"values\" and \"timestamps\"", column: 1)
        }
        var name: String?
        var labels: [Label] = []
        for (key, value) in metricMembers {
            guard case .string(let text) = value else { throw LineError("label \(key) must be a string", column: 1) }
            if key == "__name__" { name = text } else { labels.append(Label(key, text)) }
        }
        guard let name, !name.isEmpty else { throw LineError("metric has no __name__", column: 1) }
        let sortedLabels = try ExpositionParser.canonical(labels, column: 1)
        guard case .array(let values)? = json["values"], !values.isEmpty else {
            throw LineError("\"values\" must be a non-empty array", column: 1)
        }
        var timestamps: [Int64?] = Array(repeating: nil, count: values.count)
        if let stamps = json["timestamps"] {
            guard case .array(let list) = stamps, list.count == values.count else {
                throw LineError("\"timestamps\" must be an array as long as \"values\"", column: 1)
            }
            for (index, stamp) in list.enumerated() {
                guard case .number(let text) = stamp, let milliseconds = Int64(text) else {
                    throw LineError("timestamps must be integer milliseconds", column: 1)
                }
                timestamps[index] = milliseconds
            }
        }
        for (value, timestamp) in zip(values, timestamps) {
            let number: Double?
            switch value {
            case .number(let text), .string(let text):
                var copy = text
                number = copy.withUTF8 { ExpositionParser.parseValue($0) }
            default:
                number = nil
            }
            guard let number else { throw LineError("invalid value in \"values\"", column: 1) }
            records.append(.sample(Sample(name: name, sortedLabels: sortedLabels, value: number, timestamp: timestamp)))
        }
    }
}

/// Writes one JSON line per sample in VictoriaMetrics' export format, so the output can be posted
/// to `/api/v1/import` as it is: NaN and infinities as the bare words VictoriaMetrics writes and
/// reads (`NaN`, `+Inf`, `-Inf`; it skips a line with a string value). Staleness markers cannot be
/// carried and are left out.
public struct JSONLinesEncoder: SampleLineEncoder {
    public init() {}

    public mutating func encode(_ record: ExpositionLine, into output: inout [UInt8]) -> Bool {
        guard case .sample(let sample) = record else { return true }
        guard !sample.isStale else { return false }
        output.append(contentsOf: #"{"metric":{"__name__":"#.utf8)
        JSONText.appendString(sample.name, to: &output)
        for label in sample.labels {
            output.append(UInt8(ascii: ","))
            JSONText.appendString(label.name, to: &output)
            output.append(UInt8(ascii: ":"))
            JSONText.appendString(label.value, to: &output)
        }
        output.append(contentsOf: #"},"values":["#.utf8)
        if sample.value.isFinite {
            FloatFormatter.append(sample.value, to: &output)
        } else {
            ExpositionWriter.appendValue(sample.value, to: &output)
        }
        output.append(UInt8(ascii: "]"))
        if let timestamp = sample.timestamp {
            output.append(contentsOf: #","timestamps":["#.utf8)
            IntegerFormatter.append(timestamp, to: &output)
            output.append(UInt8(ascii: "]"))
        }
        output.append(contentsOf: "}\n".utf8)
        return true
    }
}
