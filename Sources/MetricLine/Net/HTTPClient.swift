#if canImport(Glibc)
import Glibc
#endif

/// A problem talking to another program, over the network or through a pipe, in plain language.
public struct NetworkError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Where a request goes: an `http://` or `https://` URL taken apart.
public struct HTTPTarget: Sendable {
    /// The URL as given (with `/metrics` when it names no path).
    public var url: String
    /// Whether it is `https://` (sent through libcurl, see `CurlTransport`).
    public var secure: Bool
    public var host: String
    public var port: UInt16
    public var path: String
    public var hostAndPort: String { "\(host):\(port)" }

    public init(_ url: String) throws(NetworkError) {
        if url.hasPrefix("https://") {
            secure = true
        } else if url.hasPrefix("http://") {
            secure = false
        } else {
            throw NetworkError("\(url): want an http:// or https:// URL")
        }
        let rest = url.dropFirst(secure ? 8 : 7)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/metrics"
        self.url = rest.count > authority.count ? url : url + "/metrics"
        if let colon = authority.lastIndex(of: ":"), let port = UInt16(authority[authority.index(after: colon)...]) {
            host = String(authority[..<colon])
            self.port = port
        } else {
            host = String(authority)
            port = secure ? 443 : 80
        }
        guard !host.isEmpty else { throw NetworkError("\(url): no host") }
    }
}

