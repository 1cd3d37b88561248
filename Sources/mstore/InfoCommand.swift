import MetricLine

/// `mstore info DIR`: what a store holds and what it costs on disk.
enum InfoCommand {
    static let spec = CommandSpec(
        tool: "mstore info",
        summary: "print series, samples, time range, bytes on disk and bytes per sample of a store",
        usage: ["DIR"],
        options: [],
        examples: ["mstore info /var/lib/metrics"]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        guard parsed.positionals.count == 1 else { spec.usageFailure(UsageError("want exactly one store directory")) }
        let diagnostics = Diagnostics(tool: "mstore")
        guard let reader = openStore(parsed.positionals[0], diagnostics: diagnostics) else { return ExitStatus.failure }
        var series = Set<[UInt8]>()
        var segmentSamples = 0
        var segmentBytes: Int64 = 0
        var minTime = Int64.max
        var maxTime = Int64.min
        for segment in reader.segments {
            for number in 0..<segment.seriesCount {
                let key = segment.key(number)
                var canonical: [UInt8] = []
                ExpositionWriter.appendSeriesKey(name: key.name, labels: key.labels, to: &canonical)
                series.insert(canonical)
            }
            segmentSamples += segment.sampleCount
            segmentBytes += segment.fileSize
            minTime = min(minTime, segment.minTime)
            maxTime = max(maxTime, segment.maxTime)
        }
        var headSamples = 0
        var headBytes: Int64 = 0
        for head in reader.heads {
            headBytes += reader.headBytes(head.path)
            for (index, key) in head.contents.keys.enumerated() {
                series.insert(key)
                let times = head.contents.timestamps[index]
                headSamples += times.count
                if let first = times.min(), let last = times.max() {
                    minTime = min(minTime, first)
                    maxTime = max(maxTime, last)
                }
            }
        }
        let samples = segmentSamples + headSamples
        let total = segmentBytes + headBytes
        var lines: [(String, String)] = [
            ("store", reader.layout.directory),
            ("series", "\(series.count)"),
            ("samples", "\(samples)"),
            ("time range", minTime <= maxTime ? "\(Timestamp.rfc3339(minTime)) .. \(Timestamp.rfc3339(maxTime))" : "-"),
            ("segments", "\(reader.segments.count): \(segmentBytes) bytes, \(segmentSamples) samples" + perSample(segmentBytes, segmentSamples)),
            ("head logs", "\(reader.heads.count): \(headBytes) bytes, \(headSamples) samples"),
            ("bytes on disk", "\(total)"),
        ]
        if samples > 0 { lines.append(("bytes per sample", format(Double(total) / Double(samples)))) }
        for step in (try? reader.layout.rollupSteps()) ?? [] {
            guard let rollups = try? StoreReader(directory: reader.layout.directory, rollup: step) else { continue }
            let bytes = rollups.segments.reduce(Int64(0)) { $0 + $1.fileSize }
            let points = rollups.segments.reduce(0) { $0 + $1.sampleCount } / Rollup.Statistic.allCases.count
            let first = rollups.segments.map(\.minTime).min(), last = rollups.segments.map(\.maxTime).max()
            let range = first.map { Timestamp.rfc3339($0) + " .. " + Timestamp.rfc3339(last!) } ?? "-"
            lines.append(("rollups " + Duration.text(step), "\(rollups.segments.count) segments, \(bytes) bytes, \(points) points, \(range)"))
        }
        var text = ""
        for (label, value) in lines { text += (label + ":").padding(18) + value + "\n" }
        Diagnostics.writeStandardOutput(text)
        reader.problems.forEach(diagnostics.warn)
        return reader.problems.isEmpty ? ExitStatus.success : ExitStatus.failure
    }

    private static func perSample(_ bytes: Int64, _ samples: Int) -> String {
        samples > 0 ? " (\(format(Double(bytes) / Double(samples))) bytes per sample)" : ""
    }

    private static func format(_ value: Double) -> String {
        FloatFormatter.string((value * 1000).rounded() / 1000)
    }
}

extension String {
    /// The string followed by blanks up to `width` characters.
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

/// Opens the store at `path` for reading, or reports why not.
func openStore(_ path: String, rollup: Int64? = nil, diagnostics: Diagnostics) -> StoreReader? {
    do {
        return try StoreReader(directory: path, rollup: rollup)
    } catch {
        diagnostics.warn(error.message)
        return nil
    }
}
