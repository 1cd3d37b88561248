/// Parses PromQL (the classic language of Prometheus 2.55) into an `QueryExpression`, checking types
/// as Prometheus does. Errors carry the byte offset where parsing stopped, for a caret.
public struct Parser {
    private var tokens: [Token]
    private var position = 0
    private let text: String

    /// Parses `text` as one expression.
    public static func parse(_ text: String) throws(QueryError) -> QueryExpression {
        var lexer = Lexer(text)
        var parser = Parser(text: text, tokens: try lexer.tokens())
        let expression = try parser.parseExpression(minimumPrecedence: 0)
        guard parser.current.kind == .end else { throw parser.unexpected("end of input") }
        return expression
    }

    private init(text: String, tokens: [Token]) {
        self.text = text
        self.tokens = tokens
    }

    private var current: Token { tokens[position] }
    private var nextKind: Token.Kind { position + 1 < tokens.count ? tokens[position + 1].kind : .end }

    @discardableResult
    private mutating func advance() -> Token {
        defer { if position < tokens.count - 1 { position += 1 } }
        return tokens[position]
    }

    private func describe(_ kind: Token.Kind) -> String {
        switch kind {
        case .identifier(let name): "'\(name)'"
        case .number(let value): "number \(FloatFormatter.string(value))"
        case .duration(let milliseconds): "duration \(Duration.text(milliseconds))"
        case .string(let value): "string \"\(value)\""
        case .end: "end of input"
        default:
            "'" + (["(": Token.Kind.leftParen, ")": .rightParen, "{": .leftBrace, "}": .rightBrace, "[": .leftBracket, "]": .rightBracket,
                    ",": .comma, ":": .colon, "@": .at, "=": .assign, "!=": .notEqual, "=~": .regexMatch, "!~": .regexNoMatch,
                    "==": .equal, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual, "+": .plus, "-": .minus,
                    "*": .star, "/": .slash, "%": .percent, "^": .caret].first { $0.value == kind }?.key ?? "?") + "'"
        }
    }

    private func unexpected(_ wanted: String) -> QueryError {
        QueryError("unexpected \(describe(current.kind)), expected \(wanted)", offset: current.offset)
    }

    private mutating func expect(_ kind: Token.Kind, _ wanted: String) throws(QueryError) {
        guard current.kind == kind else { throw unexpected(wanted) }
        advance()
    }

    // MARK: Binary operators

    private func binaryOperator(_ token: Token) -> BinaryOperator? {
        switch token.kind {
        case .plus: .add
        case .minus: .subtract
        case .star: .multiply
        case .slash: .divide
        case .percent: .modulo
        case .caret: .power
        case .equal: .equal
        case .notEqual: .notEqual
        case .less: .less
        case .lessOrEqual: .lessOrEqual
        case .greater: .greater
        case .greaterOrEqual: .greaterOrEqual
        case .identifier(let word):
            switch word.lowercased() {
            case "and": .and
            case "or": .or
            case "unless": .unless
            case "atan2": .atan2
            default: nil
            }
        default: nil
        }
    }

    /// Precedence climbing over the binary operators.
    private mutating func parseExpression(minimumPrecedence: Int) throws(QueryError) -> QueryExpression {
        var left = try parseUnary()
        while let operation = binaryOperator(current), operation.precedence > minimumPrecedence {
            let operatorToken = advance()
            var returnBool = false
            if case .identifier(let word) = current.kind, word.lowercased() == "bool" {
                guard operation.isComparison else { throw QueryError("bool modifier can only be used on comparison operators", offset: current.offset) }
                returnBool = true
                advance()
            }
            let matching = try parseVectorMatching(for: operation)
            // `^` is right-associative: its right side may hold another `^`.
            let right = try parseExpression(minimumPrecedence: operation == .power ? operation.precedence - 1 : operation.precedence)
            left = try makeBinary(operation, left, right, matching: matching, returnBool: returnBool, at: operatorToken.offset)
        }
        return left
    }

    private mutating func parseVectorMatching(for operation: BinaryOperator) throws(QueryError) -> VectorMatching? {
        var matching: VectorMatching?
        if case .identifier(let word) = current.kind, ["on", "ignoring"].contains(word.lowercased()), nextKind == .leftParen {
            advance()
            var result = VectorMatching()
            result.on = word.lowercased() == "on"
            result.labels = try parseLabelList()
            matching = result
            if case .identifier(let group) = current.kind, ["group_left", "group_right"].contains(group.lowercased()) {
                guard !operation.isSetOperator else { throw QueryError("no grouping allowed for \"\(operation.rawValue)\" operation", offset: current.offset) }
                advance()
                matching!.cardinality = group.lowercased() == "group_left" ? .manyToOne : .oneToMany
                if current.kind == .leftParen { matching!.include = try parseLabelList() }
            }
        }
        if operation.isSetOperator {
            if matching == nil { matching = VectorMatching() }
            matching!.cardinality = .manyToMany
        }
        return matching
    }

