import Glibc
import MetricLine

/// Probes in the style of the blackbox exporter: can a TCP connection be made, does an HTTP URL
/// answer with a 2xx status, and how long did it take.
struct ProbeCollector: Collector {
    enum Kind { case tcp, http }

    let kind: Kind
    /// `host:port` for TCP, a URL for HTTP.
    let target: String
    let timeout: Int64
    var name: String { (kind == .tcp ? "probe_tcp " : "probe_http ") + target }

    func collect(root: String, into samples: inout [Sample]) throws(CollectError) {
        let start = Clock.monotonicMicroseconds()
        var success = 0.0
        var status: Int?
        do throws(CollectError) {
            switch kind {
            case .tcp:
                let socket = try networkStep { () throws(NetworkError) in
                    try HTTPClient.connect(try HTTPTarget("http://" + target), deadline: Clock.nowMilliseconds() + timeout)
                }
                close(socket)
                success = 1
            case .http:
                let response = try networkStep { () throws(NetworkError) in try HTTPClient.get(try HTTPTarget(target), accept: "*/*", timeout: timeout) }
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
    }
}
