/// Appends the store's fixed-width and variable-length integers to a byte array.
public struct ByteWriter {
    public var bytes: [UInt8] = []

    public init() {}

    @inline(__always)
    public mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    @inline(__always)
    public mutating func varint(_ value: Int) { varint(UInt64(value)) }

    /// A signed integer, zigzag-encoded so small magnitudes take few bytes.
    @inline(__always)
    public mutating func signed(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    public mutating func uint32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func uint64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A length-prefixed byte string.
    public mutating func data<C: Collection>(_ data: C) where C.Element == UInt8 {
        varint(data.count)
        bytes.append(contentsOf: data)
    }
}

/// Reads what `ByteWriter` wrote. Every read checks the bounds and throws on truncated or
/// damaged input instead of trapping.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public var offset: Int

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public struct Truncated: Error {}

    public var atEnd: Bool { offset >= bytes.count }

    @inline(__always)
    public mutating func varint() throws(Truncated) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count, shift < 64 else { throw Truncated() }
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    /// A varint that must fit in a non-negative Int no larger than `limit`.
    @inline(__always)
    public mutating func count(limit: Int = Int(Int32.max)) throws(Truncated) -> Int {
        let value = try varint()
        guard value <= UInt64(limit) else { throw Truncated() }
        return Int(value)
    }

    @inline(__always)
    public mutating func signed() throws(Truncated) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    public mutating func uint32() throws(Truncated) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw Truncated() }
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    public mutating func uint64() throws(Truncated) -> UInt64 {
        guard offset + 8 <= bytes.count else { throw Truncated() }
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// A length-prefixed byte string, as a slice of the input.
    public mutating func data() throws(Truncated) -> UnsafeRawBufferPointer {
        let length = try count()
        guard offset + length <= bytes.count else { throw Truncated() }
        defer { offset += length }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
    }
}
