import MetricLine

/// `malert alerts`: lists the alerts pending and firing, from the state file a cron run keeps.
enum AlertsCommand {
    static let spec = CommandSpec(
        tool: "malert alerts",
        summary: "list the alerts pending and firing, as the last run left them in its state file",
        usage: ["[-s DIR | --state FILE] [--all] [--output-format table|tsv|json]"],
        options: [
            OptionSpec(["-s", "--store"], argument: "DIR", help: "read DIR/malert.state (the default state file of a run over DIR)"),
            OptionSpec(["--state"], argument: "FILE", help: "read the state file FILE"),
            OptionSpec(["--all"], help: "also list resolved alerts the state still remembers"),
            OptionSpec(["--output-format"], argument: "F", help: "table (default), tsv (state, active since, alertname, value, labels, summary; no header) or json (as Prometheus's /api/v1/alerts data)"),
        ],
        examples: ["malert alerts -s /var/lib/metrics", "malert alerts --state /var/lib/malert/state --output-format json"]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        let diagnostics = Diagnostics(tool: "malert")
        guard parsed.positionals.isEmpty else { spec.usageFailure(UsageError("unexpected argument '\(parsed.positionals[0])'")) }
        guard let path = parsed.value("--state") ?? parsed.value("--store").map({ $0 + "/malert.state" }) else {
            spec.usageFailure(UsageError("want a store (-s DIR) or a state file (--state FILE)"))
        }
        guard let format = AlertListing.Format(rawValue: parsed.value("--output-format") ?? "table") else {
            spec.usageFailure(UsageError("--output-format wants table, tsv or json"))
        }
        do {
            let alerts = try RuleStateFile.alerts(in: path, inactive: parsed.has("--all"))
            Diagnostics.writeStandardOutput(AlertListing.render(alerts, format: format))
            return ExitStatus.success
        } catch {
            diagnostics.warn(error.message)
            return ExitStatus.failure
        }
    }
}
