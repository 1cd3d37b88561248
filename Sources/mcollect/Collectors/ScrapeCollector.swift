import Glibc
import MetricLine

/// Scrapes a Prometheus or OpenMetrics endpoint over plain HTTP, adding `job` and `instance`
/// labels and the synthetic `up`, `scrape_duration_seconds` and `scrape_samples_scraped`, as
/// Prometheus does.
struct ScrapeCollector: Collector {
    let url: String
    let job: String
    /// Milliseconds before the scrape is abandoned.
    let timeout: Int64
    var name: String { "scrape " + url }

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        let start = Clock.monotonicMicroseconds()
        var scraped: [Sample] = []
        var up = 1.0
        let instance = (try? HTTPTarget(url).hostAndPort) ?? url
        do throws(CollectError) {
            let target = try HTTPTarget(url)
            let response = try HTTPClient.get(target, accept: "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1",
                                              timeout: timeout)
            guard response.status == 200 else { throw CollectError("\(url): HTTP status \(response.status)") }
            let openMetrics = response.header("content-type")?.hasPrefix("application/openmetrics-text") ?? false
            var decoder: any SampleLineDecoder = openMetrics ? OpenMetricsDecoder() : PrometheusTextDecoder()
            var records: [ExpositionLine] = []
            for (number, line) in response.body.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                var copy = String(line)
                let result = copy.withUTF8 { bytes in Result { () throws(LineError) in try decoder.decode(bytes, into: &records) } }
                if case .failure(let error) = result {
                    throw CollectError("\(url):\(number + 1): \(error.reason) (column \(error.column))")
                }
            }
            for record in records {
                guard case .sample(var sample) = record else { continue }
                // The target's own job and instance labels win only if we would add nothing.
                sample.labels = Sample.canonicalLabels(sample.labels.filter { $0.name != "job" && $0.name != "instance" }
                    + [Label("job", job), Label("instance", instance)])
                scraped.append(sample)
            }
        } catch {
            Diagnostics.writeStandardError("mcollect: \(error.message)\n")
            up = 0
            scraped = []
        }
        let labels = [Label("instance", instance), Label("job", job)]
        samples += scraped
        samples.append(Sample(name: "up", labels: labels, value: up))
        samples.append(Sample(name: "scrape_duration_seconds", labels: labels, value: Double(Clock.monotonicMicroseconds() - start) / 1e6))
        samples.append(Sample(name: "scrape_samples_scraped", labels: labels, value: Double(scraped.count)))
    }
}

/// `http://host[:port]/path`, the part of a URL a plain HTTP/1.1 request needs.
struct HTTPTarget {
    var host: String
    var port: UInt16
    var path: String
    var hostAndPort: String { "\(host):\(port)" }

    init(_ url: String) throws(CollectError) {
        guard url.hasPrefix("http://") else { throw CollectError("\(url): only http:// URLs can be scraped so far") }
        let rest = url.dropFirst(7)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/metrics"
        if let colon = authority.lastIndex(of: ":"), let port = UInt16(authority[authority.index(after: colon)...]) {
            host = String(authority[..<colon])
            self.port = port
        } else {
            host = String(authority)
            port = 80
        }
        guard !host.isEmpty else { throw CollectError("\(url): no host") }
    }
}

/// A small HTTP/1.1 client over a TCP socket: GET, Content-Length or chunked bodies, a deadline.
enum HTTPClient {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: String

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name }?.1
        }
    }

    static func get(_ target: HTTPTarget, accept: String, timeout: Int64) throws(CollectError) -> Response {
        let deadline = Clock.nowMilliseconds() + timeout
        let socket = try connect(target, deadline: deadline)
        defer { close(socket) }
        let request = "GET \(target.path) HTTP/1.1\r\nHost: \(target.hostAndPort)\r\nUser-Agent: mcollect/\(Toolkit.version)\r\nAccept: \(accept)\r\nConnection: close\r\n\r\n"
        var copy = request
        if let failure = copy.withUTF8({ OutputBuffer.writeAll(UnsafeRawBufferPointer($0), to: socket) }) {
            throw CollectError("\(target.hostAndPort): send: \(String(cString: strerror(failure)))")
        }
        var received: [UInt8] = []
        let outcome = try DeadlineRead.read(socket, until: deadline) { chunk throws(CollectError) in
            received.append(contentsOf: chunk)
            guard received.count < 64 << 20 else { throw CollectError("\(target.hostAndPort): response over 64 MiB") }
        }
        switch outcome {
        case .end: return try parse(received, from: target)
        case .timedOut: throw CollectError("\(target.hostAndPort): timed out after \(Duration.text(timeout))")
        case .failed(let code): throw CollectError("\(target.hostAndPort): receive: \(String(cString: strerror(code)))")
        }
    }

    static func connect(_ target: HTTPTarget, deadline: Int64) throws(CollectError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(target.host, String(target.port), &hints, &results) == 0, let first = results else {
            throw CollectError("\(target.hostAndPort): cannot resolve \(target.host)")
        }
        defer { freeaddrinfo(results) }
        let socket = Glibc.socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard socket >= 0 else { throw CollectError("socket: \(String(cString: strerror(errno)))") }
        // Non-blocking connect, so the deadline holds even for an unreachable host.
        let flags = fcntl(socket, F_GETFL)
        _ = fcntl(socket, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(socket, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
            let code = errno
            close(socket)
            throw CollectError("\(target.hostAndPort): connect: \(String(cString: strerror(code)))")
        }
        var poller = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        let left = max(deadline - Clock.nowMilliseconds(), 0)
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard poll(&poller, 1, Int32(min(left, Int64(Int32.max)))) == 1,
              getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else {
            close(socket)
            throw CollectError("\(target.hostAndPort): connect: \(error != 0 ? String(cString: strerror(error)) : "timed out")")
        }
        _ = fcntl(socket, F_SETFL, flags)
        return socket
    }

    static func parse(_ bytes: [UInt8], from target: HTTPTarget) throws(CollectError) -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headerEnd = (0..<max(bytes.count - 3, 0)).first(where: { bytes[$0..<($0 + 4)].elementsEqual(separator) }) else {
            throw CollectError("\(target.hostAndPort): incomplete HTTP response")
        }
        let head = String(decoding: bytes[0..<headerEnd], as: UTF8.self).split(separator: "\r\n")
        guard let statusLine = head.first, statusLine.hasPrefix("HTTP/1."), let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw CollectError("\(target.hostAndPort): not an HTTP response")
        }
        var headers: [(String, String)] = []
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingBlanks))
        }
        var body = Array(bytes[(headerEnd + 4)...])
        let response = Response(status: status, headers: headers, body: "")
        if response.header("transfer-encoding")?.lowercased().contains("chunked") ?? false {
            body = try dechunk(body, target)
        }
        if let encoding = response.header("content-encoding"), encoding != "identity" {
            throw CollectError("\(target.hostAndPort): content encoding \(encoding) is not supported")
        }
        return Response(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
    }

    /// Undoes `Transfer-Encoding: chunked`.
    private static func dechunk(_ bytes: [UInt8], _ target: HTTPTarget) throws(CollectError) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = (index..<bytes.count - 1).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
                  let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16) else {
                throw CollectError("\(target.hostAndPort): bad chunked encoding")
            }
            if size == 0 { break }
            let start = lineEnd + 2
            guard start + size <= bytes.count else { throw CollectError("\(target.hostAndPort): truncated chunk") }
            output.append(contentsOf: bytes[start..<(start + size)])
            index = start + size + 2
        }
        return output
    }
}
