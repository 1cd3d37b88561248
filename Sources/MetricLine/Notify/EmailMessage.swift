/// An email about a group notification, as `sendmail -t -i` takes it on standard input: RFC 5322
/// headers, a blank line, and the plain text of `NotificationText` in quoted-printable UTF-8.
///
/// ```
/// From: mnotify@example.com
/// To: ops@example.com
/// Subject: [FIRING:2] DiskFull web01
/// Date: Fri, 05 Apr 2024 10:00:00 +0000
/// Message-ID: <5e2a8c0d1b3f4a67.1712311200000@mnotify>
/// MIME-Version: 1.0
/// Content-Type: text/plain; charset=utf-8
/// Content-Transfer-Encoding: quoted-printable
///
/// FIRING DiskFull
/// ...
/// ```
///
/// Recipients come from the configuration only, and alert text never becomes a header of its own:
/// every header value has its control characters turned into spaces before it is written, so a
/// label holding `x\r\nBcc: evil@example.com` stays inside the subject.
public struct EmailMessage: Sendable {
    /// The whole message, lines ending in LF as a local `sendmail` reads them (it writes CRLF on
    /// the wire). No line is longer than 998 bytes; body lines are at most 76.
    public var text: String
    /// The subject as a person reads it, before encoding.
    public var subject: String

    /// Headers mnotify writes itself, which `headers` may not set; `Subject` may be replaced.
    static let ownHeaders: Set<String> = ["from", "to", "cc", "bcc", "date", "message-id", "mime-version",
                                          "content-type", "content-transfer-encoding"]

    /// Builds the message for `notification` from `from` to the addresses `to` (each `a@b.example`
    /// or `Name <a@b.example>`), dated `now` (Unix milliseconds). `headers` are added as they are,
    /// except that `Subject` replaces the default subject; `body` (a template's text) replaces the
    /// default body. Throws when an address or a header name is not acceptable, or when `headers`
    /// tries to set a header that names recipients or that mnotify writes itself.
    public init(notification: GroupNotification, from: String, to: [String], headers: [(name: String, value: String)] = [],
                body: String? = nil, now: Int64) throws(NotifyError) {
        let sender = try Self.address(from)
        guard !to.isEmpty else { throw NotifyError("email: no recipient ('to' is empty)") }
        var recipients: [String] = []
        for address in to { recipients.append(try Self.address(address)) }

        var subject = NotificationText.title(notification)
        var extra: [(name: String, value: String)] = []
        for header in headers {
            try Self.checkName(header.name)
            let lowercased = header.name.lowercased()
            if Self.ownHeaders.contains(lowercased) || lowercased.hasPrefix("resent-") {
                throw NotifyError("email: header '\(header.name)' is set by mnotify from its own settings, not by 'headers'")
            }
            if lowercased == "subject" { subject = header.value } else { extra.append(header) }
        }
        self.subject = NotificationText.singleLine(subject)

        var lines: [String] = []
        lines += Self.folded("From", sender)
        lines += Self.folded("To", recipients.joined(separator: ", "))
        lines += Self.unstructured("Subject", self.subject)
        lines.append("Date: " + Self.date(now))
        let hash = Alert.fingerprint(of: [Label("groupKey", notification.groupKey), Label("receiver", notification.receiver)])
        lines.append("Message-ID: <\(hash).\(now)@mnotify>")
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: text/plain; charset=utf-8")
        lines.append("Content-Transfer-Encoding: quoted-printable")
        for header in extra { lines += Self.unstructured(header.name, header.value) }
        text = lines.joined(separator: "\n") + "\n\n" + Self.quotedPrintable(Self.endingInNewline(body ?? NotificationText.body(notification)))
    }

    /// A template's text may end without a line break; a message's last line has one.
    static func endingInNewline(_ text: String) -> String {
        text.utf8.last == UInt8(ascii: "\n") ? text : text + "\n"
    }

    // MARK: Addresses

