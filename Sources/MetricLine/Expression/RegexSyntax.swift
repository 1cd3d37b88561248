/// A test of the text on either side of a position, consuming nothing: `^ $ \A \z \b \B`.
enum RegexAssertion: Sendable {
    case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary

    /// Whether the assertion holds between `text[position - 1]` and `text[position]`.
    func holds(at position: Int, in text: [Unicode.Scalar]) -> Bool {
        let before: Unicode.Scalar? = position > 0 ? text[position - 1] : nil
        let after: Unicode.Scalar? = position < text.count ? text[position] : nil
        switch self {
        case .beginText: return before == nil
        case .endText: return after == nil
        case .beginLine: return before == nil || before == "\n"
        case .endLine: return after == nil || after == "\n"
        case .wordBoundary: return RegexAssertion.isWord(before) != RegexAssertion.isWord(after)
        case .notWordBoundary: return RegexAssertion.isWord(before) == RegexAssertion.isWord(after)
        }
    }

    /// `\w` as `\b` sees it: ASCII letters, digits and `_`.
    private static func isWord(_ scalar: Unicode.Scalar?) -> Bool {
        guard let scalar, scalar.isASCII else { return false }
        return scalar == "_" || RegexParser.isAlphaNumeric(scalar)
    }
}

/// A bracketed class, a `\d`-style class or a `\p{..}` class.
struct RegexClass: Sendable {
    enum Item: Sendable {
        case range(UInt32, UInt32)
        /// Anything outside the ranges: a negated class such as `\D` inside brackets.
        case outside([ClosedRange<UInt32>])
        case categories([Unicode.GeneralCategory], negated: Bool)
        case any
    }

    var items: [Item]
    var negated: Bool
    /// Whether `(?i)` was in force: a scalar also matches when its other case does.
    var folded: Bool

    /// One item that matches what `items` (from one escape or POSIX class) do not.
    static func complement(_ items: [Item]) -> [Item] {
        var ranges: [ClosedRange<UInt32>] = []
        for item in items {
            switch item {
            case .range(let low, let high): ranges.append(low...high)
            case .categories(let categories, let negated): return [.categories(categories, negated: !negated)]
            case .outside, .any: return []
            }
        }
        return [.outside(ranges)]
    }

    func matches(_ scalar: Unicode.Scalar) -> Bool {
        var hit = contains(scalar)
        if !hit && folded {
            hit = [scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping].contains { mapping in
                let scalars = mapping.unicodeScalars
                return scalars.count == 1 && contains(scalars[scalars.startIndex])
            }
        }
        return hit != negated
    }

    private func contains(_ scalar: Unicode.Scalar) -> Bool {
        items.contains { item in
            switch item {
            case .range(let low, let high): low <= scalar.value && scalar.value <= high
            case .outside(let ranges): !ranges.contains { $0.contains(scalar.value) }
            case .categories(let categories, let negated): categories.contains(scalar.properties.generalCategory) != negated
            case .any: true
            }
        }
    }
}

/// A parsed pattern.
indirect enum RegexNode: Sendable {
    case empty
    case scalar(UInt32, folded: Bool)
    /// A class, by its index in the parser's `classes`.
    case set(Int)
    case any(newline: Bool)
    case assertion(RegexAssertion)
    case concatenation([RegexNode])
    case alternation([RegexNode])
    /// `*`, `+`, `?` and `{n,m}`; a nil maximum is unbounded.
    case repetition(RegexNode, minimum: Int, maximum: Int?, greedy: Bool)
    /// A capturing group, numbered from 1.
    case capture(Int, RegexNode)

    /// The text a pattern of plain, case-sensitive characters stands for (groups ignored), or nil.
    var literalText: String? {
        switch self {
        case .empty: return ""
        case .scalar(let value, folded: false): return Unicode.Scalar(value).map { String(Character($0)) }
        case .capture(_, let inner): return inner.literalText
        case .concatenation(let items):
            var text = ""
            for item in items {
                guard let piece = item.literalText else { return nil }
                text += piece
            }
            return text
        default: return nil
        }
    }
}

