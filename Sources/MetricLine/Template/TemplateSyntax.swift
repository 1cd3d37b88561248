extension Template {
    /// A node of a template's body.
    indirect enum Node: Sendable {
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
    struct Pipeline: Sendable {
        /// Byte offset of the first token.
        var position: Int
        var declarations: [String] = []
        /// `=` rather than `:=`.
        var isAssign = false
        var commands: [Command] = []
    }

    /// A function or value with its arguments.
    struct Command: Sendable {
        var position: Int
        var arguments: [Argument]
    }

    /// An operand; each carries the byte offset it starts at.
    indirect enum Argument: Sendable {
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
    struct NumberLiteral: Sendable {
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
