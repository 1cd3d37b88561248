/// An adaptive binary range coder, the entropy coder under the store's chunks.
///
/// Each binary decision is coded with a probability that adapts to what came before (a 15-bit
/// estimate moved 1/16 of the way toward each outcome), so a bit that is nearly always the same
/// costs a small fraction of a bit. The carry handling (`cache` plus a count of pending 0xFF bytes)
/// is the classic one from LZMA's coder. The encoder and decoder sit side by side so the format
/// is written down once.
public struct RangeEncoder {
    /// Output so far.
    public private(set) var bytes: [UInt8] = []
    /// Lower end of the current interval; bit 32 is a pending carry.
    private var low: UInt64 = 0
    /// Width of the current interval.
    private var range: UInt32 = 0xFFFF_FFFF
    /// The byte held back in case a carry reaches it.
    private var cache: UInt8 = 0
    /// 1 + the number of 0xFF bytes held back behind `cache`.
    private var pending = 1

    /// Format 1 codes plain bits one at a time, format 2 up to 16 at once (`IntegerModel`).
    private let format: Int

    public init(format: Int) {
        self.format = format
    }

    /// Codes `bit` (0 or 1) with the adaptive probability `probability` (of a 0, in 1/2048).
    @inline(__always)
    public mutating func encode(_ bit: Bool, _ probability: inout UInt16) {
        let bound = (range >> RangeCoding.probabilityBits) &* UInt32(probability)
        if bit {
            low &+= UInt64(bound)
            range &-= bound
            probability &-= probability >> RangeCoding.adaptationShift
        } else {
            range = bound
            probability &+= (RangeCoding.probabilityOne &- probability) >> RangeCoding.adaptationShift
        }
        while range < RangeCoding.topValue {
            range <<= 8
            shiftLow()
        }
    }

    /// Codes the low `count` bits of `value`, most significant first, each with probability 1/2.
    @inline(__always)
    public mutating func encodeDirect(_ value: UInt64, count: Int) {
        if format >= 2 {
            encodeGroups(value, count: count)
            return
        }
        var index = count
        while index > 0 {
            index -= 1
            range >>= 1
            if (value >> UInt64(index)) & 1 == 1 { low &+= UInt64(range) }
            while range < RangeCoding.topValue {
                range <<= 8
                shiftLow()
            }
        }
    }

    /// Codes the low `count` bits of `value` in groups of up to 16, each group one step that
    /// divides the interval into 2^n equal parts.
    @inline(__always)
    private mutating func encodeGroups(_ value: UInt64, count: Int) {
        var remaining = count
        while remaining > 0 {
            let take = min(remaining, RangeCoding.groupBits)
            remaining -= take
            let part = (value >> UInt64(remaining)) & ((1 << UInt64(take)) - 1)
            range >>= UInt32(take)
            low &+= UInt64(range) &* part
            while range < RangeCoding.topValue {
                range <<= 8
                shiftLow()
            }
        }
    }

    @inline(__always)
    private mutating func shiftLow() {
        if low < 0xFF00_0000 || low >= 1 << 32 {
            let carry = UInt8(truncatingIfNeeded: low >> 32)
            var held = cache
            repeat {
                bytes.append(held &+ carry)
                held = 0xFF
                pending -= 1
            } while pending != 0
            cache = UInt8(truncatingIfNeeded: low >> 24)
        }
        pending += 1
        low = (low & 0x00FF_FFFF) << 8
    }

    /// Flushes the coder; `bytes` is complete afterwards.
    public mutating func finish() {
        for _ in 0..<5 { shiftLow() }
    }
}

/// Reads what `RangeEncoder` wrote. Reading past the end yields zero bytes rather than failing,
/// so damaged input gives wrong numbers (caught by the chunk's checksum), never a crash.
public struct RangeDecoder {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index: Int
    private var range: UInt32 = 0xFFFF_FFFF
    private var code: UInt32 = 0
    private let format: Int

    /// Starts decoding `bytes` from `start`, written by an encoder of format `format`.
    public init(_ bytes: UnsafeBufferPointer<UInt8>, start: Int = 0, format: Int) {
        self.bytes = bytes
        self.index = start
        self.format = format
        for _ in 0..<5 { code = (code << 8) | UInt32(nextByte()) }
    }

    /// Where the decoder has read up to.
    public var position: Int { index }

    @inline(__always)
    private mutating func nextByte() -> UInt8 {
        guard index < bytes.count else {
            index += 1
            return 0
        }
        defer { index += 1 }
        return bytes[index]
    }

    /// Decodes one bit coded with `probability`, adapting it as the encoder did.
    @inline(__always)
    public mutating func decode(_ probability: inout UInt16) -> Bool {
        let bound = (range >> RangeCoding.probabilityBits) &* UInt32(probability)
        let bit: Bool
        if code < bound {
            range = bound
            probability &+= (RangeCoding.probabilityOne &- probability) >> RangeCoding.adaptationShift
            bit = false
        } else {
            code &-= bound
            range &-= bound
            probability &-= probability >> RangeCoding.adaptationShift
            bit = true
        }
        while range < RangeCoding.topValue {
            range <<= 8
            code = (code << 8) | UInt32(nextByte())
        }
        return bit
    }

    /// Decodes `count` bits coded with probability 1/2.
    @inline(__always)
    public mutating func decodeDirect(count: Int) -> UInt64 {
        if format >= 2 { return decodeGroups(count: count) }
        var result: UInt64 = 0
        for _ in 0..<count {
            range >>= 1
            var bit: UInt64 = 0
            if code >= range {
                code &-= range
                bit = 1
            }
            result = (result << 1) | bit
            while range < RangeCoding.topValue {
                range <<= 8
                code = (code << 8) | UInt32(nextByte())
            }
        }
        return result
    }
}

extension RangeDecoder {
    @inline(__always)
    private mutating func decodeGroups(count: Int) -> UInt64 {
        var result: UInt64 = 0
        var remaining = count
        while remaining > 0 {
            let take = min(remaining, RangeCoding.groupBits)
            remaining -= take
            result = result << UInt64(take) | decodeGroup(count: take)
        }
        return result
    }

    /// Decodes one group of 1 to 16 plain bits (format 2).
    @inline(__always)
    mutating func decodeGroup(count: Int) -> UInt64 {
        range >>= UInt32(count)
        // Damaged input can put `code` beyond the interval; the part is clamped, not trusted.
        let part = min(code / range, (1 << UInt32(count)) - 1)
        code &-= part &* range
        while range < RangeCoding.topValue {
            range <<= 8
            code = (code << 8) | UInt32(nextByte())
        }
        return UInt64(part)
    }
}

/// The constants both sides of the range coder share.
public enum RangeCoding {
    static let probabilityBits: UInt32 = 15
    /// A probability of 1 in the coder's fixed point.
    public static let probabilityOne: UInt16 = 1 << 15
    /// Where every adaptive probability starts: even odds.
    public static let probabilityHalf: UInt16 = 1 << 14
    static let adaptationShift: UInt16 = 4
    static let topValue: UInt32 = 1 << 24
    /// The most plain bits format 2 codes in one step: the interval, at least 2^24 wide, keeps
    /// at least 2^8 after the division.
    static let groupBits = 16
}
