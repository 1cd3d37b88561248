import Foundation
import XCTest
@testable import MetricLine

/// Range queries over a store on disk, evaluated over all steps at once with series read on
/// several threads, against the same samples held in memory and evaluated step by step.
final class StepEvaluationTests: XCTestCase {
    /// `CounterWindows` repeats the scalar extrapolation lane by lane: the same bits on random
    /// windows and on awkward ones (NaN, 0 and -0, a negative first value, no increase, a
    /// window's end far from its last sample), in full and partial batches.
    func testCounterWindowsAgreeWithTheScalarExtrapolation() {
        var random = SeededRandom(seed: 9)
        let awkward: [Double] = [.nan, 0, -0.0, -5, 1e308, -1e308, .infinity, 3, 3]
        for rate in [true, false] {
            let windows = Evaluator.CounterWindows()
            var expected: [Int: Double] = [:], got: [Int: Double] = [:]
            let range = Int64.random(in: 1_000...900_000, using: &random)
            func check() {
                windows.flush(range: range, rate: rate) { got[$0] = $1 }
            }
            for step in 0..<1_003 {
                let end = Int64.random(in: 0...2_000_000_000_000, using: &random)
                let start = end - range
                let firstTime = Int64.random(in: (start + 1)...end, using: &random)
                let lastTime = Int64.random(in: firstTime...end, using: &random)
                let pick = { (random: inout SeededRandom) -> Double in
                    Int.random(in: 0..<4, using: &random) == 0 ? awkward.randomElement(using: &random)! : Double.random(in: -100...1_000, using: &random)
                }
                let first = (time: firstTime, value: pick(&random)), last = (time: lastTime, value: pick(&random))
                let samples = Int.random(in: 2...40, using: &random)
                let bounds = Evaluator.WindowBounds(start: start, end: end, range: range)
                expected[step] = Evaluator.extrapolated(first: first, last: last, count: samples, correction: 0, bounds, counter: true, rate: rate)
                if windows.add(step: step, first: first, last: last, samples: samples, bounds) { check() }
            }
            check()
            XCTAssertEqual(got.count, expected.count)
            for (step, value) in expected { XCTAssertEqual(got[step]?.bitPattern, value.bitPattern, "step \(step), rate \(rate)") }
        }
    }

    /// `WindowEdges` finds by arithmetic the samples a search along the timestamps finds: evenly
    /// spaced samples, steps a multiple of their interval, windows before, over and after them,
    /// and offsets of either sign; uneven samples or an interval not dividing the step get none.
    func testWindowEdgesAgreeWithASearch() {
        var random = SeededRandom(seed: 21)
        for _ in 0..<400 {
            let interval = Int64.random(in: 1...20_000, using: &random)
            let origin = Int64.random(in: -1_000_000...2_000_000_000_000, using: &random)
            let timestamps = (0..<Int.random(in: 2...300, using: &random)).map { origin + Int64($0) * interval }
            let step = interval * Int64.random(in: 1...8, using: &random)
            let range = Int64.random(in: 0...(interval * 40), using: &random)
            let first = origin + Int64.random(in: (-interval * 50)...(interval * 350), using: &random)
            guard let edges = Evaluator.WindowEdges(timestamps, first: first, range: range, step: step) else {
                return XCTFail("evenly spaced samples with an interval dividing the step got no edges")
            }
            for number in 0..<60 {
                let end = first + Int64(number) * step, start = end - range
                let lower = timestamps.firstIndex { $0 >= start } ?? timestamps.count
                let upper = timestamps.firstIndex { $0 > end } ?? timestamps.count
                let found = edges.window(number)
                XCTAssertTrue(found == (lower, upper), "interval \(interval), step \(step), range \(range), window \(number): \(found) for \((lower, upper))")
            }
            // The whole windows are those not cut at either end, one run of them, all as long.
            let whole = edges.wholeWindows(60)
            // Whole: the same samples as a search along the samples extended 50 intervals past
            // either end would find.
            let extended = (-50..<(timestamps.count + 50)).map { origin + Int64($0) * interval }
            let uncut = (0..<60).filter { number in
                let end = first + Int64(number) * step, start = end - range
                let lower = (extended.firstIndex { $0 >= start } ?? extended.count) - 50, upper = (extended.firstIndex { $0 > end } ?? extended.count) - 50
                return lower >= 0 && upper <= timestamps.count
            }
            XCTAssertEqual(Array(whole), uncut)
            XCTAssertEqual(Set(whole.map { edges.window($0).upper - edges.window($0).lower }).count, whole.isEmpty ? 0 : 1)
            XCTAssertEqual(edges.stride, Int(step / interval))
        }
        XCTAssertNil(Evaluator.WindowEdges([0, 15_000, 30_000, 45_001], first: 60_000, range: 60_000, step: 60_000))
        XCTAssertNil(Evaluator.WindowEdges([0, 15_000, 30_000], first: 60_000, range: 60_000, step: 20_000))
        XCTAssertNil(Evaluator.WindowEdges([0], first: 60_000, range: 60_000, step: 60_000))
        XCTAssertNil(Evaluator.WindowEdges([.max - 10, .max - 5], first: .min + 10, range: 60_000, step: 5))
        // Windows at the far end of time: no whole ones, and no overflow finding that out.
        XCTAssertEqual(Evaluator.WindowEdges([0, 1, 2], first: .min + 10, range: 10, step: 1)?.wholeWindows(5), 0..<0)
    }

