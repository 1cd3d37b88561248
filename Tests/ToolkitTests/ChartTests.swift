import Foundation
import XCTest
@testable import MetricLine

final class TerminalChartTests: XCTestCase {
    func testDrawsLinesAxesAndALegend() throws {
        var chart = TerminalChart()
        chart.width = 40
        chart.height = 4
        let rising = RangeSeries(labels: [Label("__name__", "up"), Label("job", "a")], timestamps: [0, 60_000, 120_000], values: [0, 500, 1000])
        let text = chart.render([rising])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 4 + 1 + 1 + 1 + 1 + 1, text)  // plot, axis, marked times, first and last, legend, final newline
        XCTAssertTrue(lines[0].hasPrefix("  1k┤"), text)
        XCTAssertTrue(lines[3].contains("0┤"), text)
        XCTAssertEqual(lines[0].count, 40, "the chart fills the width")
        // A mark each minute, at the first, middle and last of the 35 columns after the labels.
        XCTAssertEqual(lines[4], "    └┬────────────────┬────────────────┬", text)
        XCTAssertEqual(lines[5], "     00:00:00     00:01:00      00:02:00", text)
        XCTAssertTrue(lines[6].contains("1970-01-01 00:00:00") && lines[6].contains("1970-01-01 00:02:00"), text)
        XCTAssertEqual(lines[7], "  ━━ up{job=\"a\"}")
        // The line rises: dots in the top row at the right, in the bottom row at the left.
        let plotted = lines[0...3].map { $0.split(separator: "┤")[1] }
        XCTAssertNotEqual(plotted[0].last, "\u{2800}")
        XCTAssertNotEqual(plotted[3].first, "\u{2800}")
        XCTAssertEqual(chart.render([]), "(no data to plot)\n")

        // Two days: marks every 12 hours with dates, labels that would collide left out; in
        // another zone the marks fall on its round hours.
        chart.width = 80
        let days = RangeSeries(labels: [Label("__name__", "x")], timestamps: [1_704_067_200_000, 1_704_240_000_000], values: [1, 2])
        let long = chart.render([days]).split(separator: "\n")
        XCTAssertTrue(long[5].contains("01-01 00:00") && long[5].contains("01-02 12:00") && long[5].contains("01-03 00:00"), long.joined(separator: "\n"))
        XCTAssertEqual(long[4].filter { $0 == "┬" }.count, 5, long.joined(separator: "\n"))
        let words = long[5].split(separator: " ")
        XCTAssertEqual(words.count % 2, 0, "each date with its time: \(long[5])")
        chart.timeZone = try XCTUnwrap(try? TimeZone.load("Asia/Kolkata"))
        let kolkata = chart.render([days]).split(separator: "\n")
        XCTAssertTrue(kolkata[5].contains("01-01 12:00") && !kolkata[5].contains("05:30"), kolkata.joined(separator: "\n"))
        XCTAssertTrue(kolkata[6].contains("2024-01-01 05:30"), "the first time, in that zone")

        // Across the end of summer time the marks stay on round local hours.
        let berlin = try XCTUnwrap(try? TimeZone.load("Europe/Berlin"))
        let autumn = TimeTicks(from: 1_729_900_800_000, to: 1_730_160_000_000, most: 6, zone: berlin)  // 26 Oct 00:00Z to 29 Oct 00:00Z
        XCTAssertEqual(autumn.step, 43_200_000)
        XCTAssertEqual(Set(autumn.times.map { String(berlin.localText($0).suffix(8)) }), ["00:00:00", "12:00:00"])
        // Eight thousand years: whole weeks, a few marks, labels with the year.
        let ages = TimeTicks(from: 0, to: 253_402_300_799_000, most: 5, zone: .utc)
        XCTAssertLessThanOrEqual(ages.times.count, 6)
        XCTAssertEqual(ages.step % 604_800_000, 0)
        XCTAssertEqual(TimeTicks.label(ages.times[1], span: 253_402_300_799_000, step: ages.step, zone: .utc, short: true).count, 10, "YYYY-MM-DD")
        XCTAssertEqual(ValueUnit("").format(1_500_000), "1.5M")
        XCTAssertEqual(ValueUnit("").format(0.012345), "0.0123")
    }
}

