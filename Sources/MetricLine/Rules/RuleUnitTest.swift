#if canImport(Glibc)
import Glibc
#endif

/// Runs rule unit tests in promtool's format (`rule_files`, `evaluation_interval`, `tests` with
/// `input_series`, `alert_rule_test` and `promql_expr_test`), with promtool's semantics: see the
/// appendix of PROMQL_TEST_FORMAT.md.
public struct RuleUnitTest {
    /// What one test file came to.
    public struct Outcome: Sendable {
        /// Everything that failed, as promtool words it; empty when the file passed.
        public var failures: [String] = []
        /// Test groups run and test groups skipped by `--run`.
        public var groupsRun = 0
        public var passed: Bool { failures.isEmpty }
    }

    /// Only test groups whose name matches this run (promtool's `--run`).
    public var groupFilter: Regex?

    public init(groupFilter: Regex? = nil) {
        self.groupFilter = groupFilter
    }

    /// Runs the test file at `path`.
    public func run(path: String) -> Outcome {
        var outcome = Outcome()
        let bytes: [UInt8]
        do { bytes = try StoreFile.readAll(path) } catch {
            outcome.failures.append(error.message)
            return outcome
        }
        let root: YAMLNode
        do { root = try YAML.parse(String(decoding: bytes, as: UTF8.self)) } catch {
            outcome.failures.append("\(path):\(error.position): \(error.message)")
            return outcome
        }
        let file: TestFile
        do { file = try TestFile(root, path: path) } catch {
            outcome.failures.append(error.message)
            return outcome
        }
        var groups: [RuleGroup] = []
        for rulePath in file.ruleFiles {
            do { groups += try RuleFile.load(rulePath).groups } catch {
                outcome.failures += error.errors.map(\.description)
            }
        }
        if !outcome.failures.isEmpty { return outcome }
        groups = ordered(groups, by: file.groupOrder)
        for test in file.tests {
            if let groupFilter, !groupFilter.matches(test.name) { continue }
            outcome.groupsRun += 1
            outcome.failures += run(test, groups: groups, evaluationInterval: file.evaluationInterval)
        }
        return outcome
    }

