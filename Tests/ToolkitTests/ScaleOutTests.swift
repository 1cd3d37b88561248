import Foundation
import XCTest

/// Scaling out to an existing engine: a store's samples forwarded into a real VictoriaMetrics (Debian's
/// `victoria-metrics`, on 127.0.0.1) through its Prometheus import API and queried back, compared with what
/// mquery answers over the store itself; and a store's history backfilled into Prometheus blocks with promtool.
final class ScaleOutTests: XCTestCase {
    /// Samples every 15 s over one hour, ending five minutes ago (VictoriaMetrics hides the last 30 s by default):
    /// a gauge `x` and a counter `x_total` per instance, all counters starting at 0.
    /// `x_total{instance="a"}` grows linearly, `{instance="b"}` by an uneven 2 to 8 per step, `{instance="c"}`
    /// linearly by 10, and `{instance="d"}` goes 0, 2, 4 … 78 and resets to 0 every ten minutes.
    private struct Fixture {
        let directory: String
        let store: String
        let start: Int64  // seconds, a multiple of 60
        let end: Int64
        let samples: Int
        let series: Int
    }

    private func makeFixture() throws -> Fixture {
        let directory = NSTemporaryDirectory() + "scale-out-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let end = Int64(Date().timeIntervalSince1970) / 60 * 60 - 300
        let start = end - 3600
        var lines = ""
        var samples = 0
        for k in Int64(0)...240 {
            let time = (start + k * 15) * 1000
            lines += "x_total{job=\"web\",instance=\"a\"} \(k * 3) \(time)\n"
            lines += "x_total{job=\"web\",instance=\"b\"} \(k * k % 7 + k * 5) \(time)\n"
            lines += "x_total{job=\"db\",instance=\"c\"} \(k * 10) \(time)\n"
            lines += "x_total{job=\"db\",instance=\"d\"} \(k % 40 * 2) \(time)\n"
            lines += "x{job=\"web\",instance=\"a\"} \(k % 10) \(time)\n"
            lines += "x{job=\"web\",instance=\"b\"} \(Double(k * 3 % 11) + 0.5) \(time)\n"
            lines += "x{job=\"db\",instance=\"c\"} \(100 + k) \(time)\n"
            samples += 7
        }
        let store = directory + "/store"
        let append = try runTool("mstore", [store], input: Data(lines.utf8))
        XCTAssertEqual(append.status, 0, append.stderr)
        return Fixture(directory: directory, store: store, start: start, end: end, samples: samples, series: 7)
    }

    // MARK: VictoriaMetrics

    /// A range query's answer: series (labels as sorted JSON) to their (time, value) points.
    private typealias Matrix = [String: [(time: Int64, value: Double)]]

