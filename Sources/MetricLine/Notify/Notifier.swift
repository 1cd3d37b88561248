#if canImport(Glibc)
import Glibc
#endif

/// mnotify's work between reading and sending: alerts go to the dispatcher, which sees the
/// silences and acknowledgements as they stand on disk; due groups become spool entries (synced
/// to disk) for each integration of their receiver before the group state says they were
/// notified; spool entries are tried when due, retried with backoff, and moved to the dead-letter
/// file after their deadline or a refusal. Every attempt and its outcome go to the audit log.
public final class Notifier {
    public let dispatcher: Dispatcher
    public let spool: Spool
    public var delivery: Delivery
    public let silences: Silences
    public let acknowledgements: Acknowledgements
    public let audit: AuditLog
    /// How long a failing delivery is retried before it goes to the dead-letter file.
    public var retryFor: Int64 = 3_600_000
    /// What notifications give as `externalURL` (Alertmanager's `--web.external-url`): where
    /// their reader can see the alerts.
    public var externalURL = ""
    /// How long an alert without `endsAt` stays firing (`global.resolve_timeout`).
    private let resolveTimeout: Int64
    private var statePath: String { spool.directory + "/groups" }
    /// What happened, for stderr: refusals, dead letters, damaged files.
    public private(set) var messages: [String] = []
    public private(set) var delivered = 0
    public private(set) var deadLettered = 0
    /// The last problem reading silences or acknowledgements, so that it is reported once.
    private var stateProblem: String?

    /// Held (flock) for as long as this notifier lives.
    private let runLock: Int32

    deinit { close(runLock) }

    public init(config: NotifyConfig, stateDirectory: String) throws(StoreError) {
        dispatcher = Dispatcher(config: config)
        resolveTimeout = config.resolveTimeout
        spool = try Spool(directory: stateDirectory)
        // One mnotify at a time per state directory (an overlapping cron run waits its turn), so
        // no spool entry is sent by two of them and the group state is not written twice.
        let lockPath = stateDirectory + "/run.lock"
        runLock = try FileSystem.open(lockPath, O_RDWR | O_CREAT, mode: StateDirectory.fileMode(for: lockPath))
        while flock(runLock, LOCK_EX) != 0 {
            guard errno == EINTR, !Interrupt.requested else { throw StoreError.system(lockPath, "cannot lock") }
        }
        delivery = Delivery(config: config)
        silences = Silences(stateDirectory: stateDirectory)
        acknowledgements = Acknowledgements(stateDirectory: stateDirectory)
        audit = AuditLog(stateDirectory: stateDirectory)
        if let warning = dispatcher.load(from: statePath) { messages.append(warning) }
    }

    /// Takes the messages gathered so far.
    public func takeMessages() -> [String] {
        defer { messages = [] }
        return messages
    }

    /// Takes the alerts of one input line; returns what is wrong with the line, or with the alerts
    /// of it that could not be taken (the others are taken).
    public func read(_ line: String, now: Int64) -> String? {
        var rejected: [String] = []
        let alerts: [AlertNotification]
        do { alerts = try AlertInput.alerts(in: line, now: now, resolveTimeout: resolveTimeout, rejected: &rejected) } catch {
            return error.message
        }
        for alert in alerts { dispatcher.ingest(alert, now: now) }
        guard !rejected.isEmpty else { return nil }
        return rejected.joined(separator: "; ") + (alerts.isEmpty ? "" : " (\(alerts.count) other alert\(alerts.count == 1 ? "" : "s") of the line taken)")
    }

    /// Queues the groups due at `now` and saves the group state; `flush` as in `Dispatcher.due`.
    private var savedAtEnd = false

    public func queueDue(now: Int64, flush: Bool) throws(StoreError) {
        reloadSilencesAndAcknowledgements()
        var due = dispatcher.due(now: now, flush: flush)
        for index in due.indices { due[index].externalURL = externalURL }
        let deliveries = due.flatMap { notification in delivery.integrations(of: notification.receiver).map { (notification, $0) } }
        _ = try spool.add(deliveries, now: now, deadline: now + retryFor)
        // Saved when groups were sent (that is what must not be forgotten: it keeps a restart from
        // sending them again) and at the end of the input; alerts merely waiting come again from
        // their sender's re-sends.
        if !due.isEmpty || (flush && !savedAtEnd) {
            try dispatcher.save(to: statePath)
            savedAtEnd = flush
        }
        forgetAcknowledgementsOfResolvedAlerts(now: now)
    }

    /// Gives the dispatcher the silences and acknowledgements as `mnotify silence` and `mnotify ack`
    /// left them. When a file cannot be read, the last ones read stay in force: dropping a
    /// silence because of a damaged file would page someone who asked not to be.
    private func reloadSilencesAndAcknowledgements() {
        do throws(StoreError) {
            dispatcher.silences = try silences.all()
            dispatcher.acknowledged = Set(try acknowledgements.all().map(\.fingerprint))
            stateProblem = nil
        } catch {
            if stateProblem != error.message { messages.append(error.message + "; keeping the silences and acknowledgements read before") }
            stateProblem = error.message
        }
    }

