import Foundation
import XCTest
@testable import MetricLine

/// Receivers' templates: Alertmanager's template data under its names (the cases of
/// Fixtures/notify-templates.test, checked against the real amtool when it is installed),
/// `toJson` for bodies that must stay JSON, bad templates as configuration errors with positions,
/// and the templates applied to the messages, with the default text when one fails.
final class NotifyTemplateTests: XCTestCase {
    // MARK: Fixtures

    /// 2024-04-05T10:00:00.123Z.
    let start: Int64 = 1_712_311_200_123

    func labels(_ pairs: KeyValuePairs<String, String>) -> LabelSet {
        pairs.map { Label($0.key, $0.value) }.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    func alert(_ status: AlertNotification.Status, _ labelPairs: KeyValuePairs<String, String>, annotations: KeyValuePairs<String, String>,
               startsAt: Int64? = nil, endsAt: Int64 = 0, generatorURL: String = "") -> AlertNotification {
        let set = labels(labelPairs)
        return AlertNotification(status: status, labels: set, annotations: labels(annotations), startsAt: startsAt ?? start,
                                 endsAt: endsAt, value: 93, generatorURL: generatorURL, fingerprint: Alert.fingerprint(of: set))
    }

    /// Two disks filling up on web01 and web02 and one recovered, grouped by alertname.
    func diskFull() -> GroupNotification {
        GroupNotification(
            receiver: "ops", groupKey: #"{}:{alertname="DiskFull"}"#, groupLabels: labels(["alertname": "DiskFull"]),
            alerts: [
                alert(.firing, ["alertname": "DiskFull", "device": "sda1", "instance": "web01", "mountpoint": "/var", "severity": "page"],
                      annotations: ["summary": "Disk almost full on /var"], endsAt: start + 240_000,
                      generatorURL: "http://prom.example:9090/graph?g0.expr=a&g0.tab=1"),
                alert(.firing, ["alertname": "DiskFull", "device": "sdb1", "instance": "web02", "mountpoint": "/var", "severity": "page"],
                      annotations: ["summary": "Disk almost full", "description": "93 % used"], endsAt: start + 240_000),
                alert(.resolved, ["alertname": "DiskFull", "device": "sdc1", "instance": "web01", "mountpoint": "/srv", "severity": "page"],
                      annotations: ["summary": "Disk almost full on /srv"], startsAt: start - 3_600_000, endsAt: start - 1_800_000),
            ],
            externalURL: "http://am.example:9093")
    }

    func render(_ text: String, _ notification: GroupNotification) throws -> String {
        try NotificationTemplate(text, key: "test").template.render(NotificationTemplateData(notification).root)
    }

    func json(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], file: file, line: line)
    }

    /// A configuration of one receiver `r` with the integrations `receiver` (YAML, indented from 0).
    func config(_ receiver: String) throws -> NotifyConfig {
        let indented = receiver.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "    " + $0 }
        return try NotifyConfig.parse("route:\n  receiver: r\nreceivers:\n  - name: r\n" + indented.joined(separator: "\n"), path: "c.yml")
    }

    // MARK: Alertmanager's data

    func testFixtureCasesRenderAsAlertmanagerRendersThem() throws {
        let notification = diskFull()
        let amtool = "/usr/bin/amtool"
        let haveAmtool = FileManager.default.isExecutableFile(atPath: amtool)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("notify-templates-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Alertmanager's webhook payload is its template data plus three members it ignores.
        let data = directory.appendingPathComponent("data.json"), empty = directory.appendingPathComponent("empty.tmpl")
        try Data(WebhookPayload.body(notification)).write(to: data)
        try Data().write(to: empty)

        var cases = 0, checkedWithAmtool = 0
        var pending: (text: String, amtool: Bool, line: Int)?
        for (number, line) in try fixture("notify-templates.test").split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("render ") || line.hasPrefix("mnotify ") {
                let text = String(decoding: unescapeFixture(line.drop { $0 != " " }.dropFirst()), as: UTF8.self)
                pending = (text, line.hasPrefix("render "), number + 1)
            } else if line.hasPrefix("want"), let (text, checkAmtool, caseLine) = pending {
                pending = nil
                cases += 1
                let want = String(decoding: unescapeFixture(line.dropFirst(4).drop { $0 == " " }), as: UTF8.self)
                XCTAssertEqual(try render(text, notification), want, "notify-templates.test:\(caseLine): \(text)")
                guard haveAmtool && checkAmtool else { continue }
                checkedWithAmtool += 1
                let run = try runProgram(amtool, ["template", "render", "--template.glob=\(empty.path)", "--template.data=\(data.path)",
                                                  "--template.text=\(text)"])
                XCTAssertEqual(run.status, 0, run.stderr)
                XCTAssertEqual(run.stdout, want, "amtool, notify-templates.test:\(caseLine): \(text)")
            }
        }
        XCTAssertGreaterThan(cases, 15)
        if haveAmtool { XCTAssertGreaterThan(checkedWithAmtool, 10) }
    }

    func testToJsonOfTheDataIsTheWebhookPayloadWithoutItsEnvelope() throws {
        let notification = diskFull()
        var payload = try json(WebhookPayload.body(notification))
        for key in ["version", "groupKey", "truncatedAlerts"] { payload[key] = nil }
        let rendered = try json(Array(render("{{ toJson . }}", notification).utf8))
        XCTAssertEqual(rendered as NSDictionary, payload as NSDictionary)
    }

    func testRuntimeErrorsAreWordedAsGoWordsThem() {
        let notification = diskFull()
        for (text, message) in [
            ("{{ .Nope }}", #"template: test:1:3: executing "test" at <.Nope>: can't evaluate field Nope in type template.Data"#),
            ("{{ .Alerts.Firing 1 }}", #"template: test:1:10: executing "test" at <.Alerts.Firing>: wrong number of args for Firing: want 0 got 1"#),
            ("{{ len (index .Alerts 0) }}", #"template: test:1:3: executing "test" at <len (index .Alerts 0)>: error calling len: len of type template.Alert"#),
            ("{{ index .Alerts 5 }}", #"template: test:1:3: executing "test" at <index .Alerts 5>: error calling index: index out of range: 5"#),
            ("{{ toJson (index .Alerts 0).Value }}", #"template: test:1:25: executing "test" at <0>: can't evaluate field Value in type template.Alert"#),
        ] {
            XCTAssertThrowsError(try render(text, notification), text) { error in
                XCTAssertEqual((error as? TemplateError)?.message, message, text)
            }
        }
    }

    func testRuleTemplatesAreUnchanged() throws {
        // malert's annotations keep Prometheus's functions and variables; Alertmanager's additions stay out.
        XCTAssertThrowsError(try Template("{{ toJson $labels }}", name: "__alert_X")) { error in
            XCTAssertEqual((error as? TemplateError)?.message, #"template: __alert_X:1: function "toJson" not defined"#)
        }
        var data = TemplateData()
        data.labels = ["instance": "web01"]
        XCTAssertEqual(try Template("{{ $labels.instance }} {{ .Labels.instance }}", name: "__alert_X").render(data), "web01 web01")
        // Notification templates have only `$`.
        XCTAssertThrowsError(try NotificationTemplate("{{ $labels.instance }}", key: "text")) { error in
            XCTAssertEqual((error as? TemplateError)?.message, #"template: text:1: undefined variable "$labels""#)
        }
    }

    // MARK: Webhook bodies

    func testBodyTemplateWithToJsonStaysJSONWhateverTheLabelsHold() throws {
        let config = try config("""
            webhook_configs:
              - url: http://127.0.0.1:1/hook
                body_template: |
                  {"title": {{ printf "[%s] %s" (.Status | toUpper) .GroupLabels.alertname | toJson }},
                   "dedup_key": {{ .GroupKey | toJson }},
                   "lines": [{{ range $i, $a := .Alerts }}{{ if $i }},{{ end }}{{ $a.Annotations.summary | toJson }}{{ end }}],
                   "labels": {{ .CommonLabels | toJson }}}
            """)
        let webhook = try XCTUnwrap(config.receivers.first?.webhooks.first)
        var notification = diskFull()
        let hostile = "say \"hi\"\\\nBcc: x\r\t</script>&\u{2028}é"
        notification.groupLabels = labels(["alertname": hostile])
        for index in notification.alerts.indices {
            notification.alerts[index].labels = notification.alerts[index].labels.setting("alertname", hostile)
            notification.alerts[index].annotations = labels(["summary": "\(index) \(hostile)"])
        }
        let object = try json(Delivery.webhookBody(notification, webhook))
        XCTAssertEqual(object["title"] as? String, "[FIRING] " + hostile)
        XCTAssertEqual(object["dedup_key"] as? String, notification.groupKey)
        XCTAssertEqual(object["lines"] as? [String], ["0 \(hostile)", "1 \(hostile)", "2 \(hostile)"])
        XCTAssertEqual((object["labels"] as? [String: String])?["alertname"], hostile)
        XCTAssertNil(object["templateError"])
    }

    func testABodyThatIsNotJSONSendsAlertmanagersPayloadWithTheReason() throws {
        let config = try config("""
            webhook_configs:
              - url: http://127.0.0.1:1/a
                body_template: '{"text": "{{ .CommonAnnotations.summary }}"}'
              - url: http://127.0.0.1:1/b
                body_template: '{"first": {{ (index .Alerts 9).Labels | toJson }}}'
            """)
        let webhooks = try XCTUnwrap(config.receivers.first?.webhooks)
        var notification = diskFull()
        notification.alerts = [notification.alerts[0]]
        notification.alerts[0].annotations = labels(["summary": "a \"quoted\" word"])
        let unescaped = try json(Delivery.webhookBody(notification, webhooks[0]))
        XCTAssertEqual(unescaped["version"] as? String, "4")
        XCTAssertEqual((unescaped["alerts"] as? [Any])?.count, 1)
        XCTAssertEqual(unescaped["templateError"] as? String,
                       "mnotify: template 'body_template': the body is not JSON (byte 14: expected ',' or '}'); the default is shown instead.")
        let failing = try json(Delivery.webhookBody(notification, webhooks[1]))
        XCTAssertEqual(failing["version"] as? String, "4")
        XCTAssertTrue((failing["templateError"] as? String ?? "").contains("error calling index: index out of range: 9"))
    }

    // MARK: Configuration

    func testBadTemplatesAreConfigurationErrorsWithPositions() {
        let cases: [(String, String)] = [
            ("email_configs:\n  - to: a@example.org\n    text: '{{ .Status '\n",
             #"c.yml:7:15: receiver "r": email text: template: text:1: unclosed action"#),
            ("email_configs:\n  - to: a@example.org\n    headers:\n      Subject: '{{ nope .Status }}'\n",
             #"c.yml:8:20: receiver "r": email headers.Subject: template: headers.Subject:1: function "nope" not defined"#),
            ("slack_configs:\n  - api_url: http://127.0.0.1:1/\n    title: '{{ $labels.alertname }}'\n",
             #"c.yml:7:16: receiver "r": slack title: template: title:1: undefined variable "$labels""#),
            ("slack_configs:\n  - api_url: http://127.0.0.1:1/\n    text: '{{ template \"slack.default.text\" . }}'\n",
             #"c.yml:7:15: receiver "r": slack text: template: text: no template "slack.default.text" is defined in the text or the template files"#),
            ("webhook_configs:\n  - url: http://127.0.0.1:1/\n    body_template: |\n      {\"a\": {{ .Status | toJson }},\n       \"b\": {{ end }}}\n",
             #"c.yml:7:24: receiver "r": webhook body_template: template: body_template:2: unexpected {{end}}"#),
            ("webhook_configs:\n  - url: http://127.0.0.1:1/\n    body_template: {a: b}\n",
             #"c.yml:7:24: receiver "r": webhook body_template: want a template string, not a mapping"#),
            ("command_configs:\n  - command: [/bin/cat]\n    text: '{{ range .Alerts }}'\n",
             #"c.yml:7:15: receiver "r": command text: template: text:1: unexpected EOF"#),
        ]
        for (receivers, message) in cases {
            XCTAssertThrowsError(try config(receivers), receivers) { error in
                let problems = (error as? NotifyConfigErrors)?.problems.map(\.description) ?? []
                XCTAssertEqual(problems, [message], receivers)
            }
        }
    }

    // MARK: Messages

    func testEmailSubjectAndBodyTemplatesAreApplied() throws {
        let config = try config("""
            email_configs:
              - to: ops@example.org
                from: mnotify@example.org
                headers:
                  Subject: '{{ .Status | toUpper }}: {{ len .Alerts.Firing }} firing for {{ .GroupLabels.alertname }} ({{ .CommonLabels.severity }})'
                  X-Group: '{{ .GroupKey }}'
                text: |
                  {{ range .Alerts.Firing }}{{ .Labels.instance }} {{ .Annotations.summary }} since {{ .StartsAt.Format "15:04" }}
                  {{ end }}{{ .ExternalURL }}
            """)
        let email = try XCTUnwrap(config.receivers.first?.email.first)
        var notification = diskFull()
        // A line break in a label stays inside the subject: it adds no header and no recipient.
        notification.groupLabels = labels(["alertname": "DiskFull\r\nBcc: evil@example.org"])
        let message = try parse(Delivery.emailMessage(notification, email, from: "mnotify@example.org", now: start).text)
        XCTAssertEqual(message.value("Subject"), "FIRING: 2 firing for DiskFull  Bcc: evil@example.org (page)")
        XCTAssertEqual(message.value("X-Group"), #"{}:{alertname="DiskFull"}"#)
        XCTAssertEqual(message.values("Bcc"), [])
        XCTAssertEqual(message.values("To"), ["ops@example.org"])
        XCTAssertEqual(message.body, """
            web01 Disk almost full on /var since 10:00
            web02 Disk almost full since 10:00
            http://am.example:9093

            """)
    }

    func testEmailWithoutTemplatesKeepsTheDefaultText() throws {
        let email = try XCTUnwrap(try config("email_configs:\n  - to: ops@example.org\n").receivers.first?.email.first)
        let notification = diskFull()
        let message = try parse(Delivery.emailMessage(notification, email, from: "mnotify@example.org", now: start).text)
        XCTAssertEqual(message.value("Subject"), NotificationText.title(notification))
        XCTAssertEqual(message.body, NotificationText.body(notification))
    }

    func testAFailingTemplateFallsBackToTheDefaultWithANote() throws {
        let config = try config("""
            email_configs:
              - to: ops@example.org
                headers: {Subject: '{{ (index .Alerts 7).Status }}'}
                text: '{{ .Alerts.Firing.Nope }}'
            command_configs:
              - command: [/bin/cat]
                text: '{{ index .Alerts 3 }}'
            """)
        let receiver = try XCTUnwrap(config.receivers.first)
        let notification = diskFull()
        let message = try parse(Delivery.emailMessage(notification, receiver.email[0], from: "mnotify@example.org", now: start).text)
        XCTAssertEqual(message.value("Subject"), NotificationText.title(notification))
        XCTAssertEqual(message.body, NotificationText.body(notification) + """

            mnotify: template 'headers.Subject': template: headers.Subject:1:4: executing "headers.Subject" at <index .Alerts 7>: error calling index: index out of range: 7; the default is shown instead.
            mnotify: template 'text': template: text:1:10: executing "text" at <.Alerts.Firing.Nope>: can't evaluate field Nope in type []interface {}; the default is shown instead.

            """)
        let input = Delivery.commandInput(notification, receiver.commands[0])
        XCTAssertTrue(input.hasPrefix(NotificationText.title(notification) + "\n\n" + NotificationText.body(notification) + "\nmnotify: template 'text': "), input)
        XCTAssertTrue(input.hasSuffix("index out of range: 3; the default is shown instead.\n"), input)
    }

    func testCommandTextTemplate() throws {
        let command = try XCTUnwrap(try config("""
            command_configs:
              - command: [/bin/cat]
                text: '{{ .Status }} {{ range .Alerts.Firing }}{{ .Labels.instance }} {{ end }}'
            """).receivers.first?.commands.first)
        XCTAssertEqual(Delivery.commandInput(diskFull(), command), "firing web01 web02 ")
    }

    func testSlackTemplatesSeeEscapedValuesAndKeepTheirOwnMarkup() throws {
        let slack = try XCTUnwrap(try config("""
            slack_configs:
              - api_url: http://127.0.0.1:1/
                title: '{{ .Status | toUpper }} {{ .GroupLabels.alertname }}'
                text: |
                  {{ range .Alerts.Firing }}*{{ .Labels.instance }}* {{ .Annotations.summary }}{{ with .GeneratorURL }} <{{ . }}|graph>{{ end }}
                  {{ end }}
            """).receivers.first?.slack.first)
        var notification = diskFull()
        notification.groupLabels = labels(["alertname": "<!channel> & co"])
        let object = try json(Delivery.slackBody(notification, slack))
        XCTAssertEqual(object["text"] as? String, "FIRING &lt;!channel&gt; &amp; co")
        let texts = (object["blocks"] as? [[String: Any]] ?? []).compactMap { ($0["text"] as? [String: Any])?["text"] as? String }
        XCTAssertEqual(texts, [
            "*FIRING &lt;!channel&gt; &amp; co*\n<http://am.example:9093|View alerts>",
            "*web01* Disk almost full on /var <http://prom.example:9090/graph?g0.expr=a&amp;g0.tab=1|graph>\n*web02* Disk almost full",
        ])
    }

    func testTemplatesGoThroughMnotifyToARealServerAndACommand() throws {
        let directory = NSTemporaryDirectory() + "mnotify-templates-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try WebhookReceiver(directory: directory)
        defer { server.stop() }
        let file = directory + "/mnotify.yml", stdin = directory + "/stdin"
        try """
        route:
          receiver: ops
          group_by: [alertname]
        receivers:
          - name: ops
            webhook_configs:
              - url: http://127.0.0.1:\(server.port)/chat
                body_template: '{"text": {{ printf "%s: %s" (.Status | toUpper) .CommonAnnotations.summary | toJson }}, "key": {{ .GroupKey | toJson }}}'
            command_configs:
              - command: [/usr/bin/tee, \(stdin)]
                text: '{{ range .Alerts }}{{ .Labels.instance }} {{ .StartsAt.Format "15:04" }} {{ .Annotations.summary }}{{ end }}'
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let labels: LabelSet = [Label("alertname", "DiskFull"), Label("instance", "web\"01")]
        let event = #"# ALERT firing {alertname="DiskFull",instance="web\"01"} startsAt=2026-11-24T10:00:00Z endsAt=2030-01-01T00:00:00Z value=1 "#
            + #"fingerprint=\#(Alert.fingerprint(of: labels)) annotations={summary="Disk \"full\"\nnow"}"# + "\n"
        let run = try runTool("mnotify", ["-c", file, "--state", directory + "/state"], input: Data(event.utf8))
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(server.requests, ["/chat"])
        let body = try XCTUnwrap(server.bodies.first)
        XCTAssertEqual(body["text"] as? String, "FIRING: Disk \"full\"\nnow")
        XCTAssertEqual(body["key"] as? String, #"{}:{alertname="DiskFull"}"#)
        XCTAssertEqual(try String(contentsOfFile: stdin, encoding: .utf8), "web\"01 10:00 Disk \"full\"\nnow")
    }

    // MARK: Reading messages back

    struct ParsedMessage {
        var headers: [(name: String, value: String)]
        var body: String

        func values(_ name: String) -> [String] { headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value) }
        func value(_ name: String) -> String? { values(name).first }
    }

    /// Headers unfolded, the body's quoted-printable decoded (ASCII subjects only, as here).
    func parse(_ text: String) throws -> ParsedMessage {
        let split = try XCTUnwrap(text.range(of: "\n\n"))
        var headers: [(name: String, value: String)] = []
        for line in text[..<split.lowerBound].split(separator: "\n") {
            if line.hasPrefix(" ") {
                headers[headers.count - 1].value += line
                continue
            }
            let colon = try XCTUnwrap(line.firstIndex(of: ":"))
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...].dropFirst())))
        }
        var bytes: [UInt8] = []
        let body = Array(text[split.upperBound...].utf8)
        var index = 0
        while index < body.count {
            if body[index] == UInt8(ascii: "="), index + 1 < body.count, body[index + 1] == UInt8(ascii: "\n") {
                index += 2
            } else if body[index] == UInt8(ascii: "="), index + 2 < body.count,
                      let byte = UInt8(String(decoding: body[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                bytes.append(byte)
                index += 3
            } else {
                bytes.append(body[index])
                index += 1
            }
        }
        return ParsedMessage(headers: headers, body: String(decoding: bytes, as: UTF8.self))
    }
}
