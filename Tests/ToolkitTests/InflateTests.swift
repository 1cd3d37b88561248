import Foundation
import XCTest
@testable import MetricLine

/// The gzip decoder against the system's gzip, on hand-made streams, and on broken and hostile
/// input, which must end in an `InflateError`.
final class InflateTests: XCTestCase {
    private let gzipPath = "/bin/gzip"

    /// `gzip ARGUMENTS` with `input` on stdin, through files so large inputs cannot deadlock a pipe.
    private func systemGzip(_ input: [UInt8], _ arguments: [String]) throws -> [UInt8] {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: gzipPath), "no \(gzipPath)")
        let directory = NSTemporaryDirectory() + "inflate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(input).write(to: URL(fileURLWithPath: directory + "/in"))
        _ = FileManager.default.createFile(atPath: directory + "/out", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gzipPath)
        process.arguments = arguments
        process.standardInput = FileHandle(forReadingAtPath: directory + "/in")
        process.standardOutput = FileHandle(forWritingAtPath: directory + "/out")
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "gzip \(arguments)")
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/out")))
    }

    /// A page like a node_exporter scrape: HELP and TYPE lines, label sets, varied values.
    private func metricsPage(bytes: Int, seed: UInt64 = 1) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        var page = ""
        var family = 0
        while page.utf8.count < bytes {
            family += 1
            page += "# HELP node_family_\(family)_total Family \(family) of something.\n# TYPE node_family_\(family)_total counter\n"
            for cpu in 0..<8 {
                for mode in ["user", "system", "idle", "iowait", "steal"] {
                    let value = Int.random(in: 0..<4, using: &random) == 0 ? String(Int.random(in: 0..<1_000_000_000, using: &random))
                        : String(Double.random(in: 0..<1e6, using: &random))
                    page += "node_family_\(family)_total{cpu=\"\(cpu)\",mode=\"\(mode)\",device=\"sd\(cpu % 3)\"} \(value)\n"
                }
            }
        }
        return Array(page.utf8)
    }

    private func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    private func assertFails(_ bytes: [UInt8], with expected: InflateError? = nil, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        do {
            let output = try Inflate.gunzip(bytes, limit: 1 << 20)
            XCTFail("decoded \(output.count) bytes: \(message)", file: file, line: line)
        } catch {
            if let expected { XCTAssertEqual(error, expected, message, file: file, line: line) }
        }
    }

    // MARK: Round trips with /bin/gzip

    func testSystemGzipAtLevelsOneSixAndNine() throws {
        let page = metricsPage(bytes: 300_000)
        for level in [1, 6, 9] {
            let compressed = try systemGzip(page, ["-\(level)", "-c"])
            XCTAssertLessThan(compressed.count, page.count / 4, "level \(level)")
            XCTAssertEqual(try Inflate.gunzip(compressed), page, "level \(level)")
        }
    }

    func testRandomBinaryDataAndSkewedBytes() throws {
        // Random bytes do not compress: gzip falls back to stored blocks.
        let random = randomBytes(200_000, seed: 7)
        XCTAssertEqual(try Inflate.gunzip(try systemGzip(random, ["-c"])), random)
        // Geometrically distributed bytes give rare literals codes of 11 to 15 bits, past the
        // decoder's one-lookup table.
        var generator = SeededRandom(seed: 8)
        let skewed = (0..<200_000).map { _ in UInt8(min(UInt64(255), UInt64((generator.next() | 1).trailingZeroBitCount) * 16 + generator.next() % 3)) }
        XCTAssertEqual(try Inflate.gunzip(try systemGzip(skewed, ["-9", "-c"])), skewed)
    }

    func testEmptyInput() throws {
        let compressed = try systemGzip([], ["-c"])
        XCTAssertEqual(compressed.count, 20)
        XCTAssertEqual(try Inflate.gunzip(compressed), [])
        assertFails([], with: .notGzip)
    }

    func testFiveMegabytesOfMetricsText() throws {
        let page = metricsPage(bytes: 5 << 20, seed: 2)
        let compressed = try systemGzip(page, ["-6", "-c"])
        let start = Date()
        let output = try Inflate.gunzip(compressed)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(output, page)
        print("gunzip of \(compressed.count) bytes to \(output.count): \(String(format: "%.1f", Double(output.count) / seconds / 1e6)) MB/s (this build)")
    }

    func testConcatenatedMembers() throws {
        let first = metricsPage(bytes: 20_000, seed: 3), second = Array("up 1\n".utf8)
        let joined = try systemGzip(first, ["-c"]) + systemGzip([], ["-c"]) + systemGzip(second, ["-9", "-c"])
        XCTAssertEqual(try Inflate.gunzip(joined), first + second)
        XCTAssertEqual(try systemGzip(joined, ["-d", "-c"]), first + second, "gzip agrees")
        // Each member is a stream of its own: a match may not reach into the one before.
        var reaching = BitWriter()
        reaching.bits(1, 1)
        reaching.bits(1, 2)
        reaching.code(0b0000001, length: 7)  // length 3 (symbol 257), fixed code
        reaching.code(0, length: 5)          // distance 1
        reaching.code(0, length: 7)          // end of block
        XCTAssertThrowsError(try Inflate.gunzip(systemGzip(first, ["-c"]) + gzipMember(deflate: reaching.bytes, output: []))) {
            XCTAssertEqual($0 as? InflateError, .distanceTooFar)
        }
    }

    // MARK: Hand-made streams

    func testCRC32CheckValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([]), 0)
    }

    /// A gzip member around `deflate` (raw DEFLATE data that decodes to `output`).
    private func gzipMember(deflate: [UInt8], output: [UInt8], header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255]) -> [UInt8] {
        var member = header + deflate
        withUnsafeBytes(of: CRC32.checksum(output).littleEndian) { member += $0 }
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: output.count).littleEndian) { member += $0 }
        return member
    }

    private func storedBlock(_ data: [UInt8], final: Bool) -> [UInt8] {
        let length = UInt16(data.count)
        return [final ? 1 : 0, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)] + data
    }

    func testHandMadeStoredBlocks() throws {
        let first = Array("metric_a 1\n".utf8)
        let largest = randomBytes(65_535, seed: 4)
        let deflate = storedBlock(first, final: false) + storedBlock([], final: false) + storedBlock(largest, final: true)
        let member = gzipMember(deflate: deflate, output: first + largest)
        XCTAssertEqual(try Inflate.gunzip(member), first + largest)
        XCTAssertEqual(try systemGzip(member, ["-d", "-c"]), first + largest, "gzip agrees with the hand-made stream")
        XCTAssertEqual(try Inflate.inflate(deflate), first + largest)

        // A stored block after a Huffman block starts at the next byte boundary: a fixed block
        // holding only end-of-block takes 10 bits, then the stored header's 3 bits, then 3 bits of
        // padding.
        var aligned = BitWriter()
        aligned.bits(0, 1)
        aligned.bits(1, 2)
        aligned.code(0, length: 7)
        aligned.bits(1, 1)
        aligned.bits(0, 2)
        aligned.align()
        let text = Array("after alignment\n".utf8)
        let stream = aligned.bytes + Array(storedBlock(text, final: true).dropFirst())
        XCTAssertEqual(stream.prefix(2), [0x02, 0x04])
        XCTAssertEqual(try Inflate.gunzip(gzipMember(deflate: stream, output: text)), text)

        var mismatched = member
        mismatched[10 + 3] ^= 1  // NLEN of the first block
        assertFails(mismatched, with: .storedLength)
        assertFails(Array(member.prefix(10 + 5 + first.count + 5 + 100)), with: .truncated)
    }

    func testHeaderFieldsAndFlags() throws {
        let page = metricsPage(bytes: 5_000, seed: 5)
        let plain = try systemGzip(page, ["-n", "-c"])
        XCTAssertEqual(plain[3], 0, "-n: no name")
        // FTEXT | FHCRC | FEXTRA | FNAME | FCOMMENT, with an extra field, a name and a comment.
        var header: [UInt8] = [0x1F, 0x8B, 8, 0x1F, 1, 2, 3, 4, 0, 3]
        header += [6, 0, UInt8(ascii: "M"), UInt8(ascii: "L"), 2, 0, 0xAB, 0xCD]
        header += Array("metrics.txt".utf8) + [0] + Array("a scrape, with ü".utf8) + [0]
        let headerCRC = UInt16(CRC32.checksum(header) & 0xFFFF)
        header += [UInt8(headerCRC & 0xFF), UInt8(headerCRC >> 8)]
        let full = header + plain.dropFirst(10)
        XCTAssertEqual(try Inflate.gunzip(full), page)
        XCTAssertEqual(try systemGzip(full, ["-d", "-c"]), page, "gzip agrees")
        // gzip keeps the file name of a file it compresses.
        XCTAssertEqual(try Inflate.gunzip(try systemGzip(page, ["-c"])), page)

        var badHeaderCRC = full
        badHeaderCRC[header.count - 1] ^= 0x40
        assertFails(badHeaderCRC, with: .headerChecksum)
        var reserved = plain
        reserved[3] = 0x20
        assertFails(reserved, with: .reservedFlags(0x20))
        var method = plain
        method[2] = 7
        assertFails(method, with: .unknownMethod(7))
        assertFails(Array("# TYPE up gauge\nup 1\n".utf8), with: .notGzip)
        // The name runs to the end of the input.
        assertFails([0x1F, 0x8B, 8, 8, 0, 0, 0, 0, 0, 3] + Array("metrics".utf8), with: .truncated)
        // An extra field longer than the input.
        assertFails([0x1F, 0x8B, 8, 4, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 1, 2], with: .truncated)
    }

    // MARK: Broken and hostile input

    func testTruncationAtEveryLength() throws {
        let compressed = try systemGzip(metricsPage(bytes: 4_000, seed: 6), ["-c"])
        var truncated = 0
        for length in 0..<compressed.count {
            do {
                _ = try Inflate.gunzip(Array(compressed.prefix(length)))
                XCTFail("a prefix of \(length) of \(compressed.count) bytes decoded")
            } catch {
                if error == .truncated { truncated += 1 }
            }
        }
        // Zero bits past the end may decode into a match too far back before the reader notices
        // it ran out; everything else says truncated.
        XCTAssertGreaterThan(truncated, compressed.count * 9 / 10)
    }

    func testBitFlipsChecksumsAndSizes() throws {
        let page = metricsPage(bytes: 3_000, seed: 9)
        let compressed = try systemGzip(page, ["-n", "-c"])
        var unnoticed: [Int] = []
        for bit in 0..<(compressed.count * 8) {
            var flipped = compressed
            flipped[bit / 8] ^= 1 << (bit % 8)
            // MTIME, XFL, OS, the FTEXT flag and the padding after the last block may change
            // without harm; any other flip must be noticed, never turn into different output.
            if let output = try? Inflate.gunzip(flipped) {
                XCTAssertEqual(output, page, "bit \(bit)")
                if !(4..<10).contains(bit / 8) && bit != 24 { unnoticed.append(bit) }
            }
        }
        XCTAssertLessThan(unnoticed.count, 8, "only padding bits: \(unnoticed)")
        XCTAssertTrue(unnoticed.allSatisfy { $0 / 8 == compressed.count - 9 }, "only padding bits: \(unnoticed)")
        var crc = compressed
        crc[crc.count - 8] ^= 0x10
        assertFails(crc, with: .checksum)
        var size = compressed
        size[size.count - 4] ^= 0x01
        assertFails(size, with: .size)
        assertFails(compressed + [0], with: .trailingData)
        assertFails(compressed + [0x1F], with: .truncated)
        assertFails(compressed + [0x1F, 0x8B, 8], with: .truncated)
    }

    func testInvalidCodesAndCodeLengths() {
        func dynamic(_ write: (inout BitWriter) -> Void) -> [UInt8] {
            var writer = BitWriter()
            writer.bits(1, 1)  // final
            writer.bits(2, 2)  // dynamic
            write(&writer)
            return gzipMember(deflate: writer.bytes, output: [])
        }
        // Code-length code with symbols 0 and 18, one bit each; HCLEN 4 sends 16, 17, 18, 0.
        func header(_ writer: inout BitWriter, lengths: [Int] = [0, 0, 1, 1]) {
            writer.bits(0, 5)  // 257 literal/length codes
            writer.bits(0, 5)  // 1 distance code
            writer.bits(UInt64(lengths.count - 4), 4)
            for length in lengths { writer.bits(UInt64(length), 3) }
        }
        // Two runs of 138 zeros overrun the 258 lengths.
        assertFails(dynamic { header(&$0); for _ in 0..<2 { $0.code(1, length: 1); $0.bits(127, 7) } }, with: .badCodeLengths("lengths run past the last code"))
        // Three one-bit codes are more than one bit can tell apart.
        assertFails(dynamic { header(&$0, lengths: [1, 0, 1, 1]) }, with: .badCodeLengths("over-subscribed code"))
        // A single two-bit code leaves half the patterns unused.
        assertFails(dynamic { header(&$0, lengths: [0, 0, 2, 0]) }, with: .badCodeLengths("incomplete code"))
        assertFails(dynamic { header(&$0, lengths: [0, 0, 0, 0]) }, with: .badCodeLengths("empty code-length code"))
        // A repeat of the previous length before there is one.
        assertFails(dynamic { header(&$0, lengths: [1, 0, 0, 1]); $0.code(1, length: 1); $0.bits(0, 2) }, with: .badCodeLengths("repeat with no previous length"))
        // 258 zero lengths: no end-of-block code.
        assertFails(dynamic {
            header(&$0)
            $0.code(1, length: 1); $0.bits(127, 7)
            $0.code(1, length: 1); $0.bits(109, 7)
        }, with: .badCodeLengths("no end-of-block code"))
        // 287 literal/length codes: RFC 1951 allows at most 286.
        assertFails(dynamic { $0.bits(30, 5); $0.bits(0, 5); $0.bits(0, 4) }, with: .badCodeLengths("too many length or distance codes"))

        func fixed(_ write: (inout BitWriter) -> Void) -> [UInt8] {
            var writer = BitWriter()
            writer.bits(1, 1)
            writer.bits(1, 2)
            write(&writer)
            writer.code(0, length: 7)
            return gzipMember(deflate: writer.bytes, output: [])
        }
        assertFails(fixed { $0.code(0b0000001, length: 7); $0.code(0, length: 5) }, with: .distanceTooFar)
        assertFails(fixed { $0.code(0b1100_0110, length: 8) }, with: .badCode)                                  // symbol 286
        assertFails(fixed { $0.code(0x30 + 65, length: 8); $0.code(0b0000001, length: 7); $0.code(30, length: 5) }, with: .badCode)  // distance 30
        assertFails(gzipMember(deflate: [0x07], output: []), with: .badBlockType)
    }

    func testOutputLimit() throws {
        // 16 MB of zeros compress to about 16 KB; a small limit stops the decoder early.
        let compressed = try systemGzip([UInt8](repeating: 0, count: 16 << 20), ["-9", "-c"])
        XCTAssertLessThan(compressed.count, 40_000)
        XCTAssertThrowsError(try Inflate.gunzip(compressed, limit: 1 << 20)) { XCTAssertEqual($0 as? InflateError, .tooLarge(1 << 20)) }
        XCTAssertThrowsError(try Inflate.gunzip(try systemGzip(Array("up 1\n".utf8), ["-c"]), limit: 4)) { XCTAssertEqual($0 as? InflateError, .tooLarge(4)) }
        XCTAssertEqual(try Inflate.gunzip(try systemGzip(Array("up 1\n".utf8), ["-c"]), limit: 5), Array("up 1\n".utf8))
    }

    func testTwentyThousandMutations() throws {
        let seeds = [try systemGzip(metricsPage(bytes: 1_500, seed: 10), ["-1", "-c"]),
                     try systemGzip(metricsPage(bytes: 1_500, seed: 11), ["-9", "-c"]),
                     try systemGzip(randomBytes(300, seed: 12), ["-c"]),
                     gzipMember(deflate: storedBlock(Array("up 1\n".utf8), final: true), output: Array("up 1\n".utf8))]
        var random = SeededRandom(seed: 13)
        var decoded = 0, failed = 0
        let start = Date()
        for round in 0..<20_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<7, using: &random) {
                case 0: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                case 1: bytes[at] = UInt8.random(in: 0...255, using: &random)
                case 2: bytes.removeSubrange(at...)
                case 3: bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }, at: at)
                case 4: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...16, using: &random)))
                case 5: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 32)], at: Int.random(in: 0..<bytes.count, using: &random))
                default: bytes[at] = [0x00, 0xFF, 0x1F, 0x8B, 0x08][Int.random(in: 0..<5, using: &random)]
                }
                if bytes.isEmpty { bytes = [0x1F] }
            }
            do {
                _ = try Inflate.gunzip(bytes, limit: 1 << 20)
                decoded += 1
            } catch {
                failed += 1
            }
            // Raw DEFLATE of the same bytes, read from a random place.
            _ = try? Inflate.inflate(Array(bytes.dropFirst(Int.random(in: 0..<bytes.count, using: &random))), limit: 1 << 20)
        }
        let seconds = Date().timeIntervalSince(start)
        print("20,000 mutated gzip streams (\(decoded) decoded, \(failed) refused) in \(String(format: "%.2f", seconds)) s")
        XCTAssertGreaterThan(failed, 15_000)
        XCTAssertLessThan(seconds, 30, "hostile input must not slow the decoder down")
    }
}

