extension Template {
    /// Go's regexp for `match` and `reReplaceAll`: RE2 syntax, searched unanchored with leftmost-first
    /// preference, run as a Pike VM (all alternatives at once) so that time stays linear in the text.
    struct GoRegexp {
        enum Assertion {
            case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary
        }

        enum Instruction {
            case scalar(UInt32, folded: Bool)
            case set(Int)
            case any(newline: Bool)
            /// Continue at both, preferring the first.
            case split(Int, Int)
            case jump(Int)
            /// Record the position in capture slot n.
            case save(Int)
            case assert(Assertion)
            case match
        }

        /// A bracketed class, `\d`-style class or `\p{..}` class.
        struct CharacterClass {
            enum Item {
                case range(UInt32, UInt32)
                /// Anything outside the ranges: a negated class such as `\\D` inside brackets.
                case outside([ClosedRange<UInt32>])
                case categories([Unicode.GeneralCategory], negated: Bool)
                case any
            }

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

            var items: [Item]
            var negated: Bool
            var folded: Bool

            func matches(_ scalar: Unicode.Scalar) -> Bool {
                var hit = contains(scalar)
                if !hit && folded {
                    hit = [scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping].contains { mapping in
                        let scalars = mapping.unicodeScalars
                        return scalars.count == 1 && contains(scalars.first!)
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

        private let program: [Instruction]
        private let classes: [CharacterClass]
        /// Capturing groups, counting the whole match as group 0.
        private let groupCount: Int
        /// Group names by number (nil for unnamed groups).
        private let names: [String?]

        init(_ pattern: String) throws(TemplateError) {
            var parser = RegexParser(pattern)
            let tree = try parser.parse()
            var compiler = RegexCompiler()
            compiler.program.append(.save(0))
            try compiler.emit(tree, pattern: pattern)
            compiler.program.append(.save(1))
            compiler.program.append(.match)
            program = compiler.program
            classes = parser.classes
            groupCount = parser.names.count
            names = parser.names
        }

        /// Thread steps one call may take: linear time can still be long on a long text.
        private static let budget = 2_000_000

        /// regexp.MatchString: whether the pattern matches anywhere in `text`.
        func matches(_ text: String) throws(TemplateError) -> Bool {
            var scratch = Scratch(programSize: program.count)
            return try search(Array(text.unicodeScalars), from: 0, &scratch) != nil
        }

        /// Regexp.ReplaceAllString: each match replaced by `template` with `$1`, `${name}` and `$$` expanded.
        func replaceAll(_ source: String, with template: String) throws(TemplateError) -> String {
            let text = Array(source.unicodeScalars)
            var scratch = Scratch(programSize: program.count)
            var output = String.UnicodeScalarView()
            var lastMatchEnd = 0
            var searchPosition = 0
            while searchPosition <= text.count, let match = try search(text, from: searchPosition, &scratch) {
                output.append(contentsOf: text[lastMatchEnd..<match[0]])
                // An empty match right after a match is not replaced.
                if match[1] > lastMatchEnd || match[0] == 0 { expand(template, match, text, into: &output) }
                lastMatchEnd = match[1]
                searchPosition = searchPosition + 1 > match[1] ? searchPosition + 1 : match[1]
            }
            output.append(contentsOf: text[lastMatchEnd...])
            return String(output)
        }

        /// Regexp.Expand: `$n`, `${n}`, `$name`, `${name}`; `$$` is `$`; a malformed `$` stays as it is.
        private func expand(_ template: String, _ match: [Int], _ text: [Unicode.Scalar], into output: inout String.UnicodeScalarView) {
            let scalars = Array(template.unicodeScalars)
            var index = 0
            while index < scalars.count {
                guard scalars[index] == "$" else {
                    output.append(scalars[index])
                    index += 1
                    continue
                }
                index += 1
                if index < scalars.count && scalars[index] == "$" {
                    output.append("$")
                    index += 1
                    continue
                }
                var end = index
                let braced = end < scalars.count && scalars[end] == "{"
                if braced { end += 1 }
                let nameStart = end
                while end < scalars.count && (Runes.isAlphaNumeric(scalars[end]) || scalars[end].properties.generalCategory == .decimalNumber) { end += 1 }
                let name = String(String.UnicodeScalarView(scalars[nameStart..<end]))
                if name.isEmpty || (braced && (end >= scalars.count || scalars[end] != "}")) {
                    output.append("$")
                    continue
                }
                index = braced ? end + 1 : end
                var group = -1
                if name.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) && !(name.hasPrefix("0") && name.count > 1) && name.count < 9 {
                    group = Int(name) ?? -1
                } else if let named = names.firstIndex(where: { $0 == name }) {
                    group = named
                }
                if group >= 0 && 2 * group + 1 < match.count && match[2 * group] >= 0 && match[2 * group] <= match[2 * group + 1] {
                    output.append(contentsOf: text[match[2 * group]..<match[2 * group + 1]])
                }
            }
        }

        /// What searches share: which instructions a step has visited, and the work left.
        private struct Scratch {
            var visited: [Int]
            var generation = 0
            var budget = GoRegexp.budget

            init(programSize: Int) {
                visited = [Int](repeating: 0, count: programSize)
            }
        }

        /// The leftmost-first match starting at or after `start`: capture slots (-1 for groups that did not take part).
        private func search(_ text: [Unicode.Scalar], from start: Int, _ scratch: inout Scratch) throws(TemplateError) -> [Int]? {
            var current: [(pc: Int, captures: [Int])] = []
            var next: [(pc: Int, captures: [Int])] = []
            var matched: [Int]?
            let empty = [Int](repeating: -1, count: 2 * groupCount)
            scratch.generation += 1
            var currentGeneration = scratch.generation
            var position = start
            while position <= text.count {
                if matched == nil { addThread(&current, 0, empty, position, text, &scratch.visited, currentGeneration) }
                if current.isEmpty && matched != nil { break }
                scratch.budget -= current.count + 1
                guard scratch.budget >= 0 else { throw TemplateError("regexp: matching takes too long") }
                scratch.generation += 1
                let nextGeneration = scratch.generation
                let scalar: Unicode.Scalar? = position < text.count ? text[position] : nil
                for thread in current {
                    if case .match = program[thread.pc] {
                        // Threads after this one have lower priority.
                        matched = thread.captures
                        break
                    }
                    if let scalar, accepts(program[thread.pc], scalar) {
                        addThread(&next, thread.pc + 1, thread.captures, position + 1, text, &scratch.visited, nextGeneration)
                    }
                }
                swap(&current, &next)
                next.removeAll(keepingCapacity: true)
                currentGeneration = nextGeneration
                position += 1
            }
            return matched
        }

        private func accepts(_ instruction: Instruction, _ scalar: Unicode.Scalar) -> Bool {
            switch instruction {
            case .scalar(let expected, let folded):
                return scalar.value == expected || (folded && GoRegexp.fold(scalar.value) == GoRegexp.fold(expected))
            case .set(let index):
                return classes[index].matches(scalar)
            case .any(let newline):
                return newline || scalar != "\n"
            default:
                return false
            }
        }

        /// Follows jumps, splits, saves and assertions from `pc`, in priority order, and adds the threads that consume.
        private func addThread(_ list: inout [(pc: Int, captures: [Int])], _ pc: Int, _ captures: [Int], _ position: Int,
                               _ text: [Unicode.Scalar], _ visited: inout [Int], _ generation: Int) {
            var stack = [(pc, captures)]
            while let (pc, captures) = stack.popLast() {
                guard visited[pc] != generation else { continue }
                visited[pc] = generation
                switch program[pc] {
                case .jump(let target):
                    stack.append((target, captures))
                case .split(let preferred, let other):
                    stack.append((other, captures))
                    stack.append((preferred, captures))
                case .save(let slot):
                    var updated = captures
                    if slot < updated.count { updated[slot] = position }
                    stack.append((pc + 1, updated))
                case .assert(let assertion):
                    if holds(assertion, at: position, in: text) { stack.append((pc + 1, captures)) }
                default:
                    list.append((pc, captures))
                }
            }
        }

        private func holds(_ assertion: Assertion, at position: Int, in text: [Unicode.Scalar]) -> Bool {
            let before: Unicode.Scalar? = position > 0 ? text[position - 1] : nil
            let after: Unicode.Scalar? = position < text.count ? text[position] : nil
            func isWord(_ scalar: Unicode.Scalar?) -> Bool {
                guard let scalar, scalar.isASCII else { return false }
                return scalar == "_" || (scalar.value >= 0x30 && scalar.value <= 0x39) || ((scalar.value | 0x20) >= 0x61 && (scalar.value | 0x20) <= 0x7A)
            }
            switch assertion {
            case .beginText: return before == nil
            case .endText: return after == nil
            case .beginLine: return before == nil || before == "\n"
            case .endLine: return after == nil || after == "\n"
            case .wordBoundary: return isWord(before) != isWord(after)
            case .notWordBoundary: return isWord(before) == isWord(after)
            }
        }

        /// Simple case folding: the lowercase form when it is one character.
        static func fold(_ value: UInt32) -> UInt32 {
            if value < 0x80 { return value >= 0x41 && value <= 0x5A ? value + 0x20 : value }
            guard let scalar = Unicode.Scalar(value) else { return value }
            let lower = scalar.properties.lowercaseMapping.unicodeScalars
            return lower.count == 1 ? lower.first!.value : value
        }
    }

    /// A parsed pattern.
    indirect enum RegexNode {
        case empty
        case scalar(UInt32, folded: Bool)
        case set(Int)
        case any(newline: Bool)
        case assertion(GoRegexp.Assertion)
        case concatenation([RegexNode])
        case alternation([RegexNode])
        case repetition(RegexNode, minimum: Int, maximum: Int?, greedy: Bool)
        case capture(Int, RegexNode)
    }

    /// Parses RE2 syntax with Go's error messages: `error parsing regexp: missing closing ): `(``.
    struct RegexParser {
        /// The flags `(?imsU)` set.
        struct Flags {
            var caseInsensitive = false
            var multiLine = false
            var dotMatchesNewline = false
            var ungreedy = false
        }

        private let pattern: String
        private let scalars: [Unicode.Scalar]
        private var index = 0
        private var flags = Flags()
        private var depth = 0
        private let stack = StackGuard()
        private(set) var classes: [GoRegexp.CharacterClass] = []
        /// Group names by number; group 0 is the whole match.
        private(set) var names: [String?] = [nil]

        init(_ pattern: String) {
            self.pattern = pattern
            scalars = Array(pattern.unicodeScalars)
        }

        private func error(_ code: String, _ fragment: String) -> TemplateError {
            TemplateError("error parsing regexp: \(code): `\(fragment)`")
        }

        private func text(_ range: Range<Int>) -> String {
            String(String.UnicodeScalarView(scalars[max(0, range.lowerBound)..<min(scalars.count, range.upperBound)]))
        }

        private var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        mutating func parse() throws(TemplateError) -> RegexNode {
            let tree = try parseAlternation()
            guard index == scalars.count else { throw error("unexpected )", pattern) }
            return tree
        }

        private mutating func parseAlternation() throws(TemplateError) -> RegexNode {
            var branches = [try parseConcatenation()]
            while peek == "|" {
                index += 1
                branches.append(try parseConcatenation())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        private mutating func parseConcatenation() throws(TemplateError) -> RegexNode {
            var items: [RegexNode] = []
            while let scalar = peek, scalar != "|", scalar != ")" {
                if scalar == "*" || scalar == "+" || scalar == "?" || (scalar == "{" && repeatCounts(at: index) != nil) {
                    throw error("missing argument to repetition operator", text(index..<(repeatCounts(at: index)?.end ?? index + 1)))
                }
                guard var atom = try parseAtom() else { continue }
                var previousOperator: Int?
                while let operatorStart = Optional(index), let (minimum, maximum, end) = repetition(at: index) {
                    if let previousOperator { throw error("invalid nested repetition operator", text(previousOperator..<end)) }
                    guard minimum <= 1000, (maximum ?? 0) <= 1000, minimum <= (maximum ?? minimum) else {
                        throw error("invalid repeat count", text(operatorStart..<end))
                    }
                    index = end
                    var greedy = true
                    if peek == "?" {
                        greedy = false
                        index += 1
                    }
                    if flags.ungreedy { greedy.toggle() }
                    atom = .repetition(atom, minimum: minimum, maximum: maximum, greedy: greedy)
                    previousOperator = operatorStart
                }
                items.append(atom)
            }
            if items.isEmpty { return .empty }
            return items.count == 1 ? items[0] : .concatenation(items)
        }

        /// A repetition operator at `offset`: its bounds and where it ends.
        private func repetition(at offset: Int) -> (Int, Int?, Int)? {
            guard offset < scalars.count else { return nil }
            switch scalars[offset] {
            case "*": return (0, nil, offset + 1)
            case "+": return (1, nil, offset + 1)
            case "?": return (0, 1, offset + 1)
            case "{": return repeatCounts(at: offset).map { ($0.minimum, $0.maximum, $0.end) }
            default: return nil
            }
        }

        /// `{n}`, `{n,}` or `{n,m}` at `offset`; nil when the brace is a literal.
        private func repeatCounts(at offset: Int) -> (minimum: Int, maximum: Int?, end: Int)? {
            var position = offset + 1
            func number() -> Int? {
                var value = 0
                let start = position
                while position < scalars.count && scalars[position].value >= 0x30 && scalars[position].value <= 0x39 {
                    value = min(value * 10 + Int(scalars[position].value - 0x30), 100_000)
                    position += 1
                }
                return position > start ? value : nil
            }
            guard let minimum = number() else { return nil }
            var maximum: Int? = minimum
            if position < scalars.count && scalars[position] == "," {
                position += 1
                maximum = number()
            }
            guard position < scalars.count && scalars[position] == "}" else { return nil }
            return (minimum, maximum, position + 1)
        }

        /// One atom; nil for a flag group such as `(?i)`, which only changes the flags.
        private mutating func parseAtom() throws(TemplateError) -> RegexNode? {
            let scalar = scalars[index]
            switch scalar {
            case "(":
                return try parseGroup()
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
                return try parseEscapeAtom()
            default:
                index += 1
                return literal(scalar)
            }
        }

        private func literal(_ scalar: Unicode.Scalar) -> RegexNode {
            .scalar(scalar.value, folded: flags.caseInsensitive)
        }

        private mutating func parseGroup() throws(TemplateError) -> RegexNode? {
            let start = index
            guard depth < 100 && !stack.isExhausted else { throw error("expression nests too deeply", pattern) }
            index += 1
            let savedFlags = flags
            var capture: Int?
            if peek == "?" {
                let afterQuestion = index + 1
                if afterQuestion < scalars.count && (scalars[afterQuestion] == "P" || scalars[afterQuestion] == "<") {
                    // (?P<name>re) or (?<name>re)
                    var position = afterQuestion + (scalars[afterQuestion] == "P" ? 1 : 0)
                    guard position < scalars.count && scalars[position] == "<" else { throw error("invalid named capture", text(start..<(position + 1))) }
                    position += 1
                    let nameStart = position
                    while position < scalars.count && scalars[position] != ">" { position += 1 }
                    let name = text(nameStart..<position)
                    guard position < scalars.count, !name.isEmpty, name.unicodeScalars.allSatisfy({ Runes.isAlphaNumeric($0) }),
                          !names.contains(where: { $0 == name }) else {
                        throw error("invalid named capture", text(start..<min(position + 1, scalars.count)))
                    }
                    names.append(name)
                    capture = names.count - 1
                    index = position + 1
                } else {
                    // Flags: (?i) for the rest of the group, (?i:re) for re only.
                    var position = afterQuestion
                    var negate = false
                    var sawFlag = false
                    while position < scalars.count && scalars[position] != ")" && scalars[position] != ":" {
                        switch scalars[position] {
                        case "i": flags.caseInsensitive = !negate
                        case "m": flags.multiLine = !negate
                        case "s": flags.dotMatchesNewline = !negate
                        case "U": flags.ungreedy = !negate
                        case "-" where !negate: negate = true
                        default: throw error("invalid or unsupported Perl syntax", text(start..<(position + 1)))
                        }
                        if scalars[position] != "-" { sawFlag = true }
                        position += 1
                    }
                    guard position < scalars.count, sawFlag || scalars[position] == ":", !(negate && !sawFlag) else {
                        throw error("invalid or unsupported Perl syntax", text(start..<min(position + 1, scalars.count)))
                    }
                    index = position + 1
                    if scalars[position] == ")" { return nil }
                }
            } else {
                names.append(nil)
                capture = names.count - 1
            }
            depth += 1
            let inner = try parseAlternation()
            depth -= 1
            guard peek == ")" else { throw error("missing closing )", pattern) }
            index += 1
            flags = savedFlags
            if let capture { return .capture(capture, inner) }
            return inner
        }

        /// What a backslash escape stands for.
        private enum Escape {
            case scalar(UInt32)
            case items([GoRegexp.CharacterClass.Item], negated: Bool)
            case assertion(GoRegexp.Assertion)
            case quoted([Unicode.Scalar])
        }

        private mutating func parseEscapeAtom() throws(TemplateError) -> RegexNode {
            switch try parseEscape(inClass: false) {
            case .scalar(let value):
                return .scalar(value, folded: flags.caseInsensitive)
            case .items(let items, let negated):
                classes.append(GoRegexp.CharacterClass(items: items, negated: negated, folded: flags.caseInsensitive))
                return .set(classes.count - 1)
            case .assertion(let assertion):
                return .assertion(assertion)
            case .quoted(let quoted):
                return .concatenation(quoted.map(literal))
            }
        }

        private mutating func parseEscape(inClass: Bool) throws(TemplateError) -> Escape {
            let start = index
            index += 1
            guard let code = peek else { throw error("trailing backslash at end of expression", "") }
            index += 1
            switch code {
            case "a": return .scalar(7)
            case "f": return .scalar(12)
            case "n": return .scalar(10)
            case "r": return .scalar(13)
            case "t": return .scalar(9)
            case "v": return .scalar(11)
            case "0"..."7":
                // Octal, but a lone non-zero digit would be a backreference, which RE2 lacks.
                var value = code.value - 0x30
                var digits = 1
                while digits < 3, let next = peek, next >= "0" && next <= "7" {
                    value = value * 8 + next.value - 0x30
                    digits += 1
                    index += 1
                }
                if code != "0" && digits == 1 { throw error("invalid escape sequence", text(start..<index)) }
                return .scalar(value)
            case "x":
                var digits = ""
                if peek == "{" {
                    index += 1
                    while let next = peek, next != "}" {
                        digits.unicodeScalars.append(next)
                        index += 1
                    }
                    guard peek == "}" else { throw error("invalid escape sequence", text(start..<index)) }
                    index += 1
                } else {
                    for _ in 0..<2 {
                        guard let next = peek else { break }
                        digits.unicodeScalars.append(next)
                        index += 1
                    }
                }
                guard !digits.isEmpty, digits.count <= 8, let value = UInt32(digits, radix: 16), value <= 0x10FFFF else {
                    throw error("invalid escape sequence", text(start..<index))
                }
                return .scalar(value)
            case "d", "D", "s", "S", "w", "W":
                let ranges: [(UInt32, UInt32)] = switch code {
                case "d", "D": [(0x30, 0x39)]
                case "s", "S": [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)]
                default: [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
                }
                return .items(ranges.map { .range($0.0, $0.1) }, negated: code.properties.isUppercase)
            case "p", "P":
                return try parseUnicodeClass(negated: code == "P", start: start)
            case "A" where !inClass: return .assertion(.beginText)
            case "z" where !inClass: return .assertion(.endText)
            case "b" where !inClass: return .assertion(.wordBoundary)
            case "B" where !inClass: return .assertion(.notWordBoundary)
            case "Q" where !inClass:
                var quoted: [Unicode.Scalar] = []
                while index < scalars.count {
                    if scalars[index] == "\\" && index + 1 < scalars.count && scalars[index + 1] == "E" {
                        index += 2
                        break
                    }
                    quoted.append(scalars[index])
                    index += 1
                }
                return .quoted(quoted)
            default:
                // Punctuation escapes itself.
                guard code.isASCII, !Runes.isAlphaNumeric(code) else { throw error("invalid escape sequence", text(start..<index)) }
                return .scalar(code.value)
            }
        }

        /// `\pL`, `\p{Lu}`, `\p{^L}`, `\PL`: general categories.
        private mutating func parseUnicodeClass(negated: Bool, start: Int) throws(TemplateError) -> Escape {
            var name = ""
            if peek == "{" {
                index += 1
                while let next = peek, next != "}" {
                    name.unicodeScalars.append(next)
                    index += 1
                }
                guard peek == "}" else { throw error("invalid character class range", text(start..<index)) }
                index += 1
            } else if let next = peek {
                name = String(Character(next))
                index += 1
            }
            var negated = negated
            if name.hasPrefix("^") {
                negated.toggle()
                name.removeFirst()
            }
            if name == "Any" { return .items([.any], negated: negated) }
            guard let categories = RegexParser.categories[name] else { throw error("invalid character class range", text(start..<index)) }
            return .items([.categories(categories, negated: false)], negated: negated)
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

        private mutating func parseClass() throws(TemplateError) -> RegexNode {
            let start = index
            index += 1
            var negated = false
            if peek == "^" {
                negated = true
                index += 1
            }
            var items: [GoRegexp.CharacterClass.Item] = []
            var first = true
            while true {
                guard let scalar = peek else { throw error("missing closing ]", text(start..<scalars.count)) }
                if scalar == "]" && !first {
                    index += 1
                    break
                }
                first = false
                if scalar == "[" && index + 1 < scalars.count && scalars[index + 1] == ":", let (posix, end) = try posixClass(at: index) {
                    items += posix
                    index = end
                    continue
                }
                let low: UInt32
                if scalar == "\\" {
                    switch try parseEscape(inClass: true) {
                    case .scalar(let value):
                        low = value
                    case .items(let escaped, let negatedEscape):
                        items += negatedEscape ? GoRegexp.CharacterClass.complement(escaped) : escaped
                        continue
                    default:
                        throw error("invalid escape sequence", text(start..<index))
                    }
                } else {
                    low = scalar.value
                    index += 1
                }
                var high = low
                if peek == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                    let rangeStart = index
                    index += 1
                    if peek == "\\" {
                        guard case .scalar(let value) = try parseEscape(inClass: true) else {
                            throw error("invalid character class range", text((rangeStart - 1)..<index))
                        }
                        high = value
                    } else {
                        high = scalars[index].value
                        index += 1
                    }
                    guard high >= low else { throw error("invalid character class range", text((rangeStart - 1)..<index)) }
                }
                items.append(.range(low, high))
            }
            classes.append(GoRegexp.CharacterClass(items: items, negated: negated, folded: flags.caseInsensitive))
            return .set(classes.count - 1)
        }

        /// `[:alpha:]` or `[:^alpha:]` inside a class, and where it ends; nil when `[:` starts no such name.
        private func posixClass(at offset: Int) throws(TemplateError) -> ([GoRegexp.CharacterClass.Item], Int)? {
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
            default: throw error("invalid character class range", text(offset..<(end + 2)))
            }
            let items = ranges.map { GoRegexp.CharacterClass.Item.range($0.0, $0.1) }
            return (negated ? GoRegexp.CharacterClass.complement(items) : items, end + 2)
        }
    }

    /// Turns the parsed pattern into the program the Pike VM runs.
    struct RegexCompiler {
        var program: [GoRegexp.Instruction] = []
        /// Enough for any sensible pattern; `(a{1000}){1000}` is not one.
        private static let maximumSize = 20_000

        mutating func emit(_ node: RegexNode, pattern: String) throws(TemplateError) {
            guard program.count <= RegexCompiler.maximumSize else { throw TemplateError("error parsing regexp: expression too large: `\(pattern)`") }
            switch node {
            case .empty:
                break
            case .scalar(let value, let folded):
                program.append(.scalar(value, folded: folded))
            case .set(let index):
                program.append(.set(index))
            case .any(let newline):
                program.append(.any(newline: newline))
            case .assertion(let assertion):
                program.append(.assert(assertion))
            case .concatenation(let items):
                for item in items { try emit(item, pattern: pattern) }
            case .alternation(let branches):
                var exits: [Int] = []
                for (number, branch) in branches.enumerated() {
                    guard number < branches.count - 1 else {
                        try emit(branch, pattern: pattern)
                        break
                    }
                    let split = program.count
                    program.append(.split(split + 1, 0))
                    try emit(branch, pattern: pattern)
                    exits.append(program.count)
                    program.append(.jump(0))
                    program[split] = .split(split + 1, program.count)
                }
                for exit in exits { program[exit] = .jump(program.count) }
            case .capture(let number, let inner):
                program.append(.save(2 * number))
                try emit(inner, pattern: pattern)
                program.append(.save(2 * number + 1))
            case .repetition(let inner, let minimum, let maximum, let greedy):
                for _ in 0..<minimum { try emit(inner, pattern: pattern) }
                if let maximum {
                    var splits: [Int] = []
                    for _ in minimum..<max(minimum, maximum) {
                        splits.append(program.count)
                        program.append(.split(0, 0))
                        try emit(inner, pattern: pattern)
                    }
                    for split in splits {
                        program[split] = greedy ? .split(split + 1, program.count) : .split(program.count, split + 1)
                    }
                } else {
                    let loop = program.count
                    program.append(.split(0, 0))
                    try emit(inner, pattern: pattern)
                    program.append(.jump(loop))
                    program[loop] = greedy ? .split(loop + 1, program.count) : .split(program.count, loop + 1)
                }
            }
        }
    }
}