    /// `SumWindows` gives `kahanSum` and `mean` bit for bit (any NaN for NaN), lane by lane:
    /// windows of different lengths in one group, awkward values (NaN, infinities, -0, sums that
    /// overflow or cancel), full and partial batches.
    func testSumWindowsAgreeWithTheScalarSums() {
        var random = SeededRandom(seed: 17)
        let awkward: [Double] = [.nan, .infinity, -.infinity, -0.0, 0, 1e308, -1e308, 1e-300, 3, -3]
        let values: [Double] = (0..<3_000).map { _ in
            switch Int.random(in: 0..<10, using: &random) {
            case 0: awkward.randomElement(using: &random)!
            case 1: Double.random(in: -1e18...1e18, using: &random)
            default: Double(Int.random(in: -1_000...100_000, using: &random)) / 100
            }
        }
        for function in [Evaluator.SumFunction.sum, .mean] {
            let windows = Evaluator.SumWindows()
            var expected: [Int: Double] = [:], got: [Int: Double] = [:]
            values.withUnsafeBufferPointer { buffer in
                for step in 0..<1_001 {
                    let lower = Int.random(in: 0..<(values.count - 1), using: &random)
                    let upper = Int.random(in: (lower + 1)...min(values.count, lower + Int.random(in: 1...60, using: &random)), using: &random)
                    expected[step] = function == .sum ? Evaluator.kahanSum(values[lower..<upper]) : Evaluator.mean(values[lower..<upper])
                    if windows.add(step: step, start: lower, end: upper) { windows.flush(buffer, function) { got[$0] = $1 } }
                }
                windows.flush(buffer, function) { got[$0] = $1 }
            }
            XCTAssertEqual(got.count, expected.count)
            // NaN's sign and payload follow the order the compiler gives an addition's operands,
            // which it may swap; any NaN is NaN to PromQL.
            for (step, value) in expected where !(value.isNaN && got[step]?.isNaN == true) {
                XCTAssertEqual(got[step]?.bitPattern, value.bitPattern, "\(function) step \(step): \(String(describing: got[step])) for \(value)")
            }
        }
    }

    /// `scan` finds NaN and a fall below the previous value wherever they are: at the start, in
    /// the lanes, in the tail after them, and not at all; NaN beside a number is not a fall.
    func testScanFindsNaNAndFallsAnywhere() {
        var random = SeededRandom(seed: 5)
        for count in 0..<40 {
            for _ in 0..<30 {
                var values = (0..<count).map { Double($0) * 1.5 }
                if count > 0, Bool.random(using: &random) {
                    values[Int.random(in: 0..<count, using: &random)] = Bool.random(using: &random) ? .nan : StaleMarker.value
                }
                if count > 1, Bool.random(using: &random) {
                    let at = Int.random(in: 1..<count, using: &random)
                    values[at] = values[at - 1].isNaN ? values[at] : values[at - 1] - 0.5
                }
                let nan = values.contains { $0.isNaN }
                let decrease = zip(values, values.dropFirst()).contains { $1 < $0 }
                let found = values.withUnsafeBufferPointer(Evaluator.scan)
                XCTAssertTrue(found == (nan, decrease), "\(values): \(found)")
            }
        }
    }

