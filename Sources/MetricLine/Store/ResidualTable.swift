#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A chunk's residuals coded with a table made for that chunk: the alternative chunk format 3
/// offers to coding each residual with the adaptive range coder. The adaptive coder makes about
/// two hard-to-predict decisions a residual, one after another; decoding this needs a table
/// lookup, a multiply and a few shifts, and decodes several times faster, for a few percent more
/// bytes on noisy series. Writers choose per chunk (see `ChunkCodec`).
///
/// A residual r is a symbol, its bit length L (0...64) with its sign, 0 for r = 0 and
/// 2L - 1 + (r < 0 ? 1 : 0) otherwise, plus the L - 1 bits below its leading one, stored as they
/// are. Symbols are coded with rANS (asymmetric numeral systems over a range): frequencies
/// normalised to 2^11, two 32-bit states taking turns (residuals at even positions the first),
/// each kept in [2^23, 2^32) a byte at a time from one shared stream.
///
/// The table (how many symbols, each one's gap from the one before and its frequency, the last's
/// implied by the total) and the byte lengths of the two streams are coded in the chunk's
/// range-coded part by an `IntegerModel` of their own. The chunk ends with the plain bits (least
/// significant first, in little-endian bytes), then the rANS stream: the two final states in 4
/// little-endian bytes each, then bytes in the order the decoder reads them.
enum ResidualTable {
    static let scaleBits: UInt32 = 11
    static let total: UInt32 = 1 << scaleBits
    static let lowerBound: UInt32 = 1 << 23
    static let symbolCount = 129

    @inline(__always)
    static func symbol(_ residual: Int64) -> Int {
        let length = 64 - residual.magnitude.leadingZeroBitCount
        return length == 0 ? 0 : 2 * length - 1 + (residual < 0 ? 1 : 0)
    }

    // MARK: Encoding

    /// Codes `residuals` (at least one): the table and the lengths into `encoder`, the streams
    /// returned, to end the chunk with.
    static func encode(_ residuals: [Int64], _ encoder: inout RangeEncoder) -> [UInt8] {
        var counts = [Int](repeating: 0, count: symbolCount)
        for residual in residuals { counts[symbol(residual)] += 1 }
        let frequencies = normalized(counts)
        var cumulative = [UInt32](repeating: 0, count: symbolCount)
        var running: UInt32 = 0
        for symbol in 0..<symbolCount {
            cumulative[symbol] = running
            running += frequencies[symbol]
        }

        // Plain bits, first residual first.
        var plain = PlainBitWriter()
        for residual in residuals {
            let magnitude = residual.magnitude
            let length = 64 - magnitude.leadingZeroBitCount
            if length > 1 { plain.write(magnitude, count: length - 1) }
        }
        let plainBytes = plain.finished()

        // rANS runs backwards so that the decoder goes forwards; residuals alternate between
        // two states (even positions the first), so decoding one need not wait for the last.
        var emitted: [UInt8] = []
        var states = [lowerBound, lowerBound]
        for (position, residual) in residuals.enumerated().reversed() {
            let symbol = symbol(residual)
            let frequency = frequencies[symbol]
            let limit = ((lowerBound >> scaleBits) << 8) &* frequency
            var state = states[position & 1]
            while state >= limit {
                emitted.append(UInt8(truncatingIfNeeded: state))
                state >>= 8
            }
            states[position & 1] = ((state / frequency) << scaleBits) + (state % frequency) + cumulative[symbol]
        }
        var stream = states.flatMap { state in (0..<4).map { UInt8(truncatingIfNeeded: state >> UInt32(8 * $0)) } }
        stream += emitted.reversed()

        let model = IntegerModel(format: 3)
        let present = (0..<symbolCount).filter { frequencies[$0] > 0 }
        model.encode(Int64(present.count), &encoder)
        var previous = -1
        for (position, symbol) in present.enumerated() {
            model.encode(Int64(symbol - previous - 1), &encoder)
            if position < present.count - 1 { model.encode(Int64(frequencies[symbol] - 1), &encoder) }
            previous = symbol
        }
        model.encode(Int64(plainBytes.count), &encoder)
        model.encode(Int64(stream.count), &encoder)
        return plainBytes + stream
    }