    private mutating func makeBinary(_ operation: BinaryOperator, _ left: QueryExpression, _ right: QueryExpression, matching: VectorMatching?,
                                     returnBool: Bool, at offset: Int) throws(QueryError) -> QueryExpression {
        for side in [left, right] where side.type != .scalar && side.type != .instantVector {
            throw QueryError("binary expression must contain only scalar and instant vector types", offset: offset)
        }
        let bothScalar = left.type == .scalar && right.type == .scalar
        if operation.isComparison && bothScalar && !returnBool {
            throw QueryError("comparisons between scalars must use BOOL modifier", offset: offset)
        }
        if operation.isSetOperator && (left.type == .scalar || right.type == .scalar) {
            throw QueryError("set operator \"\(operation.rawValue)\" not allowed in binary scalar expression", offset: offset)
        }
        if let matching, !operation.isSetOperator, (left.type == .scalar || right.type == .scalar), !matching.labels.isEmpty || matching.on {
            throw QueryError("vector matching only allowed between instant vectors", offset: offset)
        }
        var vectorMatching = matching
        if vectorMatching == nil && left.type == .instantVector && right.type == .instantVector { vectorMatching = VectorMatching() }
        if let checked = vectorMatching, checked.on, checked.cardinality != .manyToMany {
            for label in checked.include where checked.labels.contains(label) {
                throw QueryError("label \"\(label)\" must not occur in ON and GROUP clause at once", offset: offset)
            }
        }
        return .binary(operation, left, right, matching: left.type == .instantVector && right.type == .instantVector ? vectorMatching : nil,
                       returnBool: returnBool)
    }

    // MARK: Unary, postfix and primary expressions

    private mutating func parseUnary() throws(QueryError) -> QueryExpression {
        if current.kind == .minus || current.kind == .plus {
            let negative = current.kind == .minus
            let offset = current.offset
            advance()
            // Unary minus binds tighter than everything but `^`: -2^2 is -(2^2).
            let operand = try parseExpression(minimumPrecedence: BinaryOperator.multiply.precedence)
            guard operand.type == .scalar || operand.type == .instantVector else {
                throw QueryError("unary expression only allowed on expressions of type scalar or instant vector, got \"\(operand.type.rawValue)\"", offset: offset)
            }
            if case .number(let value) = operand { return .number(negative ? -value : value) }
            return negative ? .negate(operand) : operand
        }
        return try parsePostfix(try parsePrimary())
    }

    /// `[range]`, `[range:step]`, `offset D` and `@ T` after an expression.
    private mutating func parsePostfix(_ base: QueryExpression) throws(QueryError) -> QueryExpression {
        var expression = base
        while true {
            switch current.kind {
            case .leftBracket:
                let open = current.offset
                advance()
                let range = try parseDurationValue("a range duration")
                if current.kind == .colon {
                    advance()
                    var step: Int64?
                    if current.kind != .rightBracket { step = try parseDurationValue("a subquery step") }
                    try expect(.rightBracket, "']'")
                    guard expression.type == .instantVector else {
                        throw QueryError("subquery is only allowed on instant vector, got \(expression.type.rawValue)", offset: open)
                    }
                    expression = .subquery(expression, range: range, step: step, offset: 0, at: nil)
                } else {
                    try expect(.rightBracket, "']' or ':'")
                    guard case .vector(let selector) = expression else {
                        throw QueryError("ranges only allowed for vector selectors", offset: open)
                    }
                    guard selector.offset == 0 && selector.at == nil else {
                        throw QueryError("no offset or @ modifiers allowed before range", offset: open)
                    }
                    expression = .matrix(selector, range: range)
                }
            case .identifier(let word) where word.lowercased() == "offset":
                let at = current.offset
                advance()
                var negative = false
                if current.kind == .minus { negative = true; advance() } else if current.kind == .plus { advance() }
                let amount = try parseDurationValue("a duration after offset")
                try setOffset(&expression, negative ? -amount : amount, at: at)
            case .at:
                let at = current.offset
                advance()
                let modifier = try parseAtModifier()
                try setAt(&expression, modifier, at: at)
            default:
                return expression
            }
        }
    }

    private mutating func parseAtModifier() throws(QueryError) -> AtModifier {
        if case .identifier(let word) = current.kind, ["start", "end"].contains(word.lowercased()), nextKind == .leftParen {
            advance()
            advance()
            try expect(.rightParen, "')'")
            return word.lowercased() == "start" ? .start : .end
        }
        var negative = false
        if current.kind == .minus { negative = true; advance() } else if current.kind == .plus { advance() }
        switch current.kind {
        case .number(let seconds):
            guard seconds.isFinite else { throw QueryError("timestamp out of bounds for @ modifier", offset: current.offset) }
            advance()
            return .time(Int64(((negative ? -seconds : seconds) * 1000).rounded()))
        case .duration(let milliseconds):
            advance()
            return .time(negative ? -milliseconds : milliseconds)
        default:
            throw unexpected("a timestamp, start() or end() after @")
        }
    }