    /// Values that take the extrapolation's unusual turns.
    private static let awkwardCounterValues: [Double] = [.nan, 0, -0.0, -5, 1e308, -1e308, .infinity, 3, 3]

    /// A random window shape: its length, the gaps from its start to the first sample and from
    /// the last sample to its end (any split, both zero included), and how many samples it holds.
    private func randomShape(_ random: inout SeededRandom) -> (range: Int64, toFirst: Int64, fromLast: Int64, samples: Int) {
        let range = Int64.random(in: 1_000...900_000, using: &random)
        let toFirst = Int64.random(in: 0...range, using: &random)
        let fromLast = Int64.random(in: 0...(range - toFirst), using: &random)
        return (range, toFirst, fromLast, Int.random(in: 2...40, using: &random))
    }

    /// `AlikeCounterWindows` gives what the scalar extrapolation gives for windows of one shape,
    /// bit for bit: shapes with the first sample at the start or later, the last at the end or
    /// earlier, the average gap above or below the thresholds; awkward values; partial batches.
    func testAlikeCounterWindowsAgreeWithTheScalarExtrapolation() {
        var random = SeededRandom(seed: 12)
        let awkward = Self.awkwardCounterValues
        for round in 0..<40 {
            let rate = round % 2 == 0
            let (range, toFirst, fromLast, samples) = randomShape(&random)
            let windows = Evaluator.AlikeCounterWindows()
            var expected: [Int: Double] = [:], got: [Int: Double] = [:]
            var shaped = false
            for step in 0..<Int.random(in: 1...200, using: &random) {
                let end = Int64.random(in: 0...2_000_000_000_000, using: &random), start = end - range
                let bounds = Evaluator.WindowBounds(start: start, end: end, range: range)
                let pick = { (random: inout SeededRandom) -> Double in
                    Int.random(in: 0..<4, using: &random) == 0 ? awkward.randomElement(using: &random)! : Double.random(in: -100...1_000, using: &random)
                }
                var first = (time: start + toFirst, value: pick(&random)), last = (time: end - fromLast, value: pick(&random))
                if Int.random(in: 0..<3, using: &random) == 0 {
                    // A counter about to reach zero near the window's start: its first value at
                    // the increase times durationToStart / sampled, give or take a little.
                    let sampled = Double(range - toFirst - fromLast) / 1000, average = sampled / Double(samples - 1)
                    let toStart = Double(toFirst) / 1000 >= average * 1.1 ? average / 2 : Double(toFirst) / 1000
                    let increase = Double.random(in: 0.001...1e6, using: &random)
                    let nudge = [-1e-6, -2e-9, -1e-12, 0, 1e-12, 2e-9, 1e-6].randomElement(using: &random)!
                    first.value = increase * (toStart / sampled) * (1 + nudge)
                    last.value = first.value + increase
                }
                if !shaped {
                    windows.shape(first: first.time, last: last.time, samples: samples, bounds)
                    shaped = true
                }
                XCTAssertTrue(windows.fits(first: first.time, last: last.time, samples: samples, bounds))
                XCTAssertFalse(windows.fits(first: first.time, last: last.time, samples: samples + 1, bounds))
                expected[step] = Evaluator.extrapolated(first: first, last: last, count: samples, correction: 0, bounds, counter: true, rate: rate)
                if windows.add(step: step, start: first.value, end: last.value) { windows.flush(range: range, rate: rate) { got[$0] = $1 } }
            }
            windows.flush(range: range, rate: rate) { got[$0] = $1 }
            XCTAssertEqual(got.count, expected.count)
            for (step, value) in expected where !(value.isNaN && got[step]?.isNaN == true) {
                XCTAssertEqual(got[step]?.bitPattern, value.bitPattern, "round \(round), step \(step)")
            }
        }
    }

