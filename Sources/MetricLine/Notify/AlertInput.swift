/// What mnotify reads on stdin: malert's `# ALERT` event lines, and JSON arrays of alerts as
/// Alertmanager's `POST /api/v2/alerts` takes them (`malert --output-format alertmanager`, or any
/// Prometheus-compatible generator). Sample lines and other comments are passed over.
public enum AlertInput {
    /// The alerts of one input line; empty for lines that are not alerts. `now` decides whether an
    /// Alertmanager alert whose `endsAt` has passed is resolved; one without `endsAt` ends
    /// `resolveTimeout` after `now` unless it comes again (Alertmanager's `resolve_timeout`).
    /// In a JSON array, an alert that is not valid is left out and named in `rejected`, and the
    /// others are taken (as Alertmanager's API keeps the valid ones of a request).
    public static func alerts(in line: String, now: Int64, resolveTimeout: Int64 = 300_000,
                              rejected: inout [String]) throws(NotifyError) -> [AlertNotification] {
        if line.hasPrefix(AlertEvent.prefix) {
            do { return try AlertEvent.parse(line).map { [$0] } ?? [] } catch {
                throw NotifyError("\(error.reason) (column \(error.column))")
            }
        }
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        guard trimmed.first == "[" || trimmed.first == "{" else { return [] }
        let value: JSONValue
        do throws(LineError) {
            value = try Array(trimmed.utf8).withUnsafeBufferPointer { bytes throws(LineError) in try JSONParser.parse(bytes) }
        } catch {
            throw NotifyError("not valid JSON: \(error.reason) (column \(error.column))")
        }
        let items: [JSONValue]
        switch value {
        case .array(let array): items = array
        case .object: items = [value]
        default: throw NotifyError("want a JSON array of alerts")
        }
        var alerts: [AlertNotification] = []
        for (index, item) in items.enumerated() {
            do { alerts.append(try alert(item, index: index, now: now, resolveTimeout: resolveTimeout)) } catch { rejected.append(error.message) }
        }
        return alerts
    }

    /// One Alertmanager alert: `labels` (with `alertname`), `annotations`, `startsAt`, `endsAt`,
    /// `generatorURL`. A missing `startsAt` is now; a missing `endsAt` is `resolveTimeout` from now.
    static func alert(_ item: JSONValue, index: Int, now: Int64, resolveTimeout: Int64) throws(NotifyError) -> AlertNotification {
        guard case .object = item else { throw NotifyError("alert \(index + 1): want an object") }
        let labels = try labelSet(item["labels"], what: "alert \(index + 1): labels")
        guard !labels.value(of: "alertname").isEmpty else { throw NotifyError("alert \(index + 1): labels need an alertname") }
        let annotations = try labelSet(item["annotations"], what: "alert \(index + 1): annotations")
        let startsAt = try time(item["startsAt"], what: "alert \(index + 1): startsAt") ?? now
        let endsAt = try time(item["endsAt"], what: "alert \(index + 1): endsAt") ?? now + resolveTimeout
        var generatorURL = ""
        if case .string(let text)? = item["generatorURL"] { generatorURL = text }
        return AlertNotification(status: endsAt <= now ? .resolved : .firing, labels: labels, annotations: annotations, startsAt: startsAt,
                                 endsAt: endsAt, value: .nan, generatorURL: generatorURL, fingerprint: Alert.fingerprint(of: labels))
    }

    private static func labelSet(_ value: JSONValue?, what: String) throws(NotifyError) -> LabelSet {
        guard let value else { return [] }
        guard case .object(let members) = value else { throw NotifyError("\(what): want an object of strings") }
        var labels: LabelSet = []
        for (name, member) in members {
            guard case .string(let text) = member else { throw NotifyError("\(what): \"\(name)\" is not a string") }
            guard Names.isLegacyLabelName(name) else { throw NotifyError("\(what): \"\(name)\" is not a label name") }
            labels = labels.setting(name, text)
        }
        return labels
    }

    private static func time(_ value: JSONValue?, what: String) throws(NotifyError) -> Int64? {
        guard let value, case .string(let text) = value else { return nil }
        // Go's zero time means "not set".
        if text.hasPrefix("0001-01-01") { return nil }
        guard let time = Timestamp.parseRFC3339(text) else { throw NotifyError("\(what): not an RFC 3339 time: \"\(text)\"") }
        return time
    }
}
