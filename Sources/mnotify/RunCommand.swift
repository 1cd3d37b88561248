import Glibc
import MetricLine

/// `mnotify -c FILE`: reads alerts on stdin (malert's event lines or Alertmanager JSON), groups
/// and routes them, and delivers through a durable spool. As a filter in a pipe it runs until its
/// input ends; from cron it reads what there is, sends it, and leaves failed deliveries in the
/// spool for the next run.
struct RunCommand {
    static let spec = CommandSpec(
        tool: "mnotify",
        summary: "route, group and deliver alerts (webhook, Slack, email, commands) through a durable spool",
        usage: ["-c FILE [--state DIR] < alerts", "check FILE...", "routes -c FILE --labels 'alertname=X,severity=page'",
                "silence add MATCHER... --for D [-m COMMENT] | silence list [--all] | silence expire ID", "ack FINGERPRINT [-m COMMENT] | ack --list",
                "log [--since T]"],
        options: [
            OptionSpec(["-c", "--config"], argument: "FILE", help: "the configuration, in Alertmanager's format (default /etc/mnotify.yml)"),
            OptionSpec(["--state"], argument: "DIR", help: "group state, spool, dead-letter file, silences, acknowledgements and audit log (default /var/lib/mnotify)"),
            OptionSpec(["--retry-for"], argument: "D", help: "retry a failing delivery this long before it goes to the dead-letter file (default 1h)"),
            OptionSpec(["--wait"], argument: "D", help: "after the input ends, keep retrying failed deliveries this long before leaving them in the spool (default 30s)"),
            OptionSpec(["--external-url"], argument: "URL", help: "where notifications say the alerts can be seen (their externalURL and the link in texts)"),
            OptionSpec(["--strict"], help: "stop reading at the first bad input line (exit 1); the alerts before it are still sent"),
        ],
        examples: [
            "malert -s /var/lib/metrics rules.yml | mnotify -c /etc/mnotify.yml",
            "mcollect --interval 15s | malert rules.yml | mnotify -c notify.yml --state ~/.local/state/mnotify",
            "mnotify check /etc/mnotify.yml",
            "mnotify routes -c /etc/mnotify.yml --labels 'alertname=DiskFull,severity=page'",
            "mnotify silence add alertname=DiskFull --for 2h -m 'disk swap'",
            "mnotify ack 047c7aceddd078c9 -m 'on it'",
            "mnotify log --since -1d",
        ],
        notes: [
            "When the input ends, groups are sent without waiting out group_wait (a cron run's alerts arrive together); group_interval and repeat_interval hold across runs through the state directory.",
            "Silenced alerts are not notified, firing or resolved; an alert that is still firing when its silence ends is notified at the group's next group_interval. Acknowledged alerts are left out of repeat notifications and do not escalate; the acknowledgement ends when the alert resolves. A route's escalate_to receiver gets each alert once, when it has fired escalate_after since its startsAt, unacknowledged, and its own receiver has been told.",
            "Each subcommand has its own --help (mnotify silence add --help).",
            "Exit status: 0 ok, 1 a delivery was given up (see the dead-letter file), an input line was bad (named and skipped) or the configuration is invalid, 2 usage.",
        ]
    )

    let arguments: ParsedArguments
    let diagnostics: Diagnostics

    init(arguments: ParsedArguments) {
        self.arguments = arguments
        diagnostics = Diagnostics(tool: "mnotify", strict: arguments.has("--strict"))
    }

