import Foundation
import XCTest
@testable import MetricLine

/// The bodies mnotify sends: Alertmanager's webhook payload, Slack's incoming webhook, and the email
/// message for sendmail, each parsed back here with an independent reader.
final class NotifyPayloadTests: XCTestCase {
    // MARK: Fixtures

    /// 2024-04-05T10:00:00.123Z, a Friday.
    let start: Int64 = 1_712_311_200_123

    func labels(_ pairs: KeyValuePairs<String, String>) -> LabelSet {
        pairs.map { Label($0.key, $0.value) }.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    func alert(_ status: AlertNotification.Status, _ labelPairs: KeyValuePairs<String, String>,
               annotations: KeyValuePairs<String, String> = [:], startsAt: Int64? = nil, endsAt: Int64 = 0,
               generatorURL: String = "") -> AlertNotification {
        let set = labels(labelPairs)
        return AlertNotification(status: status, labels: set, annotations: labels(annotations), startsAt: startsAt ?? start,
                                 endsAt: endsAt, value: 93, generatorURL: generatorURL, fingerprint: Alert.fingerprint(of: set))
    }

    /// Two disks of web01 filling up and one that has recovered, grouped by alertname.
    func diskFull() -> GroupNotification {
        let annotations: KeyValuePairs<String, String> = ["summary": "Disk almost full"]
        return GroupNotification(
            receiver: "ops", groupKey: #"{}:{alertname="DiskFull"}"#, groupLabels: labels(["alertname": "DiskFull"]),
            alerts: [
                alert(.firing, ["alertname": "DiskFull", "instance": "web01", "mountpoint": "/var", "device": "sda1"],
                      annotations: annotations, endsAt: start + 240_000, generatorURL: "http://prom.example:9090/graph?g0.expr=a&g0.tab=1"),
                alert(.firing, ["alertname": "DiskFull", "instance": "web01", "mountpoint": "/var", "device": "sdb1"],
                      annotations: ["summary": "Disk almost full", "description": "93 % used"], endsAt: start + 240_000),
                alert(.resolved, ["alertname": "DiskFull", "instance": "web01", "mountpoint": "/var", "device": "sdc1"],
                      annotations: annotations, startsAt: start - 3_600_000, endsAt: start - 1_800_000),
            ],
            externalURL: "http://am.example:9093")
    }

    func json(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(bytes.last, UInt8(ascii: "\n"), file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], file: file, line: line)
    }

    func dictionary(_ set: LabelSet) -> [String: String] {
        Dictionary(uniqueKeysWithValues: set.map { ($0.name, $0.value) })
    }

    // MARK: Plain text

    func testTitleIsAlertmanagersDefaultSubject() {
        var notification = diskFull()
        XCTAssertEqual(NotificationText.title(notification), "[FIRING:2] DiskFull (web01 /var)")
        notification.alerts = notification.resolved
        XCTAssertEqual(NotificationText.title(notification), "[RESOLVED] DiskFull (sdc1 web01 /var)")
        // Group values put alertname first, then the others by name.
        notification = diskFull()
        notification.groupLabels = labels(["instance": "web01", "alertname": "DiskFull"])
        XCTAssertEqual(NotificationText.title(notification), "[FIRING:2] DiskFull web01 (/var)")
        notification.groupLabels = labels(["alertname": "DiskFull", "instance": "web01", "mountpoint": "/var"])
        XCTAssertEqual(NotificationText.title(notification), "[FIRING:2] DiskFull web01 /var")
    }

    func testBodyListsFiringThenResolvedThenTheExternalURL() {
        var notification = diskFull()
        notification.alerts.reverse()
        notification.truncatedAlerts = 4
        XCTAssertEqual(NotificationText.body(notification), """
            FIRING DiskFull
            Disk almost full
            device = sdb1
            instance = web01
            mountpoint = /var
            Started 2024-04-05 10:00:00 UTC

            FIRING DiskFull
            Disk almost full
            device = sda1
            instance = web01
            mountpoint = /var
            Started 2024-04-05 10:00:00 UTC
            Source http://prom.example:9090/graph?g0.expr=a&g0.tab=1

            RESOLVED DiskFull
            Disk almost full
            device = sdc1
            instance = web01
            mountpoint = /var
            Started 2024-04-05 09:00:00 UTC
            Ended 2024-04-05 09:30:00 UTC

            4 more alerts not shown.

            http://am.example:9093

            """)
    }