/// Writes DEFLATE bits, least significant first, as a hand-made stream needs.
private struct BitWriter {
    var bytes: [UInt8] = []
    private var used = 8

    mutating func bits(_ value: UInt64, _ count: Int) {
        for bit in 0..<count {
            if used == 8 { bytes.append(0); used = 0 }
            bytes[bytes.count - 1] |= UInt8((value >> UInt64(bit)) & 1) << UInt8(used)
            used += 1
        }
    }

    /// A Huffman code, which DEFLATE sends most significant bit first.
    mutating func code(_ value: UInt64, length: Int) {
        for bit in (0..<length).reversed() { bits((value >> UInt64(bit)) & 1, 1) }
    }

    mutating func align() { used = 8 }
}

/// gzip-encoded responses, parsed from bytes and scraped by mcollect from a Python server on
/// 127.0.0.1.
final class GzipScrapeTests: XCTestCase {
    private func response(_ head: String, _ body: [UInt8]) -> [UInt8] { Array((head + "\r\n\r\n").utf8) + body }

    private func gzip(_ text: String) throws -> [UInt8] {
        let run = Process()
        run.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        run.arguments = ["python3", "-c", "import gzip, sys; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read(), mtime=0))"]
        let input = Pipe(), output = Pipe()
        run.standardInput = input
        run.standardOutput = output
        try run.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        run.waitUntilExit()
        return [UInt8](bytes)
    }