    /// Groups named in `order` first, in that order, the rest after them in file order.
    private func ordered(_ groups: [RuleGroup], by order: [String]) -> [RuleGroup] {
        guard !order.isEmpty else { return groups }
        let rank = Dictionary(order.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        return groups.enumerated().sorted { a, b in
            let left = rank[a.element.name] ?? order.count, right = rank[b.element.name] ?? order.count
            return left != right ? left < right : a.offset < b.offset
        }.map(\.element)
    }

    /// Runs one test group; returns its failures.
    private func run(_ test: TestGroup, groups: [RuleGroup], evaluationInterval: Int64) -> [String] {
        let heading = test.name.isEmpty ? "" : "    name: \(test.name),\n"
        let input = MemorySource()
        for series in test.inputSeries {
            var timestamps: [Int64] = []
            var values: [Double] = []
            for (slot, value) in series.values.enumerated() {
                let time = Int64(slot) * (test.interval ?? evaluationInterval)
                switch value {
                case .number(let number): timestamps.append(time); values.append(number)
                case .stale: timestamps.append(time); values.append(StaleMarker.value)
                case .gap: break
                }
            }
            input.set(series.labels, timestamps: timestamps, values: values)
        }
        var options = RuleEngine.Options()
        options.defaultInterval = evaluationInterval
        options.externalLabels = test.externalLabels
        options.externalURL = test.externalURL
        let engine = RuleEngine(groups: groups, source: input, options: options)
        let end = test.lastEvaluationTime
        var failures: [String] = []
        var alertTests = test.alertTests.sorted { $0.time < $1.time }[...]
        var time: Int64 = 0
        while time <= end {
            engine.visibleUntil = time
            for index in groups.indices {
                let evaluation = engine.evaluate(group: index, at: time)
                if let error = evaluation.errors.first {
                    return [heading + "    rule: \(error.rule), time: \(Self.durationText(time)), err: \(error.message)"]
                }
            }
            while let next = alertTests.first, next.time >= time, next.time < time + evaluationInterval {
                alertTests.removeFirst()
                if let failure = check(next, engine: engine) { failures.append(heading + failure) }
            }
            let (sum, overflow) = time.addingReportingOverflow(evaluationInterval)
            if overflow { break }
            time = sum
        }
        for expression in test.expressionTests {
            if let failure = check(expression, source: engine.series) { failures.append(heading + failure) }
        }
        return failures
    }

    /// Compares the firing alerts named by `test` with what it expects.
    private func check(_ test: AlertTest, engine: RuleEngine) -> String? {
        var got: [AlertTest.Expected] = []
        for (groupIndex, group) in engine.groups.enumerated() {
            for (ruleIndex, rule) in group.rules.enumerated() where rule.kind == .alerting && rule.name == test.alertName {
                for alert in engine.activeAlerts(group: groupIndex, rule: ruleIndex) where alert.state == .firing {
                    got.append(AlertTest.Expected(labels: alert.notifiedLabels, annotations: alert.annotations))
                }
            }
        }
        let expected = test.expected.map { AlertTest.Expected(labels: $0.labels.setting("alertname", test.alertName), annotations: $0.annotations) }
        let order: (AlertTest.Expected, AlertTest.Expected) -> Bool = { ($0.labels.key, $0.annotations.key) < ($1.labels.key, $1.annotations.key) }
        let sortedGot = got.sorted(by: order), sortedExpected = expected.sorted(by: order)
        if sortedGot == sortedExpected { return nil }
        func list(_ alerts: [AlertTest.Expected]) -> String {
            guard !alerts.isEmpty else { return "[]" }
            var text = "[\n"
            for (index, alert) in alerts.enumerated() {
                text += "            \(index):\n              Labels:\(Self.braced(alert.labels))\n              Annotations:\(Self.braced(alert.annotations))\n"
            }
            return text + "            ]"
        }
        return "    alertname: \(test.alertName), time: \(Self.durationText(test.time)), \n        exp:\(list(sortedExpected)), \n        got:\(list(sortedGot))\n"
    }

    /// Compares an instant query's result with the expected samples.
    private func check(_ test: ExpressionTest, source: SeriesSource) -> String? {
        let place = "    expr: \"\(test.expression)\", time: \(Self.durationText(test.time)),"
        let got: [VectorElement]
        do {
            let evaluator = Evaluator(source: source)
            switch try evaluator.instant(try Parser.parse(test.expression), at: test.time) {
            case .vector(let elements): got = elements
            case .scalar(let value): got = [VectorElement(labels: [], value: value)]
            case .string, .matrix: return place + " err: the expression is not an instant vector or scalar\n"
            }
        } catch {
            return place + " err: \(error.message)\n"
        }
        let order: (VectorElement, VectorElement) -> Bool = { $0.labels.key < $1.labels.key }
        let sortedGot = got.sorted(by: order), sortedExpected = test.expected.sorted(by: order)
        let same = sortedGot.count == sortedExpected.count && zip(sortedGot, sortedExpected).allSatisfy {
            $0.labels == $1.labels && ($0.value.bitPattern == $1.value.bitPattern || $0.value == $1.value || ($0.value.isNaN && $1.value.isNaN))
        }
        if same { return nil }
        func list(_ elements: [VectorElement]) -> String {
            elements.map { Self.braced($0.labels) + " " + FloatFormatter.string($0.value) }.joined(separator: ", ")
        }
        return place + "\n        exp: \(list(sortedExpected))\n        got: \(list(sortedGot))\n"
    }

    /// `{a="b", c="d"}`, as promtool prints label sets.
    static func braced(_ labels: LabelSet) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        for (index, label) in labels.enumerated() {
            if index > 0 { bytes += [UInt8(ascii: ","), UInt8(ascii: " ")] }
            bytes += Array(label.name.utf8) + [UInt8(ascii: "=")]
            ExpositionWriter.appendQuoted(label.value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `5m`, `1d`, `0s`, as promtool prints test times.
    static func durationText(_ milliseconds: Int64) -> String {
        milliseconds == 0 ? "0s" : Duration.text(milliseconds)
    }
}

/// A rule unit-test file as read from YAML.
struct TestFile {
    var ruleFiles: [String] = []
    var evaluationInterval: Int64 = 60_000
    var groupOrder: [String] = []
    var tests: [TestGroup] = []

    init(_ root: YAMLNode, path: String) throws(TestFileError) {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        guard let entries = root.mapping else { throw TestFileError(path, root.position, "a test file is a mapping, not a \(root.kind)") }
        let known = ["rule_files", "evaluation_interval", "group_eval_order", "tests", "fuzzy_compare"]
        if let unknown = entries.first(where: { !known.contains($0.key) }) {
            throw TestFileError(path, unknown.keyPosition, "unknown key \"\(unknown.key)\" (known: \(known.joined(separator: ", ")))")
        }
        for item in try Self.list(root["rule_files"], path: path) {
            guard let pattern = item.scalar else { throw TestFileError(path, item.position, "rule_files: want a path") }
            let full = pattern.hasPrefix("/") || directory == "." ? pattern : directory + "/" + pattern
            let matches = FileGlob.expand(full)
            guard !matches.isEmpty else { throw TestFileError(path, item.position, "rule_files: no file matches \"\(pattern)\"") }
            ruleFiles += matches
        }
        if let node = root["evaluation_interval"], !node.isNull {
            guard let text = node.scalar, let value = RuleDuration.milliseconds(text), value > 0 else {
                throw TestFileError(path, node.position, "evaluation_interval: not a valid duration")
            }
            evaluationInterval = value
        }
        groupOrder = try Self.list(root["group_eval_order"], path: path).compactMap(\.scalar)
        for item in try Self.list(root["tests"], path: path) { tests.append(try TestGroup(item, path: path)) }
    }

    static func list(_ node: YAMLNode?, path: String) throws(TestFileError) -> [YAMLNode] {
        guard let node, !node.isNull else { return [] }
        guard let items = node.sequence else { throw TestFileError(path, node.position, "want a list, not a \(node.kind)") }
        return items
    }
}

/// One entry of `tests:`.
struct TestGroup {
    struct InputSeries {
        var labels: LabelSet
        var values: [SeriesNotation.Value]
    }

    var name = ""
    var interval: Int64?
    var inputSeries: [InputSeries] = []
    var externalLabels: [String: String] = [:]
    var externalURL = ""
    var alertTests: [AlertTest] = []
    var expressionTests: [ExpressionTest] = []

    init(_ node: YAMLNode, path: String) throws(TestFileError) {
        guard node.mapping != nil else { throw TestFileError(path, node.position, "a test group is a mapping, not a \(node.kind)") }
        name = node["name"]?.scalar ?? ""
        if let value = node["interval"], !value.isNull { interval = try TestFileError.duration(value, path: path) }
        for item in try TestFile.list(node["input_series"], path: path) {
            guard let description = item["series"]?.scalar else { throw TestFileError(path, item.position, "input_series: each entry wants 'series'") }
            do {
                let (labels, _) = try SeriesNotation.parseSeries(Substring(description))
                let values = try SeriesNotation.parseValues(Substring(item["values"]?.scalar ?? ""))
                inputSeries.append(InputSeries(labels: labels, values: values))
            } catch {
                throw TestFileError(path, item.position, "\(RuleFileReader.place(error, in: description)): parse error: \(error.message)")
            }
        }
        if let labels = node["external_labels"]?.mapping {
            for entry in labels { externalLabels[entry.key] = entry.value.scalar ?? "" }
        }
        externalURL = node["external_url"]?.scalar ?? ""
        for item in try TestFile.list(node["alert_rule_test"], path: path) { alertTests.append(try AlertTest(item, path: path)) }
        for item in try TestFile.list(node["promql_expr_test"], path: path) { expressionTests.append(try ExpressionTest(item, path: path)) }
    }

    /// The last time any case looks at; rules are evaluated up to it.
    var lastEvaluationTime: Int64 {
        max(alertTests.map(\.time).max() ?? 0, expressionTests.map(\.time).max() ?? 0)
    }
}

/// One `alert_rule_test` case.
struct AlertTest {
    struct Expected: Equatable {
        var labels: LabelSet
        var annotations: LabelSet
    }

    var time: Int64
    var alertName: String
    var expected: [Expected] = []

    init(_ node: YAMLNode, path: String) throws(TestFileError) {
        time = try TestFileError.duration(node["eval_time"], path: path)
        alertName = node["alertname"]?.scalar ?? ""
        for item in try TestFile.list(node["exp_alerts"], path: path) {
            expected.append(Expected(labels: Self.labels(item["exp_labels"]), annotations: Self.labels(item["exp_annotations"])))
        }
    }

    static func labels(_ node: YAMLNode?) -> LabelSet {
        var result: LabelSet = []
        for entry in node?.mapping ?? [] { result = result.setting(entry.key, entry.value.scalar ?? "") }
        return result
    }
}

/// One `promql_expr_test` case.
struct ExpressionTest {
    var expression: String
    var time: Int64
    var expected: [VectorElement] = []

    init(_ node: YAMLNode, path: String) throws(TestFileError) {
        guard let text = node["expr"]?.scalar else { throw TestFileError(path, node.position, "promql_expr_test: each case wants 'expr'") }
        expression = text
        time = try TestFileError.duration(node["eval_time"], path: path)
        for item in try TestFile.list(node["exp_samples"], path: path) {
            var labels: LabelSet = []
            if let description = item["labels"]?.scalar, !description.isEmpty {
                do { labels = try SeriesNotation.parseSeries(Substring(description)).0 } catch {
                    throw TestFileError(path, item.position, "exp_samples: \(error.message)")
                }
            }
            var valueText = item["value"]?.scalar ?? "0"
            guard let value = valueText.withUTF8({ ExpositionParser.parseValue($0) }) else {
                throw TestFileError(path, item["value"]?.position ?? item.position, "exp_samples: bad value \"\(valueText)\"")
            }
            expected.append(VectorElement(labels: labels, value: value))
        }
    }
}

/// A problem in a test file.
struct TestFileError: Error {
    var message: String

    init(_ path: String, _ position: YAMLPosition, _ message: String) {
        self.message = "\(path):\(position): \(message)"
    }

    /// A duration field; a missing one is 0, as in promtool.
    static func duration(_ node: YAMLNode?, path: String) throws(TestFileError) -> Int64 {
        guard let node, !node.isNull else { return 0 }
        guard let text = node.scalar, let value = RuleDuration.milliseconds(text) else {
            throw TestFileError(path, node.position, "not a valid duration: \"\(text(node))\"")
        }
        return value
    }

    private static func text(_ node: YAMLNode) -> String { node.scalar ?? node.kind }
}

/// Shell-style globs for `rule_files` (`rules/*.yml`), through glob(3).
enum FileGlob {
    static func expand(_ pattern: String) -> [String] {
        guard pattern.contains(where: { "*?[".contains($0) }) else { return [pattern] }
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }
    }
}
