extension Template {
    /// What parsing one item of a list gives: a node, or the `{{end}}` or `{{else}}` that ends the list.
    enum ListItem {
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
    struct SyntaxParser {
        private let source: [UInt8]
        private let name: String
        private let tokens: [Token]
        private var index = 0
        /// The furthest token read: Go reports errors on its line.
        private var furthest = 0
        /// Variables in scope, innermost last.
        private var variables: [String]
        /// The functions the text may call.
        private let functions: [String: Builtin]
        private var rangeDepth = 0
        private var nesting = 0
        /// The line of the `{{` of the action being parsed, for lexical errors that span lines.
        private var actionLine = 0
        private var trees: [String: [Node]] = [:]
        private let stack = StackGuard()

        init(source: [UInt8], name: String, functions: [String: Builtin], variables: [String]) {
            self.source = source
            self.name = name
            self.functions = functions
            self.variables = variables
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

        static func isEmpty(_ body: [Node]) -> Bool {
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
                guard functions[value] != nil || value == "and" || value == "or" else {
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
