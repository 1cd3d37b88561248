// Measures MetricLine's sample-line decoding on one core: lines -> (series id, value, timestamp),
// and decoding plus canonical re-writing. Built by scripts/bench/parse against the objects of
// the release build of MetricLine, so it measures the library exactly as the tools link it.
import Glibc
import MetricLine

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

func wallSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

let arguments = CommandLine.arguments
guard arguments.count == 3, arguments[1] == "decode" || arguments[1] == "rewrite" else {
    print("usage: parse_lines decode|rewrite FILE")
    exit(2)
}
let rewrite = arguments[1] == "rewrite"
let descriptor = open(arguments[2], O_RDONLY)
guard descriptor >= 0 else { print("cannot open \(arguments[2])"); exit(1) }
let sink = open("/dev/null", O_WRONLY)

let decoder = SampleDecoder()
var reader = LineReader(descriptor: descriptor, bufferSize: 1 << 20)
var output: [UInt8] = []
output.reserveCapacity(1 << 17)
var samples = 0
var bad = 0
var checksum: UInt64 = 0
let cpuStart = cpuSeconds()
let wallStart = wallSeconds()
reader.forEachLine { line, _ in
    guard case .text(let bytes) = line else { bad += 1; return true }
    do {
        if case .sample(let sample) = try decoder.decode(bytes) {
            samples += 1
            checksum &+= UInt64(sample.series) &+ sample.value.bitPattern &+ UInt64(bitPattern: sample.timestamp ?? 0)
            if rewrite {
                decoder.series.withCanonicalKey(sample.series) { output.append(contentsOf: $0) }
                ExpositionWriter.appendValueAndTimestamp(sample.value, sample.timestamp, to: &output)
                if output.count >= 1 << 16 {
                    _ = output.withUnsafeBytes { write(sink, $0.baseAddress, $0.count) }
                    output.removeAll(keepingCapacity: true)
                }
            }
        }
    } catch {
        bad += 1
    }
    return true
}
_ = output.withUnsafeBytes { write(sink, $0.baseAddress, $0.count) }
let cpu = cpuSeconds() - cpuStart
let wall = wallSeconds() - wallStart
print("mode=\(arguments[1]) lines=\(samples) bad=\(bad) series=\(decoder.series.count) cpu_s=\(cpu) wall_s=\(wall) lines_per_cpu_s=\(Int(Double(samples) / cpu)) checksum=\(checksum)")
