import MetricLine

/// `mnotify check FILE...`: validates configurations, every problem with its position.
enum CheckCommand {
    static let spec = CommandSpec(
        tool: "mnotify check",
        summary: "check mnotify configurations (Alertmanager's format: route, receivers, inhibit_rules, time_intervals)",
        usage: ["FILE..."],
        options: [],
        examples: ["mnotify check /etc/mnotify.yml"],
        notes: ["Exit status: 0 every file is valid, 1 a file has problems, 2 usage."]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        guard !parsed.positionals.isEmpty else { spec.usageFailure(UsageError("want at least one configuration file")) }
        var failed = false
        var report = ""
        for path in parsed.positionals {
            report += "Checking \(path)\n"
            do {
                let config = try NotifyConfig.load(path)
                report += "  SUCCESS: \(config.receivers.count) receivers, \(routeCount(config.route)) routes, \(config.inhibitRules.count) inhibit rules, \(config.timeIntervals.count) time intervals\n"
                for receiver in config.receivers where receiver.integrationCount == 0 {
                    report += "  note: receiver \"\(receiver.name)\" has no integrations; alerts routed to it are dropped\n"
                }
                for note in config.notes { report += "  note: \(note)\n" }
            } catch {
                failed = true
                report += "  FAILED:\n" + error.problems.map { "\($0)\n" }.joined()
            }
        }
        Diagnostics.writeStandardOutput(report)
        return failed ? ExitStatus.failure : ExitStatus.success
    }

    static func routeCount(_ route: Route) -> Int { 1 + route.routes.reduce(0) { $0 + routeCount($1) } }
}