    private func setOffset(_ expression: inout QueryExpression, _ amount: Int64, at offset: Int) throws(QueryError) {
        switch expression {
        case .vector(var selector):
            guard selector.offset == 0 else { throw QueryError("offset may not be set multiple times", offset: offset) }
            selector.offset = amount
            expression = .vector(selector)
        case .matrix(var selector, let range):
            guard selector.offset == 0 else { throw QueryError("offset may not be set multiple times", offset: offset) }
            selector.offset = amount
            expression = .matrix(selector, range: range)
        case .subquery(let inner, let range, let step, let existing, let at):
            guard existing == 0 else { throw QueryError("offset may not be set multiple times", offset: offset) }
            expression = .subquery(inner, range: range, step: step, offset: amount, at: at)
        default:
            throw QueryError("offset modifier must be preceded by an instant vector selector or range vector selector or a subquery", offset: offset)
        }
    }

    private func setAt(_ expression: inout QueryExpression, _ modifier: AtModifier, at offset: Int) throws(QueryError) {
        switch expression {
        case .vector(var selector):
            guard selector.at == nil else { throw QueryError("@ <timestamp> may not be set multiple times", offset: offset) }
            selector.at = modifier
            expression = .vector(selector)
        case .matrix(var selector, let range):
            guard selector.at == nil else { throw QueryError("@ <timestamp> may not be set multiple times", offset: offset) }
            selector.at = modifier
            expression = .matrix(selector, range: range)
        case .subquery(let inner, let range, let step, let existing, let at):
            guard at == nil else { throw QueryError("@ <timestamp> may not be set multiple times", offset: offset) }
            expression = .subquery(inner, range: range, step: step, offset: existing, at: modifier)
        default:
            throw QueryError("@ modifier must be preceded by an instant vector selector or range vector selector or a subquery", offset: offset)
        }
    }

    /// A duration, or (as Prometheus 2.55 allows) a number of seconds.
    private mutating func parseDurationValue(_ wanted: String) throws(QueryError) -> Int64 {
        switch current.kind {
        case .duration(let milliseconds):
            advance()
            return milliseconds
        case .number(let seconds) where seconds.isFinite && seconds >= 0:
            advance()
            return Int64((seconds * 1000).rounded())
        default:
            throw unexpected(wanted)
        }
    }

    private mutating func parsePrimary() throws(QueryError) -> QueryExpression {
        let token = current
        switch token.kind {
        case .number(let value):
            advance()
            return .number(value)
        case .duration(let milliseconds):
            // A duration where a number is expected counts as seconds.
            advance()
            return .number(Double(milliseconds) / 1000)
        case .string(let value):
            advance()
            return .string(value)
        case .leftParen:
            advance()
            let inner = try parseExpression(minimumPrecedence: 0)
            try expect(.rightParen, "')'")
            return .parenthesized(inner)
        case .leftBrace:
            return .vector(try parseSelector(name: nil, at: token.offset))
        case .identifier(let word):
            if let aggregation = AggregationOperator(rawValue: word.lowercased()),
               nextKind == .leftParen || isGroupingKeyword(nextKind) {
                return try parseAggregation(aggregation)
            }
            if nextKind == .leftParen, let signature = Functions.table[word] {
                return try parseCall(word, signature)
            }
            if nextKind == .leftParen, Functions.table[word] == nil, !isKeyword(word) {
                throw QueryError("unknown function with name \"\(word)\"", offset: token.offset)
            }
            if isKeyword(word) { throw unexpected("an expression") }
            advance()
            return .vector(try parseSelector(name: word, at: token.offset))
        default:
            throw unexpected("an expression")
        }
    }

    private func isGroupingKeyword(_ kind: Token.Kind) -> Bool {
        if case .identifier(let word) = kind { return ["by", "without"].contains(word.lowercased()) }
        return false
    }

