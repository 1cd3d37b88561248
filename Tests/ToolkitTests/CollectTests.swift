import Foundation
import XCTest
@testable import MetricLine

/// mcollect's system collectors on a fixture /proc tree, and on this machine.
final class CollectTests: XCTestCase {
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/proc").path

    func testCollectorsReadProcAsNodeExporterNamesIt() throws {
        let run = try runTool("mcollect", ["--once", "--root", root, "--collect", "cpu,loadavg,meminfo,diskstats,netdev"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = Set(run.stdout.split(separator: "\n").map { $0.split(separator: " ").dropLast().joined(separator: " ") })
        let expected = [
            // /proc/stat counts ticks of 1/100 s.
            #"node_cpu_seconds_total{cpu="0",mode="user"} 1.5"#, #"node_cpu_seconds_total{cpu="0",mode="idle"} 25"#,
            #"node_cpu_seconds_total{cpu="1",mode="softirq"} 0.02"#, #"node_cpu_guest_seconds_total{cpu="0",mode="user"} 0.07"#,
            "node_boot_time_seconds 1700000000", "node_context_switches_total 67890", "node_intr_total 12345", "node_forks_total 4242",
            "node_procs_running 3", "node_procs_blocked 1",
            "node_load1 0.25", "node_load5 0.5", "node_load15 1.75",
            // kB times 1024; (anon) as _anon; page counts without _bytes.
            "node_memory_MemTotal_bytes 1048576", "node_memory_Active_anon_bytes 131072", "node_memory_HugePages_Total 4",
            // Sectors of 512 bytes, milliseconds as seconds.
            #"node_disk_read_bytes_total{device="sda"} 102400"#, #"node_disk_io_time_seconds_total{device="sda"} 0.06"#,
            #"node_disk_flush_requests_total{device="sda"} 5"#,
            #"node_network_receive_bytes_total{device="eth0"} 1000"#, #"node_network_transmit_bytes_total{device="eth0"} 2000"#,
            #"node_network_receive_multicast_total{device="eth0"} 1"#,
            #"node_scrape_collector_success{collector="cpu"} 1"#,
        ]
        for line in expected { XCTAssertTrue(lines.contains(line), "missing: \(line)") }
        XCTAssertFalse(run.stdout.contains("sda1"), "partitions are left out")
        XCTAssertFalse(run.stdout.contains("loop0"), "loop devices are left out")
        // Every line carries the same timestamp.
        XCTAssertEqual(Set(run.stdout.split(separator: "\n").map { $0.split(separator: " ").last! }).count, 1)
    }

    func testAFailingCollectorIsReportedAndTheOthersGoOn() throws {
        let run = try runTool("mcollect", ["--once", "--root", root + "/nowhere", "--collect", "loadavg,time"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("collector loadavg: "), run.stderr)
        XCTAssertTrue(run.stdout.contains(#"node_scrape_collector_success{collector="loadavg"} 0"#))
        XCTAssertTrue(run.stdout.contains("node_time_seconds "))
    }

    func testThisMachine() throws {
        let run = try runTool("mcollect", ["--once"])
        XCTAssertEqual(run.status, 0, run.stderr)
        for name in ["node_cpu_seconds_total{", "node_load1 ", "node_memory_MemTotal_bytes ", "node_filesystem_avail_bytes{", "node_network_receive_bytes_total{"] {
            XCTAssertTrue(run.stdout.contains(name), "missing \(name)")
        }
        XCTAssertFalse(run.stdout.contains(#"mountpoint="/proc""#), "pseudo filesystems are left out")
        let usage = try runTool("mcollect", ["--once", "--collect", "gpu"])
        XCTAssertEqual(usage.status, 2)
    }
}

/// mcollect beside the real node_exporter (Debian's prometheus-node-exporter) on 127.0.0.1:
/// every series both emit must agree: constants exactly, the rest within the drift of the
/// moment between the two readings.
final class NodeExporterComparisonTests: XCTestCase {
    private let exporter = "/usr/bin/prometheus-node-exporter"

    private func parse(_ text: String) -> [String: Double] {
        var result: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            guard case .sample(let sample)? = try? ExpositionParser.parse(String(line)) else { continue }
            result[ExpositionWriter.line(Sample(name: sample.name, labels: sample.labels, value: 0))] = sample.value
        }
        return result
    }

    /// Interfaces under a root of our own: directories are devices, a file beside them
    /// (bonding_masters, with the bonding module) is not; a property the kernel refuses is left out.
    func testNetworkClassReadsDevicesOnly() throws {
        let root = NSTemporaryDirectory() + "netclass-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let device = root + "/sys/class/net/bond0"
        try FileManager.default.createDirectory(atPath: device, withIntermediateDirectories: true)
        for (file, text) in [("operstate", "up"), ("mtu", "9000"), ("speed", "1000"), ("flags", "0x1403"), ("address", "02:00:00:00:00:01")] {
            try (text + "\n").write(toFile: device + "/" + file, atomically: true, encoding: .utf8)
        }
        try "bond0\n".write(toFile: root + "/sys/class/net/bonding_masters", atomically: true, encoding: .utf8)
        let run = try runTool("mcollect", ["--once", "--root", root, "--collect", "netclass", "--no-timestamps"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = Set(run.stdout.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("node_scrape_") })
        XCTAssertEqual(lines, ["node_network_up{device=\"bond0\"} 1", "node_network_mtu_bytes{device=\"bond0\"} 9000",
                               "node_network_speed_bytes{device=\"bond0\"} 125000000", "node_network_flags{device=\"bond0\"} 5123",
                               "node_network_info{address=\"02:00:00:00:00:01\",device=\"bond0\",operstate=\"up\"} 1"])
    }

    func testSeriesBothEmitAgree() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: exporter), "prometheus-node-exporter is not installed")
        let port = freeLoopbackPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: exporter)
        server.arguments = ["--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults", "--collector.cpu", "--collector.loadavg",
                            "--collector.meminfo", "--collector.filesystem", "--collector.diskstats", "--collector.netdev", "--collector.netclass", "--collector.stat",
                            "--collector.pressure", "--collector.filefd", "--collector.vmstat", "--collector.uname"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var scraped = ""
        for _ in 0..<50 {
            let curl = try runProgram("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(port)/metrics"])
            if curl.status == 0 { scraped = curl.stdout; break }
            usleep(100_000)
        }
        XCTAssertFalse(scraped.isEmpty, "node_exporter did not answer")
        let ours = parse(try runTool("mcollect", ["--once"]).stdout)
        let theirs = parse(scraped)
        let exact = ["node_memory_MemTotal_bytes", "node_memory_SwapTotal_bytes", "node_boot_time_seconds", "node_filesystem_size_bytes",
                     "node_filesystem_files", "node_filesystem_readonly", "node_scrape_collector_success", "node_filefd_maximum", "node_uname_info",
                     "node_network_up", "node_network_mtu_bytes", "node_network_info", "node_network_flags", "node_network_iface_id",
                     "node_network_protocol_type", "node_network_speed_bytes", "node_disk_info"]
        var compared = 0
        var differences: [String] = []
        let memoryTotal = ours["node_memory_MemTotal_bytes 0"] ?? 0
        for (series, value) in ours {
            guard let other = theirs[series], !series.hasPrefix("node_scrape_collector_duration") else { continue }
            compared += 1
            if exact.contains(where: { series.hasPrefix($0 + "{") || series.hasPrefix($0 + " ") }) {
                if value != other { differences.append("\(series): ours \(value), node_exporter \(other) (must be equal)") }
            } else {
                // Counters and gauges move between the two readings (small memory gauges such as
                // PageTables by several percent as processes come and go); a wrong unit or a wrong
                // field is far outside these bounds.
                // Open file handles move with every process that starts, node_exporter and curl included;
                // running and blocked processes and I/O in flight are counts of this instant, which a
                // loaded machine (a build beside the tests) moves by dozens between the readings.
                let instantCounts = ["node_procs_running", "node_procs_blocked", "node_disk_io_now"]
                let slack = series.hasPrefix("node_memory_") ? 0.01 * memoryTotal
                    : series.hasPrefix("node_filefd_allocated") ? 200
                    : instantCounts.contains(where: { series.hasPrefix($0 + "{") || series.hasPrefix($0 + " ") }) ? 64 : 2
                if abs(value - other) > 0.05 * max(abs(value), abs(other)) + slack {
                    differences.append("\(series): ours \(value), node_exporter \(other)")
                }
            }
        }
        XCTAssertEqual(differences, [])
        XCTAssertGreaterThan(compared, 100, "the two should share most series")
        // The link properties and the disks' and interfaces' info series, label for label (disks:
        // those both report; Debian's node_exporter 1.5 still counts zram devices, which later
        // versions leave out, as mcollect does).
        for family in ["node_network_up{", "node_network_mtu_bytes{", "node_network_info{", "node_network_flags{", "node_disk_info{"] {
            let mine = ours.keys.filter { $0.hasPrefix(family) }.sorted()
            let others = theirs.keys.filter { $0.hasPrefix(family) && !(family == "node_disk_info{" && $0.contains("device=\"zram")) }.sorted()
            XCTAssertFalse(mine.isEmpty, family)
            XCTAssertEqual(mine, others, family)
        }
        for name in ["node_memory_MemTotal_bytes {}", #"node_cpu_seconds_total{cpu="0",mode="idle"}"#, "node_load1 {}", "node_boot_time_seconds {}"] {
            let key = name.hasSuffix(" {}") ? String(name.dropLast(3)) + " 0" : name + " 0"
            XCTAssertNotNil(ours[key], "mcollect lacks \(name)")
            XCTAssertNotNil(theirs[key], "node_exporter lacks \(name)")
        }
        print("compared \(compared) series emitted by both mcollect and node_exporter")
    }
}

/// promtool's linter on mcollect's output with metadata.
final class PromtoolLintTests: XCTestCase {
    func testPromtoolFindsOnlyWhatItFindsInNodeExporter() throws {
        let promtool = "/usr/bin/promtool"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: promtool), "promtool is not installed")
        let collected = try runTool("mcollect", ["--once", "--metadata", "--no-timestamps"])
        XCTAssertEqual(collected.status, 0, collected.stderr)
        let lint = try runProgram(promtool, ["check", "metrics"], input: Data(collected.stdout.utf8))
        // node_exporter's memory fields keep the kernel's CamelCase, which promtool's style check
        // flags in node_exporter's own output too; anything else (a parse error, a missing HELP,
        // a wrong TYPE) is a real problem.
        let problems = (lint.stdout + lint.stderr).split(separator: "\n").filter {
            !($0.hasPrefix("node_memory_") && $0.hasSuffix("should be written in 'snake_case' not 'camelCase'"))
        }
        XCTAssertEqual(problems, [])
    }
}

final class TextfileTests: XCTestCase {
    /// With --interval, a series that stops (here: its textfile removed) is ended with a
    /// staleness marker at the next collection, once; --no-stale leaves it be.
    func testSeriesThatStopAreMarkedStale() throws {
        let directory = NSTemporaryDirectory() + "stale-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func run(_ extra: [String]) throws -> String {
            try "backup_done{host=\"a\"} 1\n".write(toFile: directory + "/backup.prom", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = toolDirectory.appendingPathComponent("mcollect")
            process.arguments = ["--interval", "200ms", "--collect", "time", "--textfile-dir", directory] + extra
            let output = PipeReader()
            process.standardOutput = output.pipe
            try process.run()
            XCTAssertTrue(output.wait { $0.contains("backup_done{host=\"a\"} 1 ") }, output.text)
            try FileManager.default.removeItem(atPath: directory + "/backup.prom")
            let ticks = { (text: String) in text.components(separatedBy: "node_time_seconds ").count }
            let before = ticks(output.text)
            XCTAssertTrue(output.wait { ticks($0) >= before + 3 }, output.text)
            process.terminate()
            process.waitUntilExit()
            return output.finish()
        }
        let marked = try run([])
        let stale = marked.split(separator: "\n").filter { $0.contains(" stale ") }
        XCTAssertEqual(stale.count, 2, marked)
        XCTAssertTrue(stale.contains { $0.hasPrefix("backup_done{host=\"a\"} stale ") }, marked)
        XCTAssertTrue(stale.contains { $0.hasPrefix("node_textfile_mtime_seconds{file=\"\(directory)/backup.prom\"} stale ") }, marked)
        // The marker comes after the last value, with the next collection's time.
        let lines = marked.split(separator: "\n")
        let last = try XCTUnwrap(lines.lastIndex { $0.hasPrefix("backup_done{host=\"a\"} 1 ") })
        let end = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("backup_done{host=\"a\"} stale ") })
        XCTAssertLessThan(last, end)
        XCTAssertLessThan(Int64(lines[last].split(separator: " ")[2])!, Int64(lines[end].split(separator: " ")[2])!)
        XCTAssertFalse(try run(["--no-stale"]).contains(" stale "))
    }

    func testTextfilesWithTTLAndErrors() throws {
        let directory = NSTemporaryDirectory() + "textfiles-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "# HELP backup_ok Last backup.\nbackup_ok{job=\"db\"} 1\n".write(toFile: directory + "/backup.prom", atomically: true, encoding: .utf8)
        try "bad line\n".write(toFile: directory + "/broken.prom", atomically: true, encoding: .utf8)
        try "stamped 1 1700000000000\n".write(toFile: directory + "/stamped.prom", atomically: true, encoding: .utf8)
        try "old_metric 1\n".write(toFile: directory + "/old.prom", atomically: true, encoding: .utf8)
        try "ignored 1\n".write(toFile: directory + "/notes.txt", atomically: true, encoding: .utf8)
        let threeHoursAgo = Date(timeIntervalSinceNow: -3 * 3600)
        try FileManager.default.setAttributes([.modificationDate: threeHoursAgo], ofItemAtPath: directory + "/old.prom")
        let run = try runTool("mcollect", ["--once", "--collect", "time", "--textfile-dir", directory, "--textfile-ttl", "2h"])
        XCTAssertTrue(run.stdout.contains("backup_ok{job=\"db\"} 1 "))
        XCTAssertTrue(run.stdout.contains("node_textfile_mtime_seconds{file=\"\(directory)/backup.prom\"}"))
        XCTAssertFalse(run.stdout.contains("old_metric"), "expired by the TTL")
        XCTAssertFalse(run.stdout.contains("ignored"), "only *.prom files")
        XCTAssertFalse(run.stdout.contains("stamped"), "a file with timestamps is refused whole")
        XCTAssertTrue(run.stdout.contains("node_textfile_scrape_error 1 "))
        XCTAssertTrue(run.stderr.contains("\(directory)/broken.prom:1: invalid value 'line'"), run.stderr)
        XCTAssertTrue(run.stderr.contains("\(directory)/stamped.prom:1: textfiles must not carry timestamps"), run.stderr)
    }
}

