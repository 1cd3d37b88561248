/// Reads OpenMetrics 1.0 text: timestamps in (fractional) seconds, exemplars dropped, `# UNIT`
/// ignored, and a required `# EOF` after which nothing may follow.
public struct OpenMetricsDecoder: SampleLineDecoder {
    private var sawEnd = false

    public init() {}

    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>, into records: inout [ExpositionLine]) throws(LineError) {
        var cursor = Cursor(line)
        if sawEnd {
            cursor.skipBlanks()
            if cursor.atEnd { return }
            throw LineError("text after # EOF", column: 1)
        }
        cursor.skipBlanks()
        if cursor.atEnd { return }
        if cursor.peek == UInt8(ascii: "#") {
            if line.elementsEqual("# EOF".utf8) || (line.count == 6 && line.prefix(5).elementsEqual("# EOF".utf8) && line[5] == UInt8(ascii: "\r")) {
                sawEnd = true
                return
            }
            switch try ExpositionParser.parse(line) {
            case .type(let metric, let type):
                records.append(.type(metric: metric, type: type == .unknown ? .untyped : type))
            case .help(let metric, let text):
                records.append(.help(metric: metric, text: text))
            default:
                break  // # UNIT and anything else
            }
            return
        }
        let key = try ExpositionParser.parseSeriesKey(&cursor)
        cursor.skipBlanks()
        let valueColumn = cursor.column
        let valueToken = cursor.token()
        guard !valueToken.isEmpty, let value = FloatParser.parse(valueToken) else {
            throw LineError("invalid value \(ExpositionParser.excerptOf(valueToken))", column: valueColumn)
        }
        cursor.skipBlanks()
        var timestamp: Int64?
        if !cursor.atEnd && cursor.peek != UInt8(ascii: "#") {
            let column = cursor.column
            let token = cursor.token()
            guard let milliseconds = TimestampText.parseSeconds(token) else {
                throw LineError("invalid timestamp \(ExpositionParser.excerptOf(token)) (want seconds)", column: column)
            }
            timestamp = milliseconds
            cursor.skipBlanks()
        }
        // What may follow is an exemplar (` # {labels} value [timestamp]`), which we drop.
        guard cursor.atEnd || cursor.peek == UInt8(ascii: "#") else {
            throw LineError("unexpected text after the sample", column: cursor.column)
        }
        records.append(.sample(Sample(name: key.name, sortedLabels: key.labels, value: value, timestamp: timestamp)))
    }

    public mutating func finish() throws(LineError) {
        if !sawEnd { throw LineError("missing '# EOF' at the end (truncated input?)", column: 1) }
    }
}

/// Writes OpenMetrics 1.0 text, ending with `# EOF`.
///
/// Samples are written in the order they come: OpenMetrics wants each family's lines together,
/// which input sorted by name (as `mstore dump` writes it) already is. Staleness markers and
/// names that need quotes cannot be carried and are left out.
public struct OpenMetricsEncoder: SampleLineEncoder {
    /// A HELP line waits for the TYPE line after it, which says whether the family is a counter
    /// named without its `_total` (HELP and TYPE must name the same family).
    private var pendingHelp: (metric: String, text: String)?
    /// The metric of the last TYPE line and the family it named, for a HELP line after it.
    private var lastType: (metric: String, family: String)?

    public init() {}

    public mutating func encode(_ record: ExpositionLine, into output: inout [UInt8]) -> Bool {
        if case .type(let metric, let type) = record, let help = pendingHelp, help.metric == metric {
            pendingHelp = nil
            Self.appendHelp(Self.family(metric, type), help.text, to: &output)
        } else {
            flushHelp(into: &output)
        }
        switch record {
        case .sample(let sample):
            guard !sample.isStale, Names.isLegacyMetricName(sample.name),
                  sample.labels.allSatisfy({ Names.isLegacyLabelName($0.name) }) else { return false }
            ExpositionWriter.appendSeriesKey(name: sample.name, labels: sample.labels, to: &output)
            output.append(UInt8(ascii: " "))
            FloatFormatter.append(sample.value, to: &output)
            if let timestamp = sample.timestamp {
                output.append(UInt8(ascii: " "))
                TimestampText.appendSeconds(timestamp, to: &output)
            }
            output.append(UInt8(ascii: "\n"))
            return true
        case .type(let metric, let type):
            guard Names.isLegacyMetricName(metric) else { return false }
            lastType = (metric, Self.family(metric, type))
            output.append(contentsOf: "# TYPE \(Self.family(metric, type)) \(type == .untyped ? "unknown" : type.rawValue)\n".utf8)
            return true
        case .help(let metric, let text):
            guard Names.isLegacyMetricName(metric) else { return false }
            // After its TYPE, the family is known; before it, the HELP waits for it.
            if let lastType, lastType.metric == metric {
                Self.appendHelp(lastType.family, text, to: &output)
            } else {
                pendingHelp = (metric, text)
            }
            return true
        case .comment, .blank:
            return true
        }
    }

    public mutating func end(into output: inout [UInt8]) {
        flushHelp(into: &output)
        output.append(contentsOf: "# EOF\n".utf8)
    }

    /// OpenMetrics names a counter family without its `_total` suffix.
    private static func family(_ metric: String, _ type: MetricType) -> String {
        type == .counter && metric.hasSuffix("_total") ? String(metric.dropLast(6)) : metric
    }

    private mutating func flushHelp(into output: inout [UInt8]) {
        guard let help = pendingHelp else { return }
        pendingHelp = nil
        Self.appendHelp(help.metric, help.text, to: &output)
    }

    private static func appendHelp(_ family: String, _ text: String, to output: inout [UInt8]) {
        output.append(contentsOf: "# HELP \(family) ".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
            case UInt8(ascii: "\n"): output.append(contentsOf: [0x5C, 0x6E])
            case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, 0x22])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\n"))
    }
}
