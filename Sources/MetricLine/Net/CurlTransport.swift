#if canImport(Glibc)
import Glibc
#endif

/// HTTPS through the system's libcurl, loaded with `dlopen` the first time an `https://` URL is
/// used: a run that never talks HTTPS never loads it (linking FoundationNetworking instead would
/// cost every run of every tool about 12 ms of start-up). Certificates are verified against the
/// system's CA store or a `tls_config`'s CA file (or not at all, when it says so), a client
/// certificate is shown when one is given, and the server's certificate's expiry comes back for
/// probes.
enum CurlTransport {
    /// The functions used, from `libcurl.so.4` (Debian's `libcurl4`).
    private struct Library: @unchecked Sendable {
        let easyInit: @convention(c) () -> OpaquePointer?
        let easyCleanup: @convention(c) (OpaquePointer?) -> Void
        let easyPerform: @convention(c) (OpaquePointer?) -> Int32
        let easyStrerror: @convention(c) (Int32) -> UnsafePointer<CChar>?
        let slistAppend: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> OpaquePointer?
        let slistFreeAll: @convention(c) (OpaquePointer?) -> Void
        // curl_easy_setopt and curl_easy_getinfo are variadic in C; they are called here through
        // prototypes with the one argument each call passes (an integer or a pointer), which the
        // x86-64 and AArch64 Linux calling conventions pass in the same register either way.
        let setLong: @convention(c) (OpaquePointer?, Int32, Int) -> Int32
        let setPointer: @convention(c) (OpaquePointer?, Int32, UnsafeRawPointer?) -> Int32
        let getInfo: @convention(c) (OpaquePointer?, Int32, UnsafeMutableRawPointer?) -> Int32
    }

