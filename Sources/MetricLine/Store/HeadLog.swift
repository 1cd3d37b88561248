#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The head log: an append-only file of checksummed records holding the samples of one time
/// window until they are sealed into a segment. Writer and reader sit side by side.
///
/// File: the magic `MSTHEAD1`, then records. A record is
/// `u32 length | u32 crc32c(payload) | payload | u32 length`; the trailing copy of the length lets
/// an appender check the last record from the end of the file without reading it all.
/// A payload starts with its type:
/// - 0 session: series numbers restart (every writing process starts a session);
/// - 1 series: `varint id`, `varint length`, the canonical `name{labels}` bytes;
/// - 2 samples: `varint count`, then per sample `varint id`, `zigzag varint` timestamp minus the
///   previous one in the record (the first from 0), `u64` little-endian value bits.
public enum HeadLog {
    static let magic: [UInt8] = Array("MSTHEAD1".utf8)
    static let recordOverhead = 12

    enum RecordType: UInt8 {
        case session = 0, series = 1, samples = 2
    }

    /// Finds where the valid records of `bytes` end: the length of the longest prefix made of the
    /// magic and whole records with good checksums.
    static func validLength(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard bytes.count >= magic.count, bytes.prefix(magic.count).elementsEqual(magic) else { return 0 }
        var offset = magic.count
        while let end = recordEnd(bytes, at: offset) { offset = end }
        return offset
    }

