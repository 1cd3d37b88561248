// Go's text/template as Prometheus runs it for alerting rules' labels and annotations.
//
// The file follows the language's seams, in order: the public types; the tokenizer; the syntax
// tree and its parser; values and the executor; the function table (Go's built-ins, then
// Prometheus's); and the small parts of Go's fmt, strconv, time, net and regexp packages those
// functions print with, so that output matches Prometheus byte for byte.

import Glibc

// MARK: - Public interface

/// A template that did not compile or run, worded as Go words it:
/// `template: __alert_InstanceDown:1: undefined variable "$label"`.
public struct TemplateError: Error, Sendable, Equatable {
    /// The whole message.
    public var message: String

    public init(_ message: String) {
        self.message = message
    }
}

/// One sample as templates see it (the result of `query`).
public struct TemplateSample: Sendable {
    /// The series' labels, the metric name under `__name__`: `.Labels`.
    public var labels: [String: String]
    /// `.Value`
    public var value: Double

    public init(labels: [String: String], value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// What a rule's template can read.
public struct TemplateData {
    /// The alert's labels: `.Labels` and `$labels`.
    public var labels: [String: String] = [:]
    /// The alert's value: `.Value` and `$value`.
    public var value: Double = 0
    /// `.ExternalLabels` and `$externalLabels`.
    public var externalLabels: [String: String] = [:]
    /// `.ExternalURL`, `$externalURL` and the functions `externalURL` and `pathPrefix`.
    public var externalURL: String = ""
    /// Runs an instant PromQL query for `query "expr"`; nil means the function errors "query is not available".
    public var query: ((String) throws(TemplateError) -> [TemplateSample])? = nil

    public init() {}
}

/// A Go text/template with Prometheus's template functions, compiled once and rendered per alert.
///
/// Like Prometheus's, every template behaves as if it began with
/// `{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}`.
public struct Template: Sendable {
    /// The name in messages, such as `__alert_InstanceDown`.
    let name: String
    /// The text, to turn byte offsets into lines and columns in messages.
    fileprivate let source: [UInt8]
    /// The bodies of the templates by name: the text itself under `name`, then each `define` and `block`.
    fileprivate let trees: [String: [Node]]
    /// The text itself when it holds no action.
    private let constantText: String?

    /// Compiles `text`. `name` is used in messages, like Prometheus: `template: __alert_InstanceDown:1: undefined variable "$label"`.
    public init(_ text: String, name: String) throws(TemplateError) {
        self.name = name
        source = Array(text.utf8)
        guard Template.containsAction(source) else {
            constantText = text
            trees = [name: [.text(source)]]
            return
        }
        constantText = nil
        var parser = SyntaxParser(source: source, name: name)
        trees = try parser.parseTemplate()
    }

    /// Runs the template on `data`.
    public func render(_ data: TemplateData) throws(TemplateError) -> String {
        if let constantText { return constantText }
        return try Execution(template: self, data: data).run()
    }

    /// True when the text holds no `{{` (callers skip rendering).
    public var isConstant: Bool { constantText != nil }

    private static func containsAction(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "{") && bytes[index + 1] == UInt8(ascii: "{") { return true }
            index += 1
        }
        return false
    }

    /// The 1-based line and the 0-based byte column of `offset`, as Go reports execution errors.
    fileprivate func lineAndColumn(_ offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        var index = 0
        while index < min(offset, source.count) {
            if source[index] == 0x0A {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        return (line, offset - lineStart)
    }
}

// MARK: - Limits

extension Template {
    /// Bounds that keep any text and data from exhausting the stack, the memory or the clock.
    fileprivate enum Limits {
        /// Nesting of parentheses and control structures in the text.
        static let parseNesting = 50
        /// Nesting of pipelines, control structures and template calls while running.
        static let runNesting = 200
        /// Template calls within template calls (Go allows 100000).
        static let templateDepth = 50
        /// Nodes and loop iterations one rendering may take.
        static let steps = 1_000_000
        /// Bytes of output, and of any one string a function returns.
        static let outputBytes = 1 << 20
    }

    /// Watches how far the stack has grown since parsing or rendering began, so that deep nesting
    /// is an error rather than a crash whatever the build's frame sizes and the thread's stack.
    fileprivate struct StackGuard {
        /// Room to use below the starting point: under half of the 512 KiB some systems give secondary threads.
        /// Debug builds' frames are several times larger, so they reach it at shallower nesting.
        private static let budget: UInt = 192 * 1024
        private let origin = StackGuard.position()

        var isExhausted: Bool {
            let current = StackGuard.position()
            return origin > current && origin - current > StackGuard.budget
        }

        @inline(never)
        private static func position() -> UInt {
            var marker: UInt8 = 0
            return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
        }
    }
}

// MARK: - Tokens

extension Template {
    /// What a token is. Keywords print as `<if>` in messages, everything else quoted.
    fileprivate enum TokenKind: Equatable, Sendable {
        case error, eof, text, leftDelimiter, rightDelimiter, space, leftParenthesis, rightParenthesis
        case pipe, assign, declare, char, bool, number, complex, charConstant, string, rawString
        case identifier, field, variable
        case blockKeyword, breakKeyword, continueKeyword, dot, defineKeyword, elseKeyword, endKeyword
        case ifKeyword, nilKeyword, rangeKeyword, templateKeyword, withKeyword

        var isKeyword: Bool {
            switch self {
            case .blockKeyword, .breakKeyword, .continueKeyword, .dot, .defineKeyword, .elseKeyword, .endKeyword,
                 .ifKeyword, .nilKeyword, .rangeKeyword, .templateKeyword, .withKeyword: true
            default: false
            }
        }

        static let keywords: [String: TokenKind] = [
            "block": .blockKeyword, "break": .breakKeyword, "continue": .continueKeyword, "define": .defineKeyword,
            "else": .elseKeyword, "end": .endKeyword, "if": .ifKeyword, "nil": .nilKeyword, "range": .rangeKeyword,
            "template": .templateKeyword, "with": .withKeyword,
        ]
    }

    /// One token: its kind and where its text is.
    fileprivate struct Token: Sendable {
        var kind: TokenKind
        /// Byte offsets of the text in the source.
        var start: Int
        var end: Int
        /// The 1-based line the token starts on.
        var line: Int
        /// What went wrong, for an error token.
        var message = ""
    }

    /// Splits a template into tokens as Go's lexer does: text, then `{{`, the action's tokens and
    /// `}}`, with trim markers applied and comments dropped; the last token is EOF or an error.
    fileprivate struct Tokenizer {
        private let input: [UInt8]
        private var tokens: [Token] = []
        /// Where scanning is, and where the pending token starts.
        private var position = 0
        private var start = 0
        /// How deep in `( )` the current action is.
        private var parenDepth = 0
        /// The line `lineOffset` is on; both only move forward, as token starts do.
        private var lineOffset = 0
        private var lineNumber = 1

        static func tokens(of input: [UInt8]) -> [Token] {
            var tokenizer = Tokenizer(input: input)
            tokenizer.run()
            return tokenizer.tokens
        }

        private init(input: [UInt8]) {
            self.input = input
        }

        private mutating func run() {
            while true {
                guard let open = find(UInt8(ascii: "{"), UInt8(ascii: "{"), from: position) else {
                    position = input.count
                    if position > start { emit(.text) }
                    emit(.eof)
                    return
                }
                let trimsLeft = hasLeftTrimMarker(at: open + 2)
                var textEnd = open
                if trimsLeft {
                    while textEnd > start && isSpace(input[textEnd - 1]) { textEnd -= 1 }
                }
                if textEnd > start { emit(.text, from: start, to: textEnd) }
                let afterMarker = open + (trimsLeft ? 4 : 2)
                if pair(UInt8(ascii: "/"), UInt8(ascii: "*"), at: afterMarker) {
                    start = afterMarker
                    position = afterMarker + 2
                    guard skipComment() else { return }
                    continue
                }
                emit(.leftDelimiter, from: open, to: open + 2)
                position = afterMarker
                start = position
                parenDepth = 0
                guard scanAction() else { return }
            }
        }

        private mutating func skipComment() -> Bool {
            guard let close = find(UInt8(ascii: "*"), UInt8(ascii: "/"), from: position) else {
                fail("unclosed comment")
                return false
            }
            position = close + 2
            let (isDelimiter, trims) = rightDelimiter(at: position)
            guard isDelimiter else {
                fail("comment ends before closing delimiter")
                return false
            }
            position += trims ? 4 : 2
            if trims { skipSpaces() }
            start = position
            return true
        }

        /// Scans the inside of an action up to and including `}}`; false after an error.
        private mutating func scanAction() -> Bool {
            while true {
                let (isDelimiter, trims) = rightDelimiter(at: position)
                if isDelimiter {
                    guard parenDepth == 0 else {
                        fail("unclosed left paren")
                        return false
                    }
                    if trims {
                        position += 2
                        start = position
                    }
                    position += 2
                    emit(.rightDelimiter)
                    if trims {
                        skipSpaces()
                        start = position
                    }
                    return true
                }
                guard position < input.count else {
                    fail("unclosed action")
                    return false
                }
                guard scanActionToken(input[position]) else { return false }
            }
        }

        private mutating func scanActionToken(_ byte: UInt8) -> Bool {
            switch byte {
            case 0x20, 0x09, 0x0D, 0x0A:
                scanSpaces()
            case UInt8(ascii: "="):
                position += 1
                emit(.assign)
            case UInt8(ascii: ":"):
                position += 1
                guard position < input.count, input[position] == UInt8(ascii: "=") else {
                    fail("expected :=")
                    return false
                }
                position += 1
                emit(.declare)
            case UInt8(ascii: "|"):
                position += 1
                emit(.pipe)
            case UInt8(ascii: "\""):
                return scanQuoted(byte, as: .string, unterminated: "unterminated quoted string")
            case UInt8(ascii: "'"):
                return scanQuoted(byte, as: .charConstant, unterminated: "unterminated character constant")
            case UInt8(ascii: "`"):
                position += 1
                while position < input.count && input[position] != UInt8(ascii: "`") { position += 1 }
                guard position < input.count else {
                    fail("unterminated raw quoted string")
                    return false
                }
                position += 1
                emit(.rawString)
            case UInt8(ascii: "$"):
                position += 1
                return scanFieldOrVariable(.variable)
            case UInt8(ascii: "."):
                // ".5" is a number, ".x" a field.
                if position + 1 < input.count && !isDigit(input[position + 1]) {
                    position += 1
                    return scanFieldOrVariable(.field)
                }
                return scanNumber()
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return scanNumber()
            case UInt8(ascii: "("):
                position += 1
                parenDepth += 1
                emit(.leftParenthesis)
            case UInt8(ascii: ")"):
                position += 1
                parenDepth -= 1
                guard parenDepth >= 0 else {
                    fail("unexpected right paren")
                    return false
                }
                emit(.rightParenthesis)
            default:
                let (scalar, width) = self.scalar(at: position)
                if Runes.isAlphaNumeric(scalar) { return scanIdentifier() }
                guard scalar.value > 0x20 && scalar.value < 0x7F else {
                    fail("unrecognized character in action: \(Runes.describe(scalar))")
                    return false
                }
                position += width
                emit(.char)
            }
            return true
        }

        /// A run of spaces, minding a trim-marked `}}` that starts with the last of them.
        private mutating func scanSpaces() {
            var count = 0
            while position < input.count && isSpace(input[position]) {
                position += 1
                count += 1
            }
            if position < input.count && input[position] == UInt8(ascii: "-")
                && pair(UInt8(ascii: "}"), UInt8(ascii: "}"), at: position + 1) {
                position -= 1
                if count == 1 { return }
            }
            emit(.space)
        }

        private mutating func scanQuoted(_ quote: UInt8, as kind: TokenKind, unterminated: String) -> Bool {
            position += 1
            while position < input.count {
                let byte = input[position]
                position += 1
                if byte == UInt8(ascii: "\\") {
                    guard position < input.count, input[position] != 0x0A else { break }
                    position += 1
                } else if byte == 0x0A {
                    break
                } else if byte == quote {
                    emit(kind)
                    return true
                }
            }
            fail(unterminated)
            return false
        }

        /// `.Name` or `$name`, with `position` past the `.` or `$`; a lone `.` is dot, a lone `$` the root variable.
        private mutating func scanFieldOrVariable(_ kind: TokenKind) -> Bool {
            if atTerminator() {
                emit(kind == .variable ? .variable : .dot)
                return true
            }
            skipAlphaNumerics()
            guard atTerminator() else {
                fail("bad character \(Runes.describe(scalar(at: position).0))")
                return false
            }
            emit(kind)
            return true
        }

        private mutating func scanIdentifier() -> Bool {
            skipAlphaNumerics()
            guard atTerminator() else {
                fail("bad character \(Runes.describe(scalar(at: position).0))")
                return false
            }
            let word = String(decoding: input[start..<position], as: UTF8.self)
            if let keyword = TokenKind.keywords[word] {
                emit(keyword)
            } else if word == "true" || word == "false" {
                emit(.bool)
            } else {
                emit(.identifier)
            }
            return true
        }

        private mutating func scanNumber() -> Bool {
            guard scanNumberText() else {
                fail("bad number syntax: \(GoText.quote(String(decoding: input[start..<position], as: UTF8.self)))")
                return false
            }
            if position < input.count && (input[position] == UInt8(ascii: "+") || input[position] == UInt8(ascii: "-")) {
                // A complex constant such as 1+2i: no spaces, ends in i.
                guard scanNumberText(), input[position - 1] == UInt8(ascii: "i") else {
                    fail("bad number syntax: \(GoText.quote(String(decoding: input[start..<position], as: UTF8.self)))")
                    return false
                }
                emit(.complex)
            } else {
                emit(.number)
            }
            return true
        }

        /// Go's scanNumber: sign, base prefix, digits with underscores, fraction, exponent, `i`.
        private mutating func scanNumberText() -> Bool {
            _ = accept("+-")
            var digits = "0123456789_"
            var exponent = "eE"
            if accept("0") {
                if accept("xX") {
                    digits = "0123456789abcdefABCDEF_"
                    exponent = "pP"
                } else if accept("oO") {
                    digits = "01234567_"
                    exponent = ""
                } else if accept("bB") {
                    digits = "01_"
                    exponent = ""
                }
            }
            while accept(digits) {}
            if accept(".") {
                while accept(digits) {}
            }
            if !exponent.isEmpty && accept(exponent) {
                _ = accept("+-")
                while accept("0123456789_") {}
            }
            _ = accept("i")
            if position < input.count {
                let (scalar, width) = self.scalar(at: position)
                if Runes.isAlphaNumeric(scalar) {
                    position += width
                    return false
                }
            }
            return true
        }

        // MARK: Helpers

        private mutating func accept(_ set: String) -> Bool {
            guard position < input.count, set.utf8.contains(input[position]) else { return false }
            position += 1
            return true
        }

        private mutating func skipAlphaNumerics() {
            while position < input.count {
                let (scalar, width) = self.scalar(at: position)
                guard Runes.isAlphaNumeric(scalar) else { return }
                position += width
            }
        }

        private mutating func skipSpaces() {
            while position < input.count && isSpace(input[position]) { position += 1 }
        }

        private func atTerminator() -> Bool {
            guard position < input.count else { return true }
            switch input[position] {
            case 0x20, 0x09, 0x0D, 0x0A, UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: "|"), UInt8(ascii: ":"),
                 UInt8(ascii: ")"), UInt8(ascii: "("), UInt8(ascii: "}"):
                return true
            default:
                return false
            }
        }

        private func isSpace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
        }

        private func isDigit(_ byte: UInt8) -> Bool {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        }

        private func pair(_ first: UInt8, _ second: UInt8, at offset: Int) -> Bool {
            offset >= 0 && offset + 1 < input.count && input[offset] == first && input[offset + 1] == second
        }

        private func find(_ first: UInt8, _ second: UInt8, from offset: Int) -> Int? {
            var index = offset
            while index + 1 < input.count {
                if input[index] == first && input[index + 1] == second { return index }
                index += 1
            }
            return nil
        }

        /// `- ` after `{{`.
        private func hasLeftTrimMarker(at offset: Int) -> Bool {
            offset + 1 < input.count && input[offset] == UInt8(ascii: "-") && isSpace(input[offset + 1])
        }

        /// Whether `}}` starts at `offset`, possibly after a ` -` trim marker.
        private func rightDelimiter(at offset: Int) -> (Bool, trims: Bool) {
            if offset + 1 < input.count && isSpace(input[offset]) && input[offset + 1] == UInt8(ascii: "-")
                && pair(UInt8(ascii: "}"), UInt8(ascii: "}"), at: offset + 2) {
                return (true, true)
            }
            return (pair(UInt8(ascii: "}"), UInt8(ascii: "}"), at: offset), false)
        }

        private func scalar(at offset: Int) -> (Unicode.Scalar, Int) {
            guard offset < input.count else { return ("\u{FFFD}", 0) }
            let lead = input[offset]
            if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
            var decoder = UTF8()
            var iterator = input[offset...].makeIterator()
            if case .scalarValue(let scalar) = decoder.decode(&iterator) { return (scalar, UTF8.width(scalar)) }
            return ("\u{FFFD}", 1)
        }

        private mutating func line(at offset: Int) -> Int {
            while lineOffset < offset {
                if input[lineOffset] == 0x0A { lineNumber += 1 }
                lineOffset += 1
            }
            return lineNumber
        }

        private mutating func emit(_ kind: TokenKind, from: Int, to: Int) {
            tokens.append(Token(kind: kind, start: from, end: to, line: line(at: from)))
        }

        private mutating func emit(_ kind: TokenKind) {
            emit(kind, from: start, to: position)
            start = position
        }

        private mutating func fail(_ message: String) {
            tokens.append(Token(kind: .error, start: start, end: start, line: line(at: start), message: message))
        }
    }
}