    /// `AlikeCounterWindows.computeEvery`, reading each window's ends straight from the samples
    /// at a stride, gives the scalar extrapolation's bits too, for runs of any length.
    func testAlikeCounterWindowsComputeEveryAgreesWithTheScalarExtrapolation() {
        var random = SeededRandom(seed: 13)
        let awkward = Self.awkwardCounterValues
        for round in 0..<60 {
            let rate = round % 2 == 0
            let (range, toFirst, fromLast, samples) = randomShape(&random)
            let stride = Int.random(in: 1...6, using: &random)
            let values = (0..<(samples + stride * 80)).map { _ in
                Int.random(in: 0..<4, using: &random) == 0 ? awkward.randomElement(using: &random)! : Double.random(in: -100...1_000, using: &random)
            }
            let windows = Evaluator.AlikeCounterWindows()
            let end: Int64 = 1_704_067_200_000, bounds = Evaluator.WindowBounds(start: end - range, end: end, range: range)
            windows.shape(first: bounds.start + toFirst, last: end - fromLast, samples: samples, bounds)
            let run = Int.random(in: 0...20, using: &random)..<Int.random(in: 21...80, using: &random)
            var answers = [Double](repeating: 42, count: 81)
            values.withUnsafeBufferPointer { values in
                answers.withUnsafeMutableBufferPointer { answers in
                    windows.computeEvery(run, of: values, first: 0, last: samples - 1, stride: stride, range: range, rate: rate, into: answers)
                }
            }
            for number in 0..<81 {
                guard run.contains(number) else {
                    XCTAssertEqual(answers[number], 42, "round \(round): window \(number) outside the run was written")
                    continue
                }
                let first = (time: bounds.start + toFirst, value: values[number * stride])
                let last = (time: end - fromLast, value: values[samples - 1 + number * stride])
                let expected = Evaluator.extrapolated(first: first, last: last, count: samples, correction: 0, bounds, counter: true, rate: rate)
                if expected.isNaN && answers[number].isNaN { continue }
                XCTAssertEqual(answers[number].bitPattern, expected.bitPattern, "round \(round), window \(number)")
            }
        }
    }

