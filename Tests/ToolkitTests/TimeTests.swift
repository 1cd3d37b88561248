import Foundation
import XCTest
@testable import MetricLine

final class TimeTests: XCTestCase {
    func testTimesAndDurations() {
        XCTAssertEqual(Timestamp.parse("2024-01-01T00:00:00Z"), 1_704_067_200_000)
        XCTAssertEqual(Timestamp.parse("2024-01-01T01:00:00.250+01:00"), 1_704_067_200_250)
        XCTAssertEqual(Timestamp.parse("1704067200"), 1_704_067_200_000)
        XCTAssertEqual(Timestamp.parse("1704067200.5"), 1_704_067_200_500)
        XCTAssertEqual(Timestamp.parse("-1h", now: 10_000_000), 10_000_000 - 3_600_000)
        XCTAssertEqual(Timestamp.parse("now", now: 42), 42)
        XCTAssertNil(Timestamp.parse("yesterday"))
        XCTAssertNil(Timestamp.parse("2024-13-01T00:00:00Z"))
        XCTAssertEqual(Timestamp.rfc3339(1_704_067_200_250), "2024-01-01T00:00:00.250Z")
        XCTAssertEqual(Timestamp.rfc3339(-1), "1969-12-31T23:59:59.999Z")
        XCTAssertEqual(Duration.milliseconds("1h30m"), 5_400_000)
        XCTAssertEqual(Duration.milliseconds("250ms"), 250)
        XCTAssertNil(Duration.milliseconds("30m1h"))
        XCTAssertNil(Duration.milliseconds("5"))
        XCTAssertEqual(Duration.text(300_000), "5m")
        XCTAssertEqual(Duration.text(90_000), "90s")
    }

    func testTimeZonesFromTheSystemDatabase() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "/usr/share/zoneinfo/Europe/Berlin"), "tzdata is not installed")
        let berlin = try TimeZone.load("Europe/Berlin")
        XCTAssertEqual(berlin.offset(at: 1_719_836_000), 7200)     // 2024-07-01: summer time
        XCTAssertEqual(berlin.offset(at: 1_704_067_200), 3600)     // 2024-01-01
        // 2040 lies past the file's transitions: the POSIX rule decides (last Sunday of March, 01:00 UTC).
        let switchover = (Timestamp.parse("2040-03-25T01:00:00Z") ?? 0) / 1000
        XCTAssertEqual(berlin.offset(at: switchover - 1), 3600)
        XCTAssertEqual(berlin.offset(at: switchover), 7200)
        XCTAssertEqual(try TimeZone.load("Asia/Kolkata").offset(at: 1_704_067_200), 19_800)
        XCTAssertEqual(try TimeZone.load("UTC").offset(at: 0), 0)
        XCTAssertThrowsError(try TimeZone.load("../etc/passwd"))
        XCTAssertThrowsError(try TimeZone.load("Mars/Base"))
    }

    func testPosixRules() throws {
        let rule = try XCTUnwrap(PosixRule("EST5EDT,M3.2.0,M11.1.0"))
        XCTAssertEqual(rule.offset(at: (Timestamp.parse("2050-07-01T00:00:00Z") ?? 0) / 1000), -4 * 3600)
        XCTAssertEqual(rule.offset(at: (Timestamp.parse("2050-12-01T00:00:00Z") ?? 0) / 1000), -5 * 3600)
        XCTAssertEqual(PosixRule("<+0530>-5:30")?.offset(at: 0), 19_800)
        XCTAssertNil(PosixRule("X"))
    }

    func testDateFunctionsFollowTheZone() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "/usr/share/zoneinfo/Europe/Berlin"), "tzdata is not installed")
        let evaluator = Evaluator(source: MemorySource())
        evaluator.timeZone = try TimeZone.load("Europe/Berlin")
        let time = Timestamp.parse("2024-01-01T23:30:00Z")!
        guard case .vector(let hour) = try evaluator.instant(try Parser.parse("hour()"), at: time),
              case .vector(let weekday) = try evaluator.instant(try Parser.parse("day_of_week()"), at: time) else { return XCTFail() }
        XCTAssertEqual(hour.first?.value, 0)
        XCTAssertEqual(weekday.first?.value, 2, "Tuesday in Berlin, still Monday in UTC")
    }
}

final class TerminalChartTests: XCTestCase {
    func testDrawsLinesAxesAndALegend() {
        var chart = TerminalChart()
        chart.width = 40
        chart.height = 4
        let rising = RangeSeries(labels: [Label("__name__", "up"), Label("job", "a")], timestamps: [0, 60_000, 120_000], values: [0, 500, 1000])
        let text = chart.render([rising])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 4 + 1 + 1 + 1 + 1, text)  // plot, axis, times, legend, final newline
        XCTAssertTrue(lines[0].hasPrefix("  1k┤"), text)
        XCTAssertTrue(lines[3].contains("0┤"), text)
        XCTAssertEqual(lines[0].count, 40, "the chart fills the width")
        XCTAssertTrue(lines[5].contains("1970-01-01 00:00:00") && lines[5].contains("1970-01-01 00:02:00"), text)
        XCTAssertEqual(lines[6], "  ━━ up{job=\"a\"}")
        // The line rises: dots in the top row at the right, in the bottom row at the left.
        let plotted = lines[0...3].map { $0.split(separator: "┤")[1] }
        XCTAssertNotEqual(plotted[0].last, "\u{2800}")
        XCTAssertNotEqual(plotted[3].first, "\u{2800}")
        XCTAssertEqual(chart.render([]), "(no data to plot)\n")
        XCTAssertEqual(TerminalChart.humanize(1_500_000), "1.5M")
        XCTAssertEqual(TerminalChart.humanize(0.012345), "0.0123")
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
        XCTAssertTrue(svg.contains("x{path=&quot;/a&amp;b&quot;}"))
        XCTAssertTrue(chart.render([]).contains("no data"))
        XCTAssertEqual(SVGChart.niceTicks(0.13, 2.88).ticks, [0, 1, 2, 3])
        XCTAssertEqual(SVGChart.niceTicks(0, 950).ticks, [0, 200, 400, 600, 800, 1000])
    }
}
