/// One condition of a series selector: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`.
/// The metric name is matched as the label `__name__`.
public struct LabelMatcher: Sendable, Equatable {
    public enum Operation: String, Sendable {
        case equal = "=", notEqual = "!=", matchesRegex = "=~", notMatchesRegex = "!~"
    }

    public var name: String
    public var operation: Operation
    public var value: String

    public init(_ name: String, _ operation: Operation, _ value: String) {
        self.name = name
        self.operation = operation
        self.value = value
    }

    /// Whether a label value (empty when the label is absent) satisfies this matcher.
    public func matches(_ labelValue: String) -> Bool {
        switch operation {
        case .equal: labelValue == value
        case .notEqual: labelValue != value
        // Regular expressions arrive with the query engine; the selector parser refuses them until then.
        case .matchesRegex, .notMatchesRegex: false
        }
    }

    /// Whether a series satisfies this matcher.
    public func matches(_ key: ExpositionParser.SeriesKey) -> Bool {
        matches(name == Segment.nameLabel ? key.name : (key.labels.first { $0.name == name }?.value ?? ""))
    }
}

/// Parses series selectors: `name`, `name{l="v",...}`, `{l="v",...}`.
public enum SelectorParser {
    /// The matchers of `text`, or an error with the column where it went wrong.
    public static func parse(_ text: String) throws(LineError) -> [LabelMatcher] {
        var copy = text
        let result = copy.withUTF8 { bytes in Result { () throws(LineError) -> [LabelMatcher] in try parse(bytes) } }
        return try result.get()
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(LineError) -> [LabelMatcher] {
        var cursor = Cursor(bytes)
        var matchers: [LabelMatcher] = []
        cursor.skipBlanks()
        if !cursor.atEnd && Names.isMetricNameStart(cursor.peek) {
            let start = cursor.index
            while !cursor.atEnd && Names.isMetricNameByte(cursor.peek) { cursor.index += 1 }
            matchers.append(LabelMatcher(Segment.nameLabel, .equal, cursor.string(from: start)))
            cursor.skipBlanks()
        }
        if !cursor.atEnd && cursor.peek == UInt8(ascii: "{") {
            cursor.index += 1
            while true {
                cursor.skipBlanks()
                guard !cursor.atEnd else { throw LineError("missing '}'", column: cursor.column) }
                if cursor.peek == UInt8(ascii: "}") {
                    cursor.index += 1
                    break
                }
                let name: String
                if cursor.peek == UInt8(ascii: "\"") {
                    name = try ExpositionParser.parseQuoted(&cursor)
                } else {
                    guard Names.isLabelNameStart(cursor.peek) else { throw LineError("expected a label name", column: cursor.column) }
                    let start = cursor.index
                    while !cursor.atEnd && Names.isLabelNameByte(cursor.peek) { cursor.index += 1 }
                    name = cursor.string(from: start)
                }
                cursor.skipBlanks()
                let operationColumn = cursor.column
                var operation: LabelMatcher.Operation?
                for candidate in [LabelMatcher.Operation.notMatchesRegex, .matchesRegex, .notEqual, .equal] {
                    let spelling = Array(candidate.rawValue.utf8)
                    if cursor.end - cursor.index >= spelling.count,
                       UnsafeBufferPointer(rebasing: cursor.bytes[cursor.index..<(cursor.index + spelling.count)]).elementsEqual(spelling) {
                        operation = candidate
                        cursor.index += spelling.count
                        break
                    }
                }
                guard let operation else { throw LineError("expected =, !=, =~ or !~", column: operationColumn) }
                if operation == .matchesRegex || operation == .notMatchesRegex {
                    throw LineError("regular-expression matchers (=~, !~) are not supported yet", column: operationColumn)
                }
                cursor.skipBlanks()
                guard !cursor.atEnd, cursor.peek == UInt8(ascii: "\"") else { throw LineError("expected a quoted value", column: cursor.column) }
                matchers.append(LabelMatcher(name, operation, try ExpositionParser.parseQuoted(&cursor)))
                cursor.skipBlanks()
                if !cursor.atEnd && cursor.peek == UInt8(ascii: ",") { cursor.index += 1 }
            }
        }
        cursor.skipBlanks()
        guard cursor.atEnd else { throw LineError("unexpected text in selector", column: cursor.column) }
        guard !matchers.isEmpty else { throw LineError("empty selector", column: 1) }
        return matchers
    }
}