    /// Aggregations fold each series as it is read, on several threads: members must still be
    /// taken in order. Values of 0 and -0 make every step's `min` and `max` depend on it (of
    /// equal values the first stays).
    func testFoldedAggregationsTakeMembersInOrder() throws {
        let start: Int64 = 1_704_067_200_000
        var random = SeededRandom(seed: 8)
        var text = ""
        let memory = MemorySource()
        var series: [(labels: LabelSet, timestamps: [Int64], values: [Double])] = []
        for number in 0..<96 {
            let name = String(format: "%03d", number)
            var timestamps: [Int64] = [], values: [Double] = []
            // The first series is long, so threads finish later ones before it.
            let interval: Int64 = number == 0 ? 30 : 15_000
            for step in 0..<Int(3_600_000 / interval) {
                let time = start + Int64(step) * interval
                let value = Bool.random(using: &random) ? 0.0 : -0.0
                text += "big{n=\"\(name)\",k=\"\(number % 2)\"} \(value) \(time)\n"
                timestamps.append(time)
                values.append(value)
            }
            series.append((LabelSet(ExpositionParser.SeriesKey(name: "big", labels: [Label("k", "\(number % 2)"), Label("n", name)])),
                           timestamps, values))
        }
        for one in series { memory.set(one.labels, timestamps: one.timestamps, values: one.values) }
        let directory = NSTemporaryDirectory() + "folds-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertEqual(try runTool("mstore", [directory], input: Data(text.utf8)).status, 0)
        let reader = try StoreReader(directory: directory)
        for expression in ["min(big)", "max by (k) (big)", "min(last_over_time(big[1m]))", "sum by (k) (big)", "count(big)"] {
            let parsed = try Parser.parse(expression)
            let reference = Evaluator(source: memory)
            reference.alwaysStepByStep = true
            let expected = try reference.range(parsed, start: start, end: start + 3_585_000, step: 15_000)
            XCTAssertFalse(expected.isEmpty, expression)
            for _ in 0..<5 {
                let folded = try Evaluator(source: StoreSource(reader: reader)).range(parsed, start: start, end: start + 3_585_000, step: 15_000)
                XCTAssertEqual(folded.map(\.labels), expected.map(\.labels), expression)
                for (a, b) in zip(folded, expected) {
                    XCTAssertEqual(a.timestamps, b.timestamps, expression)
                    XCTAssertTrue(zip(a.values, b.values).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(expression): \(a.values.prefix(8)) vs \(b.values.prefix(8))")
                }
            }
        }
        // The answers really depend on the order: each step's minimum is its first member's zero.
        let minima = try Evaluator(source: StoreSource(reader: reader)).range(try Parser.parse("min(big)"), start: start, end: start + 3_585_000, step: 15_000)
        XCTAssertEqual(minima.first?.values.map(\.bitPattern), (0..<240).map { series[0].values[$0 * 500].bitPattern })
    }

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
            "max_over_time(c[10m])", "min_over_time(h_bucket[7m])",
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

    /// The queue that max/min_over_time keep over a moving window picks, of equal values, the
    /// first, as looking at every sample does (0 and -0 are equal and print differently).
    func testExtremesKeepTheFirstOfEqualValues() throws {
        let memory = MemorySource()
        let values: [Double] = [0, -0.0, 5, 5, -0.0, 0, 3, -1, -1, 0, -0.0, 7]
        memory.set([Label("__name__", "z")], timestamps: values.indices.map { Int64($0) * 10_000 }, values: values)
        for text in ["max_over_time(z[30s])", "min_over_time(z[20s])", "max_over_time(z[1m])", "min_over_time(z[5s])"] {
            let expression = try Parser.parse(text)
            let fast = try Evaluator(source: memory).range(expression, start: 0, end: 120_000, step: 5_000)
            let reference = Evaluator(source: memory)
            reference.alwaysStepByStep = true
            let expected = try reference.range(expression, start: 0, end: 120_000, step: 5_000)
            XCTAssertEqual(fast.map(\.timestamps), expected.map(\.timestamps), text)
            XCTAssertEqual(fast.flatMap(\.values).map(\.bitPattern), expected.flatMap(\.values).map(\.bitPattern), text)
        }
    }

    /// Aggregations big enough to be split across threads by ranges of steps (300 series × 601
    /// steps, three ranges of 256) give what step-by-step evaluation gives, to the bit: with gaps,
    /// NaN, infinities and sums that overflow.
    func testAggregationsSplitAcrossThreadsAgreeWithStepByStep() throws {
        let memory = MemorySource()
        var random = SeededRandom(seed: 11)
        for number in 0..<300 {
            var timestamps: [Int64] = [], values: [Double] = []
            for step in 0..<1200 where !(number % 5 == 0 && step % 97 < 30) {
                timestamps.append(Int64(step) * 15_000)
                switch Int.random(in: 0..<1000, using: &random) {
                case 0: values.append(.nan)
                case 1: values.append(number % 2 == 0 ? .infinity : -.infinity)
                case 2: values.append(1.7e308)
                default: values.append(Double(Int.random(in: -1_000_000...1_000_000, using: &random)) / 1000)
                }
            }
            memory.set([Label("__name__", "v"), Label("g", "g\(number % 7)"), Label("n", "\(number)")], timestamps: timestamps, values: values)
        }
        for operation in ["sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"] {
            let text = "\(operation) by (g) (v)"
            let expression = try Parser.parse(text)
            XCTAssertTrue(Evaluator.stepEvaluable(expression), text)
            let fast = try Evaluator(source: memory).range(expression, start: 0, end: 18_000_000, step: 30_000)
            let reference = Evaluator(source: memory)
            reference.alwaysStepByStep = true
            let expected = try reference.range(expression, start: 0, end: 18_000_000, step: 30_000)
            XCTAssertEqual(fast.count, 7, text)
            XCTAssertEqual(fast.map(\.labels), expected.map(\.labels), text)
            XCTAssertEqual(fast.map(\.timestamps), expected.map(\.timestamps), text)
            XCTAssertEqual(fast.flatMap(\.values).map(\.bitPattern), expected.flatMap(\.values).map(\.bitPattern), text)
        }
    }

    func testWorkersEachTakeTheirShare() {
        let slots = WorkerSlots<Int>(1000)
        Workers.run(4) { worker in
            for index in stride(from: worker, to: 1000, by: 4) { slots[index] = index * 2 }
        }
        XCTAssertEqual((0..<1000).compactMap { slots[$0] }, (0..<1000).map { $0 * 2 })
    }

    /// The helper threads `run` keeps serve one run after another, and a run within a run (which
    /// finds them busy and starts threads of its own), every worker's share done once.
    func testHelpersServeRunAfterRunAndRunsWithinRuns() {
        Workers.prepare()
        for round in 0..<200 {
            let workers = 1 + round % 3
            let slots = WorkerSlots<Int>(workers * 3)
            Workers.run(workers) { worker in
                Workers.run(3) { inner in slots[worker * 3 + inner] = round + worker * 3 + inner }
            }
            XCTAssertEqual((0..<(workers * 3)).map { slots[$0] }, (0..<(workers * 3)).map { round + $0 }, "round \(round)")
        }
    }
}

/// Queries reaching back before a store's raw samples: rollups stand in, stamped at the end of
/// their bucket, with the statistic the function needs.
final class RollupFillTests: XCTestCase {
    func testRollupsStandInWhereRawSamplesAreGone() throws {
        let start: Int64 = 1_704_067_200_000
        var lines = ""
        var points: [(Int64, Double)] = []
        for minute in 0..<(3 * 1440) {
            let time = start + Int64(minute) * 60_000
            let value = Double((minute * 37) % 101)
            points.append((time, value))
            lines += "x{a=\"1\"} \(value) \(time)\n"
            // y stops at 14:03 on the third day (raw samples kept), with a staleness marker 15 s later.
            if minute >= 2880 && minute <= 2880 + 14 * 60 + 3 { lines += "y 1 \(time)\n" }
        }
        lines += "y stale \(start + Int64(2880 + 14 * 60 + 3) * 60_000 + 15_000)\n"
        let directory = NSTemporaryDirectory() + "rollfill-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertEqual(try runTool("mstore", [directory], input: Data(lines.utf8)).status, 0)
        try "raw 1d\nrollup 5m 30d\n".write(toFile: directory + ".policy", atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: directory + ".policy") }
        let compacted = try runTool("mstore", ["compact", directory, "--policy", directory + ".policy"])
        XCTAssertEqual(compacted.status, 0, compacted.stderr)
        let reader = try StoreReader(directory: directory)
        XCTAssertGreaterThanOrEqual(reader.segments.map(\.minTime).min()!, start + 86_400_000, "the first day's raw samples are gone")

