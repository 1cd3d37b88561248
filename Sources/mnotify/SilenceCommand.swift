import MetricLine

/// `mnotify silence add|list|expire`: silences from the command line, kept in the state
/// directory, where a running mnotify picks them up before its next pass.
enum SilenceCommand {
    static let state = OptionSpec(["--state"], argument: "DIR", help: "the state directory (default /var/lib/mnotify)")

    static let spec = CommandSpec(
        tool: "mnotify silence",
        summary: "hold back notifications of the alerts that matchers select, for a while",
        usage: ["add MATCHER... --for D [-m COMMENT] [--state DIR]", "list [--all] [--state DIR]", "expire ID [--state DIR]"],
        options: [state],
        examples: ["mnotify silence add alertname=DiskFull 'instance=~\"web.*\"' --for 2h -m 'disk swap, ticket 4711'",
                   "mnotify silence list", "mnotify silence expire 5f0c2a1e"]
    )

    static let addSpec = CommandSpec(
        tool: "mnotify silence add",
        summary: "silence the alerts every matcher holds for; prints the new silence's id",
        usage: ["MATCHER... --for D [-m COMMENT] [--state DIR]"],
        options: [
            OptionSpec(["--for"], argument: "D", help: "how long the silence lasts from now (2h, 30m, 1d)"),
            OptionSpec(["-m", "--comment"], argument: "TEXT", help: "why (shown by 'silence list' and in the audit log)"),
            state,
        ],
        examples: ["mnotify silence add alertname=DiskFull --for 2h -m 'disk swap'",
                   "mnotify silence add 'instance=~\"web.*\"' severity!=page --for 30m"],
        notes: ["Matchers are Alertmanager's: name=value, name!=value, name=~regex, name!~regex; quote values with spaces. At least one must not match an empty value."]
    )

    static let listSpec = CommandSpec(
        tool: "mnotify silence list",
        summary: "list the active silences, in aligned columns",
        usage: ["[--all] [--state DIR]"],
        options: [OptionSpec(["--all"], help: "expired silences too (they are kept for 5 days)"), state],
        examples: ["mnotify silence list --all"]
    )

    static let expireSpec = CommandSpec(
        tool: "mnotify silence expire",
        summary: "end a silence now",
        usage: ["ID [--state DIR]"],
        options: [state],
        examples: ["mnotify silence expire 5f0c2a1e9b3d4c77"],
        notes: ["ID may be shortened to any unique prefix of at least 4 digits."]
    )

    static func run(_ arguments: [String]) -> Int32 {
        let rest = Array(arguments.dropFirst())
        switch arguments.first {
        case "add": return add(addSpec.parseOrExit(rest))
        case "list": return list(listSpec.parseOrExit(rest))
        case "expire": return expire(expireSpec.parseOrExit(rest))
        default:
            _ = spec.parseOrExit(arguments)
            spec.usageFailure(UsageError(arguments.first.map { "unknown command '\($0)'" } ?? "want add, list or expire"))
        }
    }

    static func add(_ parsed: ParsedArguments) -> Int32 {
        var matchers: [LabelMatcher] = []
        do throws(NotifyError) {
            for text in parsed.positionals { matchers += try AlertMatchers.parse(text) }
            try Silences.check(matchers)
        } catch {
            addSpec.usageFailure(UsageError(error.message))
        }
        guard let text = parsed.value("--for") else { addSpec.usageFailure(UsageError("--for is required (how long, such as 2h)")) }
        guard let length = RuleDuration.milliseconds(text), length > 0 else { addSpec.usageFailure(UsageError("--for wants a duration such as 2h, not '\(text)'")) }
        let directory = stateDirectory(parsed)
        let now = Clock.nowMilliseconds()
        let log = AuditLog(stateDirectory: directory)
        let comment = parsed.value("--comment") ?? ""
        do throws(StoreError) {
            try StateDirectory.create(directory)
            let silence = try Silences(stateDirectory: directory).add(matchers, startsAt: now, endsAt: now + length, createdBy: log.user, comment: comment)
            Diagnostics.writeStandardOutput(silence.id + "\n")
            try log.append(.silenceAdd, "silence \(silence.id) \(silence.matcherText) until \(Timestamp.rfc3339(silence.endsAt))" + (comment.isEmpty ? "" : ": \(comment)"),
                           outcome: "ok", now: now)
            return ExitStatus.success
        } catch {
            Diagnostics(tool: "mnotify").warn(error.message)
            return ExitStatus.failure
        }
    }

    static func list(_ parsed: ParsedArguments) -> Int32 {
        guard parsed.positionals.isEmpty else { listSpec.usageFailure(UsageError("unexpected argument '\(parsed.positionals[0])'")) }
        let now = Clock.nowMilliseconds()
        let silences: [Silence]
        do { silences = try Silences(stateDirectory: stateDirectory(parsed)).all() } catch {
            Diagnostics(tool: "mnotify").warn(error.message)
            return ExitStatus.failure
        }
        let shown = silences.filter { parsed.has("--all") || $0.endsAt > now }
        guard !shown.isEmpty else { return ExitStatus.success }
        var rows = [["ID", "MATCHERS", "STATE", "ENDS", "CREATED BY", "COMMENT"]]
        for silence in shown {
            let state = silence.isActive(at: now) ? "active" : silence.endsAt <= now ? "expired" : "pending"
            rows.append([silence.id, silence.matcherText, state, Timestamp.rfc3339(silence.endsAt), silence.createdBy, silence.comment])
        }
        Diagnostics.writeStandardOutput(Columns.text(rows))
        return ExitStatus.success
    }

    static func expire(_ parsed: ParsedArguments) -> Int32 {
        guard parsed.positionals.count == 1 else { expireSpec.usageFailure(UsageError("want one silence id")) }
        let id = parsed.positionals[0]
        let directory = stateDirectory(parsed)
        let now = Clock.nowMilliseconds()
        let log = AuditLog(stateDirectory: directory)
        let diagnostics = Diagnostics(tool: "mnotify")
        do {
            let silence = try Silences(stateDirectory: directory).expire(id, now: now)
            do { try log.append(.silenceExpire, "silence \(silence.id) \(silence.matcherText)", outcome: "ok", now: now) } catch {
                diagnostics.warn("audit log: \(error.message)")
                return ExitStatus.failure
            }
            return ExitStatus.success
        } catch {
            try? log.append(.silenceExpire, "silence \(id)", outcome: error.message, now: now)
            diagnostics.warn(error.message)
            return ExitStatus.failure
        }
    }

    static func stateDirectory(_ parsed: ParsedArguments) -> String { parsed.value("--state") ?? "/var/lib/mnotify" }
}
