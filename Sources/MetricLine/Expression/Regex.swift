/// Regular expressions in Go's syntax (RE2), as Prometheus uses them. Selectors' `=~` and `!~` and
/// `label_replace` match the whole text, as Prometheus's `^(?s:pattern)$` does (so `.` matches a
/// newline too); templates' `match` and `reReplaceAll` search anywhere in it, as regexp.Compile does.
///
/// A pattern is parsed (`RegexParser`), compiled and run as a Pike VM (`RegexProgram`), so matching
/// takes time linear in the text whatever the pattern. Limits on nesting and on the program's size
/// keep any pattern from exhausting the stack or the memory, and bound the work per scalar of text;
/// searches can also be given a limit on their steps.
public final class Regex: Sendable {
    /// A pattern that does not compile: Go's description (missing closing ): `a(b`) and the
    /// 1-based position, in scalars, of the construct at fault.
    public struct SyntaxError: Error, Sendable {
        public var message: String
        public var position: Int
    }

    /// A search that needed more steps than it was allowed.
    public struct StepLimitExceeded: Error, Sendable {}

    /// Where a search matched: index 0 is the whole match, index n group n (nil when it took no part).
    public struct Match: Sendable {
        public let ranges: [Range<String.Index>?]
    }

    public let pattern: String
    /// How many capturing groups the pattern has (group 0, the whole match, is not counted).
    public let groupCount: Int
    /// Named groups (`(?P<name>…)` or `(?<name>…)`) by name; the first when a name repeats.
    public let groupNames: [String: Int]
    /// Group names by number, nil for unnamed groups (Go's SubexpNames).
    private let names: [String?]
    private let program: RegexProgram
    /// When a whole-text pattern is plain text, matching is a comparison.
    private let literal: String?

    /// Compiles `pattern` for PromQL: it must match the whole text, as `^(?s:pattern)$` in Prometheus.
    public convenience init(_ pattern: String) throws(SyntaxError) {
        try self.init(pattern, wholeText: true)
    }

    /// Compiles `pattern` as Go's regexp.Compile does: it matches anywhere in a text.
    public convenience init(searching pattern: String) throws(SyntaxError) {
        try self.init(pattern, wholeText: false)
    }

    private init(_ pattern: String, wholeText: Bool) throws(SyntaxError) {
        self.pattern = pattern
        // Parsing the pattern on its own, rather than the text "^(?s:" + pattern + ")$", keeps
        // positions in the user's pattern and a stray `)` an error.
        var parser = RegexParser(Array(pattern.unicodeScalars), flags: RegexParser.Flags(dotMatchesNewline: wholeText))
        var tree = try parser.parse()
        literal = wholeText ? tree.literalText : nil
        if wholeText { tree = .concatenation([.assertion(.beginText), tree, .assertion(.endText)]) }
        guard let program = RegexProgram(tree, classes: parser.classes, groups: parser.names.count - 1, anchored: wholeText) else {
            throw RegexParser.error("expression too large", quoting: pattern, at: 0)
        }
        self.program = program
        names = parser.names
        groupCount = parser.names.count - 1
        var byName: [String: Int] = [:]
        for (number, name) in parser.names.enumerated() {
            if let name, byName[name] == nil { byName[name] = number }
        }
        groupNames = byName
    }

    /// Whether the pattern matches `text`: all of it for PromQL, anywhere in it for a search pattern.
    /// The work is bounded by the text's length times the program's size.
    public func matches(_ text: String) -> Bool {
        if let literal { return Regex.same(text, literal) }
        var machine = RegexMachine(program, steps: .max)
        return (try? machine.search(Array(text.unicodeScalars), from: 0, captures: false)) != nil
    }

    /// Whether the pattern matches `text`, giving up after `stepLimit` steps.
    public func matches(_ text: String, stepLimit: Int) throws(StepLimitExceeded) -> Bool {
        if let literal { return Regex.same(text, literal) }
        var machine = RegexMachine(program, steps: stepLimit)
        return try machine.search(Array(text.unicodeScalars), from: 0, captures: false) != nil
    }

    /// The groups of the first match (index 0 is the whole match; nil for a group that took no
    /// part), with Go's preference among alternatives and repetitions; nil when nothing matches.
    public func captures(_ text: String) -> [String?]? {
        let scalars = Array(text.unicodeScalars)
        var machine = RegexMachine(program, steps: .max)
        guard let slots = try? machine.search(scalars, from: 0, captures: true) else { return nil }
        return (0...groupCount).map { group in
            guard let range = Regex.range(of: group, in: slots) else { return nil }
            return String(String.UnicodeScalarView(scalars[range]))
        }
    }