// MARK: - Syntax tree

extension Template {
    /// A node of a template's body.
    fileprivate indirect enum Node: Sendable {
        case text([UInt8])
        /// `{{pipeline}}`: prints the value unless the pipeline declares variables.
        case action(Pipeline)
        /// `{{if}}` or `{{with}}` (which also sets dot), with an optional `{{else}}` list.
        case conditional(isWith: Bool, Pipeline, [Node], [Node]?)
        case range(Pipeline, [Node], [Node]?)
        /// `{{template "name" pipeline}}`, also what `{{block}}` leaves in place.
        case call(name: String, Pipeline?, position: Int)
        case breakLoop
        case continueLoop
    }

    /// `$x := command | command ...`.
    fileprivate struct Pipeline: Sendable {
        /// Byte offset of the first token.
        var position: Int
        var declarations: [String] = []
        /// `=` rather than `:=`.
        var isAssign = false
        var commands: [Command] = []
    }

    /// A function or value with its arguments.
    fileprivate struct Command: Sendable {
        var position: Int
        var arguments: [Argument]
    }

    /// An operand; each carries the byte offset it starts at.
    fileprivate indirect enum Argument: Sendable {
        case dot(Int)
        case nilValue(Int)
        case bool(Bool, Int)
        case number(NumberLiteral, Int)
        case string(String, quoted: String, Int)
        /// `.A.B`
        case field([String], Int)
        /// `$x.A.B`
        case variable(String, [String], Int)
        case function(String, Int)
        case pipeline(Pipeline)
        /// `(pipeline).A.B`
        case chain(Argument, [String], Int)
    }

    /// A number as written, with the values Go's parser derives from it.
    fileprivate struct NumberLiteral: Sendable {
        var text: String
        var integer: Int64?
        var float: Double?
        /// Go evaluates a constant as float64 only when it looks like one: `1.0`, `1e3`.
        var looksFloat = false
    }
}

extension Template.Argument {
    var position: Int {
        switch self {
        case .dot(let position), .nilValue(let position), .bool(_, let position), .number(_, let position),
             .string(_, _, let position), .field(_, let position), .variable(_, _, let position),
             .function(_, let position), .chain(_, _, let position):
            return position
        case .pipeline(let pipeline):
            return pipeline.position
        }
    }

    /// The operand as Go prints it in messages.
    var description: String {
        switch self {
        case .dot: return "."
        case .nilValue: return "nil"
        case .bool(let value, _): return value ? "true" : "false"
        case .number(let number, _): return number.text
        case .string(_, let quoted, _): return quoted
        case .field(let names, _): return names.map { "." + $0 }.joined()
        case .variable(let name, let names, _): return name + names.map { "." + $0 }.joined()
        case .function(let name, _): return name
        case .pipeline(let pipeline): return pipeline.description
        case .chain(let node, let names, _):
            let base = if case .pipeline = node { "(" + node.description + ")" } else { node.description }
            return base + names.map { "." + $0 }.joined()
        }
    }
}

extension Template.Command {
    var description: String {
        arguments.map { argument in
            if case .pipeline = argument { return "(" + argument.description + ")" }
            return argument.description
        }.joined(separator: " ")
    }
}

extension Template.Pipeline {
    var description: String {
        let declared = declarations.isEmpty ? "" : declarations.joined(separator: ", ") + " := "
        return declared + commands.map(\.description).joined(separator: " | ")
    }
}

// MARK: - Parser

extension Template {
    /// What parsing one item of a list gives: a node, or the `{{end}}` or `{{else}}` that ends the list.
    fileprivate enum ListItem {
        case node(Node)
        case end
        case elseClause

        var description: String {
            switch self {
            case .end: "{{end}}"
            case .elseClause: "{{else}}"
            case .node: "node"
            }
        }
    }

    /// Go's text/template parser: builds the trees and reports the first error with Go's wording.
    fileprivate struct SyntaxParser {
        private let source: [UInt8]
        private let name: String
        private let tokens: [Token]
        private var index = 0
        /// The furthest token read: Go reports errors on its line.
        private var furthest = 0
        /// Variables in scope, innermost last.
        private var variables = ["$", "$labels", "$externalLabels", "$externalURL", "$value"]
        private var rangeDepth = 0
        private var nesting = 0
        /// The line of the `{{` of the action being parsed, for lexical errors that span lines.
        private var actionLine = 0
        private var trees: [String: [Node]] = [:]
        private let stack = StackGuard()

        init(source: [UInt8], name: String) {
            self.source = source
            self.name = name
            tokens = Tokenizer.tokens(of: source)
        }

        /// Parses the whole text; returns every template by name.
        mutating func parseTemplate() throws(TemplateError) -> [String: [Node]] {
            var root: [Node] = []
            while peek().kind != .eof {
                if peek().kind == .leftDelimiter {
                    let delimiterIndex = index
                    _ = next()
                    if nextNonSpace().kind == .defineKeyword {
                        try parseDefinition()
                        continue
                    }
                    index = delimiterIndex
                }
                switch try textOrAction() {
                case .node(let node): root.append(node)
                case let item: throw fail("unexpected \(item.description)")
                }
            }
            try add(name, root)
            return trees
        }

        // MARK: Token stream

        private mutating func next() -> Token {
            let current = min(index, tokens.count - 1)
            furthest = max(furthest, current)
            index += 1
            return tokens[current]
        }

        private mutating func peek() -> Token {
            let token = next()
            index -= 1
            return token
        }

        private mutating func nextNonSpace() -> Token {
            var token = next()
            while token.kind == .space { token = next() }
            return token
        }

        private mutating func peekNonSpace() -> Token {
            let token = nextNonSpace()
            index -= 1
            return token
        }

        private func text(_ token: Token) -> String {
            String(decoding: source[token.start..<token.end], as: UTF8.self)
        }

        private func fail(_ message: String) -> TemplateError {
            TemplateError("template: \(name):\(tokens[furthest].line): \(message)")
        }

        private func unexpected(_ token: Token, _ context: String) -> TemplateError {
            guard token.kind == .error else { return fail("unexpected \(describe(token)) in \(context)") }
            var extra = ""
            if actionLine != 0 && actionLine != token.line {
                extra = token.message.hasSuffix(" action") ? " started at \(name):\(actionLine)" : " in action started at \(name):\(actionLine)"
            }
            return fail(token.message + extra)
        }

        /// A token as Go's messages show it: `EOF`, `<if>`, or quoted (cut after ten characters).
        private func describe(_ token: Token) -> String {
            switch token.kind {
            case .eof: return "EOF"
            case .error: return token.message
            default:
                let value = text(token)
                if token.kind.isKeyword { return "<\(value)>" }
                if token.end - token.start > 10 { return GoText.quote(String(String.UnicodeScalarView(value.unicodeScalars.prefix(10)))) + "..." }
                return GoText.quote(value)
            }
        }

        private mutating func enter() throws(TemplateError) {
            guard nesting < Limits.parseNesting && !stack.isExhausted else { throw fail("max expression depth exceeded") }
            nesting += 1
        }

        // MARK: Templates and lists

        /// Adds a template, replacing one that is empty; two non-empty ones with one name are an error.
        private mutating func add(_ templateName: String, _ body: [Node]) throws(TemplateError) {
            if let existing = trees[templateName], !Self.isEmpty(existing) {
                guard Self.isEmpty(body) else { throw fail("template: multiple definition of template \(GoText.quote(templateName))") }
                return
            }
            trees[templateName] = body
        }

        private static func isEmpty(_ body: [Node]) -> Bool {
            body.allSatisfy { node in
                guard case .text(let bytes) = node else { return false }
                return String(decoding: bytes, as: UTF8.self).unicodeScalars.allSatisfy(\.properties.isWhitespace)
            }
        }

        /// `{{define "name"}} ... {{end}}`, with the `define` read; its body sees only `$`.
        private mutating func parseDefinition() throws(TemplateError) {
            let nameToken = nextNonSpace()
            guard nameToken.kind == .string || nameToken.kind == .rawString else { throw unexpected(nameToken, "define clause") }
            let definitionName = try unquote(nameToken)
            let close = nextNonSpace()
            guard close.kind == .rightDelimiter else { throw unexpected(close, "define clause") }
            let body = try separateBody(context: "define clause")
            try add(definitionName, body)
        }

        /// The body of a `define` or `block`: a list up to `{{end}}`, in a scope of its own.
        private mutating func separateBody(context: String) throws(TemplateError) -> [Node] {
            let saved = (variables, rangeDepth)
            variables = ["$"]
            rangeDepth = 0
            let (body, end) = try itemList()
            guard case .end = end else { throw fail("unexpected \(end.description) in \(context)") }
            (variables, rangeDepth) = saved
            return body
        }

        private mutating func itemList() throws(TemplateError) -> ([Node], ListItem) {
            var list: [Node] = []
            while peekNonSpace().kind != .eof {
                let item = try textOrAction()
                guard case .node(let node) = item else { return (list, item) }
                list.append(node)
            }
            throw fail("unexpected EOF")
        }

        private mutating func textOrAction() throws(TemplateError) -> ListItem {
            let token = nextNonSpace()
            switch token.kind {
            case .text:
                return .node(.text(Array(source[token.start..<token.end])))
            case .leftDelimiter:
                actionLine = token.line
                defer { actionLine = 0 }
                return try action()
            default:
                throw unexpected(token, "input")
            }
        }

        private mutating func action() throws(TemplateError) -> ListItem {
            let token = nextNonSpace()
            switch token.kind {
            case .blockKeyword: return .node(try blockControl())
            case .breakKeyword: return .node(try loopControl(isBreak: true))
            case .continueKeyword: return .node(try loopControl(isBreak: false))
            case .elseKeyword: return try elseControl()
            case .endKeyword:
                let close = nextNonSpace()
                guard close.kind == .rightDelimiter else { throw unexpected(close, "end") }
                return .end
            case .ifKeyword: return .node(try conditional(isWith: false))
            case .rangeKeyword:
                let (pipeline, list, elseList) = try parseControl("range")
                return .node(.range(pipeline, list, elseList))
            case .templateKeyword: return .node(try templateControl())
            case .withKeyword: return .node(try conditional(isWith: true))
            default:
                index -= 1
                return .node(.action(try pipeline("command", end: .rightDelimiter)))
            }
        }

        // MARK: Control structures

        private mutating func conditional(isWith: Bool) throws(TemplateError) -> Node {
            let (pipeline, list, elseList) = try parseControl(isWith ? "with" : "if")
            return .conditional(isWith: isWith, pipeline, list, elseList)
        }

        private mutating func parseControl(_ context: String) throws(TemplateError) -> (Pipeline, [Node], [Node]?) {
            try enter()
            defer { nesting -= 1 }
            let mark = variables.count
            defer { variables.removeLast(variables.count - mark) }
            let pipe = try pipeline(context, end: .rightDelimiter)
            if context == "range" { rangeDepth += 1 }
            let (list, next) = try itemList()
            if context == "range" { rangeDepth -= 1 }
            guard case .elseClause = next else { return (pipe, list, nil) }
            // "{{else if ...}}" and "{{else with ...}}" are "{{else}}{{if ...}}...{{end}}{{end}}" with one {{end}}.
            if context == "if" && peek().kind == .ifKeyword {
                _ = self.next()
                return (pipe, list, [try conditional(isWith: false)])
            }
            if context == "with" && peek().kind == .withKeyword {
                _ = self.next()
                return (pipe, list, [try conditional(isWith: true)])
            }
            let (elseList, end) = try itemList()
            guard case .end = end else { throw fail("expected end; found \(end.description)") }
            return (pipe, list, elseList)
        }

        private mutating func elseControl() throws(TemplateError) -> ListItem {
            let following = peekNonSpace()
            if following.kind == .ifKeyword || following.kind == .withKeyword { return .elseClause }
            let close = nextNonSpace()
            guard close.kind == .rightDelimiter else { throw unexpected(close, "else") }
            return .elseClause
        }

        private mutating func loopControl(isBreak: Bool) throws(TemplateError) -> Node {
            let keyword = isBreak ? "{{break}}" : "{{continue}}"
            let close = nextNonSpace()
            guard close.kind == .rightDelimiter else { throw unexpected(close, keyword) }
            guard rangeDepth > 0 else { throw fail("\(keyword) outside {{range}}") }
            return isBreak ? .breakLoop : .continueLoop
        }

        private mutating func blockControl() throws(TemplateError) -> Node {
            let token = nextNonSpace()
            let blockName = try templateName(token, context: "block clause")
            let pipe = try pipeline("block clause", end: .rightDelimiter)
            try enter()
            defer { nesting -= 1 }
            try add(blockName, try separateBody(context: "block clause"))
            return .call(name: blockName, pipe, position: token.start)
        }

        private mutating func templateControl() throws(TemplateError) -> Node {
            let token = nextNonSpace()
            let calledName = try templateName(token, context: "template clause")
            var pipe: Pipeline?
            if nextNonSpace().kind != .rightDelimiter {
                index -= 1
                pipe = try pipeline("template clause", end: .rightDelimiter)
            }
            return .call(name: calledName, pipe, position: token.start)
        }

        private mutating func templateName(_ token: Token, context: String) throws(TemplateError) -> String {
            guard token.kind == .string || token.kind == .rawString else { throw unexpected(token, context) }
            return try unquote(token)
        }

        // MARK: Pipelines

        private mutating func pipeline(_ context: String, end: TokenKind) throws(TemplateError) -> Pipeline {
            var pipe = Pipeline(position: peekNonSpace().start)
            declarations: while peekNonSpace().kind == .variable {
                let variableIndex = index
                let variable = next()
                _ = peek()
                let following = peekNonSpace()
                let variableName = text(variable)
                if following.kind == .assign || following.kind == .declare {
                    pipe.isAssign = following.kind == .assign
                    _ = nextNonSpace()
                    pipe.declarations.append(variableName)
                    variables.append(variableName)
                } else if following.kind == .char && text(following) == "," {
                    _ = nextNonSpace()
                    pipe.declarations.append(variableName)
                    variables.append(variableName)
                    if context == "range" && pipe.declarations.count < 2 {
                        switch peekNonSpace().kind {
                        case .variable, .rightDelimiter, .rightParenthesis: continue declarations
                        default: throw fail("range can only initialize variables")
                        }
                    }
                    throw fail("too many declarations in \(context)")
                } else {
                    index = variableIndex
                }
                break
            }
            while true {
                let token = nextNonSpace()
                if token.kind == end {
                    try checkPipeline(pipe, context)
                    return pipe
                }
                switch token.kind {
                case .bool, .charConstant, .complex, .dot, .field, .identifier, .number, .nilKeyword, .rawString, .string,
                     .variable, .leftParenthesis:
                    index -= 1
                    pipe.commands.append(try command())
                default:
                    throw unexpected(token, context)
                }
            }
        }

        private func checkPipeline(_ pipe: Pipeline, _ context: String) throws(TemplateError) {
            guard !pipe.commands.isEmpty else { throw fail("missing value for \(context)") }
            for (stage, command) in pipe.commands.enumerated().dropFirst() {
                switch command.arguments[0] {
                case .bool, .dot, .nilValue, .number, .string:
                    throw fail("non executable command in pipeline stage \(stage + 1)")
                default:
                    break
                }
            }
        }

        private mutating func command() throws(TemplateError) -> Command {
            var command = Command(position: peekNonSpace().start, arguments: [])
            while true {
                _ = peekNonSpace()
                if let operand = try operand() { command.arguments.append(operand) }
                let token = next()
                switch token.kind {
                case .space: continue
                case .rightDelimiter, .rightParenthesis: index -= 1
                case .pipe: break
                default: throw unexpected(token, "operand")
                }
                break
            }
            guard !command.arguments.isEmpty else { throw fail("empty command") }
            return command
        }

        /// A term and any `.Field`s after it.
        private mutating func operand() throws(TemplateError) -> Argument? {
            guard let term = try term() else { return nil }
            guard peek().kind == .field else { return term }
            let position = peek().start
            var names: [String] = []
            while peek().kind == .field { names.append(String(text(next()).dropFirst())) }
            switch term {
            case .field(let first, _): return .field(first + names, position)
            case .variable(let variable, let first, _): return .variable(variable, first + names, position)
            case .bool, .string, .number, .nilValue, .dot: throw fail("unexpected . after term \(GoText.quote(term.description))")
            default: return .chain(term, names, position)
            }
        }

        private mutating func term() throws(TemplateError) -> Argument? {
            let token = nextNonSpace()
            let value = text(token)
            switch token.kind {
            case .identifier:
                guard Template.builtins[value] != nil || value == "and" || value == "or" else {
                    throw fail("function \(GoText.quote(value)) not defined")
                }
                return .function(value, token.start)
            case .dot:
                return .dot(token.start)
            case .nilKeyword:
                return .nilValue(token.start)
            case .variable:
                guard variables.contains(value) else { throw fail("undefined variable \(GoText.quote(value))") }
                return .variable(value, [], token.start)
            case .field:
                return .field([String(value.dropFirst())], token.start)
            case .bool:
                return .bool(value == "true", token.start)
            case .charConstant, .complex, .number:
                do {
                    return .number(try GoText.numberLiteral(value, isCharacter: token.kind == .charConstant), token.start)
                } catch {
                    throw fail(error.message)
                }
            case .leftParenthesis:
                try enter()
                defer { nesting -= 1 }
                return .pipeline(try pipeline("parenthesized pipeline", end: .rightParenthesis))
            case .string, .rawString:
                return .string(try unquote(token), quoted: value, token.start)
            default:
                index -= 1
                return nil
            }
        }

        private func unquote(_ token: Token) throws(TemplateError) -> String {
            guard let value = GoText.unquote(text(token)) else { throw fail("invalid syntax") }
            return value
        }
    }
}

