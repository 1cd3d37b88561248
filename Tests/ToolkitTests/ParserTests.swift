import Foundation
import XCTest
@testable import MetricLine

/// The conformance files of ../shared/conformance/promql, read in place.
enum Conformance {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/conformance/promql")

    /// Every eval command's expression, with its file and line.
    static func evalExpressions() throws -> [(file: String, line: Int, expression: String)] {
        var found: [(String, Int, String)] = []
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".test") }.sorted()
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                guard line.lowercased().hasPrefix("eval") else { continue }
                let words = line.split(separator: " ", omittingEmptySubsequences: true)
                // eval[_x] instant at T EXPR | eval[_x] range from T to T step D EXPR
                let skip = words.count > 1 && words[1] == "instant" ? 4 : 8
                guard words.count > skip else { continue }
                var rest = Substring(line)
                for _ in 0..<skip {
                    rest = rest.drop { $0 != " " }.drop { $0 == " " }
                }
                found.append((file, number + 1, String(rest)))
            }
        }
        return found
    }
}

final class ParserTests: XCTestCase {
    private func parse(_ text: String) throws -> QueryExpression { try Parser.parse(text) }

    private func vector(_ name: String, _ matchers: [LabelMatcher] = []) -> QueryExpression {
        .vector(VectorSelector(matchers: [.equal("__name__", name)] + matchers))
    }

    func testPrecedenceAndAssociativity() throws {
        XCTAssertEqual(try parse("1 + 2 * 3"), .binary(.add, .number(1), .binary(.multiply, .number(2), .number(3), matching: nil, returnBool: false), matching: nil, returnBool: false))
        XCTAssertEqual(try parse("2 ^ 3 ^ 2"), .binary(.power, .number(2), .binary(.power, .number(3), .number(2), matching: nil, returnBool: false), matching: nil, returnBool: false))
        XCTAssertEqual(try parse("-2 ^ 2"), .negate(.binary(.power, .number(2), .number(2), matching: nil, returnBool: false)))
        XCTAssertEqual(try parse("1 - 2 - 3"), .binary(.subtract, .binary(.subtract, .number(1), .number(2), matching: nil, returnBool: false), .number(3), matching: nil, returnBool: false))
        if case .binary(.or, _, .binary(.and, _, _, _, _), _, _) = try parse("a or b and c") {} else { XCTFail("and binds tighter than or") }
    }

