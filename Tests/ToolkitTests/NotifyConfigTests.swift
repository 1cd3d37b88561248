import Foundation
import XCTest
@testable import MetricLine

/// mnotify's configuration: Alertmanager's format read as it is, routing as Alertmanager routes
/// (checked against the real amtool), problems with positions, time intervals in a time zone.
final class NotifyConfigTests: XCTestCase {
    private static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/alertmanager.yml").path

    private let labelSets = [
        "alertname=X,severity=page", "alertname=X,severity=page,team=db", "alertname=HttpErrors,team=web", "alertname=Disk,team=web",
        "alertname=X,env=prod", "alertname=X,env=prod,service=batch", "alertname=X,severity=critical,team=db,env=prod", "alertname=Y",
    ]

    func testAlertmanagerConfigurationIsReadWithInheritance() throws {
        let config = try NotifyConfig.load(Self.fixture)
        XCTAssertEqual(config.receivers.map(\.name), ["default", "pager", "dba", "web", "web-http", "prod"])
        XCTAssertEqual(config.defaultEmailSender, "alerts@example.org")
        let root = config.route
        XCTAssertEqual(root.groupBy, ["alertname", "cluster"])
        XCTAssertEqual(root.routes.count, 4)
        let pager = root.routes[0]
        XCTAssertEqual(pager.groupWait, 10_000)
        XCTAssertEqual(pager.groupInterval, 300_000, "inherited")
        XCTAssertEqual(pager.groupBy, ["alertname", "cluster"], "inherited")
        XCTAssertTrue(pager.continues)
        XCTAssertEqual(pager.path, "{}/{severity=\"page\"}")
        XCTAssertTrue(root.routes[1].groupByAll)
        XCTAssertEqual(root.routes[2].routes[0].repeatInterval, 3_600_000)
        XCTAssertEqual(root.routes[3].muteTimeIntervals, ["nights"])
        XCTAssertEqual(config.receiver(named: "dba")?.email.first?.to, ["dba@example.org", "oncall@example.org"])
        XCTAssertEqual(config.receiver(named: "pager")?.webhooks.first?.maxAlerts, 10)
        XCTAssertEqual(config.receiver(named: "web-http")?.webhooks.first?.sendResolved, false)
        XCTAssertEqual(config.receiver(named: "web")?.slack.first?.channel, "#web")
        XCTAssertEqual(config.inhibitRules.first?.equal, ["alertname", "instance"])
    }