// MARK: - Values

extension Template {
    /// A value as Go's reflection sees it while a template runs.
    fileprivate enum Value {
        /// Go's invalid value (a nil interface): prints `<no value>` in an action.
        case missing
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
        /// `map[string]string`, such as `.Labels`.
        case labels([String: String])
        /// `map[string]interface {}`, from `args`.
        case map([String: Value])
        /// `*template.sample`; nil is a nil pointer.
        case sample(TemplateSample?)
        /// `template.queryResult`, from `query`.
        case samples([TemplateSample])
        /// `*time.Time`, from `toTime`.
        case time(GoTime)
        /// The data the template runs on, a struct to Go.
        case data(TemplateData)

        /// Go's type name, as `%T` and messages print it.
        var typeName: String {
            switch self {
            case .missing: "<nil>"
            case .bool: "bool"
            case .int: "int"
            case .float: "float64"
            case .string: "string"
            case .labels: "map[string]string"
            case .map: "map[string]interface {}"
            case .sample: "*template.sample"
            case .samples: "template.queryResult"
            case .time: "*time.Time"
            case .data: "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }"
            }
        }

        /// Truth as `if`, `with`, `and`, `or` and `not` see it: false, 0, nil and empty values are false.
        var isTrue: Bool {
            switch self {
            case .missing: false
            case .bool(let value): value
            case .int(let value): value != 0
            case .float(let value): value != 0
            case .string(let value): !value.isEmpty
            case .labels(let value): !value.isEmpty
            case .map(let value): !value.isEmpty
            case .sample(let value): value != nil
            case .samples(let value): !value.isEmpty
            case .time, .data: true
            }
        }
    }

    /// How a function wants an argument, which decides the checks and conversions Go applies.
    fileprivate enum Parameter {
        /// `interface{}` or `reflect.Value`: anything.
        case any
        case string
        /// `*template.sample`
        case sample
        /// `template.queryResult`
        case samples

        var typeName: String {
            switch self {
            case .any: "interface {}"
            case .string: "string"
            case .sample: "*template.sample"
            case .samples: "template.queryResult"
            }
        }
    }

    /// How walking a list ended.
    fileprivate enum Flow {
        case normal
        case breakLoop
        case continueLoop
    }

    /// The node an error is reported at.
    fileprivate enum Location {
        case argument(Argument)
        case command(Command)
        case pipeline(Pipeline)
        case range(Pipeline)
        case template(name: String, Pipeline?, position: Int)

        var position: Int {
            switch self {
            case .argument(let argument): argument.position
            case .command(let command): command.position
            case .pipeline(let pipeline), .range(let pipeline): pipeline.position
            case .template(_, _, let position): position
            }
        }

        /// The node as Go prints it.
        var text: String {
            switch self {
            case .argument(let argument): argument.description
            case .command(let command): command.description
            case .pipeline(let pipeline): pipeline.description
            case .range(let pipeline): "{{range \(pipeline.description)}}"
            case .template(let name, let pipeline, _): "{{template \(GoText.quote(name))\(pipeline.map { " " + $0.description } ?? "")}}"
            }
        }
    }
}

// MARK: - Execution

