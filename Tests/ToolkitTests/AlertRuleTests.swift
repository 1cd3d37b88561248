import Foundation
import XCTest
@testable import MetricLine

/// The rule engine's alert life cycle, the event line, the state file, and malert run the three
/// ways users run it (from cron over a store, as a replay, on a stream).
final class AlertRuleTests: XCTestCase {
    private func rules(_ text: String) throws -> [RuleGroup] {
        try RuleFile.parse(text, path: "test.yml").groups
    }

    private func minutes(_ value: Int64) -> Int64 { value * 60_000 }

    /// A source with `up{job="a"}` holding `values[i]` at minute i.
    private func upSeries(_ values: [Double]) -> MemorySource {
        let source = MemorySource()
        for (minute, value) in values.enumerated() { source.add([Label("__name__", "up"), Label("job", "a")], timestamp: minutes(Int64(minute)), value: value) }
        return source
    }

    func testPendingFiringKeepFiringAndResend() throws {
        let groups = try rules("""
        groups:
          - name: g
            rules:
              - alert: Down
                expr: up == 0
                for: 2m
                keep_firing_for: 3m
                annotations:
                  summary: "{{ $labels.job }} is down ({{ $value }})"
        """)
        let engine = RuleEngine(groups: groups, source: upSeries(Array(repeating: 0, count: 6) + Array(repeating: 1, count: 20)))
        var sent: [(Int64, AlertNotification)] = []
        var states: [Alert.State?] = []
        for minute in Int64(0)...25 {
            let evaluation = engine.evaluate(group: 0, at: minutes(minute))
            XCTAssertEqual(evaluation.errors, [])
            sent += evaluation.notifications.map { (minute, $0) }
            states.append(engine.states[0].rules[0].alerts.values.first?.state)
        }
        XCTAssertEqual(states[0], .pending)
        XCTAssertEqual(states[1], .pending)
        XCTAssertEqual(states[2], .firing)
        XCTAssertEqual(states[8], .firing, "keep_firing_for holds it 3 minutes after the condition went at 6m")
        XCTAssertEqual(states[9], .inactive)
        XCTAssertNil(states[25], "resolved alerts are forgotten 15 minutes after resolving")
        // Firing first at 2m, then every 2 evaluations (last sent + 1m must be before now), resolved at 9m
        // and re-sent the same way for 15 minutes.
        XCTAssertEqual(sent.map(\.0), [2, 4, 6, 8, 9, 11, 13, 15, 17, 19, 21, 23])
        XCTAssertEqual(sent.map(\.1.status), [.firing, .firing, .firing, .firing] + Array(repeating: .resolved, count: 8))
        let first = sent[0].1
        XCTAssertEqual(first.labels, [Label("alertname", "Down"), Label("job", "a")])
        XCTAssertEqual(first.annotations, [Label("summary", "a is down (0)")])
        XCTAssertEqual(first.startsAt, minutes(2))
        XCTAssertEqual(first.endsAt, minutes(2) + 4 * 60_000, "endsAt = now + 4 x max(resend delay, interval)")
        XCTAssertEqual(sent[4].1.endsAt, minutes(9))
        XCTAssertEqual(sent[4].1.startsAt, minutes(2))
        XCTAssertEqual(first.fingerprint, sent[4].1.fingerprint)
    }

    func testAlertsSeriesAndStalenessMarkers() throws {
        let groups = try rules("""
        groups:
          - name: g
            rules:
              - alert: Down
                expr: up == 0
                for: 1m
        """)
        let engine = RuleEngine(groups: groups, source: upSeries([0, 0, 1, 1]))
        let lines = (Int64(0)...2).map { minute -> [String] in
            engine.evaluate(group: 0, at: minutes(minute)).samples.map { sample in
                var bytes: [UInt8] = []
                ExpositionWriter.appendSeriesKey(name: sample.labels.value(of: "__name__"), labels: sample.labels.filter { $0.name != "__name__" }, to: &bytes)
                ExpositionWriter.appendValueAndTimestamp(sample.value, sample.timestamp, to: &bytes)
                return String(decoding: bytes, as: UTF8.self)
            }
        }
        XCTAssertEqual(lines[0], ["ALERTS{alertname=\"Down\",alertstate=\"pending\",job=\"a\"} 1 0\n", "ALERTS_FOR_STATE{alertname=\"Down\",job=\"a\"} 0 0\n"])
        XCTAssertEqual(lines[1], ["ALERTS{alertname=\"Down\",alertstate=\"firing\",job=\"a\"} 1 60000\n", "ALERTS_FOR_STATE{alertname=\"Down\",job=\"a\"} 0 60000\n",
                                  "ALERTS{alertname=\"Down\",alertstate=\"pending\",job=\"a\"} stale 60000\n"])
        XCTAssertEqual(Set(lines[2]), ["ALERTS{alertname=\"Down\",alertstate=\"firing\",job=\"a\"} stale 120000\n", "ALERTS_FOR_STATE{alertname=\"Down\",job=\"a\"} stale 120000\n"])
    }

