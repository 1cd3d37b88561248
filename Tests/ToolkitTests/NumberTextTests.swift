import Foundation
import XCTest
@testable import MetricLine

final class NumberTextTests: XCTestCase {
    private func parse(_ text: String) -> Double? { text.withBytes { FloatParser.parse($0) } }

    func testParsesGoFloatSyntax() {
        XCTAssertEqual(parse("12"), 12)
        XCTAssertEqual(parse("-3.5"), -3.5)
        XCTAssertEqual(parse("+1"), 1)
        XCTAssertEqual(parse("1.458255915e9"), 1.458255915e9)
        XCTAssertEqual(parse(".5"), 0.5)
        XCTAssertEqual(parse("5."), 5)
        XCTAssertEqual(parse("1E3"), 1000)
        XCTAssertEqual(parse("+Inf"), .infinity)
        XCTAssertEqual(parse("-inf"), -.infinity)
        XCTAssertEqual(parse("Infinity"), .infinity)
        XCTAssertEqual(parse("-INFINITY"), -.infinity)
        XCTAssertTrue(parse("NaN")!.isNaN)
        XCTAssertTrue(parse("nan")!.isNaN)
        XCTAssertEqual(parse("1e-400"), 0)
        XCTAssertEqual(parse("-0")?.sign, .minus)
        XCTAssertEqual(parse("0.000000000000000000000000001"), 1e-27)
        XCTAssertEqual(parse("123456789012345678901234567890"), 123456789012345678901234567890.0)
    }

    func testRejectsWhatPrometheusRejects() {
        for text in ["", "+", "-", ".", "e5", "1e", "1e+", "1.2.3", "1_000", "0x10", "0x", "0x1p-2", "0x1.8P3", "+NaN", "infx", "Infinit", "1 ", " 1", "1e400", "-1e400", "0x1p", "abc", "1,5", "--1"] {
            XCTAssertNil(parse(text), "should reject '\(text)'")
        }
    }

    func testParsingMatchesStrtodOnRandomDecimals() {
        var random = SeededRandom(seed: 1)
        for _ in 0..<200_000 {
            let digits = Int.random(in: 1...20, using: &random)
            var text = Bool.random(using: &random) ? "-" : ""
            let point = Int.random(in: 0...digits, using: &random)
            for index in 0..<digits {
                if index == point && index > 0 { text += "." }
                text += String(Int.random(in: 0...9, using: &random))
            }
            if Int.random(in: 0..<4, using: &random) == 0 { text += "e\(Int.random(in: -330...310, using: &random))" }
            let expected = strtod(text, nil)
            let parsed = parse(text)
            if expected.isInfinite {
                XCTAssertNil(parsed, text)
            } else {
                XCTAssertEqual(parsed?.bitPattern, expected.bitPattern, text)
            }
        }
    }

    func testIntegerTimestamps() {
        func int(_ text: String) -> Int64? { text.withBytes { IntegerParser.parseInt64($0) } }
        XCTAssertEqual(int("1712345678000"), 1_712_345_678_000)
        XCTAssertEqual(int("-5"), -5)
        XCTAssertEqual(int("+5"), 5)
        XCTAssertEqual(int("9223372036854775807"), .max)
        XCTAssertEqual(int("-9223372036854775808"), .min)
        XCTAssertNil(int("9223372036854775808"))
        XCTAssertNil(int("1.5"))
        XCTAssertNil(int(""))
        XCTAssertNil(int("-"))
        XCTAssertNil(int("1e3"))
    }