extension Template {
    /// One rendering: Go's exec.go state, with the variable stack and the output.
    fileprivate final class Execution {
        let template: Template
        let data: TemplateData
        private var output: [UInt8] = []
        private var variables: [(name: String, value: Value)] = []
        /// The template being run, for "executing NAME" in messages.
        private var treeName: String
        private var location: Location?
        private var templateDepth = 0
        private var nesting = 0
        private var steps = 0
        private let stack = StackGuard()

        init(template: Template, data: TemplateData) {
            self.template = template
            self.data = data
            treeName = template.name
        }

        func run() throws(TemplateError) -> String {
            variables = [
                ("$", .data(data)), ("$labels", .labels(data.labels)), ("$externalLabels", .labels(data.externalLabels)),
                ("$externalURL", .string(data.externalURL)), ("$value", .float(data.value)),
            ]
            _ = try walk(.data(data), template.trees[template.name] ?? [])
            return String(decoding: output, as: UTF8.self)
        }

        // MARK: Errors and bounds

        /// An error at the current node: `template: NAME:LINE:COL: executing "NAME" at <node>: message`.
        func failure(_ message: String) -> TemplateError {
            guard let location else { return TemplateError("template: \(treeName): \(message)") }
            let (line, column) = template.lineAndColumn(location.position)
            return TemplateError("template: \(template.name):\(line):\(column): executing \(GoText.quote(treeName)) at <\(location.text)>: \(message)")
        }

        private func at(_ argument: Argument) {
            location = .argument(argument)
        }

        private func at(_ command: Command) {
            location = .command(command)
        }

        private func at(_ pipeline: Pipeline) {
            location = .pipeline(pipeline)
        }

        private func step() throws(TemplateError) {
            steps += 1
            guard steps <= Limits.steps else { throw failure("template execution exceeds \(Limits.steps) steps") }
        }

        private func enter() throws(TemplateError) {
            guard nesting < Limits.runNesting && !stack.isExhausted else { throw failure("template nests too deeply") }
            nesting += 1
        }

        private func leave() {
            nesting -= 1
        }

        private func write(_ bytes: some Sequence<UInt8>) throws(TemplateError) {
            output.append(contentsOf: bytes)
            guard output.count <= Limits.outputBytes else { throw failure("template output exceeds \(Limits.outputBytes) bytes") }
        }

        // MARK: Variables

        private func variable(_ name: String) throws(TemplateError) -> Value {
            for entry in variables.reversed() where entry.name == name { return entry.value }
            throw failure("undefined variable: \(name)")
        }

        private func setVariable(_ name: String, _ value: Value) throws(TemplateError) {
            for index in variables.indices.reversed() where variables[index].name == name {
                variables[index].value = value
                return
            }
            throw failure("undefined variable: \(name)")
        }

        private func popVariables(to mark: Int) {
            variables.removeLast(variables.count - mark)
        }

        // MARK: Walking the tree

        private func walk(_ dot: Value, _ list: [Node]) throws(TemplateError) -> Flow {
            for node in list {
                let flow = try walk(dot, node)
                if case .normal = flow { continue }
                return flow
            }
            return .normal
        }

        private func walk(_ dot: Value, _ node: Node) throws(TemplateError) -> Flow {
            try step()
            switch node {
            case .text(let bytes):
                try write(bytes)
            case .action(let pipeline):
                let value = try evalPipeline(dot, pipeline)
                if pipeline.declarations.isEmpty { try write(GoFormat.printable(value).utf8) }
            case .conditional(let isWith, let pipeline, let list, let elseList):
                try enter()
                defer { leave() }
                let mark = variables.count
                defer { popVariables(to: mark) }
                let value = try evalPipeline(dot, pipeline)
                if value.isTrue { return try walk(isWith ? value : dot, list) }
                if let elseList { return try walk(dot, elseList) }
            case .range(let pipeline, let list, let elseList):
                return try walkRange(dot, pipeline, list, elseList)
            case .call(let name, let pipeline, let position):
                try walkTemplate(dot, name, pipeline, position)
            case .breakLoop:
                return .breakLoop
            case .continueLoop:
                return .continueLoop
            }
            return .normal
        }

        private func walkRange(_ dot: Value, _ pipeline: Pipeline, _ list: [Node], _ elseList: [Node]?) throws(TemplateError) -> Flow {
            try enter()
            defer { leave() }
            let mark = variables.count
            defer { popVariables(to: mark) }
            let value = try evalPipeline(dot, pipeline)
            location = .range(pipeline)
            let bodyMark = variables.count
            var ran = false
            func iterate(_ index: Value, _ element: Value) throws(TemplateError) -> Bool {
                ran = true
                try step()
                try bindRangeVariables(pipeline, index, element)
                defer { popVariables(to: bodyMark) }
                if case .breakLoop = try walk(element, list) { return false }
                return true
            }
            switch value {
            case .samples(let samples):
                for (index, sample) in samples.enumerated() {
                    guard try iterate(.int(index), .sample(sample)) else { break }
                }
            case .labels(let labels):
                for key in GoText.sortedKeys(labels) {
                    guard try iterate(.string(key), .string(labels[key] ?? "")) else { break }
                }
            case .map(let map):
                for key in GoText.sortedKeys(map) {
                    guard try iterate(.string(key), map[key] ?? .missing) else { break }
                }
            case .int(let count):
                guard pipeline.declarations.count < 2 else { throw failure("can't use \(count) to iterate over more than one variable") }
                var index = 0
                while index < count {
                    guard try iterate(.int(index), .int(index)) else { break }
                    index += 1
                }
            case .missing:
                break
            default:
                throw failure("range can't iterate over \(GoFormat.string(value))")
            }
            if !ran, let elseList { return try walk(dot, elseList) }
            return .normal
        }

        /// Sets `$index, $element` (or just `$element`) for one iteration, as Go's walkRange does.
        private func bindRangeVariables(_ pipeline: Pipeline, _ index: Value, _ element: Value) throws(TemplateError) {
            let declarations = pipeline.declarations
            if !declarations.isEmpty {
                if pipeline.isAssign {
                    try setVariable(declarations[0], declarations.count > 1 ? index : element)
                } else {
                    variables[variables.count - 1].value = element
                }
            }
            if declarations.count > 1 {
                if pipeline.isAssign {
                    try setVariable(declarations[1], element)
                } else {
                    variables[variables.count - 2].value = index
                }
            }
        }

        private func walkTemplate(_ dot: Value, _ name: String, _ pipeline: Pipeline?, _ position: Int) throws(TemplateError) {
            location = .template(name: name, pipeline, position: position)
            guard let body = template.trees[name] else { throw failure("template \(GoText.quote(name)) not defined") }
            guard templateDepth < Limits.templateDepth else { throw failure("exceeded maximum template depth (\(Limits.templateDepth))") }
            let newDot = if let pipeline { try evalPipeline(dot, pipeline) } else { Value.missing }
            let saved = (variables, treeName)
            variables = [("$", newDot)]
            treeName = name
            templateDepth += 1
            defer {
                (variables, treeName) = saved
                templateDepth -= 1
            }
            try enter()
            defer { leave() }
            _ = try walk(newDot, body)
        }

        // MARK: Pipelines and commands

        private func evalPipeline(_ dot: Value, _ pipeline: Pipeline) throws(TemplateError) -> Value {
            try enter()
            defer { leave() }
            at(pipeline)
            var value: Value?
            for command in pipeline.commands { value = try evalCommand(dot, command, final: value) }
            let result = value ?? .missing
            for name in pipeline.declarations {
                if pipeline.isAssign {
                    try setVariable(name, result)
                } else {
                    variables.append((name, result))
                }
            }
            return result
        }

        /// Runs a command; `final` is the previous command's value in a pipeline (nil for the first).
        private func evalCommand(_ dot: Value, _ command: Command, final: Value?) throws(TemplateError) -> Value {
            let first = command.arguments[0]
            switch first {
            case .field(let names, _):
                at(first)
                return try evalFieldChain(dot, receiver: dot, names, arguments: command.arguments, final: final)
            case .chain(let base, let names, _):
                return try evalChain(dot, first, base, names, arguments: command.arguments, final: final)
            case .function(let name, _):
                return try evalFunction(dot, name, first, command: command, final: final)
            case .pipeline(let pipeline):
                try notAFunction(command.arguments, final)
                return try evalPipeline(dot, pipeline)
            case .variable(let name, let names, _):
                at(first)
                let value = try variable(name)
                guard !names.isEmpty else {
                    try notAFunction(command.arguments, final)
                    return value
                }
                return try evalFieldChain(dot, receiver: value, names, arguments: command.arguments, final: final)
            default:
                break
            }
            at(first)
            try notAFunction(command.arguments, final)
            switch first {
            case .bool(let value, _): return .bool(value)
            case .dot: return dot
            case .nilValue: throw failure("nil is not a command")
            case .number(let number, _): return try constant(number)
            case .string(let value, _, _): return .string(value)
            default: throw failure("can't evaluate command \(GoText.quote(first.description))")
            }
        }

        private func notAFunction(_ arguments: [Argument], _ final: Value?) throws(TemplateError) {
            if arguments.count > 1 || final != nil {
                throw failure("can't give argument to non-function \(arguments[0].description)")
            }
        }

        /// A number constant with no type to go by: float64 if it looks like one, else int.
        private func constant(_ number: NumberLiteral) throws(TemplateError) -> Value {
            if number.looksFloat, let float = number.float { return .float(float) }
            if let integer = number.integer, let value = Int(exactly: integer) { return .int(value) }
            throw failure("\(number.text) overflows int")
        }

        private func evalChain(_ dot: Value, _ node: Argument, _ base: Argument, _ names: [String], arguments: [Argument], final: Value?) throws(TemplateError) -> Value {
            if case .nilValue = base { throw failure("indirection through explicit nil in \(node.description)") }
            // Go reports errors past this point at the last node evaluated, not at the chain.
            let receiver = try evalArgument(dot, .any, base)
            return try evalFieldChain(dot, receiver: receiver, names, arguments: arguments, final: final)
        }

        private func evalFieldChain(_ dot: Value, receiver: Value, _ names: [String], arguments: [Argument], final: Value?) throws(TemplateError) -> Value {
            var value = receiver
            for name in names.dropLast() { value = try evalField(dot, name, receiver: value, arguments: [], final: nil) }
            return try evalField(dot, names[names.count - 1], receiver: value, arguments: arguments, final: final)
        }

        /// `.Name` on a value: a struct field, a map key (missing keys give the zero value), or a method.
        private func evalField(_ dot: Value, _ name: String, receiver: Value, arguments: [Argument], final: Value?) throws(TemplateError) -> Value {
            let hasArguments = arguments.count > 1 || final != nil
            switch receiver {
            case .missing:
                return .missing
            case .time(let time):
                guard let method = GoTime.methods[name] else { break }
                return try evalCall(dot, method.signature, name, arguments: arguments.dropFirst(), final: final, errorsAt: nil) { _, values throws(TemplateError) in
                    try method.body(time, values)
                }
            case .data(let root):
                let field: Value? = switch name {
                case "Labels": .labels(root.labels)
                case "ExternalLabels": .labels(root.externalLabels)
                case "ExternalURL": .string(root.externalURL)
                case "Value": .float(root.value)
                default: nil
                }
                guard let field else { break }
                if hasArguments { throw failure("\(name) has arguments but cannot be invoked as function") }
                return field
            case .labels(let labels):
                if hasArguments { throw failure("\(name) is not a method but has arguments") }
                return .string(labels[name] ?? "")
            case .map(let map):
                if hasArguments { throw failure("\(name) is not a method but has arguments") }
                return map[name] ?? .missing
            case .sample(let sample):
                guard name == "Labels" || name == "Value" else { break }
                guard let sample else { throw failure("nil pointer evaluating *template.sample.\(name)") }
                if hasArguments { throw failure("\(name) has arguments but cannot be invoked as function") }
                return name == "Labels" ? .labels(sample.labels) : .float(sample.value)
            default:
                break
            }
            throw failure("can't evaluate field \(name) in type \(receiver.typeName)")
        }

        private func evalFunction(_ dot: Value, _ name: String, _ node: Argument, command: Command, final: Value?) throws(TemplateError) -> Value {
            at(node)
            let arguments = command.arguments.dropFirst()
            if name == "and" || name == "or" { return try evalShortCircuit(dot, name, arguments, final: final) }
            guard let function = Template.builtins[name] else { throw failure("\(GoText.quote(name)) is not a defined function") }
            return try evalCall(dot, function.signature, name, arguments: arguments, final: final, errorsAt: .command(command), function.body)
        }

        /// `and` and `or` stop at the first argument that decides, and return it.
        private func evalShortCircuit(_ dot: Value, _ name: String, _ arguments: ArraySlice<Argument>, final: Value?) throws(TemplateError) -> Value {
            guard !arguments.isEmpty || final != nil else { throw failure("wrong number of args for \(name): want at least 1 got 0") }
            var value = Value.missing
            for argument in arguments {
                value = try evalArgument(dot, .any, argument)
                if value.isTrue == (name == "or") { return value }
            }
            return final ?? value
        }

        /// Checks the count, evaluates and checks each argument against the signature, then calls `body`.
        private func evalCall(_ dot: Value, _ signature: Signature, _ name: String, arguments: ArraySlice<Argument>, final: Value?,
                              errorsAt command: Location?, _ body: (Execution, [Value]) throws(TemplateError) -> Value) throws(TemplateError) -> Value {
            let count = arguments.count + (final == nil ? 0 : 1)
            let fixed = signature.parameters
            if signature.variadic != nil {
                guard count >= fixed.count else { throw failure("wrong number of args for \(name): want at least \(fixed.count) got \(arguments.count)") }
            } else if count != fixed.count {
                throw failure("wrong number of args for \(name): want \(fixed.count) got \(count)")
            }
            var values: [Value] = []
            for (offset, argument) in arguments.enumerated() {
                values.append(try evalArgument(dot, offset < fixed.count ? fixed[offset] : signature.variadic ?? .any, argument))
            }
            if let final {
                let parameter = count - 1 < fixed.count ? fixed[count - 1] : signature.variadic ?? .any
                values.append(try check(final, parameter))
            }
            let result: Value
            do {
                result = try body(self, values)
            } catch {
                if let command { location = command }
                throw failure("error calling \(name): \(error.message)")
            }
            if case .string(let text) = result, text.utf8.count > Limits.outputBytes {
                throw failure("error calling \(name): result exceeds \(Limits.outputBytes) bytes")
            }
            return result
        }

        /// An argument evaluated for a parameter, with Go's checks: literals must fit, values must have the type.
        private func evalArgument(_ dot: Value, _ parameter: Parameter, _ argument: Argument) throws(TemplateError) -> Value {
            at(argument)
            switch argument {
            case .dot:
                return try check(dot, parameter)
            case .nilValue:
                switch parameter {
                case .any: return .missing
                case .sample: return .sample(nil)
                case .samples: return .samples([])
                case .string: throw failure("cannot assign nil to string")
                }
            case .field(let names, _):
                return try check(try evalFieldChain(dot, receiver: dot, names, arguments: [argument], final: nil), parameter)
            case .variable(let name, let names, _):
                let value = try variable(name)
                if names.isEmpty { return try check(value, parameter) }
                return try check(try evalFieldChain(dot, receiver: value, names, arguments: [argument], final: nil), parameter)
            case .pipeline(let pipeline):
                return try check(try evalPipeline(dot, pipeline), parameter)
            case .function(let name, _):
                let command = Command(position: argument.position, arguments: [argument])
                return try check(try evalFunction(dot, name, argument, command: command, final: nil), parameter)
            case .chain(let base, let names, _):
                return try check(try evalChain(dot, argument, base, names, arguments: [argument], final: nil), parameter)
            case .bool(let value, _):
                guard case .any = parameter else { break }
                return .bool(value)
            case .number(let number, _):
                guard case .any = parameter else { break }
                return try constant(number)
            case .string(let value, _, _):
                switch parameter {
                case .any, .string: return .string(value)
                default: break
                }
            }
            if case .string = parameter { throw failure("expected string; found \(argument.description)") }
            throw failure("can't handle \(argument.description) for arg of type \(parameter.typeName)")
        }

        /// Go's validateType: a value passed where a parameter of some type is wanted.
        private func check(_ value: Value, _ parameter: Parameter) throws(TemplateError) -> Value {
            switch (parameter, value) {
            case (.any, _), (.string, .string), (.sample, .sample), (.samples, .samples):
                return value
            case (.sample, .missing):
                return .sample(nil)
            case (.samples, .missing):
                return .samples([])
            case (_, .missing):
                throw failure("invalid value; expected \(parameter.typeName)")
            default:
                throw failure("wrong type for value; expected \(parameter.typeName); got \(value.typeName)")
            }
        }
    }
}

// MARK: - Functions

extension Template {
    /// The parameters a function takes; the variadic one may repeat after them.
    fileprivate struct Signature: Sendable {
        var parameters: [Parameter]
        var variadic: Parameter?
    }

    /// A function templates can call. Its errors are reported as `error calling NAME: message`.
    fileprivate struct Builtin: Sendable {
        var signature: Signature
        var body: @Sendable (Execution, [Value]) throws(TemplateError) -> Value
    }

    /// Every function by name: Go's built-ins (bar `and` and `or`, which the executor runs because
    /// they stop early) and Prometheus's, as in its template.go.
    fileprivate static let builtins: [String: Builtin] = {
        var table: [String: Builtin] = [:]
        func add(_ name: String, _ parameters: [Parameter], variadic: Parameter? = nil,
                 _ body: @escaping @Sendable (Execution, [Value]) throws(TemplateError) -> Value) {
            table[name] = Builtin(signature: Signature(parameters: parameters, variadic: variadic), body: body)
        }
        func string(_ name: String, _ transform: @escaping @Sendable (String) -> String) {
            add(name, [.string]) { _, arguments in .string(transform(arguments[0].text)) }
        }
        func number(_ name: String, _ transform: @escaping @Sendable (Double) throws(TemplateError) -> String) {
            add(name, [.any]) { _, arguments throws(TemplateError) in .string(try transform(try GoBuiltins.float(arguments[0]))) }
        }

        // Go's built-ins.
        add("not", [.any]) { _, arguments in .bool(!arguments[0].isTrue) }
        add("len", [.any]) { _, arguments throws(TemplateError) in try GoBuiltins.length(arguments[0]) }
        add("index", [.any], variadic: .any) { _, arguments throws(TemplateError) in try GoBuiltins.index(arguments[0], arguments.dropFirst()) }
        add("slice", [.any], variadic: .any) { _, arguments throws(TemplateError) in try GoBuiltins.slice(arguments[0], Array(arguments.dropFirst())) }
        add("print", [], variadic: .any) { _, arguments in .string(GoFormat.sprint(arguments)) }
        add("println", [], variadic: .any) { _, arguments in .string(GoFormat.sprintln(arguments)) }
        add("printf", [.string], variadic: .any) { _, arguments in .string(GoFormat.sprintf(arguments[0].text, Array(arguments.dropFirst()))) }
        add("html", [], variadic: .any) { _, arguments in .string(GoText.htmlEscape(GoFormat.escapeInput(arguments))) }
        add("js", [], variadic: .any) { _, arguments in .string(GoText.jsEscape(GoFormat.escapeInput(arguments))) }
        add("urlquery", [], variadic: .any) { _, arguments in .string(GoText.queryEscape(GoFormat.escapeInput(arguments))) }
        add("eq", [.any], variadic: .any) { _, arguments throws(TemplateError) in .bool(try GoBuiltins.equal(arguments[0], arguments.dropFirst())) }
        add("ne", [.any, .any]) { _, arguments throws(TemplateError) in .bool(!(try GoBuiltins.equal(arguments[0], arguments.dropFirst()))) }
        add("lt", [.any, .any]) { _, arguments throws(TemplateError) in .bool(try GoBuiltins.less(arguments[0], arguments[1])) }
        add("le", [.any, .any]) { _, arguments throws(TemplateError) in .bool(try GoBuiltins.lessOrEqual(arguments[0], arguments[1])) }
        add("gt", [.any, .any]) { _, arguments throws(TemplateError) in .bool(!(try GoBuiltins.lessOrEqual(arguments[0], arguments[1]))) }
        add("ge", [.any, .any]) { _, arguments throws(TemplateError) in .bool(!(try GoBuiltins.less(arguments[0], arguments[1]))) }
        add("call", [.any], variadic: .any) { _, arguments throws(TemplateError) in
            if case .missing = arguments[0] { throw TemplateError("call of nil") }
            throw TemplateError("non-function of type \(arguments[0].typeName)")
        }

        // Prometheus's: queries and their results.
        add("query", [.string]) { execution, arguments throws(TemplateError) in
            guard let query = execution.data.query else { throw TemplateError("query is not available") }
            return .samples(try query(arguments[0].text))
        }
        add("first", [.samples]) { _, arguments throws(TemplateError) in
            guard case .samples(let samples) = arguments[0], let first = samples.first else {
                throw TemplateError("first() called on vector with no elements")
            }
            return .sample(first)
        }
        add("label", [.string, .sample]) { _, arguments throws(TemplateError) in
            .string(try GoBuiltins.sample(arguments[1]).labels[arguments[0].text] ?? "")
        }
        add("value", [.sample]) { _, arguments throws(TemplateError) in .float(try GoBuiltins.sample(arguments[0]).value) }
        add("strvalue", [.sample]) { _, arguments throws(TemplateError) in
            .string(try GoBuiltins.sample(arguments[0]).labels["__value__"] ?? "")
        }
        add("sortByLabel", [.string, .samples]) { _, arguments in
            guard case .samples(let samples) = arguments[1] else { return arguments[1] }
            let label = arguments[0].text
            // Stable: ties keep their order.
            let sorted = samples.enumerated().sorted { left, right in
                let a = left.element.labels[label] ?? "", b = right.element.labels[label] ?? ""
                if a != b { return a.utf8.lexicographicallyPrecedes(b.utf8) }
                return left.offset < right.offset
            }
            return .samples(sorted.map(\.element))
        }
        add("args", [], variadic: .any) { _, arguments in
            var map: [String: Value] = [:]
            for (index, argument) in arguments.enumerated() { map["arg\(index)"] = argument }
            return .map(map)
        }

        // Numbers.
        number("humanize", Humanize.metric)
        number("humanize1024", Humanize.binary)
        number("humanizeDuration", Humanize.duration)
        number("humanizePercentage", Humanize.percentage)
        number("humanizeTimestamp", Humanize.timestamp)
        add("toTime", [.any]) { _, arguments throws(TemplateError) in .time(try GoTime(seconds: try GoBuiltins.float(arguments[0]))) }
        add("parseDuration", [.string]) { _, arguments throws(TemplateError) in .float(try GoText.parseDuration(arguments[0].text)) }

        // Strings.
        string("title", GoText.title)
        string("toUpper") { GoText.changeCase($0, upper: true) }
        string("toLower") { GoText.changeCase($0, upper: false) }
        string("safeHtml") { $0 }
        string("stripPort", GoNet.stripPort)
        string("stripDomain", GoNet.stripDomain)
        string("graphLink") { "/graph?g0.expr=\(GoText.queryEscape($0))&g0.tab=0" }
        string("tableLink") { "/graph?g0.expr=\(GoText.queryEscape($0))&g0.tab=1" }
        add("match", [.string, .string]) { _, arguments throws(TemplateError) in
            .bool(try GoRegexp(arguments[0].text).matches(arguments[1].text))
        }
        add("reReplaceAll", [.string, .string, .string]) { _, arguments throws(TemplateError) in
            let pattern = arguments[0].text
            let regexp: GoRegexp
            do throws(TemplateError) {
                regexp = try GoRegexp(pattern)
            } catch {
                // MustCompile panics, and the panic becomes the error.
                throw TemplateError("regexp: Compile(\(GoText.backquoteOrQuote(pattern))): \(error.message)")
            }
            return .string(try regexp.replaceAll(arguments[2].text, with: arguments[1].text))
        }

        // The server's address.
        add("externalURL", []) { execution, _ in .string(execution.data.externalURL) }
        add("pathPrefix", []) { execution, _ in .string(GoNet.path(ofURL: execution.data.externalURL)) }
        return table
    }()
}