    /// An acknowledgement lasts until its alert stops firing.
    private func forgetAcknowledgementsOfResolvedAlerts(now: Int64) {
        guard !dispatcher.acknowledged.isEmpty else { return }
        let firing = Set(dispatcher.groups.values.flatMap { $0.alerts.values.filter { $0.status == .firing }.map(\.fingerprint) })
        guard !dispatcher.acknowledged.isSubset(of: firing) else { return }
        do throws(StoreError) {
            for removed in try acknowledgements.keep(firing: firing) {
                dispatcher.acknowledged.remove(removed.fingerprint)
                record(.ackCleared, "alert \(removed.fingerprint) \(removed.labelText)", outcome: "no longer firing", now: now)
            }
        } catch {
            messages.append(error.message)
        }
    }

    /// Tries every spool entry that is due; returns when the next one is (nil: the spool is empty).
    @discardableResult
    public func deliverDue(now: Int64) -> Int64? {
        let (entries, problems) = spool.pending()
        messages += problems
        var next: Int64?
        for var entry in entries {
            guard entry.nextAttempt <= now else {
                next = min(next ?? entry.nextAttempt, entry.nextAttempt)
                continue
            }
            let details = Self.details(entry)
            record(.deliveryAttempt, details, outcome: "sending", now: now)
            let outcome = delivery.send(entry.notification, through: entry.integration, now: now)
            do throws(StoreError) {
                switch outcome {
                case .delivered, .skipped:
                    try spool.remove(entry)
                    if outcome == .delivered { delivered += 1 }
                    record(outcome == .delivered ? .delivered : .skipped, details, outcome: outcome == .delivered ? "ok" : "nothing to send (send_resolved is off)", now: now)
                case .failed(let reason):
                    entry.lastError = reason
                    try spool.deadLetter(entry)
                    deadLettered += 1
                    messages.append("\(reason); moved to \(spool.deadLetterPath)")
                    record(.deadLetter, details, outcome: Self.outcome(reason, entry), now: now)
                case .retry(let reason, let wait):
                    entry.attempts += 1
                    entry.lastError = reason
                    if now >= entry.deadline {
                        try spool.deadLetter(entry)
                        deadLettered += 1
                        messages.append("\(reason); gave up after \(entry.attempts) attempts, moved to \(spool.deadLetterPath)")
                        record(.deadLetter, details, outcome: Self.outcome(reason, entry) + ", gave up after \(entry.attempts) attempts", now: now)
                    } else {
                        // The backoff, or longer when the receiver asked for longer, but no later
                        // than the deadline: one last attempt there, then the dead-letter file.
                        let backoff = delivery.nextAttempt(after: entry.attempts, now: now)
                        entry.nextAttempt = max(backoff, min(now + (wait ?? 0), entry.deadline))
                        try spool.update(entry)
                        next = min(next ?? entry.nextAttempt, entry.nextAttempt)
                        if entry.attempts == 1 { messages.append("\(reason); will retry") }
                        record(.retry, details, outcome: Self.outcome(reason, entry) + ", next attempt at \(Timestamp.rfc3339(entry.nextAttempt))", now: now)
                    }
                }
            } catch {
                messages.append("spool: \(error.message)")
            }
        }
        return next
    }

    /// Appends to the audit log; a failure to is reported, and does not stop deliveries.
    private func record(_ action: AuditLog.Action, _ details: String, outcome: String, now: Int64) {
        do { try audit.append(action, details, outcome: outcome, now: now) } catch { messages.append("audit log: \(error.message)") }
    }

    /// How the audit log names a delivery: integration, group, alerts, spool file, attempt.
    private static func details(_ entry: SpoolEntry) -> String {
        let name = entry.path.split(separator: "/").last.map { String($0.dropLast(".delivery".count)) } ?? ""
        let firing = entry.notification.firing.count
        let count = entry.notification.alerts.count
        return "\(entry.integration.description), group \(entry.notification.groupKey), \(count) alert\(count == 1 ? "" : "s") (\(firing) firing), "
            + "delivery \(name), attempt \(entry.attempts + 1)"
    }

    /// A delivery's failure without the integration's name in front (the details have it).
    private static func outcome(_ reason: String, _ entry: SpoolEntry) -> String {
        let prefix = entry.integration.description + ": "
        return reason.hasPrefix(prefix) ? String(reason.dropFirst(prefix.count)) : reason
    }

    /// When something next needs doing: a group falling due or a retry.
    public func nextWake(now: Int64, spoolNext: Int64?) -> Int64? {
        [dispatcher.nextDue(now: now), spoolNext].compactMap { $0 }.min()
    }
}
