/// The body of a Slack incoming-webhook post: the title as `text` (what the phone's notification
/// shows) and Block Kit sections in mrkdwn, one for the title and one per alert:
///
/// ```
/// {"text":"[FIRING:2] DiskFull (web01)","blocks":[
///  {"type":"section","text":{"type":"mrkdwn","text":"*[FIRING:2] DiskFull (web01)*\n<http://am.example:9093|View alerts>"}},
///  {"type":"section","text":{"type":"mrkdwn","text":"*FIRING DiskFull*\nDisk almost full\nmountpoint = /var\n<http://prom.example:9090/graph?g0.expr=...|Source>"}}]}
/// ```
///
/// Text from alerts is escaped (`&`, `<`, `>` only, as Slack asks), so a label cannot ping a
/// channel or forge a link.
public enum SlackPayload {
    /// Slack takes at most this many blocks in one message.
    public static let maximumBlocks = 50
    /// Slack takes at most this many characters in a section's text.
    public static let maximumSectionLength = 3000

    /// The JSON body for `notification`. `channel`, `username` and the icon (`iconEmoji` such as
    /// `:bell:`, or `iconURL`), when not empty, override the webhook's own (legacy
    /// custom-integration webhooks only; app webhooks ignore them).
    /// `title` and `text` are mrkdwn from templates, used as they are: `title` in place of the
    /// default title (on one line), `text` in place of the alerts' sections. `note` (plain text)
    /// ends the message.
    public static func body(_ notification: GroupNotification, channel: String = "", username: String = "", iconEmoji: String = "",
                            iconURL: String = "", title templated: String? = nil, text: String? = nil, note: String? = nil) -> [UInt8] {
        let title = templated.map(NotificationText.singleLine) ?? escape(NotificationText.title(notification))
        var sections = ["*" + title + "*"]
        if !notification.externalURL.isEmpty { sections[0] += "\n" + link(notification.externalURL, "View alerts") }
        // The title takes one block, the note one more.
        let room = maximumBlocks - 1 - (note == nil ? 0 : 1)
        if let text {
            sections += self.sections(of: text).prefix(room)
        } else {
            sections += alertSections(notification, room: room)
        }
        if let note { sections.append(escape(note)) }

        var output: [UInt8] = [UInt8(ascii: "{")]
        for (key, value) in [("channel", channel), ("username", username), ("icon_emoji", iconEmoji), ("icon_url", iconURL)] where !value.isEmpty {
            JSONText.appendString(key, to: &output)
            output.append(UInt8(ascii: ":"))
            JSONText.appendString(value, to: &output)
            output.append(UInt8(ascii: ","))
        }
        output.append(contentsOf: #""text":"#.utf8)
        JSONText.appendString(truncated(title, to: maximumSectionLength), to: &output)
        output.append(contentsOf: #","blocks":["#.utf8)
        for (index, section) in sections.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: #"{"type":"section","text":{"type":"mrkdwn","text":"#.utf8)
            JSONText.appendString(truncated(section, to: maximumSectionLength), to: &output)
            output.append(contentsOf: "}}".utf8)
        }
        output.append(contentsOf: "]}\n".utf8)
        return output
    }

    /// A section per alert, firing ones first, in at most `room` blocks: when the alerts do not
    /// all fit, the last block says how many are left out.
    static func alertSections(_ notification: GroupNotification, room: Int) -> [String] {
        var sections: [String] = []
        let alerts = notification.firing + notification.resolved
        let shown = alerts.count <= room ? alerts.count : room - 1
        for alert in alerts.prefix(shown) {
            let heading = "*" + escape(NotificationText.heading(alert)) + "*"
            var details: [String] = []
            for label in NotificationText.distinguishingLabels(alert, in: notification) {
                details.append(escape(NotificationText.singleLine(label.name) + " = " + NotificationText.singleLine(label.value)))
            }
            if !alert.generatorURL.isEmpty { details.append(link(alert.generatorURL, "Source")) }
            var lines = [heading]
            let headline = NotificationText.headline(alert)
            if !headline.isEmpty {
                // A long summary gives way, so that the labels telling the alerts apart stay in view.
                let room = maximumSectionLength - ([heading] + details).reduce(0) { $0 + $1.utf16.count + 1 }
                lines.append(truncated(escape(headline), to: max(room, 1)))
            }
            sections.append((lines + details).joined(separator: "\n"))
        }
        let leftOut = alerts.count - shown + notification.truncatedAlerts
        if leftOut > 0 { sections.append("_…and \(leftOut) more alert\(leftOut == 1 ? "" : "s")_") }
        return sections
    }

    /// A template's text as sections: whole lines packed up to the length a section takes (a
    /// longer line cut), blank lines at the end dropped; none for an empty text.
    static func sections(of text: String) -> [String] {
        var sections: [String] = []
        var current = ""
        for piece in NotificationText.multiLine(text).split(separator: "\n", omittingEmptySubsequences: false) {
            let line = truncated(String(piece), to: maximumSectionLength)
            if !current.isEmpty && current.utf16.count + 1 + line.utf16.count > maximumSectionLength {
                sections.append(current)
                current = line
            } else {
                current += (current.isEmpty ? "" : "\n") + line
            }
        }
        if !current.isEmpty { sections.append(current) }
        return sections
    }

    /// `text` with Slack's three control characters escaped: `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`.
    public static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") }) else { return text }
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            default: result.append(character)
            }
        }
        return result
    }

    /// `<url|label>`, the URL escaped and its `|` (which would end it early) percent-encoded.
    static func link(_ url: String, _ label: String) -> String {
        var target = ""
        for character in NotificationText.singleLine(url) {
            switch character {
            case "|": target += "%7C"
            case " ": target += "%20"
            default: target.append(character)
            }
        }
        return "<" + escape(target) + "|" + label + ">"
    }

    /// `mrkdwn` cut to at most `limit` characters, ending in "…" when cut, never inside an `&…;`
    /// escape or a `<…>` link. Characters are counted in UTF-16 code units, which is never fewer
    /// than what Slack counts.
    static func truncated(_ mrkdwn: String, to limit: Int) -> String {
        guard mrkdwn.utf16.count > limit else { return mrkdwn }
        var end = mrkdwn.startIndex
        var length = 0
        for index in mrkdwn.indices {
            let width = mrkdwn[index].utf16.count
            if length + width > limit - 1 { break }
            length += width
            end = mrkdwn.index(after: index)
        }
        var kept = mrkdwn[..<end]
        if let ampersand = kept.lastIndex(of: "&"), !kept[ampersand...].contains(";") { kept = kept[..<ampersand] }
        if let open = kept.lastIndex(of: "<"), !kept[open...].contains(">") { kept = kept[..<open] }
        return kept + "…"
    }
}