    func testTextKeepsOneLabelPerLine() {
        let hostile = alert(.firing, ["alertname": "A\nB", "path": "x\r\ny\u{1}z\u{85}"],
                            annotations: ["description": "line one\r\nline two\rline three\u{7}\n\n"])
        XCTAssertEqual(NotificationText.alert(hostile), """
            FIRING A B
            line one
            line two
            line three
            path = x  y z 
            Started 2024-04-05 10:00:00 UTC
            """)
    }

    // MARK: Webhook

    func testWebhookCarriesEveryField() throws {
        let notification = diskFull()
        let object = try json(WebhookPayload.body(notification))
        XCTAssertEqual(Set(object.keys), ["version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
                                          "commonAnnotations", "externalURL", "alerts"])
        XCTAssertEqual(object["version"] as? String, "4")
        XCTAssertEqual(object["groupKey"] as? String, #"{}:{alertname="DiskFull"}"#)
        XCTAssertEqual(object["truncatedAlerts"] as? Int, 0)
        XCTAssertEqual(object["status"] as? String, "firing")
        XCTAssertEqual(object["receiver"] as? String, "ops")
        XCTAssertEqual(object["groupLabels"] as? [String: String], ["alertname": "DiskFull"])
        XCTAssertEqual(object["commonLabels"] as? [String: String], ["alertname": "DiskFull", "instance": "web01", "mountpoint": "/var"])
        XCTAssertEqual(object["commonAnnotations"] as? [String: String], ["summary": "Disk almost full"])
        XCTAssertEqual(object["externalURL"] as? String, "http://am.example:9093")
        let alerts = try XCTUnwrap(object["alerts"] as? [[String: Any]])
        XCTAssertEqual(alerts.count, 3)
        for (sent, expected) in zip(alerts, notification.alerts) {
            XCTAssertEqual(Set(sent.keys), ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"])
            XCTAssertEqual(sent["status"] as? String, expected.status.rawValue)
            XCTAssertEqual(sent["labels"] as? [String: String], dictionary(expected.labels))
            XCTAssertEqual(sent["annotations"] as? [String: String], dictionary(expected.annotations))
            XCTAssertEqual(sent["generatorURL"] as? String, expected.generatorURL)
            XCTAssertEqual(sent["fingerprint"] as? String, expected.fingerprint)
        }
        XCTAssertEqual(alerts[0]["startsAt"] as? String, "2024-04-05T10:00:00.123Z")
        XCTAssertEqual(alerts[0]["endsAt"] as? String, "0001-01-01T00:00:00Z", "a firing alert hides its end")
        XCTAssertEqual(alerts[2]["startsAt"] as? String, "2024-04-05T09:00:00.123Z")
        XCTAssertEqual(alerts[2]["endsAt"] as? String, "2024-04-05T09:30:00.123Z")
    }

    func testWebhookEscapesEveryString() throws {
        let odd = "quote \" backslash \\ newline \n return \r tab \t bell \u{7} nul \u{0} del \u{7F} é – 🚨 \u{2028}"
        var notification = diskFull()
        notification.receiver = odd
        notification.groupKey = #"{}:{alertname="\"x\""}"#
        notification.externalURL = odd
        notification.alerts = [alert(.resolved, ["alertname": "DiskFull", "path": odd], annotations: ["summary": odd], endsAt: start,
                                     generatorURL: odd)]
        let object = try json(WebhookPayload.body(notification))
        XCTAssertEqual(object["receiver"] as? String, odd)
        XCTAssertEqual(object["groupKey"] as? String, notification.groupKey)
        XCTAssertEqual(object["externalURL"] as? String, odd)
        XCTAssertEqual(object["status"] as? String, "resolved")
        XCTAssertEqual(object["commonLabels"] as? [String: String], ["alertname": "DiskFull", "path": odd])
        XCTAssertEqual(object["commonAnnotations"] as? [String: String], ["summary": odd])
        let sent = try XCTUnwrap((object["alerts"] as? [[String: Any]])?.first)
        XCTAssertEqual(sent["labels"] as? [String: String], ["alertname": "DiskFull", "path": odd])
        XCTAssertEqual(sent["generatorURL"] as? String, odd)
        XCTAssertEqual(sent["endsAt"] as? String, "2024-04-05T10:00:00.123Z")
        // Raw control characters never reach the wire.
        XCTAssertFalse(WebhookPayload.body(notification).dropLast().contains { $0 < 0x20 || $0 == 0x7F })
    }

    func testWebhookTruncationKeepsTheFirstAlerts() throws {
        let notification = diskFull()
        XCTAssertEqual(WebhookPayload.truncated(notification, maxAlerts: 0), notification)
        XCTAssertEqual(WebhookPayload.truncated(notification, maxAlerts: 3), notification)
        let cut = WebhookPayload.truncated(notification, maxAlerts: 1)
        XCTAssertEqual(cut.alerts, [notification.alerts[0]])
        XCTAssertEqual(cut.truncatedAlerts, 2)
        XCTAssertEqual(WebhookPayload.truncated(cut, maxAlerts: 1), cut)
        let object = try json(WebhookPayload.body(cut))
        XCTAssertEqual(object["truncatedAlerts"] as? Int, 2)
        XCTAssertEqual((object["alerts"] as? [Any])?.count, 1)
        // Common labels follow the alerts that are sent, as Alertmanager builds them after cutting.
        XCTAssertEqual((object["commonLabels"] as? [String: String])?["device"], "sda1")

        var resolvedFirst = notification
        resolvedFirst.alerts = Array(notification.alerts.reversed())
        XCTAssertEqual(WebhookPayload.truncated(resolvedFirst, maxAlerts: 1).status, .resolved)
    }

    // MARK: Slack

    func sections(_ object: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let blocks = try XCTUnwrap(object["blocks"] as? [[String: Any]], file: file, line: line)
        return try blocks.map { block in
            XCTAssertEqual(block["type"] as? String, "section", file: file, line: line)
            let text = try XCTUnwrap(block["text"] as? [String: Any], file: file, line: line)
            XCTAssertEqual(text["type"] as? String, "mrkdwn", file: file, line: line)
            return try XCTUnwrap(text["text"] as? String, file: file, line: line)
        }
    }

    func testSlackListsEachAlertWithWhatTellsItApart() throws {
        let object = try json(SlackPayload.body(diskFull()))
        XCTAssertEqual(Set(object.keys), ["text", "blocks"])
        XCTAssertEqual(object["text"] as? String, "[FIRING:2] DiskFull (web01 /var)")
        XCTAssertEqual(try sections(object), [
            "*[FIRING:2] DiskFull (web01 /var)*\n<http://am.example:9093|View alerts>",
            "*FIRING DiskFull*\nDisk almost full\ndevice = sda1\n<http://prom.example:9090/graph?g0.expr=a&amp;g0.tab=1|Source>",
            "*FIRING DiskFull*\nDisk almost full\ndevice = sdb1",
            "*RESOLVED DiskFull*\nDisk almost full\ndevice = sdc1",
        ])
    }

    func testSlackOverridesChannelAndUsername() throws {
        let object = try json(SlackPayload.body(diskFull(), channel: "#ops \"x\"", username: "mnotify"))
        XCTAssertEqual(object["channel"] as? String, "#ops \"x\"")
        XCTAssertEqual(object["username"] as? String, "mnotify")
        let icons = try json(SlackPayload.body(diskFull(), iconEmoji: ":bell:", iconURL: "https://example.com/a.png"))
        XCTAssertEqual(icons["icon_emoji"] as? String, ":bell:")
        XCTAssertEqual(icons["icon_url"] as? String, "https://example.com/a.png")
        XCTAssertNil(icons["channel"], "what is not set is left out")
    }

    func testSlackEscapesControlCharactersSoNobodyIsPinged() throws {
        var notification = diskFull()
        notification.groupLabels = labels(["alertname": "DiskFull", "team": "<!channel> & <@U123>"])
        notification.alerts = [
            alert(.firing, ["alertname": "DiskFull", "team": "<!channel> & <@U123>", "host": "<!here|x>"],
                  annotations: ["summary": "a < b > c & <https://evil.example|click>"], generatorURL: "http://p.example/g?a=1&b=<2>|3"),
            alert(.firing, ["alertname": "DiskFull", "team": "<!channel> & <@U123>", "host": "b"]),
        ]
        let body = SlackPayload.body(notification)
        let object = try json(body)
        XCTAssertEqual(object["text"] as? String, "[FIRING:2] DiskFull &lt;!channel&gt; &amp; &lt;@U123&gt;")
        let texts = try sections(object)
        XCTAssertEqual(texts[1], "*FIRING DiskFull*\na &lt; b &gt; c &amp; &lt;https://evil.example|click&gt;\nhost = &lt;!here|x&gt;\n"
                           + "<http://p.example/g?a=1&amp;b=&lt;2&gt;%7C3|Source>")
        for text in texts + [object["text"] as? String ?? ""] {
            XCTAssertFalse(text.contains("<!"), text)
            XCTAssertFalse(text.contains("<@"), text)
            XCTAssertFalse(text.contains("<https://evil"), text)
        }
    }

    func testSlackStaysWithinItsLimits() throws {
        var notification = diskFull()
        let long = String(repeating: "x & y 🚨 ", count: 500)
        notification.alerts = (0..<120).map { index in
            alert(.firing, ["alertname": "DiskFull", "device": "sd\(index)"], annotations: ["summary": long])
        }
        notification.truncatedAlerts = 5
        let object = try json(SlackPayload.body(notification))
        let texts = try sections(object)
        XCTAssertEqual(texts.count, SlackPayload.maximumBlocks)
        XCTAssertEqual(texts.last, "_…and 77 more alerts_")
        XCTAssertTrue(texts[48].contains("device = sd47"))
        for text in texts {
            XCTAssertLessThanOrEqual(text.utf16.count, SlackPayload.maximumSectionLength)
        }
        // The summary gives way to the labels that tell the alerts apart.
        XCTAssertTrue(texts[1].hasSuffix("…\ndevice = sd0"), String(texts[1].suffix(40)))
        XCTAssertGreaterThan(texts[1].utf16.count, 2990)
        // Labels too long for a section are cut like any text.
        var huge = notification
        huge.alerts = [alert(.firing, ["alertname": "DiskFull", "device": long]), alert(.firing, ["alertname": "DiskFull"])]
        let hugeTexts = try sections(json(SlackPayload.body(huge)))
        XCTAssertTrue(hugeTexts[1].hasPrefix("*FIRING DiskFull*\ndevice = x &amp; y"))
        XCTAssertTrue(hugeTexts[1].hasSuffix("…"))
        XCTAssertLessThanOrEqual(hugeTexts[1].utf16.count, SlackPayload.maximumSectionLength)

        // A few alerts need no note about the rest.
        notification.alerts.removeLast(71)
        notification.truncatedAlerts = 0
        let few = try sections(json(SlackPayload.body(notification)))
        XCTAssertEqual(few.count, 50)
        XCTAssertTrue(few.last?.contains("device = sd48") ?? false)
    }

    func testSlackTruncationNeverBreaksAnEscapeOrALink() {
        XCTAssertEqual(SlackPayload.truncated("abc", to: 3), "abc")
        XCTAssertEqual(SlackPayload.truncated("abcd", to: 3), "ab…")
        XCTAssertEqual(SlackPayload.truncated("ab&amp;cd", to: 6), "ab…")
        XCTAssertEqual(SlackPayload.truncated("ab&amp;cd", to: 9), "ab&amp;cd")
        XCTAssertEqual(SlackPayload.truncated("ab&amp;cd", to: 8), "ab&amp;…")
        XCTAssertEqual(SlackPayload.truncated("x <http://a.example/?q=1&amp;r=2|Source> y", to: 30), "x …")
        XCTAssertEqual(SlackPayload.truncated("🚨🚨🚨", to: 4), "🚨…", "a character is never split")
    }

    // MARK: Email

    /// A message read back: headers unfolded, in order, and the raw body.
    struct ParsedMessage {
        var headers: [(name: String, value: String)]
        var rawHeaderLines: [String]
        var body: String

        func values(_ name: String) -> [String] { headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value) }
        func value(_ name: String) -> String? { values(name).first }
    }

    func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> ParsedMessage {
        let parts = text.components(separatedBy: "\n\n")
        XCTAssertGreaterThan(parts.count, 1, file: file, line: line)
        let headerLines = parts[0].components(separatedBy: "\n")
        var unfolded: [String] = []
        for headerLine in headerLines {
            if headerLine.hasPrefix(" ") || headerLine.hasPrefix("\t") {
                unfolded[unfolded.count - 1] += headerLine
            } else {
                unfolded.append(headerLine)
            }
        }
        var headers: [(name: String, value: String)] = []
        for field in unfolded {
            let colon = try XCTUnwrap(field.firstIndex(of: ":"), "not a header: \(field)", file: file, line: line)
            XCTAssertFalse(field[..<colon].contains(" "), file: file, line: line)
            headers.append((String(field[..<colon]), String(field[field.index(after: colon)...].drop { $0 == " " })))
        }
        return ParsedMessage(headers: headers, rawHeaderLines: headerLines, body: parts.dropFirst().joined(separator: "\n\n"))
    }

    /// Decodes RFC 2047 `=?UTF-8?B?...?=` words; blanks between two encoded words are dropped.
    func decodeWords(_ value: String) throws -> String {
        var result = ""
        var previousWasEncoded = false
        for (index, token) in value.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            if token.hasPrefix("=?UTF-8?B?") && token.hasSuffix("?=") {
                XCTAssertLessThanOrEqual(token.utf8.count, 75)
                let payload = token.dropFirst(10).dropLast(2)
                let data = try XCTUnwrap(Data(base64Encoded: String(payload)))
                if index > 0 && !previousWasEncoded { result += " " }
                result += try XCTUnwrap(String(data: data, encoding: .utf8), "an encoded word holds whole characters")
                previousWasEncoded = true
            } else {
                if index > 0 { result += " " }
                result += token
                previousWasEncoded = false
            }
        }
        return result
    }