    private func matrix(_ json: String, wrapped: Bool, file: StaticString = #filePath, line: UInt = #line) throws -> Matrix {
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json, file: file, line: line)
        if wrapped {
            XCTAssertEqual(object["status"] as? String, "success", json, file: file, line: line)
            object = try XCTUnwrap(object["data"] as? [String: Any], json, file: file, line: line)
        }
        XCTAssertEqual(object["resultType"] as? String, "matrix", json, file: file, line: line)
        var result = Matrix()
        for series in try XCTUnwrap(object["result"] as? [[String: Any]], json, file: file, line: line) {
            let labels = try JSONSerialization.data(withJSONObject: series["metric"] ?? [:], options: .sortedKeys)
            let points = try XCTUnwrap(series["values"] as? [[Any]], json, file: file, line: line).map { point in
                (time: Int64((point[0] as? NSNumber)?.doubleValue ?? .nan), value: Double(point[1] as? String ?? "") ?? .nan)
            }
            result[String(decoding: labels, as: UTF8.self)] = points
        }
        return result
    }

    func testVictoriaMetricsAnswersWhatMqueryAnswers() throws {
        let binary = "/usr/bin/victoria-metrics"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "victoria-metrics is not installed")
        let fixture = try makeFixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }

        let port = freeLoopbackPort()
        let base = "http://127.0.0.1:\(port)"
        let (server, ready) = try startServer(binary, ["-httpListenAddr=127.0.0.1:\(port)", "-storageDataPath=\(fixture.directory)/vm",
                                                       "-retentionPeriod=100y", "-loggerLevel=ERROR"], readyURL: base + "/health")
        defer { server.terminate(); server.waitUntilExit() }
        XCTAssertTrue(ready, "victoria-metrics did not start on port \(port)")

        // mstore dump DIR | curl --data-binary @- .../api/v1/import/prometheus
        let dump = try runTool("mstore", ["dump", fixture.store])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        XCTAssertEqual(dump.stdout.split(separator: "\n").count, fixture.samples)
        let post = try runProgram("/usr/bin/curl", ["-sS", "--fail-with-body", "--data-binary", "@-", base + "/api/v1/import/prometheus"],
                                  input: Data(dump.stdout.utf8))
        XCTAssertEqual(post.status, 0, post.stdout + post.stderr)
        // Our JSON lines go to /api/v1/import as they are: infinities as VictoriaMetrics writes them
        // (it skips a line whose value is a string), the staleness marker left out and counted.
        let stamp = fixture.start * 1000
        let special = "special{k=\"inf\"} +Inf \(stamp)\nspecial{k=\"neg\"} -Inf \(stamp)\nspecial{k=\"stale\"} stale \(stamp)\n"
        let lines = try runTool("mcollect", ["-i", "-", "--output-format", "jsonl"], input: Data(special.utf8))
        XCTAssertEqual(lines.status, 1, "the marker was left out")
        XCTAssertTrue(lines.stderr.contains("left out 1 sample that jsonl cannot carry"), lines.stderr)
        let imported = try runProgram("/usr/bin/curl", ["-sS", "--fail-with-body", "--data-binary", "@-", base + "/api/v1/import"],
                                      input: Data(lines.stdout.utf8))
        XCTAssertEqual(imported.status, 0, imported.stdout + imported.stderr)
        let flush = try runProgram("/usr/bin/curl", ["-sS", "--fail-with-body", base + "/internal/force_flush"])
        XCTAssertEqual(flush.status, 0, flush.stdout + flush.stderr)
        let exported = try runProgram("/usr/bin/curl", ["-sS", "--fail-with-body", base + "/api/v1/export", "-d", "match[]=special"])
        XCTAssertEqual(Set(exported.stdout.split(separator: "\n").map(String.init)), [
            #"{"metric":{"__name__":"special","k":"inf"},"values":[+Inf],"timestamps":[\#(stamp)]}"#,
            #"{"metric":{"__name__":"special","k":"neg"},"values":[-Inf],"timestamps":[\#(stamp)]}"#,
        ], exported.stdout)
        // And they are read back as they came.
        let back = try runTool("mcollect", ["-i", "-", "--input-format", "jsonl"], input: Data(exported.stdout.utf8))
        XCTAssertEqual(Set(back.stdout.split(separator: "\n").map(String.init)),
                       ["special{k=\"inf\"} +Inf \(stamp)", "special{k=\"neg\"} -Inf \(stamp)"], back.stderr)

        func both(_ expression: String, file: StaticString = #filePath, line: UInt = #line) throws -> (vm: Matrix, mquery: Matrix) {
            let vm = try runProgram("/usr/bin/curl", ["-sS", "--fail-with-body", base + "/api/v1/query_range",
                                                      "--data-urlencode", "query=\(expression)", "-d", "start=\(fixture.start)",
                                                      "-d", "end=\(fixture.end)", "-d", "step=60", "-d", "nocache=1"])
            XCTAssertEqual(vm.status, 0, vm.stdout + vm.stderr, file: file, line: line)
            let mquery = try runTool("mquery", ["-s", fixture.store, expression, "--from", String(fixture.start), "--to", String(fixture.end),
                                                "--step", "60s", "--output-format", "json"])
            XCTAssertEqual(mquery.status, 0, mquery.stderr, file: file, line: line)
            let answers = (vm: try matrix(vm.stdout, wrapped: true, file: file, line: line),
                           mquery: try matrix(mquery.stdout, wrapped: false, file: file, line: line))
            XCTAssertEqual(answers.vm.keys.sorted(), answers.mquery.keys.sorted(), expression, file: file, line: line)
            XCTAssertFalse(answers.vm.isEmpty, expression, file: file, line: line)
            return answers
        }

        // Plain selectors and sums: the same series, points and values, exactly.
        for expression in ["x", "x_total", "sum by (job) (x)", "sum by (job) (x_total)", "max(x)"] {
            let (vm, mquery) = try both(expression)
            for (series, points) in mquery {
                XCTAssertEqual(points.count, 61, "\(expression) \(series)")
                XCTAssertEqual(vm[series]?.map(\.time), points.map(\.time), "\(expression) \(series)")
                XCTAssertEqual(vm[series]?.map(\.value), points.map(\.value), "\(expression) \(series)")
            }
        }

        // rate: the same points; equal (to rounding) once the 5-minute window lies within the data, counter resets
        // included. In the first four minutes the window reaches back before the first sample, and the two differ
        // by design: mquery extrapolates as Prometheus does (here, counters starting at 0, only back to where the
        // counter would have been 0, i.e. to the first sample) and divides by the 300 s range, while MetricsQL does
        // not extrapolate and divides by the span of the samples it has, t - start. So there mquery = VM × (t - start) / 300.
        for expression in ["rate(x_total[5m])", "sum by (job) (rate(x_total[5m]))"] {
            let (vm, mquery) = try both(expression)
            for (series, points) in mquery {
                let theirs = try XCTUnwrap(vm[series])
                XCTAssertEqual(theirs.map(\.time), points.map(\.time), "\(expression) \(series)")
                XCTAssertEqual(points.first?.time, fixture.start + 60, "no rate from a single sample")
                for (ours, their) in zip(points, theirs) {
                    let expected = ours.time - fixture.start < 300 ? their.value * Double(ours.time - fixture.start) / 300 : their.value
                    XCTAssertEqual(ours.value, expected, accuracy: abs(expected) * 1e-12,
                                   "\(expression) \(series) at \(ours.time) (VictoriaMetrics says \(their.value))")
                }
            }
        }

        // increase: equal at every time both answer; VictoriaMetrics also answers 0 at the first sample, where
        // PromQL has no increase (one sample in the window).
        let (vm, mquery) = try both("increase(x_total[5m])")
        for (series, points) in mquery {
            var theirs = try XCTUnwrap(vm[series])
            XCTAssertEqual(theirs.first?.time, fixture.start, series)
            XCTAssertEqual(theirs.first?.value, 0, series)
            theirs.removeFirst()
            XCTAssertEqual(theirs.map(\.time), points.map(\.time), series)
            for (ours, their) in zip(points, theirs) {
                XCTAssertEqual(ours.value, their.value, accuracy: abs(their.value) * 1e-12, "\(series) at \(ours.time)")
            }
        }
    }

    // MARK: promtool backfill

    func testPromtoolBackfillsTheStoresHistory() throws {
        let promtool = "/usr/bin/promtool"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: promtool), "promtool is not installed")
        let fixture = try makeFixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }

        // mstore dump DIR --output-format openmetrics > backfill.om; promtool tsdb create-blocks-from openmetrics backfill.om OUT
        let dump = try runTool("mstore", ["dump", fixture.store, "--output-format", "openmetrics"])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        XCTAssertTrue(dump.stdout.hasSuffix("# EOF\n"), String(dump.stdout.suffix(200)))
        let file = fixture.directory + "/backfill.om"
        try dump.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        let blocks = fixture.directory + "/blocks"
        let create = try runProgram(promtool, ["tsdb", "create-blocks-from", "openmetrics", file, blocks])
        XCTAssertEqual(create.status, 0, create.stdout + create.stderr)
        let made = try FileManager.default.contentsOfDirectory(atPath: blocks).filter {
            FileManager.default.fileExists(atPath: "\(blocks)/\($0)/meta.json")
        }
        XCTAssertFalse(made.isEmpty, "no block in \(blocks)")

        // promtool tsdb list: ULID MIN MAX DURATION SAMPLES CHUNKS SERIES SIZE; blocks are cut at 2-hour boundaries.
        let list = try runProgram(promtool, ["tsdb", "list", blocks])
        XCTAssertEqual(list.status, 0, list.stderr)
        let rows = list.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ") }
        XCTAssertEqual(rows.count, made.count, list.stdout)
        XCTAssertEqual(rows.compactMap { $0.count == 8 ? Int($0[4]) : nil }.reduce(0, +), fixture.samples, list.stdout)
        XCTAssertEqual(rows.compactMap { $0.count == 8 ? Int($0[6]) : nil }.max(), fixture.series, list.stdout)
        XCTAssertEqual(rows.compactMap { $0.count == 8 ? Int64($0[1]) : nil }.min(), fixture.start * 1000, list.stdout)

        // promtool tsdb dump gives back every sample: `{__name__="x", instance="a", job="web"} 1 1700000000000`.
        try FileManager.default.createDirectory(atPath: blocks + "/wal", withIntermediateDirectories: true)
        let back = try runProgram(promtool, ["tsdb", "dump", blocks])
        XCTAssertEqual(back.status, 0, back.stderr)
        let samples = back.stdout.split(separator: "\n").map { line -> String in
            var line = String(line)
            if line.hasPrefix("{__name__=\""), let close = line.dropFirst(11).firstIndex(of: "\"") {
                let name = line[line.index(line.startIndex, offsetBy: 11)..<close]
                line = name + "{" + line[line.index(after: close)...].drop { $0 == "," || $0 == " " }
            }
            return line.replacingOccurrences(of: "\", ", with: "\",")
        }
        let original = try runTool("mstore", ["dump", fixture.store])
        XCTAssertEqual(samples.sorted(), original.stdout.split(separator: "\n").map(String.init).sorted())
    }
}
