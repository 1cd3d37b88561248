import Foundation
import XCTest
@testable import MetricLine

/// `malert test` and `malert check` on Prometheus's own promtool test data in
/// ../shared/conformance/rules, with the outcomes its README lists.
final class RuleConformanceTests: XCTestCase {
    static let rules = Conformance.directory.deletingLastPathComponent().appendingPathComponent("rules")

    private func files(_ directory: String, matching suffix: String = ".yml") throws -> [String] {
        let path = Self.rules.appendingPathComponent(directory).path
        return try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(suffix) }.sorted().map { path + "/" + $0 }
    }

    /// Test files are the ones with `tests:`; the others are rule files they load.
    private func testFiles(_ directory: String) throws -> [String] {
        try files(directory).filter { try String(contentsOfFile: $0, encoding: .utf8).contains("tests:") }
    }

    func testPassDirectoryPasses() throws {
        let tests = try testFiles("pass")
        XCTAssertEqual(tests.count, 6)
        for file in tests {
            let run = try runTool("malert", ["test", file])
            XCTAssertEqual(run.status, 0, "\(file):\n\(run.stdout)\(run.stderr)")
            XCTAssertTrue(run.stdout.contains("SUCCESS"), run.stdout)
        }
    }

    func testFailDirectoryFailsWithMessages() throws {
        // What each file's failure must mention (from promtool's output in the README).
        let expected: [String: [String]] = [
            "failing.yml": ["alertname: Test", "expr: \"test\"", "alertname: InstanceDown, time: 5m", "alertname: AlwaysFiring, time: 5m"],
            "bad-input-series.yml": ["parse error"],
            "bad-promql.yml": ["many-to-many matching not allowed"],
            "bad-rules-syntax-test.yml": ["bad-rules-syntax.yml:7:15: group \"bad-syntax\", rule 1, \"x\": could not parse expression: 1:7:"],
            "bad-rules-error-test.yml": ["rule: joined, time: 0s, err: found duplicate series"],
            "rules_run.yml": ["wrong test"],
        ]
        let tests = try testFiles("fail")
        XCTAssertEqual(Set(tests.map { ($0 as NSString).lastPathComponent }), Set(expected.keys))
        for file in tests {
            let run = try runTool("malert", ["test", file])
            XCTAssertEqual(run.status, 1, "\(file) must fail:\n\(run.stdout)")
            XCTAssertTrue(run.stdout.contains("FAILED"), run.stdout)
            for phrase in expected[(file as NSString).lastPathComponent] ?? [] {
                XCTAssertTrue(run.stdout.contains(phrase), "\(file): wants '\(phrase)' in:\n\(run.stdout)")
            }
        }
        // failing.yml: promtool finds exactly four differences.
        let failing = try runTool("malert", ["test", Self.rules.appendingPathComponent("fail/failing.yml").path])
        XCTAssertEqual(failing.stdout.components(separatedBy: "got:").count - 1, 4, failing.stdout)
    }

    func testRunSelectsTestGroups() throws {
        let file = Self.rules.appendingPathComponent("fail/rules_run.yml").path
        XCTAssertEqual(try runTool("malert", ["test", "--run", "correct", file]).status, 0)
        XCTAssertEqual(try runTool("malert", ["test", "--run", "wrong", file]).status, 1)
    }

    func testCheckAgreesWithPromtool() throws {
        let directory = Self.rules.appendingPathComponent("check").path
        let valid = try runTool("malert", ["check", directory + "/rules.yml"])
        XCTAssertEqual(valid.status, 0)
        XCTAssertTrue(valid.stdout.contains("SUCCESS: 5 rules found"), valid.stdout)

        for (file, metric) in [("rules_duplicates.yml", "job:test:count_over_time1m"), ("prometheus-rules.lint.yml", "HighRequestLatency")] {
            let lint = try runTool("malert", ["check", directory + "/" + file])
            XCTAssertEqual(lint.status, 0, lint.stdout)
            XCTAssertTrue(lint.stdout.contains("lint error 1 duplicate rule(s) found.\nMetric: \(metric)"), lint.stdout)
            XCTAssertEqual(try runTool("malert", ["check", "--lint-fatal", directory + "/" + file]).status, 3)
        }
        XCTAssertTrue(try runTool("malert", ["check", directory + "/prometheus-rules.lint.yml"]).stdout.contains("\tseverity: page"))

        let bad = try runTool("malert", ["check", directory + "/rules-bad.yml"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stdout.contains(#"rules-bad.yml:12:11: group "alerts", rule 1, "InstanceDown": annotation "summary": template: __alert_InstanceDown:1: undefined variable "$label""#), bad.stdout)
    }

    func testNativeHistogramFileIsReportedNotCrashed() throws {
        let run = try runTool("malert", ["test", Self.rules.appendingPathComponent("native-histograms/unittest.yml").path])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stdout.contains("native histograms are not supported"), run.stdout)
    }
}