extension Template.Value {
    /// The string inside, for arguments already checked to be strings.
    var text: String {
        if case .string(let text) = self { return text }
        return ""
    }
}

extension Template {
    /// Go's built-in functions that need more than a line.
    fileprivate enum GoBuiltins {
        /// Prometheus's convertToFloat: numbers, and strings as strconv.ParseFloat reads them.
        static func float(_ value: Value) throws(TemplateError) -> Double {
            switch value {
            case .float(let number): return number
            case .int(let number): return Double(number)
            case .string(let text): return try GoText.parseFloat(text)
            default: throw TemplateError("can't convert \(value.typeName) to float")
            }
        }

        static func sample(_ value: Value) throws(TemplateError) -> TemplateSample {
            guard case .sample(let sample?) = value else {
                throw TemplateError("runtime error: invalid memory address or nil pointer dereference")
            }
            return sample
        }

        static func length(_ value: Value) throws(TemplateError) -> Value {
            switch value {
            case .string(let text): return .int(text.utf8.count)
            case .labels(let labels): return .int(labels.count)
            case .map(let map): return .int(map.count)
            case .samples(let samples): return .int(samples.count)
            case .sample(nil): throw TemplateError("len of nil pointer")
            case .missing: throw TemplateError("len of untyped nil")
            case .sample: throw TemplateError("len of type template.sample")
            case .time: throw TemplateError("len of type time.Time")
            default: throw TemplateError("len of type \(value.typeName)")
            }
        }

        static func index(_ item: Value, _ indexes: ArraySlice<Value>) throws(TemplateError) -> Value {
            if case .missing = item { throw TemplateError("index of untyped nil") }
            var item = item
            for index in indexes {
                switch item {
                case .sample(nil):
                    throw TemplateError("index of nil pointer")
                case .string(let text):
                    let bytes = Array(text.utf8)
                    item = .int(Int(bytes[try position(index, count: bytes.count, inclusive: false)]))
                case .samples(let samples):
                    item = .sample(samples[try position(index, count: samples.count, inclusive: false)])
                case .labels(let labels):
                    item = .string(labels[try key(index)] ?? "")
                case .map(let map):
                    item = map[try key(index)] ?? .missing
                default:
                    throw TemplateError("can't index item of type \(item.typeName)")
                }
            }
            return item
        }

        static func slice(_ item: Value, _ indexes: [Value]) throws(TemplateError) -> Value {
            if case .missing = item { throw TemplateError("slice of untyped nil") }
            guard indexes.count <= 3 else { throw TemplateError("too many slice indexes: \(indexes.count)") }
            let count: Int
            switch item {
            case .string(let text):
                guard indexes.count < 3 else { throw TemplateError("cannot 3-index slice a string") }
                count = text.utf8.count
            case .samples(let samples):
                count = samples.count
            default:
                throw TemplateError("can't slice item of type \(item.typeName)")
            }
            var bounds = [0, count, count]
            for (offset, index) in indexes.enumerated() { bounds[offset] = try position(index, count: count, inclusive: true) }
            guard bounds[0] <= bounds[1] else { throw TemplateError("invalid slice index: \(bounds[0]) > \(bounds[1])") }
            if indexes.count == 3 && bounds[1] > bounds[2] { throw TemplateError("invalid slice index: \(bounds[1]) > \(bounds[2])") }
            switch item {
            case .string(let text): return .string(String(decoding: Array(text.utf8)[bounds[0]..<bounds[1]], as: UTF8.self))
            case .samples(let samples): return .samples(Array(samples[bounds[0]..<bounds[1]]))
            default: return item
            }
        }

        private static func position(_ index: Value, count: Int, inclusive: Bool) throws(TemplateError) -> Int {
            switch index {
            case .int(let position):
                guard position >= 0, position < count || (inclusive && position == count) else {
                    throw TemplateError("index out of range: \(position)")
                }
                return position
            case .missing:
                throw TemplateError("cannot index slice/array with nil")
            default:
                throw TemplateError("cannot index slice/array with type \(index.typeName)")
            }
        }

        private static func key(_ index: Value) throws(TemplateError) -> String {
            switch index {
            case .string(let key): return key
            case .missing: throw TemplateError("value is nil; should be of type string")
            default: throw TemplateError("value has type \(index.typeName); should be string")
            }
        }

        /// `eq a b c ...`: whether `a` equals any of the others. Ints and floats compare as numbers.
        static func equal(_ first: Value, _ others: ArraySlice<Value>) throws(TemplateError) -> Bool {
            guard !others.isEmpty else { throw TemplateError("missing argument for comparison") }
            for other in others {
                if try equalPair(first, other) { return true }
            }
            return false
        }

        private static func equalPair(_ a: Value, _ b: Value) throws(TemplateError) -> Bool {
            switch (a, b) {
            case (.missing, .missing): return true
            case (.missing, _), (_, .missing): return false
            case (.bool(let x), .bool(let y)): return x == y
            case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
            case (.sample(let x), .sample(let y)): return x?.labels == y?.labels && x?.value == y?.value
            case (.time(let x), .time(let y)): return x.seconds == y.seconds && x.nanoseconds == y.nanoseconds
            default: break
            }
            if let x = number(a), let y = number(b) { return x == y }
            if isBasic(a) || isBasic(b) { throw TemplateError("incompatible types for comparison") }
            if a.typeName == b.typeName { throw TemplateError("non-comparable type \(GoFormat.string(b)): \(b.typeName)") }
            throw TemplateError("non-comparable types \(GoFormat.string(a)): \(a.typeName), \(GoFormat.string(b)): \(b.typeName)")
        }

        /// `lt a b`: numbers with numbers (ints and floats mix) and strings with strings.
        static func less(_ a: Value, _ b: Value) throws(TemplateError) -> Bool {
            if case .string(let x) = a, case .string(let y) = b { return x.utf8.lexicographicallyPrecedes(y.utf8) }
            if case .int(let x) = a, case .int(let y) = b { return x < y }
            if let x = number(a), let y = number(b) { return x < y }
            guard isBasic(a), isBasic(b) else { throw TemplateError("invalid type for comparison") }
            if case .bool = a, case .bool = b { throw TemplateError("invalid type for comparison") }
            throw TemplateError("incompatible types for comparison")
        }

        static func lessOrEqual(_ a: Value, _ b: Value) throws(TemplateError) -> Bool {
            if try less(a, b) { return true }
            return try equal(a, [b])
        }

        private static func number(_ value: Value) -> Double? {
            switch value {
            case .int(let number): Double(number)
            case .float(let number): number
            default: nil
            }
        }

        private static func isBasic(_ value: Value) -> Bool {
            switch value {
            case .bool, .int, .float, .string: true
            default: false
            }
        }
    }
}

// MARK: - Humanizing

extension Template {
    /// Prometheus's humanize functions; all print with Go's `%.4g`.
    fileprivate enum Humanize {
        private static func fourDigits(_ value: Double) -> String {
            GoFormat.float(value, verb: "g", precision: 4)
        }

        /// With SI prefixes: 1234567 → 1.235M, 0.001234 → 1.234m.
        static func metric(_ value: Double) -> String {
            if value == 0 || value.isNaN || value.isInfinite { return fourDigits(value) }
            var value = value
            var prefix = ""
            if abs(value) >= 1 {
                for next in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
                    if abs(value) < 1000 { break }
                    prefix = next
                    value /= 1000
                }
            } else {
                for next in ["m", "u", "n", "p", "f", "a", "z", "y"] {
                    if abs(value) >= 1 { break }
                    prefix = next
                    value *= 1000
                }
            }
            return fourDigits(value) + prefix
        }

        /// With binary prefixes: 1048576 → 1Mi.
        static func binary(_ value: Double) -> String {
            if abs(value) <= 1 || value.isNaN || value.isInfinite { return fourDigits(value) }
            var value = value
            var prefix = ""
            for next in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
                if abs(value) < 1024 { break }
                prefix = next
                value /= 1024
            }
            return fourDigits(value) + prefix
        }

        /// Seconds as `1d 1h 1m 1s`, `1.5s` or `250ms`.
        static func duration(_ value: Double) -> String {
            if value.isNaN || value.isInfinite { return fourDigits(value) }
            if value == 0 { return fourDigits(value) + "s" }
            if abs(value) >= 1 {
                let sign = value < 0 ? "-" : ""
                let magnitude = abs(value)
                // Go's int64 conversion; beyond its range the result is meaningless anyway.
                let total = magnitude < 9.2e18 ? Int64(magnitude) : Int64.max
                let seconds = total % 60, minutes = total / 60 % 60, hours = total / 3600 % 24, days = total / 86400
                if days != 0 { return "\(sign)\(days)d \(hours)h \(minutes)m \(seconds)s" }
                if hours != 0 { return "\(sign)\(hours)h \(minutes)m \(seconds)s" }
                if minutes != 0 { return "\(sign)\(minutes)m \(seconds)s" }
                return sign + fourDigits(magnitude) + "s"
            }
            var value = value
            var prefix = ""
            for next in ["m", "u", "n", "p", "f", "a", "z", "y"] {
                if abs(value) >= 1 { break }
                prefix = next
                value *= 1000
            }
            return fourDigits(value) + prefix + "s"
        }

        static func percentage(_ value: Double) -> String {
            fourDigits(value * 100) + "%"
        }

        /// Seconds since the epoch as Go prints a UTC time: `2015-06-23 13:19:44.128 +0000 UTC`.
        static func timestamp(_ value: Double) throws(TemplateError) -> String {
            if value.isNaN || value.isInfinite { return fourDigits(value) }
            return try GoTime(seconds: value).description
        }
    }

    /// A UTC time with millisecond resolution, as Prometheus's `model.Time` gives it.
    fileprivate struct GoTime: Sendable {
        /// Seconds since the epoch.
        var seconds: Int64
        /// Nanoseconds into the second, 0 up to a billion.
        var nanoseconds: Int64

        /// Prometheus's floatToTime: the time `seconds` after the epoch, cut to milliseconds.
        init(seconds value: Double) throws(TemplateError) {
            guard !value.isNaN && !value.isInfinite else { throw TemplateError("value is NaN or Inf") }
            let nanoseconds = value * 1e9
            guard nanoseconds < 9.223372036854775807e18 && nanoseconds >= -9.223372036854775808e18 else {
                throw TemplateError("\(GoFormat.string(.float(value))) cannot be represented as a nanoseconds timestamp since it overflows int64")
            }
            let milliseconds = Int64(nanoseconds) / 1_000_000
            seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
            self.nanoseconds = (milliseconds - seconds * 1000) * 1_000_000
        }

        /// Go's Time.String for UTC.
        var description: String { format("2006-01-02 15:04:05.999999999 -0700 MST") }

        private var days: Int64 { seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400 }
        private var secondOfDay: Int64 { seconds - days * 86400 }

        /// The proleptic Gregorian date of `days` after 1970-01-01.
        private var date: (year: Int64, month: Int, day: Int) {
            let z = days + 719_468
            let era = (z >= 0 ? z : z - 146_096) / 146_097
            let dayOfEra = z - era * 146_097
            let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
            let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
            let shiftedMonth = (5 * dayOfYear + 2) / 153
            let day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
            let month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
            return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
        }

        private var yearDay: Int {
            let (year, month, day) = date
            let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return cumulative[month - 1] + day + (leap && month > 2 ? 1 : 0)
        }

        private var weekday: Int { Int(((days % 7) + 11) % 7) }

        private static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

        /// Go's Time.Format with a reference-time layout such as `2006-01-02 15:04`.
        func format(_ layout: String) -> String {
            let bytes = Array(layout.utf8)
            var output: [UInt8] = []
            var index = 0
            while index < bytes.count {
                if let (length, text) = element(bytes, at: index) {
                    output.append(contentsOf: text.utf8)
                    index += length
                } else {
                    output.append(bytes[index])
                    index += 1
                }
            }
            return String(decoding: output, as: UTF8.self)
        }

        /// The layout element at `index` and its text, as Go's nextStdChunk finds them.
        private func element(_ layout: [UInt8], at index: Int) -> (Int, String)? {
            func has(_ text: String) -> Bool { layout[index...].starts(with: text.utf8) }
            func lowercaseAt(_ offset: Int) -> Bool { offset < layout.count && layout[offset] >= 0x61 && layout[offset] <= 0x7A }
            func digitAt(_ offset: Int) -> Bool { offset < layout.count && layout[offset] >= 0x30 && layout[offset] <= 0x39 }
            func padded(_ value: Int64, _ width: Int, _ pad: Character = "0") -> String {
                let digits = String(value.magnitude)
                return (value < 0 ? "-" : "") + String(repeating: pad, count: max(0, width - digits.count)) + digits
            }
            let (year, month, day) = date
            let hour = secondOfDay / 3600, minute = secondOfDay / 60 % 60, second = secondOfDay % 60
            let hour12 = hour % 12 == 0 ? 12 : hour % 12
            switch layout[index] {
            case UInt8(ascii: "J"):
                if has("January") { return (7, Self.months[month - 1]) }
                if has("Jan") && !lowercaseAt(index + 3) { return (3, String(Self.months[month - 1].prefix(3))) }
            case UInt8(ascii: "M"):
                if has("Monday") { return (6, Self.weekdays[weekday]) }
                if has("Mon") && !lowercaseAt(index + 3) { return (3, String(Self.weekdays[weekday].prefix(3))) }
                if has("MST") { return (3, "UTC") }
            case UInt8(ascii: "0"):
                if index + 1 < layout.count, layout[index + 1] >= UInt8(ascii: "1"), layout[index + 1] <= UInt8(ascii: "6") {
                    let values = [Int64(month), Int64(day), hour12, minute, second, year % 100]
                    return (2, padded(values[Int(layout[index + 1] - UInt8(ascii: "1"))], 2))
                }
                if has("002") { return (3, padded(Int64(yearDay), 3)) }
            case UInt8(ascii: "1"):
                if has("15") { return (2, padded(hour, 2)) }
                return (1, String(month))
            case UInt8(ascii: "2"):
                if has("2006") { return (4, padded(year, 4)) }
                return (1, String(day))
            case UInt8(ascii: "_"):
                if has("_2006") { return (5, "_" + padded(year, 4)) }
                if has("_2") { return (2, padded(Int64(day), 2, " ")) }
                if has("__2") { return (3, padded(Int64(yearDay), 3, " ")) }
            case UInt8(ascii: "3"): return (1, String(hour12))
            case UInt8(ascii: "4"): return (1, String(minute))
            case UInt8(ascii: "5"): return (1, String(second))
            case UInt8(ascii: "P"):
                if has("PM") { return (2, hour >= 12 ? "PM" : "AM") }
            case UInt8(ascii: "p"):
                if has("pm") { return (2, hour >= 12 ? "pm" : "am") }
            case UInt8(ascii: "-"):
                for (zone, text) in [("-070000", "+000000"), ("-07:00:00", "+00:00:00"), ("-0700", "+0000"), ("-07:00", "+00:00"), ("-07", "+00")] where has(zone) {
                    return (zone.utf8.count, text)
                }
            case UInt8(ascii: "Z"):
                for zone in ["Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07"] where has(zone) { return (zone.utf8.count, "Z") }
            case UInt8(ascii: "."), UInt8(ascii: ","):
                guard index + 1 < layout.count, layout[index + 1] == UInt8(ascii: "0") || layout[index + 1] == UInt8(ascii: "9") else { break }
                let digit = layout[index + 1]
                var end = index + 1
                while end < layout.count && layout[end] == digit { end += 1 }
                guard !digitAt(end) else { break }
                let count = end - index - 1
                var fraction = Array(padded(nanoseconds, 9).utf8.prefix(count))
                if digit == UInt8(ascii: "9") {
                    while fraction.last == UInt8(ascii: "0") { fraction.removeLast() }
                    if fraction.isEmpty { return (end - index, "") }
                }
                return (end - index, String(decoding: [layout[index]] + fraction, as: UTF8.self))
            default:
                break
            }
            return nil
        }

        /// A method templates can call on a time.
        struct Method: Sendable {
            var signature: Signature
            var body: @Sendable (GoTime, [Value]) throws(TemplateError) -> Value
        }

        /// The methods of `*time.Time` a template is likely to call.
        static let methods: [String: Method] = {
            var table: [String: Method] = [:]
            func add(_ name: String, _ parameters: [Parameter] = [], _ body: @escaping @Sendable (GoTime, [Value]) -> Value) {
                table[name] = Method(signature: Signature(parameters: parameters, variadic: nil), body: body)
            }
            add("Format", [.string]) { time, arguments in .string(time.format(arguments[0].text)) }
            add("String") { time, _ in .string(time.description) }
            add("UTC") { time, _ in .time(time) }
            add("Local") { time, _ in .time(time) }
            add("Unix") { time, _ in .int(Int(time.seconds)) }
            add("UnixMilli") { time, _ in .int(Int(time.seconds) * 1000 + Int(time.nanoseconds / 1_000_000)) }
            add("UnixNano") { time, _ in .int(Int(time.seconds) &* 1_000_000_000 &+ Int(time.nanoseconds)) }
            add("Year") { time, _ in .int(Int(time.date.year)) }
            add("Month") { time, _ in .string(GoTime.months[time.date.month - 1]) }
            add("Day") { time, _ in .int(time.date.day) }
            add("YearDay") { time, _ in .int(time.yearDay) }
            add("Weekday") { time, _ in .string(GoTime.weekdays[time.weekday]) }
            add("Hour") { time, _ in .int(Int(time.secondOfDay / 3600)) }
            add("Minute") { time, _ in .int(Int(time.secondOfDay / 60 % 60)) }
            add("Second") { time, _ in .int(Int(time.secondOfDay % 60)) }
            add("Nanosecond") { time, _ in .int(Int(time.nanoseconds)) }
            return table
        }()
    }
}

