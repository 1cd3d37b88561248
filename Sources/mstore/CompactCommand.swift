import MetricLine

/// `mstore compact DIR`: merges finished days into one segment each, applies retention.
enum CompactCommand {
    static let spec = CommandSpec(
        tool: "mstore compact",
        summary: "merge each finished day's segments into one and remove data past the retention",
        usage: ["DIR [--retention D]"],
        options: [
            OptionSpec(["--retention"], argument: "D", help: "remove segments whose newest sample is older than D before the store's newest sample (e.g. 30d)"),
        ],
        examples: ["mstore compact /var/lib/metrics --retention 90d     # daily, from cron or a timer"]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        guard parsed.positionals.count == 1 else { spec.usageFailure(UsageError("want exactly one store directory")) }
        var retention: Int64?
        if let text = parsed.value("--retention") {
            guard let duration = Duration.milliseconds(text), duration > 0 else { spec.usageFailure(UsageError("--retention wants a duration, not '\(text)'")) }
            retention = duration
        }
        let diagnostics = Diagnostics(tool: "mstore")
        do {
            let writer = try StoreWriter(directory: parsed.positionals[0])
            let report = try writer.compact(retention: retention)
            writer.warnings.forEach(diagnostics.warn)
            let written = report.merged.reduce(Int64(0)) { $0 + $1.bytes }
            Diagnostics.writeStandardOutput("merged \(report.inputs) segments into \(report.merged.count) (\(written) bytes); removed \(report.expired.count) past the retention\n")
            return ExitStatus.success
        } catch {
            diagnostics.warn(error.message)
            return ExitStatus.failure
        }
    }
}