    func testCanonicalNumberText() {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "-0"), (1, "1"), (-1, "-1"), (1.5, "1.5"), (0.1, "0.1"), (100, "100"),
            (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.5e300, "1.5e+300"), (1e-6, "0.000001"),
            (1e-7, "1e-7"), (1.2345e-7, "1.2345e-7"), (123.456, "123.456"), (0.3, "0.3"), (2.0 / 3.0, "0.6666666666666666"),
            (Double(9_007_199_254_740_993 as Int64), "9007199254740992"), (1_458_255_915, "1458255915"), (12345.67, "12345.67"),
            (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"), (Double(bitPattern: 1), "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        ]
        for (value, text) in cases {
            XCTAssertEqual(FloatFormatter.string(value), text, "\(value)")
        }
    }

    /// The fast path for short decimals must print exactly what the general shortest path prints.
    func testFastPathAgreesWithShortestDigits() {
        var random = SeededRandom(seed: 2)
        var checked = 0
        for _ in 0..<300_000 {
            let value: Double
            switch Int.random(in: 0..<3, using: &random) {
            case 0: value = Double(Int.random(in: -10_000_000...10_000_000, using: &random)) / [10.0, 100, 1000, 1e4, 1e6][Int.random(in: 0..<5, using: &random)]
            case 1: value = Double(bitPattern: random.next())
            default: value = Double.random(in: -1e6...1e6, using: &random)
            }
            guard value.isFinite, value != value.rounded(.towardZero) else { continue }
            guard let fast = written({ FloatFormatter.writeFewDecimals(value, to: $0) }) else { continue }
            var digits = Digits()
            digits.readShortest(value)
            XCTAssertEqual(fast, written { digits.write(negative: value < 0, to: $0) }, "\(value)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 50_000)
    }

    /// The exact shortest digits agree with the standard library's shortest formatting on
    /// random doubles across the range it serves, on neighbours of powers of two and ten, and on
    /// values whose shortest form is short.
    func testShortestDigitsAgreeWithTheStandardLibrary() {
        var random = SeededRandom(seed: 4)
        var values: [Double] = []
        for _ in 0..<400_000 {
            switch Int.random(in: 0..<4, using: &random) {
            case 0: values.append(Double.random(in: 1e-6...1e-3, using: &random))
            case 1: values.append(Double.random(in: 0...1e6, using: &random))
            case 2: values.append(Double(bitPattern: UInt64.random(in: (1e-6).bitPattern...(9e15).bitPattern, using: &random)))
            default: values.append(Double(Int.random(in: 1...99_999, using: &random)) / 1e4 + Double(Int.random(in: 0...9, using: &random)) * 1e-9)
            }
        }
        for exponent in -19...52 {
            let power = Double(sign: .plus, exponent: exponent, significand: 1)
            values += [power, power.nextUp, power.nextDown, power.nextUp.nextUp]
        }
        for exponent in -6...15 {
            let power = Double("1e\(exponent)")!
            values += [power.nextUp, power.nextDown, power * 1.5, (power * 1.5).nextUp]
        }
        values += [0.1 + 0.2, 1.0 / 3.0, 2.0 / 3.0, 1e-6, 4_503_599_627_370_495.5, 4_503_599_627_370_496.0.nextDown]
        var checked = 0
        for value in values {
            guard let exact = FloatFormatter.shortestDecimal(value) else { continue }
            var reference = Digits()
            reference.readShortest(value)
            let mine = written { FloatFormatter.writeDecimal(exact.digits, places: exact.places, negative: false, to: $0) }
            XCTAssertEqual(mine, written { reference.write(negative: false, to: $0) }, "\(value.bitPattern)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 350_000)
    }

    /// Every double written and read back has the same bits.
    func testRoundTripsEveryBitPattern() {
        var random = SeededRandom(seed: 3)
        for _ in 0..<300_000 {
            let value = Double(bitPattern: random.next())
            let text = FloatFormatter.string(value)
            let back = text.withBytes { FloatParser.parse($0) }
            if value.isNaN {
                XCTAssertTrue(back?.isNaN ?? false)
            } else {
                XCTAssertEqual(back?.bitPattern, value.bitPattern, text)
            }
        }
    }

    func testIntegerFormatting() {
        var random = SeededRandom(seed: 5)
        let randoms = (0..<20_000).map { _ in Int64(bitPattern: random.next()) >> Int64.random(in: 0...63, using: &random) }
        for value: Int64 in [0, 7, -7, 10, 99, 100, -100, 101, 1_700_000_000_000, .max, .min] + randoms {
            var bytes: [UInt8] = []
            IntegerFormatter.append(value, to: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), String(value))
        }
        var edges: [UInt64] = [0, 1, .max, .max - 1]
        for power in IntegerFormatter.powersOfTen { edges += [power - 1, power, power + 1] }
        for value in edges + randoms.map(\.magnitude) {
            XCTAssertEqual(IntegerFormatter.digitCount(value), String(value).count, "\(value)")
        }
    }

    /// A range result in JSON writes each point's time as seconds and its value as Go does,
    /// whatever the value (those Go writes in full, hundreds of digits long, among the rest, at
    /// block edges too), and series after series on both processors stay in order.
    func testRangeJSONWritesEveryPointAsGoDoes() throws {
        var random = SeededRandom(seed: 31)
        let awkward: [Double] = [1e-7, -1e-300, 1e21, -2.5e300, .nan, .infinity, -.infinity, -0.0, 0, 1e-6, 0.6116666666666667, 9_007_199_254_740_994]
        var series: [RangeSeries] = []
        for number in 0..<5 {
            var timestamps: [Int64] = [], values: [Double] = []
            var time = Int64.random(in: -5_000...5_000, using: &random)
            for index in 0..<(number == 0 ? 3 : 1_500) {
                time += Int64.random(in: 1...2_500, using: &random)
                timestamps.append(time)
                values.append(index == 511 || index == 512 || Int.random(in: 0..<8, using: &random) == 0
                              ? awkward.randomElement(using: &random)!
                              : Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &random)))
            }
            series.append(RangeSeries(labels: LabelSet(ExpositionParser.SeriesKey(name: "m", labels: [Label("n", "\(number)")])),
                                      timestamps: timestamps, values: values))
        }
        var bytes: [UInt8] = []
        ResultWriter.range(series, format: .json, to: &bytes)
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let result = try XCTUnwrap(parsed["result"] as? [[String: Any]])
        XCTAssertEqual(result.count, series.count)
        for (one, written) in zip(series, result) {
            XCTAssertEqual((written["metric"] as? [String: String])?["n"], one.labels.value(of: "n"))
            let points = try XCTUnwrap(written["values"] as? [[Any]])
            XCTAssertEqual(points.count, one.values.count)
            for (index, point) in points.enumerated() {
                XCTAssertEqual(point[1] as? String, Evaluator.goFormat(one.values[index]), "point \(index)")
                // Both the nearest double to the decimal written.
                XCTAssertEqual((point[0] as? NSNumber)?.doubleValue, Double(one.timestamps[index]) / 1000, "point \(index)")
            }
        }
    }

    /// Sample lines and CSV rows of a range result, written a series at a time, are the rows
    /// written one by one (as an instant query's range vector is): named and unnamed series,
    /// labels that need quoting, staleness markers and awkward values.
    func testRangeRowsAreTheRowsWrittenOneByOne() {
        var random = SeededRandom(seed: 32)
        let awkward: [Double] = [StaleMarker.value, .nan, .infinity, -0.0, 1e-7, 1e21, 0.1, -2.5]
        let labelSets: [LabelSet] = [
            [Label("__name__", "up"), Label("job", "node")],
            [Label("instance", "a,b \"c\"\nd"), Label("mode", "idle")],
            [],
            [Label("__name__", "odd name"), Label("le", "+Inf")],
        ]
        let series = labelSets.map { labels in
            var time = Int64.random(in: -100_000...100_000, using: &random)
            var timestamps: [Int64] = [], values: [Double] = []
            for _ in 0..<700 {
                time += Int64.random(in: 1...60_000, using: &random)
                timestamps.append(time)
                values.append(Bool.random(using: &random) ? awkward.randomElement(using: &random)! : Double(bitPattern: random.next()))
            }
            return RangeSeries(labels: labels, timestamps: timestamps, values: values)
        }
        for format in [ResultWriter.Format.lines, .csv] {
            var together: [UInt8] = [], oneByOne: [UInt8] = []
            ResultWriter.range(series, format: format, to: &together)
            ResultWriter.instant(.matrix(series), at: 0, format: format, to: &oneByOne)
            XCTAssertEqual(String(decoding: together, as: UTF8.self), String(decoding: oneByOne, as: UTF8.self), "\(format)")
            XCTAssertGreaterThan(together.count, 2_000)
        }
    }

    /// The text a pointer writer puts down (nil when it declines), given `FloatFormatter.longest` bytes of room.
    private func written(_ write: (UnsafeMutablePointer<UInt8>) -> Int?) -> String? {
        let room = UnsafeMutablePointer<UInt8>.allocate(capacity: FloatFormatter.longest)
        defer { room.deallocate() }
        guard let count = write(room) else { return nil }
        XCTAssertLessThanOrEqual(count, FloatFormatter.longest)
        return String(decoding: UnsafeBufferPointer(start: room, count: count), as: UTF8.self)
    }
}