final class SVGChartTests: XCTestCase {
    func testOnePolylinePerRunAndAnEscapedLegend() {
        var chart = SVGChart()
        chart.title = "a < b"
        let gappy = RangeSeries(labels: [Label("__name__", "x"), Label("path", "/a&b")], timestamps: [0, 1000, 2000, 3000, 4000],
                                values: [1, 2, .nan, 3, 4])
        let flat = RangeSeries(labels: [], timestamps: [0, 4000], values: [2, 2])
        let svg = chart.render([gappy, flat])
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        XCTAssertTrue(svg.hasSuffix("</svg>\n"))
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 3, "the NaN splits the first series in two")
        XCTAssertTrue(svg.contains("a &lt; b"))
        XCTAssertTrue(svg.contains("x{path=&#34;/a&amp;b&#34;}"))
        XCTAssertTrue(chart.render([]).contains("no data"))
        XCTAssertEqual(ValueUnit.niceTicks(0.13, 2.88).ticks, [0, 1, 2, 3])
        XCTAssertEqual(ValueUnit.niceTicks(0, 950).ticks, [0, 200, 400, 600, 800, 1000])
        // Spans a double cannot hold, and huge flat lines, end rather than loop.
        XCTAssertEqual(ValueUnit.niceTicks(-1.7e308, 1.7e308).ticks, [-1.7e308, 1.7e308])
        XCTAssertLessThan(ValueUnit("percent").ticks(0, 1e307).ticks.count, 50)
        let flatTicks = ValueUnit.niceTicks(1e30, 1e30)
        XCTAssertLessThan(flatTicks.minimum, 1e30)
        XCTAssertGreaterThan(flatTicks.maximum, 1e30)
    }

    func testOverflowingStacksAndCrowdedLegendsStillDraw() {
        var chart = SVGChart()
        chart.kind = .area
        let huge = [RangeSeries(labels: [Label("a", "1")], timestamps: [0, 60_000], values: [1e308, 1e308]),
                    RangeSeries(labels: [Label("a", "2")], timestamps: [0, 60_000], values: [1e308, 1e308])]
        XCTAssertFalse(chart.render(huge).contains("NaN"))
        chart.kind = .line
        chart.height = 200
        chart.title = "crowded"
        let many = (0..<12).map { RangeSeries(labels: [Label("n", "\($0)")], timestamps: [0, 60_000], values: [Double($0), 1]) }
        let svg = chart.render(many)
        XCTAssertFalse(svg.contains("height=\"-"), "the plot keeps a height of its own")
        XCTAssertTrue(svg.contains("more series"), svg)
    }
}

final class ValueUnitTests: XCTestCase {
    func testUnitsScaleAndPrint() {
        let cases: [(String, Double, String)] = [
            ("", 1_500_000, "1.5M"), ("", 0.012345, "0.0123"), ("", 42, "42"),
            ("bytes", 1536, "1.5 KiB"), ("bytes", 3.2e9, "2.98 GiB"), ("bytes", 512, "512 B"), ("bytes/s", 2048, "2 KiB/s"),
            ("seconds", 0.25, "250ms"), ("seconds", 90, "1.5min"), ("seconds", 7200, "2h"), ("seconds", 0.0000042, "4.2µs"),
            ("percent", 0.4247, "42.47%"), ("%", 42, "42%"), ("req/s", 1500, "1.5k req/s"), ("bytes", .nan, "NaN"),
        ]
        for (unit, value, expected) in cases {
            XCTAssertEqual(ValueUnit(unit).format(value), expected, "\(value) in \(unit)")
        }
    }

    func testTicksAreRoundInTheUnit() {
        let gibibyte = 1024.0 * 1024 * 1024
        let bytes = ValueUnit("bytes").ticks(0, 3.5 * gibibyte)
        XCTAssertEqual(bytes.ticks, [0, 1, 2, 3, 4].map { $0 * gibibyte }, "steps of whole GiB, not of 10^9")
        let hours = ValueUnit("seconds").ticks(0, 5 * 3600)
        XCTAssertEqual(hours.ticks, [0, 1, 2, 3, 4, 5].map { $0 * 3600 })
        XCTAssertEqual(ValueUnit.niceTicks(0.13, 2.88).ticks, [0, 1, 2, 3])
        XCTAssertEqual(ValueUnit.niceTicks(0, 950).ticks, [0, 200, 400, 600, 800, 1000])
    }
}

