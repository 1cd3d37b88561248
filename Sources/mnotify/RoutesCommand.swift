import MetricLine

/// `mnotify routes --labels '...'`: which receivers an alert would reach, and why.
enum RoutesCommand {
    static let spec = CommandSpec(
        tool: "mnotify routes",
        summary: "show which routes and receivers an alert with the given labels reaches, and why",
        usage: ["-c FILE --labels 'alertname=X,severity=page'"],
        options: [
            OptionSpec(["-c", "--config"], argument: "FILE", help: "the configuration (default /etc/mnotify.yml)"),
            OptionSpec(["--labels"], argument: "LABELS", help: "the alert's labels: name=value pairs separated by commas"),
        ],
        examples: ["mnotify routes -c /etc/mnotify.yml --labels 'alertname=DiskFull,severity=page,instance=web01'"]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        guard let text = parsed.value("--labels") else { spec.usageFailure(UsageError("--labels is required")) }
        let labels: LabelSet
        do { labels = try AlertMatchers.labels(text) } catch { spec.usageFailure(UsageError(error.message)) }
        let path = parsed.value("--config") ?? "/etc/mnotify.yml"
        let config: NotifyConfig
        do { config = try NotifyConfig.load(path) } catch {
            error.problems.forEach { Diagnostics(tool: "mnotify").warn($0.description) }
            return ExitStatus.failure
        }
        var lines = ["alert " + NotifyConfigReaderText.braced(labels)]
        lines += config.route.explain(labels, file: path)
        let taken = config.route.routes(for: labels)
        lines.append("")
        lines.append("receivers: " + taken.map { "\"\($0.receiver)\"" }.joined(separator: ", "))
        for rule in config.inhibitRules where AlertMatchers.matches(rule.target, labels) {
            lines.append("may be inhibited while an alert matching {\(rule.source.map(\.description).joined(separator: ","))} fires"
                         + (rule.equal.isEmpty ? "" : " with the same \(rule.equal.joined(separator: ", "))"))
        }
        Diagnostics.writeStandardOutput(lines.joined(separator: "\n") + "\n")
        return ExitStatus.success
    }
}

/// How label sets are printed in mnotify's explanations.
enum NotifyConfigReaderText {
    static func braced(_ labels: LabelSet) -> String {
        "{" + labels.map { LabelMatcher.equal($0.name, $0.value).description }.joined(separator: ",") + "}"
    }
}
