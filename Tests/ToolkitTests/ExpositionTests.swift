import XCTest
@testable import MetricLine

final class ExpositionTests: XCTestCase {
    private func sample(_ line: String, file: StaticString = #filePath, lineNumber: UInt = #line) -> Sample? {
        do {
            guard case .sample(let sample) = try ExpositionParser.parse(line) else {
                XCTFail("not a sample: \(line)", file: file, line: lineNumber)
                return nil
            }
            return sample
        } catch {
            XCTFail("rejected \(line): \(error.reason)", file: file, line: lineNumber)
            return nil
        }
    }

    private func rejection(_ line: String) -> LineError? {
        do {
            _ = try ExpositionParser.parse(line)
            return nil
        } catch {
            return error
        }
    }

    func testParsesTheDesignExample() {
        let parsed = sample(#"node_cpu_seconds_total{cpu="0",mode="idle"} 123456.78 1763805600000"#)
        XCTAssertEqual(parsed, Sample(name: "node_cpu_seconds_total", labels: [Label("cpu", "0"), Label("mode", "idle")], value: 123456.78, timestamp: 1_763_805_600_000))
    }

    func testAcceptsTheSyntaxPrometheusAccepts() {
        XCTAssertEqual(sample("up 1"), Sample(name: "up", value: 1))
        XCTAssertEqual(sample("up{} 1"), Sample(name: "up", value: 1))
        XCTAssertEqual(sample(#"up{job="a",} 1"#), Sample(name: "up", labels: [Label("job", "a")], value: 1))
        XCTAssertEqual(sample("  up \t 1 \t 5  "), Sample(name: "up", value: 1, timestamp: 5))
        XCTAssertEqual(sample(#"up {job="a"} 1"#), Sample(name: "up", labels: [Label("job", "a")], value: 1))
        XCTAssertEqual(sample("rule:name:sum 2 -5"), Sample(name: "rule:name:sum", value: 2, timestamp: -5))
        XCTAssertEqual(sample("up 1 5\r"), Sample(name: "up", value: 1, timestamp: 5))
        XCTAssertEqual(sample(#"{"my.metric","my.label"="x"} 3"#), Sample(name: "my.metric", labels: [Label("my.label", "x")], value: 3))
        XCTAssertEqual(sample(#"{__name__="up",job="x"} 3"#), Sample(name: "up", labels: [Label("job", "x")], value: 3))
        XCTAssertEqual(sample(#"x{a="",b="1"} 3"#), Sample(name: "x", labels: [Label("b", "1")], value: 3))
        XCTAssertEqual(sample("x +Inf")?.value, .infinity)
        XCTAssertEqual(sample("x -Inf")?.value, -.infinity)
        XCTAssertTrue(sample("x NaN")?.value.isNaN ?? false)
        XCTAssertFalse(sample("x NaN")?.isStale ?? true)
        XCTAssertTrue(sample("x stale 5")?.isStale ?? false)
    }

    func testUnescapesLabelValues() {
        let parsed = sample(#"x{path="C:\\tmp\\a \"b\"",note="line1\nline2",odd="a\tb",text="ünï ✓"} 1"#)
        XCTAssertEqual(parsed?.label("path"), #"C:\tmp\a "b""#)
        XCTAssertEqual(parsed?.label("note"), "line1\nline2")
        XCTAssertEqual(parsed?.label("odd"), #"a\tb"#, "unknown escapes stay as written, as in Prometheus")
        XCTAssertEqual(parsed?.label("text"), "ünï ✓")
    }

    func testRejectsBadLinesWithAColumn() {
        let cases: [(String, Int)] = [
            ("up", 3), ("up{job=\"a\"}", 12), ("9up 1", 1), ("up{9=\"a\"} 1", 4), ("up{job=a} 1", 8),
            ("up{job=\"a} 1", 8), ("up{job=\"a\" 1", 12), ("up one", 4), ("up 1 2 3", 8), ("up 1 1.5", 6),
            (#"up{a="1",a="2"} 1"#, 16), ("up 1 99999999999999999999", 6), ("up 1e400", 4), ("up{\"a\",\"b\"} 1", 7),
            ("{job=\"a\"} 1", 10),
        ]
        for (line, column) in cases {
            let error = rejection(line)
            XCTAssertNotNil(error, "should reject \(line)")
            XCTAssertEqual(error?.column, column, "column for \(line): \(error?.reason ?? "")")
        }
        let invalidUTF8: [UInt8] = Array("x{a=\"".utf8) + [0xFF, 0xFE] + Array("\"} 1".utf8)
        XCTAssertThrowsError(try withBuffer(invalidUTF8) { try ExpositionParser.parse($0) })
    }

    func testMetadataAndComments() throws {
        XCTAssertEqual(try ExpositionParser.parse("# HELP mq_jobs_total Jobs \\\\ processed.\\nSecond line"),
                       .help(metric: "mq_jobs_total", text: "Jobs \\ processed.\nSecond line"))
        XCTAssertEqual(try ExpositionParser.parse("# TYPE mq_jobs_total counter"), .type(metric: "mq_jobs_total", type: .counter))
        XCTAssertEqual(try ExpositionParser.parse("# just a comment"), .comment)
        XCTAssertEqual(try ExpositionParser.parse("#"), .comment)
        XCTAssertEqual(try ExpositionParser.parse("   "), .blank)
        XCTAssertEqual(try ExpositionParser.parse(""), .blank)
        XCTAssertThrowsError(try ExpositionParser.parse("# TYPE x bogus"))
        XCTAssertThrowsError(try ExpositionParser.parse("# TYPE 9x counter"))
    }

    func testWritesCanonicalLines() {
        let variants = [
            #"x{b="2",a="1"} 1.50 1000"#,
            #"x { a = "1" , b = "2" , } 1.5e0 1000"#,
            #"{"x",b="2",a="1"} 15e-1 1000"#,
            #"{__name__="x",a="1",b="2",c=""} +1.5 1000"#,
        ]
        for line in variants {
            guard let parsed = sample(line) else { continue }
            XCTAssertEqual(ExpositionWriter.line(parsed), #"x{a="1",b="2"} 1.5 1000"#, line)
        }
        XCTAssertEqual(ExpositionWriter.line(Sample(name: "my.metric", labels: [Label("a-b", "v")], value: 2)), #"{"my.metric","a-b"="v"} 2"#)
        XCTAssertEqual(ExpositionWriter.line(Sample(name: "x", labels: [Label("a", "q\"\\\n")], value: StaleMarker.value, timestamp: 7)), #"x{a="q\"\\\n"} stale 7"#)
    }

    func testCanonicalLinesReadBackIdentically() {
        var random = SeededRandom(seed: 4)
        for _ in 0..<20_000 {
            let original = RandomSamples.sample(&random, nameStyle: .any)
            let line = ExpositionWriter.line(original)
            XCTAssertEqual(sample(line), original, line)
        }
    }
}

/// Lines whose fate in Prometheus's own parser is known: ours must agree, or say why not.
final class PrometheusParityTests: XCTestCase {
    func testAgreesWithPrometheusOrSaysWhy() throws {
        var rows = 0
        for row in try fixture("exposition-lines.tsv").split(separator: "\n") where !row.hasPrefix("## ") && !row.hasPrefix("input\t") {
            let columns = row.split(separator: "\t", omittingEmptySubsequences: false)
            guard columns.count == 5 else { XCTFail("bad fixture row: \(row)"); continue }
            rows += 1
            let input = unescapeFixture(columns[0])
            var verdict = "reject"
            var canonical = "-"
            withBuffer(input) { bytes in
                guard let parsed = try? ExpositionParser.parse(bytes) else { return }
                verdict = "accept"
                if case .sample(let sample) = parsed { canonical = ExpositionWriter.line(sample) }
            }
            XCTAssertEqual(verdict, String(columns[2]), "verdict on \(columns[0])")
            XCTAssertEqual(canonical, String(decoding: unescapeFixture(columns[3]), as: UTF8.self), "canonical form of \(columns[0])")
            if columns[1] != columns[2] {
                XCTAssertTrue(columns[4].hasPrefix("differs: ") && !columns[4].contains("UNEXPLAINED"), "a difference from Prometheus needs a reason: \(row)")
            }
        }
        XCTAssertGreaterThan(rows, 150)
    }
}
