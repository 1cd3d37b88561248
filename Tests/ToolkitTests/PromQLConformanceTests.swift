import Foundation
import XCTest
@testable import MetricLine

/// Runs Prometheus's own PromQL test files from ../shared/conformance/promql and counts the
/// evals that pass. Evals that need native histograms are skipped, as listed in evals.tsv.
final class PromQLConformanceTests: XCTestCase {
    /// Evals passing when this was last raised; the count may only go up.
    private let passingFloor = 675

    private struct Outcome {
        var passed = 0
        var failed: [String] = []
        var skipped = 0
        /// Evals whose expression range queries evaluate over all steps at once.
        var overSteps = 0
    }

    func testConformanceFiles() throws {
        let directory = Conformance.directory
        let skip = try nativeHistogramEvals(directory.deletingLastPathComponent().appendingPathComponent("evals.tsv"))
        var outcome = Outcome()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".test") }.sorted()
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            run(file: file, text: text, skip: skip, into: &outcome)
        }
        let total = outcome.passed + outcome.failed.count + outcome.skipped
        print("PromQL conformance: \(outcome.passed) passed, \(outcome.failed.count) failed, \(outcome.skipped) skipped (native histograms) of \(total) evals")
        let report = NSTemporaryDirectory() + "promql-conformance-failures.txt"
        try outcome.failed.joined(separator: "\n").write(toFile: report, atomically: true, encoding: .utf8)
        print("failures listed in \(report)")
        XCTAssertEqual(total, 961)
        XCTAssertGreaterThanOrEqual(outcome.passed, passingFloor)
        XCTAssertEqual(outcome.failed, [], "every eval that needs no native histograms passes")
        print("PromQL conformance: \(outcome.overSteps) evals also compared as range queries evaluated over all steps at once and step by step")
        XCTAssertGreaterThan(outcome.overSteps, 300)
    }

    /// Our own evals, in the same format, in Tests/ToolkitTests/Fixtures/promql: every one passes.
    func testOwnFiles() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/promql")
        var outcome = Outcome()
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path).filter({ $0.hasSuffix(".test") }).sorted() {
            run(file: file, text: try fixture("promql/" + file), skip: [], into: &outcome)
        }
        XCTAssertGreaterThan(outcome.passed, 0)
        XCTAssertEqual(outcome.failed, [])
    }

    private func nativeHistogramEvals(_ url: URL) throws -> Set<String> {
        var skip = Set<String>()
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n").dropFirst() {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
            if columns.count > 5 && columns[5] == "y" { skip.insert("\(columns[0]):\(columns[1])") }
        }
        return skip
    }

    private func run(file: String, text: String, skip: Set<String>, into outcome: inout Outcome) {
        let source = MemorySource()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var index = 0
        func block(after start: Int) -> [String] {
            var body: [String] = []
            var next = start + 1
            while next < lines.count, !lines[next].isEmpty, !lines[next].hasPrefix("#") {
                body.append(lines[next])
                next += 1
            }
            return body
        }
        while index < lines.count {
            let line = lines[index]
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let command = words.first?.lowercased(), !line.hasPrefix("#") else {
                index += 1
                continue
            }
            let body = command == "clear" ? [] : block(after: index)
            defer { index += body.count + 1 }
            if command == "clear" {
                source.removeAll()
            } else if command.hasPrefix("load") {
                guard words.count > 1, let step = Duration.milliseconds(String(words[1])) else { continue }
                for seriesLine in body {
                    guard let (labels, rest) = try? SeriesNotation.parseSeries(Substring(seriesLine)),
                          let values = try? SeriesNotation.parseValues(rest) else { continue }
                    var timestamps: [Int64] = []
                    var numbers: [Double] = []
                    for (slot, value) in values.enumerated() {
                        switch value {
                        case .number(let number): timestamps.append(Int64(slot) * step); numbers.append(number)
                        case .stale: timestamps.append(Int64(slot) * step); numbers.append(StaleMarker.value)
                        case .gap: break
                        }
                    }
                    source.set(labels, timestamps: timestamps, values: numbers)
                }
            } else if command.hasPrefix("eval") {
                let place = "\(file):\(index + 1)"
                if skip.contains(place) {
                    outcome.skipped += 1
                    continue
                }
                if let problem = evaluate(line, expected: body, source: source) ?? compareWaysOfEvaluating(line, source: source, outcome: &outcome) {
                    outcome.failed.append("\(place): \(line)\n    \(problem)")
                } else {
                    outcome.passed += 1
                }
            }
        }
    }

    /// Runs one eval; nil when it passes, else what went wrong.
    private func evaluate(_ line: String, expected: [String], source: MemorySource) -> String? {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let command = words[0].lowercased()
        let mustFail = command.hasSuffix("_fail")
        let ordered = command.hasSuffix("_ordered")
        let mustWarn = command.hasSuffix("_warn")
        // `eval` must raise no warning, `eval_warn` at least one.
        func warningProblem(_ evaluator: Evaluator) -> String? {
            if mustWarn && evaluator.warnings.isEmpty { return "expected a warning, got none" }
            if !mustWarn && !evaluator.warnings.isEmpty { return "expected no warning, got \(evaluator.warnings)" }
            return nil
        }
        let isRange = words.count > 1 && words[1] == "range"
        let skipCount = isRange ? 8 : 4
        guard words.count > skipCount else { return "cannot read the eval line" }
        var rest = Substring(line)
        for _ in 0..<skipCount { rest = rest.drop { $0 != " " }.drop { $0 == " " } }
        let expressionText = String(rest)
        let evaluator = Evaluator(source: source)
        do {
            let expression = try Parser.parse(expressionText)
            if isRange {
                guard let start = Duration.milliseconds(words[3]) ?? (words[3] == "0" ? 0 : nil),
                      let end = Duration.milliseconds(words[5]) ?? (words[5] == "0" ? 0 : nil),
                      let step = Duration.milliseconds(words[7]) else { return "bad range" }
                let result = try evaluator.range(expression, start: start, end: end, step: step)
                if mustFail { return "expected an error, got a result" }
                return compareRange(result, expected, start: start, step: step) ?? warningProblem(evaluator)
            }
            guard let time = Duration.milliseconds(words[3]) ?? (words[3] == "0" ? 0 : nil) else { return "bad time" }
            let result = try evaluator.instant(expression, at: time)
            if mustFail { return "expected an error, got a result" }
            return compareInstant(result, expected, ordered: ordered) ?? warningProblem(evaluator)
        } catch {
            return mustFail ? nil : "error: \(error.message)"
        }
    }

    /// Where an eval's expression can be evaluated over all steps at once (`StepEvaluation`):
    /// nil when that agrees exactly with step-by-step evaluation on a range query (the eval's own
    /// range, or two minutes either side of an instant eval's time at a 30 s step), values bit for
    /// bit, warnings and errors word for word.
    private func compareWaysOfEvaluating(_ line: String, source: MemorySource, outcome: inout Outcome) -> String? {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let isRange = words.count > 1 && words[1] == "range"
        let skipCount = isRange ? 8 : 4
        guard words.count > skipCount else { return nil }
        var rest = Substring(line)
        for _ in 0..<skipCount { rest = rest.drop { $0 != " " }.drop { $0 == " " } }
        guard let expression = try? Parser.parse(String(rest)), Evaluator.stepEvaluable(expression) else { return nil }
        let start: Int64, end: Int64, step: Int64
        if isRange {
            guard let from = Duration.milliseconds(words[3]) ?? (words[3] == "0" ? 0 : nil),
                  let to = Duration.milliseconds(words[5]) ?? (words[5] == "0" ? 0 : nil),
                  let every = Duration.milliseconds(words[7]) else { return nil }
            (start, end, step) = (from, to, every)
        } else {
            guard let time = Duration.milliseconds(words[3]) ?? (words[3] == "0" ? 0 : nil) else { return nil }
            (start, end, step) = (time - 120_000, time + 120_000, 30_000)
        }
        outcome.overSteps += 1
        var warnings: [[String]] = []
        func answer(stepByStep: Bool) -> Result<[RangeSeries], QueryError> {
            let evaluator = Evaluator(source: source)
            evaluator.alwaysStepByStep = stepByStep
            defer { warnings.append(evaluator.warnings) }
            return Result { () throws(QueryError) in try evaluator.range(expression, start: start, end: end, step: step) }
        }
        switch (answer(stepByStep: false), answer(stepByStep: true)) {
        case (.success(let fast), .success(let reference)):
            guard warnings[0] == warnings[1] else { return "over all steps: warnings \(warnings[0]); step by step: \(warnings[1])" }
            guard fast.count == reference.count else { return "over all steps: \(fast.count) series, step by step: \(reference.count)" }
            for (a, b) in zip(fast, reference) {
                guard a.labels == b.labels, a.timestamps == b.timestamps,
                      zip(a.values, b.values).allSatisfy({ $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }) else {
                    return "over all steps: \(a.labels.description) \(a.timestamps) \(a.values); step by step: \(b.labels.description) \(b.timestamps) \(b.values)"
                }
            }
            return nil
        case (.failure(let a), .failure(let b)):
            return a.message == b.message ? nil : "over all steps: \(a.message); step by step: \(b.message)"
        case (.success, .failure(let error)):
            return "over all steps: a result; step by step: \(error.message)"
        case (.failure(let error), .success):
            return "over all steps: \(error.message); step by step: a result"
        }
    }

    private static func close(_ a: Double, _ b: Double) -> Bool {
        if a.bitPattern == StaleMarker.bitPattern || b.bitPattern == StaleMarker.bitPattern { return a.bitPattern == b.bitPattern }
        if a.isNaN && b.isNaN { return true }
        if a == b { return true }
        if a == 0 || b == 0 { return abs(a - b) < 1e-6 * Double.leastNormalMagnitude }
        return abs(a - b) / (abs(a) + abs(b)) < 1e-6
    }

    private func compareInstant(_ result: QueryValue, _ expected: [String], ordered: Bool) -> String? {
        if expected.count == 1, let number = Double(expected[0]) ?? Self.goNumber(expected[0]) {
            guard case .scalar(let value) = result else { return "expected scalar \(expected[0]), got \(result)" }
            return Self.close(value, number) ? nil : "expected scalar \(expected[0]), got \(value)"
        }
        guard case .vector(let elements) = result else { return "expected a vector, got \(result)" }
        var wanted: [(LabelSet, Double)] = []
        for line in expected {
            guard let (labels, rest) = try? SeriesNotation.parseSeries(Substring(line)),
                  let values = try? SeriesNotation.parseValues(rest), values.count == 1, case .number(let number) = values[0] else {
                return "cannot read expected line \(line)"
            }
            wanted.append((labels, number))
        }
        guard wanted.count == elements.count else {
            return "expected \(wanted.count) elements, got \(elements.count): \(elements.map { "\($0.labels.description) \($0.value)" })"
        }
        for (position, (labels, number)) in wanted.enumerated() {
            let candidates = ordered ? [elements[position]] : elements.filter { $0.labels == labels }
            guard let element = candidates.first, element.labels == labels else {
                return "missing \(labels.description) in \(elements.map { "\($0.labels.description) \($0.value)" })"
            }
            if !Self.close(element.value, number) { return "\(labels.description): expected \(number), got \(element.value)" }
        }
        return nil
    }

    private func compareRange(_ result: [RangeSeries], _ expected: [String], start: Int64, step: Int64) -> String? {
        var wanted: [String: [(Int64, Double)]] = [:]
        for line in expected {
            guard let (labels, rest) = try? SeriesNotation.parseSeries(Substring(line)), let values = try? SeriesNotation.parseValues(rest) else {
                return "cannot read expected line \(line)"
            }
            var points: [(Int64, Double)] = []
            for (slot, value) in values.enumerated() {
                switch value {
                case .number(let number): points.append((start + Int64(slot) * step, number))
                case .stale: points.append((start + Int64(slot) * step, StaleMarker.value))
                case .gap: break
                }
            }
            wanted[labels.key] = points
        }
        let nonEmpty = result.filter { !$0.timestamps.isEmpty }
        guard nonEmpty.count == wanted.count else { return "expected \(wanted.count) series, got \(nonEmpty.count): \(nonEmpty.map(\.labels.description))" }
        for series in nonEmpty {
            guard let points = wanted[series.labels.key] else { return "unexpected series \(series.labels.description)" }
            guard points.count == series.timestamps.count else {
                return "\(series.labels.description): expected \(points.count) points, got \(series.timestamps.count): \(series.values)"
            }
            for (index, point) in points.enumerated() where point.0 != series.timestamps[index] || !Self.close(point.1, series.values[index]) {
                return "\(series.labels.description): at \(point.0) expected \(point.1), got \(series.values[index]) at \(series.timestamps[index])"
            }
        }
        return nil
    }

    private static func goNumber(_ text: String) -> Double? {
        var copy = text
        return copy.withUTF8 { FloatParser.parse($0) }
    }
}
