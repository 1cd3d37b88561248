// Measures the chunk codec on a sample file: bytes per sample by window length and by metric
// family, encode and decode speed, and that every value reads back bit for bit.
// Built by scripts/bench/compress against the release objects of MetricLine.
import Glibc
import MetricLine

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

let path = CommandLine.arguments[1]
let windowHours = CommandLine.arguments.dropFirst(2).compactMap { Int($0) }
let descriptor = open(path, O_RDONLY)
let decoder = SampleDecoder()
var timestamps: [[Int64]] = []
var values: [[Double]] = []
var reader = LineReader(descriptor: descriptor, bufferSize: 1 << 20)
reader.forEachLine { line, _ in
    guard case .text(let bytes) = line, case .sample(let sample)? = try? decoder.decode(bytes) else { return true }
    let series = Int(sample.series)
    if series == timestamps.count { timestamps.append([]); values.append([]) }
    timestamps[series].append(sample.timestamp ?? 0)
    values[series].append(sample.value)
    return true
}
let total = timestamps.reduce(0) { $0 + $1.count }
print("series=\(timestamps.count) samples=\(total)")

for hours in windowHours.isEmpty ? [2, 24] : windowHours {
    let window = Int64(hours) * 3_600_000
    var bytesByFamily: [String: (bytes: Int, samples: Int)] = [:]
    var totalBytes = 0
    var chunks = 0
    var encodeSeconds = 0.0
    var decodeSeconds = 0.0
    var mismatches = 0
    for series in 0..<timestamps.count {
        let name = decoder.series.key(SeriesID(series)).name
        var start = 0
        while start < timestamps[series].count {
            let windowStart = timestamps[series][start] - ((timestamps[series][start] % window) + window) % window
            var end = start
            while end < timestamps[series].count && timestamps[series][end] < windowStart + window { end += 1 }
            let chunkTimes = Array(timestamps[series][start..<end])
            let chunkValues = Array(values[series][start..<end])
            let t0 = cpuSeconds()
            let encoded = ChunkCodec.encode(timestamps: chunkTimes, values: chunkValues)
            let t1 = cpuSeconds()
            let decoded = encoded.withUnsafeBufferPointer { ChunkCodec.decode($0) }
            decodeSeconds += cpuSeconds() - t1
            encodeSeconds += t1 - t0
            if decoded.timestamps != chunkTimes || decoded.values.map(\.bitPattern) != chunkValues.map(\.bitPattern) {
                mismatches += 1
                if mismatches <= 3 {
                    let firstTime = (0..<chunkTimes.count).first { decoded.timestamps.count <= $0 || decoded.timestamps[$0] != chunkTimes[$0] }
                    let firstValue = (0..<chunkValues.count).first { decoded.values.count <= $0 || decoded.values[$0].bitPattern != chunkValues[$0].bitPattern }
                    print("mismatch in \(name): samples \(chunkTimes.count), first bad time \(firstTime.map(String.init) ?? "-"), first bad value \(firstValue.map { "\($0): \(chunkValues[$0]) vs \(decoded.values.count > $0 ? decoded.values[$0] : .nan)" } ?? "-")")
                }
            }
            totalBytes += encoded.count
            chunks += 1
            bytesByFamily[name, default: (0, 0)].bytes += encoded.count
            bytesByFamily[name, default: (0, 0)].samples += end - start
            start = end
        }
    }
    print("window=\(hours)h chunks=\(chunks) bytes=\(totalBytes) bytes_per_sample=\(Double(totalBytes) / Double(total)) mismatched_chunks=\(mismatches) encode_M_samples_per_s=\(Double(total) / encodeSeconds / 1e6) decode_M_samples_per_s=\(Double(total) / decodeSeconds / 1e6)")
    for (name, entry) in bytesByFamily.sorted(by: { $0.value.bytes > $1.value.bytes }) {
        print("  \(name): \(entry.bytes) bytes, \(Double(entry.bytes) / Double(entry.samples)) bytes/sample, share \(Int(100 * Double(entry.bytes) / Double(totalBytes)))%")
    }
}
