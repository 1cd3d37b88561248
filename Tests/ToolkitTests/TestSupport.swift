import Foundation
import Glibc
import XCTest
@testable import MetricLine

/// A small deterministic random generator (SplitMix64), so property tests repeat exactly.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    /// Calls `body` with the UTF-8 bytes of the string.
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        var copy = self
        return try copy.withUTF8(body)
    }
}

/// Runs `body` with `bytes` as a buffer pointer.
func withBuffer<R>(_ bytes: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
    try bytes.withUnsafeBufferPointer(body)
}

/// The result of running one of the toolkit's binaries.
struct ToolRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Where `swift build` put the tools: next to the test bundle.
let toolDirectory: URL = {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("mcollect").path), url.path != "/" {
        url.deleteLastPathComponent()
    }
    return url
}()

/// Runs a tool with `arguments`, feeding it `input` on stdin, and collects what it prints.
func runTool(_ tool: String, _ arguments: [String], input: Data = Data()) throws -> ToolRun {
    try runProgram(toolDirectory.appendingPathComponent(tool).path, arguments, input: input)
}

/// Runs any program with `arguments`, feeding it `input`, and collects what it prints.
func runProgram(_ path: String, _ arguments: [String], input: Data = Data()) throws -> ToolRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let writer = Thread {
        // A program may end without reading all of its input (a refusal, an early error): the
        // write then fails with EPIPE, which the old `write(_:)` turns into a crash of the tests.
        try? stdin.fileHandleForWriting.write(contentsOf: input)
        try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    let errorData = Locked(Data())
    let errorReader = Thread { errorData.set(stderr.fileHandleForReading.readDataToEndOfFile()) }
    errorReader.start()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while errorReader.isExecuting || !errorReader.isFinished { usleep(1000) }
    return ToolRun(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                   stderr: String(decoding: errorData.get(), as: UTF8.self))
}

/// A value shared between threads under a lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ newValue: Value) { lock.lock(); value = newValue; lock.unlock() }
}

/// Random samples for property tests, with label values full of quotes, backslashes, newlines,
/// commas, spaces, `=` and non-ASCII text.
enum RandomSamples {
    enum NameStyle {
        /// `[a-zA-Z_:][a-zA-Z0-9_:]*` names and `[a-zA-Z_][a-zA-Z0-9_]*` label names only.
        case legacy
        /// Sometimes UTF-8 names that need the quoted form.
        case any
    }

    enum ValueStyle {
        /// Any double, NaN, infinities and staleness markers included.
        case any
        /// Finite values only.
        case finite
    }

    static let nastyPieces = ["\"", "\\", "\n", ",", " ", "=", "ü", "✓", "日本", "{", "}", ";", "~", "\t", "a", "b", "0", "\\n", "'", "#"]

    static func text(_ random: inout SeededRandom, pieces: [String] = nastyPieces, maximum: Int = 6) -> String {
        (0..<Int.random(in: 1...maximum, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    static func legacyName(_ random: inout SeededRandom, metric: Bool) -> String {
        let first = Array(metric ? "abcxyzABC_:" : "abcxyzABC_")
        let rest = Array(metric ? "abcxyz_:019" : "abcxyz_019")
        var name = String(first.randomElement(using: &random)!)
        for _ in 0..<Int.random(in: 0...8, using: &random) { name.append(rest.randomElement(using: &random)!) }
        return name
    }

    static func value(_ random: inout SeededRandom, style: ValueStyle) -> Double {
        switch Int.random(in: 0..<10, using: &random) {
        case 0: return Double(bitPattern: random.next())
        case 1 where style == .any: return [Double.nan, .infinity, -.infinity, StaleMarker.value].randomElement(using: &random)!
        case 2: return Double(Int.random(in: -1_000_000...1_000_000, using: &random))
        case 3: return Double(Int.random(in: -100_000...100_000, using: &random)) / 100
        default:
            let value = Double.random(in: -1e9...1e9, using: &random)
            return value
        }
    }

    static func sample(_ random: inout SeededRandom, nameStyle: NameStyle, valueStyle: ValueStyle = .any, timestamps: Bool = true) -> Sample {
        let name = nameStyle == .any && Int.random(in: 0..<5, using: &random) == 0
            ? text(&random, pieces: ["a", ".", "-", "ü", " ", "0"])
            : legacyName(&random, metric: true)
        var labels: [Label] = []
        var used = Set<String>()
        for _ in 0..<Int.random(in: 0...4, using: &random) {
            let labelName = nameStyle == .any && Int.random(in: 0..<6, using: &random) == 0
                ? text(&random, pieces: ["a", ".", "-", "ü", "0"])
                : legacyName(&random, metric: false)
            guard labelName != "__name__", used.insert(labelName).inserted else { continue }
            labels.append(Label(labelName, text(&random)))
        }
        let value = value(&random, style: valueStyle)
        let timestamp: Int64? = timestamps && Int.random(in: 0..<8, using: &random) > 0
            ? Int64.random(in: -1_000_000_000_000...4_000_000_000_000, using: &random) : nil
        return Sample(name: name, labels: labels, value: value, timestamp: timestamp)
    }
}

/// The text of a file in Tests/ToolkitTests/Fixtures.
func fixture(_ name: String) throws -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
    return try String(contentsOf: url, encoding: .utf8)
}

/// Undoes the escapes of fixture files: \t \n \r \0 \\ and \xHH (for bytes that are not UTF-8).
func unescapeFixture(_ text: Substring) -> [UInt8] {
    var bytes: [UInt8] = []
    let source = Array(text.utf8)
    var index = 0
    while index < source.count {
        if source[index] == UInt8(ascii: "\\"), index + 1 < source.count {
            switch source[index + 1] {
            case UInt8(ascii: "t"): bytes.append(0x09); index += 2; continue
            case UInt8(ascii: "n"): bytes.append(0x0A); index += 2; continue
            case UInt8(ascii: "r"): bytes.append(0x0D); index += 2; continue
            case UInt8(ascii: "0"): bytes.append(0x00); index += 2; continue
            case UInt8(ascii: "\\"): bytes.append(0x5C); index += 2; continue
            case UInt8(ascii: "x") where index + 3 < source.count:
                if let byte = UInt8(String(decoding: source[(index + 2)..<(index + 4)], as: UTF8.self), radix: 16) {
                    bytes.append(byte)
                    index += 4
                    continue
                }
            default: break
            }
        }
        bytes.append(source[index])
        index += 1
    }
    return bytes
}

/// A port on 127.0.0.1 that nobody was listening on a moment ago: the kernel picks it for a
/// socket bound to port 0, which is then closed, so servers started by tests do not collide with
/// each other or with anything else on the machine the way a random pick could.
func freeLoopbackPort() -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(socket >= 0, "socket: \(String(cString: strerror(errno)))")
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    precondition(bound, "bind: \(String(cString: strerror(errno)))")
    return Int(UInt16(bigEndian: address.sin_port))
}

/// What a child process writes to a pipe, read on a thread of its own as it arrives, so a test
/// can wait for the output it expects, with a deadline, instead of sleeping a guessed time.
final class PipeReader: @unchecked Sendable {
    let pipe = Pipe()
    private let lock = NSLock()
    private var data = Data()
    private let ended = DispatchSemaphore(value: 0)

