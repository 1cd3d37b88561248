/// Regular expressions in the RE2 syntax that PromQL uses for `=~` and `!~`, always matched against
/// the whole string (Prometheus anchors them), with `.` matching any character including a newline.
///
/// The pattern is compiled to a small program and run as a Thompson NFA (every alternative at
/// once), so matching takes time linear in the text whatever the pattern: a hostile selector
/// cannot make a query hang.
public final class Regex: Sendable {
    /// A regular expression that could not be parsed, with the 1-based position of the problem.
    public struct SyntaxError: Error, Sendable {
        public var message: String
        public var position: Int
    }

    /// One instruction of the compiled program.
    enum Instruction: Sendable {
        case character(Unicode.Scalar)
        case set(CharacterSet, negated: Bool)
        case any
        /// Continue at both targets.
        case split(Int, Int)
        case jump(Int)
        /// Record the current position in capture slot n (group n/2, start or end).
        case save(Int)
        case match
    }

    /// A set of scalars as ranges, with the case-insensitive flag applied when compiled.
    struct CharacterSet: Sendable {
        var ranges: [ClosedRange<UInt32>]

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            ranges.contains { $0.contains(scalar.value) }
        }
    }

    public let pattern: String
    let program: [Instruction]
    /// How many capturing groups the pattern has (group 0 is the whole match).
    public let groupCount: Int
    /// Named groups (`(?P<name>…)`) by name.
    public let groupNames: [String: Int]
    /// When the whole pattern is a plain string, matching is a comparison.
    private let literal: String?

    /// Compiles `pattern`; throws with the position of a syntax error.
    public init(_ pattern: String) throws(SyntaxError) {
        self.pattern = pattern
        var parser = RegexParser(Array(pattern.unicodeScalars))
        let tree = try parser.parse()
        groupCount = parser.groups
        groupNames = parser.names
        var compiler = RegexCompiler()
        compiler.program.append(.save(0))
        compiler.emit(tree)
        compiler.program.append(.save(1))
        compiler.program.append(.match)
        guard compiler.program.count <= 100_000 else {
            throw SyntaxError(message: "pattern too large (repetitions expand to over 100,000 steps)", position: 1)
        }
        program = compiler.program
        literal = tree.literalText
    }

    /// Whether the whole of `text` matches.
    public func matches(_ text: String) -> Bool {
        if let literal { return text == literal }
        var current: [Int] = []
        var next: [Int] = []
        var seen = [Int](repeating: -1, count: program.count)
        var generation = 0
        func add(_ index: Int, to list: inout [Int]) {
            guard seen[index] != generation else { return }
            seen[index] = generation
            switch program[index] {
            case .split(let first, let second):
                add(first, to: &list)
                add(second, to: &list)
            case .jump(let target):
                add(target, to: &list)
            case .save:
                add(index + 1, to: &list)
            default:
                list.append(index)
            }
        }
        add(0, to: &current)
        for scalar in text.unicodeScalars {
            generation += 1
            next.removeAll(keepingCapacity: true)
            for index in current {
                let advances: Bool
                switch program[index] {
                case .character(let expected): advances = scalar == expected
                case .set(let set, let negated): advances = set.contains(scalar) != negated
                case .any: advances = true
                default: advances = false
                }
                if advances { add(index + 1, to: &next) }
            }
            swap(&current, &next)
            if current.isEmpty { return false }
        }
        return current.contains { if case .match = program[$0] { true } else { false } }
    }

    /// The groups of a whole-string match (index 0 is the whole text; nil for a group that did not
    /// take part), with RE2's preference among alternatives; nil when `text` does not match.
    public func captures(_ text: String) -> [String?]? {
        let scalars = Array(text.unicodeScalars)
        let slots = 2 * (groupCount + 1)
        var current: [(pc: Int, captures: [Int])] = []
        var next: [(pc: Int, captures: [Int])] = []
        var seen = [Int](repeating: -1, count: program.count)
        var generation = 0
        func add(_ index: Int, _ captures: [Int], at position: Int, to list: inout [(pc: Int, captures: [Int])]) {
            guard seen[index] != generation else { return }
            seen[index] = generation
            switch program[index] {
            case .split(let first, let second):
                add(first, captures, at: position, to: &list)
                add(second, captures, at: position, to: &list)
            case .jump(let target):
                add(target, captures, at: position, to: &list)
            case .save(let slot):
                var updated = captures
                if slot < updated.count { updated[slot] = position }
                add(index + 1, updated, at: position, to: &list)
            default:
                list.append((index, captures))
            }
        }
        add(0, [Int](repeating: -1, count: slots), at: 0, to: &current)
        for (position, scalar) in scalars.enumerated() {
            generation += 1
            next.removeAll(keepingCapacity: true)
            for thread in current {
                let advances: Bool
                switch program[thread.pc] {
                case .character(let expected): advances = scalar == expected
                case .set(let set, let negated): advances = set.contains(scalar) != negated
                case .any: advances = true
                default: advances = false
                }
                if advances { add(thread.pc + 1, thread.captures, at: position + 1, to: &next) }
            }
            swap(&current, &next)
            if current.isEmpty { return nil }
        }
        guard let winner = current.first(where: { if case .match = program[$0.pc] { true } else { false } }) else { return nil }
        return (0...groupCount).map { group in
            let start = winner.captures[2 * group], end = winner.captures[2 * group + 1]
            guard start >= 0, end >= start else { return nil }
            return String(String.UnicodeScalarView(scalars[start..<end]))
        }
    }
}

