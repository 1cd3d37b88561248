/// One sample reduced to numbers: its series in a `SeriesTable`, value and timestamp.
public struct DecodedSample: Equatable, Sendable {
    public var series: SeriesID
    public var value: Double
    /// Milliseconds since the epoch; nil when the line had none.
    public var timestamp: Int64?

    /// Equal when the bits of the values are equal, as for `Sample`.
    public static func == (lhs: DecodedSample, rhs: DecodedSample) -> Bool {
        lhs.series == rhs.series && lhs.value.bitPattern == rhs.value.bitPattern && lhs.timestamp == rhs.timestamp
    }
}

/// What `SampleDecoder` made of a line.
public enum DecodedLine: Equatable, Sendable {
    case sample(DecodedSample)
    /// `# HELP`, `# TYPE`, another comment or a blank line, as the full parser read it.
    case other(ExpositionLine)
}

/// Turns sample lines into (series, value, timestamp) at millions of lines a second.
///
/// The fast path splits a line from its end (the value and timestamp are always the last two
/// fields and contain no blanks), and looks up the remaining bytes in the series table. Only a
/// spelling the table has never seen goes through the full parser, which then registers it.
public struct SampleDecoder {
    public let series: SeriesTable

    public init(series: SeriesTable = SeriesTable()) {
        self.series = series
    }

    /// Decodes one line (without its newline).
    @inlinable
    public func decode(_ line: UnsafeBufferPointer<UInt8>) throws(LineError) -> DecodedLine {
        if let fast = decodeKnown(line) { return .sample(fast) }
        return try decodeNew(line)
    }

    /// The fast path: nil unless the key's exact bytes are already in the table and the value
    /// (and timestamp) tokens parse.
    @usableFromInline
    func decodeKnown(_ line: UnsafeBufferPointer<UInt8>) -> DecodedSample? {
        var end = line.count
        if end > 0 && line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        while end > 0 && isBlank(line[end - 1]) { end -= 1 }
        var lastStart = end
        while lastStart > 0 && !isBlank(line[lastStart - 1]) { lastStart -= 1 }
        var beforeLast = lastStart
        while beforeLast > 0 && isBlank(line[beforeLast - 1]) { beforeLast -= 1 }
        guard beforeLast > 0, beforeLast < lastStart else { return nil }
        var start = 0
        while start < beforeLast && isBlank(line[start]) { start += 1 }
        let last = UnsafeBufferPointer(rebasing: line[lastStart..<end])

        // Key, value, timestamp.
        var secondStart = beforeLast
        while secondStart > 0 && !isBlank(line[secondStart - 1]) { secondStart -= 1 }
        var keyEnd = secondStart
        while keyEnd > 0 && isBlank(line[keyEnd - 1]) { keyEnd -= 1 }
        if keyEnd > start, keyEnd < secondStart,
           let id = series.lookup(UnsafeBufferPointer(rebasing: line[start..<keyEnd])),
           let value = ExpositionParser.parseValue(UnsafeBufferPointer(rebasing: line[secondStart..<beforeLast])),
           let timestamp = IntegerParser.parseInt64(last) {
            return DecodedSample(series: id, value: value, timestamp: timestamp)
        }
        // Key and value.
        if let id = series.lookup(UnsafeBufferPointer(rebasing: line[start..<beforeLast])),
           let value = ExpositionParser.parseValue(last) {
            return DecodedSample(series: id, value: value, timestamp: nil)
        }
        return nil
    }

    /// The slow path: the full parser, then the key's spelling is registered for next time.
    @usableFromInline
    func decodeNew(_ line: UnsafeBufferPointer<UInt8>) throws(LineError) -> DecodedLine {
        var cursor = Cursor(line)
        cursor.skipBlanks()
        if cursor.atEnd || cursor.peek == UInt8(ascii: "#") {
            return .other(try ExpositionParser.parse(line))
        }
        let keyStart = cursor.index
        let key = try ExpositionParser.parseSeriesKey(&cursor)
        var keyEnd = cursor.index
        while keyEnd > keyStart && isBlank(line[keyEnd - 1]) { keyEnd -= 1 }
        let (value, timestamp) = try ExpositionParser.parseValueAndTimestamp(&cursor)
        let id = series.intern(key, spelling: UnsafeBufferPointer(rebasing: line[keyStart..<keyEnd]))
        return .sample(DecodedSample(series: id, value: value, timestamp: timestamp))
    }

    @inline(__always) @usableFromInline
    func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
}
