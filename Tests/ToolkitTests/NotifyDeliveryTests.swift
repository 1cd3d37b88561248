import Foundation
import XCTest
@testable import MetricLine

/// mnotify delivering to a real HTTP server on 127.0.0.1 (a small Python server the test starts):
/// grouping, exactly-once delivery across runs, retries while the receiver is down, no retries
/// for 4xx, the dead-letter file, and a spool that a later run resumes.
final class NotifyDeliveryTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "mnotify-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func config(port: Int, path: String = "/hook", groupWait: String = "30s") throws -> String {
        let file = directory + "/mnotify.yml"
        try """
        route:
          receiver: ops
          group_by: [alertname]
          group_wait: \(groupWait)
        receivers:
          - name: ops
            webhook_configs:
              - url: http://127.0.0.1:\(port)\(path)
        """.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    private func event(_ status: String, _ alertname: String, _ instance: String, endsAt: String = "2030-01-01T00:00:00Z") -> String {
        let labels: LabelSet = [Label("alertname", alertname), Label("instance", instance)]
        return "# ALERT \(status) {alertname=\"\(alertname)\",instance=\"\(instance)\"} startsAt=2026-11-24T10:00:00Z endsAt=\(endsAt) value=1 fingerprint=\(Alert.fingerprint(of: labels)) annotations={summary=\"\(alertname) on \(instance)\"}\n"
    }

    /// An Alertmanager alert without endsAt fires for global.resolve_timeout unless it comes
    /// again, then resolves; notifications carry --external-url.
    func testAlertsWithoutEndsAtResolveAfterTheResolveTimeout() throws {
        let receiver = try WebhookReceiver(directory: directory)
        defer { receiver.stop() }
        let file = directory + "/timeout.yml"
        try """
        global: {resolve_timeout: 4s}
        route: {receiver: ops, group_by: [alertname], group_interval: 1s}
        receivers:
          - name: ops
            webhook_configs: [{url: "http://127.0.0.1:\(receiver.port)/hook"}]
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let alert = #"[{"labels":{"alertname":"QueueFull","queue":"mail"},"annotations":{"summary":"the queue is full"}}]"# + "\n"
        let options = ["-c", file, "--state", directory + "/state", "--external-url", "http://mon.example:9093"]
        let first = try runTool("mnotify", options, input: Data(alert.utf8))
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(receiver.bodies.map { $0["status"] as? String }, ["firing"])
        XCTAssertEqual(receiver.bodies.first?["externalURL"] as? String, "http://mon.example:9093")
        // Within the timeout, nothing new; after it, with no news, the alert resolves.
        _ = try runTool("mnotify", options, input: Data())
        XCTAssertEqual(receiver.bodies.count, 1)
        usleep(4_300_000)
        let later = try runTool("mnotify", options, input: Data())
        XCTAssertEqual(later.status, 0, later.stderr)
        XCTAssertEqual(receiver.bodies.map { $0["status"] as? String }, ["firing", "resolved"], later.stderr)
        let bad = directory + "/bad.yml"
        try "global: {resolve_timeout: 0s}\nroute: {receiver: ops}\nreceivers: [{name: ops}]\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let check = try runTool("mnotify", ["check", bad])
        XCTAssertNotEqual(check.status, 0)
        XCTAssertTrue((check.stdout + check.stderr).contains("resolve_timeout: want a duration over 0"), check.stdout + check.stderr)
    }

    /// A 429 with Retry-After is retried no sooner than the receiver asked (the backoff alone
    /// would try again after a second).
    func testRetryAfterIsHonoured() throws {
        let receiver = try WebhookReceiver(directory: directory, failures: 1, status: 429, retryAfter: "3")
        defer { receiver.stop() }
        let file = try config(port: receiver.port)
        let state = directory + "/state"
        let run = try runTool("mnotify", ["-c", file, "--state", state, "--wait", "20s"], input: Data(event("firing", "DiskFull", "a").utf8))
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(receiver.requests.count, 2)
        XCTAssertEqual(receiver.bodies.count, 1)
        let audit = try String(contentsOfFile: state + "/audit.log", encoding: .utf8)
        let retry = try XCTUnwrap(audit.split(separator: "\n").first { $0.contains("next attempt at ") }, audit)
        let stamps = retry.split(separator: "\t").compactMap { Timestamp.parse(String($0), now: 0) }
        let next = try XCTUnwrap(Timestamp.parse(retry.components(separatedBy: "next attempt at ")[1].trimmingCharacters(in: .whitespaces), now: 0), String(retry))
        let attempted = try XCTUnwrap(stamps.first, String(retry))
        XCTAssertGreaterThanOrEqual(next - attempted, 3_000, "Retry-After: 3 puts the next attempt 3 s on\n\(retry)")
        // A Retry-After past the delivery's deadline: one last attempt at the deadline, then the
        // dead-letter file, not a wait of years.
        let slow = try WebhookReceiver(directory: directory, failures: 5, status: 429, retryAfter: "1099511627775")
        defer { slow.stop() }
        let late = try runTool("mnotify", ["-c", try config(port: slow.port), "--state", directory + "/late", "--retry-for", "2s", "--wait", "10s"],
                               input: Data(event("firing", "DiskFull", "b").utf8))
        XCTAssertEqual(late.status, 1, late.stderr)
        XCTAssertTrue(late.stderr.contains("gave up after 2 attempts, moved to"), late.stderr)
        XCTAssertEqual(slow.requests.count, 2)
        XCTAssertEqual(Delivery.retryAfter("120"), 120_000)
        XCTAssertEqual(Delivery.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now: 1_445_412_470_000), 10_000)
        XCTAssertNil(Delivery.retryAfter("soon"))
    }

    /// Template files named by `templates` (a pattern, relative to the configuration) define
    /// templates that receivers call by name; a file that does not compile fails the check with
    /// its own line.
    func testTemplateFilesDefineTemplatesReceiversCall() throws {
        let receiver = try WebhookReceiver(directory: directory)
        defer { receiver.stop() }
        try FileManager.default.createDirectory(atPath: directory + "/templates", withIntermediateDirectories: true)
        try """
        {{ define "myorg.title" }}[{{ .Status | toUpper }}] {{ .GroupLabels.alertname }}{{ if .CommonLabels.team }} for {{ .CommonLabels.team }}{{ end }}{{ end }}
        {{ define "myorg.count" }}{{ len .Alerts.Firing }} firing{{ end }}
        """.write(toFile: directory + "/templates/myorg.tmpl", atomically: true, encoding: .utf8)
        let file = directory + "/templated.yml"
        try """
        templates: ['templates/*.tmpl', 'missing/*.tmpl']
        route: {receiver: ops, group_by: [alertname]}
        receivers:
          - name: ops
            webhook_configs:
              - url: http://127.0.0.1:\(receiver.port)/hook
                body_template: '{"title": "{{ template "myorg.title" . }}", "count": "{{ template "myorg.count" . }}"}'
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let check = try runTool("mnotify", ["check", file])
        XCTAssertEqual(check.status, 0, check.stdout)
        let run = try runTool("mnotify", ["-c", file, "--state", directory + "/state"], input: Data(event("firing", "DiskFull", "a").utf8))
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(receiver.bodies.first?["title"] as? String, "[FIRING] DiskFull")
        XCTAssertEqual(receiver.bodies.first?["count"] as? String, "1 firing")

        // As in Go's template set: a later file's non-empty definition replaces an earlier one, an
        // empty one in the receiver's text replaces nothing, and the receiver's own key is no name.
        try #"{{ define "myorg.count" }}{{ len .Alerts }} in all{{ end }}"#.write(toFile: directory + "/templates/zz-later.tmpl", atomically: true, encoding: .utf8)
        let files = [try Template(#"{{ define "x" }}from-a{{ end }}"#, name: "a.tmpl", dialect: .notifications),
                     try Template(#"{{ define "x" }}from-b{{ end }}{{ define "y" }}{{ template "nope" . }}{{ end }}"#, name: "b.tmpl", dialect: .notifications)]
        let later = try NotificationTemplate(#"{{ define "x" }} {{ end }}[{{ template "x" . }}]"#, key: "text", files: files)
        XCTAssertEqual(try later.template.render(.string("")), "[from-b]")
        XCTAssertThrowsError(try NotificationTemplate(#"{{ template "text" . }}"#, key: "text", files: files), "its own key is not a name")
        XCTAssertThrowsError(try NotificationTemplate(#"{{ template "y" . }}"#, key: "text", files: files)) { error in
            XCTAssertTrue("\(error)".contains("nope"), "what a file's template calls is checked too: \(error)")
        }
        let again = try runTool("mnotify", ["-c", file, "--state", directory + "/state2"], input: Data(event("firing", "DiskFull", "b").utf8))
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(receiver.bodies.last?["count"] as? String, "1 in all", "the later file's definition")

        try "{{ define \"broken\" }}\n{{ .Status \n".write(toFile: directory + "/templates/broken.tmpl", atomically: true, encoding: .utf8)
        let broken = try runTool("mnotify", ["check", file])
        XCTAssertEqual(broken.status, 1)
        XCTAssertTrue(broken.stdout.contains("templated.yml:1:13: templates: \(directory)/templates/broken.tmpl: template: broken.tmpl:3: unclosed action"),
                      broken.stdout)
    }

    func testBadInputLinesAreNamedSkippedAndCounted() throws {
        let receiver = try WebhookReceiver(directory: directory)
        defer { receiver.stop() }
        let file = try config(port: receiver.port)
        let broken = "# ALERT firing {alertname=\"DiskFull\" startsAt=soon\n"
        let run = try runTool("mnotify", ["-c", file, "--state", directory + "/a"], input: Data((broken + event("firing", "DiskFull", "a")).utf8))
        XCTAssertEqual(run.status, 1, "a bad line was skipped")
        XCTAssertTrue(run.stderr.contains("mnotify: <stdin>:1: ") && run.stderr.contains(": # ALERT firing {alertname=\"DiskFull\" startsAt=soon"), run.stderr)
        XCTAssertTrue(run.stderr.contains("mnotify: skipped 1 bad line of 2"), run.stderr)
        XCTAssertEqual(receiver.bodies.count, 1, "the good line was still sent")
        // In a JSON array, an invalid alert is named and its valid neighbours are taken.
        let array = #"[{"labels":{"alertname":"Fine"}},{"labels":{"instance":"x"}}]"# + "\n"
        let mixed = try runTool("mnotify", ["-c", file, "--state", directory + "/c"], input: Data(array.utf8))
        XCTAssertEqual(mixed.status, 1)
        XCTAssertTrue(mixed.stderr.contains("<stdin>:1: alert 2: labels need an alertname (1 other alert of the line taken)"), mixed.stderr)
        XCTAssertEqual(receiver.bodies.last.flatMap { ($0["groupLabels"] as? [String: String])?["alertname"] }, "Fine")
        // --strict stops at the bad line; what came before it is still sent, nothing after it.
        let strict = try runTool("mnotify", ["-c", file, "--state", directory + "/b", "--strict"],
                                 input: Data((event("firing", "HighLoad", "a") + broken + event("firing", "Other", "a")).utf8))
        XCTAssertEqual(strict.status, 1)
        XCTAssertTrue(strict.stderr.contains("<stdin>:2: ") && strict.stderr.contains("stopped at the first bad line (--strict)"), strict.stderr)
        XCTAssertEqual(receiver.bodies.compactMap { ($0["groupLabels"] as? [String: String])?["alertname"] }, ["DiskFull", "Fine", "HighLoad"])
    }

    func testAlertsAreGroupedRoutedAndDeliveredOnceAcrossRuns() throws {
        let receiver = try WebhookReceiver(directory: directory)
        defer { receiver.stop() }
        let file = try config(port: receiver.port)
        let input = "up 1 1700000000000\n" + event("firing", "DiskFull", "a") + event("firing", "DiskFull", "b") + event("firing", "HighLoad", "a")
        let state = directory + "/state"
        let run = try runTool("mnotify", ["-c", file, "--state", state], input: Data(input.utf8))
        XCTAssertEqual(run.status, 0, run.stderr)
        let bodies = receiver.bodies
        XCTAssertEqual(bodies.count, 2, "one request per group")
        let disk = try XCTUnwrap(bodies.first { ($0["groupKey"] as? String)?.contains("DiskFull") ?? false })
        XCTAssertEqual(disk["version"] as? String, "4")
        XCTAssertEqual(disk["status"] as? String, "firing")
        XCTAssertEqual(disk["receiver"] as? String, "ops")
        XCTAssertEqual(disk["groupKey"] as? String, "{}:{alertname=\"DiskFull\"}")
        XCTAssertEqual(disk["groupLabels"] as? [String: String], ["alertname": "DiskFull"])
        XCTAssertEqual((disk["alerts"] as? [[String: Any]])?.count, 2)
        XCTAssertEqual((disk["alerts"] as? [[String: Any]])?.first?["endsAt"] as? String, "0001-01-01T00:00:00Z")

        // The same alerts again (malert re-sends firing alerts): nothing new, nothing sent twice.
        let again = try runTool("mnotify", ["-c", file, "--state", state], input: Data(input.utf8))
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(receiver.bodies.count, 2)

        // One resolves: its group is sent again, with the resolved alert.
        let resolved = try runTool("mnotify", ["-c", file, "--state", state], input: Data(event("resolved", "DiskFull", "b", endsAt: "2026-11-24T10:05:00Z").utf8))
        XCTAssertEqual(resolved.status, 0, resolved.stderr)
        let last = try XCTUnwrap(receiver.bodies.last)
        let alerts = try XCTUnwrap(last["alerts"] as? [[String: Any]])
        XCTAssertEqual(alerts.map { $0["status"] as? String }, ["firing", "resolved"])
        XCTAssertEqual(last["status"] as? String, "firing")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: state + "/spool"), [], "the spool is empty when all is delivered")
    }

    func testAReceiverThatIsDownGetsEveryAlertExactlyOnceWhenItRecovers() throws {
        let receiver = try WebhookReceiver(directory: directory, failures: 3, status: 503)
        defer { receiver.stop() }
        let file = try config(port: receiver.port)
        let input = event("firing", "DiskFull", "a") + event("firing", "HighLoad", "a")
        let run = try runTool("mnotify", ["-c", file, "--state", directory + "/state", "--wait", "20s"], input: Data(input.utf8))
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("HTTP 503; will retry"), run.stderr)
        XCTAssertEqual(receiver.requests.count, 5, "three refused, then one each")
        let keys = receiver.bodies.compactMap { $0["groupKey"] as? String }.sorted()
        XCTAssertEqual(keys, ["{}:{alertname=\"DiskFull\"}", "{}:{alertname=\"HighLoad\"}"])
    }

    func testRefusalsAreNotRetriedAndTheURLNeverShows() throws {
        let receiver = try WebhookReceiver(directory: directory, failures: 100, status: 400)
        defer { receiver.stop() }
        let file = try config(port: receiver.port, path: "/hooks/SECRET-TOKEN-123")
        let run = try runTool("mnotify", ["-c", file, "--state", directory + "/state"], input: Data(event("firing", "DiskFull", "a").utf8))
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(receiver.requests.count, 1, "a 4xx is not retried")
        XCTAssertTrue(run.stderr.contains("webhook[0] of receiver \"ops\": HTTP 400, not retried"), run.stderr)
        XCTAssertFalse(run.stderr.contains("SECRET-TOKEN-123"))
        let deadLetter = try String(contentsOfFile: directory + "/state/dead-letter", encoding: .utf8)
        XCTAssertTrue(deadLetter.contains("# ALERT firing {alertname=\"DiskFull\",instance=\"a\"}"), deadLetter)
        XCTAssertFalse(deadLetter.contains("SECRET-TOKEN-123"))
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/state/dead-letter")
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testTheSpoolIsResumedByTheNextRun() throws {
        let port = freeLoopbackPort()
        let file = try config(port: port)
        let state = directory + "/state"
        // Nobody listens: the delivery stays in the spool.
        let first = try runTool("mnotify", ["-c", file, "--state", state, "--wait", "0s"], input: Data(event("firing", "DiskFull", "a").utf8))
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("deliveries left in"), first.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: state + "/spool").filter { $0.hasSuffix(".delivery") }.count, 1)
        // A later run, with no new input, delivers it once the receiver is back.
        let receiver = try WebhookReceiver(directory: directory)
        defer { receiver.stop() }
        _ = try config(port: receiver.port)
        let second = try runTool("mnotify", ["-c", file, "--state", state], input: Data())
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(receiver.bodies.count, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: state + "/spool").filter { $0.hasSuffix(".delivery") }, [])
    }

    /// A long-running mnotify killed with SIGKILL while its receiver refuses: the next run
    /// delivers what was spooled, and the same alerts coming again are not sent a second time.
    func testKillNineLosesNothingAndSendsNothingTwice() throws {
        let refusing = try WebhookReceiver(directory: directory, failures: 1000, status: 503)
        let file = try config(port: refusing.port, groupWait: "0s")
        let state = directory + "/state"
        let input = event("firing", "DiskFull", "a") + event("firing", "HighLoad", "b")
        let process = Process()
        process.executableURL = toolDirectory.appendingPathComponent("mnotify")
        process.arguments = ["-c", file, "--state", state]
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardError = FileHandle.nullDevice
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        var spooled: [String] = []
        for _ in 0..<100 {
            spooled = ((try? FileManager.default.contentsOfDirectory(atPath: state + "/spool")) ?? []).filter { $0.hasSuffix(".delivery") }
            if spooled.count == 2 && refusing.requests.count >= 2 { break }
            usleep(50_000)
        }
        XCTAssertEqual(spooled.count, 2, "both groups are in the spool before the kill")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        refusing.stop()

        let receiver = try WebhookReceiver(directory: directory)
        defer { receiver.stop() }
        _ = try config(port: receiver.port, groupWait: "0s")
        let restarted = try runTool("mnotify", ["-c", file, "--state", state], input: Data(input.utf8))
        XCTAssertEqual(restarted.status, 0, restarted.stderr)
        let keys = receiver.bodies.compactMap { $0["groupKey"] as? String }.sorted()
        XCTAssertEqual(keys, ["{}:{alertname=\"DiskFull\"}", "{}:{alertname=\"HighLoad\"}"], "each group exactly once")
        XCTAssertEqual(((try? FileManager.default.contentsOfDirectory(atPath: state + "/spool")) ?? []).filter { $0.hasSuffix(".delivery") }, [])
    }

    /// With `state_group`, the state directory and everything in it can be read by that group
    /// (here Debian's `nogroup`), files written later included, also by `mnotify silence`.
    func testStateCanBeSharedWithAGroup() throws {
        let receiver = try WebhookReceiver(directory: directory)
        defer { receiver.stop() }
        let file = try config(port: receiver.port)
        try (try String(contentsOfFile: file, encoding: .utf8) + "\nstate_group: nogroup\n").write(toFile: file, atomically: true, encoding: .utf8)
        let state = directory + "/state"
        let run = try runTool("mnotify", ["-c", file, "--state", state], input: Data(event("firing", "DiskFull", "a").utf8))
        XCTAssertEqual(run.status, 0, run.stderr)
        let silence = try runTool("mnotify", ["silence", "add", "alertname=X", "--for", "1h", "--state", state])
        XCTAssertEqual(silence.status, 0, silence.stderr)
        let nogroup = getgrnam("nogroup").pointee.gr_gid
        func check(_ path: String, mode: Int) throws {
            var info = stat()
            XCTAssertEqual(stat(path, &info), 0, path)
            XCTAssertEqual(Int(info.st_mode) & 0o7777, mode, path)
            XCTAssertEqual(info.st_gid, nogroup, path)
        }
        try check(state, mode: 0o2750)
        try check(state + "/spool", mode: 0o2750)
        for name in ["groups", "audit.log", "silences"] { try check(state + "/" + name, mode: 0o640) }
        XCTAssertEqual(receiver.bodies.count, 1)
    }
}
