/// A reflected CRC-32 for one polynomial, computed eight bytes at a time with eight tables.
public struct CRC32Code: Sendable {
    private let tables: [UInt32]

    public init(reflectedPolynomial polynomial: UInt32) {
        var tables = [UInt32](repeating: 0, count: 16 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
            tables[byte] = crc
        }
        for byte in 0..<256 {
            for table in 1..<16 {
                let previous = tables[(table - 1) * 256 + byte]
                tables[table * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        self.tables = tables
    }

    /// The checksum of `bytes`, continuing from `crc` (the checksum of what came before).
    public func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var crc = ~crc
        var index = 0
        let count = bytes.count
        tables.withUnsafeBufferPointer { table in
            // Sixteen bytes a round: one table per byte position, so the lookups of a round
            // do not wait on each other, only on the round before.
            while index + 16 <= count {
                let low = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self).littleEndian ^ UInt64(crc)
                let high = bytes.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self).littleEndian
                crc = table[15 * 256 + Int(low & 0xFF)] ^ table[14 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[13 * 256 + Int((low >> 16) & 0xFF)] ^ table[12 * 256 + Int((low >> 24) & 0xFF)]
                    ^ table[11 * 256 + Int((low >> 32) & 0xFF)] ^ table[10 * 256 + Int((low >> 40) & 0xFF)]
                    ^ table[9 * 256 + Int((low >> 48) & 0xFF)] ^ table[8 * 256 + Int(low >> 56)]
                    ^ table[7 * 256 + Int(high & 0xFF)] ^ table[6 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((high >> 16) & 0xFF)] ^ table[4 * 256 + Int((high >> 24) & 0xFF)]
                    ^ table[3 * 256 + Int((high >> 32) & 0xFF)] ^ table[2 * 256 + Int((high >> 40) & 0xFF)]
                    ^ table[1 * 256 + Int((high >> 48) & 0xFF)] ^ table[Int(high >> 56)]
                index += 16
            }
            while index + 8 <= count {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self).littleEndian ^ UInt64(crc)
                crc = table[7 * 256 + Int(word & 0xFF)] ^ table[6 * 256 + Int((word >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((word >> 16) & 0xFF)] ^ table[4 * 256 + Int((word >> 24) & 0xFF)]
                    ^ table[3 * 256 + Int((word >> 32) & 0xFF)] ^ table[2 * 256 + Int((word >> 40) & 0xFF)]
                    ^ table[1 * 256 + Int((word >> 48) & 0xFF)] ^ table[Int(word >> 56)]
                index += 8
            }
            while index < count {
                crc = table[Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        return ~crc
    }

    /// The checksum of `bytes`.
    public func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}

/// CRC-32C (Castagnoli), the checksum of every head-log record and segment section: it catches
/// torn writes and flipped bits.
public enum CRC32C {
    private static let code = CRC32Code(reflectedPolynomial: 0x82F6_3B78)

    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 { code.checksum(bytes, continuing: crc) }
    public static func checksum(_ bytes: [UInt8]) -> UInt32 { code.checksum(bytes) }
}

/// CRC-32 with the IEEE polynomial, gzip's checksum.
public enum CRC32 {
    private static let code = CRC32Code(reflectedPolynomial: 0xEDB8_8320)

    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 { code.checksum(bytes, continuing: crc) }
    public static func checksum(_ bytes: [UInt8]) -> UInt32 { code.checksum(bytes) }
}
