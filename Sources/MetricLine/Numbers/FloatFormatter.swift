/// Writes doubles in the canonical form of the sample line: the shortest digits that read back
/// to the same bits, laid out as JavaScript's `Number.prototype.toString` does (plain decimals from
/// 1e-7 to 1e21, exponents outside), with `NaN`, `+Inf`, `-Inf` and `-0` spelled out.
///
/// The same value always gives the same bytes, so `sort | uniq` works on written lines.
public enum FloatFormatter {
    /// The most bytes `write` puts down for one value ("-0.0000012345678901234567", 25, is the
    /// longest), with room to spare.
    public static let longest = 32

    /// Appends the canonical text of `value` to `output`.
    @inlinable
    public static func append(_ value: Double, to output: inout [UInt8]) {
        output.append(writtenBy: { write(value, to: $0) })
    }

    /// Writes the canonical text of `value` at `destination`, which has room for `longest` bytes,
    /// and returns how many it wrote: for writers that make room once for many values.
    @inlinable
    public static func write(_ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        // Fast path: integers below 2^53 are exact, and their shortest digits are their digits.
        if value == value.rounded(.towardZero), abs(value) < 9_007_199_254_740_992 {
            if value == 0 && value.sign == .minus {
                destination[0] = UInt8(ascii: "-")
                destination[1] = UInt8(ascii: "0")
                return 2
            }
            return IntegerFormatter.write(Int64(value), to: destination)
        }
        return writeNonIntegral(value, to: destination)
    }

