import Glibc
import MetricLine

/// Samples from `*.prom` files in a directory, as node_exporter's textfile collector reads them
/// (write to a temporary name, then `mv`): with `node_textfile_mtime_seconds{file}` per file and
/// `node_textfile_scrape_error`. Files older than the TTL are left out, so a dead cron job's last
/// numbers do not live for ever.
struct TextfileCollector: Collector {
    let name = "textfile"
    let directory: String
    /// Milliseconds after which a file's samples are left out; nil keeps them.
    let ttl: Int64?

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        let names: [String]
        do { names = try StoreFile.list(directory).filter { $0.hasSuffix(".prom") } } catch { throw CollectError(error.message) }
        var failed = false
        let now = Clock.nowMilliseconds()
        for name in names {
            let path = directory + "/" + name
            var info = stat()
            guard stat(path, &info) == 0 else { failed = true; continue }
            let modified = Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
            if let ttl, now - modified > ttl { continue }
            let text: String
            do { text = try ProcFile.read(path) } catch {
                failed = true
                continue
            }
            var fileSamples: [Sample] = []
            var bad = false
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                do throws(LineError) {
                    if case .sample(let sample) = try ExpositionParser.parse(String(line)) {
                        // As node_exporter does, a file with timestamps is refused whole.
                        if sample.timestamp != nil { throw LineError("textfiles must not carry timestamps", column: 1) }
                        fileSamples.append(sample)
                    }
                } catch {
                    Diagnostics.writeStandardError("mcollect: \(path):\(number + 1): \(error.reason) (column \(error.column))\n")
                    bad = true
                    break
                }
            }
            if bad {
                failed = true
                continue
            }
            samples += fileSamples
            samples.append(Sample(name: "node_textfile_mtime_seconds", labels: [Label("file", path)], value: Double(modified) / 1000))
        }
        samples.append(Sample(name: "node_textfile_scrape_error", value: failed ? 1 : 0))
    }
}