    private static let library: Result<Library, NetworkError> = {
        guard let handle = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL) else {
            return .failure(NetworkError("https:// needs libcurl (Debian: apt install libcurl4): \(String(cString: dlerror()))"))
        }
        func symbol<T>(_ name: String, as type: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: type) }
        }
        guard let global = symbol("curl_global_init", as: (@convention(c) (Int) -> Int32).self),
              let easyInit = symbol("curl_easy_init", as: (@convention(c) () -> OpaquePointer?).self),
              let easyCleanup = symbol("curl_easy_cleanup", as: (@convention(c) (OpaquePointer?) -> Void).self),
              let easyPerform = symbol("curl_easy_perform", as: (@convention(c) (OpaquePointer?) -> Int32).self),
              let easyStrerror = symbol("curl_easy_strerror", as: (@convention(c) (Int32) -> UnsafePointer<CChar>?).self),
              let slistAppend = symbol("curl_slist_append", as: (@convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> OpaquePointer?).self),
              let slistFreeAll = symbol("curl_slist_free_all", as: (@convention(c) (OpaquePointer?) -> Void).self),
              let setLong = symbol("curl_easy_setopt", as: (@convention(c) (OpaquePointer?, Int32, Int) -> Int32).self),
              let setPointer = symbol("curl_easy_setopt", as: (@convention(c) (OpaquePointer?, Int32, UnsafeRawPointer?) -> Int32).self),
              let getInfo = symbol("curl_easy_getinfo", as: (@convention(c) (OpaquePointer?, Int32, UnsafeMutableRawPointer?) -> Int32).self)
        else { return .failure(NetworkError("https://: libcurl.so.4 lacks the functions needed")) }
        // CURL_GLOBAL_DEFAULT (SSL): once, before any thread uses libcurl.
        guard global(3) == 0 else { return .failure(NetworkError("https://: libcurl failed to start")) }
        return .success(Library(easyInit: easyInit, easyCleanup: easyCleanup, easyPerform: easyPerform, easyStrerror: easyStrerror,
                                slistAppend: slistAppend, slistFreeAll: slistFreeAll, setLong: setLong, setPointer: setPointer, getInfo: getInfo))
    }()

    // Option and information numbers from curl.h (stable across libcurl 7 and 8).
    private static let optionURL: Int32 = 10002, optionWriteFunction: Int32 = 20011, optionWriteData: Int32 = 10001
    private static let optionHeaderFunction: Int32 = 20079, optionHeaderData: Int32 = 10029, optionHTTPHeader: Int32 = 10023
    private static let optionPostFields: Int32 = 10015, optionPostFieldSizeLarge: Int32 = 30120, optionCustomRequest: Int32 = 10036
    private static let optionTimeoutMilliseconds: Int32 = 155, optionUserAgent: Int32 = 10018, optionCertificateInfo: Int32 = 172
    private static let optionCAFile: Int32 = 10065, optionNoSignal: Int32 = 99, optionAcceptEncoding: Int32 = 10102
    private static let optionProtocols: Int32 = 10318, optionClientCertificate: Int32 = 10025, optionClientKey: Int32 = 10087
    private static let optionVerifyPeer: Int32 = 64, optionVerifyHost: Int32 = 81, optionProxy: Int32 = 10004
    private static let infoResponseCode: Int32 = 0x200000 + 2, infoCertificateInfo: Int32 = 0x400000 + 34

    /// What a transfer collects, reached from libcurl's callbacks through their user pointer.
    private final class Received {
        var body: [UInt8] = []
        var headerLines: [String] = []
        var tooLarge = false
    }

    struct Answer {
        var response: HTTPClient.Response
        /// When the server's own certificate expires, in milliseconds since the epoch.
        var certificateExpiry: Int64?
    }

    /// Sends one request to the https:// URL `url` and reads the whole response before `timeout`
    /// milliseconds have passed.
    static func send(_ method: String, url: String, headers: [(String, String)], body: [UInt8], timeout: Int64,
                     userAgent: String, tls: TLSSettings = TLSSettings(), proxy: String? = nil) throws(NetworkError) -> Answer {
        let curl: Library
        switch library {
        case .success(let loaded): curl = loaded
        case .failure(let error): throw error
        }
        // Messages name host and port only: a URL's path may hold a secret (Slack's webhooks do).
        let place = (try? HTTPTarget(url).hostAndPort) ?? "https"
        guard let handle = curl.easyInit() else { throw NetworkError("\(place): libcurl could not start a transfer") }
        defer { curl.easyCleanup(handle) }
        let received = Received()
        let context = Unmanaged.passRetained(received)
        defer { context.release() }
        var headerList: OpaquePointer?
        defer { curl.slistFreeAll(headerList) }
        for (name, value) in headers { headerList = curl.slistAppend(headerList, "\(name): \(value)") }
        let write: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { data, size, count, user in
            let received = Unmanaged<Received>.fromOpaque(user!).takeUnretainedValue()
            let length = size * count
            if received.body.count + length > HTTPClient.bodyLimit {
                received.tooLarge = true
                return 0
            }
            data.map { received.body.append(contentsOf: UnsafeRawBufferPointer(start: $0, count: length)) }
            return length
        }
        let header: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { data, size, count, user in
            let received = Unmanaged<Received>.fromOpaque(user!).takeUnretainedValue()
            let length = size * count
            if let data {
                let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
                received.headerLines.append(line.trimmingCharacters(in: "\r\n"))
            }
            return length
        }
        // libcurl copies the strings of these options.
        for (option, value) in [(optionCAFile, tls.caFile), (optionClientCertificate, tls.certificateFile), (optionClientKey, tls.keyFile),
                                (optionProxy, proxy)] {
            if let value { _ = value.withCString { curl.setPointer(handle, option, $0) } }
        }
        if tls.skipsVerification {
            _ = curl.setLong(handle, optionVerifyPeer, 0)
            _ = curl.setLong(handle, optionVerifyHost, 0)
        }
        let code: Int32 = withExtendedLifetime((url, userAgent, method, body)) {
            url.withCString { urlText in
                userAgent.withCString { agentText in
                    method.withCString { methodText in
                        body.withUnsafeBytes { bodyBytes in
                            _ = curl.setPointer(handle, optionURL, urlText)
                            _ = curl.setPointer(handle, optionProtocols, "https")
                            _ = curl.setPointer(handle, optionUserAgent, agentText)
                            _ = curl.setLong(handle, optionTimeoutMilliseconds, Int(max(1, timeout)))
                            _ = curl.setLong(handle, optionNoSignal, 1)
                            _ = curl.setLong(handle, optionCertificateInfo, 1)
                            _ = curl.setPointer(handle, optionAcceptEncoding, "")
                            _ = curl.setPointer(handle, optionWriteFunction, unsafeBitCast(write, to: UnsafeRawPointer.self))
                            _ = curl.setPointer(handle, optionWriteData, context.toOpaque())
                            _ = curl.setPointer(handle, optionHeaderFunction, unsafeBitCast(header, to: UnsafeRawPointer.self))
                            _ = curl.setPointer(handle, optionHeaderData, context.toOpaque())
                            if let headerList { _ = curl.setPointer(handle, optionHTTPHeader, UnsafeRawPointer(headerList)) }
                            if method != "GET" {
                                _ = curl.setPointer(handle, optionCustomRequest, methodText)
                                _ = curl.setLong(handle, optionPostFieldSizeLarge, bodyBytes.count)
                                _ = curl.setPointer(handle, optionPostFields, bodyBytes.baseAddress ?? UnsafeRawPointer(methodText))
                            }
                            return curl.easyPerform(handle)
                        }
                    }
                }
            }
        }
        if received.tooLarge { throw NetworkError("\(place): response over 64 MiB") }
        guard code == 0 else {
            let reason = curl.easyStrerror(code).map { String(cString: $0) } ?? "error \(code)"
            throw NetworkError("\(place): \(reason)")
        }
        var status = 0
        _ = curl.getInfo(handle, infoResponseCode, &status)
        // The headers of the last response (after any 100 Continue), names as sent.
        let lastBlock = received.headerLines.lastIndex { $0.hasPrefix("HTTP/") } ?? 0
        var responseHeaders: [(String, String)] = []
        for line in received.headerLines.dropFirst(lastBlock + 1) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            responseHeaders.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " \t")))
        }
        return Answer(response: HTTPClient.Response(status: status, headers: responseHeaders, body: String(decoding: received.body, as: UTF8.self)),
                      certificateExpiry: certificateExpiry(curl, handle))
    }

    /// The earliest "Expire date" libcurl reports over the certificates the server sent (its own
    /// and the intermediates), as the blackbox exporter's earliest expiry is.
    private static func certificateExpiry(_ curl: Library, _ handle: OpaquePointer) -> Int64? {
        var info: UnsafeMutableRawPointer?
        guard curl.getInfo(handle, infoCertificateInfo, &info) == 0, let info else { return nil }
        // struct curl_certinfo { int num_of_certs; struct curl_slist **certinfo; }
        let count = Int(info.load(as: Int32.self))
        guard count > 0, let lists = info.load(fromByteOffset: MemoryLayout<Int>.size, as: UnsafeMutablePointer<UnsafeMutableRawPointer?>?.self) else { return nil }
        var earliest: Int64?
        for certificate in 0..<count {
            var entry = lists[certificate]
            while let current = entry {
                // struct curl_slist { char *data; struct curl_slist *next; }
                if let data = current.load(as: UnsafePointer<CChar>?.self) {
                    let text = String(cString: data)
                    if text.hasPrefix("Expire date:"), let expiry = parseCertificateDate(String(text.dropFirst(12))) {
                        earliest = min(earliest ?? expiry, expiry)
                    }
                }
                entry = current.load(fromByteOffset: MemoryLayout<Int>.size, as: UnsafeMutableRawPointer?.self)
            }
        }
        return earliest
    }

    /// OpenSSL's certificate date, `Jan  1 00:00:00 2030 GMT` (or libcurl's `2030-01-01 00:00:00 GMT`),
    /// in milliseconds since the epoch.
    static func parseCertificateDate(_ text: String) -> Int64? {
        let words = text.split(separator: " ")
        var year: Int64, month: Int64, day: Int64, time: Substring
        if words.count >= 4, let index = Timestamp.monthAbbreviations.firstIndex(of: String(words[0])), let parsedDay = Int64(words[1]),
           let parsedYear = Int64(words[3]) {
            (year, month, day, time) = (parsedYear, Int64(index + 1), parsedDay, words[2])
        } else if words.count >= 2 {
            let date = words[0].split(separator: "-").compactMap { Int64($0) }
            guard date.count == 3 else { return nil }
            (year, month, day, time) = (date[0], date[1], date[2], words[1])
        } else {
            return nil
        }
        return Timestamp.milliseconds(year: year, month: month, day: day, clock: time)
    }
}

private extension String {
    /// The text without `set`'s characters at either end, by scalar ("\r\n" is one Character).
    func trimmingCharacters(in set: String) -> String {
        let trimmed = Set(set.unicodeScalars)
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, trimmed.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, trimmed.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}