    /// Words that cannot start an expression.
    private func isKeyword(_ word: String) -> Bool {
        ["and", "or", "unless", "atan2", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"].contains(word.lowercased())
    }

    private mutating func parseSelector(name: String?, at offset: Int) throws(QueryError) -> VectorSelector {
        var matchers: [LabelMatcher] = []
        if let name { matchers.append(.equal(Segment.nameLabel, name)) }
        if current.kind == .leftBrace {
            advance()
            while current.kind != .rightBrace {
                let labelToken = current
                let label: String
                switch labelToken.kind {
                case .identifier(let word): label = word
                case .string(let quoted): label = quoted
                default: throw unexpected("a label name")
                }
                advance()
                let operation: LabelMatcher.Operation
                switch current.kind {
                case .assign: operation = .equal
                case .notEqual: operation = .notEqual
                case .regexMatch: operation = .matchesRegex
                case .regexNoMatch: operation = .notMatchesRegex
                default: throw unexpected("a label matching operator")
                }
                advance()
                guard case .string(let value) = current.kind else { throw unexpected("a quoted label value") }
                let valueOffset = current.offset
                advance()
                do {
                    matchers.append(try LabelMatcher(label, operation, value))
                } catch {
                    throw QueryError("invalid regular expression: \(error.message)", offset: valueOffset)
                }
                if current.kind == .comma { advance() } else if current.kind != .rightBrace { throw unexpected("',' or '}'") }
            }
            advance()
        }
        let names = matchers.filter { $0.name == Segment.nameLabel }
        if names.count > 1 && name != nil { throw QueryError("metric name must not be set twice", offset: offset) }
        // Prometheus refuses selectors that could match every series.
        guard matchers.contains(where: { !$0.matches("") }) else {
            throw QueryError("vector selector must contain at least one non-empty matcher", offset: offset)
        }
        return VectorSelector(matchers: matchers)
    }

    private mutating func parseLabelList() throws(QueryError) -> [String] {
        try expect(.leftParen, "'('")
        var labels: [String] = []
        while current.kind != .rightParen {
            switch current.kind {
            case .identifier(let word): labels.append(word)
            case .string(let quoted): labels.append(quoted)
            default: throw unexpected("a label name")
            }
            advance()
            if current.kind == .comma { advance() } else if current.kind != .rightParen { throw unexpected("',' or ')'") }
        }
        advance()
        return labels
    }

    private mutating func parseAggregation(_ operation: AggregationOperator) throws(QueryError) -> QueryExpression {
        let start = current.offset
        advance()
        var arguments: [QueryExpression] = []
        var grouping: [String] = []
        var without = false
        var groupingGiven = false
        // The grouping may come before or after the arguments.
        for place in 0..<2 {
            if case .identifier(let word) = current.kind, ["by", "without"].contains(word.lowercased()) {
                guard !groupingGiven else { throw QueryError("grouping given twice", offset: current.offset) }
                without = word.lowercased() == "without"
                advance()
                grouping = try parseLabelList()
                groupingGiven = true
            }
            if place == 1 { break }
            try expect(.leftParen, "'('")
            while current.kind != .rightParen {
                arguments.append(try parseExpression(minimumPrecedence: 0))
                if current.kind == .comma { advance() } else if current.kind != .rightParen { throw unexpected("',' or ')'") }
            }
            advance()
        }
        let wanted = operation.hasParameter ? 2 : 1
        guard arguments.count == wanted else {
            throw QueryError("wrong number of arguments for aggregate expression provided, expected \(wanted), got \(arguments.count)", offset: start)
        }
        let expression = arguments[wanted - 1]
        guard expression.type == .instantVector else {
            throw QueryError("expected type instant vector in aggregation expression, got \(expression.type.rawValue)", offset: start)
        }
        let parameter = operation.hasParameter ? arguments[0] : nil
        if let parameter {
            let expected: ValueType = operation == .countValues ? .string : .scalar
            guard parameter.type == expected else {
                throw QueryError("expected type \(expected.rawValue) in aggregation parameter, got \(parameter.type.rawValue)", offset: start)
            }
        }
        return .aggregate(operation, parameter: parameter, expression: expression, grouping: grouping, without: without)
    }

    private mutating func parseCall(_ name: String, _ signature: Functions.Signature) throws(QueryError) -> QueryExpression {
        let start = current.offset
        advance()
        advance()
        var arguments: [QueryExpression] = []
        while current.kind != .rightParen {
            arguments.append(try parseExpression(minimumPrecedence: 0))
            if current.kind == .comma { advance() } else if current.kind != .rightParen { throw unexpected("',' or ')'") }
        }
        advance()
        let minimum = signature.arguments.count - signature.optional
        if arguments.count < minimum || (!signature.variadic && arguments.count > signature.arguments.count) {
            throw QueryError("expected \(minimum == signature.arguments.count || signature.variadic ? "\(minimum)" : "at most \(signature.arguments.count)") argument(s) in call to \"\(name)\", got \(arguments.count)", offset: start)
        }
        for (index, argument) in arguments.enumerated() {
            let expected = signature.arguments[min(index, signature.arguments.count - 1)]
            guard argument.type == expected else {
                throw QueryError("expected type \(expected.rawValue) in call to function \"\(name)\", got \(argument.type.rawValue)", offset: start)
            }
        }
        return .call(function: name, arguments: arguments)
    }
}
