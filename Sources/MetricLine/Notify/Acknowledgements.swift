/// Someone has taken a firing alert in hand: it is left out of repeat notifications and not
/// escalated until it resolves.
public struct Acknowledgement: Sendable, Equatable {
    /// The alert's fingerprint, as in its `# ALERT` line and the webhook payload.
    public var fingerprint: String
    /// The alert's labels when it was acknowledged, for people reading the list.
    public var labels: LabelSet
    /// Unix milliseconds.
    public var at: Int64
    public var by: String
    public var comment: String

    public init(fingerprint: String, labels: LabelSet, at: Int64, by: String, comment: String) {
        self.fingerprint = fingerprint
        self.labels = labels
        self.at = at
        self.by = by
        self.comment = comment
    }

    /// `{alertname="DiskFull",instance="web01"}`.
    public var labelText: String { NotifyConfigReader.matcherText(labels.map { LabelMatcher.equal($0.name, $0.value) }) }

    var record: NotificationRecord {
        NotificationRecord(fields: [("fingerprint", .string(fingerprint)), ("labels", .labels(labels)), ("at", .string(Timestamp.rfc3339(at))),
                                    ("by", .string(by)), ("comment", .string(comment))], alerts: [])
    }

    init?(_ record: NotificationRecord) {
        guard let fingerprint = record.string("fingerprint"), let at = record.string("at").flatMap(Timestamp.parseRFC3339) else { return nil }
        self.init(fingerprint: fingerprint, labels: record.labels("labels"), at: at, by: record.string("by") ?? "", comment: record.string("comment") ?? "")
    }
}

/// The acknowledgements of a state directory, in `STATE/acks`: added by `mnotify ack`, removed by
/// the running mnotify once their alert is no longer firing.
public struct Acknowledgements: Sendable {
    public let path: String

    public init(stateDirectory: String) {
        path = stateDirectory + "/acks"
    }

    public func all() throws(StoreError) -> [Acknowledgement] {
        try RecordFile.read(path).compactMap(Acknowledgement.init)
    }

    /// Adds an acknowledgement, replacing an earlier one of the same alert.
    public func add(_ acknowledgement: Acknowledgement) throws(StoreError) {
        try RecordFile.edit(path) { records in
            records.removeAll { $0.string("fingerprint") == acknowledgement.fingerprint }
            records.append(acknowledgement.record)
        }
    }

    /// Removes the acknowledgements of alerts not in `firing`, and returns them.
    public func keep(firing: Set<String>) throws(StoreError) -> [Acknowledgement] {
        try RecordFile.edit(path) { records in
            let (kept, removed) = records.reduce(into: ([NotificationRecord](), [NotificationRecord]())) { parts, record in
                if firing.contains(record.string("fingerprint") ?? "") { parts.0.append(record) } else { parts.1.append(record) }
            }
            records = kept
            return removed.compactMap(Acknowledgement.init)
        }
    }
}