/// Parses Go's regexp syntax (RE2 with Go's Perl flags) into a `RegexNode`, and fails as Go does:
/// the same conditions and words (`missing closing ): `a(b``), with the position of the construct
/// at fault. Nesting is limited so that no pattern can exhaust the stack.
struct RegexParser {
    /// The flags `(?imsU)` set.
    struct Flags {
        var caseInsensitive = false
        var multiLine = false
        var dotMatchesNewline = false
        var ungreedy = false
    }

    /// Groups within groups. Go allows 1000, but each level costs three stack frames here (and the
    /// stack guard may stop a debug build, whose frames are larger, a little earlier).
    static let maximumNesting = 100
    /// The largest count in `{n,m}`, and the most copies nested counts may multiply to (Go's).
    static let maximumRepeat = 1000
    /// Fragments longer than this are cut in messages, so a huge pattern does not make a huge error.
    private static let maximumQuoted = 100

    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var flags: Flags
    /// Groups open around the current position.
    private var depth = 0
    private let stack = StackGuard()
    private(set) var classes: [RegexClass] = []
    /// Group names by number, nil for unnamed groups; group 0 is the whole match.
    private(set) var names: [String?] = [nil]

    init(_ scalars: [Unicode.Scalar], flags: Flags) {
        self.scalars = scalars
        self.flags = flags
    }

    mutating func parse() throws(Regex.SyntaxError) -> RegexNode {
        let tree = try parseAlternation()
        guard index == scalars.count else { throw error("unexpected )", 0..<scalars.count, at: index) }
        return tree
    }

    /// Go's `code: `fragment`` at the 1-based position of `position`, or of the fragment's start.
    private func error(_ code: String, _ fragment: Range<Int>, at position: Int? = nil) -> Regex.SyntaxError {
        RegexParser.error(code, quoting: text(fragment), at: position ?? fragment.lowerBound)
    }

    static func error(_ code: String, quoting fragment: String, at position: Int) -> Regex.SyntaxError {
        var quoted = fragment
        if quoted.unicodeScalars.count > maximumQuoted {
            quoted = String(String.UnicodeScalarView(quoted.unicodeScalars.prefix(maximumQuoted))) + "…"
        }
        return Regex.SyntaxError(message: "\(code): `\(quoted)`", position: position + 1)
    }

    private func text(_ range: Range<Int>) -> String {
        let clamped = max(0, min(range.lowerBound, scalars.count))..<max(0, min(range.upperBound, scalars.count))
        return String(String.UnicodeScalarView(scalars[clamped]))
    }

    private var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private func peek(at offset: Int) -> Unicode.Scalar? { offset < scalars.count ? scalars[offset] : nil }

    static func isAlphaNumeric(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return (value >= 0x30 && value <= 0x39) || ((value | 0x20) >= 0x61 && (value | 0x20) <= 0x7A)
    }

    // parseAlternation, parseConcatenation and parseGroup recurse for each group, so they are kept
    // small and leave the rest to functions that do not: debug builds give every local a slot.

