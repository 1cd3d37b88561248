import MetricLine

/// `mstore dump DIR`: prints samples back out, series by series in canonical order.
enum DumpCommand {
    static let spec = CommandSpec(
        tool: "mstore dump",
        summary: "print a store's samples as lines, series by series",
        usage: ["DIR [--from T] [--to T] [--match SELECTOR]... [--rollup STEP] [--output-format F]"],
        options: [
            OptionSpec(["--from"], argument: "T", help: "first time (RFC 3339, Unix seconds, now, -1h); default: the beginning"),
            OptionSpec(["--to"], argument: "T", help: "last time; default: the end"),
            OptionSpec(["--match"], argument: "SELECTOR", help: "only series matching SELECTOR, e.g. 'up{job=\"node\"}'; repeat for more (any matches)"),
            OptionSpec(["--rollup"], argument: "STEP", help: "print the rollups of STEP (min, max, sum, count, last, told apart by the label __rollup__)"),
            OptionSpec(["--no-stale"], help: "leave out staleness markers (for systems that take no such value)"),
            .outputFormat,
        ],
        examples: [
            "mstore dump /var/lib/metrics --match node_load1 --from -1h",
            "mstore dump DIR --output-format openmetrics > backfill.om",
            "mstore dump DIR --rollup 1h --match 'node_load1{__rollup__=\"max\"}' --from -30d",
        ]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        guard parsed.positionals.count == 1 else { spec.usageFailure(UsageError("want exactly one store directory")) }
        let now = Clock.nowMilliseconds()
        func time(_ option: String, _ fallback: Int64) -> Int64 {
            guard let text = parsed.value(option) else { return fallback }
            guard let value = Timestamp.parse(text, now: now) else { spec.usageFailure(UsageError("\(option): cannot read '\(text)' as a time")) }
            return value
        }
        let from = time("--from", .min)
        let to = time("--to", .max)
        var selectors: [[LabelMatcher]] = []
        for text in parsed.values("--match") {
            do { selectors.append(try SelectorParser.parse(text)) } catch {
                spec.usageFailure(UsageError("--match '\(text)': \(error.reason) (column \(error.column))"))
            }
        }
        let format: SampleFormat
        do { format = try parsed.format("--output-format") } catch { spec.usageFailure(error) }
        let diagnostics = Diagnostics(tool: "mstore")
        var rollup: Int64?
        if let text = parsed.value("--rollup") {
            guard let step = Duration.milliseconds(text), step > 0 else { spec.usageFailure(UsageError("--rollup wants a step such as 5m, not '\(text)'")) }
            rollup = step
        }
        guard let reader = openStore(parsed.positionals[0], rollup: rollup, diagnostics: diagnostics) else { return ExitStatus.failure }
        var output = OutputBuffer(tool: "mstore")
        var encoder = format.makeEncoder()
        var unwritable = 0
        encoder.start(into: &output.bytes)
        var seen = Set<String>()
        let keepStale = !parsed.has("--no-stale")
        for matchers in selectors.isEmpty ? [[]] : selectors {
            reader.forEachSeries(matching: matchers, from: from, to: to) { key, timestamps, values in
                if selectors.count > 1 {
                    // A series matched by several selectors is printed once.
                    guard seen.insert(ExpositionWriter.seriesKey(name: key.name, labels: Sample.canonicalLabels(key.labels))).inserted else { return }
                }
                for index in timestamps.indices where keepStale || values[index].bitPattern != StaleMarker.bitPattern {
                    let sample = Sample(name: key.name, labels: key.labels, value: values[index], timestamp: timestamps[index])
                    if !encoder.encode(.sample(sample), into: &output.bytes) { unwritable += 1 }
                    output.flushIfFull()
                }
            }
            if Interrupt.requested { break }
        }
        encoder.end(into: &output.bytes)
        output.flush()
        if unwritable > 0 { diagnostics.warn("left out \(unwritable) samples that \(format.rawValue) cannot carry") }
        reader.problems.forEach(diagnostics.warn)
        return reader.problems.isEmpty && unwritable == 0 ? ExitStatus.success : ExitStatus.failure
    }
}