    func testFlapDampingHoldsAnAlertFiring() throws {
        let groups = try rules("""
        groups:
          - name: g
            rules:
              - alert: Flappy
                expr: up == 0
                flapping: {changes: 3, window: 30m}
        """)
        // Down and up every other minute for 10 minutes, then up for good.
        let values: [Double] = (0..<10).map { $0 % 2 == 0 ? 0 : 1 } + Array(repeating: 1, count: 50)
        let engine = RuleEngine(groups: groups, source: upSeries(values))
        var statuses: [String] = []
        for minute in Int64(0)..<50 {
            for notification in engine.evaluate(group: 0, at: minutes(minute)).notifications {
                statuses.append("\(minute):\(notification.status.rawValue):\(notification.labels.value(of: "flapping"))")
            }
        }
        // One clean cycle; at the fourth change (3m) the alert is held firing with flapping="true"
        // (re-sent at 4m, a resend delay later) until fewer than four changes are left in the
        // 30-minute window.
        XCTAssertEqual(Array(statuses.prefix(4)), ["0:firing:", "1:resolved:", "2:firing:", "4:firing:true"], statuses.joined(separator: " "))
        let resolvedAt = statuses.firstIndex { $0.hasSuffix(":resolved:true") }
        XCTAssertNotNil(resolvedAt, statuses.joined(separator: " "))
        XCTAssertEqual(statuses[resolvedAt!], "36:resolved:true", "the change at 6m leaves the 30m window at 36m, leaving three")
    }

    func testTemplatesSeeQueriesExternalLabelsAndGroupLabels() throws {
        let groups = try rules("""
        groups:
          - name: g
            labels:
              team: ops
            rules:
              - alert: Down
                expr: up == 0
                labels:
                  severity: '{{ if eq $labels.job "a" }}page{{ else }}ticket{{ end }}'
                annotations:
                  summary: '{{ $labels.job }} down in {{ $externalLabels.cluster }}; {{ with query "count(up)" }}{{ . | first | value }}{{ end }} targets known'
                  link: '{{ $externalURL }}'
        """)
        var options = RuleEngine.Options()
        options.externalLabels = ["cluster": "eu1"]
        options.externalURL = "http://mon.example"
        let engine = RuleEngine(groups: groups, source: upSeries([0]), options: options)
        let evaluation = engine.evaluate(group: 0, at: 0)
        XCTAssertEqual(evaluation.errors, [])
        let alert = try XCTUnwrap(evaluation.notifications.first)
        XCTAssertEqual(alert.labels, [Label("alertname", "Down"), Label("job", "a"), Label("severity", "page"), Label("team", "ops")])
        XCTAssertEqual(alert.annotations, [Label("link", "http://mon.example"), Label("summary", "a down in eu1; 1 targets known")])
    }

    func testLimitAndDuplicateLabelSetsAreRuleErrors() throws {
        let limited = try rules("""
        groups:
          - name: g
            limit: 1
            rules:
              - record: twice
                expr: up or label_replace(up, "job", "b", "", "")
              - alert: Same
                expr: label_replace(up, "job", "x", "", "") or label_replace(up, "job", "y", "", "")
                labels:
                  job: z
        """)
        let engine = RuleEngine(groups: limited, source: upSeries([1]))
        let evaluation = engine.evaluate(group: 0, at: 0)
        XCTAssertEqual(evaluation.errors.map(\.rule), ["twice", "Same"])
        XCTAssertTrue(evaluation.errors[0].message.contains("exceeded limit of 1 with 2 series"), evaluation.errors[0].message)
        XCTAssertTrue(evaluation.errors[1].message.contains("same labelset after applying alert labels"), evaluation.errors[1].message)
        XCTAssertEqual(evaluation.samples, [], "a failed rule writes nothing")
    }

