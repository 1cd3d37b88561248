/// The alert event line: one notification per line, readable by a person, read back by mnotify, and
/// a comment to every sample reader, so a stream of events and samples can go into mstore as it is:
///
/// ```
/// # ALERT firing {alertname="DiskFull",instance="web01"} startsAt=2026-11-24T10:00:00Z endsAt=2026-11-24T10:04:00Z value=93.2 fingerprint=1c0b5a2e9d3f4e6a annotations={summary="Disk almost full"}
/// ```
///
/// Fields after the label set are `key=value`, in this order; `annotations` and `generatorURL` are
/// left out when empty. Values are quoted and escaped as label values are.
public enum AlertEvent {
    /// The start of every event line.
    public static let prefix = "# ALERT "

    /// Appends the event line for `notification`, newline included.
    public static func append(_ notification: AlertNotification, to output: inout [UInt8]) {
        output.append(contentsOf: prefix.utf8)
        output.append(contentsOf: notification.status.rawValue.utf8)
        output.append(UInt8(ascii: " "))
        appendBlock(notification.labels, to: &output)
        output.append(contentsOf: " startsAt=".utf8)
        output.append(contentsOf: Timestamp.rfc3339(notification.startsAt).utf8)
        output.append(contentsOf: " endsAt=".utf8)
        output.append(contentsOf: Timestamp.rfc3339(notification.endsAt).utf8)
        output.append(contentsOf: " value=".utf8)
        ExpositionWriter.appendValue(notification.value, to: &output)
        output.append(contentsOf: " fingerprint=".utf8)
        output.append(contentsOf: notification.fingerprint.utf8)
        if !notification.annotations.isEmpty {
            output.append(contentsOf: " annotations=".utf8)
            appendBlock(notification.annotations, to: &output)
        }
        if !notification.generatorURL.isEmpty {
            output.append(contentsOf: " generatorURL=".utf8)
            ExpositionWriter.appendQuoted(notification.generatorURL, to: &output)
        }
        output.append(UInt8(ascii: "\n"))
    }

    /// The event line for `notification`, without the newline.
    public static func line(_ notification: AlertNotification) -> String {
        var bytes: [UInt8] = []
        append(notification, to: &bytes)
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }

    /// Reads an event line back; nil when the line is not an event (a sample or another comment).
    public static func parse(_ line: String) throws(LineError) -> AlertNotification? {
        guard line.hasPrefix(prefix) else { return nil }
        var rest = Substring(line.dropFirst(prefix.count))
        let statusWord = rest.prefix { $0 != " " }
        guard let status = AlertNotification.Status(rawValue: String(statusWord)) else {
            throw LineError("alert event: status must be firing or resolved, not '\(statusWord)'", column: prefix.count + 1)
        }
        rest = rest.dropFirst(statusWord.count).drop { $0 == " " }
        let labels = try block(&rest, line: line)
        var notification = AlertNotification(status: status, labels: labels, annotations: [], startsAt: 0, endsAt: 0, value: 0,
                                             generatorURL: "", fingerprint: Alert.fingerprint(of: labels))
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " }
            if rest.isEmpty { break }
            guard let equals = rest.firstIndex(of: "=") else { throw error("expected key=value", at: rest, in: line) }
            let key = String(rest[..<equals])
            rest = rest[rest.index(after: equals)...]
            switch key {
            case "annotations":
                notification.annotations = try block(&rest, line: line)
            case "generatorURL":
                notification.generatorURL = try quoted(&rest, line: line)
            default:
                let token = rest.prefix { $0 != " " }
                rest = rest.dropFirst(token.count)
                switch key {
                case "startsAt", "endsAt":
                    guard let time = Timestamp.parseRFC3339(String(token)) else { throw error("\(key): not an RFC 3339 time", at: token, in: line) }
                    if key == "startsAt" { notification.startsAt = time } else { notification.endsAt = time }
                case "value":
                    var text = String(token)
                    guard let value = text.withUTF8({ ExpositionParser.parseValue($0) }) else { throw error("value: not a number", at: token, in: line) }
                    notification.value = value
                case "fingerprint":
                    notification.fingerprint = String(token)
                default:
                    break // later versions may add fields
                }
            }
        }
        return notification
    }

    /// `{a="b",c="d"}`, escaped like label values.
    static func appendBlock(_ labels: LabelSet, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "{"))
        for (index, label) in labels.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: label.name.utf8)
            output.append(UInt8(ascii: "="))
            ExpositionWriter.appendQuoted(label.value, to: &output)
        }
        output.append(UInt8(ascii: "}"))
    }

    /// Reads a `{...}` block at the start of `rest` with the sample-line parser, so the escaping
    /// rules are the same ones.
    private static func block(_ rest: inout Substring, line: String) throws(LineError) -> LabelSet {
        guard rest.first == "{" else { throw error("expected '{'", at: rest, in: line) }
        var index = rest.startIndex
        var inQuotes = false, escaped = false
        while index < rest.endIndex {
            let character = rest[index]
            if escaped { escaped = false } else if inQuotes && character == "\\" { escaped = true } else if character == "\"" { inQuotes.toggle() } else if !inQuotes && character == "}" { break }
            index = rest.index(after: index)
        }
        guard index < rest.endIndex else { throw error("unterminated '{'", at: rest, in: line) }
        let text = rest[...index]
        rest = rest[rest.index(after: index)...]
        let parsed: ExpositionLine
        do { parsed = try ExpositionParser.parse("x" + text + " 0") } catch { throw LineError(error.reason, column: column(of: text, in: line)) }
        guard case .sample(let sample) = parsed else { throw error("bad label block", at: text, in: line) }
        return sample.labels
    }

    private static func quoted(_ rest: inout Substring, line: String) throws(LineError) -> String {
        let labels = try block(&rest, line: line, wrapping: true)
        return labels.first?.value ?? ""
    }

    /// Reads `"..."` by wrapping it as `{v="..."}`.
    private static func block(_ rest: inout Substring, line: String, wrapping: Bool) throws(LineError) -> LabelSet {
        guard rest.first == "\"" else { throw error("expected '\"'", at: rest, in: line) }
        var index = rest.index(after: rest.startIndex)
        var escaped = false
        while index < rest.endIndex {
            let character = rest[index]
            if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { break }
            index = rest.index(after: index)
        }
        guard index < rest.endIndex else { throw error("unterminated quote", at: rest, in: line) }
        var wrapped = Substring("{v=" + rest[...index] + "}")
        rest = rest[rest.index(after: index)...]
        return try block(&wrapped, line: line)
    }

    private static func column(of part: Substring, in line: String) -> Int {
        line.distance(from: line.startIndex, to: part.startIndex < line.endIndex ? part.startIndex : line.endIndex) + 1
    }

    private static func error(_ reason: String, at part: Substring, in line: String) -> LineError {
        LineError("alert event: " + reason, column: column(of: part, in: line))
    }
}

/// The JSON Alertmanager's `POST /api/v2/alerts` takes: an array of alerts.
public enum AlertmanagerJSON {
    public static func append(_ notifications: [AlertNotification], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "["))
        for (index, notification) in notifications.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: #"{"labels":"#.utf8)
            JSONText.appendObject(notification.labels, to: &output)
            output.append(contentsOf: #","annotations":"#.utf8)
            JSONText.appendObject(notification.annotations, to: &output)
            output.append(contentsOf: #","startsAt":"#.utf8)
            JSONText.appendString(Timestamp.rfc3339(notification.startsAt), to: &output)
            output.append(contentsOf: #","endsAt":"#.utf8)
            JSONText.appendString(Timestamp.rfc3339(notification.endsAt), to: &output)
            output.append(contentsOf: #","generatorURL":"#.utf8)
            JSONText.appendString(notification.generatorURL, to: &output)
            output.append(UInt8(ascii: "}"))
        }
        output.append(contentsOf: "]\n".utf8)
    }
}