    /// The end of the record at `offset` if it is whole and its checksum matches.
    static func recordEnd(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int? {
        guard offset + recordOverhead <= bytes.count else { return nil }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let end = offset + recordOverhead + length
        guard length > 0, end <= bytes.count else { return nil }
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        let trailing = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: end - 4, as: UInt32.self)))
        guard trailing == length,
              CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)..<(end - 4)])) == crc else { return nil }
        return end
    }

    /// The samples of a head log, per canonical series key, in the order they were written.
    public struct Contents {
        /// Series in order of first appearance.
        public var keys: [[UInt8]] = []
        public var timestamps: [[Int64]] = []
        public var values: [[Double]] = []
        /// Bytes after the last good record (a torn write), if any.
        public var damagedBytes = 0
    }

    /// Reads a head log. A torn or damaged tail is counted in `damagedBytes`, not thrown: a reader
    /// sees everything up to the last whole record.
    public static func read(_ path: String) throws(StoreError) -> Contents {
        let bytes = try FileSystem.readAll(path)
        let result = bytes.withUnsafeBytes { raw in Result { () throws(StoreError) -> Contents in try parse(raw, path: path) } }
        return try result.get()
    }

    private static func parse(_ raw: UnsafeRawBufferPointer, path: String) throws(StoreError) -> Contents {
        guard raw.count >= magic.count, raw.prefix(magic.count).elementsEqual(magic) else {
            if raw.isEmpty { return Contents() }
            throw StoreError("\(path): not a head log (bad magic)")
        }
        var contents = Contents()
        var indexByKey: [[UInt8]: Int] = [:]
        var sessionSeries: [Int] = []  // session id -> index in contents
        var offset = magic.count
        while let end = recordEnd(raw, at: offset) {
            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: raw[(offset + 8)..<(end - 4)]))
            do throws(ByteReader.Truncated) {
                guard let type = RecordType(rawValue: raw[offset + 8]) else { throw ByteReader.Truncated() }
                reader.offset = 1
                switch type {
                case .session:
                    sessionSeries.removeAll(keepingCapacity: true)
                case .series:
                    let id = try reader.count()
                    let key = Array(try reader.data())
                    guard id == sessionSeries.count else { throw ByteReader.Truncated() }
                    if let known = indexByKey[key] {
                        sessionSeries.append(known)
                    } else {
                        indexByKey[key] = contents.keys.count
                        sessionSeries.append(contents.keys.count)
                        contents.keys.append(key)
                        contents.timestamps.append([])
                        contents.values.append([])
                    }
                case .samples:
                    let count = try reader.count()
                    var timestamp: Int64 = 0
                    for _ in 0..<count {
                        let id = try reader.count()
                        guard id < sessionSeries.count else { throw ByteReader.Truncated() }
                        timestamp = timestamp &+ (try reader.signed())
                        let bits = try reader.uint64()
                        let series = sessionSeries[id]
                        contents.timestamps[series].append(timestamp)
                        contents.values[series].append(Double(bitPattern: bits))
                    }
                }
            } catch {
                throw StoreError("\(path): record at byte \(offset) has a good checksum but bad contents")
            }
            offset = end
        }
        contents.damagedBytes = raw.count - offset
        return contents
    }

    /// Appends records to one head log file.
    public final class Writer {
        public let path: String
        private let descriptor: Int32
        /// File-local id of each series of the table this writer is fed from (-1: not yet written).
        @exclusivity(unchecked) private var localIDs: [Int32] = []
        @exclusivity(unchecked) private var nextLocalID: Int32 = 0
        /// Series records waiting to be written with the next samples record.
        @exclusivity(unchecked) private var pendingSeries = ByteWriter()
        /// The samples record being built.
        @exclusivity(unchecked) private var pendingSamples = ByteWriter()
        @exclusivity(unchecked) private var pendingCount = 0
        @exclusivity(unchecked) private var previousTimestamp: Int64 = 0
        /// Bytes written since the last fsync.
        public private(set) var unsynced = false
        /// Whether the file was cut back to its last whole record when opened.
        public private(set) var truncatedBytes = 0

        /// Opens (or creates) the log at `path` for appending, cutting off a torn tail first.
        public init(path: String) throws(StoreError) {
            self.path = path
            descriptor = try FileSystem.open(path, O_RDWR | O_CREAT)
            var info = stat()
            guard fstat(descriptor, &info) == 0 else {
                close(descriptor)
                throw .system(path, "cannot stat")
            }
            let size = Int64(info.st_size)
            do throws(StoreError) {
                if size == 0 {
                    try FileSystem.write(descriptor, HeadLog.magic, path: path)
                } else if try !lastRecordIsWhole(size: size) {
                    let bytes = try FileSystem.read(descriptor, count: Int(size), at: 0, path: path)
                    let valid = bytes.withUnsafeBytes { HeadLog.validLength($0) }
                    guard valid >= HeadLog.magic.count else { throw StoreError("\(path): not a head log (bad magic)") }
                    try FileSystem.truncate(descriptor, to: Int64(valid), path: path)
                    truncatedBytes = Int(size) - valid
                }
                lseek(descriptor, 0, SEEK_END)
                pendingSeries.bytes.append(contentsOf: Writer.record(type: .session, body: []))
            } catch {
                close(descriptor)
                throw error
            }
        }

        deinit { close(descriptor) }

        /// Checks the last record from the end of the file, using its trailing length.
        private func lastRecordIsWhole(size: Int64) throws(StoreError) -> Bool {
            let magicCount = Int64(HeadLog.magic.count)
            if size == magicCount { return true }
            guard size >= magicCount + Int64(HeadLog.recordOverhead) else { return false }
            let tail = try FileSystem.read(descriptor, count: 4, at: size - 4, path: path)
            let length = Int64(tail.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) })
            let start = size - Int64(HeadLog.recordOverhead) - length
            guard length > 0, start >= magicCount else { return false }
            let record = try FileSystem.read(descriptor, count: Int(size - start), at: start, path: path)
            return record.withUnsafeBytes { HeadLog.recordEnd($0, at: 0) == record.count }
        }

        /// Adds a sample of `series` (an id in the caller's table, whose canonical key is `key`).
        @inline(__always)
        public func append(series: SeriesID, key: () -> UnsafeBufferPointer<UInt8>, timestamp: Int64, value: Double) {
            let index = Int(series)
            if index >= localIDs.count { localIDs.append(contentsOf: repeatElement(-1, count: index - localIDs.count + 1)) }
            var local = localIDs[index]
            if local < 0 {
                local = nextLocalID
                nextLocalID += 1
                localIDs[index] = local
                var body = ByteWriter()
                body.varint(Int(local))
                body.data(key())
                pendingSeries.bytes.append(contentsOf: Writer.record(type: .series, body: body.bytes))
            }
            pendingSamples.varint(Int(local))
            pendingSamples.signed(timestamp &- previousTimestamp)
            pendingSamples.uint64(value.bitPattern)
            previousTimestamp = timestamp
            pendingCount += 1
        }

        /// Whether there are samples not yet written.
        public var hasPending: Bool { pendingCount > 0 }

        /// Writes the pending series records, then the samples as one record. The samples are
        /// written from where they were collected, with the record's header and trailer around
        /// them, not copied into a record first: a commit can hold a million samples.
        public func write() throws(StoreError) {
            guard pendingCount > 0 else { return }
            var prefix = ByteWriter()
            prefix.bytes.append(RecordType.samples.rawValue)
            prefix.varint(pendingCount)
            let length = prefix.bytes.count + pendingSamples.bytes.count
            let crc = pendingSamples.bytes.withUnsafeBytes { CRC32C.checksum($0, continuing: CRC32C.checksum(prefix.bytes)) }
            var header = ByteWriter()
            header.uint32(UInt32(length))
            header.uint32(crc)
            header.bytes.append(contentsOf: prefix.bytes)
            var trailer = ByteWriter()
            trailer.uint32(UInt32(length))
            if !pendingSeries.bytes.isEmpty { try FileSystem.write(descriptor, pendingSeries.bytes, path: path) }
            try FileSystem.write(descriptor, header.bytes, path: path)
            try FileSystem.write(descriptor, pendingSamples.bytes, path: path)
            try FileSystem.write(descriptor, trailer.bytes, path: path)
            pendingSeries.bytes.removeAll(keepingCapacity: true)
            pendingSamples.bytes.removeAll(keepingCapacity: true)
            pendingCount = 0
            previousTimestamp = 0
            unsynced = true
        }

        /// Makes everything written durable.
        public func sync() throws(StoreError) {
            guard unsynced else { return }
            try FileSystem.sync(descriptor, path: path)
            unsynced = false
        }

        static func record(type: RecordType, body: [UInt8]) -> [UInt8] {
            let length = 1 + body.count
            var record = ByteWriter()
            record.bytes.reserveCapacity(length + HeadLog.recordOverhead)
            record.uint32(UInt32(length))
            record.uint32(0)  // the checksum, filled in below
            record.bytes.append(type.rawValue)
            record.bytes.append(contentsOf: body)
            let crc = record.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[8...])) }
            withUnsafeBytes(of: crc.littleEndian) { crcBytes in
                for index in 0..<4 { record.bytes[4 + index] = crcBytes[index] }
            }
            record.uint32(UInt32(length))
            return record.bytes
        }
    }
}