    func testSelectorsAndModifiers() throws {
        XCTAssertEqual(try parse(#"http_requests_total{job="api",code=~"5.."}"#),
                       vector("http_requests_total", [.equal("job", "api"), try LabelMatcher("code", .matchesRegex, "5..")]))
        XCTAssertEqual(try parse("rate(x[5m])"), .call(function: "rate", arguments: [.matrix(VectorSelector(matchers: [.equal("__name__", "x")]), range: 300_000)]))
        XCTAssertEqual(try parse("x offset -1h @ 100"), .vector(VectorSelector(matchers: [.equal("__name__", "x")], offset: -3_600_000, at: .time(100_000))))
        XCTAssertEqual(try parse("x[1m] @ end()"), .matrix(VectorSelector(matchers: [.equal("__name__", "x")], at: .end), range: 60_000))
        if case .subquery(_, range: 600_000, step: nil, offset: 0, at: nil) = try parse("rate(x[1m])[10m:]") {} else { XCTFail("subquery") }
        XCTAssertEqual(try parse("x[90]"), .matrix(VectorSelector(matchers: [.equal("__name__", "x")]), range: 90_000), "plain seconds")
    }

    func testAggregationsAndMatching() throws {
        XCTAssertEqual(try parse("sum by (a) (x)"), .aggregate(.sum, parameter: nil, expression: vector("x"), grouping: ["a"], without: false))
        XCTAssertEqual(try parse("sum(x) without (a, b)"), .aggregate(.sum, parameter: nil, expression: vector("x"), grouping: ["a", "b"], without: true))
        XCTAssertEqual(try parse("topk(3, x)"), .aggregate(.topk, parameter: .number(3), expression: vector("x"), grouping: [], without: false))
        guard case .binary(.divide, _, _, let matching?, false) = try parse("a / on(x) group_left(y) b") else { return XCTFail("matching") }
        XCTAssertEqual(matching, VectorMatching(cardinality: .manyToOne, labels: ["x"], on: true, include: ["y"]))
        guard case .binary(.greater, _, _, _, true) = try parse("a > bool 1") else { return XCTFail("bool") }
    }

    func testErrorsPointAtTheProblem() {
        let cases: [(String, String, Int)] = [
            ("rate(x[5m]))", "unexpected ')'", 11),
            ("rate(x)", "expected type range vector in call to function \"rate\", got instant vector", 0),
            ("sum(x", "unexpected end of input", 5),
            ("foo(x)", "unknown function with name \"foo\"", 0),
            ("{}", "vector selector must contain at least one non-empty matcher", 0),
            ("1 > 2", "comparisons between scalars must use BOOL modifier", 2),
            ("x{a=~\"(\"}", "invalid regular expression", 5),
            ("x +", "unexpected end of input", 3),
        ]
        for (text, message, offset) in cases {
            XCTAssertThrowsError(try Parser.parse(text), text) { error in
                guard let error = error as? QueryError else { return XCTFail("\(error)") }
                XCTAssertTrue(error.message.hasPrefix(message), "\(text): \(error.message)")
                XCTAssertEqual(error.offset, offset, text)
            }
        }
        XCTAssertEqual(QueryError("unexpected ')'", offset: 11).explained(in: "rate(x[5m]))"), "unexpected ')'\n  rate(x[5m]))\n             ^")
    }

    /// Every expression in Prometheus's own test files parses (the files hold no syntax errors).
    func testEveryConformanceExpressionParses() throws {
        let expressions = try Conformance.evalExpressions()
        XCTAssertGreaterThan(expressions.count, 900)
        var failures: [String] = []
        for (file, line, expression) in expressions {
            do throws(QueryError) { _ = try Parser.parse(expression) } catch {
                failures.append("\(file):\(line): \(expression): \(error.message)")
            }
        }
        print("parsed \(expressions.count - failures.count) of \(expressions.count) conformance expressions")
        XCTAssertEqual(failures, [])
    }
}

/// mquery on the real binary: over stdin and over a store.
final class QueryCommandTests: XCTestCase {
    func testQueriesStdinAndAStore() throws {
        let input = "req{code=\"200\"} 10 1704067200000\nreq{code=\"500\"} 2 1704067200000\nreq{code=\"200\"} 40 1704067260000\nreq{code=\"500\"} 5 1704067260000\n"
        let summed = try runTool("mquery", ["sum(req)", "--at", "1704067260"], input: Data(input.utf8))
        XCTAssertEqual(summed.status, 0, summed.stderr)
        XCTAssertEqual(summed.stdout, "{} 45 1704067260000\n")
        let directory = NSTemporaryDirectory() + "mquery-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertEqual(try runTool("mstore", [directory], input: Data(input.utf8)).status, 0)
        let json = try runTool("mquery", ["-s", directory, "rate(req{code=\"200\"}[1m])", "--at", "2024-01-01T00:01:00Z", "--output-format", "json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertEqual(json.stdout, #"{"resultType":"vector","result":[{"metric":{"code":"200"},"value":[1704067260,"0.5"]}]}"# + "\n")
        let range = try runTool("mquery", ["-s", directory, "req", "--from", "1704067200", "--to", "1704067260", "--step", "60s"])
        XCTAssertEqual(range.stdout.split(separator: "\n").count, 4)
        // Bad lines on stdin are named, skipped and counted (exit 1); --strict stops at the first.
        let skipped = try runTool("mquery", ["up", "--at", "3"], input: Data("up 1 1000\nbad line here\nup 2 2000\n".utf8))
        XCTAssertEqual(skipped.status, 1)
        XCTAssertEqual(skipped.stdout, "up 2 3000\n")
        XCTAssertTrue(skipped.stderr.contains("mquery: <stdin>:2: ") && skipped.stderr.contains("mquery: skipped 1 bad line of 3"), skipped.stderr)
        let strict = try runTool("mquery", ["up", "--at", "3", "--strict"], input: Data("up 1 1000\nbad line here\nup 2 2000\n".utf8))
        XCTAssertEqual(strict.status, 1)
        XCTAssertEqual(strict.stdout, "")
        XCTAssertTrue(strict.stderr.contains("stopped at the first bad line (--strict)"), strict.stderr)
        XCTAssertEqual(try runTool("mquery", ["-s", directory, "req", "--from", "1704067200", "--to", "1704067260", "--step", "60s", "--output-format", "prom"]).stdout,
                       range.stdout, "prom is the line format's name in the other tools")
        // A step in seconds, as Prometheus's HTTP API takes it, means the same.
        XCTAssertEqual(try runTool("mquery", ["-s", directory, "req", "--from", "1704067200", "--to", "1704067260", "--step", "60"]).stdout, range.stdout)
        XCTAssertEqual(try runTool("mquery", ["-s", directory, "req", "--from", "1704067200", "--to", "1704067260", "--step", "20.5"]).stdout.split(separator: "\n").count, 6)
        XCTAssertTrue(try runTool("mquery", ["-s", directory, "req", "--from", "1704067200", "--step", "-5"]).stderr.contains("--step wants a duration (30s, 5m) or seconds, not '-5'"))
        // `@ start()` inside a range function pins every step of a range query to the query's start.
        let pinned = try runTool("mquery", ["-s", directory, "rate(req{code=\"200\"}[1m] @ start())", "--from", "1704067260", "--to", "1704067380", "--step", "60s"])
        XCTAssertEqual(pinned.stdout, "{code=\"200\"} 0.5 1704067260000\n{code=\"200\"} 0.5 1704067320000\n{code=\"200\"} 0.5 1704067380000\n", pinned.stderr)
        let table = try runTool("mquery", ["-s", directory, "req", "--at", "1704067260", "--output-format", "table"])
        XCTAssertEqual(table.stdout, """
            TIME                  NAME  CODE  VALUE
            2024-01-01T00:01:00Z  req   200      40
            2024-01-01T00:01:00Z  req   500       5

            """)
        // A range vector at an instant, as a table and as JSON.
        let windowTable = try runTool("mquery", ["-s", directory, "req{code=\"500\"}[2m]", "--at", "1704067260", "--output-format", "table"])
        XCTAssertEqual(windowTable.status, 0, windowTable.stderr)
        XCTAssertEqual(windowTable.stdout, """
            TIME                  NAME  CODE  VALUE
            2024-01-01T00:00:00Z  req   500       2
            2024-01-01T00:01:00Z  req   500       5

            """)
        let windowJSON = try runTool("mquery", ["-s", directory, "req{code=\"500\"}[2m]", "--at", "1704067260", "--output-format", "json"])
        XCTAssertEqual(windowJSON.stdout, #"{"resultType":"matrix","result":[{"metric":{"__name__":"req","code":"500"},"values":[[1704067200,"2"],[1704067260,"5"]]}]}"# + "\n")
        let explained = try runTool("mquery", ["-s", directory, "sum(req)", "--at", "1704067260", "--explain"])
        XCTAssertEqual(explained.stdout, "{} 45 1704067260000\n")
        XCTAssertTrue(explained.stderr.contains("selector {__name__=\"req\"}: 2 series, 4 samples"), explained.stderr)
        XCTAssertTrue(explained.stderr.contains("chunks decoded: 2"), explained.stderr)
        XCTAssertTrue(explained.stderr.contains("  evaluate (selection included): "), explained.stderr)
        let bad = try runTool("mquery", ["-s", directory, "sum(req"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.stderr, "mquery: parse error: unexpected end of input, expected ',' or ')'\n  sum(req\n         ^\n")
    }
}

final class LabelHashTests: XCTestCase {
    /// Published xxHash64 test vectors (seed 0).
    func testXXHash64() {
        XCTAssertEqual(XXHash64.hash(Array("".utf8)), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXHash64.hash(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(XXHash64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(XXHash64.hash(Array("Nobody inspects the spammish repetition".utf8)), 0xFBCE_A83C_8A37_8BF1)
    }
}