    private mutating func parseAlternation() throws(Regex.SyntaxError) -> RegexNode {
        var branches = [try parseConcatenation()]
        while peek == "|" {
            index += 1
            branches.append(try parseConcatenation())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseConcatenation() throws(Regex.SyntaxError) -> RegexNode {
        var items: [RegexNode] = []
        while let scalar = peek, scalar != "|", scalar != ")" {
            try refuseRepetitionWithoutArgument()
            guard let atom = scalar == "(" ? try parseGroup() : try parseAtom(into: &items) else { continue }
            items.append(try parseRepetitions(of: atom))
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .concatenation(items)
    }

    private func refuseRepetitionWithoutArgument() throws(Regex.SyntaxError) {
        guard let (_, _, end) = repetition(at: index) else { return }
        throw error("missing argument to repetition operator", index..<(peek(at: end) == "?" ? end + 1 : end))
    }

    /// `atom` with the repetition operator after it, if any; a second operator is an error.
    private mutating func parseRepetitions(of atom: RegexNode) throws(Regex.SyntaxError) -> RegexNode {
        var atom = atom
        var previousOperator: Int?
        while let (minimum, maximum, countEnd) = repetition(at: index) {
            let operatorStart = index
            guard minimum <= RegexParser.maximumRepeat, (maximum ?? 0) <= RegexParser.maximumRepeat, minimum <= (maximum ?? minimum) else {
                throw error("invalid repeat count", operatorStart..<countEnd)
            }
            var end = countEnd
            var greedy = true
            if peek(at: end) == "?" {
                greedy = false
                end += 1
            }
            // a** is an error, not a doubled star.
            if let previousOperator { throw error("invalid nested repetition operator", previousOperator..<end, at: operatorStart) }
            if flags.ungreedy { greedy.toggle() }
            atom = .repetition(atom, minimum: minimum, maximum: maximum, greedy: greedy)
            if (minimum >= 2 || (maximum ?? 0) >= 2) && !RegexParser.repeatIsValid(atom, RegexParser.maximumRepeat) {
                throw error("invalid repeat count", operatorStart..<end)
            }
            index = end
            previousOperator = operatorStart
        }
        return atom
    }

    /// Go's repeatIsValid: counted repetitions nested in one another may not multiply past `limit` copies.
    private static func repeatIsValid(_ node: RegexNode, _ limit: Int) -> Bool {
        switch node {
        case .repetition(let inner, let minimum, let maximum, _):
            if maximum == 0 { return true }
            let copies = maximum ?? minimum
            if copies > limit { return false }
            return repeatIsValid(inner, copies > 0 ? limit / copies : limit)
        case .concatenation(let items), .alternation(let items):
            return items.allSatisfy { repeatIsValid($0, limit) }
        case .capture(_, let inner):
            return repeatIsValid(inner, limit)
        default:
            return true
        }
    }

    /// A repetition operator at `offset`: its bounds and where it ends (before any `?`).
    private func repetition(at offset: Int) -> (Int, Int?, Int)? {
        switch peek(at: offset) {
        case "*": return (0, nil, offset + 1)
        case "+": return (1, nil, offset + 1)
        case "?": return (0, 1, offset + 1)
        case "{": return repeatCounts(at: offset)
        default: return nil
        }
    }

    /// `{n}`, `{n,}` or `{n,m}` at `offset`; nil when the brace is a literal, as Go has it.
    private func repeatCounts(at offset: Int) -> (Int, Int?, Int)? {
        var position = offset + 1
        func number() -> Int? {
            let start = position
            var value = 0
            while let digit = peek(at: position), digit.value >= 0x30 && digit.value <= 0x39 {
                // A leading zero makes the brace a literal.
                if position == start + 1 && scalars[start] == "0" { return nil }
                value = min(value * 10 + Int(digit.value - 0x30), 100_000)
                position += 1
            }
            return position > start ? value : nil
        }
        guard let minimum = number() else { return nil }
        var maximum: Int? = minimum
        if peek(at: position) == "," {
            position += 1
            if peek(at: position) == "}" {
                maximum = nil
            } else {
                guard let bound = number() else { return nil }
                maximum = bound
            }
        }
        guard peek(at: position) == "}" else { return nil }
        return (minimum, maximum, position + 1)
    }

    /// One atom other than a group; nil for an empty `\Q\E`. The literals of `\Q…\E` but the last
    /// go straight into `items`, so that a repetition applies to the last alone.
    private mutating func parseAtom(into items: inout [RegexNode]) throws(Regex.SyntaxError) -> RegexNode? {
        let scalar = scalars[index]
        switch scalar {
        case "[":
            return try parseClass()
        case ".":
            index += 1
            return .any(newline: flags.dotMatchesNewline)
        case "^":
            index += 1
            return .assertion(flags.multiLine ? .beginLine : .beginText)
        case "$":
            index += 1
            return .assertion(flags.multiLine ? .endLine : .endText)
        case "\\":
            return try parseEscapeAtom(into: &items)
        default:
            index += 1
            return literal(scalar.value)
        }
    }

    private func literal(_ value: UInt32) -> RegexNode {
        .scalar(value, folded: flags.caseInsensitive)
    }

    /// A group; nil for a flag group such as `(?i)`, which only changes the flags.
    private mutating func parseGroup() throws(Regex.SyntaxError) -> RegexNode? {
        let start = index
        let savedFlags = flags
        let opening = try parseGroupOpening()
        if case .flags = opening { return nil }
        depth += 1
        let inner = try parseAlternation()
        depth -= 1
        guard peek == ")" else { throw error("missing closing )", 0..<scalars.count, at: start) }
        index += 1
        flags = savedFlags
        if case .capture(let number) = opening { return .capture(number, inner) }
        return inner
    }

    /// What a `(` opens.
    private enum GroupOpening {
        case capture(Int)
        /// `(?:` or `(?i:`
        case plain
        /// `(?i)`, which only sets flags.
        case flags
    }

    /// Reads `(`, `(?P<name>`, `(?<name>`, `(?flags:` or `(?flags)` at `index`.
    private mutating func parseGroupOpening() throws(Regex.SyntaxError) -> GroupOpening {
        let start = index
        guard depth < RegexParser.maximumNesting && !stack.isExhausted else {
            throw error("expression nests too deeply", 0..<scalars.count, at: start)
        }
        index += 1
        guard peek == "?" else {
            names.append(nil)
            return .capture(names.count - 1)
        }
        let namedP = peek(at: start + 2) == "P" && peek(at: start + 3) == "<" && start + 4 < scalars.count
        let named = peek(at: start + 2) == "<" && start + 3 < scalars.count
        guard namedP || named else { return try parseFlags(start: start) ? .plain : .flags }
        // (?P<name>re) or (?<name>re)
        let nameStart = start + (namedP ? 4 : 3)
        guard let close = scalars[nameStart...].firstIndex(of: ">") else {
            throw error("invalid named capture", start..<scalars.count)
        }
        let name = text(nameStart..<close)
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0 == "_" || RegexParser.isAlphaNumeric($0) }) else {
            throw error("invalid named capture", start..<(close + 1))
        }
        names.append(name)
        index = close + 1
        return .capture(names.count - 1)
    }

    /// Go's parsePerlFlags after `(?`: `(?i)` sets flags for the rest of the enclosing group and
    /// returns false; `(?i:` and `(?:` open a group with them and return true.
    private mutating func parseFlags(start: Int) throws(Regex.SyntaxError) -> Bool {
        var position = start + 2
        var updated = flags
        var negated = false
        var sawFlag = false
        while let flag = peek(at: position) {
            position += 1
            switch flag {
            case "i": updated.caseInsensitive = !negated
            case "m": updated.multiLine = !negated
            case "s": updated.dotMatchesNewline = !negated
            case "U": updated.ungreedy = !negated
            case "-" where !negated:
                negated = true
                sawFlag = false
                continue
            case ":", ")":
                guard !negated || sawFlag else { throw error("invalid or unsupported Perl syntax", start..<position, at: position - 1) }
                flags = updated
                index = position
                return flag == ":"
            default:
                throw error("invalid or unsupported Perl syntax", start..<position, at: position - 1)
            }
            sawFlag = true
        }
        throw error("invalid or unsupported Perl syntax", start..<position, at: start)
    }

    private mutating func parseEscapeAtom(into items: inout [RegexNode]) throws(Regex.SyntaxError) -> RegexNode? {
        let assertion: RegexAssertion? = switch peek(at: index + 1) {
        case "A": .beginText
        case "z": .endText
        case "b": .wordBoundary
        case "B": .notWordBoundary
        default: nil
        }
        if let assertion {
            index += 2
            return .assertion(assertion)
        }
        if peek(at: index + 1) == "Q" {
            // \Q…\E: everything up to \E (or the end) is literal.
            index += 2
            var quoted: [RegexNode] = []
            while let next = peek {
                if next == "\\" && peek(at: index + 1) == "E" {
                    index += 2
                    break
                }
                quoted.append(literal(next.value))
                index += 1
            }
            guard let last = quoted.popLast() else { return nil }
            items += quoted
            return last
        }
        if let (classItems, negated) = try parseClassEscape() {
            classes.append(RegexClass(items: classItems, negated: negated, folded: flags.caseInsensitive))
            return .set(classes.count - 1)
        }
        return literal(try parseEscapedScalar())
    }

    /// A `\d`-style or `\p{..}` class at `index`; nil, consuming nothing, for any other escape.
    private mutating func parseClassEscape() throws(Regex.SyntaxError) -> ([RegexClass.Item], negated: Bool)? {
        let start = index
        guard let code = peek(at: index + 1) else { return nil }
        switch code {
        case "d", "D", "s", "S", "w", "W":
            index += 2
            let ranges: [(UInt32, UInt32)] = switch code {
            case "d", "D": [(0x30, 0x39)]
            case "s", "S": [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)]
            default: [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
            }
            return (ranges.map { .range($0.0, $0.1) }, negated: code.properties.isUppercase)
        case "p", "P":
            index += 2
            return try parseUnicodeClass(negated: code == "P", start: start)
        default:
            return nil
        }
    }

    /// Go's parseEscape: the scalar that the escape at `index` stands for.
    private mutating func parseEscapedScalar() throws(Regex.SyntaxError) -> UInt32 {
        let start = index
        index += 1
        guard let code = peek else { throw error("trailing backslash at end of expression", start..<start) }
        index += 1
        switch code {
        case "a": return 7
        case "f": return 12
        case "n": return 10
        case "r": return 13
        case "t": return 9
        case "v": return 11
        case "0"..."7":
            // Octal, but a lone non-zero digit would be a backreference, which RE2 lacks.
            var value = code.value - 0x30
            var digits = 1
            while digits < 3, let next = peek, next >= "0" && next <= "7" {
                value = value * 8 + next.value - 0x30
                digits += 1
                index += 1
            }
            if code == "0" || digits > 1 { return value }
        case "x":
            guard let first = peek else { break }
            index += 1
            if first == "{" {
                // Any number of hex digits in braces, at least one.
                var value: UInt32 = 0
                var digits = 0
                while let next = peek {
                    index += 1
                    if next == "}" {
                        if digits > 0 { return value }
                        break
                    }
                    // Past 0x10FFF another digit would pass the largest scalar.
                    guard let digit = RegexParser.hexValue(next), value <= 0x10FFF else { break }
                    value = value * 16 + digit
                    digits += 1
                }
                break
            }
            let second = peek
            if second != nil { index += 1 }
            if let high = RegexParser.hexValue(first), let second, let low = RegexParser.hexValue(second) { return high * 16 + low }
        default:
            // Punctuation escapes itself.
            if code.isASCII && !RegexParser.isAlphaNumeric(code) { return code.value }
        }
        return try invalidEscape(start)
    }

    private func invalidEscape(_ start: Int) throws(Regex.SyntaxError) -> UInt32 {
        throw error("invalid escape sequence", start..<index)
    }

    private static func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
        scalar.properties.isASCIIHexDigit ? UInt32(String(scalar), radix: 16) : nil
    }