    func decodeQuotedPrintable(_ body: String) throws -> String {
        var bytes: [UInt8] = []
        let lines = body.components(separatedBy: "\n")
        for (index, line) in lines.enumerated() {
            var utf8 = Array(line.utf8)
            let soft = utf8.last == UInt8(ascii: "=")
            if soft { utf8.removeLast() }
            var position = 0
            while position < utf8.count {
                if utf8[position] == UInt8(ascii: "=") {
                    let hex = try XCTUnwrap(String(bytes: utf8[(position + 1)...(position + 2)], encoding: .ascii))
                    XCTAssertEqual(hex, hex.uppercased())
                    bytes.append(try XCTUnwrap(UInt8(hex, radix: 16)))
                    position += 3
                } else {
                    XCTAssert(utf8[position] >= 0x20 && utf8[position] < 0x7F || utf8[position] == 0x09)
                    bytes.append(utf8[position])
                    position += 1
                }
            }
            if !soft && index < lines.count - 1 { bytes.append(UInt8(ascii: "\n")) }
        }
        return try XCTUnwrap(String(bytes: bytes, encoding: .utf8))
    }

    func checkLineLengths(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let message = try parse(text, file: file, line: line)
        for headerLine in message.rawHeaderLines {
            XCTAssertLessThanOrEqual(headerLine.utf8.count, 998, file: file, line: line)
            if headerLine.contains("=?UTF-8?") { XCTAssertLessThanOrEqual(headerLine.utf8.count, 76, headerLine, file: file, line: line) }
            XCTAssertFalse(headerLine.trimmingCharacters(in: .whitespaces).isEmpty, "no blank folded line", file: file, line: line)
        }
        for bodyLine in message.body.components(separatedBy: "\n") {
            XCTAssertLessThanOrEqual(bodyLine.utf8.count, 76, bodyLine, file: file, line: line)
            XCTAssertFalse(bodyLine.hasSuffix(" ") || bodyLine.hasSuffix("\t"), "no trailing blank: \(bodyLine)", file: file, line: line)
        }
        XCTAssertFalse(text.contains("\r"), file: file, line: line)
    }

