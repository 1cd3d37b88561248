import Glibc
import MetricLine

/// One source of this machine's metrics, named as node_exporter names its collectors.
protocol Collector: Sendable {
    var name: String { get }
    /// Adds samples (without timestamps) to `samples`; `root` is where /proc and /sys are.
    func collect(root: String, into samples: inout [Sample]) throws(CollectError)
}

/// A collector that could not read what it needs.
struct CollectError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Runs a network step (connect, request), its failure as a collector's.
func networkStep<Value>(_ body: () throws(NetworkError) -> Value) throws(CollectError) -> Value {
    do { return try body() } catch { throw CollectError(error.message) }
}

/// Reading small kernel files.
enum ProcFile {
    /// The whole file as text (files under /proc report a size of 0, so read until the end).
    static func read(_ path: String) throws(CollectError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CollectError("\(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CollectError("\(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The lines of a file, split into fields on blanks.
    static func fields(_ path: String) throws(CollectError) -> [[Substring]] {
        try read(path).split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }) }
    }
}

/// The collectors mcollect knows, in the order they run.
enum SystemCollectors {
    static let all: [Collector] = [CPUCollector(), LoadCollector(), MemoryCollector(), FilesystemCollector(),
                                   DiskCollector(), NetworkCollector(), NetworkClassCollector(), PressureCollector(), FileDescriptorCollector(),
                                   VMStatCollector(), UnameCollector(), TimeCollector()]

    /// Runs the enabled collectors; a failing one is reported in its self-metric and on stderr,
    /// and the others go on.
    static func collect(_ collectors: [Collector], root: String, diagnostics: Diagnostics) -> (samples: [Sample], failures: Int) {
        var samples: [Sample] = []
        var failures = 0
        for collector in collectors {
            let start = Clock.monotonicMicroseconds()
            var success = 1.0
            do { try collector.collect(root: root, into: &samples) } catch {
                diagnostics.warn("collector \(collector.name): \(error.message)")
                success = 0
                failures += 1
            }
            let seconds = Double(Clock.monotonicMicroseconds() - start) / 1e6
            samples.append(Sample(name: "node_scrape_collector_duration_seconds", labels: [Label("collector", collector.name)], value: seconds))
            samples.append(Sample(name: "node_scrape_collector_success", labels: [Label("collector", collector.name)], value: success))
        }
        return (samples, failures)
    }
}
