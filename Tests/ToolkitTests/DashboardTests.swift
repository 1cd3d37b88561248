import Foundation
import XCTest
@testable import MetricLine

/// scripts/dashboard with the host-overview panel file over a store of host metrics, rendered by
/// the real headless Chromium: the page is written whole, every panel draws, and firing alerts show.
final class DashboardTests: XCTestCase {
    private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    private let start: Int64 = 1_704_067_200_000

    /// Ten minutes of what mcollect writes for a two-CPU host, a sample every 15 s, with every
    /// metric the host panels read moving.
    private func hostSamples() -> String {
        var lines = ""
        var counters: [String: Double] = [:]
        func counter(_ series: String, _ increase: Double, _ time: Int64) {
            counters[series, default: 1000] += increase
            lines += "\(series) \(counters[series]!) \(time)\n"
        }
        for step in 0...40 {
            let time = start + Int64(step) * 15_000
            let wave = sin(Double(step) / 6)
            for cpu in 0..<2 {
                let user = 0.3 + 0.2 * wave + 0.1 * Double(cpu), system = 0.1, iowait = 0.05
                counter("node_cpu_seconds_total{cpu=\"\(cpu)\",mode=\"user\"}", 15 * user, time)
                counter("node_cpu_seconds_total{cpu=\"\(cpu)\",mode=\"system\"}", 15 * system, time)
                counter("node_cpu_seconds_total{cpu=\"\(cpu)\",mode=\"iowait\"}", 15 * iowait, time)
                counter("node_cpu_seconds_total{cpu=\"\(cpu)\",mode=\"idle\"}", 15 * (1 - user - system - iowait), time)
            }
            for (name, level) in [("node_load1", 1.2), ("node_load5", 1.0), ("node_load15", 0.8)] {
                lines += "\(name) \(level + 0.3 * wave) \(time)\n"
            }
            lines += "node_memory_MemTotal_bytes 8589934592 \(time)\n"
            lines += "node_memory_MemAvailable_bytes \(5_000_000_000 + Int(wave * 500_000_000)) \(time)\n"
            let filesystem = "{device=\"/dev/sda1\",fstype=\"ext4\",mountpoint=\"/\"}"
            lines += "node_filesystem_size_bytes\(filesystem) 100000000000 \(time)\n"
            lines += "node_filesystem_avail_bytes\(filesystem) \(40_000_000_000 - step * 100_000_000) \(time)\n"
            counter("node_network_receive_bytes_total{device=\"eth0\"}", 15 * (200_000 + 100_000 * wave), time)
            counter("node_network_transmit_bytes_total{device=\"eth0\"}", 15 * 50_000, time)
            counter("node_disk_io_time_seconds_total{device=\"sda\"}", 15 * (0.2 + 0.1 * wave), time)
            counter("node_pressure_cpu_waiting_seconds_total", 15 * (0.05 + 0.04 * wave), time)
        }
        return lines
    }