        let at = start + 10 * 3_600_000  // in the first day: rollups only
        let query = try runTool("mquery", ["-s", directory, "max_over_time(x[1h])", "--from", String(at / 1000), "--to", String(at / 1000),
                                           "--step", "1h", "--explain", "--raw"])
        XCTAssertEqual(query.status, 0, query.stderr)
        // Buckets ending within [at - 1h, at] hold the raw samples of [at - 65m, at).
        let expected = points.filter { $0.0 >= at - 3_900_000 && $0.0 < at }.map(\.1).max()!
        XCTAssertEqual(query.stdout, "{a=\"1\"} \(FloatFormatter.string(expected)) \(at)\n")
        XCTAssertTrue(query.stderr.contains("rollups (5m): 13 samples stand in where raw samples are gone"), query.stderr)

        // A step of five buckets or more reads the rollups where they exist, raw samples kept or
        // not, and says so; --raw keeps to raw samples where there are any.
        let kept = start + 36 * 3_600_000  // in the second day: raw samples and rollups
        let range = ["--from", String(kept / 1000), "--to", String(kept / 1000 + 7_200), "--step", "1h"]
        let rolled = try runTool("mquery", ["-s", directory, "x", "--explain"] + range)
        func value(_ minute: Int64) -> String { FloatFormatter.string(points[Int((minute - start) / 60_000)].1) }
        XCTAssertEqual(rolled.stdout, (0...2).map { "x{a=\"1\"} \(value(kept + Int64($0) * 3_600_000 - 60_000)) \(kept + Int64($0) * 3_600_000)\n" }.joined(),
                       "each step sees the last value of the 5m bucket ending there")
        // 26: the two hours and the 5m lookback before the first step.
        XCTAssertTrue(rolled.stderr.contains("26 samples of rollups up to 5m stand in for raw samples (the step and windows allow buckets up to 12m; --raw to read raw samples)"), rolled.stderr)
        let unrolled = try runTool("mquery", ["-s", directory, "x", "--explain", "--raw"] + range)
        XCTAssertEqual(unrolled.stdout, (0...2).map { "x{a=\"1\"} \(value(kept + Int64($0) * 3_600_000)) \(kept + Int64($0) * 3_600_000)\n" }.joined())
        XCTAssertTrue(unrolled.stderr.contains("rollups: none needed (raw samples cover the range)"), unrolled.stderr)
        // So does a window function whose window holds five buckets or more; a shorter window
        // reads raw samples, whatever the step.
        let wide = try runTool("mquery", ["-s", directory, "max_over_time(x[1h])"] + range)
        let wideExpected = points.filter { $0.0 >= kept - 3_900_000 && $0.0 < kept }.map(\.1).max()!
        XCTAssertTrue(wide.stdout.hasPrefix("{a=\"1\"} \(FloatFormatter.string(wideExpected)) \(kept)\n"), wide.stdout)
        let narrow = try runTool("mquery", ["-s", directory, "last_over_time(x[10m])"] + range)
        XCTAssertTrue(narrow.stdout.hasPrefix("x{a=\"1\"} \(value(kept)) \(kept)\n"), narrow.stdout)
        // A step spanning fewer than five buckets reads raw samples.
        let fine = try runTool("mquery", ["-s", directory, "x", "--from", String(kept / 1000), "--to", String(kept / 1000 + 600), "--step", "20m"])
        XCTAssertEqual(fine.stdout, "x{a=\"1\"} \(value(kept)) \(kept)\n")

