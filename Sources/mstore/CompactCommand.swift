import MetricLine

/// `mstore compact DIR`: merges finished days into one segment each, applies retention.
enum CompactCommand {
    static let spec = CommandSpec(
        tool: "mstore compact",
        summary: "merge each finished day's segments into one, make rollups, and remove data past its retention",
        usage: ["DIR [--retention D] [--policy FILE]"],
        options: [
            OptionSpec(["--retention"], argument: "D", help: "keep raw samples for D (e.g. 30d), counted back from the store's newest sample"),
            OptionSpec(["--policy"], argument: "FILE", help: "retention per tier and selector, and rollups to make (see below)"),
        ],
        examples: [
            "mstore compact /var/lib/metrics --retention 90d     # daily, from cron or a timer",
            "mstore compact /var/lib/metrics --policy /etc/mstore/policy",
        ],
        notes: ["""
            A policy file has one rule per line, the last matching one deciding for a series:
              raw 15d                 # raw samples: 15 days
              rollup 5m 90d           # 5-minute min/max/sum/count/last: 90 days
              rollup 1h 2y            # 1-hour rollups: 2 years
              {job="batch"} raw 2d    # batch jobs' raw samples: 2 days
            """]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        guard parsed.positionals.count == 1 else { spec.usageFailure(UsageError("want exactly one store directory")) }
        let diagnostics = Diagnostics(tool: "mstore")
        var policy = RetentionPolicy()
        if let path = parsed.value("--policy") {
            do {
                let bytes = try StoreFile.readAll(path)
                policy = try RetentionPolicy.parse(String(decoding: bytes, as: UTF8.self), source: path)
            } catch {
                diagnostics.warn(error.message)
                return ExitStatus.failure
            }
        }
        if let text = parsed.value("--retention") {
            guard let duration = Duration.milliseconds(text), duration > 0 else { spec.usageFailure(UsageError("--retention wants a duration, not '\(text)'")) }
            // First, so that the policy file's own raw rules override it.
            policy.rules.insert(RetentionPolicy.Rule(selector: nil, tier: .raw, retention: duration), at: 0)
        }
        do {
            let writer = try StoreWriter(directory: parsed.positionals[0])
            let progress = Progress(tool: "mstore compact", label: "")
            defer { progress.finish() }
            let report = try writer.compact(policy: policy) { label, done, total in
                progress.label = label
                progress.update(count: Int64(done), done: Int64(done), total: Int64(total))
            }
            progress.finish()
            writer.warnings.forEach(diagnostics.warn)
            let written = report.merged.reduce(Int64(0)) { $0 + $1.bytes }
            var summary = "merged \(report.inputs) segments into \(report.merged.count) (\(written) bytes)"
            if !policy.rollupSteps.isEmpty { summary += "; wrote \(report.rollups.count) rollup segments" }
            summary += "; retention removed \(report.expired.count) segments and trimmed \(report.trimmed.count)\n"
            Diagnostics.writeStandardOutput(summary)
            return ExitStatus.success
        } catch {
            diagnostics.warn(error.message)
            return ExitStatus.failure
        }
    }
}
