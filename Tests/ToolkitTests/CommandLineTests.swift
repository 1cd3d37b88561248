import Foundation
import XCTest
@testable import MetricLine

/// The conventions every tool shares, checked on the real binaries.
final class CommandLineTests: XCTestCase {
    private let tools = ["mcollect", "mstore", "mquery", "malert", "mnotify"]

    func testEveryToolAnswersHelpAndVersion() throws {
        for tool in tools {
            let help = try runTool(tool, ["--help"])
            XCTAssertEqual(help.status, 0, tool)
            XCTAssertTrue(help.stdout.hasPrefix("\(tool) - "), tool)
            XCTAssertTrue(help.stdout.contains("--version"), tool)
            let version = try runTool(tool, ["--version"])
            XCTAssertEqual(version.status, 0)
            XCTAssertEqual(version.stdout, "\(tool) \(Toolkit.version)\n")
            let wrong = try runTool(tool, ["--no-such-option"])
            XCTAssertEqual(wrong.status, 2, tool)
            XCTAssertEqual(wrong.stdout, "")
            XCTAssertTrue(wrong.stderr.hasPrefix("\(tool): unknown option '--no-such-option'"), wrong.stderr)
        }
    }

    func testBadLinesAreReportedSkippedAndCounted() throws {
        let input = "up{job=\"a\"} 1 1000\nup{job=\"b\" 2 1000\nup{job=\"c\"} 3 1000\nup{job=\"d\"} three 1000\n"
        let run = try runTool("mcollect", ["-i", "-", "--no-timestamp-fill"], input: Data(input.utf8))
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stdout, "up{job=\"a\"} 1 1000\nup{job=\"c\"} 3 1000\n")
        XCTAssertEqual(run.stderr, """
            mcollect: <stdin>:2: expected ',' or '}' after label value (column 12): up{job="b" 2 1000
            mcollect: <stdin>:4: invalid value 'three' (column 13): up{job="d"} three 1000
            mcollect: skipped 2 bad lines of 4

            """)
    }

    func testStrictStopsAtTheFirstBadLineKeepingWhatCameBefore() throws {
        let input = "a 1 1\nb 2 2\nbad\nc 3 3\n"
        let run = try runTool("mcollect", ["-i", "-", "--strict"], input: Data(input.utf8))
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stdout, "a 1 1\nb 2 2\n")
        XCTAssertTrue(run.stderr.hasPrefix("mcollect: <stdin>:3: missing value"), run.stderr)
        XCTAssertTrue(run.stderr.contains("stopped at the first bad line (--strict)"))
    }

    func testNamesTheFileAndStampsMissingTimestamps() throws {
        let path = NSTemporaryDirectory() + "mcollect-input-\(UUID().uuidString).prom"
        try Data("x 1\n# TYPE x gauge\ny{a=\"1\"} 2 5\nz\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let before = Clock.nowMilliseconds()
        let run = try runTool("mcollect", ["--input", path])
        let after = Clock.nowMilliseconds()
        let lines = run.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        let stamp = Int64(lines[0].split(separator: " ")[2])!
        XCTAssertTrue(before - 1000 <= stamp && stamp <= after, "\(stamp)")
        XCTAssertEqual(lines[1], "# TYPE x gauge")
        XCTAssertEqual(lines[2], "y{a=\"1\"} 2 5")
        XCTAssertEqual(run.stderr, "mcollect: \(path):4: missing value (column 2): z\nmcollect: skipped 1 bad line of 4\n")
        let missing = try runTool("mcollect", ["-i", "/nonexistent/file.prom"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "mcollect: /nonexistent/file.prom: No such file or directory\n")
    }

    func testConvertsBetweenFormats() throws {
        let input = #"cpu,host=web\ 01 usage_user=12.5,idle=3i 1712345678000000000"# + "\n"
        let run = try runTool("mcollect", ["-i", "-", "--input-format", "influx", "--output-format", "openmetrics"], input: Data(input.utf8))
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "cpu_usage_user{host=\"web 01\"} 12.5 1712345678\ncpu_idle{host=\"web 01\"} 3 1712345678\n# EOF\n")
        let lossy = try runTool("mcollect", ["-i", "-", "--output-format", "graphite"], input: Data("a stale 1000\nb 1 2000\n".utf8))
        XCTAssertEqual(lossy.status, 1)
        XCTAssertEqual(lossy.stdout, "b 1 2\n")
        XCTAssertTrue(lossy.stderr.contains("left out 1 sample that graphite cannot carry"), lossy.stderr)
        let unknown = try runTool("mcollect", ["-i", "-", "--output-format", "xml"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("unknown format 'xml'"))
    }

    func testAClosedPipeEndsQuietly() throws {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/bash")
        let tool = toolDirectory.appendingPathComponent("mcollect").path
        let errors = NSTemporaryDirectory() + "mcollect-epipe-\(UUID().uuidString.prefix(8)).err"
        defer { try? FileManager.default.removeItem(atPath: errors) }
        shell.arguments = ["-c", "set -o pipefail; yes 'up{job=\"x\"} 1 5' | head -n 300000 | '\(tool)' -i - 2>'\(errors)' | head -n 1 >/dev/null; echo ${PIPESTATUS[2]}"]
        let output = Pipe()
        shell.standardOutput = output
        try shell.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        shell.waitUntilExit()
        XCTAssertEqual(printed, "0\n", "mcollect's exit status when its reader went away")
        XCTAssertEqual(try String(contentsOfFile: errors, encoding: .utf8), "")
    }

    func testSIGTERMFlushesWhatWasRead() throws {
        let process = Process()
        process.executableURL = toolDirectory.appendingPathComponent("mcollect")
        process.arguments = ["-i", "-"]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data("a 1 1\nb 2 2\n".utf8))
        // Once the pipe is empty mcollect has read the lines, and they sit in its output buffer.
        var waiting: Int32 = 1
        for _ in 0..<500 where waiting > 0 {
            XCTAssertEqual(ioctl(stdin.fileHandleForWriting.fileDescriptor, UInt(FIONREAD), &waiting), 0)
            if waiting > 0 { usleep(20_000) }
        }
        XCTAssertEqual(waiting, 0, "mcollect did not read its input within 10 s")
        process.terminate()
        let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(output, "a 1 1\nb 2 2\n")
        XCTAssertEqual(process.terminationStatus, 128 + SIGTERM)
        try? stdin.fileHandleForWriting.close()
    }

    func testArgumentParsing() throws {
        let spec = CommandSpec(tool: "t", summary: "s", usage: [], options: [
            OptionSpec(["-s", "--store"], argument: "DIR", help: ""), OptionSpec(["--flag"], help: ""),
        ], examples: [])
        let parsed = try spec.parse(["-s", "a", "--store=b", "--flag", "x", "-1h", "--", "--flag"])
        XCTAssertEqual(parsed.values("--store"), ["a", "b"])
        XCTAssertEqual(parsed.value("--store"), "b")
        XCTAssertTrue(parsed.has("--flag"))
        XCTAssertEqual(parsed.positionals, ["x", "-1h", "--flag"])
        XCTAssertThrowsError(try spec.parse(["--store"]))
        XCTAssertThrowsError(try spec.parse(["--flag=1"]))
        XCTAssertThrowsError(try spec.parse(["--other"]))
    }

    func testExcerptsShowBadBytes() {
        let bytes: [UInt8] = Array("ok ".utf8) + [0x00, 0xFF] + Array("ü".utf8) + [0x09]
        XCTAssertEqual(withBuffer(bytes) { Diagnostics.excerpt($0) }, "ok \\x00\\xffü\\x09")
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 200)
        XCTAssertEqual(withBuffer(long) { Diagnostics.excerpt($0) }, String(repeating: "a", count: 80) + "… (200 bytes)")
    }
}

