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