    /// The first match in `text`, giving up after `stepLimit` steps.
    public func firstMatch(in text: String, stepLimit: Int = .max) throws(StepLimitExceeded) -> Match? {
        let scalars = text.unicodeScalars
        var machine = RegexMachine(program, steps: stepLimit)
        guard let slots = try machine.search(Array(scalars), from: 0, captures: true) else { return nil }
        let indices = Array(scalars.indices) + [scalars.endIndex]
        return Match(ranges: (0...groupCount).map { group in
            Regex.range(of: group, in: slots).map { indices[$0.lowerBound]..<indices[$0.upperBound] }
        })
    }

    /// Go's ReplaceAllString: every match in `text` replaced by `template` expanded as `expand` does;
    /// an empty match right after a match is left alone. Gives up after `stepLimit` steps in all.
    public func replacingAll(in text: String, with template: String, stepLimit: Int = .max) throws(StepLimitExceeded) -> String {
        let scalars = Array(text.unicodeScalars)
        let templateScalars = Array(template.unicodeScalars)
        var machine = RegexMachine(program, steps: stepLimit)
        var output = String.UnicodeScalarView()
        var lastMatchEnd = 0
        var searchPosition = 0
        while searchPosition <= scalars.count, let slots = try machine.search(scalars, from: searchPosition, captures: true) {
            output.append(contentsOf: scalars[lastMatchEnd..<slots[0]])
            if slots[1] > lastMatchEnd || slots[0] == 0 {
                expand(templateScalars, into: &output) { group, output in
                    guard let range = Regex.range(of: group, in: slots) else { return false }
                    output.append(contentsOf: scalars[range])
                    return true
                }
            }
            lastMatchEnd = slots[1]
            // Always move on, by at least one scalar.
            searchPosition = max(searchPosition + 1, slots[1])
        }
        output.append(contentsOf: scalars[lastMatchEnd...])
        return String(output)
    }

    /// Go's Regexp.Expand: `template` with `$1`, `${1}`, `$name` and `${name}` replaced by those of
    /// `groups` (as `captures` gives them; nothing for a group that is missing or took no part) and
    /// `$$` by `$`. A `$` that starts no reference stays as it is.
    public func expand(_ template: String, groups: [String?]) -> String {
        var output = String.UnicodeScalarView()
        expand(Array(template.unicodeScalars), into: &output) { group, output in
            guard group < groups.count, let text = groups[group] else { return false }
            output.append(contentsOf: text.unicodeScalars)
            return true
        }
        return String(output)
    }

    /// Expands `template`; `append` adds group n's text and says whether the group took part.
    private func expand(_ template: [Unicode.Scalar], into output: inout String.UnicodeScalarView,
                        _ append: (Int, inout String.UnicodeScalarView) -> Bool) {
        var index = 0
        while index < template.count {
            guard template[index] == "$" else {
                output.append(template[index])
                index += 1
                continue
            }
            index += 1
            if index < template.count && template[index] == "$" {
                output.append("$")
                index += 1
                continue
            }
            guard let (name, end) = Regex.reference(in: template, at: index) else {
                output.append("$")
                continue
            }
            index = end
            if let number = Regex.groupNumber(name) {
                _ = append(number, &output)
            } else {
                for (number, candidate) in names.enumerated() where candidate == name {
                    if append(number, &output) { break }
                }
            }
        }
    }

    /// Go's extract: the name after a `$`, bare or in braces, and where the reference ends.
    private static func reference(in template: [Unicode.Scalar], at start: Int) -> (String, Int)? {
        var index = start
        let braced = index < template.count && template[index] == "{"
        if braced { index += 1 }
        let nameStart = index
        while index < template.count && isNameScalar(template[index]) { index += 1 }
        guard index > nameStart else { return nil }
        let name = String(String.UnicodeScalarView(template[nameStart..<index]))
        if braced {
            guard index < template.count && template[index] == "}" else { return nil }
            index += 1
        }
        return (name, index)
    }

    /// A letter, a decimal digit or `_`, as Go's Expand reads names.
    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber: true
        default: scalar == "_"
        }
    }

    /// The group a name of ASCII digits refers to, as Go reads it (no leading zero, under 10 digits).
    private static func groupNumber(_ name: String) -> Int? {
        guard !(name.hasPrefix("0") && name.utf8.count > 1) else { return nil }
        var number = 0
        for byte in name.utf8 {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") && number < 100_000_000 else { return nil }
            number = number * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return number
    }

    /// Whether two strings hold the same scalars: `==` alone would also take canonically
    /// equivalent ones (e and a combining accent for é), which a pattern does not match.
    private static func same(_ text: String, _ literal: String) -> Bool {
        text == literal && text.utf8.elementsEqual(literal.utf8)
    }

    /// The scalars group n matched, from a search's capture slots; nil when it took no part.
    private static func range(of group: Int, in slots: [Int]) -> Range<Int>? {
        guard 2 * group + 1 < slots.count else { return nil }
        let start = slots[2 * group], end = slots[2 * group + 1]
        guard start >= 0 && end >= start else { return nil }
        return start..<end
    }
}
