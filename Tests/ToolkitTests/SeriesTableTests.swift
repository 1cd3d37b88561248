import XCTest
@testable import MetricLine

final class SeriesTableTests: XCTestCase {
    private func decode(_ decoder: SampleDecoder, _ line: String) throws -> DecodedLine {
        try line.withBytes { bytes in try decoder.decode(bytes) }
    }

    func testSpellingsOfOneSeriesShareAnID() throws {
        let decoder = SampleDecoder()
        let lines = [
            #"x{b="2",a="1"} 1 10"#, #"x{a="1",b="2"} 2 20"#, #"x { a="1", b="2", } 3"#, #"{__name__="x",b="2",a="1",c=""} 4 40"#,
            #"x{a="1",b="2"} 5 50"#, #"x{b="2",a="1"} 6 60"#,
        ]
        var ids = Set<SeriesID>()
        for line in lines {
            guard case .sample(let decoded) = try decode(decoder, line) else { return XCTFail(line) }
            ids.insert(decoded.series)
        }
        XCTAssertEqual(ids, [0])
        XCTAssertEqual(decoder.series.count, 1)
        let canonical = decoder.series.withCanonicalKey(0) { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(canonical, #"x{a="1",b="2"}"#)
        XCTAssertEqual(decoder.series.key(0).labels, [Label("a", "1"), Label("b", "2")])
    }

    func testFastPathSplitsFromTheEnd() throws {
        let decoder = SampleDecoder()
        _ = try decode(decoder, #"m{a="x 5 6"} 1 2"#)
        _ = try decode(decoder, "m 1 2")
        // Known keys now: the fast path must still read values and timestamps right.
        XCTAssertEqual(try decode(decoder, #"m{a="x 5 6"} 7"#), .sample(DecodedSample(series: 0, value: 7, timestamp: nil)))
        XCTAssertEqual(try decode(decoder, #"m{a="x 5 6"} 7 8"#), .sample(DecodedSample(series: 0, value: 7, timestamp: 8)))
        XCTAssertEqual(try decode(decoder, "m 9"), .sample(DecodedSample(series: 1, value: 9, timestamp: nil)))
        XCTAssertEqual(try decode(decoder, "m  9 \t 10 "), .sample(DecodedSample(series: 1, value: 9, timestamp: 10)))
        XCTAssertEqual(try decode(decoder, "m stale 11"), .sample(DecodedSample(series: 1, value: StaleMarker.value, timestamp: 11)))
        XCTAssertThrowsError(try decode(decoder, "m 1 2 3"))
        XCTAssertThrowsError(try decode(decoder, "m x"))
        XCTAssertThrowsError(try decode(decoder, "m 1 x"))
        XCTAssertThrowsError(try decode(decoder, "m"))
        XCTAssertEqual(try decode(decoder, "# TYPE m gauge"), .other(.type(metric: "m", type: .gauge)))
    }

    /// Whatever the fast path answers must be what the full parser answers, line for line.
    func testFastPathAgreesWithTheFullParser() throws {
        var random = SeededRandom(seed: 5)
        let decoder = SampleDecoder()
        var pool: [Sample] = (0..<300).map { _ in RandomSamples.sample(&random, nameStyle: .any) }
        for round in 0..<30_000 {
            var sample = pool[Int.random(in: 0..<pool.count, using: &random)]
            sample.value = RandomSamples.value(&random, style: .any)
            sample.timestamp = Bool.random(using: &random) ? Int64(round) : nil
            var line = ExpositionWriter.line(sample)
            if round % 7 == 0 { line = "  " + line.replacingOccurrences(of: " ", with: " \t ") }
            let expected = try ExpositionParser.parse(line)
            let decoded = try decode(decoder, line)
            guard case .sample(let parsed) = expected, case .sample(let fast) = decoded else { return XCTFail(line) }
            let key = decoder.series.key(fast.series)
            XCTAssertEqual(Sample(name: key.name, labels: key.labels, value: fast.value, timestamp: fast.timestamp), parsed, line)
            if round % 100 == 0 { pool.append(RandomSamples.sample(&random, nameStyle: .any)) }
        }
    }

    func testTableGrowsPastItsFirstSize() throws {
        let decoder = SampleDecoder()
        for index in 0..<5_000 { _ = try decode(decoder, "m{i=\"\(index)\"} 1") }
        for index in 0..<5_000 {
            XCTAssertEqual(try decode(decoder, "m{i=\"\(index)\"} 2"), .sample(DecodedSample(series: SeriesID(index), value: 2, timestamp: nil)))
        }
        XCTAssertEqual(decoder.series.count, 5_000)
    }
}
