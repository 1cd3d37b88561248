#if canImport(Glibc)
import Glibc
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
/// normalised to 2^11, a 32-bit state kept in [2^23, 2^32) a byte at a time.
///
/// The table (how many symbols, each one's gap from the one before and its frequency, the last's
/// implied by the total) and the byte lengths of the two streams are coded in the chunk's
/// range-coded part by an `IntegerModel` of their own. The chunk ends with the plain bits (least
/// significant first, in little-endian bytes), then the rANS stream: the final state in 4
/// little-endian bytes, then bytes in the order the decoder reads them.
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

        // rANS runs backwards so that the decoder goes forwards.
        var emitted: [UInt8] = []
        var state = lowerBound
        for residual in residuals.reversed() {
            let symbol = symbol(residual)
            let frequency = frequencies[symbol]
            let limit = ((lowerBound >> scaleBits) << 8) &* frequency
            while state >= limit {
                emitted.append(UInt8(truncatingIfNeeded: state))
                state >>= 8
            }
            state = ((state / frequency) << scaleBits) + (state % frequency) + cumulative[symbol]
        }
        var stream = (0..<4).map { UInt8(truncatingIfNeeded: state >> UInt32(8 * $0)) }
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
        /// Per slot of the total: the symbol, its frequency and the first slot it owns.
        private let slots: UnsafeMutablePointer<Slot>
        /// Per symbol: the plain bits after it, its leading bit, and all ones if negative.
        private let plainCounts: UnsafeMutablePointer<UInt8>
        private let leading: UnsafeMutablePointer<UInt64>
        private let signs: UnsafeMutablePointer<UInt64>
        private var state: UInt32
        private var stream: StreamReader
        private var plain: PlainBitReader

        struct Slot {
            var symbol: UInt8
            var frequency: UInt16
            var start: UInt16
        }

        init?(_ decoder: inout RangeDecoder, chunk: UnsafeBufferPointer<UInt8>) {
            let model = IntegerModel(format: 3)
            let present = model.decode(&decoder)
            guard present >= 1, present <= Int64(ResidualTable.symbolCount) else { return nil }
            var symbols: [(symbol: Int, frequency: UInt32)] = []
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
                symbols.append((symbol, frequency))
            }
            let plainLength = model.decode(&decoder), streamLength = model.decode(&decoder)
            guard plainLength >= 0, streamLength >= 4, plainLength <= Int64(chunk.count), streamLength <= Int64(chunk.count) - plainLength else { return nil }
            let streamStart = chunk.count - Int(streamLength), plainStart = streamStart - Int(plainLength)

            slots = .allocate(capacity: Int(total))
            plainCounts = .allocate(capacity: ResidualTable.symbolCount)
            leading = .allocate(capacity: ResidualTable.symbolCount)
            signs = .allocate(capacity: ResidualTable.symbolCount)
            var start: UInt32 = 0
            for (symbol, frequency) in symbols {
                (slots + Int(start)).initialize(repeating: Slot(symbol: UInt8(symbol), frequency: UInt16(frequency), start: UInt16(start)), count: Int(frequency))
                start += frequency
            }
            for symbol in 0..<ResidualTable.symbolCount {
                let length = (symbol + 1) / 2
                plainCounts[symbol] = UInt8(max(length - 1, 0))
                leading[symbol] = length == 0 ? 0 : 1 << UInt64(length - 1)
                signs[symbol] = symbol > 0 && symbol % 2 == 0 ? .max : 0
            }
            stream = StreamReader(UnsafeBufferPointer(rebasing: chunk[streamStart...]))
            plain = PlainBitReader(UnsafeBufferPointer(rebasing: chunk[plainStart..<streamStart]))
            state = 0
            for _ in 0..<4 { state = (state >> 8) | UInt32(stream.next()) << 24 }
        }

        deinit {
            slots.deallocate()
            plainCounts.deallocate()
            leading.deallocate()
            signs.deallocate()
        }

        @inline(__always)
        mutating func next() -> Int64 {
            let slotIndex = state & (ResidualTable.total - 1)
            let slot = slots[Int(slotIndex)]
            state = UInt32(slot.frequency) &* (state >> ResidualTable.scaleBits) &+ slotIndex &- UInt32(slot.start)
            // A state in range needs at most two bytes; damaged input may leave it low.
            if state < ResidualTable.lowerBound {
                state = state << 8 | UInt32(stream.next())
                if state < ResidualTable.lowerBound { state = state << 8 | UInt32(stream.next()) }
            }
            let symbol = Int(slot.symbol)
            let magnitude = leading[symbol] | plain.read(Int(plainCounts[symbol]))
            let sign = signs[symbol]
            return Int64(bitPattern: (magnitude ^ sign) &- sign)
        }
    }
}

extension ResidualTable {
    /// Bytes read in order; past the end, zeros.
    struct StreamReader {
        private let bytes: UnsafeBufferPointer<UInt8>
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
        private var bytes: [UInt8] = []
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
        private var index = 0
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

        /// Fills the buffer to at least 57 bits: eight bytes at once where they are there.
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
