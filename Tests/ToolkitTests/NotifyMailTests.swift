import Foundation
import XCTest
@testable import MetricLine

/// mnotify's email and command receivers with real parts: Debian's Exim (`exim4-daemon-light`,
/// installed by scripts/test) delivering through its `sendmail` to the mailbox of a user the test
/// creates, the message read back from that mailbox and Exim's log; and programs the test writes,
/// run as command receivers.
///
/// Exim needs no daemon for this: `sendmail -t -i` queues the message and forks a delivery process
/// that appends to /var/mail/USER. Debian's default configuration ("local delivery only") refuses
/// remote domains without looking them up, so nothing leaves the machine even if a header were
/// injected; the test checks that before it sends.
final class NotifyMailTests: XCTestCase {
    private var directory = ""
    /// The mailbox owner this test created (deleted in tearDown), or "".
    private var user = ""

    private static let exim = "/usr/sbin/exim4"
    private static let sendmail = "/usr/sbin/sendmail"
    /// Debian's Exim logs to /var/log/exim4/%slog; the main log has one line per arrival and delivery.
    private static let mainLog = "/var/log/exim4/mainlog"

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "mnotify-mail-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
    }

    override func tearDown() {
        if !user.isEmpty {
            _ = try? runProgram("/usr/sbin/userdel", [user])
            try? FileManager.default.removeItem(atPath: "/var/mail/" + user)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Email through Exim

    func testEmailReachesALocalMailboxWithUTF8SubjectAndBodyIntact() throws {
        try requireLocalOnlyExim()
        try createMailUser()
        let summary = "Festplatte fast voll – 93 % auf /var 🚨"
        let alert = jsonAlert(labels: ["alertname": "DiskFull", "instance": "web01", "site": "Köln 🚨",
                                       "note": "x\r\nBcc: evil@example.org"],
                              summary: summary)
        let run = try runTool("mnotify", ["-c", try emailConfig(), "--state", directory + "/state"], input: Data((alert + "\n").utf8))
        XCTAssertEqual(run.status, 0, run.stderr)

        let delivery = try waitForDelivery()
        XCTAssertEqual(delivery.log.filter { $0.contains(" => ") }.count, 1, delivery.log.joined(separator: "\n"))
        let messages = try mailbox()
        XCTAssertEqual(messages.count, 1)
        let message = try XCTUnwrap(messages.first)

        XCTAssertEqual(try decoded(message.header("From")), "Überwachung <mnotify@localhost>")
        XCTAssertEqual(message.header("To"), "\(user)@localhost")
        XCTAssertEqual(message.header("Envelope-to"), "\(user)@localhost", "Exim's record of the envelope recipients")
        XCTAssertEqual(try decoded(message.header("Subject")), "[FIRING:1] DiskFull (web01 x  Bcc: evil@example.org Köln 🚨)")
        XCTAssertEqual(message.header("Content-Type"), "text/plain; charset=utf-8")
        XCTAssertEqual(message.header("Content-Transfer-Encoding"), "quoted-printable")
        XCTAssertEqual(message.headers.filter { ["bcc", "cc"].contains($0.name.lowercased()) }.map(\.name), [])
        XCTAssertEqual(message.headers.filter { $0.name.lowercased() == "to" }.count, 1)

        let body = try quotedPrintableDecoded(message.body)
        XCTAssertTrue(body.hasPrefix("FIRING DiskFull\n\(summary)\n"), body)
        XCTAssertTrue(body.contains("\nsite = Köln 🚨\n"), body)
        XCTAssertTrue(body.contains("\nnote = x  Bcc: evil@example.org\n"), body)
        XCTAssertTrue(body.contains("\nStarted 2026-11-24 10:00:00 UTC"), body)
        XCTAssertTrue(message.body.split(separator: "\n", omittingEmptySubsequences: false).allSatisfy { $0.utf8.count <= 76 && $0.allSatisfy(\.isASCII) })
    }

    /// An ASCII subject is written as it is (no encoded words to hide in), so this is where a line
    /// break in a label would become a header of its own if it were let through.
    func testLabelValuesAddNoHeaderAndNoRecipient() throws {
        try requireLocalOnlyExim()
        try createMailUser()
        let mailboxesBefore = try otherMailboxes()
        let alert = jsonAlert(labels: ["alertname": "DiskFull", "instance": "web01",
                                       "note": "x\r\nBcc: evil@example.org\r\nCc: root@localhost\nTo: root@localhost\r\n\r\nbody?"],
                              summary: "ok\r\nBcc: evil@example.org")
        let run = try runTool("mnotify", ["-c", try emailConfig(), "--state", directory + "/state"], input: Data((alert + "\n").utf8))
        XCTAssertEqual(run.status, 0, run.stderr)

        let delivery = try waitForDelivery()
        let log = delivery.log.joined(separator: "\n")
        // One arrival, one delivery (to our user), no failure (`**`), deferral (`==`) or further recipient (`->`).
        XCTAssertEqual(delivery.log.filter { $0.contains(" <= ") }.count, 1, log)
        XCTAssertEqual(delivery.log.filter { $0.contains(" => ") }.map { $0.components(separatedBy: " => ")[1].split(separator: " ")[0] },
                       [Substring(user)], log)
        XCTAssertFalse(delivery.log.contains { $0.contains(" ** ") || $0.contains(" == ") || $0.contains(" -> ") }, log)
        XCTAssertFalse(log.contains("evil@example.org"), log)
        XCTAssertEqual(try otherMailboxes(), mailboxesBefore, "no other mailbox got mail")

        let messages = try mailbox()
        XCTAssertEqual(messages.count, 1)
        let message = try XCTUnwrap(messages.first)
        XCTAssertEqual(message.headers.filter { ["bcc", "cc"].contains($0.name.lowercased()) }.map(\.name), [])
        XCTAssertEqual(message.headers.filter { $0.name.lowercased() == "to" }.map(\.value), ["\(user)@localhost"])
        XCTAssertEqual(message.header("Envelope-to"), "\(user)@localhost")
        XCTAssertEqual(message.header("Subject"), "[FIRING:1] DiskFull (web01 x  Bcc: evil@example.org  Cc: root@localhost To: root@localhost    body?)")
        let body = try quotedPrintableDecoded(message.body)
        XCTAssertTrue(body.contains("\nnote = x  Bcc: evil@example.org  Cc: root@localhost To: root@localhost    body?\n"), body)
    }

    // MARK: Command receivers

    func testCommandReceiverGetsTheTextOnStdinAndItsEnvironmentWithoutAShell() throws {
        let output = directory + "/out"
        let script = try writeScript("save", """
        #!/bin/sh
        cat > "$1.stdin"
        env | grep '^MNOTIFY_' | sort > "$1.env"
        printf '%s\\n' "$@" > "$1.args"
        """)
        let victim = directory + "/victim"
        try "still here\n".write(toFile: victim, atomically: true, encoding: .utf8)
        let note = "$(touch \(directory)/pwned) `touch \(directory)/pwned2` ; rm -rf \(victim) | touch \(directory)/pwned3"
        let file = directory + "/mnotify.yml"
        try """
        route:
          receiver: ops
          group_by: [alertname, note]
        receivers:
          - name: ops
            command_configs:
              - command: ["\(script)", "\(output)", "two words", "$HOME", "*"]
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let input = event(labels: [Label("alertname", "DiskFull"), Label("instance", "web01"), Label("note", note)],
                          summary: "Festplatte fast voll – 93 % auf /var 🚨")
        let run = try runTool("mnotify", ["-c", file, "--state", directory + "/state"], input: Data(input.utf8))
        XCTAssertEqual(run.status, 0, run.stderr)

        let text = try String(contentsOfFile: output + ".stdin", encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        XCTAssertEqual(lines.first, "[FIRING:1] DiskFull \(note) (web01)")
        XCTAssertEqual(Array(lines.dropFirst().prefix(3)), ["", "FIRING DiskFull", "Festplatte fast voll – 93 % auf /var 🚨"])
        XCTAssertTrue(text.contains("\ninstance = web01\n"), text)
        XCTAssertTrue(text.contains("\nnote = \(note)\n"), text)

        let environment = try String(contentsOfFile: output + ".env", encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        }
        XCTAssertEqual(environment, [
            ["MNOTIFY_ALERTS", "1"],
            ["MNOTIFY_GROUP_KEY", "{}:{alertname=\"DiskFull\",note=\"\(note)\"}"],
            ["MNOTIFY_RECEIVER", "ops"],
            ["MNOTIFY_STATUS", "firing"],
        ])
        XCTAssertEqual(try String(contentsOfFile: output + ".args", encoding: .utf8), "\(output)\ntwo words\n$HOME\n*\n",
                       "arguments come as written, not split or expanded")
        for name in ["pwned", "pwned2", "pwned3"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/" + name), "a label ran a command (\(name))")
        }
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "still here\n")
    }

    func testAFailingCommandIsRetriedThenDeadLettered() throws {
        let attempts = directory + "/attempts"
        let script = try writeScript("fail", """
        #!/bin/sh
        cat > /dev/null
        echo attempt >> "\(attempts)"
        exit 1
        """)
        let file = directory + "/mnotify.yml"
        try """
        route:
          receiver: pager
        receivers:
          - name: pager
            command_configs:
              - command: ["\(script)"]
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let input = event(labels: [Label("alertname", "DiskFull"), Label("instance", "web01")], summary: "Disk almost full")

        // Retried with backoff until the deadline, then given up.
        let state = directory + "/state"
        let run = try runTool("mnotify", ["-c", file, "--state", state, "--retry-for", "2s", "--wait", "30s"], input: Data(input.utf8))
        XCTAssertEqual(run.status, 1, "a delivery was given up")
        XCTAssertTrue(run.stderr.contains("mnotify: command[0] of receiver \"pager\": \(script) exited with 1; will retry\n"), run.stderr)
        XCTAssertTrue(run.stderr.contains("attempts, moved to \(state)/dead-letter\n"), run.stderr)
        let tries = try String(contentsOfFile: attempts, encoding: .utf8).split(separator: "\n").count
        XCTAssertGreaterThanOrEqual(tries, 2, "retried at least once")
        XCTAssertTrue(run.stderr.contains("gave up after \(tries) attempts"), run.stderr)
        let deadLetter = try String(contentsOfFile: state + "/dead-letter", encoding: .utf8)
        XCTAssertTrue(deadLetter.contains("# ALERT firing {alertname=\"DiskFull\",instance=\"web01\"}"), deadLetter)
        XCTAssertTrue(deadLetter.contains("exited with 1"), deadLetter)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: state + "/spool").filter { $0.hasSuffix(".delivery") }, [])

        // With no time to retry, the first failure goes straight to the dead-letter file.
        try FileManager.default.removeItem(atPath: attempts)
        let quick = directory + "/quick"
        let once = try runTool("mnotify", ["-c", file, "--state", quick, "--retry-for", "0s", "--wait", "0s"], input: Data(input.utf8))
        XCTAssertEqual(once.status, 1)
        XCTAssertTrue(once.stderr.contains("gave up after 1 attempts, moved to \(quick)/dead-letter"), once.stderr)
        XCTAssertEqual(try String(contentsOfFile: attempts, encoding: .utf8), "attempt\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: quick + "/dead-letter"))
    }

    // MARK: Input and configuration

    /// One malert event line for a firing alert that started 2026-11-24 10:00 UTC.
    private func event(labels: LabelSet, summary: String) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\""
        }
        let sorted = labels.sorted { $0.name < $1.name }
        let text = sorted.map { "\($0.name)=\(quoted($0.value))" }.joined(separator: ",")
        return "# ALERT firing {\(text)} startsAt=2026-11-24T10:00:00Z endsAt=2030-01-01T00:00:00Z value=1 fingerprint=\(Alert.fingerprint(of: sorted)) annotations={summary=\(quoted(summary))}\n"
    }

    /// One alert in Alertmanager's JSON, which can carry any character in a label (event lines
    /// have no escape for a carriage return).
    private func jsonAlert(labels: [String: String], summary: String) -> String {
        let alert: [String: Any] = ["labels": labels, "annotations": ["summary": summary],
                                    "startsAt": "2026-11-24T10:00:00Z", "endsAt": "2030-01-01T00:00:00Z"]
        let data = try! JSONSerialization.data(withJSONObject: [alert], options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    private func emailConfig() throws -> String {
        let file = directory + "/mnotify.yml"
        try """
        route:
          receiver: mail
          group_by: [alertname]
        receivers:
          - name: mail
            email_configs:
              - to: \(user)@localhost
                from: "Überwachung <mnotify@localhost>"
                sendmail: \(Self.sendmail)
        """.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    private func writeScript(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    // MARK: Exim and the mailbox

    /// Skips when Exim is not installed; fails when it would route mail off this machine, since
    /// a test that finds an injected recipient must not have sent anything anywhere.
    private func requireLocalOnlyExim() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.exim), FileManager.default.isExecutableFile(atPath: Self.sendmail) else {
            throw XCTSkip("\(Self.exim) is not installed (scripts/test installs exim4-daemon-light)")
        }
        let route = try runProgram(Self.exim, ["-bt", "evil@example.org"])
        guard route.status != 0, route.stdout.contains("undeliverable") else {
            throw TestFailure("Exim would route evil@example.org off this machine; these tests want Debian's 'local delivery only' configuration:\n\(route.stdout)")
        }
    }

    /// A system user with a home (Exim changes into it to deliver) and, after the first delivery,
    /// a mailbox /var/mail/USER. Unique per test, so two runs never share a mailbox.
    private func createMailUser() throws {
        let name = "mnt" + UUID().uuidString.prefix(8).lowercased()
        let run = try runProgram("/usr/sbin/useradd", ["--system", "--create-home", "--home-dir", directory + "/home",
                                                        "--shell", "/usr/sbin/nologin", name])
        guard run.status == 0 else { throw TestFailure("useradd \(name) (these tests run as root): \(run.stderr)") }
        user = name
    }

    /// Waits until Exim has delivered to the user and finished with the message; returns its id
    /// and every main-log line about it.
    private func waitForDelivery() throws -> (id: String, log: [String]) {
        let deadline = Date().addingTimeInterval(30)
        var id: String?
        while Date() < deadline {
            let log = (try? String(contentsOfFile: Self.mainLog, encoding: .utf8)) ?? ""
            let lines = log.split(separator: "\n").map(String.init)
            if id == nil, let line = lines.first(where: { $0.contains(" => \(user) <\(user)@localhost>") }) {
                id = String(line.split(separator: " ")[2])
            }
            if let id, lines.contains(where: { $0.contains(" \(id) Completed") }) {
                return (id, lines.filter { $0.contains(" \(id) ") })
            }
            usleep(100_000)
        }
        let tail = ((try? String(contentsOfFile: Self.mainLog, encoding: .utf8)) ?? "").split(separator: "\n").suffix(20).joined(separator: "\n")
        throw TestFailure("Exim did not deliver to \(user) within 30 s; \(Self.mainLog) ends:\n\(tail)")
    }

    /// The messages in the user's mbox.
    private func mailbox() throws -> [MailMessage] {
        let text = try String(contentsOfFile: "/var/mail/" + user, encoding: .utf8)
        var messages: [[Substring]] = []
        var previousBlank = true
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if previousBlank && line.hasPrefix("From ") { messages.append([]) } else if !messages.isEmpty { messages[messages.count - 1].append(line) }
            previousBlank = line.isEmpty
        }
        return try messages.map { try MailMessage($0) }
    }

    /// Size of every other mailbox in /var/mail, by name.
    private func otherMailboxes() throws -> [String: Int] {
        var sizes: [String: Int] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: "/var/mail") where name != user {
            let attributes = try FileManager.default.attributesOfItem(atPath: "/var/mail/" + name)
            sizes[name] = (attributes[.size] as? NSNumber)?.intValue ?? -1
        }
        return sizes
    }

    // MARK: Decoding

    /// A header value with its RFC 2047 encoded words (`=?UTF-8?B?...?=`, as mnotify writes them)
    /// decoded; blanks between two encoded words are dropped, as RFC 2047 says.
    private func decoded(_ value: String?) throws -> String {
        let value = try XCTUnwrap(value)
        let pattern = try NSRegularExpression(pattern: "=\\?([^?]+)\\?([Bb])\\?([^?]*)\\?=")
        var output = ""
        var position = value.startIndex
        var previousWasWord = false
        for match in pattern.matches(in: value, range: NSRange(value.startIndex..., in: value)) {
            let range = try XCTUnwrap(Range(match.range, in: value))
            let gap = value[position..<range.lowerBound]
            if !(previousWasWord && gap.allSatisfy { $0 == " " || $0 == "\t" }) { output += gap }
            let charset = value[try XCTUnwrap(Range(match.range(at: 1), in: value))]
            XCTAssertEqual(charset.uppercased(), "UTF-8")
            let bytes = try XCTUnwrap(Data(base64Encoded: String(value[try XCTUnwrap(Range(match.range(at: 3), in: value))])))
            output += try XCTUnwrap(String(data: bytes, encoding: .utf8))
            position = range.upperBound
            previousWasWord = true
        }
        return output + value[position...]
    }

    private func quotedPrintableDecoded(_ text: String) throws -> String {
        var bytes: [UInt8] = []
        let input = Array(text.utf8)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "=") {
                if index + 1 < input.count && input[index + 1] == UInt8(ascii: "\n") {
                    index += 2
                    continue
                }
                guard index + 2 < input.count, let value = UInt8(String(decoding: input[index + 1...index + 2], as: UTF8.self), radix: 16) else {
                    throw TestFailure("bad quoted-printable at byte \(index)")
                }
                bytes.append(value)
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return try XCTUnwrap(String(validating: bytes, as: UTF8.self))
    }
}

/// One message from an mbox: its headers, unfolded, and its body as stored.
private struct MailMessage {
    var headers: [(name: String, value: String)] = []
    var body: String

    init(_ lines: [Substring]) throws {
        guard let blank = lines.firstIndex(where: \.isEmpty) else { throw TestFailure("a message without a blank line after its headers") }
        for line in lines[..<blank] {
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                // Unfolding removes the line break only (RFC 5322 2.2.3).
                headers[headers.count - 1].value += line
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " })))
            } else {
                throw TestFailure("not a header line: \(line)")
            }
        }
        var bodyLines = lines[(blank + 1)...]
        // mbox ends each message with a blank line before the next "From ".
        while bodyLines.last?.isEmpty == true { bodyLines.removeLast() }
        body = bodyLines.joined(separator: "\n") + "\n"
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

private struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