    /// `\pL`, `\p{Lu}`, `\p{^L}`, `\PL`, `\p{Any}`: general categories.
    private mutating func parseUnicodeClass(negated: Bool, start: Int) throws(Regex.SyntaxError) -> ([RegexClass.Item], negated: Bool) {
        var name = ""
        if peek == "{" {
            guard let close = scalars[index...].firstIndex(of: "}") else {
                throw error("invalid character class range", start..<scalars.count)
            }
            name = text((index + 1)..<close)
            index = close + 1
        } else if let next = peek {
            name = String(Character(next))
            index += 1
        }
        var negated = negated
        if name.hasPrefix("^") {
            negated.toggle()
            name.removeFirst()
        }
        if name == "Any" { return ([.any], negated: negated) }
        guard let categories = RegexParser.categories[name] else { throw error("invalid character class range", start..<index) }
        return ([.categories(categories, negated: false)], negated: negated)
    }

    private static let categories: [String: [Unicode.GeneralCategory]] = {
        let groups: [String: [(String, Unicode.GeneralCategory)]] = [
            "L": [("Lu", .uppercaseLetter), ("Ll", .lowercaseLetter), ("Lt", .titlecaseLetter), ("Lm", .modifierLetter), ("Lo", .otherLetter)],
            "M": [("Mn", .nonspacingMark), ("Mc", .spacingMark), ("Me", .enclosingMark)],
            "N": [("Nd", .decimalNumber), ("Nl", .letterNumber), ("No", .otherNumber)],
            "P": [("Pc", .connectorPunctuation), ("Pd", .dashPunctuation), ("Ps", .openPunctuation), ("Pe", .closePunctuation),
                  ("Pi", .initialPunctuation), ("Pf", .finalPunctuation), ("Po", .otherPunctuation)],
            "S": [("Sm", .mathSymbol), ("Sc", .currencySymbol), ("Sk", .modifierSymbol), ("So", .otherSymbol)],
            "Z": [("Zs", .spaceSeparator), ("Zl", .lineSeparator), ("Zp", .paragraphSeparator)],
            "C": [("Cc", .control), ("Cf", .format), ("Cs", .surrogate), ("Co", .privateUse)],
        ]
        var table: [String: [Unicode.GeneralCategory]] = [:]
        for (group, members) in groups {
            table[group] = members.map(\.1)
            for (name, category) in members { table[name] = [category] }
        }
        return table
    }()

