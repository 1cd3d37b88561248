/// One alert of an alerting rule and where it is in its life: pending, firing, or inactive
/// (resolved), with the times Prometheus keeps (`ActiveAt`, `FiredAt`, `ResolvedAt`, `LastSentAt`).
/// Times are Unix milliseconds.
public struct Alert: Sendable, Equatable {
    public enum State: String, Sendable {
        case pending, firing, inactive
    }

    /// The alert's identity: the result element's labels without `__name__`, the rule's labels and
    /// `alertname`, sorted.
    public var labels: LabelSet
    /// Expanded annotations, sorted by name; they may change from one evaluation to the next.
    public var annotations: LabelSet = []
    public var state: State = .pending
    /// The value of the result element at the last evaluation that returned it.
    public var value: Double
    /// When the condition was first seen (the evaluation that created the alert).
    public var activeAt: Int64
    /// When it went from pending to firing.
    public var firedAt: Int64?
    /// When it went inactive.
    public var resolvedAt: Int64?
    /// When it was last handed out as a notification.
    public var lastSentAt: Int64?
    /// When the condition went away while `keep_firing_for` holds it firing.
    public var keepFiringSince: Int64?
    /// When a sent firing alert expires if no newer notification comes (`endsAt` of firing alerts).
    public var validUntil: Int64 = 0
    /// Set while flap damping holds the alert firing; it then carries `flapping="true"`.
    public var flapping = false

    public init(labels: LabelSet, value: Double, activeAt: Int64) {
        self.labels = labels
        self.value = value
        self.activeAt = activeAt
    }

    /// A stable identity of the label set: Alertmanager's fingerprint (64-bit FNV-1a over the sorted
    /// names and values, each followed by 0xff), so both name an alert the same way.
    public var fingerprint: String { Self.fingerprint(of: labels) }

    public static func fingerprint(of labels: LabelSet) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        for label in labels where label.name != Segment.nameLabel {
            label.name.utf8.forEach(add)
            add(0xff)
            label.value.utf8.forEach(add)
            add(0xff)
        }
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for shift in stride(from: 60, through: 0, by: -4) { text.append(digits[Int((hash >> UInt64(shift)) & 0xf)]) }
        return String(decoding: text, as: UTF8.self)
    }

    /// The labels a notification carries: the identity plus `flapping="true"` while damped.
    public var notifiedLabels: LabelSet { flapping ? labels.setting("flapping", "true") : labels }

    /// Whether the alert is due to be handed out at `time`: firing or resolved ones only, when they
    /// changed since the last time or `resendDelay` has passed (Prometheus's `needsSending`).
    func needsSending(at time: Int64, resendDelay: Int64) -> Bool {
        if state == .pending { return false }
        guard let lastSentAt else { return true }
        if let resolvedAt, resolvedAt > lastSentAt { return true }
        return lastSentAt + resendDelay < time
    }
}

/// An alert handed out for delivery: what Alertmanager's `/api/v2/alerts` takes, plus the value
/// and the fingerprint.
public struct AlertNotification: Sendable, Equatable {
    public enum Status: String, Sendable {
        case firing, resolved
    }

    public var status: Status
    public var labels: LabelSet
    public var annotations: LabelSet
    /// When the alert started firing.
    public var startsAt: Int64
    /// For a firing alert, when it expires unless re-sent; for a resolved one, when it resolved.
    public var endsAt: Int64
    /// The value at the evaluation (for a resolved alert, the last value it had).
    public var value: Double
    public var generatorURL: String
    public var fingerprint: String

    public init(status: Status, labels: LabelSet, annotations: LabelSet, startsAt: Int64, endsAt: Int64, value: Double,
                generatorURL: String, fingerprint: String) {
        self.status = status
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.value = value
        self.generatorURL = generatorURL
        self.fingerprint = fingerprint
    }
}