final class ProgressTests: XCTestCase {
    func testALineOnATerminalOnlyAndNotTooOften() {
        let written = Locked<[String]>([])
        let progress = Progress(tool: "mstore", label: "samples", enabled: true, delay: 0) { written.set(written.get() + [$0]) }
        progress.update(count: 1_500_000, done: 25, total: 100)
        progress.update(count: 1_600_000, done: 26, total: 100)
        XCTAssertEqual(written.get().count, 1, "redrawn at most twice a second")
        XCTAssertTrue(written.get()[0].hasPrefix("\rmstore: 1.5M samples, "), written.get()[0])
        XCTAssertTrue(written.get()[0].contains(", 25% (0s)\u{1B}[K"), written.get()[0])
        progress.finish()
        XCTAssertEqual(written.get().last, "\r\u{1B}[K", "erased at the end")

        let quiet = Progress(tool: "mstore", label: "samples", enabled: false, delay: 0) { written.set(written.get() + [$0]) }
        quiet.update(count: 1, done: 1, total: 2)
        quiet.finish()
        let late = Progress(tool: "mstore", label: "samples", enabled: true) { written.set(written.get() + [$0]) }
        late.update(count: 1)
        late.finish()
        XCTAssertEqual(written.get().count, 2, "nothing when stderr is not a terminal, nor in the first two seconds")
        XCTAssertEqual(Progress.line(tool: "mstore compact", label: "days merged", count: 3, seconds: 6, done: 3, total: 12),
                       "mstore compact: 3 days merged, 0.5/s, 25% (6s)")
    }
}