    /// Frequencies summing to `total`, each symbol seen at least 1; the rounding is settled one
    /// step at a time where it costs the fewest bits.
    static func normalized(_ counts: [Int]) -> [UInt32] {
        let seen = counts.reduce(0, +)
        var frequencies = [Int](repeating: 0, count: counts.count)
        var sum = 0
        for symbol in counts.indices where counts[symbol] > 0 {
            frequencies[symbol] = max(1, Int((Double(counts[symbol]) * Double(total) / Double(seen)).rounded()))
            sum += frequencies[symbol]
        }
        while sum != Int(total) {
            var best = -1
            var bestCost = Double.infinity
            for symbol in counts.indices where counts[symbol] > 0 {
                let frequency = Double(frequencies[symbol]), count = Double(counts[symbol])
                let cost: Double
                if sum > Int(total) {
                    guard frequencies[symbol] > 1 else { continue }
                    cost = count * log2(frequency / (frequency - 1))
                } else {
                    cost = -count * log2((frequency + 1) / frequency)
                }
                if cost < bestCost {
                    bestCost = cost
                    best = symbol
                }
            }
            frequencies[best] += sum > Int(total) ? -1 : 1
            sum += sum > Int(total) ? -1 : 1
        }
        return frequencies.map { UInt32($0) }
    }

    // MARK: Decoding

    /// Reads what `encode` wrote: the table from `decoder`, the streams from the end of `chunk`.
    /// Damaged input gives wrong numbers or nil, never a crash or a read outside `chunk`.
    struct Decoder: ~Copyable {
        /// Per slot of the total, all that decoding needs of the symbol owning it, in one word:
        /// the symbol's frequency (bits 0-11), the slot's place within the symbol's slots (12-22),
        /// how many plain bits follow (23-28), whether the magnitude has a leading one (29), and
        /// whether the residual is negative (30). One load per residual, where a symbol number
        /// and then the symbol's entry would be two in a row.
        private let slots: UnsafeMutablePointer<UInt32>
        /// The state the next residual is decoded from, and the other one.
        private var state: UInt32
        private var otherState: UInt32
        private var stream: StreamReader
        private var plain: PlainBitReader

        init?(_ decoder: inout RangeDecoder, chunk: UnsafeBufferPointer<UInt8>) {
            let model = IntegerModel(format: 3)
            let present = model.decode(&decoder)
            guard present >= 1, present <= Int64(ResidualTable.symbolCount) else { return nil }
            var table: [(symbol: Int, frequency: UInt32)] = []
            var symbol = -1
            var sum: UInt32 = 0
            for position in 0..<Int(present) {
                let gap = model.decode(&decoder)
                guard gap >= 0, gap < Int64(ResidualTable.symbolCount) - Int64(symbol) - 1 else { return nil }
                symbol += 1 + Int(gap)
                let frequency: UInt32
                if position < present - 1 {
                    let stored = model.decode(&decoder)
                    guard stored >= 0, stored < Int64(total - sum) - 1 else { return nil }
                    frequency = UInt32(stored) + 1
                } else {
                    frequency = total - sum
                }
                sum += frequency
                table.append((symbol, frequency))
            }
            let plainLength = model.decode(&decoder), streamLength = model.decode(&decoder)
            guard plainLength >= 0, streamLength >= 8, plainLength <= Int64(chunk.count), streamLength <= Int64(chunk.count) - plainLength else { return nil }
            let streamStart = chunk.count - Int(streamLength), plainStart = streamStart - Int(plainLength)

            slots = .allocate(capacity: Int(total))
            var start = 0
            for (symbol, frequency) in table {
                // The bit length of the magnitude, and whether the residual is negative.
                let length = UInt32((symbol + 1) / 2), negative: UInt32 = symbol > 0 && symbol % 2 == 0 ? 1 : 0
                let word = frequency | (length == 0 ? 0 : (length - 1) << 23 | 1 << 29) | negative << 30
                let owned = slots + start
                var place: UInt32 = 0
                while place < frequency {
                    owned[Int(place)] = word | place << 12
                    place &+= 1
                }
                start += Int(frequency)
            }
            stream = StreamReader(UnsafeBufferPointer(rebasing: chunk[streamStart...]))
            plain = PlainBitReader(UnsafeBufferPointer(rebasing: chunk[plainStart..<streamStart]))
            state = 0
            otherState = 0
            for _ in 0..<4 { state = (state >> 8) | UInt32(stream.next()) << 24 }
            for _ in 0..<4 { otherState = (otherState >> 8) | UInt32(stream.next()) << 24 }
        }

