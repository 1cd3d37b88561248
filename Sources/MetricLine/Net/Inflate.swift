#if canImport(Glibc)
import Glibc
#endif

// DEFLATE (RFC 1951) and its gzip framing (RFC 1952), for `Content-Encoding: gzip` scrape
// bodies. Input is hostile: every length is checked before it is used, the output never grows
// past a limit, and every loop consumes input or output, so a bad stream ends in an
// `InflateError` rather than a crash, a hang or unbounded memory.

/// Why a gzip or DEFLATE stream could not be decoded.
public enum InflateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input ended inside a header, a block or a trailer.
    case truncated
    /// Not a gzip member: the first two bytes are not 1f 8b.
    case notGzip
    /// A gzip member compressed with something other than DEFLATE (method 8).
    case unknownMethod(UInt8)
    /// Header flags that RFC 1952 reserves.
    case reservedFlags(UInt8)
    /// The header's own CRC-16 (FHCRC) does not match.
    case headerChecksum
    /// Block type 3, which RFC 1951 reserves.
    case badBlockType
    /// A stored block whose length and its complement disagree.
    case storedLength
    /// The code lengths of a dynamic block do not describe a usable Huffman code.
    case badCodeLengths(String)
    /// A bit pattern that is no code, or a code for a symbol that is never valid.
    case badCode
    /// A match that reaches back before the first byte of output.
    case distanceTooFar
    /// The output would pass the limit (bytes).
    case tooLarge(Int)
    /// The CRC-32 of a member's output differs from its trailer.
    case checksum
    /// The length of a member's output (mod 2^32) differs from its trailer's ISIZE.
    case size
    /// Bytes after the last member that are not another member.
    case trailingData

    public var description: String {
        switch self {
        case .truncated: return "truncated"
        case .notGzip: return "not gzip data"
        case .unknownMethod(let method): return "unknown compression method \(method)"
        case .reservedFlags(let flags): return "reserved header flags \(flags)"
        case .headerChecksum: return "header checksum mismatch"
        case .badBlockType: return "invalid block type"
        case .storedLength: return "stored block length does not match its complement"
        case .badCodeLengths(let why): return "invalid code lengths: \(why)"
        case .badCode: return "invalid Huffman code"
        case .distanceTooFar: return "distance too far back"
        case .tooLarge(let limit): return "output over \(limit) bytes"
        case .checksum: return "CRC-32 mismatch"
        case .size: return "length mismatch (ISIZE)"
        case .trailingData: return "trailing data after the last member"
        }
    }
}

/// Decodes gzip files (one or more concatenated members) and raw DEFLATE streams.
public enum Inflate {
    /// The largest output decoded unless the caller says otherwise: the HTTP client's body limit.
    public static let defaultLimit = 64 << 20

    /// The concatenated output of every member of the gzip data `bytes`.
    public static func gunzip(_ bytes: [UInt8], limit: Int = defaultLimit) throws(InflateError) -> [UInt8] {
        try bytes.withUnsafeBytes { input in Result { () throws(InflateError) in try gunzip(input, limit: limit) } }.get()
    }

    public static func gunzip(_ input: UnsafeRawBufferPointer, limit: Int = defaultLimit) throws(InflateError) -> [UInt8] {
        var output = InflateOutput(limit: limit, expected: input.count * 4)
        var position = 0
        repeat {
            position = try GzipMember.decode(input, from: position, into: &output)
        } while position < input.count
        return output.array()
    }

    /// The output of the raw DEFLATE stream `bytes` (no framing); bytes after its final block are
    /// ignored.
    public static func inflate(_ bytes: [UInt8], limit: Int = defaultLimit) throws(InflateError) -> [UInt8] {
        try bytes.withUnsafeBytes { input in Result { () throws(InflateError) in try inflate(input, limit: limit) } }.get()
    }

