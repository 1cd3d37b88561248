/// Writes doubles in the canonical form of the sample line: the shortest digits that read back
/// to the same bits, laid out as JavaScript's `Number.prototype.toString` does (plain decimals from
/// 1e-7 to 1e21, exponents outside), with `NaN`, `+Inf`, `-Inf` and `-0` spelled out.
///
/// The same value always gives the same bytes, so `sort | uniq` works on written lines.
public enum FloatFormatter {
    /// Appends the canonical text of `value` to `output`.
    @inlinable
    public static func append(_ value: Double, to output: inout [UInt8]) {
        // Fast path: integers below 2^53 are exact, and their shortest digits are their digits.
        if value == value.rounded(.towardZero), abs(value) < 9_007_199_254_740_992 {
            if value == 0 && value.sign == .minus {
                output.append(UInt8(ascii: "-"))
                output.append(UInt8(ascii: "0"))
                return
            }
            IntegerFormatter.append(Int64(value), to: &output)
            return
        }
        appendNonIntegral(value, to: &output)
    }

    /// The canonical text of `value` as a String.
    public static func string(_ value: Double) -> String {
        var bytes: [UInt8] = []
        append(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @usableFromInline
    static func appendNonIntegral(_ value: Double, to output: inout [UInt8]) {
        if value.isNaN {
            output.append(contentsOf: [0x4E, 0x61, 0x4E])  // NaN
            return
        }
        if value.isInfinite {
            output.append(contentsOf: value < 0 ? [0x2D, 0x49, 0x6E, 0x66] : [0x2B, 0x49, 0x6E, 0x66])  // -Inf / +Inf
            return
        }
        if appendFewDecimals(value, to: &output) { return }
        var digits = Digits()
        digits.readShortest(value)
        digits.append(negative: value < 0, to: &output)
    }

    /// Fast path for values with a few decimal places (12.5, 0.25, 1234.567): finds the fewest places
    /// `k` such that the integer `m` nearest to value·10^k gives back `value` as m / 10^k. With m and
    /// 10^k exact, the division is correctly rounded, so the decimal m·10^-k reads back to `value`;
    /// the fewest places give the fewest digits, as the shortest algorithm would. Returns false when
    /// it does not apply (tests compare it with the general path).
    ///
    /// One test decides, at the most places p ≤ 8 that keep value·10^p below 2^51: if m / 10^k
    /// reads back as `value` for some k ≤ p, the product value·10^p is within 2^51·2^-52 = 1/2 of
    /// the integer m·10^(p-k), so it rounds to it, and that integer without its trailing zeros is
    /// m. Values with more places (most results of `rate`) cost one test, not eight.
    @usableFromInline
    static func appendFewDecimals(_ value: Double, to output: inout [UInt8]) -> Bool {
        let magnitude = abs(value)
        guard magnitude >= 1e-6, magnitude < 1e15 else { return false }
        let limit = 2_251_799_813_685_248.0  // 2^51
        var places = 8
        while places > 1 && magnitude * FloatParser.exactPowersOfTen[places] >= limit { places -= 1 }
        let power = FloatParser.exactPowersOfTen[places]
        // Adding and taking away 2^52 rounds a number below 2^51 to the nearest integer, without a
        // call into libm.
        let scaled = (magnitude * power + 4_503_599_627_370_496.0) - 4_503_599_627_370_496.0
        guard scaled < limit, scaled / power == magnitude else { return false }
        var integer = UInt64(scaled)
        while places > 0 && integer % 10 == 0 {
            integer /= 10
            places -= 1
        }
        var digits = Digits()
        digits.load(integer)
        digits.pointPosition = digits.count - places
        digits.append(negative: value < 0, to: &output)
        return true
    }
}

/// The decimal digits of a number and where its point goes: value = 0.d1d2…dk × 10^pointPosition.
@usableFromInline
struct Digits {
    /// The significant digits as ASCII, most significant first; at most 17 for a double.
    @usableFromInline var storage: (UInt64, UInt64, UInt64) = (0, 0, 0)
    /// How many digits of `storage` are in use.
    @usableFromInline var count = 0
    /// The number of digits before the decimal point (may be zero or negative).
    @usableFromInline var pointPosition = 0

    @usableFromInline init() {}

    @usableFromInline
    subscript(index: Int) -> UInt8 {
        get { withUnsafeBytes(of: storage) { $0[index] } }
        set { withUnsafeMutableBytes(of: &storage) { $0[index] = newValue } }
    }

    /// Loads the decimal digits of `integer` (trailing zeros dropped, point after the last digit).
    @usableFromInline
    mutating func load(_ integer: UInt64) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var length = 0
        var rest = integer
        withUnsafeMutableBytes(of: &scratch) { bytes in
            repeat {
                bytes[length] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                length += 1
            } while rest > 0
        }
        count = length
        pointPosition = length
        withUnsafeBytes(of: scratch) { bytes in
            for index in 0..<length { self[index] = bytes[length - 1 - index] }
        }
        while count > 1 && self[count - 1] == UInt8(ascii: "0") { count -= 1 }
    }

    /// Reads the shortest round-trip digits from the standard library's own shortest formatting.
    mutating func readShortest(_ value: Double) {
        // `description` prints the shortest digits that round-trip (e.g. "1.2345e-07", "0.1", "123.0").
        var description = abs(value).description
        description.withUTF8 { readShortest($0) }
    }

    private mutating func readShortest(_ text: UnsafeBufferPointer<UInt8>) {
        count = 0
        pointPosition = 0
        var exponent = 0
        var sawPoint = false
        var leadingZeros = true
        var position = 0
        while position < text.count {
            let byte = text[position]
            position += 1
            if byte == UInt8(ascii: ".") {
                sawPoint = true
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                var negativeExponent = false
                while position < text.count {
                    let next = text[position]
                    position += 1
                    if next == UInt8(ascii: "-") { negativeExponent = true } else if next != UInt8(ascii: "+") {
                        exponent = exponent * 10 + Int(next - UInt8(ascii: "0"))
                    }
                }
                if negativeExponent { exponent = -exponent }
                break
            } else if leadingZeros && byte == UInt8(ascii: "0") {
                if sawPoint { pointPosition -= 1 }
            } else {
                leadingZeros = false
                self[count] = byte
                count += 1
                if !sawPoint { pointPosition += 1 }
            }
        }
        while count > 1 && self[count - 1] == UInt8(ascii: "0") { count -= 1 }
        pointPosition += exponent
    }

    /// Appends the digits laid out as JavaScript's Number-to-String does.
    @usableFromInline
    func append(negative: Bool, to output: inout [UInt8]) {
        if negative { output.append(UInt8(ascii: "-")) }
        let k = count
        let n = pointPosition
        if k <= n && n <= 21 {
            for index in 0..<k { output.append(self[index]) }
            for _ in 0..<(n - k) { output.append(UInt8(ascii: "0")) }
        } else if 0 < n && n <= 21 {
            for index in 0..<n { output.append(self[index]) }
            output.append(UInt8(ascii: "."))
            for index in n..<k { output.append(self[index]) }
        } else if -6 < n && n <= 0 {
            output.append(UInt8(ascii: "0"))
            output.append(UInt8(ascii: "."))
            for _ in 0..<(-n) { output.append(UInt8(ascii: "0")) }
            for index in 0..<k { output.append(self[index]) }
        } else {
            output.append(self[0])
            if k > 1 {
                output.append(UInt8(ascii: "."))
                for index in 1..<k { output.append(self[index]) }
            }
            output.append(UInt8(ascii: "e"))
            let exponent = n - 1
            output.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            IntegerFormatter.append(Int64(abs(exponent)), to: &output)
        }
    }
}

/// Writes integers as decimal ASCII without going through String.
public enum IntegerFormatter {
    /// Appends the decimal digits of `value` (with a leading `-` when negative) to `output`.
    @inlinable
    public static func append(_ value: Int64, to output: inout [UInt8]) {
        var magnitude = value.magnitude
        if value < 0 { output.append(UInt8(ascii: "-")) }
        if magnitude < 10 {
            output.append(UInt8(ascii: "0") &+ UInt8(magnitude))
            return
        }
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var length = 0
        withUnsafeMutableBytes(of: &scratch) { bytes in
            while magnitude > 0 {
                length += 1
                bytes[24 - length] = UInt8(ascii: "0") &+ UInt8(magnitude % 10)
                magnitude /= 10
            }
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[(24 - length)...]))
        }
    }
}
