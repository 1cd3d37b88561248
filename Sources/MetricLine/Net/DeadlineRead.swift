#if canImport(Glibc)
import Glibc
#endif

/// Reading a pipe or socket to its end within a deadline, as probes and scrapes do.
public enum DeadlineRead {
    public enum Outcome: Sendable { case end, timedOut, failed(Int32) }

    /// Reads `descriptor` until end of file, a read error or `deadline` (Unix milliseconds),
    /// handing each chunk to `body`; `body` stops the reading by throwing.
    public static func read<Failure: Error>(_ descriptor: Int32, until deadline: Int64,
                                            _ body: (ArraySlice<UInt8>) throws(Failure) -> Void) throws(Failure) -> Outcome {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let left = deadline - Clock.nowMilliseconds()
            guard left > 0 else { return .timedOut }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left, 1000)))
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failed(errno)
            }
            if count == 0 { return .end }
            try body(buffer[0..<count])
        }
    }
}