        deinit {
            slots.deallocate()
        }

        @inline(__always)
        mutating func next() -> Int64 {
            let word = slots[Int(state & (ResidualTable.total - 1))]
            state = (word & 0xFFF) &* (state >> ResidualTable.scaleBits) &+ (word >> 12 & 0x7FF)
            // A state in range needs at most two bytes; damaged input may leave it low.
            if state < ResidualTable.lowerBound {
                state = state << 8 | UInt32(stream.next())
                if state < ResidualTable.lowerBound { state = state << 8 | UInt32(stream.next()) }
            }
            swap(&state, &otherState)
            let plainCount = Int(word >> 23 & 0x3F)
            let magnitude = UInt64(word >> 29 & 1) << UInt64(plainCount) | plain.read(plainCount)
            let sign = 0 &- UInt64(word >> 30)
            return Int64(bitPattern: (magnitude ^ sign) &- sign)
        }
    }
}

extension ResidualTable {
    /// Bytes read in order; past the end, zeros.
    struct StreamReader {
        private let bytes: UnsafeBufferPointer<UInt8>
        /// The next byte to read.
        private var index = 0

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        @inline(__always)
        mutating func next() -> UInt8 {
            guard index < bytes.count else { return 0 }
            defer { index += 1 }
            return bytes[index]
        }
    }

    /// Bits packed least significant first into little-endian bytes.
    struct PlainBitWriter {
        /// Whole bytes written.
        private var bytes: [UInt8] = []
        /// Bits not yet a whole byte, the first lowest, and how many.
        private var pending: UInt64 = 0
        private var pendingCount = 0

        /// Appends the low `count` bits of `bits` (count at most 63).
        mutating func write(_ bits: UInt64, count: Int) {
            if count > 32 {
                write(bits, count: 32)
                write(bits >> 32, count: count - 32)
                return
            }
            pending |= (bits & ((1 << UInt64(count)) &- 1)) << UInt64(pendingCount)
            pendingCount += count
            while pendingCount >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: pending))
                pending >>= 8
                pendingCount -= 8
            }
        }

        /// The bytes, the last one padded with zeros.
        func finished() -> [UInt8] {
            pendingCount > 0 ? bytes + [UInt8(truncatingIfNeeded: pending)] : bytes
        }
    }

    /// Reads what `PlainBitWriter` wrote; past the end, zeros.
    struct PlainBitReader {
        private let bytes: UnsafeBufferPointer<UInt8>
        /// The next byte to load.
        private var index = 0
        /// Bits loaded and not yet read, the next lowest (above them, copies of bits of the
        /// bytes from `index` on, which later loads put back in the same places), and how many.
        private var buffer: UInt64 = 0
        private var available = 0

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        /// The next `count` bits (0...63).
        @inline(__always)
        mutating func read(_ count: Int) -> UInt64 {
            if count > available { return readRefilling(count) }
            let bits = buffer & ((1 << UInt64(count)) &- 1)
            buffer >>= UInt64(count)
            available -= count
            return bits
        }

        @inline(never)
        private mutating func readRefilling(_ count: Int) -> UInt64 {
            if count > 56 { return read(32) | read(count - 32) << 32 }
            refill()
            return read(count)
        }

        /// Fills the buffer to at least 56 bits (57 where bytes are read one at a time): eight
        /// bytes at once where they are there. Reads of more than 56 bits are split in two by
        /// `readRefilling`, so 56 always suffice.
        private mutating func refill() {
            if index + 8 <= bytes.count {
                let word = UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self))
                buffer |= word << UInt64(available)
                let taken = (63 - available) / 8
                index += taken
                available += taken * 8
                return
            }
            while available <= 56 {
                let byte: UInt64 = index < bytes.count ? UInt64(bytes[index]) : 0
                buffer |= byte << UInt64(available)
                index += 1
                available += 8
            }
        }
    }
}
