// Measures MetricLine's gzip decoder on one file: the best of several runs, as megabytes of
// output (and of input) per second, and checks the output against a plain copy.
// Built by scripts/bench/inflate against the release objects of MetricLine.
import Glibc
import MetricLine

func wallSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func contents(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { print("cannot open \(path)"); exit(1) }
    defer { fclose(file) }
    fseek(file, 0, SEEK_END)
    var bytes = [UInt8](repeating: 0, count: ftell(file))
    fseek(file, 0, SEEK_SET)
    _ = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
    return bytes
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    print("usage: inflate FILE.gz FILE")
    exit(2)
}
let compressed = contents(arguments[1])
let plain = contents(arguments[2])
var best = Double.infinity
for _ in 0..<9 {
    let start = wallSeconds()
    guard let output = try? Inflate.gunzip(compressed) else { print("decoding failed"); exit(1) }
    best = min(best, wallSeconds() - start)
    guard output == plain else { print("output differs from \(arguments[2])"); exit(1) }
}
print("in=\(compressed.count) out=\(plain.count) best_ms=\(Int(best * 1000)) out_mb_per_s=\(Int(Double(plain.count) / best / 1e6)) in_mb_per_s=\(Int(Double(compressed.count) / best / 1e6))")