    func testHostOverviewRendersInChromium() throws {
        let chromium = "/usr/bin/chromium"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: chromium), "chromium is not installed")
        let directory = NSTemporaryDirectory() + "dashboard-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = directory + "/store"
        let appended = try runTool("mstore", [store], input: Data(hostSamples().utf8))
        XCTAssertEqual(appended.status, 0, appended.stderr)
        let end = (start + 600_000) / 1000
        // A rule that fires, so the page has an alert to show.
        try """
        groups:
          - name: host
            rules:
              - alert: HighLoad
                expr: node_load1 > 0.5
                labels:
                  severity: page
                annotations:
                  summary: "Load is {{ $value }} <for real> & more"
        """.write(toFile: directory + "/rules.yml", atomically: true, encoding: .utf8)
        let alerted = try runTool("malert", ["-s", store, directory + "/rules.yml", "--at", String(end)])
        XCTAssertEqual(alerted.status, 0, alerted.stderr)

        let page = directory + "/html/index.html"
        let panels = packageRoot.appendingPathComponent("scripts/panels/host.panels").path
        let written = try runProgram("/usr/bin/env", ["MTOOLS_BIN=" + toolDirectory.path, packageRoot.appendingPathComponent("scripts/dashboard").path,
                                                      "-s", store, "-o", page, "--range", "10m", "--to", String(end), panels])
        XCTAssertEqual(written.status, 0, written.stderr)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        let panelCount = try String(contentsOfFile: panels, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("panel:") }.count
        XCTAssertEqual(html.components(separatedBy: "<figure class=\"panel\">").count - 1, panelCount, "every panel is an inline SVG")
        XCTAssertFalse(html.contains("no data"), "every panel found its series")
        XCTAssertTrue(html.contains("<tr class=\"firing\"><td>firing</td>") && html.contains("<td>HighLoad</td>"), "the firing alert is listed")
        XCTAssertTrue(html.contains("<td>{severity=&quot;page&quot;}</td>") && html.contains("&lt;for real&gt; &amp; more</td>"), "and escaped")
        XCTAssertTrue(html.contains("2024-01-01 00:00:00 to 2024-01-01 00:10:00"), "the header names the range")
        XCTAssertFalse(html.contains("<script"), "a static page")

        // Rendered by Chromium: not blank, and every panel's frame holds drawn colour.
        let png = directory + "/page.png"
        let shot = try runProgram(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
                                             "--window-size=1200,2200", "--screenshot=" + png, "file://" + page])
        XCTAssertTrue(FileManager.default.fileExists(atPath: png), shot.stderr)
        // KEEP_DASHBOARD=DIR keeps the page and its picture for a person to look at.
        if let keep = ProcessInfo.processInfo.environment["KEEP_DASHBOARD"] {
            for file in [png, page] { _ = try? FileManager.default.copyItem(atPath: file, toPath: keep + "/" + (file as NSString).lastPathComponent) }
        }
        let image = try PNGImage(contentsOf: png)
        XCTAssertEqual(image.width, 1200)
        let background = image.pixels.filter { $0 == (244, 245, 247) || $0 == (255, 255, 255) }.count
        XCTAssertLessThan(Double(background) / Double(image.pixels.count), 0.95, "the page is not blank")
        let frames = image.frames(color: (170, 180, 190))
        XCTAssertEqual(frames.count, panelCount, "one frame per panel, all on the page: \(frames)")
        for frame in frames {
            var coloured = 0
            for y in (frame.top + 3)..<(frame.bottom - 2) {
                for x in (frame.left + 3)..<(frame.right - 2) {
                    let (r, g, b) = image.pixel(x, y)
                    if max(r, g, b) - min(r, g, b) > 40 { coloured += 1 }
                }
            }
            XCTAssertGreaterThan(coloured, 200, "the panel at \(frame) drew its chart")
        }
    }

    func testPanelFileMistakesNameTheLine() throws {
        let directory = NSTemporaryDirectory() + "dashboard-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = packageRoot.appendingPathComponent("scripts/dashboard").path
        try "title: x\npanel: Load\nquery: node_load1\ncolour: red\n".write(toFile: directory + "/bad.panels", atomically: true, encoding: .utf8)
        let bad = try runProgram("/usr/bin/env", ["MTOOLS_BIN=" + toolDirectory.path, script, "-s", directory, "-o", directory + "/out.html", directory + "/bad.panels"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("bad.panels:4: unknown key 'colour'"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/out.html"), "nothing is written")
        try "panel: Load\nquery: node_load1\nsize: 10;x\n".write(toFile: directory + "/size.panels", atomically: true, encoding: .utf8)
        let size = try runProgram("/usr/bin/env", ["MTOOLS_BIN=" + toolDirectory.path, script, "-s", directory, directory + "/size.panels"])
        XCTAssertTrue(size.status == 2 && size.stderr.contains("size.panels:3: size wants WIDTHxHEIGHT"), size.stderr)
        // A panel whose query fails is shown as its error; the others still draw, and the status says so.
        let samples = "node_load1 1 1704067200000\nnode_load1 2 1704067260000\n"
        XCTAssertEqual(try runTool("mstore", [directory + "/store"], input: Data(samples.utf8)).status, 0)
        try "panel: Load\nquery: node_load1\npanel: Broken\nquery: sum(node_load1\n".write(toFile: directory + "/mixed.panels", atomically: true, encoding: .utf8)
        let mixed = try runProgram("/usr/bin/env", ["MTOOLS_BIN=" + toolDirectory.path, script, "-s", directory + "/store", "-o", directory + "/out.html",
                                                    "--to", "1704067260", "--range", "5m", directory + "/mixed.panels"])
        XCTAssertEqual(mixed.status, 1)
        XCTAssertTrue(mixed.stderr.contains("panel 'Broken': mquery: parse error"), mixed.stderr)
        let html = try String(contentsOfFile: directory + "/out.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<figure class=\"panel\">") && html.contains("<figure class=\"panel failed\""), html)
    }
}

/// An 8-bit RGB or RGBA PNG, decoded: what Chromium writes for a screenshot.
struct PNGImage {
    var width = 0
    var height = 0
    /// Red, green and blue of each pixel, row by row.
    var pixels: [(UInt8, UInt8, UInt8)] = []

    struct DecodeError: Error { var reason: String }

    init(contentsOf path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw DecodeError(reason: "not a PNG") }
        func integer(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        var position = 8, channels = 0
        var compressed: [UInt8] = []
        while position + 8 <= bytes.count {
            let length = integer(position), type = String(decoding: bytes[position + 4..<position + 8], as: UTF8.self)
            let data = bytes[position + 8..<position + 8 + length]
            switch type {
            case "IHDR":
                width = integer(position + 8)
                height = integer(position + 12)
                guard data[data.startIndex + 8] == 8, data[data.startIndex + 12] == 0 else { throw DecodeError(reason: "not 8-bit, or interlaced") }
                switch data[data.startIndex + 9] {
                case 2: channels = 3
                case 6: channels = 4
                default: throw DecodeError(reason: "colour type \(data[data.startIndex + 9])")
                }
            case "IDAT": compressed += data
            default: break
            }
            position += 12 + length
        }
        // zlib: two header bytes, then DEFLATE.
        let raw = try Inflate.inflate(Array(compressed.dropFirst(2)), limit: 1 << 30)
        let stride = width * channels
        var previous = [UInt8](repeating: 0, count: stride)
        pixels.reserveCapacity(width * height)
        for row in 0..<height {
            let base = row * (stride + 1)
            let filter = raw[base]
            var line = Array(raw[base + 1..<base + 1 + stride])
            for index in 0..<stride {
                let left = index >= channels ? Int(line[index - channels]) : 0
                let up = Int(previous[index]), upLeft = index >= channels ? Int(previous[index - channels]) : 0
                let predictor: Int
                switch filter {
                case 1: predictor = left
                case 2: predictor = up
                case 3: predictor = (left + up) / 2
                case 4:
                    let estimate = left + up - upLeft
                    let (a, b, c) = (abs(estimate - left), abs(estimate - up), abs(estimate - upLeft))
                    predictor = a <= b && a <= c ? left : (b <= c ? up : upLeft)
                default: predictor = 0
                }
                line[index] = UInt8(truncatingIfNeeded: Int(line[index]) + predictor)
            }
            for x in 0..<width { pixels.append((line[x * channels], line[x * channels + 1], line[x * channels + 2])) }
            previous = line
        }
    }

    func pixel(_ x: Int, _ y: Int) -> (Int, Int, Int) {
        let value = pixels[y * width + x]
        return (Int(value.0), Int(value.1), Int(value.2))
    }

    /// Rectangles outlined in `color` (within 3 per channel): each found from its top edge, a
    /// horizontal run at least 100 pixels long, down its left side to the bottom edge.
    func frames(color: (Int, Int, Int)) -> [(left: Int, top: Int, right: Int, bottom: Int)] {
        func matches(_ x: Int, _ y: Int) -> Bool {
            let (r, g, b) = pixel(x, y)
            return abs(r - color.0) <= 3 && abs(g - color.1) <= 3 && abs(b - color.2) <= 3
        }
        var found: [(left: Int, top: Int, right: Int, bottom: Int)] = []
        for y in 0..<height {
            var x = 0
            while x < width {
                guard matches(x, y) else { x += 1; continue }
                var end = x
                while end + 1 < width && matches(end + 1, y) { end += 1 }
                // A top edge: a long run with no run of the same colour just above it.
                if end - x >= 100 && (y == 0 || !matches(x + 50, y - 1)) && !found.contains(where: { $0.left == x && $0.bottom >= y }) {
                    var bottom = y + 1
                    while bottom < height && matches(x, bottom) { bottom += 1 }
                    if bottom - y > 50 { found.append((x, y, end, bottom - 1)) }
                }
                x = end + 1
            }
        }
        return found
    }
}
