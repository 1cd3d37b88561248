/// One condition of a series selector: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`.
/// The metric name is matched as the label `__name__`.
public struct LabelMatcher: Sendable, Equatable {
    public enum Operation: String, Sendable {
        case equal = "=", notEqual = "!=", matchesRegex = "=~", notMatchesRegex = "!~"
    }

    public let name: String
    public let operation: Operation
    public let value: String
    /// The compiled pattern of `=~` and `!~`.
    private let regex: Regex?

    /// A matcher; throws when a regular expression does not parse.
    public init(_ name: String, _ operation: Operation, _ value: String) throws(Regex.SyntaxError) {
        self.name = name
        self.operation = operation
        self.value = value
        regex = operation == .matchesRegex || operation == .notMatchesRegex ? try Regex(value) : nil
    }

    /// `name="value"`, which has no pattern to fail.
    public static func equal(_ name: String, _ value: String) -> LabelMatcher {
        try! LabelMatcher(name, .equal, value)
    }

    public static func == (lhs: LabelMatcher, rhs: LabelMatcher) -> Bool {
        lhs.name == rhs.name && lhs.operation == rhs.operation && lhs.value == rhs.value
    }

    /// Whether a label value (empty when the label is absent) satisfies this matcher.
    public func matches(_ labelValue: String) -> Bool {
        switch operation {
        case .equal: labelValue == value
        case .notEqual: labelValue != value
        case .matchesRegex: regex!.matches(labelValue)
        case .notMatchesRegex: !regex!.matches(labelValue)
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
            matchers.append(.equal(Segment.nameLabel, cursor.string(from: start)))
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
                cursor.skipBlanks()
                guard !cursor.atEnd, cursor.peek == UInt8(ascii: "\"") else { throw LineError("expected a quoted value", column: cursor.column) }
                let valueColumn = cursor.column
                let value = try ExpositionParser.parseQuoted(&cursor)
                do {
                    matchers.append(try LabelMatcher(name, operation, value))
                } catch {
                    throw LineError("bad regular expression: \(error.message) at position \(error.position)", column: valueColumn)
                }
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
