/// The body Alertmanager's webhook receiver posts (version 4), so that anything written for
/// Alertmanager's webhooks can take mnotify's as they are:
///
/// ```
/// {"version":"4","groupKey":"{}:{alertname=\"DiskFull\"}","truncatedAlerts":0,"status":"firing",
///  "receiver":"ops","groupLabels":{...},"commonLabels":{...},"commonAnnotations":{...},
///  "externalURL":"http://am.example:9093","alerts":[{"status":"firing","labels":{...},
///  "annotations":{...},"startsAt":"2024-04-05T10:00:00.123Z","endsAt":"0001-01-01T00:00:00Z",
///  "generatorURL":"...","fingerprint":"a1b2c3d4e5f60718"}]}
/// ```
public enum WebhookPayload {
    /// What a firing alert carries as `endsAt`: Go's zero time, as Alertmanager hides an end that
    /// has not come yet.
    public static let zeroTime = "0001-01-01T00:00:00Z"

    /// The JSON body for `notification`, ending in a newline as Go's encoder ends it.
    /// `templateError`, when given, says why the webhook's `body_template` was not used; it is
    /// sent as one more member, which receivers written for Alertmanager ignore.
    public static func body(_ notification: GroupNotification, templateError: String? = nil) -> [UInt8] {
        var output: [UInt8] = []
        output.append(contentsOf: #"{"version":"4","groupKey":"#.utf8)
        JSONText.appendString(notification.groupKey, to: &output)
        output.append(contentsOf: #","truncatedAlerts":"#.utf8)
        output.append(contentsOf: String(notification.truncatedAlerts).utf8)
        output.append(contentsOf: #","status":"#.utf8)
        JSONText.appendString(notification.status.rawValue, to: &output)
        output.append(contentsOf: #","receiver":"#.utf8)
        JSONText.appendString(notification.receiver, to: &output)
        output.append(contentsOf: #","groupLabels":"#.utf8)
        JSONText.appendObject(notification.groupLabels, to: &output)
        output.append(contentsOf: #","commonLabels":"#.utf8)
        JSONText.appendObject(notification.commonLabels, to: &output)
        output.append(contentsOf: #","commonAnnotations":"#.utf8)
        JSONText.appendObject(notification.commonAnnotations, to: &output)
        output.append(contentsOf: #","externalURL":"#.utf8)
        JSONText.appendString(notification.externalURL, to: &output)
        output.append(contentsOf: #","alerts":["#.utf8)
        for (index, alert) in notification.alerts.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: #"{"status":"#.utf8)
            JSONText.appendString(alert.status.rawValue, to: &output)
            output.append(contentsOf: #","labels":"#.utf8)
            JSONText.appendObject(alert.labels, to: &output)
            output.append(contentsOf: #","annotations":"#.utf8)
            JSONText.appendObject(alert.annotations, to: &output)
            output.append(contentsOf: #","startsAt":"#.utf8)
            JSONText.appendString(Timestamp.rfc3339(alert.startsAt), to: &output)
            output.append(contentsOf: #","endsAt":"#.utf8)
            JSONText.appendString(alert.status == .firing ? zeroTime : Timestamp.rfc3339(alert.endsAt), to: &output)
            output.append(contentsOf: #","generatorURL":"#.utf8)
            JSONText.appendString(alert.generatorURL, to: &output)
            output.append(contentsOf: #","fingerprint":"#.utf8)
            JSONText.appendString(alert.fingerprint, to: &output)
            output.append(UInt8(ascii: "}"))
        }
        output.append(UInt8(ascii: "]"))
        if let templateError {
            output.append(contentsOf: #","templateError":"#.utf8)
            JSONText.appendString(templateError, to: &output)
        }
        output.append(contentsOf: "}\n".utf8)
        return output
    }

    /// `notification` with at most `maxAlerts` alerts (0: all), the first ones kept and the rest
    /// counted in `truncatedAlerts`. Status and common labels then follow the alerts kept, as in
    /// Alertmanager, which truncates before it builds the payload.
    public static func truncated(_ notification: GroupNotification, maxAlerts: Int) -> GroupNotification {
        guard maxAlerts > 0, notification.alerts.count > maxAlerts else { return notification }
        var result = notification
        result.truncatedAlerts += notification.alerts.count - maxAlerts
        result.alerts = Array(notification.alerts.prefix(maxAlerts))
        return result
    }
}