    private mutating func parseClass() throws(Regex.SyntaxError) -> RegexNode {
        let start = index
        index += 1
        var negated = false
        if peek == "^" {
            negated = true
            index += 1
        }
        var items: [RegexClass.Item] = []
        var first = true
        while true {
            guard let scalar = peek else { throw error("missing closing ]", start..<scalars.count) }
            if scalar == "]" && !first {
                index += 1
                break
            }
            first = false
            if scalar == "[" && peek(at: index + 1) == ":", let (posix, end) = try posixClass(at: index) {
                items += posix
                index = end
                continue
            }
            if let (escaped, negatedEscape) = try parseClassEscape() {
                items += negatedEscape ? RegexClass.complement(escaped) : escaped
                continue
            }
            let rangeStart = index
            let low: UInt32
            if scalar == "\\" {
                low = try parseEscapedScalar()
            } else {
                low = scalar.value
                index += 1
            }
            var high = low
            // [a-] is a or -.
            if peek == "-", let next = peek(at: index + 1), next != "]" {
                index += 1
                if next == "\\" {
                    high = try parseEscapedScalar()
                } else {
                    high = next.value
                    index += 1
                }
                guard high >= low else { throw error("invalid character class range", rangeStart..<index) }
            }
            items.append(.range(low, high))
        }
        classes.append(RegexClass(items: items, negated: negated, folded: flags.caseInsensitive))
        return .set(classes.count - 1)
    }

