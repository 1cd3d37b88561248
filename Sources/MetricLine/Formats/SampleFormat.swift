/// The line formats every tool can read and write besides its own.
public enum SampleFormat: String, CaseIterable, Sendable {
    /// Prometheus text exposition with millisecond timestamps: the toolkit's own line format.
    case prometheus = "prom"
    /// OpenMetrics 1.0 text: seconds, `# EOF` at the end.
    case openMetrics = "openmetrics"
    /// InfluxDB line protocol, nanosecond timestamps.
    case influx
    /// Graphite plaintext, with tags (`name;k=v`), second timestamps.
    case graphite
    /// One JSON object per line, as VictoriaMetrics' `/api/v1/export` writes and `/api/v1/import` reads.
    case jsonLines = "jsonl"
    /// Comma-separated values with a header: `name,labels,value,timestamp`.
    case csv

    /// Looks a format up by its name or a common alias (`prometheus`, `text`, `om`, `json`, `line`).
    public init?(name: String) {
        switch name.lowercased() {
        case "prom", "prometheus", "text", "exposition": self = .prometheus
        case "openmetrics", "om": self = .openMetrics
        case "influx", "influxdb", "line-protocol", "lineprotocol", "line": self = .influx
        case "graphite", "carbon": self = .graphite
        case "jsonl", "json", "ndjson", "json-lines": self = .jsonLines
        case "csv": self = .csv
        default: return nil
        }
    }

    /// A fresh decoder for this format.
    public func makeDecoder() -> any SampleLineDecoder {
        switch self {
        case .prometheus: PrometheusTextDecoder()
        case .openMetrics: OpenMetricsDecoder()
        case .influx: InfluxDecoder()
        case .graphite: GraphiteDecoder()
        case .jsonLines: JSONLinesDecoder()
        case .csv: CSVDecoder()
        }
    }

    /// A fresh encoder for this format.
    public func makeEncoder() -> any SampleLineEncoder {
        switch self {
        case .prometheus: PrometheusTextEncoder()
        case .openMetrics: OpenMetricsEncoder()
        case .influx: InfluxEncoder()
        case .graphite: GraphiteEncoder()
        case .jsonLines: JSONLinesEncoder()
        case .csv: CSVEncoder()
        }
    }
}

/// Reads one format line by line into samples and metadata.
public protocol SampleLineDecoder {
    /// Decodes one line (without its newline), appending what it holds to `records`; a line may
    /// hold no record (a comment) or several (an Influx line with several fields).
    mutating func decode(_ line: UnsafeBufferPointer<UInt8>, into records: inout [ExpositionLine]) throws(LineError)
    /// Called at the end of input: formats with an end marker complain here when it is missing.
    mutating func finish() throws(LineError)
}

extension SampleLineDecoder {
    public mutating func finish() throws(LineError) {}

    /// Decodes a whole text (tests and small inputs), stopping at the first error.
    public mutating func decodeAll(_ text: String) throws(LineError) -> [ExpositionLine] {
        var records: [ExpositionLine] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var copy = String(line)
            let result = copy.withUTF8 { bytes in
                Result { () throws(LineError) in try decode(bytes, into: &records) }
            }
            try result.get()
        }
        try finish()
        return records
    }
}

/// Writes samples and metadata in one format.
public protocol SampleLineEncoder {
    /// Bytes that start the output (a CSV header), if any.
    mutating func start(into output: inout [UInt8])
    /// Appends `record`; returns false when the format cannot carry it (a staleness marker in
    /// OpenMetrics, a NaN in Influx), so the caller can count what was left out.
    mutating func encode(_ record: ExpositionLine, into output: inout [UInt8]) -> Bool
    /// Bytes that end the output (`# EOF`), if any.
    mutating func end(into output: inout [UInt8])
}

extension SampleLineEncoder {
    public mutating func start(into output: inout [UInt8]) {}
    public mutating func end(into output: inout [UInt8]) {}

    /// Encodes `records` as one text (tests and small outputs); records the format cannot carry are left out.
    public mutating func encodeAll(_ records: [ExpositionLine]) -> String {
        var output: [UInt8] = []
        start(into: &output)
        for record in records { _ = encode(record, into: &output) }
        end(into: &output)
        return String(decoding: output, as: UTF8.self)
    }
}

