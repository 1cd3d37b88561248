extension Template {
    /// What a token is. Keywords print as `<if>` in messages, everything else quoted.
    enum TokenKind: Equatable, Sendable {
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
    struct Token: Sendable {
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
    struct Tokenizer {
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
