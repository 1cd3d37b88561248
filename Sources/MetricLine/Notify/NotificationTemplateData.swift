/// What a receiver's templates read about a group notification: Alertmanager's template data
/// under Alertmanager's names, so that templates written for Alertmanager work unchanged.
///
/// ```
/// .Receiver .Status .ExternalURL
/// .GroupLabels .CommonLabels .CommonAnnotations      maps; .SortedPairs .Names .Values
/// .Alerts .Alerts.Firing .Alerts.Resolved             lists of alerts, firing first
///   .Status .Labels .Annotations .StartsAt .EndsAt .GeneratorURL .Fingerprint
/// .GroupKey .TruncatedAlerts                          as in the webhook payload
/// ```
///
/// `.StartsAt` and `.EndsAt` are times (`{{ .StartsAt.Format "15:04" }}`); a firing alert ends
/// at Go's zero time, as in the webhook payload.
public struct NotificationTemplateData: Sendable {
    /// `.`
    public let root: TemplateValue

    /// The data of `notification`. `escape` is applied to every text that comes from the alerts
    /// (Slack's escaping, so that a label cannot forge a link or ping a channel); the template's
    /// own text is left as written.
    public init(_ notification: GroupNotification, escape: (String) -> String = { $0 }) {
        func text(_ value: String) -> TemplateValue { .string(escape(value)) }
        let alerts = notification.alerts.map { alert -> TemplateValue in
            .object(type: "template.Alert", fields: [
                TemplateField("Status", text(alert.status.rawValue), jsonKey: "status"),
                TemplateField("Labels", Self.keyValues(alert.labels, escape), jsonKey: "labels"),
                TemplateField("Annotations", Self.keyValues(alert.annotations, escape), jsonKey: "annotations"),
                TemplateField("StartsAt", .time(alert.startsAt), jsonKey: "startsAt"),
                TemplateField("EndsAt", .time(alert.status == .firing ? Self.zeroTime : alert.endsAt), jsonKey: "endsAt"),
                TemplateField("GeneratorURL", text(alert.generatorURL), jsonKey: "generatorURL"),
                TemplateField("Fingerprint", text(alert.fingerprint), jsonKey: "fingerprint"),
            ])
        }
        let statuses = notification.alerts.map(\.status)
        let firing = zip(alerts, statuses).filter { $0.1 == .firing }.map(\.0)
        let resolved = zip(alerts, statuses).filter { $0.1 == .resolved }.map(\.0)
        root = .object(type: "template.Data", fields: [
            TemplateField("Receiver", text(notification.receiver), jsonKey: "receiver"),
            TemplateField("Status", text(notification.status.rawValue), jsonKey: "status"),
            TemplateField("Alerts", .list(alerts, methods: ["Firing": .list(firing), "Resolved": .list(resolved)]), jsonKey: "alerts"),
            TemplateField("GroupLabels", Self.keyValues(notification.groupLabels, escape), jsonKey: "groupLabels"),
            TemplateField("CommonLabels", Self.keyValues(notification.commonLabels, escape), jsonKey: "commonLabels"),
            TemplateField("CommonAnnotations", Self.keyValues(notification.commonAnnotations, escape), jsonKey: "commonAnnotations"),
            TemplateField("ExternalURL", text(notification.externalURL), jsonKey: "externalURL"),
        ], methods: [
            // Not in Alertmanager's template data but in its webhook payload: methods, so that
            // `{{ . }}` and `toJson .` print what Alertmanager's would.
            "GroupKey": text(notification.groupKey),
            "TruncatedAlerts": .int(notification.truncatedAlerts),
        ])
    }

    /// Go's zero time, 0001-01-01T00:00:00Z, in Unix milliseconds.
    static let zeroTime: Int64 = -62_135_596_800_000

    /// Alertmanager's `KV`: a map of strings with `SortedPairs` (alertname first, then by name),
    /// `Names` and `Values`.
    static func keyValues(_ labels: LabelSet, _ escape: (String) -> String) -> TemplateValue {
        var map: [String: String] = [:]
        for label in labels { map[escape(label.name)] = escape(label.value) }
        let names = map.keys.sorted { a, b in
            if (a == NotificationText.alertName) != (b == NotificationText.alertName) { return a == NotificationText.alertName }
            return a.utf8.lexicographicallyPrecedes(b.utf8)
        }
        let pairs = names.map { name in
            TemplateValue.object(type: "template.Pair", fields: [TemplateField("Name", .string(name)), TemplateField("Value", .string(map[name] ?? ""))])
        }
        let nameList = TemplateValue.list(names.map { .string($0) })
        let valueList = TemplateValue.list(names.map { .string(map[$0] ?? "") })
        return .strings(map, methods: [
            "SortedPairs": .list(pairs, methods: ["Names": nameList, "Values": valueList]),
            "Names": nameList,
            "Values": valueList,
        ])
    }
}
