import Foundation
import XCTest
@testable import MetricLine

/// mnotify's silences, acknowledgements, escalation and audit log, with real processes and a real
/// HTTP receiver on 127.0.0.1 (a small Python server the test starts, as in NotifyDeliveryTests).
final class NotifySilenceTests: XCTestCase {
    private var directory = ""
    private var state: String { directory + "/state" }
    /// Everything the tools printed on stderr, to check that no URL ever shows.
    private var stderr = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "mnotify-silence-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        stderr = ""
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Receivers `ops` and `manager` on one server, told apart by a path that stands for a secret.
    private func config(port: Int, route: String = "") throws -> String {
        let file = directory + "/mnotify.yml"
        try """
        route:
          receiver: ops
          group_by: [alertname]
          group_wait: 0s
        \(route)
        receivers:
          - name: ops
            webhook_configs:
              - url: http://127.0.0.1:\(port)/hooks/ops-SECRET-TOKEN
          - name: manager
            webhook_configs:
              - url: http://127.0.0.1:\(port)/hooks/manager-SECRET-TOKEN
        """.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    private func fingerprint(_ alertname: String, _ instance: String) -> String {
        Alert.fingerprint(of: [Label("alertname", alertname), Label("instance", instance)])
    }

    private func event(_ status: String, _ alertname: String, _ instance: String, startsAt: String = "2026-11-24T00:00:00Z",
                       endsAt: String = "2030-01-01T00:00:00Z") -> String {
        "# ALERT \(status) {alertname=\"\(alertname)\",instance=\"\(instance)\"} startsAt=\(startsAt) endsAt=\(endsAt) value=1 fingerprint=\(fingerprint(alertname, instance))\n"
    }

    /// Runs mnotify with `arguments` (and `--state`), checks its exit status, keeps its stderr.
    @discardableResult
    private func mnotify(_ arguments: [String], input: String = "", status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> ToolRun {
        let run = try runTool("mnotify", arguments + ["--state", state], input: Data(input.utf8))
        stderr += run.stderr
        XCTAssertEqual(run.status, status, "mnotify \(arguments.joined(separator: " ")): \(run.stderr)", file: file, line: line)
        return run
    }

    private func mode(_ path: String) throws -> Int {
        try XCTUnwrap((FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue)
    }

    private func groupKeys(_ bodies: [[String: Any]]) -> [String] { bodies.compactMap { $0["groupKey"] as? String } }

    func testSilencesAreAddedListedAndExpired() throws {
        let add = try mnotify(["silence", "add", "alertname=DiskFull", "instance=~\"web.*\"", "--for", "2h", "-m", "disk swap, ticket 4711"])
        let id = add.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(id.count, 16, add.stdout)
        XCTAssertTrue(id.allSatisfy(\.isHexDigit), id)
        let other = try mnotify(["silence", "add", "{severity=\"page\", team=~\"db|web\"}", "--for", "30m"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let list = try mnotify(["silence", "list"]).stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(list.count, 3, list.joined(separator: "\n"))
        XCTAssertTrue(list[0].hasPrefix("ID "), list[0])
        let row = try XCTUnwrap(list.first { $0.hasPrefix(id) })
        XCTAssertTrue(row.contains("{alertname=\"DiskFull\",instance=~\"web.*\"}  active"), row)
        XCTAssertTrue(row.hasSuffix("disk swap, ticket 4711"), row)
        XCTAssertTrue(list.contains { $0.hasPrefix(other) && $0.contains("{severity=\"page\",team=~\"db|web\"}") })
        // Aligned: every row's matchers start in the same column as the header's.
        let column = try XCTUnwrap(list[0].range(of: "MATCHERS")).lowerBound.utf16Offset(in: list[0])
        for line in list.dropFirst() { XCTAssertEqual(line.dropFirst(column).first, "{", line) }

        // Expired by a unique prefix: gone from the list, still in --all.
        try mnotify(["silence", "expire", String(id.prefix(6))])
        let active = try mnotify(["silence", "list"]).stdout
        XCTAssertFalse(active.contains(id), active)
        XCTAssertTrue(active.contains(other), active)
        let all = try mnotify(["silence", "list", "--all"]).stdout
        XCTAssertTrue(all.split(separator: "\n").contains { $0.hasPrefix(id) && $0.contains(" expired ") }, all)
        let again = try mnotify(["silence", "expire", id], status: 1)
        XCTAssertTrue(again.stderr.contains("already expired"), again.stderr)
        let unknown = try mnotify(["silence", "expire", "ffffffffffffffff"], status: 1)
        XCTAssertTrue(unknown.stderr.contains("no silence ffffffffffffffff"), unknown.stderr)

        // Mistakes are usage errors, and nothing is added.
        try mnotify(["silence", "add", "alertname=DiskFull"], status: 2)
        try mnotify(["silence", "add", "--for", "1h"], status: 2)
        try mnotify(["silence", "add", "instance=~\".*\"", "--for", "1h"], status: 2)
        try mnotify(["silence", "add", "alertname=~\"(\"", "--for", "1h"], status: 2)
        XCTAssertEqual(try mnotify(["silence", "list", "--all"]).stdout.split(separator: "\n").count, 3)

        XCTAssertEqual(try mode(state), 0o700)
        XCTAssertEqual(try mode(state + "/silences"), 0o600)
    }

    func testASilencedAlertIsHeldBackUntilTheSilenceExpires() throws {
        let receiver = try WebhookReceiver(directory: directory)
        defer { receiver.stop() }
        let file = try config(port: receiver.port)
        let id = try mnotify(["silence", "add", "alertname=DiskFull", "--for", "1h"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let input = event("firing", "DiskFull", "a") + event("firing", "HighLoad", "a")
        try mnotify(["-c", file], input: input)
        XCTAssertEqual(groupKeys(receiver.bodies), ["{}:{alertname=\"HighLoad\"}"], "the silenced group is held back")
        let groups = try String(contentsOfFile: state + "/groups", encoding: .utf8)
        XCTAssertTrue(groups.contains("\"groupKey\":\"{}:{alertname=\\\"DiskFull\\\"}\""), "its group still exists: \(groups)")
        try mnotify(["-c", file], input: input)
        XCTAssertEqual(receiver.bodies.count, 1, "still silenced on the next run")

        // Once the silence ends, the alert that still fires is notified.
        try mnotify(["silence", "expire", id])
        try mnotify(["-c", file])
        XCTAssertEqual(groupKeys(receiver.bodies), ["{}:{alertname=\"HighLoad\"}", "{}:{alertname=\"DiskFull\"}"])
        let disk = try XCTUnwrap(receiver.bodies.last)
        XCTAssertEqual(disk["status"] as? String, "firing")
        XCTAssertEqual((disk["alerts"] as? [[String: Any]])?.first?["fingerprint"] as? String, fingerprint("DiskFull", "a"))

        // A resolution under a silence is not sent, then or after the silence.
        let high = try mnotify(["silence", "add", "alertname=HighLoad", "--for", "1h"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try mnotify(["-c", file], input: event("resolved", "HighLoad", "a", endsAt: "2026-11-24T00:30:00Z"))
        try mnotify(["silence", "expire", high])
        try mnotify(["-c", file])
        XCTAssertEqual(receiver.bodies.count, 2)
        XCTAssertFalse(try String(contentsOfFile: state + "/groups", encoding: .utf8).contains("HighLoad"))
    }

    func testAnAcknowledgedAlertIsLeftOutOfRepeatsUntilItResolves() throws {
        let receiver = try WebhookReceiver(directory: directory)
        defer { receiver.stop() }
        let file = try config(port: receiver.port, route: "  group_interval: 1s\n  repeat_interval: 1s")
        let input = event("firing", "DiskFull", "a") + event("firing", "DiskFull", "b")
        let (a, b) = (fingerprint("DiskFull", "a"), fingerprint("DiskFull", "b"))
        func fingerprints(_ body: [String: Any]) -> [String] {
            (body["alerts"] as? [[String: Any]] ?? []).map { "\($0["fingerprint"] as? String ?? "") \($0["status"] as? String ?? "")" }
        }
        try mnotify(["-c", file], input: input)
        XCTAssertEqual(receiver.bodies.map(fingerprints), [[a + " firing", b + " firing"].sorted()])

        try mnotify(["ack", a, "-m", "on it"])
        let list = try mnotify(["ack", "--list"]).stdout.split(separator: "\n")
        XCTAssertEqual(list.count, 2, list.joined(separator: "\n"))
        XCTAssertTrue(list[1].hasPrefix(a) && list[1].contains("{alertname=\"DiskFull\",instance=\"a\"}") && list[1].hasSuffix("on it"), String(list[1]))
        usleep(1_200_000)
        try mnotify(["-c", file], input: input)
        XCTAssertEqual(receiver.bodies.count, 2, "b repeats")
        XCTAssertEqual(fingerprints(receiver.bodies[1]), [b + " firing"], "the acknowledged alert is left out of the repeat")

        // With both acknowledged (b by a prefix of its fingerprint), nothing repeats.
        try mnotify(["ack", String(b.prefix(8))])
        usleep(1_200_000)
        try mnotify(["-c", file], input: input)
        XCTAssertEqual(receiver.bodies.count, 2)

        // a resolves: its resolution is sent, and its acknowledgement ends.
        try mnotify(["-c", file], input: event("resolved", "DiskFull", "a", endsAt: "2026-11-24T00:30:00Z"))
        XCTAssertEqual(receiver.bodies.count, 3)
        XCTAssertEqual(fingerprints(receiver.bodies[2]), [b + " firing", a + " resolved"])
        let after = try mnotify(["ack", "--list"]).stdout
        XCTAssertFalse(after.contains(a), after)
        XCTAssertTrue(after.contains(b), after)

        // Only firing alerts can be acknowledged.
        let stale = try mnotify(["ack", a], status: 1)
        XCTAssertTrue(stale.stderr.contains("no firing alert with fingerprint \(a)"), stale.stderr)
        XCTAssertEqual(try mode(state + "/acks"), 0o600)
    }

    func testAnUnacknowledgedAlertEscalatesOnce() throws {
        let receiver = try WebhookReceiver(directory: directory)
        defer { receiver.stop() }
        let file = try config(port: receiver.port, route: "  escalate_to: manager\n  escalate_after: 2s")
        let now = Timestamp.rfc3339(Clock.nowMilliseconds())
        let input = event("firing", "DiskFull", "a", startsAt: now) + event("firing", "HighLoad", "a", startsAt: now)
        try mnotify(["-c", file], input: input)
        XCTAssertEqual(receiver.bodies.compactMap { $0["receiver"] as? String }, ["ops", "ops"])
        try mnotify(["ack", fingerprint("HighLoad", "a")])

        usleep(2_200_000)
        try mnotify(["-c", file], input: input)
        try mnotify(["-c", file], input: input)
        let manager = receiver.bodies.filter { $0["receiver"] as? String == "manager" }
        XCTAssertEqual(manager.count, 1, "once, and not the acknowledged alert")
        XCTAssertEqual(manager.first?["groupKey"] as? String, "{}:{alertname=\"DiskFull\"}/escalated")
        XCTAssertEqual((manager.first?["alerts"] as? [[String: Any]])?.compactMap { $0["fingerprint"] as? String }, [fingerprint("DiskFull", "a")])
        XCTAssertTrue(receiver.requests.filter { $0.contains("manager") }.count == 1)
        XCTAssertEqual(receiver.bodies.count, 3, "ops is not sent anything again")
    }

    func testTheAuditLogRecordsWhoDidWhatAndNeverAURL() throws {
        let receiver = try WebhookReceiver(directory: directory, failures: 1, status: 503)
        defer { receiver.stop() }
        let file = try config(port: receiver.port)
        try mnotify(["-c", file, "--wait", "20s"], input: event("firing", "DiskFull", "a"))
        XCTAssertEqual(receiver.bodies.count, 1)
        try mnotify(["ack", fingerprint("DiskFull", "a"), "-m", "tab\there"])
        let id = try mnotify(["silence", "add", "alertname=HighLoad", "--for", "1h", "-m", "maintenance"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try mnotify(["silence", "expire", id])

        // A refusal goes to the dead-letter file, and the log says so.
        let refusing = try WebhookReceiver(directory: directory, failures: 100, status: 400)
        defer { refusing.stop() }
        let refusingFile = try config(port: refusing.port)
        try mnotify(["-c", refusingFile], input: event("firing", "Other", "a"), status: 1)

        let log = try mnotify(["log"]).stdout
        let lines = log.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertTrue(lines.allSatisfy { $0.count == 5 }, log)
        XCTAssertTrue(lines.allSatisfy { Timestamp.parseRFC3339($0[0]) != nil && !$0[1].isEmpty }, log)
        XCTAssertEqual(Set(lines.map { $0[1] }).count, 1, "one user did everything here")
        let actions = lines.map { $0[2] }
        XCTAssertEqual(actions, ["delivery-attempt", "retry", "delivery-attempt", "delivered", "ack", "silence-add", "silence-expire",
                                 "delivery-attempt", "dead-letter"], log)
        let attempt = lines[0]
        XCTAssertTrue(attempt[3].hasPrefix("webhook[0] of receiver \"ops\", group {}:{alertname=\"DiskFull\"}, 1 alert (1 firing)"), attempt[3])
        XCTAssertTrue(lines[1][4].hasPrefix("HTTP 503, next attempt at "), lines[1][4])
        XCTAssertEqual(lines[3][4], "ok")
        XCTAssertEqual(lines[4][3], "alert \(fingerprint("DiskFull", "a")) {alertname=\"DiskFull\",instance=\"a\"}: tab here")
        XCTAssertTrue(lines[5][3].hasPrefix("silence \(id) {alertname=\"HighLoad\"} until ") && lines[5][3].hasSuffix(": maintenance"), lines[5][3])
        XCTAssertEqual(lines[6][3], "silence \(id) {alertname=\"HighLoad\"}")
        XCTAssertEqual(lines[8][4], "HTTP 400, not retried")

        XCTAssertFalse(log.contains("SECRET-TOKEN") || log.contains("http://") || log.contains("/hooks"), log)
        XCTAssertFalse(stderr.contains("SECRET-TOKEN") || stderr.contains("http://") || stderr.contains("/hooks"), stderr)
        XCTAssertEqual(try mode(state + "/audit.log"), 0o600)
        XCTAssertEqual(try mode(state), 0o700)

        XCTAssertEqual(try mnotify(["log", "--since", "+1h"]).stdout, "")
        XCTAssertEqual(try mnotify(["log", "--since", "-1h"]).stdout, log)
        try mnotify(["log", "--since", "yesterday"], status: 2)
    }

    // MARK: The dispatcher's timing, without processes

    private func dispatcher(_ route: String = "") throws -> Dispatcher {
        Dispatcher(config: try NotifyConfig.parse("""
        route:
          receiver: ops
          group_by: [alertname]
          group_wait: 30s
          group_interval: 5m
          repeat_interval: 1h
        \(route)
        receivers:
          - name: ops
          - name: manager
        """, path: "c.yml"))
    }

    private func alert(_ name: String, _ instance: String, status: AlertNotification.Status = .firing, startsAt: Int64 = 0) -> AlertNotification {
        let labels: LabelSet = [Label("alertname", name), Label("instance", instance)]
        return AlertNotification(status: status, labels: labels, annotations: [], startsAt: startsAt, endsAt: 0, value: 1, generatorURL: "",
                                 fingerprint: Alert.fingerprint(of: labels))
    }

    private let start: Int64 = 1_795_000_000_000

    func testASilenceEndingBringsTheAlertAtTheNextGroupInterval() throws {
        let dispatcher = try dispatcher()
        let silence = Silence(id: "1", matchers: try AlertMatchers.parse("instance=b"), startsAt: start, endsAt: start + 60_000, createdBy: "", comment: "")
        dispatcher.silences = [silence]
        dispatcher.ingest(alert("DiskFull", "a"), now: start)
        dispatcher.ingest(alert("DiskFull", "b"), now: start)
        XCTAssertEqual(dispatcher.due(now: start + 30_000).first?.alerts.map { $0.labels.value(of: "instance") }, ["a"])
        XCTAssertEqual(dispatcher.nextDue(now: start + 30_000), start + 30_000 + 3_600_000, "the silenced alert is no news while silenced")
        XCTAssertEqual(dispatcher.nextDue(now: start + 60_000), start + 30_000 + 300_000, "once the silence ends it is")
        XCTAssertEqual(dispatcher.due(now: start + 300_000).count, 0)
        XCTAssertEqual(dispatcher.due(now: start + 330_000).first?.alerts.map { $0.labels.value(of: "instance") }, ["a", "b"])

        // A group whose every alert is silenced waits without a busy loop, and sends nothing.
        dispatcher.silences = [Silence(id: "2", matchers: try AlertMatchers.parse("alertname=DiskFull"), startsAt: start, endsAt: start + 86_400_000,
                                       createdBy: "", comment: "")]
        XCTAssertNil(dispatcher.nextDue(now: start + 400_000))
        XCTAssertEqual(dispatcher.due(now: start + 330_000 + 3_600_000).count, 0)
        XCTAssertEqual(dispatcher.groups.count, 1, "the group still exists")
    }

    func testAcknowledgedAlertsSkipRepeatsButNotChanges() throws {
        let dispatcher = try dispatcher()
        dispatcher.ingest(alert("DiskFull", "a"), now: start)
        XCTAssertEqual(dispatcher.due(now: start, flush: true).count, 1)
        dispatcher.acknowledged = [alert("DiskFull", "a").fingerprint]
        XCTAssertNil(dispatcher.nextDue(now: start), "nothing to repeat")
        XCTAssertEqual(dispatcher.due(now: start + 3_600_000).count, 0)
        dispatcher.ingest(alert("DiskFull", "b"), now: start + 3_700_000)
        XCTAssertEqual(dispatcher.due(now: start + 3_700_000, flush: true).first?.alerts.count, 2, "a change shows the group as it stands")
        XCTAssertEqual(dispatcher.due(now: start + 3_700_000 + 3_600_000).first?.alerts.map { $0.labels.value(of: "instance") }, ["b"])
    }

    func testEscalationIsOnceAndOnlyAfterTheReceiverWasTold() throws {
        let dispatcher = try dispatcher("  escalate_to: manager\n  escalate_after: 10m")
        dispatcher.ingest(alert("DiskFull", "a", startsAt: start - 3_600_000), now: start)
        XCTAssertEqual(dispatcher.due(now: start + 29_000).count, 0, "ops has not been told yet: no escalation either")
        let first = dispatcher.due(now: start + 30_000)
        XCTAssertEqual(first.map(\.receiver), ["ops", "manager"], "already firing long enough when ops was told")
        XCTAssertEqual(first.last?.groupKey, "{}:{alertname=\"DiskFull\"}/escalated")
        dispatcher.ingest(alert("DiskFull", "b", startsAt: start + 60_000), now: start + 60_000)
        XCTAssertEqual(dispatcher.due(now: start + 330_000).map(\.receiver), ["ops"])
        XCTAssertEqual(dispatcher.nextDue(now: start + 330_000), start + 660_000, "b escalates 10m after it started")
        let escalated = dispatcher.due(now: start + 660_000)
        XCTAssertEqual(escalated.map(\.receiver), ["manager"])
        XCTAssertEqual(escalated.first?.alerts.map { $0.labels.value(of: "instance") }, ["b"], "a went once already")
        XCTAssertEqual(dispatcher.due(now: start + 900_000).count, 0)
    }
}
