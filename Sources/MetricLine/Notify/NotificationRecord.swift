/// How mnotify writes a group of alerts to disk (its group state and its spool): one JSON line of
/// facts about the group, then its alerts as malert's `# ALERT` event lines. A person can read it
/// with `cat`, and the alerts go back through the same parser as the input.
public struct NotificationRecord: Sendable {
    /// Facts about the group or delivery, as a flat JSON object of strings and integers.
    public var fields: [(String, JSONValue)]
    public var alerts: [AlertNotification]

    public init(fields: [(String, JSONValue)], alerts: [AlertNotification]) {
        self.fields = fields
        self.alerts = alerts
    }

    public subscript(_ name: String) -> JSONValue? { fields.first { $0.0 == name }?.1 }

    public func string(_ name: String) -> String? {
        if case .string(let text)? = self[name] { return text }
        return nil
    }

    public func integer(_ name: String) -> Int64? {
        if case .number(let text)? = self[name] { return Int64(text) }
        return nil
    }

    public func labels(_ name: String) -> LabelSet {
        guard case .object(let members)? = self[name] else { return [] }
        var labels: LabelSet = []
        for case (let key, .string(let value)) in members { labels = labels.setting(key, value) }
        return labels
    }

    /// Appends the record: the fields line, then one line per alert.
    public func append(to output: inout [UInt8]) {
        output.append(UInt8(ascii: "{"))
        for (index, (name, value)) in fields.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            JSONText.appendString(name, to: &output)
            output.append(UInt8(ascii: ":"))
            Self.appendValue(value, to: &output)
        }
        output.append(contentsOf: "}\n".utf8)
        for alert in alerts { AlertEvent.append(alert, to: &output) }
    }

    /// Reads every record of `text`; a damaged line ends the record it is in (returned in `problems`).
    public static func records(in text: String) -> (records: [NotificationRecord], problems: [String]) {
        var records: [NotificationRecord] = []
        var problems: [String] = []
        for (number, line) in text.split(separator: "\n").enumerated() {
            if line.hasPrefix("{") {
                guard case .object(let members)? = try? Array(line.utf8).withUnsafeBufferPointer({ bytes throws(LineError) in try JSONParser.parse(bytes) }) else {
                    problems.append("line \(number + 1): not a record header")
                    continue
                }
                records.append(NotificationRecord(fields: members, alerts: []))
            } else if !records.isEmpty {
                do {
                    if let alert = try AlertEvent.parse(String(line)) { records[records.count - 1].alerts.append(alert) }
                } catch {
                    problems.append("line \(number + 1): \(error.reason)")
                }
            }
        }
        return (records, problems)
    }

    private static func appendValue(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .string(let text): JSONText.appendString(text, to: &output)
        case .number(let text): output.append(contentsOf: text.utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .null: output.append(contentsOf: "null".utf8)
        case .array(let items):
            output.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                appendValue(item, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, (name, member)) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONText.appendString(name, to: &output)
                output.append(UInt8(ascii: ":"))
                appendValue(member, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }
}

extension JSONValue {
    /// An integer as a JSON number.
    public static func integer(_ value: Int64) -> JSONValue { .number(String(value)) }

    /// Labels as a JSON object of strings.
    public static func labels(_ labels: LabelSet) -> JSONValue { .object(labels.map { ($0.name, .string($0.value)) }) }
}