        // Where raw samples remain, they answer, exactly.
        let late = start + 60 * 3_600_000
        let raw = try runTool("mquery", ["-s", directory, "max_over_time(x[1h])", "--at", String(late / 1000)])
        let rawExpected = points.filter { $0.0 >= late - 3_600_000 && $0.0 <= late }.map(\.1).max()!
        XCTAssertEqual(raw.stdout, "{a=\"1\"} \(FloatFormatter.string(rawExpected)) \(late)\n")
        // A count depends on how many samples there are: no stand-ins for it.
        let count = try runTool("mquery", ["-s", directory, "count_over_time(x[1h])", "--at", String(at / 1000)])
        XCTAssertEqual(count.stdout, "", "nothing rather than a count of buckets")
        // A series that went stale stays gone, though a rollup bucket stamped after it is in view.
        let afterStale = start + Int64(2880 + 14 * 60 + 8) * 60_000 + 30_000
        let gone = try runTool("mquery", ["-s", directory, "y", "--at", String(afterStale / 1000)])
        XCTAssertEqual(gone.stdout, "", "y went stale at 14:03:15")
        // An instant selector sees each bucket's last value from the end of the bucket on.
        let last = try runTool("mquery", ["-s", directory, "x", "--at", String(at / 1000)])
        let lastExpected = points.last { $0.0 < at }!.1
        XCTAssertEqual(last.stdout, "x{a=\"1\"} \(FloatFormatter.string(lastExpected)) \(at)\n")
        // With `@`, the reads are not limited in time (they start from the earliest time there is),
        // and rollups still stand in.
        let pinned = try runTool("mquery", ["-s", directory, "x @ \(at / 1000)", "--at", String(late / 1000)])
        XCTAssertEqual(pinned.stdout, "x{a=\"1\"} \(FloatFormatter.string(lastExpected)) \(late)\n", pinned.stderr)
        // A damaged rollup segment is named like a raw one, and the query exits with 1.
        let tier = try XCTUnwrap(try StoreLayout(directory: directory).segments(rollup: 300_000).first { $0.window == start })
        var bytes = try Data(contentsOf: URL(fileURLWithPath: tier.path))
        bytes[bytes.count - 60] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: tier.path))
        let damaged = try runTool("mquery", ["-s", directory, "max_over_time(x[1h])", "--at", String(at / 1000)])
        XCTAssertEqual(damaged.status, 1)
        XCTAssertTrue(damaged.stderr.contains(tier.path + ": damaged"), damaged.stderr)
    }
}
