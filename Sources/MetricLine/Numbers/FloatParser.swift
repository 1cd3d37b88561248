#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses sample values as Prometheus does: Go's `strconv.ParseFloat` syntax without the hexadecimal
/// floats and `_` digit separators that Prometheus's parser refuses before calling it.
///
/// Decimal numbers with at most 19 significant digits and a small exponent take Clinger's fast
/// path (one exact multiplication or division); everything else goes to `strtod`, so every result is
/// the correctly rounded double either way.
public enum FloatParser {
    /// Powers of ten that a double holds exactly (10^0 ... 10^22): the heart of Clinger's fast path.
    static let exactPowersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// The value of `bytes`, or nil when they are not a number in Go's syntax or overflow a double.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        let count = bytes.count
        guard count > 0 else { return nil }
        var index = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            index = 1
            guard index < count else { return nil }
        }
        let first = bytes[index]
        if first | 0x20 == UInt8(ascii: "i") || first | 0x20 == UInt8(ascii: "n") {
            return special(bytes, signed: index == 1, negative: negative)
        }

        var mantissa: UInt64 = 0
        var significantDigits = 0   // digits accumulated into `mantissa`, after leading zeros
        var droppedDigits = 0       // significant digits beyond the 19 that fit in `mantissa`
        var decimalExponent = 0     // power of ten that `mantissa` is scaled by
        var sawDigit = false
        var sawPoint = false
        while index < count {
            let byte = bytes[index]
            if byte &- UInt8(ascii: "0") < 10 {
                sawDigit = true
                if mantissa == 0 && byte == UInt8(ascii: "0") {
                    if sawPoint { decimalExponent -= 1 }
                } else if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
                    significantDigits += 1
                    if sawPoint { decimalExponent -= 1 }
                } else {
                    droppedDigits += 1
                    if !sawPoint { decimalExponent += 1 }
                }
            } else if byte == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
            } else {
                break
            }
            index += 1
        }
        guard sawDigit else { return nil }
        if index < count {
            guard bytes[index] | 0x20 == UInt8(ascii: "e"), index + 1 < count else { return nil }
            index += 1
            var exponentNegative = false
            if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < count else { return nil }
            var exponent = 0
            while index < count {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                if exponent < 100_000 { exponent = exponent * 10 + Int(digit) }
                index += 1
            }
            decimalExponent += exponentNegative ? -exponent : exponent
        }

        // Fast path: both the mantissa and the power of ten are exact doubles, so one
        // correctly rounded operation gives the correctly rounded result.
        if droppedDigits == 0 && mantissa <= 1 << 53 && decimalExponent >= -22 && decimalExponent <= 22 {
            var value = Double(mantissa)
            if decimalExponent < 0 {
                value /= exactPowersOfTen[-decimalExponent]
            } else {
                value *= exactPowersOfTen[decimalExponent]
            }
            return negative ? -value : value
        }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        return viaStrtod(bytes)
    }

    /// `Inf`, `Infinity` (with an optional sign) and `NaN` (without one), in any case, as Go accepts them.
    private static func special(_ bytes: UnsafeBufferPointer<UInt8>, signed: Bool, negative: Bool) -> Double? {
        let start = signed ? 1 : 0
        let length = bytes.count - start
        func matches(_ word: StaticString) -> Bool {
            guard length == word.utf8CodeUnitCount else { return false }
            let letters = word.utf8Start
            for offset in 0..<length where bytes[start + offset] | 0x20 != letters[offset] {
                return false
            }
            return true
        }
        if matches("inf") || matches("infinity") { return negative ? -.infinity : .infinity }
        if !signed && matches("nan") { return .nan }
        return nil
    }

    /// The slow path for text already checked to be a well-formed number: C's correctly rounded `strtod`.
    private static func viaStrtod(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard bytes.count < 1 << 12 else { return viaStrtodOnHeap(bytes) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer in
            strtodTerminated(bytes, in: buffer)
        }
    }

    private static func viaStrtodOnHeap(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: bytes.count + 1)
        defer { buffer.deallocate() }
        return strtodTerminated(bytes, in: buffer)
    }

    private static func strtodTerminated(_ bytes: UnsafeBufferPointer<UInt8>, in buffer: UnsafeMutableBufferPointer<CChar>) -> Double? {
        for index in 0..<bytes.count { buffer[index] = CChar(bitPattern: bytes[index]) }
        buffer[bytes.count] = 0
        var end: UnsafeMutablePointer<CChar>?
        let value = strtod(buffer.baseAddress!, &end)
        guard let end, end - buffer.baseAddress! == bytes.count else { return nil }
        // Go reports overflow as an error; underflow to zero or a subnormal is a value.
        if value.isInfinite { return nil }
        return value
    }
}

/// Parses the integer millisecond timestamps of the sample line.
public enum IntegerParser {
    /// The value of `bytes` as a signed decimal Int64, or nil when malformed or out of range.
    public static func parseInt64(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        var negative = false
        guard !bytes.isEmpty else { return nil }
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            index = 1
        }
        guard index < bytes.count else { return nil }
        var magnitude: UInt64 = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }
}
