/// One notification of an alert group to one receiver: the alerts of the group as they stand,
/// which every receiver (webhook, Slack, email, command) formats in its own way.
public struct GroupNotification: Sendable, Equatable {
    /// The receiver's name from the configuration.
    public var receiver: String
    /// Alertmanager's group key: the route's matchers, then the group labels, e.g.
    /// `{}/{severity="page"}:{alertname="DiskFull"}`. Stable, so receivers can thread or dedupe on it.
    public var groupKey: String
    /// The labels named in the route's `group_by`, with the group's values.
    public var groupLabels: LabelSet
    /// The alerts, firing first, each group in label order.
    public var alerts: [AlertNotification]
    /// Alerts left out because the receiver takes at most `max_alerts`.
    public var truncatedAlerts = 0
    /// Where a person can see the alerts (mnotify's `external_url`, may be empty).
    public var externalURL = ""

    public init(receiver: String, groupKey: String, groupLabels: LabelSet, alerts: [AlertNotification], truncatedAlerts: Int = 0, externalURL: String = "") {
        self.receiver = receiver
        self.groupKey = groupKey
        self.groupLabels = groupLabels
        self.alerts = alerts
        self.truncatedAlerts = truncatedAlerts
        self.externalURL = externalURL
    }

    /// `firing` when at least one alert fires, else `resolved`.
    public var status: AlertNotification.Status { alerts.contains { $0.status == .firing } ? .firing : .resolved }

    public var firing: [AlertNotification] { alerts.filter { $0.status == .firing } }
    public var resolved: [AlertNotification] { alerts.filter { $0.status == .resolved } }

    /// The labels every alert has with the same value.
    public var commonLabels: LabelSet { Self.common(alerts.map(\.labels)) }

    /// The annotations every alert has with the same value.
    public var commonAnnotations: LabelSet { Self.common(alerts.map(\.annotations)) }

    static func common(_ sets: [LabelSet]) -> LabelSet {
        guard var result = sets.first else { return [] }
        for set in sets.dropFirst() { result = result.filter { label in set.contains(label) } }
        return result
    }
}