/// A small HTTP/1.1 client over a TCP socket: GET, Content-Length or chunked bodies, gzip, a deadline.
public enum HTTPClient {
    /// The most bytes a response may take on the wire, and its body once decompressed.
    public static let bodyLimit = 64 << 20

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: String

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name }?.1
        }
    }

    /// `GET`, as a scraper sends it: metrics pages shrink about tenfold with gzip.
    /// `tls` says how an https:// server is checked and which certificate the client shows.
    public static func get(_ target: HTTPTarget, accept: String, timeout: Int64, tls: TLSSettings = TLSSettings(),
                           userAgent: String = "mcollect/\(Toolkit.version)") throws(NetworkError) -> Response {
        // libcurl asks for (and undoes) compression itself.
        let headers = target.secure ? [("Accept", accept)] : [("Accept", accept), ("Accept-Encoding", "gzip")]
        return try send("GET", target, headers: headers, body: [], timeout: timeout, userAgent: userAgent, tls: tls)
    }

    /// `GET` of an https:// target, also telling when the server's certificate expires (for
    /// probes), in milliseconds since the epoch.
    public static func getSecure(_ target: HTTPTarget, accept: String, timeout: Int64, tls: TLSSettings = TLSSettings(),
                                 userAgent: String = "mcollect/\(Toolkit.version)") throws(NetworkError) -> (response: Response, certificateExpiry: Int64?) {
        let answer = try CurlTransport.send("GET", url: target.url, headers: [("Accept", accept)], body: [], timeout: timeout,
                                            userAgent: userAgent, tls: tls)
        return (answer.response, answer.certificateExpiry)
    }

    /// Sends one request (`Connection: close`) and reads the whole response, all before `timeout`
    /// milliseconds have passed; through the http:// proxy `proxy` if one is given (https://
    /// targets by CONNECT, the others by asking it for the whole URL).
    public static func send(_ method: String, _ target: HTTPTarget, headers: [(String, String)], body: [UInt8], timeout: Int64,
                            userAgent: String, tls: TLSSettings = TLSSettings(), proxy: HTTPTarget? = nil) throws(NetworkError) -> Response {
        if target.secure {
            return try CurlTransport.send(method, url: target.url, headers: headers, body: body, timeout: timeout, userAgent: userAgent,
                                          tls: tls, proxy: proxy.map { "http://" + $0.hostAndPort }).response
        }
        let deadline = Clock.nowMilliseconds() + timeout
        let socket = try connect(proxy ?? target, deadline: deadline)
        defer { close(socket) }
        var request = "\(method) \(proxy == nil ? target.path : target.url) HTTP/1.1\r\nHost: \(target.hostAndPort)\r\nUser-Agent: \(userAgent)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { request += "Content-Length: \(body.count)\r\n" }
        var bytes = Array((request + "\r\n").utf8)
        bytes += body
        if let failure = bytes.withUnsafeBytes({ OutputBuffer.writeAll($0, to: socket) }) {
            throw NetworkError("\(target.hostAndPort): send: \(String(cString: strerror(failure)))")
        }
        var received: [UInt8] = []
        let outcome = try DeadlineRead.read(socket, until: deadline) { chunk throws(NetworkError) in
            received.append(contentsOf: chunk)
            guard received.count < bodyLimit else { throw NetworkError("\(target.hostAndPort): response over 64 MiB") }
        }
        switch outcome {
        case .end: return try parse(received, from: target)
        case .timedOut: throw NetworkError("\(target.hostAndPort): timed out after \(Duration.text(timeout))")
        case .failed(let code): throw NetworkError("\(target.hostAndPort): receive: \(String(cString: strerror(code)))")
        }
    }

    public static func connect(_ target: HTTPTarget, deadline: Int64) throws(NetworkError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(target.host, String(target.port), &hints, &results) == 0, let first = results else {
            throw NetworkError("\(target.hostAndPort): cannot resolve \(target.host)")
        }
        defer { freeaddrinfo(results) }
        let socket = Glibc.socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard socket >= 0 else { throw NetworkError("socket: \(String(cString: strerror(errno)))") }
        // Non-blocking connect, so the deadline holds even for an unreachable host.
        let flags = fcntl(socket, F_GETFL)
        _ = fcntl(socket, F_SETFL, flags | O_NONBLOCK)
        if Glibc.connect(socket, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
            let code = errno
            close(socket)
            throw NetworkError("\(target.hostAndPort): connect: \(String(cString: strerror(code)))")
        }
        var poller = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        let left = max(deadline - Clock.nowMilliseconds(), 0)
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard poll(&poller, 1, Int32(min(left, Int64(Int32.max)))) == 1,
              getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else {
            close(socket)
            throw NetworkError("\(target.hostAndPort): connect: \(error != 0 ? String(cString: strerror(error)) : "timed out")")
        }
        _ = fcntl(socket, F_SETFL, flags)
        return socket
    }

    static func parse(_ bytes: [UInt8], from target: HTTPTarget) throws(NetworkError) -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headerEnd = (0..<max(bytes.count - 3, 0)).first(where: { bytes[$0..<($0 + 4)].elementsEqual(separator) }) else {
            throw NetworkError("\(target.hostAndPort): incomplete HTTP response")
        }
        let head = String(decoding: bytes[0..<headerEnd], as: UTF8.self).split(separator: "\r\n")
        guard let statusLine = head.first, statusLine.hasPrefix("HTTP/1."), let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw NetworkError("\(target.hostAndPort): not an HTTP response")
        }
        var headers: [(String, String)] = []
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingBlanks))
        }
        var body = Array(bytes[(headerEnd + 4)...])
        let response = Response(status: status, headers: headers, body: "")
        if response.header("transfer-encoding")?.lowercased().contains("chunked") ?? false {
            body = try dechunk(body, target)
        }
        switch response.header("content-encoding")?.lowercased() {
        case nil, "identity": break
        case "gzip", "x-gzip":
            // An empty body (a 204, say) has nothing to decompress.
            guard !body.isEmpty else { break }
            do throws(InflateError) {
                body = try Inflate.gunzip(body, limit: bodyLimit)
            } catch {
                throw NetworkError("\(target.hostAndPort): gzip body: \(error)")
            }
        case let encoding?: throw NetworkError("\(target.hostAndPort): content encoding \(encoding) is not supported")
        }
        return Response(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
    }

    /// Undoes `Transfer-Encoding: chunked`.
    private static func dechunk(_ bytes: [UInt8], _ target: HTTPTarget) throws(NetworkError) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = (index..<bytes.count - 1).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
                  let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16), size >= 0 else {
                throw NetworkError("\(target.hostAndPort): bad chunked encoding")
            }
            if size == 0 { break }
            let start = lineEnd + 2
            guard size <= bytes.count - start else { throw NetworkError("\(target.hostAndPort): truncated chunk") }
            output.append(contentsOf: bytes[start..<(start + size)])
            index = start + size + 2
        }
        return output
    }
}
