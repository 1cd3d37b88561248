import Foundation
import XCTest
@testable import MetricLine

/// `kill -9` at any moment of ingest: reopening recovers every whole record, and what reads back
/// is exactly a prefix of what was sent.
final class StoreCrashTests: XCTestCase {
    private let seriesCount = 30
    private let steps = 5_000
    private let base: Int64 = 1_704_067_200_000

    /// Sample number `index` of the stream: steps in time order, series in order within a step.
    private func line(_ index: Int) -> String {
        let (step, series) = index.quotientAndRemainder(dividingBy: seriesCount)
        return "m{s=\"\(series)\"} \(FloatFormatter.string(Double(index) / 4)) \(base + Int64(step) * 15_000)\n"
    }

    func testAHundredKillsDuringIngest() throws {
        signal(SIGPIPE, SIG_IGN)
        let directory = NSTemporaryDirectory() + "mstore-kill-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let total = seriesCount * steps  // 21 hours of 15 s steps: windows are sealed between kills
        var random = SeededRandom(seed: 60)
        var stored = 0
        var kills = 0
        while kills < 100 && stored < total {
            let process = Process()
            process.executableURL = toolDirectory.appendingPathComponent("mstore")
            process.arguments = [directory]
            let input = Pipe()
            process.standardInput = input
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let descriptor = input.fileHandleForWriting.fileDescriptor
            var next = stored
            let deadline = Clock.nowMilliseconds() + Int64.random(in: 1...12, using: &random)
            // At most 1,200 lines a round, so that 100 rounds (at most 120,000 lines) cannot use up the stream.
            while Clock.nowMilliseconds() < deadline && next < total && next - stored < 1_200 {
                let end = min(total, next + Int.random(in: 1...400, using: &random), stored + 1_200)
                let batch = (next..<end).map(line).joined()
                var copy = batch
                let failed = copy.withUTF8 { OutputBuffer.writeAll(UnsafeRawBufferPointer($0), to: descriptor) != nil }
                if failed { break }
                next = end
                usleep(UInt32.random(in: 0...1_500, using: &random))
            }
            // Every tenth round pauses long enough for a start and a commit even on a loaded machine.
            if kills % 10 == 9 { usleep(300_000) }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
            try? input.fileHandleForWriting.close()

            let back = try checkPrefix(directory, round: kills)
            XCTAssertLessThanOrEqual(back, next, "round \(kills): more came back than was sent")
            XCTAssertGreaterThanOrEqual(back, stored, "round \(kills): a later crash lost what an earlier run had stored")
            stored = back
        }
        XCTAssertEqual(kills, 100, "the stream should outlast a hundred kills")
        XCTAssertGreaterThan(stored, 0, "the kills should leave something stored")
        // Finally a clean run sends the rest; everything must be there, once.
        let rest = (stored..<total).map(line).joined()
        let finish = try runTool("mstore", [directory], input: Data(rest.utf8))
        XCTAssertEqual(finish.status, 0, finish.stderr)
        XCTAssertEqual(try checkPrefix(directory, round: kills + 1), total)
        let check = try runTool("mstore", ["check", directory])
        XCTAssertEqual(check.status, 0, check.stderr)
    }

    /// Reads the store and checks it holds exactly the first n samples of the stream; returns n.
    private func checkPrefix(_ directory: String, round: Int) throws -> Int {
        guard FileManager.default.fileExists(atPath: directory + "/head") else { return 0 }
        let reader = try StoreReader(directory: directory)
        var counts = [Int](repeating: 0, count: seriesCount)
        var exact = true
        reader.forEachSeries(matching: []) { key, timestamps, values in
            guard key.name == "m", let series = Int(key.labels.first?.value ?? ""), series < seriesCount else {
                exact = false
                return
            }
            counts[series] = timestamps.count
            for step in timestamps.indices {
                let index = step * seriesCount + series
                if timestamps[step] != base + Int64(step) * 15_000 || values[step] != Double(index) / 4 { exact = false }
            }
        }
        XCTAssertTrue(exact, "round \(round): a stored sample differs from the one sent")
        let total = counts.reduce(0, +)
        // A prefix of the stream: the first (total mod series) series have one sample more.
        let (full, extra) = total.quotientAndRemainder(dividingBy: seriesCount)
        XCTAssertEqual(counts, (0..<seriesCount).map { $0 < extra ? full + 1 : full }, "round \(round): not a prefix of what was sent")
        return total
    }
}
