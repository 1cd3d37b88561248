import MetricLine

/// `mnotify log`: prints the audit log, what was silenced, acknowledged and delivered, by whom.
enum LogCommand {
    static let spec = CommandSpec(
        tool: "mnotify log",
        summary: "print the audit log: silences, acknowledgements and delivery attempts, with time, user and outcome",
        usage: ["[--since T] [--state DIR]"],
        options: [
            OptionSpec(["--since"], argument: "T", help: "only lines from T on: RFC 3339, Unix seconds, or relative (-1h, -7d)"),
            SilenceCommand.state,
        ],
        examples: ["mnotify log --since -1d", "mnotify log | awk -F'\\t' '$3 == \"dead-letter\"'"],
        notes: ["One line per event, fields separated by tabs: time, user, action (silence-add, silence-expire, ack, ack-cleared, delivery-attempt, delivered, skipped, retry, dead-letter), details, outcome."]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        guard parsed.positionals.isEmpty else { spec.usageFailure(UsageError("unexpected argument '\(parsed.positionals[0])'")) }
        var since: Int64?
        if let text = parsed.value("--since") {
            guard let time = Timestamp.parse(text) else { spec.usageFailure(UsageError("--since wants a time (RFC 3339, Unix seconds, -1h), not '\(text)'")) }
            since = time
        }
        do {
            let lines = try AuditLog(stateDirectory: SilenceCommand.stateDirectory(parsed)).lines(since: since)
            Diagnostics.writeStandardOutput(lines.map { $0 + "\n" }.joined())
            return ExitStatus.success
        } catch {
            Diagnostics(tool: "mnotify").warn(error.message)
            return ExitStatus.failure
        }
    }
}
