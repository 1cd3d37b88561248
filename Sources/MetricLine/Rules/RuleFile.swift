/// A Prometheus rule file (`groups:` of alerting and recording rules), read from YAML and checked
/// the way Prometheus checks it when it loads the file.
public struct RuleFile: Sendable {
    /// The path the file was read from, for messages and for the state file.
    public var path: String
    public var groups: [RuleGroup]

    /// Reads and checks `path`. Every problem found is reported, each with its position.
    public static func load(_ path: String) throws(RuleFileErrors) -> RuleFile {
        let bytes: [UInt8]
        do { bytes = try StoreFile.readAll(path) } catch { throw RuleFileErrors([RuleFileError(path: path, position: nil, message: error.message)]) }
        return try parse(String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// Parses and checks rule-file text.
    public static func parse(_ text: String, path: String) throws(RuleFileErrors) -> RuleFile {
        let root: YAMLNode
        do { root = try YAML.parse(text) } catch { throw RuleFileErrors([RuleFileError(path: path, position: error.position, message: error.message)]) }
        var reader = RuleFileReader(path: path)
        let file = reader.read(root)
        if !reader.errors.isEmpty { throw RuleFileErrors(reader.errors) }
        return file
    }

    /// Every rule of every group, in file order.
    public var ruleCount: Int { groups.reduce(0) { $0 + $1.rules.count } }
}

/// A named list of rules evaluated together, in order, at one interval.
public struct RuleGroup: Sendable {
    public var name: String
    /// Milliseconds between evaluations; nil means the default (1m, or the test file's `evaluation_interval`).
    public var interval: Int64?
    /// Labels added to every rule's output (Prometheus 2.51+ group `labels`).
    public var labels: LabelSet = []
    /// How many alerts or series a rule may produce (0 = no limit).
    public var limit = 0
    /// How far back evaluations are shifted (Prometheus 2.53+ `query_offset`).
    public var queryOffset: Int64 = 0
    public var rules: [Rule]
    /// The file the group came from.
    public var file: String
}

/// One alerting or recording rule.
public struct Rule: Sendable {
    public enum Kind: Sendable {
        /// `record: NAME`: the expression's result is written back as series NAME.
        case recording
        /// `alert: NAME`: each element of the result is an alert.
        case alerting
    }

    public var kind: Kind
    /// The record's metric name or the alert's name.
    public var name: String
    /// The expression as written, for messages, `generatorURL` and `query`.
    public var expressionText: String
    public var expression: QueryExpression
    /// How long an alert stays pending before it fires (milliseconds).
    public var holdDuration: Int64 = 0
    /// How long an alert keeps firing after its condition is gone (milliseconds).
    public var keepFiringFor: Int64 = 0
    /// Labels to add; templates for alerting rules.
    public var labels: [NamedTemplate] = []
    /// Annotations (alerting rules only), templates.
    public var annotations: [NamedTemplate] = []
    /// Flap damping (a malert extension): an alert that changes state more than `changes` times
    /// within `window` is held firing and labelled `flapping="true"`.
    public var flapping: FlapDamping?
    /// Where the rule starts in its file.
    public var position: YAMLPosition

    /// The labels as written (templates unexpanded), sorted by name.
    public var labelTexts: [(String, String)] { labels.map { ($0.name, $0.text) }.sorted { $0.0 < $1.0 } }
}

/// A label or annotation of a rule: its name, its text as written and, for alerting rules, the
/// compiled template.
public struct NamedTemplate: Sendable {
    public var name: String
    public var text: String
    /// Nil for recording rules, whose labels are not templates.
    public var template: Template?

    /// The text with `data` filled in (Prometheus writes an expansion error into the text).
    public func expand(_ data: TemplateData) -> String {
        guard let template, !template.isConstant else { return text }
        do { return try template.render(data) } catch { return "<error expanding template: \(error.message)>" }
    }
}

/// Flap damping for one alerting rule: more than `changes` state changes within `window`
/// milliseconds hold the alert firing.
public struct FlapDamping: Sendable, Equatable {
    public var changes: Int
    public var window: Int64

    public init(changes: Int, window: Int64) {
        self.changes = changes
        self.window = window
    }
}

/// A problem in a rule file, with where it is.
public struct RuleFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var position: YAMLPosition?
    public var message: String

    public init(path: String, position: YAMLPosition?, message: String) {
        self.path = path
        self.position = position
        self.message = message
    }

    /// `rules.yml:7:15: group "g", rule 1, "x": could not parse expression: ...`, as promtool words it.
    public var description: String {
        guard let position else { return "\(path): \(message)" }
        return "\(path):\(position.line):\(position.column): \(message)"
    }
}

/// All the problems found in one rule file.
public struct RuleFileErrors: Error, Sendable {
    public var errors: [RuleFileError]
    public init(_ errors: [RuleFileError]) { self.errors = errors }
}

/// Rule-file durations: PromQL durations, plus `0`.
public enum RuleDuration {
    public static func milliseconds(_ text: String) -> Int64? {
        if text == "0" { return 0 }
        return Duration.milliseconds(text)
    }
}

/// Walks the YAML tree of a rule file, collecting every problem rather than stopping at the first.
struct RuleFileReader {
    let path: String
    var errors: [RuleFileError] = []