    func testParseDecodesGzipAlsoWhenChunked() throws {
        let target = try HTTPTarget("http://127.0.0.1:9/metrics")
        let page = "# TYPE up gauge\nup 1\n" + (0..<200).map { "requests_total{path=\"/p\($0)\"} \($0)\n" }.joined()
        let compressed = try gzip(page)
        let plain = try HTTPClient.parse(response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: \(compressed.count)", compressed), from: target)
        XCTAssertEqual(plain.body, page)
        var chunked: [UInt8] = []
        var offset = 0
        while offset < compressed.count {
            let piece = compressed[offset..<min(compressed.count, offset + 100)]
            chunked += Array("\(String(piece.count, radix: 16))\r\n".utf8) + piece + Array("\r\n".utf8)
            offset += piece.count
        }
        chunked += Array("0\r\n\r\n".utf8)
        let dechunked = try HTTPClient.parse(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: GZIP", chunked), from: target)
        XCTAssertEqual(dechunked.body, page)
        XCTAssertEqual(try HTTPClient.parse(response("HTTP/1.1 204 No Content\r\nContent-Encoding: gzip", []), from: target).body, "")

        func failure(_ bytes: [UInt8]) -> String {
            do {
                _ = try HTTPClient.parse(bytes, from: target)
                return "parsed"
            } catch {
                return error.message
            }
        }
        XCTAssertEqual(failure(response("HTTP/1.1 200 OK\r\nContent-Encoding: br", [1, 2, 3])), "127.0.0.1:9: content encoding br is not supported")
        var corrupt = compressed
        corrupt[corrupt.count - 6] ^= 1
        XCTAssertEqual(failure(response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip", corrupt)), "127.0.0.1:9: gzip body: CRC-32 mismatch")
        XCTAssertEqual(failure(response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip", Array(compressed.dropLast(4)))), "127.0.0.1:9: gzip body: truncated")
        // Hostile chunk sizes are refused, not trusted.
        XCTAssertEqual(failure(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", Array("-5\r\nabc\r\n0\r\n\r\n".utf8))), "127.0.0.1:9: bad chunked encoding")
        XCTAssertEqual(failure(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", Array("7fffffffffffffff\r\nabc\r\n".utf8))), "127.0.0.1:9: truncated chunk")
    }

    func testScrapeOfAGzipServer() throws {
        let directory = NSTemporaryDirectory() + "gzip-scrape-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let samples = 500
        let page = "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\n" + (0..<samples).map { "jobs_total{queue=\"q\($0)\"} \($0 * 7)\n" }.joined()
        try page.write(toFile: directory + "/metrics", atomically: true, encoding: .utf8)
        // Answers only clients that accept gzip; /chunked also sends chunks, /brotli an encoding
        // mcollect does not know, /corrupt a gzip body with a broken CRC.
        let script = """
        import gzip, http.server, sys
        page = open(sys.argv[2], 'rb').read()
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def do_GET(self):
                if 'gzip' not in self.headers.get('Accept-Encoding', ''):
                    self.send_response(406); self.send_header('Content-Length', '0'); self.end_headers(); return
                body = gzip.compress(page, mtime=0)
                encoding = 'gzip'
                if self.path == '/brotli': encoding = 'br'
                if self.path == '/corrupt': body = body[:-8] + bytes([body[-8] ^ 1]) + body[-7:]
                self.send_response(200)
                self.send_header('Content-Type', 'text/plain; version=0.0.4')
                self.send_header('Content-Encoding', encoding)
                if self.path == '/chunked':
                    self.send_header('Transfer-Encoding', 'chunked'); self.end_headers()
                    for i in range(0, len(body), 333):
                        piece = body[i:i + 333]
                        self.wfile.write(b'%x\\r\\n' % len(piece) + piece + b'\\r\\n')
                    self.wfile.write(b'0\\r\\n\\r\\n')
                else:
                    self.send_header('Content-Length', str(len(body))); self.end_headers()
                    self.wfile.write(body)
            def log_message(self, *a): pass
        http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
        """
        let port = freeLoopbackPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-c", script, String(port), directory + "/metrics"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        let labels = "instance=\"127.0.0.1:\(port)\",job=\"app\""
        var run = ToolRun(status: 1, stdout: "", stderr: "")
        for _ in 0..<50 {
            run = try runTool("mcollect", ["--once", "--collect", "time", "--job", "app", "--scrape", base + "/metrics"])
            if run.stdout.contains("up{\(labels)} 1 ") { break }
            usleep(100_000)
        }
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("up{\(labels)} 1 "), run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("scrape_samples_scraped{\(labels)} \(samples) "))
        for index in [0, 1, 250, samples - 1] {
            XCTAssertTrue(run.stdout.contains("jobs_total{\(labels),queue=\"q\(index)\"} \(index * 7) "), "sample \(index)")
        }

        let chunked = try runTool("mcollect", ["--once", "--collect", "time", "--job", "app", "--scrape", base + "/chunked"])
        XCTAssertTrue(chunked.stdout.contains("scrape_samples_scraped{\(labels)} \(samples) "), chunked.stdout + chunked.stderr)
        XCTAssertTrue(chunked.stdout.contains("jobs_total{\(labels),queue=\"q499\"} 3493 "))

        for (path, reason) in [("/brotli", "content encoding br is not supported"), ("/corrupt", "gzip body: CRC-32 mismatch")] {
            let failed = try runTool("mcollect", ["--once", "--collect", "time", "--job", "app", "--scrape", base + path])
            XCTAssertTrue(failed.stdout.contains("up{\(labels)} 0 "), failed.stdout)
            XCTAssertFalse(failed.stdout.contains("jobs_total"), "nothing of a failed scrape is kept")
            XCTAssertTrue(failed.stderr.contains("mcollect: 127.0.0.1:\(port): \(reason)"), failed.stderr)
        }
    }
}
