#if canImport(Glibc)
import Glibc
#endif

/// Bytes written straight through a pointer into room made beforehand, for text put together in
/// large amounts a small piece at a time (query results): an array checks its capacity, and that
/// it is not shared, at every piece appended.
public final class TextBuffer: @unchecked Sendable {
    private var start: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    public private(set) var count = 0

    public init(capacity: Int = 1 << 12) {
        self.capacity = max(capacity, 16)
        start = .allocate(capacity: self.capacity)
    }

    deinit { start.deallocate() }

    /// The bytes written so far; valid until the next write.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: count) }

    /// Makes room for `room` more bytes and has `write` put down at most that many at the pointer
    /// it is given; keeps as many as it returns.
    @inline(__always)
    public func write(room: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Int) {
        if room > capacity - count { grow(toHold: count + room) }
        let written = write(start + count)
        precondition(written >= 0 && written <= room, "wrote past the room made")
        count += written
    }

    public func append(_ text: [UInt8]) {
        guard !text.isEmpty else { return }
        write(room: text.count) { destination in
            text.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: $0.count) }
            return text.count
        }
    }

    public func append(_ text: StaticString) {
        write(room: text.utf8CodeUnitCount) { destination in
            destination.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
            return text.utf8CodeUnitCount
        }
    }

    private func grow(toHold needed: Int) {
        let larger = max(needed, capacity * 2)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.moveInitialize(from: start, count: count)
        start.deallocate()
        start = moved
        capacity = larger
    }
}

extension Array where Element == UInt8 {
    /// Appends what `write` puts down (at most 64 bytes) through scratch memory on the stack:
    /// how the array appenders of number text share the pointer writers. `write` may decline by
    /// returning nil; then nothing is appended and the answer is false.
    @inlinable @discardableResult
    mutating func append(writtenBy write: (UnsafeMutablePointer<UInt8>) -> Int?) -> Bool {
        var scratch: (SIMD32<UInt8>, SIMD32<UInt8>) = (.zero, .zero)
        return Swift.withUnsafeMutableBytes(of: &scratch) { bytes in
            let start = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard let count = write(start) else { return false }
            append(contentsOf: UnsafeBufferPointer(start: start, count: count))
            return true
        }
    }
}
