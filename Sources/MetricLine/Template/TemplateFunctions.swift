extension Template {
    /// How a function wants an argument, which decides the checks and conversions Go applies.
    enum Parameter {
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

    /// The parameters a function takes; the variadic one may repeat after them.
    struct Signature: Sendable {
        var parameters: [Parameter]
        var variadic: Parameter?
    }

    /// A function templates can call. Its errors are reported as `error calling NAME: message`.
    struct Builtin: Sendable {
        var signature: Signature
        var body: @Sendable (Execution, [Value]) throws(TemplateError) -> Value
    }

    /// The functions templates of `dialect` may call.
    static func functions(for dialect: TemplateDialect) -> [String: Builtin] {
        switch dialect {
        case .alertingRules: builtins
        case .notifications: notificationBuiltins
        }
    }

    /// The functions of notification templates: the rules' functions, plus those of Alertmanager's
    /// that its templates commonly call and Prometheus lacks.
    static let notificationBuiltins: [String: Builtin] = {
        var table = builtins
        /// `toJson`: the value as JSON, so that a label cannot break out of a JSON string.
        table["toJson"] = Builtin(signature: Signature(parameters: [.any], variadic: nil)) { _, arguments throws(TemplateError) in
            .string(try GoJSON.encode(arguments[0]))
        }
        /// `join SEP LIST`: Go's strings.Join with the arguments turned round, for pipelines.
        table["join"] = Builtin(signature: Signature(parameters: [.string, .any], variadic: nil)) { _, arguments throws(TemplateError) in
            guard case .tree(.list(let list, _)) = arguments[1] else {
                throw TemplateError("wrong type for value; expected []string; got \(arguments[1].typeName)")
            }
            var parts: [String] = []
            for element in list {
                guard case .string(let text) = element else { throw TemplateError("wrong type for value; expected []string; got []interface {}") }
                parts.append(text)
            }
            return .string(parts.joined(separator: arguments[0].text))
        }
        table["trimSpace"] = Builtin(signature: Signature(parameters: [.string], variadic: nil)) { _, arguments in
            let scalars = arguments[0].text.unicodeScalars
            guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
                  let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return .string("") }
            return .string(String(scalars[first...last]))
        }
        return table
    }()

    /// Every function by name: Go's built-ins (bar `and` and `or`, which the executor runs because
    /// they stop early) and Prometheus's, as in its template.go.
    static let builtins: [String: Builtin] = {
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
        // Go's regexp, searching anywhere in the text; linear time, but bounded in steps too.
        let tooLong = TemplateError("regexp: matching takes too long")
        add("match", [.string, .string]) { _, arguments throws(TemplateError) in
            let regex: Regex
            do throws(Regex.SyntaxError) { regex = try Regex(searching: arguments[0].text) } catch {
                throw TemplateError("error parsing regexp: \(error.message)")
            }
            do throws(Regex.StepLimitExceeded) {
                return .bool(try regex.matches(arguments[1].text, stepLimit: Limits.regexpSteps))
            } catch { throw tooLong }
        }
        add("reReplaceAll", [.string, .string, .string]) { _, arguments throws(TemplateError) in
            let pattern = arguments[0].text
            let regex: Regex
            do throws(Regex.SyntaxError) { regex = try Regex(searching: pattern) } catch {
                // MustCompile panics, and the panic becomes the error.
                throw TemplateError("regexp: Compile(\(GoText.backquoteOrQuote(pattern))): error parsing regexp: \(error.message)")
            }
            do throws(Regex.StepLimitExceeded) {
                return .string(try regex.replacingAll(in: arguments[2].text, with: arguments[1].text, stepLimit: Limits.regexpSteps))
            } catch { throw tooLong }
        }

        // The server's address.
        add("externalURL", []) { execution, _ in .string(execution.data.externalURL) }
        add("pathPrefix", []) { execution, _ in .string(GoNet.path(ofURL: execution.data.externalURL)) }
        return table
    }()
}