// MARK: - Printing (Go's fmt)

extension Template {
    /// Go's fmt: how values print in actions and in `print`, `printf` and `println`.
    fileprivate enum GoFormat {
        /// The flags, width and precision of one verb.
        struct Flags {
            var plus = false
            var minus = false
            var sharp = false
            var space = false
            /// Pad with zeros (never set together with `minus`).
            var zero = false
            var width: Int?
            var precision: Int?
            /// `%+v` and `%#v`, which Go keeps apart from `+` and `#`.
            var plusV = false
            var sharpV = false
        }

        /// A value as an action prints it: `<no value>` for a missing one, pointers followed.
        static func printable(_ value: Value) -> String {
            if case .missing = value { return "<no value>" }
            return format(value, "v", Flags(), pointer: false)
        }

        /// `%v`.
        static func string(_ value: Value) -> String {
            format(value, "v", Flags(), pointer: true)
        }

        /// One float with a verb and an optional precision, such as `%.4g`.
        static func float(_ value: Double, verb: Unicode.Scalar, precision: Int?) -> String {
            var flags = Flags()
            flags.precision = precision
            return formatFloat(value, verb, flags) ?? ""
        }

        /// What `html`, `js` and `urlquery` escape: a lone string as it is, else the arguments as `print` joins them.
        static func escapeInput(_ values: [Value]) -> String {
            if values.count == 1, case .string(let text) = values[0] { return text }
            return sprint(values.map { value in
                if case .missing = value { return .string("<no value>") }
                return value
            }, pointer: false)
        }

        /// `print`: spaces between operands when neither is a string.
        static func sprint(_ values: [Value], pointer: Bool = true) -> String {
            var output = ""
            var previousIsString = false
            for (index, value) in values.enumerated() {
                let isString = if case .string = value { true } else { false }
                if index > 0 && !isString && !previousIsString { output += " " }
                output += format(value, "v", Flags(), pointer: pointer)
                previousIsString = isString
            }
            return output
        }

        /// `println`: spaces between all operands and a newline.
        static func sprintln(_ values: [Value]) -> String {
            values.map { format($0, "v", Flags(), pointer: true) }.joined(separator: " ") + "\n"
        }

        /// `printf`, with Go's verbs, flags, `*` widths, `[n]` indexes and its complaints:
        /// `%!d(float64=1.5)`, `%!d(MISSING)`, `%!(EXTRA int=1)`.
        static func sprintf(_ format: String, _ arguments: [Value]) -> String {
            let bytes = Array(format.utf8)
            var output = ""
            var argument = 0
            var reordered = false
            var index = 0
            while index < bytes.count {
                let literalStart = index
                while index < bytes.count && bytes[index] != UInt8(ascii: "%") { index += 1 }
                output += String(decoding: bytes[literalStart..<index], as: UTF8.self)
                guard index < bytes.count else { break }
                index += 1
                var flags = Flags()
                flagLoop: while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "#"): flags.sharp = true
                    case UInt8(ascii: "0"): flags.zero = !flags.minus
                    case UInt8(ascii: "+"): flags.plus = true
                    case UInt8(ascii: "-"):
                        flags.minus = true
                        flags.zero = false
                    case UInt8(ascii: " "): flags.space = true
                    default: break flagLoop
                    }
                    index += 1
                }
                var good = true
                var afterIndex = false
                (argument, index, afterIndex) = argumentNumber(bytes, index, argument, arguments.count, &reordered, &good)
                if index < bytes.count && bytes[index] == UInt8(ascii: "*") {
                    index += 1
                    (flags.width, argument) = intArgument(arguments, argument)
                    if flags.width == nil { output += "%!(BADWIDTH)" }
                    if let width = flags.width, width < 0 {
                        flags.width = -width
                        flags.minus = true
                        flags.zero = false
                    }
                    afterIndex = false
                } else {
                    (flags.width, index) = number(bytes, index)
                    if afterIndex && flags.width != nil { good = false }
                }
                if index + 1 < bytes.count && bytes[index] == UInt8(ascii: ".") {
                    index += 1
                    if afterIndex { good = false }
                    (argument, index, afterIndex) = argumentNumber(bytes, index, argument, arguments.count, &reordered, &good)
                    if index < bytes.count && bytes[index] == UInt8(ascii: "*") {
                        index += 1
                        (flags.precision, argument) = intArgument(arguments, argument)
                        if let precision = flags.precision, precision < 0 { flags.precision = nil }
                        if flags.precision == nil { output += "%!(BADPREC)" }
                        afterIndex = false
                    } else {
                        (flags.precision, index) = number(bytes, index)
                        if flags.precision == nil { flags.precision = 0 }
                    }
                }
                if !afterIndex {
                    (argument, index, afterIndex) = argumentNumber(bytes, index, argument, arguments.count, &reordered, &good)
                }
                guard index < bytes.count else {
                    output += "%!(NOVERB)"
                    break
                }
                var decoder = UTF8()
                var iterator = bytes[index...].makeIterator()
                var verb: Unicode.Scalar = "\u{FFFD}"
                if case .scalarValue(let scalar) = decoder.decode(&iterator) { verb = scalar }
                index += max(1, verb == "\u{FFFD}" ? 1 : UTF8.width(verb))
                if verb == "%" {
                    output += "%"
                } else if !good {
                    output += "%!\(Character(verb))(BADINDEX)"
                } else if argument >= arguments.count {
                    output += "%!\(Character(verb))(MISSING)"
                } else {
                    if verb == "v" {
                        flags.sharpV = flags.sharp
                        flags.sharp = false
                        flags.plusV = flags.plus
                        flags.plus = false
                    }
                    output += verb == "T" ? pad(arguments[argument].typeName, flags) : self.format(arguments[argument], verb, flags, pointer: true)
                    argument += 1
                }
            }
            if !reordered && argument < arguments.count {
                let extra = arguments[argument...].map { value in
                    if case .missing = value { return "<nil>" }
                    return value.typeName + "=" + self.format(value, "v", Flags(), pointer: true)
                }
                output += "%!(EXTRA " + extra.joined(separator: ", ") + ")"
            }
            return output
        }

        /// Digits at `index`, and where they end; nil when there are none or too many.
        private static func number(_ bytes: [UInt8], _ index: Int) -> (Int?, Int) {
            var value = 0
            var end = index
            while end < bytes.count && bytes[end] >= UInt8(ascii: "0") && bytes[end] <= UInt8(ascii: "9") {
                // Go gives up on absurd widths; so do we, a little earlier, to bound the output.
                if value > Limits.outputBytes { return (nil, bytes.count) }
                value = value * 10 + Int(bytes[end] - UInt8(ascii: "0"))
                end += 1
            }
            return (end > index ? value : nil, end)
        }

        /// An explicit argument index `[n]`: the argument it names, where the format goes on, and whether there was one.
        private static func argumentNumber(_ bytes: [UInt8], _ index: Int, _ argument: Int, _ count: Int,
                                           _ reordered: inout Bool, _ good: inout Bool) -> (Int, Int, Bool) {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return (argument, index, false) }
            reordered = true
            guard bytes.count - index >= 3 else {
                good = false
                return (argument, index + 1, false)
            }
            var close = index + 1
            while close < bytes.count && bytes[close] != UInt8(ascii: "]") { close += 1 }
            guard close < bytes.count else {
                good = false
                return (argument, index + 1, false)
            }
            let (value, end) = number(bytes, index + 1)
            guard let value, end == close else {
                good = false
                return (argument, close + 1, false)
            }
            guard value >= 1 && value <= count else {
                good = false
                return (argument, close + 1, true)
            }
            return (value - 1, close + 1, true)
        }

        /// A `*` width or precision taken from the arguments.
        private static func intArgument(_ arguments: [Value], _ argument: Int) -> (Int?, Int) {
            guard argument < arguments.count else { return (nil, argument) }
            guard case .int(let value) = arguments[argument], value.magnitude <= UInt(Limits.outputBytes) else { return (nil, argument + 1) }
            return (value, argument + 1)
        }

        static func pad(_ text: String, _ flags: Flags) -> String {
            guard let width = flags.width else { return text }
            let count = text.unicodeScalars.count
            guard width > count else { return text }
            let padding = String(repeating: flags.zero ? "0" : " ", count: width - count)
            return flags.minus ? text + padding : padding + text
        }

        /// One operand with one verb. `pointer` marks a top-level `*sample`, which Go prints as `&{...}`.
        static func format(_ value: Value, _ verb: Unicode.Scalar, _ flags: Flags, pointer: Bool) -> String {
            switch value {
            case .missing:
                return verb == "v" ? pad("<nil>", flags) : "%!\(Character(verb))(<nil>)"
            case .bool(let truth):
                guard verb == "t" || verb == "v" else { return badVerb(value, verb, flags) }
                return pad(truth ? "true" : "false", flags)
            case .int(let number):
                return formatInteger(number, verb, flags) ?? badVerb(value, verb, flags)
            case .float(let number):
                return formatFloat(number, verb, flags) ?? badVerb(value, verb, flags)
            case .string(let text):
                return formatString(text, verb, flags) ?? badVerb(value, verb, flags)
            case .time(let time):
                // A Stringer: the verbs that take a string print String().
                guard "vsxXq".unicodeScalars.contains(verb), let text = formatString(time.description, verb, flags) else {
                    return badVerb(value, verb, flags)
                }
                return text
            case .labels(let labels):
                let entries = GoText.sortedKeys(labels).map { key in
                    format(.string(key), verb, flags, pointer: false) + ":" + format(.string(labels[key] ?? ""), verb, flags, pointer: false)
                }
                return "map[" + entries.joined(separator: " ") + "]"
            case .map(let map):
                let entries = GoText.sortedKeys(map).map { key in
                    format(.string(key), verb, flags, pointer: false) + ":" + format(map[key] ?? .missing, verb, flags, pointer: false)
                }
                return "map[" + entries.joined(separator: " ") + "]"
            case .samples(let samples):
                return "[" + samples.map { format(.sample($0), verb, flags, pointer: false) }.joined(separator: " ") + "]"
            case .sample(nil):
                return verb == "v" ? pad("<nil>", flags) : badVerb(value, verb, flags)
            case .sample(let sample?):
                let fields = [("Labels", Value.labels(sample.labels)), ("Value", .float(sample.value))]
                return (pointer ? "&" : "") + structure(fields, verb, flags)
            case .data(let data):
                let fields: [(String, Value)] = [
                    ("Labels", .labels(data.labels)), ("ExternalLabels", .labels(data.externalLabels)),
                    ("ExternalURL", .string(data.externalURL)), ("Value", .float(data.value)),
                ]
                return structure(fields, verb, flags)
            }
        }

        private static func structure(_ fields: [(String, Value)], _ verb: Unicode.Scalar, _ flags: Flags) -> String {
            let parts = fields.map { name, value in
                (flags.plusV ? name + ":" : "") + format(value, verb, flags, pointer: false)
            }
            return "{" + parts.joined(separator: " ") + "}"
        }

        private static func badVerb(_ value: Value, _ verb: Unicode.Scalar, _ flags: Flags) -> String {
            "%!\(Character(verb))(\(value.typeName)=\(format(value, "v", flags, pointer: true)))"
        }

        private static func formatInteger(_ value: Int, _ verb: Unicode.Scalar, _ flags: Flags) -> String? {
            switch verb {
            case "v", "d": return integer(value, base: 10, uppercase: false, verb: verb, flags)
            case "b": return integer(value, base: 2, uppercase: false, verb: verb, flags)
            case "o", "O": return integer(value, base: 8, uppercase: false, verb: verb, flags)
            case "x": return integer(value, base: 16, uppercase: false, verb: verb, flags)
            case "X": return integer(value, base: 16, uppercase: true, verb: verb, flags)
            case "c": return pad(String(Character(rune(value))), flags)
            case "q": return pad(GoText.quote(String(Character(rune(value))), delimiter: "'"), flags)
            case "U":
                let hex = String(UInt64(bitPattern: Int64(value)), radix: 16, uppercase: true)
                return pad("U+" + String(repeating: "0", count: max(0, (flags.precision ?? 4) - hex.count)) + hex, flags)
            default: return nil
            }
        }

        private static func rune(_ value: Int) -> Unicode.Scalar {
            guard value >= 0, value <= 0x10FFFF, let scalar = Unicode.Scalar(UInt32(value)) else { return "\u{FFFD}" }
            return scalar
        }

        /// Go's fmtInteger: precision or zero padding as leading zeros, then prefixes and sign.
        private static func integer(_ value: Int, base: Int, uppercase: Bool, verb: Unicode.Scalar, _ flags: Flags) -> String {
            var flags = flags
            let negative = value < 0
            var digits = String(value.magnitude, radix: base, uppercase: uppercase)
            var precision = 0
            if let wanted = flags.precision {
                precision = wanted
                if wanted == 0 && value == 0 {
                    flags.zero = false
                    return pad("", flags)
                }
            } else if flags.zero, let width = flags.width {
                precision = width - (negative || flags.plus || flags.space ? 1 : 0)
            }
            if digits.count < precision { digits = String(repeating: "0", count: precision - digits.count) + digits }
            if flags.sharp {
                switch base {
                case 2: digits = "0b" + digits
                case 8: if !digits.hasPrefix("0") { digits = "0" + digits }
                case 16: digits = (uppercase ? "0X" : "0x") + digits
                default: break
                }
            }
            if verb == "O" { digits = "0o" + digits }
            if negative {
                digits = "-" + digits
            } else if flags.plus {
                digits = "+" + digits
            } else if flags.space {
                digits = " " + digits
            }
            flags.zero = false
            return pad(digits, flags)
        }

        /// Go's fmtFloat: `%v` and `%g` without a precision print the shortest form that reads back.
        static func formatFloat(_ value: Double, _ verb: Unicode.Scalar, _ flags: Flags) -> String? {
            var flags = flags
            var precision = flags.precision
            let conversion: String
            switch verb {
            case "v": conversion = "g"
            case "g", "G": conversion = String(Character(verb))
            case "e", "E", "f":
                conversion = String(Character(verb))
                precision = precision ?? 6
            case "F":
                conversion = "f"
                precision = precision ?? 6
            case "x": conversion = "a"
            case "X": conversion = "A"
            default: return nil
            }
            var number: String
            if value.isNaN {
                number = "+NaN"
            } else if value.isInfinite {
                number = value < 0 ? "-Inf" : "+Inf"
            } else if (conversion == "g" || conversion == "G") && precision == nil && !flags.sharp {
                number = (value.sign == .minus ? "-" : "+") + shortest(abs(value), exponent: conversion == "G" ? "E" : "e")
            } else {
                let precisionText = precision.map { ".\($0)" } ?? ""
                number = cFormat(value, "%+" + (flags.sharp ? "#" : "") + precisionText + conversion)
                if conversion == "a" || conversion == "A" { number = twoDigitExponent(number) }
            }
            if flags.space && number.hasPrefix("+") && !flags.plus { number = " " + number.dropFirst() }
            if value.isNaN || value.isInfinite {
                if value.isNaN && !flags.space && !flags.plus { number.removeFirst() }
                flags.zero = false
                return pad(number, flags)
            }
            if flags.plus || !number.hasPrefix("+") {
                if flags.zero, let width = flags.width, width > number.count {
                    return String(number.prefix(1)) + String(repeating: "0", count: width - number.count) + number.dropFirst()
                }
                return pad(number, flags)
            }
            return pad(String(number.dropFirst()), flags)
        }

        /// Go pads a hexadecimal float's exponent to two digits: `0x1p+00`.
        private static func twoDigitExponent(_ text: String) -> String {
            guard let marker = text.lastIndex(where: { $0 == "p" || $0 == "P" }) else { return text }
            let signIndex = text.index(after: marker)
            guard signIndex < text.endIndex else { return text }
            let digits = text[text.index(after: signIndex)...]
            return digits.count < 2 ? String(text[...signIndex]) + "0" + digits : text
        }

        private static func formatString(_ text: String, _ verb: Unicode.Scalar, _ flags: Flags) -> String? {
            let truncated = flags.precision.map { String(String.UnicodeScalarView(text.unicodeScalars.prefix($0))) } ?? text
            switch verb {
            case "v":
                return pad(flags.sharpV ? GoText.quote(text) : truncated, flags)
            case "s":
                return pad(truncated, flags)
            case "q":
                if flags.sharp && GoText.canBackquote(truncated) { return pad("`" + truncated + "`", flags) }
                return pad(GoText.quote(truncated), flags)
            case "x", "X":
                var bytes = Array(text.utf8)
                if let precision = flags.precision, precision < bytes.count { bytes = Array(bytes.prefix(precision)) }
                let prefix = flags.sharp ? (verb == "x" ? "0x" : "0X") : ""
                var hex = flags.space ? "" : prefix
                for (index, byte) in bytes.enumerated() {
                    if flags.space {
                        if index > 0 { hex += " " }
                        hex += prefix
                    }
                    let digits = String(byte, radix: 16, uppercase: verb == "X")
                    hex += (digits.count == 1 ? "0" : "") + digits
                }
                return pad(bytes.isEmpty ? "" : hex, flags)
            default:
                return nil
            }
        }

        /// Go's `%g` with the shortest digits that read back: exponent form below 1e-4 and from 1e21 on
        /// (1e+06 for a million, as `%v` prints it).
        static func shortest(_ magnitude: Double, exponent marker: String) -> String {
            if magnitude == 0 { return "0" }
            let (digits, point) = shortestDigits(magnitude)
            let exponent = point - 1
            if exponent < -4 || exponent >= 6 {
                var text = String(digits.prefix(1))
                if digits.count > 1 { text += "." + digits.dropFirst() }
                let magnitudeText = String(abs(exponent))
                return text + marker + (exponent < 0 ? "-" : "+") + (magnitudeText.count < 2 ? "0" : "") + magnitudeText
            }
            if point <= 0 { return "0." + String(repeating: "0", count: -point) + digits }
            if point >= digits.count { return digits + String(repeating: "0", count: point - digits.count) }
            return String(digits.prefix(point)) + "." + digits.dropFirst(point)
        }

        /// The shortest decimal digits that read back as `magnitude` (Swift's description finds the same
        /// ones as Go's strconv), and where the decimal point goes.
        private static func shortestDigits(_ magnitude: Double) -> (String, Int) {
            var digits: [UInt8] = []
            var point = 0
            var seenPoint = false
            var exponent = 0
            let text = Array(magnitude.description.utf8)
            var index = 0
            while index < text.count {
                let byte = text[index]
                if byte == UInt8(ascii: ".") {
                    seenPoint = true
                } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                    exponent = Int(String(decoding: text[(index + 1)...], as: UTF8.self)) ?? 0
                    break
                } else {
                    digits.append(byte)
                    if !seenPoint { point += 1 }
                }
                index += 1
            }
            point += exponent
            while digits.first == UInt8(ascii: "0") {
                digits.removeFirst()
                point -= 1
            }
            while digits.last == UInt8(ascii: "0") { digits.removeLast() }
            return (String(decoding: digits, as: UTF8.self), point)
        }

        /// C's printf for one double; for finite values its `%e`, `%f`, `%g` and `%a` match Go's.
        private static func cFormat(_ value: Double, _ format: String) -> String {
            var buffer = [CChar](repeating: 0, count: 128)
            let needed = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
            if needed >= buffer.count {
                buffer = [CChar](repeating: 0, count: Int(needed) + 1)
                _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
            }
            return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        }
    }
}

