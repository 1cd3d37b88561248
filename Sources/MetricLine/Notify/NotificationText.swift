/// The plain text a person reads about a group notification: a one-line title (Alertmanager's
/// default subject) and a short block per alert. Email and the command receiver send it as it is;
/// Slack builds its blocks from the same pieces.
///
/// ```
/// FIRING DiskFull
/// Disk almost full on /var
/// instance = web01
/// mountpoint = /var
/// Started 2024-04-05 10:00:00 UTC
/// Source http://prom.example:9090/graph?g0.expr=...
/// ```
///
/// Label values and the title never hold a line break or another control character (they become
/// spaces), so one label is always one line; a summary or description keeps its line breaks.
public enum NotificationText {
    /// `[FIRING:2] DiskFull (web01 /var)`: the status, how many fire, the group labels' values
    /// (alertname first), then in parentheses the values of the other labels all alerts share —
    /// Alertmanager's `__subject` template.
    public static func title(_ notification: GroupNotification) -> String {
        var text = "[" + notification.status.rawValue.uppercased()
        if notification.status == .firing { text += ":\(notification.firing.count)" }
        text += "]"
        let groupValues = values(notification.groupLabels)
        if !groupValues.isEmpty { text += " " + groupValues.joined(separator: " ") }
        let groupNames = Set(notification.groupLabels.map(\.name))
        let common = values(notification.commonLabels.filter { !groupNames.contains($0.name) })
        if !common.isEmpty { text += " (" + common.joined(separator: " ") + ")" }
        return singleLine(text)
    }

    /// Every alert's block, firing ones first, then how many were left out and the external URL,
    /// separated by blank lines and ending in a newline.
    public static func body(_ notification: GroupNotification) -> String {
        var blocks = (notification.firing + notification.resolved).map(alert)
        if notification.truncatedAlerts > 0 {
            blocks.append("\(notification.truncatedAlerts) more alert\(notification.truncatedAlerts == 1 ? "" : "s") not shown.")
        }
        if !notification.externalURL.isEmpty { blocks.append(singleLine(notification.externalURL)) }
        return blocks.joined(separator: "\n\n") + "\n"
    }

    /// One alert: status and alertname, its headline, its other labels as `name = value`, when it
    /// started, when it ended (resolved ones), and the link to its source when there is one.
    public static func alert(_ alert: AlertNotification) -> String {
        var lines = [heading(alert)]
        let headline = headline(alert)
        if !headline.isEmpty { lines.append(headline) }
        for label in alert.labels where label.name != alertName {
            lines.append(singleLine(label.name) + " = " + singleLine(label.value))
        }
        lines.append("Started " + utc(alert.startsAt))
        if alert.status == .resolved { lines.append("Ended " + utc(alert.endsAt)) }
        if !alert.generatorURL.isEmpty { lines.append("Source " + singleLine(alert.generatorURL)) }
        return lines.joined(separator: "\n")
    }

    /// `FIRING DiskFull`, or just the status when the alert has no alertname.
    public static func heading(_ alert: AlertNotification) -> String {
        let name = alert.labels.value(of: alertName)
        let status = alert.status.rawValue.uppercased()
        return name.isEmpty ? status : status + " " + singleLine(name)
    }

    /// The `summary` annotation, else `description`, else ""; line breaks kept, trailing blanks dropped.
    public static func headline(_ alert: AlertNotification) -> String {
        var text = alert.annotations.value(of: "summary")
        if text.isEmpty { text = alert.annotations.value(of: "description") }
        return multiLine(text)
    }

    /// The labels of `alert` that not every alert of the group shares, without alertname: what
    /// tells the alerts of a group apart.
    public static func distinguishingLabels(_ alert: AlertNotification, in notification: GroupNotification) -> LabelSet {
        let common = notification.commonLabels
        return alert.labels.filter { $0.name != alertName && !common.contains($0) }
    }

    /// `2024-04-05 10:00:00 UTC`: to the second, which is what a reader needs.
    public static func utc(_ milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : -((-milliseconds + 999) / 1000)
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Timestamp.civil(fromDays: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) UTC"
    }

    /// `text` with every control character (C0, DEL, C1) replaced by a space.
    public static func singleLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { scalars.append(isControl(scalar) ? " " : scalar) }
        return String(scalars)
    }

    /// `text` with CR LF and lone CRs as LF, other control characters as spaces, and trailing
    /// blanks and line breaks dropped.
    public static func multiLine(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var afterCR = false
        for scalar in text.unicodeScalars {
            defer { afterCR = scalar == "\r" }
            if scalar == "\n" && afterCR { continue }
            if scalar == "\r" || scalar == "\n" { scalars.append("\n") } else { scalars.append(isControl(scalar) ? " " : scalar) }
        }
        while let last = scalars.last, last == " " || last == "\n" { scalars.removeLast() }
        return String(scalars)
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0)
    }

    /// The values of `labels`, alertname first, then by name — the order of Alertmanager's `SortedPairs`.
    static func values(_ labels: LabelSet) -> [String] {
        let first = labels.filter { $0.name == alertName }
        return (first + labels.filter { $0.name != alertName }).map { singleLine($0.value) }
    }

    static let alertName = "alertname"
}
