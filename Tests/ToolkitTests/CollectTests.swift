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