    public static func inflate(_ input: UnsafeRawBufferPointer, limit: Int = defaultLimit) throws(InflateError) -> [UInt8] {
        var output = InflateOutput(limit: limit, expected: input.count * 4)
        var reader = DeflateReader(input, from: 0)
        try reader.decode(into: &output)
        _ = try reader.bytePosition()
        return output.array()
    }
}

/// One gzip member: header, DEFLATE data, CRC-32 and ISIZE.
enum GzipMember {
    // Header flags; FTEXT (1) is only a hint and changes nothing.
    private static let headerCRCFlag: UInt8 = 2, extraFlag: UInt8 = 4, nameFlag: UInt8 = 8, commentFlag: UInt8 = 16

    /// Decodes the member at `start`, appending to `output`; returns where the next one starts.
    static func decode(_ input: UnsafeRawBufferPointer, from start: Int, into output: inout InflateOutput) throws(InflateError) -> Int {
        let count = input.count
        if count - start < 2 {
            if count - start == 1 && input[start] == 0x1F { throw .truncated }
            throw start == 0 ? .notGzip : .trailingData
        }
        guard input[start] == 0x1F, input[start + 1] == 0x8B else { throw start == 0 ? .notGzip : .trailingData }
        guard count - start >= 10 else { throw .truncated }
        guard input[start + 2] == 8 else { throw .unknownMethod(input[start + 2]) }
        let flags = input[start + 3]
        guard flags & 0xE0 == 0 else { throw .reservedFlags(flags) }
        var position = start + 10
        if flags & extraFlag != 0 {
            guard count - position >= 2 else { throw .truncated }
            let length = Int(input[position]) | Int(input[position + 1]) << 8
            guard count - position - 2 >= length else { throw .truncated }
            position += 2 + length
        }
        for flag in [nameFlag, commentFlag] where flags & flag != 0 {
            // Zero-terminated Latin-1 text, of no use to a scraper.
            while position < count && input[position] != 0 { position += 1 }
            guard position < count else { throw .truncated }
            position += 1
        }
        if flags & headerCRCFlag != 0 {
            guard count - position >= 2 else { throw .truncated }
            let stored = UInt32(input[position]) | UInt32(input[position + 1]) << 8
            let header = UnsafeRawBufferPointer(rebasing: input[start..<position])
            guard CRC32.checksum(header) & 0xFFFF == stored else { throw .headerChecksum }
            position += 2
        }
        let first = output.count
        var reader = DeflateReader(input, from: position)
        try reader.decode(into: &output)
        position = try reader.bytePosition()
        guard count - position >= 8 else { throw .truncated }
        let crc = input.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian
        let size = input.loadUnaligned(fromByteOffset: position + 4, as: UInt32.self).littleEndian
        guard output.checksum(from: first) == crc else { throw .checksum }
        guard UInt32(truncatingIfNeeded: output.count - first) == size else { throw .size }
        return position + 8
    }
}

/// The decoded bytes so far: one growing allocation that never passes `limit`. It is also the
/// window that matches copy from, since a scrape body is decoded whole.
struct InflateOutput: ~Copyable {
    /// The bytes; `capacity` of them allocated, the first `count` written.
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private(set) var capacity: Int
    /// The most bytes the output may hold.
    let limit: Int