    /// An address from the configuration, checked and ready for a header: `a@b.example`, or
    /// `Name <a@b.example>` with the name quoted or encoded when it needs to be.
    static func address(_ text: String) throws(NotifyError) -> String {
        let shown = NotificationText.singleLine(text)
        func reject(_ reason: String) -> NotifyError { NotifyError("email: address '\(shown)': \(reason)") }
        if text.unicodeScalars.contains(where: NotificationText.isControl) { throw reject("contains a line break or control character") }
        let trimmed = trim(Substring(text))
        if trimmed.isEmpty { throw reject("empty") }
        if trimmed.contains(",") || trimmed.contains(";") { throw reject("one address per entry (no ',' or ';')") }

        let display: Substring, mailbox: Substring
        if let open = trimmed.firstIndex(of: "<") {
            guard trimmed.last == ">", trimmed.lastIndex(of: "<") == open, trimmed.firstIndex(of: ">") == trimmed.index(before: trimmed.endIndex) else {
                throw reject("expected 'Name <address>'")
            }
            display = trim(trimmed[..<open])
            mailbox = trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]
        } else {
            display = ""
            mailbox = trimmed
        }
        if mailbox.isEmpty { throw reject("empty") }
        if mailbox.contains(where: { $0 == " " || $0 == "<" || $0 == ">" || !$0.isASCII }) { throw reject("not a plain ASCII address") }
        if mailbox.utf8.count > 254 { throw reject("longer than 254 bytes") }
        if display.isEmpty { return String(mailbox) }
        return phrase(String(display)) + " <" + mailbox + ">"
    }

    /// A display name as RFC 5322 wants it: as it is when it is plain words, quoted when it holds
    /// specials, encoded words when it is not ASCII.
    static func phrase(_ name: String) -> String {
        let printable = name.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        if !printable || name.contains("=?") || name.split(separator: " ").contains(where: { $0.utf8.count > 60 }) {
            return encodedWords(name, firstLimit: 60).joined(separator: " ")
        }
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { return name }
        let specials = "()<>[]:;@\\,.\""
        guard name.contains(where: { specials.contains($0) }) else { return name }
        var quoted = "\""
        for character in name {
            if character == "\\" || character == "\"" { quoted += "\\" }
            quoted.append(character)
        }
        return quoted + "\""
    }

    static func checkName(_ name: String) throws(NotifyError) {
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
            throw NotifyError("email: '\(NotificationText.singleLine(name))' is not a header name (printable ASCII without ':' or spaces)")
        }
    }

    private static func trim(_ text: Substring) -> Substring {
        guard let first = text.firstIndex(where: { $0 != " " }), let last = text.lastIndex(where: { $0 != " " }) else { return "" }
        return text[first...last]
    }

    // MARK: Header lines

    /// The lines of an unstructured header (`Subject`, the configuration's own): control
    /// characters become spaces, then the value is written as it is, folded at spaces, when it
    /// is printable ASCII, else as RFC 2047 encoded words.
    static func unstructured(_ name: String, _ value: String) -> [String] {
        let value = NotificationText.singleLine(value)
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && !value.contains("=?") {
            let lines = folded(name, value)
            if lines.allSatisfy({ $0.utf8.count <= 998 }) { return lines }
        }
        var lines = [name + ":"]
        for (index, word) in encodedWords(value, firstLimit: 76 - name.utf8.count - 2).enumerated() {
            if index == 0 && lines[0].utf8.count + 1 + word.utf8.count <= 76 { lines[0] += " " + word } else { lines.append(" " + word) }
        }
        return lines
    }

    /// `Name: value` folded before spaces so that lines stay within 76 bytes where the value
    /// allows (76, not 78, because a line holding an encoded word may be no longer).
    static func folded(_ name: String, _ value: String) -> [String] {
        var lines = [name + ":"]
        for piece in value.split(separator: " ", omittingEmptySubsequences: false) {
            let line = lines[lines.count - 1]
            if !piece.isEmpty && line.utf8.count + 1 + piece.utf8.count > 76 {
                lines.append(" " + piece)
            } else {
                lines[lines.count - 1] += " " + piece
            }
        }
        return lines
    }

    /// `text` as `=?UTF-8?B?...?=` words of whole characters, each at most 75 bytes, the first at
    /// most `firstLimit` when that leaves room for a character (so that it fits after the header's
    /// name). An empty text is one empty word.
    static func encodedWords(_ text: String, firstLimit: Int) -> [String] {
        func length(_ bytes: Int) -> Int { 12 + (bytes + 2) / 3 * 4 }
        var words: [String] = []
        var pending: [UInt8] = []
        var limit = firstLimit >= length(4) ? min(firstLimit, 75) : 75
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if !pending.isEmpty && length(pending.count + bytes.count) > limit {
                words.append("=?UTF-8?B?" + base64(pending) + "?=")
                pending = []
                limit = 75
            }
            pending += bytes
        }
        if !pending.isEmpty || words.isEmpty { words.append("=?UTF-8?B?" + base64(pending) + "?=") }
        return words
    }

    /// `Fri, 05 Apr 2024 10:00:00 +0000`.
    static func date(_ milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : -((-milliseconds + 999) / 1000)
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Timestamp.civil(fromDays: days)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let weekday = weekdays[Int(((days % 7) + 11) % 7)] // 1970-01-01 was a Thursday
        return "\(weekday), \(two(day)) \(Timestamp.monthAbbreviations[Int(month) - 1]) \(year) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }

    // MARK: Encodings

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            var group = UInt32(bytes[index]) << 16
            if count > 1 { group |= UInt32(bytes[index + 1]) << 8 }
            if count > 2 { group |= UInt32(bytes[index + 2]) }
            for position in 0..<4 {
                output.append(position <= count ? alphabet[Int(group >> UInt32(18 - 6 * position) & 63)] : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// `text` in quoted-printable (RFC 2045): printable ASCII as it is, everything else and `=` as
    /// `=XX`, spaces at the end of a line encoded, lines longer than 76 broken with a soft `=`.
    /// Line breaks of `text` are LF and stay hard breaks. A line starting `From ` gets its `F`
    /// encoded, so no mailbox mistakes it for the start of a message.
    static func quotedPrintable(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        for (lineNumber, line) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if lineNumber > 0 { output.append(UInt8(ascii: "\n")) }
            let bytes = Array(line)
            var length = 0
            for (index, byte) in bytes.enumerated() {
                let last = index == bytes.count - 1
                let literal = (byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "="))
                    || ((byte == 0x20 || byte == 0x09) && !last)
                let fromLine = index == 0 && bytes.starts(with: "From ".utf8)
                let token: [UInt8] = literal && !fromLine ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                if length + token.count > (last ? 76 : 75) {
                    output.append(contentsOf: "=\n".utf8)
                    length = 0
                }
                output += token
                length += token.count
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