    func testEventLineRoundTrip() throws {
        let notification = AlertNotification(
            status: .resolved, labels: [Label("alertname", "Disk\"Full"), Label("mount", "/var {x}")],
            annotations: [Label("summary", "line one\nline \\two\\ \"quoted\" a=b, c}"), Label("z", "ünïcödé")],
            startsAt: 1_700_000_000_123, endsAt: 1_700_000_060_000, value: 93.25, generatorURL: "http://x:9090/graph?g0.expr=up+%3D%3D+0",
            fingerprint: Alert.fingerprint(of: [Label("alertname", "Disk\"Full"), Label("mount", "/var {x}")]))
        let line = AlertEvent.line(notification)
        XCTAssertTrue(line.hasPrefix("# ALERT resolved {alertname=\"Disk\\\"Full\",mount=\"/var {x}\"} startsAt=2023-11-14T22:13:20.123Z"), line)
        XCTAssertFalse(line.contains("\n"))
        XCTAssertEqual(try AlertEvent.parse(line), notification)
        XCTAssertNil(try AlertEvent.parse("up 1"))
        XCTAssertThrowsError(try AlertEvent.parse("# ALERT sideways {a=\"b\"}"))
        XCTAssertThrowsError(try AlertEvent.parse("# ALERT firing {a=\"b\""))
        // A sample reader takes the line for a comment.
        XCTAssertEqual(try ExpositionParser.parse(line), .comment)
    }

    func testFingerprintMatchesAlertmanager() {
        // Alertmanager's fingerprint of {alertname="InstanceDown"} (FNV-1a 64 over name, 0xff, value, 0xff).
        XCTAssertEqual(Alert.fingerprint(of: [Label("alertname", "InstanceDown")]).count, 16)
        XCTAssertNotEqual(Alert.fingerprint(of: [Label("a", "bc")]), Alert.fingerprint(of: [Label("ab", "c")]))
    }

