// Go's text/template as Prometheus runs it for alerting rules' labels and annotations.
//
// The folder follows the language's seams: the public types (this file); the tokenizer; the syntax
// tree and its parser; values and the execution; the function table (Go's built-ins, then
// Prometheus's); and the small parts of Go's fmt, strconv, time, net and regexp packages those
// functions print with, so that output matches Prometheus byte for byte.

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

/// Data for a template that is not an alerting rule's, such as a notification's, built from the
/// shapes Go's reflection sees: `.Name` reads a struct's field or a map's key, `range` walks lists
/// and maps, `len` and `index` read both.
public indirect enum TemplateValue: Sendable {
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    /// A point in time in Unix milliseconds: Go's `time.Time`, with `.Format`, `.Unix` and the rest.
    case time(Int64)
    /// `map[string]string`, such as labels: a key it lacks reads as "".
    case strings([String: String], methods: [String: TemplateValue] = [:])
    /// A list (a Go slice).
    case list([TemplateValue], methods: [String: TemplateValue] = [:])
    /// A struct of the Go type `type` (named in messages), its fields in order.
    case object(type: String, fields: [TemplateField], methods: [String: TemplateValue] = [:])

    // `methods` are what a Go type's methods without arguments would return, such as Alertmanager's
    // `.Alerts.Firing`: found before fields and keys, as Go looks for methods first, and neither
    // printed nor written by `toJson`, as Go's fmt and encoding/json leave methods out.
}

/// One field of a `TemplateValue.object`.
public struct TemplateField: Sendable {
    /// The name templates read it by: `.StartsAt`.
    public var name: String
    /// The key `toJson` writes it under (a Go struct's json tag): `startsAt`.
    public var jsonKey: String
    public var value: TemplateValue

    public init(_ name: String, _ value: TemplateValue, jsonKey: String? = nil) {
        self.name = name
        self.jsonKey = jsonKey ?? name
        self.value = value
    }
}

/// Whose templates these are, which decides the functions they may call and the variables they
/// start with.
public enum TemplateDialect: Sendable {
    /// Prometheus's alerting rules: its functions, and `$labels`, `$value`, `$externalLabels` and
    /// `$externalURL` declared; rendered on a `TemplateData`.
    case alertingRules
    /// Alertmanager's notifications: the same functions plus Alertmanager's `toJson`, `join` and
    /// `trimSpace`, and only `$` declared; rendered on a `TemplateValue`.
    case notifications
}

/// A Go text/template with Prometheus's template functions, compiled once and rendered per alert.
///
/// Like Prometheus's, every alerting-rule template behaves as if it began with
/// `{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}`.
public struct Template: Sendable {
    /// The name in messages, such as `__alert_InstanceDown`.
    let name: String
    let dialect: TemplateDialect
    /// The functions it may call, by name.
    let functions: [String: Builtin]
    /// The text, to turn byte offsets into lines and columns in messages.
    let source: [UInt8]
    /// The bodies of the templates by name: the text itself under `name`, then each `define` and `block`.
    let trees: [String: [Node]]
    /// The text itself when it holds no action.
    private let constantText: String?
    /// Other templates whose `define`d templates this one may call by name after its own
    /// (Alertmanager's template files).
    private(set) var definitions: [Template] = []

    /// This template with the `define`d templates of `files` to call by name, after its own.
    public func calling(_ files: [Template]) -> Template {
        var copy = self
        copy.definitions = files
        return copy
    }

    /// Which template defines `name` (0 this one, n the nth of `definitions`), and its body, as
    /// Go's template set would hold it after parsing the files in order and then this text: a
    /// later non-empty definition replaces an earlier one, an empty one replaces nothing. This
    /// text's own body, under its name, cannot be called.
    func definition(_ name: String) -> (owner: Int, body: [Node])? {
        var found: (owner: Int, body: [Node])?
        for (index, file) in definitions.enumerated() {
            if let body = file.trees[name], found == nil || !SyntaxParser.isEmpty(body) { found = (index + 1, body) }
        }
        if name != self.name, let body = trees[name], found == nil || !SyntaxParser.isEmpty(body) { found = (0, body) }
        return found
    }

    /// Compiles `text`. `name` is used in messages, like Prometheus: `template: __alert_InstanceDown:1: undefined variable "$label"`.
    public init(_ text: String, name: String, dialect: TemplateDialect = .alertingRules) throws(TemplateError) {
        self.name = name
        self.dialect = dialect
        functions = Template.functions(for: dialect)
        source = Array(text.utf8)
        guard Template.containsAction(source) else {
            constantText = text
            trees = [name: [.text(source)]]
            return
        }
        constantText = nil
        var parser = SyntaxParser(source: source, name: name, functions: functions,
                                  variables: dialect == .alertingRules ? Execution.ruleVariables : ["$"])
        trees = try parser.parseTemplate()
    }

    /// Runs the template on `data`.
    public func render(_ data: TemplateData) throws(TemplateError) -> String {
        if let constantText { return constantText }
        return try Execution(template: self, data: data, root: nil).run()
    }

    /// Runs the template on `root`, which is `.` and `$`; for `.notifications` templates, which
    /// declare no other variables.
    public func render(_ root: TemplateValue) throws(TemplateError) -> String {
        if let constantText { return constantText }
        return try Execution(template: self, data: TemplateData(), root: Value(root)).run()
    }

    /// True when the text holds no `{{` (callers skip rendering).
    public var isConstant: Bool { constantText != nil }

    /// The names `{{template "name"}}` calls that neither the text nor its `definitions` define
    /// (Go finds out only when the call runs).
    public var undefinedTemplateNames: [String] {
        var names: [String] = []
        var visited: Set<String> = []
        func visit(_ nodes: [Node]) {
            for node in nodes {
                switch node {
                case .conditional(_, _, let list, let elseList):
                    visit(list)
                    visit(elseList ?? [])
                case .range(_, let list, let elseList):
                    visit(list)
                    visit(elseList ?? [])
                case .call(let called, _, _):
                    // Followed into what it calls, in this text or in the files.
                    guard visited.insert(called).inserted else { break }
                    if let (_, body) = definition(called) { visit(body) } else { names.append(called) }
                default:
                    break
                }
            }
        }
        for key in GoText.sortedKeys(trees) { visit(trees[key] ?? []) }
        return names
    }

    private static func containsAction(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "{") && bytes[index + 1] == UInt8(ascii: "{") { return true }
            index += 1
        }
        return false
    }

    /// The 1-based line and the 0-based byte column of `offset`, as Go reports execution errors.
    func lineAndColumn(_ offset: Int) -> (line: Int, column: Int) {
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
