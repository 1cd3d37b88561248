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

/// A Go text/template with Prometheus's template functions, compiled once and rendered per alert.
///
/// Like Prometheus's, every template behaves as if it began with
/// `{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}`.
public struct Template: Sendable {
    /// The name in messages, such as `__alert_InstanceDown`.
    let name: String
    /// The text, to turn byte offsets into lines and columns in messages.
    let source: [UInt8]
    /// The bodies of the templates by name: the text itself under `name`, then each `define` and `block`.
    let trees: [String: [Node]]
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
