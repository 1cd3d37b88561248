import Foundation
import XCTest
@testable import MetricLine

/// The dispatcher's timing, as Alertmanager's: group_wait, group_interval, repeat_interval;
/// resolved alerts; inhibition; muted routes; alerts whose sender went quiet.
final class NotifyDispatchTests: XCTestCase {
    private func config(_ extra: String = "") throws -> NotifyConfig {
        try NotifyConfig.parse("""
        route:
          receiver: ops
          group_by: [alertname]
          group_wait: 30s
          group_interval: 5m
          repeat_interval: 1h
          routes:
            - matchers: [team="night"]
              receiver: ops
              mute_time_intervals: [night]
        receivers:
          - name: ops
        inhibit_rules:
          - source_matchers: [severity="critical"]
            target_matchers: [severity="warning"]
            equal: [instance]
        time_intervals:
          - name: night
            time_intervals:
              - times: [{start_time: '00:00', end_time: '06:00'}]
        \(extra)
        """, path: "c.yml")
    }

    private func alert(_ name: String, _ instance: String, status: AlertNotification.Status = .firing, severity: String = "warning",
                       team: String = "", endsAt: Int64 = 0) -> AlertNotification {
        var labels: LabelSet = [Label("alertname", name), Label("instance", instance), Label("severity", severity)]
        if !team.isEmpty { labels.append(Label("team", team)) }
        return AlertNotification(status: status, labels: labels, annotations: [], startsAt: 0, endsAt: endsAt, value: 1, generatorURL: "",
                                 fingerprint: Alert.fingerprint(of: labels))
    }

    private let start: Int64 = 1_795_000_000_000 / 86_400_000 * 86_400_000 + 12 * 3_600_000  // noon UTC

    func testGroupWaitIntervalAndRepeat() throws {
        let dispatcher = Dispatcher(config: try config())
        dispatcher.ingest(alert("DiskFull", "a"), now: start)
        XCTAssertEqual(dispatcher.due(now: start + 29_999).count, 0, "group_wait not over")
        dispatcher.ingest(alert("DiskFull", "b"), now: start + 10_000)
        let first = dispatcher.due(now: start + 30_000)
        XCTAssertEqual(first.count, 1)
        XCTAssertEqual(first.first?.alerts.count, 2, "alerts that came during group_wait go together")
        XCTAssertEqual(dispatcher.nextDue(now: start + 30_000), start + 30_000 + 3_600_000, "unchanged: next is the repeat")

        dispatcher.ingest(alert("DiskFull", "c"), now: start + 60_000)
        XCTAssertEqual(dispatcher.due(now: start + 60_000).count, 0, "a change waits for group_interval")
        let changed = dispatcher.due(now: start + 30_000 + 300_000)
        XCTAssertEqual(changed.first?.alerts.count, 3)

        XCTAssertEqual(dispatcher.due(now: start + 330_000 + 3_599_999).count, 0)
        XCTAssertEqual(dispatcher.due(now: start + 330_000 + 3_600_000).first?.alerts.count, 3, "repeat_interval")

        dispatcher.ingest(alert("DiskFull", "a", status: .resolved), now: start + 4_000_000)
        let resolved = try XCTUnwrap(dispatcher.due(now: start + 4_000_000 + 300_000).first)
        XCTAssertEqual(resolved.alerts.map(\.status), [.firing, .firing, .resolved])
        XCTAssertEqual(dispatcher.groups.values.first?.alerts.count, 2, "a resolved alert leaves the group once it was sent")
    }

    func testFlushSendsWithoutWaitingButDoesNotRepeatEarly() throws {
        let dispatcher = Dispatcher(config: try config())
        dispatcher.ingest(alert("DiskFull", "a"), now: start)
        XCTAssertEqual(dispatcher.due(now: start, flush: true).count, 1)
        dispatcher.ingest(alert("DiskFull", "a"), now: start + 1000)
        XCTAssertEqual(dispatcher.due(now: start + 1000, flush: true).count, 0, "the same alert again is no change")
    }

    func testInhibitionAndMutedRoutes() throws {
        let dispatcher = Dispatcher(config: try config())
        dispatcher.ingest(alert("Down", "a", severity: "critical"), now: start)
        dispatcher.ingest(alert("Slow", "a", severity: "warning"), now: start)
        dispatcher.ingest(alert("Slow", "b", severity: "warning"), now: start)
        let sent = dispatcher.due(now: start, flush: true)
        let slow = try XCTUnwrap(sent.first { $0.groupLabels.value(of: "alertname") == "Slow" })
        XCTAssertEqual(slow.alerts.map { $0.labels.value(of: "instance") }, ["b"], "Slow on a is inhibited by Down on a")

        let night = Dispatcher(config: try config())
        let threeAM = start - 9 * 3_600_000
        night.ingest(alert("Backup", "a", team: "night"), now: threeAM)
        XCTAssertEqual(night.due(now: threeAM, flush: true).count, 0, "muted at 03:00")
        XCTAssertEqual(night.due(now: start, flush: true).count, 1, "sent once the mute is over")
    }

    func testAQuietSenderResolvesAtEndsAt() throws {
        let dispatcher = Dispatcher(config: try config())
        dispatcher.ingest(alert("DiskFull", "a", endsAt: start + 240_000), now: start)
        XCTAssertEqual(dispatcher.due(now: start, flush: true).first?.alerts.first?.status, .firing)
        let later = dispatcher.due(now: start + 300_000)
        XCTAssertEqual(later.first?.alerts.first?.status, .resolved, "no newer state by endsAt: resolved")
    }

    func testStateSurvivesARestart() throws {
        let path = NSTemporaryDirectory() + "mnotify-groups-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = Dispatcher(config: try config())
        first.ingest(alert("DiskFull", "a"), now: start)
        XCTAssertEqual(first.due(now: start, flush: true).count, 1)
        try first.save(to: path)
        let second = Dispatcher(config: try config())
        XCTAssertNil(second.load(from: path))
        second.ingest(alert("DiskFull", "a"), now: start + 1000)
        XCTAssertEqual(second.due(now: start + 1000, flush: true).count, 0, "not sent twice after a restart")
        XCTAssertEqual(second.due(now: start + 3_600_000).count, 1, "the repeat still comes")
        try "{\"receiver\":\"ops\"\n# ALERT bogus".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertNotNil(Dispatcher(config: try config()).load(from: path), "a damaged file is reported")
    }
}
