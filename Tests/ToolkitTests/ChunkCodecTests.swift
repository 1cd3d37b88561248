import XCTest
@testable import MetricLine

final class ChunkCodecTests: XCTestCase {
    private func roundTrip(_ timestamps: [Int64], _ values: [Double], file: StaticString = #filePath, line: UInt = #line) -> Int {
        let encoded = ChunkCodec.encode(timestamps: timestamps, values: values)
        let decoded = encoded.withUnsafeBufferPointer { ChunkCodec.decode($0) }
        XCTAssertEqual(decoded.timestamps, timestamps, file: file, line: line)
        XCTAssertEqual(decoded.values.map(\.bitPattern), values.map(\.bitPattern), file: file, line: line)
        return encoded.count
    }

    func testEdgeCases() {
        _ = roundTrip([], [])
        _ = roundTrip([5], [1.5])
        _ = roundTrip([-5, 7], [-0.0, 0])
        _ = roundTrip([1, 2, 3, 4], [.nan, StaleMarker.value, .infinity, -.infinity])
        _ = roundTrip([1, 2, 3, 4], [1, StaleMarker.value, 3, 4])
        _ = roundTrip([.min, 0, .max], [Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude, Double(bitPattern: 1)])
        _ = roundTrip([1, 2, 3], [9_007_199_254_740_992, 0.1, 1e-300])
        _ = roundTrip([1, 2, 3], [4_503_599_627_370_497, 0.5, 3])  // fits with 0 places, not with 1
        _ = roundTrip([0, 10, 20, 31, 40], [1, 2, 3, 4, 5])
    }

    func testRegularSeriesCostAlmostNothing() {
        let timestamps = (0..<5_760).map { 1_704_067_200_000 + Int64($0) * 15_000 }
        XCTAssertLessThan(roundTrip(timestamps, Array(repeating: 42, count: timestamps.count)), 40)
        let counter = (0..<timestamps.count).map { Double($0 * 100) }
        XCTAssertLessThan(roundTrip(timestamps, counter), 60)
        let kilobytes = (0..<timestamps.count).map { Double(1024 * (1_000_000 + ($0 * 7919) % 13)) }
        XCTAssertLessThan(roundTrip(timestamps, kilobytes), 5_760 * 3 / 8 + 100, "13 values after the factor of 1024: under 3 bits each")
    }

    func testRandomSeriesRoundTrip() {
        var random = SeededRandom(seed: 40)
        for round in 0..<2_000 {
            let count = Int.random(in: 1...600, using: &random)
            var timestamps: [Int64] = []
            var time = Int64.random(in: -1_000_000...2_000_000_000_000, using: &random)
            for _ in 0..<count {
                time += Int64.random(in: 1...(round % 3 == 0 ? 15_000 : 2), using: &random)
                timestamps.append(time)
            }
            var values: [Double] = []
            var value = Double(Int.random(in: -1_000_000...1_000_000, using: &random)) / 100
            for _ in 0..<count {
                switch round % 4 {
                case 0: value += Double(Int.random(in: 0...300, using: &random)) / 100
                case 1: value = RandomSamples.value(&random, style: .any)
                case 2: value += Double.random(in: 0...5, using: &random)
                default: value = Double(Int.random(in: 0...3, using: &random) * 4096)
                }
                values.append(value)
            }
            _ = roundTrip(timestamps, values)
        }
    }

    func testDamagedChunksNeverCrash() {
        var random = SeededRandom(seed: 41)
        let timestamps = (0..<500).map { Int64($0) * 15_000 }
        let values = (0..<500).map { Double($0) * 1.25 }
        let encoded = ChunkCodec.encode(timestamps: timestamps, values: values)
        for _ in 0..<5_000 {
            var damaged = encoded
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                damaged[Int.random(in: 0..<damaged.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { damaged = Array(damaged.prefix(Int.random(in: 0...damaged.count, using: &random))) }
            let decoded = damaged.withUnsafeBufferPointer { ChunkCodec.decode($0) }
            XCTAssertEqual(decoded.timestamps.count, decoded.values.count)
            XCTAssertLessThanOrEqual(decoded.timestamps.count, ChunkCodec.maximumSamples)
        }
    }
}