    /// `expected` is a guess at the final size (a few times the input), to spare reallocations.
    init(limit: Int, expected: Int) {
        self.limit = max(limit, 0)
        capacity = min(max(expected, 1 << 16), max(self.limit, 1))
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for `needed` more bytes, or throws if that would pass the limit.
    mutating func reserve(_ needed: Int) throws(InflateError) {
        guard needed <= limit - count else { throw .tooLarge(limit) }
        guard needed > capacity - count else { return }
        let grown = min(max(capacity * 2, count + needed), limit)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        moved.update(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = grown
    }

    @inline(__always)
    mutating func advance(_ written: Int) { count += written }

    func checksum(from start: Int) -> UInt32 {
        CRC32.checksum(UnsafeRawBufferPointer(start: base + start, count: count - start))
    }

    func array() -> [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }
}

/// A canonical Huffman code as RFC 1951 §3.2.2 builds it from code lengths, decoded with one
/// table lookup for codes of up to `fastBits` bits and by counting (as zlib's puff.c does) for
/// the rare longer ones.
struct HuffmanCode {
    static let fastBits = 10
    /// Indexed by the next `fastBits` input bits: `symbol << 4 | length`, or 0 where the code is
    /// longer than `fastBits` (or the bits are no code at all).
    var fast: [UInt16]
    /// How many codes have each length 0...15.
    var counts: [UInt16]
    /// The symbols ordered by code (length, then value), as counting decodes them.
    var symbols: [UInt16]

    /// Builds the code for `lengths` (one per symbol, 0 for unused). Over-subscribed lengths are
    /// refused; so is an incomplete code, except the single code of one bit that RFC 1951 allows
    /// (a block with one distance).
    init(lengths: ArraySlice<UInt8>) throws(InflateError) {
        counts = [UInt16](repeating: 0, count: 16)
        for length in lengths { counts[Int(length)] += 1 }
        counts[0] = 0
        var left = 1
        var longest = 0
        for length in 1...15 {
            left = left << 1 - Int(counts[length])
            guard left >= 0 else { throw .badCodeLengths("over-subscribed code") }
            if counts[length] > 0 { longest = length }
        }
        if left > 0 && longest > 1 { throw .badCodeLengths("incomplete code") }
        var offsets = [Int](repeating: 0, count: 16)
        for length in 1..<15 { offsets[length + 1] = offsets[length] + Int(counts[length]) }
        symbols = [UInt16](repeating: 0, count: lengths.count)
        fast = [UInt16](repeating: 0, count: 1 << Self.fastBits)
        var next = [Int](repeating: 0, count: 16)
        var code = 0
        for length in 1...15 {
            code = (code + Int(counts[length - 1])) << 1
            next[length] = code
        }
        for (symbol, length) in lengths.enumerated() where length != 0 {
            let length = Int(length)
            symbols[offsets[length]] = UInt16(symbol)
            offsets[length] += 1
            let code = next[length]
            next[length] += 1
            guard length <= Self.fastBits else { continue }
            // Codes are sent most significant bit first, and the reader takes bits from the
            // bottom of its buffer: index the table by the code's bits reversed.
            var reversed = 0
            for bit in 0..<length where code & (1 << bit) != 0 { reversed |= 1 << (length - 1 - bit) }
            let entry = UInt16(symbol << 4 | length)
            var index = reversed
            while index < 1 << Self.fastBits {
                fast[index] = entry
                index += 1 << length
            }
        }
    }

    /// Decodes a code longer than `fastBits` from the low bits of `bits`: the symbol and the
    /// code's length, or nil if the bits are no code.
    func slowDecode(_ bits: UInt64) -> (symbol: Int, length: Int)? {
        var code = 0, first = 0, index = 0
        for length in 1...15 {
            code |= Int((bits >> UInt64(length - 1)) & 1)
            let count = Int(counts[length])
            if code - first < count { return (Int(symbols[index + code - first]), length) }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        return nil
    }

    /// RFC 1951 §3.2.6: literals 0–143 take 8 bits, 144–255 9, 256–279 7, 280–287 8.
    static let fixedLiterals: HuffmanCode = {
        let lengths = (0..<288).map { UInt8($0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8) }
        return try! HuffmanCode(lengths: lengths[...])
    }()

    /// RFC 1951 §3.2.6: all 32 distance codes take 5 bits (30 and 31 never occur).
    static let fixedDistances: HuffmanCode = {
        try! HuffmanCode(lengths: [UInt8](repeating: 5, count: 32)[...])
    }()
}

/// Reads one DEFLATE stream, bits least significant first, and writes its output.
struct DeflateReader {
    private let input: UnsafeRawBufferPointer
    /// The next byte of `input` to load into `bits`.
    private var position: Int
    /// Bits loaded but not yet consumed, the next one lowest.
    private var bits: UInt64 = 0
    /// How many of `bits` are valid.
    private var bitCount = 0
    /// Zero bytes loaded past the end of `input`, so that decoding near the end needs no checks;
    /// consuming one of them means the stream is truncated.
    private var padding = 0
    /// Where this stream's output starts in the shared output: matches may not reach before it.
    private var windowStart = 0

    init(_ input: UnsafeRawBufferPointer, from position: Int) {
        self.input = input
        self.position = position
    }

    // Lengths 257...285 and distances 0...29: base values and extra bits (RFC 1951 §3.2.5).
    private static let lengthBase: [UInt16] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase: [UInt16] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                                                 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtra: [UInt8] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    /// The order in which a dynamic block sends the lengths of the code-length code.
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// Tops `bits` up to at least 56 valid bits: enough for a length and a distance with their
    /// extra bits (15 + 5 + 15 + 13).
    @inline(__always)
    private mutating func refill() throws(InflateError) {
        if input.count - position >= 8 {
            // Fast path: one unaligned load. Bytes that do not fit are loaded again next time.
            bits |= input.loadUnaligned(fromByteOffset: position, as: UInt64.self).littleEndian << UInt64(bitCount)
            position += (63 - bitCount) >> 3
            bitCount |= 56
            return
        }
        guard padding * 8 <= bitCount else { throw .truncated }
        while bitCount <= 56 {
            if position < input.count {
                bits |= UInt64(input[position]) << UInt64(bitCount)
                position += 1
            } else {
                padding += 1
            }
            bitCount += 8
        }
    }

    @inline(__always)
    private mutating func take(_ count: Int) -> Int {
        let value = Int(bits & ((1 << UInt64(count)) - 1))
        bits >>= UInt64(count)
        bitCount -= count
        return value
    }

    /// The byte after the last one the stream used (its final partial byte included); throws if
    /// the stream ran past the end of the input.
    mutating func bytePosition() throws(InflateError) -> Int {
        _ = take(bitCount & 7)
        let unread = bitCount / 8 - padding
        guard unread >= 0 else { throw .truncated }
        position -= unread
        bits = 0
        bitCount = 0
        padding = 0
        return position
    }

    /// Decodes blocks until the final one.
    mutating func decode(into output: inout InflateOutput) throws(InflateError) {
        windowStart = output.count
        var final = false
        while !final {
            try refill()
            final = take(1) == 1
            switch take(2) {
            case 0: try stored(into: &output)
            case 1: try huffman(HuffmanCode.fixedLiterals, HuffmanCode.fixedDistances, into: &output)
            case 2:
                let (literals, distances) = try dynamicCodes()
                try huffman(literals, distances, into: &output)
            default: throw .badBlockType
            }
        }
        // Whatever padding was consumed, the caller's bytePosition() notices.
        guard padding * 8 <= bitCount else { throw .truncated }
    }

    /// A stored block: LEN, NLEN and LEN bytes, from the next byte boundary.
    private mutating func stored(into output: inout InflateOutput) throws(InflateError) {
        var at = try bytePosition()
        guard input.count - at >= 4 else { throw .truncated }
        let length = Int(input[at]) | Int(input[at + 1]) << 8
        let complement = Int(input[at + 2]) | Int(input[at + 3]) << 8
        guard length == complement ^ 0xFFFF else { throw .storedLength }
        at += 4
        guard input.count - at >= length else { throw .truncated }
        try output.reserve(length)
        if length > 0 {
            (output.base + output.count).update(from: input.baseAddress!.advanced(by: at).assumingMemoryBound(to: UInt8.self), count: length)
        }
        output.advance(length)
        position = at + length
    }

    /// Reads the code lengths of a dynamic block (RFC 1951 §3.2.7) and builds its two codes.
    private mutating func dynamicCodes() throws(InflateError) -> (HuffmanCode, HuffmanCode) {
        try refill()
        let literalCount = take(5) + 257
        let distanceCount = take(5) + 1
        let codeLengthCount = take(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw .badCodeLengths("too many length or distance codes") }
        var codeLengths = [UInt8](repeating: 0, count: 19)
        for index in 0..<codeLengthCount {
            if index % 12 == 0 { try refill() }
            codeLengths[Self.codeLengthOrder[index]] = UInt8(take(3))
        }
        let codeLengthCode = try HuffmanCode(lengths: codeLengths[...])
        guard codeLengthCode.counts.contains(where: { $0 > 0 }) else { throw .badCodeLengths("empty code-length code") }
        var lengths = [UInt8](repeating: 0, count: literalCount + distanceCount)
        var index = 0
        while index < lengths.count {
            try refill()
            let symbol = try decodeSymbol(codeLengthCode)
            var value: UInt8 = 0, repeats = 1
            switch symbol {
            case 0..<16: value = UInt8(symbol)
            case 16:
                guard index > 0 else { throw .badCodeLengths("repeat with no previous length") }
                value = lengths[index - 1]
                repeats = 3 + take(2)
            case 17: repeats = 3 + take(3)
            default: repeats = 11 + take(7)
            }
            guard repeats <= lengths.count - index else { throw .badCodeLengths("lengths run past the last code") }
            for _ in 0..<repeats {
                lengths[index] = value
                index += 1
            }
        }
        guard lengths[256] != 0 else { throw .badCodeLengths("no end-of-block code") }
        return (try HuffmanCode(lengths: lengths[0..<literalCount]), try HuffmanCode(lengths: lengths[literalCount...]))
    }

    /// Decodes one symbol of `code`; `bits` must hold at least 15 bits.
    @inline(__always)
    private mutating func decodeSymbol(_ code: HuffmanCode) throws(InflateError) -> Int {
        let entry = code.fast.withUnsafeBufferPointer { $0[Int(bits & ((1 << UInt64(HuffmanCode.fastBits)) - 1))] }
        if entry != 0 {
            _ = take(Int(entry & 15))
            return Int(entry >> 4)
        }
        guard let (symbol, length) = code.slowDecode(bits) else { throw .badCode }
        _ = take(length)
        return symbol
    }

    /// A block coded with `literals` (literal bytes, end of block, lengths) and `distances`.
    private mutating func huffman(_ literals: HuffmanCode, _ distances: HuffmanCode, into output: inout InflateOutput) throws(InflateError) {
        while true {
            try refill()
            let symbol = try decodeSymbol(literals)
            if symbol < 256 {
                if output.count == output.capacity { try output.reserve(1) }
                output.base[output.count] = UInt8(truncatingIfNeeded: symbol)
                output.advance(1)
                continue
            }
            if symbol == 256 { return }
            let lengthCode = symbol - 257
            guard lengthCode < 29 else { throw .badCode }
            let length = Self.lengthBase.withUnsafeBufferPointer { Int($0[lengthCode]) }
                + take(Self.lengthExtra.withUnsafeBufferPointer { Int($0[lengthCode]) })
            let distanceCode = try decodeSymbol(distances)
            guard distanceCode < 30 else { throw .badCode }
            let distance = Self.distanceBase.withUnsafeBufferPointer { Int($0[distanceCode]) }
                + take(Self.distanceExtra.withUnsafeBufferPointer { Int($0[distanceCode]) })
            guard distance <= output.count - windowStart else { throw .distanceTooFar }
            if length > output.capacity - output.count { try output.reserve(length) }
            let to = output.base + output.count
            let from = to - distance
            if distance >= length {
                to.update(from: from, count: length)
            } else {
                // The match overlaps what it writes: byte by byte, so repeats repeat.
                for offset in 0..<length { to[offset] = from[offset] }
            }
            output.advance(length)
        }
    }
}