    init(path: String) { self.path = path }

    mutating func fail(_ position: YAMLPosition?, _ message: String) {
        errors.append(RuleFileError(path: path, position: position, message: message))
    }

    mutating func read(_ root: YAMLNode) -> RuleFile {
        var file = RuleFile(path: path, groups: [])
        if root.isNull { return file }
        guard let entries = root.mapping else {
            fail(root.position, "a rule file is a mapping with 'groups', not a \(root.kind)")
            return file
        }
        for entry in entries where entry.key != "groups" {
            fail(entry.keyPosition, "unknown key \"\(entry.key)\" (a rule file has only 'groups')")
        }
        guard let groups = root["groups"], !groups.isNull else { return file }
        guard let items = groups.sequence else {
            fail(groups.position, "'groups' must be a list")
            return file
        }
        var seen: [String: YAMLPosition] = [:]
        for item in items {
            guard let group = readGroup(item) else { continue }
            if let first = seen[group.name] {
                fail(item["name"]?.position ?? item.position, "groupname: \"\(group.name)\" is repeated in the same file (first at \(first))")
            } else {
                seen[group.name] = item["name"]?.position ?? item.position
            }
            file.groups.append(group)
        }
        return file
    }

    private mutating func readGroup(_ node: YAMLNode) -> RuleGroup? {
        guard let entries = node.mapping else {
            fail(node.position, "a group must be a mapping with 'name' and 'rules', not a \(node.kind)")
            return nil
        }
        let known = ["name", "interval", "rules", "limit", "labels", "query_offset"]
        for entry in entries where !known.contains(entry.key) {
            fail(entry.keyPosition, "unknown key \"\(entry.key)\" in a group (known: \(known.joined(separator: ", ")))")
        }
        guard let name = node["name"]?.scalar, !name.isEmpty else {
            fail(node["name"]?.position ?? node.position, "Groupname must not be empty")
            return nil
        }
        var group = RuleGroup(name: name, rules: [], file: path)
        if let interval = node["interval"], !interval.isNull {
            group.interval = duration(interval, what: "interval")
            if group.interval == 0 { fail(interval.position, "group \"\(name)\": interval must be greater than zero") }
        }
        if let offset = node["query_offset"], !offset.isNull { group.queryOffset = duration(offset, what: "query_offset") ?? 0 }
        if let limit = node["limit"], !limit.isNull {
            if let text = limit.scalar, let value = Int(text), value >= 0 { group.limit = value } else { fail(limit.position, "group \"\(name)\": limit must be a non-negative integer") }
        }
        if let labels = node["labels"], !labels.isNull {
            for (labelName, value, position) in stringMap(labels, what: "labels") {
                guard Names.isLegacyLabelName(labelName) else { fail(position, "group \"\(name)\": invalid label name \"\(labelName)\""); continue }
                group.labels = group.labels.setting(labelName, value)
            }
        }
        guard let rules = node["rules"], !rules.isNull else { return group }
        guard let items = rules.sequence else {
            fail(rules.position, "group \"\(name)\": 'rules' must be a list")
            return group
        }
        for (index, item) in items.enumerated() {
            if let rule = readRule(item, group: name, number: index + 1) { group.rules.append(rule) }
        }
        return group
    }

