import Foundation
import XCTest
@testable import MetricLine

/// Range queries over a store on disk, evaluated over all steps at once with series read on
/// several threads, against the same samples held in memory and evaluated step by step.
final class StepEvaluationTests: XCTestCase {
    func testStoreOnSeveralThreadsAgreesWithStepByStepInMemory() throws {
        let start: Int64 = 1_704_067_200_000
        var random = SeededRandom(seed: 7)
        var early = "", late = ""
        var counters = [Double](repeating: 0, count: 40)
        var buckets = [[Double]](repeating: [0, 0, 0, 0], count: 4)
        for step in 0..<720 {
            let time = start + Int64(step) * 15_000
            var lines = ""
            for (number, _) in counters.enumerated() {
                counters[number] += Double(Int.random(in: 0...100, using: &random))
                if number % 7 == 0 && step == 300 { counters[number] = 3 }  // a reset
                lines += "c{n=\"\(number)\",job=\"j\(number % 3)\"} \(counters[number]) \(time)\n"
            }
            for instance in 0..<4 {
                let observed = Double(Int.random(in: 0...20, using: &random))
                for (position, share) in [0.2, 0.5, 0.9, 1.0].enumerated() {
                    buckets[instance][position] += (observed * share).rounded(.down)
                }
                for (position, le) in ["0.1", "0.5", "1", "+Inf"].enumerated() {
                    lines += "h_bucket{instance=\"i\(instance)\",le=\"\(le)\"} \(buckets[instance][position]) \(time)\n"
                }
            }
            // A gauge that goes stale for a while and comes back.
            lines += (step >= 400 && step < 420) ? "g{x=\"1\"} stale \(time)\n" : "g{x=\"1\"} \(Double(step % 97)) \(time)\n"
            if step % 5 == 4 { late += lines } else { early += lines }
        }
        let directory = NSTemporaryDirectory() + "steps-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertEqual(try runTool("mstore", [directory], input: Data(early.utf8)).status, 0)
        XCTAssertEqual(try runTool("mstore", ["compact", directory]).status, 0)
        // Late samples of the same day: files of their own beside the compacted segment.
        XCTAssertEqual(try runTool("mstore", [directory], input: Data(late.utf8)).status, 0)

        let memory = MemorySource()
        var parsed: [String: (LabelSet, [(Int64, Double)])] = [:]
        for line in (early + late).split(separator: "\n") {
            let record = try ExpositionParser.parse(String(line))
            guard case .sample(let sample) = record else { continue }
            let labels = LabelSet(ExpositionParser.SeriesKey(name: sample.name, labels: sample.labels))
            parsed[labels.key, default: (labels, [])].1.append((sample.timestamp!, sample.value))
        }
        for (labels, points) in parsed.values {
            let sorted = points.sorted { $0.0 < $1.0 }
            memory.set(labels, timestamps: sorted.map(\.0), values: sorted.map(\.1))
        }

        let reader = try StoreReader(directory: directory)
        XCTAssertGreaterThanOrEqual(reader.segments.count + reader.heads.count, 2, "every series has samples in more than one file")
        let expressions = [
            "rate(c[5m])", "sum by (job) (rate(c[5m]))", "increase(c[10m]) > 500", "-c", "c offset 10m",
            "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))", "avg by (instance) (h_bucket)",
            "g", "max_over_time(g[10m])", "count(g)", "changes(g[30m]) * 2", "time() - 1704067200",
        ]
        for text in expressions {
            let expression = try Parser.parse(text)
            XCTAssertTrue(Evaluator.stepEvaluable(expression), text)
            let fast = try Evaluator(source: StoreSource(reader: reader)).range(expression, start: start + 300_000, end: start + 10_700_000, step: 60_000)
            let reference = Evaluator(source: memory)
            reference.alwaysStepByStep = true
            let expected = try reference.range(expression, start: start + 300_000, end: start + 10_700_000, step: 60_000)
            XCTAssertFalse(expected.isEmpty, text)
            XCTAssertEqual(fast.count, expected.count, text)
            for (a, b) in zip(fast, expected) {
                XCTAssertEqual(a.labels, b.labels, text)
                XCTAssertEqual(a.timestamps, b.timestamps, "\(text) \(a.labels.description)")
                XCTAssertTrue(zip(a.values, b.values).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(text) \(a.labels.description): \(a.values) vs \(b.values)")
            }
        }
    }

    func testWorkersEachTakeTheirShare() {
        let slots = WorkerSlots<Int>(1000)
        Workers.run(4) { worker in
            for index in stride(from: worker, to: 1000, by: 4) { slots[index] = index * 2 }
        }
        XCTAssertEqual((0..<1000).compactMap { slots[$0] }, (0..<1000).map { $0 * 2 })
    }
}