/// The toolkit's own line format, read by the authoritative parser.
public struct PrometheusTextDecoder: SampleLineDecoder {
    public init() {}

    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>, into records: inout [ExpositionLine]) throws(LineError) {
        let parsed = try ExpositionParser.parse(line)
        switch parsed {
        case .comment, .blank: break
        default: records.append(parsed)
        }
    }
}

/// The toolkit's own line format, written canonically.
public struct PrometheusTextEncoder: SampleLineEncoder {
    public init() {}

    public mutating func encode(_ record: ExpositionLine, into output: inout [UInt8]) -> Bool {
        switch record {
        case .sample(let sample): ExpositionWriter.append(sample, to: &output)
        case .help(let metric, let text): ExpositionWriter.appendHelp(metric: metric, text: text, to: &output)
        case .type(let metric, let type): ExpositionWriter.appendType(metric: metric, type: type, to: &output)
        case .comment, .blank: break
        }
        return true
    }
}

/// Converting timestamps between milliseconds and the units other formats use.
enum TimestampText {
    /// Appends `milliseconds` as seconds: an integer when whole, else with the needed decimals.
    static func appendSeconds(_ milliseconds: Int64, to output: inout [UInt8]) {
        output.append(writtenBy: { writeSeconds(milliseconds, to: $0) })
    }

    /// The most bytes `writeSeconds` puts down ("-9223372036854775.808" is 21).
    static let longestSeconds = 24

    /// Writes `milliseconds` as `appendSeconds` does at `destination`, which has room for
    /// `longestSeconds` bytes; returns how many it wrote.
    @inline(__always)
    static func writeSeconds(_ milliseconds: Int64, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        let (seconds, remainder) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        if remainder == 0 { return IntegerFormatter.write(seconds, to: destination) }
        var position = 0
        if milliseconds < 0 {
            destination[0] = UInt8(ascii: "-")
            position = 1
        }
        position += IntegerFormatter.write(abs(seconds), to: destination + position)
        destination[position] = UInt8(ascii: ".")
        position += 1
        // One to three decimals, without trailing zeros.
        var fraction = abs(remainder), places = 3
        while fraction % 10 == 0 {
            fraction /= 10
            places -= 1
        }
        for place in stride(from: places - 1, through: 0, by: -1) {
            destination[position + place] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: fraction % 10)
            fraction /= 10
        }
        return position + places
    }

    /// Parses seconds (`1520879607`, `1520879607.789`, `1.5e9`) into milliseconds, exactly for plain
    /// decimals and rounded to the nearest millisecond otherwise.
    static func parseSeconds(_ token: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        var negative = false
        if index < token.count, token[index] == UInt8(ascii: "-") || token[index] == UInt8(ascii: "+") {
            negative = token[index] == UInt8(ascii: "-")
            index += 1
        }
        var whole: Int64 = 0
        var digits = 0
        var plain = true
        while index < token.count, token[index] &- UInt8(ascii: "0") < 10 {
            let (product, overflow) = whole.multipliedReportingOverflow(by: 10)
            if overflow { plain = false; break }
            whole = product + Int64(token[index] - UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        var milliseconds: Int64 = 0
        var scale: Int64 = 100
        var roundUp = false
        if plain, index < token.count, token[index] == UInt8(ascii: ".") {
            index += 1
            var first = true
            while index < token.count, token[index] &- UInt8(ascii: "0") < 10 {
                let digit = Int64(token[index] - UInt8(ascii: "0"))
                if scale > 0 {
                    milliseconds += digit * scale
                    scale /= 10
                } else if first {
                    roundUp = digit >= 5
                    first = false
                }
                digits += 1
                index += 1
            }
        }
        if plain, digits > 0, index == token.count, whole < Int64.max / 1000 - 1 {
            let total = whole * 1000 + milliseconds + (roundUp ? 1 : 0)
            return negative ? -total : total
        }
        guard let seconds = FloatParser.parse(token), seconds.isFinite, abs(seconds) < 9.2e15 else { return nil }
        return Int64((seconds * 1000).rounded())
    }
}