final class SVGChartKindTests: XCTestCase {
    private let times: [Int64] = [0, 60_000, 120_000]

    private func count(_ text: String, in svg: String) -> Int { svg.components(separatedBy: text).count - 1 }

    func testStackedAreasReachTheTotal() {
        var chart = SVGChart()
        chart.kind = .area
        chart.title = ""
        let user = RangeSeries(labels: [Label("mode", "user")], timestamps: times, values: [1, 2, 3])
        let system = RangeSeries(labels: [Label("mode", "system")], timestamps: times, values: [1, .nan, 5])
        let svg = chart.render([user, system])
        XCTAssertEqual(count("<polygon", in: svg), 2, "one band per series")
        // The axis reaches the largest total, 3 + 5, and no further than the next round tick.
        XCTAssertTrue(svg.contains(">8</text>"), svg)
        XCTAssertFalse(svg.contains(">10</text>"), svg)
        XCTAssertTrue(svg.contains("{mode=&#34;system&#34;}"))
        XCTAssertTrue(SVGCanvas.escape("a\u{1}b\tc").hasPrefix("a\u{FFFD}b\tc"), "XML holds no control characters but tab, newline and return")
    }

    func testHeatmapTakesCumulativeBucketsApart() {
        var chart = SVGChart()
        chart.kind = .heatmap
        chart.unit = ValueUnit("seconds")
        func bucket(_ le: String, _ values: [Double], job: String) -> RangeSeries {
            RangeSeries(labels: [Label("job", job), Label("le", le)], timestamps: times, values: values)
        }
        // Two jobs' buckets are summed per bound: cumulative 2, 5, 5 per step → 2, 3, 0 per bucket.
        let series = [bucket("0.5", [1, 1, 1], job: "a"), bucket("0.5", [1, 1, 1], job: "b"),
                      bucket("1", [4, 4, 4], job: "a"), bucket("1", [1, 1, 1], job: "b"),
                      bucket("+Inf", [5, 5, 5], job: "a"), bucket("+Inf", [0, 0, 0], job: "b")]
        let svg = chart.render(series)
        let cells = svg.split(separator: "\n").filter { $0.hasPrefix("<rect") && $0.contains("fill=\"#") && !$0.contains("height=\"10\"") && !$0.contains("fill=\"white\"") }
        XCTAssertEqual(cells.count, 6, "three steps of two non-empty buckets; the +Inf bucket holds nothing\n\(svg)")
        XCTAssertTrue(svg.contains(">500ms</text>") && svg.contains(">1s</text>") && svg.contains(">+Inf</text>"), svg)
        XCTAssertTrue(svg.contains(">3s per row</text>"), "the scale ends at the fullest bucket")
        XCTAssertEqual(cells.filter { $0.contains(SVGChart.shade(1)) }.count, 3, "the 0.5–1 bucket is the darkest")
        // Without le, each series is a row of its own.
        let plain = chart.render([RangeSeries(labels: [Label("x", "1")], timestamps: times, values: [1, 2, 3])])
        XCTAssertTrue(plain.contains("{x=&#34;1&#34;}"))
    }

    func testStatAndGaugeShowTheLatestValue() {
        var chart = SVGChart()
        chart.unit = ValueUnit("percent")
        chart.kind = .stat
        let busy = RangeSeries(labels: [Label("cpu", "0")], timestamps: times, values: [0.5, 0.25, .nan])
        let stat = chart.render([busy])
        XCTAssertTrue(stat.contains(">25%</text>"), "the latest finite value\n\(stat)")
        XCTAssertEqual(count("<polyline", in: stat), 1, "a sparkline")
        chart.kind = .gauge
        let gauge = chart.render([busy, RangeSeries(labels: [Label("cpu", "1")], timestamps: times, values: [0.95, 0.95, 0.95])])
        XCTAssertEqual(count("<path", in: gauge), 4, "a dial and a filled arc per series")
        XCTAssertTrue(gauge.contains(">100%</text>"), "a percent dial ends at 100%")
        XCTAssertTrue(gauge.contains("stroke=\"#d62728\""), "95% of the dial is red")
        XCTAssertTrue(gauge.contains("stroke=\"#2ca02c\""), "25% is green")
        XCTAssertTrue(chart.render([]).contains("no data"))
    }

