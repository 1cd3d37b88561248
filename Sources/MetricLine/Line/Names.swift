/// The naming rules of Prometheus: which metric and label names can be written bare.
public enum Names {
    /// `[a-zA-Z_:]`
    @inlinable
    static func isMetricNameStart(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
    }

    /// `[a-zA-Z0-9_:]`
    @inlinable
    static func isMetricNameByte(_ byte: UInt8) -> Bool {
        isMetricNameStart(byte) || byte &- UInt8(ascii: "0") < 10
    }

    /// `[a-zA-Z_]`
    @inlinable
    static func isLabelNameStart(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte == UInt8(ascii: "_")
    }

    /// `[a-zA-Z0-9_]`
    @inlinable
    static func isLabelNameByte(_ byte: UInt8) -> Bool {
        isLabelNameStart(byte) || byte &- UInt8(ascii: "0") < 10
    }

    /// Whether `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*` and so needs no quotes.
    public static func isLegacyMetricName(_ name: String) -> Bool {
        var iterator = name.utf8.makeIterator()
        guard let first = iterator.next(), isMetricNameStart(first) else { return false }
        while let byte = iterator.next() {
            if !isMetricNameByte(byte) { return false }
        }
        return true
    }

    /// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*` and so needs no quotes.
    public static func isLegacyLabelName(_ name: String) -> Bool {
        var iterator = name.utf8.makeIterator()
        guard let first = iterator.next(), isLabelNameStart(first) else { return false }
        while let byte = iterator.next() {
            if !isLabelNameByte(byte) { return false }
        }
        return true
    }

    /// `name` with every byte outside `[a-zA-Z0-9_:]` replaced by `_` (and a leading digit prefixed),
    /// for formats whose names are freer than Prometheus's (Graphite paths, Influx measurements).
    public static func sanitizedMetricName(_ name: String) -> String {
        var bytes = Array(name.utf8)
        if bytes.isEmpty { return "_" }
        for index in bytes.indices where !isMetricNameByte(bytes[index]) { bytes[index] = UInt8(ascii: "_") }
        if !isMetricNameStart(bytes[0]) { bytes.insert(UInt8(ascii: "_"), at: 0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `name` made into a legacy label name in the same way.
    public static func sanitizedLabelName(_ name: String) -> String {
        var bytes = Array(name.utf8)
        if bytes.isEmpty { return "_" }
        for index in bytes.indices where !isLabelNameByte(bytes[index]) { bytes[index] = UInt8(ascii: "_") }
        if !isLabelNameStart(bytes[0]) { bytes.insert(UInt8(ascii: "_"), at: 0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
