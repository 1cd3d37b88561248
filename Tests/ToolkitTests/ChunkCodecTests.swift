import XCTest
@testable import MetricLine

final class ChunkCodecTests: XCTestCase {
    /// Codes and decodes in every format (segments of format 1 are still read); returns the size
    /// in the current one.
    private func roundTrip(_ timestamps: [Int64], _ values: [Double], file: StaticString = #filePath, line: UInt = #line) -> Int {
        var size = 0
        for format in 1...ChunkCodec.currentFormat {
            let encoded = ChunkCodec.encode(timestamps: timestamps, values: values, format: format)
            let decoded = encoded.withUnsafeBufferPointer { ChunkCodec.decode($0, format: format) }
            XCTAssertEqual(decoded.timestamps, timestamps, "format \(format)", file: file, line: line)
            XCTAssertEqual(decoded.values.map(\.bitPattern), values.map(\.bitPattern), "format \(format)", file: file, line: line)
            size = encoded.count
        }
        return size
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
        // Bit patterns whose residuals jump between short and long lengths.
        let lengths = [0, 63, 0, 1, 62, 61, 0, 5, 4, 8, 3, 60, 56, 63, 1, 2, 6, 7, 11, 33, 0, 63, 59, 58, 62, 57]
        _ = roundTrip(Array(0..<Int64(lengths.count)), lengths.map { Double(bitPattern: $0 == 0 ? 0 : 1 << UInt64($0)) })
    }

