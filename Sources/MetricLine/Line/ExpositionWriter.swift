/// Writes samples as canonical Prometheus text exposition lines: labels sorted by name, shortest
/// round-trip numbers, integers without `.0`, timestamps in milliseconds, the staleness marker as
/// `stale`. The same sample always gives the same bytes.
public enum ExpositionWriter {
    /// Appends `name{labels}` in canonical form. Names outside Prometheus's legacy character set are
    /// written in the quoted form of text format 1.0.0: `{"my.metric","my.label"="v"}`.
    public static func appendSeriesKey(name: String, labels: [Label], to output: inout [UInt8]) {
        let bareName = Names.isLegacyMetricName(name)
        if bareName { output.append(contentsOf: name.utf8) }
        if labels.isEmpty && bareName { return }
        output.append(UInt8(ascii: "{"))
        var needsComma = false
        if !bareName {
            appendQuoted(name, to: &output)
            needsComma = true
        }
        for label in labels {
            if needsComma { output.append(UInt8(ascii: ",")) }
            needsComma = true
            if Names.isLegacyLabelName(label.name) {
                output.append(contentsOf: label.name.utf8)
            } else {
                appendQuoted(label.name, to: &output)
            }
            output.append(UInt8(ascii: "="))
            appendQuoted(label.value, to: &output)
        }
        output.append(UInt8(ascii: "}"))
    }

    /// Appends `text` in double quotes, escaping backslash, double quote and line feed.
    public static func appendQuoted(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\")); output.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\""): output.append(UInt8(ascii: "\\")); output.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\n"): output.append(UInt8(ascii: "\\")); output.append(UInt8(ascii: "n"))
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Appends a sample value: canonical number text, or `stale` for the staleness marker.
    @inlinable
    public static func appendValue(_ value: Double, to output: inout [UInt8]) {
        if value.bitPattern == StaleMarker.bitPattern {
            output.append(contentsOf: [0x73, 0x74, 0x61, 0x6C, 0x65])  // stale
        } else {
            FloatFormatter.append(value, to: &output)
        }
    }

    /// Writes a sample value as `appendValue` does at `destination`, which has room for
    /// `FloatFormatter.longest` bytes; returns how many it wrote.
    @inline(__always)
    public static func writeValue(_ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        guard value.bitPattern == StaleMarker.bitPattern else { return FloatFormatter.write(value, to: destination) }
        destination.update(from: [0x73, 0x74, 0x61, 0x6C, 0x65], count: 5)  // stale
        return 5
    }

    /// Appends ` value[ timestamp]\n`, the part of a line after the series key.
    @inlinable
    public static func appendValueAndTimestamp(_ value: Double, _ timestamp: Int64?, to output: inout [UInt8]) {
        output.append(UInt8(ascii: " "))
        appendValue(value, to: &output)
        if let timestamp {
            output.append(UInt8(ascii: " "))
            IntegerFormatter.append(timestamp, to: &output)
        }
        output.append(UInt8(ascii: "\n"))
    }

    /// Appends the whole canonical line for `sample`, newline included.
    public static func append(_ sample: Sample, to output: inout [UInt8]) {
        appendSeriesKey(name: sample.name, labels: sample.labels, to: &output)
        appendValueAndTimestamp(sample.value, sample.timestamp, to: &output)
    }

    /// `name{labels}` in canonical form, as a text: the key that tells a series apart.
    public static func seriesKey(name: String, labels: [Label]) -> String {
        var bytes: [UInt8] = []
        appendSeriesKey(name: name, labels: labels, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The canonical line for `sample`, without the newline.
    public static func line(_ sample: Sample) -> String {
        var bytes: [UInt8] = []
        append(sample, to: &bytes)
        bytes.removeLast()
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `# HELP name text` with `\\` and `\n` escaped, newline included.
    public static func appendHelp(metric: String, text: String, to output: inout [UInt8]) {
        output.append(contentsOf: "# HELP ".utf8)
        appendMetadataName(metric, to: &output)
        output.append(UInt8(ascii: " "))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
            case UInt8(ascii: "\n"): output.append(contentsOf: [0x5C, 0x6E])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\n"))
    }

    /// Appends `# TYPE name type`, newline included.
    public static func appendType(metric: String, type: MetricType, to output: inout [UInt8]) {
        output.append(contentsOf: "# TYPE ".utf8)
        appendMetadataName(metric, to: &output)
        output.append(UInt8(ascii: " "))
        output.append(contentsOf: type.rawValue.utf8)
        output.append(UInt8(ascii: "\n"))
    }

    private static func appendMetadataName(_ metric: String, to output: inout [UInt8]) {
        if Names.isLegacyMetricName(metric) { output.append(contentsOf: metric.utf8) } else { appendQuoted(metric, to: &output) }
    }
}