final class CommandProbeTests: XCTestCase {
    func testCommandsReportDurationExitCodeAndTheirSamples() throws {
        let run = try runTool("mcollect", ["--once", "--collect", "time", "--exec", "echo 'queue_depth{queue=\"mail\"} 7'; echo oops; exit 3",
                                           "--exec", "sleep 5", "--exec-timeout", "300ms"])
        XCTAssertTrue(run.stdout.contains("queue_depth{queue=\"mail\"} 7 "), run.stdout)
        XCTAssertTrue(run.stdout.contains(#"mcollect_exec_exit_code{command="echo 'queue_depth{queue=\"mail\"} 7'; echo oops; exit 3"} 3 "#), run.stdout)
        XCTAssertTrue(run.stdout.contains(#"mcollect_exec_success{command="sleep 5"} 0 "#))
        XCTAssertTrue(run.stderr.contains("<exec sleep 5>: killed after 300ms"), run.stderr)
        XCTAssertTrue(run.stderr.contains(":2: missing value"), "the bad line is named: \(run.stderr)")
        let durations = run.stdout.split(separator: "\n").filter { $0.hasPrefix(#"mcollect_exec_duration_seconds{command="sleep 5"}"#) }
        let fields = durations.first?.split(separator: " ") ?? []
        let seconds = fields.count >= 2 ? Double(fields[fields.count - 2]) ?? 0 : 0
        // The deadline is kept in whole milliseconds of the wall clock, so the kill may come up to
        // a millisecond before 300 ms of the duration's own (monotonic) clock.
        XCTAssertTrue(seconds >= 0.298 && seconds < 3, "killed at the timeout, not after 5 s: \(seconds)")
    }
}

/// Scrapes of a real HTTP server on 127.0.0.1 (Python's http.server serving files).
final class ScrapeTests: XCTestCase {
    /// OpenMetrics pages (served with their content type): one whole, one cut short before
    /// `# EOF`, which is refused as a whole; and labels of the page that the target's replace.
    func testOpenMetricsPagesAndExportedLabels() throws {
        let directory = NSTemporaryDirectory() + "scrape-om-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let page = "# TYPE jobs counter\njobs_total{job=\"batch\",exported_job=\"older\",instance=\"\"} 3\n"
        try (page + "# EOF\n").write(toFile: directory + "/whole", atomically: true, encoding: .utf8)
        try page.write(toFile: directory + "/cut", atomically: true, encoding: .utf8)
        let (server, port) = try startPythonServer("""
        import http.server, sys
        class Handler(http.server.SimpleHTTPRequestHandler):
            def guess_type(self, path): return 'application/openmetrics-text; version=1.0.0; charset=utf-8'
            def log_message(self, *arguments): pass
        server = http.server.HTTPServer(('127.0.0.1', 0), lambda *a: Handler(*a, directory=sys.argv[1]))
        open('PORT_FILE', 'w').write(str(server.server_address[1]))
        server.serve_forever()
        """, name: "openmetrics", directory: directory)
        defer { server.terminate(); server.waitUntilExit() }
        let whole = try runTool("mcollect", ["--once", "--collect", "time", "--scrape", "http://127.0.0.1:\(port)/whole"])
        // job is the target's; the page's job would become exported_job, but the page has one, so
        // it becomes exported_exported_job (as Prometheus does); an empty instance is no label.
        XCTAssertTrue(whole.stdout.contains(
            "jobs_total{exported_exported_job=\"batch\",exported_job=\"older\",instance=\"127.0.0.1:\(port)\",job=\"mcollect\"} 3 "), whole.stdout + whole.stderr)
        XCTAssertTrue(whole.stdout.contains("up{instance=\"127.0.0.1:\(port)\",job=\"mcollect\"} 1 "), whole.stdout)
        // --honor-labels: the page's job stays, the target fills in what the page lacks.
        let honored = try runTool("mcollect", ["--once", "--collect", "time", "--honor-labels", "--scrape", "http://127.0.0.1:\(port)/whole"])
        XCTAssertTrue(honored.stdout.contains("jobs_total{exported_job=\"older\",instance=\"127.0.0.1:\(port)\",job=\"batch\"} 3 "), honored.stdout)
        XCTAssertTrue(honored.stdout.contains("up{instance=\"127.0.0.1:\(port)\",job=\"mcollect\"} 1 "), "up is the target's own")
        let cut = try runTool("mcollect", ["--once", "--collect", "time", "--scrape", "http://127.0.0.1:\(port)/cut"])
        XCTAssertTrue(cut.stdout.contains("up{instance=\"127.0.0.1:\(port)\",job=\"mcollect\"} 0 "), cut.stdout)
        XCTAssertFalse(cut.stdout.contains("jobs_total"), "nothing of a page cut short is kept")
        XCTAssertTrue(cut.stderr.contains("/cut: missing '# EOF'"), cut.stderr)
    }

    func testScrapesAddJobInstanceAndUp() throws {
        let directory = NSTemporaryDirectory() + "scrape-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "# TYPE jobs_total counter\njobs_total{queue=\"a\",instance=\"theirs\"} 7\n".write(toFile: directory + "/metrics", atomically: true, encoding: .utf8)
        try "jobs_total{queue=\"a\" 7\n".write(toFile: directory + "/broken", atomically: true, encoding: .utf8)
        let port = freeLoopbackPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory, String(port)]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        var run = ToolRun(status: 1, stdout: "", stderr: "")
        for _ in 0..<50 {
            run = try runTool("mcollect", ["--once", "--collect", "time", "--job", "app", "--scrape", "http://127.0.0.1:\(port)/metrics"])
            if run.stdout.contains("up{instance=\"127.0.0.1:\(port)\",job=\"app\"} 1 ") { break }
            usleep(100_000)
        }
        XCTAssertTrue(run.stdout.contains("jobs_total{exported_instance=\"theirs\",instance=\"127.0.0.1:\(port)\",job=\"app\",queue=\"a\"} 7 "), run.stdout)
        XCTAssertTrue(run.stdout.contains("up{instance=\"127.0.0.1:\(port)\",job=\"app\"} 1 "))
        XCTAssertTrue(run.stdout.contains("scrape_samples_scraped{instance=\"127.0.0.1:\(port)\",job=\"app\"} 1 "))
        // A page that is not there, and one that does not parse: up is 0 and the reason is named.
        let missing = try runTool("mcollect", ["--once", "--collect", "time", "--scrape", "http://127.0.0.1:\(port)/nothing"])
        XCTAssertTrue(missing.stdout.contains("up{instance=\"127.0.0.1:\(port)\",job=\"mcollect\"} 0 "))
        XCTAssertTrue(missing.stderr.contains("HTTP status 404"), missing.stderr)
        let broken = try runTool("mcollect", ["--once", "--collect", "time", "--scrape", "http://127.0.0.1:\(port)/broken"])
        XCTAssertTrue(broken.stdout.contains(" 0 ") && broken.stdout.contains("up{"), broken.stdout)
        XCTAssertTrue(broken.stderr.contains("/broken:1: "), broken.stderr)
        XCTAssertFalse(broken.stdout.contains("jobs_total"), "nothing of a broken scrape is kept")
        // Probes: the same server answers; a closed port does not.
        let probes = try runTool("mcollect", ["--once", "--collect", "time", "--probe-tcp", "127.0.0.1:\(port)", "--probe-tcp", "127.0.0.1:1",
                                              "--probe-http", "http://127.0.0.1:\(port)/metrics", "--probe-http", "http://127.0.0.1:\(port)/nothing"])
        XCTAssertTrue(probes.stdout.contains("probe_success{target=\"127.0.0.1:\(port)\"} 1 "), probes.stdout)
        XCTAssertTrue(probes.stdout.contains("probe_success{target=\"127.0.0.1:1\"} 0 "))
        XCTAssertTrue(probes.stdout.contains("probe_http_status_code{target=\"http://127.0.0.1:\(port)/metrics\"} 200 "))
        XCTAssertTrue(probes.stdout.contains("probe_success{target=\"http://127.0.0.1:\(port)/nothing\"} 0 "))
        XCTAssertTrue(probes.stdout.contains("probe_http_status_code{target=\"http://127.0.0.1:\(port)/nothing\"} 404 "))
    }
}

/// Targets from file_sd files (JSON and YAML), their labels on the samples, and a file that
/// changes while `--interval` runs.
final class FileSDTests: XCTestCase {
    func testTargetsAndLabelsFromFileSDFiles() throws {
        let directory = NSTemporaryDirectory() + "filesd-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/web", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "requests_total{code=\"200\",env=\"theirs\"} 5\n".write(toFile: directory + "/web/metrics", atomically: true, encoding: .utf8)
        try "other_total 1\n".write(toFile: directory + "/web/custom", atomically: true, encoding: .utf8)
        let port = freeLoopbackPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory + "/web", String(port)]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        let json = directory + "/targets.json"
        try #"[{"targets": ["127.0.0.1:\#(port)"], "labels": {"env": "test", "job": "web"}}]"#.write(toFile: json, atomically: true, encoding: .utf8)
        var run = ToolRun(status: 1, stdout: "", stderr: "")
        for _ in 0..<50 {
            run = try runTool("mcollect", ["--once", "--collect", "time", "--file-sd", json])
            if run.stdout.contains("up{env=\"test\",instance=\"127.0.0.1:\(port)\",job=\"web\"} 1 ") { break }
            usleep(100_000)
        }
        // The target's env wins; the page's own is kept as exported_env, as Prometheus keeps it.
        XCTAssertTrue(run.stdout.contains("requests_total{code=\"200\",env=\"test\",exported_env=\"theirs\",instance=\"127.0.0.1:\(port)\",job=\"web\"} 5 "), run.stdout)

        let yaml = directory + "/targets.yml"
        try "- targets: ['127.0.0.1:\(port)']\n  labels:\n    __metrics_path__: /custom\n    team: db\n".write(toFile: yaml, atomically: true, encoding: .utf8)
        let fromYAML = try runTool("mcollect", ["--once", "--collect", "time", "--job", "app", "--file-sd", yaml])
        XCTAssertTrue(fromYAML.stdout.contains("other_total{instance=\"127.0.0.1:\(port)\",job=\"app\",team=\"db\"} 1 "), fromYAML.stdout)

        try "- targets: ['127.0.0.1:\(port)'\n".write(toFile: yaml, atomically: true, encoding: .utf8)
        let broken = try runTool("mcollect", ["--once", "--collect", "time", "--file-sd", yaml])
        XCTAssertTrue(broken.stderr.contains("targets.yml:1:"), broken.stderr)

        // A file written while --interval runs is picked up at a following tick.
        let later = directory + "/later.json"
        try "[]".write(toFile: later, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = toolDirectory.appendingPathComponent("mcollect")
        process.arguments = ["--interval", "300ms", "--collect", "time", "--file-sd", later]
        let output = PipeReader()
        process.standardOutput = output.pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let ticks = { (text: String) in text.components(separatedBy: "node_time_seconds ").count - 1 }
        XCTAssertTrue(output.wait { ticks($0) >= 1 }, "mcollect printed no tick")
        try #"[{"targets": ["127.0.0.1:\#(port)"], "labels": {"stage": "new"}}]"#.write(toFile: later, atomically: true, encoding: .utf8)
        let newTarget = "up{instance=\"127.0.0.1:\(port)\",job=\"mcollect\",stage=\"new\"} 1 "
        XCTAssertTrue(output.wait { $0.contains(newTarget) }, output.text)
        process.terminate()
        process.waitUntilExit()
        _ = output.finish()
        XCTAssertEqual(process.terminationStatus, 0)

        // SIGHUP reads the file again even when its modification time did not change.
        let hup = directory + "/hup.json"
        try "[]".write(toFile: hup, atomically: false, encoding: .utf8)
        XCTAssertEqual(try runProgram("/usr/bin/touch", ["-r", hup, directory + "/stamp"]).status, 0)
        let listening = Process()
        listening.executableURL = toolDirectory.appendingPathComponent("mcollect")
        listening.arguments = ["--interval", "300ms", "--collect", "time", "--file-sd", hup]
        let hupOutput = PipeReader()
        listening.standardOutput = hupOutput.pipe
        listening.standardError = FileHandle.nullDevice
        try listening.run()
        // A tick has printed, so the file was read (targets are refreshed before each tick's output).
        XCTAssertTrue(hupOutput.wait { ticks($0) >= 1 }, "mcollect printed no tick")
        // Stopped while the file changes and gets its old time back, so no tick sees the new time.
        kill(listening.processIdentifier, SIGSTOP)
        try #"[{"targets": ["127.0.0.1:\#(port)"], "labels": {"stage": "hup"}}]"#.write(toFile: hup, atomically: false, encoding: .utf8)
        XCTAssertEqual(try runProgram("/usr/bin/touch", ["-r", directory + "/stamp", hup]).status, 0)
        let ticksBefore = ticks(hupOutput.text)
        kill(listening.processIdentifier, SIGCONT)
        XCTAssertTrue(hupOutput.wait { ticks($0) >= ticksBefore + 2 }, "mcollect stopped ticking")
        XCTAssertFalse(hupOutput.text.contains("stage=\"hup\""), "an unchanged modification time is not read again by itself")
        kill(listening.processIdentifier, SIGHUP)
        let hupTarget = "up{instance=\"127.0.0.1:\(port)\",job=\"mcollect\",stage=\"hup\"} 1 "
        XCTAssertTrue(hupOutput.wait { $0.contains(hupTarget) }, hupOutput.text)
        listening.terminate()
        listening.waitUntilExit()
        _ = hupOutput.finish()
        XCTAssertEqual(listening.terminationStatus, 0)
    }
}