    func testRoutingAgreesWithAmtool() throws {
        let config = try NotifyConfig.load(Self.fixture)
        let amtool = "/usr/bin/amtool"
        let haveAmtool = FileManager.default.isExecutableFile(atPath: amtool)
        let expected = ["pager", "pager,dba", "web-http", "web", "prod", "default", "dba", "default"]
        for (text, want) in zip(labelSets, expected) {
            let labels = try AlertMatchers.labels(text)
            let ours = config.route.routes(for: labels).map(\.receiver).joined(separator: ",")
            XCTAssertEqual(ours, want, text)
            if haveAmtool {
                let run = try runProgram(amtool, ["config", "routes", "test", "--config.file=\(Self.fixture)"] + text.split(separator: ",").map(String.init))
                XCTAssertEqual(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines), ours, "amtool for \(text)")
            }
        }
        let labels = try AlertMatchers.labels("alertname=DiskFull,severity=page,cluster=eu1,instance=web01")
        XCTAssertEqual(config.route.routes(for: labels).first?.groupKey(of: labels), "{}/{severity=\"page\"}:{alertname=\"DiskFull\",cluster=\"eu1\"}")
    }

    func testMatcherSyntax() throws {
        XCTAssertEqual(try AlertMatchers.parse("severity=page").map(\.description), ["severity=\"page\""])
        XCTAssertEqual(try AlertMatchers.parse("{team=~\"db|web\", env != dev}").map(\.description), ["team=~\"db|web\"", "env!=\"dev\""])
        XCTAssertEqual(try AlertMatchers.parse("msg=\"a \\\"quoted\\\", comma\"").first?.value, "a \"quoted\", comma")
        for bad in ["", "=x", "a", "a==", "{a=b", "a=~\"(\"", "a=\"open", "a=b c=d"] {
            XCTAssertThrowsError(try AlertMatchers.parse(bad), bad)
        }
    }

    func testProblemsAreReportedWithPositions() throws {
        let cases: [(String, String)] = [
            ("route:\n  receiver: nobody\nreceivers:\n  - name: a\n", "c.yml:2:13: undefined receiver \"nobody\" used in route"),
            ("route:\n  receiver: a\n  group_wait: soon\nreceivers:\n  - name: a\n", "c.yml:3:15: group_wait: not a duration"),
            ("route:\n  receiver: a\n  routes:\n    - matchers: ['a=~\"(\"']\nreceivers:\n  - name: a\n", "c.yml:4:18: matcher"),
            ("route:\n  receiver: a\nreceivers:\n  - name: a\n    pagerduty_configs: []\n", "c.yml:5:5: receiver \"a\": pagerduty_configs is not supported"),
            ("route:\n  receiver: a\nreceivers:\n  - name: a\n  - name: a\n", "c.yml:5:11: receiver \"a\" is defined twice"),
            ("route:\n  receiver: a\n  frobnicate: 1\nreceivers:\n  - name: a\n", "c.yml:3:3: unknown key \"frobnicate\" in a route"),
            ("route:\n  receiver: a\nreceivers:\n  - name: a\n    webhook_configs:\n      - url: ftp://x\n", "c.yml:6:14: receiver \"a\": webhook url must start with http"),
            ("route:\n  receiver: a\nreceivers:\n  - name: a\n    command_configs:\n      - command: [notify-send]\n", "c.yml:6:9: receiver \"a\": command wants a list: an absolute program path"),
            ("route:\n  receiver: a\n  routes:\n    - mute_time_intervals: [never]\nreceivers:\n  - name: a\n", "c.yml:4:29: undefined time interval \"never\""),
            ("route:\n  receiver: a\nreceivers:\n  - name: a\ntime_intervals:\n  - name: t\n    time_intervals:\n      - weekdays: ['funday']\n", "c.yml:8:20: weekdays: cannot read \"funday\""),
            ("route: [\n", "c.yml:1:8:"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try NotifyConfig.parse(text, path: "c.yml"), text) { error in
                let problems = (error as? NotifyConfigErrors)?.problems.map(\.description) ?? []
                XCTAssertTrue(problems.contains { $0.hasPrefix(message) }, "want '\(message)' in \(problems)")
            }
        }
    }

    func testMnotifyExtensionsAreRead() throws {
        let config = try NotifyConfig.parse("""
        route:
          receiver: chat
          routes:
            - matchers: [severity="page"]
              receiver: pager
              escalate_to: manager
              escalate_after: 30m
        receivers:
          - name: chat
            command_configs:
              - command: [/usr/bin/logger, -t, alerts]
          - name: pager
            email_configs:
              - to: oncall@example.org
                sendmail: /usr/sbin/sendmail
                headers: {X-Priority: '1'}
          - name: manager
        """, path: "c.yml")
        XCTAssertEqual(config.receiver(named: "chat")?.commands.first?.arguments, ["/usr/bin/logger", "-t", "alerts"])
        XCTAssertEqual(config.route.routes[0].escalateTo, "manager")
        XCTAssertEqual(config.route.routes[0].escalateAfter, 1_800_000)
        XCTAssertEqual(config.receiver(named: "pager")?.email.first?.headers.first?.0, "X-Priority")
    }

    func testTimeIntervalsInATimeZone() throws {
        let config = try NotifyConfig.parse("""
        route: {receiver: a}
        receivers: [{name: a}]
        time_intervals:
          - name: office
            time_intervals:
              - times: [{start_time: '09:00', end_time: '17:00'}]
                weekdays: ['monday:friday']
                location: Europe/Berlin
          - name: month-end
            time_intervals:
              - days_of_month: ['-2:-1']
                months: ['february']
        """, path: "c.yml")
        let office = try XCTUnwrap(config.timeIntervals["office"]?.first)
        func utc(_ text: String) -> Int64 { Timestamp.parseRFC3339(text)! }
        XCTAssertTrue(office.contains(utc("2026-11-23T08:30:00Z")), "Monday 09:30 in Berlin")
        XCTAssertFalse(office.contains(utc("2026-11-23T07:59:00Z")), "Monday 08:59 in Berlin")
        XCTAssertFalse(office.contains(utc("2026-11-23T16:00:00Z")), "17:00 in Berlin is the end, exclusive")
        XCTAssertFalse(office.contains(utc("2026-11-22T10:00:00Z")), "Sunday")
        XCTAssertTrue(office.contains(utc("2026-07-01T07:00:00Z")), "summer time: 09:00 in Berlin")
        let monthEnd = try XCTUnwrap(config.timeIntervals["month-end"]?.first)
        XCTAssertTrue(monthEnd.contains(utc("2024-02-28T12:00:00Z")), "leap year: the 28th is the second-to-last day")
        XCTAssertFalse(monthEnd.contains(utc("2024-02-27T12:00:00Z")))
        XCTAssertTrue(monthEnd.contains(utc("2025-02-27T12:00:00Z")))
        XCTAssertFalse(monthEnd.contains(utc("2025-03-31T12:00:00Z")))
    }

    func testCommands() throws {
        let check = try runTool("mnotify", ["check", Self.fixture])
        XCTAssertEqual(check.status, 0, check.stdout)
        XCTAssertTrue(check.stdout.contains("SUCCESS: 6 receivers, 6 routes, 1 inhibit rules, 1 time intervals"), check.stdout)
        let routes = try runTool("mnotify", ["routes", "-c", Self.fixture, "--labels", "alertname=X,severity=page,team=db,instance=a"])
        XCTAssertEqual(routes.status, 0, routes.stderr)
        XCTAssertTrue(routes.stdout.contains("receivers: \"pager\", \"dba\""), routes.stdout)
        XCTAssertTrue(routes.stdout.contains("→ receiver \"pager\", group {}/{severity=\"page\"}:{alertname=\"X\"}"), routes.stdout)
        XCTAssertTrue(routes.stdout.contains("are not tried: it does not say continue"), routes.stdout)
        let other = try runTool("mnotify", ["routes", "-c", Self.fixture, "--labels", "alertname=X,team=web"])
        XCTAssertTrue(other.stdout.contains("no, severity=\"page\" does not hold (severity=\"\", the alert has no such label)"), other.stdout)
        XCTAssertTrue(other.stdout.contains("receivers: \"web\""), other.stdout)
        XCTAssertTrue(routes.stdout.contains("group_wait 10s"), routes.stdout)
        let bad = try runTool("mnotify", ["check", "/nonexistent.yml"])
        XCTAssertEqual(bad.status, 1)
        // Keys of Alertmanager's format that mnotify does not use are named, without failing.
        let file = NSTemporaryDirectory() + "mnotify-notes-\(UUID().uuidString.prefix(8)).yml"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try """
        global: {smtp_smarthost: "mail:25"}
        templates: ["/etc/alertmanager/*.tmpl"]
        route: {receiver: ops}
        receivers:
          - name: ops
            webhook_configs:
              - url: http://127.0.0.1:1/
                http_config: {follow_redirects: true, tls_config: {server_name: a}}
            email_configs: [{to: a@example.com, from: b@example.com, smarthost: "mail:25"}]
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let noted = try runTool("mnotify", ["check", file])
        XCTAssertEqual(noted.status, 0, noted.stdout)
        for (line, message) in [("1:10", "smtp_smarthost is not used: mail goes through the local sendmail"),
                                ("8:23", "receiver \"ops\": http_config follow_redirects is not used"),
                                ("8:60", "server_name is not used: libcurl's defaults apply"),
                                ("9:62", "smarthost is not used")] {
            XCTAssertTrue(noted.stdout.contains("note: \(file):\(line): \(message)"), "\(line) \(message)\n\(noted.stdout)")
        }
        // A misspelt tls_config key, or inline PEM, which mnotify cannot use, fails the check.
        for (tls, message) in [("insecure_skip_verfy: true", "unknown key \"insecure_skip_verfy\" in tls_config"),
                               ("cert: PEM, key: PEM", "tls_config cert (inline PEM) is not supported by mnotify; use cert_file")] {
            try "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: \"https://a/\", http_config: {tls_config: {\(tls)}}}]}]\n"
                .write(toFile: file, atomically: true, encoding: .utf8)
            let refused = try runTool("mnotify", ["check", file])
            XCTAssertEqual(refused.status, 1, refused.stdout)
            XCTAssertTrue(refused.stdout.contains(message), refused.stdout)
        }
    }
}

final class SecretFileTests: XCTestCase {
    func testFirstLineWithoutBlanksWhateverTheLineEnds() throws {
        let path = NSTemporaryDirectory() + "secret-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (content, expected) in [("token\n", "token"), ("token\r\n", "token"), ("\n  token \t\r\nsecond\n", "token"), ("token", "token"), ("", "")] {
            try content.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertEqual(SecretFile.read(path), expected, content.debugDescription)
        }
        XCTAssertNil(SecretFile.read(path + ".missing"))
    }
}