    func run() -> Int32 {
        let path = arguments.value("--config") ?? "/etc/mnotify.yml"
        let config: NotifyConfig
        do { config = try NotifyConfig.load(path) } catch {
            error.problems.forEach { diagnostics.warn($0.description) }
            return ExitStatus.failure
        }
        let notifier: Notifier
        let state = arguments.value("--state") ?? "/var/lib/mnotify"
        do {
            if let group = config.stateGroup { try StateDirectory.share(state, group: group) }
            notifier = try Notifier(config: config, stateDirectory: state)
        } catch {
            diagnostics.warn(error.message)
            return ExitStatus.failure
        }
        if let text = arguments.value("--retry-for") { notifier.retryFor = duration(text, "--retry-for") }
        notifier.externalURL = arguments.value("--external-url") ?? ""
        let wait = arguments.value("--wait").map { duration($0, "--wait") } ?? 30_000
        var input = LineSplitter()
        var ended: Int64?
        var lineNumber = 0
        var stopped = false
        /// Gives the notifier one line; a bad one is reported (false: stop, with --strict).
        func take(_ line: String) -> Bool {
            guard let problem = notifier.read(line, now: Clock.nowMilliseconds()) else { return true }
            var copy = line
            return copy.withUTF8 { diagnostics.reject(source: "<stdin>", line: lineNumber, reason: problem, text: $0) }
        }
        while !Interrupt.requested {
            var now = Clock.nowMilliseconds()
            let spoolNext = notifier.deliverDue(now: now)
            report(notifier)
            if let ended {
                guard let spoolNext else { break }
                if now >= ended + wait {
                    diagnostics.warn("deliveries left in \(notifier.spool.directory)/spool for the next run (the next attempt is due at \(Timestamp.rfc3339(spoolNext)))")
                    break
                }
                // A second at most at a time, so a signal is seen and no sleep outgrows usleep's range.
                usleep(useconds_t(min(max(0, min(spoolNext, ended + wait) - now), 1000) * 1000))
                continue
            }
            let wake = notifier.nextWake(now: now, spoolNext: spoolNext) ?? now + 1000
            var poller = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, Int32(max(0, min(wake - now, 1000)))) > 0 {
                switch input.read(from: 0) {
                case .lines(let lines):
                    now = Clock.nowMilliseconds()
                    for line in lines where !stopped {
                        lineNumber += 1
                        stopped = !take(line)
                    }
                    // --strict: what came before the bad line is still sent.
                    if stopped { ended = now }
                case .end(let last):
                    now = Clock.nowMilliseconds()
                    if let last {
                        lineNumber += 1
                        _ = take(last)
                    }
                    ended = now
                case .failed(let code):
                    diagnostics.warn("stdin: \(String(cString: strerror(code)))")
                    ended = now
                }
            }
            do { try notifier.queueDue(now: Clock.nowMilliseconds(), flush: ended != nil) } catch {
                diagnostics.warn(error.message)
                return ExitStatus.failure
            }
            report(notifier)
        }
        if Interrupt.requested { return Interrupt.exitStatus }
        // Bad input lines were skipped (or --strict stopped at one): a summary, exit 1.
        let inputStatus = diagnostics.finish(linesRead: lineNumber)
        return notifier.deadLettered > 0 || inputStatus != ExitStatus.success ? ExitStatus.failure : ExitStatus.success
    }

    private func report(_ notifier: Notifier) {
        for message in notifier.takeMessages() { diagnostics.warn(message) }
    }

    private func duration(_ text: String, _ option: String) -> Int64 {
        guard let value = RuleDuration.milliseconds(text) else { Self.spec.usageFailure(UsageError("\(option) wants a duration, not '\(text)'")) }
        return value
    }
}

/// Splits what arrives on a descriptor into lines, keeping a partial last line for the next read.
struct LineSplitter {
    enum Result {
        case lines([String])
        /// The input ended, with its last line if it had no newline.
        case end(String?)
        case failed(Int32)
    }

    private var partial: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    mutating func read(from descriptor: Int32) -> Result {
        let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 { return errno == EINTR || errno == EAGAIN ? .lines([]) : .failed(errno) }
        if count == 0 {
            defer { partial = [] }
            return .end(partial.isEmpty ? nil : String(decoding: partial, as: UTF8.self))
        }
        partial += buffer[0..<count]
        var lines: [String] = []
        var start = 0
        for index in 0..<partial.count where partial[index] == UInt8(ascii: "\n") {
            var end = index
            if end > start && partial[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            lines.append(String(decoding: partial[start..<end], as: UTF8.self))
            start = index + 1
        }
        partial.removeFirst(start)
        // A line that never ends must not grow without bound.
        if partial.count > 16 << 20 { partial.removeAll() }
        return .lines(lines)
    }
}
