/// Alertmanager's matcher syntax, as routes, inhibition rules and silences write it:
/// `severity="page"`, `team=~"db|web"`, `env!=dev` (values may be unquoted), or several in braces
/// `{alertname="DiskFull", severity=~"warn|page"}`. Regular expressions match the whole value.
public enum AlertMatchers {
    /// The matchers of one entry; throws with a plain message when it does not parse.
    public static func parse(_ text: String) throws(NotifyError) -> [LabelMatcher] {
        var rest = Substring(text).blanksTrimmed
        if rest.first == "{" {
            guard rest.last == "}" else { throw NotifyError("matcher \"\(text)\": '{' without '}'") }
            rest = rest.dropFirst().dropLast().blanksTrimmed
        }
        var matchers: [LabelMatcher] = []
        while !rest.isEmpty {
            matchers.append(try one(&rest, in: text))
            rest = rest.blanksTrimmed
            if rest.first == "," { rest = rest.dropFirst().blanksTrimmed } else if !rest.isEmpty {
                throw NotifyError("matcher \"\(text)\": expected ',' before \"\(rest)\"")
            }
        }
        guard !matchers.isEmpty else { throw NotifyError("matcher \"\(text)\" is empty") }
        return matchers
    }

    /// `name op value` at the start of `rest`.
    private static func one(_ rest: inout Substring, in text: String) throws(NotifyError) -> LabelMatcher {
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        guard !name.isEmpty, name.first.map({ !$0.isNumber }) ?? false else {
            throw NotifyError("matcher \"\(text)\": expected a label name at \"\(rest)\"")
        }
        rest = rest.dropFirst(name.count).blanksTrimmed
        let operation: LabelMatcher.Operation
        if rest.hasPrefix("=~") { operation = .matchesRegex } else if rest.hasPrefix("!~") { operation = .notMatchesRegex } else if rest.hasPrefix("!=") { operation = .notEqual } else if rest.hasPrefix("=") { operation = .equal } else {
            throw NotifyError("matcher \"\(text)\": expected =, !=, =~ or !~ after \"\(name)\"")
        }
        rest = rest.dropFirst(operation.rawValue.count).blanksTrimmed
        var value = ""
        if rest.first == "\"" {
            rest = rest.dropFirst()
            var escaped = false
            var closed = false
            while let character = rest.first {
                rest = rest.dropFirst()
                if escaped {
                    value.append(character == "n" ? "\n" : character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    closed = true
                    break
                } else {
                    value.append(character)
                }
            }
            guard closed else { throw NotifyError("matcher \"\(text)\": unterminated quoted value") }
        } else {
            let bare = rest.prefix { $0 != "," && $0 != "}" }
            value = String(bare).trimmingBlanks
            guard !value.contains(where: { $0 == "=" || $0 == "~" || $0 == "\"" }) else {
                throw NotifyError("matcher \"\(text)\": quote a value with =, ~ or \" in it (or separate matchers with commas)")
            }
            rest = rest.dropFirst(bare.count)
        }
        do { return try LabelMatcher(String(name), operation, value) } catch {
            throw NotifyError("matcher \"\(text)\": bad regular expression: \(error.message)")
        }
    }

    /// `name=value` pairs separated by commas (`mnotify routes --labels`), into a label set.
    public static func labels(_ text: String) throws(NotifyError) -> LabelSet {
        var labels: LabelSet = []
        for matcher in try parse(text) {
            guard matcher.operation == .equal else { throw NotifyError("labels \"\(text)\": use name=value, not \(matcher.operation.rawValue)") }
            labels = labels.setting(matcher.name, matcher.value)
        }
        return labels
    }

    /// Whether every matcher holds for `labels`.
    public static func matches(_ matchers: [LabelMatcher], _ labels: LabelSet) -> Bool {
        matchers.allSatisfy { $0.matches(labels.value(of: $0.name)) }
    }
}

extension Substring {
    /// Without blanks at either end, still a slice of the same text.
    fileprivate var blanksTrimmed: Substring { Substring(String(self).trimmingBlanks) }
}

extension LabelMatcher: CustomStringConvertible {
    /// `name="value"`, as Alertmanager prints matchers.
    public var description: String {
        var bytes = Array(name.utf8) + Array(operation.rawValue.utf8)
        ExpositionWriter.appendQuoted(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
