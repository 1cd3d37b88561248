/// mnotify's work between reading and sending: alerts go to the dispatcher; due groups become
/// spool entries (synced to disk) for each integration of their receiver before the group state
/// says they were notified; spool entries are tried when due, retried with backoff, and moved to
/// the dead-letter file after their deadline or a refusal.
public final class Notifier {
    public let dispatcher: Dispatcher
    public let spool: Spool
    public var delivery: Delivery
    /// How long a failing delivery is retried before it goes to the dead-letter file.
    public var retryFor: Int64 = 3_600_000
    private var statePath: String { spool.directory + "/groups" }
    /// What happened, for stderr: refusals, dead letters, damaged files.
    public private(set) var messages: [String] = []
    public private(set) var delivered = 0
    public private(set) var deadLettered = 0

    public init(config: NotifyConfig, stateDirectory: String) throws(StoreError) {
        dispatcher = Dispatcher(config: config)
        spool = try Spool(directory: stateDirectory)
        delivery = Delivery(config: config)
        if let warning = dispatcher.load(from: statePath) { messages.append(warning) }
    }

    /// Takes the messages gathered so far.
    public func takeMessages() -> [String] {
        defer { messages = [] }
        return messages
    }

    /// Reads one input line; problems are reported with `place` (`stdin:12`).
    public func read(_ line: String, place: String, now: Int64) {
        do {
            for alert in try AlertInput.alerts(in: line, now: now) { dispatcher.ingest(alert, now: now) }
        } catch {
            messages.append("\(place): \(error.message)")
        }
    }

    /// Queues the groups due at `now` and saves the group state; `flush` as in `Dispatcher.due`.
    public func queueDue(now: Int64, flush: Bool) throws(StoreError) {
        let due = dispatcher.due(now: now, flush: flush)
        for notification in due {
            for integration in delivery.integrations(of: notification.receiver) {
                _ = try spool.add(notification, integration: integration, now: now, deadline: now + retryFor)
            }
        }
        if !due.isEmpty || !dispatcher.groups.isEmpty || FileSystem.exists(statePath) { try dispatcher.save(to: statePath) }
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
            let outcome = delivery.send(entry.notification, through: entry.integration, now: now)
            do throws(StoreError) {
                switch outcome {
                case .delivered, .skipped:
                    try spool.remove(entry)
                    if outcome == .delivered { delivered += 1 }
                case .failed(let reason):
                    entry.lastError = reason
                    try spool.deadLetter(entry)
                    deadLettered += 1
                    messages.append("\(reason); moved to \(spool.deadLetterPath)")
                case .retry(let reason):
                    entry.attempts += 1
                    entry.lastError = reason
                    if now >= entry.deadline {
                        try spool.deadLetter(entry)
                        deadLettered += 1
                        messages.append("\(reason); gave up after \(entry.attempts) attempts, moved to \(spool.deadLetterPath)")
                    } else {
                        entry.nextAttempt = delivery.nextAttempt(after: entry.attempts, now: now)
                        try spool.update(entry)
                        next = min(next ?? entry.nextAttempt, entry.nextAttempt)
                        if entry.attempts == 1 { messages.append("\(reason); will retry") }
                    }
                }
            } catch {
                messages.append("spool: \(error.message)")
            }
        }
        return next
    }

    /// When something next needs doing: a group falling due or a retry.
    public func nextWake(now: Int64, spoolNext: Int64?) -> Int64? {
        [dispatcher.nextDue(now: now), spoolNext].compactMap { $0 }.min()
    }
}
