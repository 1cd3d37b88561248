import Foundation
import XCTest
@testable import MetricLine

/// No byte sequence may crash a tool: every line is either accepted or reported with its number.
final class FuzzTests: XCTestCase {
    /// Mutations that break lines in the ways real input does.
    private func mutate(_ line: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var bytes = line
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<12, using: &random) {
            case 0 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes.insert(0, at: position)
            case 2: bytes.insert(contentsOf: [0xFF, 0xFE], at: position)                 // invalid UTF-8
            case 3: bytes.insert(contentsOf: [0xE2, 0x82], at: position)                 // truncated UTF-8
            case 4: bytes.insert(UInt8(ascii: "\""), at: position)                       // unterminated quote
            case 5: bytes = Array(bytes.prefix(position))                                // truncated line
            case 6: bytes.insert(UInt8(ascii: "\\"), at: position)
            case 7: bytes.insert(contentsOf: Array(" 1 2 3".utf8), at: position)
            case 8: bytes.insert(contentsOf: Array("{}\"=,".utf8).shuffled(using: &random), at: position)
            case 9: bytes.insert(UInt8(ascii: "\r"), at: position)
            case 10 where !bytes.isEmpty: bytes.remove(at: position)
            default: bytes.insert(contentsOf: Array("#e+-.x".utf8).shuffled(using: &random).prefix(2), at: position)
            }
        }
        return bytes.map { $0 == 0x0A ? 0x20 : $0 }  // keep it one line
    }

    /// Makes `count` lines: canonical lines of `format`, each mutated with probability 3/4.
    private func fuzzInput(format: SampleFormat, count: Int, seed: UInt64) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        var encoder = format.makeEncoder()
        var templates: [[UInt8]] = []
        while templates.count < 500 {
            var line: [UInt8] = []
            if encoder.encode(.sample(RandomSamples.sample(&random, nameStyle: format == .prometheus ? .any : .legacy)), into: &line), !line.isEmpty {
                line.removeLast()
                if !line.contains(0x0A) { templates.append(line) }
            }
        }
        var input: [UInt8] = []
        input.reserveCapacity(count * 80)
        for _ in 0..<count {
            let template = templates[Int.random(in: 0..<templates.count, using: &random)]
            input.append(contentsOf: Int.random(in: 0..<4, using: &random) == 0 ? template : mutate(template, &random))
            input.append(0x0A)
        }
        return input
    }

    private func withTemporaryFile<R>(_ bytes: [UInt8], _ body: (String) throws -> R) throws -> R {
        let path = NSTemporaryDirectory() + "metricline-fuzz-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    /// Feeds `input` through the reader and `decode`, and checks that every line came through
    /// at most once, in order, and that every line was accepted or counted as bad.
    private func checkEveryLineAccounted(_ input: [UInt8], expectedLines: Int, decode: (UnsafeBufferPointer<UInt8>) throws(LineError) -> Void) throws -> (accepted: Int, rejected: Int) {
        let diagnostics = Diagnostics(tool: "fuzz")
        diagnostics.printLimit = 0
        var accepted = 0
        var lastNumber = 0
        let lines = try withTemporaryFile(input) { path in
            try InputSource(path: path).forEachLine(diagnostics: diagnostics) { bytes, number throws(LineError) in
                XCTAssertGreaterThan(number, lastNumber)  // over-long lines never reach here
                lastNumber = number
                try decode(bytes)
                accepted += 1
            }
        }
        XCTAssertEqual(lines, expectedLines)
        XCTAssertEqual(accepted + diagnostics.badLines, expectedLines)
        return (accepted, diagnostics.badLines)
    }

    func testAMillionMutatedSampleLines() throws {
        let count = 1_000_000
        let input = fuzzInput(format: .prometheus, count: count, seed: 20)
        let decoder = SampleDecoder()
        var disagreements = 0
        let (accepted, rejected) = try checkEveryLineAccounted(input, expectedLines: count) { bytes throws(LineError) in
            // The fast path must agree with the authoritative parser on every line, good or bad.
            let full = Result { () throws(LineError) in try ExpositionParser.parse(bytes) }
            let fast = Result { () throws(LineError) in try decoder.decode(bytes) }
            switch (full, fast) {
            case (.failure, .failure): break
            case (.success(.sample(let parsed)), .success(.sample(let decoded))):
                let key = decoder.series.key(decoded.series)
                if Sample(name: key.name, labels: key.labels, value: decoded.value, timestamp: decoded.timestamp) != parsed { disagreements += 1 }
            case (.success(let parsed), .success(.other(let other))):
                if parsed != other { disagreements += 1 }
            default:
                disagreements += 1
            }
            _ = try fast.get()
        }
        XCTAssertEqual(disagreements, 0)
        XCTAssertGreaterThan(accepted, count / 4)
        XCTAssertGreaterThan(rejected, count / 4)
    }

    func testMutatedLinesOfEveryOtherFormat() throws {
        for (offset, format) in [SampleFormat.openMetrics, .influx, .graphite, .jsonLines, .csv].enumerated() {
            let count = 100_000
            let input = fuzzInput(format: format, count: count, seed: 30 + UInt64(offset))
            var decoder = format.makeDecoder()
            var records: [ExpositionLine] = []
            let (accepted, rejected) = try checkEveryLineAccounted(input, expectedLines: count) { bytes throws(LineError) in
                records.removeAll(keepingCapacity: true)
                try decoder.decode(bytes, into: &records)
            }
            XCTAssertGreaterThan(accepted, count / 10, "\(format)")
            XCTAssertGreaterThan(rejected, count / 10, "\(format)")
        }
    }

    func testHugeLinesAndEmptyStreams() throws {
        let decoder = SampleDecoder()
        // A 10 MB label value is still a line: read whole and parsed.
        var input = Array("big{v=\"".utf8) + Array(repeating: UInt8(ascii: "x"), count: 10 << 20) + Array("\"} 1 5\n".utf8)
        // A line over the 16 MiB limit is skipped without being held, and the next line still counts.
        input += Array(repeating: UInt8(ascii: "y"), count: 17 << 20) + [0x0A]
        input += Array("after 2 6".utf8)  // last line without a newline
        var values: [Double] = []
        let (accepted, rejected) = try checkEveryLineAccounted(input, expectedLines: 3) { bytes throws(LineError) in
            if case .sample(let sample) = try decoder.decode(bytes) { values.append(sample.value) }
        }
        XCTAssertEqual(accepted, 2)
        XCTAssertEqual(rejected, 1)
        XCTAssertEqual(values, [1, 2])
        XCTAssertEqual(decoder.series.key(0).labels.first?.value.utf8.count, 10 << 20)

        let empty = try checkEveryLineAccounted([], expectedLines: 0) { _ throws(LineError) in XCTFail("no line expected") }
        XCTAssertEqual(empty.accepted + empty.rejected, 0)
        let blankOnly = try checkEveryLineAccounted(Array("\n\n  \n".utf8), expectedLines: 3) { bytes throws(LineError) in
            _ = try decoder.decode(bytes)
        }
        XCTAssertEqual(blankOnly.accepted, 3)
    }

    func testLinesSplitAcrossReadsComeThroughWhole() throws {
        var random = SeededRandom(seed: 21)
        var expected: [[UInt8]] = []
        var input: [UInt8] = []
        for _ in 0..<2_000 {
            let line = (0..<Int.random(in: 0...90, using: &random)).map { _ in UInt8.random(in: 0x20...0x7E, using: &random) }
            expected.append(line)
            input += line + [0x0A]
        }
        try withTemporaryFile(input) { path in
            let descriptor = open(path, O_RDONLY)
            defer { close(descriptor) }
            var reader = LineReader(descriptor: descriptor, bufferSize: 16, maximumLineLength: 64)
            var index = 0
            reader.forEachLine { line, number in
                XCTAssertEqual(number, index + 1)
                switch line {
                case .text(let bytes): XCTAssertEqual(Array(bytes), expected[index])
                case .tooLong(let length):
                    XCTAssertGreaterThan(expected[index].count, 64)
                    XCTAssertEqual(length, expected[index].count)
                }
                index += 1
                return true
            }
            XCTAssertEqual(index, expected.count)
        }
    }
}