    init() {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock()
                data.append(chunk)
                lock.unlock()
            }
            ended.signal()
        }
    }

    /// The text read so far.
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    /// Waits until `condition` holds for the text read so far, for up to `seconds`; says whether it did.
    func wait(seconds: Double = 20, until condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(text) { return true }
            usleep(20_000)
        }
        return condition(text)
    }

    /// Waits for the end of the output (every writer gone) and returns all of it.
    func finish() -> String {
        ended.wait()
        return text
    }
}

/// Starts a Python server on 127.0.0.1 written as `script` (saved as `directory/name.py`), run
/// with `directory` and `arguments`; the script binds port 0 and writes the port it got to
/// `directory/name.port`. Returns the process and the port once written (throws after 5 s).
func startPythonServer(_ script: String, name: String, directory: String, arguments: [String] = []) throws -> (process: Process, port: Int) {
    let portFile = directory + "/" + name + ".port"
    try script.replacingOccurrences(of: "PORT_FILE", with: portFile).write(toFile: directory + "/" + name + ".py", atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = [directory + "/" + name + ".py", directory] + arguments
    try process.run()
    for _ in 0..<100 {
        if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) { return (process, port) }
        usleep(50_000)
    }
    process.terminate()
    process.waitUntilExit()
    throw NetworkError("the server \(name) did not start")
}

/// A webhook receiver on 127.0.0.1 (a small Python server) for mnotify's tests: answers `failures` requests with `status`, then 200; records the bodies
/// it answered 200 to, one per line, and counts every request.
final class WebhookReceiver {
    let port = freeLoopbackPort()
    let process = Process()
    let log: String
    let count: String

    /// `retryAfter`: the `Retry-After` header sent with each failure, if any.
    init(directory: String, failures: Int = 0, status: Int = 503, retryAfter: String? = nil) throws {
        log = directory + "/received-\(port)"
        count = directory + "/requests-\(port)"
        let script = """
        import http.server, sys
        failures = [int(sys.argv[2])]
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                open(sys.argv[4], 'a').write(self.path + '\\n')
                if failures[0] > 0:
                    failures[0] -= 1
                    self.send_response(int(sys.argv[3]))
                    if sys.argv[6]: self.send_header('Retry-After', sys.argv[6])
                    self.end_headers(); return
                open(sys.argv[5], 'a').write(body.decode() + '\\n')
                self.send_response(200); self.end_headers()
            def log_message(self, *a): pass
        http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
        """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, String(port), String(failures), String(status), count, log, retryAfter ?? ""]
        try process.run()
        for _ in 0..<100 {
            if (try? runProgram("/usr/bin/curl", ["-s", "-o", "/dev/null", "-X", "GET", "http://127.0.0.1:\(port)/"]))?.status == 0 { return }
            usleep(50_000)
        }
        XCTFail("the webhook receiver on port \(port) did not answer within 5 s")
    }

    var bodies: [[String: Any]] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    var requests: [String] { ((try? String(contentsOfFile: count, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

/// Starts a peer program (Alertmanager, VictoriaMetrics, ...) quietly and waits until `readyURL`
/// answers 2xx (up to 10 s); returns the process and whether it became ready.
func startServer(_ executable: String, _ arguments: [String], readyURL: String) throws -> (process: Process, ready: Bool) {
    let server = Process()
    server.executableURL = URL(fileURLWithPath: executable)
    server.arguments = arguments
    server.standardOutput = FileHandle.nullDevice
    server.standardError = FileHandle.nullDevice
    try server.run()
    for _ in 0..<100 {
        if (try? runProgram("/usr/bin/curl", ["-sf", "-o", "/dev/null", readyURL]))?.status == 0 { return (server, true) }
        usleep(100_000)
    }
    return (server, false)
}