    func testTimeTicksFallOnRoundLocalTimes() throws {
        var chart = SVGChart()
        let start: Int64 = 1_700_000_000_000  // 22:13:20 UTC
        let series = RangeSeries(labels: [], timestamps: [start, start + 5_400_000], values: [1, 2])
        let utc = chart.render([series])
        XCTAssertTrue(utc.contains(">22:15</text>") && utc.contains(">23:30</text>"), utc)
        chart.timeZone = try TimeZone.load("Asia/Kolkata")
        XCTAssertTrue(chart.render([series]).contains(">03:45</text>"), "+05:30 shifts the labels, and the ticks stay round")
    }
}

/// mquery's chart options on the real binary.
final class QueryChartCommandTests: XCTestCase {
    private func store() throws -> String {
        let directory = NSTemporaryDirectory() + "mquery-chart-\(UUID().uuidString)"
        let lines = (0..<20).flatMap { step in
            ["latency_bucket{le=\"0.1\"} \(step) \(1_704_067_200_000 + Int64(step) * 15_000)",
             "latency_bucket{le=\"+Inf\"} \(step * 3) \(1_704_067_200_000 + Int64(step) * 15_000)"]
        }
        let appended = try runTool("mstore", [directory], input: Data((lines.joined(separator: "\n") + "\n").utf8))
        XCTAssertEqual(appended.status, 0, appended.stderr)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        return directory
    }

    func testChartKindsUnitsAndSizes() throws {
        let directory = try store()
        let range = ["--from", "1704067200", "--to", "1704067485", "--step", "15s"]
        let heatmap = try runTool("mquery", ["-s", directory, "rate(latency_bucket[1m])", "--chart", "heatmap", "--unit", "seconds",
                                             "--title", "Latency", "--size", "640x240"] + range)
        XCTAssertEqual(heatmap.status, 0, heatmap.stderr)
        XCTAssertTrue(heatmap.stdout.hasPrefix(#"<svg xmlns="http://www.w3.org/2000/svg" width="640" height="240""#), heatmap.stdout)
        XCTAssertTrue(heatmap.stdout.contains(">Latency</text>") && heatmap.stdout.contains(">100ms</text>"), heatmap.stdout)
        let bad = try runTool("mquery", ["-s", directory, "latency_bucket", "--chart", "pie"] + range)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--chart wants line, area, heatmap, stat, gauge, not 'pie'"), bad.stderr)
        let badSize = try runTool("mquery", ["-s", directory, "latency_bucket", "--chart", "line", "--size", "wide"] + range)
        XCTAssertEqual(badSize.status, 2)
        let plot = try runTool("mquery", ["-s", directory, "latency_bucket", "--plot", "--unit", "bytes"] + range)
        XCTAssertTrue(plot.stdout.contains(" B┤"), plot.stdout)
    }

    func testWatchEvaluatesAgainUntilInterrupted() throws {
        let directory = try store()
        let process = Process()
        process.executableURL = toolDirectory.appendingPathComponent("mquery")
        process.arguments = ["-s", directory, "sum(latency_bucket)", "--at", "1704067485", "--watch", "200ms"]
        let output = PipeReader()
        process.standardOutput = output.pipe
        try process.run()
        XCTAssertTrue(output.wait { $0.components(separatedBy: "{} 76 1704067485000").count > 3 }, output.text)
        kill(process.processIdentifier, SIGINT)
        let text = output.finish()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, "interrupted, as every tool reports it")
        let rounds = text.components(separatedBy: "Every 200ms: sum(latency_bucket)").count - 1
        XCTAssertGreaterThanOrEqual(rounds, 3, text)
        XCTAssertEqual(text.components(separatedBy: "{} 76 1704067485000").count - 1, rounds, "each round prints the answer\n\(text)")
        let stdin = try runTool("mquery", ["sum(x)", "--watch", "1s"])
        XCTAssertEqual(stdin.status, 2, "stdin is read once: there is nothing to watch")
    }
}