    /// The canonical text of `value` as a String.
    public static func string(_ value: Double) -> String {
        var bytes: [UInt8] = []
        append(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @usableFromInline
    static func writeNonIntegral(_ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        if value.isNaN {
            destination.update(from: [0x4E, 0x61, 0x4E], count: 3)  // NaN
            return 3
        }
        if value.isInfinite {
            destination.update(from: value < 0 ? [0x2D, 0x49, 0x6E, 0x66] : [0x2B, 0x49, 0x6E, 0x66], count: 4)  // -Inf / +Inf
            return 4
        }
        if let written = writeFewDecimals(value, to: destination) { return written }
        if let shortest = shortestDecimal(abs(value)) {
            return writeDecimal(shortest.digits, places: shortest.places, negative: value < 0, to: destination)
        }
        var digits = Digits()
        digits.readShortest(value)
        return digits.write(negative: value < 0, to: destination)
    }

    /// Writes integer·10^-places in plain notation ("0.00012", "123.45"), for decimals whose
    /// digits have no trailing zero after the point and at most 23 places; returns the bytes
    /// written.
    @inline(__always)
    static func writeDecimal(_ integer: UInt64, places: Int, negative: Bool, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        // All 24 digits of the integer below 10^24, with leading zeros, so that the zeros a small
        // number needs after the point, and the one before it, are there to copy too.
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &scratch) { bytes in
            let digits = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            writeEightDigits(UInt32(integer / 10_000_000_000_000_000), to: digits)
            writeEightDigits(UInt32(integer / 100_000_000 % 100_000_000), to: digits + 8)
            writeEightDigits(UInt32(integer % 100_000_000), to: digits + 16)
            let significant = IntegerFormatter.digitCount(integer)
            let whole = max(significant - places, 1)
            var position = 0
            if negative {
                destination[0] = UInt8(ascii: "-")
                position = 1
            }
            for index in (24 - places - whole)..<(24 - places) {
                destination[position] = digits[index]
                position += 1
            }
            guard places > 0 else { return position }
            destination[position] = UInt8(ascii: ".")
            position += 1
            for index in (24 - places)..<24 {
                destination[position] = digits[index]
                position += 1
            }
            return position
        }
    }

    /// Writes the eight digits of `value` (below 10^8), leading zeros included: four pairs
    /// computed side by side rather than one digit after another.
    @inline(__always)
    static func writeEightDigits(_ value: UInt32, to destination: UnsafeMutablePointer<UInt8>) {
        let high = value / 10_000, low = value % 10_000
        let pairs = (high / 100, high % 100, low / 100, low % 100)
        let zero = UInt8(ascii: "0")
        destination[0] = zero &+ UInt8(truncatingIfNeeded: pairs.0 / 10)
        destination[1] = zero &+ UInt8(truncatingIfNeeded: pairs.0 % 10)
        destination[2] = zero &+ UInt8(truncatingIfNeeded: pairs.1 / 10)
        destination[3] = zero &+ UInt8(truncatingIfNeeded: pairs.1 % 10)
        destination[4] = zero &+ UInt8(truncatingIfNeeded: pairs.2 / 10)
        destination[5] = zero &+ UInt8(truncatingIfNeeded: pairs.2 % 10)
        destination[6] = zero &+ UInt8(truncatingIfNeeded: pairs.3 / 10)
        destination[7] = zero &+ UInt8(truncatingIfNeeded: pairs.3 % 10)
    }

    /// Powers of ten as 128-bit integers, 10^0 through 10^21.
    private static let powersOfTen: [UInt128] = (0...21).map { exponent in
        var power: UInt128 = 1
        for _ in 0..<exponent { power *= 10 }
        return power
    }

    /// The shortest digits that read back as `magnitude` (positive), and of those the nearest to
    /// it, as an integer and a number of places, exactly, for values that are not integers, from
    /// 1e-6 to 2^53 (what queries mostly print); nil elsewhere, and for the few that need more
    /// than 21 places.
    ///
    /// A double m·2^e reads back from every decimal strictly between the midpoints to its
    /// neighbours, and from the midpoints themselves when m is even (ties go to even), as Go's
    /// and JavaScript's shortest formatting take it. In quarter units of the last place, with
    /// s = 2 - e, the value is 4m / 2^s and the midpoints are (4m ± 2) / 2^s, the lower one
    /// (4m - 1) / 2^s where m is the smallest significand (the gap below is half as wide). For p
    /// places, the decimals c·10^-p within the interval are the integers c from
    /// ceil(lower·10^p) to floor(upper·10^p), computed exactly: 4m + 2 < 2^55 and 10^21 < 2^70,
    /// so the products fit in 128 bits. If p places hold such a decimal, so do p + 1; the fewest
    /// places that do are found going down from 17 significant digits, which always suffice.
    static func shortestDecimal(_ magnitude: Double) -> (digits: UInt64, places: Int)? {
        guard magnitude >= 1e-6, magnitude < 9_007_199_254_740_992, magnitude != magnitude.rounded(.towardZero) else { return nil }
        let significand = UInt64(magnitude.significandBitPattern) | 1 << 52
        let exponent = Int(magnitude.exponentBitPattern) - 1075  // value = significand · 2^exponent
        let shift = 2 - exponent  // between 3 and 75 in this range
        let even = significand & 1 == 0
        let center = UInt128(significand) << 2
        let upper = center + 2
        let lower = significand == 1 << 52 && magnitude.exponentBitPattern > 1 ? center - 1 : center - 2
        let mask = (UInt128(1) << shift) - 1
        /// The integers c with c·10^-places in the interval, as (first, last); first > last if none.
        func candidates(_ places: Int) -> (UInt128, UInt128) {
            let power = FloatFormatter.powersOfTen[places]
            // Products below 2^55 · 10^21 < 2^126: wrapping multiplication skips overflow
            // checks that cost more than the multiplication itself.
            let low = lower &* power, high = upper &* power
            var first = low >> shift
            if low & mask != 0 || !even { first += 1 }
            var last = high >> shift
            if high & mask == 0 && !even { last -= 1 }
            return (first, last)
        }
        // floor(log10(value)) is at least this (log10(2) rounded down, and the significand ≥ 2^52).
        let decimalExponent = Int((Double(exponent + 52) * 0.301029995).rounded(.down))
        var places = 16 - decimalExponent
        guard places <= 21 else { return nil }
        var found = candidates(places)
        guard found.0 <= found.1 else { return nil }  // cannot happen: 17 digits always suffice
        while places > 1 {
            let fewer = candidates(places - 1)
            if fewer.0 > fewer.1 { break }
            places -= 1
            found = fewer
        }
        // The nearest to the value of the candidates, ties to even.
        let scaled = center &* FloatFormatter.powersOfTen[places]
        var nearest = scaled >> shift
        let remainder = scaled & mask, half = UInt128(1) << (shift - 1)
        if remainder > half || (remainder == half && nearest & 1 == 1) { nearest += 1 }
        nearest = min(max(nearest, found.0), found.1)
        return (UInt64(nearest), places)
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
    static func writeFewDecimals(_ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int? {
        let magnitude = abs(value)
        guard magnitude >= 1e-6, magnitude < 1e15 else { return nil }
        let limit = 2_251_799_813_685_248.0  // 2^51
        var places = 8
        while places > 1 && magnitude * FloatParser.exactPowersOfTen[places] >= limit { places -= 1 }
        let power = FloatParser.exactPowersOfTen[places]
        // Adding and taking away 2^52 rounds a number below 2^51 to the nearest integer, without a
        // call into libm.
        let scaled = (magnitude * power + 4_503_599_627_370_496.0) - 4_503_599_627_370_496.0
        guard scaled < limit, scaled / power == magnitude else { return nil }
        var integer = UInt64(scaled)
        while places > 0 && integer % 10 == 0 {
            integer /= 10
            places -= 1
        }
        return writeDecimal(integer, places: places, negative: value < 0, to: destination)
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

    /// Writes the digits laid out as JavaScript's Number-to-String does; returns the bytes written.
    func write(negative: Bool, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        var position = 0
        func put(_ byte: UInt8) {
            destination[position] = byte
            position += 1
        }
        if negative { put(UInt8(ascii: "-")) }
        let k = count
        let n = pointPosition
        if k <= n && n <= 21 {
            for index in 0..<k { put(self[index]) }
            for _ in 0..<(n - k) { put(UInt8(ascii: "0")) }
        } else if 0 < n && n <= 21 {
            for index in 0..<n { put(self[index]) }
            put(UInt8(ascii: "."))
            for index in n..<k { put(self[index]) }
        } else if -6 < n && n <= 0 {
            put(UInt8(ascii: "0"))
            put(UInt8(ascii: "."))
            for _ in 0..<(-n) { put(UInt8(ascii: "0")) }
            for index in 0..<k { put(self[index]) }
        } else {
            put(self[0])
            if k > 1 {
                put(UInt8(ascii: "."))
                for index in 1..<k { put(self[index]) }
            }
            put(UInt8(ascii: "e"))
            let exponent = n - 1
            put(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            position += IntegerFormatter.write(Int64(abs(exponent)), to: destination + position)
        }
        return position
    }
}

/// Writes integers as decimal ASCII without going through String.
public enum IntegerFormatter {
    /// Appends the decimal digits of `value` (with a leading `-` when negative) to `output`.
    @inlinable
    public static func append(_ value: Int64, to output: inout [UInt8]) {
        if value >= 0 && value < 10 {
            output.append(UInt8(ascii: "0") &+ UInt8(value))
            return
        }
        output.append(writtenBy: { write(value, to: $0) })
    }

    /// How many decimal digits `value` has (1 for 0).
    @inlinable
    static func digitCount(_ value: UInt64) -> Int {
        // log10(2) ≈ 1233 / 4096: t = floor(bit length · log10(2)), and the value has t digits or
        // t + 1 (t is at most 19, and 10^19 fits).
        let t = ((64 - (value | 1).leadingZeroBitCount) * 1233) >> 12
        return max(value < powersOfTen[t] ? t : t + 1, 1)
    }

    @usableFromInline
    static let powersOfTen: [UInt64] = (0...19).map { exponent in (0..<exponent).reduce(1) { result, _ in result * 10 } }

    /// Writes the decimal digits of `value` (with a leading `-` when negative) at `destination`,
    /// which has room for 20 bytes; returns how many it wrote.
    @inlinable
    public static func write(_ value: Int64, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        var magnitude = value.magnitude
        if value < 0 { destination[0] = UInt8(ascii: "-") }
        let length = (value < 0 ? 1 : 0) + digitCount(magnitude)
        var position = length
        repeat {
            position -= 1
            destination[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        return length
    }
}