    /// The integer model alone, on residuals whose lengths move by every distance in both
    /// directions, including Int64.min, in every format.
    func testIntegerModelCodesEveryLengthChange() {
        var random = SeededRandom(seed: 42)
        var integers: [Int64] = [0, .min, 0, .max, -1, 1, .min, .max, 0, 0, 7, -8]
        var walk = 20
        for round in 0..<40_000 {
            // Half of them far apart, half a random walk of lengths that moves by a few bits.
            walk = min(max(walk + Int.random(in: -5...5, using: &random), 0), 63)
            let length = round % 2 == 0 ? Int.random(in: 0...63, using: &random) : walk
            let magnitude = length == 0 ? 0 : Int64.random(in: (1 << (length - 1))...(length == 63 ? .max : (1 << length) - 1), using: &random)
            integers.append(Bool.random(using: &random) ? magnitude : -magnitude)
        }
        for format in 1...ChunkCodec.currentFormat {
            var encoder = RangeEncoder(format: format)
            let model = IntegerModel(format: format)
            for integer in integers { model.encode(integer, &encoder) }
            encoder.finish()
            let bytes = encoder.bytes
            let decoded = bytes.withUnsafeBufferPointer { buffer in
                var decoder = RangeDecoder(buffer, format: format)
                let reader = IntegerModel(format: format)
                return integers.map { _ in reader.decode(&decoder) }
            }
            XCTAssertEqual(decoded, integers, "format \(format)")
        }
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
        for format in 1...ChunkCodec.currentFormat {
        let encoded = ChunkCodec.encode(timestamps: timestamps, values: values, format: format)
        for _ in 0..<5_000 {
            var damaged = encoded
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                damaged[Int.random(in: 0..<damaged.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { damaged = Array(damaged.prefix(Int.random(in: 0...damaged.count, using: &random))) }
            let decoded = damaged.withUnsafeBufferPointer { ChunkCodec.decode($0, format: format) }
            XCTAssertEqual(decoded.timestamps.count, decoded.values.count)
            XCTAssertLessThanOrEqual(decoded.timestamps.count, ChunkCodec.maximumSamples)
        }
        }
    }

    /// Residuals through the table code alone: every bit length and sign, Int64.min and max,
    /// one symbol only, and skewed and flat distributions.
    func testResidualTableRoundTrip() {
        var random = SeededRandom(seed: 42)
        var cases: [[Int64]] = [[0], [Int64.min], [Int64.max, Int64.min, 0, -1, 1], Array(repeating: 7, count: 1_000)]
        cases.append((0..<64).flatMap { length -> [Int64] in
            let magnitude: UInt64 = length == 0 ? 0 : (1 << UInt64(length - 1)) | UInt64.random(in: 0...UInt64.max, using: &random) >> UInt64(65 - length)
            return [Int64(bitPattern: magnitude), 0 &- Int64(bitPattern: magnitude)]
        })
        for _ in 0..<300 {
            let spread = Int64(1) << Int64.random(in: 0...62, using: &random)
            cases.append((0..<Int.random(in: 1...2_000, using: &random)).map { _ in
                Bool.random(using: &random) ? Int64.random(in: -spread...spread, using: &random) : Int64.random(in: -3...3, using: &random)
            })
        }
        for residuals in cases {
            var encoder = RangeEncoder(format: 3)
            let tail = ResidualTable.encode(residuals, &encoder)
            encoder.finish()
            let chunk = encoder.bytes + tail
            let decoded = chunk.withUnsafeBufferPointer { buffer -> [Int64]? in
                var decoder = RangeDecoder(buffer, format: 3)
                guard var table = ResidualTable.Decoder(&decoder, chunk: buffer) else { return nil }
                return residuals.map { _ in table.next() }
            }
            XCTAssertEqual(decoded, residuals)
        }
    }

    /// Format 3 codes the residuals of chunks with at least `tableMinimum` of them with a table:
    /// read back exactly (also when stopping early), and for noisy counters within a few percent
    /// of format 2's size; shorter chunks keep the adaptive coder.
    func testNoisyChunksTakeTheTable() {
        var random = SeededRandom(seed: 43)
        let timestamps = (0..<1_440).map { 1_704_067_200_000 + Int64($0) * 15_000 }
        var tables = 0
        for round in 0..<50 {
            var value = Double(Int.random(in: 0...1_000_000, using: &random)) / 100
            let values = timestamps.map { _ in
                value += Double(Int.random(in: 0...(round + 1) * 1_000, using: &random)) / 100
                return value
            }
            let formatTwo = ChunkCodec.encode(timestamps: timestamps, values: values, format: 2)
            let formatThree = ChunkCodec.encode(timestamps: timestamps, values: values, format: 3)
            let decoded = formatThree.withUnsafeBufferPointer { ChunkCodec.decode($0, format: 3) }
            XCTAssertEqual(decoded.timestamps, timestamps)
            XCTAssertEqual(decoded.values.map(\.bitPattern), values.map(\.bitPattern))
            XCTAssertLessThanOrEqual(formatThree.count * 100, formatTwo.count * 105 + 16 * 100)
            if ChunkCodec.codesResidualsWithTable(formatThree) { tables += 1 }
            // Reading stops early as well.
            let limit = timestamps[700]
            let partial = formatThree.withUnsafeBufferPointer { ChunkCodec.decode($0, through: limit, format: 3) }
            XCTAssertEqual(partial.values.map(\.bitPattern), values.prefix(701).map(\.bitPattern))
        }
        XCTAssertEqual(tables, 50, "chunks of 1,440 samples are coded with a table")
        // A chunk one residual short of the minimum keeps the adaptive coder, one at it not.
        for count in [ChunkCodec.tableMinimum, ChunkCodec.tableMinimum + 1] {
            let values = (0..<count).map { Double($0 * $0) }
            let encoded = ChunkCodec.encode(timestamps: Array(timestamps.prefix(count)), values: values, format: 3)
            XCTAssertEqual(ChunkCodec.codesResidualsWithTable(encoded), count > ChunkCodec.tableMinimum, "\(count) samples")
            XCTAssertEqual(encoded.withUnsafeBufferPointer { ChunkCodec.decode($0, format: 3) }.values, values)
        }
    }

    func testDamagedTableChunksNeverCrash() {
        var random = SeededRandom(seed: 44)
        let timestamps = (0..<700).map { Int64($0) * 15_000 }
        var value = 0.0
        let values = timestamps.map { _ in
            value += Double(Int.random(in: 0...50_000, using: &random)) / 100
            return value
        }
        let encoded = ChunkCodec.encode(timestamps: timestamps, values: values, format: 3)
        XCTAssertTrue(ChunkCodec.codesResidualsWithTable(encoded))
        for _ in 0..<20_000 {
            var damaged = encoded
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                // Mostly in the range-coded part, where the table and the lengths are.
                let place = Bool.random(using: &random) ? Int.random(in: 0..<min(64, damaged.count), using: &random) : Int.random(in: 0..<damaged.count, using: &random)
                damaged[place] = UInt8.random(in: 0...255, using: &random)
            }
            if Int.random(in: 0..<4, using: &random) == 0 { damaged = Array(damaged.prefix(Int.random(in: 0...damaged.count, using: &random))) }
            let decoded = damaged.withUnsafeBufferPointer { ChunkCodec.decode($0, format: 3) }
            XCTAssertEqual(decoded.timestamps.count, decoded.values.count)
        }
    }
}
