import Foundation
import XCTest
@testable import MetricLine

final class StoreTests: XCTestCase {
    private var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "mstore-test-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func write(_ samples: [Sample], options: StoreWriter.Options = StoreWriter.Options(), close: Bool = true) throws -> StoreWriter {
        let writer = try StoreWriter(directory: directory, options: options)
        for sample in samples {
            let id = writer.series.intern(ExpositionParser.SeriesKey(name: sample.name, labels: sample.labels), spelling: nil)
            try writer.append(series: id, timestamp: sample.timestamp!, value: sample.value)
        }
        if close { try writer.close() } else { try writer.commit() }
        return writer
    }

    private func readAll(matching matchers: [LabelMatcher] = [], from: Int64 = .min, to: Int64 = .max) throws -> [Sample] {
        let reader = try StoreReader(directory: directory)
        var samples: [Sample] = []
        reader.forEachSeries(matching: matchers, from: from, to: to) { key, timestamps, values in
            for index in timestamps.indices {
                samples.append(Sample(name: key.name, labels: key.labels, value: values[index], timestamp: timestamps[index]))
            }
        }
        XCTAssertEqual(reader.problems, [])
        return samples
    }

    /// What a store should give back: per series in canonical order, sorted by time, first of equal times.
    private func expected(_ samples: [Sample]) -> [Sample] {
        var bySeries: [String: [Sample]] = [:]
        for sample in samples {
            bySeries[ExpositionWriter.line(Sample(name: sample.name, labels: sample.labels, value: 0)), default: []].append(sample)
        }
        var result: [Sample] = []
        for key in bySeries.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            var seen = Set<Int64>()
            let ordered = bySeries[key]!.enumerated().sorted { ($0.element.timestamp!, $0.offset) < ($1.element.timestamp!, $1.offset) }
            for (_, sample) in ordered where seen.insert(sample.timestamp!).inserted { result.append(sample) }
        }
        return result
    }

    /// Varints read back as written, of every length (1 to 10 bytes), whether eight bytes follow
    /// them or the buffer ends sooner; a varint cut short is an error, never a wrong number.
    func testVarintsReadBackAtEveryLengthAndPosition() {
        var random = SeededRandom(seed: 17)
        var values: [UInt64] = [0, 1, 127, 128, 16_383, 16_384, .max, .max >> 8, 1 << 56, (1 << 56) - 1, 1 << 63]
        for _ in 0..<5_000 { values.append(random.next() >> UInt64.random(in: 0...63, using: &random)) }
        var writer = ByteWriter()
        for value in values { writer.varint(value) }
        let bytes = writer.bytes
        bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            for value in values { XCTAssertEqual(try? reader.varint(), value) }
            XCTAssertTrue(reader.atEnd)
        }
        // Each value alone at the end of a buffer, and cut short by a byte.
        for value in values.prefix(300) {
            var alone = ByteWriter()
            alone.varint(value)
            alone.bytes.withUnsafeBytes { raw in
                var reader = ByteReader(raw)
                XCTAssertEqual(try? reader.varint(), value)
                var short = ByteReader(UnsafeRawBufferPointer(rebasing: raw.dropLast()))
                XCTAssertNil(try? short.varint(), "\(value)")
            }
        }
    }

    /// Chunks cover aligned blocks of at most `ChunkCodec.timeSpan`, and a read that ends early
    /// decodes only up to its end, histograms coded against their neighbours included; what comes
    /// back equals a full read cut at the same time.
    func testChunksSplitAtAlignedBlocksAndPartialReadsAreExact() throws {
        var random = SeededRandom(seed: 71)
        var samples: [Sample] = []
        let start: Int64 = 1_704_067_200_000 + 1_234_000
        var cumulative = [0.0, 0.0, 0.0]
        for step in 0..<2_000 {
            let time = start + Int64(step) * 15_000 + (step % 7 == 0 ? 3 : 0)
            for index in cumulative.indices { cumulative[index] += Double(Int.random(in: 0...9, using: &random)) + (index > 0 ? cumulative[index - 1] - cumulative[index] + 1 : 0) }
            for (index, bound) in ["0.1", "1", "+Inf"].enumerated() {
                samples.append(Sample(name: "h_bucket", labels: [Label("le", bound)], value: cumulative[index], timestamp: time))
            }
            samples.append(Sample(name: "g", labels: [], value: step % 11 == 0 ? .nan : Double.random(in: -1...1, using: &random), timestamp: time))
        }
        // One segment for the whole run, as compaction writes it.
        try FileManager.default.createDirectory(atPath: directory + "/segments", withIntermediateDirectories: true)
        var bySeries: [String: Segment.Series] = [:]
        for sample in samples {
            let key = ExpositionParser.SeriesKey(name: sample.name, labels: sample.labels)
            bySeries[ExpositionWriter.line(Sample(name: sample.name, labels: sample.labels, value: 0)), default: Segment.Series(key: key, timestamps: [], values: [])].timestamps.append(sample.timestamp!)
            bySeries[ExpositionWriter.line(Sample(name: sample.name, labels: sample.labels, value: 0))]!.values.append(sample.value)
        }
        let series = bySeries.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { bySeries[$0]! }
        let path = StoreLayout(directory: directory).segmentPath(window: 1_704_067_200_000, generation: 1)
        _ = try Segment.write(series, to: path, generation: 1)
        let segment = try Segment.Reader(path: path)
        for number in 0..<segment.seriesCount {
            let chunks = segment.chunks(number)
            XCTAssertGreaterThan(chunks.count, 1)
            for chunk in chunks {
                XCTAssertEqual(chunk.minTime / ChunkCodec.timeSpan, chunk.maxTime / ChunkCodec.timeSpan, "one chunk stays within one block")
            }
        }
        XCTAssertTrue((0..<segment.seriesCount).contains { segment.chunks($0).contains { $0.base >= 0 } }, "some buckets are coded against a base")
        let all = try readAll()
        for cut in [start, start + 15_000 * 100 + 1, start + 4 * 3_600_000, start + 15_000 * 1_999] {
            let partial = try readAll(to: cut)
            let bits = { (samples: [Sample]) in samples.map { "\($0.name)\($0.labels) \($0.value.bitPattern) \($0.timestamp!)" } }
            XCTAssertEqual(bits(partial), bits(all.filter { $0.timestamp! <= cut }))
        }
    }

    /// Segments of format 1, written before chunks coded integers as changes of length, are read
    /// as they were: the same series in both formats read back bit for bit, through a store.
    func testSegmentsOfTheFirstFormatStillRead() throws {
        var random = SeededRandom(seed: 72)
        let start: Int64 = 1_704_067_200_000
        let series = (0..<30).map { number in
            let timestamps = (0..<2_000).map { start + Int64($0) * 15_000 + (number % 3 == 0 ? Int64($0 % 5) : 0) }
            var value = Double(number)
            let values = timestamps.indices.map { index -> Double in
                switch number % 3 {
                case 0: value += Double(Int.random(in: 0...900, using: &random)) / 100
                case 1: value = Double.random(in: -1e6...1e6, using: &random)
                default: value = index % 97 == 0 ? StaleMarker.value : Double(Int.random(in: 0...20, using: &random) * 4096)
                }
                return value
            }
            return Segment.Series(key: ExpositionParser.SeriesKey(name: "m\(number + 10)", labels: [Label("n", "\(number)")]), timestamps: timestamps, values: values)
        }.sorted { $0.key.name.utf8.lexicographicallyPrecedes($1.key.name.utf8) }
        for version in 1...ChunkCodec.currentFormat {
            try? FileManager.default.removeItem(atPath: directory)
            try FileManager.default.createDirectory(atPath: directory + "/segments", withIntermediateDirectories: true)
            _ = try Segment.write(series, to: StoreLayout(directory: directory).segmentPath(window: start, generation: 1), generation: 1, version: version)
            let read = try readAll()
            XCTAssertEqual(read.count, series.count * 2_000, "version \(version)")
            var index = 0
            for expected in series {
                for sample in expected.timestamps.indices {
                    XCTAssertEqual(read[index].name, expected.key.name)
                    XCTAssertEqual(read[index].timestamp, expected.timestamps[sample])
                    XCTAssertEqual(read[index].value.bitPattern, expected.values[sample].bitPattern, "version \(version)")
                    index += 1
                }
            }
        }
    }

    func testEverythingWrittenReadsBackBitForBit() throws {
        var random = SeededRandom(seed: 50)
        let keys = (0..<40).map { _ in RandomSamples.sample(&random, nameStyle: .any) }
        var samples: [Sample] = []
        let start: Int64 = 1_704_067_200_000
        for step in 0..<2_000 {
            for key in keys where Int.random(in: 0..<3, using: &random) > 0 {
                var sample = key
                sample.value = RandomSamples.value(&random, style: .any)
                // Mostly in order, some late, some repeated.
                let jitter = Int64.random(in: 0..<10, using: &random) == 0 ? -Int64.random(in: 0...3_600_000, using: &random) : 0
                sample.timestamp = start + Int64(step) * 15_000 + jitter
                samples.append(sample)
                if Int.random(in: 0..<50, using: &random) == 0 { samples.append(sample) }
            }
        }
        _ = try write(samples)
        XCTAssertEqual(try readAll(), expected(samples))
        XCTAssertTrue(try StoreLayout(directory: directory).headLogs().isEmpty, "old windows are sealed at close")
    }

    func testAppendsAcrossRunsAndHeadLogsAreRead() throws {
        let now = Clock.nowMilliseconds()
        let first = (0..<10).map { Sample(name: "up", labels: [Label("job", "a")], value: Double($0), timestamp: now - 60_000 + Int64($0)) }
        let second = (0..<10).map { Sample(name: "up", labels: [Label("job", "a")], value: Double($0 + 10), timestamp: now - 30_000 + Int64($0)) }
        _ = try write(first)
        _ = try write(second)
        // The current window stays in the head log; readers see it.
        XCTAssertFalse(try StoreLayout(directory: directory).headLogs().isEmpty)
        XCTAssertEqual(try readAll(), first + second)
        XCTAssertEqual(try readAll(from: now - 30_000), second)
        XCTAssertEqual(try readAll(matching: [.equal("job", "b")]), [])
    }

    func testOneWriterAtATime() throws {
        let writer = try StoreWriter(directory: directory)
        XCTAssertThrowsError(try StoreWriter(directory: directory)) { error in
            XCTAssertEqual((error as? StoreError)?.message, "\(self.directory): the store is in use by another writer")
        }
        try writer.close()
    }

    func testTornTailIsCutOffAndEverythingBeforeItKept() throws {
        let now = Clock.nowMilliseconds()
        let samples = (0..<100).map { Sample(name: "x", value: Double($0), timestamp: now - 100 + Int64($0)) }
        _ = try write(Array(samples[0..<50]))
        _ = try write(Array(samples[50..<100]))
        let log = try XCTUnwrap(try StoreLayout(directory: directory).headLogs().first)
        // Tear the last record: drop its last 7 bytes.
        let size = try XCTUnwrap(FileSystem.size(log.path))
        XCTAssertEqual(truncate(log.path, off_t(size - 7)), 0)
        let reader = try StoreReader(directory: directory)
        XCTAssertEqual(reader.problems.count, 1)
        XCTAssertTrue(reader.problems[0].contains(log.path))
        let writer = try StoreWriter(directory: directory)
        try writer.commit()  // opening a window's log repairs it; append to that window
        let id = writer.series.intern(ExpositionParser.SeriesKey(name: "x", labels: []), spelling: nil)
        try writer.append(series: id, timestamp: now, value: 1000)
        try writer.close()
        XCTAssertTrue(writer.warnings.contains { $0.contains("cut off a torn tail") }, "\(writer.warnings)")
        XCTAssertEqual(try readAll(), Array(samples[0..<50]) + [Sample(name: "x", value: 1000, timestamp: now)])
    }

    /// A series' chunks lying one after another are read with one call, and give what reading
    /// them one at a time gives; a damaged one among them is named and the others still read.
    func testChunksReadTogetherAgreeWithChunksReadAlone() throws {
        let start: Int64 = 1_704_067_200_000
        let timestamps = (0..<6_000).map { start + Int64($0) * 15_000 }
        let values = timestamps.indices.map { Double($0 * 3 % 1_000) / 100 }
        try FileManager.default.createDirectory(atPath: directory + "/segments", withIntermediateDirectories: true)
        let path = StoreLayout(directory: directory).segmentPath(window: start, generation: 1)
        _ = try Segment.write([Segment.Series(key: ExpositionParser.SeriesKey(name: "m", labels: []), timestamps: timestamps, values: values)], to: path, generation: 1)
        let chunks = try Segment.Reader(path: path).chunks(0)
        XCTAssertGreaterThanOrEqual(chunks.count, 3)
        let alone = try chunks.map { try Segment.Reader(path: path).read($0) }
        // Read together, into memory given: each chunk's samples where `each` says they begin.
        func together() throws -> (timestamps: [Int64], values: [Double], placed: [Int: Range<Int>], errors: [Int: String]) {
            var times = [Int64](repeating: 0, count: timestamps.count), numbers = [Double](repeating: 0, count: timestamps.count)
            var filled = 0, placed: [Int: Range<Int>] = [:], errors: [Int: String] = [:], number = 0
            var keeping: [Segment.Reader.DecodedInPlace] = []
            let reader = try Segment.Reader(path: path)
            defer { XCTAssertTrue(keeping.isEmpty, "a chunk no other is coded against was kept") }
            times.withUnsafeMutableBufferPointer { times in
                numbers.withUnsafeMutableBufferPointer { numbers in
                    reader.read(chunks, through: .max, cache: nil, into: times.baseAddress!, numbers.baseAddress!, room: times.count,
                                filled: &filled, keeping: &keeping) { result in
                        switch result {
                        case .success(let (start, count)): placed[number] = start..<(start + count)
                        case .failure(let error): errors[number] = error.message
                        }
                        number += 1
                    }
                }
            }
            return (Array(times[..<filled]), Array(numbers[..<filled]), placed, errors)
        }
        let read = try together()
        XCTAssertEqual(read.errors, [:])
        XCTAssertEqual(read.placed.count, chunks.count)
        for (index, range) in read.placed {
            XCTAssertEqual(Array(read.timestamps[range]), alone[index].timestamps)
            XCTAssertEqual(Array(read.values[range]), alone[index].values)
        }
        XCTAssertEqual(read.timestamps, timestamps)
        XCTAssertEqual(read.values, values)
        // Damage the second chunk.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[chunks[1].offset + chunks[1].length / 2] ^= 0x04
        try bytes.write(to: URL(fileURLWithPath: path))
        let damaged = try together()
        XCTAssertEqual(damaged.errors, [1: "\(path): damaged chunk at byte \(chunks[1].offset) (checksum mismatch)"])
        XCTAssertNil(damaged.placed[1], "the damaged chunk decoded")
        XCTAssertEqual(damaged.placed.count, chunks.count - 1)
        for (index, range) in damaged.placed { XCTAssertEqual(Array(damaged.values[range]), alone[index].values) }
        XCTAssertEqual(damaged.values, alone.enumerated().filter { $0.offset != 1 }.flatMap(\.element.values))
    }

    /// The checksums give the published check values ("123456789"), and the same value for any
    /// length however the bytes are split between calls (the sixteen-, eight- and one-byte paths).
    func testChecksumsMatchTheirCheckValuesAndContinue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        var random = SeededRandom(seed: 3)
        let bytes = (0..<1_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        for count in [0, 1, 7, 8, 15, 16, 17, 31, 33, 999, 1_000] {
            let whole = CRC32C.checksum(Array(bytes[0..<count]))
            // Bit by bit, as the polynomial defines it.
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes[0..<count] {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            }
            XCTAssertEqual(whole, ~crc, "\(count) bytes")
            let split = count / 3
            let first = Array(bytes[0..<split]).withUnsafeBytes { CRC32C.checksum($0) }
            XCTAssertEqual(Array(bytes[split..<count]).withUnsafeBytes { CRC32C.checksum($0, continuing: first) }, whole, "\(count) bytes split at \(split)")
        }
    }

    func testDamageIsNamedAndTheRestStaysReadable() throws {
        let base: Int64 = 1_704_067_200_000
        let samples = (0..<2_000).map { Sample(name: "m", labels: [Label("i", String($0 % 4))], value: Double($0), timestamp: base + Int64($0) * 15_000) }
        _ = try write(samples)
        let segments = try StoreLayout(directory: directory).segments()
        XCTAssertEqual(segments.count, 5)
        // Flip one bit in the middle of the first segment's chunk data.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segments[0].path))
        bytes[40] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: segments[0].path))
        let reader = try StoreReader(directory: directory)
        var read = 0
        reader.forEachSeries(matching: []) { _, timestamps, _ in read += timestamps.count }
        XCTAssertEqual(reader.problems.count, 1)
        XCTAssertTrue(reader.problems[0].hasPrefix(segments[0].path + ": damaged chunk"), reader.problems[0])
        XCTAssertGreaterThan(read, 2_000 - 480)
        XCTAssertLessThan(read, 2_000)
        // mquery and malert name it too, answer from the rest, and exit with 1.
        let range = ["--from", String(base / 1000), "--to", String(base / 1000 + 30_000), "--step", "60s"]
        let query = try runTool("mquery", ["-s", directory, "count_over_time(m[10m])"] + range)
        XCTAssertEqual(query.status, 1, query.stderr)
        XCTAssertTrue(query.stderr.contains(segments[0].path + ": damaged chunk"), query.stderr)
        XCTAssertTrue(query.stdout.contains("{i=\"3\"}"), "the other series are answered: \(query.stdout)")
        let rules = directory + "-rules.yml"
        try "groups:\n  - name: g\n    rules:\n      - record: m:count\n        expr: count(m)\n".write(toFile: rules, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: rules) }
        let alert = try runTool("malert", ["-s", directory, rules, "--replay", "--from", String(base / 1000), "--to", String(base / 1000 + 3_600)])
        XCTAssertEqual(alert.status, 1, alert.stderr)
        XCTAssertTrue(alert.stderr.contains(segments[0].path + ": damaged chunk"), alert.stderr)
        XCTAssertTrue(alert.stdout.contains("m:count"), alert.stdout)
        // A damaged index makes the whole segment unreadable, and is named.
        bytes = try Data(contentsOf: URL(fileURLWithPath: segments[1].path))
        bytes[bytes.count - 60] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: segments[1].path))
        // Segments open when a read needs them, and a damaged one is named then.
        let second = try StoreReader(directory: directory)
        XCTAssertEqual(second.segments.count, 4)
        XCTAssertTrue(second.problems.contains { $0.hasPrefix(segments[1].path + ": damaged") }, "\(second.problems)")
    }

    func testCrashLeftoversAreCleanedUp() throws {
        let base: Int64 = 1_704_067_200_000
        _ = try write((0..<10).map { Sample(name: "m", value: Double($0), timestamp: base + Int64($0)) })
        let layout = StoreLayout(directory: directory)
        let segment = try XCTUnwrap(try layout.segments().first)
        // As if a crash came after the segment was renamed but before its head log was removed,
        // and during the writing of another segment.
        let reader = try Segment.Reader(path: segment.path)
        let staleLog = layout.headPath(window: segment.window, generation: try XCTUnwrap(reader.replaces.first))
        try Data(HeadLog.magic).write(to: URL(fileURLWithPath: staleLog))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: layout.segmentDirectory + "/W0-G99.mseg.tmp"))
        XCTAssertEqual(try readAll().count, 10, "a replaced head log is not read twice")
        let writer = try StoreWriter(directory: directory)
        try writer.close()
        XCTAssertFalse(FileSystem.exists(staleLog))
        XCTAssertFalse(FileSystem.exists(layout.segmentDirectory + "/W0-G99.mseg.tmp"))
        XCTAssertEqual(try readAll().count, 10)
    }

    /// A read opens the segments its time range touches (by their footers) and every later one,
    /// not the whole store; what it reads is what a read of everything gives for that range, and a
    /// crash leftover that a compacted segment replaces stays unread however it is reached.
    func testReadsOpenOnlyTheSegmentsTheyTouch() throws {
        let base: Int64 = 1_704_067_200_000
        let day: Int64 = 86_400_000
        var samples: [Sample] = []
        for minute in stride(from: Int64(0), to: 5 * 1_440, by: 10) {
            for host in 0..<3 {
                samples.append(Sample(name: "m", labels: [Label("host", "h\(host)")], value: Double(minute * 10 + Int64(host)), timestamp: base + minute * 60_000))
            }
        }
        var options = StoreWriter.Options()
        options.grace = 0
        let layout = StoreLayout(directory: directory)
        let lastDayWindow: (window: Int64, generation: UInt64, path: String)
        let leftover: Data
        do {
            let writer = try write(samples, options: options, close: false)
            // A two-hour segment of the last day, kept aside to come back as a crash leftover.
            lastDayWindow = try XCTUnwrap(try layout.segments().filter { $0.window >= base + 4 * day }.first)
            leftover = try Data(contentsOf: URL(fileURLWithPath: lastDayWindow.path))
            _ = try writer.compact()
        }
        XCTAssertEqual(try layout.segments().count, 5, "one segment a day")

        let lastHours = (from: base + 5 * day - 3 * 3_600_000, to: base + 5 * day)
        let reader = try StoreReader(directory: directory)
        XCTAssertEqual(reader.openedSegments, 0, "nothing opened before a read")
        let recent = reader.locate(matching: [], from: lastHours.from, to: lastHours.to).map { reader.samples(of: $0, from: lastHours.from, to: lastHours.to) }
        XCTAssertEqual(reader.openedSegments, 1, "the last day's segment only")
        XCTAssertEqual(recent.map(\.timestamps.count), [18, 18, 18])
        let everything = try StoreReader(directory: directory)
        _ = everything.segments
        XCTAssertEqual(everything.openedSegments, 5)
        let full = everything.locate(matching: [], from: lastHours.from, to: lastHours.to).map { everything.samples(of: $0, from: lastHours.from, to: lastHours.to) }
        XCTAssertEqual(recent.map(\.values), full.map(\.values))
        XCTAssertEqual(recent.map(\.timestamps), full.map(\.timestamps))

        // The leftover overlaps the last day, so a read of it opens every later segment too, and
        // learns that the last day's segment replaces it.
        try leftover.write(to: URL(fileURLWithPath: lastDayWindow.path))
        let afterCrash = try StoreReader(directory: directory)
        let touched = afterCrash.segmentIndexes(from: lastDayWindow.window, to: lastDayWindow.window + 3_600_000)
        let lastDay = try XCTUnwrap(try layout.segments().first { $0.window == base + 4 * day && $0.path != lastDayWindow.path })
        XCTAssertEqual(touched.map { afterCrash.segment($0).path }, [lastDay.path])
        XCTAssertFalse(afterCrash.segments.contains { $0.path == lastDayWindow.path })
        // The next writer finds the leftover from what the segments' first index bytes claim
        // (the same as their whole index says), and removes it.
        for file in try layout.segments() {
            XCTAssertEqual(Segment.claimedReplacements(path: file.path), try Segment.Reader(path: file.path).replaces)
        }
        try StoreWriter(directory: directory).close()
        XCTAssertFalse(FileSystem.exists(lastDayWindow.path))
        XCTAssertEqual(try layout.segments().count, 5)
    }

    /// Readers take no lock: a compaction may remove the segments a reader listed before it
    /// opened them. The reader then lists the store again and reads the merged segment instead.
    func testAReaderSeesACompactionThatRanAfterItStarted() throws {
        let base: Int64 = 1_704_067_200_000
        var samples = (0..<2 * 1_440).map { Sample(name: "m", value: Double($0), timestamp: base + Int64($0) * 60_000) }
        var options = StoreWriter.Options()
        options.grace = 0
        _ = try write(samples, options: options)
        // A later run on the third day: the head log it starts is newer than the first two days'
        // segments, which a reader therefore does not open until a read needs them.
        samples.append(Sample(name: "m", value: -1, timestamp: base + 2 * 86_400_000 + 5 * 3_600_000))
        _ = try write([samples.last!], options: options)
        let layout = StoreLayout(directory: directory)
        let listed = try layout.segments().count
        let reader = try StoreReader(directory: directory)
        XCTAssertLessThan(reader.openedSegments, listed - 12, "the first day's segments wait")
        _ = try StoreWriter(directory: directory, options: options).compact()
        XCTAssertLessThan(try layout.segments().count, listed, "the two-hour segments of finished days merged and removed")
        let read = reader.locate(matching: []).map { reader.samples(of: $0) }
        XCTAssertEqual(reader.problems, [])
        XCTAssertEqual(read.first?.timestamps, samples.map(\.timestamp!))
        XCTAssertEqual(read.first?.values, samples.map(\.value))
    }

    /// A writer may seal a window between a reader's listing of the store and its reading of the
    /// head log: the reader reads the segment that replaced the log, and names no problem. A head
    /// log gone with nothing in its place (as when a seal is compacted at once, or a window held
    /// no samples) is passed over.
    func testAHeadLogSealedAfterTheListingIsReadFromItsSegment() throws {
        let base: Int64 = 1_704_067_200_000
        let samples = (0..<30).map { Sample(name: "m", value: Double($0), timestamp: base + Int64($0) * 60_000) }
        _ = try write(samples, close: false)
        let layout = StoreLayout(directory: directory)
        let listed = (segments: try layout.segments(), headLogs: try layout.headLogs())
        XCTAssertEqual(listed.segments.count, 0)
        XCTAssertEqual(listed.headLogs.count, 1, "the window is not sealed yet")
        // The next writer seals the window (its end is long past) and removes the head log.
        try StoreWriter(directory: directory).close()
        XCTAssertFalse(FileSystem.exists(listed.headLogs[0].path))
        XCTAssertEqual(try layout.segments().count, 1)
        let reader = try StoreReader(directory: directory, rollup: nil, listed: listed)
        XCTAssertEqual(reader.problems, [])
        XCTAssertEqual(reader.heads.count, 0)
        let read = reader.locate(matching: []).map { reader.samples(of: $0) }
        XCTAssertEqual(read.first?.timestamps, samples.map(\.timestamp!))
        XCTAssertEqual(read.first?.values, samples.map(\.value))
        // Head logs are listed first: the segment, listed after the seal, replaces the log.
        let sealedBetween = try StoreReader(directory: directory, rollup: nil, listed: (try layout.segments(), listed.headLogs))
        XCTAssertEqual(sealedBetween.problems, [])
        XCTAssertEqual(sealedBetween.locate(matching: []).map { sealedBetween.samples(of: $0).values }, [samples.map(\.value)])

        // A head log that vanished without a segment in its place (removed here by hand).
        _ = try write([Sample(name: "m", value: 99, timestamp: base + 86_400_000)], close: false)
        let again = (segments: try layout.segments(), headLogs: try layout.headLogs())
        XCTAssertEqual(again.headLogs.count, 1)
        try FileManager.default.removeItem(atPath: again.headLogs[0].path)
        let late = try StoreReader(directory: directory, rollup: nil, listed: again)
        XCTAssertEqual(late.problems, [])
        XCTAssertEqual(late.heads.count, 0)
        XCTAssertEqual(late.locate(matching: []).map { late.samples(of: $0).values }, [samples.map(\.value)])
    }

    /// A chunk cache drops its oldest entries first when its budget is spent (an entry kept
    /// again counts as new), counts each entry as the samples it keeps alive, keeps an entry
    /// heavier than the whole budget alone, and holds each chunk once however often it is kept.
    func testChunkCacheDropsTheOldestFirst() {
        let cache = Segment.ChunkCache(budget: 10)
        let chunk: ArraySlice<Int64> = [1, 2, 3][...], values: ArraySlice<Double> = [1, 2, 3][...]
        for offset in 1...3 { cache.keep(offset, chunk, values, weight: 3, through: .max) }
        XCTAssertEqual(cache.keptOffsets, [1, 2, 3])
        cache.keep(4, chunk, values, weight: 3, through: .max)
        XCTAssertEqual(cache.keptOffsets, [2, 3, 4])
        cache.keep(2, chunk, values, weight: 3, through: .max)
        XCTAssertEqual(cache.keptOffsets, [3, 4, 2])
        cache.keep(5, chunk, values, weight: 3, through: .max)
        XCTAssertEqual(cache.keptOffsets, [4, 2, 5])
        cache.keep(6, chunk, values, weight: 8, through: .max)
        XCTAssertEqual(cache.keptOffsets, [6])
        cache.keep(7, chunk, values, weight: 30, through: .max)
        XCTAssertEqual(cache.keptOffsets, [7])
        let large = Segment.ChunkCache(budget: 1 << 20)
        for round in 0..<10_000 { large.keep(round % 3, chunk, values, weight: 3, through: .max) }
        XCTAssertEqual(large.keptOffsets, [1, 2, 0])
    }

    /// The check that a histogram bucket's chunk has its base's timestamps.
    func testTimestampsArePrefixOfTheBase() {
        func samePrefix(_ prefix: [Int64], of whole: [Int64]) -> Bool {
            prefix.withUnsafeBufferPointer { prefix in whole.withUnsafeBufferPointer { Segment.samePrefix(prefix, of: $0) } }
        }
        XCTAssertTrue(samePrefix([1, 2], of: [1, 2, 3]))
        XCTAssertTrue(samePrefix([], of: []))
        XCTAssertTrue(samePrefix([], of: [5]))
        XCTAssertFalse(samePrefix([1, 3], of: [1, 2, 3]))
        XCTAssertFalse(samePrefix([1, 2, 3, 4], of: [1, 2, 3]))
        XCTAssertFalse(samePrefix([.min], of: [.max]))
    }

    func testCommandLine() throws {
        let input = "up{job=\"a\"} 1 1704067200000\nup{job=\"a\"} 2 1704067215000\nbad line\nload 0.5 1704067200000\n"
        let append = try runTool("mstore", [directory], input: Data(input.utf8))
        XCTAssertEqual(append.status, 1)
        XCTAssertEqual(append.stderr, "mstore: <stdin>:3: invalid value 'line' (column 5): bad line\nmstore: skipped 1 bad line of 4\n")
        let dump = try runTool("mstore", ["dump", directory, "--match", "up"])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        XCTAssertEqual(dump.stdout, "up{job=\"a\"} 1 1704067200000\nup{job=\"a\"} 2 1704067215000\n")
        let info = try runTool("mstore", ["info", directory])
        XCTAssertTrue(info.stdout.contains("series:           2\nsamples:          3\n"), info.stdout)
        let check = try runTool("mstore", ["check", directory])
        XCTAssertEqual(check.status, 0)
        XCTAssertTrue(check.stdout.hasPrefix("ok: 1 segments"))
        let missing = try runTool("mstore", ["info", directory + "/nope"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no store here"))
    }
}

/// A full disk and a read-only store: clear errors naming the file, and a store left consistent.
final class StoreFaultTests: XCTestCase {
    private var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "mstore-fault-\(UUID().uuidString)"
    }

    override func tearDown() {
        _ = try? runShell("chattr -R -i '\(directory)' 2>/dev/null")
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func runShell(_ script: String, input: Data = Data()) throws -> ToolRun {
        try runProgram("/bin/bash", ["-c", script], input: input)
    }

    /// 200 series at 15 s steps: 80,000 samples stay in one two-hour window.
    private func lines(_ range: Range<Int>) -> String {
        range.map { "m{s=\"\($0 % 200)\"} \($0) \(1_704_067_200_000 + Int64($0 / 200) * 15_000)\n" }.joined()
    }

    func testAFullDiskIsReportedAndTheStoreStaysConsistent() throws {
        // A file-size limit of 256 KiB stands in for a full disk: writes past it fail with EFBIG.
        // The input comes in two parts with a pause, so the first is committed before the disk fills.
        let first = directory + ".first", second = directory + ".second"
        try Data(lines(0..<2_000).utf8).write(to: URL(fileURLWithPath: first))
        try Data(lines(2_000..<80_000).utf8).write(to: URL(fileURLWithPath: second))
        defer { try? FileManager.default.removeItem(atPath: first); try? FileManager.default.removeItem(atPath: second) }
        let full = try runShell("(cat '\(first)'; sleep 0.5; cat '\(second)') | (ulimit -f 256; exec '\(toolDirectory.path)/mstore' '\(directory)')")
        XCTAssertEqual(full.status, 1)
        XCTAssertTrue(full.stderr.contains("\(directory)/head/") && full.stderr.contains("File too large"), full.stderr)
        // Without the limit the store opens, repairs any torn tail, and holds a prefix of the input.
        let resumed = try runTool("mstore", [directory], input: Data())
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let dump = try runTool("mstore", ["dump", directory])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        let stored = dump.stdout.split(separator: "\n").count
        XCTAssertGreaterThanOrEqual(stored, 2_000, "what was committed before the disk filled is kept")
        XCTAssertLessThan(stored, 80_000)
        let check = try runTool("mstore", ["check", directory])
        XCTAssertEqual(check.status, 0, check.stderr)
    }

    func testAReadOnlyStoreIsReportedAndStaysReadable() throws {
        let first = try runTool("mstore", [directory], input: Data(lines(0..<100).utf8))
        XCTAssertEqual(first.status, 0, first.stderr)
        // Root ignores permission bits, so the immutable attribute makes the store read-only.
        let lock = try runShell("chattr -R +i '\(directory)'")
        try XCTSkipIf(lock.status != 0, "chattr is not available here: \(lock.stderr)")
        let refused = try runTool("mstore", [directory], input: Data(lines(100..<200).utf8))
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.hasPrefix("mstore: \(directory)/"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("Operation not permitted"), refused.stderr)
        let dump = try runTool("mstore", ["dump", directory])
        XCTAssertEqual(dump.status, 0, dump.stderr)
        XCTAssertEqual(dump.stdout.split(separator: "\n").count, 100)
    }
}

/// Histogram buckets coded against each other read back exactly.
final class HistogramCodingTests: XCTestCase {
    func testBucketsAndCountAreCodedAsDifferencesAndReadBackExactly() throws {
        let directory = NSTemporaryDirectory() + "mstore-histogram-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var random = SeededRandom(seed: 70)
        let bounds = ["0.005", "0.01", "0.1", "1", "10", "+Inf"]
        var samples: [Sample] = []
        for handler in ["/a", "/b"] {
            var cumulative = [Double](repeating: 0, count: bounds.count)
            var sum = 0.0
            for step in 0..<480 {
                var increase = 0.0
                for index in bounds.indices {
                    increase += Double(Int.random(in: 0...20, using: &random))
                    cumulative[index] += increase
                }
                sum += Double.random(in: 0...5, using: &random)
                let time = 1_704_067_200_000 + Int64(step) * 15_000
                for (index, bound) in bounds.enumerated() {
                    samples.append(Sample(name: "h_bucket", labels: [Label("handler", handler), Label("le", bound)], value: cumulative[index], timestamp: time))
                }
                samples.append(Sample(name: "h_count", labels: [Label("handler", handler)], value: cumulative[bounds.count - 1], timestamp: time))
                samples.append(Sample(name: "h_sum", labels: [Label("handler", handler)], value: sum, timestamp: time))
            }
        }
        let writer = try StoreWriter(directory: directory)
        for sample in samples {
            try writer.append(series: writer.series.intern(ExpositionParser.SeriesKey(name: sample.name, labels: sample.labels), spelling: nil),
                              timestamp: sample.timestamp!, value: sample.value)
        }
        try writer.close()
        let segment = try Segment.Reader(path: try XCTUnwrap(try StoreLayout(directory: directory).segments().first).path)
        var codedBuckets = 0, codedCounts = 0
        for number in 0..<segment.seriesCount where segment.chunks(number)[0].base >= 0 {
            let key = segment.key(number)
            if key.name == "h_bucket" { codedBuckets += 1 } else if key.name == "h_count" { codedCounts += 1 } else { XCTFail("\(key)") }
        }
        // "+Inf" sorts first and has no earlier base; "0.005" could only differ from "+Inf", which
        // is no gain; every other bucket is coded against its neighbour.
        XCTAssertEqual(codedBuckets, 2 * (bounds.count - 2))
        XCTAssertEqual(codedCounts, 2, "_count is the +Inf bucket")
        let reader = try StoreReader(directory: directory)
        var back: [Sample] = []
        reader.forEachSeries(matching: []) { key, timestamps, values in
            for index in timestamps.indices { back.append(Sample(name: key.name, labels: key.labels, value: values[index], timestamp: timestamps[index])) }
        }
        XCTAssertEqual(reader.problems, [])
        XCTAssertEqual(Set(back), Set(samples))
        XCTAssertEqual(back.count, samples.count)
        // Series read in place in any order, with caches that keep everything, that must decode
        // bases again (read backwards), or that are emptied every few chunks, and through a limit
        // inside the chunks, read what each chunk read alone gives.
        let locations = reader.locate(matching: [])
        var expected: [[Double]] = []
        for location in locations {
            let chunkValues = location.segmentSeries.flatMap { segmentIndex, number in
                reader.segment(segmentIndex).chunks(number).flatMap { (try? reader.segment(segmentIndex).read($0).values) ?? [] }
            }
            expected.append(chunkValues)
        }
        let limit: Int64 = 1_704_067_200_000 + 300 * 15_000
        for (order, budget) in [(Array(locations.indices), 1 << 20), (Array(locations.indices.reversed()), 1 << 20), (Array(locations.indices), 500)] {
            // Reads through the limit first leave chunks decoded only that far in the caches,
            // which whole reads after them must not take for whole.
            let caches = reader.chunkCaches(budget: budget)
            for index in order {
                let early = reader.samples(of: locations[index], to: limit, caches: caches)
                XCTAssertEqual(early.values, Array(expected[index].prefix(301)), "\(locations[index].key) through the limit")
                XCTAssertEqual(early.problems, [])
            }
            for index in order {
                let whole = reader.samples(of: locations[index], caches: caches)
                XCTAssertEqual(whole.values, expected[index], "\(locations[index].key), budget \(budget)")
                XCTAssertEqual(whole.problems, [])
            }
        }
    }
}
