import Foundation
import XCTest
@testable import MetricLine

final class RetentionTests: XCTestCase {
    func testPolicyFiles() throws {
        let policy = try RetentionPolicy.parse("""
            # comment
            raw 15d
            rollup 5m 90d   # trailing comment
            rollup\t1h\t2y
            {job="batch"} raw 2d
            up{instance=~"db.*"} rollup 1h 5y
            """, source: "policy")
        XCTAssertEqual(policy.rules.count, 5)
        XCTAssertEqual(policy.rollupSteps, [300_000, 3_600_000])
        let batch = ExpositionParser.SeriesKey(name: "x", labels: [Label("job", "batch")])
        let other = ExpositionParser.SeriesKey(name: "x", labels: [Label("job", "api")])
        let database = ExpositionParser.SeriesKey(name: "up", labels: [Label("instance", "db1")])
        XCTAssertEqual(policy.retention(of: .raw, for: batch), 2 * 86_400_000)
        XCTAssertEqual(policy.retention(of: .raw, for: other), 15 * 86_400_000)
        XCTAssertEqual(policy.retention(of: .rollup(3_600_000), for: other), 2 * 31_536_000_000)
        XCTAssertEqual(policy.retention(of: .rollup(3_600_000), for: database), 5 * 31_536_000_000)
        XCTAssertNil(policy.retention(of: .rollup(60_000), for: other))
        for (text, line) in [("raw\n", 1), ("raw 15d\nrollup 7m 1d\n", 2), ("\n\n{job=} raw 1d", 3), ("keep 1d", 1)] {
            XCTAssertThrowsError(try RetentionPolicy.parse(text, source: "p")) { error in
                XCTAssertTrue((error as? StoreError)?.message.hasPrefix("p:\(line): ") ?? false, "\(error)")
            }
        }
    }

    func testRollupStatistics() {
        let timestamps: [Int64] = [0, 15_000, 30_000, 60_000, 75_000, 120_000]
        let values = [0.1, 0.2, StaleMarker.value, 5, 1, 7]
        let (starts, columns) = Rollup.compute(timestamps, values, step: 60_000)
        XCTAssertEqual(starts, [0, 60_000, 120_000])
        XCTAssertEqual(columns[0], [0.1, 1, 7])        // min
        XCTAssertEqual(columns[1], [0.2, 5, 7])        // max
        XCTAssertEqual(columns[2], [0.3, 6, 7])        // sum: 0.1 + 0.2 is exactly 0.3 here
        XCTAssertEqual(columns[3], [2, 2, 1])          // count: the staleness marker is not counted
        XCTAssertEqual(columns[4], [0.2, 1, 7])        // last
        let withNaN = Rollup.compute([0, 1, 2], [1, .nan, .infinity], step: 60_000)
        XCTAssertTrue(withNaN.columns[0][0].isNaN && withNaN.columns[1][0].isNaN && withNaN.columns[2][0].isNaN)
        XCTAssertEqual(withNaN.columns[3], [3])
    }

    func testCompactionMakesRollupsAndAppliesRetentionPerSelector() throws {
        let directory = NSTemporaryDirectory() + "mstore-retention-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let start: Int64 = 1_704_067_200_000
        let writer = try StoreWriter(directory: directory)
        var expectedLoad: [Int64: [Double]] = [:]
        for job in ["keep", "drop"] {
            let id = writer.series.intern(ExpositionParser.SeriesKey(name: "load", labels: [Label("job", job)]), spelling: nil)
            for step in 0..<(3 * 24 * 60) {
                let time = start + Int64(step) * 60_000
                let value = Double(step % 97) / 100
                try writer.append(series: id, timestamp: time, value: value)
                if job == "keep" { expectedLoad[StoreLayout.window(of: time, length: 3_600_000), default: []].append(value) }
            }
        }
        let policy = try RetentionPolicy.parse("raw 1d\n{job=\"keep\"} raw 30d\nrollup 1h 30d\n", source: "test")
        let report = try writer.compact(policy: policy)
        XCTAssertEqual(report.merged.count, 3)
        XCTAssertEqual(report.rollups.count, 3)
        // Day one ended more than a day before the newest sample: only job="keep" stays raw there.
        XCTAssertEqual(report.trimmed.count, 1)
        let reader = try StoreReader(directory: directory)
        var raw: [String: Int] = [:]
        reader.forEachSeries(matching: []) { key, timestamps, _ in raw[key.labels[0].value] = timestamps.count }
        XCTAssertEqual(raw["keep"], 3 * 24 * 60)
        XCTAssertEqual(raw["drop"], 2 * 24 * 60)
        let rollups = try StoreReader(directory: directory, rollup: 3_600_000)
        var checked = 0
        rollups.forEachSeries(matching: [.equal("job", "keep"), .equal(Rollup.label, "max")]) { _, timestamps, values in
            for (time, value) in zip(timestamps, values) {
                XCTAssertEqual(value, expectedLoad[time]?.max())
                checked += 1
            }
        }
        XCTAssertEqual(checked, 72)
        XCTAssertEqual(rollups.problems, [])
    }
}