    func testEmailHeaders() throws {
        var notification = diskFull()
        notification.groupLabels = labels(["alertname": "DiskFull", "instance": "web01", "mountpoint": "/var"])
        let email = try EmailMessage(notification: notification, from: "mnotify@example.com",
                                     to: ["ops@example.com", "Jürgen Müller <jm@example.com>", "Dr. Who <who@example.com>"],
                                     headers: [("X-Team", "storage"), ("Reply-To", "noc@example.com")], now: start)
        let message = try parse(email.text)
        XCTAssertEqual(message.headers.map(\.name), ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
                                                     "Content-Transfer-Encoding", "X-Team", "Reply-To"])
        XCTAssertEqual(message.value("From"), "mnotify@example.com")
        XCTAssertEqual(try decodeWords(message.value("To") ?? ""),
                       #"ops@example.com, Jürgen Müller <jm@example.com>, "Dr. Who" <who@example.com>"#)
        XCTAssertEqual(message.value("Subject"), "[FIRING:2] DiskFull web01 /var")
        XCTAssertEqual(email.subject, "[FIRING:2] DiskFull web01 /var")
        XCTAssertEqual(message.value("Date"), "Fri, 05 Apr 2024 10:00:00 +0000")
        let messageID = try XCTUnwrap(message.value("Message-ID"))
        XCTAssertNotNil(messageID.range(of: #"^<[0-9a-f]{16}\.1712311200123@mnotify>$"#, options: .regularExpression), messageID)
        XCTAssertEqual(message.value("MIME-Version"), "1.0")
        XCTAssertEqual(message.value("Content-Type"), "text/plain; charset=utf-8")
        XCTAssertEqual(message.value("Content-Transfer-Encoding"), "quoted-printable")
        XCTAssertEqual(message.value("X-Team"), "storage")
        XCTAssertEqual(message.value("Reply-To"), "noc@example.com")
        XCTAssertEqual(try decodeQuotedPrintable(message.body), NotificationText.body(notification))
        try checkLineLengths(email.text)

        // The same inputs make the same message; another group or receiver another Message-ID.
        let again = try EmailMessage(notification: notification, from: "mnotify@example.com",
                                     to: ["ops@example.com", "Jürgen Müller <jm@example.com>", "Dr. Who <who@example.com>"],
                                     headers: [("X-Team", "storage"), ("Reply-To", "noc@example.com")], now: start)
        XCTAssertEqual(again.text, email.text)
        notification.receiver = "other"
        let other = try parse(EmailMessage(notification: notification, from: "a@example.com", to: ["b@example.com"], now: start).text)
        XCTAssertNotEqual(other.value("Message-ID"), messageID)
    }

    func testEmailSubjectCanBeReplaced() throws {
        let email = try EmailMessage(notification: diskFull(), from: "a@example.com", to: ["b@example.com"],
                                     headers: [("Subject", "Disks\r\nBcc: evil@example.com")], now: start)
        let message = try parse(email.text)
        XCTAssertEqual(message.values("Subject"), ["Disks  Bcc: evil@example.com"])
        XCTAssertEqual(message.values("Bcc"), [])
    }

    func testEmailDate() {
        XCTAssertEqual(EmailMessage.date(0), "Thu, 01 Jan 1970 00:00:00 +0000")
        XCTAssertEqual(EmailMessage.date(951_782_400_000), "Tue, 29 Feb 2000 00:00:00 +0000")
        XCTAssertEqual(EmailMessage.date(1_709_251_199_999), "Thu, 29 Feb 2024 23:59:59 +0000")
        XCTAssertEqual(EmailMessage.date(-1), "Wed, 31 Dec 1969 23:59:59 +0000")
    }

    func testLabelsCannotInjectHeadersOrRecipients() throws {
        let injection = "x\r\nBcc: evil@example.com\r\n\r\nbody"
        var notification = diskFull()
        notification.groupLabels = labels(["alertname": "DiskFull", "instance": injection])
        notification.alerts = [
            alert(.firing, ["alertname": "DiskFull", "instance": injection, "other": "y\nCc: evil2@example.com\u{0}\u{85}"],
                  annotations: ["summary": "s\nTo: evil3@example.com"], generatorURL: "http://x.example/\r\nBcc: evil4@example.com"),
        ]
        notification.externalURL = "http://am.example/\nBcc: evil5@example.com"
        let email = try EmailMessage(notification: notification, from: "mnotify@example.com", to: ["ops@example.com"],
                                     headers: [("X-Note", "n\r\nBcc: evil6@example.com\nCc: evil7@example.com")], now: start)
        let message = try parse(email.text)
        XCTAssertEqual(message.headers.map(\.name), ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
                                                     "Content-Transfer-Encoding", "X-Note"])
        for headerLine in message.rawHeaderLines {
            XCTAssertFalse(headerLine.lowercased().hasPrefix("bcc"), headerLine)
            XCTAssertFalse(headerLine.lowercased().hasPrefix("cc"), headerLine)
        }
        XCTAssertEqual(message.values("To"), ["ops@example.com"])
        XCTAssertEqual(message.value("Subject"), "[FIRING:1] DiskFull x  Bcc: evil@example.com    body (y Cc: evil2@example.com  )")
        XCTAssertEqual(message.value("X-Note"), "n  Bcc: evil6@example.com Cc: evil7@example.com")
        XCTAssertFalse(email.text.contains("\r"))
        XCTAssertFalse(email.text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        // In the body the values stay on their own lines, so they cannot pass for headers either.
        let body = try decodeQuotedPrintable(message.body)
        XCTAssertTrue(body.contains("instance = x  Bcc: evil@example.com    body\n"), body)
        XCTAssertTrue(body.contains("other = y Cc: evil2@example.com  \n"), body)
        try checkLineLengths(email.text)
    }

    func testEmailRejectsBadAddressesAndHeaders() {
        func rejects(from: String = "a@example.com", to: [String] = ["b@example.com"], headers: [(name: String, value: String)] = [],
                     _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try EmailMessage(notification: diskFull(), from: from, to: to, headers: headers, now: start),
                                 file: file, line: line) { error in
                let message = (error as? NotifyError)?.message ?? ""
                XCTAssertTrue(message.contains(expected), message, file: file, line: line)
                XCTAssertFalse(message.contains("\n") || message.contains("\r"), message, file: file, line: line)
            }
        }
        rejects(to: [], "no recipient")
        rejects(to: [""], "empty")
        rejects(to: ["   "], "empty")
        rejects(from: "", "empty")
        rejects(to: ["b@example.com\r\nBcc: evil@example.com"], "control character")
        rejects(to: ["b@example.com\nevil@example.com"], "control character")
        rejects(from: "a@example.com\r\nBcc: evil@example.com", "control character")
        rejects(to: ["b@example.com, evil@example.com"], "one address per entry")
        rejects(to: ["b@example.com; evil@example.com"], "one address per entry")
        rejects(to: ["Name <>"], "empty")
        rejects(to: ["Name <b@example.com"], "Name <address>")
        rejects(to: ["Name <b@example.com> x"], "Name <address>")
        rejects(to: ["Name <<b@example.com>>"], "Name <address>")
        rejects(to: ["b @example.com"], "plain ASCII")
        rejects(to: ["bü@example.com"], "plain ASCII")
        rejects(to: [String(repeating: "b", count: 250) + "@example.com"], "254")
        rejects(headers: [("Bcc", "evil@example.com")], "set by mnotify")
        rejects(headers: [("cc", "evil@example.com")], "set by mnotify")
        rejects(headers: [("Resent-To", "evil@example.com")], "set by mnotify")
        rejects(headers: [("Content-Type", "text/html")], "set by mnotify")
        rejects(headers: [("X Bad", "v")], "not a header name")
        rejects(headers: [("X-Bad:", "v")], "not a header name")
        rejects(headers: [("X-Bad\r\nBcc", "v")], "not a header name")
        rejects(headers: [("", "v")], "not a header name")
    }

    func testEmailAcceptsTheUsualAddressForms() throws {
        XCTAssertEqual(try EmailMessage.address("ops@example.com"), "ops@example.com")
        XCTAssertEqual(try EmailMessage.address("  <ops@example.com> "), "ops@example.com")
        XCTAssertEqual(try EmailMessage.address("Ops Team <ops@example.com>"), "Ops Team <ops@example.com>")
        XCTAssertEqual(try EmailMessage.address(#""Ops Team" <ops@example.com>"#), #""Ops Team" <ops@example.com>"#)
        XCTAssertEqual(try EmailMessage.address(#"ops@home "x" <ops@example.com>"#), #""ops@home \"x\"" <ops@example.com>"#)
        XCTAssertEqual(try EmailMessage.address("root"), "root")
        XCTAssertEqual(try decodeWords(EmailMessage.address("Jürgen <j@example.com>")), "Jürgen <j@example.com>")
    }

    func testUTF8SubjectAndBodyRoundTrip() throws {
        let text = "Festplatte fast voll – 93 % auf /var 🚨"
        var notification = diskFull()
        notification.groupLabels = labels(["alertname": "DiskFull", "summary": text])
        notification.alerts = [alert(.firing, ["alertname": "DiskFull", "summary": text, "instance": "web01"],
                                     annotations: ["summary": text, "description": "ignored"])]
        let email = try EmailMessage(notification: notification, from: "Überwachung <mnotify@example.com>", to: ["ops@example.com"],
                                     headers: [("X-Hinweis", "Grüße = " + text)], now: start)
        let message = try parse(email.text)
        XCTAssertEqual(try decodeWords(message.value("Subject") ?? ""), "[FIRING:1] DiskFull " + text + " (web01)")
        XCTAssertEqual(email.subject, "[FIRING:1] DiskFull " + text + " (web01)")
        XCTAssertEqual(try decodeWords(message.value("X-Hinweis") ?? ""), "Grüße = " + text)
        XCTAssertEqual(try decodeWords(message.value("From") ?? ""), "Überwachung <mnotify@example.com>")
        let body = try decodeQuotedPrintable(message.body)
        XCTAssertEqual(body, NotificationText.body(notification))
        XCTAssertTrue(body.hasPrefix("FIRING DiskFull\n" + text + "\ninstance = web01\nsummary = " + text + "\n"), body)
        XCTAssertTrue(message.body.contains("=E2=80=93 93 % auf /var =F0=9F=9A=A8"), message.body)
        try checkLineLengths(email.text)
    }

    func testLongHeadersAndBodyLinesAreFolded() throws {
        let longUTF8 = String(repeating: "Grüße aus der Überwachung 🚨 ", count: 40)
        let longWord = String(repeating: "x", count: 2000)
        let longWords = Array(repeating: "word", count: 400).joined(separator: " ")
        var notification = diskFull()
        notification.groupLabels = labels(["alertname": "DiskFull", "a": longUTF8, "b": longWord, "c": longWords])
        notification.alerts = [alert(.firing, ["alertname": "DiskFull", "a": longUTF8, "b": longWord, "c": longWords],
                                     annotations: ["summary": longUTF8 + "trailing blank   "], generatorURL: "http://x.example/" + longWord)]
        let email = try EmailMessage(notification: notification, from: "a@example.com", to: ["b@example.com"],
                                     headers: [("X-Long-Word", longWord), ("X-Long-Words", longWords),
                                               ("X-" + String(repeating: "N", count: 70), "ü")], now: start)
        try checkLineLengths(email.text)
        let message = try parse(email.text)
        XCTAssertEqual(try decodeWords(message.value("Subject") ?? ""), "[FIRING:1] DiskFull \(longUTF8) \(longWord) \(longWords)")
        XCTAssertEqual(try decodeWords(message.value("X-Long-Word") ?? ""), longWord)
        XCTAssertEqual(message.value("X-Long-Words"), longWords, "plain ASCII is folded at spaces, not encoded")
        XCTAssertEqual(try decodeWords(message.value("X-" + String(repeating: "N", count: 70)) ?? ""), "ü")
        XCTAssertEqual(try decodeQuotedPrintable(message.body), NotificationText.body(notification))
        XCTAssertTrue(message.rawHeaderLines.count > 20)
    }

    func testQuotedPrintable() throws {
        XCTAssertEqual(EmailMessage.quotedPrintable("a = b \nFrom here\nFrom\n.\ntab\t\n"), "a =3D b=20\n=46rom here\nFrom\n.\ntab=09\n")
        XCTAssertEqual(EmailMessage.quotedPrintable(String(repeating: "a", count: 76) + "\n"), String(repeating: "a", count: 76) + "\n")
        XCTAssertEqual(EmailMessage.quotedPrintable(String(repeating: "a", count: 77)),
                       String(repeating: "a", count: 75) + "=\naa")
        XCTAssertEqual(EmailMessage.quotedPrintable(String(repeating: "a", count: 74) + "é"),
                       String(repeating: "a", count: 74) + "=\n=C3=A9", "an escape is never split")
        var random = SeededRandom(seed: 7)
        let alphabet = Array("ab =\t.é–🚨\n".unicodeScalars)
        for _ in 0..<300 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0..<300, using: &random) { scalars.append(alphabet.randomElement(using: &random)!) }
            let text = String(scalars)
            let encoded = EmailMessage.quotedPrintable(text)
            XCTAssertEqual(try decodeQuotedPrintable(encoded), text)
            for encodedLine in encoded.components(separatedBy: "\n") {
                XCTAssertLessThanOrEqual(encodedLine.utf8.count, 76)
                XCTAssertFalse(encodedLine.hasSuffix(" ") || encodedLine.hasSuffix("\t"))
            }
        }
    }

    func testEncodedWordsHoldWholeCharacters() throws {
        let text = String(repeating: "🚨é–a", count: 30)
        let words = EmailMessage.encodedWords(text, firstLimit: 67)
        XCTAssertLessThanOrEqual(words[0].utf8.count, 67)
        XCTAssertEqual(try decodeWords(words.joined(separator: " ")), text)
        for word in words { XCTAssertNotNil(Data(base64Encoded: String(word.dropFirst(10).dropLast(2))).flatMap { String(data: $0, encoding: .utf8) }) }
        XCTAssertEqual(EmailMessage.base64(Array("".utf8)), "")
        XCTAssertEqual(EmailMessage.base64(Array("f".utf8)), "Zg==")
        XCTAssertEqual(EmailMessage.base64(Array("fo".utf8)), "Zm8=")
        XCTAssertEqual(EmailMessage.base64(Array("foobar".utf8)), "Zm9vYmFy")
        XCTAssertEqual(EmailMessage.encodedWords("", firstLimit: 67), ["=?UTF-8?B??="])
    }
}
