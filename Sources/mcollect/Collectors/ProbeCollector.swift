import Glibc
import MetricLine

/// Probes in the style of the blackbox exporter: can a TCP connection be made, does an HTTP(S)
/// URL answer with a 2xx status, how long did it take, and when does an HTTPS server's
/// certificate expire.
struct ProbeCollector: Collector {
    enum Kind { case tcp, http }

    let kind: Kind
    /// `host:port` for TCP, a URL for HTTP.
    let target: String
    let timeout: Int64
    /// How an https:// target is checked, and the client certificate shown to it.
    var tls = TLSSettings()
    var name: String { (kind == .tcp ? "probe_tcp " : "probe_http ") + target }

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        let start = Clock.monotonicMicroseconds()
        var success = 0.0
        var status: Int?
        var expiry: Int64?
        do throws(CollectError) {
            switch kind {
            case .tcp:
                let socket = try networkStep { () throws(NetworkError) in
                    try HTTPClient.connect(try HTTPTarget("http://" + target), deadline: Clock.nowMilliseconds() + timeout)
                }
                close(socket)
                success = 1
            case .http:
                let response = try networkStep { () throws(NetworkError) in
                    let url = try HTTPTarget(target)
                    guard url.secure else { return try HTTPClient.get(url, accept: "*/*", timeout: timeout) }
                    let answer = try HTTPClient.getSecure(url, accept: "*/*", timeout: timeout, tls: tls)
                    expiry = answer.certificateExpiry
                    return answer.response
                }
                status = response.status
                success = (200..<300).contains(response.status) ? 1 : 0
            }
        } catch {
            Diagnostics.writeStandardError("mcollect: probe \(target): \(error.message)\n")
        }
        let labels = [Label("target", target)]
        samples.append(Sample(name: "probe_success", labels: labels, value: success))
        samples.append(Sample(name: "probe_duration_seconds", labels: labels, value: Double(Clock.monotonicMicroseconds() - start) / 1e6))
        if let status { samples.append(Sample(name: "probe_http_status_code", labels: labels, value: Double(status))) }
        // The blackbox exporter's name: seconds since the epoch.
        if let expiry { samples.append(Sample(name: "probe_ssl_earliest_cert_expiry", labels: labels, value: Double(expiry) / 1000)) }
    }
}