// MARK: - Text (Go's strconv, strings, url and template escapers)

extension Template {
    fileprivate enum GoText {
        /// Keys in Go's order: by bytes.
        static func sortedKeys<V>(_ dictionary: [String: V]) -> [String] {
            dictionary.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }

        /// strconv.Quote (or QuoteRune with `'`).
        static func quote(_ text: String, delimiter: Character = "\"") -> String {
            var output = String(delimiter)
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\u{07}": output += "\\a"
                case "\u{08}": output += "\\b"
                case "\u{0C}": output += "\\f"
                case "\n": output += "\\n"
                case "\r": output += "\\r"
                case "\t": output += "\\t"
                case "\u{0B}": output += "\\v"
                case "\\": output += "\\\\"
                default:
                    if Character(scalar) == delimiter {
                        output += "\\" + String(delimiter)
                    } else if Runes.isPrint(scalar) {
                        output.unicodeScalars.append(scalar)
                    } else if scalar.value < 0x80 {
                        output += "\\x" + hex(scalar.value, 2)
                    } else if scalar.value < 0x10000 {
                        output += "\\u" + hex(scalar.value, 4)
                    } else {
                        output += "\\U" + hex(scalar.value, 8)
                    }
                }
            }
            return output + String(delimiter)
        }

        private static func hex(_ value: UInt32, _ width: Int) -> String {
            zeroPadded(String(value, radix: 16), width)
        }

        static func zeroPadded(_ digits: String, _ width: Int) -> String {
            String(repeating: "0", count: max(0, width - digits.count)) + digits
        }

        static func canBackquote(_ text: String) -> Bool {
            text.unicodeScalars.allSatisfy { scalar in
                scalar != "`" && scalar != "\u{FEFF}" && (scalar == "\t" || (scalar.value >= 0x20 && scalar.value != 0x7F))
            }
        }

        /// How regexp's messages quote a pattern.
        static func backquoteOrQuote(_ text: String) -> String {
            canBackquote(text) ? "`" + text + "`" : quote(text)
        }

        /// strconv.Unquote of a "..." or `...` token; nil when it is malformed.
        static func unquote(_ token: String) -> String? {
            let bytes = Array(token.utf8)
            guard bytes.count >= 2, let delimiter = bytes.first, bytes.last == delimiter else { return nil }
            let body = bytes[1..<(bytes.count - 1)]
            if delimiter == UInt8(ascii: "`") { return String(decoding: body.filter { $0 != 0x0D }, as: UTF8.self) }
            guard delimiter == UInt8(ascii: "\"") else { return nil }
            var output: [UInt8] = []
            var index = body.startIndex
            while index < body.endIndex {
                let byte = body[index]
                guard byte != UInt8(ascii: "\""), byte != 0x0A else { return nil }
                guard byte == UInt8(ascii: "\\") else {
                    output.append(byte)
                    index += 1
                    continue
                }
                guard let (value, next) = escape(body, after: index, delimiter: delimiter) else { return nil }
                output += value
                index = next
            }
            return String(decoding: output, as: UTF8.self)
        }

        /// The value of a character constant such as `'a'` or `'\n'`.
        static func characterValue(_ token: String) throws(TemplateError) -> Int64 {
            let bytes = Array(token.utf8)
            guard bytes.count >= 3, bytes.first == UInt8(ascii: "'"), bytes.last == UInt8(ascii: "'") else { throw TemplateError("invalid syntax") }
            let body = bytes[1..<(bytes.count - 1)]
            let value: Int64
            let next: Int
            if body.first == UInt8(ascii: "\\") {
                guard let (escaped, end) = escape(body, after: body.startIndex, delimiter: UInt8(ascii: "'")) else { throw TemplateError("invalid syntax") }
                let scalars = String(decoding: escaped, as: UTF8.self).unicodeScalars
                // \x and octal escapes give a byte value, the others a character.
                value = escaped.count == 1 ? Int64(escaped[0]) : Int64(scalars.first?.value ?? 0xFFFD)
                next = end
            } else {
                guard body.first != UInt8(ascii: "'") else { throw TemplateError("invalid syntax") }
                let scalar = String(decoding: body, as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}"
                value = Int64(scalar.value)
                next = body.startIndex + UTF8.width(scalar)
            }
            guard next == body.endIndex else { throw TemplateError("malformed character constant: \(token)") }
            return value
        }

        /// One escape after the backslash at `index`: its bytes and where the text goes on.
        private static func escape(_ bytes: ArraySlice<UInt8>, after index: Int, delimiter: UInt8) -> ([UInt8], Int)? {
            let start = index + 1
            guard start < bytes.endIndex else { return nil }
            func hexValue(_ count: Int) -> UInt32? {
                guard start + count < bytes.endIndex else { return nil }
                var value: UInt32 = 0
                for byte in bytes[(start + 1)...(start + count)] {
                    guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { return nil }
                    value = value * 16 + UInt32(digit)
                }
                return value
            }
            let simple: [UInt8: UInt8] = [
                UInt8(ascii: "a"): 7, UInt8(ascii: "b"): 8, UInt8(ascii: "f"): 12, UInt8(ascii: "n"): 10,
                UInt8(ascii: "r"): 13, UInt8(ascii: "t"): 9, UInt8(ascii: "v"): 11, UInt8(ascii: "\\"): 92,
            ]
            let code = bytes[start]
            if let value = simple[code] { return ([value], start + 1) }
            switch code {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                return code == delimiter ? ([code], start + 1) : nil
            case UInt8(ascii: "x"):
                guard let value = hexValue(2) else { return nil }
                return ([UInt8(value)], start + 3)
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let count = code == UInt8(ascii: "u") ? 4 : 8
                guard let value = hexValue(count), let scalar = Unicode.Scalar(value) else { return nil }
                return (Array(String(Character(scalar)).utf8), start + 1 + count)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard start + 2 < bytes.endIndex else { return nil }
                var value = 0
                for byte in bytes[start...(start + 2)] {
                    guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "7") else { return nil }
                    value = value * 8 + Int(byte - UInt8(ascii: "0"))
                }
                guard value <= 255 else { return nil }
                return ([UInt8(value)], start + 3)
            default:
                return nil
            }
        }

        /// A number token as Go's parser reads it (strconv.ParseUint, ParseInt and ParseFloat, in that order).
        static func numberLiteral(_ text: String, isCharacter: Bool) throws(TemplateError) -> NumberLiteral {
            var number = NumberLiteral(text: text)
            if isCharacter {
                let value = try characterValue(text)
                number.integer = value
                number.float = Double(value)
                return number
            }
            if text.hasSuffix("i") { throw TemplateError("complex numbers are not supported: \(quote(text))") }
            let (signed, unsigned) = integer(text)
            if let signed {
                number.integer = signed
                number.float = Double(signed)
            } else if let unsigned {
                // Too big for int: Go evaluates it to an "overflows int" error.
                number.float = Double(unsigned)
            } else if case .value(let float) = readFloat(text) {
                guard text.contains(where: { ".eEpP".contains($0) }) else { throw TemplateError("integer overflow: \(quote(text))") }
                number.float = float
                if float == float.rounded(.towardZero) && abs(float) < 9.2e18 { number.integer = Int64(float) }
            } else {
                throw TemplateError("illegal number syntax: \(quote(text))")
            }
            let isHexInteger = text.hasPrefix("0x") || text.hasPrefix("0X") ? !text.contains(where: { $0 == "p" || $0 == "P" }) : false
            number.looksFloat = number.float != nil && !isHexInteger && text.contains(where: { ".eEpP".contains($0) })
            return number
        }

        /// strconv.ParseInt and ParseUint with base 0: prefixes 0x, 0o, 0b and 0, and underscores.
        private static func integer(_ text: String) -> (Int64?, UInt64?) {
            var bytes = Array(text.utf8)[...]
            var negative = false
            var signed = false
            if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
                negative = first == UInt8(ascii: "-")
                signed = true
                bytes = bytes.dropFirst()
            }
            guard !bytes.isEmpty, underscoresFit(bytes) else { return (nil, nil) }
            var base: UInt64 = 10
            if bytes.first == UInt8(ascii: "0") {
                let second = bytes.count >= 3 ? bytes[bytes.startIndex + 1] | 0x20 : 0
                switch second {
                case UInt8(ascii: "b"): base = 2
                case UInt8(ascii: "o"): base = 8
                case UInt8(ascii: "x"): base = 16
                default: base = 8
                }
                bytes = bytes.dropFirst(base == 8 && second != UInt8(ascii: "o") ? 1 : 2)
            }
            var magnitude: UInt64 = 0
            for byte in bytes where byte != UInt8(ascii: "_") {
                guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue, UInt64(digit) < base else { return (nil, nil) }
                let (times, overflow) = magnitude.multipliedReportingOverflow(by: base)
                let (sum, carry) = times.addingReportingOverflow(UInt64(digit))
                guard !overflow && !carry else { return (nil, nil) }
                magnitude = sum
            }
            let unsigned = signed ? nil : magnitude
            if negative { return (magnitude <= 1 << 63 ? Int64(bitPattern: 0 &- magnitude) : nil, unsigned) }
            return (magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil, unsigned)
        }

        /// Go's underscoreOK: underscores only between digits (or after a base prefix).
        private static func underscoresFit(_ bytes: ArraySlice<UInt8>) -> Bool {
            guard bytes.contains(UInt8(ascii: "_")) else { return true }
            var saw: UInt8 = UInt8(ascii: "^")
            var index = bytes.startIndex
            var hex = false
            if bytes.count >= 2, bytes[index] == UInt8(ascii: "0"), "box".utf8.contains(bytes[index + 1] | 0x20) {
                hex = bytes[index + 1] | 0x20 == UInt8(ascii: "x")
                saw = UInt8(ascii: "0")
                index += 2
            }
            while index < bytes.endIndex {
                let byte = bytes[index]
                if (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (hex && (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "f")) {
                    saw = UInt8(ascii: "0")
                } else if byte == UInt8(ascii: "_") {
                    guard saw == UInt8(ascii: "0") else { return false }
                    saw = byte
                } else {
                    guard saw != UInt8(ascii: "_") else { return false }
                    saw = UInt8(ascii: "!")
                }
                index += 1
            }
            return saw != UInt8(ascii: "_")
        }

        enum FloatReading {
            case value(Double)
            case syntax
            case range
        }

        /// strconv.ParseFloat's syntax: decimal or hexadecimal (with a `p` exponent), Inf, Infinity and NaN.
        static func readFloat(_ text: String) -> FloatReading {
            var bytes = Array(text.utf8)[...]
            var sign = ""
            if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
                sign = first == UInt8(ascii: "-") ? "-" : ""
                bytes = bytes.dropFirst()
            }
            let lower = String(decoding: bytes.map { $0 | 0x20 }, as: UTF8.self)
            if lower == "inf" || lower == "infinity" { return .value(sign.isEmpty ? .infinity : -.infinity) }
            if lower == "nan" && text.count == 3 { return .value(.nan) }
            guard underscoresFit(bytes) else { return .syntax }
            let hex = bytes.count >= 2 && bytes.first == UInt8(ascii: "0") && bytes[bytes.startIndex + 1] | 0x20 == UInt8(ascii: "x")
            var index = bytes.startIndex + (hex ? 2 : 0)
            var digits = 0
            var sawPoint = false
            while index < bytes.endIndex {
                let byte = bytes[index]
                if byte == UInt8(ascii: "_") {
                } else if byte == UInt8(ascii: ".") {
                    guard !sawPoint else { return .syntax }
                    sawPoint = true
                } else if let digit = Character(Unicode.Scalar(byte)).hexDigitValue, hex || digit < 10 {
                    digits += 1
                } else {
                    break
                }
                index += 1
            }
            guard digits > 0 else { return .syntax }
            if index < bytes.endIndex && (bytes[index] | 0x20) == (hex ? UInt8(ascii: "p") : UInt8(ascii: "e")) {
                index += 1
                if index < bytes.endIndex && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
                var exponentDigits = 0
                while index < bytes.endIndex && ((bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9")) || bytes[index] == UInt8(ascii: "_")) {
                    if bytes[index] != UInt8(ascii: "_") { exponentDigits += 1 }
                    index += 1
                }
                guard exponentDigits > 0 else { return .syntax }
            } else if hex {
                return .syntax
            }
            guard index == bytes.endIndex else { return .syntax }
            let cleaned = sign + String(decoding: bytes.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
            let value = cleaned.withCString { strtod($0, nil) }
            return value.isInfinite ? .range : .value(value)
        }

        static func parseFloat(_ text: String) throws(TemplateError) -> Double {
            switch readFloat(text) {
            case .value(let value): return value
            case .syntax: throw TemplateError("strconv.ParseFloat: parsing \(quote(text)): invalid syntax")
            case .range: throw TemplateError("strconv.ParseFloat: parsing \(quote(text)): value out of range")
            }
        }

        /// Prometheus's model.ParseDuration (`1h30m`, units y w d h m s ms, largest first), in seconds.
        static func parseDuration(_ text: String) throws(TemplateError) -> Double {
            if text == "0" { return 0 }
            guard !text.isEmpty else { throw TemplateError("empty duration string") }
            let invalid = TemplateError("not a valid duration string: \(quote(text))")
            let units: [String: (order: Int, nanoseconds: UInt64)] = [
                "y": (1, 365 * 86_400_000_000_000), "w": (2, 7 * 86_400_000_000_000), "d": (3, 86_400_000_000_000),
                "h": (4, 3_600_000_000_000), "m": (5, 60_000_000_000), "s": (6, 1_000_000_000), "ms": (7, 1_000_000),
            ]
            var rest = Array(text.utf8)[...]
            var total: UInt64 = 0
            var lastOrder = 0
            func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
            while let first = rest.first {
                guard isDigit(first) else { throw invalid }
                let digits = rest.prefix(while: isDigit)
                rest = rest.dropFirst(digits.count)
                guard let value = UInt64(String(decoding: digits, as: UTF8.self)) else { throw invalid }
                let unitBytes = rest.prefix { !isDigit($0) }
                rest = rest.dropFirst(unitBytes.count)
                guard !unitBytes.isEmpty else { throw invalid }
                let unitName = String(decoding: unitBytes, as: UTF8.self)
                guard let unit = units[unitName] else { throw TemplateError("unknown unit \(quote(unitName)) in duration \(quote(text))") }
                guard unit.order > lastOrder else { throw invalid }
                lastOrder = unit.order
                guard value <= (1 << 63) / unit.nanoseconds else { throw TemplateError("duration out of range") }
                total += value * unit.nanoseconds
                guard total <= UInt64(Int64.max) else { throw TemplateError("duration out of range") }
            }
            return Double(Int64(total)) / 1e9
        }

        /// template.HTMLEscapeString.
        static func htmlEscape(_ text: String) -> String {
            var output = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": output += "&#34;"
                case "'": output += "&#39;"
                case "&": output += "&amp;"
                case "<": output += "&lt;"
                case ">": output += "&gt;"
                case "\0": output += "\u{FFFD}"
                default: output.unicodeScalars.append(scalar)
                }
            }
            return output
        }

        /// template.JSEscapeString.
        static func jsEscape(_ text: String) -> String {
            var output = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\\": output += "\\\\"
                case "'": output += "\\'"
                case "\"": output += "\\\""
                case "<": output += "\\u003C"
                case ">": output += "\\u003E"
                case "&": output += "\\u0026"
                case "=": output += "\\u003D"
                default:
                    if scalar.value < 0x20 {
                        output += "\\u00" + GoText.zeroPadded(String(scalar.value, radix: 16, uppercase: true), 2)
                    } else if scalar.value >= 0x80 && !Runes.isPrint(scalar) {
                        output += "\\u" + GoText.zeroPadded(String(scalar.value, radix: 16, uppercase: true), 4)
                    } else {
                        output.unicodeScalars.append(scalar)
                    }
                }
            }
            return output
        }

        /// url.QueryEscape.
        static func queryEscape(_ text: String) -> String {
            var output: [UInt8] = []
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                    output.append(byte)
                case UInt8(ascii: " "):
                    output.append(UInt8(ascii: "+"))
                default:
                    output += Array("%".utf8) + Array(GoText.zeroPadded(String(byte, radix: 16, uppercase: true), 2).utf8)
                }
            }
            return String(decoding: output, as: UTF8.self)
        }

        /// The first letter of each word in title case, the rest as it is (cases.Title with NoLower);
        /// an apostrophe, `.` or `:` between letters does not start a word.
        static func title(_ text: String) -> String {
            let scalars = Array(text.unicodeScalars)
            var output = String.UnicodeScalarView()
            for (index, scalar) in scalars.enumerated() {
                var startsWord = true
                if index > 0 {
                    let previous = scalars[index - 1]
                    if Runes.isAlphaNumeric(previous) || Runes.isMark(previous) {
                        startsWord = false
                    } else if "'’.:".unicodeScalars.contains(previous), index >= 2, Runes.isLetter(scalars[index - 2]), Runes.isLetter(scalar) {
                        startsWord = false
                    }
                }
                if startsWord {
                    output.append(contentsOf: scalar.properties.titlecaseMapping.unicodeScalars)
                } else {
                    output.append(scalar)
                }
            }
            return String(output)
        }

        /// strings.ToUpper and ToLower: each character's simple (one-character) mapping.
        static func changeCase(_ text: String, upper: Bool) -> String {
            var output = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                let mapped = (upper ? scalar.properties.uppercaseMapping : scalar.properties.lowercaseMapping).unicodeScalars
                output.append(mapped.count == 1 ? mapped.first! : scalar)
            }
            return String(output)
        }
    }

    /// Go's unicode tests as text/template's lexer and strconv use them.
    fileprivate enum Runes {
        static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
            if scalar.isASCII { return (scalar.value | 0x20) >= 0x61 && (scalar.value | 0x20) <= 0x7A }
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
            default: return false
            }
        }

        static func isMark(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: return true
            default: return false
            }
        }

        static func isAlphaNumeric(_ scalar: Unicode.Scalar) -> Bool {
            if scalar.isASCII { return scalar == "_" || (scalar.value >= 0x30 && scalar.value <= 0x39) || isLetter(scalar) }
            return isLetter(scalar) || scalar.properties.generalCategory == .decimalNumber
        }

        /// strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
        static func isPrint(_ scalar: Unicode.Scalar) -> Bool {
            if scalar.isASCII { return scalar.value >= 0x20 && scalar.value < 0x7F }
            switch scalar.properties.generalCategory {
            case .control, .format, .surrogate, .privateUse, .unassigned, .spaceSeparator, .lineSeparator, .paragraphSeparator: return false
            default: return true
            }
        }

        /// `%#U`: `U+0041 'A'`, or just `U+00A0` when not printable.
        static func describe(_ scalar: Unicode.Scalar) -> String {
            let code = "U+" + GoText.zeroPadded(String(scalar.value, radix: 16, uppercase: true), 4)
            return isPrint(scalar) ? code + " '" + String(Character(scalar)) + "'" : code
        }
    }

    /// The bits of Go's net and net/url that Prometheus's functions use.
    fileprivate enum GoNet {
        /// net.SplitHostPort; nil where Go returns an error.
        static func splitHostPort(_ text: String) -> (host: String, port: String)? {
            let bytes = Array(text.utf8)
            guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")) else { return nil }
            let host: ArraySlice<UInt8>
            var opening = 0
            var closing = 0
            if bytes.first == UInt8(ascii: "[") {
                guard let end = bytes.firstIndex(of: UInt8(ascii: "]")), end + 1 == colon else { return nil }
                host = bytes[1..<end]
                opening = 1
                closing = end + 1
            } else {
                host = bytes[..<colon]
                guard !host.contains(UInt8(ascii: ":")) else { return nil }
            }
            guard !bytes[opening...].contains(UInt8(ascii: "[")), !bytes[closing...].contains(UInt8(ascii: "]")) else { return nil }
            return (String(decoding: host, as: UTF8.self), String(decoding: bytes[(colon + 1)...], as: UTF8.self))
        }

        /// Whether net.ParseIP accepts `text`: dotted IPv4 or IPv6.
        static func isIP(_ text: String) -> Bool {
            guard !text.utf8.contains(0) else { return false }
            var address = [UInt8](repeating: 0, count: 16)
            return text.withCString { inet_pton(AF_INET, $0, &address) == 1 || inet_pton(AF_INET6, $0, &address) == 1 }
        }

        static func stripPort(_ text: String) -> String {
            splitHostPort(text)?.host ?? text
        }

        /// The host's first label, keeping any port; IP addresses as they are.
        static func stripDomain(_ text: String) -> String {
            let (host, port) = splitHostPort(text) ?? (text, "")
            if isIP(host) { return text }
            let first = String(host.split(separator: ".", omittingEmptySubsequences: false).first ?? "")
            guard !port.isEmpty else { return first }
            return first.contains(":") ? "[\(first)]:\(port)" : "\(first):\(port)"
        }

        /// The path of a URL (`/prefix` of `http://host:9090/prefix?x`).
        static func path(ofURL url: String) -> String {
            var rest = Array(url.utf8)[...]
            if let colon = rest.firstIndex(of: UInt8(ascii: ":")), rest[colon...].starts(with: "://".utf8) {
                rest = rest[(colon + 3)...]
                guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else { return "" }
                rest = rest[slash...]
            }
            return String(decoding: rest.prefix { $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }, as: UTF8.self)
        }
    }
}

// MARK: - Regular expressions (Go's regexp)

extension Template {
    /// Go's regexp for `match` and `reReplaceAll`: RE2 syntax, searched unanchored with leftmost-first
    /// preference, run as a Pike VM (all alternatives at once) so that time stays linear in the text.
    fileprivate struct GoRegexp {
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
    fileprivate indirect enum RegexNode {
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
    fileprivate struct RegexParser {
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
    fileprivate struct RegexCompiler {
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