    /// `[:alpha:]` or `[:^alpha:]` inside a class, and where it ends; nil when `[:` starts no such name.
    private func posixClass(at offset: Int) throws(Regex.SyntaxError) -> ([RegexClass.Item], Int)? {
        var end = offset + 2
        while end + 1 < scalars.count && !(scalars[end] == ":" && scalars[end + 1] == "]") { end += 1 }
        guard end + 1 < scalars.count else { return nil }
        var name = text((offset + 2)..<end)
        let negated = name.hasPrefix("^")
        if negated { name.removeFirst() }
        let ranges: [(UInt32, UInt32)]
        switch name {
        case "alnum": ranges = [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)]
        case "alpha": ranges = [(0x41, 0x5A), (0x61, 0x7A)]
        case "ascii": ranges = [(0x00, 0x7F)]
        case "blank": ranges = [(0x09, 0x09), (0x20, 0x20)]
        case "cntrl": ranges = [(0x00, 0x1F), (0x7F, 0x7F)]
        case "digit": ranges = [(0x30, 0x39)]
        case "graph": ranges = [(0x21, 0x7E)]
        case "lower": ranges = [(0x61, 0x7A)]
        case "print": ranges = [(0x20, 0x7E)]
        case "punct": ranges = [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)]
        case "space": ranges = [(0x09, 0x0D), (0x20, 0x20)]
        case "upper": ranges = [(0x41, 0x5A)]
        case "word": ranges = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
        case "xdigit": ranges = [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)]
        default: throw error("invalid character class range", offset..<(end + 2))
        }
        let items = ranges.map { RegexClass.Item.range($0.0, $0.1) }
        return (negated ? RegexClass.complement(items) : items, end + 2)
    }
}