/// The parsed form of a pattern.
indirect enum RegexNode: Sendable {
    case empty
    case character(Unicode.Scalar)
    case set(Regex.CharacterSet, negated: Bool)
    case any
    case concatenation([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, minimum: Int, maximum: Int?)
    /// A capturing group, numbered from 1.
    case group(Int, RegexNode)

    /// The text a pattern of plain characters stands for, or nil.
    var literalText: String? {
        switch self {
        case .empty: return ""
        case .character(let scalar): return String(Character(scalar))
        case .concatenation(let parts):
            var text = ""
            for part in parts {
                guard let piece = part.literalText else { return nil }
                text += piece
            }
            return text
        default: return nil
        }
    }
}

/// Parses RE2 syntax: `|`, concatenation, `* + ? {n} {n,} {n,m}` (a trailing `?` for laziness is
/// accepted and means nothing for a whole-string match), groups `( )` `(?: )` `(?i)` `(?i: )`,
/// classes `[a-z]` `[^…]` `[[:alpha:]]`, escapes `\d \w \s \D \W \S` and escaped punctuation.
struct RegexParser {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var caseInsensitive = false
    /// Capturing groups seen so far.
    private(set) var groups = 0
    private(set) var names: [String: Int] = [:]
    private static let maximumRepeat = 1000

    init(_ scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    mutating func parse() throws(Regex.SyntaxError) -> RegexNode {
        let node = try parseAlternation()
        guard index == scalars.count else { throw error("unexpected ')'") }
        return node
    }

    private func error(_ message: String) -> Regex.SyntaxError { Regex.SyntaxError(message: message, position: index + 1) }

    private var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private mutating func parseAlternation() throws(Regex.SyntaxError) -> RegexNode {
        var branches = [try parseConcatenation()]
        while peek == "|" {
            index += 1
            branches.append(try parseConcatenation())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseConcatenation() throws(Regex.SyntaxError) -> RegexNode {
        var parts: [RegexNode] = []
        while let scalar = peek, scalar != "|", scalar != ")" {
            // A parenthesised group may be repeated even when it holds a repetition: `(a+)+`.
            let grouped = scalar == "("
            var atom = try parseAtom()
            while let next = peek, next == "*" || next == "+" || next == "?" || next == "{" {
                let start = index
                var minimum = 0
                var maximum: Int?
                switch next {
                case "*": index += 1
                case "+": index += 1; minimum = 1
                case "?": index += 1; maximum = 1
                default:
                    // A `{` that does not start a count is a literal, as in RE2.
                    guard let counts = try parseCounts() else { break }
                    (minimum, maximum) = counts
                }
                if index == start { break }
                if case .repetition = atom, !grouped {
                    throw Regex.SyntaxError(message: "repetition of a repetition", position: start + 1)
                }
                if peek == "?" { index += 1 }  // lazy: the same for a whole-string match
                atom = .repetition(atom, minimum: minimum, maximum: maximum)
            }
            parts.append(atom)
        }
        if parts.isEmpty { return .empty }
        return parts.count == 1 ? parts[0] : .concatenation(parts)
    }

    /// `{n}`, `{n,}`, `{n,m}`; nil when the brace does not start a count.
    private mutating func parseCounts() throws(Regex.SyntaxError) -> (Int, Int?)? {
        var position = index + 1
        func number() -> Int? {
            var value = 0
            var digits = 0
            while position < scalars.count, let digit = Int(String(scalars[position])), scalars[position].isASCII {
                value = value * 10 + digit
                digits += 1
                position += 1
                if value > RegexParser.maximumRepeat { return nil }
            }
            return digits > 0 ? value : nil
        }
        guard let minimum = number() else { return nil }
        var maximum: Int? = minimum
        if position < scalars.count, scalars[position] == "," {
            position += 1
            maximum = number()
            if maximum == nil && (position >= scalars.count || scalars[position] != "}") { return nil }
        }
        guard position < scalars.count, scalars[position] == "}" else { return nil }
        if let maximum, maximum < minimum { throw error("bad repetition count") }
        index = position + 1
        return (minimum, maximum)
    }

    private mutating func parseAtom() throws(Regex.SyntaxError) -> RegexNode {
        let scalar = scalars[index]
        switch scalar {
        case "(":
            index += 1
            let saved = caseInsensitive
            defer { caseInsensitive = saved }
            var capture: Int?
            if peek == "?" && index + 1 < scalars.count && (scalars[index + 1] == "P" || scalars[index + 1] == "<") {
                // A named group: (?P<name>…) or (?<name>…).
                index += scalars[index + 1] == "P" ? 2 : 1
                guard peek == "<" else { throw error("bad named group") }
                index += 1
                let start = index
                while let character = peek, character != ">" { index += 1 }
                guard peek == ">", index > start else { throw error("bad named group") }
                groups += 1
                names[String(String.UnicodeScalarView(scalars[start..<index]))] = groups
                capture = groups
                index += 1
            } else if peek != "?" {
                groups += 1
                capture = groups
            }
            if capture == nil && peek == "?" {
                index += 1
                var flags = false
                while let flag = peek, flag != ":" && flag != ")" {
                    guard flag == "i" || flag == "s" || flag == "m" || flag == "U" else { throw error("unsupported group flag '\(flag)'") }
                    if flag == "i" { caseInsensitive = true }
                    flags = true
                    index += 1
                }
                if peek == ")" {
                    // `(?i)` sets the flag for the rest of the enclosing group.
                    guard flags else { throw error("empty group flags") }
                    index += 1
                    let rest = try parseAlternation()
                    return rest
                }
                guard peek == ":" else { throw error("missing ':' in group") }
                index += 1
            }
            let inner = try parseAlternation()
            guard peek == ")" else { throw error("missing ')'") }
            index += 1
            if let capture { return .group(capture, inner) }
            return inner
        case ")":
            throw error("unexpected ')'")
        case "*", "+", "?":
            throw error("missing argument to repetition operator '\(scalar)'")
        case ".":
            index += 1
            return .any
        case "^", "$":
            // Anchors: the whole string is matched anyway, so they match the empty string at the ends.
            index += 1
            return .empty
        case "[":
            return try parseClass()
        case "\\":
            index += 1
            guard let escaped = peek else { throw error("trailing backslash") }
            index += 1
            if let set = RegexParser.perlClass(escaped) { return .set(set.set, negated: set.negated) }
            return literal(try RegexParser.escapedScalar(escaped, position: index))
        default:
            index += 1
            return literal(scalar)
        }
    }

    private func literal(_ scalar: Unicode.Scalar) -> RegexNode {
        guard caseInsensitive, let folded = RegexParser.caseVariants(scalar) else { return .character(scalar) }
        return .set(Regex.CharacterSet(ranges: folded.map { $0.value...$0.value }), negated: false)
    }

    private mutating func parseClass() throws(Regex.SyntaxError) -> RegexNode {
        index += 1
        var negated = false
        if peek == "^" {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let scalar = peek else { throw error("missing ']'") }
            if scalar == "]" && !first {
                index += 1
                break
            }
            first = false
            if scalar == "[", index + 1 < scalars.count, scalars[index + 1] == ":" {
                let end = scalars[(index + 2)...].firstIndex(of: ":") ?? scalars.count
                let name = String(String.UnicodeScalarView(scalars[(index + 2)..<min(end, scalars.count)]))
                guard end + 1 < scalars.count, scalars[end + 1] == "]", let set = RegexParser.posixClass(name) else { throw error("bad character class") }
                ranges += set
                index = end + 2
                continue
            }
            var low: Unicode.Scalar
            index += 1
            if scalar == "\\" {
                guard let escaped = peek else { throw error("trailing backslash") }
                index += 1
                if let set = RegexParser.perlClass(escaped) {
                    guard !set.negated else { throw error("negated class inside a class is not supported") }
                    ranges += set.set.ranges
                    continue
                }
                low = try RegexParser.escapedScalar(escaped, position: index)
            } else {
                low = scalar
            }
            var high = low
            if peek == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                index += 1
                var upper = scalars[index]
                index += 1
                if upper == "\\" {
                    guard let escaped = peek else { throw error("trailing backslash") }
                    index += 1
                    upper = try RegexParser.escapedScalar(escaped, position: index)
                }
                guard upper.value >= low.value else { throw error("bad character range") }
                high = upper
            }
            ranges.append(low.value...high.value)
            if caseInsensitive {
                for value in low.value...min(high.value, low.value + 0x2000) {
                    if let scalar = Unicode.Scalar(value), let variants = RegexParser.caseVariants(scalar) {
                        ranges += variants.map { $0.value...$0.value }
                    }
                }
            }
        }
        return .set(Regex.CharacterSet(ranges: ranges), negated: negated)
    }

    static func escapedScalar(_ scalar: Unicode.Scalar, position: Int) throws(Regex.SyntaxError) -> Unicode.Scalar {
        switch scalar {
        case "n": return "\n"
        case "t": return "\t"
        case "r": return "\r"
        case "f": return "\u{0C}"
        case "v": return "\u{0B}"
        default:
            guard scalar.isASCII, !scalar.properties.isAlphabetic, !("0"..."9").contains(scalar) else {
                throw Regex.SyntaxError(message: "unsupported escape '\\\(scalar)'", position: position)
            }
            return scalar
        }
    }

    static func perlClass(_ scalar: Unicode.Scalar) -> (set: Regex.CharacterSet, negated: Bool)? {
        let digits: [ClosedRange<UInt32>] = [0x30...0x39]
        let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
        let space: [ClosedRange<UInt32>] = [0x09...0x0A, 0x0C...0x0D, 0x20...0x20]
        switch scalar {
        case "d": return (Regex.CharacterSet(ranges: digits), false)
        case "D": return (Regex.CharacterSet(ranges: digits), true)
        case "w": return (Regex.CharacterSet(ranges: word), false)
        case "W": return (Regex.CharacterSet(ranges: word), true)
        case "s": return (Regex.CharacterSet(ranges: space), false)
        case "S": return (Regex.CharacterSet(ranges: space), true)
        default: return nil
        }
    }

    static func posixClass(_ name: String) -> [ClosedRange<UInt32>]? {
        switch name {
        case "alnum": [0x30...0x39, 0x41...0x5A, 0x61...0x7A]
        case "alpha": [0x41...0x5A, 0x61...0x7A]
        case "digit": [0x30...0x39]
        case "lower": [0x61...0x7A]
        case "upper": [0x41...0x5A]
        case "space": [0x09...0x0D, 0x20...0x20]
        case "word": [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
        case "xdigit": [0x30...0x39, 0x41...0x46, 0x61...0x66]
        case "punct": [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E]
        default: nil
        }
    }

    /// The scalar and its other-case forms, when it has any.
    static func caseVariants(_ scalar: Unicode.Scalar) -> [Unicode.Scalar]? {
        let lower = scalar.properties.lowercaseMapping.unicodeScalars
        let upper = scalar.properties.uppercaseMapping.unicodeScalars
        var variants: [Unicode.Scalar] = [scalar]
        if lower.count == 1, let first = lower.first, first != scalar { variants.append(first) }
        if upper.count == 1, let first = upper.first, first != scalar { variants.append(first) }
        return variants.count > 1 ? variants : nil
    }
}

/// Turns the parsed pattern into the NFA program.
struct RegexCompiler {
    var program: [Regex.Instruction] = []

    mutating func emit(_ node: RegexNode) {
        switch node {
        case .empty:
            break
        case .character(let scalar):
            program.append(.character(scalar))
        case .set(let set, let negated):
            program.append(.set(set, negated: negated))
        case .any:
            program.append(.any)
        case .concatenation(let parts):
            for part in parts { emit(part) }
        case .group(let number, let inner):
            program.append(.save(2 * number))
            emit(inner)
            program.append(.save(2 * number + 1))
        case .alternation(let branches):
            var jumps: [Int] = []
            for (number, branch) in branches.enumerated() {
                if number < branches.count - 1 {
                    let split = program.count
                    program.append(.split(split + 1, 0))
                    emit(branch)
                    jumps.append(program.count)
                    program.append(.jump(0))
                    program[split] = .split(split + 1, program.count)
                } else {
                    emit(branch)
                }
            }
            for jump in jumps { program[jump] = .jump(program.count) }
        case .repetition(let inner, let minimum, let maximum):
            for _ in 0..<minimum { emit(inner) }
            if let maximum {
                // Up to (maximum - minimum) optional copies.
                var splits: [Int] = []
                for _ in minimum..<maximum {
                    splits.append(program.count)
                    program.append(.split(program.count + 1, 0))
                    emit(inner)
                }
                for split in splits { program[split] = .split(split + 1, program.count) }
            } else {
                // Any number more: loop.
                let split = program.count
                program.append(.split(split + 1, 0))
                emit(inner)
                program.append(.jump(split))
                program[split] = .split(split + 1, program.count)
            }
        }
    }
}