    func testStateFileRoundTripAndCorruption() throws {
        let groups = try rules("""
        groups:
          - name: g
            rules:
              - alert: Down
                expr: up == 0
                for: 5m
        """)
        let directory = NSTemporaryDirectory() + "malert-state-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/state"
        let engine = RuleEngine(groups: groups, source: upSeries([0, 0, 0]))
        _ = engine.evaluate(group: 0, at: minutes(2))
        try RuleStateFile.save(engine, to: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let restored = RuleEngine(groups: groups, source: upSeries([0, 0, 0]))
        XCTAssertNil(RuleStateFile.load(path, into: restored))
        XCTAssertEqual(restored.states[0].lastEvaluation, minutes(2))
        XCTAssertEqual(restored.states[0].rules[0].alerts, engine.states[0].rules[0].alerts)
        XCTAssertEqual(restored.states[0].rules[0].previousSeries, engine.states[0].rules[0].previousSeries)

        for garbage in ["{\"version\":1,\"groups\":[", "\u{0}\u{1}binary", "[]", "{\"version\":2,\"groups\":[]}"] {
            try garbage.write(toFile: path, atomically: true, encoding: .utf8)
            let fresh = RuleEngine(groups: groups, source: upSeries([0]))
            XCTAssertNotNil(RuleStateFile.load(path, into: fresh), garbage)
            XCTAssertNil(fresh.states[0].lastEvaluation)
        }
    }

    func testScheduleCatchesUpOnMissedInstants() {
        XCTAssertEqual(RuleSchedule.due(interval: 60_000, last: nil, now: 185_000, catchUp: 3_600_000), [180_000])
        XCTAssertEqual(RuleSchedule.due(interval: 60_000, last: 60_000, now: 185_000, catchUp: 3_600_000), [120_000, 180_000])
        XCTAssertEqual(RuleSchedule.due(interval: 60_000, last: 180_000, now: 185_000, catchUp: 3_600_000), [])
        XCTAssertEqual(RuleSchedule.due(interval: 60_000, last: 0, now: 600_000, catchUp: 120_000), [540_000, 600_000])
        XCTAssertEqual(RuleSchedule.between(interval: 60_000, from: 30_000, to: 180_000), [60_000, 120_000, 180_000])
        XCTAssertEqual(RuleSchedule.floor(-1, 60_000), -60_000)
    }

    // MARK: - The command

    private static let downRules = """
    groups:
      - name: availability
        interval: 1m
        rules:
          - alert: TargetDown
            expr: up == 0
            for: 3m
            labels:
              severity: page
            annotations:
              summary: "{{ $labels.instance }} is down"
          - record: job:up:sum
            expr: sum by (job) (up)
    """

    /// A store with `up` for two instances, one sample a minute from `start` for `count` minutes;
    /// instance b is down from minute 5 to minute `upAgain` - 1.
    private func makeStore(start: Int64, count: Int64, upAgain: Int64 = 15) throws -> (store: String, rules: String) {
        let directory = NSTemporaryDirectory() + "malert-run-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var lines = ""
        for minute in 0..<count {
            let time = start + minute * 60_000
            lines += "up{job=\"web\",instance=\"a\"} 1 \(time)\n"
            lines += "up{job=\"web\",instance=\"b\"} \(minute >= 5 && minute < upAgain ? 0 : 1) \(time)\n"
        }
        let store = directory + "/store"
        let append = try runTool("mstore", [store], input: Data(lines.utf8))
        XCTAssertEqual(append.status, 0, append.stderr)
        let rules = directory + "/rules.yml"
        try Self.downRules.write(toFile: rules, atomically: true, encoding: .utf8)
        return (store, rules)
    }

    func testCronRunsBehaveLikeOneServerAndLikeAReplay() throws {
        let start: Int64 = 1_700_000_000_000 / 60_000 * 60_000
        let (store, rules) = try makeStore(start: start, count: 30)
        defer { try? FileManager.default.removeItem(atPath: (store as NSString).deletingLastPathComponent) }
        // One run a minute, each with the state the previous one left.
        var cron = ""
        for minute in Int64(0)..<30 {
            let run = try runTool("malert", ["-s", store, rules, "--at", String((start + minute * 60_000) / 1000)])
            XCTAssertEqual(run.status, 0, run.stderr)
            cron += run.stdout
        }
        let replay = try runTool("malert", ["-s", store, rules, "--replay", "--from", String(start / 1000), "--to", String((start + 29 * 60_000) / 1000)])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        XCTAssertEqual(cron, replay.stdout, "a run a minute from cron gives what one uninterrupted evaluation gives")

        let events = cron.split(separator: "\n").filter { $0.hasPrefix("# ALERT") }
        XCTAssertTrue(events.first?.hasPrefix("# ALERT firing {alertname=\"TargetDown\",instance=\"b\",job=\"web\",severity=\"page\"} startsAt=\(Timestamp.rfc3339(start + 8 * 60_000))") ?? false,
                      events.first.map(String.init) ?? "no events")
        XCTAssertTrue(events.contains { $0.hasPrefix("# ALERT resolved") && $0.contains("endsAt=\(Timestamp.rfc3339(start + 15 * 60_000))") && $0.contains("value=0") },
                      "the resolved event carries the resolution time and the last value")
        XCTAssertTrue(cron.contains("job:up:sum{job=\"web\"} 1 \(start + 5 * 60_000)\n"), "recording rules write sample lines")

        // The output goes into a store as it is, and alert history is then queryable.
        let history = (store as NSString).deletingLastPathComponent + "/history"
        let stored = try runTool("mstore", [history], input: Data(cron.utf8))
        XCTAssertEqual(stored.status, 0, stored.stderr)
        let query = try runTool("mquery", ["-s", history, "count_over_time(ALERTS{alertstate=\"firing\"}[30m])", "--at", String((start + 29 * 60_000) / 1000)])
        XCTAssertEqual(query.status, 0, query.stderr)
        XCTAssertTrue(query.stdout.hasPrefix("{alertname=\"TargetDown\",alertstate=\"firing\",instance=\"b\",job=\"web\",severity=\"page\"} 7 "), query.stdout)
    }

    func testAlertsListsWhatTheStateHolds() throws {
        let start: Int64 = 1_700_000_000_000 / 60_000 * 60_000
        let (store, rules) = try makeStore(start: start, count: 30, upAgain: 30)
        defer { try? FileManager.default.removeItem(atPath: (store as NSString).deletingLastPathComponent) }
        XCTAssertEqual(try runTool("malert", ["-s", store, rules, "--at", String((start + 6 * 60_000) / 1000)]).status, 0)
        let pending = try runTool("malert", ["alerts", "-s", store, "--output-format", "tsv"])
        XCTAssertEqual(pending.stdout, "pending\t\(Timestamp.rfc3339(start + 6 * 60_000))\tTargetDown\t0\t{instance=\"b\",job=\"web\",severity=\"page\"}\tb is down\n")
        XCTAssertEqual(try runTool("malert", ["-s", store, rules, "--at", String((start + 10 * 60_000) / 1000)]).status, 0)
        let table = try runTool("malert", ["alerts", "-s", store])
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, table.stdout)
        XCTAssertTrue(lines[0].hasPrefix("STATE   ACTIVE SINCE"), table.stdout)
        XCTAssertTrue(lines[1].hasPrefix("firing  \(Timestamp.rfc3339(start + 6 * 60_000))"), table.stdout)
        let json = try runTool("malert", ["alerts", "--state", store + "/malert.state", "--output-format", "json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let alert = (parsed?["alerts"] as? [[String: Any]])?.first
        XCTAssertEqual(alert?["state"] as? String, "firing")
        XCTAssertEqual(alert?["value"] as? String, "0e+00", "Prometheus prints the value with Go's %e, shortest digits")
        XCTAssertEqual((alert?["labels"] as? [String: String])?["instance"], "b")
        XCTAssertEqual(AlertListing.exponent(0.42), "4.2e-01")
        XCTAssertEqual(AlertListing.exponent(-12345), "-1.2345e+04")
        XCTAssertEqual(AlertListing.exponent(1e300), "1e+300")
        let missing = try runTool("malert", ["alerts", "--state", store + "/nothing"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.hasPrefix("malert: "), missing.stderr)
        XCTAssertEqual(try runTool("malert", ["alerts"]).status, 2, "no state named")
    }

    func testCatchUpAndCorruptState() throws {
        let start: Int64 = 1_700_000_000_000 / 60_000 * 60_000
        let (store, rules) = try makeStore(start: start, count: 30)
        defer { try? FileManager.default.removeItem(atPath: (store as NSString).deletingLastPathComponent) }
        // Runs every 10 minutes evaluate the minutes in between too.
        var sparse = ""
        for minute in stride(from: Int64(0), to: 30, by: 10) {
            sparse += try runTool("malert", ["-s", store, rules, "--at", String((start + minute * 60_000) / 1000)]).stdout
        }
        XCTAssertTrue(sparse.contains("# ALERT firing {alertname=\"TargetDown\",instance=\"b\",job=\"web\",severity=\"page\"} startsAt=\(Timestamp.rfc3339(start + 8 * 60_000))"), sparse)
        // Running again for the same instant does nothing.
        let again = try runTool("malert", ["-s", store, rules, "--at", String((start + 20 * 60_000) / 1000)])
        XCTAssertEqual(again.stdout, "")
        // A corrupt state file: a warning and a fresh start, not a crash.
        try "{\"version\":1,\"groups\":[{\"na".write(toFile: store + "/malert.state", atomically: true, encoding: .utf8)
        let fresh = try runTool("malert", ["-s", store, rules, "--at", String((start + 10 * 60_000) / 1000)])
        XCTAssertEqual(fresh.status, 0)
        XCTAssertTrue(fresh.stderr.contains("state file is corrupt"), fresh.stderr)
        XCTAssertTrue(fresh.stdout.contains("ALERTS{alertname=\"TargetDown\",alertstate=\"pending\""), fresh.stdout)
    }

    func testStreamEvaluatesAsSampleTimeAdvances() throws {
        let start: Int64 = 1_700_000_000_000 / 60_000 * 60_000
        var lines = ""
        for step in Int64(0)..<(20 * 4) {
            let time = start + step * 15_000
            lines += "up{job=\"web\",instance=\"b\"} \(step >= 8 && step < 60 ? 0 : 1) \(time)\n"
        }
        let directory = NSTemporaryDirectory() + "malert-stream-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.downRules.write(toFile: directory + "/rules.yml", atomically: true, encoding: .utf8)
        let run = try runTool("malert", [directory + "/rules.yml", "--no-samples"], input: Data(lines.utf8))
        XCTAssertEqual(run.status, 0, run.stderr)
        let events = run.stdout.split(separator: "\n")
        XCTAssertTrue(events.allSatisfy { $0.hasPrefix("# ALERT ") }, run.stdout)
        // Down from minute 2: pending at 2m, firing at 5m; up again at 15m.
        XCTAssertTrue(events.first?.contains("startsAt=\(Timestamp.rfc3339(start + 5 * 60_000))") ?? false, run.stdout)
        XCTAssertTrue(events.contains { $0.hasPrefix("# ALERT resolved") && $0.contains("endsAt=\(Timestamp.rfc3339(start + 15 * 60_000))") }, run.stdout)
    }

    /// A streaming malert ended by SIGTERM while its input is still open exits 143 with its
    /// state saved, and a later stream with that state carries the alert on, not anew.
    func testStreamStoppedBySIGTERMKeepsItsState() throws {
        let start: Int64 = 1_700_000_000_000 / 60_000 * 60_000
        func lines(_ steps: Range<Int64>) -> String {
            steps.map { "up{job=\"web\",instance=\"b\"} \($0 >= 8 && $0 < 60 ? 0 : 1) \(start + $0 * 15_000)\n" }.joined()
        }
        let directory = NSTemporaryDirectory() + "malert-sigterm-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.downRules.write(toFile: directory + "/rules.yml", atomically: true, encoding: .utf8)
        let state = directory + "/stream.state"
        let process = Process()
        process.executableURL = toolDirectory.appendingPathComponent("malert")
        process.arguments = [directory + "/rules.yml", "--no-samples", "--state", state]
        let input = Pipe()
        let output = PipeReader()
        process.standardInput = input
        process.standardOutput = output.pipe
        try process.run()
        // Ten minutes of samples; the input stays open, as mcollect's would.
        input.fileHandleForWriting.write(Data(lines(0..<40).utf8))
        let firing = "# ALERT firing {alertname=\"TargetDown\",instance=\"b\",job=\"web\",severity=\"page\"} startsAt=\(Timestamp.rfc3339(start + 5 * 60_000))"
        XCTAssertTrue(output.wait { $0.contains(firing) }, output.text)
        process.terminate()
        process.waitUntilExit()
        _ = output.finish()
        try? input.fileHandleForWriting.close()
        XCTAssertEqual(process.terminationStatus, 128 + SIGTERM)
        let listed = try runTool("malert", ["alerts", "--state", state, "--output-format", "tsv"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains("TargetDown") && listed.stdout.contains("firing"), listed.stdout)

        // The next stream goes on from the saved state: the alert resolves at 15m, never starts again.
        let next = try runTool("malert", [directory + "/rules.yml", "--no-samples", "--state", state], input: Data(lines(40..<80).utf8))
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertFalse(next.stdout.contains("startsAt=\(Timestamp.rfc3339(start + 10 * 60_000))"), next.stdout)
        XCTAssertTrue(next.stdout.contains("# ALERT resolved") && next.stdout.contains("endsAt=\(Timestamp.rfc3339(start + 15 * 60_000))"), next.stdout)
        XCTAssertTrue(next.stdout.split(separator: "\n").allSatisfy { $0.contains("startsAt=\(Timestamp.rfc3339(start + 5 * 60_000))") }, next.stdout)
    }

    func testBadStreamLinesAreCountedAndStrictStops() throws {
        let directory = NSTemporaryDirectory() + "malert-bad-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "groups:\n- name: g\n  rules:\n  - record: x\n    expr: up\n".write(toFile: directory + "/rules.yml", atomically: true, encoding: .utf8)
        let input = Data("up 1 1000\nbad line\nup 2 70000\n".utf8)
        let run = try runTool("malert", [directory + "/rules.yml"], input: input)
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stdout, "x 1 60000\n", "the good lines were evaluated")
        XCTAssertTrue(run.stderr.contains("malert: <stdin>:2: ") && run.stderr.contains("malert: skipped 1 bad line of 3"), run.stderr)
        let strict = try runTool("malert", [directory + "/rules.yml", "--strict"], input: input)
        XCTAssertEqual(strict.status, 1)
        XCTAssertEqual(strict.stdout, "", "nothing after the bad line, so no evaluation was due")
        XCTAssertTrue(strict.stderr.contains("stopped at the first bad line (--strict)"), strict.stderr)
    }

    func testNoStaleLeavesOutOnlyTheMarkers() throws {
        let start: Int64 = 1_700_000_000_000 / 60_000 * 60_000
        let lines = (Int64(0)..<80).map { "up{job=\"web\",instance=\"b\"} \($0 >= 8 && $0 < 60 ? 0 : 1) \(start + $0 * 15_000)\n" }.joined()
        let directory = NSTemporaryDirectory() + "malert-nostale-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.downRules.write(toFile: directory + "/rules.yml", atomically: true, encoding: .utf8)
        let all = try runTool("malert", [directory + "/rules.yml"], input: Data(lines.utf8))
        let fresh = try runTool("malert", [directory + "/rules.yml", "--no-stale"], input: Data(lines.utf8))
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        let stale = all.stdout.split(separator: "\n").filter { $0.contains(" stale ") }
        XCTAssertFalse(stale.isEmpty, "ALERTS series end with a marker when the alert resolves")
        XCTAssertEqual(fresh.stdout.split(separator: "\n"), all.stdout.split(separator: "\n").filter { !$0.contains(" stale ") })

        let store = directory + "/store"
        XCTAssertEqual(try runTool("mstore", [store], input: Data("up 1 1000\nup stale 2000\nup 1 3000\n".utf8)).status, 0)
        XCTAssertEqual(try runTool("mstore", ["dump", store]).stdout, "up 1 1000\nup stale 2000\nup 1 3000\n")
        XCTAssertEqual(try runTool("mstore", ["dump", store, "--no-stale"]).stdout, "up 1 1000\nup 1 3000\n")
    }

    func testRuleFilesWithoutGroups() throws {
        let directory = NSTemporaryDirectory() + "malert-empty-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "groups: []\n".write(toFile: directory + "/none.yml", atomically: true, encoding: .utf8)
        try "".write(toFile: directory + "/empty.yml", atomically: true, encoding: .utf8)
        for file in ["none.yml", "empty.yml"] {
            let streamed = try runTool("malert", [directory + "/" + file], input: Data("up 1 1704067200000\nup 1 1704067260000\n".utf8))
            XCTAssertEqual(streamed.status, 0, file + ": " + streamed.stderr)
            XCTAssertEqual(streamed.stdout, "", file)
        }
    }

    func testAlertmanagerOutput() throws {
        let start: Int64 = 1_700_000_000_000 / 60_000 * 60_000
        let (store, rules) = try makeStore(start: start, count: 30)
        defer { try? FileManager.default.removeItem(atPath: (store as NSString).deletingLastPathComponent) }
        let run = try runTool("malert", ["-s", store, rules, "--replay", "--from", String(start / 1000), "--to", String((start + 10 * 60_000) / 1000),
                                         "--output-format", "alertmanager", "--external-url", "http://mon.example:9090"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let arrays = run.stdout.split(separator: "\n")
        XCTAssertFalse(arrays.isEmpty)
        for text in arrays {
            let alerts = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
            for alert in alerts {
                let labels = try XCTUnwrap(alert["labels"] as? [String: String])
                XCTAssertEqual(labels["alertname"], "TargetDown")
                XCTAssertNotNil(alert["startsAt"] as? String)
                XCTAssertNotNil(alert["endsAt"] as? String)
                XCTAssertEqual(alert["generatorURL"] as? String, "http://mon.example:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1")
                XCTAssertEqual((alert["annotations"] as? [String: String])?["summary"], "b is down")
            }
        }
    }

    /// What `--output-format alertmanager` writes is taken by a real Alertmanager (Debian's
    /// prometheus-alertmanager on 127.0.0.1), which then lists the alert with our labels,
    /// annotations, start time and fingerprint.
    func testRealAlertmanagerAcceptsTheAlerts() throws {
        let binary = "/usr/bin/prometheus-alertmanager"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary), "prometheus-alertmanager is not installed")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let start = now / 60_000 * 60_000 - 20 * 60_000
        let (store, rules) = try makeStore(start: start, count: 21, upAgain: 100)
        let directory = (store as NSString).deletingLastPathComponent
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let at = String((start + 20 * 60_000) / 1000)
        let replay = ["-s", store, rules, "--replay", "--from", String(start / 1000), "--to", at]
        let json = try runTool("malert", replay + ["--output-format", "alertmanager", "--external-url", "http://127.0.0.1:9090"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let events = try runTool("malert", replay + ["--no-samples"])
        let event = try XCTUnwrap(try AlertEvent.parse(String(events.stdout.prefix { $0 != "\n" })), events.stdout)

        try "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n".write(toFile: directory + "/am.yml", atomically: true, encoding: .utf8)
        let port = freeLoopbackPort()
        let base = "http://127.0.0.1:\(port)/api/v2/alerts"
        let (server, ready) = try startServer(binary, ["--config.file=\(directory)/am.yml", "--storage.path=\(directory)/am",
                                                       "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=", "--log.level=error"],
                                              readyURL: base)
        defer { server.terminate(); server.waitUntilExit() }
        XCTAssertTrue(ready, "Alertmanager did not start")

        let body = directory + "/alerts.json"
        try json.stdout.split(separator: "\n").last.map(String.init)!.write(toFile: body, atomically: true, encoding: .utf8)
        let post = try runProgram("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/json", "--data-binary", "@" + body, base])
        XCTAssertEqual(post.stdout, "200", "Alertmanager refused: \(post.stdout) for \(json.stdout)")

        let listed = try runProgram("/usr/bin/curl", ["-sf", base])
        let alerts = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(alerts.count, 1, listed.stdout)
        let alert = try XCTUnwrap(alerts.first)
        XCTAssertEqual(alert["labels"] as? [String: String], ["alertname": "TargetDown", "instance": "b", "job": "web", "severity": "page"])
        XCTAssertEqual(alert["annotations"] as? [String: String], ["summary": "b is down"])
        XCTAssertEqual(alert["fingerprint"] as? String, event.fingerprint, "our fingerprint is Alertmanager's")
        XCTAssertEqual((alert["status"] as? [String: Any])?["state"] as? String, "active")
        let startsAt = try XCTUnwrap(alert["startsAt"] as? String)
        XCTAssertEqual(Timestamp.parseRFC3339(startsAt), start + 8 * 60_000, startsAt)
        XCTAssertEqual(alert["generatorURL"] as? String, "http://127.0.0.1:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1")
    }

    func testBadRuleFileIsReportedWithPositions() throws {
        let directory = NSTemporaryDirectory() + "malert-bad-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, String)] = [
            ("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n", "rules.yml:5:15: group \"g\", rule 1, \"A\": could not parse expression"),
            ("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: soon\n", "rules.yml:6:14: 'for': not a valid duration"),
            ("groups:\n  - name: g\n    rules:\n      - record: a b\n        expr: up\n", "rules.yml:4:17: group \"g\", rule 1, \"a b\": invalid recording rule name"),
            ("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          s: '{{ .Foo'\n", "rules.yml:7:11: group \"g\", rule 1, \"A\": annotation \"s\": template: __alert_A:1:"),
            ("groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n", "rules.yml:4:11: groupname: \"g\" is repeated in the same file"),
            ("groups:\n  - name: g\n    rulez: []\n", "rules.yml:3:5: unknown key \"rulez\""),
            ("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        expr: down\n", "rules.yml:6:9: duplicate key \"expr\""),
            ("\u{0}\u{ff}: [", "rules.yml:1:"),
        ]
        for (text, message) in cases {
            let path = directory + "/rules.yml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let check = try runTool("malert", ["check", path])
            XCTAssertEqual(check.status, 1, text)
            XCTAssertTrue(check.stdout.contains(message), "want '\(message)' in:\n\(check.stdout)")
            let run = try runTool("malert", ["-s", directory + "/none", path])
            XCTAssertEqual(run.status, 1)
            XCTAssertTrue(run.stderr.contains(message), "want '\(message)' in:\n\(run.stderr)")
        }
    }

    func testExampleRulesPassTheirTests() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/rules")
        let tests = try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".test.yml") }
        XCTAssertFalse(tests.isEmpty)
        for file in tests {
            let run = try runTool("malert", ["test", examples.appendingPathComponent(file).path])
            XCTAssertEqual(run.status, 0, run.stdout)
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") {
                let promtool = try runProgram("/usr/bin/promtool", ["test", "rules", examples.appendingPathComponent(file).path])
                XCTAssertEqual(promtool.status, 0, "promtool agrees: \(promtool.stdout)")
            }
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: examples.path) where file.hasSuffix(".yml") && !file.hasSuffix(".test.yml") {
            XCTAssertEqual(try runTool("malert", ["check", examples.appendingPathComponent(file).path]).status, 0, file)
        }
    }
}
