/// The notation of Prometheus's test files and rule unit tests for series and their values:
/// `http_requests{job="api"} 0+10x10 _ stale 5x3` (see PROMQL_TEST_FORMAT.md, section 4).
public enum SeriesNotation {
    /// One item of a value list: a number, a gap, or a staleness marker.
    public enum Value: Equatable, Sendable {
        case number(Double)
        case gap
        case stale

        public static func == (lhs: Value, rhs: Value) -> Bool {
            switch (lhs, rhs) {
            case (.number(let a), .number(let b)): a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)
            case (.gap, .gap), (.stale, .stale): true
            default: false
            }
        }
    }

    /// Parses `name{labels}` (quotes `"`, `'` or `` ` ``); returns the label set and the rest of the line.
    public static func parseSeries(_ text: Substring) throws(QueryError) -> (LabelSet, Substring) {
        // The description ends at the first blank outside braces and quotes.
        var depth = 0
        var quote: Character?
        var escaped = false
        var end = text.startIndex
        while end < text.endIndex {
            let character = text[end]
            if let open = quote {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == open { quote = nil }
            } else if character == "\"" || character == "'" || character == "`" {
                quote = character
            } else if character == "{" {
                depth += 1
            } else if character == "}" {
                depth -= 1
            } else if (character == " " || character == "\t") && depth == 0 {
                break
            }
            end = text.index(after: end)
        }
        let description = String(text[text.startIndex..<end])
        if description.filter({ $0 != " " }) == "{}" { return ([], text[end...]) }
        let expression = try Parser.parse(description)
        guard case .vector(let selector) = expression else { throw QueryError("not a series description: \(description)") }
        var labels: LabelSet = []
        for matcher in selector.matchers {
            guard matcher.operation == .equal else { throw QueryError("series descriptions take only '=': \(description)") }
            labels = labels.setting(matcher.name, matcher.value)
        }
        return (labels, text[end...])
    }

    /// Expands a value list into one value per step.
    public static func parseValues(_ text: Substring) throws(QueryError) -> [Value] {
        var values: [Value] = []
        for item in text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            if item == "_" { values.append(.gap); continue }
            if item == "stale" { values.append(.stale); continue }
            if item.hasPrefix("{{") { throw QueryError("native histograms are not supported") }
            if item.hasPrefix("_x") {
                guard let count = Int(item.dropFirst(2)) else { throw QueryError("bad value '\(item)'") }
                values += repeatElement(.gap, count: count)
                continue
            }
            guard let x = item.lastIndex(of: "x") else {
                values.append(.number(try number(item)))
                continue
            }
            guard let count = Int(item[item.index(after: x)...]) else { throw QueryError("bad value '\(item)'") }
            let body = item[..<x]
            // A+BxN or A-BxN: the operator is the first '+' or '-' after the first character.
            var split: Substring.Index?
            var index = body.index(after: body.startIndex)
            while index < body.endIndex {
                if (body[index] == "+" || body[index] == "-") && body[body.index(before: index)] != "e" && body[body.index(before: index)] != "E" {
                    split = index
                    break
                }
                index = body.index(after: index)
            }
            if let split {
                let start = try number(body[..<split])
                var increment = try number(body[body.index(after: split)...])
                if body[split] == "-" { increment = -increment }
                var value = start
                for _ in 0...count {
                    values.append(.number(value))
                    value += increment
                }
            } else {
                let value = try number(body)
                values += repeatElement(.number(value), count: count + 1)
            }
        }
        return values
    }

    private static func number(_ text: Substring) throws(QueryError) -> Double {
        var copy = String(text)
        guard let value = copy.withUTF8({ FloatParser.parse($0) }) else { throw QueryError("bad number '\(text)'") }
        return value
    }
}