    private mutating func readRule(_ node: YAMLNode, group: String, number: Int) -> Rule? {
        guard let entries = node.mapping else {
            fail(node.position, "group \"\(group)\", rule \(number): a rule must be a mapping, not a \(node.kind)")
            return nil
        }
        let known = ["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations", "flapping"]
        for entry in entries where !known.contains(entry.key) {
            fail(entry.keyPosition, "group \"\(group)\", rule \(number): unknown key \"\(entry.key)\"")
        }
        let record = node["record"], alert = node["alert"]
        let errorCount = errors.count
        let kind: Rule.Kind
        let nameNode: YAMLNode
        switch (record, alert) {
        case (let record?, nil): kind = .recording; nameNode = record
        case (nil, let alert?): kind = .alerting; nameNode = alert
        case (_?, _?):
            fail(node.position, "group \"\(group)\", rule \(number): only one of 'record' and 'alert' may be set")
            return nil
        case (nil, nil):
            fail(node.position, "group \"\(group)\", rule \(number): one of 'record' or 'alert' must be set")
            return nil
        }
        let name = nameNode.scalar ?? ""
        let prefix = "group \"\(group)\", rule \(number), \"\(name)\":"
        if name.isEmpty {
            fail(nameNode.position, "group \"\(group)\", rule \(number): \(kind == .recording ? "'record'" : "'alert'") must not be empty")
            return nil
        }
        if kind == .recording && !Names.isLegacyMetricName(name) {
            fail(nameNode.position, "\(prefix) invalid recording rule name: \(name)")
        }
        guard let exprNode = node["expr"], let text = exprNode.scalar, !text.isEmpty, !exprNode.isNull else {
            fail(node["expr"]?.position ?? node.position, "\(prefix) field 'expr' must be set in rule")
            return nil
        }
        var expression = QueryExpression.number(0)
        do {
            expression = try Parser.parse(text)
        } catch {
            fail(exprNode.position, "\(prefix) could not parse expression: \(Self.place(error, in: text)): parse error: \(error.message)")
        }
        var rule = Rule(kind: kind, name: name, expressionText: text, expression: expression, position: node.position)
        if kind == .recording {
            for key in ["for", "keep_firing_for", "annotations", "flapping"] where node[key] != nil {
                fail(node[key]!.position, "\(prefix) invalid field '\(key)' in recording rule")
            }
        } else {
            if let hold = node["for"], !hold.isNull { rule.holdDuration = duration(hold, what: "for") ?? 0 }
            if let keep = node["keep_firing_for"], !keep.isNull { rule.keepFiringFor = duration(keep, what: "keep_firing_for") ?? 0 }
            if let flapping = node["flapping"], !flapping.isNull { rule.flapping = readFlapping(flapping, prefix: prefix) }
        }
        if let labels = node["labels"], !labels.isNull {
            for (labelName, value, position) in stringMap(labels, what: "labels") {
                guard Names.isLegacyLabelName(labelName) else { fail(position, "\(prefix) invalid label name: \(labelName)"); continue }
                if labelName == "__name__" { fail(position, "\(prefix) invalid label name: \(labelName)"); continue }
                if kind == .recording {
                    rule.labels.append(NamedTemplate(name: labelName, text: value))
                } else if let template = compile(value, rule: name, what: "label \"\(labelName)\"", prefix: prefix, at: position) {
                    rule.labels.append(NamedTemplate(name: labelName, text: value, template: template))
                }
            }
        }
        if kind == .alerting, let annotations = node["annotations"], !annotations.isNull {
            for (annotationName, value, position) in stringMap(annotations, what: "annotations") {
                guard Names.isLegacyLabelName(annotationName) else { fail(position, "\(prefix) invalid annotation name: \(annotationName)"); continue }
                if let template = compile(value, rule: name, what: "annotation \"\(annotationName)\"", prefix: prefix, at: position) {
                    rule.annotations.append(NamedTemplate(name: annotationName, text: value, template: template))
                }
            }
        }
        return errors.count == errorCount ? rule : nil
    }

    private mutating func readFlapping(_ node: YAMLNode, prefix: String) -> FlapDamping? {
        guard let changesText = node["changes"]?.scalar, let changes = Int(changesText), changes > 0,
              let windowNode = node["window"], let window = duration(windowNode, what: "flapping window"), window > 0 else {
            fail(node.position, "\(prefix) 'flapping' wants {changes: N, window: DURATION} with N > 0")
            return nil
        }
        return FlapDamping(changes: changes, window: window)
    }

    private mutating func compile(_ text: String, rule: String, what: String, prefix: String, at position: YAMLPosition) -> Template? {
        do {
            return try Template(text, name: "__alert_" + rule)
        } catch {
            fail(position, "\(prefix) \(what): \(error.message)")
            return nil
        }
    }

    private mutating func duration(_ node: YAMLNode, what: String) -> Int64? {
        guard let text = node.scalar, let value = RuleDuration.milliseconds(text) else {
            fail(node.position, "'\(what)': not a valid duration string: \"\(node.scalar ?? node.kind)\"")
            return nil
        }
        return value
    }

    /// The entries of a mapping of strings (labels, annotations), in file order.
    private mutating func stringMap(_ node: YAMLNode, what: String) -> [(String, String, YAMLPosition)] {
        guard let entries = node.mapping else {
            fail(node.position, "'\(what)' must be a mapping of names to strings, not a \(node.kind)")
            return []
        }
        var result: [(String, String, YAMLPosition)] = []
        for entry in entries {
            guard let value = entry.value.scalar else {
                fail(entry.value.position, "'\(what)': the value of \"\(entry.key)\" must be a string, not a \(entry.value.kind)")
                continue
            }
            result.append((entry.key, entry.value.isNull ? "" : value, entry.keyPosition))
        }
        return result
    }

    /// `line:column` of a parse error inside an expression, as Prometheus numbers them.
    static func place(_ error: QueryError, in text: String) -> String {
        let offset = error.offset ?? text.utf8.count
        var line = 1, column = 1
        for (index, byte) in text.utf8.enumerated() where index < offset {
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
        }
        return "\(line):\(column)"
    }
}
