extension Template {
    /// How walking a list ended.
    enum Flow {
        case normal
        case breakLoop
        case continueLoop
    }

    /// The node an error is reported at.
    enum Location {
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

    /// One rendering: Go's exec.go state, with the variable stack and the output.
    final class Execution {
        /// The template rendered, whose name space `{{template}}` looks names up in.
        private let main: Template
        /// Whose text is running: 0 the template rendered, n the nth of its template files (for
        /// positions in messages).
        private var running = 0
        var template: Template { running == 0 ? main : main.definitions[running - 1] }
        let data: TemplateData
        /// What `.` and `$` are when the caller gave its own data rather than a rule's `data`.
        private let root: Value?
        private var output: [UInt8] = []
        private var variables: [(name: String, value: Value)] = []
        /// The template being run, for "executing NAME" in messages.
        private var treeName: String
        private var location: Location?
        private var templateDepth = 0
        private var nesting = 0
        private var steps = 0
        private let stack = StackGuard()

        /// The variables an alerting rule's templates start with, as Prometheus declares them.
        static let ruleVariables = ["$", "$labels", "$externalLabels", "$externalURL", "$value"]

        init(template: Template, data: TemplateData, root: Value?) {
            main = template
            self.data = data
            self.root = root
            treeName = template.name
        }

        func run() throws(TemplateError) -> String {
            if let root {
                variables = [("$", root)]
                _ = try walk(root, template.trees[template.name] ?? [])
            } else {
                variables = [
                    ("$", .data(data)), ("$labels", .labels(data.labels)), ("$externalLabels", .labels(data.externalLabels)),
                    ("$externalURL", .string(data.externalURL)), ("$value", .float(data.value)),
                ]
                _ = try walk(.data(data), template.trees[template.name] ?? [])
            }
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
            case .tree(.list(let elements, _)):
                for (index, element) in elements.enumerated() {
                    guard try iterate(.int(index), Value(element)) else { break }
                }
            case .tree(.strings(let map, _)):
                for key in GoText.sortedKeys(map) {
                    guard try iterate(.string(key), .string(map[key] ?? "")) else { break }
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
            var owner = 0
            guard let body = definition(name, owner: &owner) else { throw failure("template \(GoText.quote(name)) not defined") }
            guard templateDepth < Limits.templateDepth else { throw failure("exceeded maximum template depth (\(Limits.templateDepth))") }
            let newDot = if let pipeline { try evalPipeline(dot, pipeline) } else { Value.missing }
            let saved = (variables, treeName, running, location)
            variables = [("$", newDot)]
            treeName = name
            running = owner
            templateDepth += 1
            defer {
                (variables, treeName, running, location) = saved
                templateDepth -= 1
            }
            try enter()
            defer { leave() }
            _ = try walk(newDot, body)
        }

        /// The body of the template `name` and, in `owner`, whose text it is; apart from
        /// `walkTemplate`, so that its frame, one per level of `{{template}}`, stays small.
        @inline(never)
        private func definition(_ name: String, owner: inout Int) -> [Node]? {
            guard let (index, body) = main.definition(name) else { return nil }
            owner = index
            return body
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
            case .tree(let tree):
                if let method = tree.methods[name] {
                    if hasArguments { throw failure("wrong number of args for \(name): want 0 got \(arguments.count - 1 + (final == nil ? 0 : 1))") }
                    return Value(method)
                }
                if case .object(_, let fields, _) = tree, let field = fields.first(where: { $0.name == name }) {
                    if hasArguments { throw failure("\(name) has arguments but cannot be invoked as function") }
                    return Value(field.value)
                }
                if case .strings(let map, _) = tree {
                    if hasArguments { throw failure("\(name) is not a method but has arguments") }
                    return .string(map[name] ?? "")
                }
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
            guard let function = template.functions[name] else { throw failure("\(GoText.quote(name)) is not a defined function") }
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
