import MetricLine

/// `mnotify ack FINGERPRINT`: someone has the alert in hand; its repeats stop and it does not
/// escalate until it resolves. `mnotify ack --list` shows what is acknowledged.
enum AckCommand {
    static let spec = CommandSpec(
        tool: "mnotify ack",
        summary: "acknowledge a firing alert: no repeats and no escalation until it resolves",
        usage: ["FINGERPRINT [-m COMMENT] [--state DIR]", "--list [--state DIR]"],
        options: [
            OptionSpec(["-m", "--comment"], argument: "TEXT", help: "who is on it, or why (shown by --list and in the audit log)"),
            OptionSpec(["--list"], help: "list the acknowledged alerts, in aligned columns"),
            SilenceCommand.state,
        ],
        examples: ["mnotify ack 047c7aceddd078c9 -m 'looking into it'", "mnotify ack --list"],
        notes: ["FINGERPRINT is the alert's, as in its '# ALERT' line and the webhook payload; a unique prefix of at least 4 digits will do. The alert must be firing in the state directory's groups."]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let parsed = spec.parseOrExit(arguments)
        let directory = SilenceCommand.stateDirectory(parsed)
        let diagnostics = Diagnostics(tool: "mnotify")
        let acknowledgements = Acknowledgements(stateDirectory: directory)
        if parsed.has("--list") {
            guard parsed.positionals.isEmpty else { spec.usageFailure(UsageError("--list takes no fingerprint")) }
            do { Diagnostics.writeStandardOutput(table(try acknowledgements.all())) } catch {
                diagnostics.warn(error.message)
                return ExitStatus.failure
            }
            return ExitStatus.success
        }
        guard parsed.positionals.count == 1 else { spec.usageFailure(UsageError("want one alert fingerprint (or --list)")) }
        let wanted = parsed.positionals[0]
        let comment = parsed.value("--comment") ?? ""
        let now = Clock.nowMilliseconds()
        let log = AuditLog(stateDirectory: directory)
        do throws(StoreError) {
            let firing = try Dispatcher.firingAlerts(inStateFile: directory + "/groups")
            let found = firing.filter { $0.fingerprint == wanted || (wanted.count >= 4 && $0.fingerprint.hasPrefix(wanted)) }
            guard let alert = found.first(where: { $0.fingerprint == wanted }) ?? (found.count == 1 ? found[0] : nil) else {
                let problem = found.isEmpty ? "no firing alert with fingerprint \(wanted) in \(directory)/groups"
                    : "\(wanted) names \(found.count) firing alerts; give more of the fingerprint"
                try? log.append(.ack, "alert \(wanted)", outcome: problem, now: now)
                diagnostics.warn(problem)
                return ExitStatus.failure
            }
            let acknowledgement = Acknowledgement(fingerprint: alert.fingerprint, labels: alert.labels, at: now, by: log.user, comment: comment)
            try acknowledgements.add(acknowledgement)
            try log.append(.ack, "alert \(alert.fingerprint) \(acknowledgement.labelText)" + (comment.isEmpty ? "" : ": \(comment)"), outcome: "ok", now: now)
            return ExitStatus.success
        } catch {
            diagnostics.warn(error.message)
            return ExitStatus.failure
        }
    }

    static func table(_ acknowledgements: [Acknowledgement]) -> String {
        guard !acknowledgements.isEmpty else { return "" }
        return Columns.text([["FINGERPRINT", "ALERT", "SINCE", "BY", "COMMENT"]]
            + acknowledgements.map { [$0.fingerprint, $0.labelText, Timestamp.rfc3339($0.at), $0.by, $0.comment] })
    }
}
